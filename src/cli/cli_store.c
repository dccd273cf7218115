#include "cli/cli_store.h"
#include "layer/layer.h"

#include <string.h>
#include <zlib.h>

int cli_store_open(struct store **out, struct strata_error **err)
{
	cleanup_free char *root = cli_store_root();
	return store_open(root, out, err);
}

void cli_human_size(int64_t bytes, char *buf, size_t n)
{
	static const char *units[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1000.0 && u + 1 < STRATA_ARRAY_SIZE(units)) {
		v /= 1000.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%lldB", (long long)bytes);
	else
		snprintf(buf, n, "%.3g%s", v, units[u]);
}

void cli_human_age(time_t t, time_t now, char *buf, size_t n)
{
	if (t <= 0) {
		snprintf(buf, n, "N/A");
		return;
	}
	long long d = (long long)(now - t);
	if (d < 1)
		snprintf(buf, n, "Less than a second ago");
	else if (d < 60)
		snprintf(buf, n, "%lld second%s ago", d, d == 1 ? "" : "s");
	else if (d < 120)
		snprintf(buf, n, "About a minute ago");
	else if (d < 3600)
		snprintf(buf, n, "%lld minutes ago", d / 60);
	else if (d < 7200)
		snprintf(buf, n, "About an hour ago");
	else if (d < 48 * 3600)
		snprintf(buf, n, "%lld hours ago", d / 3600);
	else if (d < 14 * 86400)
		snprintf(buf, n, "%lld days ago", d / 86400);
	else if (d < 60 * 86400)
		snprintf(buf, n, "%lld weeks ago", d / (7 * 86400));
	else if (d < 730 * 86400)
		snprintf(buf, n, "%lld months ago", d / (30 * 86400));
	else
		snprintf(buf, n, "%lld years ago", d / (365 * 86400));
}

void cli_name_split(const char *full, char **repo, char **tag)
{
	struct oci_ref r = OCI_REF_INIT;
	if (!full || oci_ref_parse(full, &r, NULL) < 0) {
		*repo = xstrdup("<none>");
		*tag = xstrdup("<none>");
		return;
	}
	*tag = xstrdup(r.tag ? r.tag : "<none>");
	oci_ref_set_tag(&r, NULL);
	free(r.digest);
	r.digest = NULL;
	*repo = oci_ref_familiar(&r);
	oci_ref_release(&r);
}

/* ---- layer import: plain or gzip tar -> gzip layer blob, one pass ---- */

struct tar_check {
	unsigned char head[512];
	size_t have;
};

static int feed(struct layer_writer *w, struct tar_check *tc, const void *p, size_t n,
		struct strata_error **err)
{
	if (tc->have < sizeof(tc->head)) {
		size_t k = n < sizeof(tc->head) - tc->have ? n : sizeof(tc->head) - tc->have;
		memcpy(tc->head + tc->have, p, k);
		tc->have += k;
	}
	return layer_writer_write(w, p, n, err);
}

static int check_tar(const struct tar_check *tc, const char *what, struct strata_error **err)
{
	if (tc->have < 512 || memcmp(tc->head + 257, "ustar", 5))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s' is not a tar archive", what);
	return 0;
}

static int copy_plain(int fd, struct layer_writer *w, struct tar_check *tc, const unsigned char *pre,
		      size_t npre, const char *what, struct strata_error **err)
{
	if (feed(w, tc, pre, npre, err) < 0)
		return -1;
	cleanup_free unsigned char *buf = xmalloc(1 << 16);
	for (;;) {
		ssize_t r = strata_read_full(fd, buf, 1 << 16, what, err);
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		if (feed(w, tc, buf, (size_t)r, err) < 0)
			return -1;
	}
}

/* When z has no input left and fd has more, read the next chunk of it into in
 * (1 << 16 bytes). @return 0 or -1. */
static int refill(z_stream *z, int fd, unsigned char *in, bool *eof, const char *what, struct strata_error **err)
{
	if (z->avail_in || *eof)
		return 0;
	ssize_t k = strata_read_full(fd, in, 1 << 16, what, err);
	if (k < 0)
		return -1;
	*eof = k == 0;
	z->next_in = in;
	z->avail_in = (uInt)k;
	return 0;
}

static int copy_gunzip(int fd, struct layer_writer *w, struct tar_check *tc, const unsigned char *pre,
		       size_t npre, const char *what, struct strata_error **err)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return strata_error_make(err, 0, "zlib: inflateInit failed");
	unsigned char *in = xmalloc(1 << 16), *out = xmalloc(1 << 17);
	memcpy(in, pre, npre);
	z.next_in = in;
	z.avail_in = (uInt)npre;
	bool eof = false;
	int r = 0, zr = Z_OK;
	while (r == 0) {
		if (refill(&z, fd, in, &eof, what, err) < 0) {
			r = -1;
			break;
		}
		z.next_out = out;
		z.avail_out = 1 << 17;
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			r = strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': corrupt gzip data: %s", what,
					       z.msg ? z.msg : "inflate failed");
			break;
		}
		size_t got = (1 << 17) - z.avail_out;
		if (got && feed(w, tc, out, got, err) < 0) {
			r = -1;
			break;
		}
		if (zr == Z_STREAM_END) {
			/* concatenated gzip members (pigz, cat a.gz b.gz) */
			if (refill(&z, fd, in, &eof, what, err) < 0) {
				r = -1;
				break;
			}
			if (z.avail_in == 0)
				break;
			inflateReset(&z);
			continue;
		}
		if (eof && z.avail_in == 0 && got == 0) {
			r = strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': truncated gzip data", what);
			break;
		}
	}
	inflateEnd(&z);
	free(in);
	free(out);
	return r;
}

int cli_import_layer(struct store *s, int fd, const char *what, enum oci_compression comp,
		     struct oci_digest *diff_id,
		     struct oci_digest *digest, int64_t *size, const char **media_type,
		     struct strata_error **err)
{
	unsigned char pre[2];
	ssize_t n = strata_read_full(fd, pre, sizeof(pre), what, err);
	if (n < 0)
		return -1;
	struct store_blob_writer *bw = NULL;
	if (store_blob_writer_open(s, NULL, -1, &bw, err) < 0)
		return -1;
	struct strata_sink blob = store_blob_writer_sink(bw);
	struct layer_write_opts lo = { .compression = comp };
	struct layer_writer *lw = NULL;
	if (layer_writer_new(&lw, &lo, &blob, err) < 0) {
		store_blob_writer_abort(bw);
		return -1;
	}
	struct tar_check tc = { .have = 0 };
	struct layer_result res;
	int r;
	if (n == 2 && pre[0] == 0x1f && pre[1] == 0x8b)
		r = copy_gunzip(fd, lw, &tc, pre, 2, what, err);
	else
		r = copy_plain(fd, lw, &tc, pre, (size_t)n, what, err);
	if (r == 0)
		r = check_tar(&tc, what, err);
	if (r == 0)
		r = layer_writer_finish(lw, &res, err);
	layer_writer_free(lw);
	if (r < 0) {
		store_blob_writer_abort(bw);
		return -1;
	}
	struct oci_digest want;
	if (oci_digest_parse(res.digest, &want, err) < 0 || oci_digest_parse(res.diff_id, diff_id, err) < 0) {
		store_blob_writer_abort(bw);
		return -1;
	}
	if (store_blob_writer_commit(bw, digest, size, err) < 0)
		return -1;
	if (strcmp(digest->str, want.str) != 0)
		return strata_error_make(err, 0, "import '%s': layer digest %s differs from the stored blob %s", what,
					 want.str, digest->str);
	*media_type = res.media_type;
	return 0;
}
