/*
 * project.c — finding and loading a project: which files (-f,
 * COMPOSE_FILE, compose.yaml found in the working directory or a parent,
 * plus its override file), the `.env` file, interpolation, merging, the
 * project name, and the model.
 */
#include "compose/internal.h"

#include <ctype.h>
#include <libgen.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

static const char *const default_files[] = {
	"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml", NULL,
};
static const char *const override_files[] = {
	"compose.override.yaml", "compose.override.yml", "docker-compose.override.yml",
	"docker-compose.override.yaml", NULL,
};

void compose_project_warn(struct compose_project *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	p->warnings = xreallocarray(p->warnings, p->nwarnings + 1, sizeof(char *));
	p->warnings[p->nwarnings++] = m;
}

void compose_project_free(struct compose_project *p)
{
	if (!p)
		return;
	compose_model_free_services(p);
	free(p->name);
	free(p->workdir);
	compose_strv_free(p->files, p->nfiles);
	compose_strv_free(p->warnings, p->nwarnings);
	compose_strv_free(p->profiles, p->nprofiles);
	compose_env_release(&p->env);
	free(p);
}

static const char *env_lookup(void *ctx, const char *name)
{
	return compose_env_get(ctx, name);
}

static const char *procenv_get(const char *const *env, const char *name)
{
	size_t l = strlen(name);
	for (; env && *env; env++)
		if (!strncmp(*env, name, l) && (*env)[l] == '=')
			return *env + l + 1;
	return NULL;
}

static bool is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void add_file(struct compose_project *p, const char *name)
{
	p->files = xreallocarray(p->files, p->nfiles + 1, sizeof(char *));
	p->files[p->nfiles++] = xstrdup(name);
}

/* The default file in cwd or its nearest parent, and its override file. */
static int discover(struct compose_project *p, const char *cwd, struct strata_error **err)
{
	cleanup_free char *dir = xstrdup(cwd);
	for (;;) {
		for (const char *const *f = default_files; *f; f++) {
			cleanup_free char *path = strata_path_join(dir, *f);
			if (!is_file(path))
				continue;
			bool here = !strcmp(dir, cwd);
			for (const char *const *g = f + 1; *g; g++) {
				cleanup_free char *other = strata_path_join(dir, *g);
				if (is_file(other))
					compose_project_warn(p, "found multiple config files with supported names: %s, %s; using %s",
							     *f, *g, *f);
			}
			add_file(p, here ? *f : path);
			for (const char *const *o = override_files; *o; o++) {
				cleanup_free char *op = strata_path_join(dir, *o);
				if (is_file(op)) {
					add_file(p, here ? *o : op);
					break;
				}
			}
			return 0;
		}
		if (!strcmp(dir, "/"))
			break;
		char *slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	return strata_error_makec(err, STRATA_E_CONFIG, 0,
				  "no configuration file provided: not found (looked for compose.yaml, compose.yml, "
				  "docker-compose.yml, docker-compose.yaml in '%s' and its parents)",
				  cwd);
}

static void add_profile(struct compose_project *p, const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (!n)
		return;
	p->profiles = xreallocarray(p->profiles, p->nprofiles + 1, sizeof(char *));
	p->profiles[p->nprofiles++] = xstrndup(s, n);
}

bool compose_service_active(const struct compose_project *p, const struct compose_service *s)
{
	if (!s->nprofiles)
		return true;
	for (size_t i = 0; i < s->nprofiles; i++)
		for (size_t j = 0; j < p->nprofiles; j++)
			if (!strcmp(s->profiles[i], p->profiles[j]) || !strcmp(p->profiles[j], "*"))
				return true;
	return false;
}

/* The path to open: as given when relative to the process's directory. */
static char *absolute(const char *cwd, const char *path)
{
	if (path[0] == '/' || !cwd)
		return xstrdup(path);
	return strata_path_join(cwd, path);
}

static char *normalise_name(const char *s)
{
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	for (; *s; s++) {
		char c = (char)tolower((unsigned char)*s);
		if (isdigit((unsigned char)c) || (c >= 'a' && c <= 'z') || c == '_' || c == '-') {
			if (!b.len && (c == '_' || c == '-'))
				continue;
			strata_buf_addch(&b, c);
		}
	}
	return strata_buf_detach(&b, NULL);
}

static int read_input(const char *file, struct strata_buf *data, struct strata_error **err)
{
	if (!strcmp(file, "-")) {
		char chunk[65536];
		for (;;) {
			ssize_t r = strata_read_full(0, chunk, sizeof(chunk), "stdin", err);
			if (r < 0)
				return -1;
			if (strata_buf_add(data, chunk, (size_t)r) < 0)
				return strata_error_makec(err, STRATA_E_CONFIG, 0, "stdin: larger than %u bytes",
							  COMPOSE_FILE_MAX);
			if ((size_t)r < sizeof(chunk))
				return 0;
		}
	}
	if (strata_read_file(file, data, COMPOSE_FILE_MAX, err) < 0) {
		strata_error_set_code(err, STRATA_E_CONFIG);
		return -1;
	}
	return 0;
}

static int project_name(struct compose_project *p, const struct compose_options *o, const struct cnode *root,
			struct strata_error **err)
{
	const char *given = o->project_name;
	const char *what = "-p";
	if (!given || !*given) {
		given = compose_env_get(&p->env, "COMPOSE_PROJECT_NAME");
		what = "COMPOSE_PROJECT_NAME";
	}
	const struct cnode *n = cnode_get(root, "name");
	if ((!given || !*given) && n && !cnode_is_null(n)) {
		if (n->type != CN_SCALAR)
			return compose_node_error(err, n, "name", "expected a string, got %s", cnode_type_name(n));
		if (!compose_project_name_valid(n->value))
			return compose_node_error(err, n, "name",
						  "invalid project name '%s': must contain only lower case letters, "
						  "digits, '-' and '_', and start with a letter or digit",
						  n->value);
		p->name = xstrdup(n->value);
		return 0;
	}
	if (given && *given) {
		if (!compose_project_name_valid(given))
			return strata_error_makec(err, STRATA_E_CONFIG, 0,
						  "%s: invalid project name '%s': must contain only lower case "
						  "letters, digits, '-' and '_', and start with a letter or digit",
						  what, given);
		p->name = xstrdup(given);
		return 0;
	}
	cleanup_free char *dir = xstrdup(p->workdir);
	p->name = normalise_name(basename(dir));
	if (!*p->name)
		return strata_error_makec(err, STRATA_E_CONFIG, 0,
					  "project name '%s' (the directory name) is empty once normalised; use -p",
					  p->workdir);
	return 0;
}

int compose_project_load(const struct compose_options *o, struct compose_project **out,
			 struct strata_error **err)
{
	struct compose_project *p = xcalloc(1, sizeof(*p));
	struct compose_env dotenv = { 0 };
	struct cnode *root = NULL;
	cleanup_free char *cwd_buf = NULL;
	int rc = -1;
	const char *cwd = o->cwd;
	if (!cwd) {
		cwd_buf = getcwd(NULL, 0);
		if (!cwd_buf) {
			strata_error_make(err, errno, "getcwd");
			goto out;
		}
		cwd = cwd_buf;
	}
	/* the files */
	if (o->nfiles) {
		for (size_t i = 0; i < o->nfiles; i++)
			add_file(p, o->files[i]);
	} else if (procenv_get(o->env, "COMPOSE_FILE") && *procenv_get(o->env, "COMPOSE_FILE")) {
		const char *sep = procenv_get(o->env, "COMPOSE_PATH_SEPARATOR");
		char sc = sep && *sep ? sep[0] : ':';
		const char *s = procenv_get(o->env, "COMPOSE_FILE");
		while (*s) {
			const char *e = strchrnul(s, sc);
			if (e > s) {
				cleanup_free char *f = xstrndup(s, (size_t)(e - s));
				add_file(p, f);
			}
			s = *e ? e + 1 : e;
		}
	} else if (discover(p, cwd, err) < 0) {
		goto out;
	}
	if (!p->nfiles) {
		strata_error_makec(err, STRATA_E_CONFIG, 0, "COMPOSE_FILE names no file");
		goto out;
	}
	{
		cleanup_free char *first = p->files[0][0] == '/' ? xstrdup(p->files[0])
								 : strata_path_join(cwd, p->files[0]);
		if (!strcmp(p->files[0], "-")) {
			p->workdir = xstrdup(cwd);
		} else {
			p->workdir = xstrdup(dirname(first));
		}
	}
	/* .env */
	{
		struct compose_env procenv = { 0 };
		for (const char *const *e = o->env; e && *e; e++) {
			const char *eq = strchr(*e, '=');
			if (!eq || eq == *e)
				continue;
			cleanup_free char *k = xstrndup(*e, (size_t)(eq - *e));
			compose_env_set(&procenv, k, eq + 1);
		}
		cleanup_free char *envfile = o->env_file ? absolute(o->cwd, o->env_file)
							 : strata_path_join(p->workdir, ".env");
		if (o->env_file || is_file(envfile)) {
			cleanup_buf struct strata_buf data = STRATA_BUF_INIT;
			const char *shown = o->env_file ? o->env_file : ".env";
			if (strata_read_file(envfile, &data, COMPOSE_FILE_MAX, err) < 0 ||
			    compose_dotenv_parse(data.data, data.len, shown, env_lookup, &procenv, &dotenv,
						 err) < 0) {
				strata_error_set_code(err, STRATA_E_CONFIG);
				compose_env_release(&procenv);
				goto out;
			}
		}
		for (size_t i = 0; i < dotenv.n; i++) {
			char *eq = strchr(dotenv.kv[i], '=');
			*eq = '\0';
			compose_env_set(&p->env, dotenv.kv[i], eq + 1);
			*eq = '=';
		}
		for (size_t i = 0; i < procenv.n; i++) {
			char *eq = strchr(procenv.kv[i], '=');
			*eq = '\0';
			compose_env_set(&p->env, procenv.kv[i], eq + 1);
			*eq = '=';
		}
		compose_env_release(&procenv);
	}
	/* read, interpolate, merge */
	for (size_t i = 0; i < p->nfiles; i++) {
		cleanup_buf struct strata_buf data = STRATA_BUF_INIT;
		strata_buf_init(&data, COMPOSE_FILE_MAX);
		struct cnode *t = NULL;
		cleanup_free char *path = strcmp(p->files[i], "-") ? absolute(o->cwd, p->files[i]) : xstrdup("-");
		if (read_input(path, &data, err) < 0 ||
		    compose_yaml_parse(data.data, data.len, p->files[i], &t, err) < 0)
			goto out;
		if (!t) {
			strata_error_makec(err, STRATA_E_CONFIG, 0, "%s: empty compose file", p->files[i]);
			goto out;
		}
		if (t->type != CN_MAP) {
			compose_node_error(err, t, "", "top-level object must be a mapping");
			cnode_free(t);
			goto out;
		}
		if (compose_tree_interpolate(t, env_lookup, &p->env, p, err) < 0) {
			cnode_free(t);
			goto out;
		}
		compose_tree_normalise(t);
		compose_tree_merge(&root, t);
	}
	if (project_name(p, o, root, err) < 0 || compose_model_build(p, root, err) < 0)
		goto out;
	for (size_t i = 0; i < o->nprofiles; i++)
		add_profile(p, o->profiles[i], strlen(o->profiles[i]));
	for (const char *s = compose_env_get(&p->env, "COMPOSE_PROFILES"); s && *s;) {
		const char *e = strchrnul(s, ',');
		add_profile(p, s, (size_t)(e - s));
		s = *e ? e + 1 : e;
	}
	*out = p;
	p = NULL;
	rc = 0;
out:
	cnode_free(root);
	compose_env_release(&dotenv);
	compose_project_free(p);
	return rc;
}

const struct compose_service *compose_project_service(const struct compose_project *p, const char *name)
{
	for (size_t i = 0; i < p->nservices; i++)
		if (!strcmp(p->services[i].name, name))
			return &p->services[i];
	return NULL;
}

char *compose_service_image(const struct compose_project *p, const struct compose_service *s)
{
	if (s->image)
		return xstrdup(s->image);
	cleanup_free char *n = xasprintf("%s-%s", p->name, s->name);
	for (char *c = n; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return STRATA_STEAL(n);
}

int compose_project_from_text(const char *data, size_t len, const char *name, const char *workdir,
			      bool merge_twice, struct compose_project **out, struct strata_error **err)
{
	struct compose_project *p = xcalloc(1, sizeof(*p));
	struct compose_options o = { 0 };
	struct cnode *root = NULL, *t = NULL;
	int rc = -1;
	add_file(p, name);
	p->workdir = xstrdup(workdir);
	compose_env_set(&p->env, "SET", "value");
	compose_env_set(&p->env, "EMPTY", "");
	for (int round = 0; round < (merge_twice ? 2 : 1); round++) {
		if (compose_yaml_parse(data, len, p->files[0], &t, err) < 0)
			goto out;
		if (!t || t->type != CN_MAP) {
			strata_error_makec(err, STRATA_E_CONFIG, 0, "%s: not a mapping", name);
			goto out;
		}
		if (compose_tree_interpolate(t, env_lookup, &p->env, p, err) < 0)
			goto out;
		compose_tree_normalise(t);
		compose_tree_merge(&root, STRATA_STEAL(t));
	}
	if (project_name(p, &o, root, err) < 0 || compose_model_build(p, root, err) < 0)
		goto out;
	*out = p;
	p = NULL;
	rc = 0;
out:
	cnode_free(t);
	cnode_free(root);
	compose_project_free(p);
	return rc;
}
