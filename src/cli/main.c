/*
 * main.c — the strata binary: global options, verb dispatch, top-level help.
 */
#include "build/sandbox.h"
#include "cli/cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct strata_command __start_strata_cmds[];
extern const struct strata_command __stop_strata_cmds[];

static int cmd_cmp(const void *a, const void *b)
{
	const struct strata_command *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

static void usage(FILE *out)
{
	size_t n = (size_t)(__stop_strata_cmds - __start_strata_cmds);
	const struct strata_command **list = xcalloc(n, sizeof(*list));
	for (size_t i = 0; i < n; i++)
		list[i] = &__start_strata_cmds[i];
	qsort(list, n, sizeof(*list), cmd_cmp);
	fprintf(out,
		"Usage: strata [OPTIONS] COMMAND [ARGS...]\n"
		"\n"
		"Daemonless container image builds with layer caching for CI.\n"
		"\n"
		"Options:\n"
		"  -h, --help             show this help\n"
		"  -v, --version          print the version\n"
		"      --log-level LEVEL  error, warn (default), info or debug (also $STRATA_LOG)\n"
		"      --root DIR         local store (default $STRATA_ROOT, /var/lib/strata as root,\n"
		"                         else $XDG_DATA_HOME/strata)\n"
		"\n"
		"Environment:\n"
		"  STRATA_SNAPSHOTTER     how a build step gets its writable rootfs: overlay (the\n"
		"                         kernel's overlayfs), fuse-overlayfs, or copy (the base copied\n"
		"                         for every step: slower, works anywhere); unset: the first of\n"
		"                         those that works (as root: overlay), one line says when it\n"
		"                         copies. Set, exactly that one (no fallback). `strata info`\n"
		"                         shows the one in use.\n"
		"  STRATA_ROOTLESS=0      as an ordinary user, do not enter a user namespace\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < n; i++)
		if (!list[i]->hidden)
			fprintf(out, "  %-10s %s\n", list[i]->name, list[i]->summary);
	fprintf(out, "\nRun 'strata COMMAND --help' for more information on a command.\n");
	free(list);
}

static const struct strata_command *find(const char *name)
{
	for (const struct strata_command *c = __start_strata_cmds; c < __stop_strata_cmds; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	const char *lvl = getenv("STRATA_LOG");
	if (lvl && strata_log_parse_level(lvl) >= 0)
		strata_log_set_level((enum strata_log_level)strata_log_parse_level(lvl));

	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--version")) {
			printf("strata version %s (%s)\n", STRATA_VERSION, STRATA_GITREV);
			return EXIT_OK;
		} else if (!strcmp(a, "--log-level") || !strncmp(a, "--log-level=", 12)) {
			const char *v = a[11] == '=' ? a + 12 : (i + 1 < argc ? argv[++i] : NULL);
			int l = v ? strata_log_parse_level(v) : -1;
			if (l < 0)
				return cli_usage_error(NULL, "--log-level needs one of error, warn, info, debug");
			strata_log_set_level((enum strata_log_level)l);
		} else if (!strcmp(a, "--root") || !strncmp(a, "--root=", 7)) {
			const char *v = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);
			if (!v || !*v)
				return cli_usage_error(NULL, "--root needs a directory");
			setenv("STRATA_ROOT", v, 1);
		} else {
			return cli_usage_error(NULL, "unknown option '%s'", a);
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		if (i + 1 < argc) {
			const struct strata_command *c = find(argv[i + 1]);
			if (!c)
				return cli_usage_error(NULL, "unknown command '%s'", argv[i + 1]);
			char *hargv[] = { argv[i + 1], (char *)"--help", NULL };
			return c->run(2, hargv);
		}
		usage(stdout);
		return EXIT_OK;
	}
	const struct strata_command *c = find(argv[i]);
	if (!c)
		return cli_usage_error(NULL, "unknown command '%s'", argv[i]);
	/* the one place the isolation mode is decided: root, or a user namespace */
	sandbox_init();
	return c->run(argc - i, argv + i);
}
