/* s3/xml.c: reading S3's answers. */
#include "tap.h"
#include "s3/s3.h"

#include <stdlib.h>

static char *text(const char *doc, const char *tag)
{
	return s3_xml_text(doc, doc + strlen(doc), tag);
}

int main(void)
{
	static const char list[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Name>b</Name><Prefix>blobs/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>"
		"<IsTruncated>true</IsTruncated>"
		"<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
		"<Contents><Key>blobs/a&amp;b &lt;c&gt; &#233;&#x4e2d;</Key><LastModified>2026-12-04T10:24:08.699Z</LastModified>"
		"<ETag>&quot;abc&quot;</ETag><Size>7000000</Size><StorageClass>STANDARD</StorageClass></Contents>"
		"<Contents>\n  <Key><![CDATA[blobs/</Key>x]]></Key>\n  <Size>0</Size>\n</Contents>"
		"<Contents><Key/><Size>1</Size></Contents>"
		"</ListBucketResult>";
	const char *end = list + strlen(list), *pos = list, *in, *ie;
	ok(s3_xml_next(&pos, end, "ListBucketResult", &in, &ie), "the root element, with an attribute");
	char *t = s3_xml_text(in, ie, "IsTruncated");
	is_str(t, "true", "IsTruncated");
	free(t);
	t = s3_xml_text(in, ie, "NextContinuationToken");
	is_str(t, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=", "the continuation token");
	free(t);
	const char *p = in, *cin, *cie;
	ok(s3_xml_next(&p, ie, "Contents", &cin, &cie), "first Contents");
	t = s3_xml_text(cin, cie, "Key");
	is_str(t, "blobs/a&b <c> \xc3\xa9\xe4\xb8\xad", "entities and character references decoded");
	free(t);
	t = s3_xml_text(cin, cie, "ETag");
	is_str(t, "\"abc\"", "&quot;");
	free(t);
	t = s3_xml_text(cin, cie, "Size");
	is_str(t, "7000000", "Size");
	free(t);
	ok(s3_parse_time("2026-12-04T10:24:08.699Z") == 1796379848, "LastModified parses (fraction dropped)");
	ok(s3_parse_time("Wed, 21 Oct 2015 07:28:00 GMT") == 1445412480, "an HTTP date");
	ok(s3_parse_time("2015-10-21T07:28:00.000Z") == 1445412480, "an ISO 8601 time");
	ok(s3_parse_time("garbage") == 0, "garbage is 0");
	ok(s3_xml_next(&p, ie, "Contents", &cin, &cie), "second Contents (spaces and newlines)");
	t = s3_xml_text(cin, cie, "Key");
	is_str(t, "blobs/</Key>x", "CDATA holding a closing tag");
	free(t);
	ok(s3_xml_next(&p, ie, "Contents", &cin, &cie), "third Contents");
	t = s3_xml_text(cin, cie, "Key");
	is_str(t, "", "<Key/> is empty");
	free(t);
	ok(!s3_xml_next(&p, ie, "Contents", &cin, &cie), "no fourth");

	t = text("<R><KeyMarker>m</KeyMarker><Key>k</Key></R>", "Key");
	is_str(t, "k", "<Key> does not match <KeyMarker>");
	free(t);
	t = text("<R><Key>unterminated", "Key");
	ok(t == NULL, "no closing tag: not found");
	t = text("<R><Key", "Key");
	ok(t == NULL, "a cut start tag: not found");
	t = text("<R><Key a=\"x>y\">v</Key></R>", "Key");
	is_str(t, "v", "'>' inside a quoted attribute");
	free(t);
	t = text("<K>&bogus; &#0; &#xD800; &amp</K>", "K");
	is_str(t, "&bogus; &#0; &#xD800; &amp", "unknown or invalid references kept as text");
	free(t);

	static const char error[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code>"
		"<Message>The specified key does not exist.</Message><Key>a</Key><RequestId>tx1</RequestId></Error>";
	t = text(error, "Code");
	is_str(t, "NoSuchKey", "an error's Code");
	free(t);
	t = text(error, "Message");
	is_str(t, "The specified key does not exist.", "and Message");
	free(t);
	t = text("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>2~AbC</UploadId>"
		 "</InitiateMultipartUploadResult>", "UploadId");
	is_str(t, "2~AbC", "UploadId");
	free(t);
	return done_testing();
}
