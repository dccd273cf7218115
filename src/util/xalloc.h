/*
 * xalloc.h — allocation that never returns NULL. Out of memory aborts the
 * process through one place (strata_oom), so callers never check.
 */
#ifndef STRATA_UTIL_XALLOC_H
#define STRATA_UTIL_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* reallocarray that aborts on overflow and OOM */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
/* xstrdup(NULL) -> NULL, for optional fields */
char *xstrdup_or_null(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
__attribute__((noreturn)) void strata_oom(void);

#endif
