/*
 * buildctx.c — where `strata build` gets its context from (buildctx.h): a
 * directory, a tar on stdin, a git repository, or an http(s) tarball.
 */
#include "cli/buildctx.h"
#include "cli/cli.h"
#include "layer/layer.h"
#include "oci/mediatype.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

void cli_build_context_release(struct cli_build_context *c)
{
	if (c->tmp)
		strata_rm_rf(c->tmp, NULL);
	free(c->tmp);
	free(c->dir);
	free(c->dockerfile);
	memset(c, 0, sizeof(*c));
}

static bool has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* buildx's rule (IsGitURL): git://, git@, github.com/, or an http(s)/file URL whose path ends in .git */
static bool is_git(const char *s)
{
	if (has_prefix(s, "git://") || has_prefix(s, "git@") || has_prefix(s, "github.com/") || has_prefix(s, "ssh://"))
		return true;
	if (!has_prefix(s, "http://") && !has_prefix(s, "https://") && !has_prefix(s, "file://"))
		return false;
	size_t n = strcspn(s, "#");
	return n >= 4 && !strncmp(s + n - 4, ".git", 4);
}

/* Run argv (git ...) quietly; its stderr goes to ours. */
static int run(char *const argv[], struct strata_error **err)
{
	pid_t pid;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
	int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return strata_error_make(err, r, "run %s (is it installed?)", argv[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return strata_error_make(err, errno, "wait for %s", argv[0]);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "%s %s %s failed", argv[0], argv[1], argv[2]);
	return 0;
}

static int git_context(struct cli_build_context *c, const char *url, struct strata_error **err)
{
	cleanup_free char *repo = xstrdup(url);
	char *frag = strchr(repo, '#');
	const char *ref = NULL, *sub = NULL;
	if (frag) {
		*frag++ = '\0';
		char *colon = strchr(frag, ':');
		if (colon) {
			*colon = '\0';
			sub = colon + 1;
		}
		ref = *frag ? frag : NULL;
	}
	cleanup_free char *checkout = xasprintf("%s/git", c->tmp);
	setenv("GIT_TERMINAL_PROMPT", "0", 1);
	char *clone[] = { "git", "clone", "--quiet", "--recurse-submodules", "--", repo, checkout, NULL };
	if (run(clone, err) < 0)
		return strata_error_wrap(err, "build context %s", url);
	if (ref) {
		char *co[] = { "git", "-C", checkout, "checkout", "--quiet", (char *)ref, "--", NULL };
		if (run(co, err) < 0)
			return strata_error_wrap(err, "build context %s: ref '%s'", url, ref);
	}
	cleanup_free char *dotgit = xasprintf("%s/.git", checkout);
	strata_rm_rf(dotgit, NULL); /* BuildKit drops .git unless asked to keep it */
	if (sub && (strstr(sub, "..") || *sub == '/'))
		return strata_error_makec(err, STRATA_E_USAGE, 0, "build context %s: bad subdirectory '%s'", url, sub);
	c->dir = sub && *sub ? xasprintf("%s/%s", checkout, sub) : xstrdup(checkout);
	struct stat st;
	if (stat(c->dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "build context %s: no directory '%s'", url,
					  sub ? sub : ".");
	return 0;
}

/*
 * A file that is a (compressed) tar becomes the context; anything else is
 * the Dockerfile itself with an empty context (docker's rule for `-` and
 * for URLs).
 */
static int archive_or_dockerfile(struct cli_build_context *c, const char *file, const char *what,
				 struct strata_error **err)
{
	unsigned char h[512] = { 0 };
	cleanup_close int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return strata_error_make(err, errno, "open '%s'", file);
	ssize_t k = pread(fd, h, sizeof(h), 0);
	const char *mt = NULL;
	bool tar = false;
	if (k >= 4 && h[0] == 0x1f && h[1] == 0x8b)
		mt = OCI_MT_LAYER_GZIP, tar = true;
	else if (k >= 4 && !memcmp(h, "\x28\xb5\x2f\xfd", 4))
		mt = OCI_MT_LAYER_ZSTD, tar = true;
	else if (k >= 262 && !memcmp(h + 257, "ustar", 5))
		tar = true;
	c->dir = xasprintf("%s/context", c->tmp);
	if (!tar) {
		if (strata_mkdir_p(c->dir, 0755, err) < 0)
			return -1;
		c->dockerfile = xstrdup(file);
		return 0;
	}
	struct layer_apply_opts o = { .media_type = mt, .devices = LAYER_DEVICES_SKIP, .no_chown = geteuid() != 0 };
	if (layer_apply_fd(fd, c->dir, &o, NULL, err) < 0)
		return strata_error_wrap(err, "build context %s", what);
	return 0;
}

int cli_build_context_prepare(const char *arg, const char *root, const struct build_hooks *hooks,
			      bool dockerfile_from_stdin, struct cli_build_context *c, struct strata_error **err)
{
	memset(c, 0, sizeof(*c));
	bool is_stdin = !strcmp(arg, "-");
	bool url = has_prefix(arg, "http://") || has_prefix(arg, "https://");
	if (!is_stdin && !url && !is_git(arg)) {
		c->dir = xstrdup(arg);
		return 0;
	}
	if (is_stdin && dockerfile_from_stdin)
		return strata_error_makec(err, STRATA_E_USAGE, 0,
					  "the context and the Dockerfile cannot both come from standard input");
	cleanup_free char *base = xasprintf("%s/tmp", root);
	if (strata_mkdir_p(base, 0700, err) < 0)
		return -1;
	c->tmp = xasprintf("%s/context-XXXXXX", base);
	if (!mkdtemp(c->tmp)) {
		int e = errno;
		free(c->tmp);
		c->tmp = NULL;
		return strata_error_make(err, e, "create a directory in '%s'", base);
	}
	if (is_git(arg))
		return git_context(c, arg, err);
	if (url) {
		cleanup_free char *path = NULL;
		if (build_fetch_url(root, hooks, arg, &path, err) < 0)
			return strata_error_wrap(err, "build context");
		return archive_or_dockerfile(c, path, arg, err);
	}
	/* stdin: to a file first (a pipe cannot be sniffed and rewound) */
	cleanup_free char *file = xasprintf("%s/stdin", c->tmp);
	cleanup_close int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return strata_error_make(err, errno, "create '%s'", file);
	char buf[65536];
	for (;;) {
		ssize_t k = read(STDIN_FILENO, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return strata_error_make(err, errno, "read the context from standard input");
		if (k == 0)
			break;
		if (strata_write_full(fd, buf, (size_t)k, file, err) < 0)
			return -1;
	}
	return archive_or_dockerfile(c, file, "from standard input", err);
}
