/* The SCSI side of a delete's fence (docs/design-notes.md, rule 5): a
 * fenced LU answers new commands as if it were gone, leaves the LUN
 * inventory, and lets nothing more reach its store, not even the next
 * step of a command admitted before the fence; its in-flight count says
 * when the delete is final. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/byteorder.h"
#include "scsi/scsi.h"
#include "target/target.h"

#include "scsi_fixture.h"

static void test_new_commands_find_no_lu(void **state)
{
	struct fx *f = *state;
	const uint8_t write10[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	uint8_t data[512];

	f->disk->fenced = true;
	SEND(f, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0); /* READ(10) */
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
	memset(data, 0xa5, sizeof(data));
	fx_start_out(f, &f->nexus, 1, write10, sizeof(write10), data,
		     sizeof(data));
	assert_int_equal(f->done, 1);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
	assert_int_equal(f->mem.submits, 0);
	assert_true(fx_medium_is(f, 0, 1, 0));
	assert_int_equal(f->disk->inflight, 0);
}

static void test_report_luns_leaves_it_out(void **state)
{
	struct fx *f = *state;

	f->disk->fenced = true;
	SEND(f, 0, 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_good(f);
	assert_int_equal(get_be32(f->cmd.in_buf), 8);
	assert_true(scsi_lun_from_wire(f->cmd.in_buf + 8) == 0);
}

/* WRITE AND VERIFY (BYTCHK 01b) is a write, then a read to compare. The
 * fence comes while the write is in the store: the write completes, the
 * read never reaches the store, and the command fails as for a LU that
 * went away. */
static void test_admitted_command_takes_no_next_step(void **state)
{
	struct fx *f = *state;
	const uint8_t cdb[10] = { 0x2e, 0x02, 0, 0, 0, 1, 0, 0, 1, 0 };
	uint8_t data[512];

	memset(data, 0x3c, sizeof(data));
	f->mem.defer = true;
	fx_start_out(f, &f->nexus, 1, cdb, sizeof(cdb), data, sizeof(data));
	assert_int_equal(f->done, 0);
	assert_int_equal(f->mem.submits, 1);
	f->disk->fenced = true;
	/* Still in the store: the delete is not final. */
	assert_int_equal(f->disk->inflight, 1);
	fx_complete_parked(f);
	assert_int_equal(f->done, 1);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
	assert_int_equal(f->mem.submits, 1);
	assert_null(f->mem.parked);
	assert_int_equal(f->disk->inflight, 0);
}

/* A fence on one LU leaves the others alone. */
static void test_other_lus_unaffected(void **state)
{
	struct fx *f = *state;

	fx_add_disk2(f);
	f->disk->fenced = true;
	SEND(f, 2, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_good(f);
	SEND(f, 0, 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_int_equal(get_be32(f->cmd.in_buf), 16);
	assert_true(scsi_lun_from_wire(f->cmd.in_buf + 16) == 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_commands_find_no_lu,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_report_luns_leaves_it_out,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_admitted_command_takes_no_next_step, fx_setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(test_other_lus_unaffected,
						fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
