/* A small pool of worker threads that run store requests with blocking
 * calls (bs_file_run) so that no event loop waits for storage; each
 * completion goes back to its io->loop through ev_post. Private to
 * src/backing/. */
#ifndef MTGT_BACKING_POOL_H
#define MTGT_BACKING_POOL_H

#include "backing/bs.h"

struct bs_pool;

/* Starts `threads` workers named bs/<tag>; NULL if none could be
 * started. */
struct bs_pool *bs_pool_start(const char *tag, unsigned threads);
/* Any thread. */
void bs_pool_submit(struct bs_pool *pool, struct bs_io *io);
/* Runs what is queued, joins the workers and frees the pool. Their last
 * completions may still be posted to the loops: the caller waits for
 * those (the LUN's in-flight count) before freeing what they touch. */
void bs_pool_stop(struct bs_pool *pool);

#endif
