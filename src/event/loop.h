/* Event loop: epoll for fds, a timerfd for timers, and an eventfd-driven
 * queue through which other threads hand work to the loop's thread.
 *
 * There is no global loop: every handler receives the loop that runs it, and
 * every object registered with a loop remembers that loop. A loop is run by
 * exactly one thread at a time (its owner); only ev_post(), ev_stop() and
 * the lock hand-over hooks may be used from other threads.
 *
 * Optionally a loop is tied to a mutex (the per-target lock of DESIGN.md):
 * the loop thread then holds it while it handles events and drops it only
 * around epoll_wait, and hands it to a waiting thread after each batch. */
#ifndef MTGT_EVENT_LOOP_H
#define MTGT_EVENT_LOOP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/list.h"

struct ev_loop;

typedef void (*ev_io_cb)(struct ev_loop *loop, uint32_t events, void *arg);

/* One registered fd. Embedded in its owner (a connection, a listener);
 * owned by the thread of the loop it is registered with. */
struct ev_io {
	int fd;
	uint32_t events;
	ev_io_cb cb;
	void *arg;
	struct ev_loop *loop; /* NULL while not registered */
};

typedef void (*ev_work_fn)(struct ev_loop *loop, void *arg);

/* A unit of work handed to a loop from any thread; embedded in its owner so
 * posting does not allocate. Guarded by the loop's queue lock while queued. */
struct ev_work {
	struct list_node node;
	ev_work_fn fn;
	void *arg;
};

typedef void (*ev_timer_cb)(struct ev_loop *loop, void *arg);

/* A one-shot timer; re-arm from its callback for periodic work. Owned by
 * the loop thread it is armed on. */
struct ev_timer {
	struct list_node node;
	uint64_t due_ms; /* CLOCK_MONOTONIC milliseconds */
	ev_timer_cb cb;
	void *arg;
	bool armed;
};

/* The per-target lock and the hand-over counters of DESIGN.md rule 7. A
 * thread that is not the loop's owner takes the lock with ev_lock_foreign()
 * so that a busy loop yields it after the current batch. */
struct ev_lock {
	pthread_mutex_t mutex;
	atomic_int waiters;  /* foreign threads blocked in ev_lock_foreign() */
	atomic_uint grants;  /* bumped by each foreign acquisition */
};

void ev_lock_init(struct ev_lock *lock);
void ev_lock_destroy(struct ev_lock *lock);
void ev_lock_foreign(struct ev_lock *lock);
void ev_unlock_foreign(struct ev_lock *lock);

struct ev_loop *ev_loop_create(const char *name, struct ev_lock *lock);
void ev_loop_destroy(struct ev_loop *loop);
const char *ev_loop_name(const struct ev_loop *loop);

/* Runs until ev_stop() (also one made before the call); it may then be
 * run again. With a lock, the lock is held on return. */
void ev_run(struct ev_loop *loop);
/* Safe from any thread; the loop finishes its current batch and returns. */
void ev_stop(struct ev_loop *loop);
/* Runs work posted to a stopped loop (deferred frees at shutdown). Only by
 * the thread that ran the loop. */
void ev_drain(struct ev_loop *loop);

void ev_io_init(struct ev_io *io, int fd, ev_io_cb cb, void *arg);
int ev_io_start(struct ev_loop *loop, struct ev_io *io, uint32_t events);
int ev_io_modify(struct ev_io *io, uint32_t events);
/* Removes the fd from its loop. Safe while the loop is in the middle of a
 * batch: the rest of the batch is dropped and re-reported by epoll. */
void ev_io_stop(struct ev_io *io);

/* Queue work on a loop; fn runs on that loop's thread. Any thread. */
void ev_post(struct ev_loop *loop, struct ev_work *work, ev_work_fn fn,
	     void *arg);

void ev_timer_init(struct ev_timer *timer, ev_timer_cb cb, void *arg);
void ev_timer_start(struct ev_loop *loop, struct ev_timer *timer,
		    uint64_t delay_ms);
void ev_timer_stop(struct ev_loop *loop, struct ev_timer *timer);
uint64_t ev_now_ms(void);

/* Per-loop state of a service that must live on one loop's thread (the
 * io_uring of the aio store: one ring per loop, used only there). The
 * service creates it on the loop's thread the first time it needs it and
 * attaches it here under the address of its ops as key. The loop then
 * calls flush() before each wait, with the lock held, so that work its
 * handlers batched (submissions) goes out once per batch; and release()
 * from ev_loop_destroy, after the loop's thread has ended. Both ev_local
 * calls: the loop's thread only. */
struct ev_local_ops {
	void (*flush)(struct ev_loop *loop, void *data);
	void (*release)(void *data);
	/* Flushed after the others: for a service that sends what the
	 * others' flushes complete (responses to store completions). */
	bool flush_last;
};

void *ev_local_get(struct ev_loop *loop, const struct ev_local_ops *ops);
/* Returns 0, or -ENOSPC when every slot is taken. NULL data detaches
 * the service (its release() is then the caller's business). */
int ev_local_set(struct ev_loop *loop, const struct ev_local_ops *ops,
		 void *data);

#endif
