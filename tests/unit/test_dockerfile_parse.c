/* The Dockerfile lexer and parser (layer 1): directives, continuations,
 * heredocs, JSON/shell forms, flags, argument splitting and errors. */
#include "tap.h"
#include "dockerfile/dockerfile.h"

#include <string.h>

static struct dockerfile *parse(const char *text)
{
	struct dockerfile *df = NULL;
	struct strata_error *err = NULL;
	if (dockerfile_parse(text, strlen(text), "Dockerfile", &df, &err) < 0) {
		char *s = strata_error_string(err);
		diag("unexpected error: %s", s);
		free(s);
		strata_error_free(err);
		return NULL;
	}
	return df;
}

/* Parse expecting failure; check the message. */
static void parse_fails(const char *text, const char *want)
{
	struct dockerfile *df = NULL;
	struct strata_error *err = NULL;
	int r = dockerfile_parse(text, strlen(text), "Dockerfile", &df, &err);
	char *s = strata_error_string(err);
	ok(r < 0 && df == NULL, "fails: %s", want);
	is_str(s, want, "message");
	is_int(strata_error_code(err), STRATA_E_CONFIG, "config error code");
	free(s);
	strata_error_free(err);
}

static void test_basic(void)
{
	struct dockerfile *df = parse("# syntax=docker/dockerfile:1\n"
				      "#check=skip=all\n"
				      "\n"
				      "  from alpine AS Build\n"
				      "# a comment\n"
				      "RUN echo a \\\n"
				      "  # inside\n"
				      "\n"
				      "   && echo b\n"
				      "CMD [\"a\", \"b\"]\n"
				      "ENTRYPOINT [\"a\"] b\n"
				      "CMD [not json\n");
	if (!ok(df != NULL, "parses"))
		return;
	is_str(df->syntax, "docker/dockerfile:1", "syntax directive noted");
	is_str(df->check, "skip=all", "check directive noted");
	is_int(df->escape, '\\', "default escape");
	is_int(df->ninsns, 5, "five instructions");
	is_int(df->insns[0].kind, DF_FROM, "case-insensitive keyword");
	is_str(df->insns[0].keyword, "from", "keyword as written");
	is_int(df->insns[0].line, 4, "FROM line");
	is_int(df->insns[0].nargs, 3, "FROM x AS y");
	is_int(df->insns[1].line, 6, "RUN start line");
	is_int(df->insns[1].end_line, 9, "RUN end line");
	is_str(df->insns[1].args[0], "echo a    && echo b", "continuation joined, comment and blank dropped");
	is_int(df->nwarnings, 1, "empty continuation line warned");
	ok(df->insns[2].json_form && df->insns[2].nargs == 2, "exec form");
	ok(!df->insns[3].json_form && !strcmp(df->insns[3].args[0], "[\"a\"] b"),
	   "JSON with trailing text falls back to shell form");
	ok(!df->insns[4].json_form && !strcmp(df->insns[4].args[0], "[not json"),
	   "invalid JSON falls back to shell form");
	dockerfile_free(df);
}

static void test_escape_directive(void)
{
	struct dockerfile *df = parse("# escape=`\n"
				      "FROM x\n"
				      "RUN dir c:\\ `\n"
				      "  && echo ok\n");
	if (!ok(df != NULL, "backtick escape parses"))
		return;
	is_int(df->escape, '`', "escape is backtick");
	is_str(df->insns[1].args[0], "dir c:\\   && echo ok", "backslash is literal, backtick continues");
	dockerfile_free(df);

	df = parse("FROM x\n# escape=`\nRUN a \\\n b\n");
	if (ok(df != NULL, "late directive is a comment")) {
		is_int(df->escape, '\\', "escape unchanged after the first instruction");
		is_str(df->insns[1].args[0], "a  b", "continued with backslash");
		dockerfile_free(df);
	}
	df = parse("# unknown=1\n# escape=`\nFROM x\n");
	if (ok(df != NULL, "unknown directive ends directives")) {
		is_int(df->escape, '\\', "escape after an unknown directive is a comment");
		dockerfile_free(df);
	}
	parse_fails("# escape=x\nFROM x\n", "Dockerfile:1: invalid escape token 'x' does not match ` or \\");
	parse_fails("# escape=`\n# escape=\\\nFROM x\n",
		    "Dockerfile:2: only one escape parser directive can be used");
	parse_fails("# syntax=a\n# syntax=b\nFROM x\n",
		    "Dockerfile:2: only one syntax parser directive can be used");
}

static void test_heredocs(void)
{
	struct dockerfile *df = parse("FROM x\n"
				      "RUN <<EOF\n"
				      "echo one\n"
				      "EOF\n"
				      "COPY <<-\"A\" <<B /dst/\n"
				      "\t\tindented $X\n"
				      "\tA\n"
				      "b $Y\n"
				      "B\n"
				      "RUN 3<<'Q' cat <&3\n"
				      "Q\n"
				      "RUN echo \"<<NOT\" '<<NOT'\n"
				      "RUN [\"<<NOT\"]\n");
	if (!ok(df != NULL, "heredocs parse"))
		return;
	struct dockerfile_insn *in = &df->insns[1];
	is_int(in->nheredocs, 1, "RUN heredoc");
	is_str(in->heredocs[0].name, "EOF", "name");
	is_str(in->heredocs[0].content, "echo one\n", "content");
	ok(in->heredocs[0].expand, "unquoted expands");
	is_int(in->end_line, 4, "end line includes the body");
	in = &df->insns[2];
	is_int(in->nheredocs, 2, "two heredocs on one line");
	is_str(in->heredocs[0].name, "A", "quoted name unquoted");
	ok(!in->heredocs[0].expand, "quoted does not expand");
	ok(in->heredocs[0].strip_tabs, "<<- strips tabs");
	is_str(in->heredocs[0].content, "indented $X\n", "tabs stripped, terminator found after tabs");
	is_str(in->heredocs[1].content, "b $Y\n", "second body");
	is_int(in->line, 5, "COPY line");
	is_int(in->end_line, 9, "COPY end line");
	in = &df->insns[3];
	is_int(in->heredocs[0].fd, 3, "fd prefix");
	is_str(in->heredocs[0].content, "", "empty body");
	is_int(df->insns[4].nheredocs, 0, "quoted << is no heredoc");
	is_int(df->insns[5].nheredocs, 0, "JSON form has no heredocs");
	dockerfile_free(df);
	parse_fails("FROM x\nRUN <<EOF\necho\n", "Dockerfile:2: unterminated heredoc 'EOF'");
}

static void test_args(void)
{
	struct dockerfile *df = parse("ARG A B=2 \"C=x y\"\n"
				      "FROM x\n"
				      "ENV K=v K2=\"a b\" K3=a\\ b\n"
				      "ENV LEG value with spaces\n"
				      "LABEL \"com.x\"=\"1\" b=2\n"
				      "COPY [\"a b\", \"/c\"]\n"
				      "ADD --chown=1:1 --link a b /c/\n"
				      "VOLUME /a /b\n"
				      "EXPOSE 80 443/tcp\n"
				      "USER a b\n"
				      "HEALTHCHECK --interval=5s --retries=3 CMD curl -f x\n"
				      "HEALTHCHECK NONE\n"
				      "ONBUILD RUN echo hi\n"
				      "SHELL [\"/bin/bash\", \"-c\"]\n"
				      "MAINTAINER me <me@x>\n"
				      "STOPSIGNAL SIGKILL\n"
				      "WORKDIR /w\n"
				      "RUN --mount=type=cache,target=/c --network=none -- echo\n");
	if (!ok(df != NULL, "every instruction parses"))
		return;
	struct dockerfile_insn *in = &df->insns[0];
	is_int(in->nargs, 6, "three ARGs on one line");
	ok(in->args[1] == NULL, "ARG without default");
	is_str(in->args[3], "2", "ARG default");
	is_str(in->args[4], "\"C", "quoted ARG name keeps its quote until expansion");
	in = &df->insns[2];
	is_int(in->nargs, 6, "ENV three pairs");
	is_str(in->args[3], "\"a b\"", "quotes kept for expansion");
	is_str(in->args[5], "a\\ b", "escape kept for expansion");
	in = &df->insns[3];
	ok(in->legacy_kv, "legacy ENV form");
	is_str(in->args[1], "value with spaces", "legacy value is the rest of the line");
	is_int(df->insns[4].nargs, 4, "LABEL pairs");
	ok(df->insns[5].json_form && !strcmp(df->insns[5].args[0], "a b"), "COPY JSON form");
	in = &df->insns[6];
	is_int(in->nflags, 2, "ADD flags");
	is_str(in->flags[0].value, "1:1", "--chown value");
	ok(in->flags[1].value == NULL, "--link bool");
	is_int(in->nargs, 3, "ADD words");
	is_str(df->insns[9].args[0], "a b", "USER takes the rest of the line");
	is_str(df->insns[10].args[0], "CMD", "HEALTHCHECK CMD");
	is_str(df->insns[11].args[0], "NONE", "HEALTHCHECK NONE");
	ok(df->insns[12].onbuild && df->insns[12].onbuild->kind == DF_RUN, "ONBUILD trigger parsed");
	ok(df->insns[13].json_form, "SHELL JSON");
	is_str(df->insns[17].args[0], "echo", "-- ends flags");
	is_int(df->insns[17].nflags, 2, "RUN flags");
	dockerfile_free(df);
}

static void test_errors(void)
{
	parse_fails("FROM x\nRUNN echo\n", "Dockerfile:2: unknown instruction: RUNN (did you mean RUN?)");
	parse_fails("FROM x\ncopi a b\n", "Dockerfile:2: unknown instruction: copi (did you mean COPY?)");
	parse_fails("FROM x\nFROBNICATE\n", "Dockerfile:2: unknown instruction: FROBNICATE");
	parse_fails("", "Dockerfile: file with no instructions");
	parse_fails("# only\n\n", "Dockerfile: file with no instructions");
	parse_fails("ARG A\n", "Dockerfile: no FROM instruction");
	parse_fails("RUN x\nFROM y\n",
		    "Dockerfile:1: RUN: no build stage in current context (only ARG may come before the first FROM)");
	parse_fails("FROM a b\n", "Dockerfile:1: FROM requires either one or three arguments");
	parse_fails("FROM a\nCOPY a\n",
		    "Dockerfile:2: COPY requires at least two arguments, but only one was provided, destination could not be determined");
	parse_fails("FROM a\nRUN\n", "Dockerfile:2: RUN requires at least one argument");
	parse_fails("FROM a\nCOPY --frm=x a b\n", "Dockerfile:2: COPY: unknown flag: --frm (did you mean --from?)");
	parse_fails("FROM a\nRUN --mnt=type=cache,target=/x true\n",
		    "Dockerfile:2: RUN: unknown flag: --mnt (did you mean --mount?)");
	parse_fails("FROM a\nCOPY --nonsense a b\n", "Dockerfile:2: COPY: unknown flag: --nonsense");
	parse_fails("FROM a\nCOPY --from a b\n", "Dockerfile:2: COPY: missing a value on flag: --from");
	parse_fails("FROM a\nCOPY --from=a --from=b a b\n",
		    "Dockerfile:2: COPY: duplicate flag specified: --from");
	parse_fails("FROM a\nCOPY --link=maybe a b\n",
		    "Dockerfile:2: COPY: expecting boolean value for flag --link, not: 'maybe'");
	parse_fails("FROM a\nWORKDIR --x /a\n", "Dockerfile:2: WORKDIR: unknown flag: --x");
	parse_fails("FROM a\nENV A\n", "Dockerfile:2: ENV must have two arguments");
	parse_fails("FROM a\nENV A=1 B\n",
		    "Dockerfile:2: ENV: syntax error - can't find = in 'B', must be of the form: name=value");
	parse_fails("FROM a\nENV =1\n", "Dockerfile:2: ENV names can not be blank");
	parse_fails("FROM a\nARG\n", "Dockerfile:2: ARG requires at least one argument");
	parse_fails("FROM a\nUSER\n", "Dockerfile:2: USER requires exactly one argument");
	parse_fails("FROM a\nSHELL /bin/sh -c\n", "Dockerfile:2: SHELL requires the arguments to be in JSON form");
	parse_fails("FROM a\nHEALTHCHECK CMDX x\n", "Dockerfile:2: unknown type 'CMDX' in HEALTHCHECK (try CMD)");
	parse_fails("FROM a\nHEALTHCHECK NONE x\n", "Dockerfile:2: HEALTHCHECK NONE takes no arguments");
	parse_fails("FROM a\nHEALTHCHECK --interval=5 CMD x\n",
		    "Dockerfile:2: HEALTHCHECK: --interval: invalid duration '5'");
	parse_fails("FROM a\nHEALTHCHECK --timeout=1us CMD x\n",
		    "Dockerfile:2: HEALTHCHECK: --timeout cannot be less than 1ms");
	parse_fails("FROM a\nHEALTHCHECK --retries=-1 CMD x\n",
		    "Dockerfile:2: HEALTHCHECK: --retries must be a non-negative integer, not '-1'");
	parse_fails("FROM a\nONBUILD ONBUILD RUN x\n",
		    "Dockerfile:2: chaining ONBUILD via 'ONBUILD ONBUILD' isn't allowed");
	parse_fails("FROM a\nONBUILD FROM b\n", "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger");
	parse_fails("FROM a\nRUN --mount=type=nfs,target=/x true\n",
		    "Dockerfile:2: RUN --mount=type=nfs,target=/x: unsupported mount type 'nfs' (bind, cache, tmpfs, "
		    "secret or ssh)");
	parse_fails("FROM a\nRUN --mount=type=cache true\n",
		    "Dockerfile:2: RUN --mount=type=cache: mount type cache requires a target");
	parse_fails("FROM a\nRUN --mount=type=cache,target=/x,foo=1 true\n",
		    "Dockerfile:2: RUN --mount=type=cache,target=/x,foo=1: unexpected key 'foo' for mount type cache");
	parse_fails("FROM a\nRUN --mount=type=cache,target=/x,sharing=all true\n",
		    "Dockerfile:2: RUN --mount=type=cache,target=/x,sharing=all: unsupported sharing value 'all'");
	parse_fails("FROM a\nRUN --network=bridge true\n", "Dockerfile:2: RUN: unsupported network mode 'bridge'");
	parse_fails("FROM a\nRUN --mount=type=bind,target=/x,required true\n",
		    "Dockerfile:2: RUN --mount=type=bind,target=/x,required: 'required' is only valid for secret and ssh mounts");
	{
		static const char nul[] = "FROM a\nRUN echo\0x\n";
		struct dockerfile *df = NULL;
		struct strata_error *err = NULL;
		ok(dockerfile_parse(nul, sizeof(nul) - 1, "Dockerfile", &df, &err) < 0, "NUL byte rejected");
		char *s = strata_error_string(err);
		is_str(s, "Dockerfile: file contains a NUL byte", "NUL message");
		free(s);
		strata_error_free(err);
	}
}

static void test_mounts(void)
{
	struct dockerfile *df = parse("FROM a\n"
				      "RUN --mount=type=secret,id=tok,required=true --mount=type=ssh "
				      "--mount=type=tmpfs,target=/t,size=64m --mount=target=/src,rw "
				      "--mount=type=cache,target=/c,uid=$UID true\n");
	ok(df != NULL, "mounts with variables validate");
	dockerfile_free(df);
}

int main(void)
{
	test_basic();
	test_escape_directive();
	test_heredocs();
	test_args();
	test_errors();
	test_mounts();
	return done_testing();
}
