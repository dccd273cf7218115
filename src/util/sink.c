#include "util/sink.h"
#include "util/fs.h"

int strata_fd_sink_write(void *ctx, const void *p, size_t n, struct strata_error **err)
{
	struct strata_fd_sink *s = ctx;
	return strata_write_full(s->fd, p, n, s->what ? s->what : "output", err);
}
