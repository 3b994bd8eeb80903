/* Unit tests: the pure decisions behind task management, the NOP-In
 * keepalive, the session-wide keys of MC/S, the connection counts of
 * tgtd's connection limits and the slots of its session limit. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/iscsi.h"
#include "iscsi/keys.h"
#include "target/registry.h"

#define COMPLETE 0
#define NO_TASK 1

/* RFC 7143 §11.6.1: an ABORT TASK for a task the target does not have is
 * "function complete" when the RefCmdSN is in the window [ExpCmdSN,
 * MaxCmdSN] and below the TMF's CmdSN, else "task does not exist". */
static void test_abort_absent_task(void **state)
{
	(void)state;
	/* exp 10, max 20, TMF CmdSN 15 */
	assert_int_equal(iscsi_tmf_absent_task_response(10, 15, 10, 20),
			 COMPLETE);
	assert_int_equal(iscsi_tmf_absent_task_response(14, 15, 10, 20),
			 COMPLETE);
	/* Already done: below the window. */
	assert_int_equal(iscsi_tmf_absent_task_response(9, 15, 10, 20),
			 NO_TASK);
	/* Not below the TMF itself, or past MaxCmdSN. */
	assert_int_equal(iscsi_tmf_absent_task_response(15, 15, 10, 20),
			 NO_TASK);
	assert_int_equal(iscsi_tmf_absent_task_response(21, 30, 10, 20),
			 NO_TASK);
	/* Serial arithmetic across the 2^32 wrap. */
	assert_int_equal(iscsi_tmf_absent_task_response(0xfffffffeu, 2,
							0xfffffffdu, 5),
			 COMPLETE);
	assert_int_equal(iscsi_tmf_absent_task_response(0xfffffffcu, 2,
							0xfffffffdu, 5),
			 NO_TASK);
}

/* nop_count 2: silence earns a ping per tick, the third silent tick
 * drops; anything received starts over. */
static void test_keepalive_drops_after_count(void **state)
{
	struct iscsi_keepalive ka = { .interval_s = 1, .count = 2 };
	uint64_t rx = 100;

	(void)state;
	ka.rx_seen = rx;
	assert_int_equal(iscsi_keepalive_tick(&ka, rx), KEEPALIVE_PING);
	assert_int_equal(iscsi_keepalive_tick(&ka, rx), KEEPALIVE_PING);
	assert_int_equal(iscsi_keepalive_tick(&ka, rx), KEEPALIVE_DROP);
	/* An answer (or any PDU) counts as life. */
	ka.unanswered = 0;
	assert_int_equal(iscsi_keepalive_tick(&ka, rx), KEEPALIVE_PING);
	rx += 48;
	assert_int_equal(iscsi_keepalive_tick(&ka, rx), KEEPALIVE_IDLE);
	assert_int_equal(ka.unanswered, 0);
	assert_int_equal(iscsi_keepalive_tick(&ka, rx), KEEPALIVE_PING);
}

/* tgt drops at the first silent tick with nop_count 0; here one ping is
 * always given a chance. */
static void test_keepalive_count_zero(void **state)
{
	struct iscsi_keepalive ka = { .interval_s = 1, .count = 0 };

	(void)state;
	assert_int_equal(iscsi_keepalive_tick(&ka, 0), KEEPALIVE_PING);
	assert_int_equal(iscsi_keepalive_tick(&ka, 0), KEEPALIVE_DROP);
}

static void test_leading_only_keys(void **state)
{
	(void)state;
	assert_true(iscsi_key_leading_only("MaxConnections"));
	assert_true(iscsi_key_leading_only("InitialR2T"));
	assert_true(iscsi_key_leading_only("MaxBurstLength"));
	assert_true(iscsi_key_leading_only("ErrorRecoveryLevel"));
	assert_false(iscsi_key_leading_only("HeaderDigest"));
	assert_false(iscsi_key_leading_only("MaxRecvDataSegmentLength"));
	assert_false(iscsi_key_leading_only("maxconnections"));
	assert_false(iscsi_key_leading_only("NoSuchKey"));
}

/* An IPv4 or IPv6 socket address. */
static struct sockaddr_storage addr(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		inet_pton(AF_INET6, ip, &a6->sin6_addr);
	} else {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		inet_pton(AF_INET, ip, &a4->sin_addr);
	}
	return ss;
}

/* Counts one connection; the totals must then be by_i and by_p. */
static void count(const struct sockaddr_storage *peer,
		  const struct sockaddr_storage *local, unsigned by_i,
		  unsigned by_p)
{
	unsigned got_i, got_p;

	registry_conn_count(peer, local, &got_i, &got_p);
	assert_int_equal(got_i, by_i);
	assert_int_equal(got_p, by_p);
}

/* Initiators are counted by address (whatever their source port),
 * portals by address and port; a count that drops to zero starts over. */
static void test_connection_counts(void **state)
{
	struct sockaddr_storage i1a = addr("10.0.0.1", 40000);
	struct sockaddr_storage i1b = addr("10.0.0.1", 40001);
	struct sockaddr_storage i2 = addr("fd00::2", 40000);
	struct sockaddr_storage p1 = addr("10.0.0.9", 3260);
	struct sockaddr_storage p2 = addr("10.0.0.9", 3261);

	(void)state;
	count(&i1a, &p1, 1, 1);
	count(&i1b, &p1, 2, 2);
	count(&i2, &p2, 1, 1);
	/* The initiator address 10.0.0.9 is not the portal 10.0.0.9. */
	count(&p1, &p2, 1, 2);
	registry_conn_uncount(&p1, &p2);
	registry_conn_uncount(&i2, &p2);
	registry_conn_uncount(&i1a, &p1);
	registry_conn_uncount(&i1b, &p1);
	/* Uncounting what is not counted changes nothing. */
	registry_conn_uncount(&i1b, &p1);
	count(&i1a, &p1, 1, 1);
	registry_conn_uncount(&i1a, &p1);
}

/* Session slots: taken while fewer than the limit are held, 0 is no
 * limit, a slot given back can be taken again. */
static void test_session_slots(void **state)
{
	atomic_uint held;

	(void)state;
	atomic_init(&held, 0);
	assert_true(iscsi_session_slot_try(&held, 2));
	assert_true(iscsi_session_slot_try(&held, 2));
	assert_false(iscsi_session_slot_try(&held, 2));
	assert_int_equal(atomic_load(&held), 2);
	iscsi_session_slot_put(&held);
	assert_true(iscsi_session_slot_try(&held, 2));
	assert_false(iscsi_session_slot_try(&held, 2));
	/* A limit lowered below what is held refuses, ends nothing. */
	assert_false(iscsi_session_slot_try(&held, 1));
	assert_int_equal(atomic_load(&held), 2);
	assert_true(iscsi_session_slot_try(&held, 0));
	assert_int_equal(atomic_load(&held), 3);
}

#define SLOT_THREADS 4
#define SLOT_TRIES 200000
#define SLOT_LIMIT 3

struct slot_race {
	atomic_uint *held;
	pthread_barrier_t *start; /* all threads begin together */
	unsigned max_seen; /* most slots held at once, seen by this thread */
	unsigned taken;
};

/* Takes and gives back slots as fast as it can, as logins and ending
 * sessions do on the main and target threads. */
static void *slot_racer(void *arg)
{
	struct slot_race *r = arg;

	pthread_barrier_wait(r->start);
	for (int i = 0; i < SLOT_TRIES; i++) {
		if (!iscsi_session_slot_try(r->held, SLOT_LIMIT))
			continue;
		r->taken++;
		if (atomic_load(r->held) > r->max_seen)
			r->max_seen = atomic_load(r->held);
		iscsi_session_slot_put(r->held);
	}
	return NULL;
}

/* However the threads interleave, no more than the limit are ever held,
 * and every slot taken comes back. */
static void test_session_slots_race(void **state)
{
	pthread_t threads[SLOT_THREADS];
	struct slot_race races[SLOT_THREADS] = { 0 };
	pthread_barrier_t start;
	atomic_uint held;
	unsigned taken = 0;

	(void)state;
	atomic_init(&held, 0);
	pthread_barrier_init(&start, NULL, SLOT_THREADS);
	for (int i = 0; i < SLOT_THREADS; i++) {
		races[i].held = &held;
		races[i].start = &start;
		assert_int_equal(pthread_create(&threads[i], NULL, slot_racer,
						&races[i]), 0);
	}
	for (int i = 0; i < SLOT_THREADS; i++) {
		pthread_join(threads[i], NULL);
		assert_true(races[i].max_seen <= SLOT_LIMIT);
		taken += races[i].taken;
	}
	pthread_barrier_destroy(&start);
	assert_true(taken > 0);
	assert_int_equal(atomic_load(&held), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abort_absent_task),
		cmocka_unit_test(test_keepalive_drops_after_count),
		cmocka_unit_test(test_keepalive_count_zero),
		cmocka_unit_test(test_leading_only_keys),
		cmocka_unit_test(test_connection_counts),
		cmocka_unit_test(test_session_slots),
		cmocka_unit_test(test_session_slots_race),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
