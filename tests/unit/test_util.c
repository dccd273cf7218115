#include "tap.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static int fails_with_errno(struct strata_error **err)
{
	return strata_error_make(err, ENOENT, "open '%s'", "x");
}

static int fails_wrapped(struct strata_error **err)
{
	if (fails_with_errno(err) < 0)
		return strata_error_wrap(err, "load config");
	return 0;
}

static void test_error(void)
{
	struct strata_error *err = NULL;
	ok(fails_wrapped(&err) == -1, "maker returns -1");
	char *s = strata_error_string(err);
	is_str(s, "load config: open 'x': No such file or directory", "cause chain reads outer to inner");
	free(s);
	is_int(strata_error_errnum(err), ENOENT, "errno found along the chain");
	is_int(strata_error_code(err), 0, "no category");
	strata_error_set_code(&err, STRATA_E_CONFIG);
	is_int(strata_error_code(err), STRATA_E_CONFIG, "category set");
	strata_error_clear(&err);
	ok(err == NULL, "clear resets");
	ok(fails_wrapped(NULL) == -1, "NULL err is allowed");
	strata_error_wrap(&err, "no cause %d", 1);
	s = strata_error_string(err);
	is_str(s, "no cause 1", "wrap without a cause makes a plain error");
	free(s);
	strata_error_free(err);
}

static void test_buf(void)
{
	struct strata_buf b = STRATA_BUF_INIT;
	ok(b.data != NULL && b.data[0] == '\0', "empty buffer is a valid string");
	strata_buf_adds(&b, "hello");
	strata_buf_addch(&b, ' ');
	strata_buf_addf(&b, "%d-%s", 42, "x");
	is_str(b.data, "hello 42-x", "appends");
	is_int(b.len, 10, "length");
	for (int i = 0; i < 1000; i++)
		strata_buf_adds(&b, "abcdefgh");
	is_int(b.len, 8010, "grows");
	size_t n;
	char *d = strata_buf_detach(&b, &n);
	is_int(n, 8010, "detach length");
	ok(b.len == 0 && b.data[0] == '\0', "detach leaves buffer empty");
	free(d);

	struct strata_buf c;
	strata_buf_init(&c, 8);
	ok(strata_buf_adds(&c, "12345678") == 0, "fill to the cap");
	errno = 0;
	ok(strata_buf_addch(&c, 'x') == -1 && errno == E2BIG, "cap enforced");
	is_str(c.data, "12345678", "failed append leaves content unchanged");
	strata_buf_truncate(&c, 3);
	is_str(c.data, "123", "truncate");
	strata_buf_release(&c);
	d = strata_buf_detach(&c, NULL);
	is_str(d, "", "detach of empty gives an owned empty string");
	free(d);
}

static void test_hash(void)
{
	char hex[65];
	strata_sha256_hex("", 0, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 of empty");
	struct strata_hash h;
	char out[STRATA_HASH_HEX_MAX];
	strata_hash_init(&h, STRATA_HASH_SHA256);
	strata_hash_update(&h, "a", 1);
	strata_hash_update(&h, "bc", 2);
	strata_hash_final(&h, out);
	is_str(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "streaming sha256 of abc");
	strata_hash_init(&h, STRATA_HASH_SHA512);
	strata_hash_update(&h, "abc", 3);
	strata_hash_final(&h, out);
	is_str(out,
	       "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
	       "sha512 of abc");
}

static void test_fs(void)
{
	struct strata_error *err = NULL;
	char *dir = NULL;
	ok(strata_mkdtemp("/tmp", "strata-test-", &dir, &err) == 0, "mkdtemp");
	char *deep = strata_path_join(dir, "a/b/c");
	ok(strata_mkdir_p(deep, 0755, &err) == 0, "mkdir -p");
	ok(strata_mkdir_p(deep, 0755, &err) == 0, "mkdir -p of an existing dir");
	char *f = strata_path_join(deep, "file");
	ok(strata_atomic_write(f, "content", 7, 0640, &err) == 0, "atomic write");
	struct strata_buf b = STRATA_BUF_INIT;
	ok(strata_read_file(f, &b, 100, &err) == 0, "read back");
	is_str(b.data, "content", "content survives");
	struct stat st;
	stat(f, &st);
	is_int(st.st_mode & 0777, 0640, "mode applied");
	strata_buf_reset(&b);
	ok(strata_read_file(f, &b, 3, &err) == -1, "read of a file over the limit fails");
	strata_error_clear(&err);
	strata_buf_release(&b);

	struct strata_atomic a = STRATA_ATOMIC_INIT;
	ok(strata_atomic_open(&a, f, 0644, &err) == 0, "atomic open");
	strata_write_full(a.fd, "partial", 7, "tmp", &err);
	char *tmp = xstrdup(a.tmp);
	strata_atomic_abort(&a);
	ok(!strata_path_exists(tmp), "abort removes the temp file");
	free(tmp);
	ok(strata_read_file(f, &b, 100, &err) == 0 && !strcmp(b.data, "content"), "abort leaves the old file");
	strata_buf_release(&b);

	char *lock = strata_path_join(dir, "lock");
	int fd = strata_lock_file(lock, true, &err);
	ok(fd >= 0, "lock taken");
	close(fd);
	free(lock);

	char *p = strata_path_join("/", "x");
	is_str(p, "/x", "join with root");
	free(p);
	p = strata_path_join("a/", "/b");
	is_str(p, "a/b", "join drops duplicate slashes");
	free(p);

	ok(strata_rm_rf(dir, &err) == 0, "rm -rf");
	ok(!strata_path_exists(dir), "tree gone");
	ok(strata_rm_rf(dir, &err) == 0, "rm -rf of a missing path is fine");
	free(f);
	free(deep);
	free(dir);
	strata_error_free(err);
}

static void test_json(void)
{
	struct strata_error *err = NULL;
	json_t *j = NULL;
	const char *doc = "{\"b\":1,\"a\":\"x\",\"z\":{\"k\":true},\"unknown\":[1,2]}";
	ok(strata_json_parse(doc, strlen(doc), "doc", &j, &err) == 0, "parse");
	char *out = strata_json_dump(j, NULL);
	is_str(out, doc, "order and unknown fields survive a round trip");
	free(out);
	const char *s = NULL;
	int64_t n = 0;
	bool bv = false;
	json_t *o = NULL;
	is_int(strata_json_get_string(j, "a", true, "doc", &s, &err), 1, "get string");
	is_str(s, "x", "string value");
	is_int(strata_json_get_int(j, "b", true, "doc", &n, &err), 1, "get int");
	is_int(n, 1, "int value");
	is_int(strata_json_get_object(j, "z", true, "doc", &o, &err), 1, "get object");
	is_int(strata_json_get_bool(o, "k", true, "doc", &bv, &err), 1, "get bool");
	ok(bv, "bool value");
	is_int(strata_json_get_string(j, "missing", false, "doc", &s, &err), 0, "optional absent");
	is_int(strata_json_get_string(j, "b", true, "doc", &s, &err), -1, "wrong type fails");
	char *m = strata_error_string(err);
	is_str(m, "doc: field 'b' must be a string", "type error names the field");
	free(m);
	strata_error_clear(&err);
	json_decref(j);

	j = NULL;
	ok(strata_json_parse("{\"a\":1,\n\"a\":2}", 14, "x.json", &j, &err) == -1, "duplicate keys rejected");
	m = strata_error_string(err);
	ok(strstr(m, "x.json:") == m, "parse error names the source: %s", m);
	free(m);
	strata_error_clear(&err);
	ok(strata_json_parse("{\"a\":", 5, "t.json", &j, &err) == -1, "truncated JSON rejected");
	strata_error_clear(&err);
}

static void test_utf8(void)
{
	ok(strata_utf8_valid("caf\xc3\xa9", 5), "UTF-8 is valid");
	ok(!strata_utf8_valid("bad\xff", 4), "0xFF is not");
	ok(!strata_utf8_valid("\xc0\xaf", 2), "an overlong form is not");
	ok(!strata_utf8_valid("\xed\xa0\x80", 3), "a surrogate is not");
	ok(!strata_utf8_valid("\xf4\x90\x80\x80", 4), "past U+10FFFF is not");
	ok(!strata_utf8_valid("\xc3", 1), "a cut sequence is not");
	char *a = strata_utf8_lossy("caf\xc3\xa9");
	is_str(a, "caf\xc3\xa9", "lossy: valid text unchanged");
	free(a);
	a = strata_utf8_lossy("a\xff\xfe" "b");
	is_str(a, "a\xef\xbf\xbd\xef\xbf\xbd" "b", "lossy: one U+FFFD per bad byte, as Go");
	free(a);
	a = strata_utf8_exact("caf\xc3\xa9");
	is_str(a, "caf\xc3\xa9", "exact: valid text unchanged");
	free(a);
	char *x = strata_utf8_exact("a\xff"), *y = strata_utf8_exact("a\xfe"), *z = strata_utf8_exact("a\xf4\x8f\xbf\xbf");
	ok(strcmp(x, y) && strcmp(x, z) && strcmp(y, z), "exact: 0xFF, 0xFE and U+10FFFF map apart");
	ok(strata_utf8_valid(x, strlen(x)) && strata_utf8_valid(z, strlen(z)), "exact: the results are UTF-8");
	free(x), free(y), free(z);
	json_t *j = strata_json_text("x\xff");
	ok(j && json_is_string(j), "strata_json_text never fails on bytes");
	json_decref(j);
	j = strata_json_exact(NULL);
	ok(json_is_null(j), "NULL is JSON null");
	json_decref(j);
}

int main(void)
{
	test_utf8();
	test_error();
	test_buf();
	test_hash();
	test_fs();
	test_json();
	return done_testing();
}
