/* The waiting side of a delete's fence (target/fence.c): a delete with
 * I/O in flight answers only once that I/O has drained, without blocking
 * the main loop, and gives up after delete_timeout. A real target with
 * its thread and a real main loop; the I/O "in flight" is the LU's count
 * of it, which the test holds up and lets go under the target lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "event/loop.h"
#include "target/registry.h"
#include "target/target.h"

#define TID 7

struct fixture {
	struct ev_loop *main_loop;
	struct target_waiter w, w2;
	struct ev_timer guard;
	int answers;
	enum tgtadm_err err;
};

static void note(struct fixture *f, enum tgtadm_err err)
{
	f->answers++;
	f->err = err;
	ev_stop(f->main_loop);
}

static void answered(struct target_waiter *w, enum tgtadm_err err)
{
	note(container_of(w, struct fixture, w), err);
}

static void answered2(struct target_waiter *w, enum tgtadm_err err)
{
	note(container_of(w, struct fixture, w2), err);
}

static void guard_fired(struct ev_loop *loop, void *arg)
{
	(void)arg;
	ev_stop(loop);
}

/* Runs the main loop until an answer or ms milliseconds. */
static void run_main(struct fixture *f, uint64_t ms)
{
	ev_timer_start(f->main_loop, &f->guard, ms);
	ev_run(f->main_loop);
	ev_timer_stop(f->main_loop, &f->guard);
}

static void set_inflight(struct target *t, uint64_t lun, unsigned n)
{
	target_lock(t);
	target_find_lu(t, lun)->inflight = n;
	target_unlock(t);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->main_loop = ev_loop_create("main", NULL);
	ev_timer_init(&f->guard, guard_fired, f);
	f->w.done = answered;
	f->w2.done = answered2;
	if (target_create(TID, "iqn.2026-01.org.mtgt.test:fence", f->main_loop))
		return -1;
	if (target_add_lu(target_find(TID), 1, SCSI_TYPE_DISK, NULL, "null",
			  NULL, 0))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	target_destroy_all();
	ev_drain(f->main_loop); /* reaps retired targets */
	ev_loop_destroy(f->main_loop);
	registry_iscsi_settings()->delete_timeout_s =
		ISCSI_DEFAULT_DELETE_TIMEOUT_S;
	free(f);
	return 0;
}

static void test_lun_delete_waits_for_its_io(void **state)
{
	struct fixture *f = *state;
	struct target *t = target_find(TID);
	struct scsi_lu *lu = target_find_lu(t, 1);

	set_inflight(t, 1, 1);
	assert_int_equal(target_del_lu(t, 1, true, &f->w),
			 TGTADM_IN_PROGRESS);
	assert_true(lu->fenced);
	/* A second delete of the same LUN does not wait beside it. */
	assert_int_equal(target_del_lu(t, 1, true, &f->w2),
			 TGTADM_LUN_ACTIVE);
	run_main(f, 50);
	assert_int_equal(f->answers, 0);
	assert_ptr_equal(target_find_lu(t, 1), lu);
	set_inflight(t, 1, 0);
	run_main(f, 2000);
	assert_int_equal(f->answers, 1);
	assert_int_equal(f->err, TGTADM_SUCCESS);
	assert_null(target_find_lu(t, 1));
}

/* tgt's rule stands without force: refused, and nothing changes. */
static void test_unforced_lun_delete_refused(void **state)
{
	struct fixture *f = *state;
	struct target *t = target_find(TID);

	set_inflight(t, 1, 1);
	assert_int_equal(target_del_lu(t, 1, false, &f->w),
			 TGTADM_LUN_ACTIVE);
	assert_false(target_find_lu(t, 1)->fenced);
	set_inflight(t, 1, 0);
	assert_int_equal(target_del_lu(t, 1, false, &f->w), TGTADM_SUCCESS);
	assert_null(target_find_lu(t, 1));
	assert_int_equal(f->answers, 0);
}

static void test_lun_delete_gives_up(void **state)
{
	struct fixture *f = *state;
	struct target *t = target_find(TID);

	registry_iscsi_settings()->delete_timeout_s = 1;
	set_inflight(t, 1, 1);
	assert_int_equal(target_del_lu(t, 1, true, &f->w),
			 TGTADM_IN_PROGRESS);
	run_main(f, 3000);
	assert_int_equal(f->answers, 1);
	assert_int_equal(f->err, TGTADM_LUN_ACTIVE);
	/* The LUN stays, fenced; once drained a delete removes it. */
	assert_true(target_find_lu(t, 1)->fenced);
	/* No waiter to wait with: told at once. */
	assert_int_equal(target_del_lu(t, 1, true, NULL), TGTADM_LUN_ACTIVE);
	set_inflight(t, 1, 0);
	assert_int_equal(target_del_lu(t, 1, false, &f->w), TGTADM_SUCCESS);
	assert_null(target_find_lu(t, 1));
}

static void test_target_delete_waits_for_its_io(void **state)
{
	struct fixture *f = *state;
	struct target *t = target_find(TID);

	set_inflight(t, 1, 1);
	assert_int_equal(target_destroy(TID, false, &f->w),
			 TGTADM_IN_PROGRESS);
	/* Off the list at once: the tid is free again. */
	assert_null(target_find(TID));
	run_main(f, 50);
	assert_int_equal(f->answers, 0);
	set_inflight(t, 1, 0);
	run_main(f, 2000);
	assert_int_equal(f->answers, 1);
	assert_int_equal(f->err, TGTADM_SUCCESS);
}

static void test_target_delete_at_once_when_idle(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(target_destroy(TID, false, &f->w), TGTADM_SUCCESS);
	assert_null(target_find(TID));
	assert_int_equal(f->answers, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_lun_delete_waits_for_its_io, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_unforced_lun_delete_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lun_delete_gives_up,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_target_delete_waits_for_its_io, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_target_delete_at_once_when_idle, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
