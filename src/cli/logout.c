#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/regopts.h"

static int cmd_logout(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		printf("Usage: strata logout HOST\n\n"
		       "Remove the credentials for the registry HOST from docker's config.json\n"
		       "($DOCKER_CONFIG or ~/.docker) and from its credential helper, if any.\n\n"
		       "Options:\n"
		       "  -h, --help  show this help\n");
		return EXIT_OK;
	}
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage_error("logout", "expected one registry HOST");
	cleanup_free char *host = regclient_host_from_key(argv[1]);
	struct strata_error *err = NULL;
	int r = regclient_creds_erase(NULL, host, &err);
	if (r < 0) {
		strata_error_wrap(&err, "logout %s", host);
		return cli_fail(err);
	}
	if (r == 0)
		printf("Not logged in to %s\n", host);
	else
		printf("Removing login credentials for %s\n", host);
	return EXIT_OK;
}
STRATA_COMMAND(logout, "logout", "Log out from a registry", cmd_logout);
