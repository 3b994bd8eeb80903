/* The read-only CD/DVD drive (MMC-6): the fixture's LUN 1 made a drive
 * with a disc of 256 2048-byte blocks (or an empty one), and every
 * command it answers: what it returns, and how it refuses what it
 * cannot do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/byteorder.h"
#include "scsi/core.h"
#include "scsi/scsi.h"
#include "target/target.h"

#include "scsi_fixture.h"

#define CD_BLOCKS (DISK_BLOCKS / 4) /* 2048-byte blocks of the disc */
#define ASC_MEDIUM_MAY_HAVE_CHANGED 0x2800

/* LUN 1 as scsi_lu_new makes a CD/DVD drive, over the fixture's store. */
static void make_drive(struct scsi_lu *lu)
{
	struct scsi_lu *model = scsi_lu_new(NULL, 1, 1, SCSI_TYPE_MMC);

	assert_non_null(model);
	lu->type = model->type;
	lu->blk_shift = model->blk_shift;
	lu->removable = model->removable;
	snprintf(lu->product_id, sizeof(lu->product_id), "%s",
		 model->product_id);
	scsi_lu_free(model);
}

static int mmc_setup(void **state)
{
	int ret = fx_setup(state);
	struct fx *f = *state;

	make_drive(f->disk);
	/* Block b holds byte b + 1 throughout. */
	for (unsigned b = 0; b < CD_BLOCKS; b++)
		memset(f->mem.data + (size_t)b * 2048, b + 1, 2048);
	return ret;
}

static int empty_setup(void **state)
{
	int ret = mmc_setup(state);
	struct fx *f = *state;

	f->disk->bs.ops = NULL;
	f->disk->online = false;
	f->disk->size = 0;
	return ret;
}

static void test_lu_defaults(void **state)
{
	struct fx *f = *state;

	assert_int_equal(f->disk->blk_shift, 11);
	assert_true(f->disk->removable);
	assert_false(f->disk->readonly); /* tgt's show: Readonly: No */
	assert_string_equal(f->disk->product_id, "VIRTUAL-CDROM");
}

static void test_inquiry(void **state)
{
	struct fx *f = *state;
	const uint8_t *d;

	SEND(f, 1, 0x12, 0, 0, 0, 96, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(d[0], 0x05); /* PDT: CD/DVD */
	assert_int_equal(d[1], 0x80); /* RMB */
	assert_int_equal(d[5] & 0x08, 0); /* no copy manager */
	assert_memory_equal(d + 16, "VIRTUAL-CDROM   ", 16);
	assert_int_equal(get_be16(d + 64), 0x02a0); /* MMC-3 */
	/* The VPD pages of every device type. */
	SEND(f, 1, 0x12, 1, 0x80, 0, 96, 0);
	assert_good(f);
	SEND(f, 1, 0x12, 1, 0xb0, 0, 96, 0); /* Block Limits: disks only */
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
}

static void test_read_capacity(void **state)
{
	struct fx *f = *state;

	SEND(f, 1, 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_good(f);
	assert_int_equal(get_be32(f->cmd.in_buf), CD_BLOCKS - 1);
	assert_int_equal(get_be32(f->cmd.in_buf + 4), 2048);
	/* READ CAPACITY(16) is a disk's command. */
	SEND(f, 1, 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
}

static void test_reads(void **state)
{
	struct fx *f = *state;

	SEND(f, 1, 0x28, 0, 0, 0, 0, 7, 0, 0, 2, 0); /* READ(10) 7-8 */
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 2 * 2048);
	assert_int_equal(f->mem.last_offset, 7 * 2048);
	assert_int_equal(f->cmd.in_buf[0], 8);
	assert_int_equal(f->cmd.in_buf[2048 + 2047], 9);
	SEND(f, 1, 0xa8, 0, 0, 0, 0, CD_BLOCKS - 1, 0, 0, 0, 1, 0, 0);
	assert_good(f);                              /* READ(12), last */
	assert_int_equal(f->cmd.in_buf[0], CD_BLOCKS & 0xff);
	/* Past the end. */
	SEND(f, 1, 0x28, 0, 0, 0, 0, CD_BLOCKS - 1, 0, 0, 2, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	SEND(f, 1, 0xa8, 0, 0, 0, 0x01, 0, 0, 0, 0, 1, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	/* tgt's drive has neither READ(6) nor READ(16). */
	SEND(f, 1, 0x08, 0, 0, 0, 1, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
	SEND(f, 1, 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
}

static void test_writes_refused(void **state)
{
	struct fx *f = *state;
	uint8_t data[2048] = { 0 };
	const uint8_t w10[10] = { 0x2a, 0, 0, 0, 0, 1, 0, 0, 1, 0 };
	const uint8_t w12[12] = { 0xaa, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0 };
	const uint8_t w16[16] = { 0x8a, 0, 0, 0, 0, 0, 0, 0, 0, 1,
				  0, 0, 0, 1, 0, 0 };
	unsigned submits = f->mem.submits;

	fx_start_out(f, &f->nexus, 1, w10, sizeof(w10), data, sizeof(data));
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_CANNOT_WRITE_FORMAT);
	fx_start_out(f, &f->nexus, 1, w12, sizeof(w12), data, sizeof(data));
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_CANNOT_WRITE_FORMAT);
	fx_start_out(f, &f->nexus, 1, w16, sizeof(w16), data, sizeof(data));
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
	assert_int_equal(f->mem.submits, submits); /* nothing written */
	assert_true(fx_medium_is(f, 4, 4, 2)); /* CD block 1 holds 2 */
	/* An unknown opcode. */
	SEND(f, 1, 0xd5, 0, 0, 0, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
}

static void test_toc_formatted(void **state)
{
	struct fx *f = *state;
	const uint8_t *d;

	SEND(f, 1, 0x43, 0, 0, 0, 0, 0, 0, 0x03, 0x24, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(f->cmd.in_len, 20);
	assert_int_equal(get_be16(d), 18);
	assert_int_equal(d[2], 1);
	assert_int_equal(d[3], 1);
	assert_int_equal(d[5], 0x14);
	assert_int_equal(d[6], 1);
	assert_int_equal(get_be32(d + 8), 0);
	assert_int_equal(d[13], 0x14);
	assert_int_equal(d[14], 0xaa);
	assert_int_equal(get_be32(d + 16), CD_BLOCKS);
	/* MSF: 00:02:00 and the lead-out 150 + 256 frames further. */
	SEND(f, 1, 0x43, 0x02, 0, 0, 0, 0, 1, 0x03, 0x24, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(get_be32(d + 8), 0x00000200);
	assert_int_equal(d[17], (150 + CD_BLOCKS) / 4500);
	assert_int_equal(d[18], (150 + CD_BLOCKS) / 75 % 60);
	assert_int_equal(d[19], (150 + CD_BLOCKS) % 75);
	/* From the lead-out: only it. */
	SEND(f, 1, 0x43, 0, 0, 0, 0, 0, 0xaa, 0x03, 0x24, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 12);
	assert_int_equal(f->cmd.in_buf[6], 0xaa);
	/* No track 2. */
	SEND(f, 1, 0x43, 0, 0, 0, 0, 0, 2, 0x03, 0x24, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 6, 7);
	/* The allocation length truncates. */
	SEND(f, 1, 0x43, 0, 0, 0, 0, 0, 0, 0, 4, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 4);
}

static void test_toc_other_formats(void **state)
{
	struct fx *f = *state;
	const uint8_t *d;

	SEND(f, 1, 0x43, 0, 0x01, 0, 0, 0, 0, 0x03, 0x24, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(f->cmd.in_len, 12);
	assert_int_equal(get_be16(d), 10);
	assert_int_equal(d[6], 1);
	/* The SFF-8020 place of the format. */
	SEND(f, 1, 0x43, 0, 0, 0, 0, 0, 0, 0x03, 0x24, 0x40);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 12);
	/* Raw TOC, PMA, ATIP: none on an image. */
	for (uint8_t fmt = 2; fmt <= 5; fmt++) {
		SEND(f, 1, 0x43, 0, fmt, 0, 0, 0, 0, 0x03, 0x24, 0);
		assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	}
}

/* The feature descriptor with this code in a GET CONFIGURATION answer,
 * or NULL. */
static const uint8_t *feature(const struct fx *f, uint16_t code)
{
	const uint8_t *d = f->cmd.in_buf;
	size_t len = f->cmd.in_len;

	for (size_t at = 8; at + 4 <= len; at += 4 + d[at + 3])
		if (get_be16(d + at) == code)
			return d + at;
	return NULL;
}

static void test_get_configuration(void **state)
{
	struct fx *f = *state;
	const uint8_t *p;

	SEND(f, 1, 0x46, 0, 0, 0, 0, 0, 0, 0x04, 0, 0);
	assert_good(f);
	assert_int_equal(get_be16(f->cmd.in_buf + 6), 0x0010); /* DVD-ROM */
	assert_int_equal(get_be32(f->cmd.in_buf), f->cmd.in_len - 4);
	p = feature(f, 0x0000);
	assert_non_null(p);
	assert_int_equal(p[2] & 0x03, 0x03);
	assert_int_equal(p[3], 8);
	assert_int_equal(get_be16(p + 4), 0x0010);
	assert_int_equal(p[6] & 1, 1);  /* current */
	assert_int_equal(get_be16(p + 8), 0x0008);
	assert_int_equal(p[10] & 1, 0);
	assert_non_null(feature(f, 0x0001));
	assert_non_null(feature(f, 0x0002));
	p = feature(f, 0x0003);
	assert_non_null(p);
	assert_int_equal(p[4], 0x29);
	p = feature(f, 0x0010);
	assert_non_null(p);
	assert_int_equal(p[2] & 1, 1);
	assert_int_equal(get_be32(p + 4), 2048);
	/* RT 2: that one feature only. */
	SEND(f, 1, 0x46, 0x02, 0x00, 0x03, 0, 0, 0, 0x04, 0, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 8 + 8);
	assert_int_equal(get_be16(f->cmd.in_buf + 8), 0x0003);
	/* From a starting feature on. */
	SEND(f, 1, 0x46, 0, 0x00, 0x10, 0, 0, 0, 0x04, 0, 0);
	assert_good(f);
	assert_null(feature(f, 0x0003));
	assert_non_null(feature(f, 0x0010));
	SEND(f, 1, 0x46, 0x03, 0, 0, 0, 0, 0, 0x04, 0, 0); /* RT 3 */
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
}

static void test_empty_drive(void **state)
{
	struct fx *f = *state;

	SEND(f, 1, 0x00, 0, 0, 0, 0, 0);
	assert_sense(f, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	SEND(f, 1, 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_sense(f, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	SEND(f, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_sense(f, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	SEND(f, 1, 0x43, 0, 0, 0, 0, 0, 0, 0x03, 0x24, 0);
	assert_sense(f, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	SEND(f, 1, 0x51, 0, 0, 0, 0, 0, 0, 0, 34, 0);
	assert_sense(f, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	SEND(f, 1, 0x03, 0, 0, 0, 18, 0); /* REQUEST SENSE says so too */
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[2] & 0x0f, SK_NOT_READY);
	assert_int_equal(f->cmd.in_buf[12], 0x3a);
	/* The drive still describes itself: no current profile. */
	SEND(f, 1, 0x46, 0, 0, 0, 0, 0, 0, 0x04, 0, 0);
	assert_good(f);
	assert_int_equal(get_be16(f->cmd.in_buf + 6), 0);
	assert_int_equal(feature(f, 0x0000)[6] & 1, 0);
	assert_int_equal(feature(f, 0x0010)[2] & 1, 0);
	SEND(f, 1, 0x46, 0x01, 0, 0, 0, 0, 0, 0x04, 0, 0); /* current only */
	assert_good(f);
	assert_null(feature(f, 0x0010));
	assert_non_null(feature(f, 0x0003));
	SEND(f, 1, 0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[1], 0x10); /* door open */
	/* Nothing to load. */
	SEND(f, 1, 0x1b, 0, 0, 0, 0x03, 0);
	assert_sense(f, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
}

static void gesn(struct fx *f, struct it_nexus *n)
{
	SEND_ON(f, n, 1, 0x4a, 0x01, 0, 0, 0x10, 0, 0, 0, 8, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 8);
	assert_int_equal(get_be16(f->cmd.in_buf), 6);
	assert_int_equal(f->cmd.in_buf[2], 4); /* media class */
	assert_int_equal(f->cmd.in_buf[3], 0x10);
}

static void test_eject_load_and_events(void **state)
{
	struct fx *f = *state;

	gesn(f, &f->nexus);
	assert_int_equal(f->cmd.in_buf[4], 0); /* no change */
	assert_int_equal(f->cmd.in_buf[5], 0x02); /* present */
	/* Prevented: no eject. */
	SEND(f, 1, 0x1e, 0, 0, 0, 1, 0);
	assert_good(f);
	SEND(f, 1, 0x1a, 0x08, 0x2a, 0, 64, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[4 + 6] & 0x02, 0x02); /* locked */
	SEND(f, 1, 0x1b, 0, 0, 0, 0x02, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_MEDIUM_REMOVAL_PREVENTED);
	assert_true(f->disk->online);
	SEND(f, 1, 0x1e, 0, 0, 0, 0, 0);
	assert_good(f);
	SEND(f, 1, 0x1b, 0, 0, 0, 0x02, 0); /* eject */
	assert_good(f);
	assert_false(f->disk->online);
	gesn(f, &f->nexus);
	assert_int_equal(f->cmd.in_buf[4], 3); /* media removal */
	assert_int_equal(f->cmd.in_buf[5], 0x01); /* tray open */
	gesn(f, &f->nexus);
	assert_int_equal(f->cmd.in_buf[4], 0); /* reported once */
	SEND(f, 1, 0x00, 0, 0, 0, 0, 0);
	assert_sense(f, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	SEND(f, 1, 0x1b, 0, 0, 0, 0x03, 0); /* load */
	assert_good(f);
	gesn(f, &f->nexus);
	assert_int_equal(f->cmd.in_buf[4], 2); /* new media */
	SEND_ON(f, &f->other, 1, 0x00, 0, 0, 0, 0, 0);
	assert_sense(f, SK_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED);
	/* Only polling; a class not asked for: no event available. */
	SEND(f, 1, 0x4a, 0x00, 0, 0, 0x10, 0, 0, 0, 8, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	SEND(f, 1, 0x4a, 0x01, 0, 0, 0x02, 0, 0, 0, 8, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 4);
	assert_int_equal(f->cmd.in_buf[2], 0x80);
}

static void test_disc_and_track_info(void **state)
{
	struct fx *f = *state;
	const uint8_t *d;

	SEND(f, 1, 0x51, 0, 0, 0, 0, 0, 0, 0, 34, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(f->cmd.in_len, 34);
	assert_int_equal(get_be16(d), 32);
	assert_int_equal(d[2], 0x0e); /* complete, finalized */
	assert_int_equal(d[4], 1);
	SEND(f, 1, 0x51, 0x01, 0, 0, 0, 0, 0, 0, 34, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	/* Track 1, by number, by session, by an LBA in it. */
	SEND(f, 1, 0x52, 0x01, 0, 0, 0, 1, 0, 0, 48, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(d[2], 1);
	assert_int_equal(get_be32(d + 24), CD_BLOCKS);
	assert_int_equal(get_be32(d + 28), CD_BLOCKS - 1);
	SEND(f, 1, 0x52, 0x02, 0, 0, 0, 1, 0, 0, 48, 0);
	assert_good(f);
	SEND(f, 1, 0x52, 0x00, 0, 0, 0, CD_BLOCKS - 1, 0, 0, 48, 0);
	assert_good(f);
	SEND(f, 1, 0x52, 0x00, 0, 0, 0x01, 0, 0, 0, 48, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	SEND(f, 1, 0x52, 0x01, 0, 0, 0, 2, 0, 0, 48, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	SEND(f, 1, 0x52, 0x03, 0, 0, 0, 1, 0, 0, 48, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
}

static void test_mode_pages(void **state)
{
	struct fx *f = *state;
	const uint8_t *d;

	SEND(f, 1, 0x5a, 0x08, 0x2a, 0, 0, 0, 0, 0, 64, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(get_be16(d + 6), 0); /* no block descriptor */
	assert_int_equal(d[8], 0x2a);
	assert_int_equal(d[9], 30);
	assert_int_equal(d[8 + 2] & 0x08, 0x08); /* reads DVD-ROM */
	assert_int_equal(d[8 + 3], 0);           /* writes nothing */
	assert_int_equal(d[8 + 6] & 0x29, 0x29); /* tray, eject, lock */
	/* All pages: no caching page on a drive. */
	SEND(f, 1, 0x1a, 0, 0x3f, 0, 255, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[0] + 1, 4 + 12 + 12 + 32);
	assert_int_equal(f->cmd.in_buf[3], 0); /* no block descriptor */
	SEND(f, 1, 0x1a, 0, 0x08, 0, 255, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
}

static void test_misc(void **state)
{
	struct fx *f = *state;

	SEND(f, 1, 0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 8);
	assert_int_equal(f->cmd.in_buf[1], 0);
	SEND(f, 1, 0xbb, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0);
	assert_good(f);
	SEND(f, 1, 0x00, 0, 0, 0, 0, 0);
	assert_good(f);
}

static void test_get_performance(void **state)
{
	struct fx *f = *state;
	const uint8_t *d;

	SEND(f, 1, 0xac, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0x00, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(f->cmd.in_len, 24);
	assert_int_equal(get_be32(d), 20);
	assert_int_equal(get_be32(d + 8), 0);             /* start LBA */
	assert_int_equal(get_be32(d + 16), CD_BLOCKS - 1); /* end LBA */
	assert_true(get_be32(d + 12) > 0);
	/* Write performance, write speeds: none. */
	SEND(f, 1, 0xac, 0x04, 0, 0, 0, 0, 0, 0, 0, 4, 0x00, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 8);
	assert_int_equal(f->cmd.in_buf[4], 0x02);
	SEND(f, 1, 0xac, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0x03, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 8);
	SEND(f, 1, 0xac, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0x01, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 10, 7);
}

/* REPORT SUPPORTED OPERATION CODES lists the drive's commands. */
static bool reported(struct fx *f, uint8_t opcode)
{
	SEND(f, 1, 0xa3, 0x0c, 0x01, opcode, 0, 0, 0, 0, 0, 64, 0, 0);
	assert_good(f);
	return (f->cmd.in_buf[1] & 0x07) == 0x03;
}

static void test_report_opcodes(void **state)
{
	struct fx *f = *state;

	assert_true(reported(f, 0x43));
	assert_true(reported(f, 0x46));
	assert_true(reported(f, 0x4a));
	assert_true(reported(f, 0x28));
	assert_true(reported(f, 0xa8));
	assert_true(reported(f, 0xac));
	assert_false(reported(f, 0x88)); /* READ(16) */
	assert_false(reported(f, 0x42)); /* UNMAP */
	assert_false(reported(f, 0x83)); /* EXTENDED COPY */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lu_defaults, mmc_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_inquiry, mmc_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_read_capacity, mmc_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_reads, mmc_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_writes_refused, mmc_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_toc_formatted, mmc_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_toc_other_formats,
						mmc_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_get_configuration,
						mmc_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_empty_drive, empty_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_eject_load_and_events,
						mmc_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_disc_and_track_info,
						mmc_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_mode_pages, mmc_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_misc, mmc_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_get_performance,
						mmc_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_report_opcodes,
						mmc_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
