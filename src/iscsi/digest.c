#include "iscsi/digest.h"

#include <isa-l/crc.h>
#include <limits.h>

uint32_t iscsi_crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	/* ISA-L takes an int length and a non-const pointer it only reads. */
	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		crc = crc32_iscsi((unsigned char *)p, n, crc);
		p += n;
		len -= (size_t)n;
	}
	return crc;
}

uint32_t iscsi_crc32c(const void *buf, size_t len)
{
	return iscsi_crc32c_final(
		iscsi_crc32c_update(ISCSI_CRC32C_INIT, buf, len));
}

void iscsi_digest_put(uint8_t out[ISCSI_DIGEST_LEN], uint32_t crc)
{
	for (int i = 0; i < ISCSI_DIGEST_LEN; i++)
		out[i] = (uint8_t)(crc >> (8 * i));
}

uint32_t iscsi_digest_get(const uint8_t in[ISCSI_DIGEST_LEN])
{
	return (uint32_t)in[0] | (uint32_t)in[1] << 8 |
	       (uint32_t)in[2] << 16 | (uint32_t)in[3] << 24;
}
