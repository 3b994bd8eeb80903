/* Primary commands every logical unit answers (SPC-4): TEST UNIT READY,
 * INQUIRY (standard data here, VPD pages in vpd.c), REQUEST SENSE and
 * REPORT LUNS. INQUIRY, REQUEST SENSE and REPORT LUNS also run for a LUN
 * that does not exist (cmd->lu == NULL). */
#include <stdlib.h>
#include <string.h>

#include "common/byteorder.h"
#include "scsi/core.h"
#include "scsi/scsi.h"
#include "target/target.h"

/* Peripheral qualifier 011b, device type 1Fh: "no logical unit here". */
#define NO_LU_PERIPHERAL 0x7f
/* Qualifier 000b, device type 1Eh: a well known logical unit. */
#define WELL_KNOWN_LU 0x1e

/* Version descriptors (SPC-4 table 31), "no version claimed" forms. */
#define VD_SAM5 0x00a0
#define VD_ISCSI 0x0960
#define VD_SPC4 0x0460
#define VD_SBC3 0x04c0
#define VD_MMC3 0x02a0 /* what tgt's CD/DVD drive claims */

#define STD_INQ_LEN 74 /* 58 bytes + 8 version descriptors */
#define STD_INQ_MIN 36

enum scsi_result spc_test_unit_ready(struct scsi_cmd *cmd)
{
	/* The dispatcher already answered NOT READY for a missing medium. */
	(void)cmd;
	return SCSI_DONE;
}

static size_t put_versions(uint8_t *p, const struct scsi_lu *lu)
{
	size_t n = 0;

	put_be16(p + 2 * n++, VD_SAM5);
	put_be16(p + 2 * n++, VD_ISCSI);
	put_be16(p + 2 * n++, VD_SPC4);
	if (lu->type == SCSI_TYPE_DISK)
		put_be16(p + 2 * n++, VD_SBC3);
	else if (lu->type == SCSI_TYPE_MMC)
		put_be16(p + 2 * n++, VD_MMC3);
	return n;
}

static bool well_known(const struct scsi_cmd *cmd)
{
	return !cmd->lu && cmd->lun == SCSI_LUN_REPORT_LUNS;
}

static size_t standard_inquiry(const struct scsi_cmd *cmd, uint8_t *buf)
{
	const struct scsi_lu *lu = cmd->lu;
	size_t len = lu ? STD_INQ_LEN : STD_INQ_MIN;

	memset(buf, 0, len);
	buf[2] = 0x06; /* VERSION: SPC-4 */
	buf[3] = 0x02; /* RESPONSE DATA FORMAT 2 */
	buf[4] = (uint8_t)(len - 5);
	if (!lu) {
		buf[0] = well_known(cmd) ? WELL_KNOWN_LU : NO_LU_PERIPHERAL;
		return len;
	}
	buf[0] = lu->type;
	buf[1] = lu->removable ? 0x80 : 0;
	/* 3PC: a disk is a copy manager (EXTENDED COPY, xcopy.c). */
	buf[5] = lu->type == SCSI_TYPE_DISK ? 0x08 : 0;
	buf[7] = 0x02; /* CMDQUE: full task management model */
	scsi_pad_ascii(buf + 8, lu->vendor_id, 8);
	scsi_pad_ascii(buf + 16, lu->product_id, 16);
	scsi_pad_ascii(buf + 32, lu->product_rev, 4);
	put_versions(buf + 58, lu);
	return len;
}

enum scsi_result spc_inquiry(struct scsi_cmd *cmd)
{
	uint8_t buf[SCSI_VPD_MAX];
	uint16_t alloc = get_be16(cmd->cdb + 3);
	uint8_t page = cmd->cdb[2];
	size_t len;

	if (!(cmd->cdb[1] & 0x01)) {
		/* A page code without EVPD is an error (SPC-4 6.6.1). */
		if (page)
			return scsi_bad_cdb(cmd, 2, 7);
		len = standard_inquiry(cmd, buf);
	} else {
		len = scsi_vpd_page(cmd, cmd->lu, page, buf);
		if (!len)
			return scsi_bad_cdb(cmd, 2, 7);
	}
	return scsi_reply(cmd, buf, len, alloc);
}

/* The condition REQUEST SENSE describes: a pending unit attention (which
 * it clears, SPC-4 5.14.2), a sanitize in progress (with its progress in
 * sks), a missing medium, or nothing. */
static uint8_t current_condition(struct scsi_cmd *cmd, uint16_t *asc,
				 uint8_t sks[3])
{
	*asc = ASC_NO_ADDITIONAL_SENSE;
	if (well_known(cmd))
		return SK_NO_SENSE;
	if (!cmd->lu) {
		*asc = ASC_LUN_NOT_SUPPORTED;
		return SK_ILLEGAL_REQUEST;
	}
	if (cmd->nexus && scsi_ua_take(cmd->nexus, cmd->lu->lun, asc))
		return SK_UNIT_ATTENTION;
	if (cmd->lu->sanitize) {
		sks[0] = 0x80; /* SKSV: PROGRESS INDICATION */
		put_be16(sks + 1, sbc_sanitize_progress(cmd->lu));
		*asc = ASC_SANITIZE_IN_PROGRESS;
		return SK_NOT_READY;
	}
	if (!cmd->lu->online) {
		*asc = ASC_MEDIUM_NOT_PRESENT;
		return SK_NOT_READY;
	}
	return SK_NO_SENSE;
}

enum scsi_result spc_request_sense(struct scsi_cmd *cmd)
{
	uint8_t buf[SCSI_SENSE_MAX], sks[3] = { 0 };
	bool desc = cmd->cdb[1] & 0x01;
	uint16_t asc;
	uint8_t key = current_condition(cmd, &asc, sks);
	unsigned len = scsi_build_sense(buf, desc, key, asc,
					sks[0] ? sks : NULL, false, 0);

	return scsi_reply(cmd, buf, len, cmd->cdb[4]);
}

static size_t count_lus(const struct target *t)
{
	const struct scsi_lu *lu;
	size_t n = 0;

	list_for_each_entry(lu, &t->lus, node)
		n += !lu->fenced;
	return n;
}

#define SELECT_LUS 0x00        /* the LUs */
#define SELECT_WELL_KNOWN 0x01 /* the well known LUs */
#define SELECT_ALL 0x02        /* both */

/* LUN inventory (SPC-4 6.33): the LUs, and the one well known LU, the
 * REPORT LUNS W-LUN, as SELECT REPORT asks. */
static size_t fill_lun_list(const struct target *t, uint8_t select,
			    uint8_t *buf)
{
	const struct scsi_lu *lu;
	size_t len = 8;

	memset(buf, 0, 8);
	if (t && select != SELECT_WELL_KNOWN) {
		list_for_each_entry(lu, &t->lus, node) {
			if (lu->fenced) /* being deleted: gone already */
				continue;
			scsi_lun_to_wire(lu->lun, buf + len);
			len += 8;
		}
	}
	if (select != SELECT_LUS) {
		scsi_lun_to_wire(SCSI_LUN_REPORT_LUNS, buf + len);
		len += 8;
	}
	put_be32(buf, (uint32_t)(len - 8));
	return len;
}

enum scsi_result spc_report_luns(struct scsi_cmd *cmd)
{
	struct target *t = cmd->nexus ? cmd->nexus->target : NULL;
	uint32_t alloc = get_be32(cmd->cdb + 6);
	uint8_t select = cmd->cdb[2];
	enum scsi_result res;
	uint8_t *buf;
	size_t len;

	if (select > SELECT_ALL)
		return scsi_bad_cdb(cmd, 2, 7);
	/* SPC-3 and tgt require room for at least one LUN. */
	if (alloc < 16)
		return scsi_bad_cdb(cmd, 6, 7);
	buf = malloc(8 + 8 * (1 + (t ? count_lus(t) : 0)));
	if (!buf) {
		cmd->status = SAM_STAT_BUSY;
		return SCSI_DONE;
	}
	len = fill_lun_list(t, select, buf);
	res = scsi_reply(cmd, buf, len, alloc);
	free(buf);
	/* The initiator now knows the inventory (SPC-4 6.33). */
	if (cmd->nexus && cmd->status == SAM_STAT_GOOD)
		scsi_ua_clear_asc(cmd->nexus, ASC_REPORTED_LUNS_DATA_CHANGED);
	return res;
}
