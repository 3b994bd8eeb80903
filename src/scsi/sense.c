/* Sense data (SPC-4 4.5): fixed format (response code 70h) and descriptor
 * format (72h), with the INFORMATION field and the sense-key specific
 * field pointer that tells an initiator which CDB or parameter byte was
 * wrong. */
#include <string.h>

#include "common/byteorder.h"
#include "scsi/core.h"
#include "scsi/scsi.h"

#define FIXED_LEN 18
#define SKSV 0x80 /* sense-key specific field valid */
#define SKS_CD 0x40 /* field pointer is in the CDB, not the parameters */
#define SKS_BPV 0x08 /* bit pointer valid */

/* Everything a sense buffer can say besides key and ASC/ASCQ. */
struct sense_extra {
	const uint8_t *sks;  /* 3 bytes or NULL */
	bool info_valid;
	uint64_t info;       /* INFORMATION */
	uint32_t csi;        /* COMMAND-SPECIFIC INFORMATION, 0: none */
};

static unsigned build_fixed(uint8_t *buf, uint8_t key, uint16_t asc,
			    const struct sense_extra *x)
{
	const uint8_t *sks = x->sks;
	bool info_valid = x->info_valid;
	uint64_t info = x->info;

	memset(buf, 0, FIXED_LEN);
	buf[0] = 0x70;
	/* The fixed INFORMATION field has four bytes; a larger value cannot
	 * be expressed, so VALID stays clear rather than lie. */
	if (info_valid && info <= UINT32_MAX) {
		buf[0] |= 0x80;
		put_be32(buf + 3, (uint32_t)info);
	}
	buf[2] = key & 0x0f;
	buf[7] = FIXED_LEN - 8;
	put_be32(buf + 8, x->csi);
	buf[12] = (uint8_t)(asc >> 8);
	buf[13] = (uint8_t)asc;
	if (sks)
		memcpy(buf + 15, sks, 3);
	return FIXED_LEN;
}

static unsigned build_descriptor(uint8_t *buf, uint8_t key, uint16_t asc,
				 const struct sense_extra *x)
{
	const uint8_t *sks = x->sks;
	bool info_valid = x->info_valid;
	uint64_t info = x->info;
	unsigned len = 8;

	memset(buf, 0, 8);
	buf[0] = 0x72;
	buf[1] = key & 0x0f;
	buf[2] = (uint8_t)(asc >> 8);
	buf[3] = (uint8_t)asc;
	if (info_valid) {
		/* Information descriptor: type 00h, 12 bytes. */
		memset(buf + len, 0, 12);
		buf[len] = 0x00;
		buf[len + 1] = 0x0a;
		buf[len + 2] = 0x80;
		put_be64(buf + len + 4, info);
		len += 12;
	}
	if (x->csi) {
		/* Command-specific information descriptor: type 01h. */
		memset(buf + len, 0, 12);
		buf[len] = 0x01;
		buf[len + 1] = 0x0a;
		put_be64(buf + len + 4, x->csi);
		len += 12;
	}
	if (sks) {
		/* Sense key specific descriptor: type 02h, 8 bytes. */
		memset(buf + len, 0, 8);
		buf[len] = 0x02;
		buf[len + 1] = 0x06;
		memcpy(buf + len + 4, sks, 3);
		len += 8;
	}
	buf[7] = (uint8_t)(len - 8);
	return len;
}

static unsigned build(uint8_t *buf, bool descriptor, uint8_t key,
		      uint16_t asc, const struct sense_extra *x)
{
	if (descriptor)
		return build_descriptor(buf, key, asc, x);
	return build_fixed(buf, key, asc, x);
}

unsigned scsi_build_sense(uint8_t *buf, bool descriptor, uint8_t key,
			  uint16_t asc, const uint8_t *sks, bool info_valid,
			  uint64_t info)
{
	struct sense_extra x = { sks, info_valid, info, 0 };

	return build(buf, descriptor, key, asc, &x);
}

static bool wants_descriptor(const struct scsi_cmd *cmd)
{
	return cmd->lu && cmd->lu->sense_descriptor;
}

static void set_sense_x(struct scsi_cmd *cmd, uint8_t key, uint16_t asc,
			const struct sense_extra *x)
{
	cmd->status = SAM_STAT_CHECK_CONDITION;
	cmd->sense_len = (uint8_t)build(cmd->sense, wants_descriptor(cmd),
					key, asc, x);
}

static void set_sense(struct scsi_cmd *cmd, uint8_t key, uint16_t asc,
		      const uint8_t *sks, bool info_valid, uint64_t info)
{
	struct sense_extra x = { sks, info_valid, info, 0 };

	set_sense_x(cmd, key, asc, &x);
}

void scsi_set_sense_sks(struct scsi_cmd *cmd, uint8_t key, uint16_t asc,
			const uint8_t sks[3], uint32_t csi)
{
	struct sense_extra x = { sks, false, 0, csi };

	set_sense_x(cmd, key, asc, &x);
}

void scsi_set_sense(struct scsi_cmd *cmd, uint8_t key, uint16_t asc)
{
	set_sense(cmd, key, asc, NULL, false, 0);
}

void scsi_set_sense_info(struct scsi_cmd *cmd, uint8_t key, uint16_t asc,
			 uint64_t info)
{
	set_sense(cmd, key, asc, NULL, true, info);
}

void scsi_set_sense_field(struct scsi_cmd *cmd, uint16_t asc, bool in_cdb,
			  uint16_t byte, int bit)
{
	uint8_t sks[3];

	sks[0] = SKSV;
	if (in_cdb)
		sks[0] |= SKS_CD;
	if (bit >= 0 && bit <= 7)
		sks[0] |= SKS_BPV | (uint8_t)bit;
	put_be16(sks + 1, byte);
	set_sense(cmd, SK_ILLEGAL_REQUEST, asc, sks, false, 0);
}
