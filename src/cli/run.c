#include "cli/buildremote.h"
/*
 * run.c — `strata run`: run a command in a built image.
 */
#include "cli/cli.h"
#include "build/build.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: strata run [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
		"\n"
		"Run a command in a new container of IMAGE (its ENTRYPOINT and CMD by default).\n"
		"The container's changes are always thrown away.\n"
		"\n"
		"Options:\n"
		"      --rm               remove the container when it exits (always the case)\n"
		"  -e, --env K=V          set an environment variable (repeatable)\n"
		"  -u, --user USER        name, uid, name:group or uid:gid\n"
		"  -w, --workdir DIR      working directory\n"
		"      --entrypoint CMD   override the image's ENTRYPOINT (drops its CMD)\n"
		"      --network MODE     host (default) or none\n"
		"      --platform P       os/arch[/variant] to run from a multi-platform image (default:\n"
		"                         the host's); a foreign platform runs through qemu-user-static\n"
		"                         (registered in binfmt_misc when missing, as root)\n"
		"  -i, --interactive      accepted: the container always reads strata's stdin\n"
		"  -t, --tty              accepted when stdin is a terminal: the container uses it\n"
		"                         (no new pseudo-terminal is allocated)\n"
		"  -h, --help             show this help\n"
		"\n"
		"Not supported, refused with the reason: -d/--detach (no daemon: use your shell's &),\n"
		"-v/--volume (no host directories in a container), -p/--publish (not needed: the\n"
		"host's network is shared), --name (no containers are kept to name).\n"
		"\n"
		"The exit status is the command's (128+N when killed by signal N); 127 when\n"
		"the command is not found, 126 when it cannot be executed, 1 when the\n"
		"container could not be started.\n");
}

/* --platform P on an image of another platform (a single-platform image) */
static int check_platform(const struct build_image *img, const char *ref, const struct dockerfile_platform *want,
			  struct strata_error **err)
{
	struct dockerfile_platform have;
	if (!want || build_platform_of_config(img->config, &have) < 0 || build_platform_satisfies(&have, want))
		return 0;
	char w[128], h[128];
	return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "image '%s' is %s, not %s", ref,
				  dockerfile_platform_format(&have, h, sizeof(h)), dockerfile_platform_format(want, w, sizeof(w)));
}

static int cmd_run(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		usage(stdout);
		return EXIT_OK;
	}
	enum { O_RM = 256, O_ENTRYPOINT, O_NETWORK, O_NAME, O_PLATFORM };
	static const struct option opts[] = {
		{ "rm", no_argument, NULL, O_RM },       { "env", required_argument, NULL, 'e' },
		{ "user", required_argument, NULL, 'u' }, { "workdir", required_argument, NULL, 'w' },
		{ "entrypoint", required_argument, NULL, O_ENTRYPOINT },
		{ "network", required_argument, NULL, O_NETWORK },
		{ "platform", required_argument, NULL, O_PLATFORM },
		{ "interactive", no_argument, NULL, 'i' }, { "tty", no_argument, NULL, 't' },
		{ "detach", no_argument, NULL, 'd' },      { "volume", required_argument, NULL, 'v' },
		{ "publish", required_argument, NULL, 'p' }, { "name", required_argument, NULL, O_NAME },
		{ NULL, 0, NULL, 0 },
	};
	struct build_run_options o = { 0 };
	struct dockerfile_platform plat;
	bool have_plat = false;
	const char **env = xcalloc((size_t)argc + 1, sizeof(char *));
	size_t ne = 0;
	char *root = NULL;
	struct build_image *img = NULL;
	struct strata_error *err = NULL;
	int rc = EXIT_FAIL, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+e:u:w:itdv:p:", opts, NULL)) != -1) {
		switch (c) {
		case O_RM: break;
		case 'i': break; /* stdin is always the container's */
		case 't':
			if (!isatty(0)) {
				rc = cli_usage_error("run", "-t/--tty: stdin is not a terminal (the container uses "
							    "strata's own terminal; no new one is allocated)");
				goto out;
			}
			break;
		case 'd':
			rc = cli_usage_error("run", "-d/--detach is not supported: strata has no daemon to keep a "
						    "container running; use your shell's & instead");
			goto out;
		case 'v':
			rc = cli_usage_error("run", "-v/--volume is not supported: strata run does not mount host "
						    "directories (COPY the files into the image instead)");
			goto out;
		case 'p':
			rc = cli_usage_error("run", "-p/--publish is not supported and not needed: the container "
						    "shares the host's network, so its ports are the host's");
			goto out;
		case O_NAME:
			rc = cli_usage_error("run", "--name is not supported: strata keeps no containers to name "
						    "(each run's changes are thrown away)");
			goto out;
		case 'e':
			if (!strchr(optarg, '=')) {
				rc = cli_usage_error("run", "--env needs K=V, got '%s'", optarg);
				goto out;
			}
			env[ne++] = optarg;
			break;
		case 'u': o.user = optarg; break;
		case 'w': o.workdir = optarg; break;
		case O_ENTRYPOINT: o.entrypoint = optarg; break;
		case O_PLATFORM:
			if (!strchr(optarg, '/') || dockerfile_platform_parse(optarg, &plat, NULL) < 0) {
				rc = cli_usage_error("run", "invalid --platform '%s': expected os/arch[/variant]", optarg);
				goto out;
			}
			have_plat = true;
			break;
		case O_NETWORK:
			if (!strcmp(optarg, "none"))
				o.network = EXEC_NET_NONE;
			else if (strcmp(optarg, "host")) {
				rc = cli_usage_error("run", "--network must be host or none, got '%s'", optarg);
				goto out;
			}
			break;
		default:
			rc = cli_option_error("run", argv, "+e:u:w:itdv:p:", opts);
			goto out;
		}
	}
	if (optind >= argc) {
		rc = cli_usage_error("run", "no image given");
		goto out;
	}
	o.env = env;
	o.cmd = (const char *const *)argv + optind + 1;
	root = cli_store_root();
	int status = 0;
	if (cli_fetch_remote_layers(root, argv[optind], stderr, &err) < 0 ||
	    build_image_lookup_platform(root, argv[optind], have_plat ? &plat : NULL, &img, &err) < 0 ||
	    check_platform(img, argv[optind], have_plat ? &plat : NULL, &err) < 0 ||
	    build_image_run(root, img, &o, &status, &err) < 0) {
		bool interrupted = strata_error_code(err) == STRATA_E_INTERRUPTED;
		rc = cli_fail(err);
		if (interrupted)
			rc = 130;
		else if (status == 126 || status == 127)
			rc = status; /* the command could not be executed (as docker run) */
		goto out;
	}
	rc = status;
out:
	build_image_free(img);
	free(root);
	free(env);
	return rc;
}
STRATA_COMMAND(run, "run", "Run a command in an image", cmd_run);
