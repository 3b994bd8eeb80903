/* The fence of a delete (docs/design-notes.md, rule 5).
 *
 * When `tgtadm --op delete` answers success, nothing of what it deleted
 * may touch the backing store again: the admin may reuse the file at
 * once. A deleted LU is therefore fenced (scsi_lu.fenced): it takes no new
 * command, and nothing more reaches its store. What was in the store
 * already drains; the delete is answered once lu->inflight, which counts
 * every command that may still submit to the store, is 0 everywhere.
 *
 * The main thread never blocks on that: the request's waiter polls the
 * counts under the target lock, at growing intervals, and answers the
 * tgtadm client when they are 0. A request stuck in a store (a hung NFS
 * or FUSE server) must not hold management for ever: after
 * delete_timeout seconds the waiter answers "still active" instead; the
 * fence stays, and the delete completes by itself (a target) or on a
 * repeated delete (a LUN) once the store gives its requests back. */
#include "target/fence.h"

#include "common/log.h"
#include "target/registry.h"

/* First poll after this, then twice as long each time up to the max:
 * a short drain is seen at once, a long one costs few lock takes. */
#define POLL_FIRST_MS 1
#define POLL_MAX_MS 16

void fence_lus(struct target *t, struct scsi_lu *lu)
{
	struct scsi_lu *pos;

	if (lu) {
		lu->fenced = true;
		return;
	}
	list_for_each_entry(pos, &t->lus, node)
		pos->fenced = true;
}

bool fence_drained(const struct target *t, const struct scsi_lu *lu)
{
	const struct scsi_lu *pos;

	if (lu)
		return !lu->inflight;
	list_for_each_entry(pos, &t->lus, node)
		if (pos->inflight)
			return false;
	return true;
}

static void stop_waiting(struct target_waiter *w)
{
	list_del(&w->node);
	ev_timer_stop(w->target->main_loop, &w->poll);
}

static void give_up(struct target_waiter *w)
{
	if (w->lu)
		log_error("target %d LUN %llu: I/O still in its backing store "
			  "after %u s; the LUN stays fenced, delete it again "
			  "later", w->target->tid,
			  (unsigned long long)w->lu->lun,
			  registry_iscsi_settings()->delete_timeout_s);
	else
		log_error("target %d: I/O still in its backing stores after "
			  "%u s; the target ends once it has drained",
			  w->target->tid,
			  registry_iscsi_settings()->delete_timeout_s);
	w->done(w, w->timeout_err);
}

static void poll_drain(struct ev_loop *loop, void *arg)
{
	struct target_waiter *w = arg;
	bool drained;

	target_lock(w->target);
	drained = fence_drained(w->target, w->lu);
	target_unlock(w->target);
	if (drained || ev_now_ms() >= w->deadline_ms) {
		stop_waiting(w);
		if (drained)
			w->drained(w);
		else
			give_up(w);
		return;
	}
	if (w->poll_ms < POLL_MAX_MS)
		w->poll_ms *= 2;
	ev_timer_start(loop, &w->poll, w->poll_ms);
}

enum tgtadm_err fence_wait(struct target *t, struct scsi_lu *lu,
			   struct target_waiter *w,
			   void (*drained)(struct target_waiter *w),
			   enum tgtadm_err timeout_err)
{
	if (!w || !t->main_loop)
		return timeout_err;
	w->target = t;
	w->lu = lu;
	w->drained = drained;
	w->timeout_err = timeout_err;
	w->poll_ms = POLL_FIRST_MS;
	w->deadline_ms = ev_now_ms() +
			 registry_iscsi_settings()->delete_timeout_s * 1000ull;
	list_add_tail(&w->node, &t->waiters);
	ev_timer_init(&w->poll, poll_drain, w);
	ev_timer_start(t->main_loop, &w->poll, w->poll_ms);
	return TGTADM_IN_PROGRESS;
}

bool fence_waiting_for(const struct target *t, const struct scsi_lu *lu)
{
	const struct target_waiter *w;

	list_for_each_entry(w, &t->waiters, node)
		if (w->lu == lu)
			return true;
	return false;
}

void fence_take_waiters(struct target *t, struct list_node *answer)
{
	while (!list_empty(&t->waiters)) {
		struct target_waiter *w = list_first_entry(
			&t->waiters, struct target_waiter, node);

		stop_waiting(w);
		list_add_tail(&w->node, answer);
	}
}

void fence_answer_all(struct list_node *waiters, enum tgtadm_err err)
{
	while (!list_empty(waiters)) {
		struct target_waiter *w = list_first_entry(
			waiters, struct target_waiter, node);

		list_del(&w->node);
		w->done(w, err);
	}
}
