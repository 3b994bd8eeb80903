/* Unit tests: BHS field accessors, padding and serial number arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/pdu.h"

static void test_bhs_fields(void **state)
{
	uint8_t bhs[ISCSI_BHS_LEN] = { 0 };

	(void)state;
	bhs[0] = ISCSI_FLAG_IMMEDIATE | ISCSI_OP_SCSI_CMD;
	bhs[1] = ISCSI_FLAG_FINAL | ISCSI_CMD_WRITE;
	bhs[4] = 3; /* AHS words */
	put_be24(bhs + 5, 0x012345);
	put_be32(bhs + PDU_ITT, 0xdeadbeef);
	assert_int_equal(pdu_opcode(bhs), ISCSI_OP_SCSI_CMD);
	assert_true(pdu_immediate(bhs));
	assert_true(pdu_final(bhs));
	assert_int_equal(pdu_ahs_len(bhs), 12);
	assert_int_equal(pdu_data_len(bhs), 0x012345);
	assert_int_equal(pdu_itt(bhs), 0xdeadbeef);
	/* Setting the data length clears TotalAHSLength: responses carry
	 * no AHS. */
	pdu_set_data_len(bhs, 513);
	assert_int_equal(bhs[4], 0);
	assert_int_equal(pdu_data_len(bhs), 513);
	assert_memory_equal(bhs + 5, "\x00\x02\x01", 3);
}

static void test_padding(void **state)
{
	(void)state;
	assert_int_equal(pdu_pad(0), 0);
	assert_int_equal(pdu_pad(1), 3);
	assert_int_equal(pdu_pad(2), 2);
	assert_int_equal(pdu_pad(3), 1);
	assert_int_equal(pdu_pad(4), 0);
	assert_int_equal(pdu_pad(8193), 3);
}

static void test_serial_arithmetic(void **state)
{
	(void)state;
	assert_true(sn_lt(1, 2));
	assert_false(sn_lt(2, 2));
	assert_true(sn_gt(2, 1));
	/* Wrap-around: 0 comes after 0xffffffff. */
	assert_true(sn_gt(0, 0xffffffffu));
	assert_true(sn_lt(0xfffffff0u, 5));
	assert_false(sn_gt(0xfffffff0u, 5));
}

static void test_byteorder(void **state)
{
	uint8_t b[8];

	(void)state;
	put_be64(b, 0x0102030405060708ull);
	assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_true(get_be64(b) == 0x0102030405060708ull);
	put_be16(b, 0xabcd);
	assert_int_equal(get_be16(b), 0xabcd);
	assert_int_equal(get_be32(b + 4), 0x05060708);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bhs_fields),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_serial_arithmetic),
		cmocka_unit_test(test_byteorder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
