/* SCSI core dispatch: CDB validation and its sense data, LUN lookup and
 * the commands that work without a LUN, unit attentions and their SPC-4
 * exemptions, REPORT LUNS and REPORT SUPPORTED OPERATION CODES. */
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

static void test_unknown_opcode(void **state)
{
	struct fx *f = *state;

	SEND(f, 1, 0x04, 0, 0, 0, 0, 0); /* FORMAT UNIT */
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
	SEND(f, 1, 0xc0, 0, 0, 0, 0, 0); /* vendor specific */
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
	/* The controller has no block commands. */
	SEND(f, 0, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
}

static void test_unknown_service_action(void **state)
{
	struct fx *f = *state;

	/* SERVICE ACTION IN(16) 13h (REPORT REFERRALS) is not implemented. */
	SEND(f, 1, 0x9e, 0x13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 1, 4);
}

static void test_reserved_bits(void **state)
{
	struct fx *f = *state;

	SEND(f, 1, 0x00, 0x01, 0, 0, 0, 0); /* TUR with a reserved bit */
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 1, 0);

	/* RDPROTECT=1 sets bit 5; the pointer names the field's top bit. */
	SEND(f, 1, 0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 1, 7);

	/* NACA in the control byte is not supported. */
	SEND(f, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0x04);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 9, 2);

	/* Obsolete CmdDt bit of INQUIRY. */
	SEND(f, 1, 0x12, 0x02, 0, 0, 36, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 1, 1);

	/* DPO and FUA are allowed on READ(10). */
	SEND(f, 1, 0x28, 0x18, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 512);
}

static void test_short_cdb(void **state)
{
	struct fx *f = *state;
	const uint8_t cdb[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 };

	/* A READ(10) of which the transport delivered only 6 bytes. */
	fx_cmd_init(f, &f->nexus, 1, cdb, sizeof(cdb));
	f->cmd.cdb_len = 6;
	scsi_cmd_execute(&f->cmd);
	assert_int_equal(f->done, 1);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
}

static void test_missing_lun(void **state)
{
	struct fx *f = *state;

	SEND(f, 7, 0x00, 0, 0, 0, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
	SEND(f, 7, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);

	/* INQUIRY answers with peripheral qualifier 3, type 1Fh. */
	SEND(f, 7, 0x12, 0, 0, 0, 96, 0);
	assert_good(f);
	assert_true(f->cmd.in_len >= 36);
	assert_int_equal(f->cmd.in_buf[0], 0x7f);
	assert_int_equal(f->cmd.in_buf[4], f->cmd.in_len - 5);

	/* REQUEST SENSE reports the condition as data with GOOD status. */
	SEND(f, 7, 0x03, 0, 0, 0, 252, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 18);
	assert_int_equal(f->cmd.in_buf[2], SK_ILLEGAL_REQUEST);
	assert_int_equal(get_be16(f->cmd.in_buf + 12), ASC_LUN_NOT_SUPPORTED);

	/* REPORT LUNS works on any LUN. */
	SEND(f, 7, 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_good(f);
	assert_int_equal(get_be32(f->cmd.in_buf), 16);
}

static void test_lun_lookup_needs_nexus_target(void **state)
{
	struct fx *f = *state;
	const uint8_t tur[6] = { 0 };

	/* Without a nexus there is no target and so no LU. */
	send_on(f, NULL, 1, tur, sizeof(tur));
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
}

static void test_report_luns(void **state)
{
	struct fx *f = *state;
	const uint8_t *d;

	SEND(f, 0, 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(f->cmd.in_len, 24);
	assert_int_equal(get_be32(d), 16);
	assert_true(scsi_lun_from_wire(d + 8) == 0);
	assert_true(scsi_lun_from_wire(d + 16) == 1);

	/* Truncated to the allocation length, list length unchanged. */
	SEND(f, 0, 0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 16);
	assert_int_equal(get_be32(f->cmd.in_buf), 16);

	/* Select report 1: the well known LUs only, i.e. the REPORT LUNS
	 * W-LUN; 2: everything. */
	SEND(f, 0, 0xa0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(get_be32(d), 8);
	assert_memory_equal(d + 8, "\xc1\x01\0\0\0\0\0\0", 8);
	SEND(f, 0, 0xa0, 0, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(get_be32(d), 24);
	assert_true(scsi_lun_from_wire(d + 8) == 0);
	assert_true(scsi_lun_from_wire(d + 16) == 1);
	assert_true(scsi_lun_from_wire(d + 24) == SCSI_LUN_REPORT_LUNS);

	SEND(f, 0, 0xa0, 0, 3, 0, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 2, 7);

	SEND(f, 0, 0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
}

/* The REPORT LUNS well known LU answers INQUIRY (type 1Eh), REPORT LUNS,
 * REQUEST SENSE and TEST UNIT READY, and nothing else. */
static void test_report_luns_wlun(void **state)
{
	static const uint8_t wire[8] = { 0xc1, 0x01 };
	struct fx *f = *state;
	uint8_t back[8];

	assert_true(scsi_lun_from_wire(wire) == SCSI_LUN_REPORT_LUNS);
	scsi_lun_to_wire(SCSI_LUN_REPORT_LUNS, back);
	assert_memory_equal(back, wire, 8);

	SEND(f, SCSI_LUN_REPORT_LUNS, 0x12, 0, 0, 0, 36, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[0], 0x1e);
	SEND(f, SCSI_LUN_REPORT_LUNS, 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_good(f);
	assert_int_equal(get_be32(f->cmd.in_buf), 16);
	SEND(f, SCSI_LUN_REPORT_LUNS, 0x00, 0, 0, 0, 0, 0);
	assert_good(f);
	SEND(f, SCSI_LUN_REPORT_LUNS, 0x03, 0, 0, 0, 18, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[2] & 0x0f, SK_NO_SENSE);
	SEND(f, SCSI_LUN_REPORT_LUNS, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
	/* A LUN that does not exist is still one that does not exist. */
	SEND(f, 7, 0x00, 0, 0, 0, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
	SEND(f, 7, 0x12, 0, 0, 0, 36, 0);
	assert_int_equal(f->cmd.in_buf[0], 0x7f);
}

static void test_ua_reported_once(void **state)
{
	struct fx *f = *state;

	scsi_ua_queue(&f->nexus, 1, ASC_POWERON_RESET);
	/* Exempt commands neither report nor clear it. */
	SEND(f, 1, 0x12, 0, 0, 0, 36, 0);
	assert_good(f);
	SEND(f, 1, 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_good(f);
	/* Another LUN and another nexus are not affected. */
	SEND(f, 0, 0x00, 0, 0, 0, 0, 0);
	assert_good(f);
	SEND_ON(f, &f->other, 1, 0x00, 0, 0, 0, 0, 0);
	assert_good(f);

	SEND(f, 1, 0x00, 0, 0, 0, 0, 0);
	assert_sense(f, SK_UNIT_ATTENTION, ASC_POWERON_RESET);
	SEND(f, 1, 0x00, 0, 0, 0, 0, 0);
	assert_good(f);
}

static void test_ua_precedes_cdb_checks(void **state)
{
	struct fx *f = *state;

	scsi_ua_queue(&f->nexus, 1, ASC_CAPACITY_CHANGED);
	SEND(f, 1, 0xc0, 0, 0, 0, 0, 0);
	assert_sense(f, SK_UNIT_ATTENTION, ASC_CAPACITY_CHANGED);
	SEND(f, 1, 0xc0, 0, 0, 0, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
}

static void test_ua_order_and_dedup(void **state)
{
	struct fx *f = *state;

	scsi_ua_queue(&f->nexus, 1, ASC_POWERON_RESET);
	scsi_ua_queue(&f->nexus, 1, ASC_CAPACITY_CHANGED);
	scsi_ua_queue(&f->nexus, 1, ASC_POWERON_RESET);
	SEND(f, 1, 0x00, 0, 0, 0, 0, 0);
	assert_sense(f, SK_UNIT_ATTENTION, ASC_POWERON_RESET);
	SEND(f, 1, 0x00, 0, 0, 0, 0, 0);
	assert_sense(f, SK_UNIT_ATTENTION, ASC_CAPACITY_CHANGED);
	SEND(f, 1, 0x00, 0, 0, 0, 0, 0);
	assert_good(f);
}

static void test_request_sense_returns_ua(void **state)
{
	struct fx *f = *state;

	scsi_ua_queue(&f->nexus, 1, ASC_MODE_PARAMETERS_CHANGED);
	/* DESC=1: descriptor format as data. */
	SEND(f, 1, 0x03, 0x01, 0, 0, 252, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 8);
	assert_int_equal(f->cmd.in_buf[0], 0x72);
	assert_int_equal(f->cmd.in_buf[1], SK_UNIT_ATTENTION);
	assert_int_equal(get_be16(f->cmd.in_buf + 2),
			 ASC_MODE_PARAMETERS_CHANGED);
	/* It was cleared; now there is nothing to report. */
	SEND(f, 1, 0x03, 0, 0, 0, 252, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 18);
	assert_int_equal(f->cmd.in_buf[0], 0x70);
	assert_int_equal(f->cmd.in_buf[2], SK_NO_SENSE);
	assert_int_equal(get_be16(f->cmd.in_buf + 12), 0);
	SEND(f, 1, 0x00, 0, 0, 0, 0, 0);
	assert_good(f);
}

static void test_report_luns_clears_only_luns_changed(void **state)
{
	struct fx *f = *state;

	scsi_ua_queue(&f->nexus, 1, ASC_REPORTED_LUNS_DATA_CHANGED);
	scsi_ua_queue(&f->nexus, 0, ASC_REPORTED_LUNS_DATA_CHANGED);
	scsi_ua_queue(&f->nexus, 0, ASC_POWERON_RESET);
	SEND(f, 0, 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_good(f);
	SEND(f, 1, 0x00, 0, 0, 0, 0, 0);
	assert_good(f);
	SEND(f, 0, 0x00, 0, 0, 0, 0, 0);
	assert_sense(f, SK_UNIT_ATTENTION, ASC_POWERON_RESET);
	SEND(f, 0, 0x00, 0, 0, 0, 0, 0);
	assert_good(f);
}

static void test_ua_queue_all_and_drop(void **state)
{
	struct fx *f = *state;

	scsi_ua_queue_all(&f->t, &f->nexus, 1, ASC_CAPACITY_CHANGED);
	SEND(f, 1, 0x00, 0, 0, 0, 0, 0);
	assert_good(f);
	SEND_ON(f, &f->other, 1, 0x00, 0, 0, 0, 0, 0);
	assert_sense(f, SK_UNIT_ATTENTION, ASC_CAPACITY_CHANGED);

	scsi_ua_queue_all(&f->t, NULL, 1, ASC_CAPACITY_CHANGED);
	scsi_ua_drop_lun(&f->t, 1);
	SEND(f, 1, 0x00, 0, 0, 0, 0, 0);
	assert_good(f);
	SEND_ON(f, &f->other, 1, 0x00, 0, 0, 0, 0, 0);
	assert_good(f);
}

static void test_nexus_lifecycle(void **state)
{
	struct fx *f = *state;
	struct it_nexus n, *it;
	int count = 0;

	it_nexus_init(&n, &f->t, 9);
	list_for_each_entry(it, &f->t.nexuses, node)
		count++;
	assert_int_equal(count, 3);
	/* POWER ON RESET for both LUNs, each reported once. */
	SEND_ON(f, &n, 0, 0x00, 0, 0, 0, 0, 0);
	assert_sense(f, SK_UNIT_ATTENTION, ASC_POWERON_RESET);
	SEND_ON(f, &n, 1, 0x00, 0, 0, 0, 0, 0);
	assert_sense(f, SK_UNIT_ATTENTION, ASC_POWERON_RESET);
	SEND_ON(f, &n, 1, 0x00, 0, 0, 0, 0, 0);
	assert_good(f);
	scsi_ua_queue(&n, 1, ASC_CAPACITY_CHANGED); /* freed by fini */
	it_nexus_fini(&n);
	count = 0;
	list_for_each_entry(it, &f->t.nexuses, node)
		count++;
	assert_int_equal(count, 2);

	/* A nexus without a target is neither linked nor given UAs. */
	it_nexus_init(&n, NULL, 10);
	assert_false(list_linked(&n.node));
	assert_true(list_empty(&n.ua_list));
	it_nexus_fini(&n);
}

static void test_offline_lu(void **state)
{
	struct fx *f = *state;

	f->disk->online = false;
	SEND(f, 1, 0x00, 0, 0, 0, 0, 0);
	assert_sense(f, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	SEND(f, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_sense(f, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	SEND(f, 1, 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_sense(f, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	SEND(f, 1, 0x12, 0, 0, 0, 36, 0);
	assert_good(f);
	SEND(f, 1, 0x1a, 0, 0x3f, 0, 255, 0);
	assert_good(f);
	/* REQUEST SENSE describes the state. */
	SEND(f, 1, 0x03, 0, 0, 0, 18, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[2], SK_NOT_READY);
	assert_int_equal(get_be16(f->cmd.in_buf + 12), ASC_MEDIUM_NOT_PRESENT);
}

/* RSOC "all commands": every descriptor's CDB length must match the
 * group code of its opcode, and READ(10) must be listed. */
static void test_rsoc_all(void **state)
{
	static const unsigned group_len[8] = { 6, 10, 10, 0, 16, 12, 0, 0 };
	struct fx *f = *state;
	bool read10 = false, rc16 = false;
	uint32_t len;

	SEND(f, 1, 0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0);
	assert_good(f);
	len = get_be32(f->cmd.in_buf);
	assert_int_equal(len % 8, 0);
	assert_int_equal(f->cmd.in_len, len + 4);
	for (uint32_t off = 4; off < len + 4; off += 8) {
		const uint8_t *d = f->cmd.in_buf + off;

		assert_int_equal(get_be16(d + 6), group_len[d[0] >> 5]);
		if (d[0] == 0x28)
			read10 = true;
		if (d[0] == 0x9e) {
			assert_int_equal(d[5] & 0x01, 1); /* SERVACTV */
			if (get_be16(d + 2) == 0x10)
				rc16 = true;
			else /* GET LBA STATUS */
				assert_int_equal(get_be16(d + 2), 0x12);
		}
	}
	assert_true(read10);
	assert_true(rc16);

	/* With RCTD each descriptor carries a 12-byte timeouts descriptor. */
	SEND(f, 1, 0xa3, 0x0c, 0x80, 0, 0, 0, 0, 0, 0x10, 0, 0, 0);
	assert_good(f);
	assert_int_equal(get_be32(f->cmd.in_buf) % 20, 0);
	assert_int_equal(f->cmd.in_buf[4 + 5] & 0x02, 0x02);
}

static void test_rsoc_one(void **state)
{
	struct fx *f = *state;
	const uint8_t *d;

	/* READ(10): usage data shows DPO and FUA (libiscsi DpoFua tests). */
	SEND(f, 1, 0xa3, 0x0c, 0x01, 0x28, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(d[1] & 0x07, 3);
	assert_int_equal(get_be16(d + 2), 10);
	assert_int_equal(d[4], 0x28);
	assert_int_equal(d[5] & 0x18, 0x18);
	assert_int_equal(d[5] & 0xe0, 0); /* no RDPROTECT */

	/* READ CAPACITY(16) needs its service action. */
	SEND(f, 1, 0xa3, 0x0c, 0x01, 0x9e, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	SEND(f, 1, 0xa3, 0x0c, 0x02, 0x9e, 0, 0x10, 0, 0, 1, 0, 0, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(d[1] & 0x07, 3);
	assert_int_equal(get_be16(d + 2), 16);
	assert_int_equal(d[4], 0x9e);
	assert_int_equal(d[5], 0x10);

	/* READ(10) has no service actions. */
	SEND(f, 1, 0xa3, 0x0c, 0x02, 0x28, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);

	/* Not supported: SUPPORT = 001b, no usage data. */
	SEND(f, 1, 0xa3, 0x0c, 0x01, 0x04, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[1] & 0x07, 1);
	assert_int_equal(f->cmd.in_len, 4);

	/* On the controller READ(10) does not exist. */
	SEND(f, 0, 0xa3, 0x0c, 0x01, 0x28, 0, 0, 0, 0, 1, 0, 0, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[1] & 0x07, 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_unknown_opcode),
		T(test_unknown_service_action),
		T(test_reserved_bits),
		T(test_short_cdb),
		T(test_missing_lun),
		T(test_lun_lookup_needs_nexus_target),
		T(test_report_luns),
		T(test_report_luns_wlun),
		T(test_ua_reported_once),
		T(test_ua_precedes_cdb_checks),
		T(test_ua_order_and_dedup),
		T(test_request_sense_returns_ua),
		T(test_report_luns_clears_only_luns_changed),
		T(test_ua_queue_all_and_drop),
		T(test_nexus_lifecycle),
		T(test_offline_lu),
		T(test_rsoc_all),
		T(test_rsoc_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
