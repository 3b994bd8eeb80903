/* EXTENDED COPY(LID1) and RECEIVE COPY RESULTS through in-memory stores:
 * copies within a LU (also overlapping, in several chunks) and across
 * LUs of the target, the parameter list checks with their sense codes,
 * the copy status records, reservations of the LUs copied to, and the
 * copy manager's pages (VPD 8Fh, 3PC). */
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
#define HDR 16
#define CSCD 32
#define SEG 28

static uint8_t plist[4096];

static int xcopy_setup(void **state)
{
	int ret = fx_setup(state);

	fx_add_disk2(*state);
	return ret;
}

/* The parameter list being built: its length so far. */
static size_t plen;

static void header(uint8_t list_id, uint8_t usage)
{
	memset(plist, 0, sizeof(plist));
	plist[0] = list_id;
	plist[1] = (uint8_t)(usage << 3);
	plen = HDR;
}

/* Appends an identification CSCD descriptor naming LUN lun by the NAA
 * designator its VPD 83h page shows. */
static void cscd(struct fx *f, uint64_t lun)
{
	uint8_t *d = plist + plen;

	SEND(f, lun, 0x12, 1, 0x83, 0, 255, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[5] & 0x0f, 3); /* NAA first */
	memset(d, 0, CSCD);
	d[0] = 0xe4;
	memcpy(d + 4, f->cmd.in_buf + 4, 4 + 8);
	put_be24(d + 29, BS);
	plen += CSCD;
	put_be16(plist + 2, (uint16_t)(get_be16(plist + 2) + CSCD));
}

static void segment(uint16_t src, uint16_t dst, uint16_t blocks,
		    uint64_t src_lba, uint64_t dst_lba)
{
	uint8_t *d = plist + plen;

	memset(d, 0, SEG);
	d[0] = 0x02;
	put_be16(d + 2, 0x18);
	put_be16(d + 4, src);
	put_be16(d + 6, dst);
	put_be16(d + 10, blocks);
	put_be64(d + 12, src_lba);
	put_be64(d + 20, dst_lba);
	plen += SEG;
	put_be32(plist + 8, get_be32(plist + 8) + SEG);
}

static void xcopy_on(struct fx *f, struct it_nexus *n, uint32_t len)
{
	uint8_t cdb[16] = { 0x83 };

	put_be32(cdb + 10, len);
	fx_start_out(f, n, 1, cdb, 16, plist, len);
}

static void xcopy(struct fx *f)
{
	xcopy_on(f, &f->nexus, (uint32_t)plen);
	assert_int_equal(f->done, 1);
}

static void fill(uint8_t *data, uint64_t lba, unsigned blocks)
{
	for (unsigned b = 0; b < blocks; b++)
		memset(data + (lba + b) * BS, (uint8_t)(b + 1), BS);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static void copy_status(struct fx *f, uint8_t list_id)
{
	SEND(f, 1, 0x84, 0x00, list_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64,
	     0, 0);
}

static void assert_copy_aborted(const struct fx *f, uint16_t asc,
				size_t seg_at, unsigned field)
{
	const uint8_t *s = f->cmd.sense;

	assert_sense(f, 0x0a, asc);
	assert_int_equal(get_be32(s + 8), seg_at); /* the segment */
	assert_int_equal(s[15], 0x80 | 0x20);      /* SKSV, SD */
	assert_int_equal(get_be16(s + 16), field);
}

static void test_copy_within_lu(void **state)
{
	struct fx *f = *state;
	const uint8_t *d;

	fill(f->mem.data, 0, 10);
	header(1, 0);
	cscd(f, 1);
	segment(0, 0, 10, 0, 100);
	xcopy(f);
	assert_good(f);
	assert_memory_equal(f->mem.data + 100 * BS, f->mem.data, 10 * BS);
	assert_int_equal(f->disk->inflight, 0);
	/* The held status: done, one segment, bytes. */
	copy_status(f, 1);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(f->cmd.in_len, 12);
	assert_int_equal(get_be32(d), 8);
	assert_int_equal(d[4], 0x01);
	assert_int_equal(get_be16(d + 5), 1);
	assert_int_equal(d[7], 0); /* bytes */
	assert_int_equal(get_be32(d + 8), 10 * BS);
	/* Another list identifier: nothing known. */
	copy_status(f, 2);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 2, 7);
	/* LIST ID USAGE 10b: not held. */
	header(3, 2);
	cscd(f, 1);
	segment(0, 0, 1, 0, 200);
	xcopy(f);
	assert_good(f);
	copy_status(f, 3);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	/* The other nexus has its own records. */
	SEND_ON(f, &f->other, 1, 0x84, 0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 64, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
}

/* Across LUs, in several chunks, and overlapping within one LU with the
 * destination further on (copied from the end). */
static void test_copy_across_and_overlapping(void **state)
{
	struct fx *f = *state;
	uint8_t *want = malloc(4096 * BS);

	fill(f->mem.data, 0, 1000);
	header(0, 3); /* no list identifier */
	cscd(f, 1);
	cscd(f, 2);
	segment(0, 1, 1000, 0, 10);
	segment(1, 1, 3000, 10, 1000);  /* 1.5 MB: two chunks, in LU 2 */
	xcopy(f);
	assert_good(f);
	/* [10, 3010) to [1000, 4000): overlapping, so from the end. */
	assert_memory_equal(f->mem2.data + 10 * BS, f->mem.data, 990 * BS);
	assert_memory_equal(f->mem2.data + 1000 * BS, f->mem.data, 1000 * BS);
	assert_true(all_zero(f->mem2.data + 2000 * BS, 2000 * BS));
	/* Overlap: 4000 blocks at 1000 to 1500, in two chunks, over
	 * data that differs everywhere. */
	for (size_t i = 0; i < (size_t)DISK2_BLOCKS * BS; i++)
		f->mem2.data[i] = (uint8_t)(i / BS * 7 + i % 251);
	memcpy(want, f->mem2.data + 1000 * BS, 4000 * BS);
	header(0, 3);
	cscd(f, 2);
	segment(0, 0, 4000, 1000, 1500);
	xcopy(f);
	assert_good(f);
	assert_memory_equal(f->mem2.data + 1500 * BS, want, 4000 * BS);
	assert_int_equal(f->disk->inflight + f->disk2->inflight, 0);
	free(want);
}

static void test_list_checks(void **state)
{
	struct fx *f = *state;

	/* No parameter list: nothing to copy. */
	header(1, 0);
	xcopy_on(f, &f->nexus, 0);
	assert_good(f);
	/* Truncated descriptors. */
	cscd(f, 1);
	segment(0, 0, 1, 0, 1);
	xcopy_on(f, &f->nexus, HDR + CSCD - 1);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	xcopy_on(f, &f->nexus, HDR + CSCD + SEG - 1);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	/* LIST ID USAGE 01b is reserved; 11b needs LIST IDENTIFIER 0. */
	plist[1] = 1 << 3;
	xcopy(f);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	plist[1] = 3 << 3;
	xcopy(f);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	/* No inline data. */
	plist[1] = 0;
	put_be32(plist + 12, 4);
	xcopy(f);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	assert_int_equal(get_be16(f->cmd.sense + 16), 12);
	/* Too many CSCD descriptors; too many segments; too long. */
	header(1, 0);
	for (int i = 0; i < 17; i++)
		cscd(f, 1);
	segment(0, 0, 1, 0, 1);
	xcopy(f);
	assert_sense(f, SK_ILLEGAL_REQUEST, 0x2606);
	header(1, 0);
	cscd(f, 1);
	for (int i = 0; i < 17; i++)
		segment(0, 0, 1, 0, 1);
	xcopy(f);
	assert_sense(f, SK_ILLEGAL_REQUEST, 0x2608);
	header(1, 0);
	for (int i = 0; i < 16; i++)
		cscd(f, 1);
	for (int i = 0; i < 19; i++) /* 16 * 32 + 19 * 28 > 1024 */
		segment(0, 0, 1, 0, 1);
	xcopy(f);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	/* Unsupported descriptor types, pointed at. */
	header(1, 0);
	cscd(f, 1);
	plist[HDR] = 0xe0;
	segment(0, 0, 1, 0, 1);
	xcopy(f);
	assert_sense(f, SK_ILLEGAL_REQUEST, 0x2607);
	assert_int_equal(get_be16(f->cmd.sense + 16), HDR);
	plist[HDR] = 0xe4;
	plist[HDR + CSCD] = 0x03;
	xcopy(f);
	assert_sense(f, SK_ILLEGAL_REQUEST, 0x2609);
	assert_int_equal(get_be16(f->cmd.sense + 16), HDR + CSCD);
	/* A block length that is not the LU's. */
	plist[HDR + CSCD] = 0x02;
	put_be24(plist + HDR + 29, 4096);
	xcopy(f);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	assert_int_equal(f->mem.submits, 0);
}

static void test_segment_checks(void **state)
{
	struct fx *f = *state;

	/* A CSCD index with no descriptor, and one naming no LU. */
	header(1, 0);
	cscd(f, 1);
	segment(0, 1, 1, 0, 1);
	xcopy(f);
	assert_copy_aborted(f, 0x0d02, HDR + CSCD, 6);
	plist[HDR + 8] ^= 0xff;
	plist[HDR + CSCD + 7] = 0;
	xcopy(f);
	assert_copy_aborted(f, 0x0d02, HDR + CSCD, 4);
	plist[HDR + 8] ^= 0xff;
	/* Off the end of the source, the destination. */
	header(1, 0);
	cscd(f, 1);
	segment(0, 0, 2, DISK_BLOCKS - 1, 0);
	xcopy(f);
	assert_copy_aborted(f, ASC_NO_ADDITIONAL_SENSE, HDR + CSCD, 12);
	header(1, 0);
	cscd(f, 1);
	segment(0, 0, 1, 0, 0);
	segment(0, 0, 2, 0, DISK_BLOCKS - 1);
	xcopy(f);
	assert_copy_aborted(f, ASC_NO_ADDITIONAL_SENSE,
			    HDR + CSCD + SEG, 20);
	assert_int_equal(f->mem.submits, 0); /* not even the first one */
	/* A destination whose sanitize failed. */
	f->disk2->sanitize_failed = true;
	header(1, 0);
	cscd(f, 1);
	cscd(f, 2);
	segment(0, 1, 1, 0, 0);
	xcopy(f);
	assert_copy_aborted(f, ASC_SANITIZE_FAILED, HDR + 2 * CSCD, 6);
	f->disk2->sanitize_failed = false;
	/* A write-protected destination. */
	f->disk->readonly = true;
	header(1, 0);
	cscd(f, 1);
	segment(0, 0, 1, 0, 1);
	xcopy(f);
	assert_copy_aborted(f, ASC_WRITE_PROTECT, HDR + CSCD, 6);
	assert_int_equal(f->mem.submits, 0);
}

/* Starts a copy of 4 blocks from LUN 1 to LUN 2 with list identifier
 * 7, whose first read the store parks. */
static void start_parked_copy(struct fx *f, uint8_t usage)
{
	header(7, usage);
	cscd(f, 1);
	cscd(f, 2);
	segment(0, 1, 4, 0, 0);
	f->mem.defer = true;
	xcopy_on(f, &f->nexus, (uint32_t)plen);
	assert_int_equal(f->done, 0);
}

/* A copy still running keeps its list identifier, its LUs busy, and
 * reports its progress. */
static void test_copy_in_progress(void **state)
{
	struct fx *f = *state;
	struct fx_side second;

	start_parked_copy(f, 0);
	assert_true(f->disk2->inflight > 0);
	fx_side_start(&second, &f->nexus, 1, (const uint8_t[16]){ 0x83, 0,
		      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (uint8_t)plen },
		      plist, (uint32_t)plen);
	assert_int_equal(second.done, 1);
	assert_int_equal(second.cmd.status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(get_be16(second.cmd.sense + 12), 0x0016);
	scsi_cmd_release(&second.cmd);
	fx_side_start(&second, &f->nexus, 1, (const uint8_t[16]){ 0x84, 0, 7,
		      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64 }, NULL, 0);
	assert_int_equal(second.cmd.status, SAM_STAT_GOOD);
	assert_int_equal(second.cmd.in_buf[4], 0x00); /* in progress */
	scsi_cmd_release(&second.cmd);
	f->mem.defer = false;
	fx_complete_parked(f); /* the read; the write completes at once */
	assert_int_equal(f->done, 1);
	assert_good(f);
	assert_int_equal(f->disk->inflight + f->disk2->inflight, 0);
}

/* The session that sent a copy ends while the copy runs (a path
 * failover, a session reinstatement): the copy goes on to its end
 * without its status record, which went with the nexus. */
static void test_copy_outlives_nexus(void **state)
{
	struct fx *f = *state;

	for (uint8_t usage = 0; usage <= 2; usage += 2) { /* held, not */
		start_parked_copy(f, usage);
		it_nexus_fini(&f->nexus);
		f->mem.defer = false;
		fx_complete_parked(f);
		assert_int_equal(f->done, 1);
		assert_good(f);
		assert_int_equal(f->disk->inflight + f->disk2->inflight, 0);
		it_nexus_init(&f->nexus, &f->t, 1);
		scsi_ua_drop_lun(&f->t, 1);
		scsi_ua_drop_lun(&f->t, 2);
	}
}

/* The LU the copy is sent to manages it, even when it is neither
 * source nor destination: it is not deleted while the copy runs. */
static void test_copy_manager_busy(void **state)
{
	struct fx *f = *state;

	header(7, 0);
	cscd(f, 2);
	segment(0, 0, 4, 0, 8); /* LUN 2 to itself, sent to LUN 1 */
	f->mem2.defer = true;
	xcopy_on(f, &f->nexus, (uint32_t)plen);
	assert_int_equal(f->done, 0);
	assert_true(f->disk->inflight > 0);
	assert_int_equal(target_del_lu(&f->t, 1, false, NULL),
			 TGTADM_LUN_ACTIVE);
	f->mem2.defer = false;
	fx_complete_parked(f);
	assert_int_equal(f->done, 1);
	assert_good(f);
	assert_int_equal(f->disk->inflight + f->disk2->inflight, 0);
}

static void pr_out(struct fx *f, struct it_nexus *n, uint64_t lun,
		   uint8_t sa, uint8_t type, uint64_t key)
{
	uint8_t cdb[10] = { 0x5f, sa, type, 0, 0, 0, 0, 0, 24, 0 };
	static uint8_t data[24];

	memset(data, 0, sizeof(data));
	put_be64(data + (sa == 0 ? 8 : 0), key);
	fx_start_out(f, n, lun, cdb, 10, data, 24);
	assert_good(f);
}

/* The destination LU's reservations apply to the copy. */
static void test_copy_reservations(void **state)
{
	struct fx *f = *state;

	static const uint8_t isid[6] = { 0x80, 0, 0, 0, 0, 1 };

	it_nexus_set_port(&f->nexus, "iqn.2024-01.test:one", isid);
	it_nexus_set_port(&f->other, "iqn.2024-01.test:two", isid);
	pr_out(f, &f->other, 2, 0x00, 0, 0x1234); /* REGISTER */
	pr_out(f, &f->other, 2, 0x01, 1, 0x1234); /* RESERVE, WE */
	header(1, 0);
	cscd(f, 1);
	cscd(f, 2);
	segment(1, 0, 1, 0, 0);  /* reading LU 2: allowed */
	xcopy(f);
	assert_good(f);
	segment(0, 1, 1, 0, 0);  /* writing it: not */
	xcopy(f);
	assert_int_equal(f->cmd.status, SAM_STAT_RESERVATION_CONFLICT);
}

static void test_copy_manager_pages(void **state)
{
	struct fx *f = *state;
	const uint8_t *d;

	SEND(f, 1, 0x84, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 0, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(f->cmd.in_len, 46);
	assert_int_equal(get_be32(d), 42);
	assert_int_equal(get_be16(d + 8), 16);       /* CSCD descriptors */
	assert_int_equal(get_be16(d + 10), 16);      /* segments */
	assert_int_equal(get_be32(d + 12), 1024);    /* list length */
	assert_int_equal(get_be32(d + 16), 0xffff * BS);
	assert_int_equal(d[37], 9);                  /* granularity */
	assert_int_equal(d[43], 2);
	assert_int_equal(d[44], 0x02);
	assert_int_equal(d[45], 0xe4);
	/* Third-party Copy VPD page: supported commands first. */
	SEND(f, 1, 0x12, 1, 0x8f, 0, 255, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(d[1], 0x8f);
	assert_int_equal(get_be16(d + 4), 0x0001);
	assert_memory_equal(d + 9, "\x83\x01\x00\x84\x02\x00\x03", 7);
	/* 3PC in the standard INQUIRY data. */
	SEND(f, 1, 0x12, 0, 0, 0, 36, 0);
	assert_int_equal(f->cmd.in_buf[5] & 0x08, 0x08);
	SEND(f, 0, 0x12, 0, 0, 0, 36, 0);
	assert_int_equal(f->cmd.in_buf[5] & 0x08, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, xcopy_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_copy_within_lu),
		T(test_copy_across_and_overlapping),
		T(test_list_checks),
		T(test_segment_checks),
		T(test_copy_in_progress),
		T(test_copy_outlives_nexus),
		T(test_copy_manager_busy),
		T(test_copy_reservations),
		T(test_copy_manager_pages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
