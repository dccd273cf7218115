/* s3/url.c: the --storage s3:// URL and the shared credentials file. */
#include "tap.h"
#include "s3/s3.h"

#include <stdlib.h>

static int bad(const char *url, const char *want)
{
	struct s3_config c;
	struct strata_error *err = NULL;
	int rc = s3_url_parse(url, &c, &err);
	char *m = err ? strata_error_string(err) : NULL;
	int good = rc < 0 && m && strstr(m, want) && strata_error_code(err) == STRATA_E_USAGE;
	if (!good)
		printf("# %s -> %s\n", url, m ? m : "(no error)");
	free(m);
	strata_error_free(err);
	if (rc == 0)
		s3_config_release(&c);
	return good;
}

int main(void)
{
	struct s3_config c;
	struct strata_error *err = NULL;

	ok(s3_url_parse("s3://my-bucket.1?endpoint=http://127.0.0.1:7480&region=us-east-1&prefix=/reg/one/", &c,
			&err) == 0, "a full URL parses");
	is_str(c.bucket, "my-bucket.1", "bucket");
	is_str(c.endpoint, "http://127.0.0.1:7480", "endpoint");
	is_str(c.region, "us-east-1", "region");
	is_str(c.prefix, "reg/one", "prefix without slashes at its ends");
	s3_config_release(&c);

	ok(s3_url_parse("s3://bkt?region=default&endpoint=https%3A%2F%2Fs3.example%3A8443%2F", &c, &err) == 0,
	   "percent-encoded values, any order, one trailing slash on the endpoint");
	is_str(c.endpoint, "https://s3.example:8443", "endpoint decoded and trimmed");
	is_str(c.prefix, "", "no prefix");
	s3_config_release(&c);

	ok(bad("/srv/blobs", "expected s3://BUCKET"), "not s3://");
	ok(bad("s3://?endpoint=http://h&region=r", "bucket is missing"), "no bucket");
	ok(bad("s3://Bad_Bucket?endpoint=http://h&region=r", "bucket 'Bad_Bucket'"), "bad bucket name");
	ok(bad("s3://ab?endpoint=http://h&region=r", "bucket 'ab'"), "bucket too short");
	ok(bad("s3://bkt?region=r", "endpoint is required"), "no endpoint");
	ok(bad("s3://bkt?endpoint=&region=r", "endpoint is required"), "empty endpoint");
	ok(bad("s3://bkt?endpoint=ftp://h&region=r", "endpoint 'ftp://h' must start with http://"), "endpoint scheme");
	ok(bad("s3://bkt?endpoint=http://h/path&region=r", "no path, query or user"), "endpoint with a path");
	ok(bad("s3://bkt?endpoint=http://h:99999&region=r", "bad port"), "endpoint port out of range");
	ok(bad("s3://bkt?endpoint=http://&region=r", "has no host"), "endpoint without host");
	ok(bad("s3://bkt?endpoint=http://h", "region is required"), "no region");
	ok(bad("s3://bkt?endpoint=http://h&region=US_EAST", "region 'US_EAST'"), "bad region");
	ok(bad("s3://bkt?endpoint=http://h&region=r&prefx=a", "unknown parameter 'prefx'"), "a typo is an error");
	ok(bad("s3://bkt?endpoint=http://h&region=r&region=s", "parameter 'region' given twice"), "repeated");
	ok(bad("s3://bkt?endpoint&region=r", "parameter 'endpoint' needs a value"), "parameter without '='");
	ok(bad("s3://bkt?endpoint=http://h%2&region=r", "needs a well-encoded value"), "truncated %%-escape");
	ok(bad("s3://bkt?endpoint=http://h%00&region=r", "needs a well-encoded value"), "%%00");
	ok(bad("s3://bkt?endpoint=http://h&region=r&prefix=a/../b", "prefix 'a/../b'"), "prefix with ..");
	ok(bad("s3://bkt?endpoint=http://h&region=r&prefix=a//b", "empty, '.' or '..' segment"), "prefix with //");

	static const char creds[] =
		"# comment\n"
		"[default]\n"
		"aws_access_key_id = AKDEFAULT\n"
		"aws_secret_access_key=SKDEFAULT\n"
		"\n"
		"[profile ci]\n"
		"  aws_access_key_id = AKCI  \n"
		"aws_secret_access_key = SKCI\n"
		"aws_session_token = TOK\n"
		"region = eu-west-1\n"
		"[half]\n"
		"aws_access_key_id = AKHALF\n";
	memset(&c, 0, sizeof(c));
	is_int(s3_credentials_parse(creds, "creds", "default", &c, &err), 1, "default profile found");
	is_str(c.access_key, "AKDEFAULT", "its key id");
	is_str(c.secret_key, "SKDEFAULT", "its secret");
	ok(c.session_token == NULL, "no token");
	is_int(s3_credentials_parse(creds, "creds", "ci", &c, &err), 1, "'[profile ci]' is profile ci");
	is_str(c.access_key, "AKCI", "spaces trimmed");
	is_str(c.session_token, "TOK", "session token");
	is_int(s3_credentials_parse(creds, "creds", "nope", &c, &err), 0, "an absent profile is 0");
	is_int(s3_credentials_parse(creds, "creds", "half", &c, &err), -1, "a profile without a secret is an error");
	char *m = strata_error_string(err);
	ok(m && strstr(m, "creds: profile 'half' lacks aws_secret_access_key"), "naming the file, profile and key: %s", m);
	free(m);
	strata_error_clear(&err);
	is_int(s3_credentials_parse("[default]\naws_access_key_id\n", "f", "default", &c, &err), -1, "a line without '='");
	m = strata_error_string(err);
	ok(m && strstr(m, "f:2: expected KEY = VALUE"), "names file:line: %s", m);
	free(m);
	strata_error_clear(&err);
	is_int(s3_credentials_parse("[default\n", "f", "default", &c, &err), -1, "an unclosed section");
	strata_error_clear(&err);
	s3_config_release(&c);
	return done_testing();
}
