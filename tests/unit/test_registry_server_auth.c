/* Unit tests of the registry's auth: htpasswd (bcrypt), Basic parsing, permissions. */
#include "tap.h"
#include "registry/server/internal.h"

#include <crypt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char *write_tmp(const char *dir, const char *name, const char *content)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	fputs(content, f);
	fclose(f);
	return p;
}

static char *basic(const char *user, const char *pass)
{
	cleanup_free char *raw = xasprintf("%s:%s", user, pass);
	unsigned char out[512];
	int n = EVP_EncodeBlock(out, (const unsigned char *)raw, (int)strlen(raw));
	return xasprintf("Basic %.*s", n, out);
}

int main(void)
{
	char tmpl[] = "/tmp/strata-unit-auth.XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct crypt_data cd = { 0 };
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	crypt_gensalt_rn("$2y$", 5, NULL, 0, salt, sizeof(salt));
	cleanup_free char *hash = xstrdup(crypt_r("s3cret", salt, &cd));
	cleanup_free char *ht_text = xasprintf("# users\nalice:%s\n\nbob:%s\n", hash, hash);
	cleanup_free char *ht = write_tmp(dir, "htpasswd", ht_text);
	cleanup_free char *conf = write_tmp(dir, "auth.conf",
					    "alice pull,push *  # everything\n"
					    "bob pull team/*\n"
					    "anonymous pull public/*\n");

	struct reg_auth *a = NULL;
	struct strata_error *err = NULL;
	ok(reg_auth_load(ht, conf, &a, &err) == 0, "load htpasswd and config");

	char *user = NULL;
	ok(reg_auth_login(a, NULL, &user) == 1 && user == NULL, "no header: anonymous");
	cleanup_free char *good = basic("alice", "s3cret");
	ok(reg_auth_login(a, good, &user) == 1, "right password accepted");
	is_str(user, "alice", "user name returned");
	free(user);
	ok(reg_auth_login(a, good, &user) == 1, "accepted again (cache)");
	free(user);
	cleanup_free char *bad = basic("alice", "s3creT");
	ok(reg_auth_login(a, bad, &user) == 0 && !user, "wrong password refused");
	cleanup_free char *nobody = basic("carol", "s3cret");
	ok(reg_auth_login(a, nobody, &user) == 0, "unknown user refused");
	ok(reg_auth_login(a, "Bearer xyz", &user) == 0, "other schemes refused");
	ok(reg_auth_login(a, "Basic ###", &user) == 0, "bad base64 refused");
	ok(reg_auth_login(a, "Basic YWxpY2U=", &user) == 0, "no colon refused");

	ok(reg_auth_allowed(a, "alice", "any/thing", REG_PUSH), "alice pushes anywhere");
	ok(reg_auth_allowed(a, "bob", "team/x/y", REG_PULL), "bob pulls team/*");
	ok(!reg_auth_allowed(a, "bob", "team/x", REG_PUSH), "bob does not push team/*");
	ok(!reg_auth_allowed(a, "bob", "other", REG_PULL), "bob does not pull other");
	ok(reg_auth_allowed(a, "bob", "public/p", REG_PULL), "users may what anonymous may");
	ok(reg_auth_allowed(a, NULL, "public/p", REG_PULL), "anonymous pulls public/*");
	ok(!reg_auth_allowed(a, NULL, "public/p", REG_PUSH), "anonymous never pushes");
	ok(reg_auth_anonymous_any(a), "anonymous has some access");
	reg_auth_free(a);

	/* without a config: users do everything, anonymous nothing */
	a = NULL;
	ok(reg_auth_load(ht, NULL, &a, &err) == 0, "htpasswd only");
	ok(reg_auth_allowed(a, "bob", "x", REG_PUSH | REG_PULL), "any user pulls and pushes");
	ok(!reg_auth_allowed(a, NULL, "x", REG_PULL), "anonymous may not pull");
	ok(!reg_auth_anonymous_any(a), "anonymous has no access");
	reg_auth_free(a);

	cleanup_free char *plain = write_tmp(dir, "plain", "dave:{SHA}abc\n");
	a = NULL;
	ok(reg_auth_load(plain, NULL, &a, &err) < 0, "non-bcrypt hashes refused");
	char *msg = strata_error_string(err);
	ok(strstr(msg, "plain:1: user 'dave': only bcrypt") != NULL, "error names file, line and user: %s", msg);
	free(msg);
	strata_error_clear(&err);

	cleanup_free char *badconf = write_tmp(dir, "bad.conf", "# x\nalice pull\n");
	ok(reg_auth_load(ht, badconf, &a, &err) < 0, "short config line refused");
	msg = strata_error_string(err);
	ok(strstr(msg, "bad.conf:2: expected USER ACCESS REPOSITORY-GLOB") != NULL, "error names the line: %s", msg);
	free(msg);
	strata_error_clear(&err);

	cleanup_free char *rm = xasprintf("rm -rf '%s'", dir);
	if (system(rm) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
