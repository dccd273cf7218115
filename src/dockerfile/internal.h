/*
 * internal.h — helpers shared by the files of the dockerfile module only.
 * Not part of the boundary (dockerfile.h).
 */
#ifndef STRATA_DOCKERFILE_INTERNAL_H
#define STRATA_DOCKERFILE_INTERNAL_H

#include "dockerfile/dockerfile.h"

/* Append v to a growable array p[n] with capacity cap. */
#define DF_PUSH(p, n, cap, v)                                                                    \
	do {                                                                                     \
		if ((n) == (cap)) {                                                              \
			(cap) = (cap) ? (cap) * 2 : 4;                                           \
			(p) = xreallocarray((p), (cap), sizeof(*(p)));                           \
		}                                                                                \
		(p)[(n)++] = (v);                                                                \
	} while (0)

static inline bool df_isspace(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Free an array of n strings (and the array). */
void df_strv_free(char **v, size_t n);
/* Free a NULL-terminated string array. */
void df_strv_free0(char **v);

void df_insn_release(struct dockerfile_insn *in);
void df_heredoc_release(struct dockerfile_heredoc *h);
void df_heredoc_copy(struct dockerfile_heredoc *dst, const struct dockerfile_heredoc *src);
void df_var_release(struct dockerfile_var *v);
void df_command_release(struct dockerfile_command *c);

/*
 * A STRATA_E_CONFIG error "FILE:LINE: KIND: message", with the error already
 * in *err (if any) appended as its cause ("...: message: cause").
 * @return -1.
 */
int df_insn_error(struct strata_error **err, const struct dockerfile *df, const struct dockerfile_insn *in,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Flag lookup on an instruction: the last flag named `name`, or NULL. */
const struct dockerfile_flag *df_insn_flag(const struct dockerfile_insn *in, const char *name);

/*
 * Parse a Go duration ("1m30s", "500ms", "0"). @return 0 with nanoseconds, or
 * -1 when malformed.
 */
int df_parse_duration(const char *s, int64_t *ns);

/*
 * Parse one --mount value. `expand` (may be NULL: no expansion) is applied to
 * every value. With check_only, values containing '$' are not checked for
 * numbers (they are checked again after expansion).
 */
typedef int (*df_expand_fn)(void *ctx, const char *word, char **out, struct strata_error **err);
int df_mount_parse(const char *spec, df_expand_fn expand, void *ctx, bool check_only,
		   struct dockerfile_mount *out, struct strata_error **err);
void df_mount_release(struct dockerfile_mount *m);

/* Variable lists (scope.c). */
struct df_varlist {
	const struct dockerfile_var *v;
	size_t n;
};
/* Set name=value (replacing in place, else appending). value may be NULL. */
void df_vars_set(struct dockerfile_var **v, size_t *n, const char *name, const char *value,
		 bool cache_key);
const struct dockerfile_var *df_vars_find(const struct dockerfile_var *v, size_t n, const char *name,
					  size_t len);
/* dockerfile_lookup_fn over a struct df_varlist. */
bool df_vars_lookup(void *ctx, const char *name, size_t len, const char **value);

/*
 * Every step carries a copy of its scope; a file that declares many
 * variables and then has many steps could make that quadratic. The copies
 * are counted (per scope, or per build in dockerfile_resolve) and capped.
 */
#define DF_SCOPE_BUDGET (1u << 21)
/* At most this many ARG+ENV names in one scope, and global ARGs. */
#define DF_MAX_VARS 4096u
void df_scope_share_budget(struct dockerfile_scope *sc, size_t *budget);

size_t df_scope_nargs(const struct dockerfile_scope *sc);
const char *df_scope_arg_name(const struct dockerfile_scope *sc, size_t i);

#endif
