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

/* ---- harness: a target with LUN 0 (controller) and LUN 1 (disk) ---- */

struct fx {
	struct target t;
	struct it_nexus nexus, other;
	struct scsi_lu *ctl, *disk;
	uint8_t *mem;
	struct scsi_cmd cmd;
	int done;
};

static void mem_submit(struct backing_store *bs, struct bs_io *io)
{
	uint8_t *mem = bs->priv;

	if (io->op == BS_READ)
		memcpy(io->buf, mem + io->offset, io->length);
	else if (io->op == BS_WRITE)
		memcpy(mem + io->offset, io->buf, io->length);
	io->result = 0;
	io->done(io);
}

static const struct bs_ops mem_ops = { .name = "mem", .submit = mem_submit };

#define DISK_BLOCKS 1024

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->t.tid = 1;
	strcpy(f->t.name, "iqn.2024-01.test:cdb");
	list_init(&f->t.lus);
	list_init(&f->t.nexuses);
	f->ctl = scsi_lu_new(&f->t, 1, 0, SCSI_TYPE_CONTROLLER);
	f->disk = scsi_lu_new(&f->t, 1, 1, SCSI_TYPE_DISK);
	f->mem = calloc(DISK_BLOCKS, 512);
	f->disk->size = DISK_BLOCKS * 512;
	f->disk->bs.ops = &mem_ops;
	f->disk->bs.priv = f->mem;
	list_add_tail(&f->ctl->node, &f->t.lus);
	list_add_tail(&f->disk->node, &f->t.lus);
	it_nexus_init(&f->nexus, &f->t, 1);
	it_nexus_init(&f->other, &f->t, 2);
	/* Start without the power-on UAs; the UA tests queue their own. */
	scsi_ua_drop_lun(&f->t, 0);
	scsi_ua_drop_lun(&f->t, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	scsi_cmd_release(&f->cmd);
	it_nexus_fini(&f->nexus);
	it_nexus_fini(&f->other);
	scsi_lu_free(f->ctl);
	scsi_lu_free(f->disk);
	free(f->mem);
	free(f);
	return 0;
}

static void on_done(struct scsi_cmd *cmd)
{
	struct fx *f = (struct fx *)((char *)cmd - offsetof(struct fx, cmd));

	f->done++;
}

static void send_on(struct fx *f, struct it_nexus *n, uint64_t lun,
		    const uint8_t *cdb, size_t cdb_len)
{
	scsi_cmd_release(&f->cmd);
	memset(&f->cmd, 0, sizeof(f->cmd));
	memcpy(f->cmd.cdb, cdb, cdb_len);
	f->cmd.cdb_len = 16;
	f->cmd.lun = lun;
	f->cmd.nexus = n;
	f->cmd.done = on_done;
	f->cmd.dir = SCSI_DIR_READ;
	f->cmd.expected_len = 4096;
	f->done = 0;
	scsi_cmd_execute(&f->cmd);
	assert_int_equal(f->done, 1);
}

#define SEND(f, lun, ...)                                               \
	do {                                                            \
		const uint8_t cdb_[] = { __VA_ARGS__ };                 \
		send_on(f, &(f)->nexus, lun, cdb_, sizeof(cdb_));       \
	} while (0)

#define SEND_ON(f, n, lun, ...)                                         \
	do {                                                            \
		const uint8_t cdb_[] = { __VA_ARGS__ };                 \
		send_on(f, n, lun, cdb_, sizeof(cdb_));                 \
	} while (0)

static void assert_good(const struct fx *f)
{
	assert_int_equal(f->cmd.status, SAM_STAT_GOOD);
	assert_int_equal(f->cmd.sense_len, 0);
}

/* Checks status, key and ASC/ASCQ in either sense format. */
static void assert_sense(const struct fx *f, uint8_t key, uint16_t asc)
{
	const uint8_t *s = f->cmd.sense;
	bool desc = (s[0] & 0x7f) == 0x72;

	assert_int_equal(f->cmd.status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(desc ? s[1] & 0x0f : s[2] & 0x0f, key);
	assert_int_equal(desc ? get_be16(s + 2) : get_be16(s + 12), asc);
}

/* Fixed-format sense key specific bytes: C/D, bit pointer, field. */
static void assert_field(const struct fx *f, bool cdb, unsigned byte, int bit)
{
	const uint8_t *s = f->cmd.sense;

	assert_int_equal(s[0] & 0x7f, 0x70);
	assert_true(s[15] & 0x80);
	assert_int_equal(!!(s[15] & 0x40), cdb);
	if (bit < 0) {
		assert_false(s[15] & 0x08);
	} else {
		assert_true(s[15] & 0x08);
		assert_int_equal(s[15] & 0x07, bit);
	}
	assert_int_equal(get_be16(s + 16), byte);
}

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
	scsi_cmd_release(&f->cmd);
	memset(&f->cmd, 0, sizeof(f->cmd));
	memcpy(f->cmd.cdb, cdb, sizeof(cdb));
	f->cmd.cdb_len = 16;
	f->cmd.lun = lun;
	f->cmd.nexus = n;
	f->cmd.done = on_done;
	f->cmd.dir = SCSI_DIR_WRITE;
	f->cmd.expected_len = len;
	f->cmd.out_buf = copy;
	f->cmd.out_len = len;
	f->done = 0;
	scsi_cmd_execute(&f->cmd);
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
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
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
