/* SANITIZE (SBC-3, opcode 48h): make every block of the LU lose its
 * user data, as far as the LU's medium (the file or block device under
 * it) is concerned.
 *
 *  - OVERWRITE (01h) writes the initialization pattern over the whole
 *    medium OVERWRITE COUNT times (inverted on every other pass with
 *    INVERT), then makes it durable.
 *  - BLOCK ERASE (02h) deallocates the whole medium, offered only where
 *    deallocated blocks read as zeros (a thin LU on a file that punches
 *    holes: LBPRZ), then makes it durable.
 *  - CRYPTOGRAPHIC ERASE (03h) is not offered: there is no encryption.
 *  - EXIT FAILURE MODE (1Fh) leaves the failure state a failed sanitize
 *    with AUSE = 1 put the LU in.
 *
 * What this cannot reach: copies the layers below the file keep on their
 * own (a copy-on-write filesystem's old extents, an SSD's spare blocks,
 * snapshots). The README says so.
 *
 * While a sanitize runs, every command to the LU but INQUIRY, REPORT
 * LUNS and REQUEST SENSE gets NOT READY, SANITIZE IN PROGRESS with the
 * progress (dispatch.c), from every I_T nexus. It starts once the writes
 * already in flight are done (it takes the whole LU alone in the range
 * lock), and with IMMED the command is answered right then; the
 * operation, which belongs to the LU from then on, goes on. If it fails,
 * medium access is refused with SANITIZE COMMAND FAILED until a sanitize
 * succeeds, or, if AUSE was set, until EXIT FAILURE MODE.
 *
 * Aborting the command (ABORT TASK, a cleared task set, a reset, its
 * connection gone) does not stop an operation that has started: SBC-4
 * 4.11 has it go on through an I_T nexus loss and resume after a
 * logical unit reset, and libiscsi's SCSI.Sanitize.Reset expects it
 * still running after every task management function and a new login.
 * The command leaves at once, without status, as with IMMED; the LU
 * stays in SANITIZE IN PROGRESS until the operation ends. A sanitize
 * still waiting for the writes in flight has not touched the medium:
 * aborted, it never starts. */
#include <stdlib.h>

#include "common/byteorder.h"
#include "common/log.h"
#include "scsi/core.h"
#include "scsi/scsi.h"

#define SANITIZE_IMMED 0x80
#define SANITIZE_AUSE 0x20
#define SA_OVERWRITE 0x01
#define SA_BLOCK_ERASE 0x02
#define SA_EXIT_FAILURE_MODE 0x1f

#define OVERWRITE_HEADER 4
#define OVERWRITE_INVERT 0x80
#define OVERWRITE_TEST 0x60
#define OVERWRITE_COUNT 0x1f

/* A sanitize operation of a LU (lu->sanitize while it runs). Owned by the
 * LU; runs on the target's loop. */
struct sbc_sanitize {
	struct scsi_lu *lu;
	/* The SANITIZE, until it is answered or aborted; its cmd->priv
	 * points back here meanwhile. */
	struct scsi_cmd *cmd;
	struct ev_loop *loop;
	uint8_t action;        /* SA_OVERWRITE or SA_BLOCK_ERASE */
	bool ause, invert;
	unsigned passes, pass; /* OVERWRITE COUNT, passes done */
	struct sbc_fill *fill; /* OVERWRITE */
	struct bs_io io;       /* BLOCK ERASE's deallocation, the flush */
};

uint16_t sbc_sanitize_progress(const struct scsi_lu *lu)
{
	const struct sbc_sanitize *s = lu->sanitize;
	uint32_t done;

	if (!s || s->action != SA_OVERWRITE || !s->passes)
		return 0;
	done = s->pass * 65536u + sbc_fill_progress(s->fill);
	return (uint16_t)(done / s->passes);
}

/* The command goes its own way: answered (IMMED) or aborted. */
static void detach(struct sbc_sanitize *s)
{
	s->cmd->priv = NULL;
	s->cmd = NULL;
}

/* The LU is left to other commands again. */
static void release(struct sbc_sanitize *s)
{
	s->lu->sanitize = NULL;
	s->lu->inflight--;
	sbc_fill_free(s->fill);
	free(s);
}

/* The operation ended: the LU is free again, or in failure mode. */
static void end(struct sbc_sanitize *s, const struct bs_io *failed)
{
	struct scsi_lu *lu = s->lu;
	struct scsi_cmd *cmd = s->cmd;

	lu->sanitize_failed = failed != NULL;
	lu->sanitize_ause = s->ause;
	if (failed)
		log_error("LUN %llu: SANITIZE failed: %d",
			  (unsigned long long)lu->lun, failed->result);
	if (cmd) {
		detach(s);
		if (failed)
			scsi_set_sense(cmd, SK_MEDIUM_ERROR,
				       ASC_SANITIZE_FAILED);
	}
	release(s);
	if (cmd)
		scsi_cmd_finish(cmd);
}

static void flushed(struct bs_io *io)
{
	struct sbc_sanitize *s = container_of(io, struct sbc_sanitize, io);

	sbc_account_done(io);
	end(s, io->result < 0 ? io : NULL);
}

/* Whatever was written or deallocated is made durable before the
 * sanitize counts as done. */
static void flush(struct sbc_sanitize *s)
{
	s->io.done = flushed;
	sbc_submit_io(s->lu, &s->io, BS_FLUSH, 0, 0, NULL, false);
}

static void erased(struct bs_io *io)
{
	struct sbc_sanitize *s = container_of(io, struct sbc_sanitize, io);

	sbc_account_done(io);
	if (io->result < 0)
		end(s, io);
	else
		flush(s);
}

static void pass_done(struct sbc_fill *fill)
{
	struct sbc_sanitize *s = fill->arg;

	if (fill->io.result < 0) {
		end(s, &fill->io);
		return;
	}
	if (++s->pass == s->passes) {
		flush(s);
		return;
	}
	if (s->invert)
		sbc_fill_invert(fill);
	sbc_fill_start(fill, s->loop, pass_done, s);
}

static void start(struct sbc_sanitize *s)
{
	s->io.arg = s;
	s->io.loop = s->loop;
	if (s->action == SA_OVERWRITE) {
		sbc_fill_start(s->fill, s->loop, pass_done, s);
		return;
	}
	s->io.done = erased;
	sbc_submit_io(s->lu, &s->io, BS_UNMAP, 0, s->lu->size, NULL, false);
}

/* The writes in flight are done: the whole LU is the command's. */
static void begin(struct scsi_cmd *cmd)
{
	struct sbc_sanitize *s = cmd->lu->sanitize;

	if (!(cmd->cdb[1] & SANITIZE_IMMED)) {
		start(s);
		return;
	}
	/* IMMED: the status goes now, the operation on (s may end and be
	 * freed inside start). */
	detach(s);
	start(s);
	scsi_cmd_finish(cmd);
}

void sbc_sanitize_abort(struct scsi_cmd *cmd)
{
	struct sbc_sanitize *s = cmd->priv;

	detach(s);
	if (cmd->range.held)
		return; /* begun: the operation goes on */
	/* Still parked behind writes: the medium is untouched, and any
	 * failure mode of an earlier sanitize stays as it was. */
	scsi_range_cancel(cmd);
	release(s);
}

/* OVERWRITE's parameter list (SBC-3): more than the header, at
 * most a block of pattern; a count and a pattern length that fit. */
static bool overwrite_params_valid(struct scsi_cmd *cmd, uint32_t plen)
{
	uint32_t bs = scsi_block_size(cmd->lu);
	const uint8_t *p = cmd->out_buf;
	uint32_t pattern_len;

	if (plen <= OVERWRITE_HEADER || plen > bs + OVERWRITE_HEADER) {
		scsi_bad_cdb(cmd, 7, 7);
		return false;
	}
	if (!p || cmd->out_len < plen) {
		scsi_set_sense(cmd, SK_ILLEGAL_REQUEST,
			       ASC_PARAMETER_LIST_LENGTH_ERROR);
		return false;
	}
	pattern_len = get_be16(p + 2);
	if (p[0] & OVERWRITE_TEST)
		scsi_bad_param(cmd, 0, 6);
	else if (!(p[0] & OVERWRITE_COUNT))
		scsi_bad_param(cmd, 0, 4);
	else if (!pattern_len || pattern_len > plen - OVERWRITE_HEADER)
		scsi_bad_param(cmd, 2, 7);
	else
		return true;
	return false;
}

static struct sbc_sanitize *new_sanitize(struct scsi_cmd *cmd)
{
	struct sbc_sanitize *s = calloc(1, sizeof(*s));
	const uint8_t *p = cmd->out_buf;

	if (!s)
		return NULL;
	s->lu = cmd->lu;
	s->cmd = cmd;
	s->loop = cmd->loop;
	s->action = cmd->cdb[1] & 0x1f;
	s->ause = cmd->cdb[1] & SANITIZE_AUSE;
	if (s->action != SA_OVERWRITE)
		return s;
	s->invert = p[0] & OVERWRITE_INVERT;
	s->passes = p[0] & OVERWRITE_COUNT;
	s->fill = sbc_fill_new(cmd->lu, p + OVERWRITE_HEADER,
			       get_be16(p + 2), 0, cmd->lu->size, false);
	if (!s->fill) {
		free(s);
		return NULL;
	}
	return s;
}

/* Leaves the failure mode of a failed sanitize that allowed it (AUSE);
 * outside failure mode there is nothing to leave. */
static enum scsi_result exit_failure_mode(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;

	if (lu->sanitize_failed && !lu->sanitize_ause)
		return scsi_bad_cdb(cmd, 1, 4);
	lu->sanitize_failed = false;
	return SCSI_DONE;
}

enum scsi_result sbc_sanitize(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;
	uint32_t plen = get_be16(cmd->cdb + 7);
	uint8_t action = cmd->cdb[1] & 0x1f;
	struct sbc_sanitize *s;

	cmd->out_cdb_len = plen;
	/* Only OVERWRITE takes a parameter list. */
	if (action != SA_OVERWRITE && plen)
		return scsi_bad_cdb(cmd, 7, 7);
	if (action == SA_OVERWRITE && !overwrite_params_valid(cmd, plen))
		return SCSI_DONE;
	if (action == SA_EXIT_FAILURE_MODE)
		return exit_failure_mode(cmd);
	if (!sbc_write_allowed(cmd) || !sbc_store_ready(cmd))
		return SCSI_DONE;
	s = new_sanitize(cmd);
	if (!s) {
		cmd->status = SAM_STAT_BUSY;
		return SCSI_DONE;
	}
	/* From now on every other command is refused; the LU stays busy
	 * (no deletion, no new medium) until the operation ends. */
	lu->sanitize = s;
	lu->inflight++;
	cmd->priv = s;
	if (!scsi_range_acquire(cmd, 0, scsi_nr_blocks(lu), true, begin))
		return SCSI_ASYNC;
	begin(cmd);
	return SCSI_ASYNC;
}
