/* Entry point of the SCSI core: find the logical unit, report a pending
 * unit attention, look the opcode up, check the CDB against what the
 * opcode allows, and run its handler.
 *
 * Order of checks (SAM-5 5.14, SPC-4 5.14.2 and 4.2.5): an unknown LUN
 * fails everything but INQUIRY, REPORT LUNS and REQUEST SENSE; then a
 * unit attention is reported for anything but those three; then the
 * opcode and the CDB fields are validated; then the reservations must
 * let the command through (pr_access.c); then the medium must be there
 * for commands that touch it. */
#include <stdlib.h>
#include <string.h>

#include "common/byteorder.h"
#include "common/log.h"
#include "event/bufpool.h"
#include "event/loop.h"
#include "scsi/core.h"
#include "scsi/scsi.h"
#include "target/target.h"

struct scsi_lu *scsi_find_lu(struct target *target, uint64_t lun)
{
	struct scsi_lu *lu;

	if (!target)
		return NULL;
	/* target->lus is in ascending LUN order: stop at the first larger. */
	list_for_each_entry(lu, &target->lus, node) {
		if (lu->lun == lun)
			return lu->fenced ? NULL : lu;
		if (lu->lun > lun)
			break;
	}
	return NULL;
}

void scsi_cmd_finish(struct scsi_cmd *cmd)
{
	/* A command leaves the LU's range lock when it ends, however it
	 * ends; commands parked behind it may run now. */
	scsi_range_release(cmd);
	scsi_stats_end(cmd);
	cmd->done(cmd);
}

/* The aborted command ends from the loop, not inside the transport's
 * abort (which may be walking its task lists); the LU it held stays
 * until then. */
static void aborted_on_loop(struct ev_loop *loop, void *arg)
{
	struct scsi_cmd *cmd = arg;

	(void)loop;
	cmd->lu->inflight--;
	scsi_cmd_finish(cmd);
}

/* Only a SANITIZE runs on for long enough to be worth ending early; the
 * other commands' aborts wait for their store requests. Its own bs_io is
 * idle (the operation has one of its own), so its work item carries the
 * completion. */
void scsi_cmd_abort(struct scsi_cmd *cmd)
{
	if (cmd->cdb[0] != OP_SANITIZE || !cmd->priv)
		return;
	sbc_sanitize_abort(cmd);
	cmd->status = SAM_STAT_TASK_ABORTED;
	cmd->lu->inflight++;
	ev_post(cmd->loop, &cmd->io.work, aborted_on_loop, cmd);
}

enum scsi_result scsi_fail(struct scsi_cmd *cmd, uint8_t key, uint16_t asc)
{
	scsi_set_sense(cmd, key, asc);
	return SCSI_DONE;
}

enum scsi_result scsi_bad_cdb(struct scsi_cmd *cmd, unsigned byte, int bit)
{
	scsi_set_sense_field(cmd, ASC_INVALID_FIELD_IN_CDB, true,
			     (uint16_t)byte, bit);
	return SCSI_DONE;
}

enum scsi_result scsi_bad_param(struct scsi_cmd *cmd, unsigned byte, int bit)
{
	scsi_set_sense_field(cmd, ASC_INVALID_FIELD_IN_PARAM_LIST, false,
			     (uint16_t)byte, bit);
	return SCSI_DONE;
}

uint8_t *scsi_alloc_in(struct scsi_cmd *cmd, size_t len, bool zero)
{
	/* From the loop's pool: warm pages, no allocation per command. */
	void *buf = ev_buf_get(cmd->loop, len);

	/* BUSY rather than an error: memory pressure passes, and every
	 * initiator retries BUSY. */
	if (!buf) {
		log_error("no memory for %zu bytes of data-in", len);
		cmd->status = SAM_STAT_BUSY;
		return NULL;
	}
	if (zero)
		memset(buf, 0, len);
	cmd->in_buf = buf;
	cmd->in_buf_size = len;
	return buf;
}

enum scsi_result scsi_reply(struct scsi_cmd *cmd, const void *data,
			    size_t len, size_t alloc)
{
	size_t n = len < alloc ? len : alloc;

	if (n == 0)
		return SCSI_DONE;
	if (!scsi_alloc_in(cmd, n, false))
		return SCSI_DONE;
	memcpy(cmd->in_buf, data, n);
	cmd->in_len = (uint32_t)n;
	return SCSI_DONE;
}

void scsi_pad_ascii(uint8_t *dst, const char *src, size_t width)
{
	size_t n = strnlen(src, width);

	memset(dst, ' ', width);
	memcpy(dst, src, n);
}

/* SPC-4 5.14.2: INQUIRY, REPORT LUNS and REQUEST SENSE are processed
 * even with a unit attention pending (REQUEST SENSE returns it as data,
 * REPORT LUNS clears only REPORTED LUNS DATA HAS CHANGED). */
static bool ua_exempt(uint8_t opcode)
{
	return opcode == OP_INQUIRY || opcode == OP_REPORT_LUNS ||
	       opcode == OP_REQUEST_SENSE;
}

static bool report_ua(struct scsi_cmd *cmd)
{
	uint16_t asc;

	if (!cmd->nexus || ua_exempt(cmd->cdb[0]))
		return false;
	if (!scsi_ua_take(cmd->nexus, cmd->lu->lun, &asc))
		return false;
	scsi_set_sense(cmd, SK_UNIT_ATTENTION, asc);
	return true;
}

/* The bit to point at for the offending bits `bad` of CDB byte `byte`
 * whose allowed bits are `ok`: the most significant offending bit. SPC-4
 * points at the top bit of a multi-bit field, and byte 1 bits 7-5 are one
 * field in every CDB we take (RDPROTECT/WRPROTECT/VRPROTECT, or the old
 * LUN field): RDPROTECT=1 sets bit 5 but is reported at bit 7. */
static int field_bit(unsigned byte, uint8_t bad, uint8_t ok)
{
	int bit = 7;

	while (!(bad & (1u << bit)))
		bit--;
	if (byte == 1 && bit >= 5 && !(ok & 0xe0))
		bit = 7;
	return bit;
}

/* Every bit outside the opcode's usage data is reserved or a feature we
 * do not implement: refuse it and point at it (SPC-4 4.2.2). */
static bool cdb_valid(struct scsi_cmd *cmd, const struct scsi_op *op)
{
	if (cmd->cdb_len < op->cdb_len) {
		scsi_bad_cdb(cmd, 0, -1);
		return false;
	}
	for (unsigned i = 1; i < op->cdb_len; i++) {
		uint8_t bad = cmd->cdb[i] & (uint8_t)~op->usage[i];

		if (bad) {
			log_debug("CDB %02x: byte %u has unsupported bits %02x",
				  cmd->cdb[0], i, bad);
			scsi_bad_cdb(cmd, i, field_bit(i, bad, op->usage[i]));
			return false;
		}
	}
	return true;
}

static enum scsi_result unsupported(struct scsi_cmd *cmd, bool known)
{
	log_debug("unsupported CDB %02x %02x on LUN %llu", cmd->cdb[0],
		  cmd->cdb[1], (unsigned long long)cmd->lun);
	/* A known opcode with an unknown service action: point at the
	 * service action field. */
	if (known)
		return scsi_bad_cdb(cmd, 1, 4);
	return scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
}

/* A LUN with no LU behind it, or the REPORT LUNS well known LU, which
 * is no struct scsi_lu: its few commands need none. */
static enum scsi_result run_without_lu(struct scsi_cmd *cmd)
{
	const struct scsi_op *op =
		scsi_op_find_no_lu(cmd->cdb, cmd->lun == SCSI_LUN_REPORT_LUNS);

	if (!op)
		return scsi_fail(cmd, SK_ILLEGAL_REQUEST,
				 ASC_LUN_NOT_SUPPORTED);
	if (!cdb_valid(cmd, op))
		return SCSI_DONE;
	return op->fn(cmd);
}

/* SBC-3 (sanitize operations): while a sanitize runs, the LU answers only INQUIRY,
 * REPORT LUNS and REQUEST SENSE (the last with the same condition). */
static bool sanitizing(struct scsi_cmd *cmd)
{
	uint8_t sks[3] = { 0x80 }; /* SKSV, PROGRESS INDICATION */

	if (!cmd->lu->sanitize || ua_exempt(cmd->cdb[0]))
		return false;
	put_be16(sks + 1, sbc_sanitize_progress(cmd->lu));
	scsi_set_sense_sks(cmd, SK_NOT_READY, ASC_SANITIZE_IN_PROGRESS, sks,
			   0);
	return true;
}

/* A failed sanitize leaves the medium unusable until a sanitize
 * succeeds or its failure mode is left (SBC-3). */
static bool sanitize_failed(struct scsi_cmd *cmd, const struct scsi_op *op)
{
	if (!cmd->lu->sanitize_failed || !(op->flags & OPF_MEDIUM) ||
	    cmd->cdb[0] == OP_SANITIZE)
		return false;
	scsi_set_sense(cmd, SK_MEDIUM_ERROR, ASC_SANITIZE_FAILED);
	return true;
}

static enum scsi_result run(struct scsi_cmd *cmd)
{
	const struct scsi_op *op;
	bool known;

	if (!cmd->lu)
		return run_without_lu(cmd);
	if (report_ua(cmd) || sanitizing(cmd))
		return SCSI_DONE;
	op = scsi_op_find(cmd->lu, cmd->cdb, &known);
	if (!op)
		return unsupported(cmd, known);
	if (!cdb_valid(cmd, op))
		return SCSI_DONE;
	if (scsi_pr_conflict(cmd))
		return SCSI_DONE;
	if ((op->flags & OPF_MEDIUM) && !cmd->lu->online)
		return scsi_fail(cmd, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	if (sanitize_failed(cmd, op))
		return SCSI_DONE;
	return op->fn(cmd);
}

void scsi_cmd_execute(struct scsi_cmd *cmd)
{
	struct target *target = cmd->nexus ? cmd->nexus->target : NULL;

	cmd->status = SAM_STAT_GOOD;
	cmd->sense_len = 0;
	cmd->in_buf = NULL;
	cmd->in_buf_size = 0;
	cmd->in_len = 0;
	cmd->out_cdb_len = 0;
	cmd->bs_stage = 0;
	cmd->range.held = false;
	cmd->priv = NULL;
	cmd->lu = scsi_find_lu(target, cmd->lun);
	scsi_stats_start(cmd);
	if (run(cmd) == SCSI_DONE)
		scsi_cmd_finish(cmd);
}

void scsi_cmd_release(struct scsi_cmd *cmd)
{
	ev_buf_put(cmd->loop, cmd->in_buf, cmd->in_buf_size);
	cmd->in_buf = NULL;
	cmd->in_buf_size = 0;
	cmd->in_len = 0;
}
