#include "build/sandbox.h"
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_fail(struct strata_error *err)
{
	char *s = strata_error_string(err);
	int code = strata_error_code(err);
	fprintf(stderr, "strata: error: %s\n", s);
	free(s);
	strata_error_free(err);
	return code == STRATA_E_USAGE ? EXIT_USAGE : EXIT_FAIL;
}

int cli_fail_verb(const char *verb, struct strata_error *err)
{
	if (strata_error_code(err) != STRATA_E_USAGE)
		return cli_fail(err);
	char *m = strata_error_string(err);
	strata_error_free(err);
	int rc = cli_usage_error(verb, "%s", m);
	free(m);
	return rc;
}

int cli_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "strata%s%s: ", verb ? " " : "", verb ? verb : "");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nRun 'strata %s%s--help' for usage.\n", verb ? verb : "", verb ? " " : "");
	return EXIT_USAGE;
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	}
	return false;
}

int cli_parse_number(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	if (!*s || s[strspn(s, "0123456789")])
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, NULL, 10);
	if (errno || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

char *cli_store_root(void)
{
	const char *r = getenv("STRATA_ROOT");
	if (r && *r)
		return xstrdup(r);
	/* the real user decides (in rootless mode the process is root of its user namespace) */
	if (geteuid() == 0 && sandbox_get()->host_uid == 0)
		return xstrdup("/var/lib/strata");
	const char *x = getenv("XDG_DATA_HOME");
	if (x && *x)
		return xasprintf("%s/strata", x);
	const char *h = getenv("HOME");
	return xasprintf("%s/.local/share/strata", h && *h ? h : "/tmp");
}

int cli_option_error(const char *verb, char **argv, const char *shortopts, const struct option *longopts)
{
	/* getopt_long leaves in optopt the short option it stopped at, or the
	 * val of a long one missing its value (argv[optind - 1]), or 0 for an
	 * unknown long option (argv[optind - 1]) */
	const char *a = optind > 0 ? argv[optind - 1] : "";
	size_t n = strcspn(a, "=");
	if (!strncmp(a, "--", 2) && n > 2) {
		for (const struct option *o = longopts; o && o->name; o++)
			if (strlen(o->name) == n - 2 && !strncmp(o->name, a + 2, n - 2)) {
				if (optopt == o->val && o->has_arg == required_argument)
					return cli_usage_error(verb, "option '--%s' needs a value", o->name);
				if (optopt == o->val && o->has_arg == no_argument && a[n] == '=')
					return cli_usage_error(verb, "option '--%s' takes no value", o->name);
			}
		if (optopt == 0)
			return cli_usage_error(verb, "unknown option '%.*s'", (int)n, a);
	}
	if (optopt > 0 && optopt < 256 && optopt != ':' && optopt != '+' && strchr(shortopts, optopt))
		return cli_usage_error(verb, "option '-%c' needs a value", optopt);
	if (optopt > 0 && optopt < 256)
		return cli_usage_error(verb, "unknown option '-%c'", optopt);
	return cli_usage_error(verb, "unknown option '%s'", a);
}
