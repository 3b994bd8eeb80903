/* Thin provisioning through the in-memory store (which keeps, like a
 * file, which blocks are allocated): UNMAP, WRITE SAME(10/16) with and
 * without the UNMAP bit and NDOB, GET LBA STATUS, the Block Limits and
 * Logical Block Provisioning pages, and the range lock against COMPARE
 * AND WRITE. */
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

static uint8_t list[8 + 300 * 16];
static uint8_t block[2 * BS];

static int thin_setup(void **state)
{
	int ret = fx_setup(state);
	struct fx *f = *state;

	f->disk->thin_provisioning = true;
	return ret;
}

/* Writes byte v over blocks [lba, lba + n) with WRITE(16). */
static void write_blocks(struct fx *f, uint64_t lba, unsigned n, uint8_t v)
{
	uint8_t cdb[16] = { 0x8a };
	uint8_t *data = malloc((size_t)n * BS);

	memset(data, v, (size_t)n * BS);
	put_be64(cdb + 2, lba);
	put_be32(cdb + 10, n);
	fx_start_out(f, &f->nexus, 1, cdb, 16, data, n * BS);
	assert_good(f);
	f->cmd.out_buf = NULL;
	free(data);
}

static bool mapped(const struct fx *f, uint64_t lba, unsigned n, bool want)
{
	for (unsigned i = 0; i < n; i++)
		if (f->mem.mapped[lba + i] != want)
			return false;
	return true;
}

/* An UNMAP parameter list of n descriptors (lba, blocks) pairs. */
static uint32_t unmap_list(unsigned n, const uint64_t *pairs)
{
	memset(list, 0, 8);
	put_be16(list, (uint16_t)(6 + n * 16));
	put_be16(list + 2, (uint16_t)(n * 16));
	for (unsigned i = 0; i < n; i++) {
		uint8_t *d = list + 8 + i * 16;

		memset(d, 0, 16);
		put_be64(d, pairs[2 * i]);
		put_be32(d + 8, (uint32_t)pairs[2 * i + 1]);
	}
	return 8 + n * 16;
}

static void unmap(struct fx *f, struct it_nexus *n, uint32_t plen)
{
	uint8_t cdb[16] = { 0x42 };

	put_be16(cdb + 7, (uint16_t)plen);
	fx_start_out(f, n, 1, cdb, 10, list, plen);
}

static void test_unmap_deallocates(void **state)
{
	struct fx *f = *state;
	const uint64_t d[] = { 10, 4, 16, 2, 30, 0 };

	write_blocks(f, 10, 10, 'D');
	unmap(f, &f->nexus, unmap_list(3, d));
	assert_good(f);
	assert_int_equal(f->mem.unmaps, 2); /* the empty one is skipped */
	assert_true(mapped(f, 10, 4, false) && fx_medium_is(f, 10, 4, 0));
	assert_true(mapped(f, 14, 2, true) && fx_medium_is(f, 14, 2, 'D'));
	assert_true(mapped(f, 16, 2, false) && fx_medium_is(f, 16, 2, 0));
	assert_true(mapped(f, 18, 2, true));
	assert_int_equal(f->cmd.out_cdb_len, 8 + 3 * 16);
	assert_int_equal(f->disk->inflight, 0);
}

static void test_unmap_checks(void **state)
{
	struct fx *f = *state;
	const uint64_t bad[] = { 0, 1, DISK_BLOCKS - 1, 2 };
	const uint64_t big[] = { 0, 1u << 20, 0, 1 };
	uint64_t many[2 * 257];
	uint8_t cdb[16] = { 0x42 };

	/* No parameter list: nothing to do. */
	unmap(f, &f->nexus, 0);
	assert_good(f);
	/* Shorter than the header. */
	unmap_list(0, NULL);
	unmap(f, &f->nexus, 4);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	/* One range off the medium: nothing at all is deallocated. */
	write_blocks(f, 0, 1, 'D');
	unmap(f, &f->nexus, unmap_list(2, bad));
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	assert_true(mapped(f, 0, 1, true));
	/* More descriptors than MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT. */
	for (unsigned i = 0; i < 257; i++) {
		many[2 * i] = i;
		many[2 * i + 1] = 1;
	}
	unmap(f, &f->nexus, unmap_list(257, many));
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	/* More blocks than MAXIMUM UNMAP LBA COUNT (on a big LU). */
	f->disk->size = 1ull << 40;
	unmap(f, &f->nexus, unmap_list(2, big));
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	f->disk->size = DISK_BLOCKS * BS;
	assert_int_equal(f->mem.unmaps, 0);
	/* ANCHOR is not supported (ANC_SUP = 0). */
	cdb[1] = 0x01;
	put_be16(cdb + 7, 24);
	fx_start_out(f, &f->nexus, 1, cdb, 10, list, 24);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 1, 0);
	/* Write protection comes first. */
	f->disk->swp = true;
	unmap(f, &f->nexus, unmap_list(1, big + 2));
	assert_sense(f, SK_DATA_PROTECT, 0x2702);
	f->disk->swp = false;
	/* A LU that is not thin has no UNMAP at all. */
	f->disk->thin_provisioning = false;
	unmap(f, &f->nexus, unmap_list(1, big + 2));
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
	f->disk->thin_provisioning = true;
	f->disk->bs.caps.discard = false; /* nor does one that cannot */
	unmap(f, &f->nexus, unmap_list(1, big + 2));
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
	assert_int_equal(f->mem.unmaps, 0);
}

/* UNMAP of a range a COMPARE AND WRITE holds waits for it. */
static void test_unmap_waits_for_caw(void **state)
{
	struct fx *f = *state;
	const uint64_t d[] = { 5, 1 };
	uint8_t cdb[16] = { 0x89 };
	struct fx_side u;

	write_blocks(f, 5, 1, 'A');
	f->mem.defer = true;
	put_be64(cdb + 2, 5);
	cdb[13] = 1;
	memset(block, 'A', BS);
	memset(block + BS, 'B', BS);
	fx_start_out(f, &f->nexus, 1, cdb, 16, block, 2 * BS);
	assert_int_equal(f->mem.last_op, BS_READ); /* parked */
	memset(cdb, 0, 16);
	cdb[0] = 0x42;
	put_be16(cdb + 7, (uint16_t)unmap_list(1, d));
	fx_side_start(&u, &f->other, 1, cdb, list, 24);
	assert_int_equal(f->mem.unmaps, 0);
	assert_int_equal(u.done, 0);
	fx_complete_parked(f); /* the read: compare matches, write parked */
	assert_int_equal(f->mem.last_op, BS_WRITE);
	assert_int_equal(f->mem.unmaps, 0);
	f->mem.defer = false;
	fx_complete_parked(f);
	assert_int_equal(f->done, 1);
	assert_good(f);
	/* Only now, after the write of 'B': deallocated for good. */
	assert_int_equal(u.done, 1);
	assert_int_equal(u.cmd.status, SAM_STAT_GOOD);
	assert_true(mapped(f, 5, 1, false));
	scsi_cmd_release(&u.cmd);
}

static void write_same(struct fx *f, bool sixteen, uint8_t flags,
		       uint64_t lba, uint32_t blocks, const uint8_t *data,
		       uint32_t len)
{
	uint8_t cdb[16] = { sixteen ? 0x93 : 0x41, flags };

	if (sixteen) {
		put_be64(cdb + 2, lba);
		put_be32(cdb + 10, blocks);
	} else {
		put_be32(cdb + 2, (uint32_t)lba);
		put_be16(cdb + 7, (uint16_t)blocks);
	}
	fx_start_out(f, &f->nexus, 1, cdb, 16, data, len);
	assert_int_equal(f->done, 1);
}

static void test_write_same_writes(void **state)
{
	struct fx *f = *state;

	for (unsigned i = 0; i < BS; i++)
		block[i] = (uint8_t)i;
	write_same(f, false, 0, 100, 7, block, BS);
	assert_good(f);
	for (unsigned b = 100; b < 107; b++)
		assert_memory_equal(f->mem.data + b * BS, block, BS);
	assert_true(mapped(f, 100, 7, true));
	assert_false(f->mem.mapped[107]);
	/* Zeros: written as zeros by the store, and allocated. */
	memset(block, 0, BS);
	write_same(f, true, 0, 101, 2, block, BS);
	assert_good(f);
	assert_int_equal(f->mem.zeroings, 1);
	assert_true(fx_medium_is(f, 101, 2, 0) && mapped(f, 101, 2, true));
	/* NDOB: no data-out, zeros. */
	write_same(f, true, 0x01, 104, 2, NULL, 0);
	assert_good(f);
	assert_int_equal(f->mem.zeroings, 2);
	assert_true(fx_medium_is(f, 104, 2, 0));
	assert_int_equal(f->cmd.out_cdb_len, 0);
	/* 0 blocks: from the LBA to the end of the medium (WSNZ = 0). */
	memset(block, 'E', BS);
	write_same(f, false, 0, DISK_BLOCKS - 3, 0, block, BS);
	assert_good(f);
	assert_true(fx_medium_is(f, DISK_BLOCKS - 3, 3, 'E'));
	assert_int_equal(f->disk->inflight, 0);
}

static void test_write_same_unmap(void **state)
{
	struct fx *f = *state;

	write_blocks(f, 200, 8, 'D');
	memset(block, 0, BS);
	write_same(f, true, 0x08, 200, 4, block, BS);
	assert_good(f);
	assert_int_equal(f->mem.unmaps, 1);
	assert_true(mapped(f, 200, 4, false) && fx_medium_is(f, 200, 4, 0));
	assert_true(mapped(f, 204, 4, true));
	write_same(f, false, 0x08, 204, 2, block, BS);
	assert_good(f);
	assert_true(mapped(f, 204, 2, false));
	/* ANCHOR is refused, with or without UNMAP. */
	write_same(f, true, 0x10, 206, 1, block, BS);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	write_same(f, false, 0x18, 206, 1, block, BS);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	/* Not thin: the UNMAP bit is an invalid field (LBPWS = 0). */
	f->disk->thin_provisioning = false;
	write_same(f, true, 0x08, 206, 1, block, BS);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 1, 3);
	assert_true(mapped(f, 206, 2, true));
}

static void test_write_same_checks(void **state)
{
	struct fx *f = *state;

	memset(block, 'X', sizeof(block));
	/* Off the medium, overflowing, or running past its end. */
	write_same(f, true, 0, DISK_BLOCKS + 1, 0, block, BS);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	write_same(f, true, 0, UINT64_MAX, 1, block, BS);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	write_same(f, false, 0, DISK_BLOCKS - 1, 2, block, BS);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	/* At the end with 0 blocks: nothing to write. */
	write_same(f, true, 0, DISK_BLOCKS, 0, block, BS);
	assert_good(f);
	/* More than MAXIMUM WRITE SAME LENGTH, also as "to the end". */
	f->disk->size = 1ull << 40;
	write_same(f, true, 0, 0, 0x10000, block, BS);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 10, 7);
	write_same(f, false, 0, 0, 0, block, BS);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 7, 7);
	f->disk->size = DISK_BLOCKS * BS;
	/* The data-out must be exactly one block. */
	write_same(f, false, 0x08, 0, 1, block, BS / 2);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	write_same(f, false, 0, 0, 1, block, 2 * BS);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	write_same(f, true, 0x01, 0, 1, block, BS); /* NDOB with data */
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(f->mem.submits, 0);
	/* Write protection before everything about the data-out. */
	f->disk->readonly = true;
	write_same(f, false, 0x08, 0, 1, NULL, 0);
	assert_sense(f, SK_DATA_PROTECT, ASC_WRITE_PROTECT);
	assert_int_equal(f->mem.submits, 0);
}

/* GET LBA STATUS (9Eh/12h) at lba with allocation length alloc. */
static void get_lba_status(struct fx *f, uint64_t lba, uint32_t alloc)
{
	uint8_t cdb[16] = { 0x9e, 0x12 };

	put_be64(cdb + 2, lba);
	put_be32(cdb + 10, alloc);
	send_on(f, &f->nexus, 1, cdb, 16);
}

static void assert_descriptor(const struct fx *f, unsigned i, uint64_t lba,
			      uint32_t blocks, uint8_t status)
{
	const uint8_t *d = f->cmd.in_buf + 8 + i * 16;

	assert_int_equal(get_be64(d), lba);
	assert_int_equal(get_be32(d + 8), blocks);
	assert_int_equal(d[12] & 0x0f, status);
}

static void test_get_lba_status(void **state)
{
	struct fx *f = *state;

	write_blocks(f, 0, 8, 'M');
	write_blocks(f, 20, 4, 'M');
	get_lba_status(f, 0, 4096);
	assert_good(f);
	assert_int_equal(get_be32(f->cmd.in_buf), 4 + 4 * 16);
	assert_int_equal(f->cmd.in_len, 8 + 4 * 16);
	assert_descriptor(f, 0, 0, 8, 0);
	assert_descriptor(f, 1, 8, 12, 1);
	assert_descriptor(f, 2, 20, 4, 0);
	assert_descriptor(f, 3, 24, DISK_BLOCKS - 24, 1);
	/* From the middle of a run; as many descriptors as fit. */
	get_lba_status(f, 4, 24);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 24);
	assert_int_equal(get_be32(f->cmd.in_buf), 20);
	assert_descriptor(f, 0, 4, 4, 0);
	/* The last block, and one past it. */
	get_lba_status(f, DISK_BLOCKS - 1, 24);
	assert_descriptor(f, 0, DISK_BLOCKS - 1, 1, 1);
	get_lba_status(f, DISK_BLOCKS, 24);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	get_lba_status(f, UINT64_MAX, 24);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	/* A LU that is not thin has nothing deallocated. */
	f->disk->thin_provisioning = false;
	get_lba_status(f, 10, 4096);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 24);
	assert_descriptor(f, 0, 10, DISK_BLOCKS - 10, 0);
}

static void test_provisioning_pages(void **state)
{
	struct fx *f = *state;
	const uint8_t *d;

	SEND(f, 1, 0x12, 1, 0xb0, 0, 64, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(d[4] & 0x01, 0);                /* WSNZ */
	assert_int_equal(get_be32(d + 20), 1u << 20);    /* MAX UNMAP LBAs */
	assert_int_equal(get_be32(d + 24), 256);         /* descriptors */
	assert_int_equal(get_be32(d + 28), 4096 / BS);   /* granularity */
	assert_int_equal(get_be32(d + 32), 0x80000000u); /* UGAVALID, 0 */
	assert_int_equal(get_be64(d + 36), 0xffff);      /* WRITE SAME */
	SEND(f, 1, 0x12, 1, 0xb2, 0, 64, 0);
	d = f->cmd.in_buf;
	assert_int_equal(d[5], 0xe4); /* LBPU LBPWS LBPWS10 LBPRZ */
	assert_int_equal(d[6] & 0x07, 2);
	/* Deallocated blocks that read as anything: no LBPRZ, no BLOCK
	 * ERASE (WABEREQ 0). */
	f->disk->bs.caps.unmap_zeroes = false;
	SEND(f, 1, 0x12, 1, 0xb2, 0, 64, 0);
	assert_int_equal(f->cmd.in_buf[5], 0xe0);
	SEND(f, 1, 0x12, 1, 0xb1, 0, 64, 0);
	assert_int_equal(f->cmd.in_buf[7] & 0xc0, 0);
	/* Not thin: no unmapping, no limits for it. */
	f->disk->thin_provisioning = false;
	SEND(f, 1, 0x12, 1, 0xb2, 0, 64, 0);
	assert_int_equal(f->cmd.in_buf[5], 0);
	assert_int_equal(f->cmd.in_buf[6] & 0x07, 0);
	SEND(f, 1, 0x12, 1, 0xb0, 0, 64, 0);
	assert_int_equal(get_be32(f->cmd.in_buf + 20), 0);
	assert_int_equal(get_be32(f->cmd.in_buf + 24), 0);
	/* REPORT SUPPORTED OPERATION CODES follows: UNMAP is gone. */
	SEND(f, 1, 0xa3, 0x0c, 0x01, 0x42, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_int_equal(f->cmd.in_buf[1] & 0x07, 1);
	f->disk->thin_provisioning = true;
	SEND(f, 1, 0xa3, 0x0c, 0x01, 0x42, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_int_equal(f->cmd.in_buf[1] & 0x07, 3);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, thin_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_unmap_deallocates),
		T(test_unmap_checks),
		T(test_unmap_waits_for_caw),
		T(test_write_same_writes),
		T(test_write_same_unmap),
		T(test_write_same_checks),
		T(test_get_lba_status),
		T(test_provisioning_pages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
