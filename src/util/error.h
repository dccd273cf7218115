/*
 * error.h — the one error idiom of strata.
 *
 * Every fallible function returns int (negative on failure, 0 or a
 * non-negative value on success) and takes `struct strata_error **err` as its
 * last argument. The error maker *is* the return statement:
 *
 *     if (fd < 0)
 *         return strata_error_make(err, errno, "open '%s'", path);
 *
 * and callers add context on the way up:
 *
 *     if (store_blob_put(...) < 0)
 *         return strata_error_wrap(err, "import '%s'", file);
 *
 * which reads, when printed, `import 'x.tar': open 'y': No such file...`.
 *
 * Invariants:
 *  - `err` may be NULL: the error is then discarded (callers that only care
 *    about failure).
 *  - On success a function leaves *err untouched; on failure *err is set to
 *    a newly allocated error the caller owns (strata_error_free).
 *  - Messages are lower case, without a full stop, subject quoted.
 *  - Only cli/ prints errors and exits.
 */
#ifndef STRATA_UTIL_ERROR_H
#define STRATA_UTIL_ERROR_H

#include <stdarg.h>

/* Categories that decide exit codes and retry policy. 0 = unspecified. */
enum strata_errcode {
	STRATA_E_NONE = 0,
	STRATA_E_USAGE,     /* bad command line */
	STRATA_E_CONFIG,    /* bad configuration / input file */
	STRATA_E_NOTFOUND,  /* a named thing does not exist */
	STRATA_E_INVALID,   /* malformed data (digest mismatch, bad JSON, ...) */
	STRATA_E_REGISTRY,  /* a registry answered with an error / is unreachable */
	STRATA_E_AUTH,      /* authentication or authorisation failure */
	STRATA_E_BUILD,     /* a build step failed */
	STRATA_E_INTERRUPTED,
};

struct strata_error {
	char *msg;                  /* this level's message, never NULL */
	int errnum;                 /* errno value of this level, or 0 */
	int code;                   /* enum strata_errcode of this level, or 0 */
	struct strata_error *cause; /* the error this one wraps, or NULL */
};

/*
 * Make a new error. When errnum != 0 the text of strerror(errnum) is appended
 * (`msg: text`). If *err already holds an error it becomes the cause of the new
 * one (nothing is leaked). @return -1, always, so that it can be returned.
 */
int strata_error_make(struct strata_error **err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int strata_error_vmake(struct strata_error **err, int errnum, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* As strata_error_make, but tagged with a category (enum strata_errcode). */
int strata_error_makec(struct strata_error **err, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Wrap the error in *err with context. If *err is NULL (a callee failed
 * without setting it) a plain error with this message is made. @return -1.
 */
int strata_error_wrap(struct strata_error **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Hand e (a whole chain, owned) to the caller's err: when err is NULL it is
 * freed; when *err already holds an error, that one becomes the cause of
 * e's innermost level (as strata_error_make does). @return -1.
 * Use it instead of `*err = e`, which crashes when the caller passed NULL.
 */
int strata_error_pass(struct strata_error **err, struct strata_error *e);

/*
 * For a function that must look at its own callee's error (its code, its
 * errno, its text) although its caller may pass err == NULL: the first
 * statement `strata_error_ensure(err);` points err at a local that is freed
 * when the function returns, so `strata_error_code(*err)` is always valid.
 */
#define strata_error_ensure(err)                                            \
	cleanup_error struct strata_error *err##_discarded_ = NULL;         \
	if (!(err))                                                         \
	(err) = &err##_discarded_

/* Set the category of the outermost level. No-op when err or *err is NULL. */
void strata_error_set_code(struct strata_error **err, int code);

/* First non-zero category / errno along the cause chain (outermost first). */
int strata_error_code(const struct strata_error *e);
int strata_error_errnum(const struct strata_error *e);

/* "outer: middle: inner". Newly allocated; caller frees. NULL in -> "unknown error". */
char *strata_error_string(const struct strata_error *e);

/* Free the whole chain. NULL is a no-op. */
void strata_error_free(struct strata_error *e);

/* Free *err and set it to NULL. */
void strata_error_clear(struct strata_error **err);

static inline void strata_error_freep(struct strata_error **e) { strata_error_free(*e); }
#define cleanup_error __attribute__((cleanup(strata_error_freep)))

#endif
