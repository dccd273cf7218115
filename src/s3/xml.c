/*
 * xml.c — reading S3's XML answers without an XML library.
 *
 * S3 answers are flat, namespace-default documents (ListBucketResult,
 * ListPartsResult, InitiateMultipartUploadResult, Error...): elements
 * found by name, never nested in an element of the same name, text with
 * the five predefined entities, numeric character references and maybe
 * CDATA. Elements are matched by exact name (so <Key> never matches
 * <KeyMarker>), with or without attributes, and <tag/> is empty. Comments,
 * processing instructions and the declaration are skipped because they
 * never look like <tag> or <tag ...>. Anything malformed (no closing
 * tag) is "not found", never a read past the end.
 */
#include "s3/s3.h"

#include <stdlib.h>
#include <string.h>

/* the first "<tag" followed by '>', '/' or a space in [p, end), or NULL */
static const char *find_open(const char *p, const char *end, const char *tag, size_t tl)
{
	while (p < end) {
		const char *lt = memchr(p, '<', (size_t)(end - p));
		if (!lt)
			return NULL;
		if ((size_t)(end - lt) > tl + 1 && !memcmp(lt + 1, tag, tl)) {
			char c = lt[1 + tl];
			if (c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\n' || c == '\r')
				return lt;
		}
		p = lt + 1;
	}
	return NULL;
}

/* the first "</tag>" (spaces before '>' allowed) at or after p, or NULL */
static const char *find_close(const char *p, const char *end, const char *tag, size_t tl, const char **after)
{
	while (p < end) {
		const char *lt = memchr(p, '<', (size_t)(end - p));
		if (!lt)
			return NULL;
		if ((size_t)(end - lt) >= tl + 3 && lt[1] == '/' && !memcmp(lt + 2, tag, tl)) {
			const char *q = lt + 2 + tl;
			while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
				q++;
			if (q < end && *q == '>') {
				*after = q + 1;
				return lt;
			}
		}
		if ((size_t)(end - lt) >= 9 && !memcmp(lt, "<![CDATA[", 9)) {
			/* a CDATA section may hold "</tag>" as text */
			const char *ce = memmem(lt + 9, (size_t)(end - lt - 9), "]]>", 3);
			if (!ce)
				return NULL;
			p = ce + 3;
			continue;
		}
		p = lt + 1;
	}
	return NULL;
}

bool s3_xml_next(const char **pos, const char *end, const char *tag, const char **inner,
		 const char **inner_end)
{
	size_t tl = strlen(tag);
	const char *lt = find_open(*pos, end, tag, tl);
	if (!lt)
		return false;
	/* the end of the start tag: the first '>' outside a quoted attribute value */
	const char *p = lt + 1 + tl;
	char quote = 0;
	while (p < end && (quote || *p != '>')) {
		if (quote && *p == quote)
			quote = 0;
		else if (!quote && (*p == '"' || *p == '\''))
			quote = *p;
		p++;
	}
	if (p >= end)
		return false;
	if (p[-1] == '/') {
		*inner = *inner_end = p + 1;
		*pos = p + 1;
		return true;
	}
	const char *after = NULL;
	const char *close = find_close(p + 1, end, tag, tl, &after);
	if (!close)
		return false;
	*inner = p + 1;
	*inner_end = close;
	*pos = after;
	return true;
}

static void put_utf8(char **o, unsigned long cp)
{
	char *q = *o;
	if (cp < 0x80) {
		*q++ = (char)cp;
	} else if (cp < 0x800) {
		*q++ = (char)(0xc0 | (cp >> 6));
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*q++ = (char)(0xe0 | (cp >> 12));
		*q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*q++ = (char)(0xf0 | (cp >> 18));
		*q++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	}
	*o = q;
}

/* decode the text [p, end): entities, character references, CDATA */
static char *decode(const char *p, const char *end)
{
	/* every construct decodes to no more bytes than it takes */
	char *out = xmalloc((size_t)(end - p) + 1), *o = out;
	while (p < end) {
		if (*p == '<' && (size_t)(end - p) >= 9 && !memcmp(p, "<![CDATA[", 9)) {
			const char *ce = memmem(p + 9, (size_t)(end - p - 9), "]]>", 3);
			const char *stop = ce ? ce : end;
			memcpy(o, p + 9, (size_t)(stop - p - 9));
			o += stop - p - 9;
			p = ce ? ce + 3 : end;
			continue;
		}
		if (*p != '&') {
			*o++ = *p++;
			continue;
		}
		const char *semi = memchr(p, ';', (size_t)(end - p) < 12 ? (size_t)(end - p) : 12);
		if (!semi) {
			*o++ = *p++;
			continue;
		}
		size_t n = (size_t)(semi - p - 1);
		const char *e = p + 1;
		static const struct {
			const char *name;
			char c;
		} ents[] = { { "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' } };
		bool done = false;
		for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
			if (strlen(ents[i].name) == n && !memcmp(e, ents[i].name, n)) {
				*o++ = ents[i].c;
				done = true;
			}
		if (!done && n >= 2 && e[0] == '#') {
			bool hexa = e[1] == 'x' || e[1] == 'X';
			char num[12];
			size_t dl = n - 1 - (hexa ? 1 : 0);
			if (dl > 0 && dl < sizeof(num)) {
				memcpy(num, e + 1 + (hexa ? 1 : 0), dl);
				num[dl] = '\0';
				char *stop = NULL;
				unsigned long cp = strtoul(num, &stop, hexa ? 16 : 10);
				/* at most 4 bytes out for at least 4 bytes in ("&#N;") */
				if (!*stop && cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) &&
				    (cp < 0x10000 || n + 2 >= 4)) {
					put_utf8(&o, cp);
					done = true;
				}
			}
		}
		if (!done) {
			*o++ = *p++;
			continue;
		}
		p = semi + 1;
	}
	*o = '\0';
	return out;
}

char *s3_xml_text(const char *p, const char *end, const char *tag)
{
	const char *in, *ie;
	if (!s3_xml_next(&p, end, tag, &in, &ie))
		return NULL;
	return decode(in, ie);
}
