/*
 * fuzz_dockerfile — libFuzzer harness for the Dockerfile frontend: parse,
 * resolve (with a build arg and a target taken from the input), JSON
 * output, and the same bytes as a .dockerignore file and as a word to
 * expand. Build with `make fuzz`; run e.g.
 *   build-fuzz/fuzz_dockerfile -max_total_time=600 fuzz/corpus/dockerfile
 */
#include "dockerfile/dockerfile.h"

#include <stdint.h>
#include <string.h>

static bool lookup(void *ctx, const char *name, size_t len, const char **value)
{
	(void)ctx;
	if (len == 1 && name[0] == 'A') {
		*value = "a b";
		return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024)
		return 0;
	struct dockerfile *df = NULL;
	struct strata_error *err = NULL;
	if (dockerfile_parse((const char *)data, size, "Dockerfile", &df, &err) == 0) {
		struct dockerfile_buildargs ba = { 0 };
		dockerfile_buildargs_add(&ba, "A=1", NULL);
		dockerfile_buildargs_add(&ba, "HTTP_PROXY=p", NULL);
		struct dockerfile_platform p;
		dockerfile_platform_parse("linux/arm64", &p, NULL);
		struct dockerfile_options o = { .buildargs = &ba, .build_platform = &p, .target_platform = &p };
		for (int pass = 0; pass < 2; pass++) {
			struct dockerfile_build *b = NULL;
			if (dockerfile_resolve(df, &o, &b, &err) == 0) {
				json_t *j = dockerfile_build_to_json(b);
				char *s = strata_json_dump(j, NULL);
				free(s);
				json_decref(j);
				/* drive the last stage again with a base env */
				static const char *const env[] = { "PATH=/bin", "A=x", NULL };
				struct dockerfile_scope *sc = NULL;
				if (dockerfile_scope_new(b, b->nstages - 1, env, &sc, NULL) == 0) {
					struct dockerfile_step *st;
					while (dockerfile_scope_step(sc, &st, NULL) > 0)
						dockerfile_step_free(st);
					dockerfile_scope_free(sc);
				}
				/* the first named stage as a target, on the second pass */
				if (pass == 0)
					for (size_t i = 0; i < b->nstages; i++)
						if (b->stages[i].name) {
							o.target = strdup(b->stages[i].name);
							break;
						}
				dockerfile_build_free(b);
			}
			strata_error_clear(&err);
			if (!o.target)
				break;
		}
		free((char *)o.target);
		dockerfile_buildargs_release(&ba);
		dockerfile_free(df);
	}
	strata_error_clear(&err);

	struct dockerfile_ignore *ig = NULL;
	if (dockerfile_ignore_parse((const char *)data, size, ".dockerignore", &ig, &err) == 0) {
		static const char *const paths[] = { "a", "a/b", "src/main.c", "node_modules/x/y",
						     ".git", "README.md", "x/y/z/w.go" };
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			(void)dockerfile_ignore_match(ig, paths[i]);
			(void)dockerfile_ignore_may_include_below(ig, paths[i]);
		}
		dockerfile_ignore_free(ig);
	}
	strata_error_clear(&err);

	if (size < 4096 && !memchr(data, 0, size)) {
		char *w = strndup((const char *)data, size);
		char *out = NULL;
		if (dockerfile_expand_word(w, '\\', lookup, NULL, &out, &err) == 0)
			free(out);
		strata_error_clear(&err);
		char **words = NULL;
		size_t n = 0;
		if (dockerfile_expand_words(w, '`', lookup, NULL, &words, &n, &err) == 0) {
			for (size_t i = 0; i < n; i++)
				free(words[i]);
			free(words);
		}
		strata_error_clear(&err);
		if (dockerfile_expand_heredoc(w, '\\', lookup, NULL, &out, &err) == 0)
			free(out);
		strata_error_clear(&err);
		(void)dockerfile_glob_match(w, "a/b/c.txt");
		free(w);
	}
	return 0;
}
