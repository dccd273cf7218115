/*
 * test_build_sandbox.c — the sandbox's pure parts (subid ranges, the
 * diagnosis of a refused user namespace from a fake /proc) and, as root in
 * a private mount namespace, the one overlay mount: paths with `,` `:` `\`
 * and a lower list longer than a page of options; the copy snapshotter's
 * merge of lowers (whiteouts, opaque dirs, hardlinks) and its commit in
 * overlayfs' upper format, and a malformed index named by file and entry.
 */
#include "tap.h"
#include "build/sandbox.h"
#include "layer/layer.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static char base[64];

static void test_subid(void)
{
	unsigned long r[4][2];
	const char *t = "# comment\nalice:100000:65536\nbob:165536:65536\n1001:231072:1000\nalice:300000:10\n";
	size_t n = sandbox_parse_subid(t, "alice", 1000, r, 4);
	is_int(n, 2, "two ranges for alice, in order");
	ok(n == 2 && r[0][0] == 100000 && r[0][1] == 65536 && r[1][0] == 300000 && r[1][1] == 10,
	   "alice's ranges are 100000+65536 and 300000+10");
	n = sandbox_parse_subid(t, "carol", 1001, r, 4);
	ok(n == 1 && r[0][0] == 231072 && r[0][1] == 1000, "a numeric uid entry matches the uid");
	is_int(sandbox_parse_subid(t, "al", 5, r, 4), 0, "a name prefix is no match");
	is_int(sandbox_parse_subid("alice:x:1\nalice:5:0\nalice:7\n", "alice", 5, r, 4), 0,
	       "malformed and empty ranges are ignored");
	is_int(sandbox_parse_subid(NULL, "alice", 5, r, 4), 0, "no file, no range");
}

static void fake(const char *rel, const char *content)
{
	cleanup_free char *p = xasprintf("%s/proc/%s", base, rel);
	cleanup_free char *d = xstrdup(p);
	*strrchr(d, '/') = '\0';
	strata_mkdir_p(d, 0755, NULL);
	if (content)
		strata_atomic_write(p, content, strlen(content), 0644, NULL);
	else
		unlink(p);
}

static void diag_is(int errnum, const char *want, const char *name)
{
	cleanup_free char *proc = xasprintf("%s/proc", base);
	cleanup_free char *m = sandbox_userns_diagnose(proc, errnum);
	if (!ok(m && strstr(m, want), "%s", name))
		diag("got: %s", m ? m : "(null)");
}

static void test_diagnose(void)
{
	fake("self/status", "Name:\tstrata\nSeccomp:\t0\n");
	fake("sys/user/max_user_namespaces", "15000\n");
	fake("sys/kernel/unprivileged_userns_clone", "0\n");
	diag_is(EPERM, "kernel.unprivileged_userns_clone=0: run 'sysctl -w kernel.unprivileged_userns_clone=1'",
		"Debian's unprivileged_userns_clone=0 is named with the fix");
	fake("sys/kernel/unprivileged_userns_clone", "1\n");
	fake("sys/user/max_user_namespaces", "0\n");
	diag_is(ENOSPC, "user.max_user_namespaces=0: run 'sysctl -w user.max_user_namespaces=15000'",
		"max_user_namespaces=0 is named with the fix");
	fake("self/uid_map", "         0       1000          1\n");
	diag_is(ENOSPC, "disabled by user.max_user_namespaces=0 in the user namespace strata runs in (a container's, "
			"not the host's): its root must run 'sysctl -w user.max_user_namespaces=15000' there",
		"max_user_namespaces=0 inside a container's user namespace says it is that namespace's limit");
	fake("self/uid_map", "         0          0 4294967295\n");
	diag_is(ENOSPC, "user.max_user_namespaces=0: run 'sysctl", "the initial namespace's map: the host's limit");
	fake("sys/user/max_user_namespaces", "3\n");
	diag_is(ENOSPC, "limit user.max_user_namespaces=3 is reached", "a reached limit says so");
	fake("sys/kernel/apparmor_restrict_unprivileged_userns", "1\n");
	diag_is(EPERM, "restricted by AppArmor (kernel.apparmor_restrict_unprivileged_userns=1)",
		"Ubuntu's AppArmor restriction is named");
	fake("sys/kernel/apparmor_restrict_unprivileged_userns", NULL);
	fake("self/status", "Name:\tstrata\nSeccomp:\t2\nSeccomp_filters:\t1\n");
	diag_is(EPERM, "forbidden by a seccomp filter", "a seccomp filter (a container's default profile) is named");
	fake("self/status", "Name:\tstrata\nSeccomp:\t0\n");
	diag_is(EPERM, "creating one was refused (EPERM): the enclosing container or security module",
		"a bare EPERM still says where to look");
	diag_is(EINVAL, "creating one failed: Invalid argument", "other errors name the errno");
}

/* as root in a private mount namespace */
static void test_overlay(void)
{
	cleanup_free char *low = xasprintf("%s/lo,w:er\\1", base);
	cleanup_free char *up = xasprintf("%s/u,p", base);
	cleanup_free char *wk = xasprintf("%s/w:k", base);
	cleanup_free char *mnt = xasprintf("%s/m", base);
	cleanup_free char *f = xasprintf("%s/f", low);
	strata_mkdir_p(low, 0755, NULL);
	strata_mkdir_p(up, 0755, NULL);
	strata_mkdir_p(wk, 0700, NULL);
	strata_mkdir_p(mnt, 0755, NULL);
	strata_atomic_write(f, "x", 1, 0644, NULL);
	struct strata_error *err = NULL;
	const char *lowers[] = { low };
	int rc = sandbox_overlay_mount(lowers, 1, up, wk, mnt, &err);
	if (!ok(rc == 0, "lower, upper and work dirs with ',' ':' '\\' mount"))
		diag("%s", strata_error_string(err));
	strata_error_clear(&err);
	cleanup_free char *mf = xasprintf("%s/f", mnt);
	ok(rc == 0 && strata_path_exists(mf), "the lower's file is seen through the overlay");
	umount2(mnt, MNT_DETACH);

	/* 120 lowers of ~60-byte paths: > 4000 bytes of options */
	const size_t n = 120;
	char **many = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		many[i] = xasprintf("%s/a-rather-long-lower-directory-name-for-layer-%03zu", base, i);
		strata_mkdir_p(many[i], 0755, NULL);
	}
	cleanup_free char *deep = xasprintf("%s/only-in-the-bottom", many[n - 1]);
	strata_atomic_write(deep, "y", 1, 0644, NULL);
	rc = sandbox_overlay_mount((const char *const *)many, n, NULL, NULL, mnt, &err);
	if (!ok(rc == 0, "%zu long lowers (more than a page of options) mount read-only", n))
		diag("%s", strata_error_string(err));
	strata_error_clear(&err);
	cleanup_free char *md = xasprintf("%s/only-in-the-bottom", mnt);
	ok(rc == 0 && strata_path_exists(md), "the bottom lower is seen");
	cleanup_free char *probe = xasprintf("%s/new", mnt);
	ok(rc == 0 && open(probe, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) < 0 && errno == EROFS,
	   "without an upper the view is read-only");
	umount2(mnt, MNT_DETACH);
	for (size_t i = 0; i < n; i++)
		free(many[i]);
	free(many);

	rc = sandbox_overlay_mount(lowers, 0, NULL, NULL, mnt, &err);
	ok(rc < 0 && err, "no lower is an error");
	strata_error_clear(&err);
}

static void test_layer_ops(void)
{
	const struct layer_fs_ops *ops = sandbox_layer_ops();
	is_str(ops->opaque_xattr, "trusted.overlay.opaque", "as root, overlay's trusted opaque xattr");
	cleanup_free char *f = xasprintf("%s/owned", base);
	strata_atomic_write(f, "", 0, 0644, NULL);
	int fd = open(f, O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && ops->chown(fd, "", 1000, 1001, AT_EMPTY_PATH) == 0, "as root, chown goes through");
	struct stat st;
	ok(fd >= 0 && fstat(fd, &st) == 0 && st.st_uid == 1000 && st.st_gid == 1001, "to the ids asked");
	if (fd >= 0)
		close(fd);
}

static char *pj(const char *a, const char *b)
{
	return xasprintf("%s/%s", a, b);
}

static void put(const char *dir, const char *rel, const char *content)
{
	cleanup_free char *p = pj(dir, rel);
	strata_atomic_write(p, content, strlen(content), 0644, NULL);
}

static bool is_wh(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

/* as root: the copy snapshotter's two halves on plain directories */
static void test_copy(void)
{
	cleanup_free char *l1 = pj(base, "c-l1"), *l2 = pj(base, "c-l2"), *work = pj(base, "c-work"),
			  *up = pj(base, "c-up");
	cleanup_free char *l1d = pj(l1, "d"), *l2d = pj(l2, "d"), *l1k = pj(l1, "k");
	strata_mkdir_p(l1d, 0755, NULL);
	strata_mkdir_p(l2d, 0755, NULL);
	strata_mkdir_p(l1k, 0755, NULL);
	strata_mkdir_p(work, 0700, NULL);
	strata_mkdir_p(up, 0755, NULL);
	put(l1, "d/x", "x");
	put(l1, "gone", "g");
	put(l1, "a", "a");
	put(l1, "b", "b");
	put(l1, "k/keep", "k");
	put(l1, "h1", "h");
	cleanup_free char *h1 = pj(l1, "h1"), *h2 = pj(l1, "h2"), *wh = pj(l2, "gone");
	ok(link(h1, h2) == 0, "a hardlinked pair in the lower");
	ok(mknod(wh, S_IFCHR, makedev(0, 0)) == 0, "a whiteout in the upper lower");
	ok(setxattr(l2d, "trusted.overlay.opaque", "y", 1, 0) == 0, "an opaque dir in the upper lower");
	put(l2, "d/y", "y");
	const char *lowers[] = { l2, l1 };
	struct strata_error *err = NULL;
	ok(sandbox_copy_materialize(lowers, 2, work, true, &err) == 0, "the lowers are copied");
	strata_error_free(err);
	err = NULL;
	cleanup_free char *root = pj(work, "root");
	cleanup_free char *rdx = pj(root, "d/x"), *rdy = pj(root, "d/y"), *rg = pj(root, "gone"),
			  *rh1 = pj(root, "h1"), *rh2 = pj(root, "h2"), *ra = pj(root, "a"), *rb = pj(root, "b"),
			  *rk = pj(root, "k"), *rn = pj(root, "n");
	struct stat s1, s2;
	ok(!strata_path_exists(rdx) && strata_path_exists(rdy), "the opaque dir hides what is below it");
	ok(!strata_path_exists(rg), "the whiteout deletes");
	ok(lstat(rh1, &s1) == 0 && lstat(rh2, &s2) == 0 && s1.st_ino != s2.st_ino,
	   "lower hardlinks are separate files (overlayfs breaks them on write too)");
	char v[4] = { 0 };
	ok(lgetxattr(rdy, "trusted.overlay.opaque", v, sizeof(v)) < 0, "overlay's xattrs are not copied");
	/* a RUN */
	put(root, "a", "changed");
	ok(unlink(rb) == 0 && strata_rm_rf(rk, NULL) == 0 && mkdir(rn, 0700) == 0, "a run changes the copy");
	ok(sandbox_copy_commit(up, work, &err) == 0, "the changes are committed");
	if (err)
		diag("%s", strata_error_string(err));
	strata_error_free(err);
	err = NULL;
	cleanup_free char *ua = pj(up, "a"), *ub = pj(up, "b"), *uk = pj(up, "k"), *un = pj(up, "n"),
			  *ud = pj(up, "d"), *uh = pj(up, "h2");
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	ok(strata_read_file(ua, &b, 64, NULL) == 0 && !strcmp(b.data, "changed"), "a changed file is in the upper");
	ok(is_wh(ub) && is_wh(uk), "a removed file and a removed dir are whiteouts");
	ok(stat(un, &s1) == 0 && S_ISDIR(s1.st_mode) && (s1.st_mode & 07777) == 0700, "a new dir, its mode kept");
	ok(!strata_path_exists(ud) && !strata_path_exists(uh), "nothing unchanged is in the upper");
	ok(!strata_path_exists(root), "the copy is removed");

	/* a malformed index is named by file and entry */
	ok(mkdir(root, 0755) == 0, "a copy again");
	cleanup_free char *ix = pj(work, "root.index");
	static const char bad[] = "strata-copy-index 1 5 0\n12 d ok\0zz q broken\0";
	strata_atomic_write(ix, bad, sizeof(bad) - 1, 0600, NULL);
	ok(sandbox_copy_commit(up, work, &err) < 0, "a malformed index fails the commit");
	cleanup_free char *m = err ? strata_error_string(err) : NULL;
	ok(m && strstr(m, "root.index: entry 2") && strstr(m, "malformed"), "naming the file and the entry");
	if (m)
		diag("%s", m);
	strata_error_free(err);
}

static void cleanup(void)
{
	if (base[0])
		strata_rm_rf(base, NULL);
}

int main(void)
{
	snprintf(base, sizeof(base), "/tmp/strata-sandbox-XXXXXX");
	if (!mkdtemp(base)) {
		printf("1..0 # SKIP mkdtemp: %s\n", strerror(errno));
		return 0;
	}
	atexit(cleanup);
	test_subid();
	test_diagnose();
	if (geteuid() != 0) {
		diag("not root: the overlay and chown checks are skipped");
		return done_testing();
	}
	sandbox_init();
	ok(sandbox_get()->isolation == SANDBOX_ROOT, "as root the mode is root");
	struct strata_error *err = NULL;
	ok(sandbox_require(&err) == 0, "a private mount namespace");
	strata_error_free(err);
	test_layer_ops();
	test_copy();
	cleanup_buf struct strata_buf fs = STRATA_BUF_INIT;
	if (strata_read_file("/proc/filesystems", &fs, 1 << 20, NULL) == 0 && strstr(fs.data, "\toverlay\n"))
		test_overlay();
	return done_testing();
}
