#include "util/buf.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char strata_buf_empty[1];

void strata_buf_init(struct strata_buf *b, size_t max)
{
	b->data = strata_buf_empty;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void strata_buf_release(struct strata_buf *b)
{
	if (b->cap)
		free(b->data);
	b->data = strata_buf_empty;
	b->len = 0;
	b->cap = 0;
}

void strata_buf_reset(struct strata_buf *b)
{
	b->len = 0;
	if (b->cap)
		b->data[0] = '\0';
}

int strata_buf_grow(struct strata_buf *b, size_t n)
{
	if (n > b->max - b->len || n > SIZE_MAX - b->len - 1) {
		errno = E2BIG;
		return -1;
	}
	size_t need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (b->cap) {
		b->data = xrealloc(b->data, cap);
	} else {
		b->data = xmalloc(cap);
		b->data[0] = '\0';
	}
	b->cap = cap;
	return 0;
}

int strata_buf_add(struct strata_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (strata_buf_grow(b, n) < 0)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int strata_buf_adds(struct strata_buf *b, const char *s)
{
	return strata_buf_add(b, s, strlen(s));
}

int strata_buf_addch(struct strata_buf *b, char c)
{
	return strata_buf_add(b, &c, 1);
}

int strata_buf_vaddf(struct strata_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return -1;
	if (strata_buf_grow(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int strata_buf_addf(struct strata_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = strata_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

void strata_buf_truncate(struct strata_buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	b->data[len] = '\0';
}

char *strata_buf_detach(struct strata_buf *b, size_t *len)
{
	char *r;
	if (len)
		*len = b->len;
	if (b->cap)
		r = b->data;
	else
		r = xstrdup("");
	b->data = strata_buf_empty;
	b->len = 0;
	b->cap = 0;
	return r;
}

void strata_format_bytes(uint64_t v, char *buf, size_t n)
{
	if (v >= 1000000)
		snprintf(buf, n, "%.1f MB", (double)v / 1e6);
	else if (v >= 1000)
		snprintf(buf, n, "%.1f kB", (double)v / 1e3);
	else
		snprintf(buf, n, "%llu B", (unsigned long long)v);
}
