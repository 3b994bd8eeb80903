/* Unit tests: `show` lists a target's sessions and LUNs while another
 * thread holds the target lock, as a saturated target thread does nearly
 * all the time, also while it waits for a CPU (DESIGN.md rule 7). The
 * sessions are read under the roster lock instead (iscsi.h). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/strbuf.h"
#include "event/loop.h"
#include "iscsi/iscsi.h"
#include "mgmt/show.h"
#include "target/registry.h"
#include "target/target.h"

#define TID 1
#define SHOW_TIMEOUT_S 5

/* Stands in for a busy target thread: holds the lock until released. */
struct holder {
	struct target *target;
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	bool holding, release;
};

static void *hold_target_lock(void *arg)
{
	struct holder *h = arg;

	target_lock(h->target);
	pthread_mutex_lock(&h->mutex);
	h->holding = true;
	pthread_cond_broadcast(&h->cond);
	while (!h->release)
		pthread_cond_wait(&h->cond, &h->mutex);
	pthread_mutex_unlock(&h->mutex);
	target_unlock(h->target);
	return NULL;
}

static void holder_set(struct holder *h, bool *flag)
{
	pthread_mutex_lock(&h->mutex);
	*flag = true;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->mutex);
}

static void holder_wait_holding(struct holder *h)
{
	pthread_mutex_lock(&h->mutex);
	while (!h->holding)
		pthread_cond_wait(&h->cond, &h->mutex);
	pthread_mutex_unlock(&h->mutex);
}

static void *run_show_targets(void *arg)
{
	show_targets(arg);
	return NULL;
}

static void *run_show_connections(void *arg)
{
	struct strbuf *out = arg;

	show_connections(target_find(TID), out);
	return NULL;
}

/* Runs one show in a thread of its own; false if it did not finish in
 * time (it is then let finish once the lock is released). */
static bool show_finishes(void *(*show)(void *), struct strbuf *out,
			  pthread_t *thread)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += SHOW_TIMEOUT_S;
	assert_int_equal(pthread_create(thread, NULL, show, out), 0);
	return pthread_timedjoin_np(*thread, NULL, &deadline) == 0;
}

struct fixture {
	struct ev_loop *main_loop;
	struct target *target;
	struct iscsi_session *sess;
	struct iscsi_conn *conn;
};

/* A target with one session of one connection, linked the way login
 * links them (main thread, target lock held). */
static int setup(void **state)
{
	static const uint8_t isid[6] = { 0x80, 0, 0, 0, 0, 1 };
	struct fixture *f = calloc(1, sizeof(*f));

	f->main_loop = ev_loop_create("main", NULL);
	if (target_create(TID, "iqn.2026-01.org.mtgt.test:show", f->main_loop))
		return -1;
	f->target = target_find(TID);
	f->conn = calloc(1, sizeof(*f->conn));
	f->conn->cid = 7;
	snprintf(f->conn->peer_ip, sizeof(f->conn->peer_ip), "192.0.2.9");
	target_lock(f->target);
	f->sess = iscsi_session_new(f->target->iscsi, "iqn.2026-01.org.init:a",
				    "alias-a", isid, registry_alloc_tsih());
	iscsi_session_add_conn(f->sess, f->conn);
	target_unlock(f->target);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	target_lock(f->target);
	if (iscsi_session_remove_conn(f->sess, f->conn))
		iscsi_session_free(f->sess);
	target_unlock(f->target);
	free(f->conn);
	target_destroy(TID, false, NULL);
	ev_loop_destroy(f->main_loop);
	free(f);
	return 0;
}

static void show_while_target_locked(struct fixture *f,
				     void *(*show)(void *),
				     struct strbuf *out)
{
	struct holder h = { .target = f->target };
	pthread_t holder_thread, show_thread;
	bool finished;

	pthread_mutex_init(&h.mutex, NULL);
	pthread_cond_init(&h.cond, NULL);
	assert_int_equal(pthread_create(&holder_thread, NULL,
					hold_target_lock, &h), 0);
	holder_wait_holding(&h);
	finished = show_finishes(show, out, &show_thread);
	holder_set(&h, &h.release);
	if (!finished)
		pthread_join(show_thread, NULL);
	pthread_join(holder_thread, NULL);
	pthread_cond_destroy(&h.cond);
	pthread_mutex_destroy(&h.mutex);
	assert_true(finished);
}

static void test_show_target_does_not_wait_for_target_lock(void **state)
{
	struct fixture *f = *state;
	struct strbuf out;
	char nexus[64];

	strbuf_init(&out);
	show_while_target_locked(f, run_show_targets, &out);
	assert_false(out.failed);
	snprintf(nexus, sizeof(nexus), "I_T nexus: %u\n", f->sess->tsih);
	assert_non_null(strstr(out.buf, "Target 1: "
				       "iqn.2026-01.org.mtgt.test:show\n"));
	assert_non_null(strstr(out.buf, nexus));
	assert_non_null(strstr(out.buf, "Initiator: iqn.2026-01.org.init:a "
				       "alias: alias-a\n"));
	assert_non_null(strstr(out.buf, "Connection: 7\n"));
	assert_non_null(strstr(out.buf, "IP Address: 192.0.2.9\n"));
	assert_non_null(strstr(out.buf, "LUN: 0\n"));
	strbuf_free(&out);
}

static void test_show_conn_does_not_wait_for_target_lock(void **state)
{
	struct fixture *f = *state;
	struct strbuf out;
	char session[64];

	strbuf_init(&out);
	show_while_target_locked(f, run_show_connections, &out);
	snprintf(session, sizeof(session), "Session: %u\n", f->sess->tsih);
	assert_non_null(strstr(out.buf, session));
	assert_non_null(strstr(out.buf, "Connection: 7\n"));
	strbuf_free(&out);
}

/* A session leaves the listing with its last connection, in one step. */
static void test_session_unlisted_with_last_conn(void **state)
{
	struct fixture *f = *state;
	struct strbuf out;

	target_lock(f->target);
	assert_true(iscsi_session_remove_conn(f->sess, f->conn));
	target_unlock(f->target);
	strbuf_init(&out);
	show_targets(&out);
	assert_null(strstr(out.buf, "I_T nexus:"));
	strbuf_free(&out);
	/* Back, for teardown. */
	target_lock(f->target);
	iscsi_session_add_conn(f->sess, f->conn);
	target_unlock(f->target);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_show_target_does_not_wait_for_target_lock, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_show_conn_does_not_wait_for_target_lock, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_session_unlisted_with_last_conn, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
