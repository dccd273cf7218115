/*
 * step_run.c — RUN: its cache inputs and its execution through the executor
 * over an overlay of the stage's snapshots.
 */
#include "build/sandbox.h"
#include "build/build_internal.h"

#include <string.h>
#include <sys/stat.h>

static const char *mount_type_name(enum dockerfile_mount_type t)
{
	static const char *const n[] = { "bind", "cache", "tmpfs", "secret", "ssh" };
	return n[t];
}

/* RUN's environment: env, then the ARGs with a value whose name env lacks */
static char **run_env(const struct dockerfile_step *st)
{
	char **v = xcalloc(st->nenv + st->nargs + 1, sizeof(char *));
	size_t n = 0;
	for (size_t i = 0; i < st->nenv; i++)
		v[n++] = xasprintf("%s=%s", st->env[i].name, st->env[i].value ? st->env[i].value : "");
	for (size_t i = 0; i < st->nargs; i++) {
		if (!st->args[i].value)
			continue;
		bool dup = false;
		for (size_t j = 0; j < st->nenv && !dup; j++)
			dup = !strcmp(st->env[j].name, st->args[i].name);
		if (!dup)
			v[n++] = xasprintf("%s=%s", st->args[i].name, st->args[i].value);
	}
	return v;
}

/*
 * The cache mounts of a RUN that is about to run, to the cache_mount hook:
 * the remote cache imports what a cache source holds for them (only now,
 * so a RUN that hits never fetches a mount) and exports them afterwards.
 */
static void tell_cache_mounts(struct engine *e, const struct dockerfile_step *st, int vertex, bool runs)
{
	const struct build_hooks *h = e->o->hooks;
	if (!h || !h->cache_mount)
		return;
	for (size_t i = 0; i < st->nmounts; i++) {
		const struct dockerfile_mount *m = &st->mounts[i];
		if (m->type != DF_MOUNT_CACHE || !m->target)
			continue;
		cleanup_free char *dir = exec_cache_mount_dir(e->cache_root, m->id, m->target);
		struct build_cache_mount bm = {
			.id = m->id && *m->id ? m->id : m->target,
			.target = m->target,
			.sharing = m->sharing == DF_SHARING_PRIVATE  ? "private"
				   : m->sharing == DF_SHARING_LOCKED ? "locked"
								     : "shared",
			.uid = (long)m->uid,
			.gid = (long)m->gid,
			.mode = m->mode_set ? (int)m->mode : -1,
			.dir = dir,
			.runs = runs,
		};
		char *line = NULL;
		h->cache_mount(h->ctx, &bm, &line);
		if (line) {
			progress_output(&e->pr, vertex, 2, line, strlen(line));
			free(line);
		}
	}
}

void step_run_note_mounts(struct engine *e, const struct dockerfile_step *st, int vertex)
{
	tell_cache_mounts(e, st, vertex, false);
}

/*
 * The whiteouts hiding what .dockerignore excludes from the context's
 * directory rel ("" = the root), for a bind mount of it (BuildKit mounts the
 * filtered context): *hide is NULL when nothing below rel is excluded.
 * An excluded source itself is an error, as a COPY of it would be.
 */
static int context_hide_dir(struct engine *e, const char *rel, const char *shown, char **hide,
			    struct strata_error **err)
{
	*hide = NULL;
	pthread_mutex_lock(&e->lock);
	int r = 0;
	if (!e->ctx_mask_done) {
		cleanup_free char *dir = xasprintf("%s/context-mask", e->tmp);
		r = build_context_mask(e->ctx, dir, err);
		if (r > 0)
			e->ctx_mask = xstrdup(dir);
		e->ctx_mask_done = r >= 0;
	}
	pthread_mutex_unlock(&e->lock);
	if (r < 0)
		return strata_error_wrap(err, "hide the files .dockerignore excludes");
	if (*rel && build_context_find(e->ctx, rel) < 0 && !build_context_has_below(e->ctx, rel))
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "source '%s' is excluded by .dockerignore", shown);
	if (!e->ctx_mask)
		return 0;
	char *h = *rel ? xasprintf("%s/%s", e->ctx_mask, rel) : xstrdup(e->ctx_mask);
	struct stat st;
	if (lstat(h, &st) == 0 && S_ISDIR(st.st_mode))
		*hide = h;
	else
		free(h);
	return 0;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static const char *cfg_str(struct stage_state *s, const char *k)
{
	return json_string_value(json_object_get(json_object_get(s->image, "config"), k));
}

/* the base image's Shell, when the stage did not set SHELL itself */
static json_t *base_shell(struct stage_state *s, const struct dockerfile_step *st)
{
	if (s->shell_set || st->cmd.exec_form)
		return NULL;
	json_t *sh = json_object_get(json_object_get(s->image, "config"), "Shell");
	return json_array_size(sh) ? sh : NULL;
}

/* a relative path inside a tree, or NULL when it leaves it */
static char *inside(const char *root, const char *rel)
{
	struct strata_buf b = STRATA_BUF_INIT;
	strata_buf_adds(&b, root);
	cleanup_free char *copy = xstrdup(rel ? rel : "");
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			strata_buf_release(&b);
			return NULL;
		}
		strata_buf_addf(&b, "/%s", c);
	}
	return strata_buf_detach(&b, NULL);
}

int step_run_inputs(struct engine *e, struct stage_state *s, const struct dockerfile_step *st, json_t *inputs,
		    struct strata_error **err)
{
	json_t *insn = json_pack("{s:s}", "kind", "RUN");
	json_t *cmd = json_object();
	json_object_set_new(cmd, "exec", json_boolean(st->cmd.exec_form));
	if (st->cmd.exec_form) {
		json_t *a = json_array();
		for (size_t i = 0; i < st->cmd.argc; i++)
			json_array_append_new(a, strata_json_exact(st->cmd.argv[i]));
		json_object_set_new(cmd, "argv", a);
	} else {
		json_t *a = json_array();
		for (size_t i = 0; i < st->cmd.shell_argc; i++)
			json_array_append_new(a, strata_json_exact(st->cmd.shell_argv[i]));
		json_object_set_new(cmd, "shell", a);
		json_object_set_new(cmd, "cmdline", strata_json_exact(st->cmd.shell));
	}
	json_object_set_new(insn, "cmd", cmd);
	if (st->nheredocs) {
		json_t *h = json_array();
		for (size_t i = 0; i < st->nheredocs; i++)
			json_array_append_new(h, json_pack("{s:o,s:o}", "name", strata_json_exact(st->heredocs[i].name),
							   "content", strata_json_exact(st->heredocs[i].content)));
		json_object_set_new(insn, "heredocs", h);
	}
	if (st->network)
		json_object_set_new(insn, "network", strata_json_exact(st->network));
	if (st->security && !strcmp(st->security, "insecure"))
		json_object_set_new(insn, "security", json_string("insecure"));
	json_t *mounts = json_array();
	for (size_t i = 0; i < st->nmounts; i++) {
		const struct dockerfile_mount *m = &st->mounts[i];
		json_t *jm = json_pack("{s:s,s:o,s:o,s:o,s:o,s:i,s:I,s:I,s:b,s:b,s:I}", "type",
				       mount_type_name(m->type), "target", strata_json_exact(m->target), "source",
				       strata_json_exact(m->source), "from", strata_json_exact(m->from), "id",
				       strata_json_exact(m->id), "sharing", (int)m->sharing, "uid", (json_int_t)m->uid, "gid",
				       (json_int_t)m->gid, "ro", m->readonly, "required", m->required, "mode",
				       (json_int_t)(m->mode_set ? m->mode : 0));
		/* what a bind mount shows decides the result: its content goes in the key */
		if (m->type == DF_MOUNT_BIND) {
			if (m->from_stage >= 0) {
				json_object_set_new(jm, "stage_key", strata_json_exact(e->st[m->from_stage].key.str));
			} else if (m->from && !engine_named_dir(e, m->from)) {
				/* an image (local store, else pulled lazily: manifest and
				 * config only until the step runs): its config digest */
				struct build_image *img = engine_find_image(e, m->from, err);
				if (!img) {
					json_decref(jm);
					json_decref(mounts);
					json_decref(insn);
					return strata_error_wrap(err, "%s:%d: RUN --mount from=%s", e->dfname, st->line,
								 m->from);
				}
				json_object_set_new(jm, "image", strata_json_exact(img->id.str));
			} else {
				struct dockerfile_step fake;
				memset(&fake, 0, sizeof(fake));
				char *srcs[] = { m->source && *m->source ? m->source : (char *)".", NULL };
				fake.kind = DF_COPY;
				fake.copy.sources = srcs;
				fake.copy.nsources = 1;
				fake.copy.dest = (char *)"/";
				fake.copy.from_stage = -1;
				struct build_copy_plan *p = NULL;
				char hex[65];
				struct build_context *src = e->ctx;
				if (m->from) { /* --build-context NAME=DIR: that directory's content */
					if (build_context_open(engine_named_dir(e, m->from), NULL, NULL, &src, err) < 0) {
						json_decref(jm);
						json_decref(mounts);
						json_decref(insn);
						return strata_error_wrap(err, "%s:%d: RUN --mount from=%s", e->dfname,
									 st->line, m->from);
					}
					engine_keep_tree(e, src);
				}
				if (build_copy_resolve(src, &fake, "/", false, &p, err) < 0 ||
				    build_copy_digest(src, p, hex, NULL, err) < 0) {
					build_copy_plan_free(p);
					json_decref(jm);
					json_decref(mounts);
					json_decref(insn);
					return strata_error_wrap(err, "%s:%d: RUN --mount source", e->dfname, st->line);
				}
				build_copy_plan_free(p);
				json_object_set_new(jm, "content", strata_json_exact(hex));
			}
		}
		json_array_append_new(mounts, jm);
	}
	json_object_set_new(inputs, "insn", insn);
	if (json_array_size(mounts))
		json_object_set_new(inputs, "mounts", mounts);
	else
		json_decref(mounts);
	/* the ENV part of RUN's environment: the ARGs in it are keyed as digests
	 * ("build_args"), and the proxy args not at all, as docker does */
	json_t *je = json_array();
	for (size_t i = 0; i < st->nenv; i++) {
		cleanup_free char *kv = xasprintf("%s=%s", st->env[i].name, st->env[i].value ? st->env[i].value : "");
		json_array_append_new(je, strata_json_exact(kv));
	}
	json_object_set_new(inputs, "env", je);
	const char *wd = cfg_str(s, "WorkingDir"), *user = cfg_str(s, "User");
	json_t *cfg = json_object();
	json_object_set_new(cfg, "workdir", strata_json_exact(wd && *wd ? wd : "/"));
	json_object_set_new(cfg, "user", strata_json_exact(user ? user : ""));
	json_object_set_new(cfg, "network",
			    strata_json_exact(st->network ? st->network : e->o->network == EXEC_NET_NONE ? "none" : "default"));
	json_t *bsh = base_shell(s, st);
	if (bsh)
		json_object_set(cfg, "shell", bsh);
	json_object_set_new(inputs, "config", cfg);
	return 0;
}

struct out_ctx {
	struct engine *e;
	int vertex;
};

static void on_output(void *ctx, int stream, const char *line, size_t len)
{
	struct out_ctx *oc = ctx;
	progress_output(&oc->e->pr, oc->vertex, stream, line, len);
}

/*
 * Is the command nothing but one heredoc (`RUN <<EOF`, `RUN 3<< 'EOF'`)?
 * BuildKit (MustParseHeredoc of the whole command) then runs the body itself
 * as the script, or, when it starts with "#!", as an executable file.
 */
static bool heredoc_only(const struct dockerfile_step *st)
{
	if (st->nheredocs != 1 || !st->cmd.shell)
		return false;
	const char *p = st->cmd.shell;
	while (*p == ' ' || *p == '\t')
		p++;
	while (*p >= '0' && *p <= '9')
		p++;
	if (strncmp(p, "<<", 2))
		return false;
	p += 2;
	if (*p == '-')
		p++;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return false;
	for (; *p; p++)
		if (*p == ' ' || *p == '\t' || *p == '<')
			return false;
	return true;
}

/* The file a shebang heredoc runs as (BuildKit mounts it at /dev/pipes/NAME). */
static char *shebang_target(const char *name)
{
	cleanup_free char *safe = xstrdup(name);
	for (char *c = safe; *c; c++)
		if (*c == '/')
			*c = '_';
	return xasprintf("/dev/pipes/%s", safe);
}

int step_run_exec(struct engine *e, struct stage_state *s, const struct dockerfile_step *st, int vertex,
		  const char *upper, const char *work, struct strata_error **err)
{
	strata_error_ensure(err);
	/* a foreign platform's RUN runs through qemu-user-static (platform.c) */
	struct dockerfile_platform plat;
	bool emulated = false;
	engine_stage_platform(e, (size_t)(s - e->st), &plat);
	if (build_platform_ensure(&plat, &emulated, err) < 0)
		return strata_error_wrap(err, "%s:%d: %s", e->dfname, st->line, st->original);
	if (emulated)
		progress_line(&e->pr, vertex, "emulated: linux/%s%s%s through qemu-%s-static", plat.arch,
			      plat.variant[0] ? "/" : "", plat.variant, build_platform_qemu_name(plat.arch));
	/* layers known only from a registry are fetched now that a step runs on them */
	if (engine_snapshots_fetch(e, &s->layers, err) < 0)
		return strata_error_wrap(err, "%s:%d: %s", e->dfname, st->line, st->original);
	struct exec_spec spec;
	exec_spec_init(&spec);
	size_t nl = s->layers.n;
	char **chain = xcalloc(nl + 1, sizeof(char *));
	for (size_t i = 0; i < nl; i++)
		chain[i] = engine_snapshot_path(e, build_layer_snapshot_id(&s->layers.v[i]));
	char **lowers = snapshot_lowers((const char *const *)chain, nl, &nl);
	for (size_t i = 0; chain[i]; i++)
		free(chain[i]);
	free(chain);
	char **env = run_env(st);
	const char **argv = NULL;
	cleanup_free char *script = NULL;
	const char **shell = NULL;
	struct exec_mount *mounts = xcalloc(st->nmounts + 2, sizeof(*mounts));
	char **owned = xcalloc(st->nmounts + 1, sizeof(char *));
	size_t nmounts = st->nmounts;
	char *ssh_env = NULL;
	cleanup_free char *shebang_file = NULL, *shebang_path = NULL;
	char **hides = xcalloc(st->nmounts + 1, sizeof(char *));
	int rc = 0;

	if (st->cmd.exec_form) {
		argv = xcalloc(st->cmd.argc + 1, sizeof(char *));
		for (size_t i = 0; i < st->cmd.argc; i++)
			argv[i] = st->cmd.argv[i];
		spec.argv = argv;
	} else {
		json_t *bsh = base_shell(s, st);
		if (bsh) {
			shell = xcalloc(json_array_size(bsh) + 1, sizeof(char *));
			for (size_t i = 0; i < json_array_size(bsh); i++)
				shell[i] = json_string_value(json_array_get(bsh, i));
		} else {
			shell = xcalloc(st->cmd.shell_argc + 1, sizeof(char *));
			for (size_t i = 0; i < st->cmd.shell_argc; i++)
				shell[i] = st->cmd.shell_argv[i];
		}
		spec.shell = shell;
		if (heredoc_only(st) && !strncmp(st->heredocs[0].content, "#!", 2)) {
			/* a script with its own interpreter: a read-only executable file, run by path */
			shebang_file = xasprintf("%s/heredoc-XXXXXX", e->run_dir);
			int fd = mkstemp(shebang_file);
			const char *body = st->heredocs[0].content;
			if (fd < 0) {
				rc = strata_error_make(err, errno, "create '%s'", shebang_file);
				free(shebang_file);
				shebang_file = NULL;
				goto out;
			}
			rc = strata_write_full(fd, body, strlen(body), shebang_file, err);
			if (rc == 0 && fchmod(fd, 0755) < 0)
				rc = strata_error_make(err, errno, "chmod '%s'", shebang_file);
			close(fd);
			if (rc < 0)
				goto out;
			shebang_path = shebang_target(st->heredocs[0].name);
			struct exec_mount *x = &mounts[nmounts++];
			exec_mount_init(x, EXEC_MOUNT_BIND);
			x->target = shebang_path;
			x->host_source = shebang_file;
			x->readonly = true;
			script = xstrdup(shebang_path);
		} else if (heredoc_only(st)) {
			script = xstrdup(st->heredocs[0].content);
		} else {
			struct strata_buf b = STRATA_BUF_INIT;
			strata_buf_adds(&b, st->cmd.shell);
			for (size_t i = 0; i < st->nheredocs; i++)
				strata_buf_addf(&b, "\n%s%s", st->heredocs[i].content, st->heredocs[i].name);
			script = strata_buf_detach(&b, NULL);
		}
		spec.cmdline = script;
	}
	size_t nssh = 0;
	for (size_t i = 0; i < st->nmounts; i++) {
		const struct dockerfile_mount *m = &st->mounts[i];
		struct exec_mount *x = &mounts[i];
		static const enum exec_mount_type types[] = { EXEC_MOUNT_BIND, EXEC_MOUNT_CACHE, EXEC_MOUNT_TMPFS,
							      EXEC_MOUNT_SECRET, EXEC_MOUNT_SSH };
		if (m->type == DF_MOUNT_SSH) {
			/* the agent socket given with --ssh ID=SOCKET, bound at the target (BuildKit's
			 * /run/buildkit/ssh_agent.N), and SSH_AUTH_SOCK naming the first one */
			const char *id = m->id && *m->id ? m->id : "default";
			const char *sock = NULL;
			for (size_t k = 0; k < e->o->nssh; k++)
				if (!strcmp(e->o->ssh[k].id, id))
					sock = e->o->ssh[k].path;
			exec_mount_init(x, sock ? EXEC_MOUNT_BIND : EXEC_MOUNT_TMPFS);
			if (!sock && m->required) {
				rc = strata_error_makec(err, STRATA_E_CONFIG, 0,
							"%s:%d: RUN --mount=type=ssh,id=%s: no --ssh %s given", e->dfname,
							st->line, id, id);
				goto out;
			}
			owned[i] = m->target ? xstrdup(m->target) : xasprintf("/run/buildkit/ssh_agent.%zu", nssh);
			x->target = owned[i];
			x->host_source = sock;
			x->readonly = true;
			if (sock && !ssh_env)
				ssh_env = xasprintf("SSH_AUTH_SOCK=%s", owned[i]);
			nssh++;
			continue;
		}
		exec_mount_init(x, types[m->type]);
		x->target = m->target;
		x->source = m->source;
		x->from = m->from;
		x->id = m->id;
		x->env = m->env; /* secret: also an environment variable */
		x->sharing = m->sharing == DF_SHARING_PRIVATE  ? EXEC_SHARING_PRIVATE
			     : m->sharing == DF_SHARING_LOCKED ? EXEC_SHARING_LOCKED
							       : EXEC_SHARING_SHARED;
		if (m->mode_set)
			x->mode = (int)m->mode;
		x->uid = (long)m->uid;
		x->gid = (long)m->gid;
		x->readonly = m->readonly;
		x->required = m->required;
		x->size = m->size > 0 ? (uint64_t)m->size : 0;
		if (m->type == DF_MOUNT_BIND || (m->type == DF_MOUNT_CACHE && m->from)) {
			/* bind: what is mounted; cache: the seed of a new cache dir */
			const char *base = e->context_dir;
			if (m->from_stage >= 0) {
				struct build_context *t;
				if (engine_stage_tree(e, (size_t)m->from_stage, &t, &base, err) < 0) {
					rc = strata_error_wrap(err, "%s:%d: RUN --mount from=%s", e->dfname, st->line,
							       m->from);
					goto out;
				}
			} else if (m->from && engine_named_dir(e, m->from)) {
				base = engine_named_dir(e, m->from); /* --build-context NAME=DIR */
			} else if (m->from) {
				if (engine_image_view(e, m->from, NULL, &base, err) < 0) {
					rc = strata_error_wrap(err, "%s:%d: RUN --mount from=%s", e->dfname, st->line,
							       m->from);
					goto out;
				}
			}
			cleanup_free char *lexical = inside(base, m->source);
			if (!lexical) {
				rc = strata_error_makec(err, STRATA_E_CONFIG, 0,
							"%s:%d: RUN --mount source '%s' is outside its root", e->dfname,
							st->line, m->source);
				goto out;
			}
			/* symlinks in the tree resolve inside it, never onto the host */
			if (engine_path_in_root(base, m->source, &owned[i], err) < 0) {
				if (m->from)
					rc = strata_error_wrap(err, "%s:%d: RUN --mount from=%s", e->dfname, st->line,
							       m->from);
				else
					rc = strata_error_wrap(err, "%s:%d: RUN --mount", e->dfname, st->line);
				goto out;
			}
			x->host_source = owned[i];
			size_t cl = strlen(e->context_dir);
			if (m->type == DF_MOUNT_BIND && !m->from && !strncmp(owned[i], e->context_dir, cl) &&
			    (!owned[i][cl] || owned[i][cl] == '/')) {
				const char *rel = owned[i] + cl + (owned[i][cl] == '/');
				if (context_hide_dir(e, rel, m->source ? m->source : ".", &hides[i], err) < 0) {
					rc = strata_error_wrap(err, "%s:%d: RUN --mount", e->dfname, st->line);
					goto out;
				}
				x->hide_dir = hides[i];
			}
		} else if (m->type == DF_MOUNT_SECRET) {
			for (size_t k = 0; k < e->o->nsecrets; k++)
				if (m->id && !strcmp(e->o->secrets[k].id, m->id))
					x->host_source = e->o->secrets[k].path;
		}
	}
	spec.lowerdirs = (const char *const *)lowers;
	spec.n_lowerdirs = nl;
	spec.upper_dir = upper;
	spec.work_dir = work;
	spec.run_dir = e->run_dir;
	spec.cache_root = e->cache_root;
	if (ssh_env) {
		size_t ne = 0;
		while (env[ne])
			ne++;
		env = xreallocarray(env, ne + 2, sizeof(*env));
		env[ne] = ssh_env;
		env[ne + 1] = NULL;
		ssh_env = NULL;
	}
	spec.env = (const char *const *)env;
	spec.user = cfg_str(s, "User");
	spec.cwd = cfg_str(s, "WorkingDir");
	if (spec.cwd && !*spec.cwd)
		spec.cwd = NULL;
	spec.network = e->o->network;
	spec.extra_hosts = e->o->extra_hosts;
	spec.shm_size = e->o->shm_size;
	spec.rlimits = e->o->rlimits;
	spec.n_rlimits = e->o->n_rlimits;
	if (st->network && !strcmp(st->network, "none"))
		spec.network = EXEC_NET_NONE;
	else if (st->network && !strcmp(st->network, "host"))
		spec.network = EXEC_NET_HOST;
	if (st->security && !strcmp(st->security, "insecure")) {
		/* BuildKit's entitlement: the build must allow it */
		if (!e->o->allow_insecure) {
			rc = strata_error_makec(err, STRATA_E_CONFIG, 0,
						"%s:%d: RUN --security=insecure is not allowed: build with --security insecure",
						e->dfname, st->line);
			goto out;
		}
		spec.insecure = true;
	}
	spec.mounts = mounts;
	spec.n_mounts = nmounts;
	struct out_ctx oc = { e, vertex };
	spec.on_output = on_output;
	spec.output_ctx = &oc;
	spec.merge_output = true; /* the log keeps the order of stdout and stderr */

	tell_cache_mounts(e, st, vertex, true);
	struct exec_result res;
	if (executor_run(&spec, &res, err) < 0) {
		int code = strata_error_code(*err);
		rc = strata_error_wrap(err, "%s:%d: %s", e->dfname, st->line, st->original);
		strata_error_set_code(err, code ? code : STRATA_E_BUILD);
		goto out;
	}
	if (res.exit_code != 0) {
		if (res.signal)
			rc = strata_error_makec(err, STRATA_E_BUILD, 0, "%s:%d: %s: killed by signal %d", e->dfname,
						st->line, st->original, res.signal);
		else
			rc = strata_error_makec(err, STRATA_E_BUILD, 0, "%s:%d: %s: exit status %d%s", e->dfname,
						st->line, st->original, res.exit_code, sandbox_run_hint());
	}
out:
	free(ssh_env);
	if (shebang_file)
		unlink(shebang_file);
	for (size_t i = 0; i < nl; i++)
		free(lowers[i]);
	free(lowers);
	for (size_t i = 0; i < st->nmounts; i++) {
		free(owned[i]);
		free(hides[i]);
	}
	free(owned);
	free(hides);
	free(mounts);
	strv_free(env);
	free(argv);
	free(shell);
	return rc;
}
