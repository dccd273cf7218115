/* resolve.c — from what a user typed to a manifest in the store. */
#include "store/internal.h"

#include <ctype.h>
#include <string.h>

static bool is_hex_prefix(const char *s)
{
	size_t n = strlen(s);
	if (n < 4 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

static void entry_copy(struct store_entry *dst, const struct store_entry *src)
{
	dst->name = src->name ? xstrdup(src->name) : NULL;
	dst->media_type = xstrdup(src->media_type);
	oci_digest_copy(&dst->digest, &src->digest);
	dst->size = src->size;
}

/* Find by id prefix (config digest) or manifest digest prefix. */
static int by_prefix(struct store *s, const char *hex, struct store_entry *out, struct strata_error **err)
{
	struct store_entry *e = NULL;
	size_t n = 0;
	if (store_tag_list(s, &e, &n, err) < 0)
		return -1;
	size_t found = SIZE_MAX;
	size_t hl = strlen(hex);
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		bool match = !strncmp(e[i].digest.hex, hex, hl);
		if (!match && oci_mt_is_manifest(e[i].media_type)) {
			struct store_image img;
			if (store_image_load(s, &e[i].digest, &img, NULL) == 0) {
				match = !strncmp(img.manifest.config.digest.hex, hex, hl);
				store_image_release(&img);
			}
		}
		if (!match)
			continue;
		if (found != SIZE_MAX && strcmp(e[found].digest.str, e[i].digest.str))
			r = strata_error_makec(err, STRATA_E_INVALID, 0, "'%s' is ambiguous: it matches more than one image",
					       hex);
		else if (found == SIZE_MAX)
			found = i;
	}
	if (r == 0 && found == SIZE_MAX)
		r = 1;
	if (r == 0) {
		entry_copy(out, &e[found]);
		free(out->name); /* found by id: not by one of its names */
		out->name = NULL;
	}
	store_entries_free(e, n);
	return r;
}

int store_resolve(struct store *s, const char *user_ref, struct store_entry *out, struct strata_error **err)
{
	memset(out, 0, sizeof(*out));
	const char *hex = NULL;
	if (!strncmp(user_ref, "sha256:", 7))
		hex = user_ref + 7;
	else if (is_hex_prefix(user_ref))
		hex = user_ref;
	if (hex) {
		if (!is_hex_prefix(hex))
			return strata_error_makec(err, STRATA_E_INVALID, 0, "invalid image id '%s'", user_ref);
		int r = by_prefix(s, hex, out, err);
		if (r <= 0)
			return r;
		if (hex != user_ref)
			return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "image '%s' not found", user_ref);
	}
	cleanup_ref struct oci_ref ref = OCI_REF_INIT;
	if (oci_ref_parse(user_ref, &ref, err) < 0)
		return -1;
	if (!ref.digest)
		return store_tag_get(s, &ref, out, err);
	/* name@digest: the digest decides; the manifest must be in the store */
	struct oci_digest d;
	if (oci_digest_parse(ref.digest, &d, err) < 0)
		return -1;
	struct store_entry *e = NULL;
	size_t n = 0;
	if (store_tag_list(s, &e, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(e[i].digest.str, d.str)) {
			entry_copy(out, &e[i]);
			store_entries_free(e, n);
			free(out->name);
			out->name = NULL;
			return 0;
		}
	}
	store_entries_free(e, n);
	int64_t size;
	if (store_blob_stat(s, &d, &size, NULL) == 0) {
		cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
		if (store_blob_read(s, &d, STORE_JSON_MAX, &b, err) < 0)
			return -1;
		cleanup_json json_t *j = NULL;
		if (strata_json_parse(b.data, b.len, d.str, &j, err) < 0)
			return -1;
		const char *mt = json_string_value(json_object_get(j, "mediaType"));
		out->media_type = xstrdup(mt ? mt : json_object_get(j, "manifests") ? OCI_MT_INDEX : OCI_MT_MANIFEST);
		oci_digest_copy(&out->digest, &d);
		out->size = size;
		return 0;
	}
	return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "image '%s' not found", user_ref);
}
