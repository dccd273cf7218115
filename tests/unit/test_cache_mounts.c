/*
 * test_cache_mounts.c — cache mounts in the cache artifact (issue #17): the
 * config's "mounts" round trip and its errors, the split of a mount into
 * deterministic parts (an unchanged part is the same blob, a large
 * directory is split by subdirectory and bucket), the import into an empty
 * mount and "already imported", the --cache-to options, and hostile
 * imports (a blob that writes outside the mount, a config with a bogus owner).
 */
#include "tap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cache/cache.h"

#include <archive.h>
#include <archive_entry.h>

static char *hexd(int n)
{
	return xasprintf("sha256:%064x", n);
}

static void write_file(const char *path, const char *text)
{
	struct strata_error *err = NULL;
	if (strata_atomic_write(path, text, strlen(text), 0644, &err) < 0) {
		diag("write %s failed", path);
		strata_error_free(err);
	}
}

static void set_part(struct rcache_mount_part *p, const char *path, int n)
{
	cleanup_free char *d = hexd(0x100 + n);
	p->path = xstrdup(path);
	p->desc = oci_descriptor_new(OCI_MT_LAYER_GZIP, d, 10 + n);
	p->diff_id = hexd(0x200 + n);
}

static void test_record(void)
{
	cleanup_free char *k = hexd(1), *di = hexd(0x201);
	cleanup_json json_t *d = oci_descriptor_new(OCI_MT_LAYER_GZIP, "sha256:0000000000000000000000000000000000000000000000000000000000000101", 11);
	struct rcache_entry e = { .key = k, .layer = 0, .desc = d, .diff_id = di };
	struct rcache_mount m = { .id = (char *)"xc", .target = (char *)"/var/cache/x", .sharing = (char *)"locked",
				  .uid = 1000, .gid = -1, .mode = 0750, .size = 42, .created = 1700000000 };
	struct rcache_mount_part parts[3] = { 0 };
	set_part(&parts[0], "a", 1); /* the same blob as the step's layer: listed once */
	set_part(&parts[1], "big/#3", 2);
	set_part(&parts[2], ".", 3);
	m.parts = parts;
	m.n_parts = 3;
	struct strata_error *err = NULL;
	cleanup_free char *cfg = NULL, *man = NULL;
	size_t cl = 0, ml = 0;
	ok(rcache_artifact_encode_mounts(&e, 1, true, 0, &m, 1, &cfg, &cl, &man, &ml, &err) == 0, "encode with a mount");
	cleanup_json json_t *jc = NULL, *jm = NULL;
	ok(strata_json_parse(cfg, cl, "c", &jc, NULL) == 0 && strata_json_parse(man, ml, "m", &jm, NULL) == 0, "parse");
	is_int(json_array_size(json_object_get(jm, "layers")), 3, "layers: the step's (shared with part a) + 2 parts");
	is_int(json_array_size(json_object_get(jc, "diff_ids")), 3, "diff_ids as many");
	struct rcache_record rec = { 0 };
	ok(rcache_artifact_decode(jm, jc, &rec, &err) == 0 && rec.n == 1, "the steps decode as before");
	rcache_record_release(&rec);
	struct rcache_mount *v = NULL;
	size_t n = 0;
	ok(rcache_artifact_mounts(jm, jc, &v, &n, &err) == 0 && n == 1, "mounts decode");
	if (n == 1) {
		is_str(v[0].id, "xc", "id");
		is_str(v[0].sharing, "locked", "sharing");
		is_int(v[0].uid, 1000, "uid");
		is_int(v[0].gid, -1, "gid");
		is_int(v[0].mode, 0750, "mode");
		is_int(v[0].size, 42, "size");
		is_int(v[0].created, 1700000000, "created");
		is_int(v[0].n_parts, 3, "parts");
		is_str(v[0].parts[1].path, "big/#3", "part path");
		is_str(json_string_value(json_object_get(v[0].parts[0].desc, "digest")),
		       json_string_value(json_object_get(d, "digest")), "part a is the shared blob");
		is_str(v[0].parts[2].diff_id, parts[2].diff_id, "diff_id");
	}
	for (size_t i = 0; i < n; i++)
		rcache_mount_release(&v[i]);
	free(v);

	/* the format before mounts: no field, no mounts, no error */
	json_object_del(json_object_get(jc, RCACHE_FIELD), "mounts");
	ok(rcache_artifact_mounts(jm, jc, &v, &n, &err) == 0 && n == 0 && !v, "no mounts field: none");

	static const struct {
		const char *jq_path, *value, *want;
	} bad[] = {
		{ NULL, "7", "cache artifact config: strata.cache.v1.mounts must be an array" },
		{ "sharing", "\"everyone\"", "cache artifact config: strata.cache.v1.mounts[0]: invalid sharing" },
		{ "target", "\"var/x\"", "cache artifact config: strata.cache.v1.mounts[0]: invalid target (not an absolute path)" },
		{ "path", "\"../etc\"", "cache artifact config: strata.cache.v1.mounts[0].parts[0]: invalid path '../etc'" },
		{ "path", "\"/abs\"", "cache artifact config: strata.cache.v1.mounts[0].parts[0]: invalid path '/abs'" },
		{ "layer", "9", "cache artifact config: strata.cache.v1.mounts[0].parts[0]: layer 9 out of range or invalid" },
		{ "created", "\"yesterday\"", "cache artifact config: strata.cache.v1.mounts[0]: invalid created" },
		{ "size", "-1", "cache artifact config: strata.cache.v1.mounts[0]: invalid size" },
		{ "uid", "-5", "cache artifact config: strata.cache.v1.mounts[0]: invalid uid" },
		{ "uid", "4294967296", "cache artifact config: strata.cache.v1.mounts[0]: invalid uid" },
		{ "gid", "4294967295", "cache artifact config: strata.cache.v1.mounts[0]: invalid gid" },
		{ "uid", "\"root\"", "cache artifact config: strata.cache.v1.mounts[0]: field 'uid' must be an integer" },
		{ "mode", "-2", "cache artifact config: strata.cache.v1.mounts[0]: invalid mode" },
		{ "id", "\"\"", "cache artifact config: strata.cache.v1.mounts[0]: invalid id" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cleanup_json json_t *c2 = NULL;
		strata_json_parse(cfg, cl, "c", &c2, NULL);
		json_t *mm = json_object_get(json_object_get(c2, RCACHE_FIELD), "mounts");
		json_t *val = json_loads(bad[i].value, JSON_DECODE_ANY, NULL);
		if (!bad[i].jq_path)
			json_object_set_new(json_object_get(c2, RCACHE_FIELD), "mounts", val);
		else if (!strcmp(bad[i].jq_path, "path") || !strcmp(bad[i].jq_path, "layer"))
			json_object_set_new(json_array_get(json_object_get(json_array_get(mm, 0), "parts"), 0),
					    bad[i].jq_path, val);
		else
			json_object_set_new(json_array_get(mm, 0), bad[i].jq_path, val);
		struct strata_error *e2 = NULL;
		ok(rcache_artifact_mounts(jm, c2, &v, &n, &e2) == -1, "bad %s: error", bad[i].jq_path ? bad[i].jq_path : "mounts");
		cleanup_free char *msg = e2 ? strata_error_string(e2) : NULL;
		is_str(msg, bad[i].want, "bad %s: message", bad[i].jq_path ? bad[i].jq_path : "mounts");
		strata_error_free(e2);
	}
	for (int i = 0; i < 3; i++) {
		free(parts[i].path);
		free(parts[i].diff_id);
		json_decref(parts[i].desc);
	}
	strata_error_free(err);
}

static const char *part_digest(const struct rcache_mount *m, const char *path)
{
	for (size_t i = 0; i < m->n_parts; i++)
		if (!strcmp(m->parts[i].path, path))
			return json_string_value(json_object_get(m->parts[i].desc, "digest"));
	return NULL;
}

static void test_pack_import(void)
{
	char tmpl[] = "/tmp/test_cache_mounts.XXXXXX";
	if (!mkdtemp(tmpl)) {
		ok(0, "mkdtemp");
		return;
	}
	struct strata_error *err = NULL;
	struct store *s = NULL;
	cleanup_free char *root = xasprintf("%s/store", tmpl), *dir = xasprintf("%s/m", tmpl);
	cleanup_free char *data = xasprintf("%s/data", dir), *lock = xasprintf("%s/lock", dir);
	ok(store_open(root, &s, &err) == 0, "store");
	strata_mkdir_p(data, 0755, NULL);
	write_file(lock, "");
	const char *dirs[] = { "a", "b", "big", "big/sub" };
	for (size_t i = 0; i < 4; i++) {
		cleanup_free char *p = xasprintf("%s/%s", data, dirs[i]);
		mkdir(p, 0755);
	}
	cleanup_free char *f1 = xasprintf("%s/a/one", data), *f2 = xasprintf("%s/b/two", data);
	cleanup_free char *f3 = xasprintf("%s/top", data), *f4 = xasprintf("%s/big/sub/x", data);
	cleanup_free char *f5 = xasprintf("%s/big/small", data), *sparse = xasprintf("%s/big/huge", data);
	write_file(f1, "one\n");
	write_file(f2, "two\n");
	write_file(f3, "top\n");
	write_file(f4, "x\n");
	write_file(f5, "s\n");
	int fd = open(sparse, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ok(fd >= 0 && ftruncate(fd, (off_t)RCACHE_MOUNT_SPLIT + 1) == 0, "a sparse file makes big/ larger than the split size");
	if (fd >= 0)
		close(fd);

	struct rcache_mount m1 = { .id = xstrdup("m"), .target = xstrdup("/m"), .sharing = xstrdup("shared"),
				   .uid = -1, .gid = -1, .mode = -1 };
	struct rcache_mount m2 = { .id = xstrdup("m"), .target = xstrdup("/m"), .sharing = xstrdup("shared"),
				   .uid = -1, .gid = -1, .mode = -1 };
	const char *why = NULL;
	is_int(rcache_mount_pack(s, dir, 0, &m1, &why, &err), 1, "pack");
	/* the parts, in apply order: a, b, big's subdirectory, big's buckets, the top-level files */
	cleanup_free char *h1 = NULL, *h2 = NULL;
	{
		char hex[65];
		strata_sha256_hex("huge", 4, hex);
		h1 = xasprintf("big/#%c", hex[0]);
		strata_sha256_hex("small", 5, hex);
		h2 = xasprintf("big/#%c", hex[0]);
	}
	struct strata_buf b = STRATA_BUF_INIT;
	for (size_t i = 0; i < m1.n_parts; i++)
		strata_buf_addf(&b, "%s%s", i ? " " : "", m1.parts[i].path);
	cleanup_free char *got = strata_buf_detach(&b, NULL);
	cleanup_free char *want = strcmp(h1, h2) < 0 ? xasprintf("a b big/sub %s %s .", h1, h2)
			       : strcmp(h1, h2) > 0 ? xasprintf("a b big/sub %s %s .", h2, h1)
						    : xasprintf("a b big/sub %s .", h1);
	is_str(got, want, "split: top-level dirs, big/ by subdirectory and bucket, then the files");
	ok(m1.size == 3 * 4 + 2 + 2 + RCACHE_MOUNT_SPLIT + 1, "size counts file bytes");

	/* unchanged: the same blobs; one file changed: only its part */
	write_file(f2, "two, changed\n");
	is_int(rcache_mount_pack(s, dir, 0, &m2, &why, &err), 1, "pack again");
	is_str(part_digest(&m1, "a"), part_digest(&m2, "a"), "unchanged part a: the same blob");
	is_str(part_digest(&m1, "."), part_digest(&m2, "."), "unchanged files part: the same blob");
	is_str(part_digest(&m1, "big/sub"), part_digest(&m2, "big/sub"), "unchanged big/sub: the same blob");
	ok(strcmp(part_digest(&m1, "b"), part_digest(&m2, "b")) != 0, "changed part b: another blob");

	/* the cap */
	struct rcache_mount m3 = { .id = xstrdup("m"), .target = xstrdup("/m"), .sharing = xstrdup("shared") };
	is_int(rcache_mount_pack(s, dir, 1000, &m3, &why, &err), 0, "over max-mount-size: not packed");
	is_str(why, "over max-mount-size", "why");

	/* import into an empty mount of another "runner" (the blobs are in the store) */
	cleanup_free char *dir2 = xasprintf("%s/m2", tmpl);
	m2.source = "test";
	m2.mode = 0750;
	char *line = NULL;
	is_int(rcache_mount_import(NULL, s, &m2, dir2, &line, &err), 0, "import");
	is_str(line, "imported cache mount m (/m) from test: filled the empty mount, 0 blobs fetched (0.0 MB)", "import line");
	free(line);
	cleanup_free char *g2 = xasprintf("%s/data/b/two", dir2), *gs = xasprintf("%s/data/big/huge", dir2);
	cleanup_buf struct strata_buf gb = STRATA_BUF_INIT;
	ok(strata_read_file(g2, &gb, 100, NULL) == 0 && gb.len == 13, "content imported");
	struct stat st;
	ok(stat(gs, &st) == 0 && st.st_size == (off_t)RCACHE_MOUNT_SPLIT + 1, "the sparse file too");
	cleanup_free char *d2 = xasprintf("%s/data", dir2);
	ok(stat(d2, &st) == 0 && (st.st_mode & 07777) == 0750, "the mount's mode as the RUN asked");
	is_int(rcache_mount_import(NULL, s, &m2, dir2, &line, &err), 0, "import again");
	is_str(line, "cache mount m (/m): already imported from test", "the same parts: nothing done");
	free(line);

	struct rcache_pruned_mount *pv = NULL;
	size_t pn = 0;
	ok(rcache_mounts_prune(tmpl, false, &pv, &pn, &err) == 0 && pn == 1, "prune finds the imported copy only");
	if (pn == 1)
		is_str(pv[0].source, "test", "its source");
	rcache_pruned_mounts_free(pv, pn);
	ok(!strata_path_exists(dir2) && strata_path_exists(dir), "removed it, kept the local one");

	rcache_mount_release(&m1);
	rcache_mount_release(&m2);
	rcache_mount_release(&m3);
	store_close(s);
	strata_rm_rf(tmpl, NULL);
	strata_error_free(err);
}

/* one tar entry of a hostile blob */
struct tent {
	const char *path;
	int type;         /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, or 0: a hardlink */
	const char *link; /* symlink or hardlink target */
};

/* the tar of ents into the store: its digest (also its diff_id) */
static char *hostile_blob(struct store *s, const struct tent *ents, size_t n)
{
	size_t cap = 1 << 20, used = 0;
	cleanup_free char *buf = xmalloc(cap);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_open_memory(a, buf, cap, &used);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, ents[i].path);
		archive_entry_set_mode(e, (ents[i].type ? (mode_t)ents[i].type : AE_IFREG) |
						  (ents[i].type == AE_IFDIR ? 0755 : 0644));
		if (ents[i].type == AE_IFLNK)
			archive_entry_set_symlink(e, ents[i].link);
		else if (!ents[i].type)
			archive_entry_set_hardlink(e, ents[i].link);
		if (ents[i].type == AE_IFCHR)
			archive_entry_set_rdev(e, makedev(1, 3));
		archive_entry_set_size(e, ents[i].type == AE_IFREG ? 4 : 0);
		archive_write_header(a, e);
		if (ents[i].type == AE_IFREG)
			archive_write_data(a, "bad\n", 4);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	struct store_blob_writer *w = NULL;
	struct oci_digest d;
	if (store_blob_writer_open(s, NULL, -1, &w, NULL) < 0)
		return NULL;
	if (store_blob_writer_write(w, buf, used, NULL) < 0 || store_blob_writer_commit(w, &d, NULL, NULL) < 0) {
		store_blob_writer_abort(w);
		return NULL;
	}
	return xstrdup(d.str);
}

/* an imported mount blob never writes outside the mount's data directory */
static void test_hostile_import(void)
{
	char tmpl[] = "/tmp/test_cache_mounts_h.XXXXXX";
	if (!mkdtemp(tmpl)) {
		ok(0, "mkdtemp");
		return;
	}
	struct store *s = NULL;
	cleanup_free char *root = xasprintf("%s/store", tmpl), *outside = xasprintf("%s/outside", tmpl);
	ok(store_open(root, &s, NULL) == 0, "store");
	strata_mkdir_p(outside, 0755, NULL);
	cleanup_free char *victim = xasprintf("%s/victim", outside);
	write_file(victim, "safe\n");
	static const struct {
		const char *name;
		struct tent ents[3];
		size_t n;
	} cases[] = {
		{ "../ in a path", { { "../outside/pwned", AE_IFREG, NULL } }, 1 },
		{ "a deep ../", { { "a/../../outside/pwned", AE_IFREG, NULL } }, 1 },
		{ "an absolute path", { { "/tmp/strata-cache-mount-pwned", AE_IFREG, NULL } }, 1 },
		{ "a file through a symlink to outside",
		  { { "ln", AE_IFLNK, "../../outside" }, { "ln/pwned", AE_IFREG, NULL } }, 2 },
		{ "a file through an absolute symlink",
		  { { "abs", AE_IFLNK, "/tmp" }, { "abs/strata-cache-mount-pwned", AE_IFREG, NULL } }, 2 },
		{ "a hardlink to outside", { { "hl", 0, "../outside/victim" } }, 1 },
		{ "an absolute hardlink", { { "hl", 0, "/etc/passwd" } }, 1 },
		{ "a device node", { { "null", AE_IFCHR, NULL } }, 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cleanup_free char *dg = hostile_blob(s, cases[i].ents, cases[i].n);
		ok(dg != NULL, "%s: blob", cases[i].name);
		if (!dg)
			continue;
		struct rcache_mount_part part = { .path = ".", .diff_id = dg,
						  .desc = oci_descriptor_new("application/vnd.oci.image.layer.v1.tar", dg, 1) };
		struct rcache_mount m = { .id = "h", .target = "/h", .sharing = "shared", .uid = -1, .gid = -1,
					  .mode = -1, .source = "hostile", .parts = &part, .n_parts = 1 };
		cleanup_free char *dir = xasprintf("%s/m%zu", tmpl, i);
		char *line = NULL;
		struct strata_error *e = NULL;
		int r = rcache_mount_import(NULL, s, &m, dir, &line, &e);
		cleanup_free char *msg = e ? strata_error_string(e) : NULL;
		diag("%s: %d %s", cases[i].name, r, msg ? msg : line ? line : "");
		free(line);
		strata_error_free(e);
		json_decref(part.desc);
		cleanup_free char *pw = xasprintf("%s/pwned", outside);
		cleanup_buf struct strata_buf vb = STRATA_BUF_INIT;
		ok(!strata_path_exists(pw) && !strata_path_exists("/tmp/strata-cache-mount-pwned"),
		   "%s: nothing written outside the mount", cases[i].name);
		ok(strata_read_file(victim, &vb, 100, NULL) == 0 && vb.len == 5 && !memcmp(vb.data, "safe\n", 5),
		   "%s: the file outside unchanged", cases[i].name);
		cleanup_free char *dev = xasprintf("%s/data/null", dir);
		struct stat st;
		ok(lstat(dev, &st) < 0 || !S_ISCHR(st.st_mode), "%s: no device node made", cases[i].name);
		cleanup_free char *hl = xasprintf("%s/data/hl", dir);
		ok(lstat(hl, &st) < 0 || st.st_nlink == 1, "%s: no hardlink to a file outside", cases[i].name);
		cleanup_free char *data = xasprintf("%s/data", dir);
		ok(r == 0 || !strata_path_exists(data), "%s: refused: the mount stays empty", cases[i].name);
		unlink("/tmp/strata-cache-mount-pwned");
		unlink(pw);
	}
	store_close(s);
	strata_rm_rf(tmpl, NULL);
}

static void test_options(void)
{
	struct rcache_spec sp;
	struct strata_error *err = NULL;
	ok(rcache_spec_parse("r/c:x,mode=max,cache-mounts=a+b,max-mount-size=1.5GiB", true, &sp, &err) == 0, "parse");
	ok(rcache_spec_wants_mount(&sp, "a") && rcache_spec_wants_mount(&sp, "b") && !rcache_spec_wants_mount(&sp, "ab"),
	   "cache-mounts=a+b selects a and b");
	is_int(sp.max_mount_size, (uint64_t)3 << 29, "1.5GiB");
	rcache_spec_release(&sp);
	ok(rcache_spec_parse("r/c:x,mode=max", true, &sp, &err) == 0 && rcache_spec_wants_mount(&sp, "any"),
	   "mode=max: all mounts");
	rcache_spec_release(&sp);
	ok(rcache_spec_parse("r/c:x", true, &sp, &err) == 0 && !rcache_spec_wants_mount(&sp, "any"), "mode=min: none");
	rcache_spec_release(&sp);
	ok(rcache_spec_parse("r/c:x,cache-mounts=all", true, &sp, &err) == 0 && rcache_spec_wants_mount(&sp, "any"),
	   "mode=min,cache-mounts=all: all");
	rcache_spec_release(&sp);
	ok(rcache_spec_parse("type=local,dest=d,mode=max,cache-mounts=none", true, &sp, &err) == 0 &&
		   !rcache_spec_wants_mount(&sp, "any"),
	   "cache-mounts=none");
	rcache_spec_release(&sp);
	static const char *const badv[] = { "r/c:x,cache-mounts=", "r/c:x,cache-mounts=a++b", "r/c:x,max-mount-size=x",
					    "r/c:x,max-mount-size=0", "r/c:x,max-mount-size=5q" };
	for (size_t i = 0; i < 5; i++) {
		struct strata_error *e = NULL;
		ok(rcache_spec_parse(badv[i], true, &sp, &e) == -1 && strata_error_code(e) == STRATA_E_USAGE,
		   "%s: usage error", badv[i]);
		strata_error_free(e);
	}
	struct strata_error *e = NULL;
	ok(rcache_spec_parse("r/c:x,cache-mounts=all", false, &sp, &e) == -1, "--cache-from: no cache-mounts");
	strata_error_free(e);
	strata_error_free(err);
}

int main(void)
{
	test_record();
	test_pack_import();
	test_options();
	test_hostile_import();
	return done_testing();
}
