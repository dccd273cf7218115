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
