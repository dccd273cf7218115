/*
 * mount.c — RUN --mount=... values (BuildKit's runmount syntax) and the Go
 * duration format used by HEALTHCHECK.
 */
#include "dockerfile/internal.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

void df_mount_release(struct dockerfile_mount *m)
{
	free(m->target);
	free(m->source);
	free(m->from);
	free(m->id);
	free(m->env);
	memset(m, 0, sizeof(*m));
}

/* Split a CSV record (encoding/csv: "" quotes a field, "" inside is a quote). */
static int csv_fields(const char *s, char ***out, size_t *n, struct strata_error **err)
{
	char **v = NULL;
	size_t cnt = 0, cap = 0;
	struct strata_buf f = STRATA_BUF_INIT;
	const char *p = s;
	for (;;) {
		strata_buf_reset(&f);
		if (*p == '"') {
			p++;
			for (;;) {
				if (!*p) {
					strata_buf_release(&f);
					df_strv_free(v, cnt);
					return strata_error_make(err, 0, "unterminated quote");
				}
				if (*p == '"') {
					if (p[1] == '"') {
						strata_buf_addch(&f, '"');
						p += 2;
						continue;
					}
					p++;
					break;
				}
				strata_buf_addch(&f, *p++);
			}
			if (*p && *p != ',') {
				strata_buf_release(&f);
				df_strv_free(v, cnt);
				return strata_error_make(err, 0, "extraneous text after a quoted field");
			}
		} else {
			while (*p && *p != ',')
				strata_buf_addch(&f, *p++);
		}
		DF_PUSH(v, cnt, cap, strata_buf_detach(&f, NULL));
		if (!*p)
			break;
		p++; /* ',' */
	}
	*out = v;
	*n = cnt;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!v || !strcasecmp(v, "true") || !strcmp(v, "1")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(v, "false") || !strcmp(v, "0")) {
		*out = false;
		return 0;
	}
	return -1;
}

static int parse_num(const char *v, int base, long long *out)
{
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, base);
	if (errno || end == v || *end || x < 0)
		return -1;
	*out = x;
	return 0;
}

/* "64m", "1g", "1024" -> bytes (docker's RAMInBytes, binary units). */
static int parse_size(const char *v, long long *out)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (errno || end == v || x < 0)
		return -1;
	double mul = 1;
	switch (tolower((unsigned char)*end)) {
	case 0: break;
	case 'b': mul = 1; break;
	case 'k': mul = 1024.0; break;
	case 'm': mul = 1024.0 * 1024; break;
	case 'g': mul = 1024.0 * 1024 * 1024; break;
	case 't': mul = 1024.0 * 1024 * 1024 * 1024; break;
	default: return -1;
	}
	if (*end) {
		end++;
		if (tolower((unsigned char)*end) == 'i')
			end++;
		if (tolower((unsigned char)*end) == 'b')
			end++;
		if (*end)
			return -1;
	}
	x *= mul;
	if (x > 9.0e18)
		return -1;
	*out = (long long)x;
	return 0;
}

int df_mount_parse(const char *spec, df_expand_fn expand, void *ctx, bool check_only,
		   struct dockerfile_mount *m, struct strata_error **err)
{
	char **fields = NULL;
	size_t nf = 0;
	memset(m, 0, sizeof(*m));
	m->type = DF_MOUNT_BIND;
	m->uid = m->gid = -1;
	m->from_stage = -1;
	if (csv_fields(spec, &fields, &nf, err) < 0)
		return -1;
	int ro = -1, req = -1;
	int r = 0;
	char *sharing = NULL, *mode = NULL, *uid = NULL, *gid = NULL, *size = NULL;
	/* type first: it decides the defaults */
	for (size_t i = 0; i < nf; i++) {
		if (!strncasecmp(fields[i], "type=", 5)) {
			const char *t = fields[i] + 5;
			if (!strcmp(t, "bind"))
				m->type = DF_MOUNT_BIND;
			else if (!strcmp(t, "cache"))
				m->type = DF_MOUNT_CACHE;
			else if (!strcmp(t, "tmpfs"))
				m->type = DF_MOUNT_TMPFS;
			else if (!strcmp(t, "secret"))
				m->type = DF_MOUNT_SECRET;
			else if (!strcmp(t, "ssh"))
				m->type = DF_MOUNT_SSH;
			else {
				r = strata_error_make(err, 0,
						      "unsupported mount type '%s' (bind, cache, tmpfs, secret or ssh)", t);
				goto out;
			}
		}
	}
	for (size_t i = 0; i < nf && r == 0; i++) {
		char *f = fields[i];
		char *eq = strchr(f, '=');
		char *key = eq ? xstrndup(f, (size_t)(eq - f)) : xstrdup(f);
		for (char *c = key; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		char *val = NULL;
		if (eq) {
			if (expand && strcmp(key, "type")) {
				if (expand(ctx, eq + 1, &val, err) < 0) {
					free(key);
					r = -1;
					break;
				}
			} else {
				val = xstrdup(eq + 1);
			}
		}
		bool b = false;
		if (!strcmp(key, "type")) {
			/* done above */
		} else if (!strcmp(key, "readonly") || !strcmp(key, "ro")) {
			if (parse_bool(val, &b) < 0)
				r = strata_error_make(err, 0, "invalid value for %s: '%s'", key, val);
			ro = b;
		} else if (!strcmp(key, "readwrite") || !strcmp(key, "rw")) {
			if (parse_bool(val, &b) < 0)
				r = strata_error_make(err, 0, "invalid value for %s: '%s'", key, val);
			ro = !b;
		} else if (!strcmp(key, "required")) {
			if (parse_bool(val, &b) < 0)
				r = strata_error_make(err, 0, "invalid value for %s: '%s'", key, val);
			req = b;
		} else if (!val) {
			r = strata_error_make(err, 0, "invalid field '%s': must be a key=value pair", f);
		} else if (!strcmp(key, "target") || !strcmp(key, "dst") || !strcmp(key, "destination") ||
			   !strcmp(key, "dest")) {
			free(m->target);
			m->target = STRATA_STEAL(val);
		} else if (!strcmp(key, "source") || !strcmp(key, "src")) {
			free(m->source);
			m->source = STRATA_STEAL(val);
		} else if (!strcmp(key, "from")) {
			free(m->from);
			m->from = STRATA_STEAL(val);
		} else if (!strcmp(key, "id")) {
			free(m->id);
			m->id = STRATA_STEAL(val);
		} else if (!strcmp(key, "env") && m->type == DF_MOUNT_SECRET) {
			free(m->env);
			m->env = STRATA_STEAL(val);
		} else if (!strcmp(key, "sharing")) {
			free(sharing);
			sharing = STRATA_STEAL(val);
		} else if (!strcmp(key, "mode")) {
			free(mode);
			mode = STRATA_STEAL(val);
		} else if (!strcmp(key, "uid")) {
			free(uid);
			uid = STRATA_STEAL(val);
		} else if (!strcmp(key, "gid")) {
			free(gid);
			gid = STRATA_STEAL(val);
		} else if (!strcmp(key, "size") && m->type == DF_MOUNT_TMPFS) {
			free(size);
			size = STRATA_STEAL(val);
		} else {
			r = strata_error_make(err, 0, "unexpected key '%s' for mount type %s", key,
					      m->type == DF_MOUNT_BIND    ? "bind"
					      : m->type == DF_MOUNT_CACHE ? "cache"
					      : m->type == DF_MOUNT_TMPFS ? "tmpfs"
					      : m->type == DF_MOUNT_SECRET ? "secret" : "ssh");
		}
		free(key);
		free(val);
	}
	if (r < 0)
		goto out;
#define SKIP(v) (check_only && strchr((v), '$'))
	if (sharing && !SKIP(sharing)) {
		if (!strcmp(sharing, "shared"))
			m->sharing = DF_SHARING_SHARED;
		else if (!strcmp(sharing, "private"))
			m->sharing = DF_SHARING_PRIVATE;
		else if (!strcmp(sharing, "locked"))
			m->sharing = DF_SHARING_LOCKED;
		else {
			r = strata_error_make(err, 0, "unsupported sharing value '%s'", sharing);
			goto out;
		}
	}
	long long x;
	if (mode && !SKIP(mode)) {
		if (parse_num(mode, 8, &x) < 0 || x > 07777) {
			r = strata_error_make(err, 0, "invalid mode '%s'", mode);
			goto out;
		}
		m->mode = (uint32_t)x;
		m->mode_set = true;
	}
	if (uid && !SKIP(uid)) {
		if (parse_num(uid, 10, &m->uid) < 0 || m->uid > 0xffffffffLL) {
			r = strata_error_make(err, 0, "invalid uid '%s'", uid);
			goto out;
		}
	}
	if (gid && !SKIP(gid)) {
		if (parse_num(gid, 10, &m->gid) < 0 || m->gid > 0xffffffffLL) {
			r = strata_error_make(err, 0, "invalid gid '%s'", gid);
			goto out;
		}
	}
	if (size && !SKIP(size)) {
		if (parse_size(size, &m->size) < 0) {
			r = strata_error_make(err, 0, "invalid size '%s'", size);
			goto out;
		}
	}
#undef SKIP
	/* Defaults and requirements. */
	switch (m->type) {
	case DF_MOUNT_BIND:
		m->readonly = ro != 0; /* read-only unless rw */
		if (!m->target)
			r = strata_error_make(err, 0, "mount type bind requires a target");
		break;
	case DF_MOUNT_CACHE:
		m->readonly = ro == 1;
		if (!m->target)
			r = strata_error_make(err, 0, "mount type cache requires a target");
		else if (!m->id)
			m->id = xstrdup(m->target);
		if (!m->mode_set)
			m->mode = 0755;
		break;
	case DF_MOUNT_TMPFS:
		m->readonly = ro == 1;
		if (!m->target)
			r = strata_error_make(err, 0, "mount type tmpfs requires a target");
		break;
	case DF_MOUNT_SECRET:
		m->readonly = true;
		m->required = req == 1;
		if (!m->id && m->target) {
			const char *sl = strrchr(m->target, '/');
			m->id = xstrdup(sl ? sl + 1 : m->target);
		}
		if (!m->id && !m->env)
			r = strata_error_make(err, 0, "mount type secret requires an id or a target");
		if (!m->id && m->env)
			m->id = xstrdup(m->env);
		if (!m->target && !m->env)
			m->target = xasprintf("/run/secrets/%s", m->id ? m->id : "");
		if (!m->mode_set)
			m->mode = 0400;
		break;
	case DF_MOUNT_SSH:
		m->readonly = true;
		m->required = req == 1;
		if (!m->id)
			m->id = xstrdup("default");
		if (!m->mode_set)
			m->mode = 0600;
		break;
	}
	if (r == 0 && m->type != DF_MOUNT_SECRET && m->type != DF_MOUNT_SSH && req != -1)
		r = strata_error_make(err, 0, "'required' is only valid for secret and ssh mounts");
out:
	free(sharing);
	free(mode);
	free(uid);
	free(gid);
	free(size);
	df_strv_free(fields, nf);
	if (r < 0)
		df_mount_release(m);
	return r;
}

/* Go's time.ParseDuration. */
int df_parse_duration(const char *s, int64_t *ns)
{
	if (!strcmp(s, "0")) {
		*ns = 0;
		return 0;
	}
	if (!*s)
		return -1;
	double total = 0;
	const char *p = s;
	if (*p == '+')
		p++;
	if (*p == '-')
		return -1;
	while (*p) {
		if (!isdigit((unsigned char)*p) && *p != '.')
			return -1;
		char *end;
		double v = strtod(p, &end);
		if (end == p)
			return -1;
		p = end;
		double unit;
		if (!strncmp(p, "ns", 2)) { unit = 1; p += 2; }
		else if (!strncmp(p, "us", 2)) { unit = 1e3; p += 2; }
		else if (!strncmp(p, "\xc2\xb5s", 3)) { unit = 1e3; p += 3; }
		else if (!strncmp(p, "ms", 2)) { unit = 1e6; p += 2; }
		else if (*p == 's') { unit = 1e9; p++; }
		else if (*p == 'm') { unit = 60e9; p++; }
		else if (*p == 'h') { unit = 3600e9; p++; }
		else return -1;
		total += v * unit;
		if (total > 9.2e18)
			return -1;
	}
	*ns = (int64_t)total;
	return 0;
}
