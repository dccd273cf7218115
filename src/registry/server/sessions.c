/*
 * sessions.c — the in-memory state of upload sessions: the sha256 context
 * over the bytes already received, so a chunked upload is hashed once.
 * At most SESSIONS_MAX entries; idle ones are evicted (their state is
 * rebuilt from the file on the next chunk). One request at a time per
 * session (busy flag).
 */
#include "registry/server/internal.h"

#include <string.h>

#define SESSIONS_MAX 1024

struct reg_session *reg_session_acquire(struct registry *r, const char *uuid, bool *busy)
{
	pthread_mutex_lock(&r->lock);
	struct reg_session *s = r->sessions;
	for (; s; s = s->next)
		if (!strcmp(s->uuid, uuid))
			break;
	if (s && s->busy) {
		pthread_mutex_unlock(&r->lock);
		*busy = true;
		return NULL;
	}
	if (!s) {
		if (r->nsessions >= SESSIONS_MAX) {
			/* forget the hash state of an idle session; it is re-hashed if it comes back */
			struct reg_session **pp = &r->sessions;
			while (*pp && (*pp)->busy)
				pp = &(*pp)->next;
			if (*pp) {
				struct reg_session *old = *pp;
				*pp = old->next;
				strata_hash_release(&old->hash);
				free(old);
				r->nsessions--;
			}
		}
		s = xcalloc(1, sizeof(*s));
		snprintf(s->uuid, sizeof(s->uuid), "%s", uuid);
		s->next = r->sessions;
		r->sessions = s;
		r->nsessions++;
	}
	s->busy = true;
	pthread_mutex_unlock(&r->lock);
	*busy = false;
	return s;
}

void reg_session_forget(struct registry *r, const char *uuid)
{
	pthread_mutex_lock(&r->lock);
	for (struct reg_session **pp = &r->sessions; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->uuid, uuid)) {
			struct reg_session *s = *pp;
			*pp = s->next;
			strata_hash_release(&s->hash);
			free(s);
			r->nsessions--;
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
}

void reg_sessions_free(struct registry *r)
{
	while (r->sessions) {
		struct reg_session *s = r->sessions;
		r->sessions = s->next;
		strata_hash_release(&s->hash);
		free(s);
	}
	r->nsessions = 0;
}

/*
 * Called as soon as the answer is queued (the client may send its next chunk
 * before this request's completion callback runs) and again when the
 * request ends, whatever happened: hand the hash back. Idempotent.
 */
void reg_upload_done(struct reg_req *q)
{
	struct registry *r = q->r;
	if (q->counted_upload) {
		pthread_mutex_lock(&r->lock);
		r->uploads_active--;
		pthread_mutex_unlock(&r->lock);
		q->counted_upload = false;
	}
	if (!q->sess)
		return;
	pthread_mutex_lock(&r->lock);
	struct reg_session *s = q->sess;
	strata_hash_release(&s->hash);
	if (q->hashing && !q->body_failed) {
		s->hash = q->hash;
		s->offset += q->written;
		s->valid = true;
		q->hashing = false;
	} else {
		s->valid = false;
	}
	s->busy = false;
	pthread_mutex_unlock(&r->lock);
	q->sess = NULL;
}

