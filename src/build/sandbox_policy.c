/*
 * sandbox_policy.c — the security policy applied to a command just before
 * execve (sandbox.h: sandbox_apply_policy). The single place where
 * no_new_privs, seccomp and further capability drops belong (issue #15);
 * today it adds nothing to what exec_child.c already does (docker's
 * capability set less CAP_MKNOD, masked /proc).
 */
#include "build/sandbox.h"

int sandbox_apply_policy(const struct sandbox_policy_ctx *ctx, struct strata_error **err)
{
	(void)ctx;
	(void)err;
	return 0;
}
