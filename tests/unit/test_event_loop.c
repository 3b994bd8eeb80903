/* Unit tests: event loop timers, cross-thread posting, fd removal inside
 * a batch, and the lock hand-over to a waiting thread. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmocka.h>

#include "event/loop.h"

struct counter {
	int hits;
	struct ev_loop *stop_after;
	int stop_at;
};

static void count_and_maybe_stop(struct ev_loop *loop, void *arg)
{
	struct counter *c = arg;

	if (++c->hits == c->stop_at)
		ev_stop(loop);
}

static void test_timers_fire_in_order(void **state)
{
	struct ev_loop *loop = ev_loop_create("t", NULL);
	struct counter c = { .stop_at = 2 };
	struct ev_timer late, early, cancelled;
	uint64_t start = ev_now_ms();

	(void)state;
	ev_timer_init(&late, count_and_maybe_stop, &c);
	ev_timer_init(&early, count_and_maybe_stop, &c);
	ev_timer_init(&cancelled, count_and_maybe_stop, &c);
	ev_timer_start(loop, &late, 40);
	ev_timer_start(loop, &early, 10);
	ev_timer_start(loop, &cancelled, 5);
	ev_timer_stop(loop, &cancelled);
	ev_run(loop);
	assert_int_equal(c.hits, 2);
	assert_true(ev_now_ms() - start >= 40);
	assert_false(late.armed);
	ev_loop_destroy(loop);
}

struct poster {
	struct ev_loop *loop;
	struct ev_work work[100];
	struct counter *c;
};

static void *post_from_thread(void *arg)
{
	struct poster *p = arg;

	for (int i = 0; i < 100; i++)
		ev_post(p->loop, &p->work[i], count_and_maybe_stop, p->c);
	return NULL;
}

static void test_post_from_other_thread(void **state)
{
	struct ev_loop *loop = ev_loop_create("t", NULL);
	struct counter c = { .stop_at = 100 };
	struct poster p = { .loop = loop, .c = &c };
	pthread_t th;

	(void)state;
	pthread_create(&th, NULL, post_from_thread, &p);
	ev_run(loop);
	pthread_join(th, NULL);
	assert_int_equal(c.hits, 100);
	ev_loop_destroy(loop);
}

/* Two readable pipes in one batch: the first handler removes the second
 * registration; the second handler must not run with a stale pointer. */
struct pipe_io {
	struct ev_io io;
	int fds[2];
	int calls;
	struct pipe_io *victim;
};

static void pipe_ready(struct ev_loop *loop, uint32_t events, void *arg)
{
	struct pipe_io *p = arg;
	char b;

	(void)events;
	p->calls++;
	if (read(p->fds[0], &b, 1) != 1)
		fail();
	if (p->victim) {
		ev_io_stop(&p->victim->io);
		p->victim = NULL;
	}
	ev_stop(loop);
}

static void test_removal_inside_batch(void **state)
{
	struct ev_loop *loop = ev_loop_create("t", NULL);
	struct pipe_io a = { 0 }, b = { 0 };

	(void)state;
	assert_int_equal(pipe(a.fds), 0);
	assert_int_equal(pipe(b.fds), 0);
	a.victim = &b;
	b.victim = &a;
	ev_io_init(&a.io, a.fds[0], pipe_ready, &a);
	ev_io_init(&b.io, b.fds[0], pipe_ready, &b);
	assert_int_equal(ev_io_start(loop, &a.io, EPOLLIN), 0);
	assert_int_equal(ev_io_start(loop, &b.io, EPOLLIN), 0);
	assert_int_equal(write(a.fds[1], "x", 1), 1);
	assert_int_equal(write(b.fds[1], "x", 1), 1);
	ev_run(loop);
	/* Exactly one handler ran; the other fd was removed before its
	 * turn in the same batch. */
	assert_int_equal(a.calls + b.calls, 1);
	ev_io_stop(&a.io);
	ev_io_stop(&b.io);
	for (int i = 0; i < 2; i++) {
		close(a.fds[i]);
		close(b.fds[i]);
	}
	ev_loop_destroy(loop);
}

/* A loop thread that is kept busy must still let a foreign thread take
 * its lock (DESIGN.md rule 7). */
struct busy {
	struct ev_loop *loop;
	struct ev_lock lock;
	struct ev_timer tick;
	int ticks;
};

static void busy_tick(struct ev_loop *loop, void *arg)
{
	struct busy *b = arg;

	b->ticks++;
	ev_timer_start(loop, &b->tick, 0);
}

static void *run_busy(void *arg)
{
	struct busy *b = arg;

	ev_run(b->loop);
	pthread_mutex_unlock(&b->lock.mutex);
	return NULL;
}

static void test_foreign_lock_handover(void **state)
{
	struct busy b = { 0 };
	pthread_t th;

	(void)state;
	ev_lock_init(&b.lock);
	b.loop = ev_loop_create("busy", &b.lock);
	ev_timer_init(&b.tick, busy_tick, &b);
	ev_lock_foreign(&b.lock);
	ev_timer_start(b.loop, &b.tick, 0);
	ev_unlock_foreign(&b.lock);
	pthread_create(&th, NULL, run_busy, &b);
	for (int i = 0; i < 50; i++) {
		int seen;

		ev_lock_foreign(&b.lock);
		seen = b.ticks;
		ev_unlock_foreign(&b.lock);
		usleep(1000);
		ev_lock_foreign(&b.lock);
		/* The loop ran between our two acquisitions. */
		assert_true(b.ticks >= seen);
		ev_unlock_foreign(&b.lock);
	}
	ev_stop(b.loop);
	pthread_join(th, NULL);
	assert_true(b.ticks > 0);
	ev_loop_destroy(b.loop);
	ev_lock_destroy(&b.lock);
}

/* A per-loop service: flush() runs before every wait, so work queued by
 * handlers during a batch is seen before the loop sleeps; release() runs
 * once, from ev_loop_destroy. */
struct service {
	int flushes;
	int pending;   /* queued by a handler, flushed before the wait */
	int flushed;
	int releases;
	int stop_at; /* flushed + pending at which a handler stops */
};

static void service_flush(struct ev_loop *loop, void *data)
{
	struct service *s = data;

	(void)loop;
	s->flushes++;
	s->flushed += s->pending;
	s->pending = 0;
}

static void service_release(void *data)
{
	((struct service *)data)->releases++;
}

static const struct ev_local_ops service_ops = {
	.flush = service_flush,
	.release = service_release,
};
static const struct ev_local_ops other_ops, third_ops, fourth_ops, fifth_ops;

static void queue_then_stop(struct ev_loop *loop, void *arg)
{
	struct service *s = arg;

	s->pending++;
	if (s->pending + s->flushed == s->stop_at)
		ev_stop(loop);
}

static void test_local_service(void **state)
{
	struct ev_loop *loop = ev_loop_create("local", NULL);
	struct service s = { .stop_at = 3 };
	struct ev_timer t1, t2;

	(void)state;
	assert_null(ev_local_get(loop, &service_ops));
	assert_int_equal(ev_local_set(loop, &service_ops, &s), 0);
	assert_ptr_equal(ev_local_get(loop, &service_ops), &s);
	assert_null(ev_local_get(loop, &other_ops));
	ev_timer_init(&t1, queue_then_stop, &s);
	ev_timer_init(&t2, queue_then_stop, &s);
	ev_timer_start(loop, &t1, 1);
	ev_timer_start(loop, &t2, 20);
	s.pending = 1; /* queued before the loop runs */
	ev_run(loop);
	/* Flushed before the first wait and after the first timer. */
	assert_true(s.flushes >= 2);
	assert_int_equal(s.flushed, 2);
	assert_int_equal(s.pending, 1);
	/* A stopped loop runs again; the rest is flushed then. */
	s.stop_at = 4;
	ev_timer_start(loop, &t1, 1);
	ev_run(loop);
	assert_int_equal(s.flushed + s.pending, 4);
	assert_int_equal(s.releases, 0);
	/* Detached, then attached again. */
	assert_int_equal(ev_local_set(loop, &service_ops, NULL), 0);
	assert_null(ev_local_get(loop, &service_ops));
	assert_int_equal(ev_local_set(loop, &other_ops, &s), 0);
	assert_int_equal(ev_local_set(loop, &service_ops, &s), 0);
	assert_int_equal(ev_local_set(loop, &third_ops, &s), 0);
	assert_int_equal(ev_local_set(loop, &fourth_ops, &s), 0);
	assert_int_equal(ev_local_set(loop, &fifth_ops, &s), -ENOSPC);
	assert_int_equal(ev_local_set(loop, &other_ops, NULL), 0);
	assert_int_equal(ev_local_set(loop, &third_ops, NULL), 0);
	assert_int_equal(ev_local_set(loop, &fourth_ops, NULL), 0);
	ev_loop_destroy(loop);
	assert_int_equal(s.releases, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_fire_in_order),
		cmocka_unit_test(test_post_from_other_thread),
		cmocka_unit_test(test_removal_inside_batch),
		cmocka_unit_test(test_foreign_lock_handover),
		cmocka_unit_test(test_local_service),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
