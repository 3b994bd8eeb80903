/* The rdwr store: pread/pwrite on a file or block device, done by a small
 * pool of worker threads so the target's loop never blocks on storage.
 * Completions go back to the submitting loop with ev_post (its eventfd). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backing/bs.h"
#include "common/log.h"

#define RDWR_THREADS 4

/* Shared by the submitting loop thread and the workers; every field but
 * the thread handles is guarded by `lock`. */
struct rdwr_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct list_node queue; /* struct bs_io, FIFO */
	bool stopping;
	int fd;
	pthread_t threads[RDWR_THREADS];
	int nr_threads;
};

static int do_pread(int fd, void *buf, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) { /* beyond the end of a file: zeros */
			memset(buf, 0, len);
			return 0;
		}
		buf = (char *)buf + n;
		len -= (uint64_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int do_pwrite(int fd, const void *buf, uint64_t len, uint64_t off,
		     bool fua)
{
	while (len) {
		struct iovec iov = { (void *)buf, len };
		ssize_t n = pwritev2(fd, &iov, 1, (off_t)off,
				     fua ? RWF_DSYNC : 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf = (const char *)buf + n;
		len -= (uint64_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int run_io(int fd, struct bs_io *io)
{
	switch (io->op) {
	case BS_READ:
		return do_pread(fd, io->buf, io->length, io->offset);
	case BS_WRITE:
		return do_pwrite(fd, io->buf, io->length, io->offset, io->fua);
	case BS_FLUSH:
		return fdatasync(fd) < 0 ? -errno : 0;
	}
	return -EINVAL;
}

static void complete_on_loop(struct ev_loop *loop, void *arg)
{
	struct bs_io *io = arg;

	(void)loop;
	io->done(io);
}

static void *rdwr_worker(void *arg)
{
	struct rdwr_pool *pool = arg;

	/* Created by the main thread, which runs at a raised priority for
	 * management; storage workers run at the default. */
	setpriority(PRIO_PROCESS, (id_t)gettid(), 0);

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		struct bs_io *io;

		while (list_empty(&pool->queue) && !pool->stopping)
			pthread_cond_wait(&pool->cond, &pool->lock);
		if (list_empty(&pool->queue))
			break;
		io = list_first_entry(&pool->queue, struct bs_io, node);
		list_del(&io->node);
		pthread_mutex_unlock(&pool->lock);
		io->result = run_io(pool->fd, io);
		ev_post(io->loop, &io->work, complete_on_loop, io);
		pthread_mutex_lock(&pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

static int file_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
	return -EINVAL;
}

static void stop_workers(struct rdwr_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	for (int i = 0; i < pool->nr_threads; i++)
		pthread_join(pool->threads[i], NULL);
}

static int start_workers(struct rdwr_pool *pool, const char *tag)
{
	for (int i = 0; i < RDWR_THREADS; i++) {
		char name[16];

		if (pthread_create(&pool->threads[i], NULL, rdwr_worker, pool))
			return -EAGAIN;
		pool->nr_threads++;
		/* Thread names are at most 15 bytes; a long tag is cut. */
		snprintf(name, sizeof(name), "bs/%.12s", tag);
		pthread_setname_np(pool->threads[i], name);
	}
	return 0;
}

static void rdwr_close(struct backing_store *bs)
{
	struct rdwr_pool *pool = bs->priv;

	if (pool) {
		stop_workers(pool);
		pthread_cond_destroy(&pool->cond);
		pthread_mutex_destroy(&pool->lock);
		free(pool);
		bs->priv = NULL;
	}
	if (bs->fd >= 0)
		close(bs->fd);
	bs->fd = -1;
}

static int rdwr_open(struct backing_store *bs, const char *path)
{
	int flags = O_RDWR | O_CLOEXEC | O_LARGEFILE;
	struct rdwr_pool *pool;
	int ret;

	if (!path)
		return -EINVAL;
	if (bs->oflags & BS_OFLAG_SYNC)
		flags |= O_SYNC;
	if (bs->oflags & BS_OFLAG_DIRECT)
		flags |= O_DIRECT;
	bs->fd = open(path, flags);
	if (bs->fd < 0)
		return -errno;
	ret = file_size(bs->fd, &bs->size);
	if (ret)
		goto fail;
	pool = calloc(1, sizeof(*pool));
	if (!pool) {
		ret = -ENOMEM;
		goto fail;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	list_init(&pool->queue);
	pool->fd = bs->fd;
	bs->priv = pool;
	ret = start_workers(pool, bs->tag);
	if (ret)
		goto fail;
	return 0;
fail:
	rdwr_close(bs);
	return ret;
}

static void rdwr_submit(struct backing_store *bs, struct bs_io *io)
{
	struct rdwr_pool *pool = bs->priv;

	pthread_mutex_lock(&pool->lock);
	list_add_tail(&io->node, &pool->queue);
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
}

const struct bs_ops bs_rdwr_ops = {
	.name = "rdwr",
	.supports_oflags = true,
	.needs_path = true,
	.open = rdwr_open,
	.close = rdwr_close,
	.submit = rdwr_submit,
};
