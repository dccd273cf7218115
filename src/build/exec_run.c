/*
 * exec_run.c — executor_run, the caller's side of a run: checks, state file,
 * fork, the loop that pumps output and watches the timeout and signals, the
 * wait, and the teardown (stubs out of the upper dir, locks released).
 */
#include "build/exec_internal.h"
#include "build/sandbox.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES (64u * 1024)
#define STATUS_MAX (64u * 1024)

void exec_spec_init(struct exec_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->stdin_fd = -1;
	spec->stdout_fd = -1;
	spec->stderr_fd = -1;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int check_spec(const struct exec_spec *s, struct strata_error **err)
{
	if (sandbox_usable(err) < 0)
		return strata_error_wrap(err, "running a build step");
	if (!s->upper_dir || !s->work_dir || !s->run_dir)
		return strata_error_make(err, 0, "executor: upper_dir, work_dir and run_dir are required");
	if (!s->cmdline && !(s->argv && s->argv[0]))
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "no command given");
	if (s->cwd && *s->cwd && s->cwd[0] != '/')
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "working directory '%s' is not absolute", s->cwd);
	if (strchr(s->upper_dir, '\n') || strchr(s->run_dir, '\n'))
		return strata_error_make(err, 0, "executor: paths must not contain newlines");
	return 0;
}

/* Per-stream line splitter for the output callback. */
struct linebuf {
	struct strata_buf b;
	int fd;
};

static void deliver(const struct exec_spec *spec, int stream, struct linebuf *lb, bool eof)
{
	size_t start = 0;
	for (;;) {
		char *nl = memchr(lb->b.data + start, '\n', lb->b.len - start);
		if (!nl)
			break;
		spec->on_output(spec->output_ctx, stream, lb->b.data + start, (size_t)(nl - (lb->b.data + start)));
		start = (size_t)(nl - lb->b.data) + 1;
	}
	while (lb->b.len - start >= LINE_MAX_BYTES) {
		spec->on_output(spec->output_ctx, stream, lb->b.data + start, LINE_MAX_BYTES);
		start += LINE_MAX_BYTES;
	}
	if (eof && lb->b.len > start) {
		spec->on_output(spec->output_ctx, stream, lb->b.data + start, lb->b.len - start);
		start = lb->b.len;
	}
	if (start) {
		memmove(lb->b.data, lb->b.data + start, lb->b.len - start);
		strata_buf_truncate(&lb->b, lb->b.len - start);
	}
}

/* Read what is there on fd into b; @return 0 open, 1 EOF. */
static int drain(int fd, struct strata_buf *b)
{
	char tmp[16384];
	ssize_t r = read(fd, tmp, sizeof(tmp));
	if (r < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : 1;
	if (r == 0)
		return 1;
	if (strata_buf_add(b, tmp, (size_t)r) < 0)
		return 0; /* status records past the cap are dropped */
	return 0;
}

/*
 * Parse the status records: the first error message ("E msg", or "N code
 * msg" when the command itself could not be executed: *not_started = code),
 * and the command's status.
 */
static void parse_status(const char *s, char **emsg, int *not_started, int *status, bool *have_status)
{
	for (const char *p = s; *p;) {
		const char *e = strchrnul(p, '\n');
		if (p[0] == 'E' && p[1] == ' ' && !*emsg) {
			*emsg = xstrndup(p + 2, (size_t)(e - p - 2));
		} else if (p[0] == 'N' && p[1] == ' ' && !*emsg) {
			char *end;
			long code = strtol(p + 2, &end, 10);
			if (end < e && *end == ' ' && (code == 126 || code == 127)) {
				*not_started = (int)code;
				*emsg = xstrndup(end + 1, (size_t)(e - end - 1));
			}
		} else if (p[0] == 'S' && p[1] == ' ') {
			*status = atoi(p + 2);
			*have_status = true;
		}
		p = *e ? e + 1 : e;
	}
}

struct run_fds {
	int status_r, status_w;
	int alive_r, alive_w;
	int out_r[2], out_w[2];
	int sigfd;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void close_all(struct run_fds *f)
{
	close_fd(&f->status_r);
	close_fd(&f->status_w);
	close_fd(&f->alive_r);
	close_fd(&f->alive_w);
	for (int i = 0; i < 2; i++) {
		close_fd(&f->out_r[i]);
		close_fd(&f->out_w[i]);
	}
	close_fd(&f->sigfd);
}

/* The loop while the command runs. @return the signal that interrupted it, or 0. */
static int pump(const struct exec_spec *spec, struct run_fds *f, struct strata_buf *status,
		struct exec_result *res)
{
	struct linebuf lb[2] = { { STRATA_BUF_INIT, f->out_r[0] }, { STRATA_BUF_INIT, f->out_r[1] } };
	double deadline = spec->timeout_ms ? now_ms() + spec->timeout_ms : 0;
	int interrupted = 0;
	bool killed = false;
	for (;;) {
		struct pollfd p[4];
		int np = 0, idx_status = -1, idx_sig = -1, idx_out[2] = { -1, -1 };
		if (f->status_r >= 0) {
			idx_status = np;
			p[np++] = (struct pollfd){ .fd = f->status_r, .events = POLLIN };
		}
		for (int i = 0; i < 2; i++)
			if (lb[i].fd >= 0) {
				idx_out[i] = np;
				p[np++] = (struct pollfd){ .fd = lb[i].fd, .events = POLLIN };
			}
		if (np == 0)
			break;
		if (f->sigfd >= 0) {
			idx_sig = np;
			p[np++] = (struct pollfd){ .fd = f->sigfd, .events = POLLIN };
		}
		int timeout = -1;
		if (deadline && !killed) {
			double left = deadline - now_ms();
			timeout = left <= 0 ? 0 : (int)left + 1;
		}
		int r = poll(p, (nfds_t)np, timeout);
		if (r < 0 && errno != EINTR)
			break;
		if (deadline && !killed && now_ms() >= deadline) {
			res->timed_out = true;
			close_fd(&f->alive_w); /* the helper kills init and waits for the namespace to die */
			killed = true;
		}
		if (r <= 0)
			continue;
		if (idx_sig >= 0 && (p[idx_sig].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(f->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si) && !interrupted) {
				interrupted = (int)si.ssi_signo;
				close_fd(&f->alive_w);
				killed = true;
			}
		}
		if (idx_status >= 0 && p[idx_status].revents && drain(f->status_r, status))
			close_fd(&f->status_r);
		for (int i = 0; i < 2; i++) {
			if (idx_out[i] < 0 || !p[idx_out[i]].revents)
				continue;
			int eof = drain(lb[i].fd, &lb[i].b);
			deliver(spec, i + 1, &lb[i], eof);
			if (eof)
				lb[i].fd = -1;
		}
	}
	for (int i = 0; i < 2; i++)
		strata_buf_release(&lb[i].b);
	return interrupted;
}

int executor_run(const struct exec_spec *spec, struct exec_result *res, struct strata_error **err)
{
	double t0 = now_ms();
	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	if (check_spec(spec, err) < 0)
		return -1;

	struct exec_ctx ctx = {
		.spec = spec, .state_fd = -1, .status_w = -1, .alive_r = -1,
		.out_w = { -1, -1 }, .in_fd = spec->stdin_fd,
	};
	struct run_fds f = { -1, -1, -1, -1, { -1, -1 }, { -1, -1 }, -1 };
	cleanup_buf struct strata_buf status = STRATA_BUF_INIT;
	strata_buf_init(&status, STATUS_MAX);
	int r = -1;
	char *emsg = NULL;
	bool masked = false;
	pid_t helper = -1;

	/* decided here, not in the forked child (which would decide, and say so, on every run) */
	sandbox_overlay_driver(NULL);
	if (exec_state_create(&ctx, spec->run_dir, err) < 0)
		goto out;
	if (exec_mounts_prepare(&ctx, err) < 0)
		goto out;
	if (!spec->insecure && sandbox_policy_prepare(err) < 0)
		goto out;
	int sp[2], ap[2];
	if (pipe2(sp, O_CLOEXEC) < 0) {
		strata_error_make(err, errno, "pipe");
		goto out;
	}
	f.status_r = sp[0], f.status_w = sp[1];
	if (pipe2(ap, O_CLOEXEC) < 0) {
		strata_error_make(err, errno, "pipe");
		goto out;
	}
	f.alive_r = ap[0], f.alive_w = ap[1];
	for (int i = 0; i < 2; i++) {
		if (spec->on_output && spec->merge_output && i == 1) {
			/* stderr shares stdout's pipe: the lines keep the order the
			 * command wrote them (two pipes cannot tell it afterwards) */
			ctx.out_w[1] = ctx.out_w[0];
		} else if (spec->on_output) {
			int op[2];
			if (pipe2(op, O_CLOEXEC) < 0) {
				strata_error_make(err, errno, "pipe");
				goto out;
			}
			f.out_r[i] = op[0];
			f.out_w[i] = op[1];
			fcntl(f.out_r[i], F_SETFL, O_NONBLOCK);
			ctx.out_w[i] = op[1];
		} else {
			ctx.out_w[i] = i == 0 ? spec->stdout_fd : spec->stderr_fd;
		}
	}
	fcntl(f.status_r, F_SETFL, O_NONBLOCK);
	ctx.status_w = f.status_w;
	ctx.alive_r = f.alive_r;

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, &ctx.oldmask);
	masked = true;
	f.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (f.sigfd < 0) {
		strata_error_make(err, errno, "signalfd");
		goto out;
	}

	helper = fork();
	if (helper < 0) {
		strata_error_make(err, errno, "fork");
		goto out;
	}
	if (helper == 0) {
		close(f.status_r);
		close(f.alive_w);
		close(f.sigfd);
		for (int i = 0; i < 2; i++)
			if (f.out_r[i] >= 0)
				close(f.out_r[i]);
		exec_child_main(&ctx);
	}
	close_fd(&f.status_w);
	close_fd(&f.alive_r);
	for (int i = 0; i < 2; i++)
		close_fd(&f.out_w[i]);

	int interrupted = pump(spec, &f, &status, res);
	int hst = 0;
	while (waitpid(helper, &hst, 0) < 0 && errno == EINTR)
		;
	helper = -1;

	int cst = 0;
	bool have_status = false;
	parse_status(status.data, &emsg, &res->not_started, &cst, &have_status);
	if (interrupted) {
		strata_error_makec(err, STRATA_E_INTERRUPTED, 0, "interrupted by signal %d (%s)", interrupted,
				   strsignal(interrupted));
		goto out;
	}
	if (res->timed_out) {
		res->signal = SIGKILL;
		r = 0;
		goto out;
	}
	if (emsg) {
		strata_error_makec(err, STRATA_E_BUILD, 0, "%s", emsg);
		goto out;
	}
	if (!have_status) {
		strata_error_make(err, 0, "the executor's namespace init ended without a status (%s %d)",
				  WIFSIGNALED(hst) ? "signal" : "exit code", WIFSIGNALED(hst) ? WTERMSIG(hst) : WEXITSTATUS(hst));
		goto out;
	}
	if (WIFEXITED(cst)) {
		res->exit_code = WEXITSTATUS(cst);
	} else if (WIFSIGNALED(cst)) {
		res->signal = WTERMSIG(cst);
	}
	r = 0;
out:
	if (helper > 0) {
		kill(helper, SIGKILL);
		while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
			;
	}
	close_all(&f);
	/* the copy snapshotter: the run's changes into the upper, before its stubs are taken out of it */
	if (ctx.state_fd >= 0) {
		struct strata_error *cerr = NULL;
		if (sandbox_overlay_commit(spec->upper_dir, spec->work_dir, &cerr) < 0 && r == 0) {
			if (err)
				*err = STRATA_STEAL(cerr);
			r = -1;
		}
		strata_error_free(cerr);
	}
	if (ctx.state_fd >= 0) {
		struct strata_error *uerr = NULL;
		if (exec_state_undo(ctx.state_fd, ctx.state_path, &uerr) < 0) {
			if (r == 0 && err) {
				*err = STRATA_STEAL(uerr);
				strata_error_wrap(err, "clean up after the run");
			}
			if (r == 0)
				r = -1;
			strata_error_free(uerr);
		}
		close(ctx.state_fd);
	}
	exec_mounts_release(&ctx);
	if (masked)
		pthread_sigmask(SIG_SETMASK, &ctx.oldmask, NULL);
	free(emsg);
	free(ctx.run_path);
	free(ctx.state_path);
	free(ctx.rootfs);
	free(ctx.stage);
	free(ctx.empty);
	res->total_ms = now_ms() - t0;
	return r;
}
