/*
 * fuzz_exec_user.c — USER resolution against an image's /etc/passwd and
 * /etc/group (untrusted: they come from the image). Input: the USER value,
 * the passwd text and the group text, separated by NUL bytes.
 */
#include "build/exec_internal.h"
#include "util/util.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = xmalloc(size + 3);
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = buf[size + 2] = '\0';
	/* three trailing NULs: each strlen below stays inside buf */
	const char *spec = buf;
	const char *passwd = spec + strlen(spec) + 1;
	const char *group = passwd + strlen(passwd) + 1;
	struct exec_user u;
	struct strata_error *err = NULL;
	if (exec_user_resolve(spec, passwd, group, &u, &err) == 0)
		exec_user_release(&u);
	strata_error_free(err);
	free(buf);
	return 0;
}
