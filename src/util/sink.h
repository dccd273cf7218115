/*
 * sink.h — a byte sink: where a stream of bytes goes (a file, a hash, a
 * compressor, a store blob, an HTTP upload). Producers write to a sink
 * without knowing what is behind it, so streams compose without copies.
 */
#ifndef STRATA_UTIL_SINK_H
#define STRATA_UTIL_SINK_H

#include <stddef.h>

#include "util/error.h"

struct strata_sink {
	/* Consume n bytes. @return 0, or -1 with err set (the stream is then abandoned). */
	int (*write)(void *ctx, const void *p, size_t n, struct strata_error **err);
	void *ctx;
};

static inline int strata_sink_write(const struct strata_sink *s, const void *p, size_t n,
				    struct strata_error **err)
{
	return s->write(s->ctx, p, n, err);
}

/* A sink writing to a file descriptor (ctx is a heap-free struct held by the caller). */
struct strata_fd_sink {
	int fd;
	const char *what; /* names the file in errors */
};
int strata_fd_sink_write(void *ctx, const void *p, size_t n, struct strata_error **err);
#define STRATA_FD_SINK(fdsink) ((struct strata_sink){ strata_fd_sink_write, (fdsink) })

#endif
