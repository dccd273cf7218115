/*
 * exec_debug.c — `strata exec-debug`: run a command with the build executor
 * over plain directories. A debugging and benchmarking aid (and the
 * executor's end-to-end smoke test), not a user-facing verb.
 */
#include "cli/cli.h"
#include "build/executor.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: strata exec-debug [OPTIONS] --rootfs DIR... -- COMMAND [ARG...]\n"
		"\n"
		"Run COMMAND with the build executor in an overlay of the --rootfs directories\n"
		"(the first is the top layer) and a fresh upper dir, as a RUN step would.\n"
		"\n"
		"Options:\n"
		"  --rootfs DIR         a lower layer directory (repeatable; none = empty rootfs)\n"
		"  --upper DIR          keep the changes in DIR (default: a temporary dir, removed)\n"
		"  --sh CMDLINE         shell form: run /bin/sh -c CMDLINE instead of COMMAND\n"
		"  -e, --env K=V        an environment variable (repeatable; nothing is inherited)\n"
		"  -u, --user USER      name, uid, name:group or uid:gid\n"
		"  -w, --workdir DIR    working directory (created when missing)\n"
		"      --hostname NAME  hostname (default strata)\n"
		"      --network MODE   host (default) or none\n"
		"      --mount SPEC     RUN --mount: type=bind|cache|tmpfs|secret,target=,source=\n"
		"                       (host path),id=,env=,ro,rw,required,size=,sharing=,mode=,uid=,gid=\n"
		"      --timeout MS     kill the command after MS milliseconds\n"
		"      --repeat N       run N times (fresh upper each) and print the mean time per run\n"
		"      --run-dir DIR    executor state (default $STRATA_ROOT/run/exec)\n"
		"  -h, --help           show this help\n"
		"\n"
		"The exit code is the command's (128+N when killed by signal N, 124 on timeout,\n"
		"130 when strata itself is interrupted).\n");
}

static int parse_mount(const char *spec, struct exec_mount *m)
{
	cleanup_free char *copy = xstrdup(spec);
	exec_mount_init(m, EXEC_MOUNT_BIND);
	/* the type decides the defaults: find it first */
	if (strstr(copy, "type=cache"))
		exec_mount_init(m, EXEC_MOUNT_CACHE);
	else if (strstr(copy, "type=tmpfs"))
		exec_mount_init(m, EXEC_MOUNT_TMPFS);
	else if (strstr(copy, "type=secret"))
		exec_mount_init(m, EXEC_MOUNT_SECRET);
	else if (strstr(copy, "type=ssh"))
		exec_mount_init(m, EXEC_MOUNT_SSH);
	char *save = NULL;
	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		if (v)
			*v++ = '\0';
		if (!strcmp(kv, "type"))
			continue;
		else if (!strcmp(kv, "target") || !strcmp(kv, "dst") || !strcmp(kv, "destination"))
			m->target = v ? xstrdup(v) : NULL;
		else if (!strcmp(kv, "source") || !strcmp(kv, "src"))
			m->host_source = v ? xstrdup(v) : NULL;
		else if (!strcmp(kv, "id"))
			m->id = v ? xstrdup(v) : NULL;
		else if (!strcmp(kv, "env"))
			m->env = v ? xstrdup(v) : NULL;
		else if (!strcmp(kv, "ro") || !strcmp(kv, "readonly"))
			m->readonly = true;
		else if (!strcmp(kv, "rw"))
			m->readonly = false;
		else if (!strcmp(kv, "required"))
			m->required = !v || !strcmp(v, "true");
		else if (!strcmp(kv, "size") && v)
			m->size = strtoull(v, NULL, 10);
		else if (!strcmp(kv, "mode") && v)
			m->mode = (int)strtol(v, NULL, 8);
		else if (!strcmp(kv, "uid") && v)
			m->uid = strtol(v, NULL, 10);
		else if (!strcmp(kv, "gid") && v)
			m->gid = strtol(v, NULL, 10);
		else if (!strcmp(kv, "sharing") && v)
			m->sharing = !strcmp(v, "private") ? EXEC_SHARING_PRIVATE
				     : !strcmp(v, "locked") ? EXEC_SHARING_LOCKED
							    : EXEC_SHARING_SHARED;
		else
			return -1;
	}
	return 0;
}

static void free_mount(struct exec_mount *m)
{
	free((char *)m->target);
	free((char *)m->host_source);
	free((char *)m->id);
	free((char *)m->env);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmd_exec_debug(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		usage(stdout);
		return EXIT_OK;
	}
	enum { O_ROOTFS = 256, O_UPPER, O_SH, O_HOSTNAME, O_NETWORK, O_MOUNT, O_TIMEOUT, O_REPEAT, O_RUNDIR };
	static const struct option opts[] = {
		{ "rootfs", required_argument, NULL, O_ROOTFS },   { "upper", required_argument, NULL, O_UPPER },
		{ "sh", required_argument, NULL, O_SH },           { "env", required_argument, NULL, 'e' },
		{ "user", required_argument, NULL, 'u' },          { "workdir", required_argument, NULL, 'w' },
		{ "hostname", required_argument, NULL, O_HOSTNAME }, { "network", required_argument, NULL, O_NETWORK },
		{ "mount", required_argument, NULL, O_MOUNT },     { "timeout", required_argument, NULL, O_TIMEOUT },
		{ "repeat", required_argument, NULL, O_REPEAT },   { "run-dir", required_argument, NULL, O_RUNDIR },
		{ NULL, 0, NULL, 0 },
	};
	const char **lowers = xcalloc((size_t)argc + 1, sizeof(*lowers));
	const char **env = xcalloc((size_t)argc + 1, sizeof(*env));
	struct exec_mount *mounts = xcalloc((size_t)argc + 1, sizeof(*mounts));
	size_t nl = 0, ne = 0, nm = 0;
	struct exec_spec spec;
	exec_spec_init(&spec);
	const char *upper = NULL;
	char *run_dir = NULL, *root = NULL, *cache_root = NULL;
	long repeat = 1;
	int rc = EXIT_FAIL, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+e:u:w:", opts, NULL)) != -1) {
		switch (c) {
		case O_ROOTFS: lowers[nl++] = optarg; break;
		case O_UPPER: upper = optarg; break;
		case O_SH: spec.cmdline = optarg; break;
		case 'e':
			if (!strchr(optarg, '=')) {
				rc = cli_usage_error("exec-debug", "--env needs K=V, got '%s'", optarg);
				goto out;
			}
			env[ne++] = optarg;
			break;
		case 'u': spec.user = optarg; break;
		case 'w': spec.cwd = optarg; break;
		case O_HOSTNAME: spec.hostname = optarg; break;
		case O_NETWORK:
			if (!strcmp(optarg, "none"))
				spec.network = EXEC_NET_NONE;
			else if (strcmp(optarg, "host") != 0) {
				rc = cli_usage_error("exec-debug", "--network must be host or none, got '%s'", optarg);
				goto out;
			}
			break;
		case O_MOUNT:
			if (parse_mount(optarg, &mounts[nm++]) < 0) {
				rc = cli_usage_error("exec-debug", "bad --mount '%s'", optarg);
				goto out;
			}
			break;
		case O_TIMEOUT: spec.timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case O_REPEAT:
			repeat = strtol(optarg, NULL, 10);
			if (repeat < 1 || repeat > 100000) {
				rc = cli_usage_error("exec-debug", "--repeat needs 1..100000");
				goto out;
			}
			break;
		case O_RUNDIR: run_dir = xstrdup(optarg); break;
		default:
			rc = cli_option_error("exec-debug", argv, "+e:u:w:", opts);
			goto out;
		}
	}
	if (!spec.cmdline && optind >= argc) {
		rc = cli_usage_error("exec-debug", "no command given");
		goto out;
	}
	spec.argv = (const char *const *)argv + optind;
	spec.lowerdirs = lowers;
	spec.n_lowerdirs = nl;
	spec.env = env;
	spec.mounts = mounts;
	spec.n_mounts = nm;
	spec.stdin_fd = 0;
	spec.stdout_fd = 1;
	spec.stderr_fd = 2;
	root = cli_store_root();
	if (!run_dir)
		run_dir = xasprintf("%s/run/exec", root);
	cache_root = xasprintf("%s/cache/run-mounts", root);
	spec.run_dir = run_dir;
	spec.cache_root = cache_root;

	struct strata_error *err = NULL;
	if (strata_mkdir_p(run_dir, 0700, &err) < 0 || executor_cleanup_stale(run_dir, &err) < 0) {
		rc = cli_fail(err);
		goto out;
	}
	double t0 = now_ms();
	struct exec_result res;
	for (long i = 0; i < repeat; i++) {
		cleanup_free char *tmp = NULL;
		if (strata_mkdtemp(run_dir, "debug-", &tmp, &err) < 0) {
			rc = cli_fail(err);
			goto out;
		}
		cleanup_free char *u = xasprintf("%s/upper", tmp);
		cleanup_free char *w = xasprintf("%s/work", tmp);
		if (strata_mkdir_p(upper ? upper : u, 0755, &err) < 0 || strata_mkdir_p(w, 0700, &err) < 0) {
			strata_rm_rf(tmp, NULL);
			rc = cli_fail(err);
			goto out;
		}
		spec.upper_dir = upper ? upper : u;
		spec.work_dir = w;
		int r = executor_run(&spec, &res, &err);
		strata_rm_rf(tmp, NULL);
		if (r < 0) {
			bool interrupted = strata_error_code(err) == STRATA_E_INTERRUPTED;
			rc = cli_fail(err);
			if (interrupted)
				rc = 130;
			goto out;
		}
	}
	if (repeat > 1)
		fprintf(stderr, "%ld runs, %.2f ms per run\n", repeat, (now_ms() - t0) / (double)repeat);
	rc = res.timed_out ? 124 : res.signal ? 128 + res.signal : res.exit_code;
out:
	for (size_t i = 0; i < nm; i++)
		free_mount(&mounts[i]);
	free(mounts);
	free(lowers);
	free(run_dir);
	free(root);
	free(cache_root);
	free(env);
	return rc;
}
STRATA_HIDDEN_COMMAND(exec_debug, "exec-debug", "Run a command with the build executor (debugging)", cmd_exec_debug);
