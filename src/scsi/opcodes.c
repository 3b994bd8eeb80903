/* The commands each device type supports, with their CDB usage data, and
 * REPORT SUPPORTED OPERATION CODES (SPC-4 6.35), which reports exactly
 * this table: what we advertise is what the dispatcher lets through.
 *
 * Usage data byte 0 is the opcode; the last byte is the CONTROL byte,
 * 00h because NACA and vendor bits are not supported. */
#include <string.h>

#include "common/byteorder.h"
#include "scsi/core.h"
#include "scsi/scsi.h"

#define LBA4 0xff, 0xff, 0xff, 0xff
#define LBA8 LBA4, LBA4

/* Byte 1 of READ/WRITE(10/12/16): DPO, FUA and FUA_NV (obsolete in SBC-4
 * and harmless); RDPROTECT/WRPROTECT are refused, as protection
 * information is not supported. */
#define RW_FLAGS 0x1a
/* Byte 1 of WRITE AND VERIFY: DPO and BYTCHK (one bit in SBC-3);
 * WRPROTECT is refused. */
#define WRV_FLAGS 0x12
/* Byte 1 of VERIFY: DPO and the two-bit BYTCHK (11b compares one block
 * with every block of the range); VRPROTECT is refused. */
#define VRFY_FLAGS 0x16

/* PERSISTENT RESERVE IN/OUT, one entry per service action (pr_in.c,
 * pr_out.c): ALLOCATION LENGTH; SCOPE, TYPE and PARAMETER LIST LENGTH. */
#define PR_IN(sa)                                                       \
	{ OP_PR_IN, sa, 10, OPF_SA, spc_pr_in,                          \
	  { OP_PR_IN, 0x1f, 0, 0, 0, 0, 0, 0xff, 0xff, 0 } }
#define PR_OUT(sa)                                                      \
	{ OP_PR_OUT, sa, 10, OPF_SA, spc_pr_out,                        \
	  { OP_PR_OUT, 0x1f, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0 } }

/* Block commands a disk and a CD/DVD drive share (SBC-3, MMC-6). */
#define START_STOP                                                      \
	{ OP_START_STOP_UNIT, 0, 6, 0, sbc_start_stop,                  \
	  { OP_START_STOP_UNIT, 0x01, 0, 0x0f, 0xf7, 0 } }
#define PREVENT_ALLOW                                                   \
	{ OP_PREVENT_ALLOW, 0, 6, 0, sbc_prevent_allow,                 \
	  { OP_PREVENT_ALLOW, 0, 0, 0, 0x03, 0 } }
#define READ_CAPACITY_10                                                \
	{ OP_READ_CAPACITY_10, 0, 10, OPF_MEDIUM, sbc_read_capacity10,  \
	  { OP_READ_CAPACITY_10, 0, LBA4, 0, 0, 0x01, 0 } }
#define READ_10                                                         \
	{ OP_READ_10, 0, 10, OPF_MEDIUM, sbc_read,                      \
	  { OP_READ_10, RW_FLAGS, LBA4, 0x1f, 0xff, 0xff, 0 } }
#define SYNC_CACHE_10                                                   \
	{ OP_SYNC_CACHE_10, 0, 10, OPF_MEDIUM, sbc_sync_cache,          \
	  { OP_SYNC_CACHE_10, 0x06, LBA4, 0x1f, 0xff, 0xff, 0 } }

/* Commands of every device type (SPC-4). */
static const struct scsi_op spc_ops[] = {
	{ OP_TEST_UNIT_READY, 0, 6, OPF_MEDIUM | OPF_WLUN, spc_test_unit_ready,
	  { OP_TEST_UNIT_READY, 0, 0, 0, 0, 0 } },
	{ OP_REQUEST_SENSE, 0, 6, OPF_NO_LU | OPF_WLUN, spc_request_sense,
	  { OP_REQUEST_SENSE, 0x01, 0, 0, 0xff, 0 } },
	{ OP_INQUIRY, 0, 6, OPF_NO_LU | OPF_WLUN, spc_inquiry,
	  { OP_INQUIRY, 0x01, 0xff, 0xff, 0xff, 0 } },
	{ OP_MODE_SELECT_6, 0, 6, 0, spc_mode_select,
	  { OP_MODE_SELECT_6, 0x11, 0, 0, 0xff, 0 } },
	{ OP_MODE_SENSE_6, 0, 6, 0, spc_mode_sense,
	  { OP_MODE_SENSE_6, 0x08, 0xff, 0xff, 0xff, 0 } },
	{ OP_MODE_SELECT_10, 0, 10, 0, spc_mode_select,
	  { OP_MODE_SELECT_10, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff, 0 } },
	{ OP_MODE_SENSE_10, 0, 10, 0, spc_mode_sense,
	  { OP_MODE_SENSE_10, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0 } },
	{ OP_REPORT_LUNS, 0, 12, OPF_NO_LU | OPF_WLUN, spc_report_luns,
	  { OP_REPORT_LUNS, 0, 0xff, 0, 0, 0, LBA4, 0, 0 } },
	{ OP_MAINTENANCE_IN, MI_REPORT_SUPPORTED_OPCODES, 12, OPF_SA,
	  spc_report_opcodes,
	  { OP_MAINTENANCE_IN, 0x1f, 0x87, 0xff, 0xff, 0xff, LBA4, 0, 0 } },
	/* SPC-2 reservations: no third-party or extent reservations. */
	{ OP_RESERVE_6, 0, 6, 0, spc_reserve, { OP_RESERVE_6, 0, 0, 0, 0, 0 } },
	{ OP_RELEASE_6, 0, 6, 0, spc_release, { OP_RELEASE_6, 0, 0, 0, 0, 0 } },
	{ OP_RESERVE_10, 0, 10, 0, spc_reserve,
	  { OP_RESERVE_10, 0, 0, 0, 0, 0, 0, 0, 0, 0 } },
	{ OP_RELEASE_10, 0, 10, 0, spc_release,
	  { OP_RELEASE_10, 0, 0, 0, 0, 0, 0, 0, 0, 0 } },
	PR_IN(0x00), PR_IN(0x01), PR_IN(0x02), PR_IN(0x03),
	PR_OUT(0x00), PR_OUT(0x01), PR_OUT(0x02), PR_OUT(0x03),
	PR_OUT(0x04), PR_OUT(0x05), PR_OUT(0x06), PR_OUT(0x07),
};

/* Direct-access block device commands (SBC-3). */
static const struct scsi_op sbc_ops[] = {
	{ OP_READ_6, 0, 6, OPF_MEDIUM, sbc_read,
	  { OP_READ_6, 0x1f, 0xff, 0xff, 0xff, 0 } },
	{ OP_WRITE_6, 0, 6, OPF_MEDIUM, sbc_write,
	  { OP_WRITE_6, 0x1f, 0xff, 0xff, 0xff, 0 } },
	START_STOP, PREVENT_ALLOW, READ_CAPACITY_10, READ_10,
	{ OP_WRITE_10, 0, 10, OPF_MEDIUM, sbc_write,
	  { OP_WRITE_10, RW_FLAGS, LBA4, 0x1f, 0xff, 0xff, 0 } },
	{ OP_WRITE_VERIFY_10, 0, 10, OPF_MEDIUM, sbc_write,
	  { OP_WRITE_VERIFY_10, WRV_FLAGS, LBA4, 0x1f, 0xff, 0xff, 0 } },
	{ OP_VERIFY_10, 0, 10, OPF_MEDIUM, sbc_verify,
	  { OP_VERIFY_10, VRFY_FLAGS, LBA4, 0x1f, 0xff, 0xff, 0 } },
	SYNC_CACHE_10,
	{ OP_READ_16, 0, 16, OPF_MEDIUM, sbc_read,
	  { OP_READ_16, RW_FLAGS, LBA8, LBA4, 0x3f, 0 } },
	/* NUMBER OF LOGICAL BLOCKS in byte 13, GROUP NUMBER in 14. */
	{ OP_COMPARE_AND_WRITE, 0, 16, OPF_MEDIUM, sbc_compare_and_write,
	  { OP_COMPARE_AND_WRITE, RW_FLAGS, LBA8, 0, 0, 0, 0xff, 0x1f, 0 } },
	{ OP_WRITE_16, 0, 16, OPF_MEDIUM, sbc_write,
	  { OP_WRITE_16, RW_FLAGS, LBA8, LBA4, 0x3f, 0 } },
	{ OP_WRITE_VERIFY_16, 0, 16, OPF_MEDIUM, sbc_write,
	  { OP_WRITE_VERIFY_16, WRV_FLAGS, LBA8, LBA4, 0x3f, 0 } },
	{ OP_VERIFY_16, 0, 16, OPF_MEDIUM, sbc_verify,
	  { OP_VERIFY_16, VRFY_FLAGS, LBA8, LBA4, 0x3f, 0 } },
	{ OP_SYNC_CACHE_16, 0, 16, OPF_MEDIUM, sbc_sync_cache,
	  { OP_SYNC_CACHE_16, 0x06, LBA8, LBA4, 0x3f, 0 } },
	{ OP_SERVICE_ACTION_IN_16, SAI_READ_CAPACITY_16, 16,
	  OPF_MEDIUM | OPF_SA, sbc_read_capacity16,
	  { OP_SERVICE_ACTION_IN_16, 0x1f, LBA8, LBA4, 0x01, 0 } },
	{ OP_READ_12, 0, 12, OPF_MEDIUM, sbc_read,
	  { OP_READ_12, RW_FLAGS, LBA4, LBA4, 0x1f, 0 } },
	{ OP_WRITE_12, 0, 12, OPF_MEDIUM, sbc_write,
	  { OP_WRITE_12, RW_FLAGS, LBA4, LBA4, 0x1f, 0 } },
	{ OP_WRITE_VERIFY_12, 0, 12, OPF_MEDIUM, sbc_write,
	  { OP_WRITE_VERIFY_12, WRV_FLAGS, LBA4, LBA4, 0x1f, 0 } },
	{ OP_VERIFY_12, 0, 12, OPF_MEDIUM, sbc_verify,
	  { OP_VERIFY_12, VRFY_FLAGS, LBA4, LBA4, 0x1f, 0 } },
	/* PRE-FETCH: IMMED accepted (status is immediate anyway). */
	{ OP_PRE_FETCH_10, 0, 10, OPF_MEDIUM, sbc_prefetch,
	  { OP_PRE_FETCH_10, 0x02, LBA4, 0x1f, 0xff, 0xff, 0 } },
	{ OP_PRE_FETCH_16, 0, 16, OPF_MEDIUM, sbc_prefetch,
	  { OP_PRE_FETCH_16, 0x02, LBA8, LBA4, 0x1f, 0 } },
	/* READ DEFECT DATA: REQ_PLIST, REQ_GLIST, DEFECT LIST FORMAT;
	 * (12) has an ADDRESS DESCRIPTOR INDEX, meaningless for an empty
	 * list but accepted. */
	{ OP_READ_DEFECT_DATA_10, 0, 10, OPF_MEDIUM, sbc_read_defect_data,
	  { OP_READ_DEFECT_DATA_10, 0, 0x1f, 0, 0, 0, 0, 0xff, 0xff, 0 } },
	{ OP_READ_DEFECT_DATA_12, 0, 12, OPF_MEDIUM, sbc_read_defect_data,
	  { OP_READ_DEFECT_DATA_12, 0x1f, LBA4, LBA4, 0, 0 } },
	/* ORWRITE(16): as WRITE(16); ORPROTECT is refused. */
	{ OP_ORWRITE_16, 0, 16, OPF_MEDIUM, sbc_orwrite,
	  { OP_ORWRITE_16, RW_FLAGS, LBA8, LBA4, 0x1f, 0 } },
	/* EXTENDED COPY(LID1) and RECEIVE COPY RESULTS COPY STATUS and
	 * OPERATING PARAMETERS (xcopy.c, copy_results.c). */
	{ OP_EXTENDED_COPY, 0x00, 16, OPF_MEDIUM | OPF_SA, spc_extended_copy,
	  { OP_EXTENDED_COPY, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, LBA4, 0, 0 } },
	{ OP_RECEIVE_COPY_RESULTS, 0x00, 16, OPF_SA, spc_receive_copy_results,
	  { OP_RECEIVE_COPY_RESULTS, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, LBA4,
	    0, 0 } },
	{ OP_RECEIVE_COPY_RESULTS, 0x03, 16, OPF_SA, spc_receive_copy_results,
	  { OP_RECEIVE_COPY_RESULTS, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, LBA4, 0,
	    0 } },
	/* SANITIZE (sanitize.c): IMMED, AUSE; BLOCK ERASE only where
	 * deallocated blocks read as zeros. */
	{ OP_SANITIZE, 0x01, 10, OPF_MEDIUM | OPF_SA, sbc_sanitize,
	  { OP_SANITIZE, 0xbf, 0, 0, 0, 0, 0, 0xff, 0xff, 0 } },
	{ OP_SANITIZE, 0x02, 10, OPF_MEDIUM | OPF_SA | OPF_LBPRZ, sbc_sanitize,
	  { OP_SANITIZE, 0xbf, 0, 0, 0, 0, 0, 0xff, 0xff, 0 } },
	{ OP_SANITIZE, 0x1f, 10, OPF_MEDIUM | OPF_SA, sbc_sanitize,
	  { OP_SANITIZE, 0xbf, 0, 0, 0, 0, 0, 0xff, 0xff, 0 } },
	/* Thin provisioning (provisioning.c). ANCHOR is refused everywhere
	 * (ANC_SUP = 0); WRITE SAME takes the UNMAP bit, (16) also NDOB.
	 * UNMAP exists only on a thin LU. */
	{ OP_UNMAP, 0, 10, OPF_MEDIUM | OPF_THIN, sbc_unmap,
	  { OP_UNMAP, 0, 0, 0, 0, 0, 0x1f, 0xff, 0xff, 0 } },
	{ OP_WRITE_SAME_10, 0, 10, OPF_MEDIUM, sbc_write_same,
	  { OP_WRITE_SAME_10, 0x08, LBA4, 0x1f, 0xff, 0xff, 0 } },
	{ OP_WRITE_SAME_16, 0, 16, OPF_MEDIUM, sbc_write_same,
	  { OP_WRITE_SAME_16, 0x09, LBA8, LBA4, 0x1f, 0 } },
	{ OP_SERVICE_ACTION_IN_16, SAI_GET_LBA_STATUS, 16,
	  OPF_MEDIUM | OPF_SA, sbc_get_lba_status,
	  { OP_SERVICE_ACTION_IN_16, 0x1f, LBA8, LBA4, 0, 0 } },
};

/* Read-only CD/DVD drive commands (MMC-6, mmc.c): tgt's set without
 * the recording ones (a disc image is finalized), plus GET EVENT STATUS
 * NOTIFICATION and MECHANISM STATUS that MMC-6 requires of every drive.
 * Reads are block reads (rw.c); writes reach mmc_write, which refuses
 * them as tgt does. */
static const struct scsi_op mmc_ops[] = {
	START_STOP, PREVENT_ALLOW, READ_CAPACITY_10, READ_10,
	{ OP_WRITE_10, 0, 10, OPF_MEDIUM, mmc_write,
	  { OP_WRITE_10, RW_FLAGS, LBA4, 0x1f, 0xff, 0xff, 0 } },
	SYNC_CACHE_10,
	/* MSF, FORMAT, TRACK/SESSION NUMBER; the old (SFF-8020) format
	 * field in the top bits of the last byte. */
	{ OP_READ_TOC, 0, 10, OPF_MEDIUM, mmc_read_toc,
	  { OP_READ_TOC, 0x02, 0x0f, 0, 0, 0, 0xff, 0xff, 0xff, 0xc0 } },
	/* RT, STARTING FEATURE NUMBER */
	{ OP_GET_CONFIGURATION, 0, 10, 0, mmc_get_configuration,
	  { OP_GET_CONFIGURATION, 0x03, 0xff, 0xff, 0, 0, 0, 0xff, 0xff,
	    0 } },
	/* POLLED, NOTIFICATION CLASS REQUEST */
	{ OP_GET_EVENT_STATUS, 0, 10, 0, mmc_get_event_status,
	  { OP_GET_EVENT_STATUS, 0x01, 0, 0, 0xff, 0, 0, 0xff, 0xff, 0 } },
	{ OP_READ_DISC_INFO, 0, 10, OPF_MEDIUM, mmc_read_disc_info,
	  { OP_READ_DISC_INFO, 0x07, 0, 0, 0, 0, 0, 0xff, 0xff, 0 } },
	{ OP_READ_TRACK_INFO, 0, 10, OPF_MEDIUM, mmc_read_track_info,
	  { OP_READ_TRACK_INFO, 0x03, LBA4, 0, 0xff, 0xff, 0 } },
	/* READ(12): STREAMING is accepted and means nothing here. */
	{ OP_READ_12, 0, 12, OPF_MEDIUM, sbc_read,
	  { OP_READ_12, RW_FLAGS, LBA4, LBA4, 0x9f, 0 } },
	{ OP_WRITE_12, 0, 12, OPF_MEDIUM, mmc_write,
	  { OP_WRITE_12, RW_FLAGS, LBA4, LBA4, 0x9f, 0 } },
	/* DATA TYPE, STARTING LBA, MAXIMUM NUMBER OF DESCRIPTORS, TYPE */
	{ OP_GET_PERFORMANCE, 0, 12, OPF_MEDIUM, mmc_get_performance,
	  { OP_GET_PERFORMANCE, 0x1f, LBA4, 0, 0, 0xff, 0xff, 0xff, 0 } },
	/* ROTATIONAL CONTROL, READ and WRITE SPEED */
	{ OP_SET_CD_SPEED, 0, 12, 0, mmc_set_cd_speed,
	  { OP_SET_CD_SPEED, 0x03, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0,
	    0 } },
	{ OP_MECHANISM_STATUS, 0, 12, 0, mmc_mechanism_status,
	  { OP_MECHANISM_STATUS, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0 } },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct op_table {
	const struct scsi_op *ops;
	size_t n;
};

/* The tables of a device type, most specific first. Types other than
 * disk and CD/DVD get the SPC commands only (LUN 0, the controller, is
 * one). */
static size_t tables_for(uint8_t type, struct op_table out[2])
{
	size_t n = 0;

	if (type == SCSI_TYPE_DISK)
		out[n++] = (struct op_table){ sbc_ops, N(sbc_ops) };
	else if (type == SCSI_TYPE_MMC)
		out[n++] = (struct op_table){ mmc_ops, N(mmc_ops) };
	out[n++] = (struct op_table){ spc_ops, N(spc_ops) };
	return n;
}

static bool op_matches(const struct scsi_op *op, uint8_t opcode, uint8_t sa)
{
	return op->opcode == opcode && (!(op->flags & OPF_SA) || op->sa == sa);
}

/* Whether the LU offers the command: some depend on its configuration
 * and store (UNMAP only on a thin LU whose store can deallocate). */
static bool op_available(const struct scsi_op *op, const struct scsi_lu *lu)
{
	if ((op->flags & OPF_THIN) && !sbc_thin(lu))
		return false;
	return !(op->flags & OPF_LBPRZ) || sbc_lbprz(lu);
}

static const struct scsi_op *find(const struct scsi_lu *lu, uint8_t opcode,
				  uint8_t sa, bool *known)
{
	struct op_table t[2];
	size_t nt = tables_for(lu->type, t);

	*known = false;
	for (size_t i = 0; i < nt; i++) {
		for (size_t j = 0; j < t[i].n; j++) {
			const struct scsi_op *op = &t[i].ops[j];

			if (op->opcode != opcode || !op_available(op, lu))
				continue;
			*known = true;
			if (op_matches(op, opcode, sa))
				return op;
		}
	}
	return NULL;
}

const struct scsi_op *scsi_op_find(const struct scsi_lu *lu,
				   const uint8_t *cdb, bool *known)
{
	return find(lu, cdb[0], cdb[1] & 0x1f, known);
}

const struct scsi_op *scsi_op_find_no_lu(const uint8_t *cdb, bool wlun)
{
	uint8_t flag = wlun ? OPF_WLUN : OPF_NO_LU;

	for (size_t i = 0; i < N(spc_ops); i++)
		if ((spc_ops[i].flags & flag) &&
		    op_matches(&spc_ops[i], cdb[0], cdb[1] & 0x1f))
			return &spc_ops[i];
	return NULL;
}

unsigned scsi_cdb_group_len(uint8_t opcode)
{
	static const unsigned len[8] = { 6, 10, 10, 0, 16, 12, 0, 0 };

	return len[opcode >> 5];
}

/* REPORT SUPPORTED OPERATION CODES ---------------------------------- */

#define RSOC_RCTD 0x80
#define TIMEOUTS_LEN 12

/* Command timeouts descriptor: no nominal or recommended timeout. */
static size_t put_timeouts(uint8_t *p)
{
	memset(p, 0, TIMEOUTS_LEN);
	put_be16(p, TIMEOUTS_LEN - 2);
	return TIMEOUTS_LEN;
}

static size_t put_descriptor(uint8_t *p, const struct scsi_op *op, bool rctd)
{
	memset(p, 0, 8);
	p[0] = op->opcode;
	if (op->flags & OPF_SA) {
		put_be16(p + 2, op->sa);
		p[5] |= 0x01; /* SERVACTV */
	}
	if (rctd)
		p[5] |= 0x02; /* CTDP */
	put_be16(p + 6, op->cdb_len);
	return 8 + (rctd ? put_timeouts(p + 8) : 0);
}

static enum scsi_result report_all(struct scsi_cmd *cmd, bool rctd,
				   uint32_t alloc)
{
	uint8_t buf[4 + (N(spc_ops) + N(sbc_ops) + N(mmc_ops)) *
			    (8 + TIMEOUTS_LEN)];
	struct op_table t[2];
	size_t nt = tables_for(cmd->lu->type, t);
	size_t len = 4;

	for (size_t i = 0; i < nt; i++)
		for (size_t j = 0; j < t[i].n; j++)
			if (op_available(&t[i].ops[j], cmd->lu))
				len += put_descriptor(buf + len, &t[i].ops[j],
						      rctd);
	put_be32(buf, (uint32_t)(len - 4));
	return scsi_reply(cmd, buf, len, alloc);
}

static size_t put_one(uint8_t *buf, const struct scsi_op *op, bool rctd)
{
	size_t len = 4;

	memset(buf, 0, 4);
	if (!op) {
		buf[1] = 0x01; /* SUPPORT: not supported */
		return len;
	}
	buf[1] = 0x03; /* SUPPORT: supported as the standard says */
	if (rctd)
		buf[1] |= 0x80; /* CTDP */
	put_be16(buf + 2, op->cdb_len);
	memcpy(buf + 4, op->usage, op->cdb_len);
	/* For a service-action command byte 1 holds the service action
	 * itself, the rest of that byte is reserved. */
	if (op->flags & OPF_SA)
		buf[5] = (uint8_t)((op->usage[1] & ~0x1f) | op->sa);
	len += op->cdb_len;
	if (rctd)
		len += put_timeouts(buf + len);
	return len;
}

static enum scsi_result report_one(struct scsi_cmd *cmd, unsigned options,
				   bool rctd, uint32_t alloc)
{
	uint8_t buf[4 + 16 + TIMEOUTS_LEN];
	uint8_t opcode = cmd->cdb[3];
	uint16_t sa = get_be16(cmd->cdb + 4);
	const struct scsi_op *op;
	bool known, has_sa;

	op = find(cmd->lu, opcode, 0, &known);
	/* Whether the opcode uses service actions at all. */
	has_sa = known && (!op || (op->flags & OPF_SA));
	if ((options == 1 && has_sa) || (options == 2 && known && !has_sa))
		return scsi_bad_cdb(cmd, 2, 2);
	if (has_sa)
		op = sa > 0x1f ? NULL : find(cmd->lu, opcode, (uint8_t)sa,
					     &known);
	return scsi_reply(cmd, buf, put_one(buf, op, rctd), alloc);
}

enum scsi_result spc_report_opcodes(struct scsi_cmd *cmd)
{
	unsigned options = cmd->cdb[2] & 0x07;
	bool rctd = cmd->cdb[2] & RSOC_RCTD;
	uint32_t alloc = get_be32(cmd->cdb + 6);

	switch (options) {
	case 0:
		return report_all(cmd, rctd, alloc);
	case 1:
	case 2:
	case 3:
		return report_one(cmd, options, rctd, alloc);
	default:
		return scsi_bad_cdb(cmd, 2, 2);
	}
}
