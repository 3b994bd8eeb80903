/* EXTENDED COPY(LID1) (SPC-4, opcode 83h service action 00h): the LU
 * the command is sent to acts as copy manager and copies blocks between
 * LUs of its target (or within one), VMware's XCOPY offload.
 *
 * The parameter list is checked whole first (xcopy_params.c), the
 * reservations of every LU involved must let the I_T nexus read the
 * sources and write the destinations, and only then does data move:
 * segment by segment, in chunks of at most XCOPY_CHUNK bytes, each read
 * from the source store into a buffer and written to the destination
 * store, the next request submitted from the completion of the last, so
 * the target's loop never waits. Each chunk's destination range is held
 * in the destination LU's range lock while it is written, as a WRITE's
 * is, so a COMPARE AND WRITE there stays atomic. A segment whose
 * destination overlaps its source further on is copied from its end.
 *
 * Every LU involved, and the copy manager LU, is kept busy (inflight)
 * until the copy ends, so none is deleted or has its medium replaced
 * under it. */
#include <stdlib.h>

#include "common/byteorder.h"
#include "common/log.h"
#include "scsi/core.h"
#include "scsi/scsi.h"
#include "scsi/xcopy.h"

#define XCOPY_CHUNK (1u << 20)
#define ASC_INSUFFICIENT_RESOURCES 0x5503
#define ASC_OPERATION_IN_PROGRESS 0x0016
#define LIST_ID_USAGE_HOLD 0x0
#define LIST_ID_USAGE_NONE 0x3

static struct xcopy_segment *segment(struct xcopy_job *job)
{
	return &job->seg[job->cur];
}

static struct scsi_lu *src_lu(struct xcopy_job *job)
{
	return job->cscd[segment(job)->src];
}

static struct scsi_lu *dst_lu(struct xcopy_job *job)
{
	return job->cscd[segment(job)->dst];
}

/* Byte offset of the current chunk within its segment. */
static uint64_t chunk_offset(struct xcopy_job *job)
{
	const struct xcopy_segment *s = segment(job);

	return s->backwards ? s->bytes - job->done - job->chunk : job->done;
}

static void release_lus(struct xcopy_job *job)
{
	for (unsigned i = 0; i < job->nheld; i++)
		job->held[i]->inflight--;
	job->nheld = 0;
}

static void hold_lu(struct xcopy_job *job, struct scsi_lu *lu)
{
	for (unsigned i = 0; i < job->nheld; i++)
		if (job->held[i] == lu)
			return;
	lu->inflight++;
	job->held[job->nheld++] = lu;
}

/* Ends the command; nothing touches cmd or job afterwards. */
static void finish(struct scsi_cmd *cmd, struct xcopy_job *job)
{
	if (job->record)
		spc_copy_end(job->record, cmd->status == SAM_STAT_GOOD);
	release_lus(job);
	cmd->lu->copies--;
	free(job->buf);
	free(job);
	cmd->priv = NULL;
	scsi_cmd_finish(cmd);
}

static void xcopy_step(struct scsi_cmd *cmd);

static void io_failed(struct scsi_cmd *cmd, struct xcopy_job *job,
		      const struct bs_io *io)
{
	uint16_t asc = io->op == BS_READ ? ASC_READ_ERROR : ASC_WRITE_ERROR;

	log_error("EXTENDED COPY on LUN %llu: %s at %llu failed: %d",
		  (unsigned long long)cmd->lu->lun,
		  io->op == BS_READ ? "read" : "write",
		  (unsigned long long)io->offset, io->result);
	xcopy_abort(cmd, asc, segment(job)->at, io->op == BS_READ ? 12 : 20);
}

static void read_done(struct bs_io *io)
{
	struct scsi_cmd *cmd = io->arg;
	struct xcopy_job *job = cmd->priv;

	if (io->result < 0)
		io_failed(cmd, job, io);
	job->next = XCOPY_LOCK;
	xcopy_step(cmd);
}

static void written(struct bs_io *io)
{
	struct scsi_cmd *cmd = io->arg;
	struct xcopy_job *job = cmd->priv;

	scsi_range_release(cmd);
	if (io->result < 0) {
		io_failed(cmd, job, io);
	} else {
		job->done += job->chunk;
		if (job->record)
			job->record->bytes += job->chunk;
	}
	job->next = XCOPY_READ;
	xcopy_step(cmd);
}

/* The chunk's destination range is free now. */
static void range_free(struct scsi_cmd *cmd)
{
	struct xcopy_job *job = cmd->priv;

	job->next = XCOPY_WRITE;
	xcopy_step(cmd);
}

/* Moves to the next segment with bytes left; false when none is. */
static bool next_segment(struct xcopy_job *job)
{
	while (job->cur < job->nseg && job->done == segment(job)->bytes) {
		job->cur++;
		job->done = 0;
		if (job->record)
			job->record->segments++;
	}
	return job->cur < job->nseg;
}

static void submit_read(struct scsi_cmd *cmd, struct xcopy_job *job)
{
	struct scsi_lu *src = src_lu(job);
	uint64_t left = segment(job)->bytes - job->done;

	job->chunk = left < XCOPY_CHUNK ? (uint32_t)left : XCOPY_CHUNK;
	job->next = XCOPY_WAIT;
	sbc_submit_to(cmd, src, BS_READ,
		      (segment(job)->src_lba << src->blk_shift) +
			      chunk_offset(job),
		      job->chunk, job->buf, false, read_done);
}

static void submit_write(struct scsi_cmd *cmd, struct xcopy_job *job)
{
	struct scsi_lu *dst = dst_lu(job);

	job->next = XCOPY_WAIT;
	sbc_submit_to(cmd, dst, BS_WRITE,
		      (segment(job)->dst_lba << dst->blk_shift) +
			      chunk_offset(job),
		      job->chunk, job->buf, !dst->write_cache, written);
}

static void lock_range(struct scsi_cmd *cmd, struct xcopy_job *job)
{
	struct scsi_lu *dst = dst_lu(job);
	uint64_t lba = segment(job)->dst_lba +
		       (chunk_offset(job) >> dst->blk_shift);

	job->next = XCOPY_WAIT;
	if (scsi_range_acquire_on(cmd, dst, lba, job->chunk >> dst->blk_shift,
				  false, range_free))
		job->next = XCOPY_WRITE;
}

/* A sanitize of the source or destination that started meanwhile (or
 * failed) ends the copy: nothing is read from or written over a medium
 * being sanitized. */
static bool sanitized(struct scsi_cmd *cmd, struct xcopy_job *job)
{
	const struct scsi_lu *lus[2] = { src_lu(job), dst_lu(job) };

	for (unsigned i = 0; i < 2; i++) {
		if (!lus[i]->sanitize && !lus[i]->sanitize_failed)
			continue;
		xcopy_abort(cmd, lus[i]->sanitize ? ASC_SANITIZE_IN_PROGRESS
						   : ASC_SANITIZE_FAILED,
			    segment(job)->at, i ? 6 : 4);
		return true;
	}
	return false;
}

/* One step; false once the command has finished. */
static bool advance(struct scsi_cmd *cmd, struct xcopy_job *job)
{
	switch (job->next) {
	case XCOPY_READ:
		if (cmd->status != SAM_STAT_GOOD || !next_segment(job) ||
		    sanitized(cmd, job)) {
			finish(cmd, job);
			return false;
		}
		submit_read(cmd, job);
		break;
	case XCOPY_LOCK:
		if (cmd->status != SAM_STAT_GOOD) {
			finish(cmd, job);
			return false;
		}
		lock_range(cmd, job);
		job->again = job->next == XCOPY_WRITE;
		break;
	case XCOPY_WRITE:
		if (sanitized(cmd, job)) {
			finish(cmd, job);
			return false;
		}
		submit_write(cmd, job);
		break;
	case XCOPY_WAIT:
		break;
	}
	return true;
}

/* Runs steps until one waits. A store that completes inside submit
 * would recurse once per chunk; a nested call only asks the running one
 * to go round again. */
static void xcopy_step(struct scsi_cmd *cmd)
{
	struct xcopy_job *job = cmd->priv;

	if (job->stepping) {
		job->again = true;
		return;
	}
	job->stepping = true;
	do {
		job->again = false;
		if (!advance(cmd, job))
			return;
	} while (job->again);
	job->stepping = false;
}

/* The I_T nexus may read every source and write every destination
 * under their reservations, as it could with READ and WRITE. */
static bool reservations_allow(struct scsi_cmd *cmd, struct xcopy_job *job)
{
	for (unsigned i = 0; i < job->nseg; i++) {
		const struct xcopy_segment *s = &job->seg[i];

		if (!scsi_pr_permits(job->cscd[s->src], cmd->nexus, false) ||
		    !scsi_pr_permits(job->cscd[s->dst], cmd->nexus, true)) {
			cmd->status = SAM_STAT_RESERVATION_CONFLICT;
			return false;
		}
	}
	return true;
}

/* Overlap within one LU, destination after source: copy backwards.
 * The copy manager LU, whose copies count and whose records the copy
 * updates, is held too, even when it copies nothing itself. */
static void plan(struct scsi_cmd *cmd, struct xcopy_job *job)
{
	hold_lu(job, cmd->lu);
	for (unsigned i = 0; i < job->nseg; i++) {
		struct xcopy_segment *s = &job->seg[i];
		struct scsi_lu *src = job->cscd[s->src];
		uint64_t from = s->src_lba << src->blk_shift;
		uint64_t to = s->dst_lba << src->blk_shift;

		s->backwards = src == job->cscd[s->dst] && to > from &&
			       to < from + s->bytes;
		hold_lu(job, src);
		hold_lu(job, job->cscd[s->dst]);
	}
}

/* The status record of a copy with a list identifier; a copy still
 * running with the same one is an error (SPC-4). */
static bool begin_record(struct scsi_cmd *cmd, struct xcopy_job *job)
{
	struct copy_record *r;

	if (!cmd->nexus || job->list_id_usage == LIST_ID_USAGE_NONE)
		return true;
	r = spc_copy_find(cmd->nexus, cmd->lu->lun, job->list_id);
	if (r && r->running) {
		scsi_set_sense(cmd, SK_ILLEGAL_REQUEST,
			       ASC_OPERATION_IN_PROGRESS);
		return false;
	}
	job->record = spc_copy_begin(cmd->nexus, cmd->lu->lun, job->list_id,
				     job->list_id_usage == LIST_ID_USAGE_HOLD);
	if (job->record)
		return true;
	cmd->status = SAM_STAT_BUSY;
	return false;
}

static bool prepare(struct scsi_cmd *cmd, struct xcopy_job *job,
		    uint32_t plen)
{
	void *buf = NULL;

	if (!xcopy_parse(cmd, job, plen) || !xcopy_check(cmd, job) ||
	    !reservations_allow(cmd, job))
		return false;
	if (posix_memalign(&buf, 4096, XCOPY_CHUNK)) {
		cmd->status = SAM_STAT_BUSY;
		return false;
	}
	job->buf = buf;
	if (!begin_record(cmd, job)) {
		free(job->buf);
		return false;
	}
	return true;
}

enum scsi_result spc_extended_copy(struct scsi_cmd *cmd)
{
	uint32_t plen = get_be32(cmd->cdb + 10);
	struct xcopy_job *job;

	cmd->out_cdb_len = plen;
	/* An empty parameter list copies nothing (SPC-4). */
	if (plen == 0)
		return SCSI_DONE;
	if (cmd->lu->copies >= XCOPY_MAX_CONCURRENT)
		return scsi_fail(cmd, SK_ILLEGAL_REQUEST,
				 ASC_INSUFFICIENT_RESOURCES);
	job = calloc(1, sizeof(*job));
	if (!job) {
		cmd->status = SAM_STAT_BUSY;
		return SCSI_DONE;
	}
	if (!prepare(cmd, job, plen)) {
		free(job);
		return SCSI_DONE;
	}
	plan(cmd, job);
	cmd->lu->copies++;
	cmd->priv = job;
	job->next = XCOPY_READ;
	xcopy_step(cmd);
	return SCSI_ASYNC;
}
