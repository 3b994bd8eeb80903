/* Unit tests: the buffer pool of event loops (reuse by size, alignment,
 * the cap on cached bytes and its eviction, the loop-less fallback). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "event/bufpool.h"
#include "event/loop.h"

#define PAGE BUF_POOL_PAGE

static void test_reuse_same_size(void **state)
{
	struct buf_pool *pool = buf_pool_new(1 << 20);
	uint8_t *a = buf_pool_get(pool, 16384 + 4);

	(void)state;
	assert_non_null(a);
	assert_int_equal((uintptr_t)a % PAGE, 0);
	memset(a, 0xab, 16384 + 4); /* the whole length is usable */
	buf_pool_put(pool, a, 16384 + 4);
	/* Cached by whole pages: 16388 bytes take 5. */
	assert_int_equal(buf_pool_cached(pool), 5 * PAGE);
	/* Any length of the same page count gets it back. */
	assert_ptr_equal(buf_pool_get(pool, 4 * PAGE + 1), a);
	assert_int_equal(buf_pool_cached(pool), 0);
	buf_pool_put(pool, a, 5 * PAGE);
	buf_pool_destroy(pool);
}

static void test_other_size_not_reused(void **state)
{
	struct buf_pool *pool = buf_pool_new(1 << 20);
	void *a = buf_pool_get(pool, 4 * PAGE);
	void *b;

	(void)state;
	buf_pool_put(pool, a, 4 * PAGE);
	/* A larger request must not get the smaller buffer. */
	b = buf_pool_get(pool, 4 * PAGE + 1);
	assert_ptr_not_equal(b, a);
	assert_int_equal(buf_pool_cached(pool), 4 * PAGE);
	buf_pool_put(pool, b, 4 * PAGE + 1);
	assert_int_equal(buf_pool_cached(pool), 9 * PAGE);
	buf_pool_destroy(pool);
}

static void test_cap_evicts_other_sizes(void **state)
{
	struct buf_pool *pool = buf_pool_new(8 * PAGE);
	void *small[4], *big, *huge;

	(void)state;
	for (int i = 0; i < 4; i++)
		small[i] = buf_pool_get(pool, PAGE);
	big = buf_pool_get(pool, 6 * PAGE);
	for (int i = 0; i < 4; i++)
		buf_pool_put(pool, small[i], PAGE);
	assert_int_equal(buf_pool_cached(pool), 4 * PAGE);
	/* 6 more pages do not fit under 8: two small ones go. */
	buf_pool_put(pool, big, 6 * PAGE);
	assert_int_equal(buf_pool_cached(pool), 8 * PAGE);
	assert_ptr_equal(buf_pool_get(pool, 6 * PAGE), big);
	assert_int_equal(buf_pool_cached(pool), 2 * PAGE);
	/* A buffer larger than the whole cap is freed, and so is one beyond
	 * the largest cached size; the cache keeps what it had. */
	buf_pool_put(pool, big, 6 * PAGE);
	huge = buf_pool_get(pool, 9 * PAGE);
	buf_pool_put(pool, huge, 9 * PAGE);
	assert_int_equal(buf_pool_cached(pool), 8 * PAGE);
	huge = buf_pool_get(pool, (BUF_POOL_MAX_PAGES + 1) * PAGE);
	assert_non_null(huge);
	buf_pool_put(pool, huge, (BUF_POOL_MAX_PAGES + 1) * PAGE);
	assert_int_equal(buf_pool_cached(pool), 8 * PAGE);
	buf_pool_destroy(pool);
}

static void test_loop_pool(void **state)
{
	struct ev_loop *loop = ev_loop_create("pool", NULL);
	void *a = ev_buf_get(loop, 3 * PAGE);
	void *b;

	(void)state;
	assert_non_null(a);
	ev_buf_put(loop, a, 3 * PAGE);
	b = ev_buf_get(loop, 3 * PAGE);
	assert_ptr_equal(b, a);
	ev_buf_put(loop, b, 3 * PAGE);
	/* The cached buffer goes with the loop (ASan/valgrind: no leak). */
	ev_loop_destroy(loop);
	/* Without a loop: plain allocation, aligned. */
	a = ev_buf_get(NULL, 100);
	assert_non_null(a);
	assert_int_equal((uintptr_t)a % PAGE, 0);
	ev_buf_put(NULL, a, 100);
}

static void stop_loop(struct ev_loop *loop, void *arg)
{
	(void)arg;
	ev_stop(loop);
}

/* Used within a period: kept. Unused for a whole period: released, and
 * a buffer in use then is freed when given back. */
static void test_loop_pool_idle_release(void **state)
{
	struct ev_loop *loop = ev_loop_create("idle", NULL);
	struct ev_timer stop;
	void *a = ev_buf_get(loop, PAGE), *b = ev_buf_get(loop, PAGE);

	(void)state;
	ev_buf_put(loop, a, PAGE);
	assert_int_equal(ev_buf_cached(loop), PAGE);
	ev_timer_init(&stop, stop_loop, NULL);
	ev_timer_start(loop, &stop, BUF_POOL_IDLE_MS / 2);
	ev_run(loop);
	assert_int_equal(ev_buf_cached(loop), PAGE);
	ev_timer_start(loop, &stop, 2 * BUF_POOL_IDLE_MS + 300);
	ev_run(loop);
	assert_int_equal(ev_buf_cached(loop), 0);
	ev_buf_put(loop, b, PAGE); /* freed: ASan/valgrind see no leak */
	assert_int_equal(ev_buf_cached(loop), 0);
	ev_loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reuse_same_size),
		cmocka_unit_test(test_other_size_not_reused),
		cmocka_unit_test(test_cap_evicts_other_sizes),
		cmocka_unit_test(test_loop_pool),
		cmocka_unit_test(test_loop_pool_idle_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
