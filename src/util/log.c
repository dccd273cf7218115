#include "util/log.h"
#include "util/buf.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static _Atomic int log_level = STRATA_LOG_WARN;

void strata_log_set_level(enum strata_log_level lvl)
{
	atomic_store(&log_level, (int)lvl);
}

enum strata_log_level strata_log_get_level(void)
{
	return (enum strata_log_level)atomic_load(&log_level);
}

int strata_log_parse_level(const char *s)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	for (int i = 0; i < 4; i++)
		if (!strcasecmp(s, names[i]))
			return i;
	if (!strcasecmp(s, "warning"))
		return STRATA_LOG_WARN;
	return -1;
}

void strata_log(enum strata_log_level lvl, const char *fmt, ...)
{
	static const char *prefix[] = { "error: ", "warning: ", "", "debug: " };
	if ((int)lvl > atomic_load(&log_level))
		return;
	struct strata_buf b = STRATA_BUF_INIT;
	strata_buf_addf(&b, "strata: %s", prefix[lvl]);
	va_list ap;
	va_start(ap, fmt);
	strata_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (b.len == 0 || b.data[b.len - 1] != '\n')
		strata_buf_addch(&b, '\n');
	ssize_t w = write(2, b.data, b.len);
	(void)w;
	strata_buf_release(&b);
}
