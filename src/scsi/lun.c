/* The 8-byte LUN field (SAM-5 4.7) and the LUN numbers tgt users type.
 *
 * Encoding follows what initiators expect from tgt: LUNs below 256 use
 * peripheral device addressing (00b, bus 0), LUNs below 16384 the flat
 * space method (01b). Larger LUNs use the extended flat space (24 bits)
 * and long extended flat space (40 bits) formats of SAM-5. Anything else
 * (hierarchical multi-level addresses, bus numbers, logical unit
 * addressing) names no LU of ours and decodes to SCSI_LUN_NONE. */
#include <string.h>

#include "scsi/scsi.h"

#define AM_PERIPHERAL 0x00
#define AM_FLAT 0x40
#define AM_EXTENDED 0xc0

#define EXT_FLAT_24 0xd2 /* length 01b, extended flat space */
/* C1h (well known LU, length 00b) is decoded for the REPORT LUNS W-LUN
 * only. */
#define EXT_FLAT_40 0xe2 /* length 10b, long extended flat space */

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static uint64_t be_bytes(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static uint64_t decode_extended(const uint8_t lun[8])
{
	if (be_bytes(lun, 8) == SCSI_LUN_REPORT_LUNS)
		return SCSI_LUN_REPORT_LUNS;
	if (lun[0] == EXT_FLAT_24 && all_zero(lun + 4, 4))
		return be_bytes(lun + 1, 3);
	if (lun[0] == EXT_FLAT_40 && all_zero(lun + 6, 2))
		return be_bytes(lun + 1, 5);
	return SCSI_LUN_NONE;
}

uint64_t scsi_lun_from_wire(const uint8_t lun[8])
{
	switch (lun[0] & 0xc0) {
	case AM_PERIPHERAL:
		/* A bus number or a second level addresses a device
		 * behind this one; we have none. */
		if ((lun[0] & 0x3f) || !all_zero(lun + 2, 6))
			return SCSI_LUN_NONE;
		return lun[1];
	case AM_FLAT:
		if (!all_zero(lun + 2, 6))
			return SCSI_LUN_NONE;
		return (uint64_t)(lun[0] & 0x3f) << 8 | lun[1];
	case AM_EXTENDED:
		return decode_extended(lun);
	default:
		return SCSI_LUN_NONE;
	}
}

static void put_bytes(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = n; i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
}

void scsi_lun_to_wire(uint64_t lun, uint8_t out[8])
{
	memset(out, 0, 8);
	if (lun == SCSI_LUN_REPORT_LUNS) {
		put_bytes(out, lun, 8);
	} else if (lun < 256) {
		out[1] = (uint8_t)lun;
	} else if (lun < 16384) {
		out[0] = AM_FLAT | (uint8_t)(lun >> 8);
		out[1] = (uint8_t)lun;
	} else if (lun < (1ull << 24)) {
		out[0] = EXT_FLAT_24;
		put_bytes(out + 1, lun, 3);
	} else if (lun < (1ull << 40)) {
		out[0] = EXT_FLAT_40;
		put_bytes(out + 1, lun, 5);
	} else {
		/* Not addressable: "logical unit not specified" (all ones)
		 * decodes to SCSI_LUN_NONE and so matches nothing. */
		memset(out, 0xff, 8);
	}
}
