/* PERSISTENT RESERVE IN (SPC-4 6.15): READ KEYS, READ RESERVATION,
 * REPORT CAPABILITIES and READ FULL STATUS. Each reply is built whole and
 * cut to the ALLOCATION LENGTH; the length fields always describe the
 * whole reply (SPC-4 4.2.5.6). */
#include <stdlib.h>
#include <string.h>

#include "common/byteorder.h"
#include "scsi/core.h"
#include "scsi/pr.h"
#include "scsi/scsi.h"

#define PRIN_READ_KEYS 0x00
#define PRIN_READ_RESERVATION 0x01
#define PRIN_REPORT_CAPABILITIES 0x02
#define PRIN_READ_FULL_STATUS 0x03

#define HEADER_LEN 8         /* PRGENERATION, ADDITIONAL LENGTH */
#define RESERVATION_LEN 16   /* the reservation descriptor */
#define STATUS_HEADER_LEN 24 /* full status descriptor before its TID */
#define RELATIVE_PORT 1      /* the target's only target port */

/* REPORT CAPABILITIES byte 2 and 3 bits (SPC-4 6.15.4). */
#define CAP_CRH 0x10
#define CAP_SIP_C 0x08
#define CAP_ATP_C 0x04
#define CAP_PTPL_C 0x01
#define CAP_TMV 0x80
#define CAP_ALLOW_TUR 0x10 /* ALLOW COMMANDS 001b: TUR through WE/EA */
#define CAP_PTPL_A 0x01

/* The PERSISTENT RESERVATION TYPE MASK: every type. */
#define MASK_WR_EX_AR 0x80
#define MASK_EX_AC_RO 0x40
#define MASK_WR_EX_RO 0x20
#define MASK_EX_AC 0x08
#define MASK_WR_EX 0x02
#define MASK_EX_AC_AR 0x01 /* byte 5 */

static void put_header(uint8_t *buf, const struct pr_state *st, size_t len)
{
	put_be32(buf, st->generation);
	put_be32(buf + 4, (uint32_t)(len - HEADER_LEN));
}

/* Replies with buf (len bytes, malloc'd) and frees it. */
static enum scsi_result reply_free(struct scsi_cmd *cmd, uint8_t *buf,
				   size_t len)
{
	enum scsi_result res = scsi_reply(cmd, buf, len,
					  get_be16(cmd->cdb + 7));

	free(buf);
	return res;
}

static uint8_t *alloc_reply(struct scsi_cmd *cmd, size_t len)
{
	uint8_t *buf = calloc(1, len);

	if (!buf)
		cmd->status = SAM_STAT_BUSY;
	return buf;
}

static enum scsi_result read_keys(struct scsi_cmd *cmd,
				  const struct pr_state *st)
{
	size_t len = HEADER_LEN + 8 * (size_t)st->nr;
	uint8_t *buf = alloc_reply(cmd, len);

	if (!buf)
		return SCSI_DONE;
	for (unsigned i = 0; i < st->nr; i++)
		put_be64(buf + HEADER_LEN + 8 * i, st->regs[i].key);
	put_header(buf, st, len);
	return reply_free(cmd, buf, len);
}

/* The key of the reservation: zero for the all-registrants types. */
static uint64_t reservation_key(const struct pr_state *st)
{
	if (pr_all_registrants(st->type))
		return 0;
	for (unsigned i = 0; i < st->nr; i++)
		if (st->regs[i].holder)
			return st->regs[i].key;
	return 0;
}

static enum scsi_result read_reservation(struct scsi_cmd *cmd,
					 const struct pr_state *st)
{
	uint8_t buf[HEADER_LEN + RESERVATION_LEN] = { 0 };
	size_t len = HEADER_LEN;

	if (st->type != PR_TYPE_NONE) {
		put_be64(buf + 8, reservation_key(st));
		buf[21] = PR_SCOPE_LU << 4 | st->type;
		len += RESERVATION_LEN;
	}
	put_header(buf, st, len);
	return scsi_reply(cmd, buf, len, get_be16(cmd->cdb + 7));
}

static enum scsi_result report_capabilities(struct scsi_cmd *cmd,
					    const struct scsi_pr *pr)
{
	uint8_t buf[8] = { 0 };

	put_be16(buf, sizeof(buf));
	buf[2] = CAP_CRH | CAP_SIP_C | CAP_ATP_C | (pr->path ? CAP_PTPL_C : 0);
	buf[3] = CAP_TMV | CAP_ALLOW_TUR |
		 (pr->path && pr->st.aptpl && pr->st.nr ? CAP_PTPL_A : 0);
	buf[4] = MASK_WR_EX_AR | MASK_EX_AC_RO | MASK_WR_EX_RO | MASK_EX_AC |
		 MASK_WR_EX;
	buf[5] = MASK_EX_AC_AR;
	return scsi_reply(cmd, buf, sizeof(buf), get_be16(cmd->cdb + 7));
}

static size_t put_status(uint8_t *d, const struct pr_state *st, unsigned i)
{
	const struct pr_reg *r = &st->regs[i];
	unsigned tid_len;

	put_be64(d, r->key);
	if (r->all_tg_pt)
		d[12] |= 0x02; /* ALL_TG_PT */
	if (pr_is_holder(st, i)) {
		d[12] |= 0x01; /* R_HOLDER */
		d[13] = PR_SCOPE_LU << 4 | st->type;
	}
	put_be16(d + 18, RELATIVE_PORT);
	tid_len = pr_tid_build(&r->port, d + STATUS_HEADER_LEN);
	put_be32(d + 20, tid_len);
	return STATUS_HEADER_LEN + tid_len;
}

static enum scsi_result read_full_status(struct scsi_cmd *cmd,
					 const struct pr_state *st)
{
	size_t len = HEADER_LEN;
	uint8_t *buf = alloc_reply(cmd, HEADER_LEN + (size_t)st->nr *
						 (STATUS_HEADER_LEN +
						  PR_TID_MAX));

	if (!buf)
		return SCSI_DONE;
	for (unsigned i = 0; i < st->nr; i++)
		len += put_status(buf + len, st, i);
	put_header(buf, st, len);
	return reply_free(cmd, buf, len);
}

enum scsi_result spc_pr_in(struct scsi_cmd *cmd)
{
	const struct scsi_pr *pr = cmd->lu->pr;

	switch (cmd->cdb[1] & 0x1f) {
	case PRIN_READ_KEYS:
		return read_keys(cmd, &pr->st);
	case PRIN_READ_RESERVATION:
		return read_reservation(cmd, &pr->st);
	case PRIN_REPORT_CAPABILITIES:
		return report_capabilities(cmd, pr);
	case PRIN_READ_FULL_STATUS:
		return read_full_status(cmd, &pr->st);
	default:
		return scsi_bad_cdb(cmd, 1, 4);
	}
}
