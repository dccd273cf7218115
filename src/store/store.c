#include "store/internal.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define LAYOUT "{\"imageLayoutVersion\":\"1.0.0\"}"
#define EMPTY_INDEX "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[]}"

const char *store_root(const struct store *s) { return s->root; }

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->gc_fd >= 0)
		close(s->gc_fd);
	free(s->root);
	free(s->blobs);
	free(s->index_path);
	free(s->meta);
	free(s->tmp);
	free(s);
}

int store_index_lock(struct store *s, struct strata_error **err)
{
	cleanup_free char *p = strata_path_join(s->meta, "index.lock");
	return strata_lock_file(p, true, err);
}

static int ensure_layout(struct store *s, struct strata_error **err)
{
	cleanup_free char *layout = strata_path_join(s->root, "oci-layout");
	if (strata_path_exists(layout) && strata_path_exists(s->index_path) && strata_path_exists(s->blobs))
		return 0;
	cleanup_close int lk = store_index_lock(s, err);
	if (lk < 0)
		return -1;
	if (strata_mkdir_p(s->blobs, 0700, err) < 0)
		return -1;
	if (!strata_path_exists(layout) &&
	    strata_atomic_write(layout, LAYOUT, strlen(LAYOUT), 0644, err) < 0)
		return -1;
	if (!strata_path_exists(s->index_path) &&
	    strata_atomic_write(s->index_path, EMPTY_INDEX, strlen(EMPTY_INDEX), 0644, err) < 0)
		return -1;
	return 0;
}

/*
 * The store is private to its owner (docs/internals/store.md, "Permissions"):
 * snapshots keep setuid binaries and world-writable directories of images,
 * the build cache keeps build inputs. A store made by an older strata (0755)
 * is tightened here.
 */
static void make_private(const struct store *s)
{
	static const char *const dirs[] = { "", "blobs", "blobs/sha256", ".strata", "build" };
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(dirs); i++) {
		cleanup_free char *p = strata_path_join(s->root, dirs[i]);
		strata_dir_make_private(p);
	}
}

int store_open(const char *root, struct store **out, struct strata_error **err)
{
	cleanup_free char *gc = NULL;
	struct store *s = xcalloc(1, sizeof(*s));
	s->gc_fd = -1;
	s->root = xstrdup(root);
	s->blobs = strata_path_join(root, "blobs/sha256");
	s->index_path = strata_path_join(root, "index.json");
	s->meta = strata_path_join(root, ".strata");
	s->tmp = strata_path_join(root, ".strata/tmp");
	if (strata_mkdir_p(s->root, 0700, err) < 0 || strata_mkdir_p(s->tmp, 0700, err) < 0)
		goto fail;
	make_private(s);
	gc = strata_path_join(s->meta, "gc.lock");
	s->gc_fd = strata_lock_file(gc, false, err);
	if (s->gc_fd < 0 || ensure_layout(s, err) < 0)
		goto fail;
	/* fail early, before anything is written, when index.json is damaged */
	json_t *index = NULL;
	if (store_index_load(s, &index, err) < 0)
		goto fail;
	json_decref(index);
	*out = s;
	return 0;
fail:
	store_close(s);
	return strata_error_wrap(err, "open store '%s'", root);
}
