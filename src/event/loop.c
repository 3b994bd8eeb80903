#include "event/loop.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define EV_BATCH 64
/* Services with per-loop state (ev_local_set): the aio store's ring, the
 * buffer pool, the iSCSI transmit batch. */
#define EV_LOCALS 4

struct ev_local {
	const struct ev_local_ops *ops; /* NULL: free slot */
	void *data;
};

/* Owned by the thread that runs it; fields marked "any thread" are the only
 * ones touched from outside. */
struct ev_loop {
	char name[32];
	int epfd;
	int wake_fd;  /* eventfd: work queued or stop requested */
	int timer_fd; /* timerfd armed for the earliest timer */
	struct ev_lock *lock; /* optional per-target lock */

	pthread_mutex_t queue_lock; /* guards work_queue (any thread) */
	struct list_node work_queue;
	atomic_bool stop; /* any thread */

	struct list_node timers; /* sorted by due_ms; loop thread only */
	/* Bumped whenever an fd is removed, so the dispatcher can tell that
	 * the events left in its batch may name a stale registration. */
	unsigned removals;
	struct ev_local locals[EV_LOCALS]; /* loop thread only */
};

void ev_lock_init(struct ev_lock *lock)
{
	pthread_mutex_init(&lock->mutex, NULL);
	atomic_init(&lock->waiters, 0);
	atomic_init(&lock->grants, 0);
}

void ev_lock_destroy(struct ev_lock *lock)
{
	pthread_mutex_destroy(&lock->mutex);
}

void ev_lock_foreign(struct ev_lock *lock)
{
	atomic_fetch_add(&lock->waiters, 1);
	pthread_mutex_lock(&lock->mutex);
	atomic_fetch_sub(&lock->waiters, 1);
	atomic_fetch_add(&lock->grants, 1);
}

void ev_unlock_foreign(struct ev_lock *lock)
{
	pthread_mutex_unlock(&lock->mutex);
}

/* A plain mutex lets the loop thread re-take the lock before a waiter wakes
 * up. After each batch the loop therefore steps aside until every waiter
 * that was queued has had its turn (DESIGN.md rule 7). */
static void ev_lock_yield(struct ev_lock *lock)
{
	unsigned int seen = atomic_load(&lock->grants);

	if (atomic_load(&lock->waiters) == 0)
		return;
	pthread_mutex_unlock(&lock->mutex);
	while (atomic_load(&lock->waiters) > 0 &&
	       atomic_load(&lock->grants) == seen)
		sched_yield();
	pthread_mutex_lock(&lock->mutex);
}

uint64_t ev_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int epoll_register(int epfd, int fd, void *ptr)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ptr };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Sentinels for the loop's own fds in epoll_event.data.ptr. */
static char wake_tag, timer_tag;

struct ev_loop *ev_loop_create(const char *name, struct ev_lock *lock)
{
	struct ev_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	snprintf(loop->name, sizeof(loop->name), "%s", name);
	loop->lock = lock;
	pthread_mutex_init(&loop->queue_lock, NULL);
	list_init(&loop->work_queue);
	list_init(&loop->timers);
	atomic_init(&loop->stop, false);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	loop->timer_fd = timerfd_create(CLOCK_MONOTONIC,
					TFD_NONBLOCK | TFD_CLOEXEC);
	if (loop->epfd < 0 || loop->wake_fd < 0 || loop->timer_fd < 0 ||
	    epoll_register(loop->epfd, loop->wake_fd, &wake_tag) ||
	    epoll_register(loop->epfd, loop->timer_fd, &timer_tag)) {
		log_error("cannot create event loop %s: %s", name,
			  strerror(errno));
		ev_loop_destroy(loop);
		return NULL;
	}
	return loop;
}

void ev_loop_destroy(struct ev_loop *loop)
{
	if (!loop)
		return;
	for (int i = 0; i < EV_LOCALS; i++)
		if (loop->locals[i].ops && loop->locals[i].ops->release)
			loop->locals[i].ops->release(loop->locals[i].data);
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->wake_fd >= 0)
		close(loop->wake_fd);
	if (loop->timer_fd >= 0)
		close(loop->timer_fd);
	pthread_mutex_destroy(&loop->queue_lock);
	free(loop);
}

const char *ev_loop_name(const struct ev_loop *loop)
{
	return loop->name;
}

static void wake(struct ev_loop *loop)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already non-zero: the loop will wake. */
	if (write(loop->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("wake %s: %s", loop->name, strerror(errno));
}

void ev_stop(struct ev_loop *loop)
{
	atomic_store(&loop->stop, true);
	wake(loop);
}

void ev_io_init(struct ev_io *io, int fd, ev_io_cb cb, void *arg)
{
	io->fd = fd;
	io->events = 0;
	io->cb = cb;
	io->arg = arg;
	io->loop = NULL;
}

int ev_io_start(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0)
		return -errno;
	io->loop = loop;
	io->events = events;
	return 0;
}

int ev_io_modify(struct ev_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	if (!io->loop)
		return -EINVAL;
	if (io->events == events)
		return 0;
	if (epoll_ctl(io->loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
		return -errno;
	io->events = events;
	return 0;
}

void ev_io_stop(struct ev_io *io)
{
	if (!io->loop)
		return;
	epoll_ctl(io->loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->loop->removals++;
	io->loop = NULL;
}

void ev_post(struct ev_loop *loop, struct ev_work *work, ev_work_fn fn,
	     void *arg)
{
	bool was_empty;

	work->fn = fn;
	work->arg = arg;
	pthread_mutex_lock(&loop->queue_lock);
	was_empty = list_empty(&loop->work_queue);
	list_add_tail(&work->node, &loop->work_queue);
	pthread_mutex_unlock(&loop->queue_lock);
	if (was_empty)
		wake(loop);
}

static void run_posted_work(struct ev_loop *loop)
{
	struct list_node batch;
	uint64_t count;

	if (read(loop->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_error("eventfd read %s: %s", loop->name, strerror(errno));
	list_init(&batch);
	pthread_mutex_lock(&loop->queue_lock);
	if (!list_empty(&loop->work_queue)) {
		batch.next = loop->work_queue.next;
		batch.prev = loop->work_queue.prev;
		batch.next->prev = &batch;
		batch.prev->next = &batch;
		list_init(&loop->work_queue);
	}
	pthread_mutex_unlock(&loop->queue_lock);
	while (!list_empty(&batch)) {
		struct ev_work *work =
			list_first_entry(&batch, struct ev_work, node);

		list_del(&work->node);
		work->fn(loop, work->arg);
	}
}

static void arm_timerfd(struct ev_loop *loop)
{
	struct itimerspec its = { 0 };

	if (!list_empty(&loop->timers)) {
		struct ev_timer *first =
			list_first_entry(&loop->timers, struct ev_timer, node);
		uint64_t now = ev_now_ms();
		uint64_t delay = first->due_ms > now ? first->due_ms - now : 0;

		/* A zero it_value disarms, so an overdue timer fires in 1 ns. */
		its.it_value.tv_sec = (time_t)(delay / 1000);
		its.it_value.tv_nsec = (long)(delay % 1000) * 1000000 + 1;
	}
	timerfd_settime(loop->timer_fd, 0, &its, NULL);
}

void ev_timer_init(struct ev_timer *timer, ev_timer_cb cb, void *arg)
{
	list_init(&timer->node);
	timer->cb = cb;
	timer->arg = arg;
	timer->armed = false;
	timer->due_ms = 0;
}

void ev_timer_start(struct ev_loop *loop, struct ev_timer *timer,
		    uint64_t delay_ms)
{
	struct ev_timer *pos;

	if (timer->armed)
		ev_timer_stop(loop, timer);
	timer->due_ms = ev_now_ms() + delay_ms;
	timer->armed = true;
	list_for_each_entry(pos, &loop->timers, node) {
		if (pos->due_ms > timer->due_ms)
			break;
	}
	list_add_tail(&timer->node, &pos->node);
	if (loop->timers.next == &timer->node)
		arm_timerfd(loop);
}

void ev_timer_stop(struct ev_loop *loop, struct ev_timer *timer)
{
	(void)loop;
	if (!timer->armed)
		return;
	list_del(&timer->node);
	timer->armed = false;
}

static void run_due_timers(struct ev_loop *loop)
{
	uint64_t expirations;
	uint64_t now = ev_now_ms();

	if (read(loop->timer_fd, &expirations, sizeof(expirations)) < 0 &&
	    errno != EAGAIN)
		log_error("timerfd read %s: %s", loop->name, strerror(errno));
	while (!list_empty(&loop->timers)) {
		struct ev_timer *t =
			list_first_entry(&loop->timers, struct ev_timer, node);

		if (t->due_ms > now)
			break;
		list_del(&t->node);
		t->armed = false;
		t->cb(loop, t->arg);
	}
	arm_timerfd(loop);
}

static void dispatch(struct ev_loop *loop, struct epoll_event *events, int n)
{
	unsigned removals = loop->removals;

	for (int i = 0; i < n; i++) {
		void *tag = events[i].data.ptr;

		if (tag == &wake_tag) {
			run_posted_work(loop);
		} else if (tag == &timer_tag) {
			run_due_timers(loop);
		} else {
			struct ev_io *io = tag;

			io->cb(loop, events[i].events, io->arg);
		}
		/* A handler removed an fd: the remaining entries may point at
		 * freed registrations. Level-triggered epoll reports the
		 * live ones again on the next wait. */
		if (loop->removals != removals)
			break;
		/* Management is waiting for this loop's lock: hand it over
		 * now rather than after the whole batch (DESIGN.md rule 7).
		 * What it changes is re-checked by the handlers that run
		 * after it, as after any epoll_wait. */
		if (loop->lock && atomic_load_explicit(&loop->lock->waiters,
						       memory_order_relaxed)) {
			ev_lock_yield(loop->lock);
			if (loop->removals != removals)
				break;
		}
	}
}

void *ev_local_get(struct ev_loop *loop, const struct ev_local_ops *ops)
{
	for (int i = 0; i < EV_LOCALS; i++)
		if (loop->locals[i].ops == ops)
			return loop->locals[i].data;
	return NULL;
}

int ev_local_set(struct ev_loop *loop, const struct ev_local_ops *ops,
		 void *data)
{
	for (int i = 0; i < EV_LOCALS; i++) {
		if (loop->locals[i].ops == ops) {
			loop->locals[i].ops = data ? ops : NULL;
			loop->locals[i].data = data;
			return 0;
		}
	}
	for (int i = 0; data && i < EV_LOCALS; i++) {
		if (!loop->locals[i].ops) {
			loop->locals[i].ops = ops;
			loop->locals[i].data = data;
			return 0;
		}
	}
	return data ? -ENOSPC : 0;
}

static void flush_locals(struct ev_loop *loop)
{
	for (int last = 0; last < 2; last++) {
		for (int i = 0; i < EV_LOCALS; i++) {
			const struct ev_local_ops *ops = loop->locals[i].ops;

			if (ops && ops->flush && ops->flush_last == last)
				ops->flush(loop, loop->locals[i].data);
		}
	}
}

void ev_run(struct ev_loop *loop)
{
	struct epoll_event events[EV_BATCH];

	if (loop->lock)
		pthread_mutex_lock(&loop->lock->mutex);
	while (!atomic_load(&loop->stop)) {
		int n;

		flush_locals(loop);
		if (loop->lock)
			pthread_mutex_unlock(&loop->lock->mutex);
		n = epoll_wait(loop->epfd, events, EV_BATCH, -1);
		if (loop->lock)
			pthread_mutex_lock(&loop->lock->mutex);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait %s: %s", loop->name,
				  strerror(errno));
			break;
		}
		dispatch(loop, events, n);
		if (loop->lock)
			ev_lock_yield(loop->lock);
	}
	/* Work posted while the loop was stopping (deferred frees) must
	 * still run: nothing else will ever run it. */
	ev_drain(loop);
	/* The stop is consumed: the owner may run the loop again. */
	atomic_store(&loop->stop, false);
}

void ev_drain(struct ev_loop *loop)
{
	for (;;) {
		bool empty;

		pthread_mutex_lock(&loop->queue_lock);
		empty = list_empty(&loop->work_queue);
		pthread_mutex_unlock(&loop->queue_lock);
		if (empty)
			break;
		run_posted_work(loop);
	}
}
