/*
 * ignore.h — .dockerignore matching (part of the dockerfile module boundary,
 * included by dockerfile/dockerfile.h).
 *
 * Docker's semantics (moby patternmatcher, as BuildKit uses it):
 *  - one pattern per line; leading and trailing whitespace is trimmed; lines
 *    starting with '#' are comments; blank lines are skipped;
 *  - a leading '!' makes an exception (re-include); a bare '!' is an error;
 *  - the pattern is cleaned like Go's filepath.Clean (".", "..", "//" and a
 *    trailing "/" removed) and a leading "/" is dropped: "/foo", "./foo",
 *    "foo/" all mean "foo";
 *  - glob: '*' any run of non-'/' characters, '?' one non-'/' character,
 *    "[...]" a class ("[^...]" negated, ranges a-z), '\' escapes the next
 *    character; "**" matches any number of directories (including none),
 *    a "**" at the end matches everything below;
 *  - a pattern excludes the paths it matches and everything below them
 *    (a path is also tested through each of its parent directories);
 *  - the last matching line decides, so later "!" lines re-include.
 *
 * Paths given to the matcher are relative to the context root, '/'-separated
 * ("src/main.c"); they are cleaned the same way first.
 */
#ifndef STRATA_DOCKERFILE_IGNORE_H
#define STRATA_DOCKERFILE_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

struct dockerfile_ignore;

/*
 * Parse the text of a .dockerignore file. `name` is used in errors
 * (".dockerignore:3: bad pattern '[a'"). An empty text gives a matcher that
 * excludes nothing. @return 0 with *out, or -1.
 */
int dockerfile_ignore_parse(const char *text, size_t len, const char *name,
			    struct dockerfile_ignore **out, struct strata_error **err);
/*
 * Load the ignore file for a build: "<dockerfile>.dockerignore" next to the
 * Dockerfile when it exists (dockerfile_path may be NULL), else
 * "<context>/.dockerignore", else an empty matcher. *used_path (optional) gets
 * the file used (newly allocated) or NULL.
 */
int dockerfile_ignore_load(const char *context_dir, const char *dockerfile_path,
			   struct dockerfile_ignore **out, char **used_path, struct strata_error **err);
void dockerfile_ignore_free(struct dockerfile_ignore *ig);

/* true when `path` is excluded from the context. */
bool dockerfile_ignore_match(const struct dockerfile_ignore *ig, const char *path);

/*
 * For a directory walker: when directory `dir` is excluded, may something
 * below it still be re-included by a later '!' pattern? false means the
 * whole subtree is excluded and can be skipped without reading it.
 * (Conservative: true whenever an exception could match below `dir`.)
 */
bool dockerfile_ignore_may_include_below(const struct dockerfile_ignore *ig, const char *dir);

/* Number of patterns (comments and blank lines not counted). */
size_t dockerfile_ignore_count(const struct dockerfile_ignore *ig);

/* Low level: match one cleaned glob pattern against one cleaned path, whole
 * string (no parent rule). @return true on match. */
bool dockerfile_glob_match(const char *pattern, const char *path);

#endif
