/*
 * ci.c — `strata ci`: the seed's CI job in one command (docs/ci.md). The
 * plan (names, tags) comes from ci/ci.h; the build, the cache import and the
 * push are those of `strata build --cache-from REG:buildcache --cache-from
 * REG:latest --cache-to REG:buildcache,mode=max -t REG:TAG -t REG:latest
 * --push` (cli/buildremote.h); the exit code says what failed.
 */
#include "build/sandbox.h"
#include "cli/cli.h"
#include "cli/buildremote.h"
#include "cli/ci_compose.h"
#include "cli/regopts.h"
#include "cli/report.h"
#include "build/build.h"
#include "ci/ci.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: strata ci [OPTIONS] [CONTEXT]\n"
		"       strata ci --compose [FILE] [OPTIONS]\n"
		"\n"
		"The CI job of docs/ci.md in one command: build CONTEXT (default .) with\n"
		"--cache-from REGISTRY/IMAGE:buildcache and :latest (missing is fine), tag it\n"
		"REVISION_BUILD (the revision whole; both are needed) and latest, push both,\n"
		"export every stage's cache to REGISTRY/IMAGE:buildcache (mode=max), print a\n"
		"summary.\n"
		"\n"
		"Options (each overrides the environment):\n"
		"      --image NAME         the repository (DOCKER_IMAGE_NAME)\n"
		"      --registry HOST[:PORT]  the registry (REGISTRY_URL, REGISTRY_PORT)\n"
		"      --revision REV       (SEMAPHORE_GIT_SHA, GITHUB_SHA, CI_COMMIT_SHA, REVISION)\n"
		"      --build-number N     (SEMAPHORE_BUILD_NUMBER, GITHUB_RUN_NUMBER, CI_PIPELINE_IID,\n"
		"                           BUILD_NUMBER)\n"
		"  -f, --file PATH          the Dockerfile (default CONTEXT/Dockerfile)\n"
		"      --build-arg K[=V]    a build argument (repeatable)\n"
		"      --cache-tag TAG      the cache artifact's tag (STRATA_CACHE_TAG, default buildcache);\n"
		"                           none: no cache artifact, only the inline cache of :latest\n"
		"      --compose [FILE]     build and push every service of a compose file that has a\n"
		"                           build section (default: compose.yaml & co.)\n"
		"      --progress MODE      auto (default), plain or tty\n" CLI_REGOPTS_HELP
		"  -h, --help               show this help\n"
		"\n"
		"Environment:\n"
		"  STRATA_REPORT=FILE.html|FILE.json  write a report of the build (see strata build --report)\n"
		"\n"
		"Exit status:\n"
		"  0  success\n"
		"  1  any other failure\n"
		"  2  usage error (bad command line)\n"
		"  3  a build step failed\n"
		"  4  the registry refused the push or was unreachable\n"
		"  5  authentication or authorisation failure\n"
		"  6  bad configuration (no image name, a missing revision or build number,\n"
		"     bad reference, a base image the registry does not have, bad compose file,\n"
		"     a missing or unparsable Dockerfile, a missing context)\n"
		"  130  interrupted (SIGINT, SIGTERM)\n");
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int ci_fail(struct strata_error *err)
{
	int code = ci_exit_code(err);
	cli_fail(err);
	return code;
}

static int cmd_ci(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		usage(stdout);
		return EXIT_OK;
	}
	enum { O_IMAGE = 256, O_REGISTRY, O_REVISION, O_BUILD, O_BUILDARG, O_COMPOSE, O_PROGRESS, O_CACHE_TAG };
	static const struct option opts[] = {
		{ "image", required_argument, NULL, O_IMAGE },
		{ "registry", required_argument, NULL, O_REGISTRY },
		{ "revision", required_argument, NULL, O_REVISION },
		{ "build-number", required_argument, NULL, O_BUILD },
		{ "file", required_argument, NULL, 'f' },
		{ "build-arg", required_argument, NULL, O_BUILDARG },
		{ "compose", no_argument, NULL, O_COMPOSE },
		{ "progress", required_argument, NULL, O_PROGRESS },
		{ "cache-tag", required_argument, NULL, O_CACHE_TAG },
		CLI_REGOPTS_LONG,
		{ NULL, 0, NULL, 0 },
	};
	struct ci_flags fl = { 0 };
	struct build_options o = { .out = stderr, .progress = BUILD_PROGRESS_AUTO };
	struct dockerfile_buildargs ba = { 0 };
	struct regclient_opts ro = { 0 };
	struct ci_plan plan = { 0 };
	struct cli_build_remote *remote = NULL;
	struct cli_report report = { 0 };
	struct strata_error *err = NULL;
	const char **buildargs = xcalloc((size_t)argc + 1, sizeof(char *));
	size_t nba = 0;
	bool compose = false;
	char *root = NULL;
	int rc = EXIT_FAIL, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		if (cli_regopts_handle(&ro, c, optarg))
			continue;
		switch (c) {
		case O_IMAGE: fl.image = optarg; break;
		case O_REGISTRY: fl.registry = optarg; break;
		case O_REVISION: fl.revision = optarg; break;
		case O_BUILD: fl.build_number = optarg; break;
		case O_CACHE_TAG: fl.cache_tag = optarg; break;
		case 'f': o.dockerfile = optarg; break;
		case O_BUILDARG:
			buildargs[nba++] = optarg;
			if (dockerfile_buildargs_add(&ba, optarg, &err) < 0) {
				cleanup_free char *m = strata_error_string(err);
				strata_error_free(err);
				rc = cli_usage_error("ci", "%s", m);
				goto out;
			}
			break;
		case O_COMPOSE: compose = true; break;
		case O_PROGRESS:
			if (!strcmp(optarg, "plain"))
				o.progress = BUILD_PROGRESS_PLAIN;
			else if (!strcmp(optarg, "tty"))
				o.progress = BUILD_PROGRESS_TTY;
			else if (strcmp(optarg, "auto")) {
				rc = cli_usage_error("ci", "--progress must be auto, plain or tty, got '%s'", optarg);
				goto out;
			}
			break;
		default:
			rc = cli_option_error("ci", argv, "f:", opts);
			goto out;
		}
	}
	if (argc - optind > 1) {
		rc = cli_usage_error("ci", "one %s only", compose ? "compose file" : "build context");
		goto out;
	}
	if (compose) {
		if (o.dockerfile || nba) {
			rc = cli_usage_error("ci", "-f and --build-arg do not apply to --compose (set them in the compose file)");
			goto out;
		}
		struct ci_compose_options co = {
			.file = optind < argc ? argv[optind] : NULL,
			.flags = &fl,
			.getenv_fn = env_get,
			.reg = &ro,
			.progress = o.progress,
		};
		rc = ci_compose_run(&co);
		goto out;
	}
	double t0 = now();
	if (ci_plan_resolve(&fl, env_get, &plan, &err) < 0) {
		rc = ci_fail(err);
		goto out;
	}
	fprintf(stderr, "strata ci: building %s (image from %s, registry from %s, revision from %s, build from %s)\n",
		plan.ref_tag, plan.image_from, plan.registry_from ? plan.registry_from : "-", plan.revision_from ? plan.revision_from : "-",
		plan.build_from ? plan.build_from : "-");
	const char *tags[] = { plan.ref_tag, plan.ref_latest };
	/* every stage's cache beside the image (mode=max), then latest's inline cache */
	const char *cache_from[] = { plan.ref_cache ? plan.ref_cache : plan.ref_latest, plan.ref_latest };
	if (cli_report_open(&report, getenv("STRATA_REPORT"), &err) < 0) {
		cleanup_free char *m = strata_error_string(err);
		strata_error_free(err);
		rc = cli_usage_error("ci", "STRATA_REPORT: %s", m);
		goto out;
	}
	o.listener = cli_report_listener(&report);
	struct cli_build_remote_opts rop = { .reg = &ro,
					     .cache_from = cache_from,
					     .ncache_from = plan.ref_cache ? 2 : 1,
					     .cache_to = plan.cache_to,
					     .push = true,
					     .events = o.listener };
	if (cli_build_remote_open(&rop, stderr, &remote, &err) < 0) {
		rc = ci_fail(err);
		goto out;
	}
	root = cli_store_root();
	o.root = root;
	o.context_dir = optind < argc ? argv[optind] : ".";
	o.tags = tags;
	o.ntags = 2;
	o.buildargs = &ba;
	o.hooks = cli_build_remote_hooks(remote);
	struct build_result res;
	if (sandbox_require(&err) < 0 || build_run(&o, &res, &err) < 0 ||
	    cli_build_remote_finish(remote, tags, 2, &err) < 0) {
		rc = ci_fail(err);
		goto out;
	}
	struct cli_build_moved m;
	cli_build_remote_moved(remote, &m);
	char down[32], up[32];
	strata_format_bytes(m.bytes_down, down, sizeof(down));
	strata_format_bytes(m.bytes_up, up, sizeof(up));
	fprintf(stderr, "strata ci: %s and %s pushed: %zu step%s cached, %zu run; %s pulled, %s pushed (%llu requests); %.1fs\n",
		plan.ref_tag, plan.ref_latest, res.steps_cached, res.steps_cached == 1 ? "" : "s", res.steps_run, down,
		up, (unsigned long long)m.requests, now() - t0);
	printf("%s\n", res.image_id);
	rc = EXIT_OK;
out:
	cli_report_close(&report, plan.ref_tag);
	ci_plan_release(&plan);
	cli_build_remote_free(remote);
	regclient_opts_release(&ro);
	dockerfile_buildargs_release(&ba);
	free(buildargs);
	free(root);
	return rc;
}
STRATA_COMMAND(ci, "ci", "Build, tag and push with the registry's cache (the CI job)", cmd_ci);
