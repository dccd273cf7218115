#include "tap.h"
#include "oci/oci.h"

static const char *H64 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

int main(void)
{
	struct oci_digest d;
	struct strata_error *err = NULL;
	char buf[300];

	snprintf(buf, sizeof(buf), "sha256:%s", H64);
	ok(oci_digest_parse(buf, &d, &err) == 0, "valid sha256");
	is_str(d.hex, H64, "hex part");
	is_int(d.alg, STRATA_HASH_SHA256, "algorithm");
	snprintf(buf, sizeof(buf), "sha512:%s%s", H64, H64);
	ok(oci_digest_valid(buf), "valid sha512");

	static const struct {
		const char *in;
		const char *msg;
	} bad[] = {
		{ "", "missing ':'" },
		{ "sha256", "missing ':'" },
		{ ":abc", "empty algorithm" },
		{ "sha256:", "empty encoded" },
		{ "sha256:abc", "needs 64 hex" },
		{ "SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "malformed algorithm" },
		{ "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "lower-case hex" },
		{ "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85z", "lower-case hex" },
		{ "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855aa", "needs 64 hex" },
		{ "md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported" },
		{ "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", "unsupported" },
		{ "sha256+:abc", "malformed algorithm" },
		{ "sha256:abc/def", "invalid character" },
		{ "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n", "invalid character" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = oci_digest_parse(bad[i].in, &d, &err);
		char *m = strata_error_string(err);
		ok(r == -1 && strstr(m, bad[i].msg), "reject '%s' (%s)", bad[i].in, m);
		free(m);
		strata_error_clear(&err);
	}

	{
		/* a digest is a plain value: a copy outlives its source */
		struct oci_digest copy;
		{
			struct oci_digest src;
			oci_digest_of(&src, "abc", 3);
			copy = src;
			memset(&src, 'x', sizeof(src));
		}
		is_str(copy.hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		       "assigned copy is independent of its source");
		ok(!strncmp(copy.str, "sha256:", 7) && !strcmp(copy.str + 7, copy.hex), "str and hex agree");
	}

	oci_digest_of(&d, "", 0);
	snprintf(buf, sizeof(buf), "sha256:%s", H64);
	is_str(d.str, buf, "digest of empty content");

	struct oci_verifier v;
	oci_verifier_init(&v, &d);
	ok(oci_verifier_final(&v, &err) == 0, "verifier accepts matching content");
	oci_verifier_init(&v, &d);
	oci_verifier_update(&v, "x", 1);
	ok(oci_verifier_final(&v, &err) == -1, "verifier rejects other content");
	char *m = strata_error_string(err);
	ok(strstr(m, "digest mismatch") != NULL, "mismatch message: %s", m);
	free(m);
	strata_error_clear(&err);
	return done_testing();
}
