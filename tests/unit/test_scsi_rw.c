/* The block data path of the SCSI core through an in-memory store: READ
 * CAPACITY, READ/WRITE(6/10/12/16), WRITE AND VERIFY, VERIFY,
 * SYNCHRONIZE CACHE and START STOP UNIT, with range, protection and
 * residual handling and asynchronous completion. */
#include <errno.h>
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

/* ---- tests ---- */

/* Starts a command carrying data-out to the disk; does not require
 * completion. */
static void start_write(struct fx *f, const uint8_t *cdb, size_t cdb_len,
			const uint8_t *data, uint32_t len)
{
	fx_start_out(f, &f->nexus, 1, cdb, cdb_len, data, len);
}

#define WRITE(f, data, len, ...)                                        \
	do {                                                            \
		const uint8_t cdb_[] = { __VA_ARGS__ };                 \
		start_write(f, cdb_, sizeof(cdb_), data, len);          \
		assert_int_equal((f)->done, 1);                         \
	} while (0)

static uint8_t *pattern(size_t len, uint8_t seed)
{
	uint8_t *p = malloc(len);

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
	return p;
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void test_read_capacity10(void **state)
{
	struct fx *f = *state;

	SEND(f, 1, 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 8);
	assert_int_equal(get_be32(f->cmd.in_buf), DISK_BLOCKS - 1);
	assert_int_equal(get_be32(f->cmd.in_buf + 4), 512);

	/* LBA without PMI */
	SEND(f, 1, 0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 2, 7);

	/* Beyond 32 bits of LBA: FFFFFFFFh sends the initiator to (16). */
	f->disk->size = (1ull << 32) * 512;
	SEND(f, 1, 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_int_equal(get_be32(f->cmd.in_buf), 0xffffffffu);
	f->disk->size = ((1ull << 32) - 1) * 512;
	SEND(f, 1, 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_int_equal(get_be32(f->cmd.in_buf), 0xfffffffeu);
}

static void test_read_capacity16(void **state)
{
	struct fx *f = *state;
	const uint8_t *d;

	f->disk->blk_shift = 12;
	f->disk->lbppbe = 3;
	f->disk->thin_provisioning = true;
	SEND(f, 1, 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(f->cmd.in_len, 32);
	assert_int_equal(get_be64(d), DISK_BLOCKS / 8 - 1);
	assert_int_equal(get_be32(d + 8), 4096);
	assert_int_equal(d[12], 0);            /* no protection */
	assert_int_equal(d[13] & 0x0f, 3);     /* LBPPBE */
	assert_int_equal(d[14] & 0x80, 0x80);  /* LBPME */
	assert_int_equal(d[14] & 0x40, 0x40);  /* LBPRZ: holes read zeros */

	/* A store whose deallocated blocks read as anything: no LBPRZ;
	 * one that cannot deallocate: not thin at all. */
	f->disk->bs.caps.unmap_zeroes = false;
	SEND(f, 1, 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0);
	assert_int_equal(f->cmd.in_buf[14] & 0xc0, 0x80);
	f->disk->bs.caps.discard = false;
	SEND(f, 1, 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0);
	assert_int_equal(f->cmd.in_buf[14] & 0xc0, 0);

	/* Allocation lengths below 32 truncate without error. */
	for (uint8_t a = 0; a < 16; a++) {
		SEND(f, 1, 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, a,
		     0, 0);
		assert_good(f);
		assert_int_equal(f->cmd.in_len, a);
	}
	SEND(f, 1, 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 32, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
}

static void test_write_read_roundtrip(void **state)
{
	struct fx *f = *state;
	uint8_t *data = pattern(4 * 512, 3);

	/* WRITE(10) 4 blocks at LBA 10 */
	WRITE(f, data, 4 * 512, 0x2a, 0, 0, 0, 0, 10, 0, 0, 4, 0);
	assert_good(f);
	assert_int_equal(f->cmd.out_cdb_len, 4 * 512);
	assert_memory_equal(f->mem.data + 10 * 512, data, 4 * 512);
	assert_true(all_bytes(f->mem.data + 9 * 512, 512, 0));
	assert_true(all_bytes(f->mem.data + 14 * 512, 512, 0));
	assert_int_equal(f->mem.last_offset, 10 * 512);

	/* READ(10), (12) and (16) of the same range */
	SEND(f, 1, 0x28, 0, 0, 0, 0, 10, 0, 0, 4, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 4 * 512);
	assert_memory_equal(f->cmd.in_buf, data, 4 * 512);
	SEND(f, 1, 0xa8, 0, 0, 0, 0, 11, 0, 0, 0, 2, 0, 0);
	assert_good(f);
	assert_memory_equal(f->cmd.in_buf, data + 512, 2 * 512);
	SEND(f, 1, 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0, 2, 0, 0);
	assert_good(f);
	assert_memory_equal(f->cmd.in_buf, data + 1024, 2 * 512);
	free(data);

	/* WRITE(16)/(12) land where they say. */
	data = pattern(512, 99);
	WRITE(f, data, 512, 0x8a, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xff, 0, 0, 0, 1,
	      0, 0);
	assert_good(f);
	assert_memory_equal(f->mem.data + 1023 * 512, data, 512);
	WRITE(f, data, 512, 0xaa, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0);
	assert_good(f);
	assert_memory_equal(f->mem.data + 512, data, 512);
	free(data);
	/* Counted as tgt counts: the expected lengths (4096 per read
	 * here), not the bytes read. */
	assert_int_equal(fx_counters(&f->nexus, f->disk)->wr_done_cmds, 3);
	assert_int_equal(fx_counters(&f->nexus, f->disk)->rd_done_bytes,
			 3 * 4096);
	assert_int_equal(f->disk->inflight, 0);
}

static void test_rw6(void **state)
{
	struct fx *f = *state;
	uint8_t *data = pattern(256 * 512, 5);

	/* transfer length 0 means 256 blocks for the 6-byte commands */
	WRITE(f, data, 256 * 512, 0x0a, 0, 0, 2, 0, 0);
	assert_good(f);
	assert_int_equal(f->cmd.out_cdb_len, 256 * 512);
	assert_memory_equal(f->mem.data + 2 * 512, data, 256 * 512);
	SEND(f, 1, 0x08, 0, 0, 2, 0, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 256 * 512);
	assert_memory_equal(f->cmd.in_buf, data, 256 * 512);
	/* 21-bit LBA: the top three bits of byte 1 are not address */
	SEND(f, 1, 0x08, 0x20, 0, 0, 1, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 1, 7);
	SEND(f, 1, 0x08, 0x1f, 0xff, 0xff, 1, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	free(data);
}

static void test_zero_blocks(void **state)
{
	struct fx *f = *state;

	SEND(f, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 0);
	WRITE(f, NULL, 0, 0x8a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_good(f);
	assert_int_equal(f->mem.submits, 0);
	/* A zero-length range is still checked at its LBA. */
	SEND(f, 1, 0x28, 0, 0, 0, 0x04, 0x01, 0, 0, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	SEND(f, 1, 0x28, 0, 0x80, 0, 0, 0, 0, 0, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	WRITE(f, NULL, 0, 0x8a, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
}

static void test_beyond_eol(void **state)
{
	struct fx *f = *state;
	uint8_t *data = pattern(2 * 512, 1);

	/* last block is fine, one more is not */
	SEND(f, 1, 0x28, 0, 0, 0, 0x03, 0xff, 0, 0, 1, 0);
	assert_good(f);
	SEND(f, 1, 0x28, 0, 0, 0, 0x03, 0xff, 0, 0, 2, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	SEND(f, 1, 0x28, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	/* LBA -1 and 2^63 with READ(16): no overflow into range */
	SEND(f, 1, 0x88, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0,
	     0, 0, 2, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	SEND(f, 1, 0x88, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);

	/* An out-of-range write changes nothing. */
	WRITE(f, data, 2 * 512, 0x2a, 0, 0, 0, 0x03, 0xff, 0, 0, 2, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	assert_true(all_bytes(f->mem.data, DISK_BLOCKS * 512, 0));
	assert_int_equal(f->mem.submits, 1); /* only the good READ */
	free(data);
}

static void test_max_transfer(void **state)
{
	struct fx *f = *state;
	uint32_t max = SCSI_MAX_XFER_BYTES / 512;

	f->disk->size = (uint64_t)(max + 10) * 512;
	free(f->mem.data);
	f->mem.data = calloc(max + 10, 512);
	SEND(f, 1, 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (max + 1) >> 8,
	     (max + 1) & 0xff, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 10, 7);
	SEND(f, 1, 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, max >> 8,
	     max & 0xff, 0, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, SCSI_MAX_XFER_BYTES);
}

static void test_write_protect(void **state)
{
	struct fx *f = *state;
	uint8_t *data = pattern(512, 8);

	f->disk->readonly = true;
	WRITE(f, data, 512, 0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_sense(f, SK_DATA_PROTECT, ASC_WRITE_PROTECT);
	f->disk->readonly = false;
	f->disk->swp = true;
	WRITE(f, data, 512, 0x8a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0);
	assert_sense(f, SK_DATA_PROTECT, 0x2702);
	WRITE(f, data, 512, 0x0a, 0, 0, 0, 1, 0);
	assert_sense(f, SK_DATA_PROTECT, 0x2702);
	assert_true(all_bytes(f->mem.data, DISK_BLOCKS * 512, 0));
	assert_int_equal(f->mem.submits, 0);
	/* Reads still work. */
	SEND(f, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_good(f);

	/* WRPROTECT without protection information: invalid, unwritten */
	f->disk->swp = false;
	for (uint8_t p = 1; p < 8; p++) {
		WRITE(f, data, 512, 0x2a, (uint8_t)(p << 5), 0, 0, 0, 0, 0, 0,
		      1, 0);
		assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
		assert_field(f, true, 1, 7);
	}
	assert_true(all_bytes(f->mem.data, DISK_BLOCKS * 512, 0));
	free(data);
}

static void test_fua(void **state)
{
	struct fx *f = *state;
	uint8_t *data = pattern(512, 2);

	WRITE(f, data, 512, 0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_good(f);
	assert_false(f->mem.last_fua);
	WRITE(f, data, 512, 0x2a, 0x08, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_good(f);
	assert_true(f->mem.last_fua);
	WRITE(f, data, 512, 0x2a, 0x10, 0, 0, 0, 0, 0, 0, 1, 0); /* DPO */
	assert_good(f);
	assert_false(f->mem.last_fua);
	WRITE(f, data, 512, 0x8a, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0,
	      0);
	assert_good(f);
	assert_true(f->mem.last_fua);
	/* Without a write cache every write is durable before GOOD. */
	f->disk->write_cache = false;
	WRITE(f, data, 512, 0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_true(f->mem.last_fua);
	f->disk->write_cache = true;
	/* WRITE AND VERIFY verifies the medium: durable too. */
	WRITE(f, data, 512, 0x2e, 0, 0, 0, 0, 4, 0, 0, 1, 0);
	assert_good(f);
	assert_true(f->mem.last_fua);
	assert_int_equal(f->mem.last_op, BS_WRITE);
	assert_memory_equal(f->mem.data + 4 * 512, data, 512);
	/* Read FUA is accepted. */
	SEND(f, 1, 0x28, 0x08, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_good(f);
	free(data);
}

/* libiscsi iSCSIResiduals: the expected length differs from the CDB's. */
static void test_write_residuals(void **state)
{
	struct fx *f = *state;
	uint8_t *a = pattern(2 * 512, 0), *b = malloc(2 * 512);

	memset(b, 'b', 2 * 512);
	memset(f->mem.data, 'a', 2 * 512);
	/* CDB 1 block, 2 blocks sent: only the CDB's block is written. */
	WRITE(f, b, 2 * 512, 0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_good(f);
	assert_int_equal(f->cmd.out_cdb_len, 512);
	assert_true(all_bytes(f->mem.data, 512, 'b'));
	assert_true(all_bytes(f->mem.data + 512, 512, 'a'));

	/* CDB 2 blocks, 1 block sent: only what arrived is written. */
	memset(f->mem.data, 'a', 2 * 512);
	WRITE(f, b, 512, 0x2a, 0, 0, 0, 0, 0, 0, 0, 2, 0);
	assert_good(f);
	assert_int_equal(f->cmd.out_cdb_len, 2 * 512);
	assert_true(all_bytes(f->mem.data, 512, 'b'));
	assert_true(all_bytes(f->mem.data + 512, 512, 'a'));

	/* Less than a block, or nothing at all: GOOD, nothing written. */
	memset(f->mem.data, 'a', 2 * 512);
	WRITE(f, b, 200, 0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_good(f);
	WRITE(f, NULL, 0, 0x2e, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_good(f);
	assert_int_equal(f->cmd.out_cdb_len, 512);
	assert_true(all_bytes(f->mem.data, 2 * 512, 'a'));
	free(a);
	free(b);
}

static void test_read_residuals(void **state)
{
	struct fx *f = *state;

	/* The full CDB length is produced whatever the expected length;
	 * the transport cuts and reports the overflow. */
	SEND(f, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 1024);
	/* READ(10) flagged as a write with data: the data is ignored. */
	WRITE(f, f->mem.data, 512, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 512);
	assert_int_equal(f->cmd.out_cdb_len, 0);
}

static void test_store_errors(void **state)
{
	struct fx *f = *state;
	uint8_t *data = pattern(512, 4);

	f->mem.fail = -EIO;
	SEND(f, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_sense(f, SK_MEDIUM_ERROR, ASC_READ_ERROR);
	assert_int_equal(f->cmd.in_len, 0);
	WRITE(f, data, 512, 0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_sense(f, SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
	SEND(f, 1, 0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_sense(f, SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
	/* Each failure is an error; a failed command has still ended.
	 * (SEND runs SYNCHRONIZE CACHE as a 4096-byte read too.) */
	assert_int_equal(fx_counters(&f->nexus, f->disk)->errors, 3);
	assert_int_equal(fx_counters(&f->nexus, f->disk)->rd_subm_cmds, 2);
	assert_int_equal(fx_counters(&f->nexus, f->disk)->rd_done_cmds, 2);
	assert_int_equal(f->disk->inflight, 0);
	free(data);
}

/* A store out of space: the write and the flush are DATA PROTECT, SPACE
 * ALLOCATION FAILED WRITE PROTECT (27h/07h), a read stays a MEDIUM
 * ERROR. */
static void test_store_out_of_space(void **state)
{
	struct fx *f = *state;
	uint8_t *data = pattern(512, 5);
	const int errs[] = { -ENOSPC, -EDQUOT };

	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		f->mem.fail = errs[i];
		WRITE(f, data, 512, 0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0);
		assert_sense(f, SK_DATA_PROTECT, 0x2707);
		SEND(f, 1, 0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0);
		assert_sense(f, SK_DATA_PROTECT, 0x2707);
		SEND(f, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
		assert_sense(f, SK_MEDIUM_ERROR, ASC_READ_ERROR);
	}
	free(data);
}

static void test_async_completion(void **state)
{
	struct fx *f = *state;
	const uint8_t cdb[10] = { 0x28, 0, 0, 0, 0, 3, 0, 0, 1, 0 };
	struct bs_io *io;

	memset(f->mem.data + 3 * 512, 0x5a, 512);
	f->mem.defer = true;
	start_write(f, cdb, sizeof(cdb), NULL, 0);
	assert_int_equal(f->done, 0);
	assert_int_equal(f->disk->inflight, 1);
	io = f->mem.parked;
	assert_non_null(io);
	assert_true(io == &f->cmd.io);
	assert_true(io->buf == f->cmd.in_buf);
	io->done(io);
	assert_int_equal(f->done, 1);
	assert_good(f);
	assert_int_equal(f->disk->inflight, 0);
	assert_true(all_bytes(f->cmd.in_buf, 512, 0x5a));
}

static void test_verify(void **state)
{
	struct fx *f = *state;

	SEND(f, 1, 0x2f, 0, 0, 0, 0, 0, 0, 0, 8, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 0);
	SEND(f, 1, 0x2f, 0x04, 0, 0, 0, 0, 0, 0, 8, 0); /* BYTCHK=10b */
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 1, 2);
	SEND(f, 1, 0x8f, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xff, 0, 0, 0, 2, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	SEND(f, 1, 0xaf, 0xe0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0); /* VRPROTECT */
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(f->mem.submits, 0);
}

static void test_verify_bytchk(void **state)
{
	struct fx *f = *state;
	uint8_t *data = pattern(2 * 512, 11);

	memcpy(f->mem.data + 6 * 512, data, 2 * 512);
	/* VERIFY(10) BYTCHK=1: data-out equals the medium */
	WRITE(f, data, 2 * 512, 0x2f, 0x02, 0, 0, 0, 6, 0, 0, 2, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 0);
	assert_int_equal(f->cmd.out_cdb_len, 2 * 512);
	assert_int_equal(f->mem.last_op, BS_READ);
	/* one byte differs in the second block */
	data[512 + 17] ^= 1;
	WRITE(f, data, 2 * 512, 0x8f, 0x02, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 2,
	      0, 0);
	assert_sense(f, SK_MISCOMPARE, 0x1d00);
	assert_int_equal(f->cmd.sense[0], 0xf0); /* VALID */
	assert_int_equal(get_be32(f->cmd.sense + 3), 512 + 17);
	assert_int_equal(f->cmd.in_len, 0);
	/* compare never writes */
	assert_int_equal(f->mem.data[6 * 512 + 512 + 17], (uint8_t)(data[512 + 17] ^ 1));
	free(data);
}

static void test_write_verify_bytchk(void **state)
{
	struct fx *f = *state;
	uint8_t *data = pattern(512, 12);

	/* write, then read back and compare: two store requests */
	WRITE(f, data, 512, 0x2e, 0x02, 0, 0, 0, 9, 0, 0, 1, 0);
	assert_good(f);
	assert_int_equal(f->mem.submits, 2);
	assert_int_equal(f->mem.last_op, BS_READ);
	assert_int_equal(f->mem.last_offset, 9 * 512);
	assert_memory_equal(f->mem.data + 9 * 512, data, 512);
	assert_int_equal(f->cmd.in_len, 0);
	assert_int_equal(f->disk->inflight, 0);

	/* a store that corrupts what it writes is caught */
	f->mem.corrupt = true;
	WRITE(f, data, 512, 0xae, 0x02, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0);
	assert_sense(f, SK_MISCOMPARE, 0x1d00);
	assert_int_equal(get_be32(f->cmd.sense + 3), 0);
	/* without BYTCHK nothing is read back */
	WRITE(f, data, 512, 0x8e, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0);
	assert_good(f);
	assert_int_equal(f->mem.last_op, BS_WRITE);
	free(data);
}

static void test_compare_async(void **state)
{
	struct fx *f = *state;
	const uint8_t cdb[10] = { 0x2e, 0x02, 0, 0, 0, 1, 0, 0, 1, 0 };
	uint8_t *data = pattern(512, 13);

	f->mem.defer = true;
	start_write(f, cdb, sizeof(cdb), data, 512);
	assert_int_equal(f->done, 0);
	assert_int_equal(f->mem.last_op, BS_WRITE);
	f->mem.parked->done(f->mem.parked);   /* write done: read starts */
	assert_int_equal(f->done, 0);
	assert_int_equal(f->mem.last_op, BS_READ);
	assert_int_equal(f->disk->inflight, 1);
	f->mem.parked->done(f->mem.parked);   /* read done: compared */
	assert_int_equal(f->done, 1);
	assert_good(f);
	assert_int_equal(f->disk->inflight, 0);
	free(data);
}

static void test_sync_cache(void **state)
{
	struct fx *f = *state;

	SEND(f, 1, 0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_good(f);
	assert_int_equal(f->mem.last_op, BS_FLUSH);
	assert_int_equal(f->mem.submits, 1);
	SEND(f, 1, 0x91, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_good(f);
	assert_int_equal(f->mem.submits, 2);
	SEND(f, 1, 0x35, 0, 0, 0, 0x04, 0x01, 0, 0, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	assert_int_equal(f->mem.submits, 2);
}

static void test_start_stop(void **state)
{
	struct fx *f = *state;

	SEND(f, 1, 0x1b, 0, 0, 0, 0x01, 0); /* start */
	assert_good(f);
	assert_int_equal(f->mem.submits, 0);
	SEND(f, 1, 0x1b, 0, 0, 0, 0x00, 0); /* stop: flush first */
	assert_good(f);
	assert_int_equal(f->mem.last_op, BS_FLUSH);
	SEND(f, 1, 0x1b, 0, 0, 0, 0x04, 0); /* stop, NO_FLUSH */
	assert_int_equal(f->mem.submits, 1);
	/* Removable media: test_scsi_removal.c */
}

static void test_block_size_4k(void **state)
{
	struct fx *f = *state;
	uint8_t *data = pattern(4096, 6);

	f->disk->blk_shift = 12;
	WRITE(f, data, 4096, 0x2a, 0, 0, 0, 0, 3, 0, 0, 1, 0);
	assert_good(f);
	assert_int_equal(f->mem.last_offset, 3 * 4096);
	assert_memory_equal(f->mem.data + 3 * 4096, data, 4096);
	/* 512 bytes is less than a block: nothing written */
	WRITE(f, data, 512, 0x2a, 0, 0, 0, 0, 5, 0, 0, 1, 0);
	assert_good(f);
	assert_true(all_bytes(f->mem.data + 5 * 4096, 4096, 0));
	SEND(f, 1, 0x28, 0, 0, 0, 0, 0x7f, 0, 0, 1, 0);
	assert_good(f);
	SEND(f, 1, 0x28, 0, 0, 0, 0, 0x80, 0, 0, 1, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	free(data);
}

static void test_no_store(void **state)
{
	struct fx *f = *state;
	const struct bs_ops *ops = f->disk->bs.ops;

	f->disk->bs.ops = NULL;
	SEND(f, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_sense(f, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	f->disk->bs.ops = ops;
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_read_capacity10),
		T(test_read_capacity16),
		T(test_write_read_roundtrip),
		T(test_rw6),
		T(test_zero_blocks),
		T(test_beyond_eol),
		T(test_max_transfer),
		T(test_write_protect),
		T(test_fua),
		T(test_write_residuals),
		T(test_read_residuals),
		T(test_store_errors),
		T(test_store_out_of_space),
		T(test_async_completion),
		T(test_verify),
		T(test_verify_bytchk),
		T(test_write_verify_bytchk),
		T(test_compare_async),
		T(test_sync_cache),
		T(test_start_stop),
		T(test_block_size_4k),
		T(test_no_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
