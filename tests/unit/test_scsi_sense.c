/* Sense data building (fixed and descriptor format) and LUN field
 * encoding of the SCSI core. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/scsi.h"

static void test_fixed_basic(void **state)
{
	uint8_t b[SCSI_SENSE_MAX];
	unsigned len;

	(void)state;
	memset(b, 0xee, sizeof(b));
	len = scsi_build_sense(b, false, SK_ILLEGAL_REQUEST,
			       ASC_LBA_OUT_OF_RANGE, NULL, false, 0);
	assert_int_equal(len, 18);
	assert_int_equal(b[0], 0x70);   /* current, VALID clear */
	assert_int_equal(b[2], SK_ILLEGAL_REQUEST);
	assert_int_equal(b[7], 10);     /* additional sense length */
	assert_int_equal(b[12], 0x21);
	assert_int_equal(b[13], 0x00);
	assert_int_equal(b[15], 0);     /* SKSV clear */
	for (int i = 3; i <= 6; i++)
		assert_int_equal(b[i], 0);
}

static void test_fixed_info_and_field_pointer(void **state)
{
	const uint8_t sks[3] = { 0xcd, 0x00, 0x07 };
	uint8_t b[SCSI_SENSE_MAX];
	unsigned len;

	(void)state;
	len = scsi_build_sense(b, false, SK_MEDIUM_ERROR, ASC_READ_ERROR, sks,
			       true, 0x12345678);
	assert_int_equal(len, 18);
	assert_int_equal(b[0], 0xf0); /* VALID | 70h */
	assert_int_equal(b[3], 0x12);
	assert_int_equal(b[6], 0x78);
	assert_memory_equal(b + 15, sks, 3);

	/* An INFORMATION value over 32 bits cannot be represented. */
	scsi_build_sense(b, false, SK_MEDIUM_ERROR, ASC_READ_ERROR, NULL, true,
			 0x100000000ull);
	assert_int_equal(b[0], 0x70);
}

static void test_descriptor(void **state)
{
	const uint8_t sks[3] = { 0xc8, 0x00, 0x02 };
	uint8_t b[SCSI_SENSE_MAX];
	unsigned len;

	(void)state;
	len = scsi_build_sense(b, true, SK_UNIT_ATTENTION, ASC_POWERON_RESET,
			       NULL, false, 0);
	assert_int_equal(len, 8);
	assert_int_equal(b[0], 0x72);
	assert_int_equal(b[1], SK_UNIT_ATTENTION);
	assert_int_equal(b[2], 0x29);
	assert_int_equal(b[3], 0x00);
	assert_int_equal(b[7], 0);

	len = scsi_build_sense(b, true, SK_ILLEGAL_REQUEST,
			       ASC_INVALID_FIELD_IN_CDB, sks, true,
			       0x1122334455667788ull);
	assert_int_equal(len, 8 + 12 + 8);
	assert_int_equal(b[7], 20);
	/* information descriptor */
	assert_int_equal(b[8], 0x00);
	assert_int_equal(b[9], 0x0a);
	assert_int_equal(b[10], 0x80);
	assert_int_equal(b[12], 0x11);
	assert_int_equal(b[19], 0x88);
	/* sense key specific descriptor */
	assert_int_equal(b[20], 0x02);
	assert_int_equal(b[21], 0x06);
	assert_memory_equal(b + 24, sks, 3);
}

static void on_done(struct scsi_cmd *cmd)
{
	(void)cmd;
}

static void test_set_sense_field(void **state)
{
	struct scsi_lu lu;
	struct scsi_cmd cmd;

	(void)state;
	memset(&cmd, 0, sizeof(cmd));
	cmd.done = on_done;
	scsi_set_sense_field(&cmd, ASC_INVALID_FIELD_IN_CDB, true, 1, 7);
	assert_int_equal(cmd.status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(cmd.sense_len, 18);
	/* SKSV | C/D | BPV | bit 7, field pointer byte 1 */
	assert_int_equal(cmd.sense[15], 0x80 | 0x40 | 0x08 | 7);
	assert_int_equal(cmd.sense[16], 0);
	assert_int_equal(cmd.sense[17], 1);
	assert_int_equal(cmd.sense[12], 0x24);

	/* Parameter list, no bit pointer, descriptor format from the LU. */
	memset(&lu, 0, sizeof(lu));
	lu.sense_descriptor = true;
	cmd.lu = &lu;
	scsi_set_sense_field(&cmd, ASC_INVALID_FIELD_IN_PARAM_LIST, false,
			     300, -1);
	assert_int_equal(cmd.sense[0], 0x72);
	assert_int_equal(cmd.sense[2], 0x26);
	assert_int_equal(cmd.sense_len, 16);
	assert_int_equal(cmd.sense[8], 0x02);
	assert_int_equal(cmd.sense[12], 0x80);
	assert_int_equal(cmd.sense[13], 300 >> 8);
	assert_int_equal(cmd.sense[14], 300 & 0xff);
}

static void test_set_sense_format_follows_lu(void **state)
{
	struct scsi_lu lu;
	struct scsi_cmd cmd;

	(void)state;
	memset(&cmd, 0, sizeof(cmd));
	memset(&lu, 0, sizeof(lu));
	scsi_set_sense(&cmd, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	assert_int_equal(cmd.sense[0], 0x70); /* no LU: fixed */
	cmd.lu = &lu;
	lu.sense_descriptor = true;
	scsi_set_sense(&cmd, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	assert_int_equal(cmd.sense[0], 0x72);
	assert_int_equal(cmd.sense[1], SK_NOT_READY);
	assert_int_equal(cmd.sense[2], 0x3a);
	assert_int_equal(cmd.sense_len, 8);
}

static void check_lun(uint64_t lun, const uint8_t *wire)
{
	uint8_t out[8];

	scsi_lun_to_wire(lun, out);
	assert_memory_equal(out, wire, 8);
	assert_int_equal(scsi_lun_from_wire(wire), lun);
}

static void test_lun_encodings(void **state)
{
	(void)state;
	check_lun(0, (const uint8_t[8]){ 0 });
	check_lun(1, (const uint8_t[8]){ 0x00, 0x01 });
	check_lun(255, (const uint8_t[8]){ 0x00, 0xff });
	/* flat space from 256 */
	check_lun(256, (const uint8_t[8]){ 0x41, 0x00 });
	check_lun(16383, (const uint8_t[8]){ 0x7f, 0xff });
	/* extended flat space */
	check_lun(16384, (const uint8_t[8]){ 0xd2, 0x00, 0x40, 0x00 });
	check_lun(0xabcdef, (const uint8_t[8]){ 0xd2, 0xab, 0xcd, 0xef });
	check_lun(0x123456789aull,
		  (const uint8_t[8]){ 0xe2, 0x12, 0x34, 0x56, 0x78, 0x9a });
}

static void test_lun_unaddressable(void **state)
{
	uint8_t out[8];

	(void)state;
	/* bus number, second level, logical unit addressing */
	assert_true(scsi_lun_from_wire((const uint8_t[8]){ 0x01, 0x01 }) ==
		    SCSI_LUN_NONE);
	assert_true(scsi_lun_from_wire((const uint8_t[8]){ 0, 1, 0, 2 }) ==
		    SCSI_LUN_NONE);
	assert_true(scsi_lun_from_wire((const uint8_t[8]){ 0x80, 1 }) ==
		    SCSI_LUN_NONE);
	assert_true(scsi_lun_from_wire((const uint8_t[8]){ 0x41, 0, 0, 1 }) ==
		    SCSI_LUN_NONE);
	/* a LUN too large for any format encodes as "not specified" */
	scsi_lun_to_wire(1ull << 40, out);
	assert_true(scsi_lun_from_wire(out) == SCSI_LUN_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_basic),
		cmocka_unit_test(test_fixed_info_and_field_pointer),
		cmocka_unit_test(test_descriptor),
		cmocka_unit_test(test_set_sense_field),
		cmocka_unit_test(test_set_sense_format_follows_lu),
		cmocka_unit_test(test_lun_encodings),
		cmocka_unit_test(test_lun_unaddressable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
