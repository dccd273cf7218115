/*
 * model.c — the merged tree validated into struct compose_project: unknown
 * keys ("services.web.build: additional property 'x' not allowed"), types,
 * required values, paths made absolute, build args resolved.
 */
#include "compose/internal.h"

#include <ctype.h>
#include <string.h>

static const char *const top_keys[] = {
	"version", "name", "include", "services", "networks", "volumes", "secrets", "configs", "models", NULL,
};

static const char *const service_keys[] = {
	"annotations", "attach", "build", "blkio_config", "cap_add", "cap_drop", "cgroup",
	"cgroup_parent", "command", "configs", "container_name", "cpu_count", "cpu_percent",
	"cpu_shares", "cpu_quota", "cpu_period", "cpu_rt_period", "cpu_rt_runtime", "cpus", "cpuset",
	"credential_spec", "depends_on", "deploy", "develop", "device_cgroup_rules", "devices", "dns",
	"dns_opt", "dns_search", "domainname", "entrypoint", "env_file", "label_file", "environment",
	"expose", "extends", "external_links", "extra_hosts", "gpus", "group_add", "healthcheck",
	"hostname", "image", "init", "ipc", "isolation", "labels", "links", "logging", "mac_address",
	"mem_limit", "mem_reservation", "mem_swappiness", "memswap_limit", "models", "network_mode",
	"networks", "oom_kill_disable", "oom_score_adj", "pid", "pids_limit", "platform", "ports",
	"post_start", "pre_stop", "privileged", "profiles", "provider", "pull_policy",
	"pull_refresh_after", "read_only", "restart", "runtime", "scale", "security_opt", "shm_size",
	"secrets", "stdin_open", "stop_grace_period", "stop_signal", "storage_opt", "sysctls", "tmpfs",
	"tty", "ulimits", "use_api_socket", "user", "uts", "userns_mode", "volumes", "volumes_from",
	"working_dir", NULL,
};

static const char *const build_keys[] = {
	"context", "dockerfile", "dockerfile_inline", "args", "ssh", "labels", "cache_from", "cache_to",
	"no_cache", "additional_contexts", "network", "provenance", "sbom", "pull", "target",
	"shm_size", "extra_hosts", "isolation", "privileged", "secrets", "tags", "ulimits", "platforms",
	"entitlements", NULL,
};
/* Build keys strata accepts but cannot honour: warned about, not dropped silently. */
static const char *const build_unsupported[] = {
	"platforms", "extra_hosts", "shm_size", "ssh", "isolation", "privileged", "ulimits",
	"entitlements", "provenance", "sbom", "additional_contexts", NULL,
};

static const char *const build_secret_keys[] = { "source", "target", "uid", "gid", "mode", NULL };
static const char *const secret_keys[] = { "file", "environment", "external", "name", "content",
					   "labels", "driver", "driver_opts", "template_driver", NULL };

static bool in_list(const char *const *l, const char *k)
{
	for (; *l; l++)
		if (!strcmp(*l, k))
			return true;
	return false;
}

static int check_keys(const struct cnode *map, const char *path, const char *const *allowed,
		      struct strata_error **err)
{
	for (size_t i = 0; i < map->npairs; i++) {
		const char *k = map->pairs[i].key;
		if (!strncmp(k, "x-", 2) || in_list(allowed, k))
			continue;
		struct cnode at = { .file = map->pairs[i].val->file, .line = map->pairs[i].line };
		return compose_node_error(err, &at, path, "additional property '%s' not allowed", k);
	}
	return 0;
}

static char *sub(const char *path, const char *key) { return xasprintf("%s.%s", path, key); }

/* A scalar as a string (numbers and bools as written). null -> *out NULL when !required. */
static int get_string(const struct cnode *n, const char *path, bool required, char **out,
		      struct strata_error **err)
{
	*out = NULL;
	if (!n || cnode_is_null(n)) {
		if (required)
			return compose_node_error(err, n, path, "a value is required");
		return 0;
	}
	if (n->type != CN_SCALAR)
		return compose_node_error(err, n, path, "expected a string, got %s", cnode_type_name(n));
	*out = xstrdup(n->value);
	return 0;
}

static int get_bool(const struct cnode *n, const char *path, bool *out, struct strata_error **err)
{
	if (!n || cnode_is_null(n))
		return 0;
	static const char *const t[] = { "1", "t", "T", "true", "TRUE", "True", "yes", "on", NULL };
	static const char *const f[] = { "0", "f", "F", "false", "FALSE", "False", "no", "off", NULL };
	if (n->type == CN_SCALAR && in_list(t, n->value))
		return *out = true, 0;
	if (n->type == CN_SCALAR && in_list(f, n->value))
		return *out = false, 0;
	return compose_node_error(err, n, path, "expected a boolean, got %s%s%s%s", cnode_type_name(n),
				  n->type == CN_SCALAR ? " '" : "", n->type == CN_SCALAR ? n->value : "",
				  n->type == CN_SCALAR ? "'" : "");
}

static int get_strlist(const struct cnode *n, const char *path, char ***out, size_t *nout,
		       struct strata_error **err)
{
	if (!n || cnode_is_null(n))
		return 0;
	if (n->type != CN_SEQ)
		return compose_node_error(err, n, path, "expected a list, got %s", cnode_type_name(n));
	char **v = xcalloc(n->nitems + 1, sizeof(*v));
	for (size_t i = 0; i < n->nitems; i++) {
		const struct cnode *it = n->items[i];
		if (it->type != CN_SCALAR || cnode_is_null(it)) {
			cleanup_free char *p = xasprintf("%s[%zu]", path, i);
			compose_strv_free(v, i);
			return compose_node_error(err, it, p, "expected a string, got %s", cnode_type_name(it));
		}
		v[i] = xstrdup(it->value);
	}
	*out = v;
	*nout = n->nitems;
	return 0;
}

static void kv_free(struct compose_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static void kv_put(struct compose_kv **kv, size_t *n, const char *key, const char *value)
{
	for (size_t i = 0; i < *n; i++) {
		if (!strcmp((*kv)[i].key, key)) {
			free((*kv)[i].value);
			(*kv)[i].value = xstrdup_or_null(value);
			return;
		}
	}
	*kv = xreallocarray(*kv, *n + 1, sizeof(**kv));
	(*kv)[(*n)++] = (struct compose_kv){ xstrdup(key), xstrdup_or_null(value) };
}

/*
 * A mapping or a list of "K=V" (sep '=', and ':' too for extra_hosts).
 * Without a value: NULL (null_ok) or "".
 */
static int get_kv(const struct cnode *n, const char *path, bool null_ok, bool hosts,
		  struct compose_kv **out, size_t *nout, struct strata_error **err)
{
	struct compose_kv *kv = NULL;
	size_t nkv = 0;
	if (!n || cnode_is_null(n))
		return 0;
	if (n->type == CN_MAP) {
		for (size_t i = 0; i < n->npairs; i++) {
			const struct cnode *v = n->pairs[i].val;
			if (v->type != CN_SCALAR) {
				cleanup_free char *p = sub(path, n->pairs[i].key);
				kv_free(kv, nkv);
				return compose_node_error(err, v, p, "expected a string, number or boolean, got %s",
							  cnode_type_name(v));
			}
			bool isnull = cnode_is_null(v);
			kv_put(&kv, &nkv, n->pairs[i].key, isnull ? (null_ok ? NULL : "") : v->value);
		}
	} else if (n->type == CN_SEQ) {
		for (size_t i = 0; i < n->nitems; i++) {
			const struct cnode *it = n->items[i];
			if (it->type != CN_SCALAR || cnode_is_null(it)) {
				cleanup_free char *p = xasprintf("%s[%zu]", path, i);
				kv_free(kv, nkv);
				return compose_node_error(err, it, p, "expected a string \"KEY=VALUE\", got %s",
							  cnode_type_name(it));
			}
			const char *eq = strchr(it->value, '=');
			if (!eq && hosts)
				eq = strchr(it->value, ':');
			cleanup_free char *k = eq ? xstrndup(it->value, (size_t)(eq - it->value)) : xstrdup(it->value);
			if (!*k) {
				cleanup_free char *p = xasprintf("%s[%zu]", path, i);
				kv_free(kv, nkv);
				return compose_node_error(err, it, p, "empty key in '%s'", it->value);
			}
			kv_put(&kv, &nkv, k, eq ? eq + 1 : (null_ok ? NULL : ""));
		}
	} else {
		return compose_node_error(err, n, path, "expected a mapping or a list, got %s", cnode_type_name(n));
	}
	*out = kv;
	*nout = nkv;
	return 0;
}

static bool is_url(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8) || !strncmp(s, "git://", 6) ||
	       !strncmp(s, "git@", 4) || !strncmp(s, "ssh://", 6) || !strncmp(s, "github.com/", 11);
}

/* Lexical clean of an absolute path: "//", "/./", "/x/../" removed. */
static char *clean_path(const char *p)
{
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	const char *s = p;
	while (*s) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		const char *e = strchrnul(s, '/');
		size_t l = (size_t)(e - s);
		if (l == 1 && s[0] == '.') {
		} else if (l == 2 && s[0] == '.' && s[1] == '.') {
			char *slash = strrchr(b.data, '/');
			strata_buf_truncate(&b, slash ? (size_t)(slash - b.data) : 0);
		} else {
			strata_buf_addch(&b, '/');
			strata_buf_add(&b, s, l);
		}
		s = e;
	}
	if (!b.len)
		return xstrdup("/");
	return strata_buf_detach(&b, NULL);
}

static char *resolve_path(const char *base, const char *p)
{
	if (p[0] == '/')
		return clean_path(p);
	if (p[0] == '~' && (p[1] == '/' || !p[1]))
		return NULL; /* caller resolves with HOME */
	cleanup_free char *j = xasprintf("%s/%s", base, p);
	return clean_path(j);
}

static char *resolve_user_path(const struct compose_project *p, const char *path)
{
	char *r = resolve_path(p->workdir, path);
	if (r)
		return r;
	const char *home = compose_env_get(&p->env, "HOME");
	cleanup_free char *j = xasprintf("%s%s", home ? home : "", path + 1);
	return clean_path(j);
}

static void build_free(struct compose_build *b)
{
	if (!b)
		return;
	free(b->context);
	free(b->dockerfile);
	free(b->dockerfile_inline);
	kv_free(b->args, b->nargs);
	free(b->target);
	compose_strv_free(b->cache_from, b->ncache_from);
	compose_strv_free(b->cache_to, b->ncache_to);
	kv_free(b->labels, b->nlabels);
	compose_strv_free(b->tags, b->ntags);
	free(b->network);
	for (size_t i = 0; i < b->nsecrets; i++) {
		free(b->secrets[i].id);
		free(b->secrets[i].source);
		free(b->secrets[i].file);
		free(b->secrets[i].env);
		free(b->secrets[i].value);
	}
	free(b->secrets);
	kv_free(b->additional_contexts, b->nadditional_contexts);
	compose_strv_free(b->platforms, b->nplatforms);
	compose_strv_free(b->extra_hosts, b->nextra_hosts);
	free(b->shm_size);
	compose_strv_free(b->ssh, b->nssh);
	free(b);
}

static const struct compose_secret *find_secret(const struct compose_project *p, const char *name)
{
	for (size_t i = 0; i < p->nsecrets; i++)
		if (!strcmp(p->secrets[i].name, name))
			return &p->secrets[i];
	return NULL;
}

static int build_secrets(struct compose_project *p, struct compose_build *b, const struct cnode *n,
			 const char *path, struct strata_error **err)
{
	if (!n || cnode_is_null(n))
		return 0;
	if (n->type != CN_SEQ)
		return compose_node_error(err, n, path, "expected a list, got %s", cnode_type_name(n));
	b->secrets = xcalloc(n->nitems + 1, sizeof(*b->secrets));
	for (size_t i = 0; i < n->nitems; i++) {
		const struct cnode *it = n->items[i];
		cleanup_free char *ip = xasprintf("%s[%zu]", path, i);
		cleanup_free char *source = NULL, *target = NULL;
		if (it->type == CN_SCALAR && !cnode_is_null(it)) {
			source = xstrdup(it->value);
		} else if (it->type == CN_MAP) {
			if (check_keys(it, ip, build_secret_keys, err) < 0)
				return -1;
			cleanup_free char *sp = sub(ip, "source"), *tp = sub(ip, "target");
			if (!cnode_get(it, "source"))
				return compose_node_error(err, it, ip, "missing property 'source'");
			if (get_string(cnode_get(it, "source"), sp, true, &source, err) < 0 ||
			    get_string(cnode_get(it, "target"), tp, false, &target, err) < 0)
				return -1;
		} else {
			return compose_node_error(err, it, ip, "expected a string or a mapping, got %s",
						  cnode_type_name(it));
		}
		const struct compose_secret *s = find_secret(p, source);
		if (!s)
			return compose_node_error(err, it, ip, "secret '%s' is not defined in the top-level secrets",
						  source);
		if (!s->file && !s->environment)
			return compose_node_error(err, it, ip,
						  "secret '%s': only file and environment secrets can be used in builds",
						  source);
		struct compose_build_secret *bs = &b->secrets[b->nsecrets++];
		bs->id = xstrdup(target ? target : source);
		bs->source = STRATA_STEAL(source);
		bs->file = xstrdup_or_null(s->file);
		bs->env = xstrdup_or_null(s->environment);
		if (s->environment)
			bs->value = xstrdup_or_null(compose_env_get(&p->env, s->environment));
	}
	return 0;
}

static int build_model(struct compose_project *p, const struct cnode *n, const char *path,
		       struct compose_build **out, struct strata_error **err)
{
	if (n->type != CN_MAP)
		return compose_node_error(err, n, path, "expected a string or a mapping, got %s",
					  cnode_type_name(n));
	if (check_keys(n, path, build_keys, err) < 0)
		return -1;
	struct compose_build *b = xcalloc(1, sizeof(*b));
	int rc = -1;
	for (size_t i = 0; i < n->npairs; i++) {
		if (!in_list(build_unsupported, n->pairs[i].key) || cnode_is_null(n->pairs[i].val))
			continue;
		compose_project_warn(p, "%s:%d: %s.%s: not supported by strata, ignored", n->pairs[i].val->file,
				     n->pairs[i].line, path, n->pairs[i].key);
	}
#define P(k) cleanup_free char *p_##k = sub(path, #k)
	P(context);
	P(dockerfile);
	P(dockerfile_inline);
	P(args);
	P(target);
	P(cache_from);
	P(cache_to);
	P(labels);
	P(tags);
	P(network);
	P(secrets);
	P(no_cache);
	P(pull);
	P(platforms);
	P(extra_hosts);
	P(shm_size);
	P(ssh);
	P(additional_contexts);
#undef P
	cleanup_free char *context = NULL, *dockerfile = NULL;
	if (get_string(cnode_get(n, "context"), p_context, false, &context, err) < 0 ||
	    get_string(cnode_get(n, "dockerfile"), p_dockerfile, false, &dockerfile, err) < 0 ||
	    get_string(cnode_get(n, "dockerfile_inline"), p_dockerfile_inline, false, &b->dockerfile_inline, err) < 0 ||
	    get_kv(cnode_get(n, "args"), p_args, true, false, &b->args, &b->nargs, err) < 0 ||
	    get_string(cnode_get(n, "target"), p_target, false, &b->target, err) < 0 ||
	    get_strlist(cnode_get(n, "cache_from"), p_cache_from, &b->cache_from, &b->ncache_from, err) < 0 ||
	    get_strlist(cnode_get(n, "cache_to"), p_cache_to, &b->cache_to, &b->ncache_to, err) < 0 ||
	    get_kv(cnode_get(n, "labels"), p_labels, false, false, &b->labels, &b->nlabels, err) < 0 ||
	    get_strlist(cnode_get(n, "tags"), p_tags, &b->tags, &b->ntags, err) < 0 ||
	    get_string(cnode_get(n, "network"), p_network, false, &b->network, err) < 0 ||
	    get_bool(cnode_get(n, "no_cache"), p_no_cache, &b->no_cache, err) < 0 ||
	    get_bool(cnode_get(n, "pull"), p_pull, &b->pull, err) < 0 ||
	    get_strlist(cnode_get(n, "platforms"), p_platforms, &b->platforms, &b->nplatforms, err) < 0 ||
	    get_string(cnode_get(n, "shm_size"), p_shm_size, false, &b->shm_size, err) < 0 ||
	    get_kv(cnode_get(n, "additional_contexts"), p_additional_contexts, false, false,
		   &b->additional_contexts, &b->nadditional_contexts, err) < 0 ||
	    build_secrets(p, b, cnode_get(n, "secrets"), p_secrets, err) < 0)
		goto out;
	{
		struct compose_kv *hosts = NULL;
		size_t nhosts = 0;
		if (get_kv(cnode_get(n, "extra_hosts"), p_extra_hosts, false, true, &hosts, &nhosts, err) < 0)
			goto out;
		b->extra_hosts = xcalloc(nhosts + 1, sizeof(char *));
		for (size_t i = 0; i < nhosts; i++)
			b->extra_hosts[b->nextra_hosts++] = xasprintf("%s=%s", hosts[i].key, hosts[i].value);
		kv_free(hosts, nhosts);
		struct compose_kv *ssh = NULL;
		size_t nssh = 0;
		if (get_kv(cnode_get(n, "ssh"), p_ssh, true, false, &ssh, &nssh, err) < 0)
			goto out;
		b->ssh = xcalloc(nssh + 1, sizeof(char *));
		for (size_t i = 0; i < nssh; i++)
			b->ssh[b->nssh++] = ssh[i].value ? xasprintf("%s=%s", ssh[i].key, ssh[i].value)
							 : xstrdup(ssh[i].key);
		kv_free(ssh, nssh);
	}
	if (dockerfile && b->dockerfile_inline) {
		compose_node_error(err, cnode_get(n, "dockerfile_inline"), path,
				   "dockerfile and dockerfile_inline are mutually exclusive");
		goto out;
	}
	/* build args without a value come from the environment */
	for (size_t i = 0; i < b->nargs; i++)
		if (!b->args[i].value)
			b->args[i].value = xstrdup_or_null(compose_env_get(&p->env, b->args[i].key));
	if (!context)
		context = xstrdup(".");
	if (is_url(context)) {
		b->context = STRATA_STEAL(context);
		b->context_is_url = true;
		compose_project_warn(p, "%s: a remote context ('%s') is not supported by strata", p_context,
				     b->context);
	} else {
		b->context = resolve_user_path(p, context);
	}
	if (!b->dockerfile_inline) {
		const char *df = dockerfile ? dockerfile : "Dockerfile";
		b->dockerfile = b->context_is_url || df[0] == '/' ? clean_path(df) : resolve_path(b->context, df);
		if (b->context_is_url && df[0] != '/') {
			free(b->dockerfile);
			b->dockerfile = xstrdup(df);
		}
	}
	*out = b;
	b = NULL;
	rc = 0;
out:
	build_free(b);
	return rc;
}

static bool valid_name(const char *s)
{
	if (!(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_' || *s == '-'))
			return false;
	return true;
}

static bool valid_service_name(const char *s)
{
	if (!isalnum((unsigned char)s[0]))
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

static void service_release(struct compose_service *s)
{
	free(s->name);
	free(s->image);
	build_free(s->build);
	compose_strv_free(s->profiles, s->nprofiles);
	compose_strv_free(s->depends_on, s->ndepends_on);
	if (s->extra)
		json_decref(s->extra);
}

static int service_model(struct compose_project *p, const char *name, int line, const struct cnode *n,
			 struct compose_service *s, struct strata_error **err)
{
	cleanup_free char *path = xasprintf("services.%s", name);
	s->name = xstrdup(name);
	s->file = n->file;
	s->line = line;
	if (!valid_service_name(name)) {
		struct cnode at = { .file = n->file, .line = line };
		return compose_node_error(err, &at, "services",
					  "invalid service name '%s': use letters, digits, '_', '-' and '.'",
					  name);
	}
	if (n->type != CN_MAP)
		return compose_node_error(err, n, path, "expected a mapping, got %s", cnode_type_name(n));
	if (check_keys(n, path, service_keys, err) < 0)
		return -1;
	if (cnode_get(n, "extends")) {
		cleanup_free char *ep = sub(path, "extends");
		return compose_node_error(err, cnode_get(n, "extends"), ep, "not supported by strata");
	}
	cleanup_free char *ip = sub(path, "image"), *bp = sub(path, "build"), *pp = sub(path, "profiles"),
			  *dp = sub(path, "depends_on");
	if (get_string(cnode_get(n, "image"), ip, false, &s->image, err) < 0 ||
	    get_strlist(cnode_get(n, "profiles"), pp, &s->profiles, &s->nprofiles, err) < 0)
		return -1;
	if (s->image && !*s->image)
		return compose_node_error(err, cnode_get(n, "image"), ip, "must not be empty");
	const struct cnode *dep = cnode_get(n, "depends_on");
	if (dep && dep->type == CN_MAP) {
		s->depends_on = xcalloc(dep->npairs + 1, sizeof(char *));
		for (size_t i = 0; i < dep->npairs; i++)
			s->depends_on[s->ndepends_on++] = xstrdup(dep->pairs[i].key);
	} else if (get_strlist(dep, dp, &s->depends_on, &s->ndepends_on, err) < 0) {
		return -1;
	}
	const struct cnode *b = cnode_get(n, "build");
	if (b && !cnode_is_null(b) && build_model(p, b, bp, &s->build, err) < 0)
		return -1;
	if (!s->image && !s->build)
		return compose_node_error(err, n, path, "service has neither an image nor a build context specified");
	s->extra = cnode_to_json(n);
	json_object_del(s->extra, "image");
	json_object_del(s->extra, "build");
	/* key/value lists printed as mappings, as compose does */
	static const char *const kv_keys[] = { "environment", "labels", "annotations", "sysctls", NULL };
	for (const char *const *k = kv_keys; *k; k++) {
		const struct cnode *v = cnode_get(n, *k);
		if (!v || v->type != CN_SEQ)
			continue;
		struct cnode *m = compose_tree_kv_map(cnode_clone(v), false);
		if (m->type == CN_MAP && !strcmp(*k, "environment")) {
			for (size_t i = 0; i < m->npairs; i++) {
				const char *val = compose_env_get(&p->env, m->pairs[i].key);
				if (cnode_is_null(m->pairs[i].val) && val) {
					cnode_free(m->pairs[i].val);
					m->pairs[i].val = cnode_scalar(val, m->file, m->line);
				}
			}
		}
		json_object_set_new(s->extra, *k, cnode_to_json(m));
		cnode_free(m);
	}
	return 0;
}

static int cmp_service(const void *a, const void *b)
{
	return strcmp(((const struct compose_service *)a)->name, ((const struct compose_service *)b)->name);
}
static int cmp_secret(const void *a, const void *b)
{
	return strcmp(((const struct compose_secret *)a)->name, ((const struct compose_secret *)b)->name);
}

static int secrets_model(struct compose_project *p, const struct cnode *n, struct strata_error **err)
{
	if (!n || cnode_is_null(n))
		return 0;
	if (n->type != CN_MAP)
		return compose_node_error(err, n, "secrets", "expected a mapping, got %s", cnode_type_name(n));
	p->secrets = xcalloc(n->npairs + 1, sizeof(*p->secrets));
	for (size_t i = 0; i < n->npairs; i++) {
		const struct cnode *v = n->pairs[i].val;
		cleanup_free char *path = xasprintf("secrets.%s", n->pairs[i].key);
		struct compose_secret *s = &p->secrets[p->nsecrets++];
		s->name = xstrdup(n->pairs[i].key);
		if (v->type != CN_MAP)
			return compose_node_error(err, v, path, "expected a mapping, got %s", cnode_type_name(v));
		if (check_keys(v, path, secret_keys, err) < 0)
			return -1;
		cleanup_free char *file = NULL, *fp = sub(path, "file"), *ep = sub(path, "environment");
		if (get_string(cnode_get(v, "file"), fp, false, &file, err) < 0 ||
		    get_string(cnode_get(v, "environment"), ep, false, &s->environment, err) < 0)
			return -1;
		if (file)
			s->file = resolve_user_path(p, file);
		s->extra = cnode_to_json(v);
		if (s->file)
			json_object_set_new(s->extra, "file", json_string(s->file));
	}
	qsort(p->secrets, p->nsecrets, sizeof(*p->secrets), cmp_secret);
	return 0;
}

int compose_model_build(struct compose_project *p, struct cnode *root, struct strata_error **err)
{
	if (!root || cnode_is_null(root))
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "%s: empty compose file", p->files[0]);
	if (root->type != CN_MAP)
		return compose_node_error(err, root, "", "top-level object must be a mapping");
	if (check_keys(root, "(root)", top_keys, err) < 0)
		return -1;
	if (cnode_get(root, "include"))
		return compose_node_error(err, cnode_get(root, "include"), "include", "not supported by strata");
	if (cnode_get(root, "version"))
		compose_project_warn(p, "%s:%d: the attribute 'version' is obsolete, it will be ignored",
				     cnode_get(root, "version")->file, cnode_pair(root, "version")->line);
	if (secrets_model(p, cnode_get(root, "secrets"), err) < 0)
		return -1;
	const struct cnode *svcs = cnode_get(root, "services");
	if (svcs && !cnode_is_null(svcs)) {
		if (svcs->type != CN_MAP)
			return compose_node_error(err, svcs, "services", "expected a mapping, got %s",
						  cnode_type_name(svcs));
		p->services = xcalloc(svcs->npairs + 1, sizeof(*p->services));
		for (size_t i = 0; i < svcs->npairs; i++) {
			struct compose_service *s = &p->services[p->nservices++];
			if (service_model(p, svcs->pairs[i].key, svcs->pairs[i].line, svcs->pairs[i].val, s,
					  err) < 0)
				return -1;
		}
		qsort(p->services, p->nservices, sizeof(*p->services), cmp_service);
	}
	p->extra = json_object();
	for (size_t i = 0; i < root->npairs; i++) {
		const char *k = root->pairs[i].key;
		if (!strcmp(k, "networks") || !strcmp(k, "volumes") || !strcmp(k, "configs") ||
		    !strcmp(k, "models") || !strncmp(k, "x-", 2))
			json_object_set_new(p->extra, k, cnode_to_json(root->pairs[i].val));
	}
	return 0;
}

void compose_model_free_services(struct compose_project *p)
{
	for (size_t i = 0; i < p->nservices; i++)
		service_release(&p->services[i]);
	free(p->services);
	for (size_t i = 0; i < p->nsecrets; i++) {
		free(p->secrets[i].name);
		free(p->secrets[i].file);
		free(p->secrets[i].environment);
		if (p->secrets[i].extra)
			json_decref(p->secrets[i].extra);
	}
	free(p->secrets);
	if (p->extra)
		json_decref(p->extra);
}

bool compose_project_name_valid(const char *s) { return valid_name(s); }
