/* The smaller block commands through the in-memory store: ORWRITE(16)
 * (and its atomicity against a write to the range), PRE-FETCH(10/16),
 * READ DEFECT DATA(10/12) and VERIFY with BYTCHK 11b. */
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

static uint8_t data[8 * BS];

static void orwrite(struct fx *f, uint8_t flags, uint64_t lba,
		    uint32_t blocks, uint32_t len)
{
	uint8_t cdb[16] = { 0x8b, flags };

	put_be64(cdb + 2, lba);
	put_be32(cdb + 10, blocks);
	fx_start_out(f, &f->nexus, 1, cdb, 16, data, len);
}

static void test_orwrite(void **state)
{
	struct fx *f = *state;

	memset(f->mem.data + 4 * BS, 0x0f, 2 * BS);
	memset(data, 0xa0, 2 * BS);
	orwrite(f, 0, 4, 2, 2 * BS);
	assert_int_equal(f->done, 1);
	assert_good(f);
	assert_true(fx_medium_is(f, 4, 2, 0xaf));
	assert_int_equal(f->cmd.in_len, 0); /* nothing goes back */
	/* FUA: durable before GOOD. */
	orwrite(f, 0x08, 4, 1, BS);
	assert_good(f);
	assert_true(f->mem.last_fua);
	/* Zero blocks, the end, beyond it, ORPROTECT, write protection. */
	orwrite(f, 0, 0, 0, 0);
	assert_good(f);
	orwrite(f, 0, DISK_BLOCKS - 1, 1, BS);
	assert_good(f);
	orwrite(f, 0, DISK_BLOCKS, 1, BS);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	orwrite(f, 0, UINT64_MAX, 1, BS);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	orwrite(f, 0x20, 0, 1, BS);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	f->disk->readonly = true;
	orwrite(f, 0, 0, 1, BS);
	assert_sense(f, SK_DATA_PROTECT, ASC_WRITE_PROTECT);
}

/* The read and the write of an ORWRITE hold the range alone: a write
 * arriving in between goes after it. */
static void test_orwrite_atomic(void **state)
{
	struct fx *f = *state;
	static uint8_t w_data[BS];
	uint8_t cdb[16] = { 0x2a, 0, 0, 0, 0, 3, 0, 0, 1 };
	struct fx_side w;

	memset(data, 0x01, BS);
	memset(w_data, 0x80, BS);
	f->mem.defer = true;
	orwrite(f, 0, 3, 1, BS);
	assert_int_equal(f->mem.last_op, BS_READ);
	fx_side_start(&w, &f->other, 1, cdb, w_data, BS);
	assert_int_equal(f->mem.submits, 1); /* the write waits */
	fx_complete_parked(f);
	assert_int_equal(f->mem.last_op, BS_WRITE);
	f->mem.defer = false;
	fx_complete_parked(f);
	assert_int_equal(f->done, 1);
	assert_int_equal(w.done, 1);
	assert_true(fx_medium_is(f, 3, 1, 0x80));
	scsi_cmd_release(&w.cmd);
}

static void test_prefetch(void **state)
{
	struct fx *f = *state;

	/* No cache of our own: GOOD, and nothing read. */
	SEND(f, 1, 0x34, 0x02, 0, 0, 0, 0, 0, 0, 8, 0);
	assert_good(f);
	SEND(f, 1, 0x90, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xff, 0, 0, 0, 1, 0, 0);
	assert_good(f);
	assert_int_equal(f->mem.submits, 0);
	SEND(f, 1, 0x34, 0, 0, 0, 0x04, 0x00, 0, 0, 1, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	SEND(f, 1, 0x90, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	     0, 0, 0, 0, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
}

static void test_read_defect_data(void **state)
{
	struct fx *f = *state;

	/* (10): both lists, format 011b (long block): empty. */
	SEND(f, 1, 0x37, 0, 0x1b, 0, 0, 0, 0, 0, 32, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 4);
	assert_int_equal(f->cmd.in_buf[1], 0x1b);
	assert_int_equal(get_be16(f->cmd.in_buf + 2), 0);
	/* (12): the grown list only; 8-byte header. */
	SEND(f, 1, 0xb7, 0x0c, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 8);
	assert_int_equal(f->cmd.in_buf[1], 0x0c);
	assert_int_equal(get_be32(f->cmd.in_buf + 4), 0);
	/* Format 111b is reserved; the allocation length truncates. */
	SEND(f, 1, 0x37, 0, 0x07, 0, 0, 0, 0, 0, 32, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 2, 2);
	SEND(f, 1, 0x37, 0, 0x18, 0, 0, 0, 0, 0, 2, 0);
	assert_int_equal(f->cmd.in_len, 2);
}

static void verify_one_block(struct fx *f, uint32_t lba, uint16_t blocks,
			     uint32_t len)
{
	uint8_t cdb[10] = { 0x2f, 0x06 };

	put_be32(cdb + 2, lba);
	put_be16(cdb + 7, blocks);
	fx_start_out(f, &f->nexus, 1, cdb, 10, data, len);
	assert_int_equal(f->done, 1);
}

static void test_verify_one_block(void **state)
{
	struct fx *f = *state;

	for (unsigned b = 10; b < 14; b++)
		memset(f->mem.data + b * BS, 'V', BS);
	memset(data, 'V', BS);
	verify_one_block(f, 10, 4, BS);
	assert_good(f);
	assert_int_equal(f->cmd.out_cdb_len, BS);
	assert_int_equal(f->cmd.in_len, 0);
	f->mem.data[12 * BS + 7] = 'x';
	verify_one_block(f, 10, 4, BS);
	assert_sense(f, SK_MISCOMPARE, 0x1d00);
	assert_int_equal(get_be32(f->cmd.sense + 3), 2 * BS + 7);
	/* Beyond the end; nothing to compare against. */
	verify_one_block(f, DISK_BLOCKS - 1, 2, BS);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	f->mem.submits = 0;
	verify_one_block(f, 10, 4, 0);
	assert_good(f);
	assert_int_equal(f->mem.submits, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_orwrite),
		T(test_orwrite_atomic),
		T(test_prefetch),
		T(test_read_defect_data),
		T(test_verify_one_block),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
