/* s3/sign.c: URI encoding, canonical query strings, presigned URLs (AWS's documented example). */
#include "tap.h"
#include "s3/s3.h"

#include <stdlib.h>

int main(void)
{
	char *s;

	s = s3_uri_encode("a/b c+d=e~f_g.h-i*%", false);
	is_str(s, "a%2Fb%20c%2Bd%3De~f_g.h-i%2A%25", "query values: all but unreserved encoded, upper-case hex");
	free(s);
	s = s3_uri_encode("blobs/sha256/ab:cd", true);
	is_str(s, "blobs/sha256/ab%3Acd", "paths keep '/'");
	free(s);
	s = s3_uri_encode("\xc3\xa9", false);
	is_str(s, "%C3%A9", "UTF-8 bytes encoded one by one");
	free(s);

	struct s3_param up[] = { { "uploads", "" } };
	s = s3_canonical_query(up, 1);
	is_str(s, "uploads=", "an empty value is written name=");
	free(s);

	struct s3_param list[] = {
		{ "prefix", "uploads/abc/" },
		{ "list-type", "2" },
		{ "continuation-token", "1/a+b=" },
	};
	s = s3_canonical_query(list, 3);
	is_str(s, "continuation-token=1%2Fa%2Bb%3D&list-type=2&prefix=uploads%2Fabc%2F",
	       "sorted by name, names and values encoded");
	free(s);

	struct s3_param part[] = { { "uploadId", "2~x y" }, { "partNumber", "10" } };
	s = s3_canonical_query(part, 2);
	is_str(s, "partNumber=10&uploadId=2~x%20y", "upper case sorts before lower case (byte order)");
	free(s);

	struct s3_param same[] = { { "a", "2" }, { "a", "1" }, { "B", "" } };
	s = s3_canonical_query(same, 3);
	is_str(s, "B=&a=1&a=2", "equal names sorted by value");
	free(s);

	s = s3_canonical_query(NULL, 0);
	is_str(s, "", "no parameters: empty");
	free(s);

	/*
	 * AWS S3 API reference, "Authenticating Requests: Using Query
	 * Parameters (AWS Signature Version 4)", the example presigned URL.
	 */
	s = s3_presign("GET", "https", "examplebucket.s3.amazonaws.com", "/test.txt", "us-east-1",
		       "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL, 1369353600, 86400);
	is_str(s,
	       "https://examplebucket.s3.amazonaws.com/test.txt"
	       "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
	       "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
	       "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
	       "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
	       "AWS's documented presigned URL, byte for byte");
	free(s);

	s = s3_presign("GET", "http", "127.0.0.1:7480", "/b/k", "default", "AK", "SK", "TOKEN/+=", 1369353600, 60);
	ok(strstr(s, "&X-Amz-Security-Token=TOKEN%2F%2B%3D&") != NULL, "a session token is a signed query parameter");
	ok(!strncmp(s, "http://127.0.0.1:7480/b/k?X-Amz-Algorithm=", 42), "host with port, path-style");
	char *t = s3_presign("GET", "http", "127.0.0.1:7480", "/b/k", "default", "AK", "SK", "TOKEN/+=", 1369353601, 60);
	ok(strcmp(strstr(s, "X-Amz-Signature="), strstr(t, "X-Amz-Signature=")) != 0, "the time is signed");
	free(s);
	free(t);
	return done_testing();
}
