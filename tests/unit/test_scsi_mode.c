/* MODE SENSE(6/10) layout and MODE SELECT(6/10) of the caching, control
 * and informational exceptions pages. */
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

/* Sends MODE SELECT with a parameter list. */
static void select_on(struct fx *f, struct it_nexus *n, uint64_t lun,
		      bool ten, uint8_t flags, const uint8_t *param,
		      uint32_t len)
{
	uint8_t cdb[10] = { 0 };
	uint8_t *copy = malloc(len ? len : 1);

	memcpy(copy, param, len);
	if (ten) {
		cdb[0] = 0x55;
		put_be16(cdb + 7, (uint16_t)len);
	} else {
		cdb[0] = 0x15;
		cdb[4] = (uint8_t)len;
	}
	cdb[1] = flags;
	fx_start_out(f, n, lun, cdb, sizeof(cdb), copy, len);
	assert_int_equal(f->done, 1);
	assert_int_equal(f->cmd.out_cdb_len, len);
	free(copy);
	f->cmd.out_buf = NULL;
}

/* Offset of page `code` in MODE SENSE data, or -1. */
static int page_at(const uint8_t *d, unsigned len, bool ten, uint8_t code)
{
	unsigned off = ten ? 8 + get_be16(d + 6) : 4 + d[3];

	while (off + 2 <= len) {
		if ((d[off] & 0x3f) == code)
			return (int)off;
		off += 2 + d[off + 1];
	}
	return -1;
}

/* Reads the current control page of LUN 1 via MODE SENSE(6). */
static void read_control(struct fx *f, uint8_t page[12])
{
	int at;

	SEND(f, 1, 0x1a, 0x08, 0x0a, 0, 255, 0);
	assert_good(f);
	at = page_at(f->cmd.in_buf, f->cmd.in_len, false, 0x0a);
	assert_true(at >= 0);
	memcpy(page, f->cmd.in_buf + at, 12);
}

static void test_sense6_all_pages(void **state)
{
	struct fx *f = *state;
	const uint8_t *d;
	int c8, ca, c1c;

	SEND(f, 1, 0x1a, 0, 0x3f, 0, 255, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(d[0], f->cmd.in_len - 1);
	assert_int_equal(d[1], 0);          /* medium type */
	assert_int_equal(d[2], 0x10);       /* DPOFUA, not WP */
	assert_int_equal(d[3], 8);          /* one short block descriptor */
	assert_int_equal(get_be32(d + 4), DISK_BLOCKS);
	assert_int_equal(get_be24(d + 9), 512);
	c8 = page_at(d, f->cmd.in_len, false, 0x08);
	ca = page_at(d, f->cmd.in_len, false, 0x0a);
	c1c = page_at(d, f->cmd.in_len, false, 0x1c);
	/* ascending, right lengths, nothing else */
	assert_int_equal(c8, 12);
	assert_int_equal(ca, 12 + 20);
	assert_int_equal(c1c, 12 + 20 + 12);
	assert_int_equal(f->cmd.in_len, 12 + 20 + 12 + 12);
	assert_int_equal(d[c8 + 1], 0x12);
	assert_int_equal(d[c8 + 2] & 0x04, 0x04); /* WCE */
	assert_int_equal(d[ca + 1], 0x0a);
	assert_int_equal(d[ca + 2] & 0x04, 0);    /* D_SENSE */
	assert_int_equal(d[ca + 4] & 0x08, 0);    /* SWP */
	assert_int_equal(d[c1c + 1], 0x0a);
	/* PS is clear: nothing can be saved. */
	assert_int_equal(d[c8] & 0x80, 0);

	f->disk->write_cache = false;
	SEND(f, 1, 0x1a, 0, 0x08, 0, 255, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[12] & 0x3f, 0x08);
	assert_int_equal(f->cmd.in_buf[14] & 0x04, 0);
}

static void test_sense6_residual_and_wp(void **state)
{
	struct fx *f = *state;
	uint32_t full;

	SEND(f, 1, 0x1a, 0, 0x3f, 0, 255, 0);
	full = f->cmd.in_len;
	/* Truncated to 4 bytes; the mode data length still says all. */
	SEND(f, 1, 0x1a, 0, 0x3f, 0, 4, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 4);
	assert_int_equal(f->cmd.in_buf[0], full - 1);

	f->disk->readonly = true;
	SEND(f, 1, 0x1a, 0, 0x3f, 0, 4, 0);
	assert_int_equal(f->cmd.in_buf[2], 0x90);
	f->disk->readonly = false;
	f->disk->swp = true;
	SEND(f, 1, 0x1a, 0, 0x3f, 0, 4, 0);
	assert_int_equal(f->cmd.in_buf[2], 0x90);
}

static void test_sense_dbd_and_controller(void **state)
{
	struct fx *f = *state;

	SEND(f, 1, 0x1a, 0x08, 0x3f, 0, 255, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[3], 0);
	assert_int_equal(f->cmd.in_buf[4] & 0x3f, 0x08);

	/* The controller: no block descriptor, no caching page. */
	SEND(f, 0, 0x1a, 0, 0x3f, 0, 255, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[2], 0);
	assert_int_equal(f->cmd.in_buf[3], 0);
	assert_int_equal(page_at(f->cmd.in_buf, f->cmd.in_len, false, 8), -1);
	assert_int_equal(page_at(f->cmd.in_buf, f->cmd.in_len, false, 0xa), 4);
	SEND(f, 0, 0x1a, 0, 0x08, 0, 255, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 2, 5);
}

static void test_sense10_long_lba(void **state)
{
	struct fx *f = *state;
	const uint8_t *d;

	SEND(f, 1, 0x5a, 0x10, 0x0a, 0, 0, 0, 0, 0x01, 0x00, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(get_be16(d), f->cmd.in_len - 2);
	assert_int_equal(d[3], 0x10);
	assert_int_equal(d[4] & 0x01, 1);   /* LONGLBA */
	assert_int_equal(get_be16(d + 6), 16);
	assert_int_equal(get_be64(d + 8), DISK_BLOCKS);
	assert_int_equal(get_be32(d + 20), 512);
	assert_int_equal(d[24] & 0x3f, 0x0a);
	assert_int_equal(f->cmd.in_len, 8 + 16 + 12);

	/* Without LLBAA: short descriptor. */
	SEND(f, 1, 0x5a, 0, 0x0a, 0, 0, 0, 0, 0x01, 0x00, 0);
	assert_int_equal(get_be16(f->cmd.in_buf + 6), 8);
	assert_int_equal(f->cmd.in_buf[4] & 0x01, 0);
}

static void test_sense_page_control(void **state)
{
	struct fx *f = *state;
	int at;

	/* Changeable values: WCE, D_SENSE and SWP. */
	SEND(f, 1, 0x1a, 0x08, 0x7f, 0, 255, 0);
	assert_good(f);
	at = page_at(f->cmd.in_buf, f->cmd.in_len, false, 0x08);
	assert_int_equal(f->cmd.in_buf[at + 2], 0x04);
	assert_int_equal(f->cmd.in_buf[at + 4], 0);
	at = page_at(f->cmd.in_buf, f->cmd.in_len, false, 0x0a);
	assert_int_equal(f->cmd.in_buf[at + 2], 0x04);
	assert_int_equal(f->cmd.in_buf[at + 3], 0);
	assert_int_equal(f->cmd.in_buf[at + 4], 0x08);

	/* Defaults do not follow the current SWP. */
	f->disk->swp = true;
	SEND(f, 1, 0x1a, 0x08, 0x80 | 0x0a, 0, 255, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[4 + 4] & 0x08, 0);

	/* Saved values do not exist. */
	SEND(f, 1, 0x1a, 0, 0xc0 | 0x3f, 0, 255, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_SAVING_PARAMS_UNSUP);

	/* No subpages. */
	SEND(f, 1, 0x1a, 0, 0x0a, 0x01, 255, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 3, 7);
	SEND(f, 1, 0x1a, 0, 0x3f, 0xff, 255, 0);
	assert_good(f);
}

static void test_select_swp(void **state)
{
	struct fx *f = *state;
	uint8_t param[4 + 12] = { 0 };

	read_control(f, param + 4);
	param[4 + 4] |= 0x08; /* SWP */
	select_on(f, &f->nexus, 1, false, 0x10, param, sizeof(param));
	assert_good(f);
	assert_true(f->disk->swp);
	SEND(f, 1, 0x1a, 0, 0x3f, 0, 4, 0);
	assert_int_equal(f->cmd.in_buf[2] & 0x80, 0x80);

	/* Only the other nexus hears of the change. */
	SEND(f, 1, 0x00, 0, 0, 0, 0, 0);
	assert_good(f);
	SEND_ON(f, &f->other, 1, 0x00, 0, 0, 0, 0, 0);
	assert_sense(f, SK_UNIT_ATTENTION, ASC_MODE_PARAMETERS_CHANGED);

	/* Selecting the same values again changes nothing: no new UA. */
	read_control(f, param + 4);
	select_on(f, &f->nexus, 1, false, 0x10, param, sizeof(param));
	assert_good(f);
	SEND_ON(f, &f->other, 1, 0x00, 0, 0, 0, 0, 0);
	assert_good(f);
}

static void test_select_d_sense(void **state)
{
	struct fx *f = *state;
	uint8_t param[8 + 12] = { 0 };

	read_control(f, param + 8);
	param[8 + 2] |= 0x04; /* D_SENSE */
	select_on(f, &f->nexus, 1, true, 0x10, param, sizeof(param));
	assert_good(f);
	assert_true(f->disk->sense_descriptor);
	/* Errors now come in descriptor format. */
	SEND(f, 1, 0x88, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	     0, 0, 0, 1, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	assert_int_equal(f->cmd.sense[0], 0x72);
}

static void test_select_wce(void **state)
{
	struct fx *f = *state;
	uint8_t param[4 + 8 + 20] = { 0 };
	int at;

	SEND(f, 1, 0x1a, 0, 0x08, 0, 255, 0);
	at = page_at(f->cmd.in_buf, f->cmd.in_len, false, 0x08);
	memcpy(param + 4 + 8, f->cmd.in_buf + at, 20);
	/* Keep the block descriptor: same block size is fine. */
	memcpy(param + 4, f->cmd.in_buf + 4, 8);
	param[3] = 8;
	param[4 + 8 + 2] &= (uint8_t)~0x04;
	select_on(f, &f->nexus, 1, false, 0x10, param, sizeof(param));
	assert_good(f);
	assert_false(f->disk->write_cache);
}

static void test_select_rejects(void **state)
{
	struct fx *f = *state;
	uint8_t param[4 + 12] = { 0 };
	uint8_t bd[4 + 8 + 12] = { 0 };

	read_control(f, param + 4);
	/* QUEUE ALGORITHM MODIFIER is not changeable. */
	param[4 + 3] = 0x00;
	param[4 + 4] |= 0x08;
	select_on(f, &f->nexus, 1, false, 0x10, param, sizeof(param));
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	assert_field(f, false, 4 + 3, 4);
	/* Nothing was applied, not even the valid SWP bit. */
	assert_false(f->disk->swp);

	read_control(f, param + 4);
	param[4 + 1] = 0x0b; /* wrong page length */
	select_on(f, &f->nexus, 1, false, 0x10, param, sizeof(param));
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	assert_field(f, false, 5, 7);

	read_control(f, param + 4);
	param[4] = 0x19; /* a page we do not have */
	select_on(f, &f->nexus, 1, false, 0x10, param, sizeof(param));
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	assert_field(f, false, 4, 5);

	/* SP: pages cannot be saved. */
	read_control(f, param + 4);
	select_on(f, &f->nexus, 1, false, 0x11, param, sizeof(param));
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 1, 0);

	/* Shorter than its header. */
	select_on(f, &f->nexus, 1, false, 0x10, param, 3);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	/* A page cut short. */
	select_on(f, &f->nexus, 1, false, 0x10, param, 10);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);

	/* A block descriptor that would change the block size. */
	bd[3] = 8;
	put_be24(bd + 4 + 5, 4096);
	read_control(f, bd + 12);
	select_on(f, &f->nexus, 1, false, 0x10, bd, sizeof(bd));
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	assert_field(f, false, 4 + 5, 7);

	/* An empty parameter list is no error. */
	select_on(f, &f->nexus, 1, false, 0x10, param, 0);
	assert_good(f);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_sense6_all_pages),
		T(test_sense6_residual_and_wp),
		T(test_sense_dbd_and_controller),
		T(test_sense10_long_lba),
		T(test_sense_page_control),
		T(test_select_swp),
		T(test_select_d_sense),
		T(test_select_wce),
		T(test_select_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
