/*
 * regopts.h — options shared by the verbs that talk to registries (login,
 * logout, pull, push): --insecure-registry HOST (repeatable), --tls-ca FILE,
 * plus $STRATA_INSECURE_REGISTRIES and registries.conf (registry/client.h),
 * and the strict parsing of --parallel N.
 */
#ifndef STRATA_CLI_REGOPTS_H
#define STRATA_CLI_REGOPTS_H

#include <stdio.h>

#include "registry/client.h"

#define CLI_REGOPTS_HELP                                                                         \
	"      --insecure-registry HOST  allow plain http / unverified TLS for HOST (repeatable)\n" \
	"      --tls-ca FILE             trust the CA certificates in FILE (PEM)\n"

/* Long-option values for getopt_long tables. */
enum { CLI_OPT_INSECURE = 1000, CLI_OPT_TLS_CA };
#define CLI_REGOPTS_LONG                                                                         \
	{ "insecure-registry", required_argument, NULL, CLI_OPT_INSECURE },                      \
	{ "tls-ca", required_argument, NULL, CLI_OPT_TLS_CA }

/* Releases the options when the variable goes out of scope. */
#define cleanup_regopts __attribute__((cleanup(regclient_opts_release)))

/* Handle one getopt result. @return 1 handled, 0 not ours. */
int cli_regopts_handle(struct regclient_opts *o, int opt, const char *arg);
/* Load the environment / config file, then create the client. @return 0 or -1. */
int cli_regclient_new(struct regclient_opts *o, struct regclient **out, struct strata_error **err);

/*
 * Parse the value of --parallel for verb: decimal digits only, 1 to 64
 * ("5x", "0", "-1" and "" are refused).
 * @return 0 with *out set, or EXIT_USAGE after printing the usage error.
 */
int cli_parallel_parse(const char *verb, const char *arg, int *out);

/*
 * The options of pull and push: -j/--parallel N, -q/--quiet, the registry
 * options, -h/--help (prints usage()) and, when platform is not NULL,
 * --platform P. Parses argv with getopt_long from the start; optind is then
 * at the operands. o is the caller's to release either way.
 * @return -1 when the verb goes on, else the exit code to return (EXIT_OK
 * after --help, EXIT_USAGE after printing a usage error).
 */
int cli_xfer_opts_parse(const char *verb, int argc, char **argv, void (*usage)(void), struct regclient_opts *o,
			const char **platform, bool *quiet);

#endif
