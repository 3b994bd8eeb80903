/* `tgtadm --op stat` counters (scsi/stats.c): the counting rules of tgt
 * 1.0.85 on their own, then through the SCSI core, per LU and I_T nexus,
 * and the lifetime and order of a nexus's counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/core.h"
#include "scsi/scsi.h"
#include "target/target.h"

#include "scsi_fixture.h"

static void assert_counters(const struct itl_counters *c, uint64_t rd_bytes,
			    uint32_t rd_cmds, uint64_t wr_subm_bytes,
			    uint64_t wr_done_bytes, uint32_t wr_cmds,
			    uint32_t errors)
{
	assert_int_equal(c->rd_subm_bytes, rd_bytes);
	assert_int_equal(c->rd_done_bytes, rd_bytes);
	assert_int_equal(c->rd_subm_cmds, rd_cmds);
	assert_int_equal(c->rd_done_cmds, rd_cmds);
	assert_int_equal(c->wr_subm_bytes, wr_subm_bytes);
	assert_int_equal(c->wr_done_bytes, wr_done_bytes);
	assert_int_equal(c->wr_subm_cmds, wr_cmds);
	assert_int_equal(c->wr_done_cmds, wr_cmds);
	assert_int_equal(c->errors, errors);
}

/* The rules alone: direction and expected length decide, the status
 * only adds an error. */
static void test_count_rules(void **state)
{
	struct itl_counters c = { 0 };

	(void)state;
	itl_count_start(&c, SCSI_DIR_READ, 255);
	assert_int_equal(c.rd_subm_bytes, 255);
	assert_int_equal(c.rd_done_cmds, 0); /* in flight */
	itl_count_end(&c, SCSI_DIR_READ, 255, 255, SAM_STAT_GOOD);
	assert_counters(&c, 255, 1, 0, 0, 0, 0);

	/* A direction flag with no expected length moves no data. */
	itl_count_start(&c, SCSI_DIR_READ, 0);
	itl_count_end(&c, SCSI_DIR_READ, 0, 0, SAM_STAT_GOOD);
	itl_count_start(&c, SCSI_DIR_WRITE, 0);
	itl_count_end(&c, SCSI_DIR_WRITE, 0, 0, SAM_STAT_GOOD);
	/* Nor does a length without a direction flag. */
	itl_count_start(&c, SCSI_DIR_NONE, 512);
	itl_count_end(&c, SCSI_DIR_NONE, 512, 512, SAM_STAT_GOOD);
	assert_counters(&c, 255, 1, 0, 0, 0, 0);

	/* Errors count with or without data; the data counts anyway. */
	itl_count_start(&c, SCSI_DIR_NONE, 0);
	itl_count_end(&c, SCSI_DIR_NONE, 0, 0, SAM_STAT_CHECK_CONDITION);
	itl_count_start(&c, SCSI_DIR_WRITE, 4096);
	itl_count_end(&c, SCSI_DIR_WRITE, 4096, 512,
		      SAM_STAT_RESERVATION_CONFLICT);
	assert_counters(&c, 255, 1, 4096, 512, 1, 2);
}

/* Runs one command on nexus n with exactly these direction and lengths. */
static void run(struct fx *f, struct it_nexus *n, uint64_t lun,
		const uint8_t *cdb, size_t cdb_len, enum scsi_data_dir dir,
		uint32_t expected, const uint8_t *data, uint32_t len)
{
	fx_cmd_init(f, n, lun, cdb, cdb_len);
	f->cmd.dir = dir;
	f->cmd.expected_len = expected;
	f->cmd.out_buf = (uint8_t *)data;
	f->cmd.out_len = len;
	scsi_cmd_execute(&f->cmd);
	assert_int_equal(f->done, 1);
}

static const uint8_t inquiry[6] = { 0x12, 0, 0, 0, 0xff, 0 };
static const uint8_t tur[6] = { 0 };
static const uint8_t read10[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0 };
static const uint8_t write10_one[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0 };

/* Every command with data counts, INQUIRY too, by its expected length:
 * 255 although INQUIRY returns fewer bytes, 8192 for a 4096-byte read. */
static void test_commands_count_expected_length(void **state)
{
	struct fx *f = *state;

	run(f, &f->nexus, 1, inquiry, 6, SCSI_DIR_READ, 255, NULL, 0);
	assert_good(f);
	assert_true(f->cmd.in_len < 255);
	run(f, &f->nexus, 1, read10, 10, SCSI_DIR_READ, 8192, NULL, 0);
	assert_good(f);
	assert_counters(fx_counters(&f->nexus, f->disk), 255 + 8192, 2, 0, 0,
			0, 0);
	/* The other nexus and the other LU saw nothing. */
	assert_counters(fx_counters(&f->other, f->disk), 0, 0, 0, 0, 0, 0);
	assert_counters(fx_counters(&f->nexus, f->ctl), 0, 0, 0, 0, 0, 0);
}

/* A unit attention fails TEST UNIT READY: one error, no data. */
static void test_error_without_data(void **state)
{
	struct fx *f = *state;

	scsi_ua_queue(&f->other, 1, ASC_POWERON_RESET);
	run(f, &f->other, 1, tur, 6, SCSI_DIR_NONE, 0, NULL, 0);
	assert_sense(f, SK_UNIT_ATTENTION, ASC_POWERON_RESET);
	run(f, &f->other, 1, tur, 6, SCSI_DIR_NONE, 0, NULL, 0);
	assert_good(f);
	assert_counters(fx_counters(&f->other, f->disk), 0, 0, 0, 0, 0, 1);
}

/* A LUN without a LU counts in LUN 0, as tgt does. */
static void test_unknown_lun_counts_in_lun0(void **state)
{
	struct fx *f = *state;

	run(f, &f->nexus, 9, inquiry, 6, SCSI_DIR_READ, 255, NULL, 0);
	assert_good(f);
	run(f, &f->nexus, 9, tur, 6, SCSI_DIR_NONE, 0, NULL, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
	assert_counters(fx_counters(&f->nexus, f->ctl), 255, 1, 0, 0, 0, 1);
	assert_counters(fx_counters(&f->nexus, f->disk), 0, 0, 0, 0, 0, 0);
}

/* A block write that reaches the store counts at most its CDB's bytes
 * when it ends; when it starts, the expected length. */
static void test_write_done_clamped_to_cdb(void **state)
{
	struct fx *f = *state;
	uint8_t data[4096] = { 0 };

	run(f, &f->nexus, 1, write10_one, 10, SCSI_DIR_WRITE, 4096, data,
	    4096);
	assert_good(f);
	assert_counters(fx_counters(&f->nexus, f->disk), 0, 0, 4096, 512, 1,
			0);
}

/* Started commands count as submitted at once, as done when they end. */
static void test_async_command(void **state)
{
	struct fx *f = *state;
	const struct itl_counters *c = fx_counters(&f->nexus, f->disk);

	f->mem.defer = true;
	fx_cmd_init(f, &f->nexus, 1, read10, 10);
	f->cmd.dir = SCSI_DIR_READ;
	f->cmd.expected_len = 4096;
	scsi_cmd_execute(&f->cmd);
	assert_int_equal(f->done, 0);
	assert_int_equal(c->rd_subm_cmds, 1);
	assert_int_equal(c->rd_done_cmds, 0);
	f->mem.parked->done(f->mem.parked);
	assert_int_equal(f->done, 1);
	assert_counters(c, 4096, 1, 0, 0, 0, 0);
}

/* A nexus lists its LUs newest first (tgt's session stat order), a LU
 * added later comes first, a LU removed leaves, a new nexus starts at
 * zero. */
static void test_lifetime_and_order(void **state)
{
	struct fx *f = *state;
	const struct scsi_itl_stats *s;
	struct it_nexus fresh;
	uint64_t order[3];
	unsigned i = 0;

	s = list_first_entry(&f->nexus.itl_stats, struct scsi_itl_stats, node);
	assert_true(s->lu == f->disk); /* LUN 1 before LUN 0 */
	fx_add_disk2(f); /* linked by the fixture, counters added here */
	assert_int_equal(scsi_stats_lu_added(&f->t, f->disk2), 0);
	list_for_each_entry(s, &f->other.itl_stats, node)
		order[i++] = s->lun;
	assert_int_equal(i, 3);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 1);
	assert_int_equal(order[2], 0);

	run(f, &f->nexus, 2, inquiry, 6, SCSI_DIR_READ, 100, NULL, 0);
	assert_int_equal(fx_counters(&f->nexus, f->disk2)->rd_done_bytes,
			 100);
	scsi_ua_drop_lun(&f->t, 2);
	assert_null(scsi_stats_find(&f->nexus, f->disk2));
	assert_null(scsi_stats_find(&f->other, f->disk2));

	assert_int_equal(it_nexus_init(&fresh, &f->t, 3), 0);
	assert_counters(fx_counters(&fresh, f->disk), 0, 0, 0, 0, 0, 0);
	it_nexus_fini(&fresh);
	assert_true(list_empty(&fresh.itl_stats));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count_rules),
		cmocka_unit_test_setup_teardown(
			test_commands_count_expected_length, fx_setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(test_error_without_data,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_lun_counts_in_lun0,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_write_done_clamped_to_cdb,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_async_command, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_lifetime_and_order,
						fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
