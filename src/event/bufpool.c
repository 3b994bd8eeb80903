#include "event/bufpool.h"

#include <stdint.h>
#include <stdlib.h>

#include "event/loop.h"

/* A cached buffer; the link lives in the buffer's own first bytes. */
struct free_buf {
	struct free_buf *next;
};

/* Owned by one thread (see bufpool.h). free_lists[n] holds buffers of
 * n + 1 pages. */
struct buf_pool {
	size_t cap;
	size_t cached;
	struct free_buf *free_lists[BUF_POOL_MAX_PAGES];
};

static size_t pages_of(size_t len)
{
	return (len + BUF_POOL_PAGE - 1) / BUF_POOL_PAGE;
}

static void *alloc_pages(size_t pages)
{
	void *buf = NULL;

	if (posix_memalign(&buf, BUF_POOL_PAGE, pages * BUF_POOL_PAGE))
		return NULL;
	return buf;
}

struct buf_pool *buf_pool_new(size_t cap)
{
	struct buf_pool *pool = calloc(1, sizeof(*pool));

	if (pool)
		pool->cap = cap;
	return pool;
}

/* Frees the first cached buffer of free_lists[idx] (not empty). */
static void evict_one(struct buf_pool *pool, size_t idx)
{
	struct free_buf *b = pool->free_lists[idx];

	pool->free_lists[idx] = b->next;
	pool->cached -= (idx + 1) * BUF_POOL_PAGE;
	free(b);
}

void buf_pool_destroy(struct buf_pool *pool)
{
	if (!pool)
		return;
	for (size_t i = 0; i < BUF_POOL_MAX_PAGES; i++)
		while (pool->free_lists[i])
			evict_one(pool, i);
	free(pool);
}

void *buf_pool_get(struct buf_pool *pool, size_t len)
{
	size_t pages = pages_of(len);
	struct free_buf *b;

	if (pages == 0 || pages > BUF_POOL_MAX_PAGES)
		return alloc_pages(pages ? pages : 1);
	b = pool->free_lists[pages - 1];
	if (!b)
		return alloc_pages(pages);
	pool->free_lists[pages - 1] = b->next;
	pool->cached -= pages * BUF_POOL_PAGE;
	return b;
}

/* Frees cached buffers of other sizes, largest first, until `need` more
 * bytes fit under the cap. Returns whether they do. */
static bool make_room(struct buf_pool *pool, size_t need, size_t keep_idx)
{
	for (size_t i = BUF_POOL_MAX_PAGES; i-- > 0;) {
		if (pool->cached + need <= pool->cap)
			return true;
		if (i == keep_idx)
			continue;
		while (pool->free_lists[i] && pool->cached + need > pool->cap)
			evict_one(pool, i);
	}
	return pool->cached + need <= pool->cap;
}

void buf_pool_put(struct buf_pool *pool, void *buf, size_t len)
{
	size_t pages = pages_of(len);
	size_t bytes = pages * BUF_POOL_PAGE;
	struct free_buf *b = buf;

	if (!buf)
		return;
	if (pages == 0 || pages > BUF_POOL_MAX_PAGES || bytes > pool->cap ||
	    !make_room(pool, bytes, pages - 1)) {
		free(buf);
		return;
	}
	b->next = pool->free_lists[pages - 1];
	pool->free_lists[pages - 1] = b;
	pool->cached += bytes;
}

size_t buf_pool_cached(const struct buf_pool *pool)
{
	return pool->cached;
}

/* ---- the pool of a loop ---- */

/* A loop's pool and its idle check. Owned by the loop (see bufpool.h);
 * created by the first ev_buf_get there, released after a period in which
 * the loop took no buffer and gave none back (so an idle target holds no
 * cached memory), or by ev_loop_destroy. */
struct loop_pool {
	struct buf_pool *pool;
	struct ev_loop *loop;
	struct ev_timer idle;
	uint64_t uses;         /* gets and puts, ever */
	uint64_t uses_at_tick;
};

static void loop_pool_release(void *data)
{
	struct loop_pool *lp = data;

	ev_timer_stop(lp->loop, &lp->idle);
	buf_pool_destroy(lp->pool);
	free(lp);
}

static const struct ev_local_ops loop_pool_ops = {
	.release = loop_pool_release,
};

static void loop_pool_tick(struct ev_loop *loop, void *arg)
{
	struct loop_pool *lp = arg;

	if (lp->uses != lp->uses_at_tick) {
		lp->uses_at_tick = lp->uses;
		ev_timer_start(loop, &lp->idle, BUF_POOL_IDLE_MS);
		return;
	}
	/* Buffers still in use are freed by ev_buf_put, poolless. */
	ev_local_set(loop, &loop_pool_ops, NULL);
	loop_pool_release(lp);
}

static struct loop_pool *loop_pool(struct ev_loop *loop)
{
	struct loop_pool *lp = ev_local_get(loop, &loop_pool_ops);

	if (lp)
		return lp;
	lp = calloc(1, sizeof(*lp));
	if (!lp)
		return NULL;
	lp->pool = buf_pool_new(BUF_POOL_LOOP_CAP);
	lp->loop = loop;
	ev_timer_init(&lp->idle, loop_pool_tick, lp);
	if (!lp->pool || ev_local_set(loop, &loop_pool_ops, lp) < 0) {
		buf_pool_destroy(lp->pool);
		free(lp);
		return NULL;
	}
	ev_timer_start(loop, &lp->idle, BUF_POOL_IDLE_MS);
	return lp;
}

void *ev_buf_get(struct ev_loop *loop, size_t len)
{
	struct loop_pool *lp = loop ? loop_pool(loop) : NULL;

	if (!lp)
		return alloc_pages(len ? pages_of(len) : 1);
	lp->uses++;
	return buf_pool_get(lp->pool, len);
}

void ev_buf_put(struct ev_loop *loop, void *buf, size_t len)
{
	/* No pool is made here: without one (none yet, or released while
	 * the buffer was in use) the buffer is simply freed. */
	struct loop_pool *lp = loop ? ev_local_get(loop, &loop_pool_ops)
				    : NULL;

	if (!lp) {
		free(buf);
		return;
	}
	lp->uses++;
	buf_pool_put(lp->pool, buf, len);
}

size_t ev_buf_cached(struct ev_loop *loop)
{
	struct loop_pool *lp = ev_local_get(loop, &loop_pool_ops);

	return lp ? buf_pool_cached(lp->pool) : 0;
}
