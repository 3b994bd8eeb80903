/* What tgt-admin copies from a SCSI device given as `direct-store`
 * (spec tgt-compat.md §5.4): vendor, product, revision and serial number
 * (INQUIRY and VPD page 0x80), optimal transfer granularity and length
 * (Block Limits VPD page 0xb0), logical block length, logical blocks per
 * physical block exponent and lowest aligned LBA (READ CAPACITY 16).
 * Debian's tgt-admin runs sg_inq and sg_readcap for this; here the same
 * commands go through the SG_IO ioctl, so nothing needs installing.
 * Fields a device does not answer stay empty / unset. */
#ifndef MTGT_TOOLS_SCSI_PROBE_H
#define MTGT_TOOLS_SCSI_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct scsi_probe {
	char vendor[9], product[17], revision[5];
	char serial[256];
	bool has_limits;
	uint32_t optimal_xfer_gran, optimal_xfer_len; /* in blocks */
	bool has_capacity;
	uint32_t block_length;
	unsigned lbppbe;
	unsigned lowest_aligned_lba;
};

/* Asks the device at path; a file or a device that is no SCSI device
 * leaves everything empty. */
void scsi_probe(const char *path, struct scsi_probe *out);

/* The decoding of each answer, on its own for tests. */
void scsi_probe_decode_inquiry(const uint8_t *data, size_t len,
			       struct scsi_probe *out);
void scsi_probe_decode_serial(const uint8_t *data, size_t len,
			      struct scsi_probe *out);
void scsi_probe_decode_block_limits(const uint8_t *data, size_t len,
				    struct scsi_probe *out);
void scsi_probe_decode_capacity16(const uint8_t *data, size_t len,
				  struct scsi_probe *out);

#endif
