/* Cache keys from canonical inputs, and the one-line miss explanations. */
#include "tap.h"
#include "build/build.h"

static void explain(const char *prev, const char *now, bool parent_missed, const char *want)
{
	json_t *p = prev ? json_loads(prev, 0, NULL) : NULL;
	json_t *n = json_loads(now, 0, NULL);
	char *why = build_cache_explain(p, n, parent_missed);
	is_str(why, want, "%s", want);
	free(why);
	json_decref(p);
	json_decref(n);
}

int main(void)
{
	char k1[72], k2[72], k3[72];
	json_t *a = json_loads("{\"parent\":\"p\",\"insn\":{\"kind\":\"RUN\",\"cmd\":\"make\"},\"env\":[\"A=1\"]}", 0, NULL);
	json_t *b = json_loads("{\"env\":[\"A=1\"],\"insn\":{\"cmd\":\"make\",\"kind\":\"RUN\"},\"parent\":\"p\"}", 0, NULL);
	json_t *c = json_loads("{\"env\":[\"A=2\"],\"insn\":{\"cmd\":\"make\",\"kind\":\"RUN\"},\"parent\":\"p\"}", 0, NULL);
	build_cache_key(a, k1);
	build_cache_key(b, k2);
	build_cache_key(c, k3);
	is_str(k1, k2, "member order does not matter");
	ok(strcmp(k1, k3) != 0, "a value changes the key");
	ok(!strncmp(k1, "sha256:", 7) && strlen(k1) == 71, "sha256:<hex>");
	json_decref(a);
	json_decref(b);
	json_decref(c);

	/* golden keys: every user's cache is addressed by these exact bytes.
	 * If this fails, the serialisation changed (a jansson upgrade?) or the
	 * key's definition did: a deliberate change bumps BUILD_CACHE_KEY_VERSION
	 * (docs/internals/cache.md, "Key version") and updates the values. */
#if BUILD_CACHE_KEY_VERSION != 2
#error "BUILD_CACHE_KEY_VERSION changed: update the golden keys below (and t5400)"
#endif
	json_t *g = json_loads("{\"parent\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\","
			       "\"platform\":\"amd64\",\"insn\":{\"kind\":\"COPY\",\"sources\":[\"caf\\u00e9.txt\"],"
			       "\"dest\":\"/app/\",\"chown\":null,\"link\":false},\"sources\":\"abc\","
			       "\"files\":{\"z\":\"1\",\"a\":\"2\"},\"args\":{\"N\":\"1.5\"},\"n\":3,\"v\":7}",
			       0, NULL);
	build_cache_key(g, k1);
	/* sha256 of (uppercase \u escapes, members sorted, no spaces, v last):
	 * {"args":{"N":"1.5"},"files":{"a":"2","z":"1"},"insn":{"chown":null,"dest":"/app/","kind":"COPY",
	 * "link":false,"sources":["caf\u00E9.txt"]},"n":3,"parent":"sha256:0…0","platform":"amd64",
	 * "sources":"abc","v":2} */
	is_str(k1, "sha256:f5483267a7ebea68aca70bb653d8cc013a482911aaa7bec809897f94c697bb8e",
	       "golden key (version 2; an inputs 'v' is replaced)");
	ok(json_integer_value(json_object_get(g, "v")) == 7, "the inputs are not modified");
	json_decref(g);
	json_t *empty = json_object();
	build_cache_key(empty, k1);
	is_str(k1, "sha256:2b5442799fccc3af2e7e790017697373913b7afcac933d72fb5876de994f659a",
	       "golden key of empty inputs: sha256 of {\"v\":2}");
	json_decref(empty);

	const char *base = "{\"parent\":\"p\",\"insn\":\"RUN make\",\"build_args\":{\"VERSION\":\"sha256:1\"},\"env\":[\"PATH=/bin\"],"
			   "\"config\":{\"workdir\":\"/\",\"user\":\"\"}}";
	explain(NULL, base, false, "no cache entry");
	explain(NULL, base, true, "parent step missed");
	explain(base, base, false, "no cache entry");
	explain("{\"parent\":\"q\"}", base, true, "parent step missed");
	explain("{\"parent\":\"q\",\"insn\":\"RUN make\"}", base, false, "parent step changed");
	explain("{\"parent\":\"p\",\"insn\":\"RUN make all\"}", base, false, "instruction changed");
	explain("{\"parent\":\"p\",\"insn\":\"RUN make\",\"build_args\":{\"VERSION\":\"sha256:0\"},\"env\":[\"PATH=/bin\"]}", base,
		false, "build arg VERSION changed");
	explain("{\"parent\":\"p\",\"insn\":\"RUN make\",\"build_args\":{},\"env\":[\"PATH=/bin\"]}", base, false,
		"build arg VERSION added");
	explain("{\"parent\":\"p\",\"insn\":\"RUN make\",\"build_args\":{\"VERSION\":\"sha256:1\",\"OLD\":\"sha256:x\"},\"env\":[\"PATH=/bin\"]}",
		base, false, "build arg OLD removed");
	explain("{\"parent\":\"p\",\"insn\":\"RUN make\",\"build_args\":{\"VERSION\":\"sha256:1\"},\"env\":[\"PATH=/usr/bin\"]}", base,
		false, "env PATH changed");
	explain("{\"parent\":\"p\",\"insn\":\"RUN make\",\"build_args\":{\"VERSION\":\"sha256:1\"},\"env\":[\"PATH=/bin\"],"
		"\"config\":{\"workdir\":\"/src\",\"user\":\"\"}}",
		base, false, "WORKDIR changed");
	explain("{\"parent\":\"p\",\"insn\":\"RUN make\",\"build_args\":{\"VERSION\":\"sha256:1\"},\"env\":[\"PATH=/bin\"],"
		"\"config\":{\"workdir\":\"/\",\"user\":\"nobody\"}}",
		base, false, "USER changed");
	/* older inputs: build-arg values in clear in "args" and in "env" */
	const char *now1 = "{\"parent\":\"p\",\"insn\":\"RUN make\",\"build_args\":{\"VERSION\":"
			   "\"sha256:6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b\"},"
			   "\"env\":[\"PATH=/bin\"],\"config\":{\"workdir\":\"/\",\"user\":\"\"}}";
	explain("{\"parent\":\"p\",\"insn\":\"RUN make\",\"args\":{\"VERSION\":\"1\"},\"env\":[\"PATH=/bin\",\"VERSION=1\"],"
		"\"config\":{\"workdir\":\"/\",\"user\":\"\"}}",
		now1, false, "no cache entry");
	explain("{\"parent\":\"p\",\"insn\":\"RUN make\",\"args\":{\"VERSION\":\"0\"},\"env\":[\"PATH=/bin\",\"VERSION=0\"]}",
		now1, false, "build arg VERSION changed");
	explain("{\"parent\":\"p\",\"insn\":\"RUN make\",\"args\":{\"VERSION\":\"1\"},\"env\":[\"PATH=/sbin\",\"VERSION=1\"]}",
		now1, false, "env PATH changed");
	explain("{\"parent\":\"p\",\"insn\":\"C\",\"sources\":\"1\",\"files\":{\"a\":\"1\",\"b\":\"2\"}}",
		"{\"parent\":\"p\",\"insn\":\"C\",\"sources\":\"2\",\"files\":{\"a\":\"1\",\"b\":\"3\"}}", false,
		"b changed");
	explain("{\"parent\":\"p\",\"insn\":\"C\",\"sources\":\"1\",\"files\":{\"a\":\"1\"}}",
		"{\"parent\":\"p\",\"insn\":\"C\",\"sources\":\"2\",\"files\":{\"a\":\"1\",\"new\":\"3\"}}", false,
		"new added");
	explain("{\"parent\":\"p\",\"insn\":\"C\",\"sources\":\"1\"}", "{\"parent\":\"p\",\"insn\":\"C\",\"sources\":\"2\"}",
		false, "sources changed");
	return done_testing();
}
