/* test_build_exec_user.c — USER resolution (no root needed). */
#include "tap.h"
#include "build/exec_internal.h"
#include "util/util.h"

static const char *passwd = "# comment\n"
			    "root:x:0:0:root:/root:/bin/sh\n"
			    "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
			    "broken line\n"
			    "bob:x:1001:100::/home/bob:/bin/sh";
static const char *group = "root:x:0:\nwheel:x:10:root,alice\nusers:x:100:\nstaff:x:50:bob,alice\n";

static char *show(const char *spec, const char *pw, const char *gr)
{
	struct exec_user u;
	struct strata_error *err = NULL;
	if (exec_user_resolve(spec, pw, gr, &u, &err) < 0) {
		char *m = strata_error_string(err);
		strata_error_free(err);
		char *r = xasprintf("error: %s", m);
		free(m);
		return r;
	}
	struct strata_buf b = STRATA_BUF_INIT;
	strata_buf_addf(&b, "%u:%u [", (unsigned)u.uid, (unsigned)u.gid);
	for (size_t i = 0; i < u.n_groups; i++)
		strata_buf_addf(&b, "%s%u", i ? " " : "", (unsigned)u.groups[i]);
	strata_buf_addf(&b, "] %s", u.home);
	exec_user_release(&u);
	return strata_buf_detach(&b, NULL);
}

#define CHECK(spec, pw, gr, want, name)                                                          \
	do {                                                                                     \
		char *s_ = show(spec, pw, gr);                                                   \
		is_str(s_, want, name);                                                          \
		free(s_);                                                                        \
	} while (0)

int main(void)
{
	CHECK(NULL, passwd, group, "0:0 [10] /root", "no USER: root with its passwd entry and groups");
	CHECK("", NULL, NULL, "0:0 [] /", "no USER, no passwd: root, home /");
	CHECK("alice", passwd, group, "1000:1000 [10 50] /home/alice", "name: uid, gid, member groups, home");
	CHECK("1000", passwd, group, "1000:1000 [10 50] /home/alice", "numeric uid found in passwd");
	CHECK("bob", passwd, group, "1001:100 [50] /home/bob", "last line without a newline");
	CHECK("alice:staff", passwd, group, "1000:50 [] /home/alice", "explicit group name: no supplementary groups");
	CHECK("alice:7", passwd, group, "1000:7 [] /home/alice", "explicit unknown numeric gid");
	CHECK("4242", passwd, group, "4242:0 [] /", "unknown numeric uid: gid 0, home /");
	CHECK("4242:4343", NULL, NULL, "4242:4343 [] /", "uid:gid without passwd or group files");
	CHECK("nobody", passwd, group,
	      "error: unable to find user 'nobody': no matching entries in passwd file", "unknown user name");
	CHECK("alice:nogroup", passwd, group,
	      "error: unable to find group 'nogroup': no matching entries in group file", "unknown group name");
	CHECK("alice:", passwd, group, "error: invalid user 'alice:': empty group", "empty group");
	CHECK("99999999999", passwd, group,
	      "error: unable to find user '99999999999': no matching entries in passwd file", "uid out of range");
	return done_testing();
}
