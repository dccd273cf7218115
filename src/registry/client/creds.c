/*
 * creds.c — docker's credential configuration: $DOCKER_CONFIG/config.json
 * (or ~/.docker/config.json) with "auths" (base64 "user:password" in
 * "auth"), "credsStore" and "credHelpers", whose programs
 * `docker-credential-NAME get|store|erase` talk JSON over stdin/stdout.
 */
#include "registry/client/internal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

#define CONFIG_MAX (4u << 20)
#define DOCKER_IO_KEY "https://index.docker.io/v1/"

extern char **environ;

void regclient_cred_release(struct regclient_cred *c)
{
	free(c->user);
	if (c->secret)
		explicit_bzero(c->secret, strlen(c->secret));
	free(c->secret);
	free(c->source);
	c->user = c->secret = c->source = NULL;
}

const char *rc_config_key(const char *host)
{
	if (!strcmp(host, "docker.io") || !strcmp(host, "index.docker.io") ||
	    !strcmp(host, "registry-1.docker.io"))
		return DOCKER_IO_KEY;
	return host;
}

char *regclient_host_from_key(const char *key)
{
	const char *p = key;
	if (!strncmp(p, "https://", 8))
		p += 8;
	else if (!strncmp(p, "http://", 7))
		p += 7;
	size_t n = strcspn(p, "/");
	char *h = xstrndup(p, n);
	if (!strcmp(h, "index.docker.io") || !strcmp(h, "registry-1.docker.io")) {
		free(h);
		h = xstrdup("docker.io");
	}
	return h;
}

char *rc_docker_config_dir(const char *dir)
{
	if (dir && *dir)
		return xstrdup(dir);
	const char *d = getenv("DOCKER_CONFIG");
	if (d && *d)
		return xstrdup(d);
	const char *h = getenv("HOME");
	return xasprintf("%s/.docker", h && *h ? h : "/root");
}

static int load_config(const char *dir, char **path_out, json_t **out, struct strata_error **err)
{
	cleanup_free char *d = rc_docker_config_dir(dir);
	char *path = xasprintf("%s/config.json", d);
	*path_out = path;
	if (!strata_path_exists(path)) {
		*out = json_object();
		return 0;
	}
	if (strata_json_load_file(path, CONFIG_MAX, out, err) < 0)
		return -1;
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "%s: not a JSON object", path);
	}
	return 0;
}

/* The helper configured for host, or NULL. */
static const char *helper_for(const json_t *cfg, const char *host)
{
	json_t *helpers = json_object_get(cfg, "credHelpers");
	const char *key;
	json_t *v;
	json_object_foreach(helpers, key, v)
	{
		cleanup_free char *kh = regclient_host_from_key(key);
		if (!strcmp(kh, host) && json_string_value(v) && *json_string_value(v))
			return json_string_value(v);
	}
	const char *store = json_string_value(json_object_get(cfg, "credsStore"));
	return store && *store ? store : NULL;
}

/*
 * Run docker-credential-NAME VERB with input on stdin; collect stdout (capped).
 * @return exit status (>= 0), or -1 when it could not run.
 */
static int run_helper(const char *name, const char *verb, const char *input, struct strata_buf *out,
		      struct strata_error **err)
{
	for (const char *p = name; *p; p++)
		if (*p == '/')
			return strata_error_makec(err, STRATA_E_CONFIG, 0, "invalid credential helper name '%s'", name);
	cleanup_free char *prog = xasprintf("docker-credential-%s", name);
	int in[2] = { -1, -1 }, o[2] = { -1, -1 };
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(o, O_CLOEXEC) < 0) {
		int e = errno;
		if (in[0] >= 0) {
			close(in[0]);
			close(in[1]);
		}
		return strata_error_make(err, e, "pipe");
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, o[1], 1);
	char *argv[] = { prog, (char *)verb, NULL };
	pid_t pid;
	int rc = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(o[1]);
	if (rc != 0) {
		close(in[1]);
		close(o[0]);
		return strata_error_makec(err, STRATA_E_CONFIG, rc, "run credential helper '%s'", prog);
	}
	/* inputs are small (< 64 KiB): write them all, then read */
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	strata_write_full(in[1], input, strlen(input), prog, NULL);
	signal(SIGPIPE, old);
	close(in[1]);
	char buf[4096];
	int ret = 0;
	for (;;) {
		ssize_t n = read(o[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (strata_buf_add(out, buf, (size_t)n) < 0)
			ret = -1;
	}
	close(o[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (ret < 0)
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "%s %s: output too large", prog, verb);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int helper_get(const char *name, const char *host, struct regclient_cred *out, struct strata_error **err)
{
	cleanup_buf struct strata_buf o;
	strata_buf_init(&o, REGCLIENT_ERRBODY_MAX);
	const char *server = rc_config_key(host);
	int st = run_helper(name, "get", server, &o, err);
	if (st < 0)
		return -1;
	if (st != 0) {
		if (strstr(o.data, "credentials not found"))
			return 0;
		strata_buf_truncate(&o, strcspn(o.data, "\n"));
		return strata_error_makec(err, STRATA_E_AUTH, 0, "docker-credential-%s get: %s", name,
					  o.len ? o.data : "failed");
	}
	cleanup_json json_t *j = NULL;
	cleanup_free char *what = xasprintf("docker-credential-%s output", name);
	if (strata_json_parse(o.data, o.len, what, &j, err) < 0)
		return -1;
	const char *u = json_string_value(json_object_get(j, "Username"));
	const char *s = json_string_value(json_object_get(j, "Secret"));
	if (!u || !s)
		return strata_error_makec(err, STRATA_E_AUTH, 0, "%s: missing Username or Secret", what);
	out->user = xstrdup(u);
	out->secret = xstrdup(s);
	explicit_bzero(o.data, o.len);
	return 1;
}

int regclient_creds_lookup(const char *dir, const char *host, struct regclient_cred *out, struct strata_error **err)
{
	cleanup_free char *path = NULL;
	cleanup_json json_t *cfg = NULL;
	if (load_config(dir, &path, &cfg, err) < 0)
		return -1;
	const char *helper = helper_for(cfg, host);
	if (helper) {
		out->source = xasprintf("credential helper docker-credential-%s, set in %s", helper, path);
		return helper_get(helper, host, out, err);
	}
	const char *env = getenv("DOCKER_CONFIG");
	out->source = xasprintf("%s%s", path, !dir && env && *env ? " ($DOCKER_CONFIG)" : "");
	json_t *auths = json_object_get(cfg, "auths");
	const char *key;
	json_t *v;
	json_object_foreach(auths, key, v)
	{
		cleanup_free char *kh = regclient_host_from_key(key);
		if (strcmp(kh, host) && !(!strcmp(host, "docker.io") && !strcmp(kh, "docker.io")))
			continue;
		const char *a = json_string_value(json_object_get(v, "auth"));
		if (a && *a) {
			char *dec = NULL;
			if (rc_unbase64(a, &dec, NULL) < 0)
				return strata_error_makec(err, STRATA_E_CONFIG, 0,
							  "%s: auths.%s.auth: invalid base64", path, key);
			char *colon = strchr(dec, ':');
			if (!colon) {
				free(dec);
				return strata_error_makec(err, STRATA_E_CONFIG, 0,
							  "%s: auths.%s.auth: expected 'user:password'", path, key);
			}
			out->user = xstrndup(dec, (size_t)(colon - dec));
			out->secret = xstrdup(colon + 1);
			explicit_bzero(dec, strlen(dec));
			free(dec);
			return 1;
		}
		const char *u = json_string_value(json_object_get(v, "username"));
		const char *p = json_string_value(json_object_get(v, "password"));
		if (u && p) {
			out->user = xstrdup(u);
			out->secret = xstrdup(p);
			return 1;
		}
	}
	return 0;
}

static int save_config(const char *path, json_t *cfg, struct strata_error **err)
{
	cleanup_free char *dir = xstrdup(path);
	*strrchr(dir, '/') = 0;
	if (strata_mkdir_p(dir, 0700, err) < 0)
		return -1;
	char *s = json_dumps(cfg, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	if (!s)
		strata_oom();
	size_t n = strlen(s);
	cleanup_free char *text = xasprintf("%s\n", s);
	free(s);
	return strata_atomic_write(path, text, n + 1, 0600, err);
}

int regclient_creds_store(const char *dir, const char *host, const char *user, const char *secret,
			  struct strata_error **err)
{
	cleanup_free char *path = NULL;
	cleanup_json json_t *cfg = NULL;
	if (load_config(dir, &path, &cfg, err) < 0)
		return -1;
	const char *key = rc_config_key(host);
	const char *helper = helper_for(cfg, host);
	json_t *auths = json_object_get(cfg, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		json_object_set_new(cfg, "auths", auths);
	}
	if (helper) {
		cleanup_json json_t *in = json_pack("{s:s,s:s,s:s}", "ServerURL", key, "Username", user,
						    "Secret", secret);
		cleanup_free char *text = strata_json_dump(in, NULL);
		cleanup_buf struct strata_buf o;
		strata_buf_init(&o, REGCLIENT_ERRBODY_MAX);
		int st = run_helper(helper, "store", text, &o, err);
		explicit_bzero(text, strlen(text));
		if (st < 0)
			return -1;
		if (st != 0) {
			strata_buf_truncate(&o, strcspn(o.data, "\n"));
			return strata_error_makec(err, STRATA_E_AUTH, 0, "docker-credential-%s store: %s", helper,
						  o.len ? o.data : "failed");
		}
		/* docker records the registry in auths with an empty entry */
		json_object_set_new(auths, key, json_object());
	} else {
		cleanup_free char *up = xasprintf("%s:%s", user, secret);
		cleanup_free char *b = rc_base64(up, strlen(up));
		explicit_bzero(up, strlen(up));
		json_t *entry = json_object_get(auths, key);
		if (!json_is_object(entry)) {
			entry = json_object();
			json_object_set_new(auths, key, entry);
		}
		json_object_del(entry, "username");
		json_object_del(entry, "password");
		json_object_set_new(entry, "auth", json_string(b));
	}
	return save_config(path, cfg, err);
}

int regclient_creds_erase(const char *dir, const char *host, struct strata_error **err)
{
	cleanup_free char *path = NULL;
	cleanup_json json_t *cfg = NULL;
	if (load_config(dir, &path, &cfg, err) < 0)
		return -1;
	int removed = 0;
	const char *helper = helper_for(cfg, host);
	if (helper) {
		cleanup_buf struct strata_buf o;
		strata_buf_init(&o, REGCLIENT_ERRBODY_MAX);
		int st = run_helper(helper, "erase", rc_config_key(host), &o, err);
		if (st < 0)
			return -1;
		if (st == 0)
			removed = 1;
		else if (!strstr(o.data, "not found")) {
			strata_buf_truncate(&o, strcspn(o.data, "\n"));
			return strata_error_makec(err, STRATA_E_AUTH, 0, "docker-credential-%s erase: %s", helper,
						  o.len ? o.data : "failed");
		}
	}
	json_t *auths = json_object_get(cfg, "auths");
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(auths, tmp, key, v)
	{
		cleanup_free char *kh = regclient_host_from_key(key);
		if (!strcmp(kh, host)) {
			json_object_del(auths, key);
			removed = 1;
		}
	}
	if (!removed)
		return 0;
	if (save_config(path, cfg, err) < 0)
		return -1;
	return 1;
}

json_t *regclient_creds_describe(const char *dir)
{
	cleanup_free char *path = NULL;
	json_t *cfg = NULL;
	struct strata_error *err = NULL;
	int rc = load_config(dir, &path, &cfg, &err);
	json_t *o = json_pack("{s:s,s:b}", "config", path, "exists", strata_path_exists(path));
	if (rc < 0) {
		cleanup_free char *m = strata_error_string(err);
		strata_error_free(err);
		json_object_set_new(o, "error", json_string(m));
		return o;
	}
	json_t *auths = json_array();
	const char *key;
	json_t *v;
	json_object_foreach(json_object_get(cfg, "auths"), key, v)
		json_array_append_new(auths, json_string(key));
	json_object_set_new(o, "auths", auths);
	const char *store = json_string_value(json_object_get(cfg, "credsStore"));
	json_object_set_new(o, "credsStore", store && *store ? json_string(store) : json_null());
	json_t *helpers = json_object();
	json_object_foreach(json_object_get(cfg, "credHelpers"), key, v)
		if (json_string_value(v))
			json_object_set_new(helpers, key, json_string(json_string_value(v)));
	json_object_set_new(o, "credHelpers", helpers);
	json_decref(cfg);
	return o;
}
