#include "cli/cli.h"

#include <stdio.h>

static int cmd_version(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		printf("Usage: strata version\n\nPrint the version of strata.\n");
		return EXIT_OK;
	}
	if (argc > 1)
		return cli_usage_error("version", "takes no arguments");
	printf("strata version %s (%s)\n", STRATA_VERSION, STRATA_GITREV);
	return EXIT_OK;
}
STRATA_COMMAND(version, "version", "Print the version", cmd_version);
