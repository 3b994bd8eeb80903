/* Unit tests: CRC32C digests against the examples of RFC 3720 appendix
 * B.4 (the bytes as they go on the wire). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/digest.h"

static void assert_wire(const uint8_t *buf, size_t len, const char *want)
{
	uint8_t wire[ISCSI_DIGEST_LEN];

	iscsi_digest_put(wire, iscsi_crc32c(buf, len));
	assert_memory_equal(wire, want, ISCSI_DIGEST_LEN);
	assert_int_equal(iscsi_digest_get(wire), iscsi_crc32c(buf, len));
}

static void test_rfc3720_patterns(void **state)
{
	uint8_t zeros[32] = { 0 }, ones[32], up[32], down[32];

	(void)state;
	for (int i = 0; i < 32; i++) {
		ones[i] = 0xff;
		up[i] = (uint8_t)i;
		down[i] = (uint8_t)(31 - i);
	}
	assert_wire(zeros, 32, "\xaa\x36\x91\x8a");
	assert_wire(ones, 32, "\x43\xab\xa8\x62");
	assert_wire(up, 32, "\x4e\x79\xdd\x46");
	assert_wire(down, 32, "\x5c\xdb\x3f\x11");
}

/* The RFC's iSCSI Read (SCSI Command) PDU example. */
static void test_rfc3720_read_pdu(void **state)
{
	static const uint8_t pdu[48] = {
		0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
		0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
		0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};

	(void)state;
	assert_wire(pdu, sizeof(pdu), "\x56\x3a\x96\xd9");
}

/* A CRC fed in pieces (data, then padding) equals the one-shot CRC. */
static void test_chained_update(void **state)
{
	uint8_t buf[1000];
	uint32_t crc = ISCSI_CRC32C_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	crc = iscsi_crc32c_update(crc, buf, 333);
	crc = iscsi_crc32c_update(crc, buf + 333, 1);
	crc = iscsi_crc32c_update(crc, buf + 334, sizeof(buf) - 334);
	assert_int_equal(iscsi_crc32c_final(crc),
			 iscsi_crc32c(buf, sizeof(buf)));
	/* A single flipped bit changes the digest. */
	buf[500] ^= 0x10;
	assert_int_not_equal(iscsi_crc32c_final(crc),
			     iscsi_crc32c(buf, sizeof(buf)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3720_patterns),
		cmocka_unit_test(test_rfc3720_read_pdu),
		cmocka_unit_test(test_chained_update),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
