/*
 * tarname.c — names as bytes in pax tar, whatever the process locale.
 *
 * libarchive converts pax `path`/`linkpath` between UTF-8 and the current
 * locale, and strata never calls setlocale (the "C" locale), so without
 * help every non-ASCII name is "Can't translate pathname". The rules:
 *
 * - writing: the writer's UTF-8 conversion is created under a UTF-8 locale
 *   (thread-local, uselocale), so a name that is valid UTF-8 goes into the
 *   pax record unchanged (no normalisation on this side), as GNU tar and
 *   Go's archive/tar write it; a name that is not UTF-8 makes libarchive
 *   fall back to `hdrcharset=BINARY` and the raw bytes for that entry (a
 *   warning from archive_write_header, accepted here). A name holding
 *   UTF-8-encoded UTF-16 surrogates is refused: libarchive's UTF-8 copy
 *   would silently re-encode it.
 * - reading: in the C locale a non-ASCII pax name cannot be converted, and
 *   libarchive keeps the original bytes and returns ARCHIVE_WARN (readers
 *   accept warnings); binary headers are read raw without one. Reading under
 *   a UTF-8 locale would NFC-normalise names, so readers keep the C locale.
 */
#include "layer/layer.h"

#include <archive.h>
#include <locale.h>
#include <string.h>

int layer_tar_names_setup(struct archive *a, struct strata_error **err)
{
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (utf8 == (locale_t)0)
		return 0; /* every non-ASCII name then goes out as hdrcharset=BINARY: still exact */
	locale_t old = uselocale(utf8);
	int r = archive_write_set_format_option(a, "pax", "hdrcharset", "UTF-8");
	uselocale(old);
	freelocale(utf8);
	if (r != ARCHIVE_OK)
		return strata_error_make(err, 0, "tar name encoding: %s", archive_error_string(a));
	return 0;
}

static bool has_surrogate(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (p[0] == 0xed && p[1] >= 0xa0 && p[1] <= 0xbf)
			return true;
	return false;
}

int layer_tar_name_check(const char *path, const char *target, struct strata_error **err)
{
	const char *bad = has_surrogate(path) ? path : target && has_surrogate(target) ? target : NULL;
	if (bad)
		return strata_error_makec(err, STRATA_E_INVALID, 0,
					  "'%s': a name holding UTF-16 surrogates encoded as UTF-8 (CESU-8) "
					  "cannot be stored byte for byte in a tar layer",
					  bad);
	return 0;
}

static bool charset_message(struct archive *a, const char *needle)
{
	const char *m = archive_error_string(a);
	return m && strstr(m, needle) != NULL;
}

bool layer_tar_write_warning_ok(struct archive *a)
{
	/* "Can't translate pathname|linkname|uname|gname '%s' to UTF-8" */
	return charset_message(a, "Can't translate ") && charset_message(a, " to UTF-8");
}
