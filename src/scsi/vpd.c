/* Vital product data pages of INQUIRY (SPC-4 7.8, SBC-3 6.5):
 * 00h supported pages, 80h unit serial number, 83h device identification,
 * and for disks 8Fh third-party copy (copy_results.c), B0h block limits,
 * B1h block device characteristics and B2h logical block provisioning. */
#include <stdio.h>
#include <string.h>

#include "common/byteorder.h"
#include "scsi/core.h"
#include "scsi/scsi.h"
#include "target/target.h"

#define PAGE_SUPPORTED 0x00
#define PAGE_SERIAL 0x80
#define PAGE_DEVICE_ID 0x83
#define PAGE_THIRD_PARTY_COPY 0x8f
#define PAGE_BLOCK_LIMITS 0xb0
#define PAGE_BLOCK_CHARS 0xb1
#define PAGE_LBP 0xb2

/* Designator fields (SPC-4 7.8.6). */
#define CODE_BINARY 0x1
#define CODE_ASCII 0x2
#define CODE_UTF8 0x3
#define PROTO_ISCSI 0x5
#define PIV 0x80
#define ASSOC_LU 0x00
#define ASSOC_PORT 0x10
#define ASSOC_DEVICE 0x20
#define DESIG_T10 0x1
#define DESIG_NAA 0x3
#define DESIG_REL_PORT 0x4
#define DESIG_NAME 0x8

#define NAA_LOCAL 0x3 /* NAA locally assigned (SPC-4 7.8.6.6.4) */

static const uint8_t disk_pages[] = {
	PAGE_SUPPORTED, PAGE_SERIAL, PAGE_DEVICE_ID, PAGE_THIRD_PARTY_COPY,
	PAGE_BLOCK_LIMITS, PAGE_BLOCK_CHARS, PAGE_LBP,
};
static const uint8_t other_pages[] = {
	PAGE_SUPPORTED, PAGE_SERIAL, PAGE_DEVICE_ID,
};

static void pages_of(const struct scsi_lu *lu, const uint8_t **pages,
		     size_t *n)
{
	if (!lu) {
		/* A missing LU still answers the list: with page 00h only. */
		*pages = disk_pages;
		*n = 1;
	} else if (lu->type == SCSI_TYPE_DISK) {
		*pages = disk_pages;
		*n = sizeof(disk_pages);
	} else {
		*pages = other_pages;
		*n = sizeof(other_pages);
	}
}

static bool page_supported(const struct scsi_lu *lu, uint8_t page)
{
	const uint8_t *pages;
	size_t n;

	pages_of(lu, &pages, &n);
	return memchr(pages, page, n) != NULL;
}

static size_t supported_pages(const struct scsi_lu *lu, uint8_t *buf)
{
	const uint8_t *pages;
	size_t n;

	pages_of(lu, &pages, &n);
	memcpy(buf + 4, pages, n);
	return 4 + n;
}

static size_t serial_number(const struct scsi_lu *lu, uint8_t *buf)
{
	size_t n = strnlen(lu->scsi_sn, sizeof(lu->scsi_sn) - 1);

	memcpy(buf + 4, lu->scsi_sn, n);
	return 4 + n;
}

/* FNV-1a: a stable 64-bit digest for the NAA identifier. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

/* The NAA designator follows the SCSI ID (tgt's scsi_id=), so that two
 * paths configured with the same ID look like one LU to multipathing. */
static uint64_t naa_local(const struct scsi_lu *lu)
{
	char key[64];

	if (lu->scsi_id[0])
		snprintf(key, sizeof(key), "%s", lu->scsi_id);
	else
		snprintf(key, sizeof(key), "%d:%llu",
			 lu->target ? lu->target->tid : 0,
			 (unsigned long long)lu->lun);
	return (uint64_t)NAA_LOCAL << 60 | (fnv1a(key) >> 4);
}

static size_t designator(uint8_t *p, uint8_t code_proto, uint8_t type,
			 const void *id, size_t len)
{
	p[0] = code_proto;
	p[1] = type;
	p[2] = 0;
	p[3] = (uint8_t)len;
	memcpy(p + 4, id, len);
	return 4 + len;
}

static size_t target_name_designator(uint8_t *p, const struct target *t)
{
	char name[TARGET_NAME_MAX + 4] = { 0 };
	size_t len = strnlen(t->name, TARGET_NAME_MAX) + 1;

	memcpy(name, t->name, len - 1);
	/* NUL-terminated and padded to a multiple of four (SPC-4 7.8.6.11). */
	len = (len + 3) & ~(size_t)3;
	return designator(p, PROTO_ISCSI << 4 | CODE_UTF8,
			  PIV | ASSOC_DEVICE | DESIG_NAME, name, len);
}

static size_t device_id(const struct scsi_cmd *cmd, const struct scsi_lu *lu,
			uint8_t *buf)
{
	uint8_t id[8 + sizeof(lu->scsi_id)];
	const struct target *t = cmd && cmd->nexus ? cmd->nexus->target
						    : NULL;
	size_t len = 4, n;

	put_be64(id, naa_local(lu));
	len += designator(buf + len, CODE_BINARY, ASSOC_LU | DESIG_NAA, id, 8);

	/* T10 vendor ID designator: vendor, then the vendor's own id.
	 * tgt's SCSI IDs ("IET     00010001") already begin with the
	 * padded vendor, and initiators match the designator against
	 * them, so such an id is used as it is. */
	scsi_pad_ascii(id, lu->vendor_id, 8);
	n = strnlen(lu->scsi_id, sizeof(lu->scsi_id) - 1);
	if (n >= 8 && !memcmp(id, lu->scsi_id, 8)) {
		memcpy(id, lu->scsi_id, n);
	} else {
		memcpy(id + 8, lu->scsi_id, n);
		n += 8;
	}
	len += designator(buf + len, CODE_ASCII, ASSOC_LU | DESIG_T10, id, n);

	/* Relative target port 1: each target has one SCSI port per
	 * portal group, as under tgt. */
	memset(id, 0, 4);
	put_be16(id + 2, 1);
	len += designator(buf + len, PROTO_ISCSI << 4 | CODE_BINARY,
			  PIV | ASSOC_PORT | DESIG_REL_PORT, id, 4);
	if (t)
		len += target_name_designator(buf + len, t);
	return len;
}

bool scsi_lu_designated(const struct scsi_lu *lu, const uint8_t *d)
{
	uint8_t page[SCSI_VPD_MAX];
	size_t len = device_id(NULL, lu, page);

	if ((d[1] & 0x30) != ASSOC_LU)
		return false;
	for (size_t at = 4; at + 4 <= len; at += 4u + page[at + 3]) {
		const uint8_t *p = page + at;

		if ((p[1] & 0x30) == ASSOC_LU &&
		    (p[0] & 0x0f) == (d[0] & 0x0f) &&
		    (p[1] & 0x0f) == (d[1] & 0x0f) && p[3] == d[3] &&
		    !memcmp(p + 4, d + 4, p[3]))
			return true;
	}
	return false;
}

static size_t block_limits(const struct scsi_lu *lu, uint8_t *buf)
{
	uint32_t max = SCSI_MAX_XFER_BYTES >> lu->blk_shift;
	uint32_t gran = lu->optimal_xfer_gran ? lu->optimal_xfer_gran
					      : 1u << lu->lbppbe;
	uint32_t opt = lu->optimal_xfer_len < max ? lu->optimal_xfer_len : max;

	memset(buf + 4, 0, 0x3c);
	/* Byte 4, WSNZ = 0: WRITE SAME of 0 blocks runs to the end. */
	buf[5] = sbc_caw_max_blocks(lu); /* MAXIMUM COMPARE AND WRITE LENGTH */
	put_be16(buf + 6, gran > 0xffff ? 0xffff : (uint16_t)gran);
	put_be32(buf + 8, max);
	put_be32(buf + 12, opt);
	if (sbc_thin(lu)) {
		put_be32(buf + 20, SBC_MAX_UNMAP_LBAS);
		put_be32(buf + 24, SBC_MAX_UNMAP_DESCRIPTORS);
		put_be32(buf + 28, sbc_unmap_granularity(lu));
		buf[32] = 0x80; /* UGAVALID, alignment 0: LBA 0 is aligned */
	}
	put_be64(buf + 36, SBC_MAX_WRITE_SAME_BLOCKS);
	return 4 + 0x3c;
}

#define WABEREQ_GOOD 0x40 /* reads after BLOCK ERASE: GOOD (zeros) */

static size_t block_characteristics(const struct scsi_lu *lu, uint8_t *buf)
{
	memset(buf + 4, 0, 0x3c);
	put_be16(buf + 4, lu->rotation_rate);
	/* SANITIZE BLOCK ERASE is offered where deallocation zeroes. */
	if (sbc_lbprz(lu))
		buf[7] = WABEREQ_GOOD;
	return 4 + 0x3c;
}

#define LBP_LBPU 0x80
#define LBP_LBPWS 0x40
#define LBP_LBPWS10 0x20
#define LBP_LBPRZ 0x04
#define PROVISIONING_THIN 0x02

/* Logical Block Provisioning (SBC-3 6.6.4): a thin LU deallocates with
 * UNMAP and both WRITE SAMEs. */
static size_t provisioning(const struct scsi_lu *lu, uint8_t *buf)
{
	memset(buf + 4, 0, 4);
	if (!sbc_thin(lu))
		return 8;
	buf[5] = LBP_LBPU | LBP_LBPWS | LBP_LBPWS10 |
		 (sbc_lbprz(lu) ? LBP_LBPRZ : 0);
	buf[6] = PROVISIONING_THIN;
	return 8;
}

static size_t page_body(const struct scsi_cmd *cmd, const struct scsi_lu *lu,
			uint8_t page, uint8_t *buf)
{
	switch (page) {
	case PAGE_SUPPORTED:
		return supported_pages(lu, buf);
	case PAGE_SERIAL:
		return serial_number(lu, buf);
	case PAGE_DEVICE_ID:
		return device_id(cmd, lu, buf);
	case PAGE_THIRD_PARTY_COPY:
		return spc_copy_vpd(lu, buf);
	case PAGE_BLOCK_LIMITS:
		return block_limits(lu, buf);
	case PAGE_BLOCK_CHARS:
		return block_characteristics(lu, buf);
	case PAGE_LBP:
		return provisioning(lu, buf);
	default:
		return 0;
	}
}

size_t scsi_vpd_page(const struct scsi_cmd *cmd, const struct scsi_lu *lu,
		     uint8_t page, uint8_t *buf)
{
	size_t len;

	if (!page_supported(lu, page))
		return 0;
	/* Peripheral qualifier 3 / type 1Fh when there is no LU, type 1Eh
	 * for the REPORT LUNS well known LU. */
	buf[0] = lu ? lu->type
		    : cmd->lun == SCSI_LUN_REPORT_LUNS ? 0x1e : 0x7f;
	buf[1] = page;
	len = page_body(cmd, lu, page, buf);
	put_be16(buf + 2, (uint16_t)(len - 4));
	return len;
}
