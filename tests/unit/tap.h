/*
 * tap.h — a minimal TAP producer for C unit tests (run through prove).
 *
 *     int main(void) {
 *         ok(1 + 1 == 2, "arithmetic");
 *         is_str(s, "x", "name");
 *         is_int(n, 3, "count");
 *         return done_testing();
 *     }
 */
#ifndef STRATA_TAP_H
#define STRATA_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed;

__attribute__((format(printf, 4, 5), unused)) static int tap_ok(int cond, const char *file, int line,
								 const char *fmt, ...)
{
	va_list ap;
	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		printf("#   failed at %s:%d\n", file, line);
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_str(got, want, ...)                                                                   \
	do {                                                                                     \
		const char *g_ = (got), *w_ = (want);                                            \
		int c_ = (g_ == NULL && w_ == NULL) || (g_ && w_ && strcmp(g_, w_) == 0);        \
		if (!tap_ok(c_, __FILE__, __LINE__, __VA_ARGS__))                                \
			printf("#   got:      '%s'\n#   expected: '%s'\n", g_ ? g_ : "(null)",   \
			       w_ ? w_ : "(null)");                                              \
	} while (0)

#define is_int(got, want, ...)                                                                   \
	do {                                                                                     \
		long long g_ = (long long)(got), w_ = (long long)(want);                         \
		if (!tap_ok(g_ == w_, __FILE__, __LINE__, __VA_ARGS__))                          \
			printf("#   got:      %lld\n#   expected: %lld\n", g_, w_);              \
	} while (0)

#define diag(...) (printf("# "), printf(__VA_ARGS__), printf("\n"))

__attribute__((unused)) static int done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
