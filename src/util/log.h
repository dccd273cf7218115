/*
 * log.h — diagnostics to stderr with levels. The level is process-wide
 * configuration set once by cli/ (STRATA_LOG or --log-level / -v / -q).
 * Thread-safe: each message is one write(2).
 */
#ifndef STRATA_UTIL_LOG_H
#define STRATA_UTIL_LOG_H

enum strata_log_level {
	STRATA_LOG_ERROR = 0,
	STRATA_LOG_WARN = 1,
	STRATA_LOG_INFO = 2,
	STRATA_LOG_DEBUG = 3,
};

void strata_log_set_level(enum strata_log_level lvl);
enum strata_log_level strata_log_get_level(void);
/* Parse "error|warn|info|debug". @return level or -1. */
int strata_log_parse_level(const char *s);
void strata_log(enum strata_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_ERROR(...) strata_log(STRATA_LOG_ERROR, __VA_ARGS__)
#define LOG_WARN(...) strata_log(STRATA_LOG_WARN, __VA_ARGS__)
#define LOG_INFO(...) strata_log(STRATA_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) strata_log(STRATA_LOG_DEBUG, __VA_ARGS__)

#endif
