/*
 * cli.h — subcommand registration and the helpers every verb shares.
 *
 * Each verb lives in its own file and registers itself:
 *
 *     static int cmd_tag(int argc, char **argv) { ... }
 *     STRATA_COMMAND(tag, "tag", "Create a tag TARGET that refers to SOURCE", cmd_tag);
 *
 * The registration places a descriptor in the "strata_cmds" linker section;
 * main.c finds every verb there, so adding a verb never edits a shared table.
 * Verbs with sub-verbs ("registry serve") register the group name and
 * dispatch themselves.
 *
 * Only cli/ prints errors and decides exit codes.
 */
#ifndef STRATA_CLI_H
#define STRATA_CLI_H

#include <stdbool.h>

#include "util/util.h"

/* Exit codes shared by every verb. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
};

struct strata_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv); /* argv[0] is the verb; returns the exit code */
	bool hidden;                       /* debugging aid: runs, but not listed in --help */
};

#define STRATA_COMMAND(id, name_, summary_, fn)                                                  \
	static const struct strata_command strata_cmd_##id                                       \
		__attribute__((used, section("strata_cmds"), aligned(sizeof(void *)))) = {        \
			.name = name_, .summary = summary_, .run = fn }

/* A debugging verb: it works, but `strata --help` does not list it. */
#define STRATA_HIDDEN_COMMAND(id, name_, summary_, fn)                                           \
	static const struct strata_command strata_cmd_##id                                       \
		__attribute__((used, section("strata_cmds"), aligned(sizeof(void *)))) = {        \
			.name = name_, .summary = summary_, .run = fn, .hidden = true }

/*
 * Print "strata: error: <chain>" to stderr and free the error.
 * @return the exit code for it (EXIT_USAGE for STRATA_E_USAGE, else EXIT_FAIL).
 */
int cli_fail(struct strata_error *err);
/* as cli_fail, but a STRATA_E_USAGE error prints as cli_usage_error for VERB
 * (with the "Run 'strata VERB --help'" line); frees err */
int cli_fail_verb(const char *verb, struct strata_error *err);
/* Print "strata <verb>: <message>" plus a hint to run --help; @return EXIT_USAGE. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * After getopt_long returned '?': the usage error naming the option that
 * stopped it ("unknown option '-i'", "option '--tag' needs a value"), from
 * optopt / optind. shortopts and longopts: those given to getopt_long.
 * @return EXIT_USAGE.
 */
struct option;
int cli_option_error(const char *verb, char **argv, const char *shortopts, const struct option *longopts);
/* true if argv has -h/--help before a "--". */
bool cli_wants_help(int argc, char **argv);

/*
 * Parse s strictly as a decimal number in [min, max]: digits only, no sign,
 * no space, no suffix. @return 0 with *out set, or -1.
 */
int cli_parse_number(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/*
 * The local store root: $STRATA_ROOT, else /var/lib/strata as root,
 * else $XDG_DATA_HOME/strata (default ~/.local/share/strata).
 * Newly allocated.
 */
char *cli_store_root(void);

/*
 * `strata save`: the images refs[0..n) as a docker (oci false) or OCI
 * archive written to file ("-": standard output); layers a cached build
 * left in a registry are fetched first. @return 0 or -1.
 */
int cli_save_archive(const char *file, bool oci, char **refs, size_t n, struct strata_error **err);

#endif
