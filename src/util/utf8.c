/*
 * utf8.c — strict UTF-8 validation and the two mappings into JSON text.
 */
#include "util/utf8.h"

#include <stdint.h>
#include <string.h>

#include "util/buf.h"
#include "util/xalloc.h"

/* Length of the strict UTF-8 sequence at p (n bytes left), with its code point; 0 if invalid. */
static size_t seq(const unsigned char *p, size_t n, uint32_t *cp)
{
	unsigned char c = p[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t len;
	uint32_t v, min;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

bool strata_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	while (n > 0) {
		uint32_t cp;
		size_t l = seq(p, n, &cp);
		if (l == 0)
			return false;
		p += l;
		n -= l;
	}
	return true;
}

static void add_cp(struct strata_buf *b, uint32_t cp)
{
	char u[4];
	if (cp < 0x80) {
		strata_buf_addch(b, (char)cp);
		return;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3f));
		strata_buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		strata_buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f));
		strata_buf_add(b, u, 4);
	}
}

#define EXACT_BASE 0x10ff00u

/* Whether valid UTF-8 s holds a code point in U+10FF00..U+10FFFF (F4 8F BC..BF xx). */
static bool has_exact_range(const char *s)
{
	for (const char *p = s; (p = strstr(p, "\xf4\x8f")) != NULL; p += 2)
		if ((unsigned char)p[2] >= 0xbc)
			return true;
	return false;
}

static char *map(const char *s, bool exact)
{
	size_t n = strlen(s);
	if (strata_utf8_valid(s, n) && (!exact || !has_exact_range(s)))
		return xstrdup(s);
	struct strata_buf b = STRATA_BUF_INIT;
	const unsigned char *p = (const unsigned char *)s;
	while (n > 0) {
		uint32_t cp;
		size_t l = seq(p, n, &cp);
		if (l == 0) {
			add_cp(&b, exact ? EXACT_BASE + *p : 0xfffd);
			l = 1;
		} else if (exact && cp >= EXACT_BASE) {
			add_cp(&b, EXACT_BASE);
			add_cp(&b, EXACT_BASE + (cp & 0xff));
		} else {
			strata_buf_add(&b, p, l);
		}
		p += l;
		n -= l;
	}
	return strata_buf_detach(&b, NULL);
}

char *strata_utf8_lossy(const char *s)
{
	return map(s, false);
}

char *strata_utf8_exact(const char *s)
{
	return map(s, true);
}
