/*
 * buf.h — the one growable byte buffer / string type.
 *
 * Invariants:
 *  - `data` is never NULL and always NUL-terminated at data[len] (so a
 *    buffer is a valid C string when it holds text).
 *  - `len` < `cap` whenever cap > 0; an empty buffer points at a shared
 *    static "" and owns no memory.
 *  - `max` caps `len`: an append that would pass it fails (returns -1 with
 *    errno = E2BIG) and leaves the buffer unchanged. Anything filled from the
 *    network or a file must be given a cap (strata_buf_init).
 *  - Allocation failure aborts (xalloc.h).
 */
#ifndef STRATA_UTIL_BUF_H
#define STRATA_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

extern char strata_buf_empty[1];

struct strata_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

#define STRATA_BUF_INIT { strata_buf_empty, 0, 0, SIZE_MAX }

/* Initialise an empty buffer whose length may never exceed max (SIZE_MAX: no cap). */
void strata_buf_init(struct strata_buf *b, size_t max);
/* Free the memory and return to the empty state (the cap is kept). */
void strata_buf_release(struct strata_buf *b);
/* Length to 0, memory kept. */
void strata_buf_reset(struct strata_buf *b);
/* Ensure room for n more bytes. @return 0, or -1 (errno E2BIG) past the cap. */
int strata_buf_grow(struct strata_buf *b, size_t n);
/* Append. @return 0, or -1 (errno E2BIG) when the cap would be passed. */
int strata_buf_add(struct strata_buf *b, const void *p, size_t n);
int strata_buf_adds(struct strata_buf *b, const char *s);
int strata_buf_addch(struct strata_buf *b, char c);
int strata_buf_addf(struct strata_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int strata_buf_vaddf(struct strata_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Set len (<= current len) and re-terminate. */
void strata_buf_truncate(struct strata_buf *b, size_t len);
/*
 * Hand the contents over: returns a malloc'd NUL-terminated string (never
 * NULL, "" when empty), stores its length in *len when len != NULL, and
 * leaves the buffer empty.
 */
char *strata_buf_detach(struct strata_buf *b, size_t *len);

/*
 * A byte count as every summary shows it: "512 B", "12.3 kB", "316.4 MB"
 * (decimal units, one decimal; MB however large).
 */
void strata_format_bytes(uint64_t v, char *buf, size_t n);

static inline void strata_buf_releasep(struct strata_buf *b) { strata_buf_release(b); }
#define cleanup_buf __attribute__((cleanup(strata_buf_releasep)))

#endif
