/*
 * ignore.c — .dockerignore rules (dockerfile/ignore.h) as the context
 * scanner's struct build_ignore.
 */
#include "build/build.h"

static bool ign_excluded(void *ctx, const char *path, bool is_dir)
{
	(void)is_dir;
	return dockerfile_ignore_match(ctx, path);
}

static bool ign_may_reinclude(void *ctx, const char *dir)
{
	return dockerfile_ignore_may_include_below(ctx, dir);
}

void build_ignore_from_dockerfile(struct build_ignore *out, const struct dockerfile_ignore *ig)
{
	out->excluded = ig ? ign_excluded : NULL;
	out->may_reinclude = ig ? ign_may_reinclude : NULL;
	out->ctx = (void *)ig;
}
