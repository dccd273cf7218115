/*
 * fuzz_s3_xml — libFuzzer harness for src/s3/xml.c, which reads S3's
 * answers (a misbehaving or hostile endpoint's bytes): the input is walked
 * as a ListBucketResult, a ListMultipartUploadsResult and an Error, with
 * every text decoded; a decoded text longer than its element is a bug.
 * Build with `make fuzz`; run e.g.
 *   build-fuzz/fuzz_s3_xml -max_total_time=300 fuzz/corpus/s3_xml
 */
#include "s3/s3.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void texts(const char *in, const char *ie, const char *const *tags)
{
	for (; *tags; tags++) {
		char *t = s3_xml_text(in, ie, *tags);
		if (t && strlen(t) > (size_t)(ie - in))
			__builtin_trap();
		free(t);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* not NUL-terminated on purpose: the reader must respect end */
	char *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	const char *end = buf + size;
	static const char *const list[] = { "Key", "Size", "LastModified", NULL };
	static const char *const top[] = { "IsTruncated", "NextContinuationToken", "NextKeyMarker", NULL };
	static const char *const up[] = { "Key", "UploadId", "Initiated", NULL };
	static const char *const er[] = { "Code", "Message", NULL };
	const char *pos = buf, *in, *ie;
	if (s3_xml_next(&pos, end, "ListBucketResult", &in, &ie)) {
		if (in < buf || ie > end || in > ie)
			__builtin_trap();
		texts(in, ie, top);
		const char *p = in, *ci, *ce;
		while (s3_xml_next(&p, ie, "Contents", &ci, &ce))
			texts(ci, ce, list);
	}
	pos = buf;
	if (s3_xml_next(&pos, end, "ListMultipartUploadsResult", &in, &ie)) {
		const char *p = in, *ci, *ce;
		while (s3_xml_next(&p, ie, "Upload", &ci, &ce))
			texts(ci, ce, up);
	}
	pos = buf;
	if (s3_xml_next(&pos, end, "Error", &in, &ie))
		texts(in, ie, er);
	free(buf);
	return 0;
}
