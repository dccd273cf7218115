/*
 * sessions.c — the end of an upload request's hold on its session: the
 * count of upload bodies in flight (--max-uploads, 429 beyond), the chunk
 * being written and the session lock, released as soon as the answer is
 * queued (clients send the next chunk before the previous request's
 * completion callback runs) and again when the request ends, whatever
 * happened. The session's own state is in the storage (uploads.c).
 */
#include "registry/server/internal.h"

#include <string.h>

bool reg_upload_count(struct reg_req *q)
{
	struct registry *r = q->r;
	pthread_mutex_lock(&r->lock);
	bool ok = r->uploads_active < r->cfg.max_uploads;
	if (ok)
		r->uploads_active++;
	pthread_mutex_unlock(&r->lock);
	q->counted_upload = ok;
	return ok;
}

/* Idempotent. */
void reg_upload_done(struct reg_req *q)
{
	struct registry *r = q->r;
	if (q->counted_upload) {
		pthread_mutex_lock(&r->lock);
		r->uploads_active--;
		pthread_mutex_unlock(&r->lock);
		q->counted_upload = false;
	}
	if (q->w) {
		/* a chunk cut short keeps what arrived: the client resumes from the upload's size */
		struct strata_error *err = NULL;
		struct reg_blob_writer *w = q->w;
		q->w = NULL;
		if (r->bs->ops->chunk_end(w, true, &err) < 0) {
			char *s = strata_error_string(err);
			LOG_WARN("end chunk of upload %s: %s", q->ref ? q->ref : "", s);
			free(s);
			strata_error_free(err);
		}
	}
	if (q->temp_id) {
		r->bs->ops->upload_delete(r->bs, q->temp_id, q->bs_state, NULL);
		free(q->temp_id);
		q->temp_id = NULL;
	}
	if (q->locked) {
		r->meta->ops->upload_unlock(r->meta, q->ref);
		q->locked = false;
	}
}
