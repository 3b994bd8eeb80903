/* Target lifecycle: creation with its own event-loop thread (`tgt/<tid>`)
 * and LUN 0, deletion, and LUN management. Main thread only. */
#include "target/target.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "backing/bs.h"
#include "common/log.h"
#include "iscsi/iscsi.h"
#include "target/fence.h"
#include "target/registry.h"

struct target *target_find(int tid)
{
	struct target *t;

	list_for_each_entry(t, target_list(), node)
		if (t->tid == tid)
			return t;
	return NULL;
}

struct target *target_find_by_name(const char *name)
{
	struct target *t;

	list_for_each_entry(t, target_list(), node)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

void target_lock(struct target *t)
{
	ev_lock_foreign(&t->lock);
}

void target_unlock(struct target *t)
{
	ev_unlock_foreign(&t->lock);
}

/* tgt accepts only these characters in a target name. */
static bool name_valid(const char *name)
{
	if (!*name || strlen(name) > TARGET_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == ':' || *p == '.' ||
		      *p == '-'))
			return false;
	return true;
}

static void target_free(struct target *t);

/* Main thread: a retired target's thread has ended or is ending. */
static void reap(struct ev_loop *loop, void *arg)
{
	struct target *t = arg;

	(void)loop;
	if (!t->joined)
		pthread_join(t->thread, NULL);
	list_del(&t->node);
	target_free(t);
}

static void *target_thread(void *arg)
{
	struct target *t = arg;

	/* Threads inherit the creator's nice value; the main thread runs
	 * raised (tgtd.c), target loops at the default. */
	setpriority(PRIO_PROCESS, (id_t)gettid(), 0);

	ev_run(t->loop);
	pthread_mutex_unlock(&t->lock.mutex);
	/* Nobody joins a retired target's thread: it tells the main
	 * thread it is done. t->retired was set before the thread was told
	 * to retire, through the loop's work queue. */
	if (t->retired)
		ev_post(t->main_loop, &t->reap_work, reap, t);
	return NULL;
}

static struct scsi_lu *make_controller(struct target *t)
{
	struct scsi_lu *lu = scsi_lu_new(t, t->tid, 0, SCSI_TYPE_CONTROLLER);

	if (!lu)
		return NULL;
	if (bs_open(&lu->bs, &bs_null_ops, NULL, 0, "ctl") < 0) {
		scsi_lu_free(lu);
		return NULL;
	}
	lu->size = 0;
	return lu;
}

static void insert_sorted(struct target *t)
{
	struct target *pos;

	list_for_each_entry(pos, target_list(), node)
		if (pos->tid > t->tid)
			break;
	list_add_tail(&t->node, &pos->node);
}

/* Its thread has ended, so nothing is left in its stores: deletes that
 * still wait are final once they are closed, and are answered then. */
static void target_free(struct target *t)
{
	struct scsi_lu *lu, *tmp;
	struct acl_entry *a, *atmp;
	struct list_node waiters;

	list_init(&waiters);
	fence_take_waiters(t, &waiters);
	list_for_each_entry_safe(lu, tmp, &t->lus, node) {
		list_del(&lu->node);
		bs_close(&lu->bs);
		scsi_lu_free(lu);
	}
	list_for_each_entry_safe(a, atmp, &t->acl_addrs, node)
		free(a);
	list_for_each_entry_safe(a, atmp, &t->acl_names, node)
		free(a);
	account_binds_free(&t->accounts);
	if (t->iscsi)
		iscsi_target_free(t->iscsi);
	ev_loop_destroy(t->loop);
	ev_lock_destroy(&t->lock);
	free(t);
	fence_answer_all(&waiters, TGTADM_SUCCESS);
}

static struct target *target_alloc(int tid, const char *name)
{
	struct target *t = calloc(1, sizeof(*t));
	char thread_name[16];
	struct scsi_lu *lu0;

	if (!t)
		return NULL;
	t->tid = tid;
	snprintf(t->name, sizeof(t->name), "%s", name);
	ev_lock_init(&t->lock);
	list_init(&t->node);
	list_init(&t->lus);
	list_init(&t->nexuses);
	list_init(&t->acl_addrs);
	list_init(&t->acl_names);
	list_init(&t->waiters);
	snprintf(thread_name, sizeof(thread_name), "tgt/%d", tid);
	t->loop = ev_loop_create(thread_name, &t->lock);
	t->iscsi = iscsi_target_new(t);
	lu0 = t->loop && t->iscsi ? make_controller(t) : NULL;
	if (!lu0) {
		target_free(t);
		return NULL;
	}
	list_add_tail(&lu0->node, &t->lus);
	return t;
}

enum tgtadm_err target_create(int tid, const char *name,
			      struct ev_loop *main_loop)
{
	struct target *t;
	char thread_name[16];

	if (tid <= 0 || !name || !name_valid(name))
		return TGTADM_INVALID_REQUEST;
	if (target_find(tid) || target_find_by_name(name))
		return TGTADM_TARGET_EXIST;
	t = target_alloc(tid, name);
	if (!t)
		return TGTADM_NOMEM;
	t->main_loop = main_loop;
	if (pthread_create(&t->thread, NULL, target_thread, t)) {
		target_free(t);
		return TGTADM_NOMEM;
	}
	snprintf(thread_name, sizeof(thread_name), "tgt/%d", tid);
	pthread_setname_np(t->thread, thread_name);
	insert_sorted(t);
	return TGTADM_SUCCESS;
}

static unsigned lus_inflight(struct target *t)
{
	struct scsi_lu *lu;
	unsigned n = 0;

	list_for_each_entry(lu, &t->lus, node)
		n += lu->inflight;
	return n;
}

/* Target thread: wait for in-flight backing-store I/O, then stop. */
static void shutdown_poll(struct ev_loop *loop, void *arg)
{
	struct target *t = arg;

	if (lus_inflight(t)) {
		ev_timer_start(loop, &t->shutdown_timer, 5);
		return;
	}
	ev_stop(loop);
}

/* Target thread: end every connection, then wait for I/O to drain. */
static void shutdown_on_loop(struct ev_loop *loop, void *arg)
{
	struct target *t = arg;

	iscsi_target_close_all(t->iscsi);
	ev_timer_init(&t->shutdown_timer, shutdown_poll, t);
	shutdown_poll(loop, t);
}

static void stop_thread(struct target *t)
{
	ev_post(t->loop, &t->shutdown_work, shutdown_on_loop, t);
	pthread_join(t->thread, NULL);
}

/* Target thread: the initiators logged out, or their time is up. */
static void retired_on_loop(struct iscsi_target *itgt)
{
	shutdown_on_loop(itgt->target->loop, itgt->target);
}

static void retire_on_loop(struct ev_loop *loop, void *arg)
{
	struct target *t = arg;

	(void)loop;
	iscsi_target_request_logout(t->iscsi, ISCSI_LOGOUT_GRACE_S,
				    retired_on_loop);
}

/* The target leaves the list at once (name and tid free again), while
 * its loop ends in the background: with sessions, after asking their
 * initiators to log out (a grace period); without, once its I/O has
 * drained. The main thread does not wait: reap() frees the target when
 * its thread ends. */
static void retire(struct target *t, bool busy)
{
	list_del(&t->node);
	list_add_tail(&t->node, registry_retiring_targets());
	t->retired = true;
	ev_post(t->loop, &t->shutdown_work,
		busy ? retire_on_loop : shutdown_on_loop, t);
}

/* Takes each LU's store out under the lock and closes it outside (a
 * close may block): the LUs are fenced and drained, nothing uses their
 * stores any more. The LUs themselves go with the target. */
static void close_stores(struct target *t)
{
	struct scsi_lu *lu;

	list_for_each_entry(lu, &t->lus, node) {
		struct backing_store bs;

		target_lock(t);
		bs = lu->bs;
		lu->bs.ops = NULL;
		lu->bs.priv = NULL;
		lu->bs.fd = -1;
		target_unlock(t);
		bs_close(&bs);
	}
}

/* Main thread: the deleted target's I/O has drained. */
static void target_drained(struct target_waiter *w)
{
	close_stores(w->target);
	w->done(w, TGTADM_SUCCESS);
}

enum tgtadm_err target_destroy(int tid, bool force, struct target_waiter *w)
{
	struct target *t = target_find(tid);
	bool busy, drained = false;

	if (!t)
		return TGTADM_NO_TARGET;
	target_lock(t);
	busy = iscsi_target_in_use(t->iscsi);
	if (!busy || force) {
		fence_lus(t, NULL);
		drained = fence_drained(t, NULL);
	}
	target_unlock(t);
	if (busy && !force)
		return TGTADM_TARGET_ACTIVE;
	if ((drained && !busy) || !t->main_loop) {
		stop_thread(t);
		list_del(&t->node);
		target_free(t);
		return TGTADM_SUCCESS;
	}
	retire(t, busy);
	if (!drained)
		return fence_wait(t, NULL, w, target_drained,
				  TGTADM_TARGET_ACTIVE);
	close_stores(t);
	return TGTADM_SUCCESS;
}

void target_destroy_all(void)
{
	struct target *t;

	while (!list_empty(target_list())) {
		t = list_first_entry(target_list(), struct target, node);
		stop_thread(t);
		list_del(&t->node);
		target_free(t);
	}
	/* Retired targets end within their grace period; the reap each
	 * posted is run by the caller's ev_drain() of the main loop. */
	list_for_each_entry(t, registry_retiring_targets(), node) {
		pthread_join(t->thread, NULL);
		t->joined = true;
	}
}

/* ---- LUNs ---- */

struct scsi_lu *target_find_lu(struct target *t, uint64_t lun)
{
	struct scsi_lu *lu;

	list_for_each_entry(lu, &t->lus, node)
		if (lu->lun == lun)
			return lu;
	return NULL;
}

static int parse_bsoflags(const char *s, int *flags)
{
	*flags = 0;
	if (!s)
		return 0;
	while (*s) {
		size_t n;

		while (*s == ' ')
			s++;
		n = strcspn(s, ":");
		if (n && !strncmp(s, "sync", n) && n <= 4)
			*flags |= BS_OFLAG_SYNC;
		else if (n && !strncmp(s, "direct", n) && n <= 6)
			*flags |= BS_OFLAG_DIRECT;
		else
			return -1;
		s += n + (s[n] == ':');
	}
	return 0;
}

static unsigned log2_exact(unsigned v)
{
	unsigned s = 0;

	while ((1u << s) < v)
		s++;
	return s;
}

static void insert_lu(struct target *t, struct scsi_lu *lu)
{
	struct scsi_lu *pos;

	list_for_each_entry(pos, &t->lus, node)
		if (pos->lun > lu->lun)
			break;
	list_add_tail(&lu->node, &pos->node);
}

/* SPC-4: every I_T nexus learns that the LUN inventory changed, on
 * whichever LUN it addresses next; REPORT LUNS clears it. Lock held. */
static void announce_lun_change(struct target *t)
{
	struct scsi_lu *lu;

	list_for_each_entry(lu, &t->lus, node)
		scsi_ua_queue_all(t, NULL, lu->lun,
				  ASC_REPORTED_LUNS_DATA_CHANGED);
}

/* A CD/DVD drive created without a path is empty: no store, no
 * medium (NOT READY, MEDIUM NOT PRESENT) until one is loaded. */
static bool empty_drive(uint8_t type, const char *path)
{
	return type == SCSI_TYPE_MMC && (!path || !*path);
}

static struct scsi_lu *open_lu(struct target *t, uint64_t lun, uint8_t type,
			       const char *path, const struct bs_ops *ops,
			       int oflags, unsigned blocksize)
{
	struct scsi_lu *lu = scsi_lu_new(t, t->tid, lun, type);
	char tag[16];
	int ret;

	if (!lu)
		return NULL;
	snprintf(tag, sizeof(tag), "%d:%llu", t->tid, (unsigned long long)lun);
	/* A disc image is never written: a read-only file will do. */
	if (type == SCSI_TYPE_MMC)
		oflags |= BS_OFLAG_RDONLY;
	if (empty_drive(type, path)) {
		lu->bs.oflags = oflags;
		snprintf(lu->bs.tag, sizeof(lu->bs.tag), "%s", tag);
		lu->online = false;
		return lu;
	}
	ret = bs_open(&lu->bs, ops, path, oflags, tag);
	if (ret < 0) {
		log_error("cannot open %s: %s", path ? path : "(none)",
			  strerror(-ret));
		scsi_lu_free(lu);
		return NULL;
	}
	if (path)
		lu->path = strdup(path);
	/* APTPL reservations of this LUN come back from the state
	 * directory, before the LU is visible to any initiator. */
	if (*registry_pr_dir() &&
	    scsi_pr_set_store(lu, registry_pr_dir(), t->name) < 0)
		log_error("LUN %llu: reservations will not persist",
			  (unsigned long long)lun);
	/* A CD/DVD's blocks are 2048 bytes whatever was asked (MMC-6). */
	if (blocksize && type != SCSI_TYPE_MMC)
		lu->blk_shift = log2_exact(blocksize);
	/* A partial last block is not addressable. */
	lu->size = lu->bs.size & ~((1ull << lu->blk_shift) - 1);
	return lu;
}

enum tgtadm_err target_add_lu(struct target *t, uint64_t lun, uint8_t type,
			      const char *path, const char *bstype,
			      const char *bsoflags, unsigned blocksize)
{
	const struct bs_ops *ops;
	struct scsi_lu *lu;
	int oflags;

	/* `show` calls a drive's store "mmc", as tgt does; a configuration
	 * written from it (tgt-admin --dump) asks for that name back. */
	if (type == SCSI_TYPE_MMC && bstype && !strcmp(bstype, "mmc"))
		bstype = NULL;
	ops = bstype ? bs_lookup(bstype) : bs_default();

	if (!ops || parse_bsoflags(bsoflags, &oflags) < 0)
		return TGTADM_INVALID_REQUEST;
	if (oflags && !ops->supports_oflags)
		return TGTADM_INVALID_REQUEST;
	if (ops->needs_path && (!path || !*path) && !empty_drive(type, path))
		return TGTADM_INVALID_REQUEST;
	/* tgt ignores a block size that is not a power of two. */
	if (blocksize && (blocksize & (blocksize - 1)))
		blocksize = 0;
	if (blocksize && (blocksize < 512 || blocksize > 65536))
		return TGTADM_INVALID_REQUEST;
	if (target_find_lu(t, lun))
		return TGTADM_LUN_EXIST;
	/* Opening may block (network stores): never under the lock. */
	lu = open_lu(t, lun, type, path, ops, oflags, blocksize);
	if (!lu)
		return TGTADM_INVALID_REQUEST;
	target_lock(t);
	if (scsi_stats_lu_added(t, lu) < 0) {
		target_unlock(t);
		bs_close(&lu->bs);
		scsi_lu_free(lu);
		return TGTADM_NOMEM;
	}
	insert_lu(t, lu);
	announce_lun_change(t);
	target_unlock(t);
	return TGTADM_SUCCESS;
}

/* Lock held: the LU leaves its target; the other LUNs announce it. */
static void unlink_lu(struct target *t, struct scsi_lu *lu)
{
	list_del(&lu->node);
	scsi_ua_drop_lun(t, lu->lun);
	announce_lun_change(t);
}

static void free_lu(struct scsi_lu *lu)
{
	bs_close(&lu->bs);
	scsi_lu_free(lu);
}

/* Main thread: a deleted LU's I/O has drained. */
static void lu_drained(struct target_waiter *w)
{
	target_lock(w->target);
	unlink_lu(w->target, w->lu);
	target_unlock(w->target);
	free_lu(w->lu);
	w->done(w, TGTADM_SUCCESS);
}

/* Lock held: why lu may not be deleted now, or TGTADM_SUCCESS. */
static enum tgtadm_err lu_deletable(const struct target *t,
				    const struct scsi_lu *lu, bool force)
{
	if (!lu)
		return TGTADM_NO_LUN;
	if (lu->lun == 0 && !force)
		return TGTADM_INVALID_REQUEST;
	if (lu->inflight && !force)
		return TGTADM_LUN_ACTIVE;
	if (fence_waiting_for(t, lu)) /* a delete of it is under way */
		return TGTADM_LUN_ACTIVE;
	return TGTADM_SUCCESS;
}

enum tgtadm_err target_del_lu(struct target *t, uint64_t lun, bool force,
			      struct target_waiter *w)
{
	struct scsi_lu *lu;
	enum tgtadm_err err;
	bool drained = false;

	target_lock(t);
	lu = target_find_lu(t, lun);
	err = lu_deletable(t, lu, force);
	if (!err) {
		fence_lus(t, lu);
		drained = fence_drained(t, lu);
		if (drained)
			unlink_lu(t, lu);
	}
	target_unlock(t);
	if (err)
		return err;
	if (!drained)
		return fence_wait(t, lu, w, lu_drained, TGTADM_LUN_ACTIVE);
	free_lu(lu);
	return TGTADM_SUCCESS;
}
