/* The store's one record of where blobs are in registries (store_blobloc):
 * merge between concurrent users, newest location first, bounds, the
 * records it replaced (remote-blobs.json, registry-blobs.json) merged once. */
#include "tap.h"
#include "store/store.h"
#include "util/util.h"

#include <string.h>
#include <unistd.h>

#define DA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DC "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

int main(void)
{
	char tmpl[] = "/tmp/strata-blobloc-XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct strata_error *err = NULL;
	struct store *s = NULL;
	ok(store_open(dir, &s, &err) == 0, "store");

	struct store_blobloc *a = NULL, *b = NULL;
	char *host = NULL, *repo = NULL;
	int64_t size = 0;
	ok(store_blobloc_open(s, &a, &err) == 0, "open a missing record");
	ok(store_blobloc_open(s, &b, &err) == 0, "a second user");
	ok(store_blobloc_add(a, DA, 10, "r:5000", "app", &err) == 0, "add");
	is_int(store_blobloc_find(a, DA, "r:5000", "app", NULL, &repo, NULL), 0, "not the repository itself");
	store_blobloc_add(b, DA, -1, "r:5000", "other", NULL);
	store_blobloc_add(b, DB, 20, "r:5000", "other", NULL);
	ok(store_blobloc_save(a, &err) == 0 && store_blobloc_save(b, &err) == 0, "both save");
	store_blobloc_free(a);
	store_blobloc_free(b);
	ok(store_blobloc_open(s, &a, &err) == 0, "reopen");
	is_int(store_blobloc_find(a, DA, "r:5000", "app", NULL, &repo, NULL), 1, "merged: the other repository");
	is_str(repo, "other", "other");
	free(repo);
	is_int(store_blobloc_find(a, DA, NULL, NULL, &host, &repo, &size), 1, "any location");
	is_str(repo, "other", "the newest location first");
	is_int(size, 10, "the known size kept");
	free(host);
	free(repo);
	is_int(store_blobloc_find(a, DA, "r2", NULL, NULL, &repo, NULL), 0, "per registry");
	is_int(store_blobloc_add(a, "nope", 1, "h", "r", &err), -1, "a bad digest is refused");
	strata_error_clear(&err);
	for (int i = 0; i < 20; i++) {
		char r[16];
		snprintf(r, sizeof(r), "r%d", i);
		store_blobloc_add(a, DC, 1, "h", r, NULL);
	}
	store_blobloc_add(a, DC, 1, "h", "r13", NULL);
	is_int(store_blobloc_find(a, DC, "h", NULL, NULL, &repo, NULL), 1, "found");
	is_str(repo, "r13", "a location seen again becomes the newest");
	free(repo);
	ok(store_blobloc_save(a, &err) == 0, "save");
	store_blobloc_free(a);
	cleanup_free char *path = xasprintf("%s/.strata/blob-locations.json", dir);
	cleanup_json json_t *j = NULL;
	ok(strata_json_load_object(path, 1 << 20, &j, &err) == 0, "the file is JSON");
	is_int(json_array_size(json_object_get(json_object_get(j, DC), "at")), STORE_BLOBLOC_MAX_AT,
	       "bounded locations per blob");
	is_str(json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(j, DC), "at"), 0), "repo")),
	       "r12", "the oldest kept is r12 (r0-r11 dropped)");

	/* one-shot forms */
	ok(store_blobloc_note(s, DB, 20, "q:1", "x", &err) == 0, "note");
	is_int(store_blobloc_lookup(s, DB, &host, &repo, &size, &err), 1, "lookup");
	is_str(host, "q:1", "newest host");
	free(host);
	free(repo);

	/* a store written before the records were one */
	unlink(path);
	cleanup_free char *rp = xasprintf("%s/.strata/remote-blobs.json", dir);
	cleanup_free char *sp = xasprintf("%s/.strata/registry-blobs.json", dir);
	const char *rtext = "{\"" DA "\":{\"host\":\"h1\",\"repo\":\"cache\",\"size\":5}}";
	const char *stext = "{\"h1\":{\"" DB "\":[\"pulled\"]}}";
	ok(strata_atomic_write(rp, rtext, strlen(rtext), 0644, &err) == 0 &&
	   strata_atomic_write(sp, stext, strlen(stext), 0644, &err) == 0, "old records");
	is_int(store_blobloc_lookup(s, DA, &host, &repo, &size, &err), 1, "an old remote record is read");
	ok(!strcmp(host, "h1") && !strcmp(repo, "cache") && size == 5, "with its source and size");
	free(host);
	free(repo);
	ok(store_blobloc_open(s, &a, &err) == 0, "open");
	is_int(store_blobloc_find(a, DB, "h1", "x", NULL, &repo, NULL), 1, "an old seen record is read");
	is_str(repo, "pulled", "pulled");
	free(repo);
	store_blobloc_add(a, DC, 1, "h2", "y", NULL);
	ok(store_blobloc_save(a, &err) == 0, "save");
	store_blobloc_free(a);
	ok(!strata_path_exists(rp) && !strata_path_exists(sp), "the old files are gone after a save");
	is_int(store_blobloc_lookup(s, DA, NULL, &repo, NULL, &err), 1, "their content moved");
	free(repo);

	ok(strata_atomic_write(path, "[1]", 3, 0644, &err) == 0, "corrupt");
	is_int(store_blobloc_open(s, &a, &err), -1, "not an object: an error");
	char *m = strata_error_string(err);
	ok(strstr(m, "blob-locations.json") != NULL, "naming the file: %s", m);
	free(m);
	strata_error_clear(&err);
	store_close(s);
	strata_rm_rf(dir, NULL);
	return done_testing();
}
