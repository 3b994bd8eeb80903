/* The aio store (tgt's type name; the default): a file or block device
 * driven through io_uring.
 *
 * One ring per event loop, shared by every aio LUN whose commands run on
 * that loop, created there on first use. Only that loop's thread submits
 * to it; the kernel signals each completion on an eventfd registered in
 * the loop's epoll, and io->done runs on the loop. Submissions made while
 * the loop handles a batch of events go to the kernel in one
 * io_uring_enter, from the loop's flush hook just before it waits again.
 *
 * What io_uring cannot express (SEEK_DATA/SEEK_HOLE, BLKDISCARD, zeroing
 * by writes where fallocate cannot zero) runs on a helper thread of the
 * LUN, started the first time it is needed. Where io_uring is not
 * available at all (seccomp, io_uring_disabled), the LUN is served by
 * worker threads like rdwr.
 *
 * Files in memory (tmpfs, without O_DIRECT) are read and written with
 * plain pread/pwrite on the loop itself: io_uring cannot do them without
 * blocking (tmpfs takes no RWF_NOWAIT) and so hands every one of them to a
 * kernel worker thread, whose wake-up, context switches and completion
 * signal cost more than the copy the worker then makes. The loop does the
 * same copy in place of the worker; it blocks only where tmpfs itself
 * would (pages swapped out).
 *
 * Files whose I/O waits on a server (FUSE, NFS, SMB, Ceph, 9P, AFS) go
 * to io_uring's worker threads at once (IOSQE_ASYNC): the kernel may
 * block in io_uring's non-blocking first try on them (FUSE waits there
 * for a free request slot once its background queue is full: seen on
 * Linux 6.18), and the loop would stall, holding the target lock, for as
 * long as the server does; a hung server would then hang the target's
 * management too (DESIGN.md rule 7). */
#include <assert.h>
#include <errno.h>
#include <linux/falloc.h>
#include <linux/magic.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "backing/file.h"
#include "backing/kernel_filled.h"
#include "backing/pool.h"
#include "common/log.h"

/* Requests in flight per loop; more wait in the ring's backlog. The
 * completion queue has twice as many entries, so it cannot overflow. */
#define RING_ENTRIES 256
/* io_uring's read and write take a 32-bit length. */
#define RW_CHUNK_MAX (1u << 30)
#define REAP_BATCH 32
/* Rounds of reap/submit in one flush: completions that arrive inline
 * with a submission are handled without waiting for the eventfd, but a
 * request that keeps failing with EAGAIN cannot hold the loop. */
#define FLUSH_ROUNDS 16
/* Worker threads when the kernel refuses io_uring (as many as rdwr). */
#define FALLBACK_THREADS 4
/* Delay before io_uring_enter is tried again after a refusal. */
#define RETRY_MS 1
/* A ring that saw no request for a whole period goes away with its
 * kernel worker threads; an idle target holds none. */
#define IDLE_MS 2000

/* The io_uring of one event loop. Owned by the loop's thread: created by
 * the first aio submission there, used only there, released there after
 * an idle period or by ev_loop_destroy once that thread has ended. A
 * target stops its loop only after its LUNs' I/O has drained, so by then
 * nothing is in flight. */
struct aio_ring {
	struct io_uring ring;
	struct ev_loop *loop;
	pthread_t owner;          /* the loop's thread */
	int efd;                  /* eventfd the kernel signals per CQE */
	struct ev_io efd_io;
	unsigned inflight;        /* SQEs prepared, CQE not yet reaped */
	struct list_node backlog; /* struct bs_io waiting for a free entry */
	struct ev_timer retry;    /* wakes the loop to submit again */
	struct ev_timer idle;     /* periodic: releases an unused ring */
	uint64_t prepared;        /* requests put into entries, ever */
	uint64_t prepared_at_tick;
};

/* One aio LUN (bs->priv). Created and freed by the main thread. helper
 * is started by the target's loop thread under the target lock and
 * stopped by close(), which runs after the LUN's I/O has drained. */
struct aio_store {
	struct bs_pool *helper;
	bool no_ring; /* io_uring unavailable: everything goes to helper */
	bool in_memory; /* tmpfs: reads and writes on the loop (see top) */
	bool remote;    /* behind a server: never issued inline (see top) */
};

static void ring_flush(struct ev_loop *loop, void *data);
static void ring_release(void *data);

static const struct ev_local_ops ring_local = {
	.flush = ring_flush,
	.release = ring_release,
};

/* ---- requests that go to the helper thread ---- */

static void finish(struct bs_io *io, int result)
{
	io->result = result;
	io->done(io);
}

static void helper_submit(struct bs_io *io)
{
	struct aio_store *s = io->bs->priv;

	if (!s->helper)
		s->helper = bs_pool_start(io->bs->tag, 1);
	if (!s->helper) {
		log_error("%s: cannot start a helper thread", io->bs->tag);
		finish(io, -EAGAIN);
		return;
	}
	bs_pool_submit(s->helper, io);
}

/* Whether the ring can carry io. lseek and ioctl have no io_uring form
 * (on the kernels Debian 12 runs). */
static bool ring_can(const struct bs_io *io)
{
	if (io->op == BS_MAP_STATUS)
		return false;
	if (io->op == BS_UNMAP && io->bs->blockdev)
		return false;
	return true;
}

/* ---- the ring ---- */

static uint32_t rw_chunk(const struct bs_io *io)
{
	uint64_t left = io->length - io->progress;

	return left > RW_CHUNK_MAX ? RW_CHUNK_MAX : (uint32_t)left;
}

/* UNMAP and WRITE ZEROES with FUA are a fallocate and then an fsync;
 * progress == length marks the second step. */
static bool fallocate_done(const struct bs_io *io)
{
	return io->progress == io->length;
}

static void prep_fallocate(struct io_uring_sqe *sqe, struct bs_io *io)
{
	int mode = io->op == BS_UNMAP ? FALLOC_FL_PUNCH_HOLE
				      : FALLOC_FL_ZERO_RANGE;

	if (fallocate_done(io))
		io_uring_prep_fsync(sqe, io->bs->fd, IORING_FSYNC_DATASYNC);
	else
		io_uring_prep_fallocate(sqe, io->bs->fd,
					mode | FALLOC_FL_KEEP_SIZE,
					(off_t)io->offset, (off_t)io->length);
}

static void prep(struct io_uring_sqe *sqe, struct bs_io *io)
{
	int fd = io->bs->fd;
	char *buf = io->buf;

	switch (io->op) {
	case BS_READ:
		io_uring_prep_read(sqe, fd, buf + io->progress, rw_chunk(io),
				   io->offset + io->progress);
		break;
	case BS_WRITE:
		io_uring_prep_write(sqe, fd, buf + io->progress, rw_chunk(io),
				    io->offset + io->progress);
		sqe->rw_flags = io->fua ? RWF_DSYNC : 0;
		break;
	case BS_UNMAP:
	case BS_WRITE_ZEROES:
		prep_fallocate(sqe, io);
		break;
	case BS_FLUSH:
	case BS_MAP_STATUS: /* never on the ring (ring_can) */
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	}
	if (((struct aio_store *)io->bs->priv)->remote)
		io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
	io_uring_sqe_set_data(sqe, io);
}

/* Puts io into a submission queue entry, or in the backlog if every entry
 * is taken. */
static void ring_queue(struct aio_ring *r, struct bs_io *io)
{
	struct io_uring_sqe *sqe = NULL;

	if (r->inflight < RING_ENTRIES && list_empty(&r->backlog))
		sqe = io_uring_get_sqe(&r->ring);
	if (!sqe) {
		list_add_tail(&io->node, &r->backlog);
		return;
	}
	prep(sqe, io);
	r->inflight++;
	r->prepared++;
}

static void fill_from_backlog(struct aio_ring *r)
{
	while (!list_empty(&r->backlog) && r->inflight < RING_ENTRIES) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
		struct bs_io *io;

		if (!sqe)
			return;
		io = list_first_entry(&r->backlog, struct bs_io, node);
		list_del(&io->node);
		prep(sqe, io);
		r->inflight++;
		r->prepared++;
	}
}

/* A read or write moved res bytes: go on with the rest. */
static void rw_progress(struct aio_ring *r, struct bs_io *io, int res)
{
	if (io->op == BS_READ)
		kernel_filled((char *)io->buf + io->progress, (size_t)res);
	if (res == 0 && io->op == BS_READ) {
		/* Beyond the end of a file: zeros, as pread gives. */
		memset((char *)io->buf + io->progress, 0,
		       io->length - io->progress);
		finish(io, 0);
		return;
	}
	if (res == 0) { /* a write that makes no progress: give up */
		finish(io, -EIO);
		return;
	}
	io->progress += (uint64_t)res;
	if (io->progress < io->length)
		ring_queue(r, io);
	else
		finish(io, 0);
}

static void complete(struct aio_ring *r, struct bs_io *io, int res)
{
	if (res == -EAGAIN || res == -EINTR) {
		ring_queue(r, io);
		return;
	}
	switch (io->op) {
	case BS_READ:
	case BS_WRITE:
		if (res < 0)
			finish(io, res);
		else
			rw_progress(r, io, res);
		return;
	case BS_WRITE_ZEROES:
	case BS_UNMAP:
		if (res == -EOPNOTSUPP && io->op == BS_WRITE_ZEROES &&
		    !fallocate_done(io)) {
			helper_submit(io); /* zeros written by a thread */
			return;
		}
		if (res == 0 && io->fua && !fallocate_done(io)) {
			io->progress = io->length;
			ring_queue(r, io);
			return;
		}
		finish(io, res);
		return;
	default:
		finish(io, res);
		return;
	}
}

/* Handles every completion the kernel has posted. The CQEs are released
 * before their requests complete, so that completions may submit. */
static void ring_reap(struct aio_ring *r)
{
	struct io_uring_cqe *cqes[REAP_BATCH];
	unsigned n;

	while ((n = io_uring_peek_batch_cqe(&r->ring, cqes, REAP_BATCH))) {
		struct bs_io *ios[REAP_BATCH];
		int res[REAP_BATCH];

		for (unsigned i = 0; i < n; i++) {
			ios[i] = io_uring_cqe_get_data(cqes[i]);
			res[i] = cqes[i]->res;
		}
		io_uring_cq_advance(&r->ring, n);
		r->inflight -= n;
		for (unsigned i = 0; i < n; i++)
			complete(r, ios[i], res[i]);
	}
}

/* Returns whether everything prepared went to the kernel. */
static bool ring_submit(struct aio_ring *r)
{
	int ret;

	do
		ret = io_uring_submit(&r->ring);
	while (ret == -EINTR);
	if (ret >= 0)
		return true;
	/* EAGAIN, ENOMEM: the kernel is short of resources; the entries
	 * stay queued and go with the next attempt. */
	log_error("io_uring submit on %s: %s", ev_loop_name(r->loop),
		  strerror(-ret));
	ev_timer_start(r->loop, &r->retry, RETRY_MS);
	return false;
}

static void ring_flush(struct ev_loop *loop, void *data)
{
	struct aio_ring *r = data;

	(void)loop;
	for (int round = 0; round < FLUSH_ROUNDS; round++) {
		ring_reap(r);
		fill_from_backlog(r);
		if (!io_uring_sq_ready(&r->ring) || !ring_submit(r))
			return;
	}
}

static void on_eventfd(struct ev_loop *loop, uint32_t events, void *arg)
{
	struct aio_ring *r = arg;
	uint64_t count;

	(void)loop;
	(void)events;
	if (read(r->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_error("eventfd %s: %s", ev_loop_name(r->loop),
			  strerror(errno));
	ring_reap(r);
}

/* Nothing to do: waking the loop is enough, its flush submits. */
static void on_retry(struct ev_loop *loop, void *arg)
{
	(void)loop;
	(void)arg;
}

static void on_idle_tick(struct ev_loop *loop, void *arg)
{
	struct aio_ring *r = arg;

	if (r->inflight || !list_empty(&r->backlog) ||
	    r->prepared != r->prepared_at_tick) {
		r->prepared_at_tick = r->prepared;
		ev_timer_start(loop, &r->idle, IDLE_MS);
		return;
	}
	ev_local_set(loop, &ring_local, NULL);
	ring_release(r);
}

static void ring_release(void *data)
{
	struct aio_ring *r = data;

	/* Cannot happen (see struct aio_ring), but if it did the kernel
	 * must be done with the buffers before they go. */
	if (r->inflight) {
		log_error("%s: %u aio requests still in flight at exit",
			  ev_loop_name(r->loop), r->inflight);
		io_uring_submit(&r->ring); /* what was only prepared */
	}
	while (r->inflight) {
		struct io_uring_cqe *cqe;

		if (io_uring_wait_cqe(&r->ring, &cqe) < 0)
			break;
		io_uring_cqe_seen(&r->ring, cqe);
		r->inflight--;
	}
	ev_timer_stop(r->loop, &r->retry);
	ev_timer_stop(r->loop, &r->idle);
	ev_io_stop(&r->efd_io);
	io_uring_queue_exit(&r->ring);
	close(r->efd);
	free(r);
}

static struct aio_ring *ring_create(struct ev_loop *loop)
{
	struct aio_ring *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return NULL;
	ret = io_uring_queue_init(RING_ENTRIES, &r->ring, 0);
	if (ret < 0) {
		log_error("io_uring on %s: %s", ev_loop_name(loop),
			  strerror(-ret));
		free(r);
		return NULL;
	}
	r->loop = loop;
	r->owner = pthread_self();
	list_init(&r->backlog);
	ev_timer_init(&r->retry, on_retry, r);
	ev_timer_init(&r->idle, on_idle_tick, r);
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ev_io_init(&r->efd_io, r->efd, on_eventfd, r);
	if (r->efd < 0 || io_uring_register_eventfd(&r->ring, r->efd) < 0 ||
	    ev_io_start(loop, &r->efd_io, EPOLLIN) < 0 ||
	    ev_local_set(loop, &ring_local, r) < 0) {
		log_error("io_uring eventfd on %s failed", ev_loop_name(loop));
		ev_io_stop(&r->efd_io);
		io_uring_queue_exit(&r->ring);
		if (r->efd >= 0)
			close(r->efd);
		free(r);
		return NULL;
	}
	ev_timer_start(loop, &r->idle, IDLE_MS);
	return r;
}

static struct aio_ring *ring_of(struct ev_loop *loop)
{
	struct aio_ring *r = ev_local_get(loop, &ring_local);

	if (!r)
		r = ring_create(loop);
	/* Submitting from another thread would race the loop's own use. */
	assert(!r || pthread_equal(r->owner, pthread_self()));
	return r;
}

/* ---- the store ---- */

static bool io_uring_works(void)
{
	struct io_uring ring;
	int ret = io_uring_queue_init(1, &ring, 0);

	if (ret < 0) {
		log_error("io_uring unavailable (%s): aio LUNs use worker "
			  "threads", strerror(-ret));
		return false;
	}
	io_uring_queue_exit(&ring);
	return true;
}

static void aio_close(struct backing_store *bs)
{
	struct aio_store *s = bs->priv;

	if (s) {
		bs_pool_stop(s->helper);
		free(s);
		bs->priv = NULL;
	}
	bs_file_close(bs);
}

/* A regular file on tmpfs, read and written through the page cache. */
static bool file_in_memory(const struct backing_store *bs)
{
	struct statfs fs;

	if (bs->blockdev || (bs->oflags & BS_OFLAG_DIRECT))
		return false;
	return fstatfs(bs->fd, &fs) == 0 && fs.f_type == TMPFS_MAGIC;
}

/* A regular file of a file system that waits on a server. */
static bool file_remote(const struct backing_store *bs)
{
	struct statfs fs;

	if (bs->blockdev || fstatfs(bs->fd, &fs) < 0)
		return false;
	switch (fs.f_type) {
	case FUSE_SUPER_MAGIC:
	case NFS_SUPER_MAGIC:
	case CIFS_SUPER_MAGIC:
	case SMB2_SUPER_MAGIC:
	case CEPH_SUPER_MAGIC:
	case V9FS_MAGIC:
	case AFS_FS_MAGIC:
	case AFS_SUPER_MAGIC:
		return true;
	default:
		return false;
	}
}

static int aio_open(struct backing_store *bs, const char *path)
{
	struct aio_store *s;
	int ret = bs_file_open(bs, path);

	if (ret)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s) {
		bs_file_close(bs);
		return -ENOMEM;
	}
	bs->priv = s;
	s->in_memory = file_in_memory(bs);
	s->remote = file_remote(bs);
	if (!io_uring_works()) {
		s->no_ring = true;
		s->helper = bs_pool_start(bs->tag, FALLBACK_THREADS);
		if (!s->helper) {
			aio_close(bs);
			return -EAGAIN;
		}
	}
	return 0;
}

static void aio_submit(struct backing_store *bs, struct bs_io *io)
{
	struct aio_store *s = bs->priv;
	struct aio_ring *r;

	if (io->op == BS_UNMAP && !bs->caps.discard) {
		finish(io, -EOPNOTSUPP);
		return;
	}
	/* A transfer of nothing: done, without asking the kernel (which
	 * would answer a write of 0 bytes with 0, "no progress"). */
	if ((io->op == BS_READ || io->op == BS_WRITE) && !io->length) {
		finish(io, 0);
		return;
	}
	if (s->in_memory && (io->op == BS_READ || io->op == BS_WRITE)) {
		finish(io, bs_file_run(bs, io));
		return;
	}
	r = s->no_ring || !ring_can(io) ? NULL : ring_of(io->loop);
	if (r)
		ring_queue(r, io);
	else
		helper_submit(io);
}

const struct bs_ops bs_aio_ops = {
	.name = "aio",
	.supports_oflags = true,
	.needs_path = true,
	.open = aio_open,
	.close = aio_close,
	.submit = aio_submit,
};
