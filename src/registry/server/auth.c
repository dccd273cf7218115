/*
 * auth.c — Basic authentication against an htpasswd file (bcrypt only:
 * $2y$, $2b$, $2a$, checked with libcrypt's crypt_r) and per-repository
 * permissions from a small config file:
 *
 *     # USER        ACCESS       REPOSITORY-GLOB
 *     anonymous     pull         public/(glob)
 *     alice         pull,push    *
 *     *             pull         team/(glob)   (any authenticated user)
 *
 * Globs are fnmatch(3) patterns without FNM_PATHNAME ('*' crosses '/').
 * Without a config file every authenticated user may pull and push and
 * anonymous users may do nothing. Comparisons of secrets are constant time
 * (CRYPTO_memcmp). bcrypt is slow on purpose, so successful logins are
 * remembered (sha256 of user, password and stored hash) in a small table.
 * An unknown user name is checked against a dummy hash of the highest cost
 * in the file: answering it at once would tell which names exist.
 */
#include "registry/server/internal.h"

#include <crypt.h>
#include <fnmatch.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 64

struct user {
	char *name;
	char *hash;
};

struct rule {
	char *user; /* "anonymous", "*" or a name */
	int access;
	char *glob;
};

struct reg_auth {
	struct user *users;
	size_t nusers;
	struct rule *rules;
	size_t nrules;
	bool have_rules;
	char *dummy_hash; /* checked for unknown users, so they take as long as known ones */
	pthread_mutex_t lock;
	unsigned char cache[CACHE_SLOTS][32];
	bool cache_used[CACHE_SLOTS];
	unsigned cache_next;
};

void reg_auth_free(struct reg_auth *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nusers; i++) {
		free(a->users[i].name);
		free(a->users[i].hash);
	}
	for (size_t i = 0; i < a->nrules; i++) {
		free(a->rules[i].user);
		free(a->rules[i].glob);
	}
	free(a->users);
	free(a->rules);
	free(a->dummy_hash);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

/* A bcrypt hash of a random password, at the highest cost of the users'. */
static int make_dummy(struct reg_auth *a, const char *path, struct strata_error **err)
{
	unsigned long cost = 0;
	for (size_t i = 0; i < a->nusers; i++) {
		unsigned long c = strtoul(a->users[i].hash + 4, NULL, 10);
		if (c > cost)
			cost = c;
	}
	if (!cost)
		return 0;
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	if (!crypt_gensalt_rn("$2b$", cost, NULL, 0, salt, sizeof(salt)))
		return strata_error_make(err, errno, "%s: make a bcrypt salt of cost %lu", path, cost);
	unsigned char pw[16];
	char pwhex[33];
	if (RAND_bytes(pw, sizeof(pw)) != 1)
		return strata_error_make(err, 0, "%s: no random bytes", path);
	for (size_t i = 0; i < sizeof(pw); i++)
		snprintf(pwhex + 2 * i, 3, "%02x", pw[i]);
	cleanup_free struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *h = crypt_r(pwhex, salt, cd);
	if (!h || *h != '$')
		return strata_error_make(err, errno, "%s: bcrypt", path);
	a->dummy_hash = xstrdup(h);
	return 0;
}

static int load_htpasswd(struct reg_auth *a, const char *path, struct strata_error **err)
{
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	if (strata_read_file(path, &b, 16 << 20, err) < 0)
		return strata_error_wrap(err, "htpasswd file");
	char *save = NULL;
	int lineno = 0;
	for (char *line = strtok_r(b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		char *l = trim(line);
		if (!*l || *l == '#')
			continue;
		char *colon = strchr(l, ':');
		if (!colon || colon == l)
			return strata_error_makec(err, STRATA_E_CONFIG, 0, "%s:%d: expected USER:HASH", path,
						  lineno);
		*colon = '\0';
		const char *hash = colon + 1;
		if (strncmp(hash, "$2y$", 4) && strncmp(hash, "$2b$", 4) && strncmp(hash, "$2a$", 4))
			return strata_error_makec(err, STRATA_E_CONFIG, 0,
						  "%s:%d: user '%s': only bcrypt hashes are supported"
						  " (htpasswd -B)",
						  path, lineno, l);
		if (crypt_checksalt(hash) != CRYPT_SALT_OK)
			return strata_error_makec(err, STRATA_E_CONFIG, 0, "%s:%d: user '%s': invalid hash",
						  path, lineno, l);
		a->users = xrealloc(a->users, (a->nusers + 1) * sizeof(*a->users));
		a->users[a->nusers].name = xstrdup(l);
		a->users[a->nusers].hash = xstrdup(hash);
		a->nusers++;
	}
	return make_dummy(a, path, err);
}

static int load_rules(struct reg_auth *a, const char *path, struct strata_error **err)
{
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	if (strata_read_file(path, &b, 1 << 20, err) < 0)
		return strata_error_wrap(err, "auth config");
	a->have_rules = true;
	char *save = NULL;
	int lineno = 0;
	char *p = b.data;
	while (p) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		lineno++;
		char *l = trim(p);
		p = nl ? nl + 1 : NULL;
		char *hash = strchr(l, '#');
		if (hash)
			*hash = '\0';
		char *user = strtok_r(l, " \t", &save);
		if (!user)
			continue;
		char *acc = strtok_r(NULL, " \t", &save);
		char *glob = strtok_r(NULL, " \t", &save);
		if (!acc || !glob || strtok_r(NULL, " \t", &save))
			return strata_error_makec(err, STRATA_E_CONFIG, 0,
						  "%s:%d: expected USER ACCESS REPOSITORY-GLOB", path, lineno);
		int access = 0;
		char *s2 = NULL;
		for (char *w = strtok_r(acc, ",", &s2); w; w = strtok_r(NULL, ",", &s2)) {
			if (!strcmp(w, "pull"))
				access |= REG_PULL;
			else if (!strcmp(w, "push"))
				access |= REG_PUSH;
			else
				return strata_error_makec(err, STRATA_E_CONFIG, 0,
							  "%s:%d: unknown access '%s' (pull, push)", path,
							  lineno, w);
		}
		a->rules = xrealloc(a->rules, (a->nrules + 1) * sizeof(*a->rules));
		a->rules[a->nrules] = (struct rule){ xstrdup(user), access, xstrdup(glob) };
		a->nrules++;
	}
	return 0;
}

int reg_auth_load(const char *htpasswd, const char *auth_config, struct reg_auth **out,
		  struct strata_error **err)
{
	struct reg_auth *a = xcalloc(1, sizeof(*a));
	pthread_mutex_init(&a->lock, NULL);
	if ((htpasswd && load_htpasswd(a, htpasswd, err) < 0) ||
	    (auth_config && load_rules(a, auth_config, err) < 0)) {
		reg_auth_free(a);
		return -1;
	}
	*out = a;
	return 0;
}

static bool cache_has(struct reg_auth *a, const unsigned char key[32])
{
	bool found = false;
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (a->cache_used[i] && CRYPTO_memcmp(a->cache[i], key, 32) == 0)
			found = true;
	pthread_mutex_unlock(&a->lock);
	return found;
}

static void cache_put(struct reg_auth *a, const unsigned char key[32])
{
	pthread_mutex_lock(&a->lock);
	unsigned i = a->cache_next++ % CACHE_SLOTS;
	memcpy(a->cache[i], key, 32);
	a->cache_used[i] = true;
	pthread_mutex_unlock(&a->lock);
}

int reg_auth_login(struct reg_auth *a, const char *authorization, char **user)
{
	*user = NULL;
	if (!authorization)
		return 1;
	if (strncasecmp(authorization, "Basic ", 6))
		return 0;
	const char *b64 = authorization + 6;
	while (*b64 == ' ')
		b64++;
	size_t n = strlen(b64);
	if (n == 0 || n > 4096 || n % 4)
		return 0;
	cleanup_free unsigned char *dec = xmalloc(n + 1);
	int len = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)n);
	if (len < 0)
		return 0;
	if (n >= 1 && b64[n - 1] == '=')
		len--;
	if (n >= 2 && b64[n - 2] == '=')
		len--;
	dec[len] = '\0';
	if (memchr(dec, '\0', (size_t)len))
		return 0;
	char *colon = strchr((char *)dec, ':');
	if (!colon)
		return 0;
	*colon = '\0';
	const char *name = (const char *)dec, *pass = colon + 1;
	/*
	 * containers/image (skopeo, podman, buildah) without credentials answers
	 * the /v2/ challenge with "Basic Og==" (":"): that is anonymous
	 */
	if (!*name && !*pass)
		return 1;
	const struct user *u = NULL;
	for (size_t i = 0; i < a->nusers; i++)
		if (!strcmp(a->users[i].name, name))
			u = &a->users[i];
	if (!u) {
		/* as slow as a wrong password of a known user */
		if (a->dummy_hash) {
			cleanup_free struct crypt_data *cd = xcalloc(1, sizeof(*cd));
			const char *h = crypt_r(pass, a->dummy_hash, cd);
			(void)h;
		}
		return 0;
	}
	/* cache key: sha256(name \0 pass \0 hash) */
	unsigned char key[32];
	{
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		unsigned int kl = 0;
		if (!c)
			strata_oom();
		EVP_DigestInit_ex(c, EVP_sha256(), NULL);
		EVP_DigestUpdate(c, name, strlen(name) + 1);
		EVP_DigestUpdate(c, pass, strlen(pass) + 1);
		EVP_DigestUpdate(c, u->hash, strlen(u->hash));
		EVP_DigestFinal_ex(c, key, &kl);
		EVP_MD_CTX_free(c);
	}
	if (!cache_has(a, key)) {
		cleanup_free struct crypt_data *cd = xcalloc(1, sizeof(*cd));
		const char *h = crypt_r(pass, u->hash, cd);
		size_t hl = strlen(u->hash);
		if (!h || strlen(h) != hl || CRYPTO_memcmp(h, u->hash, hl) != 0)
			return 0;
		cache_put(a, key);
	}
	*user = xstrdup(name);
	return 1;
}

bool reg_auth_allowed(const struct reg_auth *a, const char *user, const char *name, int access)
{
	if (!a->have_rules)
		return user != NULL;
	int have = 0;
	for (size_t i = 0; i < a->nrules; i++) {
		const struct rule *r = &a->rules[i];
		/* what anonymous may do, every user may do */
		bool who = !strcmp(r->user, "anonymous") ||
			   (user && (!strcmp(r->user, "*") || !strcmp(r->user, user)));
		if (who && fnmatch(r->glob, name, 0) == 0)
			have |= r->access;
	}
	return (have & access) == access;
}

bool reg_auth_anonymous_any(const struct reg_auth *a)
{
	for (size_t i = 0; a->have_rules && i < a->nrules; i++)
		if (!strcmp(a->rules[i].user, "anonymous"))
			return true;
	return false;
}
