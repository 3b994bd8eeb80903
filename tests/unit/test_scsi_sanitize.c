/* SANITIZE through the in-memory store: OVERWRITE with patterns, counts
 * and INVERT, BLOCK ERASE, the parameter checks, a sanitize in progress
 * as every nexus sees it (IMMED, progress), failure mode, and aborts of
 * the command (scsi_cmd_abort). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/byteorder.h"
#include "event/loop.h"
#include "scsi/scsi.h"
#include "target/target.h"

#include "scsi_fixture.h"

#define BS 512
#define OVERWRITE 0x01
#define BLOCK_ERASE 0x02
#define EXIT_FAILURE_MODE 0x1f
#define IMMED 0x80
#define AUSE 0x20

static uint8_t params[BS + 8];

static int thin_setup(void **state)
{
	int ret = fx_setup(state);
	struct fx *f = *state;

	f->disk->thin_provisioning = true;
	return ret;
}

/* An OVERWRITE parameter list: count (with INVERT in bit 7) and a
 * pattern of len bytes counting up from first. */
static uint32_t overwrite_params(uint8_t count, uint16_t len, uint8_t first)
{
	memset(params, 0, sizeof(params));
	params[0] = count;
	put_be16(params + 2, len);
	for (uint16_t i = 0; i < len; i++)
		params[4 + i] = (uint8_t)(first + i);
	return 4u + len;
}

static void sanitize_on(struct fx *f, struct it_nexus *n, uint8_t b1,
			uint32_t plen)
{
	uint8_t cdb[10] = { 0x48, b1 };

	put_be16(cdb + 7, (uint16_t)plen);
	fx_start_out(f, n, 1, cdb, 10, params, plen);
}

static void sanitize(struct fx *f, uint8_t b1, uint32_t plen)
{
	sanitize_on(f, &f->nexus, b1, plen);
	assert_int_equal(f->done, 1);
}

/* Every block holds the pattern from its start, repeated; flipped if
 * inverted. */
static bool medium_holds(const struct fx *f, uint16_t len, uint8_t first,
			 bool inverted)
{
	for (size_t b = 0; b < DISK_BLOCKS; b++)
		for (size_t i = 0; i < BS; i++) {
			uint8_t want = (uint8_t)(first + i % len);

			if (f->mem.data[b * BS + i] !=
			    (inverted ? (uint8_t)~want : want))
				return false;
		}
	return true;
}

static void test_overwrite(void **state)
{
	struct fx *f = *state;

	sanitize(f, OVERWRITE, overwrite_params(1, 3, 'A'));
	assert_good(f);
	assert_true(medium_holds(f, 3, 'A', false));
	assert_int_equal(f->mem.last_op, BS_FLUSH); /* durable at the end */
	/* INVERT: the pattern flips between passes; two passes end
	 * inverted, three not. */
	sanitize(f, OVERWRITE, overwrite_params(0x80 | 2, BS, 7));
	assert_good(f);
	assert_true(medium_holds(f, BS, 7, true));
	sanitize(f, OVERWRITE, overwrite_params(0x80 | 3, 16, 9));
	assert_good(f);
	assert_true(medium_holds(f, 16, 9, false));
	assert_int_equal(f->disk->inflight, 0);
	assert_null(f->disk->sanitize);
}

static void test_block_erase(void **state)
{
	struct fx *f = *state;

	memset(f->mem.data, 'D', DISK_BLOCKS * BS);
	memset(f->mem.mapped, 1, DISK_BLOCKS);
	sanitize(f, BLOCK_ERASE, 0);
	assert_good(f);
	assert_true(fx_medium_is(f, 0, DISK_BLOCKS, 0));
	for (unsigned i = 0; i < DISK_BLOCKS; i++)
		assert_false(f->mem.mapped[i]);
	assert_int_equal(f->mem.last_op, BS_FLUSH);
	/* Only where deallocated blocks read as zeros. */
	f->disk->bs.caps.unmap_zeroes = false;
	sanitize(f, BLOCK_ERASE, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 1, 4);
	SEND(f, 1, 0x12, 1, 0xb1, 0, 64, 0); /* WABEREQ follows */
	assert_int_equal(f->cmd.in_buf[7] & 0xc0, 0);
	f->disk->bs.caps.unmap_zeroes = true;
	SEND(f, 1, 0x12, 1, 0xb1, 0, 64, 0);
	assert_int_equal(f->cmd.in_buf[7] & 0xc0, 0x40);
}

static void test_checks(void **state)
{
	struct fx *f = *state;

	/* OVERWRITE: more than the header, at most a block of pattern. */
	for (uint32_t plen = 0; plen <= 4; plen++) {
		sanitize(f, OVERWRITE, plen);
		assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	}
	overwrite_params(1, BS, 0);
	sanitize(f, OVERWRITE, BS + 5);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	/* A count, a pattern, no test mode. */
	overwrite_params(0, 4, 0);
	sanitize(f, OVERWRITE, 8);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	overwrite_params(1, 0, 0);
	sanitize(f, OVERWRITE, 8);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	overwrite_params(1, 5, 0);
	sanitize(f, OVERWRITE, 8);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	overwrite_params(0x21, 4, 0);
	sanitize(f, OVERWRITE, 8);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	/* The others take no parameter list. */
	sanitize(f, BLOCK_ERASE, 8);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	sanitize(f, EXIT_FAILURE_MODE, 8);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	/* No CRYPTOGRAPHIC ERASE, no other service action, nothing
	 * reserved. */
	sanitize(f, 0x03, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	sanitize(f, 0x00, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	sanitize(f, 0x40 | BLOCK_ERASE, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(f->mem.submits, 0);
	/* Write protection. */
	f->disk->swp = true;
	sanitize(f, BLOCK_ERASE, 0);
	assert_sense(f, SK_DATA_PROTECT, 0x2702);
	assert_int_equal(f->mem.submits, 0);
}

static void assert_sanitizing(const struct fx *f)
{
	const uint8_t *s = f->cmd.sense;

	assert_sense(f, SK_NOT_READY, ASC_SANITIZE_IN_PROGRESS);
	assert_int_equal(s[15] & 0x80, 0x80); /* PROGRESS INDICATION */
}

/* The running sanitize's requests complete: the LU is ready again and
 * holds byte all over. */
static void run_to_end(struct fx *f, uint8_t byte)
{
	while (f->mem.parked)
		fx_complete_parked(f);
	assert_null(f->disk->sanitize);
	assert_int_equal(f->disk->inflight, 0);
	SEND(f, 1, 0x00, 0, 0, 0, 0, 0);
	assert_good(f);
	assert_true(fx_medium_is(f, 0, DISK_BLOCKS, byte));
}

/* A write of 'W' to block 9 from the other nexus, held at the store,
 * then a SANITIZE OVERWRITE with byte, which has to wait for it. */
static void sanitize_behind_write(struct fx *f, struct fx_side *w,
				  uint8_t byte)
{
	static uint8_t data[BS];
	uint8_t cdb[16] = { 0x2a, 0, 0, 0, 0, 9, 0, 0, 1 };

	memset(data, 'W', BS);
	f->mem.defer = true;
	fx_side_start(w, &f->other, 1, cdb, data, BS);
	assert_int_equal(f->mem.submits, 1);
	f->mem.defer = false;
	sanitize_on(f, &f->nexus, OVERWRITE, overwrite_params(1, 1, byte));
	assert_int_equal(f->mem.submits, 1); /* waiting */
	assert_int_equal(f->done, 0);
}

/* With IMMED the status comes at once; until the end, every nexus finds
 * the LU sanitizing, except for INQUIRY, REPORT LUNS, REQUEST SENSE. */
static void test_in_progress(void **state)
{
	struct fx *f = *state;

	f->mem.defer = true;
	sanitize(f, IMMED | OVERWRITE, overwrite_params(1, 1, 0x55));
	assert_good(f);
	assert_non_null(f->mem.parked);
	SEND(f, 1, 0x00, 0, 0, 0, 0, 0);
	assert_sanitizing(f);
	SEND_ON(f, &f->other, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_sanitizing(f);
	SEND(f, 1, 0x12, 0, 0, 0, 36, 0);
	assert_good(f);
	SEND(f, 1, 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_good(f);
	SEND(f, 1, 0x03, 0, 0, 0, 18, 0); /* REQUEST SENSE */
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[2] & 0x0f, SK_NOT_READY);
	assert_int_equal(get_be16(f->cmd.in_buf + 12), 0x041b);
	assert_int_equal(f->cmd.in_buf[15] & 0x80, 0x80);
	/* A second SANITIZE is refused too. */
	sanitize_on(f, &f->other, BLOCK_ERASE, 0);
	assert_sanitizing(f);
	run_to_end(f, 0x55);
}

/* A sanitize starts once the writes already at the store are done. */
static void test_waits_for_writes(void **state)
{
	struct fx *f = *state;
	struct fx_side w;

	sanitize_behind_write(f, &w, 0x66);
	fx_complete_parked(f);
	assert_int_equal(w.done, 1);
	assert_int_equal(f->done, 1);
	assert_good(f);
	assert_true(fx_medium_is(f, 0, DISK_BLOCKS, 0x66));
	scsi_cmd_release(&w.cmd);
}

static void test_failure_mode(void **state)
{
	struct fx *f = *state;

	f->mem.fail = -5;
	sanitize(f, OVERWRITE, overwrite_params(1, 1, 0));
	assert_sense(f, SK_MEDIUM_ERROR, ASC_SANITIZE_FAILED);
	f->mem.fail = 0;
	SEND(f, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_sense(f, SK_MEDIUM_ERROR, ASC_SANITIZE_FAILED);
	SEND(f, 1, 0x12, 0, 0, 0, 36, 0);
	assert_good(f);
	/* Without AUSE only a sanitize that succeeds ends it. */
	sanitize(f, EXIT_FAILURE_MODE, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	sanitize(f, BLOCK_ERASE, 0);
	assert_good(f);
	SEND(f, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_good(f);
	/* With AUSE, EXIT FAILURE MODE does; outside it, it does nothing. */
	f->mem.fail = -5;
	sanitize(f, AUSE | BLOCK_ERASE, 0);
	assert_sense(f, SK_MEDIUM_ERROR, ASC_SANITIZE_FAILED);
	f->mem.fail = 0;
	sanitize(f, EXIT_FAILURE_MODE, 0);
	assert_good(f);
	SEND(f, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_good(f);
	sanitize(f, EXIT_FAILURE_MODE, 0);
	assert_good(f);
}

static int loop_setup(void **state)
{
	int ret = thin_setup(state);

	fx_use_loop(*state);
	return ret;
}

/* An aborted SANITIZE ends from the loop, never inside the abort, with
 * TASK ABORTED; the operation goes on to its end, and until then every
 * nexus finds the LU sanitizing. */
static void test_abort_running(void **state)
{
	struct fx *f = *state;

	f->mem.defer = true;
	sanitize_on(f, &f->nexus, OVERWRITE, overwrite_params(1, 1, 0x77));
	assert_non_null(f->mem.parked);
	assert_int_equal(f->done, 0);
	scsi_cmd_abort(&f->cmd);
	assert_int_equal(f->done, 0);
	ev_drain(f->loop);
	assert_int_equal(f->done, 1);
	assert_int_equal(f->cmd.status, SAM_STAT_TASK_ABORTED);
	assert_non_null(f->disk->sanitize);
	SEND_ON(f, &f->other, 1, 0x00, 0, 0, 0, 0, 0);
	assert_sanitizing(f);
	run_to_end(f, 0x77);
	assert_false(f->disk->sanitize_failed);
}

/* Aborted while it still waits for a write at the store, a sanitize
 * never starts: the LU is usable at once and its medium untouched. */
static void test_abort_waiting(void **state)
{
	struct fx *f = *state;
	struct fx_side w;

	sanitize_behind_write(f, &w, 0x66);
	assert_non_null(f->disk->sanitize);
	scsi_cmd_abort(&f->cmd);
	assert_null(f->disk->sanitize);
	ev_drain(f->loop);
	assert_int_equal(f->done, 1);
	assert_int_equal(f->cmd.status, SAM_STAT_TASK_ABORTED);
	fx_complete_parked(f);
	assert_int_equal(w.done, 1);
	assert_int_equal(f->mem.submits, 1); /* the write alone */
	assert_int_equal(f->disk->inflight, 0);
	SEND_ON(f, &f->other, 1, 0x00, 0, 0, 0, 0, 0);
	assert_good(f);
	assert_true(fx_medium_is(f, 9, 1, 'W'));
	assert_true(fx_medium_is(f, 0, 9, 0));
	scsi_cmd_release(&w.cmd);
}

/* Other commands run to their end: an abort does not end them. */
static void test_abort_other(void **state)
{
	struct fx *f = *state;
	static uint8_t data[BS];
	uint8_t cdb[10] = { 0x2a, 0, 0, 0, 0, 3, 0, 0, 1 };

	f->mem.defer = true;
	fx_start_out(f, &f->nexus, 1, cdb, 10, data, BS);
	scsi_cmd_abort(&f->cmd);
	ev_drain(f->loop);
	assert_int_equal(f->done, 0);
	fx_complete_parked(f);
	assert_int_equal(f->done, 1);
	assert_good(f);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, thin_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_overwrite),
		T(test_block_erase),
		T(test_checks),
		T(test_in_progress),
		T(test_waits_for_writes),
		T(test_failure_mode),
#define L(fn) \
	cmocka_unit_test_setup_teardown(fn, loop_setup, fx_loop_teardown)
		L(test_abort_running),
		L(test_abort_waiting),
		L(test_abort_other),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
