/*
 * dockerfile.h — the Dockerfile frontend: the module's one boundary header.
 *
 * Turns the text of a Dockerfile, the build args and a target into stages
 * and steps exactly as BuildKit interprets them (where docker's legacy
 * builder differs, BuildKit wins). It knows nothing of execution.
 *
 * Three layers, each usable on its own:
 *
 *  1. dockerfile_parse()    text -> struct dockerfile: parser directives and
 *                           the instructions (struct dockerfile_insn), each
 *                           with its flags validated, its arguments split as
 *                           docker splits them, heredoc bodies attached,
 *                           start and end lines. Nothing is expanded yet.
 *  2. struct dockerfile_scope  the ARG/ENV scope of one stage, driven step
 *                           by step (dockerfile_scope_step): each call
 *                           expands one instruction in the current scope,
 *                           builds its typed step (struct dockerfile_step)
 *                           and then applies its ARG/ENV effect. The build
 *                           engine uses this directly when it knows the base
 *                           image's environment (ENV from the base image
 *                           takes part in expansion: `WORKDIR $GOPATH`).
 *  3. dockerfile_resolve()  the whole file for a build: build args, the
 *                           automatic platform args, global (pre-FROM) ARGs,
 *                           stage bases, every stage resolved with an empty
 *                           base environment, stage dependencies, the stages
 *                           the target needs, and the unused-build-arg
 *                           warning. dockerfile_build_to_json() prints it
 *                           (the shape is in docs/internals/dockerfile.md).
 *
 * Errors name the file and line: "Dockerfile:12: unknown instruction: RUNN
 * (did you mean RUN?)", with code STRATA_E_CONFIG. Nothing here prints.
 *
 * .dockerignore matching is in dockerfile/ignore.h, included below.
 *
 * Ownership: every struct returned through an `out` pointer is owned by the
 * caller and freed with its _free function (NULL is a no-op). All strings
 * inside are owned by their struct. No global state; everything is safe to
 * use from several threads on different objects.
 */
#ifndef STRATA_DOCKERFILE_H
#define STRATA_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/util.h"
#include "dockerfile/ignore.h"

/* The largest Dockerfile accepted (bytes). */
#define DOCKERFILE_MAX_SIZE (16u << 20)

/* ------------------------------------------------------------------------- */
/* Instructions                                                              */

enum dockerfile_kind {
	DF_FROM,
	DF_RUN,
	DF_CMD,
	DF_LABEL,
	DF_MAINTAINER,
	DF_EXPOSE,
	DF_ENV,
	DF_ADD,
	DF_COPY,
	DF_ENTRYPOINT,
	DF_VOLUME,
	DF_USER,
	DF_WORKDIR,
	DF_ARG,
	DF_ONBUILD,
	DF_STOPSIGNAL,
	DF_HEALTHCHECK,
	DF_SHELL,
	DF_KIND_COUNT
};

/* "FROM", "RUN", ... (upper case, static). */
const char *dockerfile_kind_name(enum dockerfile_kind kind);
/* Case-insensitive lookup. @return the kind, or -1 when unknown. */
int dockerfile_kind_lookup(const char *word);

/*
 * A here-document (`RUN <<EOF`, `COPY <<-"EOF" /dst`).
 *
 * content: the body, every line ending in "\n" (an empty body is ""),
 *          leading tabs already removed when strip_tabs (`<<-`). In a
 *          resolved COPY/ADD step the content is already expanded when
 *          `expand` is set (variables only; quotes and escapes stay as they
 *          are, as BuildKit does). RUN heredocs are never expanded here: the
 *          shell expands them at run time, as it would a shell heredoc.
 * expand:  the delimiter was not quoted (`<<EOF`, not `<<'EOF'`/`<<"EOF"`).
 * fd:      the file descriptor written before `<<` (`3<<EOF`), default 0.
 */
struct dockerfile_heredoc {
	char *name;
	char *content;
	bool expand;
	bool strip_tabs;
	int fd;
	int line;       /* line of the first body line */
};

/* One `--name[=value]` flag as written (the value unexpanded). */
struct dockerfile_flag {
	char *name;   /* without "--", e.g. "mount" */
	char *value;  /* NULL when written without "=" (a bool flag) */
};

/*
 * One instruction, as parsed (layer 1). Nothing is expanded.
 *
 * args: the arguments after the flags, split as docker splits them for this
 *   instruction:
 *   - FROM, EXPOSE, COPY/ADD/VOLUME in shell form: whitespace-separated
 *     words (quotes are removed later, by expansion);
 *   - COPY/ADD/VOLUME in JSON form: the array elements (json_form set);
 *   - RUN/CMD/ENTRYPOINT/SHELL: JSON form -> the elements; shell form -> one
 *     arg, the command text (continuation lines joined, escape+newline
 *     removed, comment lines inside the continuation dropped);
 *   - ENV/LABEL/ARG: pairs in args[2i]=key, args[2i+1]=value; for ARG a
 *     value of NULL means "no default" (`ARG name`);
 *   - USER/WORKDIR/STOPSIGNAL/MAINTAINER: one arg, the rest of the line;
 *   - HEALTHCHECK: "NONE", or "CMD" followed by the command as for CMD;
 *   - ONBUILD: one arg, the trigger text; `onbuild` holds it parsed.
 */
struct dockerfile_insn {
	enum dockerfile_kind kind;
	char *keyword;      /* as written, e.g. "run" */
	char *original;     /* the logical line as written, continuations joined
			       (heredoc bodies not included) */
	int line;           /* first physical line (1-based) */
	int end_line;       /* last physical line, heredoc bodies included */
	struct dockerfile_flag *flags;
	size_t nflags;
	char **args;
	size_t nargs;
	bool json_form;     /* the arguments were a JSON array */
	bool legacy_kv;     /* ENV/LABEL written `key value` (no '=') */
	struct dockerfile_heredoc *heredocs;
	size_t nheredocs;
	struct dockerfile_insn *onbuild; /* ONBUILD's trigger, parsed; else NULL */
};

/* A parsed Dockerfile (layer 1). */
struct dockerfile {
	char *name;          /* the file name used in errors ("Dockerfile") */
	char escape;         /* '\\' or '`' (the escape directive) */
	char *syntax;        /* `# syntax=` value, or NULL (accepted and noted) */
	char *check;         /* `# check=` value, or NULL (accepted and noted) */
	struct dockerfile_insn *insns;
	size_t ninsns;
	char **warnings;     /* lexer warnings (empty continuation lines, ...) */
	size_t nwarnings;
};

/*
 * Parse a Dockerfile. `name` is used in errors ("Dockerfile:3: ...").
 * Validates: parser directives, instruction names (did-you-mean), flags per
 * instruction (unknown, duplicate, missing values, bad bools, --mount and
 * HEALTHCHECK option syntax), argument counts, heredocs (only on RUN, COPY,
 * ADD; unterminated), ONBUILD triggers. An empty file or one without FROM is
 * an error. Stage references are checked by dockerfile_resolve.
 * @return 0 with *out set, or -1 (code STRATA_E_CONFIG).
 */
int dockerfile_parse(const char *data, size_t len, const char *name, struct dockerfile **out,
		     struct strata_error **err);
/* As dockerfile_parse, on a file (at most DOCKERFILE_MAX_SIZE bytes); path "-" reads stdin. */
int dockerfile_parse_file(const char *path, const char *name, struct dockerfile **out,
			  struct strata_error **err);
void dockerfile_free(struct dockerfile *df);

/*
 * Parse one instruction line on its own (no heredocs, no continuation), e.g.
 * an ONBUILD trigger read from a base image's config. `line` is reported in
 * errors. @return 0 with *out (free with dockerfile_insn_free), or -1.
 */
int dockerfile_parse_instruction(const char *text, char escape, const char *name, int line,
				 struct dockerfile_insn **out, struct strata_error **err);
void dockerfile_insn_free(struct dockerfile_insn *in);

/* ------------------------------------------------------------------------- */
/* Variable expansion (the Dockerfile's shell-word rules)                    */

/*
 * Lookup for expansion: set *value (borrowed) and return true when `name`
 * (len bytes, not NUL-terminated) is set.
 */
typedef bool (*dockerfile_lookup_fn)(void *ctx, const char *name, size_t len, const char **value);

/*
 * Expand one word as BuildKit's ProcessWord: $v ${v} ${v:-w} ${v-w} ${v:+w}
 * ${v+w} ${v:?msg} ${v?msg} ${v#p} ${v##p} ${v%p} ${v%%p}; single quotes
 * keep everything literal; in double quotes only `$`, `"` and the escape
 * character can be escaped; outside quotes the escape character makes the
 * next character literal; quotes are removed. `$` not followed by a name is
 * literal.
 * @return 0 with *out newly allocated, or -1 (e.g. "X: is not allowed to be
 * unset", "syntax error: bad substitution", "unexpected end of statement
 * while looking for matching double-quote").
 */
int dockerfile_expand_word(const char *word, char escape, dockerfile_lookup_fn lookup, void *ctx,
			   char **out, struct strata_error **err);
/*
 * As dockerfile_expand_word, then split into words on unquoted whitespace
 * (ProcessWords: an expanded value splits too, quoted text does not).
 * @return 0 with a NULL-terminated array in *out and its length in *n.
 */
int dockerfile_expand_words(const char *word, char escape, dockerfile_lookup_fn lookup, void *ctx,
			    char ***out, size_t *n, struct strata_error **err);
/*
 * Heredoc content expansion (unquoted delimiter on COPY/ADD): variables only,
 * quotes and escape characters are kept as written.
 */
int dockerfile_expand_heredoc(const char *text, char escape, dockerfile_lookup_fn lookup, void *ctx,
			      char **out, struct strata_error **err);

/* ------------------------------------------------------------------------- */
/* Resolved steps                                                            */

/* A variable in scope at a step. */
struct dockerfile_var {
	char *name;
	char *value;     /* never NULL for env; NULL for an ARG declared without
			    a value (declared but unset: not in RUN's env) */
	bool cache_key;  /* args: part of the cache key. false only for the
			    predefined proxy args (HTTP_PROXY, ...) passed as
			    build args but not declared with ARG, as docker does */
};

/* A command in shell or exec form (RUN, CMD, ENTRYPOINT, HEALTHCHECK CMD). */
struct dockerfile_command {
	bool exec_form;
	char **argv;          /* exec form: the JSON array (may be empty for
				 `CMD []`); shell form: NULL */
	size_t argc;
	char *shell;          /* shell form: the command text (RUN `<<EOF | sh`
				 is "<<EOF | sh", with the bodies in the step's
				 heredocs); exec form: NULL */
	char **shell_argv;    /* shell form: the shell in effect (SHELL, default
				 ["/bin/sh", "-c"]) to run `shell` with;
				 exec form: NULL */
	size_t shell_argc;
};

enum dockerfile_mount_type {
	DF_MOUNT_BIND,     /* the default type */
	DF_MOUNT_CACHE,
	DF_MOUNT_TMPFS,
	DF_MOUNT_SECRET,
	DF_MOUNT_SSH,
};
enum dockerfile_sharing { DF_SHARING_SHARED, DF_SHARING_PRIVATE, DF_SHARING_LOCKED };

/*
 * RUN --mount=... (every value expanded). Defaults as BuildKit:
 *  bind:   readonly (unless rw), source "" = root of `from` (context when
 *          from is NULL); target required.
 *  cache:  read-write, sharing shared, id = target when unset, mode 0755,
 *          uid 0, gid 0; from/source select a seed directory.
 *  tmpfs:  size 0 = unlimited.
 *  secret: id defaults to basename(target); target defaults to
 *          /run/secrets/<id>; env (secret as an env var); mode 0400;
 *          required false.
 *  ssh:    id "default"; target /run/buildkit/ssh_agent.<n>; mode 0600;
 *          required false.
 * from_stage: the stage index `from` names, or -1 (context / an image).
 */
struct dockerfile_mount {
	enum dockerfile_mount_type type;
	char *target;
	char *source;
	char *from;
	int from_stage;
	char *id;
	char *env;              /* secret only */
	enum dockerfile_sharing sharing;
	uint32_t mode;
	bool mode_set;
	long long uid, gid;     /* -1 when not given */
	long long size;         /* tmpfs bytes, 0 = not given */
	bool readonly;
	bool required;
};

/* COPY and ADD. */
struct dockerfile_copy {
	char **sources;         /* paths / URLs / git refs, expanded */
	size_t nsources;
	char *dest;
	char *from;             /* --from as written after expansion, or NULL */
	int from_stage;         /* the stage it names (by name or index), or -1:
				   then `from` is an image reference */
	char *chown, *chmod;    /* NULL when not given */
	bool link;
	bool parents;
	char **excludes;        /* --exclude patterns (repeatable) */
	size_t nexcludes;
	char *checksum;         /* ADD --checksum */
	int keep_git_dir;       /* ADD --keep-git-dir: -1 unset, 0, 1 */
	int unpack;             /* ADD --unpack: -1 unset (local archives unpacked, URLs not), 0, 1 */
	bool json_form;
};

/* HEALTHCHECK. Durations in nanoseconds, 0 = not given (inherit). */
struct dockerfile_healthcheck {
	bool none;              /* HEALTHCHECK NONE */
	struct dockerfile_command cmd;
	int64_t interval, timeout, start_period, start_interval;
	long long retries;      /* -1 = not given */
};

/*
 * One resolved step: typed, expanded exactly where docker expands.
 *
 * Which fields are used per kind (the rest are zero/NULL):
 *  RUN         cmd, mounts, network ("default"|"none"|"host" or NULL),
 *              security ("sandbox"|"insecure" or NULL), heredocs
 *  CMD, ENTRYPOINT   cmd
 *  SHELL       words (the new shell)
 *  ENV, LABEL  kvs (keys and values expanded; all values of one line are
 *              expanded with the scope from before the line)
 *  ARG         kvs (value NULL = no default); the resulting values are in
 *              `args` of the following steps
 *  EXPOSE      words: "80/tcp", "8000-8010/udp" (protocol defaulted to tcp and
 *              lower-cased; ranges kept as ranges, the engine expands them;
 *              duplicates kept: ExposedPorts is a set)
 *  VOLUME      words
 *  USER, WORKDIR, STOPSIGNAL, MAINTAINER   value
 *  COPY, ADD   copy, heredocs (inline files; content expanded if `expand`)
 *  HEALTHCHECK health
 *  ONBUILD     value (the trigger text, never expanded: it runs in the
 *              downstream build)
 *
 * Scope at the step (what the engine feeds to cache keys and RUN's env):
 *  args  the ARGs declared in this stage so far (in declaration order) with
 *        their values, then predefined proxy args passed as build args but
 *        not declared (cache_key false). For an ARG step, the args before it.
 *  env   the environment before the step: the base environment given to the
 *        scope (image config Env, or the parent stage's), then this stage's
 *        ENV instructions in order (a redefined key keeps its first place).
 *  ENV beats ARG during expansion; RUN's environment is env plus the args
 *  whose name is not in env and which have a value.
 */
struct dockerfile_step {
	enum dockerfile_kind kind;
	int line, end_line;
	char *original;                 /* the instruction as written */
	size_t insn_index;              /* index into dockerfile.insns */

	struct dockerfile_command cmd;
	struct dockerfile_mount *mounts;
	size_t nmounts;
	char *network, *security;
	struct dockerfile_copy copy;
	struct dockerfile_healthcheck health;
	struct dockerfile_var *kvs;     /* ENV, LABEL, ARG (cache_key unused) */
	size_t nkvs;
	char **words;
	size_t nwords;
	char *value;
	struct dockerfile_heredoc *heredocs;
	size_t nheredocs;

	struct dockerfile_var *args;
	size_t nargs;
	struct dockerfile_var *env;
	size_t nenv;
};

void dockerfile_step_free(struct dockerfile_step *s);

/* ------------------------------------------------------------------------- */
/* Build args and platforms                                                  */

/*
 * Build args (--build-arg K=V, or K alone: the value is taken from the
 * process environment, and the arg is ignored when that is unset).
 */
struct dockerfile_buildargs {
	struct dockerfile_var *v;   /* in the order given; a later K replaces */
	size_t n;
};
/* Add "K=V" or "K". @return 0, or -1 for an empty name ("--build-arg: ..."). */
int dockerfile_buildargs_add(struct dockerfile_buildargs *ba, const char *spec,
			     struct strata_error **err);
void dockerfile_buildargs_release(struct dockerfile_buildargs *ba);

/* true for HTTP_PROXY, http_proxy, HTTPS_PROXY, https_proxy, FTP_PROXY,
 * ftp_proxy, NO_PROXY, no_proxy, ALL_PROXY, all_proxy. */
bool dockerfile_is_proxy_arg(const char *name);

/* A platform "os/arch[/variant]". */
struct dockerfile_platform {
	char os[32], arch[32], variant[32];
};
/* The host's platform (uname; x86_64 -> amd64, aarch64 -> arm64, ...). */
void dockerfile_platform_host(struct dockerfile_platform *p);
/* Parse "linux/amd64", "linux/arm/v7", "amd64" (os defaults to linux). */
int dockerfile_platform_parse(const char *s, struct dockerfile_platform *p,
			      struct strata_error **err);
/* "os/arch[/variant]" into buf (at least 100 bytes). */
const char *dockerfile_platform_format(const struct dockerfile_platform *p, char *buf, size_t n);

/* ------------------------------------------------------------------------- */
/* Scope: drive one stage step by step (layer 2)                             */

struct dockerfile_scope;

/*
 * Options of a build. All fields optional (zero = defaults).
 *  buildargs    the --build-arg values (borrowed for the call)
 *  target       --target stage name (case-insensitive) or NULL = last stage
 *  build, target_platform   NULL = the host's (dockerfile_platform_host)
 */
struct dockerfile_options {
	const struct dockerfile_buildargs *buildargs;
	const char *target;
	const struct dockerfile_platform *build_platform;
	const struct dockerfile_platform *target_platform;
};

/*
 * A scope for stage `stage` of a resolved build (see dockerfile_resolve),
 * starting from base_env ("K=V" strings, NULL-terminated, may be NULL): the
 * image config's Env for an image base, or the final env of the parent stage.
 * @return 0 with *out, or -1 (stage out of range).
 */
struct dockerfile_build;
int dockerfile_scope_new(const struct dockerfile_build *b, size_t stage, const char *const *base_env,
			 struct dockerfile_scope **out, struct strata_error **err);
/*
 * Resolve the next instruction of the stage in the current scope and apply
 * its ARG/ENV effect. @return 1 with *out set, 0 at the end of the stage
 * (*out NULL), -1 on error (expansion error, bad value; the message names the
 * file and line).
 */
int dockerfile_scope_step(struct dockerfile_scope *sc, struct dockerfile_step **out,
			  struct strata_error **err);
/*
 * Resolve an instruction that is not part of the stage (an ONBUILD trigger
 * of the base image, which runs right after FROM) in the current scope and
 * apply its effect; the stage's own position does not move. FROM, ONBUILD
 * and MAINTAINER are refused. The step's insn_index is SIZE_MAX.
 * @return 0 with *out, or -1.
 */
int dockerfile_scope_apply(struct dockerfile_scope *sc, const struct dockerfile_insn *in,
			   struct dockerfile_step **out, struct strata_error **err);
/* The current env ("K=V" strings in order), for a child stage's base_env. NULL-terminated, owned by scope. */
const char *const *dockerfile_scope_env(struct dockerfile_scope *sc);
void dockerfile_scope_free(struct dockerfile_scope *sc);

/* ------------------------------------------------------------------------- */
/* The resolved build (layer 3)                                              */

enum dockerfile_base_type { DF_BASE_IMAGE, DF_BASE_STAGE, DF_BASE_SCRATCH };

struct dockerfile_stage {
	size_t index;
	char *name;                  /* lower-cased `AS name`, or NULL */
	enum dockerfile_base_type base_type;
	char *base;                  /* the FROM word after expansion ("alpine:3",
					"scratch", or the stage's name) */
	int base_stage;              /* DF_BASE_STAGE: the parent stage index, else -1 */
	char *platform;              /* FROM --platform after expansion, or NULL */
	int line, end_line;          /* the FROM line */
	size_t first_insn, ninsns;   /* the stage's instructions after FROM */
	bool needed;                 /* the target needs this stage */
	size_t *deps;                /* stages this one uses (FROM, --from, mount from) */
	size_t ndeps;
	struct dockerfile_step **steps;  /* resolved with an empty base env */
	size_t nsteps;
};

struct dockerfile_build {
	const struct dockerfile *df;        /* borrowed: must outlive the build */
	struct dockerfile_stage *stages;
	size_t nstages;
	size_t target;                      /* the target stage index */
	size_t *needed;                     /* the stages to build, in order */
	size_t nneeded;
	struct dockerfile_var *global_args; /* meta args (before the first FROM) and
					       the automatic platform args */
	size_t nglobal_args;
	struct dockerfile_buildargs buildargs;  /* copied from the options */
	struct dockerfile_platform build_platform, target_platform;
	char **warnings;                    /* e.g. "[Warning] One or more build-args
					       [FOO] were not consumed" */
	size_t nwarnings;
};

/*
 * Resolve a parsed Dockerfile for a build. Stages that the target does not
 * need are resolved too but their expansion errors are not fatal (their
 * steps are then left empty); errors in needed stages are.
 * @return 0 with *out (which borrows df), or -1 (e.g. "Dockerfile: target
 * stage 'x' could not be found", "Dockerfile:7: COPY --from=b: stage 'b'
 * is used before it is defined", "Dockerfile:1: FROM: X: must be set").
 */
int dockerfile_resolve(const struct dockerfile *df, const struct dockerfile_options *opts,
		       struct dockerfile_build **out, struct strata_error **err);
void dockerfile_build_free(struct dockerfile_build *b);

/* Find a stage by name (case-insensitive) or decimal index. @return index or -1. */
int dockerfile_build_find_stage(const struct dockerfile_build *b, const char *name);

/* The resolved build as JSON (docs/internals/dockerfile.md). New reference. */
json_t *dockerfile_build_to_json(const struct dockerfile_build *b);

#endif
