/*
 * scope.c — the ARG/ENV scope of one stage, driven step by step, and the
 * typed, expanded steps it produces (layer 2 of dockerfile.h).
 *
 * Where docker expands (BuildKit): FROM (global args only), ADD/COPY
 * (sources, dest, --from, --chown, --chmod, --checksum, --exclude, unquoted
 * heredoc content), ENV and LABEL (keys and values), ARG (names and
 * defaults), EXPOSE (split into words), VOLUME, USER, WORKDIR, STOPSIGNAL,
 * RUN --mount values. Never: RUN/CMD/ENTRYPOINT commands, SHELL,
 * HEALTHCHECK, MAINTAINER, ONBUILD triggers, RUN --network/--security.
 */
#include "dockerfile/internal.h"
#include "oci/oci.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

void df_var_release(struct dockerfile_var *v)
{
	free(v->name);
	free(v->value);
}

void df_command_release(struct dockerfile_command *c)
{
	df_strv_free(c->argv, c->argc);
	free(c->shell);
	df_strv_free(c->shell_argv, c->shell_argc);
}

static void vars_free(struct dockerfile_var *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		df_var_release(&v[i]);
	free(v);
}

void dockerfile_step_free(struct dockerfile_step *s)
{
	if (!s)
		return;
	free(s->original);
	df_command_release(&s->cmd);
	for (size_t i = 0; i < s->nmounts; i++)
		df_mount_release(&s->mounts[i]);
	free(s->mounts);
	free(s->network);
	free(s->security);
	df_strv_free(s->copy.sources, s->copy.nsources);
	free(s->copy.dest);
	free(s->copy.from);
	free(s->copy.chown);
	free(s->copy.chmod);
	df_strv_free(s->copy.excludes, s->copy.nexcludes);
	free(s->copy.checksum);
	df_command_release(&s->health.cmd);
	vars_free(s->kvs, s->nkvs);
	df_strv_free(s->words, s->nwords);
	free(s->value);
	for (size_t i = 0; i < s->nheredocs; i++)
		df_heredoc_release(&s->heredocs[i]);
	free(s->heredocs);
	vars_free(s->args, s->nargs);
	vars_free(s->env, s->nenv);
	free(s);
}

/* ---- variable lists ------------------------------------------------------ */

void df_vars_set(struct dockerfile_var **v, size_t *n, const char *name, const char *value, bool cache_key)
{
	for (size_t i = 0; i < *n; i++) {
		if (!strcmp((*v)[i].name, name)) {
			free((*v)[i].value);
			(*v)[i].value = xstrdup_or_null(value);
			(*v)[i].cache_key = cache_key;
			return;
		}
	}
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[*n] = (struct dockerfile_var){ xstrdup(name), xstrdup_or_null(value), cache_key };
	(*n)++;
}

const struct dockerfile_var *df_vars_find(const struct dockerfile_var *v, size_t n, const char *name,
					  size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(v[i].name) == len && !memcmp(v[i].name, name, len))
			return &v[i];
	return NULL;
}

static struct dockerfile_var *vars_dup(const struct dockerfile_var *v, size_t n)
{
	if (!n)
		return NULL;
	struct dockerfile_var *c = xcalloc(n, sizeof(*c));
	for (size_t i = 0; i < n; i++)
		c[i] = (struct dockerfile_var){ xstrdup(v[i].name), xstrdup_or_null(v[i].value),
						v[i].cache_key };
	return c;
}

bool df_vars_lookup(void *ctx, const char *name, size_t len, const char **value)
{
	const struct df_varlist *l = ctx;
	const struct dockerfile_var *v = df_vars_find(l->v, l->n, name, len);
	if (!v || !v->value)
		return false;
	*value = v->value;
	return true;
}

/* ---- scope --------------------------------------------------------------- */

struct dockerfile_scope {
	const struct dockerfile_build *b;
	const struct dockerfile *df;
	size_t stage;
	size_t next, end;
	struct dockerfile_var *args;
	size_t nargs;
	struct dockerfile_var *env;
	size_t nenv;
	char **shell;
	size_t nshell;
	char **envv;
	size_t own_budget;
	size_t *budget;   /* scope entries copied into steps so far (own or the build's) */
};

static bool scope_lookup(void *ctx, const char *name, size_t len, const char **value)
{
	struct dockerfile_scope *sc = ctx;
	const struct dockerfile_var *v = df_vars_find(sc->env, sc->nenv, name, len);
	if (!v)
		v = df_vars_find(sc->args, sc->nargs, name, len);
	if (!v || !v->value)
		return false;
	*value = v->value;
	return true;
}

static int scope_expand(void *ctx, const char *word, char **out, struct strata_error **err)
{
	struct dockerfile_scope *sc = ctx;
	return dockerfile_expand_word(word, sc->df->escape, scope_lookup, sc, out, err);
}

int dockerfile_scope_new(const struct dockerfile_build *b, size_t stage, const char *const *base_env,
			 struct dockerfile_scope **out, struct strata_error **err)
{
	if (stage >= b->nstages)
		return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "%s: no stage %zu", b->df->name, stage);
	struct dockerfile_scope *sc = xcalloc(1, sizeof(*sc));
	sc->b = b;
	sc->df = b->df;
	sc->stage = stage;
	sc->next = b->stages[stage].first_insn;
	sc->end = sc->next + b->stages[stage].ninsns;
	for (const char *const *e = base_env; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq || eq == *e)
			continue;
		char *k = xstrndup(*e, (size_t)(eq - *e));
		df_vars_set(&sc->env, &sc->nenv, k, eq + 1, true);
		free(k);
	}
	sc->budget = &sc->own_budget;
	sc->shell = xcalloc(3, sizeof(char *));
	sc->shell[0] = xstrdup("/bin/sh");
	sc->shell[1] = xstrdup("-c");
	sc->nshell = 2;
	*out = sc;
	return 0;
}

void dockerfile_scope_free(struct dockerfile_scope *sc)
{
	if (!sc)
		return;
	vars_free(sc->args, sc->nargs);
	vars_free(sc->env, sc->nenv);
	df_strv_free(sc->shell, sc->nshell);
	df_strv_free0(sc->envv);
	free(sc);
}

const char *const *dockerfile_scope_env(struct dockerfile_scope *sc)
{
	df_strv_free0(sc->envv);
	sc->envv = xcalloc(sc->nenv + 1, sizeof(char *));
	for (size_t i = 0; i < sc->nenv; i++)
		sc->envv[i] = xasprintf("%s=%s", sc->env[i].name, sc->env[i].value ? sc->env[i].value : "");
	return (const char *const *)sc->envv;
}

/* ---- helpers for building steps ------------------------------------------ */

static char **strv_dup(char *const *v, size_t n)
{
	char **c = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		c[i] = xstrdup(v[i]);
	return c;
}

static void command_fill(struct dockerfile_command *c, const struct dockerfile_insn *in, size_t first,
			 char *const *shell, size_t nshell)
{
	if (in->json_form) {
		c->exec_form = true;
		c->argc = in->nargs - first;
		c->argv = c->argc ? strv_dup(in->args + first, c->argc) : xcalloc(1, sizeof(char *));
	} else {
		c->shell = xstrdup(in->nargs > first ? in->args[first] : "");
		if (shell) {
			c->shell_argv = strv_dup(shell, nshell);
			c->shell_argc = nshell;
		}
	}
}

/*
 * Resolve a --from value to a stage of the build: a name of an earlier stage
 * (case-insensitive) or an index lower than the current stage.
 * @return the index, -1 for "not a stage" (an image), -2 on error.
 */
static int resolve_from(const struct dockerfile_scope *sc, const struct dockerfile_insn *in,
			const char *what, const char *from, struct strata_error **err)
{
	const struct dockerfile_build *b = sc->b;
	char *end;
	errno = 0;
	long idx = strtol(from, &end, 10);
	if (*from && !*end && !errno && isdigit((unsigned char)*from)) {
		if (idx < 0 || (size_t)idx >= sc->stage)
			return df_insn_error(err, sc->df, in, "%s=%s: stage index out of range (this is stage %zu)",
					     what, from, sc->stage) - 1;
		return (int)idx;
	}
	for (size_t i = 0; i < b->nstages; i++) {
		if (b->stages[i].name && !strcasecmp(b->stages[i].name, from)) {
			if (i >= sc->stage)
				return df_insn_error(err, sc->df, in,
						     "%s=%s: stage '%s' is used before it is defined", what,
						     from, b->stages[i].name) - 1;
			return (int)i;
		}
	}
	if (!*from)
		return df_insn_error(err, sc->df, in, "%s: empty value", what) - 1;
	struct oci_ref ref = OCI_REF_INIT;
	struct strata_error *rerr = NULL;
	if (oci_ref_parse(from, &ref, &rerr) < 0) {
		char *s = strata_error_string(rerr);
		strata_error_free(rerr);
		int r = df_insn_error(err, sc->df, in, "%s=%s: not a stage and not a valid image reference (%s)",
				      what, from, s);
		free(s);
		return r - 1;
	}
	oci_ref_release(&ref);
	return -1;
}

static bool valid_signal(const char *s)
{
	static const char *const names[] = { "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "IOT", "BUS",
					     "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM",
					     "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN",
					     "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH",
					     "IO", "POLL", "PWR", "SYS", "RTMIN", "RTMAX", NULL };
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s && !*end && !errno)
		return v >= 1 && v <= 64;
	const char *n = !strncasecmp(s, "SIG", 3) ? s + 3 : s;
	for (size_t i = 0; names[i]; i++)
		if (!strcasecmp(n, names[i]))
			return true;
	/* RTMIN+n / RTMAX-n */
	if (!strncasecmp(n, "RTMIN+", 6) || !strncasecmp(n, "RTMAX-", 6)) {
		v = strtol(n + 6, &end, 10);
		return !*end && v >= 0 && v <= 30 && n[6];
	}
	return false;
}

/*
 * "80", "80/UDP", "8000-8002" -> "80/tcp", "80/udp", "8000-8002/tcp"
 * appended to words. Ranges stay ranges (the engine expands them into the
 * image config's ExposedPorts): memory stays linear in the input.
 */
static int expose_parse(const char *spec, char ***words, size_t *n, size_t *cap)
{
	const char *slash = strchr(spec, '/');
	char proto[16] = "tcp";
	if (slash) {
		size_t pl = strlen(slash + 1);
		if (!pl || pl >= sizeof(proto))
			return -1;
		for (size_t i = 0; i <= pl; i++)
			proto[i] = (char)tolower((unsigned char)slash[1 + i]);
		if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
			return -1;
	}
	size_t portlen = slash ? (size_t)(slash - spec) : strlen(spec);
	char port[32];
	if (!portlen || portlen >= sizeof(port))
		return -1;
	memcpy(port, spec, portlen);
	port[portlen] = 0;
	char *dash = strchr(port, '-');
	long lo, hi;
	char *end;
	if (!isdigit((unsigned char)port[0]))
		return -1;
	errno = 0;
	lo = strtol(port, &end, 10);
	if (dash) {
		if (end != dash || !isdigit((unsigned char)dash[1]))
			return -1;
		hi = strtol(dash + 1, &end, 10);
	} else {
		hi = lo;
	}
	if (errno || *end || lo < 0 || hi > 65535 || hi < lo)
		return -1;
	char *w = hi == lo ? xasprintf("%ld/%s", lo, proto) : xasprintf("%ld-%ld/%s", lo, hi, proto);
	DF_PUSH(*words, *n, *cap, w);
	return 0;
}

static bool is_heredoc_word(const struct dockerfile_insn *in, const char *w)
{
	const char *p = w;
	while (isdigit((unsigned char)*p))
		p++;
	return in->nheredocs && p[0] == '<' && p[1] == '<';
}

/* Apply one ARG declaration (already expanded) to the scope. */
static void apply_arg(struct dockerfile_scope *sc, const char *name, const char *def)
{
	const struct dockerfile_build *b = sc->b;
	const struct dockerfile_var *ba = df_vars_find(b->buildargs.v, b->buildargs.n, name, strlen(name));
	const char *value = NULL;
	if (ba)
		value = ba->value;
	else if (def)
		value = def;
	else {
		const struct dockerfile_var *g =
			df_vars_find(b->global_args, b->nglobal_args, name, strlen(name));
		if (g)
			value = g->value;
	}
	df_vars_set(&sc->args, &sc->nargs, name, value, true);
}

/* Snapshot args (declared + undeclared proxy build args) and env into the step. */
static void snapshot_scope(struct dockerfile_scope *sc, struct dockerfile_step *s)
{
	s->args = vars_dup(sc->args, sc->nargs);
	s->nargs = sc->nargs;
	const struct dockerfile_buildargs *ba = &sc->b->buildargs;
	for (size_t i = 0; i < ba->n; i++) {
		if (!dockerfile_is_proxy_arg(ba->v[i].name) || !ba->v[i].value)
			continue;
		if (df_vars_find(sc->args, sc->nargs, ba->v[i].name, strlen(ba->v[i].name)))
			continue;
		df_vars_set(&s->args, &s->nargs, ba->v[i].name, ba->v[i].value, false);
	}
	s->env = vars_dup(sc->env, sc->nenv);
	s->nenv = sc->nenv;
}

static int build_copy(struct dockerfile_scope *sc, const struct dockerfile_insn *in,
		      struct dockerfile_step *s, struct strata_error **err)
{
	struct dockerfile_copy *c = &s->copy;
	size_t cap = 0, ecap = 0;
	char **words = NULL;
	size_t nw = 0;
	c->from_stage = -1;
	c->keep_git_dir = -1;
	c->unpack = -1;
	c->json_form = in->json_form;
	for (size_t i = 0; i < in->nargs; i++) {
		if (!in->json_form && is_heredoc_word(in, in->args[i]))
			continue;
		char *x;
		if (scope_expand(sc, in->args[i], &x, err) < 0) {
			df_strv_free(words, nw);
			return df_insn_error(err, sc->df, in, "'%s'", in->args[i]);
		}
		DF_PUSH(words, nw, cap, x);
	}
	if (!nw) {
		free(words);
		return df_insn_error(err, sc->df, in, "no destination");
	}
	c->dest = words[nw - 1];
	c->sources = words;
	c->nsources = nw - 1;
	if (!c->nsources && !in->nheredocs)
		return df_insn_error(err, sc->df, in, "no source");
	for (size_t i = 0; i < in->nflags; i++) {
		const struct dockerfile_flag *f = &in->flags[i];
		char *x = NULL;
		if (f->value && scope_expand(sc, f->value, &x, err) < 0)
			return df_insn_error(err, sc->df, in, "--%s=%s", f->name, f->value);
		if (!strcmp(f->name, "from")) {
			c->from = x;
			int r = resolve_from(sc, in, "--from", x, err);
			if (r == -2)
				return -1;
			c->from_stage = r;
			continue;
		} else if (!strcmp(f->name, "chown")) {
			c->chown = x;
			continue;
		} else if (!strcmp(f->name, "chmod")) {
			c->chmod = x;
			continue;
		} else if (!strcmp(f->name, "checksum")) {
			c->checksum = x;
			continue;
		} else if (!strcmp(f->name, "exclude")) {
			DF_PUSH(c->excludes, c->nexcludes, ecap, x);
			continue;
		} else if (!strcmp(f->name, "link")) {
			c->link = !f->value || !strcmp(f->value, "true");
		} else if (!strcmp(f->name, "parents")) {
			c->parents = !f->value || !strcmp(f->value, "true");
		} else if (!strcmp(f->name, "keep-git-dir")) {
			c->keep_git_dir = !f->value || !strcmp(f->value, "true");
		} else if (!strcmp(f->name, "unpack")) {
			c->unpack = !f->value || !strcmp(f->value, "true");
		}
		free(x);
	}
	if (c->chmod) {
		/* octal mode (docker also accepts symbolic modes with --link; keep them as text) */
		bool octal = *c->chmod != 0;
		for (const char *p = c->chmod; *p; p++)
			octal = octal && *p >= '0' && *p <= '7';
		if (!octal && !strpbrk(c->chmod, "ugoa+-=rwxXst,"))
			return df_insn_error(err, sc->df, in, "invalid --chmod value '%s'", c->chmod);
	}
	s->heredocs = xcalloc(in->nheredocs ? in->nheredocs : 1, sizeof(*s->heredocs));
	for (size_t i = 0; i < in->nheredocs; i++) {
		df_heredoc_copy(&s->heredocs[i], &in->heredocs[i]);
		s->nheredocs++;
		if (in->heredocs[i].expand) {
			char *x;
			if (dockerfile_expand_heredoc(in->heredocs[i].content, sc->df->escape, scope_lookup,
						      sc, &x, err) < 0)
				return df_insn_error(err, sc->df, in, "heredoc '%s'", in->heredocs[i].name);
			free(s->heredocs[i].content);
			s->heredocs[i].content = x;
		}
	}
	return 0;
}

static int build_kvs(struct dockerfile_scope *sc, const struct dockerfile_insn *in,
		     struct dockerfile_step *s, struct strata_error **err)
{
	s->nkvs = in->nargs / 2;
	s->kvs = xcalloc(s->nkvs ? s->nkvs : 1, sizeof(*s->kvs));
	for (size_t i = 0; i < s->nkvs; i++) {
		struct dockerfile_var *v = &s->kvs[i];
		v->cache_key = true;
		if (scope_expand(sc, in->args[2 * i], &v->name, err) < 0)
			return df_insn_error(err, sc->df, in, "'%s'", in->args[2 * i]);
		if (in->args[2 * i + 1] && scope_expand(sc, in->args[2 * i + 1], &v->value, err) < 0)
			return df_insn_error(err, sc->df, in, "'%s'", in->args[2 * i + 1]);
		if (!*v->name)
			return df_insn_error(err, sc->df, in, "names can not be blank");
		if (in->kind == DF_ENV && strchr(v->name, '='))
			return df_insn_error(err, sc->df, in, "invalid name '%s'", v->name);
	}
	return 0;
}

static int build_run(struct dockerfile_scope *sc, const struct dockerfile_insn *in,
		     struct dockerfile_step *s, struct strata_error **err)
{
	command_fill(&s->cmd, in, 0, sc->shell, sc->nshell);
	size_t cap = 0;
	for (size_t i = 0; i < in->nflags; i++) {
		const struct dockerfile_flag *f = &in->flags[i];
		if (!strcmp(f->name, "network")) {
			free(s->network);
			s->network = xstrdup(f->value);
		} else if (!strcmp(f->name, "security")) {
			free(s->security);
			s->security = xstrdup(f->value);
		} else if (!strcmp(f->name, "mount")) {
			struct dockerfile_mount m;
			if (df_mount_parse(f->value, scope_expand, sc, false, &m, err) < 0)
				return df_insn_error(err, sc->df, in, "--mount=%s", f->value);
			if (m.from) {
				int r = resolve_from(sc, in, "--mount from", m.from, err);
				if (r == -2) {
					df_mount_release(&m);
					return -1;
				}
				m.from_stage = r;
			}
			DF_PUSH(s->mounts, s->nmounts, cap, m);
		}
	}
	if (in->nheredocs) {
		s->heredocs = xcalloc(in->nheredocs, sizeof(*s->heredocs));
		for (size_t i = 0; i < in->nheredocs; i++)
			df_heredoc_copy(&s->heredocs[i], &in->heredocs[i]);
		s->nheredocs = in->nheredocs;
	}
	return 0;
}

static int build_health(struct dockerfile_scope *sc, const struct dockerfile_insn *in,
			struct dockerfile_step *s, struct strata_error **err)
{
	struct dockerfile_healthcheck *h = &s->health;
	h->retries = -1;
	if (!strcmp(in->args[0], "NONE")) {
		h->none = true;
		return 0;
	}
	command_fill(&h->cmd, in, 1, NULL, 0);
	for (size_t i = 0; i < in->nflags; i++) {
		const struct dockerfile_flag *f = &in->flags[i];
		if (!strcmp(f->name, "retries")) {
			h->retries = strtoll(f->value, NULL, 10);
			continue;
		}
		int64_t ns = 0;
		if (df_parse_duration(f->value, &ns) < 0)
			return df_insn_error(err, sc->df, in, "--%s: invalid duration '%s'", f->name, f->value);
		if (!strcmp(f->name, "interval"))
			h->interval = ns;
		else if (!strcmp(f->name, "timeout"))
			h->timeout = ns;
		else if (!strcmp(f->name, "start-period"))
			h->start_period = ns;
		else if (!strcmp(f->name, "start-interval"))
			h->start_interval = ns;
	}
	return 0;
}

static int build_step(struct dockerfile_scope *sc, const struct dockerfile_insn *in,
		      struct dockerfile_step *s, struct strata_error **err)
{
	size_t cap = 0;
	switch (in->kind) {
	case DF_RUN:
		return build_run(sc, in, s, err);
	case DF_CMD:
	case DF_ENTRYPOINT:
		command_fill(&s->cmd, in, 0, sc->shell, sc->nshell);
		return 0;
	case DF_SHELL:
		s->words = strv_dup(in->args, in->nargs);
		s->nwords = in->nargs;
		return 0;
	case DF_ENV:
	case DF_LABEL:
	case DF_ARG:
		return build_kvs(sc, in, s, err);
	case DF_EXPOSE:
		for (size_t i = 0; i < in->nargs; i++) {
			char **w;
			size_t n;
			if (dockerfile_expand_words(in->args[i], sc->df->escape, scope_lookup, sc, &w, &n,
						    err) < 0)
				return df_insn_error(err, sc->df, in, "'%s'", in->args[i]);
			for (size_t j = 0; j < n; j++) {
				if (expose_parse(w[j], &s->words, &s->nwords, &cap) < 0) {
					int r = df_insn_error(err, sc->df, in, "invalid port '%s'", w[j]);
					df_strv_free0(w);
					return r;
				}
			}
			df_strv_free0(w);
		}
		return 0;
	case DF_VOLUME:
		for (size_t i = 0; i < in->nargs; i++) {
			char *x;
			if (scope_expand(sc, in->args[i], &x, err) < 0)
				return df_insn_error(err, sc->df, in, "'%s'", in->args[i]);
			DF_PUSH(s->words, s->nwords, cap, x);
			if (!*x)
				return df_insn_error(err, sc->df, in, "VOLUME specified can not be an empty string");
		}
		return 0;
	case DF_USER:
	case DF_WORKDIR:
	case DF_STOPSIGNAL:
		if (scope_expand(sc, in->args[0], &s->value, err) < 0)
			return df_insn_error(err, sc->df, in, "'%s'", in->args[0]);
		if (in->kind == DF_STOPSIGNAL && !valid_signal(s->value))
			return df_insn_error(err, sc->df, in, "invalid signal '%s'", s->value);
		if (in->kind != DF_STOPSIGNAL && !*s->value)
			return df_insn_error(err, sc->df, in, "empty value after expansion of '%s'", in->args[0]);
		return 0;
	case DF_MAINTAINER:
	case DF_ONBUILD:
		s->value = xstrdup(in->args[0]);
		return 0;
	case DF_COPY:
	case DF_ADD:
		return build_copy(sc, in, s, err);
	case DF_HEALTHCHECK:
		return build_health(sc, in, s, err);
	case DF_FROM:
	default:
		return df_insn_error(err, sc->df, in, "unexpected instruction in a stage");
	}
}

static int scope_apply(struct dockerfile_scope *sc, const struct dockerfile_insn *in, size_t idx,
		       struct dockerfile_step **out, struct strata_error **err)
{
	struct dockerfile_step *s = xcalloc(1, sizeof(*s));
	s->kind = in->kind;
	s->line = in->line;
	s->end_line = in->end_line;
	s->original = xstrdup(in->original);
	s->insn_index = idx;
	s->copy.from_stage = -1;
	s->copy.keep_git_dir = -1;
	s->health.retries = -1;
	*sc->budget += sc->nargs + sc->nenv + 1;
	if (*sc->budget > DF_SCOPE_BUDGET) {
		dockerfile_step_free(s);
		return df_insn_error(err, sc->df, in,
				     "too many ARG/ENV entries in scope across the file (more than %u copies)",
				     DF_SCOPE_BUDGET);
	}
	snapshot_scope(sc, s);
	if (build_step(sc, in, s, err) < 0) {
		dockerfile_step_free(s);
		return -1;
	}
	/* The step's effect on the scope (bounded: lookups are linear). */
	if (in->kind == DF_ENV || in->kind == DF_ARG) {
		size_t fresh = 0;
		for (size_t i = 0; i < s->nkvs; i++)
			if (!df_vars_find(sc->env, sc->nenv, s->kvs[i].name, strlen(s->kvs[i].name)) &&
			    !df_vars_find(sc->args, sc->nargs, s->kvs[i].name, strlen(s->kvs[i].name)))
				fresh++;
		if (sc->nenv + sc->nargs + fresh > DF_MAX_VARS) {
			dockerfile_step_free(s);
			return df_insn_error(err, sc->df, in, "too many variables in one stage (more than %u)",
					     DF_MAX_VARS);
		}
	}
	if (in->kind == DF_ENV)
		for (size_t i = 0; i < s->nkvs; i++)
			df_vars_set(&sc->env, &sc->nenv, s->kvs[i].name, s->kvs[i].value, true);
	if (in->kind == DF_ARG)
		for (size_t i = 0; i < s->nkvs; i++)
			apply_arg(sc, s->kvs[i].name, s->kvs[i].value);
	if (in->kind == DF_SHELL) {
		df_strv_free(sc->shell, sc->nshell);
		sc->shell = strv_dup(s->words, s->nwords);
		sc->nshell = s->nwords;
	}
	*out = s;
	return 1;
}

int dockerfile_scope_step(struct dockerfile_scope *sc, struct dockerfile_step **out,
			  struct strata_error **err)
{
	*out = NULL;
	if (sc->next >= sc->end)
		return 0;
	size_t idx = sc->next;
	int r = scope_apply(sc, &sc->df->insns[idx], idx, out, err);
	if (r > 0)
		sc->next++;
	return r;
}

int dockerfile_scope_apply(struct dockerfile_scope *sc, const struct dockerfile_insn *in,
			   struct dockerfile_step **out, struct strata_error **err)
{
	*out = NULL;
	if (in->kind == DF_FROM || in->kind == DF_ONBUILD || in->kind == DF_MAINTAINER)
		return df_insn_error(err, sc->df, in, "not allowed here");
	return scope_apply(sc, in, SIZE_MAX, out, err) < 0 ? -1 : 0;
}

void df_scope_share_budget(struct dockerfile_scope *sc, size_t *budget)
{
	sc->budget = budget;
}

/* Declared ARG names of the scope so far (for the unused build-arg report). */
size_t df_scope_nargs(const struct dockerfile_scope *sc)
{
	return sc->nargs;
}

const char *df_scope_arg_name(const struct dockerfile_scope *sc, size_t i)
{
	return sc->args[i].name;
}
