#include "util/error.h"
#include "util/xalloc.h"
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct strata_error *error_new(int code, int errnum, const char *fmt, va_list ap)
{
	struct strata_error *e = xcalloc(1, sizeof(*e));
	char *msg = xvasprintf(fmt, ap);
	if (errnum) {
		char *full = xasprintf("%s: %s", msg, strerror(errnum));
		free(msg);
		msg = full;
	}
	e->msg = msg;
	e->errnum = errnum;
	e->code = code;
	return e;
}

int strata_error_vmake(struct strata_error **err, int errnum, const char *fmt, va_list ap)
{
	if (!err)
		return -1;
	struct strata_error *e = error_new(0, errnum, fmt, ap);
	e->cause = *err;
	*err = e;
	return -1;
}

int strata_error_make(struct strata_error **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strata_error_vmake(err, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int strata_error_makec(struct strata_error **err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strata_error_vmake(err, errnum, fmt, ap);
	va_end(ap);
	strata_error_set_code(err, code);
	return -1;
}

int strata_error_wrap(struct strata_error **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strata_error_vmake(err, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int strata_error_pass(struct strata_error **err, struct strata_error *e)
{
	if (!err) {
		strata_error_free(e);
		return -1;
	}
	if (!e)
		return -1;
	if (*err) {
		struct strata_error *in = e;
		while (in->cause)
			in = in->cause;
		in->cause = *err;
	}
	*err = e;
	return -1;
}

void strata_error_set_code(struct strata_error **err, int code)
{
	if (err && *err)
		(*err)->code = code;
}

int strata_error_code(const struct strata_error *e)
{
	for (; e; e = e->cause)
		if (e->code)
			return e->code;
	return 0;
}

int strata_error_errnum(const struct strata_error *e)
{
	for (; e; e = e->cause)
		if (e->errnum)
			return e->errnum;
	return 0;
}

char *strata_error_string(const struct strata_error *e)
{
	if (!e)
		return xstrdup("unknown error");
	struct strata_buf b = STRATA_BUF_INIT;
	for (; e; e = e->cause) {
		strata_buf_adds(&b, e->msg);
		if (e->cause)
			strata_buf_adds(&b, ": ");
	}
	return strata_buf_detach(&b, NULL);
}

void strata_error_free(struct strata_error *e)
{
	while (e) {
		struct strata_error *next = e->cause;
		free(e->msg);
		free(e);
		e = next;
	}
}

void strata_error_clear(struct strata_error **err)
{
	if (err) {
		strata_error_free(*err);
		*err = NULL;
	}
}
