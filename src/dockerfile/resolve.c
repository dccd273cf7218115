/*
 * resolve.c — a parsed Dockerfile resolved for one build (layer 3 of
 * dockerfile.h): build args, automatic platform args, global ARGs, stage
 * bases, stage steps, dependencies, the target and the stages it needs.
 */
#include "dockerfile/internal.h"
#include "oci/oci.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

/* ---- build args ---------------------------------------------------------- */

int dockerfile_buildargs_add(struct dockerfile_buildargs *ba, const char *spec,
			     struct strata_error **err)
{
	const char *eq = strchr(spec, '=');
	cleanup_free char *name = eq ? xstrndup(spec, (size_t)(eq - spec)) : xstrdup(spec);
	if (!*name)
		return strata_error_makec(err, STRATA_E_USAGE, 0, "--build-arg '%s': empty name", spec);
	const char *value = eq ? eq + 1 : getenv(name);
	if (!eq && !value)
		return 0; /* K alone, unset in the environment: ignored, as docker does */
	df_vars_set(&ba->v, &ba->n, name, value, true);
	return 0;
}

void dockerfile_buildargs_release(struct dockerfile_buildargs *ba)
{
	for (size_t i = 0; i < ba->n; i++)
		df_var_release(&ba->v[i]);
	free(ba->v);
	ba->v = NULL;
	ba->n = 0;
}

bool dockerfile_is_proxy_arg(const char *name)
{
	static const char *const proxies[] = { "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
					       "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
					       "ALL_PROXY",  "all_proxy",  NULL };
	for (size_t i = 0; proxies[i]; i++)
		if (!strcmp(name, proxies[i]))
			return true;
	return false;
}

/* ---- platforms ----------------------------------------------------------- */

static void set_field(char *dst, size_t n, const char *s, size_t len)
{
	if (len >= n)
		len = n - 1;
	memcpy(dst, s, len);
	dst[len] = 0;
}

static void normalize_arch(struct dockerfile_platform *p)
{
	static const struct { const char *in, *arch, *variant; } map[] = {
		{ "x86_64", "amd64", "" },  { "x86-64", "amd64", "" },  { "aarch64", "arm64", "" },
		{ "armhf", "arm", "v7" },   { "armel", "arm", "v6" },   { "armv7l", "arm", "v7" },
		{ "armv6l", "arm", "v6" },  { "i386", "386", "" },      { "i686", "386", "" },
	};
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(map); i++) {
		if (!strcmp(p->arch, map[i].in)) {
			set_field(p->arch, sizeof(p->arch), map[i].arch, strlen(map[i].arch));
			if (!p->variant[0])
				set_field(p->variant, sizeof(p->variant), map[i].variant,
					  strlen(map[i].variant));
		}
	}
	if (!strcmp(p->arch, "arm64") && !strcmp(p->variant, "v8"))
		p->variant[0] = 0;
	if (!strcmp(p->arch, "arm") && !p->variant[0])
		set_field(p->variant, sizeof(p->variant), "v7", 2);
}

void dockerfile_platform_host(struct dockerfile_platform *p)
{
	struct utsname u;
	memset(p, 0, sizeof(*p));
	set_field(p->os, sizeof(p->os), "linux", 5);
	if (uname(&u) == 0)
		set_field(p->arch, sizeof(p->arch), u.machine, strlen(u.machine));
	else
		set_field(p->arch, sizeof(p->arch), "amd64", 5);
	normalize_arch(p);
}

int dockerfile_platform_parse(const char *s, struct dockerfile_platform *p, struct strata_error **err)
{
	memset(p, 0, sizeof(*p));
	const char *parts[4];
	size_t lens[4], n = 0;
	const char *c = s;
	for (;;) {
		const char *sl = strchr(c, '/');
		size_t l = sl ? (size_t)(sl - c) : strlen(c);
		if (n == 3 || !l || l >= sizeof(p->os))
			return strata_error_make(err, 0, "invalid platform '%s'", s);
		for (size_t i = 0; i < l; i++)
			if (!isalnum((unsigned char)c[i]) && c[i] != '_' && c[i] != '-' && c[i] != '.')
				return strata_error_make(err, 0, "invalid platform '%s'", s);
		parts[n] = c;
		lens[n++] = l;
		if (!sl)
			break;
		c = sl + 1;
	}
	size_t a = 0;
	if (n == 1) {
		set_field(p->os, sizeof(p->os), "linux", 5);
	} else {
		set_field(p->os, sizeof(p->os), parts[0], lens[0]);
		a = 1;
	}
	set_field(p->arch, sizeof(p->arch), parts[a], lens[a]);
	if (a + 1 < n)
		set_field(p->variant, sizeof(p->variant), parts[a + 1], lens[a + 1]);
	for (char *q = p->os; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	for (char *q = p->arch; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	normalize_arch(p);
	return 0;
}

const char *dockerfile_platform_format(const struct dockerfile_platform *p, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s%s%s", p->os, p->arch, p->variant[0] ? "/" : "", p->variant);
	return buf;
}

/* ---- the build ----------------------------------------------------------- */

void dockerfile_build_free(struct dockerfile_build *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nstages; i++) {
		struct dockerfile_stage *st = &b->stages[i];
		free(st->name);
		free(st->base);
		free(st->platform);
		free(st->deps);
		for (size_t j = 0; j < st->nsteps; j++)
			dockerfile_step_free(st->steps[j]);
		free(st->steps);
	}
	free(b->stages);
	free(b->needed);
	for (size_t i = 0; i < b->nglobal_args; i++)
		df_var_release(&b->global_args[i]);
	free(b->global_args);
	dockerfile_buildargs_release(&b->buildargs);
	df_strv_free(b->warnings, b->nwarnings);
	free(b);
}

int dockerfile_build_find_stage(const struct dockerfile_build *b, const char *name)
{
	for (size_t i = 0; i < b->nstages; i++)
		if (b->stages[i].name && !strcasecmp(b->stages[i].name, name))
			return (int)i;
	char *end;
	long v = strtol(name, &end, 10);
	if (*name && isdigit((unsigned char)*name) && !*end && v >= 0 && (size_t)v < b->nstages)
		return (int)v;
	return -1;
}

static bool valid_stage_name(const char *s)
{
	if (!islower((unsigned char)*s))
		return false;
	for (const char *p = s + 1; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-' && *p != '_' &&
		    *p != '.')
			return false;
	return true;
}

static bool global_lookup(void *ctx, const char *name, size_t len, const char **value)
{
	const struct dockerfile_build *b = ctx;
	const struct dockerfile_var *v = df_vars_find(b->global_args, b->nglobal_args, name, len);
	if (!v || !v->value)
		return false;
	*value = v->value;
	return true;
}

static void add_global_platform_args(struct dockerfile_build *b)
{
	const struct { const char *prefix; const struct dockerfile_platform *p; } sets[] = {
		{ "BUILD", &b->build_platform }, { "TARGET", &b->target_platform } };
	for (size_t i = 0; i < 2; i++) {
		char buf[128], name[32];
		const struct dockerfile_platform *p = sets[i].p;
		snprintf(name, sizeof(name), "%sPLATFORM", sets[i].prefix);
		df_vars_set(&b->global_args, &b->nglobal_args, name,
			    dockerfile_platform_format(p, buf, sizeof(buf)), true);
		snprintf(name, sizeof(name), "%sOS", sets[i].prefix);
		df_vars_set(&b->global_args, &b->nglobal_args, name, p->os, true);
		snprintf(name, sizeof(name), "%sARCH", sets[i].prefix);
		df_vars_set(&b->global_args, &b->nglobal_args, name, p->arch, true);
		snprintf(name, sizeof(name), "%sVARIANT", sets[i].prefix);
		df_vars_set(&b->global_args, &b->nglobal_args, name, p->variant, true);
	}
}

/* Global ARGs (before the first FROM). @return the index of the first FROM. */
static int global_args(struct dockerfile_build *b, bool *consumed, size_t *first_from,
		       struct strata_error **err)
{
	const struct dockerfile *df = b->df;
	size_t i = 0;
	for (; i < df->ninsns && df->insns[i].kind == DF_ARG; i++) {
		const struct dockerfile_insn *in = &df->insns[i];
		/* all values of one line are expanded with the scope before the line */
		char **names = xcalloc(in->nargs / 2 + 1, sizeof(char *));
		char **vals = xcalloc(in->nargs / 2 + 1, sizeof(char *));
		int r = 0;
		for (size_t k = 0; k < in->nargs / 2 && r == 0; k++) {
			if (dockerfile_expand_word(in->args[2 * k], df->escape, global_lookup, b, &names[k],
						   err) < 0 ||
			    (in->args[2 * k + 1] &&
			     dockerfile_expand_word(in->args[2 * k + 1], df->escape, global_lookup, b,
						    &vals[k], err) < 0))
				r = df_insn_error(err, df, in, "'%s'", in->args[2 * k]);
		}
		if (b->nglobal_args + in->nargs / 2 > DF_MAX_VARS)
			r = df_insn_error(err, df, in, "too many global ARGs (more than %u)", DF_MAX_VARS);
		for (size_t k = 0; k < in->nargs / 2 && r == 0; k++) {
			const struct dockerfile_var *ba =
				df_vars_find(b->buildargs.v, b->buildargs.n, names[k], strlen(names[k]));
			if (ba)
				consumed[ba - b->buildargs.v] = true;
			df_vars_set(&b->global_args, &b->nglobal_args, names[k], ba ? ba->value : vals[k],
				    true);
		}
		df_strv_free(names, in->nargs / 2);
		df_strv_free(vals, in->nargs / 2);
		if (r < 0)
			return -1;
	}
	*first_from = i;
	return 0;
}

static int make_stages(struct dockerfile_build *b, size_t first_from, struct strata_error **err)
{
	const struct dockerfile *df = b->df;
	size_t cap = 0;
	for (size_t i = first_from; i < df->ninsns; i++) {
		const struct dockerfile_insn *in = &df->insns[i];
		if (in->kind != DF_FROM) {
			b->stages[b->nstages - 1].ninsns++;
			continue;
		}
		struct dockerfile_stage st = { 0 };
		st.index = b->nstages;
		st.line = in->line;
		st.end_line = in->end_line;
		st.first_insn = i + 1;
		st.base_stage = -1;
		int r = 0;
		if (dockerfile_expand_word(in->args[0], df->escape, global_lookup, b, &st.base, err) < 0)
			r = df_insn_error(err, df, in, "'%s'", in->args[0]);
		else if (!*st.base)
			r = df_insn_error(err, df, in, "base name (%s) should not be blank", in->args[0]);
		const struct dockerfile_flag *pf = df_insn_flag(in, "platform");
		if (r == 0 && pf) {
			struct dockerfile_platform p;
			if (dockerfile_expand_word(pf->value, df->escape, global_lookup, b, &st.platform,
						   err) < 0 ||
			    dockerfile_platform_parse(st.platform, &p, err) < 0) {
				r = df_insn_error(err, df, in, "--platform=%s", pf->value);
			} else {
				char buf[128];
				free(st.platform);
				st.platform = xstrdup(dockerfile_platform_format(&p, buf, sizeof(buf)));
			}
		}
		if (r == 0 && in->nargs == 3) {
			st.name = xstrdup(in->args[2]);
			for (char *c = st.name; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			if (!valid_stage_name(st.name))
				r = df_insn_error(err, df, in,
						  "invalid name for build stage: '%s', name can't start with a number or contain symbols",
						  in->args[2]);
			for (size_t k = 0; r == 0 && k < b->nstages; k++)
				if (b->stages[k].name && !strcmp(b->stages[k].name, st.name))
					r = df_insn_error(err, df, in,
							  "duplicate stage name '%s' (first defined on line %d)",
							  st.name, b->stages[k].line);
		}
		if (r == 0) {
			int parent = -1;
			for (size_t k = 0; k < b->nstages; k++)
				if (b->stages[k].name && !strcasecmp(b->stages[k].name, st.base))
					parent = (int)k;
			if (parent >= 0) {
				st.base_type = DF_BASE_STAGE;
				st.base_stage = parent;
			} else if (!strcasecmp(st.base, "scratch")) {
				st.base_type = DF_BASE_SCRATCH;
			} else {
				st.base_type = DF_BASE_IMAGE;
				struct oci_ref ref = OCI_REF_INIT;
				if (oci_ref_parse(st.base, &ref, err) < 0)
					r = df_insn_error(err, df, in, "invalid base image");
				oci_ref_release(&ref);
			}
		}
		if (r < 0) {
			free(st.name);
			free(st.base);
			free(st.platform);
			return -1;
		}
		DF_PUSH(b->stages, b->nstages, cap, st);
	}
	return 0;
}

static void add_dep(struct dockerfile_stage *st, int dep)
{
	if (dep < 0)
		return;
	for (size_t i = 0; i < st->ndeps; i++)
		if (st->deps[i] == (size_t)dep)
			return;
	st->deps = xreallocarray(st->deps, st->ndeps + 1, sizeof(size_t));
	st->deps[st->ndeps++] = (size_t)dep;
}

/* Resolve every step of stage i. @return 0, or -1 with the (deferred) error. */
static int resolve_stage(struct dockerfile_build *b, size_t i, char ***final_env, bool *consumed,
			 size_t *budget, struct strata_error **err)
{
	struct dockerfile_stage *st = &b->stages[i];
	const char *const *base = NULL;
	if (st->base_type == DF_BASE_STAGE) {
		add_dep(st, st->base_stage);
		base = (const char *const *)final_env[st->base_stage];
	}
	struct dockerfile_scope *sc;
	if (dockerfile_scope_new(b, i, base, &sc, err) < 0)
		return -1;
	df_scope_share_budget(sc, budget);
	size_t cap = 0;
	int r;
	struct dockerfile_step *s;
	while ((r = dockerfile_scope_step(sc, &s, err)) > 0) {
		DF_PUSH(st->steps, st->nsteps, cap, s);
		if (s->kind == DF_COPY || s->kind == DF_ADD)
			add_dep(st, s->copy.from_stage);
		for (size_t m = 0; m < s->nmounts; m++)
			add_dep(st, s->mounts[m].from_stage);
	}
	if (r == 0) {
		const char *const *env = dockerfile_scope_env(sc);
		size_t n = 0;
		while (env[n])
			n++;
		final_env[i] = xcalloc(n + 1, sizeof(char *));
		for (size_t k = 0; k < n; k++)
			final_env[i][k] = xstrdup(env[k]);
		/* remember which build args this stage declares */
		for (size_t k = 0; k < df_scope_nargs(sc); k++) {
			const char *name = df_scope_arg_name(sc, k);
			const struct dockerfile_var *ba =
				df_vars_find(b->buildargs.v, b->buildargs.n, name, strlen(name));
			if (ba)
				consumed[(size_t)(ba - b->buildargs.v) + i * b->buildargs.n] = true;
		}
	}
	dockerfile_scope_free(sc);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int dockerfile_resolve(const struct dockerfile *df, const struct dockerfile_options *opts,
		       struct dockerfile_build **out, struct strata_error **err)
{
	static const struct dockerfile_options none = { 0 };
	if (!opts)
		opts = &none;
	struct dockerfile_build *b = xcalloc(1, sizeof(*b));
	b->df = df;
	if (opts->buildargs)
		for (size_t i = 0; i < opts->buildargs->n; i++)
			df_vars_set(&b->buildargs.v, &b->buildargs.n, opts->buildargs->v[i].name,
				    opts->buildargs->v[i].value, true);
	if (opts->build_platform)
		b->build_platform = *opts->build_platform;
	else
		dockerfile_platform_host(&b->build_platform);
	if (opts->target_platform)
		b->target_platform = *opts->target_platform;
	else
		b->target_platform = b->build_platform;
	add_global_platform_args(b);

	size_t nba = b->buildargs.n;
	bool *consumed_global = xcalloc(nba + 1, 1);
	bool *consumed_stage = NULL;
	char ***final_env = NULL;
	struct strata_error **deferred = NULL;
	size_t first_from, budget = 0;
	int r = -1;
	if (global_args(b, consumed_global, &first_from, err) < 0)
		goto out;
	if (make_stages(b, first_from, err) < 0)
		goto out;
	consumed_stage = xcalloc(b->nstages * nba + 1, 1);
	final_env = xcalloc(b->nstages, sizeof(char **));
	deferred = xcalloc(b->nstages, sizeof(*deferred));
	for (size_t i = 0; i < b->nstages; i++) {
		struct dockerfile_stage *st = &b->stages[i];
		if (st->base_type == DF_BASE_STAGE && deferred[st->base_stage]) {
			/* the parent failed: so does this one if needed */
			add_dep(st, st->base_stage);
			deferred[i] = NULL;
			continue;
		}
		if (resolve_stage(b, i, final_env, consumed_stage, &budget, &deferred[i]) < 0) {
			for (size_t j = 0; j < st->nsteps; j++)
				dockerfile_step_free(st->steps[j]);
			free(st->steps);
			st->steps = NULL;
			st->nsteps = 0;
			if (!deferred[i])
				strata_error_make(&deferred[i], 0, "stage %zu failed", i);
		}
	}
	/* the target */
	if (opts->target && *opts->target) {
		int t = -1;
		for (size_t i = 0; i < b->nstages; i++)
			if (b->stages[i].name && !strcasecmp(b->stages[i].name, opts->target))
				t = (int)i;
		if (t < 0) {
			strata_error_makec(err, STRATA_E_NOTFOUND, 0,
					   "%s: target stage '%s' could not be found", df->name,
					   opts->target);
			goto out;
		}
		b->target = (size_t)t;
	} else {
		b->target = b->nstages - 1;
	}
	/* the needed set: the target and what it uses, transitively */
	b->stages[b->target].needed = true;
	for (size_t i = b->target + 1; i-- > 0;) {
		if (!b->stages[i].needed)
			continue;
		for (size_t d = 0; d < b->stages[i].ndeps; d++)
			b->stages[b->stages[i].deps[d]].needed = true;
	}
	b->needed = xcalloc(b->nstages, sizeof(size_t));
	for (size_t i = 0; i < b->nstages; i++) {
		if (!b->stages[i].needed)
			continue;
		b->needed[b->nneeded++] = i;
		if (deferred[i]) {
			strata_error_pass(err, deferred[i]);
			deferred[i] = NULL;
			goto out;
		}
	}
	/* build args never declared in a used scope: one warning */
	{
		char **unused = NULL;
		size_t nu = 0, cap = 0;
		for (size_t k = 0; k < nba; k++) {
			bool used = consumed_global[k] || dockerfile_is_proxy_arg(b->buildargs.v[k].name);
			for (size_t i = 0; i < b->nstages && !used; i++)
				used = b->stages[i].needed && consumed_stage[i * nba + k];
			if (!used)
				DF_PUSH(unused, nu, cap, b->buildargs.v[k].name);
		}
		if (nu) {
			qsort(unused, nu, sizeof(char *), cmp_str);
			struct strata_buf w = STRATA_BUF_INIT;
			strata_buf_adds(&w, "[Warning] One or more build-args [");
			for (size_t k = 0; k < nu; k++)
				strata_buf_addf(&w, "%s%s", k ? " " : "", unused[k]);
			strata_buf_adds(&w, "] were not consumed");
			b->warnings = xcalloc(1, sizeof(char *));
			b->warnings[0] = strata_buf_detach(&w, NULL);
			b->nwarnings = 1;
		}
		free(unused);
	}
	r = 0;
	*out = b;
	b = NULL;
out:;
	size_t nst = b ? b->nstages : (*out)->nstages;
	if (final_env)
		for (size_t i = 0; i < nst; i++)
			df_strv_free0(final_env[i]);
	if (deferred)
		for (size_t i = 0; i < nst; i++)
			strata_error_free(deferred[i]);
	free(deferred);
	free(final_env);
	free(consumed_global);
	free(consumed_stage);
	dockerfile_build_free(b);
	return r;
}
