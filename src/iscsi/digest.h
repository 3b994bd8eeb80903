/* CRC32C header and data digests (RFC 7143 §13.1), computed with ISA-L's
 * hardware-accelerated crc32_iscsi. Pure functions; no state. */
#ifndef MTGT_ISCSI_DIGEST_H
#define MTGT_ISCSI_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define ISCSI_DIGEST_LEN 4

/* A CRC being computed over several buffers: start with
 * ISCSI_CRC32C_INIT, feed each buffer to iscsi_crc32c_update, and end with
 * iscsi_crc32c_final. ISA-L takes the register as it is (no inversion on
 * entry or exit), so the standard all-ones preset and final inversion are
 * done here. */
#define ISCSI_CRC32C_INIT 0xffffffffu

uint32_t iscsi_crc32c_update(uint32_t crc, const void *buf, size_t len);

static inline uint32_t iscsi_crc32c_final(uint32_t crc)
{
	return ~crc;
}

/* The CRC32C of one buffer. */
uint32_t iscsi_crc32c(const void *buf, size_t len);

/* A digest goes on the wire least significant byte first: RFC 3720
 * appendix B.4 lists the CRC of 32 zero bytes, 0x8a9136aa, as the bytes
 * aa 36 91 8a. */
void iscsi_digest_put(uint8_t out[ISCSI_DIGEST_LEN], uint32_t crc);
uint32_t iscsi_digest_get(const uint8_t in[ISCSI_DIGEST_LEN]);

#endif
