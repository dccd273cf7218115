/*
 * test_build_executor.c — the executor against a busybox-static rootfs in
 * /tmp. Needs root and overlayfs (else the whole file is skipped). Leaves no
 * mounts and no processes: every check of "nothing mounted" looks at
 * /proc/self/mountinfo, and the base directory is unmounted (lazily) and
 * removed at exit even when a check fails.
 */
#include "tap.h"
#include "build/exec_internal.h"
#include "build/executor.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char base[64];
static char *lower, *run_dir, *cache_root;
static int layer_no;
static char sleep_a[16], sleep_b[16], sleep_c[16]; /* unique per test process */

static const char *const applets[] = {
	"sh", "echo", "id", "env", "cat", "ls", "touch", "rm", "sleep", "true", "false", "kill",
	"mkdir", "test", "stat", "grep", "wc", "hostname", "pwd", "sort", "mount", "tr",
};

static void write_file(const char *path, const char *content)
{
	if (strata_atomic_write(path, content, strlen(content), 0644, NULL) < 0)
		diag("cannot write %s", path);
}

static void build_rootfs(void)
{
	lower = xasprintf("%s/lower", base);
	const char *dirs[] = { "bin", "etc", "tmp", "proc", "sys", "home/alice" };
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(dirs); i++) {
		cleanup_free char *d = xasprintf("%s/%s", lower, dirs[i]);
		strata_mkdir_p(d, 0755, NULL);
	}
	cleanup_buf struct strata_buf bb = STRATA_BUF_INIT;
	strata_read_file("/bin/busybox", &bb, 64u << 20, NULL);
	cleanup_free char *bin = xasprintf("%s/bin/busybox", lower);
	strata_atomic_write(bin, bb.data, bb.len, 0755, NULL);
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(applets); i++) {
		cleanup_free char *l = xasprintf("%s/bin/%s", lower, applets[i]);
		if (symlink("busybox", l) < 0)
			diag("symlink %s: %s", l, strerror(errno));
	}
	cleanup_free char *p = xasprintf("%s/etc/passwd", lower);
	write_file(p, "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n");
	cleanup_free char *g = xasprintf("%s/etc/group", lower);
	write_file(g, "root:x:0:\nalice:x:1000:\nstaff:x:50:bob,alice\nwheel:x:10:root\n");
	cleanup_free char *v = xasprintf("%s/victim", lower);
	write_file(v, "delete me\n");
	cleanup_free char *m = xasprintf("%s/etc/motd", lower);
	write_file(m, "hello\n");
	run_dir = xasprintf("%s/run", base);
	cache_root = xasprintf("%s/cache", base);
}

static bool base_mounted(void)
{
	cleanup_buf struct strata_buf mi = STRATA_BUF_INIT;
	strata_read_file("/proc/self/mountinfo", &mi, 16u << 20, NULL);
	return strstr(mi.data, base) != NULL;
}

static void cleanup_base(void)
{
	if (!base[0])
		return;
	/* unmount anything a failure left (deepest first is not needed with MNT_DETACH) */
	for (int i = 0; i < 100 && base_mounted(); i++) {
		cleanup_buf struct strata_buf mi = STRATA_BUF_INIT;
		strata_read_file("/proc/self/mounts", &mi, 16u << 20, NULL);
		char *s = strstr(mi.data, base);
		if (!s)
			break;
		char *e = strchr(s, ' ');
		if (e)
			*e = '\0';
		umount2(s, MNT_DETACH);
	}
	strata_rm_rf(base, NULL);
	base[0] = '\0';
}

struct layer {
	char *upper, *work;
};

static struct layer new_layer(void)
{
	struct layer l;
	layer_no++;
	l.upper = xasprintf("%s/l%d/upper", base, layer_no);
	l.work = xasprintf("%s/l%d/work", base, layer_no);
	strata_mkdir_p(l.upper, 0755, NULL);
	strata_mkdir_p(l.work, 0700, NULL);
	return l;
}

static void layer_free(struct layer *l)
{
	free(l->upper);
	free(l->work);
}

struct capture {
	struct strata_buf out, errb;
};

static void on_output(void *ctx, int stream, const char *line, size_t len)
{
	struct capture *c = ctx;
	struct strata_buf *b = stream == 1 ? &c->out : &c->errb;
	strata_buf_add(b, line, len);
	strata_buf_addch(b, '\n');
}

static void spec_for(struct exec_spec *s, struct layer *l, struct capture *c)
{
	exec_spec_init(s);
	static const char *lowers[1];
	lowers[0] = lower;
	s->lowerdirs = lowers;
	s->n_lowerdirs = 1;
	s->upper_dir = l->upper;
	s->work_dir = l->work;
	s->run_dir = run_dir;
	s->cache_root = cache_root;
	static const char *const env[] = { "PATH=/bin", NULL };
	s->env = env;
	if (c) {
		strata_buf_init(&c->out, 1 << 20);
		strata_buf_init(&c->errb, 1 << 20);
		s->on_output = on_output;
		s->output_ctx = c;
	}
}

static void capture_release(struct capture *c)
{
	strata_buf_release(&c->out);
	strata_buf_release(&c->errb);
}

/* Run a shell command in a fresh layer over the base rootfs. */
static int run_sh(const char *cmd, struct layer *l, struct capture *c, struct exec_result *res, char **errmsg)
{
	struct exec_spec s;
	spec_for(&s, l, c);
	s.cmdline = cmd;
	struct strata_error *err = NULL;
	int r = executor_run(&s, res, &err);
	if (errmsg)
		*errmsg = err ? strata_error_string(err) : NULL;
	else if (r < 0) {
		char *m = strata_error_string(err);
		diag("executor_run: %s", m);
		free(m);
	}
	strata_error_free(err);
	return r;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static bool upper_has(struct layer *l, const char *rel)
{
	cleanup_free char *p = xasprintf("%s/%s", l->upper, rel);
	return strata_path_exists(p);
}

static bool sleeper_alive(const char *arg)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	bool found = false;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		cleanup_free char *p = xasprintf("/proc/%s/cmdline", de->d_name);
		cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
		if (strata_read_file(p, &b, 4096, NULL) < 0 || b.len < 7)
			continue;
		if (!strcmp(b.data, "sleep") && b.len > 6 && !strcmp(b.data + 6, arg))
			found = true;
	}
	if (d)
		closedir(d);
	return found;
}

static void test_echo(void)
{
	struct layer l = new_layer();
	struct capture c;
	struct exec_result res;
	int r = run_sh("echo hello; echo oops >&2; echo -n tail", &l, &c, &res, NULL);
	is_int(r, 0, "a command runs");
	is_int(res.exit_code, 0, "exit code 0");
	is_str(c.out.data, "hello\ntail\n", "stdout comes back line by line, the last line without newline too");
	is_str(c.errb.data, "oops\n", "stderr comes back as stream 2");
	is_int(count_entries(l.upper), 0, "a command that changes nothing leaves the upper dir empty");
	ok(!base_mounted(), "no mounts left after a run");
	capture_release(&c);
	layer_free(&l);
}

/* The caller's stdout and stderr given crossed (stdout_fd 2, stderr_fd 1). */
static void test_stdio_crossed(void)
{
	struct layer l = new_layer();
	cleanup_free char *pa = xasprintf("%s/stdio-a", base), *pb = xasprintf("%s/stdio-b", base);
	int a = open(pa, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int b = open(pb, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	fflush(stdout);
	fflush(stderr);
	int save1 = fcntl(1, F_DUPFD_CLOEXEC, 3), save2 = fcntl(2, F_DUPFD_CLOEXEC, 3);
	dup2(a, 1);
	dup2(b, 2);
	struct exec_spec s;
	spec_for(&s, &l, NULL);
	s.cmdline = "echo out; echo err >&2";
	s.stdout_fd = 2;
	s.stderr_fd = 1;
	struct exec_result res;
	struct strata_error *err = NULL;
	int r = executor_run(&s, &res, &err);
	dup2(save1, 1);
	dup2(save2, 2);
	close(save1);
	close(save2);
	close(a);
	close(b);
	strata_error_free(err);
	cleanup_buf struct strata_buf ba = STRATA_BUF_INIT, bb = STRATA_BUF_INIT;
	strata_read_file(pa, &ba, 4096, NULL);
	strata_read_file(pb, &bb, 4096, NULL);
	is_int(r, 0, "a run with crossed stdout/stderr fds");
	is_str(bb.data, "out\n", "stdout goes to the caller's fd 2 as asked");
	is_str(ba.data, "err\n", "stderr goes to the caller's fd 1 as asked");
	layer_free(&l);
}

static void test_status(void)
{
	struct layer l = new_layer();
	struct exec_result res;
	int r = run_sh("exit 3", &l, NULL, &res, NULL);
	ok(r == 0 && res.exit_code == 3 && res.signal == 0, "exit status 3 is reported");
	r = run_sh("kill -9 $$", &l, NULL, &res, NULL);
	ok(r == 0 && res.exit_code == -1 && res.signal == SIGKILL, "death by SIGKILL is reported");
	r = run_sh("kill -TERM $$", &l, NULL, &res, NULL);
	ok(r == 0 && res.signal == SIGTERM, "death by SIGTERM is reported (the command is not PID 1)");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cleanup_free char *bg = xasprintf("sleep %s & echo started", sleep_c);
	r = run_sh(bg, &l, NULL, &res, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ok(r == 0 && res.exit_code == 0 && t1.tv_sec - t0.tv_sec < 3 && !sleeper_alive(sleep_c),
	   "the step ends with its command: background processes are killed, not waited for");
	ok(!base_mounted(), "a failing command leaves no mounts behind");
	is_int(count_entries(l.upper), 0, "and nothing in the upper dir");
	layer_free(&l);
}

static void test_changes(void)
{
	struct layer l = new_layer();
	struct exec_result res;
	int r = run_sh("echo new > /new && echo more >> /etc/motd && rm /victim && cat /etc/hosts >/dev/null", &l,
		       NULL, &res, NULL);
	ok(r == 0 && res.exit_code == 0, "file changes run");
	ok(upper_has(&l, "new"), "a created file lands in the upper dir");
	ok(upper_has(&l, "etc/motd"), "a modified file is copied up");
	cleanup_free char *v = xasprintf("%s/victim", l.upper);
	struct stat st;
	ok(lstat(v, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0),
	   "a deleted file is an overlay whiteout (0/0 char device)");
	ok(!upper_has(&l, "etc/hosts") && !upper_has(&l, "etc/resolv.conf") && !upper_has(&l, "etc/hostname"),
	   "no /etc/hosts, /etc/resolv.conf or /etc/hostname in the upper dir");
	ok(!upper_has(&l, "dev") && !upper_has(&l, "proc") && !upper_has(&l, "run"),
	   "no /dev, /proc or /run in the upper dir");
	is_int(count_entries(l.upper), 3, "the upper dir holds exactly new, etc and victim");
	layer_free(&l);
}

static void test_env_user_workdir(void)
{
	struct layer l = new_layer();
	struct capture c;
	struct exec_result res;
	struct exec_spec s;
	spec_for(&s, &l, &c);
	static const char *const env[] = { "PATH=/bin", "FOO=bar baz", "EMPTY=", NULL };
	static const char *const argv[] = { "env", NULL };
	s.env = env;
	s.argv = argv;
	int r = executor_run(&s, &res, NULL);
	ok(r == 0 && res.exit_code == 0, "exec form runs through PATH");
	is_str(c.out.data, "PATH=/bin\nFOO=bar baz\nEMPTY=\nHOME=/root\n",
	       "the environment is exactly ENV (plus HOME from /etc/passwd)");
	capture_release(&c);

	spec_for(&s, &l, &c);
	s.user = "alice";
	s.cwd = "/work/dir";
	s.cmdline = "id -u; id -g; id -G; pwd; echo $HOME; stat -c %u:%g /work/dir; touch mine";
	r = executor_run(&s, &res, NULL);
	ok(r == 0 && res.exit_code == 0, "USER alice with a new WORKDIR runs");
	is_str(c.out.data, "1000\n1000\n1000 50\n/work/dir\n/home/alice\n1000:1000\n",
	       "USER name: uid, primary gid, supplementary groups, WORKDIR as cwd, HOME");
	ok(upper_has(&l, "work/dir/mine"), "the WORKDIR is created in the upper dir and writable by the user");
	capture_release(&c);

	spec_for(&s, &l, &c);
	s.user = "1000:50";
	s.cmdline = "id -u; id -g; id -G";
	r = executor_run(&s, &res, NULL);
	is_str(c.out.data, "1000\n50\n50\n", "USER uid:gid applies both, no supplementary groups");
	capture_release(&c);

	spec_for(&s, &l, &c);
	s.user = "4242";
	s.cmdline = "id -u; id -g";
	r = executor_run(&s, &res, NULL);
	is_str(c.out.data, "4242\n0\n", "USER unknown uid: accepted, gid 0");
	capture_release(&c);

	spec_for(&s, &l, NULL);
	s.user = "nobody";
	s.cmdline = "true";
	struct strata_error *err = NULL;
	r = executor_run(&s, &res, &err);
	char *m = err ? strata_error_string(err) : NULL;
	ok(r < 0 && m && strstr(m, "unable to find user 'nobody'"), "unknown user name: a clear error (%s)",
	   m ? m : "none");
	free(m);
	strata_error_clear(&err);

	spec_for(&s, &l, &c);
	s.hostname = "builder1";
	s.cmdline = "hostname; cat /etc/hostname; grep -c builder1 /etc/hosts";
	r = executor_run(&s, &res, NULL);
	is_str(c.out.data, "builder1\nbuilder1\n1\n", "hostname set, /etc/hostname and /etc/hosts generated");
	capture_release(&c);
	ok(!base_mounted(), "no mounts left");
	layer_free(&l);
}

static void test_exec_errors(void)
{
	struct layer l = new_layer();
	struct exec_result res;
	struct exec_spec s;
	spec_for(&s, &l, NULL);
	static const char *const argv[] = { "no-such-tool", "x", NULL };
	s.argv = argv;
	struct strata_error *err = NULL;
	int r = executor_run(&s, &res, &err);
	char *m = err ? strata_error_string(err) : NULL;
	ok(r < 0 && m && strstr(m, "exec 'no-such-tool': executable file not found in $PATH"),
	   "a missing executable is a clear error (%s)", m ? m : "none");
	free(m);
	strata_error_clear(&err);

	struct exec_mount mt;
	exec_mount_init(&mt, EXEC_MOUNT_SSH);
	mt.target = "/run/ssh";
	spec_for(&s, &l, NULL);
	s.cmdline = "true";
	s.mounts = &mt;
	s.n_mounts = 1;
	r = executor_run(&s, &res, &err);
	m = err ? strata_error_string(err) : NULL;
	ok(r < 0 && m && strstr(m, "type=ssh is not supported"), "type=ssh: not supported (%s)", m ? m : "none");
	free(m);
	strata_error_clear(&err);

	spec_for(&s, &l, NULL);
	s.cmdline = "sleep 5";
	s.timeout_ms = 200;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = executor_run(&s, &res, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	ok(r == 0 && res.timed_out && res.signal == SIGKILL && ms < 3000, "a timeout kills the run (%.0f ms)", ms);

	spec_for(&s, &l, NULL);
	static const char *const lowers[2] = { "/nonexistent-lower", NULL };
	s.lowerdirs = lowers;
	s.cmdline = "true";
	r = executor_run(&s, &res, &err);
	m = err ? strata_error_string(err) : NULL;
	ok(r < 0 && m && strstr(m, "mount overlay"), "a bad lower dir: overlay mount error (%s)", m ? m : "none");
	free(m);
	strata_error_clear(&err);
	is_int(count_entries(run_dir), 0, "failed runs leave nothing in the run dir");
	ok(!base_mounted(), "no mounts left after failures");
	layer_free(&l);
}

static void test_network_none(void)
{
	struct layer l = new_layer();
	struct capture c;
	struct exec_result res;
	struct exec_spec s;
	spec_for(&s, &l, &c);
	s.network = EXEC_NET_NONE;
	s.cmdline = "ls /sys/class/net; cat /sys/class/net/lo/operstate /sys/class/net/lo/flags";
	int r = executor_run(&s, &res, NULL);
	ok(r == 0 && res.exit_code == 0, "network none runs");
	ok(!strncmp(c.out.data, "lo\n", 3) && strstr(c.out.data, "0x9") != NULL,
	   "network none: only lo, and it is up (%s)", c.out.data);
	capture_release(&c);
	layer_free(&l);
}

static void test_mounts(void)
{
	struct layer l = new_layer();
	struct capture c;
	struct exec_result res;
	struct exec_spec s;

	/* cache, persisted across runs */
	struct exec_mount cm;
	exec_mount_init(&cm, EXEC_MOUNT_CACHE);
	cm.target = "/var/cache/x";
	cm.id = "c1";
	spec_for(&s, &l, &c);
	s.mounts = &cm;
	s.n_mounts = 1;
	s.cmdline = "echo kept >> /var/cache/x/f; stat -c %a /var/cache/x";
	int r = executor_run(&s, &res, NULL);
	ok(r == 0 && res.exit_code == 0 && !strcmp(c.out.data, "755\n"), "cache mount: first run writes");
	capture_release(&c);
	struct layer l2 = new_layer();
	spec_for(&s, &l2, &c);
	s.mounts = &cm;
	s.n_mounts = 1;
	cm.sharing = EXEC_SHARING_LOCKED;
	s.cmdline = "cat /var/cache/x/f";
	r = executor_run(&s, &res, NULL);
	is_str(c.out.data, "kept\n", "cache mount: the second run sees the first run's file");
	capture_release(&c);
	ok(count_entries(l.upper) == 0 && count_entries(l2.upper) == 0,
	   "cache mounts leave nothing in the upper dir (the stub /var/cache/x removed)");

	/* secret */
	cleanup_free char *sec = xasprintf("%s/secret.txt", base);
	write_file(sec, "s3cret");
	struct exec_mount sm;
	exec_mount_init(&sm, EXEC_MOUNT_SECRET);
	sm.id = "tok";
	sm.host_source = sec;
	spec_for(&s, &l, &c);
	s.mounts = &sm;
	s.n_mounts = 1;
	s.cmdline = "cat /run/secrets/tok; echo; stat -c %a /run/secrets/tok; echo x > /run/secrets/tok || echo ro";
	r = executor_run(&s, &res, NULL);
	is_str(c.out.data, "s3cret\n400\nro\n", "secret mount: readable, mode 0400, read-only");
	ok(!upper_has(&l, "run"), "secret mount: nothing of /run/secrets in the upper dir");
	capture_release(&c);
	sm.host_source = NULL;
	sm.required = true;
	spec_for(&s, &l, NULL);
	s.mounts = &sm;
	s.n_mounts = 1;
	s.cmdline = "true";
	struct strata_error *err = NULL;
	r = executor_run(&s, &res, &err);
	char *m = err ? strata_error_string(err) : NULL;
	ok(r < 0 && m && strstr(m, "secret 'tok' is required but was not provided"), "required secret missing (%s)",
	   m ? m : "none");
	free(m);
	strata_error_clear(&err);
	sm.required = false;
	spec_for(&s, &l, NULL);
	s.mounts = &sm;
	s.n_mounts = 1;
	s.cmdline = "test ! -e /run/secrets/tok";
	r = executor_run(&s, &res, NULL);
	ok(r == 0 && res.exit_code == 0, "optional secret missing: no mount");

	/* secret as an environment variable */
	sm.required = false;
	sm.host_source = sec;
	sm.env = "TOKEN";
	spec_for(&s, &l, &c);
	static const char *const env2[] = { "PATH=/bin", "TOKEN=old", NULL };
	s.env = env2;
	s.mounts = &sm;
	s.n_mounts = 1;
	s.cmdline = "echo $TOKEN; env | grep -c TOKEN; test -e /run/secrets/tok || echo no-file";
	r = executor_run(&s, &res, NULL);
	is_str(c.out.data, "s3cret\n1\nno-file\n", "secret env= without target: only the variable, replacing ENV's");
	capture_release(&c);
	sm.target = "/s";
	spec_for(&s, &l, &c);
	s.mounts = &sm;
	s.n_mounts = 1;
	s.cmdline = "echo $TOKEN; cat /s";
	r = executor_run(&s, &res, NULL);
	is_str(c.out.data, "s3cret\ns3cret\n", "secret env= with a target: both");
	capture_release(&c);
	ok(count_entries(l.upper) == 0, "secrets leave nothing in the upper dir");

	/* tmpfs */
	struct exec_mount tm;
	exec_mount_init(&tm, EXEC_MOUNT_TMPFS);
	tm.target = "/scratch";
	tm.size = 1 << 20;
	spec_for(&s, &l, &c);
	s.mounts = &tm;
	s.n_mounts = 1;
	s.cmdline = "echo a > /scratch/f && cat /scratch/f && grep ' /scratch ' /proc/mounts | grep -c 'tmpfs.*size=1024k'";
	r = executor_run(&s, &res, NULL);
	is_str(c.out.data, "a\n1\n", "tmpfs mount with a size");
	ok(!upper_has(&l, "scratch"), "tmpfs mount: nothing in the upper dir");
	capture_release(&c);

	/* bind */
	cleanup_free char *src = xasprintf("%s/ctx", base);
	strata_mkdir_p(src, 0755, NULL);
	cleanup_free char *sf = xasprintf("%s/ctx/file", base);
	write_file(sf, "from host\n");
	struct exec_mount bm;
	exec_mount_init(&bm, EXEC_MOUNT_BIND);
	bm.target = "/src";
	bm.host_source = src;
	spec_for(&s, &l, &c);
	s.mounts = &bm;
	s.n_mounts = 1;
	s.cmdline = "cat /src/file; touch /src/new 2>/dev/null && echo rw || echo ro";
	r = executor_run(&s, &res, NULL);
	is_str(c.out.data, "from host\nro\n", "bind mount: readable and read-only by default");
	capture_release(&c);
	bm.readonly = false;
	spec_for(&s, &l, &c);
	s.mounts = &bm;
	s.n_mounts = 1;
	s.cmdline = "echo changed > /src/file && touch /src/new && cat /src/file";
	r = executor_run(&s, &res, NULL);
	is_str(c.out.data, "changed\n", "bind mount rw: writable in the run");
	cleanup_free char *nf = xasprintf("%s/ctx/new", base);
	cleanup_buf struct strata_buf hb = STRATA_BUF_INIT;
	strata_read_file(sf, &hb, 1024, NULL);
	ok(!strata_path_exists(nf) && !strcmp(hb.data, "from host\n"), "bind mount rw: writes are discarded");
	capture_release(&c);
	ok(!upper_has(&l, "src"), "bind mount: nothing in the upper dir");
	ok(!base_mounted(), "no mounts left after RUN mounts");
	layer_free(&l);
	layer_free(&l2);
}

static void test_cache_options(void)
{
	struct layer l = new_layer();
	struct capture c;
	struct exec_result res;
	struct exec_spec s;
	struct exec_mount cm;
	exec_mount_init(&cm, EXEC_MOUNT_CACHE);
	cm.target = "/c2";
	cm.mode = 0700;
	cm.uid = 1000;
	cm.gid = 50;
	spec_for(&s, &l, &c);
	s.mounts = &cm;
	s.n_mounts = 1;
	s.cmdline = "stat -c '%a %u %g' /c2; echo x > /c2/f";
	int r = executor_run(&s, &res, NULL);
	ok(r == 0 && !strcmp(c.out.data, "700 1000 50\n"), "cache keyed by target, created with mode, uid, gid (%s)",
	   c.out.data);
	capture_release(&c);

	/* seeded from a directory (from=stage,source=dir) on first use only */
	cleanup_free char *seed = xasprintf("%s/seed", base);
	cleanup_free char *seed_sub = xasprintf("%s/seed/sub", base);
	strata_mkdir_p(seed_sub, 0750, NULL);
	cleanup_free char *seed_f = xasprintf("%s/seed/sub/f", base);
	write_file(seed_f, "seeded\n");
	cleanup_free char *seed_l = xasprintf("%s/seed/link", base);
	if (symlink("sub/f", seed_l) < 0)
		diag("symlink: %s", strerror(errno));
	if (chown(seed_f, 1000, 50) < 0)
		diag("chown: %s", strerror(errno));
	struct exec_mount sdm;
	exec_mount_init(&sdm, EXEC_MOUNT_CACHE);
	sdm.target = "/c3";
	sdm.host_source = seed;
	spec_for(&s, &l, &c);
	s.mounts = &sdm;
	s.n_mounts = 1;
	s.cmdline = "cat /c3/link; stat -c '%a %u:%g' /c3/sub /c3/sub/f; echo more >> /c3/sub/f";
	r = executor_run(&s, &res, NULL);
	is_str(c.out.data, "seeded\n750 0:0\n644 1000:50\n", "a cache with a seed starts as a copy of it");
	capture_release(&c);
	spec_for(&s, &l, &c);
	s.mounts = &sdm;
	s.n_mounts = 1;
	s.cmdline = "cat /c3/sub/f";
	r = executor_run(&s, &res, NULL);
	is_str(c.out.data, "seeded\nmore\n", "and is not seeded again");
	capture_release(&c);
	cleanup_buf struct strata_buf sb = STRATA_BUF_INIT;
	strata_read_file(seed_f, &sb, 1024, NULL);
	is_str(sb.data, "seeded\n", "the seed itself is untouched");

	/* hold the cache's lock as another build would */
	char hex[65];
	strata_sha256_hex("/c2", 3, hex);
	cleanup_free char *lockp = xasprintf("%s/%s/lock", cache_root, hex);
	int lfd = strata_lock_file(lockp, true, NULL);
	ok(lfd >= 0, "the cache lock is held by someone else");
	cm.sharing = EXEC_SHARING_PRIVATE;
	spec_for(&s, &l, &c);
	s.mounts = &cm;
	s.n_mounts = 1;
	s.cmdline = "ls /c2 | wc -l; stat -c '%a %u' /c2";
	r = executor_run(&s, &res, NULL);
	is_str(c.out.data, "0\n700 1000\n", "sharing=private on a busy cache: a fresh directory of its own");
	capture_release(&c);
	DIR *d = opendir(cache_root);
	int privates = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		privates += !strncmp(de->d_name, "private-", 8);
	if (d)
		closedir(d);
	is_int(privates, 0, "and it is removed after the run");
	if (lfd >= 0)
		close(lfd);
	layer_free(&l);
}

static void test_symlink_escape(void)
{
	/* a top layer whose /run is an absolute symlink to a host path */
	cleanup_free char *top = xasprintf("%s/evil", base);
	strata_mkdir_p(top, 0755, NULL);
	cleanup_free char *host_target = xasprintf("%s/host-escape", base);
	cleanup_free char *link = xasprintf("%s/run", top);
	if (symlink(host_target, link) < 0)
		diag("symlink: %s", strerror(errno));
	cleanup_free char *sec = xasprintf("%s/secret2.txt", base);
	write_file(sec, "inside");
	const char *lowers[] = { top, lower };
	struct layer l = new_layer();
	struct capture c;
	struct exec_result res;
	struct exec_spec s;
	struct exec_mount sm;
	exec_mount_init(&sm, EXEC_MOUNT_SECRET);
	sm.id = "tok";
	sm.host_source = sec;
	spec_for(&s, &l, &c);
	s.lowerdirs = lowers;
	s.n_lowerdirs = 2;
	s.mounts = &sm;
	s.n_mounts = 1;
	s.cmdline = "cat /run/secrets/tok";
	int r = executor_run(&s, &res, NULL);
	ok(r == 0 && !strcmp(c.out.data, "inside\n"), "a mount under an image's absolute symlink works (%s)", c.out.data);
	ok(!strata_path_exists(host_target), "and is resolved inside the rootfs, never on the host");
	is_int(count_entries(l.upper), 0, "the stubs made through the symlink are removed too");
	capture_release(&c);
	layer_free(&l);
}

struct thread_run {
	struct layer l;
	const char *cmd;
	unsigned timeout_ms;
	useconds_t delay_us;
	struct exec_result res;
	int r;
	double ms;
};

static void *thread_run(void *arg)
{
	struct thread_run *t = arg;
	usleep(t->delay_us);
	struct exec_spec s;
	spec_for(&s, &t->l, NULL);
	s.cmdline = t->cmd;
	s.timeout_ms = t->timeout_ms;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	t->r = executor_run(&s, &t->res, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	t->ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	return NULL;
}

static void test_concurrent_runs(void)
{
	/* B starts while A runs: B's helper must not hold A's pipes, or A's
	 * timeout (and its EOFs) would wait for B to end */
	struct thread_run a = { .l = new_layer(), .cmd = "sleep 5", .timeout_ms = 400 };
	struct thread_run b = { .l = new_layer(), .cmd = "sleep 1.5; echo done > /done", .delay_us = 100000 };
	pthread_t ta, tb;
	pthread_create(&ta, NULL, thread_run, &a);
	pthread_create(&tb, NULL, thread_run, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ok(a.r == 0 && a.res.timed_out && a.ms < 1200, "two runs at once: the first one's timeout is not held up by the second (%.0f ms)",
	   a.ms);
	ok(b.r == 0 && b.res.exit_code == 0 && upper_has(&b.l, "done"), "and the second one completes");
	ok(count_entries(a.l.upper) == 0 && count_entries(b.l.upper) == 1, "each upper dir holds its own changes only");
	layer_free(&a.l);
	layer_free(&b.l);
}

static void test_killed_run(void)
{
	struct layer l = new_layer();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct exec_result res;
		struct exec_spec s;
		spec_for(&s, &l, NULL);
		cleanup_free char *cmd = xasprintf("touch /started; sleep %s", sleep_a);
		s.cmdline = cmd;
		executor_run(&s, &res, NULL);
		_exit(0);
	}
	cleanup_free char *started = xasprintf("%s/started", l.upper);
	for (int i = 0; i < 500 && !(strata_path_exists(started) && sleeper_alive(sleep_a)); i++)
		usleep(10000);
	ok(strata_path_exists(started) && sleeper_alive(sleep_a), "a run in a forked process is going");
	ok(upper_has(&l, "etc/hosts"), "while it runs, the /etc/hosts mount point stub is in the upper dir");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (int i = 0; i < 300 && sleeper_alive(sleep_a); i++)
		usleep(10000);
	ok(!sleeper_alive(sleep_a), "killing the caller kills the whole namespace");
	for (int i = 0; i < 300 && base_mounted(); i++)
		usleep(10000);
	ok(!base_mounted(), "and its mounts are gone");
	is_int(count_entries(run_dir), 2, "its state file and run dir are left");
	struct strata_error *err = NULL;
	/* the run's helper may still be reaping the namespace for a moment */
	int n = 0;
	for (int i = 0; i < 300 && (n = executor_cleanup_stale(run_dir, &err)) == 0; i++)
		usleep(10000);
	is_int(n, 1, "executor_cleanup_stale cleans one stale run");
	strata_error_clear(&err);
	is_int(count_entries(run_dir), 0, "the run dir is empty");
	ok(!upper_has(&l, "etc") && !upper_has(&l, "proc") && !upper_has(&l, "dev"),
	   "the stubs are gone from the upper dir");
	ok(upper_has(&l, "started"), "the command's own file stays");
	is_int(executor_cleanup_stale(run_dir, NULL), 0, "a second cleanup finds nothing");
	cleanup_free char *old_tmp = xasprintf("%s/0123456789abcdef.tmp", run_dir);
	cleanup_free char *new_tmp = xasprintf("%s/fedcba9876543210.tmp", run_dir);
	write_file(old_tmp, "strata-exec-state 1\n");
	write_file(new_tmp, "strata-exec-state 1\n");
	struct timespec old_times[2] = { { .tv_sec = time(NULL) - 3600 }, { .tv_sec = time(NULL) - 3600 } };
	utimensat(AT_FDCWD, old_tmp, old_times, 0);
	executor_cleanup_stale(run_dir, NULL);
	ok(!strata_path_exists(old_tmp) && strata_path_exists(new_tmp),
	   "a half-created state file is removed once old, never while a run may be starting");
	unlink(new_tmp);
	layer_free(&l);
}

static void test_live_not_cleaned(void)
{
	struct layer l = new_layer();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct exec_result res;
		struct exec_spec s;
		spec_for(&s, &l, NULL);
		s.cmdline = "touch /started; sleep 1";
		_exit(executor_run(&s, &res, NULL) == 0 && res.exit_code == 0 ? 0 : 1);
	}
	cleanup_free char *started = xasprintf("%s/started", l.upper);
	for (int i = 0; i < 500 && !strata_path_exists(started); i++)
		usleep(10000);
	is_int(executor_cleanup_stale(run_dir, NULL), 0, "a live run is not cleaned by executor_cleanup_stale");
	int st = 0;
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "and it finishes normally");
	is_int(count_entries(l.upper), 1, "leaving only its own file");
	layer_free(&l);
}

static void test_interrupt(void)
{
	struct layer l = new_layer();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct exec_result res;
		struct exec_spec s;
		struct strata_error *err = NULL;
		spec_for(&s, &l, NULL);
		cleanup_free char *cmd = xasprintf("touch /started; sleep %s", sleep_b);
		s.cmdline = cmd;
		int r = executor_run(&s, &res, &err);
		int code = strata_error_code(err);
		strata_error_free(err);
		_exit(r < 0 && code == STRATA_E_INTERRUPTED ? 42 : 1);
	}
	cleanup_free char *started = xasprintf("%s/started", l.upper);
	for (int i = 0; i < 500 && !(strata_path_exists(started) && sleeper_alive(sleep_b)); i++)
		usleep(10000);
	ok(sleeper_alive(sleep_b), "a run is going");
	kill(pid, SIGINT);
	int st = 0;
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 42, "SIGINT in the caller: executor_run returns an interrupted error");
	ok(!sleeper_alive(sleep_b), "the namespace was killed");
	ok(!base_mounted(), "no mounts left");
	is_int(count_entries(run_dir), 0, "nothing left in the run dir");
	is_int(count_entries(l.upper), 1, "only the command's file in the upper dir");
	layer_free(&l);
}

static void test_confinement(void)
{
	struct layer l = new_layer();
	struct capture c;
	struct exec_result res;
	struct exec_spec s;
	spec_for(&s, &l, &c);
	s.cmdline = "grep CapEff /proc/self/status; mount -t tmpfs none /tmp 2>/dev/null || echo no-mount; "
		    "echo 1 > /proc/sys/vm/drop_caches 2>/dev/null || echo no-sysctl; wc -c < /proc/timer_list; "
		    "ls /dev | sort | tr '\\n' ' '";
	int r = executor_run(&s, &res, NULL);
	ok(r == 0, "confinement checks run");
	is_str(c.out.data,
	       "CapEff:\t00000000a80425fb\nno-mount\nno-sysctl\n0\n"
	       "core fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero \n",
	       "docker's capabilities, /proc/sys read-only, /proc/timer_list masked, a minimal /dev");
	capture_release(&c);
	layer_free(&l);
}

static void test_many_lowers(void)
{
	enum { N = 60 };
	char *dirs[N];
	const char *lowers[N + 1];
	for (int i = 0; i < N; i++) {
		dirs[i] = xasprintf("%s/lowers/%03d-a-rather-long-directory-name-to-pass-the-page-limit-of-mount-options"
				    "-xxxxxxxxxxxxxxxxxx",
				    base, i);
		strata_mkdir_p(dirs[i], 0755, NULL);
		cleanup_free char *f = xasprintf("%s/f", dirs[i]);
		cleanup_free char *content = xasprintf("%d\n", i);
		write_file(f, content);
		cleanup_free char *g = xasprintf("%s/g%d", dirs[i], i);
		write_file(g, "");
		lowers[i] = dirs[i];
	}
	lowers[N] = lower;
	struct layer l = new_layer();
	struct capture c;
	struct exec_result res;
	struct exec_spec s;
	spec_for(&s, &l, &c);
	s.lowerdirs = lowers;
	s.n_lowerdirs = N + 1;
	s.cmdline = "cat /f; ls / | grep -c '^g'";
	int r = executor_run(&s, &res, NULL);
	ok(r == 0 && res.exit_code == 0, "61 long lower dirs (options past a page) mount");
	is_str(c.out.data, "0\n60\n", "the first lower dir is the top one, and all are there");
	capture_release(&c);
	for (int i = 0; i < N; i++)
		free(dirs[i]);
	layer_free(&l);
}

static void test_rootfs_mount(void)
{
	struct layer l = new_layer();
	struct exec_spec s;
	spec_for(&s, &l, NULL);
	struct exec_rootfs *rf = NULL;
	struct strata_error *err = NULL;
	int r = executor_rootfs_mount(&s, &rf, &err);
	ok(r == 0 && rf, "the rootfs overlay mounts in the caller's namespace");
	strata_error_clear(&err);
	if (!rf) {
		layer_free(&l);
		return;
	}
	cleanup_free char *copied = xasprintf("%s/copied", executor_rootfs_path(rf));
	cleanup_free char *motd = xasprintf("%s/etc/motd", executor_rootfs_path(rf));
	write_file(copied, "c\n");
	ok(base_mounted() && strata_path_exists(motd), "it is visible here, with the lower's files");
	ok(executor_rootfs_unmount(rf, NULL) == 0, "and unmounts");
	ok(!base_mounted() && upper_has(&l, "copied") && count_entries(l.upper) == 1,
	   "leaving no mount and exactly the written file in the upper dir");
	is_int(count_entries(run_dir), 0, "and nothing in the run dir");
	layer_free(&l);

	/* a builder killed with the rootfs mounted */
	struct layer l2 = new_layer();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct exec_rootfs *k = NULL;
		spec_for(&s, &l2, NULL);
		if (executor_rootfs_mount(&s, &k, NULL) == 0)
			raise(SIGKILL);
		_exit(1);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	ok(WIFSIGNALED(st) && base_mounted(), "a builder killed with the rootfs mounted leaves the mount");
	is_int(executor_cleanup_stale(run_dir, NULL), 1, "executor_cleanup_stale finds it");
	ok(!base_mounted(), "and unmounts it");
	is_int(count_entries(run_dir), 0, "and removes its run dir");
	layer_free(&l2);
}

static void test_empty_rootfs(void)
{
	struct layer l = new_layer();
	struct exec_result res;
	struct exec_spec s;
	spec_for(&s, &l, NULL);
	s.n_lowerdirs = 0;
	static const char *const argv[] = { "/bin/sh", NULL };
	s.argv = argv;
	struct strata_error *err = NULL;
	int r = executor_run(&s, &res, &err);
	char *m = err ? strata_error_string(err) : NULL;
	ok(r < 0 && m && strstr(m, "exec '/bin/sh'"), "an empty rootfs mounts (and has no /bin/sh: %s)",
	   m ? m : "none");
	free(m);
	strata_error_clear(&err);
	is_int(count_entries(l.upper), 0, "and leaves nothing in the upper dir");
	layer_free(&l);
}

static void on_signal(int sig)
{
	cleanup_base();
	signal(sig, SIG_DFL);
	raise(sig);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("1..0 # SKIP the executor needs root\n");
		return 0;
	}
	cleanup_buf struct strata_buf fs = STRATA_BUF_INIT;
	if (strata_read_file("/proc/filesystems", &fs, 1 << 20, NULL) < 0 || !strstr(fs.data, "\toverlay\n")) {
		printf("1..0 # SKIP overlayfs is not available\n");
		return 0;
	}
	if (!strata_path_exists("/bin/busybox")) {
		printf("1..0 # SKIP /bin/busybox (busybox-static) is not installed\n");
		return 0;
	}
	snprintf(sleep_a, sizeof(sleep_a), "1%06d", (int)getpid() % 1000000);
	snprintf(sleep_b, sizeof(sleep_b), "2%06d", (int)getpid() % 1000000);
	snprintf(sleep_c, sizeof(sleep_c), "3%06d", (int)getpid() % 1000000);
	snprintf(base, sizeof(base), "/tmp/strata-exec-XXXXXX");
	if (!mkdtemp(base)) {
		printf("1..0 # SKIP mkdtemp: %s\n", strerror(errno));
		return 0;
	}
	atexit(cleanup_base);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	build_rootfs();

	test_echo();
	test_stdio_crossed();
	test_status();
	test_changes();
	test_env_user_workdir();
	test_exec_errors();
	test_network_none();
	test_mounts();
	test_cache_options();
	test_symlink_escape();
	test_concurrent_runs();
	test_killed_run();
	test_live_not_cleaned();
	test_interrupt();
	test_confinement();
	test_many_lowers();
	test_empty_rootfs();
	test_rootfs_mount();

	ok(!base_mounted(), "nothing of the test is mounted at the end");
	free(lower);
	free(run_dir);
	free(cache_root);
	return done_testing();
}
