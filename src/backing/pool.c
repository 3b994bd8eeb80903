/* Worker threads for blocking store requests: a FIFO under one mutex,
 * workers that run bs_file_run and post the completion to io->loop. */
#include "backing/pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "backing/file.h"

#define POOL_MAX_THREADS 16

/* Shared by the submitting loop threads and the workers; every field but
 * the thread handles is guarded by `lock`. A request carries its store
 * (io->bs), which is not changed while the LUN has I/O in flight. */
struct bs_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct list_node queue; /* struct bs_io, FIFO */
	bool stopping;
	pthread_t threads[POOL_MAX_THREADS];
	unsigned nr_threads;
};

static void complete_on_loop(struct ev_loop *loop, void *arg)
{
	struct bs_io *io = arg;

	(void)loop;
	io->done(io);
}

static void *worker(void *arg)
{
	struct bs_pool *pool = arg;

	/* Created by the main thread, which runs at a raised priority for
	 * management, or by a target loop; storage workers run at the
	 * default. */
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
		io->result = bs_file_run(io->bs, io);
		ev_post(io->loop, &io->work, complete_on_loop, io);
		pthread_mutex_lock(&pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

struct bs_pool *bs_pool_start(const char *tag, unsigned threads)
{
	struct bs_pool *pool = calloc(1, sizeof(*pool));
	char name[16];

	if (!pool)
		return NULL;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	list_init(&pool->queue);
	/* Thread names are at most 15 bytes; a long tag is cut. */
	snprintf(name, sizeof(name), "bs/%.12s", tag);
	if (threads > POOL_MAX_THREADS)
		threads = POOL_MAX_THREADS;
	while (pool->nr_threads < threads) {
		pthread_t *t = &pool->threads[pool->nr_threads];

		if (pthread_create(t, NULL, worker, pool))
			break;
		pthread_setname_np(*t, name);
		pool->nr_threads++;
	}
	if (!pool->nr_threads) {
		bs_pool_stop(pool);
		return NULL;
	}
	return pool;
}

void bs_pool_submit(struct bs_pool *pool, struct bs_io *io)
{
	pthread_mutex_lock(&pool->lock);
	list_add_tail(&io->node, &pool->queue);
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
}

void bs_pool_stop(struct bs_pool *pool)
{
	if (!pool)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned i = 0; i < pool->nr_threads; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_cond_destroy(&pool->cond);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}
