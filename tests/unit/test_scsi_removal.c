/* Removable media (START STOP UNIT with LOEJ, PREVENT ALLOW MEDIUM
 * REMOVAL): ejecting and loading, prevention held per I_T nexus and
 * ended by ALLOW, nexus loss and resets, and what a fixed medium does. */
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

#define ASC_MEDIUM_MAY_HAVE_CHANGED 0x2800

static int removable_setup(void **state)
{
	int ret = fx_setup(state);
	struct fx *f = *state;

	f->disk->removable = true;
	return ret;
}

static void ssu(struct fx *f, struct it_nexus *n, uint8_t b4)
{
	SEND_ON(f, n, 1, 0x1b, 0, 0, 0, b4, 0);
}

static void prevent(struct fx *f, struct it_nexus *n, bool on)
{
	SEND_ON(f, n, 1, 0x1e, 0, 0, 0, on ? 1 : 0, 0);
	assert_good(f);
}

static void tur(struct fx *f, struct it_nexus *n)
{
	SEND_ON(f, n, 1, 0x00, 0, 0, 0, 0, 0);
}

static void test_eject_and_load(void **state)
{
	struct fx *f = *state;

	ssu(f, &f->nexus, 0x02); /* eject: the cache is written first */
	assert_good(f);
	assert_int_equal(f->mem.last_op, BS_FLUSH);
	assert_false(f->disk->online);
	tur(f, &f->nexus);
	assert_sense(f, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	SEND(f, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_sense(f, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	ssu(f, &f->nexus, 0x02); /* again: nothing to flush */
	assert_good(f);
	assert_int_equal(f->mem.submits, 1);
	ssu(f, &f->nexus, 0x03); /* load */
	assert_good(f);
	assert_true(f->disk->online);
	tur(f, &f->nexus);
	assert_good(f);
	/* The other nexus learns that the medium may have changed. */
	tur(f, &f->other);
	assert_sense(f, SK_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED);
	/* A power condition makes LOEJ ignored. */
	ssu(f, &f->nexus, 0x12);
	assert_good(f);
	assert_true(f->disk->online);
	/* A failing flush keeps the medium in. */
	f->mem.fail = -5;
	ssu(f, &f->nexus, 0x02);
	assert_sense(f, SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
	assert_true(f->disk->online);
	f->mem.fail = 0;
	/* NO_FLUSH: out without a flush. */
	ssu(f, &f->nexus, 0x06);
	assert_good(f);
	assert_false(f->disk->online);
}

static void test_fixed_medium(void **state)
{
	struct fx *f = *state;

	f->disk->removable = false;
	ssu(f, &f->nexus, 0x02);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 4, 1);
	assert_true(f->disk->online);
	ssu(f, &f->nexus, 0x00); /* STOP without LOEJ: a flush */
	assert_good(f);
	assert_int_equal(f->mem.last_op, BS_FLUSH);
	assert_true(f->disk->online);
}

static void test_prevention_per_nexus(void **state)
{
	struct fx *f = *state;

	prevent(f, &f->nexus, true);
	prevent(f, &f->other, true);
	assert_true(f->disk->prevent_removal);
	ssu(f, &f->nexus, 0x02);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_MEDIUM_REMOVAL_PREVENTED);
	ssu(f, &f->other, 0x03); /* loading is removal too */
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_MEDIUM_REMOVAL_PREVENTED);
	/* One nexus allowing does not end the other's prevention. */
	prevent(f, &f->nexus, false);
	assert_true(f->disk->prevent_removal);
	ssu(f, &f->nexus, 0x02);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_MEDIUM_REMOVAL_PREVENTED);
	prevent(f, &f->other, false);
	assert_false(f->disk->prevent_removal);
	ssu(f, &f->nexus, 0x02);
	assert_good(f);
	/* Twice PREVENT from one nexus is one prevention. */
	prevent(f, &f->nexus, true);
	prevent(f, &f->nexus, true);
	prevent(f, &f->nexus, false);
	assert_false(f->disk->prevent_removal);
}

/* The nexus goes away and a new one comes (its power-on unit attention
 * is dropped, as the reset ones below are). */
static void renew(struct fx *f, struct it_nexus *n, uint64_t id)
{
	it_nexus_fini(n);
	it_nexus_init(n, &f->t, id);
	scsi_ua_drop_lun(&f->t, 1);
}

static void test_prevention_ends(void **state)
{
	struct fx *f = *state;

	/* Nexus loss ends that nexus's prevention only. */
	prevent(f, &f->nexus, true);
	prevent(f, &f->other, true);
	renew(f, &f->other, 2);
	assert_true(f->disk->prevent_removal);
	renew(f, &f->nexus, 1);
	assert_false(f->disk->prevent_removal);
	/* A LU reset and a target reset end every one. */
	prevent(f, &f->nexus, true);
	prevent(f, &f->other, true);
	scsi_lu_reset(f->disk);
	assert_false(f->disk->prevent_removal);
	scsi_ua_drop_lun(&f->t, 1);
	prevent(f, &f->other, true);
	scsi_lu_reset(f->disk); /* the target's only LU */
	assert_false(f->disk->prevent_removal);
	scsi_ua_drop_lun(&f->t, 1);
	ssu(f, &f->other, 0x02);
	assert_good(f);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, removable_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_eject_and_load),
		T(test_fixed_medium),
		T(test_prevention_per_nexus),
		T(test_prevention_ends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
