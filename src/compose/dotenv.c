/*
 * dotenv.c — the `.env` file as compose reads it, and the small ordered
 * environment type (struct compose_env) used for interpolation.
 */
#include "compose/internal.h"

#include <ctype.h>
#include <string.h>

const char *compose_env_get(const struct compose_env *e, const char *key)
{
	size_t kl = strlen(key);
	for (size_t i = 0; i < e->n; i++)
		if (!strncmp(e->kv[i], key, kl) && e->kv[i][kl] == '=')
			return e->kv[i] + kl + 1;
	return NULL;
}

void compose_env_set(struct compose_env *e, const char *key, const char *value)
{
	size_t kl = strlen(key);
	char *kv = xasprintf("%s=%s", key, value);
	for (size_t i = 0; i < e->n; i++) {
		if (!strncmp(e->kv[i], key, kl) && e->kv[i][kl] == '=') {
			free(e->kv[i]);
			e->kv[i] = kv;
			return;
		}
	}
	e->kv = xreallocarray(e->kv, e->n + 1, sizeof(*e->kv));
	e->kv[e->n++] = kv;
}

void compose_env_release(struct compose_env *e)
{
	compose_strv_free(e->kv, e->n);
	e->kv = NULL;
	e->n = 0;
}

struct dotenv_lookup {
	compose_lookup_fn lookup;
	void *ctx;
	const struct compose_env *file;  /* the entries parsed so far */
};

static const char *dl_lookup(void *ctx, const char *name)
{
	struct dotenv_lookup *d = ctx;
	const char *v = d->lookup ? d->lookup(d->ctx, name) : NULL;
	return v ? v : compose_env_get(d->file, name);
}

static int env_error(struct strata_error **err, const char *name, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int env_error(struct strata_error **err, const char *name, size_t line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	strata_error_makec(err, STRATA_E_CONFIG, 0, "%s:%zu: %s", name, line, m);
	free(m);
	return -1;
}

static bool blank(char c) { return c == ' ' || c == '\t'; }

int compose_dotenv_parse(const char *data, size_t len, const char *name, compose_lookup_fn lookup,
			 void *ctx, struct compose_env *out, struct strata_error **err)
{
	struct compose_env local = { 0 };
	struct dotenv_lookup dl = { lookup, ctx, &local };
	size_t i = 0, line = 1;
	int rc = -1;
	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len) {
		size_t start_line = line;
		while (i < len && (blank(data[i]) || data[i] == '\r'))
			i++;
		if (i >= len)
			break;
		if (data[i] == '\n') {
			i++, line++;
			continue;
		}
		if (data[i] == '#') {
			while (i < len && data[i] != '\n')
				i++;
			continue;
		}
		if (len - i > 7 && !memcmp(data + i, "export", 6) && blank(data[i + 6])) {
			i += 6;
			while (i < len && blank(data[i]))
				i++;
		}
		size_t ks = i;
		while (i < len && data[i] != '=' && data[i] != '\n' && !blank(data[i]) && data[i] != '\r')
			i++;
		cleanup_free char *key = xstrndup(data + ks, i - ks);
		while (i < len && (blank(data[i]) || data[i] == '\r'))
			i++;
		bool valid = *key && !isdigit((unsigned char)key[0]);
		for (const char *k = key; *k; k++)
			if (!(isalnum((unsigned char)*k) || *k == '_' || *k == '.' || *k == '-'))
				valid = false;
		if (!valid) {
			const char *kend = memchr(data + ks, '\n', len - ks);
			size_t kl = kend ? (size_t)(kend - data - ks) : len - ks;
			env_error(err, name, start_line, "invalid variable name '%.*s'", (int)(kl > 60 ? 60 : kl),
				  data + ks);
			goto out;
		}
		if (i >= len || data[i] == '\n') {
			/* `K` alone: from the environment, else skipped */
			const char *v = lookup ? lookup(ctx, key) : NULL;
			if (v)
				compose_env_set(&local, key, v);
			continue;
		}
		if (data[i] != '=') {
			env_error(err, name, start_line, "unexpected character '%c' after variable name '%s'",
				  data[i], key);
			goto out;
		}
		i++;
		while (i < len && blank(data[i]))
			i++;
		cleanup_buf struct strata_buf val = STRATA_BUF_INIT;
		bool interpolate = true;
		if (i < len && (data[i] == '\'' || data[i] == '"')) {
			char q = data[i++];
			bool closed = false;
			interpolate = q == '"';
			while (i < len) {
				char c = data[i];
				if (c == q) {
					closed = true;
					i++;
					break;
				}
				if (c == '\n')
					line++;
				if (q == '"' && c == '\\' && i + 1 < len) {
					char e = data[i + 1];
					const char *map = strchr("nrt\\\"'$", e);
					if (map) {
						char r = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
						if (e == '$')
							strata_buf_adds(&val, "$$");
						else
							strata_buf_addch(&val, r);
						i += 2;
						continue;
					}
				}
				if (q == '"' && c == '$' && i + 1 < len && data[i + 1] == '$') {
					strata_buf_adds(&val, "$$");
					i += 2;
					continue;
				}
				strata_buf_addch(&val, c);
				i++;
			}
			if (!closed) {
				env_error(err, name, start_line, "unterminated quoted value of '%s'", key);
				goto out;
			}
			while (i < len && (blank(data[i]) || data[i] == '\r'))
				i++;
			if (i < len && data[i] == '#')
				while (i < len && data[i] != '\n')
					i++;
			if (i < len && data[i] != '\n') {
				env_error(err, name, line, "unexpected text after the quoted value of '%s'", key);
				goto out;
			}
		} else {
			size_t vs = i;
			while (i < len && data[i] != '\n') {
				if (data[i] == '#' && i > vs && blank(data[i - 1]))
					break;
				i++;
			}
			size_t ve = i;
			while (i < len && data[i] != '\n')
				i++;
			while (ve > vs && (blank(data[ve - 1]) || data[ve - 1] == '\r'))
				ve--;
			strata_buf_add(&val, data + vs, ve - vs);
		}
		if (interpolate && strchr(val.data, '$')) {
			char *v = NULL;
			if (compose_interpolate(val.data, dl_lookup, &dl, NULL, NULL, &v, err) < 0) {
				env_error(err, name, start_line, "%s", key);
				goto out;
			}
			compose_env_set(&local, key, v);
			free(v);
		} else {
			compose_env_set(&local, key, val.data);
		}
	}
	for (size_t k = 0; k < local.n; k++) {
		char *eq = strchr(local.kv[k], '=');
		*eq = '\0';
		compose_env_set(out, local.kv[k], eq + 1);
		*eq = '=';
	}
	rc = 0;
out:
	compose_env_release(&local);
	return rc;
}
