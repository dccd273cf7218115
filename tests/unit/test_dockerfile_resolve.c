/* Resolving a Dockerfile: scopes driven step by step, build args, stages. */
#include "tap.h"
#include "dockerfile/dockerfile.h"

#include <string.h>

static struct dockerfile *parse(const char *text)
{
	struct dockerfile *df = NULL;
	if (dockerfile_parse(text, strlen(text), "Dockerfile", &df, NULL) < 0)
		return NULL;
	return df;
}

static const struct dockerfile_var *var(const struct dockerfile_var *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

static void test_scope_with_base_env(void)
{
	struct dockerfile *df = parse("FROM golang\nWORKDIR $GOPATH/src\nENV GOPATH=/x\nWORKDIR $GOPATH\n");
	struct dockerfile_build *b = NULL;
	struct dockerfile_platform p;
	dockerfile_platform_parse("linux/arm64", &p, NULL);
	struct dockerfile_options o = { .target_platform = &p, .build_platform = &p };
	ok(dockerfile_resolve(df, &o, &b, NULL) == 0, "resolves");
	is_str(b->stages[0].steps[0]->value, "/src", "no base env: $GOPATH empty");
	static const char *const env[] = { "GOPATH=/go", "PATH=/usr/bin", NULL };
	struct dockerfile_scope *sc = NULL;
	ok(dockerfile_scope_new(b, 0, env, &sc, NULL) == 0, "scope with the image env");
	struct dockerfile_step *s = NULL;
	struct dockerfile_insn *trig = NULL;
	ok(dockerfile_parse_instruction("ENV FROM_TRIGGER=$GOPATH/t", '\\', "base:onbuild", 1, &trig, NULL) == 0,
	   "an ONBUILD trigger parses on its own");
	ok(dockerfile_scope_apply(sc, trig, &s, NULL) == 0, "trigger applied in the scope");
	is_str(s->kvs[0].value, "/go/t", "trigger expanded with the image env");
	dockerfile_step_free(s);
	dockerfile_insn_free(trig);
	struct strata_error *terr = NULL;
	ok(dockerfile_parse_instruction("RUNN x", '\\', "base:onbuild", 3, &trig, &terr) < 0, "bad trigger");
	char *ts = strata_error_string(terr);
	is_str(ts, "base:onbuild:3: unknown instruction: RUNN (did you mean RUN?)", "trigger error names it");
	free(ts);
	strata_error_free(terr);
	ok(dockerfile_parse_instruction("FROM x", '\\', NULL, 1, &trig, NULL) == 0, "FROM parses");
	ok(dockerfile_scope_apply(sc, trig, &s, NULL) < 0, "FROM refused as a trigger");
	dockerfile_insn_free(trig);
	is_int(dockerfile_scope_step(sc, &s, NULL), 1, "step 1");
	is_str(s->value, "/go/src", "base image env used in expansion");
	is_int(s->nenv, 3, "env at step 1 (image env + the trigger's ENV)");
	dockerfile_step_free(s);
	is_int(dockerfile_scope_step(sc, &s, NULL), 1, "step 2");
	dockerfile_step_free(s);
	is_int(dockerfile_scope_step(sc, &s, NULL), 1, "step 3");
	is_str(s->value, "/x", "ENV overrides the image env");
	is_str(s->env[0].value, "/x", "redefined key keeps its place");
	dockerfile_step_free(s);
	is_int(dockerfile_scope_step(sc, &s, NULL), 0, "end of stage");
	ok(s == NULL, "no step at the end");
	const char *const *fe = dockerfile_scope_env(sc);
	is_str(fe[0], "GOPATH=/x", "final env");
	dockerfile_scope_free(sc);
	ok(dockerfile_scope_new(b, 5, NULL, &sc, NULL) < 0, "stage out of range");
	is_str(var(b->global_args, b->nglobal_args, "TARGETARCH")->value, "arm64", "TARGETARCH");
	is_str(var(b->global_args, b->nglobal_args, "BUILDPLATFORM")->value, "linux/arm64", "BUILDPLATFORM");
	dockerfile_build_free(b);
	dockerfile_free(df);
}

static void test_args(void)
{
	struct dockerfile *df = parse("ARG V=1\nARG G\n"
				      "FROM img:$V AS a\n"
				      "RUN echo $V\n"
				      "ARG V\nARG TARGETOS\nARG D=def\nARG HTTP_PROXY\n"
				      "ENV D=env\n"
				      "RUN echo $D\n"
				      "FROM scratch AS unused\nARG ONLYHERE\n");
	struct dockerfile_buildargs ba = { 0 };
	dockerfile_buildargs_add(&ba, "G=g", NULL);
	dockerfile_buildargs_add(&ba, "https_proxy=http://p", NULL);
	dockerfile_buildargs_add(&ba, "HTTP_PROXY=http://q", NULL);
	dockerfile_buildargs_add(&ba, "ZZ=1", NULL);
	dockerfile_buildargs_add(&ba, "ONLYHERE=1", NULL);
	setenv("STRATA_TEST_FROM_ENV", "fromenv", 1);
	dockerfile_buildargs_add(&ba, "STRATA_TEST_FROM_ENV", NULL);
	dockerfile_buildargs_add(&ba, "STRATA_TEST_UNSET_XYZ", NULL);
	is_int(ba.n, 6, "K alone from the environment; unset K ignored");
	ok(dockerfile_buildargs_add(&ba, "=x", NULL) < 0, "empty name rejected");
	struct dockerfile_build *b = NULL;
	struct dockerfile_options o = { .buildargs = &ba, .target = "A" };
	ok(dockerfile_resolve(df, &o, &b, NULL) == 0, "resolves with target A (case-insensitive)");
	is_int(b->target, 0, "target index");
	is_int(b->nneeded, 1, "only stage 0 needed");
	ok(!b->stages[1].needed, "unused stage not needed");
	is_str(b->stages[0].base, "img:1", "FROM expanded with global args");
	struct dockerfile_step *run1 = b->stages[0].steps[0];
	const struct dockerfile_var *v = var(run1->args, run1->nargs, "V");
	ok(v == NULL, "global V not in scope before redeclaration");
	v = var(run1->args, run1->nargs, "https_proxy");
	ok(v && !v->cache_key, "undeclared proxy arg passed, not in the cache key");
	struct dockerfile_step *run2 = b->stages[0].steps[6];
	is_str(var(run2->args, run2->nargs, "V")->value, "1", "redeclared global arg takes its value");
	is_str(var(run2->args, run2->nargs, "TARGETOS")->value, "linux", "automatic platform arg");
	is_str(var(run2->args, run2->nargs, "HTTP_PROXY")->value, "http://q", "declared proxy arg");
	ok(var(run2->args, run2->nargs, "HTTP_PROXY")->cache_key, "declared proxy arg is in the cache key");
	is_str(var(run2->env, run2->nenv, "D")->value, "env", "env value");
	is_int(b->nwarnings, 1, "one warning");
	is_str(b->warnings[0], "[Warning] One or more build-args [ONLYHERE STRATA_TEST_FROM_ENV ZZ] were not consumed",
	       "unused build args reported once, sorted");
	dockerfile_build_free(b);

	o.target = "nope";
	struct strata_error *err = NULL;
	ok(dockerfile_resolve(df, &o, &b, &err) < 0, "unknown target");
	char *s = strata_error_string(err);
	is_str(s, "Dockerfile: target stage 'nope' could not be found", "target error");
	free(s);
	strata_error_free(err);
	dockerfile_buildargs_release(&ba);
	dockerfile_free(df);
}

static void test_stage_errors(void)
{
	static const struct { const char *text, *target, *err; } rows[] = {
		{ "FROM a AS x\nFROM b AS X\n", NULL,
		  "Dockerfile:2: FROM: duplicate stage name 'x' (first defined on line 1)" },
		{ "FROM a AS 1x\n", NULL,
		  "Dockerfile:1: FROM: invalid name for build stage: '1x', name can't start with a number or contain symbols" },
		{ "FROM $NOPE\n", NULL, "Dockerfile:1: FROM: base name ($NOPE) should not be blank" },
		{ "FROM a AS x\nCOPY --from=later /x /y\nFROM b AS later\n", "x",
		  "Dockerfile:2: COPY: --from=later: stage 'later' is used before it is defined" },
		{ "FROM a\nCOPY --from=3 /x /y\n", NULL,
		  "Dockerfile:2: COPY: --from=3: stage index out of range (this is stage 0)" },
		{ "FROM a\nCOPY --from=Bad:Ref:x /x /y\n", NULL, NULL },
		{ "FROM a\nWORKDIR ${W:?set W}\n", NULL, "Dockerfile:2: WORKDIR: '${W:?set W}': W: set W" },
		{ "FROM a AS x\nWORKDIR ${W:?set W}\nFROM b\nRUN true\n", NULL, "" },  /* unused stage: fine */
		{ "FROM a\nEXPOSE 80-70\n", NULL, "Dockerfile:2: EXPOSE: invalid port '80-70'" },
		{ "FROM a\nEXPOSE 80/xtp\n", NULL, "Dockerfile:2: EXPOSE: invalid port '80/xtp'" },
		{ "FROM a\nSTOPSIGNAL SIGFOO\n", NULL, "Dockerfile:2: STOPSIGNAL: invalid signal 'SIGFOO'" },
		{ "FROM a\nVOLUME $E\n", NULL, "Dockerfile:2: VOLUME: VOLUME specified can not be an empty string" },
		{ "FROM --platform=$BUILDPLATFORM a\nRUN --mount=type=cache,target=/c,uid=$U true\n", NULL,
		  "Dockerfile:2: RUN: --mount=type=cache,target=/c,uid=$U: invalid uid ''" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct dockerfile *df = parse(rows[i].text);
		struct dockerfile_build *b = NULL;
		struct strata_error *err = NULL;
		struct dockerfile_options o = { .target = rows[i].target };
		int r = dockerfile_resolve(df, &o, &b, &err);
		if (rows[i].err && !*rows[i].err) {
			ok(r == 0, "row %zu resolves", i);
		} else {
			ok(r < 0, "row %zu fails", i);
			if (rows[i].err) {
				char *s = strata_error_string(err);
				is_str(s, rows[i].err, "row %zu message", i);
				free(s);
			}
		}
		strata_error_free(err);
		dockerfile_build_free(b);
		dockerfile_free(df);
	}
}

static void test_limits(void)
{
	struct strata_buf t = STRATA_BUF_INIT;
	strata_buf_adds(&t, "FROM a\n");
	for (int i = 0; i < 2100; i++)
		strata_buf_addf(&t, "ENV v%d=1\n", i);
	struct dockerfile *df = parse(t.data);
	struct dockerfile_build *b = NULL;
	struct strata_error *err = NULL;
	ok(dockerfile_resolve(df, NULL, &b, &err) < 0, "quadratic scope copies are capped");
	char *s = strata_error_string(err);
	ok(s && strstr(s, "too many ARG/ENV entries in scope"), "budget message: %s", s);
	free(s);
	strata_error_clear(&err);
	dockerfile_free(df);
	strata_buf_reset(&t);
	strata_buf_adds(&t, "FROM a\nENV");
	for (int i = 0; i < 4100; i++)
		strata_buf_addf(&t, " v%d=1", i);
	df = parse(t.data);
	ok(dockerfile_resolve(df, NULL, &b, &err) < 0, "variables per stage are capped");
	s = strata_error_string(err);
	is_str(s, "Dockerfile:2: ENV: too many variables in one stage (more than 4096)", "cap message");
	free(s);
	strata_error_clear(&err);
	dockerfile_free(df);
	strata_buf_release(&t);
}

int main(void)
{
	test_limits();
	test_scope_with_base_env();
	test_args();
	test_stage_errors();
	return done_testing();
}
