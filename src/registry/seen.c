/*
 * seen.c — where blobs were seen (see seen.h).
 */
#include "registry/seen.h"

#include <pthread.h>
#include <string.h>

#define SEEN_FILE_MAX (64u << 20)

struct regseen {
	char *path;
	json_t *doc;   /* {"host": {"digest": ["repo"]}} */
	json_t *added; /* the same shape: what this process learnt */
	pthread_mutex_t lock;
};

int regseen_open(const char *path, struct regseen **out, struct strata_error **err)
{
	json_t *doc = NULL;
	if (strata_json_load_object(path, SEEN_FILE_MAX, &doc, err) < 0)
		return -1;
	struct regseen *s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	s->doc = doc;
	s->added = json_object();
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return 0;
}

void regseen_free(struct regseen *s)
{
	if (!s)
		return;
	json_decref(s->doc);
	json_decref(s->added);
	pthread_mutex_destroy(&s->lock);
	free(s->path);
	free(s);
}

/* Add repo to doc[host][digest] within the bounds. */
static void put(json_t *doc, const char *host, const char *repo, const char *digest)
{
	json_t *h = json_object_get(doc, host);
	if (!json_is_object(h)) {
		h = json_object();
		json_object_set_new(doc, host, h);
	}
	json_t *repos = json_object_get(h, digest);
	if (!json_is_array(repos)) {
		if (json_object_size(h) >= REGSEEN_MAX_BLOBS)
			return;
		repos = json_array();
		json_object_set_new(h, digest, repos);
	}
	size_t i;
	json_t *r;
	json_array_foreach(repos, i, r)
	{
		if (json_is_string(r) && !strcmp(json_string_value(r), repo))
			return;
	}
	if (json_array_size(repos) >= REGSEEN_MAX_REPOS)
		json_array_remove(repos, 0);
	json_array_append_new(repos, json_string(repo));
}

void regseen_add(struct regseen *s, const char *host, const char *repo, const char *digest)
{
	pthread_mutex_lock(&s->lock);
	put(s->doc, host, repo, digest);
	put(s->added, host, repo, digest);
	pthread_mutex_unlock(&s->lock);
}

int regseen_where(struct regseen *s, const char *host, const char *digest, const char *not_repo, char **repo)
{
	int found = 0;
	pthread_mutex_lock(&s->lock);
	json_t *repos = json_object_get(json_object_get(s->doc, host), digest);
	size_t i;
	json_t *r;
	json_array_foreach(repos, i, r)
	{
		const char *name = json_string_value(r);
		if (name && strcmp(name, not_repo)) {
			*repo = xstrdup(name);
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

static int save_locked(struct regseen *s, struct strata_error **err)
{
	if (!json_object_size(s->added))
		return 0;
	cleanup_free char *lockp = xasprintf("%s.lock", s->path);
	cleanup_close int lk = strata_lock_file(lockp, true, err);
	if (lk < 0)
		return -1;
	/* merge what others wrote meanwhile */
	json_t *cur = NULL;
	if (strata_json_load_object(s->path, SEEN_FILE_MAX, &cur, NULL) < 0)
		cur = json_object(); /* a corrupt file is replaced */
	const char *host, *digest;
	json_t *h, *repos, *repo;
	size_t i;
	json_object_foreach(s->added, host, h)
	{
		json_object_foreach(h, digest, repos)
		{
			json_array_foreach(repos, i, repo)
				put(cur, host, json_string_value(repo), digest);
		}
	}
	cleanup_free char *text = strata_json_dump(cur, NULL);
	if (strata_atomic_write(s->path, text, strlen(text), 0644, err) < 0) {
		json_decref(cur);
		return -1;
	}
	json_decref(s->doc);
	s->doc = cur;
	json_object_clear(s->added);
	return 0;
}

int regseen_save(struct regseen *s, struct strata_error **err)
{
	pthread_mutex_lock(&s->lock);
	int r = save_locked(s, err);
	pthread_mutex_unlock(&s->lock);
	return r;
}
