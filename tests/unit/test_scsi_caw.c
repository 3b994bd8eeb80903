/* COMPARE AND WRITE (SBC-3 5.2) through an in-memory store: match and
 * write, MISCOMPARE with the offset of the first differing byte and the
 * medium untouched, the CDB and data-out checks, the Block Limits and
 * REPORT SUPPORTED OPERATION CODES entries, and atomicity: a write to the
 * range waits while a COMPARE AND WRITE is between its read and its
 * write, writes elsewhere do not, and a COMPARE AND WRITE waits for the
 * writes already at the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/byteorder.h"
#include "scsi/scsi.h"
#include "target/target.h"

#include "scsi_fixture.h"

#define BS 512

static uint8_t buf[2 * 255 * BS];

static void caw_cdb(uint8_t *cdb, uint64_t lba, uint8_t blocks)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x89;
	put_be64(cdb + 2, lba);
	cdb[13] = blocks;
}

/* COMPARE AND WRITE of `blocks` blocks at lba: compare with cmp, write
 * new. Runs to completion. */
static void caw(struct fx *f, uint64_t lba, uint8_t blocks, uint8_t cmp,
		uint8_t new)
{
	uint8_t cdb[16];
	uint32_t half = blocks * BS;

	caw_cdb(cdb, lba, blocks);
	memset(buf, cmp, half);
	memset(buf + half, new, half);
	fx_start_out(f, &f->nexus, 1, cdb, 16, buf, 2 * half);
	assert_int_equal(f->done, 1);
}

static void test_caw_match_writes(void **state)
{
	struct fx *f = *state;

	memset(f->mem.data + 8 * BS, 'A', 4 * BS);
	caw(f, 8, 4, 'A', 'B');
	assert_good(f);
	assert_true(fx_medium_is(f, 8, 4, 'B'));
	assert_int_equal(f->cmd.in_len, 0); /* nothing goes back */
	assert_int_equal(f->cmd.out_cdb_len, 8 * BS);
	/* The last blocks of the LU. */
	memset(f->mem.data + (DISK_BLOCKS - 2) * BS, 'A', 2 * BS);
	caw(f, DISK_BLOCKS - 2, 2, 'A', 'C');
	assert_good(f);
	assert_true(fx_medium_is(f, DISK_BLOCKS - 2, 2, 'C'));
}

static void test_caw_miscompare(void **state)
{
	struct fx *f = *state;
	const uint8_t *s;

	memset(f->mem.data + 8 * BS, 'A', 4 * BS);
	f->mem.data[8 * BS + 3 * BS + 100] = 'X';
	caw(f, 8, 4, 'A', 'B');
	assert_sense(f, SK_MISCOMPARE, 0x1d00);
	s = f->cmd.sense;
	assert_true(s[0] & 0x80); /* VALID: INFORMATION is the offset */
	assert_int_equal(get_be32(s + 3), 3 * BS + 100);
	assert_true(f->mem.data[8 * BS + 3 * BS + 100] == 'X');
	f->mem.data[8 * BS + 3 * BS + 100] = 'A';
	assert_true(fx_medium_is(f, 8, 4, 'A'));
	assert_int_equal(f->cmd.in_len, 0);
	/* Descriptor format carries the offset too. */
	f->disk->sense_descriptor = true;
	f->mem.data[8 * BS] = 'Y';
	caw(f, 8, 1, 'A', 'B');
	assert_sense(f, SK_MISCOMPARE, 0x1d00);
	assert_int_equal(f->cmd.sense[8], 0x00); /* information descriptor */
	assert_int_equal(get_be64(f->cmd.sense + 12), 0);
}

static void test_caw_checks(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[16];

	/* Zero blocks: nothing done, not an error (SBC-3 5.2). */
	caw(f, 0, 0, 'A', 'B');
	assert_good(f);
	assert_int_equal(f->mem.submits, 0);
	/* Past the end, and overflowing 2^64. */
	caw(f, DISK_BLOCKS - 1, 2, 0, 'B');
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	caw(f, UINT64_MAX, 1, 0, 'B');
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	/* Data-out not exactly both halves. */
	caw_cdb(cdb, 0, 1);
	fx_start_out(f, &f->nexus, 1, cdb, 16, buf, 4 * BS);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 13, 7);
	caw_cdb(cdb, 0, 3);
	fx_start_out(f, &f->nexus, 1, cdb, 16, buf, 4 * BS);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	/* A 256-block request arrives with NUMBER OF LOGICAL BLOCKS 0:
	 * its data-out gives it away. */
	caw_cdb(cdb, 0, 0);
	fx_start_out(f, &f->nexus, 1, cdb, 16, buf, 2 * 256 * BS);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(f->mem.submits, 0);
	/* WRPROTECT is not supported; DPO and FUA are. */
	caw_cdb(cdb, 0, 1);
	cdb[1] = 0x20;
	fx_start_out(f, &f->nexus, 1, cdb, 16, buf, 2 * BS);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	memset(buf, 0, 2 * BS);
	cdb[1] = 0x18;
	fx_start_out(f, &f->nexus, 1, cdb, 16, buf, 2 * BS);
	assert_good(f);
	assert_true(f->mem.last_fua);
	/* Write protection. */
	f->disk->readonly = true;
	caw(f, 0, 1, 0, 'B');
	assert_sense(f, SK_DATA_PROTECT, ASC_WRITE_PROTECT);
	assert_true(fx_medium_is(f, 0, 1, 0));
}

static void test_caw_limits_advertised(void **state)
{
	struct fx *f = *state;

	SEND(f, 1, 0x12, 0x01, 0xb0, 0, 64, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[5], 255);
	caw(f, 0, 255, 0, 'Z');
	assert_good(f);
	assert_true(fx_medium_is(f, 0, 255, 'Z'));
	/* REPORT SUPPORTED OPERATION CODES: one command, 89h. */
	SEND(f, 1, 0xa3, 0x0c, 0x01, 0x89, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[1] & 0x07, 3);
	assert_int_equal(get_be16(f->cmd.in_buf + 2), 16);
	assert_int_equal(f->cmd.in_buf[4 + 1] & 0x18, 0x18); /* DPO FUA */
	assert_int_equal(f->cmd.in_buf[4 + 13], 0xff);
}

/* ---- atomicity ---- */

static void side_write(struct fx *f, struct fx_side *s, uint64_t lba,
		       uint8_t *data)
{
	uint8_t cdb[16] = { 0x2a };

	put_be32(cdb + 2, (uint32_t)lba);
	put_be16(cdb + 7, 1);
	fx_side_start(s, &f->other, 1, cdb, data, BS);
}

/* Lets the store complete at once again, completes the parked request
 * and checks that f->cmd then ended well. */
static void finish_deferred(struct fx *f)
{
	f->mem.defer = false;
	fx_complete_parked(f);
	assert_int_equal(f->done, 1);
	assert_good(f);
}

static void test_caw_excludes_writes(void **state)
{
	struct fx *f = *state;
	static uint8_t other[BS], elsewhere[BS];
	struct fx_side w, far;
	uint8_t cdb[16];

	memset(f->mem.data + 10 * BS, 'A', BS);
	memset(other, 'W', BS);
	memset(elsewhere, 'E', BS);
	f->mem.defer = true;
	caw_cdb(cdb, 10, 1);
	memset(buf, 'A', BS);
	memset(buf + BS, 'B', BS);
	fx_start_out(f, &f->nexus, 1, cdb, 16, buf, 2 * BS);
	assert_int_equal(f->mem.submits, 1); /* the read, parked */
	assert_int_equal(f->mem.last_op, BS_READ);

	/* A write to the range must wait... */
	side_write(f, &w, 10, other);
	assert_int_equal(f->mem.submits, 1);
	assert_int_equal(w.done, 0);
	/* ...a write elsewhere need not. */
	{
		struct bs_io *caw_read = f->mem.parked;

		side_write(f, &far, 11, elsewhere);
		assert_int_equal(f->mem.submits, 2);
		fx_complete_parked(f);
		assert_int_equal(far.done, 1);
		f->mem.parked = caw_read;
	}
	/* The read completes: compare matches, the write goes out, and
	 * the waiting write still waits for it. */
	fx_complete_parked(f);
	assert_int_equal(f->mem.submits, 3);
	assert_int_equal(f->mem.last_op, BS_WRITE);
	assert_int_equal(w.done, 0);
	assert_int_equal(f->done, 0);
	finish_deferred(f);
	/* Then the other write ran, after it: its data is what stays. */
	assert_int_equal(w.done, 1);
	assert_int_equal(w.cmd.status, SAM_STAT_GOOD);
	assert_true(fx_medium_is(f, 10, 1, 'W'));
	assert_int_equal(f->disk->inflight, 0);
	scsi_cmd_release(&w.cmd);
	scsi_cmd_release(&far.cmd);
}

static void test_caw_waits_for_writes(void **state)
{
	struct fx *f = *state;
	static uint8_t data[BS];
	struct fx_side w;
	uint8_t cdb[16];

	/* A write of 'A' is at the store when COMPARE AND WRITE arrives
	 * expecting 'A': it must compare after the write, and match. */
	memset(data, 'A', BS);
	f->mem.defer = true;
	side_write(f, &w, 20, data);
	assert_int_equal(f->mem.submits, 1);
	caw_cdb(cdb, 20, 1);
	memset(buf, 'A', BS);
	memset(buf + BS, 'B', BS);
	fx_start_out(f, &f->nexus, 1, cdb, 16, buf, 2 * BS);
	assert_int_equal(f->mem.submits, 1); /* parked, no read yet */
	finish_deferred(f);
	assert_int_equal(w.done, 1);
	assert_true(fx_medium_is(f, 20, 1, 'B'));
	scsi_cmd_release(&w.cmd);
}

static void test_caw_serialises_caw(void **state)
{
	struct fx *f = *state;
	struct fx_side second;
	uint8_t cdb[16];
	static uint8_t data2[2 * BS];

	/* Two COMPARE AND WRITEs of A->B on one block: one wins, the
	 * other miscompares, never both succeed. */
	memset(f->mem.data + 30 * BS, 'A', BS);
	f->mem.defer = true;
	caw_cdb(cdb, 30, 1);
	memset(buf, 'A', BS);
	memset(buf + BS, 'B', BS);
	fx_start_out(f, &f->nexus, 1, cdb, 16, buf, 2 * BS);
	memset(data2, 'A', BS);
	memset(data2 + BS, 'C', BS);
	fx_side_start(&second, &f->other, 1, cdb, data2, 2 * BS);
	assert_int_equal(f->mem.submits, 1);
	finish_deferred(f);
	assert_int_equal(second.done, 1);
	assert_int_equal(second.cmd.status, SAM_STAT_CHECK_CONDITION);
	assert_true(fx_medium_is(f, 30, 1, 'B'));
	scsi_cmd_release(&second.cmd);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_caw_match_writes),
		T(test_caw_miscompare),
		T(test_caw_checks),
		T(test_caw_limits_advertised),
		T(test_caw_excludes_writes),
		T(test_caw_waits_for_writes),
		T(test_caw_serialises_caw),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
