/* Build state garbage collection: value parsing, LRU selection, and a prune
 * of a synthetic root (entries, snapshots, stamps, leases, cache mounts). */
#include "tap.h"
#include "build/build.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static void size_ok(const char *s, int64_t want)
{
	int64_t v = -1;
	struct strata_error *err = NULL;
	int r = build_prune_parse_size(s, &v, &err);
	ok(r == 0 && v == want, "size '%s' = %lld (got %lld)", s, (long long)want, (long long)v);
	strata_error_free(err);
}

static void size_bad(const char *s)
{
	int64_t v = -1;
	struct strata_error *err = NULL;
	int r = build_prune_parse_size(s, &v, &err);
	char *m = err ? strata_error_string(err) : NULL;
	ok(r < 0 && strata_error_code(err) == STRATA_E_USAGE && m && strstr(m, s), "size '%s' refused: %s", s,
	   m ? m : "");
	free(m);
	strata_error_free(err);
}

static void dur_ok(const char *s, int64_t want)
{
	int64_t v = -1;
	struct strata_error *err = NULL;
	int r = build_prune_parse_duration(s, &v, &err);
	ok(r == 0 && v == want, "duration '%s' = %lld (got %lld)", s, (long long)want, (long long)v);
	strata_error_free(err);
}

static void filter_bad(const char *s, const char *want)
{
	struct build_prune_options o = BUILD_PRUNE_OPTIONS_INIT;
	struct strata_error *err = NULL;
	int r = build_prune_parse_filter(s, &o, &err);
	char *m = err ? strata_error_string(err) : NULL;
	ok(r < 0 && strata_error_code(err) == STRATA_E_USAGE && m && strstr(m, want), "filter '%s': %s", s,
	   m ? m : "");
	free(m);
	strata_error_free(err);
}

static void test_parse(void)
{
	size_ok("0", 0);
	size_ok("2048", 2048);
	size_ok("512B", 512);
	size_ok("64k", 64 << 10);
	size_ok("64KiB", 64 << 10);
	size_ok("500MB", 500ll << 20);
	size_ok("10GB", 10ll << 30);
	size_ok("1.5g", 3ll << 29);
	size_ok("2tb", 2ll << 40);
	size_bad("10XB");
	size_bad("");
	size_bad("MB");
	size_bad("-1GB");
	size_bad("1e3");
	size_bad("99999999999TB");
	dur_ok("24h", 86400);
	dur_ok("90m", 5400);
	dur_ok("1h30m", 5400);
	dur_ok("3600s", 3600);
	dur_ok("7d", 7 * 86400);
	struct build_prune_options o = BUILD_PRUNE_OPTIONS_INIT;
	struct strata_error *err = NULL;
	ok(build_prune_parse_filter("until=24h", &o, &err) == 0 && o.until == 86400, "until=24h");
	filter_bad("foo=1", "invalid filter 'foo=1'");
	filter_bad("until", "invalid filter 'until'");
	filter_bad("untilx=1h", "invalid filter");
	filter_bad("until=", "invalid duration ''");
	filter_bad("until=24", "invalid duration '24'");
	filter_bad("until=1h5", "invalid duration");
	filter_bad("until=h", "invalid duration");
	filter_bad("until=0m", "must be positive");
}

static void test_select(void)
{
	struct build_prune_item v[] = {
		{ .last_used = 100, .size = 10 }, { .last_used = 50, .size = 10 },
		{ .last_used = 300, .size = 10 }, { .last_used = 50, .size = 10, .remove = true },
		{ .last_used = 200, .size = 10 },
	};
	struct build_prune_item w[5];
	memcpy(w, v, sizeof(v));
	build_prune_select(w, 5, 1000, 0, -1);
	ok(!w[0].remove && !w[1].remove && w[3].remove, "no filter: only what was already removed");
	memcpy(w, v, sizeof(v));
	build_prune_select(w, 5, 1000, 850, -1);
	ok(w[0].remove && w[1].remove && !w[2].remove && !w[4].remove, "until: unused for >= 850 s");
	memcpy(w, v, sizeof(v));
	build_prune_select(w, 5, 1000, 0, 25);
	ok(w[1].remove && w[0].remove && !w[4].remove && !w[2].remove, "keep 25 of 40: the two oldest go");
	memcpy(w, v, sizeof(v));
	build_prune_select(w, 5, 1000, 0, 40);
	ok(!w[0].remove && !w[1].remove && !w[2].remove && !w[4].remove, "keep 40 of 40: nothing");
	memcpy(w, v, sizeof(v));
	build_prune_select(w, 5, 1000, 0, 0);
	ok(w[0].remove && w[1].remove && w[2].remove && w[4].remove, "keep 0: everything");
	memcpy(w, v, sizeof(v));
	build_prune_select(w, 5, 1000, 750, 15);
	ok(w[0].remove && w[1].remove && w[4].remove && !w[2].remove, "until then keep-storage");
	struct build_prune_item tie[] = { { .last_used = 5, .size = 1 }, { .last_used = 5, .size = 1 } };
	build_prune_select(tie, 2, 10, 0, 1);
	ok(tie[0].remove && !tie[1].remove, "ties: the earlier goes first");
	build_prune_select(NULL, 0, 10, 5, 0);
	ok(1, "no items");
}

/* ---- a synthetic root ---- */

static char *root;

static void write_file(const char *rel, const char *content)
{
	char *p = xasprintf("%s/%s", root, rel);
	char *dir = xstrdup(p);
	*strrchr(dir, '/') = 0;
	strata_mkdir_p(dir, 0755, NULL);
	strata_atomic_write(p, content, strlen(content), 0644, NULL);
	free(dir);
	free(p);
}

static bool exists(const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel);
	bool r = strata_path_exists(p);
	free(p);
	return r;
}

static void age(const char *rel, time_t t)
{
	char *p = xasprintf("%s/%s", root, rel);
	struct timespec ts[2] = { { .tv_sec = t }, { .tv_sec = t } };
	utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
	free(p);
}

/* a layer blob, a cache entry for it under key hex k, and its snapshot */
static void entry(struct store *s, const char *k, const char *diffhex, const char *content, bool with_blob)
{
	struct oci_digest d;
	if (with_blob)
		store_blob_put(s, content, strlen(content), NULL, &d, NULL);
	else
		oci_digest_parse("sha256:1111111111111111111111111111111111111111111111111111111111111111", &d, NULL);
	const char *alg = strlen(diffhex) == 128 ? "sha512" : "sha256";
	char *j = xasprintf("{\"diff_id\":\"%s:%s\",\"layer\":{\"mediaType\":\"application/"
			    "vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"%s\",\"size\":%zu}}",
			    alg, diffhex, d.str, strlen(content));
	char *rel = xasprintf("build/cache/keys/%s", k);
	write_file(rel, j);
	free(rel);
	rel = xasprintf("build/cache/inputs/%s", k);
	write_file(rel, "{}");
	free(rel);
	rel = xasprintf("build/snapshots/%s/file", diffhex);
	write_file(rel, content);
	free(rel);
	rel = xasprintf("build/used/%s", diffhex);
	write_file(rel, "");
	free(rel);
	free(j);
}

static char *hex(char c)
{
	char *h = xmalloc(65);
	memset(h, c, 64);
	h[64] = 0;
	return h;
}

static size_t count(const struct build_prune_result *r, enum build_prune_kind k)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_removed; i++)
		n += r->removed[i].kind == k;
	return n;
}

static void test_prune(void)
{
	char tmpl[] = "/tmp/strata-unit-prune-XXXXXX";
	root = mkdtemp(tmpl);
	struct store *s = NULL;
	struct strata_error *err = NULL;
	ok(store_open(root, &s, &err) == 0, "store");
	char *ka = hex('a'), *kb = hex('b'), *kc = hex('c'), *da = hex('1'), *db = hex('2'), *dc = hex('3');
	char *dx = hex('4'), *dl = hex('5'), *ke = hex('e');
	entry(s, ka, da, "layer a", true);
	entry(s, kb, db, "layer b", true);
	entry(s, kc, dc, "layer c", false); /* its blob is gone: dangling */
	char *rel = xasprintf("build/snapshots/%s/f", dx); /* no entry, no image: dangling */
	write_file(rel, "x");
	free(rel);
	rel = xasprintf("build/snapshots/%s/f", dl); /* dangling but leased by a live run */
	write_file(rel, "x");
	free(rel);
	write_file("build/tmp/run-live/snapshots", dl);
	char *lock = xasprintf("%s/build/tmp/run-live/lock", root);
	int lfd = strata_lock_file(lock, true, NULL);
	free(lock);
	write_file("build/tmp/build-dead/lock", "");
	rel = xasprintf("build/cache/last/%s", ke);
	char *last = xasprintf("{\"key\":\"sha256:%s\"}", kc);
	write_file(rel, last);
	free(rel);
	free(last);
	write_file("build/cache/inputs/dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd", "{}");
	char *m = hex('f');
	rel = xasprintf("cache/run-mounts/%s/data/x", m);
	write_file(rel, "cached");
	free(rel);

	struct build_prune_options o = BUILD_PRUNE_OPTIONS_INIT;
	struct build_prune_result r;
	o.dry_run = true;
	ok(build_prune(root, s, &o, &r, &err) == 0, "dry run");
	ok(count(&r, BUILD_PRUNE_ENTRY) == 1 && count(&r, BUILD_PRUNE_SNAPSHOT) == 2, "dry run: 1 entry, 2 snapshots");
	ok(r.kept_busy == 1, "the leased snapshot is kept");
	rel = xasprintf("build/cache/keys/%s", kc);
	ok(exists(rel) && exists("build/tmp/build-dead"), "dry run removed nothing");
	build_prune_result_release(&r);

	o.dry_run = false;
	ok(build_prune(root, s, &o, &r, &err) == 0, "prune");
	ok(!exists(rel), "dangling entry removed");
	free(rel);
	rel = xasprintf("build/cache/inputs/%s", kc);
	ok(!exists(rel), "its inputs removed");
	free(rel);
	rel = xasprintf("build/cache/last/%s", ke);
	ok(!exists(rel), "last naming it removed");
	free(rel);
	ok(!exists("build/cache/inputs/dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"),
	   "orphan inputs removed");
	rel = xasprintf("build/snapshots/%s", dx);
	ok(!exists(rel), "dangling snapshot removed");
	free(rel);
	rel = xasprintf("build/snapshots/%s", dl);
	ok(exists(rel), "leased snapshot kept");
	free(rel);
	rel = xasprintf("build/used/%s", dc);
	ok(!exists(rel), "the stamp of a removed snapshot is removed");
	free(rel);
	rel = xasprintf("build/used/%s", da);
	ok(exists(rel), "the stamp of a kept one stays");
	free(rel);
	rel = xasprintf("build/snapshots/%s", da);
	ok(exists(rel), "snapshot of a live entry kept");
	free(rel);
	ok(!exists("build/tmp/build-dead") && exists("build/tmp/run-live"), "dead work dir removed, live one kept");
	ok(r.blobs.n_removed == 0, "entries' blobs are roots (%zu removed)", r.blobs.n_removed);
	rel = xasprintf("cache/run-mounts/%s/data/x", m);
	ok(exists(rel), "cache mount kept by a plain prune");
	build_prune_result_release(&r);
	ok(build_prune(root, s, &o, &r, &err) == 0 && r.n_removed == 0 && r.bytes == 0 && r.blobs.bytes == 0,
	   "a second prune removes nothing");
	build_prune_result_release(&r);

	/* LRU: a is old, b is recent; until=1h removes a only */
	time_t now = time(NULL);
	char *p1 = xasprintf("build/used/%s", da), *p2 = xasprintf("build/cache/keys/%s", ka);
	char *p3 = xasprintf("cache/run-mounts/%s/lock", m);
	write_file(p3, "");
	age(p1, now - 7200);
	age(p2, now - 7200);
	age(p3, now - 60);
	o.until = 3600;
	ok(build_prune(root, s, &o, &r, &err) == 0, "until=1h");
	ok(count(&r, BUILD_PRUNE_ENTRY) == 1 && count(&r, BUILD_PRUNE_SNAPSHOT) == 1 && !strcmp(r.removed[0].id + 7, ka),
	   "the old record went");
	ok(r.blobs.n_removed == 1, "and its blob, only the cache kept it");
	ok(exists(rel), "the recent cache mount stays");
	build_prune_result_release(&r);

	/* --all with a busy cache mount */
	o.until = 0;
	o.all = true;
	char *ml = xasprintf("%s/%s", root, p3);
	int mfd = strata_lock_file(ml, false, NULL);
	ok(build_prune(root, s, &o, &r, &err) == 0, "all");
	ok(count(&r, BUILD_PRUNE_ENTRY) == 1 && count(&r, BUILD_PRUNE_MOUNT) == 0 && r.kept_busy == 2,
	   "every entry; the busy mount and leased snapshot stay");
	build_prune_result_release(&r);
	close(mfd);
	ok(build_prune(root, s, &o, &r, &err) == 0 && count(&r, BUILD_PRUNE_MOUNT) == 1 && !exists(rel),
	   "the mount goes once free");
	build_prune_result_release(&r);
	close(lfd);
	ok(build_prune(root, s, &o, &r, &err) == 0 && count(&r, BUILD_PRUNE_SNAPSHOT) == 1, "the lease ended");
	build_prune_result_release(&r);
	char *err_s = err ? strata_error_string(err) : NULL;
	if (err_s)
		diag("%s", err_s);
	free(err_s);
	strata_error_free(err);
	store_close(s);
	strata_rm_rf(root, NULL);
	free(ml);
	free(p1);
	free(p2);
	free(p3);
	free(rel);
	free(ka);
	free(kb);
	free(kc);
	free(da);
	free(db);
	free(dc);
	free(dx);
	free(dl);
	free(m);
	free(ke);
}

/* snapshots of sha512 diff_ids: named by 128 hex digits, kept while an
 * entry needs them, removed (and reported whole) when nothing does */
static void test_prune_sha512(void)
{
	char tmpl[] = "/tmp/strata-unit-prune512-XXXXXX";
	root = mkdtemp(tmpl);
	struct store *s = NULL;
	struct strata_error *err = NULL;
	ok(store_open(root, &s, &err) == 0, "store (sha512)");
	char *k = hex('a'), *live = xmalloc(129), *dead = xmalloc(129);
	memset(live, '6', 128);
	live[128] = 0;
	memset(dead, '7', 128);
	dead[128] = 0;
	entry(s, k, live, "layer 512", true);
	char *rel = xasprintf("build/snapshots/%s/f", dead);
	write_file(rel, "x");
	free(rel);
	struct build_prune_options o = BUILD_PRUNE_OPTIONS_INIT;
	struct build_prune_result r;
	ok(build_prune(root, s, &o, &r, &err) == 0, "prune (sha512)");
	ok(count(&r, BUILD_PRUNE_ENTRY) == 0, "an entry with a sha512 diff_id is not dangling");
	ok(count(&r, BUILD_PRUNE_SNAPSHOT) == 1, "one snapshot removed");
	char *want = xasprintf("sha512:%s", dead);
	is_str(r.n_removed ? r.removed[0].id : NULL, want, "reported as its whole sha512 diff_id");
	free(want);
	rel = xasprintf("build/snapshots/%s", live);
	ok(exists(rel), "the sha512 snapshot of a live entry is kept");
	free(rel);
	rel = xasprintf("build/snapshots/%s", dead);
	ok(!exists(rel), "the dangling sha512 snapshot is gone");
	free(rel);
	build_prune_result_release(&r);
	store_close(s);
	strata_rm_rf(root, NULL);
	free(k);
	free(live);
	free(dead);
}

int main(void)
{
	test_parse();
	test_select();
	test_prune();
	test_prune_sha512();
	return done_testing();
}
