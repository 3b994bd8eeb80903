/* Data buffers of commands (data-in read from a store, data-out received
 * from the initiator), reused through a cache per event loop instead of
 * one posix_memalign/free per command.
 *
 * Why: a fresh buffer costs more than the allocator's bookkeeping. glibc
 * hands the pages of freed buffers back to the kernel (heap trimming,
 * madvise), so the next command of the same size faults them in again and
 * the kernel zeroes every page before the data is copied over it; in
 * profiles of 16 KiB reads this was a fifth of the daemon's CPU. A cached
 * buffer stays mapped and warm.
 *
 * Buffers are page aligned (O_DIRECT stores use them as they are) and
 * cached by their exact size in pages, since a workload repeats a few
 * transfer sizes; a rounding to powers of two would double the memory of
 * a 16 KiB write buffer (16 KiB + the 4 bytes of padding room). The cache
 * of a pool holds at most `cap` bytes: what would exceed it evicts other
 * sizes first, then is freed. Buffers in use are not counted: those are
 * bounded by the commands in flight (queue depth x transfer length).
 *
 * A pool belongs to one loop: it is used by that loop's thread, or by a
 * thread that holds the loop's lock (the main thread tearing a target's
 * connections down); nothing else is locked. */
#ifndef MTGT_EVENT_BUFPOOL_H
#define MTGT_EVENT_BUFPOOL_H

#include <stddef.h>

struct ev_loop;
struct buf_pool;

#define BUF_POOL_PAGE 4096u
/* Larger buffers are not cached (they are rare, and each would take a
 * large share of the cache). */
#define BUF_POOL_MAX_PAGES 256u
/* Cache of one event loop's pool; released whole when the loop used no
 * buffer for a period of BUF_POOL_IDLE_MS to BUF_POOL_IDLE_MS * 2. */
#define BUF_POOL_LOOP_CAP (16u << 20)
#define BUF_POOL_IDLE_MS 2000

struct buf_pool *buf_pool_new(size_t cap);
/* Frees the cached buffers and the pool. Buffers still in use must be
 * given back before, or freed with free(). */
void buf_pool_destroy(struct buf_pool *pool);
/* A page-aligned buffer of at least len (> 0) bytes, or NULL. */
void *buf_pool_get(struct buf_pool *pool, size_t len);
/* Gives back a buffer of buf_pool_get(pool, len), with the same len. */
void buf_pool_put(struct buf_pool *pool, void *buf, size_t len);
/* Bytes held in the cache, for tests and statistics. */
size_t buf_pool_cached(const struct buf_pool *pool);

/* The pool of a loop, created on first use (as above: the loop's thread
 * or under its lock).
 * With loop NULL (commands run outside a loop, in unit tests), plain
 * posix_memalign and free. */
void *ev_buf_get(struct ev_loop *loop, size_t len);
void ev_buf_put(struct ev_loop *loop, void *buf, size_t len);
/* Bytes cached by the loop's pool (0 without one). */
size_t ev_buf_cached(struct ev_loop *loop);

#endif
