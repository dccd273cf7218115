/*
 * userns-deny — run a command where user namespaces are really refused, for
 * t5206 (as root; nothing global is changed):
 *
 *   userns-deny max0 UID GID CMD...     CMD runs as UID:GID in a fresh user
 *       namespace (mapping 0 and UID/GID to themselves) whose
 *       user.max_user_namespaces is 0: only that subtree is limited
 *   userns-deny seccomp UID GID CMD...  CMD runs as UID:GID under a seccomp
 *       filter failing unshare/clone with CLONE_NEWUSER with EPERM (clone3
 *       with ENOSYS), as a container runtime's default profile does
 *
 * Exit: CMD's status; 125 when the setup itself failed (message on stderr).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "userns-deny: %s: %s\n", what, strerror(errno));
	exit(125);
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		die(path);
	close(fd);
}

static void become(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		die("switch user");
}

static void seccomp_deny_userns(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unshare, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		die("load the seccomp filter");
}

int main(int argc, char **argv)
{
	if (argc < 5 || (strcmp(argv[1], "max0") && strcmp(argv[1], "seccomp"))) {
		fprintf(stderr, "usage: userns-deny max0|seccomp UID GID CMD...\n");
		return 125;
	}
	uid_t uid = (uid_t)strtoul(argv[2], NULL, 10);
	gid_t gid = (gid_t)strtoul(argv[3], NULL, 10);
	char **cmd = argv + 4;
	if (!strcmp(argv[1], "seccomp")) {
		become(uid, gid); /* no_new_privs: the filter needs no privilege */
		seccomp_deny_userns();
		execvp(cmd[0], cmd);
		die(cmd[0]);
	}
	int go[2], ready[2];
	if (pipe(go) < 0 || pipe(ready) < 0)
		die("pipe");
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		close(go[1]);
		close(ready[0]);
		if (unshare(CLONE_NEWUSER) < 0)
			die("unshare(CLONE_NEWUSER)");
		if (write(ready[1], "r", 1) != 1)
			die("write");
		char c;
		if (read(go[0], &c, 1) != 1)
			exit(125); /* the parent failed and said why */
		/* root of the new namespace (mapped now): its own limit, then the user */
		write_file("/proc/sys/user/max_user_namespaces", "0");
		become(uid, gid);
		execvp(cmd[0], cmd);
		die(cmd[0]);
	}
	close(go[0]);
	close(ready[1]);
	char c, path[64], map[128];
	if (read(ready[0], &c, 1) != 1) {
		waitpid(p, NULL, 0);
		return 125;
	}
	snprintf(map, sizeof(map), "0 0 1\n%lu %lu 1\n", (unsigned long)uid, (unsigned long)uid);
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)p);
	write_file(path, map);
	snprintf(map, sizeof(map), "0 0 1\n%lu %lu 1\n", (unsigned long)gid, (unsigned long)gid);
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)p);
	write_file(path, map);
	if (write(go[1], "g", 1) != 1)
		die("write");
	int st;
	while (waitpid(p, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
