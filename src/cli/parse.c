/*
 * strata parse — print the resolved stages and steps of a Dockerfile as
 * JSON (a debugging aid; the shape is in docs/internals/dockerfile.md).
 */
#include "cli/cli.h"
#include "dockerfile/dockerfile.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(void)
{
	printf("Usage: strata parse [-f Dockerfile] [--build-arg K[=V]]... [--target STAGE]\n"
	       "                    [--platform P] [--build-platform P]\n"
	       "\n"
	       "Parse and resolve a Dockerfile and print its stages and steps as JSON.\n"
	       "\n"
	       "Options:\n"
	       "  -f, --file PATH        the Dockerfile (default ./Dockerfile; '-' reads stdin)\n"
	       "      --build-arg K=V    set a build arg; K alone takes the value from the environment\n"
	       "      --target STAGE     the stage to build (default: the last one)\n"
	       "      --platform P       the target platform (TARGETPLATFORM; default: the host's)\n"
	       "      --build-platform P the build platform (BUILDPLATFORM; default: the host's)\n"
	       "  -h, --help             show this help\n"
	       "\n"
	       "Warnings (unused build args, empty continuation lines) go to stderr.\n");
}

static int cmd_parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "build-arg", required_argument, NULL, 'a' },
		{ "target", required_argument, NULL, 't' },
		{ "platform", required_argument, NULL, 'p' },
		{ "build-platform", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = "Dockerfile", *target = NULL;
	struct dockerfile_buildargs ba = { 0 };
	struct dockerfile_platform tp, bp;
	bool have_tp = false, have_bp = false;
	struct strata_error *err = NULL;
	int c, rc = EXIT_OK;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			file = optarg;
			break;
		case 'a':
			if (dockerfile_buildargs_add(&ba, optarg, &err) < 0) {
				dockerfile_buildargs_release(&ba);
				strata_error_free(err);
				return cli_usage_error("parse", "--build-arg '%s': empty name", optarg);
			}
			break;
		case 't':
			target = optarg;
			break;
		case 'p':
		case 'P':
			if (dockerfile_platform_parse(optarg, c == 'p' ? &tp : &bp, &err) < 0) {
				dockerfile_buildargs_release(&ba);
				strata_error_free(err);
				return cli_usage_error("parse", "invalid platform '%s'", optarg);
			}
			if (c == 'p')
				have_tp = true;
			else
				have_bp = true;
			break;
		case 'h':
			usage();
			dockerfile_buildargs_release(&ba);
			return EXIT_OK;
		default:
			dockerfile_buildargs_release(&ba);
			return cli_option_error("parse", argv, "+f:h", opts);
		}
	}
	if (optind < argc) {
		dockerfile_buildargs_release(&ba);
		return cli_usage_error("parse", "unexpected argument '%s'", argv[optind]);
	}
	struct dockerfile *df = NULL;
	struct dockerfile_build *b = NULL;
	const char *name = !strcmp(file, "-") ? "Dockerfile" : file;
	struct dockerfile_options o = { &ba, target, have_bp ? &bp : NULL, have_tp ? &tp : NULL };
	if (dockerfile_parse_file(file, name, &df, &err) < 0 || dockerfile_resolve(df, &o, &b, &err) < 0) {
		rc = cli_fail(err);
	} else {
		for (size_t i = 0; i < df->nwarnings; i++)
			fprintf(stderr, "strata: warning: %s\n", df->warnings[i]);
		for (size_t i = 0; i < b->nwarnings; i++)
			fprintf(stderr, "%s\n", b->warnings[i]);
		json_t *j = dockerfile_build_to_json(b);
		char *s = strata_json_dump_pretty(j);
		fputs(s, stdout);
		free(s);
		json_decref(j);
		if (fflush(stdout) != 0)
			rc = EXIT_FAIL;
	}
	dockerfile_build_free(b);
	dockerfile_free(df);
	dockerfile_buildargs_release(&ba);
	return rc;
}
STRATA_COMMAND(parse, "parse", "Print the resolved stages and steps of a Dockerfile as JSON", cmd_parse);
