/* Names are bytes: layer_create writes UTF-8 names (NFC and NFD) as they
 * are and other bytes under hdrcharset=BINARY; layer_apply restores every
 * name and link target byte for byte, from our layers and from a layer
 * written the way Go's archive/tar and GNU tar write them (raw bytes in the
 * pax path record, no hdrcharset); treehash agrees; CESU-8 is refused. */
#include "tap.h"
#include "layer/layer.h"
#include "util/util.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CERT "NetLock_Arany_=Class_Gold=_F\xc5\x91tan\xc3\xbas\xc3\xadtv\xc3\xa1ny.pem"
#define NFC "caf\xc3\xa9"
#define NFD "cafe\xcc\x81"
#define LAT1 "\xe9t\xe9"
#define FF "bad\xff"

static int buf_sink(void *ctx, const void *p, size_t n, struct strata_error **err)
{
	(void)err;
	return strata_buf_add(ctx, p, n);
}

struct mem_src {
	const struct strata_buf *b;
	size_t pos;
};

static ssize_t mem_source(void *ctx, void *buf, size_t cap, struct strata_error **err)
{
	(void)err;
	struct mem_src *s = ctx;
	size_t n = s->b->len - s->pos;
	if (n > cap)
		n = cap;
	memcpy(buf, s->b->data + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

static void diag_err(struct strata_error **err)
{
	char *s = strata_error_string(*err);
	diag("%s", s);
	free(s);
	strata_error_clear(err);
}

static int make_tar(const char *dir, struct strata_buf *blob, struct strata_error **err)
{
	struct strata_sink sink = { buf_sink, blob };
	struct layer_write_opts wo = { .compression = OCI_COMPRESSION_NONE };
	struct layer_create_opts co = LAYER_CREATE_OPTS_INIT;
	co.mtime_clamp = 1000;
	struct layer_writer *w = NULL;
	struct layer_result res;
	int rc = layer_writer_new(&w, &wo, &sink, err);
	if (rc == 0)
		rc = layer_create(dir, &co, w, err);
	if (rc == 0)
		rc = layer_writer_finish(w, &res, err);
	layer_writer_free(w);
	return rc;
}

static int apply(const struct strata_buf *blob, const char *out, struct strata_error **err)
{
	struct mem_src ms = { blob, 0 };
	struct layer_apply_opts ao = { .media_type = OCI_MT_LAYER };
	return layer_apply_source(mem_source, &ms, out, &ao, NULL, err);
}

static void touch(const char *dir, const char *name)
{
	char *p = strata_path_join(dir, name);
	strata_atomic_write(p, name, strlen(name), 0644, NULL);
	free(p);
}

static bool has_file(const char *dir, const char *name)
{
	char *p = strata_path_join(dir, name);
	struct strata_buf b = STRATA_BUF_INIT;
	bool r = strata_read_file(p, &b, 4096, NULL) == 0 && b.len == strlen(name) && !memcmp(b.data, name, b.len);
	strata_buf_release(&b);
	free(p);
	return r;
}

static bool link_is(const char *dir, const char *name, const char *target)
{
	char *p = strata_path_join(dir, name);
	char t[256];
	ssize_t n = readlink(p, t, sizeof(t) - 1);
	free(p);
	return n == (ssize_t)strlen(target) && !memcmp(t, target, (size_t)n);
}

static size_t count(const struct strata_buf *b, const char *needle)
{
	size_t n = 0, l = strlen(needle);
	for (size_t i = 0; i + l <= b->len; i++)
		if (!memcmp(b->data + i, needle, l))
			n++;
	return n;
}

/* one 512-byte ustar header (typeflag, name, size), checksum filled in */
static void ustar(struct strata_buf *t, char type, const char *name, size_t size, const char *link)
{
	char h[512];
	memset(h, 0, sizeof(h));
	snprintf(h, 100, "%s", name);
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	snprintf(h + 124, 12, "%011zo", size);
	memcpy(h + 136, "00000001750", 11);
	h[156] = type;
	if (link)
		snprintf(h + 157, 100, "%s", link);
	memcpy(h + 257, "ustar\0" "00", 8);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	strata_buf_add(t, h, 512);
}

static void pad(struct strata_buf *t)
{
	static const char z[512];
	if (t->len % 512)
		strata_buf_add(t, z, 512 - t->len % 512);
}

/* a pax 'x' header holding raw path (and linkpath) records, then the entry */
static void go_entry(struct strata_buf *t, char type, const char *path, const char *link, const char *data)
{
	struct strata_buf rec = STRATA_BUF_INIT;
	const char *keys[2] = { "path", "linkpath" };
	const char *vals[2] = { path, link };
	for (int k = 0; k < 2; k++) {
		if (!vals[k])
			continue;
		size_t body = strlen(keys[k]) + strlen(vals[k]) + 3; /* ' ' '=' '\n' */
		size_t len = body + 1;
		while (len != body + (size_t)snprintf(NULL, 0, "%zu", len))
			len = body + (size_t)snprintf(NULL, 0, "%zu", len);
		strata_buf_addf(&rec, "%zu %s=%s\n", len, keys[k], vals[k]);
	}
	ustar(t, 'x', "PaxHeaders/x", rec.len, NULL);
	strata_buf_add(t, rec.data, rec.len);
	pad(t);
	ustar(t, type, "placeholder", data ? strlen(data) : 0, link ? "placeholder" : NULL);
	if (data) {
		strata_buf_adds(t, data);
		pad(t);
	}
	strata_buf_release(&rec);
}

int main(void)
{
	char *tmp = NULL;
	if (strata_mkdtemp("/tmp", "test-names-", &tmp, NULL) < 0)
		return 1;
	struct strata_error *err = NULL;
	char *src = strata_path_join(tmp, "src"), *out = strata_path_join(tmp, "out");
	strata_mkdir_p(src, 0755, NULL);
	const char *files[] = { NFC, NFD, LAT1, FF, CERT, "ascii" };
	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++)
		touch(src, files[i]);
	char *p = strata_path_join(src, "dir-" FF);
	strata_mkdir_p(p, 0755, NULL);
	touch(p, LAT1);
	free(p);
	p = strata_path_join(src, "988a38cb.0");
	ok(symlink(CERT, p) == 0, "symlink to the certificate name");
	free(p);
	p = strata_path_join(src, "link-" NFC);
	ok(symlink(FF, p) == 0, "symlink to a non-UTF-8 name");
	free(p);
	char *a = strata_path_join(src, NFC), *b = strata_path_join(src, "hard-" FF);
	ok(link(a, b) == 0, "hardlink with a non-UTF-8 name");
	free(a), free(b);

	struct strata_buf blob = STRATA_BUF_INIT;
	ok(make_tar(src, &blob, &err) == 0, "layer of non-ASCII names is created");
	if (err)
		diag_err(&err);
	ok(count(&blob, " path=" NFC "\n") == 1, "NFC name in a plain pax path record");
	ok(count(&blob, " path=" NFD "\n") == 1, "NFD name kept as NFD");
	ok(count(&blob, "linkpath=" CERT "\n") == 1, "certificate link target as UTF-8");
	ok(count(&blob, "hdrcharset=BINARY\n") == 6,
	   "hdrcharset=BINARY on exactly the 6 entries with non-UTF-8 names or targets (got %zu)",
	   count(&blob, "hdrcharset=BINARY\n"));
	ok(count(&blob, " path=" FF "\n") == 1 && count(&blob, "linkpath=" FF "\n") == 1 &&
	       count(&blob, "linkpath=" NFC "\n") == 1,
	   "non-UTF-8 name and targets as raw bytes");

	ok(apply(&blob, out, &err) == 0, "layer applies");
	if (err)
		diag_err(&err);
	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++)
		ok(has_file(out, files[i]), "file %zu restored byte for byte", i);
	p = strata_path_join(out, "dir-" FF "/" LAT1);
	ok(strata_path_exists(p), "file in a non-UTF-8 directory");
	free(p);
	ok(link_is(out, "988a38cb.0", CERT), "certificate symlink target exact");
	ok(link_is(out, "link-" NFC, FF), "non-UTF-8 symlink target exact");
	struct stat s1, s2;
	char *h1p = strata_path_join(out, NFC), *h2p = strata_path_join(out, "hard-" FF);
	ok(stat(h1p, &s1) == 0 && stat(h2p, &s2) == 0 && s1.st_ino == s2.st_ino, "hardlink restored");
	free(h1p), free(h2p);
	char t1[LAYER_DIGEST_MAX], t2[LAYER_DIGEST_MAX];
	ok(layer_treehash(src, t1, NULL) == 0 && layer_treehash(out, t2, NULL) == 0 && !strcmp(t1, t2),
	   "treehash of both trees agrees");

	/* a UTF-8 only tree carries no hdrcharset at all */
	char *u = strata_path_join(tmp, "utf8");
	strata_mkdir_p(u, 0755, NULL);
	touch(u, NFC);
	touch(u, CERT);
	struct strata_buf ub = STRATA_BUF_INIT;
	ok(make_tar(u, &ub, &err) == 0 && count(&ub, "hdrcharset") == 0, "no hdrcharset for UTF-8 names");
	strata_buf_release(&ub);

	/* what Go's archive/tar (docker, BuildKit) and GNU tar write */
	struct strata_buf go = STRATA_BUF_INIT;
	go_entry(&go, '0', NFD, NULL, "nfd");
	go_entry(&go, '0', FF, NULL, "ff");
	go_entry(&go, '0', LAT1, NULL, "latin1");
	go_entry(&go, '2', "ln", FF, NULL);
	static const char z[1024];
	strata_buf_add(&go, z, sizeof(z));
	char *gout = strata_path_join(tmp, "gout");
	ok(apply(&go, gout, &err) == 0, "a Go/GNU-style layer (raw pax records, no hdrcharset) applies");
	if (err)
		diag_err(&err);
	struct strata_buf c = STRATA_BUF_INIT;
	p = strata_path_join(gout, NFD);
	ok(strata_read_file(p, &c, 64, NULL) == 0 && c.len == 3 && !memcmp(c.data, "nfd", 3),
	   "NFD name not normalised on read");
	free(p);
	strata_buf_release(&c);
	p = strata_path_join(gout, FF);
	ok(strata_path_exists(p), "0xFF name read raw");
	free(p);
	p = strata_path_join(gout, LAT1);
	ok(strata_path_exists(p), "Latin-1 name read raw");
	free(p);
	ok(link_is(gout, "ln", FF), "raw link target read raw");

	/* CESU-8 (UTF-8-encoded surrogates) would be re-encoded by libarchive: refused */
	char *cz = strata_path_join(tmp, "cesu");
	strata_mkdir_p(cz, 0755, NULL);
	touch(cz, "x\xed\xa0\xbd\xed\xb8\x80");
	struct strata_buf cb = STRATA_BUF_INIT;
	ok(make_tar(cz, &cb, &err) < 0, "a CESU-8 name is refused");
	char *msg = err ? strata_error_string(err) : xstrdup("");
	ok(strstr(msg, "CESU-8") != NULL, "error says why: %s", msg);
	free(msg);
	strata_error_clear(&err);
	strata_buf_release(&cb);

	strata_rm_rf(tmp, NULL);
	strata_buf_release(&blob);
	strata_buf_release(&go);
	free(cz), free(u), free(gout), free(src), free(out), free(tmp);
	return done_testing();
}
