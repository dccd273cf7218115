/*
 * exec_user.c — USER resolution from the image's /etc/passwd and /etc/group,
 * with docker's (runc's) rules.
 */
#include "build/exec_internal.h"
#include "util/util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* A numeric id: all digits, fits in a positive int. */
static bool parse_id(const char *s, size_t n, unsigned long *out)
{
	if (n == 0 || n > 10)
		return false;
	unsigned long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > INT_MAX)
		return false;
	*out = v;
	return true;
}

/* Field i (0-based, ':'-separated) of line [p, e): sets *fs and *fn. */
static bool field(const char *p, const char *e, int i, const char **fs, size_t *fn)
{
	const char *s = p;
	for (int k = 0; k < i; k++) {
		const char *c = memchr(s, ':', (size_t)(e - s));
		if (!c)
			return false;
		s = c + 1;
	}
	const char *c = memchr(s, ':', (size_t)(e - s));
	*fs = s;
	*fn = c ? (size_t)(c - s) : (size_t)(e - s);
	return true;
}

static bool eq(const char *s, size_t n, const char *w, size_t wn)
{
	return n == wn && memcmp(s, w, n) == 0;
}

/* Next non-empty, non-comment line of the text at *cur: [*ls, *le). */
static bool next_line(const char **cur, const char **ls, const char **le)
{
	while (*cur && **cur) {
		const char *p = *cur, *e = strchrnul(p, '\n');
		*cur = *e ? e + 1 : e;
		if (p == e || *p == '#')
			continue;
		*ls = p;
		*le = e;
		return true;
	}
	return false;
}

static void add_group(struct exec_user *u, gid_t g)
{
	for (size_t i = 0; i < u->n_groups; i++)
		if (u->groups[i] == g)
			return;
	u->groups = xreallocarray(u->groups, u->n_groups + 1, sizeof(*u->groups));
	u->groups[u->n_groups++] = g;
}

int exec_user_resolve(const char *spec, const char *passwd, const char *group, struct exec_user *out,
		      struct strata_error **err)
{
	memset(out, 0, sizeof(*out));
	if (!spec)
		spec = "";
	const char *colon = strchr(spec, ':');
	size_t un = colon ? (size_t)(colon - spec) : strlen(spec);
	const char *gs = colon ? colon + 1 : NULL;
	size_t gn = gs ? strlen(gs) : 0;
	if (colon && gn == 0)
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "invalid user '%s': empty group", spec);

	unsigned long uid = 0, gid = 0, id = 0;
	/* an empty user is root, looked up by uid 0 (runc does the same) */
	bool u_numeric = un == 0 || parse_id(spec, un, &id);
	if (u_numeric)
		uid = id;
	cleanup_free char *home = NULL;
	cleanup_free char *uname = NULL;
	bool matched = false;

	{
		const char *cur = passwd, *p, *e;
		while (next_line(&cur, &p, &e)) {
			const char *f;
			size_t fl;
			unsigned long puid, pgid;
			if (!field(p, e, 0, &f, &fl))
				continue;
			const char *uf, *gf, *hf;
			size_t ul, gl, hl;
			if (!field(p, e, 2, &uf, &ul) || !field(p, e, 3, &gf, &gl) || !parse_id(uf, ul, &puid) ||
			    !parse_id(gf, gl, &pgid))
				continue;
			if (!(eq(f, fl, spec, un) || (u_numeric && puid == uid)))
				continue;
			matched = true;
			uid = puid;
			gid = pgid;
			uname = xstrndup(f, fl);
			if (field(p, e, 5, &hf, &hl) && hl > 0)
				home = xstrndup(hf, hl);
			break;
		}
		if (!matched && !u_numeric)
			return strata_error_makec(err, STRATA_E_CONFIG, 0,
						  "unable to find user '%.*s': no matching entries in passwd file",
						  (int)un, spec);
	}

	if (gs) {
		bool g_numeric = parse_id(gs, gn, &id);
		bool gmatched = false;
		const char *cur = group, *p, *e;
		while (next_line(&cur, &p, &e)) {
			const char *f, *gf;
			size_t fl, gl;
			unsigned long ggid;
			if (!field(p, e, 0, &f, &fl) || !field(p, e, 2, &gf, &gl) || !parse_id(gf, gl, &ggid))
				continue;
			if (eq(f, fl, gs, gn) || (g_numeric && ggid == id)) {
				gid = ggid;
				gmatched = true;
				break;
			}
		}
		if (!gmatched) {
			if (!g_numeric)
				return strata_error_makec(err, STRATA_E_CONFIG, 0,
							  "unable to find group '%s': no matching entries in group file",
							  gs);
			gid = id;
		}
	} else if (matched) {
		size_t nl = strlen(uname);
		const char *cur = group, *p, *e;
		while (next_line(&cur, &p, &e)) {
			const char *gf, *lf;
			size_t gl, ll;
			unsigned long ggid;
			if (!field(p, e, 2, &gf, &gl) || !parse_id(gf, gl, &ggid) || !field(p, e, 3, &lf, &ll))
				continue;
			for (const char *m = lf, *me; m < lf + ll; m = me + 1) {
				me = memchr(m, ',', (size_t)(lf + ll - m));
				if (!me)
					me = lf + ll;
				if (eq(m, (size_t)(me - m), uname, nl))
					add_group(out, (gid_t)ggid);
			}
		}
	}
	out->uid = (uid_t)uid;
	out->gid = (gid_t)gid;
	out->home = home ? STRATA_STEAL(home) : xstrdup("/");
	return 0;
}

void exec_user_release(struct exec_user *u)
{
	free(u->groups);
	free(u->home);
	u->groups = NULL;
	u->home = NULL;
	u->n_groups = 0;
}
