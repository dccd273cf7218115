/* Interpolation (every operator, nesting, errors) and the .env syntax. */
#include "compose/compose.h"
#include "util/util.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* The environment of the table: SET=val, EMPTY="", NUM=42; the rest unset. */
static const char *lookup(void *ctx, const char *name)
{
	(void)ctx;
	if (!strcmp(name, "SET"))
		return "val";
	if (!strcmp(name, "EMPTY"))
		return "";
	if (!strcmp(name, "NUM"))
		return "42";
	if (!strcmp(name, "_u9"))
		return "under";
	return NULL;
}

static int nwarn;
static void warn(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
	nwarn++;
}

static const struct {
	const char *in, *out; /* out NULL: an error containing `err` */
	const char *err;
} table[] = {
	{ "plain", "plain", NULL },
	{ "", "", NULL },
	{ "$SET", "val", NULL },
	{ "${SET}", "val", NULL },
	{ "a${SET}b", "avalb", NULL },
	{ "$SET-x", "val-x", NULL },
	{ "$SET.x", "val.x", NULL },
	{ "$_u9!", "under!", NULL },
	{ "$$", "$", NULL },
	{ "$$SET", "$SET", NULL },
	{ "$${SET}", "${SET}", NULL },
	{ "a$$$SET", "a$val", NULL },
	{ "$UNSET", "", NULL },
	{ "${UNSET}", "", NULL },
	/* :- and - */
	{ "${UNSET:-def}", "def", NULL },
	{ "${EMPTY:-def}", "def", NULL },
	{ "${SET:-def}", "val", NULL },
	{ "${UNSET-def}", "def", NULL },
	{ "${EMPTY-def}", "", NULL },
	{ "${SET-def}", "val", NULL },
	{ "${UNSET:-}", "", NULL },
	{ "${UNSET:-a b  c}", "a b  c", NULL },
	{ "${UNSET:-with:colon}", "with:colon", NULL },
	/* :+ and + */
	{ "${SET:+rep}", "rep", NULL },
	{ "${EMPTY:+rep}", "", NULL },
	{ "${UNSET:+rep}", "", NULL },
	{ "${SET+rep}", "rep", NULL },
	{ "${EMPTY+rep}", "rep", NULL },
	{ "${UNSET+rep}", "", NULL },
	/* :? and ? */
	{ "${SET:?boom}", "val", NULL },
	{ "${SET?boom}", "val", NULL },
	{ "${EMPTY?boom}", "", NULL },
	{ "${UNSET:?boom}", NULL, "required variable UNSET is missing a value: boom" },
	{ "${EMPTY:?must be set}", NULL, "required variable EMPTY is missing a value: must be set" },
	{ "${UNSET?boom}", NULL, "required variable UNSET is missing a value: boom" },
	{ "${UNSET:?}", NULL, "required variable UNSET is missing a value" },
	{ "${UNSET?err $SET}", NULL, "missing a value: err val" },
	/* nesting */
	{ "${UNSET:-${SET}}", "val", NULL },
	{ "${UNSET:-${ALSO:-deep}}", "deep", NULL },
	{ "${UNSET:-x${NUM}y}", "x42y", NULL },
	{ "${SET:+${NUM}}", "42", NULL },
	{ "${UNSET:-$${literal}}", "${literal}", NULL },
	{ "${UNSET:-a}}", "a}", NULL },
	{ "${UNSET:-${NOPE:?inner}}", NULL, "required variable NOPE is missing a value: inner" },
	/* invalid formats */
	{ "$", NULL, "invalid interpolation format" },
	{ "a$", NULL, "invalid interpolation format" },
	{ "$1", NULL, "invalid interpolation format" },
	{ "$-", NULL, "invalid interpolation format" },
	{ "${", NULL, "invalid interpolation format" },
	{ "${SET", NULL, "invalid interpolation format" },
	{ "${}", NULL, "invalid interpolation format" },
	{ "${1A}", NULL, "invalid interpolation format" },
	{ "${SET:}", NULL, "invalid interpolation format" },
	{ "${SET:x}", NULL, "invalid interpolation format" },
	{ "${SET#x}", NULL, "invalid interpolation format" },
	{ "${A B}", NULL, "invalid interpolation format" },
	{ "${UNSET:-${}", NULL, "invalid interpolation format" },
};

static void test_table(void)
{
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(table); i++) {
		char *out = NULL;
		struct strata_error *err = NULL;
		int r = compose_interpolate(table[i].in, lookup, NULL, warn, NULL, &out, &err);
		if (table[i].out) {
			ok(r == 0, "'%s' interpolates", table[i].in);
			is_str(out, table[i].out, "'%s' -> '%s'", table[i].in, table[i].out);
		} else {
			char *m = strata_error_string(err);
			ok(r < 0 && strstr(m, table[i].err), "'%s' fails: %s", table[i].in, m);
			ok(strata_error_code(err) == STRATA_E_CONFIG, "'%s': config error", table[i].in);
			free(m);
		}
		free(out);
		strata_error_free(err);
	}
	nwarn = 0;
	char *out = NULL;
	compose_interpolate("$UNSET ${UNSET2} ${UNSET3:-x}", lookup, NULL, warn, NULL, &out, NULL);
	is_int(nwarn, 2, "unset variables without a default warn, defaulted ones do not");
	free(out);
	ok(compose_interpolate("$UNSET", lookup, NULL, NULL, NULL, &out, NULL) == 0, "no warn callback is fine");
	free(out);
	/* deep nesting is bounded */
	struct strata_buf b = STRATA_BUF_INIT;
	for (int i = 0; i < 100; i++)
		strata_buf_adds(&b, "${U:-");
	for (int i = 0; i < 100; i++)
		strata_buf_adds(&b, "}");
	struct strata_error *err = NULL;
	out = NULL;
	ok(compose_interpolate(b.data, lookup, NULL, NULL, NULL, &out, &err) < 0, "deep nesting is an error");
	strata_error_free(err);
	free(out);
	strata_buf_release(&b);
}

static const char *env_lookup(void *ctx, const char *name)
{
	(void)ctx;
	if (!strcmp(name, "HOSTVAR"))
		return "host";
	return NULL;
}

static void dotenv_ok(const char *text, const char *key, const char *want)
{
	struct compose_env e = { 0 };
	struct strata_error *err = NULL;
	int r = compose_dotenv_parse(text, strlen(text), ".env", env_lookup, NULL, &e, &err);
	if (r < 0) {
		char *m = strata_error_string(err);
		diag("error: %s", m);
		free(m);
	}
	ok(r == 0, "dotenv parses: %s", key);
	is_str(compose_env_get(&e, key), want, ".env %s", key);
	compose_env_release(&e);
	strata_error_free(err);
}

static void dotenv_err(const char *text, const char *want)
{
	struct compose_env e = { 0 };
	struct strata_error *err = NULL;
	int r = compose_dotenv_parse(text, strlen(text), ".env", env_lookup, NULL, &e, &err);
	char *m = strata_error_string(err);
	ok(r < 0 && strstr(m, want), "dotenv error '%s': %s", want, m);
	free(m);
	compose_env_release(&e);
	strata_error_free(err);
}

static void test_dotenv(void)
{
	dotenv_ok("A=1\n", "A", "1");
	dotenv_ok("# comment\n\nA=1\n", "A", "1");
	dotenv_ok("export A=exported\n", "A", "exported");
	dotenv_ok("A = spaced  \n", "A", "spaced");
	dotenv_ok("A=\n", "A", "");
	dotenv_ok("A=''\n", "A", "");
	dotenv_ok("A=\"\"\n", "A", "");
	dotenv_ok("A=x # comment\n", "A", "x");
	dotenv_ok("A=x#not-a-comment\n", "A", "x#not-a-comment");
	dotenv_ok("A='single $HOSTVAR \\n'\n", "A", "single $HOSTVAR \\n");
	dotenv_ok("A=\"double $HOSTVAR\\n\\t\\\"q\\\" \\$x\"\n", "A", "double host\n\t\"q\" $x");
	dotenv_ok("A=\"quoted\" # comment\n", "A", "quoted");
	dotenv_ok("A=\"multi\nline\"\nB=2\n", "A", "multi\nline");
	dotenv_ok("A=\"multi\nline\"\nB=2\n", "B", "2");
	dotenv_ok("A=$HOSTVAR\n", "A", "host");
	dotenv_ok("A=1\nB=${A}2\n", "B", "12");
	dotenv_ok("A=${NOPE:-dflt}\n", "A", "dflt");
	dotenv_ok("A=1\nA=2\n", "A", "2");
	dotenv_ok("HOSTVAR\n", "HOSTVAR", "host");
	dotenv_ok("NOTSET\nA=1\n", "NOTSET", NULL);
	dotenv_ok("A=1\r\nB=2\r\n", "A", "1");
	dotenv_ok("\xef\xbb\xbf" "A=bom\n", "A", "bom");
	dotenv_ok("A=a=b=c\n", "A", "a=b=c");
	dotenv_ok("A.B-C=dots\n", "A.B-C", "dots");
	dotenv_ok("A=1", "A", "1");
	dotenv_err("A='unterminated\n", ".env:1: unterminated quoted value of 'A'");
	dotenv_err("A=1\nB C=2\n", ".env:2: unexpected character 'C'");
	dotenv_err("1A=x\n", ".env:1: invalid variable name");
	dotenv_err("=x\n", ".env:1: invalid variable name");
	dotenv_err("A=\"x\" trailing\n", "unexpected text after the quoted value of 'A'");
	dotenv_err("A=${B:?needed}\n", ".env:1: A: required variable B is missing a value: needed");
	dotenv_err("A=$\n", "invalid interpolation format");
}

int main(void)
{
	test_table();
	test_dotenv();
	return done_testing();
}
