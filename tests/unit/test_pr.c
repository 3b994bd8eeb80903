/* Reservations in the SCSI core: the conflict table of SPC-4 5.13.1 and
 * SBC-3 4.17 for every reservation type, the PERSISTENT RESERVE OUT
 * state machine (registration, reservation, release, clear, preempt,
 * register and move, SPEC_I_PT), PRGENERATION, the unit attentions each
 * nexus gets, PERSISTENT RESERVE IN data, TransportIDs, APTPL files and
 * SPC-2 RESERVE/RELEASE with its interaction with persistent
 * reservations. Two I_T nexuses of the fixture act as initiators A and B
 * (A: f->nexus, B: f->other). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/byteorder.h"
#include "event/loop.h"
#include "scsi/core.h"
#include "scsi/pr.h"
#include "scsi/scsi.h"
#include "target/target.h"

#include "scsi_fixture.h"

#define NAME_A "iqn.2024-01.test:a"
#define NAME_B "iqn.2024-01.test:b"
static const uint8_t ISID_A[6] = { 0x00, 0x02, 0x3d, 0x00, 0x00, 0x01 };
static const uint8_t ISID_B[6] = { 0x00, 0x02, 0x3d, 0x00, 0x00, 0x02 };

/* Service actions and types */
enum { REG, RES, REL, CLR, PRE, PRE_ABORT, REG_IGN, REG_MOVE };
enum { WE = 1, EA = 3, WERO = 5, EARO = 6, WEAR = 7, EAAR = 8 };
#define SPEC_I_PT 0x08
#define ALL_TG_PT 0x04
#define APTPL 0x01

static int setup(void **state)
{
	struct fx *f;

	fx_setup(state);
	f = *state;
	it_nexus_set_port(&f->nexus, NAME_A, ISID_A);
	it_nexus_set_port(&f->other, NAME_B, ISID_B);
	return 0;
}

/* ---- helpers ---- */

static uint8_t plist[4096]; /* the parameter list of the last PR OUT */

/* A PR OUT that saves its state (APTPL) ends from f->loop once the
 * LU's save worker is done: runs the loop's work until *done. */
static void wait_done(struct fx *f, const int *done)
{
	for (int i = 0; i < 5000 && !*done; i++) {
		if (f->loop)
			ev_drain(f->loop);
		if (!*done)
			usleep(1000);
	}
}

static void prout_raw(struct fx *f, struct it_nexus *n, uint8_t sa,
		      uint8_t scope_type, uint32_t len)
{
	uint8_t cdb[10] = { 0x5f, sa, scope_type };

	put_be32(cdb + 5, len);
	fx_start_out(f, n, 1, cdb, sizeof(cdb), plist, len);
	wait_done(f, &f->done);
	assert_int_equal(f->done, 1);
}

static void prout(struct fx *f, struct it_nexus *n, uint8_t sa, uint8_t type,
		  uint64_t key, uint64_t sark, uint8_t flags)
{
	memset(plist, 0, 24);
	put_be64(plist, key);
	put_be64(plist + 8, sark);
	plist[20] = flags;
	prout_raw(f, n, sa, type, 24);
}

static void assert_conflict(const struct fx *f)
{
	assert_int_equal(f->cmd.status, SAM_STAT_RESERVATION_CONFLICT);
	assert_int_equal(f->cmd.sense_len, 0);
}

static void prin(struct fx *f, struct it_nexus *n, uint8_t sa)
{
	SEND_ON(f, n, 1, 0x5e, sa, 0, 0, 0, 0, 0, 0x10, 0x00, 0);
	assert_good(f);
}

static uint32_t generation(struct fx *f)
{
	prin(f, &f->nexus, 0);
	return get_be32(f->cmd.in_buf);
}

static unsigned nr_keys(struct fx *f)
{
	prin(f, &f->nexus, 0);
	return get_be32(f->cmd.in_buf + 4) / 8;
}

/* The reservation type, 0 if none; *key gets its key. */
static uint8_t reservation(struct fx *f, uint64_t *key)
{
	prin(f, &f->nexus, 1);
	if (get_be32(f->cmd.in_buf + 4) == 0)
		return 0;
	assert_int_equal(get_be32(f->cmd.in_buf + 4), 16);
	if (key)
		*key = get_be64(f->cmd.in_buf + 8);
	assert_int_equal(f->cmd.in_buf[21] >> 4, 0); /* LU_SCOPE */
	return f->cmd.in_buf[21] & 0x0f;
}

/* TEST UNIT READY is allowed through every reservation: it shows the
 * pending unit attention, or GOOD. */
static void expect_ua(struct fx *f, struct it_nexus *n, uint16_t asc)
{
	SEND_ON(f, n, 1, 0x00, 0, 0, 0, 0, 0);
	if (asc) {
		assert_sense(f, SK_UNIT_ATTENTION, asc);
		SEND_ON(f, n, 1, 0x00, 0, 0, 0, 0, 0);
	}
	assert_good(f);
}

static void register_both(struct fx *f, uint64_t ka, uint64_t kb)
{
	prout(f, &f->nexus, REG, 0, 0, ka, 0);
	assert_good(f);
	prout(f, &f->other, REG, 0, 0, kb, 0);
	assert_good(f);
}

/* ---- the conflict table ---- */

/* One command of each class the tables distinguish. */
enum cls { ANY, READ, WRITE };

struct probe {
	const char *what;
	uint8_t cdb[16];
	unsigned len;
	enum cls cls;
	bool data_out;
};

static const struct probe probes[] = {
	{ "TEST UNIT READY", { 0x00 }, 6, ANY, false },
	{ "INQUIRY", { 0x12, 0, 0, 0, 36 }, 6, ANY, false },
	{ "READ CAPACITY(10)", { 0x25 }, 10, ANY, false },
	{ "READ CAPACITY(16)", { 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				 32 }, 16, ANY, false },
	{ "REPORT LUNS", { 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, 12, ANY, false },
	{ "PERSISTENT RESERVE IN", { 0x5e, 0, 0, 0, 0, 0, 0, 0, 64 }, 10, ANY,
	  false },
	{ "PREVENT ALLOW (allow)", { 0x1e, 0, 0, 0, 0 }, 6, ANY, false },
	{ "START STOP UNIT (start)", { 0x1b, 0, 0, 0, 0x01 }, 6, ANY, false },
	{ "READ(10)", { 0x28, 0, 0, 0, 0, 0, 0, 0, 1 }, 10, READ, false },
	{ "READ(16)", { 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 16, READ,
	  false },
	{ "VERIFY(10)", { 0x2f, 0, 0, 0, 0, 0, 0, 0, 1 }, 10, READ, false },
	{ "WRITE(10)", { 0x2a, 0, 0, 0, 0, 0, 0, 0, 1 }, 10, WRITE, true },
	{ "COMPARE AND WRITE", { 0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	  16, WRITE, false },
	{ "SYNCHRONIZE CACHE(10)", { 0x35 }, 10, WRITE, false },
	{ "MODE SENSE(6)", { 0x1a, 0, 0x3f, 0, 255 }, 6, WRITE, false },
	{ "MODE SELECT(6)", { 0x15, 0x10 }, 6, WRITE, false },
	{ "REPORT SUPPORTED OPCODES", { 0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 2, 0 },
	  12, WRITE, false },
	{ "PREVENT ALLOW (prevent)", { 0x1e, 0, 0, 0, 1 }, 6, WRITE, false },
	{ "START STOP UNIT (stop)", { 0x1b, 0, 0, 0, 0 }, 6, WRITE, false },
};

/* SPC-4 5.13.1 / SBC-3 4.17, as libiscsi's ProutReserve.Access tests
 * read them: may a non-holder read / write, registered or not. */
struct type_row {
	uint8_t type;
	bool reg_read, reg_write, unreg_read, unreg_write;
};

static const struct type_row table[] = {
	{ WE, true, false, true, false },
	{ EA, false, false, false, false },
	{ WERO, true, true, true, false },
	{ EARO, true, true, false, false },
	{ WEAR, true, true, true, false },
	{ EAAR, true, true, false, false },
};

static bool run_probe(struct fx *f, struct it_nexus *n, const struct probe *p)
{
	static uint8_t block[512];

	if (p->data_out)
		fx_start_out(f, n, 1, p->cdb, p->len, block, sizeof(block));
	else
		send_on(f, n, 1, p->cdb, p->len);
	assert_int_equal(f->done, 1);
	/* Whatever the command's own outcome, only a conflict counts. */
	return f->cmd.status != SAM_STAT_RESERVATION_CONFLICT;
}

static void check_access(struct fx *f, struct it_nexus *n, bool can_read,
			 bool can_write, uint8_t type)
{
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		const struct probe *p = &probes[i];
		bool want = p->cls == ANY || (p->cls == READ ? can_read
							      : can_write);

		if (run_probe(f, n, p) != want)
			fail_msg("type %u: %s %s", type, p->what,
				 want ? "conflicts" : "is let through");
	}
}

static void test_conflict_table(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct type_row *r = &table[i];

		register_both(f, 0xa, 0xb);
		prout(f, &f->nexus, RES, r->type, 0xa, 0, 0);
		assert_good(f);
		/* The holder may do everything. */
		check_access(f, &f->nexus, true, true, r->type);
		check_access(f, &f->other, r->reg_read, r->reg_write, r->type);
		prout(f, &f->other, REG, 0, 0xb, 0, 0); /* unregister B */
		assert_good(f);
		check_access(f, &f->other, r->unreg_read, r->unreg_write,
			     r->type);
		prout(f, &f->nexus, CLR, 0, 0xa, 0, 0);
		assert_good(f);
		/* Nothing is reserved any more. */
		check_access(f, &f->other, true, true, 0);
	}
}

static void test_unknown_lun_and_no_reservation(void **state)
{
	struct fx *f = *state;

	/* Registrations alone restrict nothing. */
	register_both(f, 0xa, 0xb);
	check_access(f, &f->other, true, true, 0);
}

/* ---- REGISTER / REGISTER AND IGNORE EXISTING KEY ---- */

static void test_register(void **state)
{
	struct fx *f = *state;

	assert_int_equal(generation(f), 0);
	/* Unregistered: a non-zero RESERVATION KEY is a conflict. */
	prout(f, &f->nexus, REG, 0, 0x1, 0xa, 0);
	assert_conflict(f);
	/* SARK 0 from an unregistered nexus: GOOD, nothing happens. */
	prout(f, &f->nexus, REG, 0, 0, 0, 0);
	assert_good(f);
	assert_int_equal(generation(f), 0);
	prout(f, &f->nexus, REG, 0, 0, 0xa, 0);
	assert_good(f);
	assert_int_equal(generation(f), 1);
	assert_int_equal(nr_keys(f), 1);
	/* Registered: the key must match... */
	prout(f, &f->nexus, REG, 0, 0xb, 0xc, 0);
	assert_conflict(f);
	/* ...then it changes, */
	prout(f, &f->nexus, REG, 0, 0xa, 0xc, 0);
	assert_good(f);
	assert_int_equal(generation(f), 2);
	prin(f, &f->nexus, 0);
	assert_int_equal(get_be64(f->cmd.in_buf + 8), 0xc);
	/* and REGISTER AND IGNORE EXISTING KEY does not look at it. */
	prout(f, &f->nexus, REG_IGN, 0, 0x1234, 0xd, 0);
	assert_good(f);
	prin(f, &f->nexus, 0);
	assert_int_equal(get_be64(f->cmd.in_buf + 8), 0xd);
	/* SARK 0 unregisters. */
	prout(f, &f->nexus, REG, 0, 0xd, 0, 0);
	assert_good(f);
	assert_int_equal(nr_keys(f), 0);
	assert_int_equal(generation(f), 4);
	/* Every other service action needs a registration. */
	prout(f, &f->nexus, RES, WE, 0xd, 0, 0);
	assert_conflict(f);
	prout(f, &f->nexus, CLR, 0, 0, 0, 0);
	assert_conflict(f);
}

/* A new session with the same name and ISID is the same I_T nexus. */
static void test_registration_outlives_session(void **state)
{
	struct fx *f = *state;
	struct it_nexus again;

	prout(f, &f->nexus, REG, 0, 0, 0xa, 0);
	prout(f, &f->nexus, RES, EA, 0xa, 0, 0);
	it_nexus_fini(&f->nexus);
	it_nexus_init(&again, &f->t, 7);
	it_nexus_set_port(&again, "IQN.2024-01.TEST:A", ISID_A);
	scsi_ua_drop_lun(&f->t, 1);
	SEND_ON(f, &again, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_good(f);
	SEND_ON(f, &f->other, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_conflict(f);
	it_nexus_fini(&again);
	it_nexus_init(&f->nexus, &f->t, 1);
}

/* ---- RESERVE / RELEASE ---- */

static void test_reserve_release(void **state)
{
	struct fx *f = *state;
	uint64_t key;

	register_both(f, 0xa, 0xb);
	prout(f, &f->nexus, RES, WE, 0xb, 0, 0); /* wrong key */
	assert_conflict(f);
	prout(f, &f->nexus, RES, WE, 0xa, 0, 0);
	assert_good(f);
	assert_int_equal(reservation(f, &key), WE);
	assert_int_equal(key, 0xa);
	/* RESERVE does not count as a registration change. */
	assert_int_equal(generation(f), 2);
	prout(f, &f->nexus, RES, WE, 0xa, 0, 0); /* again: GOOD */
	assert_good(f);
	prout(f, &f->nexus, RES, EA, 0xa, 0, 0); /* another type */
	assert_conflict(f);
	prout(f, &f->other, RES, WE, 0xb, 0, 0); /* not the holder */
	assert_conflict(f);
	/* RELEASE from a non-holder: GOOD, nothing changes. */
	prout(f, &f->other, REL, WE, 0xb, 0, 0);
	assert_good(f);
	assert_int_equal(reservation(f, NULL), WE);
	/* The holder must name the type it holds. */
	prout(f, &f->nexus, REL, EA, 0xa, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_RELEASE_OF_PR);
	prout(f, &f->nexus, REL, WE, 0xa, 0, 0);
	assert_good(f);
	assert_int_equal(reservation(f, NULL), 0);
	/* Write Exclusive tells nobody about its release. */
	expect_ua(f, &f->other, 0);
	/* RELEASE without a reservation: GOOD. */
	prout(f, &f->nexus, REL, WE, 0xa, 0, 0);
	assert_good(f);
}

static void test_release_ua_registrants_only(void **state)
{
	struct fx *f = *state;

	register_both(f, 0xa, 0xb);
	prout(f, &f->nexus, RES, WERO, 0xa, 0, 0);
	prout(f, &f->nexus, REL, WERO, 0xa, 0, 0);
	assert_good(f);
	expect_ua(f, &f->other, ASC_RESERVATIONS_RELEASED);
	expect_ua(f, &f->nexus, 0);
}

static void test_cdb_fields(void **state)
{
	struct fx *f = *state;

	register_both(f, 0xa, 0xb);
	prout(f, &f->nexus, RES, 0x10 | WE, 0xa, 0, 0); /* scope 1 */
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 2, 7);
	prout(f, &f->nexus, RES, 2, 0xa, 0, 0); /* obsolete type */
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 2, 3);
	/* REGISTER ignores scope and type. */
	prout(f, &f->nexus, REG, 0x12, 0xa, 0xa, 0);
	assert_good(f);
	/* Unknown service action (REPLACE LOST RESERVATION is SPC-5). */
	prout(f, &f->nexus, 0x08, 0, 0xa, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	SEND(f, 1, 0x5e, 0x04, 0, 0, 0, 0, 0, 0x10, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(reservation(f, NULL), 0);
}

static void test_parameter_list_length(void **state)
{
	struct fx *f = *state;

	memset(plist, 0, sizeof(plist));
	put_be64(plist + 8, 0xa);
	prout_raw(f, &f->nexus, REG, 0, 23);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	prout_raw(f, &f->nexus, REG, 0, 28);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	prout_raw(f, &f->nexus, REG, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	/* SPEC_I_PT: the TransportID list must fit. */
	plist[20] = SPEC_I_PT;
	put_be32(plist + 24, 32);
	prout_raw(f, &f->nexus, REG, 0, 40);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	assert_int_equal(nr_keys(f), 0);
}

/* ---- CLEAR, PREEMPT, unregistering the holder ---- */

static void test_clear(void **state)
{
	struct fx *f = *state;

	register_both(f, 0xa, 0xb);
	prout(f, &f->nexus, RES, EA, 0xa, 0, 0);
	prout(f, &f->other, CLR, 0, 0xa, 0, 0); /* B's key is 0xb */
	assert_conflict(f);
	prout(f, &f->other, CLR, 0, 0xb, 0, 0);
	assert_good(f);
	expect_ua(f, &f->nexus, ASC_RESERVATIONS_PREEMPTED);
	expect_ua(f, &f->other, 0);
	assert_int_equal(nr_keys(f), 0);
	assert_int_equal(reservation(f, NULL), 0);
	assert_int_equal(generation(f), 3);
}

static void test_preempt_registration(void **state)
{
	struct fx *f = *state;

	register_both(f, 0xa, 0xb);
	/* No reservation: SARK 0 names nothing. */
	prout(f, &f->other, PRE, EA, 0xb, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	/* A key nobody holds: conflict. */
	prout(f, &f->other, PRE, EA, 0xb, 0x77, 0);
	assert_conflict(f);
	prout(f, &f->other, PRE, EA, 0xb, 0xa, 0);
	assert_good(f);
	expect_ua(f, &f->nexus, ASC_REGISTRATIONS_PREEMPTED);
	assert_int_equal(nr_keys(f), 1);
	assert_int_equal(generation(f), 3);
	/* No reservation was taken: only registrations were preempted. */
	assert_int_equal(reservation(f, NULL), 0);
}

static void test_preempt_holder(void **state)
{
	struct fx *f = *state;
	uint64_t key;

	register_both(f, 0xa, 0xb);
	prout(f, &f->nexus, RES, WE, 0xa, 0, 0);
	prout(f, &f->other, PRE_ABORT, EARO, 0xb, 0xa, 0);
	assert_good(f);
	expect_ua(f, &f->nexus, ASC_REGISTRATIONS_PREEMPTED);
	assert_int_equal(reservation(f, &key), EARO);
	assert_int_equal(key, 0xb);
	assert_int_equal(nr_keys(f), 1);
	/* A lost its registration, and with it access. */
	SEND(f, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_conflict(f);
	/* SARK 0 under a reservation that is not all-registrants. */
	prout(f, &f->other, PRE, EARO, 0xb, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
}

static void test_preempt_type_change_tells_registrants(void **state)
{
	struct fx *f = *state;
	struct it_nexus c;

	it_nexus_init(&c, &f->t, 3);
	it_nexus_set_port(&c, "iqn.2024-01.test:c", ISID_A);
	scsi_ua_drop_lun(&f->t, 1);
	register_both(f, 0xa, 0xb);
	prout(f, &c, REG, 0, 0, 0xc, 0);
	prout(f, &f->nexus, RES, WE, 0xa, 0, 0);
	/* B preempts A with another type: C keeps its registration and
	 * learns the reservation it lived under was released. */
	prout(f, &f->other, PRE, EA, 0xb, 0xa, 0);
	assert_good(f);
	expect_ua(f, &f->nexus, ASC_REGISTRATIONS_PREEMPTED);
	expect_ua(f, &c, ASC_RESERVATIONS_RELEASED);
	expect_ua(f, &f->other, 0);
	it_nexus_fini(&c);
}

static void test_all_registrants(void **state)
{
	struct fx *f = *state;
	uint64_t key = 1;

	register_both(f, 0xa, 0xb);
	prout(f, &f->nexus, RES, EAAR, 0xa, 0, 0);
	assert_int_equal(reservation(f, &key), EAAR);
	assert_int_equal(key, 0); /* all-registrants: no key */
	/* Every registrant is a holder: B may RESERVE the same type. */
	prout(f, &f->other, RES, EAAR, 0xb, 0, 0);
	assert_good(f);
	prin(f, &f->nexus, 3);
	assert_int_equal(f->cmd.in_buf[8 + 12] & 1, 1);
	/* It lasts while anyone is registered. */
	prout(f, &f->nexus, REG, 0, 0xa, 0, 0);
	assert_int_equal(reservation(f, NULL), EAAR);
	prout(f, &f->other, REG, 0, 0xb, 0, 0);
	assert_int_equal(reservation(f, NULL), 0);
	/* PREEMPT with SARK 0 removes every other registrant and takes
	 * the reservation with the new type. */
	register_both(f, 0xa, 0xb);
	prout(f, &f->nexus, RES, WEAR, 0xa, 0, 0);
	prout(f, &f->other, PRE, WE, 0xb, 0, 0);
	assert_good(f);
	expect_ua(f, &f->nexus, ASC_REGISTRATIONS_PREEMPTED);
	assert_int_equal(reservation(f, &key), WE);
	assert_int_equal(key, 0xb);
	assert_int_equal(nr_keys(f), 1);
}

static void test_unregister_holder(void **state)
{
	struct fx *f = *state;

	/* Registrants Only: the others learn of the release. */
	register_both(f, 0xa, 0xb);
	prout(f, &f->nexus, RES, EARO, 0xa, 0, 0);
	prout(f, &f->nexus, REG, 0, 0xa, 0, 0);
	assert_good(f);
	assert_int_equal(reservation(f, NULL), 0);
	expect_ua(f, &f->other, ASC_RESERVATIONS_RELEASED);
	/* Exclusive Access: released quietly. */
	prout(f, &f->nexus, REG, 0, 0, 0xa, 0);
	prout(f, &f->nexus, RES, EA, 0xa, 0, 0);
	prout(f, &f->nexus, REG, 0, 0xa, 0, 0);
	assert_int_equal(reservation(f, NULL), 0);
	expect_ua(f, &f->other, 0);
}

/* ---- REGISTER AND MOVE, SPEC_I_PT, TransportIDs ---- */

static unsigned tid(uint8_t *p, const char *text, uint8_t format)
{
	size_t n = strlen(text);
	unsigned len = (unsigned)(4 + n + 1 + 3) & ~3u;

	if (len < 24)
		len = 24;
	memset(p, 0, len);
	p[0] = (uint8_t)(format << 6 | 0x05);
	put_be16(p + 2, (uint16_t)(len - 4));
	memcpy(p + 4, text, n);
	return len;
}

static void move(struct fx *f, struct it_nexus *n, uint64_t key,
		 uint64_t sark, const char *text, bool unreg, uint16_t port)
{
	unsigned len;

	memset(plist, 0, sizeof(plist));
	put_be64(plist, key);
	put_be64(plist + 8, sark);
	plist[17] = unreg ? 0x02 : 0;
	put_be16(plist + 18, port);
	len = tid(plist + 24, text, 1);
	put_be32(plist + 20, len);
	prout_raw(f, n, REG_MOVE, 0, 24 + len);
}

static void test_register_and_move(void **state)
{
	struct fx *f = *state;
	uint64_t key;

	prout(f, &f->nexus, REG, 0, 0, 0xa, 0);
	/* Not holding anything: conflict. */
	move(f, &f->nexus, 0xa, 0xb, NAME_B ",i,0x00023d000002", false, 1);
	assert_conflict(f);
	prout(f, &f->nexus, RES, WERO, 0xa, 0, 0);
	/* To itself, to another target port, with SARK 0: refused. */
	move(f, &f->nexus, 0xa, 0xb, NAME_A ",i,0x00023d000001", false, 1);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	move(f, &f->nexus, 0xa, 0xb, NAME_B ",i,0x00023d000002", false, 2);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	move(f, &f->nexus, 0xa, 0, NAME_B ",i,0x00023d000002", false, 1);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	move(f, &f->nexus, 0xa, 0xb, NAME_B ",i,0x00023d000002", true, 1);
	assert_good(f);
	/* B holds it now, same type, registered with the SARK; A left. */
	assert_int_equal(reservation(f, &key), WERO);
	assert_int_equal(key, 0xb);
	assert_int_equal(nr_keys(f), 1);
	SEND_ON(f, &f->other, 1, 0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_good(f);
	SEND(f, 1, 0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_conflict(f);
}

static void test_spec_i_pt(void **state)
{
	struct fx *f = *state;
	unsigned len = 28;
	uint8_t *d;

	memset(plist, 0, sizeof(plist));
	put_be64(plist + 8, 0xa);
	plist[20] = SPEC_I_PT | ALL_TG_PT;
	len += tid(plist + len, NAME_B ",i,0x00023d000002", 1);
	len += tid(plist + len, "iqn.2024-01.test:c", 0);
	put_be32(plist + 24, len - 28);
	prout_raw(f, &f->nexus, REG, 0, len);
	assert_good(f);
	assert_int_equal(nr_keys(f), 3);
	/* B was registered by A, with A's key. */
	prout(f, &f->other, RES, WE, 0xa, 0, 0);
	assert_good(f);
	/* READ FULL STATUS: one descriptor per registration, each with
	 * its TransportID in the format it was registered with. */
	prin(f, &f->nexus, 3);
	assert_int_equal(get_be32(f->cmd.in_buf), 1);
	d = f->cmd.in_buf + 8;
	assert_int_equal(d[12], 0x02); /* ALL_TG_PT, not holder */
	assert_int_equal(get_be16(d + 18), 1);
	assert_int_equal(d[24], 0x45);
	assert_string_equal((char *)d + 28, NAME_A ",i,0x00023d000001");
	d += 24 + get_be32(d + 20);
	assert_int_equal(d[12], 0x03); /* ALL_TG_PT, R_HOLDER */
	assert_int_equal(d[13], WE);
	d += 24 + get_be32(d + 20);
	assert_int_equal(d[24], 0x05); /* format 00b, name only */
	assert_string_equal((char *)d + 28, "iqn.2024-01.test:c");
	assert_int_equal(get_be32(d + 20) % 4, 0);
}

static void test_spec_i_pt_refusals(void **state)
{
	struct fx *f = *state;
	unsigned len = 28;

	/* A TransportID naming a registered port fails the whole list. */
	prout(f, &f->other, REG, 0, 0, 0xb, 0);
	memset(plist, 0, sizeof(plist));
	put_be64(plist + 8, 0xa);
	plist[20] = SPEC_I_PT;
	len += tid(plist + len, "iqn.2024-01.test:c", 0);
	len += tid(plist + len, NAME_B ",i,0x00023d000002", 1);
	put_be32(plist + 24, len - 28);
	prout_raw(f, &f->nexus, REG, 0, len);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	assert_int_equal(nr_keys(f), 1);
	/* Only REGISTER takes SPEC_I_PT. */
	prout_raw(f, &f->nexus, REG_IGN, 0, len);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	assert_field(f, false, 20, 3);
	/* Not from a registered nexus either. */
	put_be64(plist, 0xb);
	prout_raw(f, &f->other, REG, 0, len);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
}

static void test_transport_id_parse(void **state)
{
	struct pr_port port;
	uint8_t b[PR_TID_MAX];
	unsigned len;

	(void)state;
	len = tid(b, "iqn.x,i,0x0123456789ab", 1);
	assert_int_equal(pr_tid_parse(b, len, &port), len);
	assert_string_equal(port.name, "iqn.x");
	assert_false(port.any_isid);
	assert_int_equal(port.isid[5], 0xab);
	/* Longer than the buffer, other protocols, bad ISIDs, no NUL. */
	assert_int_equal(pr_tid_parse(b, len - 4, &port), 0);
	b[0] = 0x41;
	assert_int_equal(pr_tid_parse(b, len, &port), 0);
	len = tid(b, "iqn.x,i,0x0123456789a", 1);
	assert_int_equal(pr_tid_parse(b, len, &port), 0);
	len = tid(b, "iqn.x", 1);
	assert_int_equal(pr_tid_parse(b, len, &port), 0);
	len = tid(b, "iqn.x", 0);
	memset(b + 4, 'x', len - 4);
	assert_int_equal(pr_tid_parse(b, len, &port), 0);
	len = tid(b, "", 0);
	assert_int_equal(pr_tid_parse(b, len, &port), 0);
	/* What we build, we parse. */
	memset(&port, 0, sizeof(port));
	strcpy(port.name, "iqn.y");
	port.isid[0] = 0x80;
	len = pr_tid_build(&port, b);
	assert_int_equal(len, 28); /* 22 characters, NUL, padding */
	assert_int_equal(pr_tid_parse(b, len, &port), 28);
	assert_int_equal(port.isid[0], 0x80);
	port.any_isid = true;
	assert_int_equal(pr_tid_build(&port, b), 24); /* the minimum */
}

/* ---- PERSISTENT RESERVE IN details ---- */

static void test_read_keys_truncated(void **state)
{
	struct fx *f = *state;

	register_both(f, 0xa, 0xb);
	SEND(f, 1, 0x5e, 0, 0, 0, 0, 0, 0, 0, 12, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 12);
	/* ADDITIONAL LENGTH describes all keys, not what fitted. */
	assert_int_equal(get_be32(f->cmd.in_buf + 4), 16);
}

static void test_report_capabilities(void **state)
{
	struct fx *f = *state;

	prin(f, &f->nexus, 2);
	assert_int_equal(f->cmd.in_len, 8);
	assert_int_equal(get_be16(f->cmd.in_buf), 8);
	/* CRH, SIP_C, ATP_C; no PTPL_C without a state directory. */
	assert_int_equal(f->cmd.in_buf[2], 0x1c);
	assert_int_equal(f->cmd.in_buf[3], 0x90); /* TMV, ALLOW COMMANDS 1 */
	assert_int_equal(f->cmd.in_buf[4], 0xea);
	assert_int_equal(f->cmd.in_buf[5], 0x01);
	/* APTPL cannot be honoured, so it is refused. */
	prout(f, &f->nexus, REG, 0, 0, 0xa, APTPL);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	assert_field(f, false, 20, 0);
	assert_int_equal(nr_keys(f), 0);
}

/* ---- APTPL ---- */

static char *temp_dir(void)
{
	char tmpl[] = "/tmp/mtgt-test-pr.XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void remove_dir(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static bool file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void test_aptpl_persists(void **state)
{
	struct fx *f = *state;
	char *dir = temp_dir(), *path, state_dir[64];
	struct scsi_lu *lu;
	uint64_t key;

	snprintf(state_dir, sizeof(state_dir), "%s/pr", dir);
	assert_int_equal(scsi_pr_set_store(f->disk, state_dir, "iqn.t/x y"),
			 0);
	path = pr_file_path(state_dir, "iqn.t/x y", 1);
	assert_string_equal(path + strlen(state_dir), "/iqn.t%2Fx%20y,lun1.pr");
	prin(f, &f->nexus, 2);
	assert_int_equal(f->cmd.in_buf[2] & 0x01, 1); /* PTPL_C */
	/* Without APTPL nothing is written. */
	prout(f, &f->nexus, REG, 0, 0, 0xa, 0);
	assert_false(file_exists(path));
	prout(f, &f->other, REG, 0, 0, 0xb, APTPL);
	assert_good(f);
	assert_true(file_exists(path));
	prout(f, &f->other, RES, EARO, 0xb, 0, 0);
	prin(f, &f->nexus, 2);
	assert_int_equal(f->cmd.in_buf[3] & 0x01, 1); /* PTPL_A */

	/* The same LUN created again (a daemon restart) finds it all. */
	lu = scsi_lu_new(&f->t, 1, 1, SCSI_TYPE_DISK);
	assert_int_equal(scsi_pr_set_store(lu, state_dir, "iqn.t/x y"), 0);
	assert_int_equal(lu->pr->st.nr, 2);
	assert_int_equal(lu->pr->st.type, EARO);
	assert_int_equal(lu->pr->st.generation, 2);
	list_del(&f->disk->node);
	list_add_tail(&lu->node, &f->t.lus);
	lu->size = f->disk->size;
	lu->bs = f->disk->bs;
	f->disk->bs.ops = NULL;
	scsi_lu_free(f->disk);
	f->disk = lu;
	assert_int_equal(reservation(f, &key), EARO);
	assert_int_equal(key, 0xb);
	SEND(f, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0); /* A: registered */
	assert_good(f);

	/* The last valid APTPL bit turns it off: the file goes. */
	prout(f, &f->nexus, REG, 0, 0xa, 0xc, 0);
	assert_good(f);
	assert_false(file_exists(path));
	free(path);
	remove_dir(dir);
	free(dir);
}

/* Gives the disk a state directory whose parent is a file (in dir):
 * nothing can be saved there. */
static void unsavable_store(struct fx *f, const char *dir)
{
	char blocker[64];
	FILE *fp;

	snprintf(blocker, sizeof(blocker), "%s/file", dir);
	fp = fopen(blocker, "w");
	assert_non_null(fp);
	fclose(fp);
	strcat(blocker, "/pr");
	assert_int_equal(scsi_pr_set_store(f->disk, blocker, "iqn.t"), 0);
}

static void test_aptpl_save_failure_changes_nothing(void **state)
{
	struct fx *f = *state;
	char *dir = temp_dir();

	unsavable_store(f, dir);
	prout(f, &f->nexus, REG, 0, 0, 0xa, APTPL);
	assert_sense(f, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
	assert_int_equal(nr_keys(f), 0);
	assert_int_equal(generation(f), 0);
	remove_dir(dir);
	free(dir);
}

/* The save runs off the loop: the PR OUT ends only from the loop once
 * its state is on disk; a second PR OUT waits for that save and runs
 * against the state it left (saves reach the file in command order);
 * other commands go on meanwhile and see the state before the change. */
static void test_aptpl_saves_off_loop_in_order(void **state)
{
	struct fx *f = *state;
	char *dir = temp_dir();
	const uint8_t reg[16] = { 0x5f, REG, 0, 0, 0, 0, 0, 0, 24 };
	const uint8_t read_keys[16] = { 0x5e, 0, 0, 0, 0, 0, 0, 0x10, 0 };
	uint8_t list_b[24] = { 0 };
	struct fx_side second, keys;
	struct scsi_lu *lu;

	assert_int_equal(scsi_pr_set_store(f->disk, dir, "iqn.t"), 0);
	memset(plist, 0, 24);
	put_be64(plist + 8, 0xa);
	plist[20] = APTPL;
	fx_start_out(f, &f->nexus, 1, reg, 10, plist, 24);
	assert_int_equal(f->done, 0);
	put_be64(list_b + 8, 0xb);
	list_b[20] = APTPL;
	fx_side_start_on(&second, f->loop, &f->other, 1, reg, list_b, 24);
	assert_int_equal(second.done, 0);
	assert_int_equal(f->disk->inflight, 2);
	fx_side_start_on(&keys, f->loop, &f->other, 1, read_keys, NULL, 0);
	assert_int_equal(keys.done, 1);
	assert_int_equal(keys.cmd.status, SAM_STAT_GOOD);
	assert_int_equal(get_be32(keys.cmd.in_buf + 4), 0);
	scsi_cmd_release(&keys.cmd);

	wait_done(f, &f->done);
	wait_done(f, &second.done);
	assert_good(f);
	assert_int_equal(second.cmd.status, SAM_STAT_GOOD);
	assert_int_equal(f->disk->inflight, 0);
	assert_int_equal(nr_keys(f), 2);
	assert_int_equal(generation(f), 2);
	/* On disk: the state after both. */
	lu = scsi_lu_new(&f->t, 1, 1, SCSI_TYPE_DISK);
	assert_int_equal(scsi_pr_set_store(lu, dir, "iqn.t"), 0);
	assert_int_equal(lu->pr->st.nr, 2);
	assert_int_equal(lu->pr->st.generation, 2);
	scsi_lu_free(lu);
	remove_dir(dir);
	free(dir);
}

/* A save that fails leaves the state as it was for the command parked
 * behind it, which then runs against that state. */
static void test_aptpl_failed_save_then_parked(void **state)
{
	struct fx *f = *state;
	char *dir = temp_dir();
	const uint8_t reg[16] = { 0x5f, REG, 0, 0, 0, 0, 0, 0, 24 };
	uint8_t list_b[24] = { 0 };
	struct fx_side second;

	unsavable_store(f, dir);
	memset(plist, 0, 24);
	put_be64(plist + 8, 0xa);
	plist[20] = APTPL;
	fx_start_out(f, &f->nexus, 1, reg, 10, plist, 24);
	put_be64(list_b + 8, 0xb); /* without APTPL: nothing to save */
	fx_side_start_on(&second, f->loop, &f->other, 1, reg, list_b, 24);
	assert_int_equal(f->done + second.done, 0);
	wait_done(f, &second.done);
	assert_int_equal(f->done, 1);
	assert_sense(f, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
	assert_int_equal(second.cmd.status, SAM_STAT_GOOD);
	assert_int_equal(f->disk->inflight, 0);
	assert_int_equal(nr_keys(f), 1);
	assert_int_equal(generation(f), 1);
	remove_dir(dir);
	free(dir);
}

static void test_aptpl_bad_file(void **state)
{
	struct fx *f = *state;
	char *dir = temp_dir(), *path = pr_file_path(dir, "iqn.t", 1);
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs("mtgt-pr 1\ntype 5\nreg 000000000000000a - * iqn.a\n", fp);
	fclose(fp);
	/* A WERO reservation without holder is refused whole. */
	assert_int_equal(scsi_pr_set_store(f->disk, dir, "iqn.t"), 0);
	assert_int_equal(nr_keys(f), 0);
	free(path);
	remove_dir(dir);
	free(dir);
}

/* ---- SPC-2 RESERVE / RELEASE ---- */

static void test_spc2_reserve(void **state)
{
	struct fx *f = *state;

	SEND(f, 1, 0x16, 0, 0, 0, 0, 0);
	assert_good(f);
	SEND(f, 1, 0x16, 0, 0, 0, 0, 0); /* again: GOOD */
	assert_good(f);
	SEND_ON(f, &f->other, 1, 0x16, 0, 0, 0, 0, 0);
	assert_conflict(f);
	SEND_ON(f, &f->other, 1, 0x1a, 0, 0x3f, 0, 255, 0);
	assert_conflict(f);
	SEND_ON(f, &f->other, 1, 0x00, 0, 0, 0, 0, 0);
	assert_conflict(f);
	SEND_ON(f, &f->other, 1, 0x5e, 0, 0, 0, 0, 0, 0, 0, 64, 0);
	assert_conflict(f);
	SEND_ON(f, &f->other, 1, 0x12, 0, 0, 0, 36, 0);
	assert_good(f);
	/* RELEASE from another nexus is GOOD and keeps it. */
	SEND_ON(f, &f->other, 1, 0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_good(f);
	SEND_ON(f, &f->other, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_conflict(f);
	/* Third-party reservations are not supported. */
	SEND_ON(f, &f->other, 1, 0x56, 0x10, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	SEND(f, 1, 0x17, 0, 0, 0, 0, 0);
	assert_good(f);
	SEND_ON(f, &f->other, 1, 0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_good(f);
}

static void test_spc2_ends_with_nexus_and_reset(void **state)
{
	struct fx *f = *state;

	SEND(f, 1, 0x16, 0, 0, 0, 0, 0);
	it_nexus_fini(&f->nexus); /* logout */
	it_nexus_init(&f->nexus, &f->t, 1);
	it_nexus_set_port(&f->nexus, NAME_A, ISID_A);
	scsi_ua_drop_lun(&f->t, 1);
	scsi_ua_drop_lun(&f->t, 0);
	SEND_ON(f, &f->other, 1, 0x16, 0, 0, 0, 0, 0);
	assert_good(f);
	scsi_lu_reset(f->disk);
	expect_ua(f, &f->other, ASC_BUS_DEVICE_RESET);
	expect_ua(f, &f->nexus, ASC_BUS_DEVICE_RESET);
	SEND(f, 1, 0x16, 0, 0, 0, 0, 0);
	assert_good(f);
	scsi_lu_reset(f->disk); /* the target's only LU */
	expect_ua(f, &f->other, ASC_BUS_DEVICE_RESET);
	expect_ua(f, &f->nexus, ASC_BUS_DEVICE_RESET);
	SEND_ON(f, &f->other, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_good(f);
	/* Persistent reservations survive a reset. */
	register_both(f, 0xa, 0xb);
	prout(f, &f->nexus, RES, EA, 0xa, 0, 0);
	scsi_lu_reset(f->disk);
	expect_ua(f, &f->other, ASC_BUS_DEVICE_RESET);
	expect_ua(f, &f->nexus, ASC_BUS_DEVICE_RESET);
	assert_int_equal(reservation(f, NULL), EA);
}

/* SPC-4 5.13.3 (CRH = 1). */
static void test_spc2_and_persistent(void **state)
{
	struct fx *f = *state;

	/* With a registration, RESERVE(6) from others conflicts... */
	prout(f, &f->nexus, REG, 0, 0, 0xa, 0);
	SEND_ON(f, &f->other, 1, 0x16, 0, 0, 0, 0, 0);
	assert_conflict(f);
	SEND_ON(f, &f->other, 1, 0x17, 0, 0, 0, 0, 0);
	assert_conflict(f);
	/* ...and is GOOD without effect from the holder. */
	prout(f, &f->nexus, RES, WE, 0xa, 0, 0);
	SEND(f, 1, 0x16, 0, 0, 0, 0, 0);
	assert_good(f);
	SEND_ON(f, &f->other, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_good(f); /* still only Write Exclusive */
	SEND(f, 1, 0x17, 0, 0, 0, 0, 0);
	assert_good(f);
	assert_int_equal(reservation(f, NULL), WE);
	/* An SPC-2 reservation keeps others from PERSISTENT RESERVE. */
	prout(f, &f->nexus, CLR, 0, 0xa, 0, 0);
	SEND(f, 1, 0x16, 0, 0, 0, 0, 0);
	assert_good(f);
	prout(f, &f->other, REG, 0, 0, 0xb, 0);
	assert_conflict(f);
	prout(f, &f->nexus, REG, 0, 0, 0xa, 0);
	assert_good(f);
}

/* The APTPL tests run their commands' completions on a loop. */
static int loop_setup(void **state)
{
	setup(state);
	fx_use_loop(*state);
	return 0;
}

int main(void)
{
#define L(fn) \
	cmocka_unit_test_setup_teardown(fn, loop_setup, fx_loop_teardown)
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_conflict_table),
		T(test_unknown_lun_and_no_reservation),
		T(test_register),
		T(test_registration_outlives_session),
		T(test_reserve_release),
		T(test_release_ua_registrants_only),
		T(test_cdb_fields),
		T(test_parameter_list_length),
		T(test_clear),
		T(test_preempt_registration),
		T(test_preempt_holder),
		T(test_preempt_type_change_tells_registrants),
		T(test_all_registrants),
		T(test_unregister_holder),
		T(test_register_and_move),
		T(test_spec_i_pt),
		T(test_spec_i_pt_refusals),
		T(test_transport_id_parse),
		T(test_read_keys_truncated),
		T(test_report_capabilities),
		L(test_aptpl_persists),
		L(test_aptpl_save_failure_changes_nothing),
		L(test_aptpl_saves_off_loop_in_order),
		L(test_aptpl_failed_save_then_parked),
		T(test_aptpl_bad_file),
		T(test_spc2_reserve),
		T(test_spc2_ends_with_nexus_and_reset),
		T(test_spc2_and_persistent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
