/*
 * fuzz_registry_client — libFuzzer harness for what the registry client
 * parses from the network: WWW-Authenticate challenges, Link headers, JSON
 * error bodies, index platform selection, and Location resolution. The
 * first byte picks the parser. Build with `make fuzz`; run e.g.
 *   build-fuzz/fuzz_registry_client -max_total_time=600 fuzz/corpus/registry_client
 */
#include "registry/client/internal.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 64 * 1024)
		return 0;
	char *s = xstrndup((const char *)data + 1, size - 1);
	struct strata_error *err = NULL;
	switch (data[0] % 5) {
	case 0: {
		struct rc_challenge ch[4];
		int n = rc_challenges_parse(s, ch, 4, &err);
		for (int i = 0; i < n; i++) {
			rc_challenge_param(&ch[i], "realm");
			rc_challenge_release(&ch[i]);
		}
		break;
	}
	case 1:
		free(rc_link_next(s));
		break;
	case 2:
		rc_error_from_response(404, s, strlen(s), "MANIFEST_UNKNOWN", &err);
		break;
	case 3: {
		char *d = NULL, *mt = NULL;
		if (regclient_index_select(s, strlen(s), "linux/arm64/v8", &d, &mt, &err) == 0) {
			free(d);
			free(mt);
		}
		break;
	}
	case 4:
		free(rc_resolve_url("http://h:5/v2/a/blobs/uploads/", s));
		break;
	}
	strata_error_free(err);
	free(s);
	return 0;
}
