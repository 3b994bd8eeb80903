/* The commands that read a range, derive from it and the data-out what
 * to write, and write that back, atomically against every other write
 * to the range (from any I_T nexus):
 *
 * COMPARE AND WRITE (SBC-3 5.2, opcode 89h): the data-out carries the
 * verify data and then the write data, NUMBER OF LOGICAL BLOCKS blocks
 * each. The range is compared with the verify data and written with the
 * write data only if all of it matched; otherwise MISCOMPARE with the
 * offset of the first differing byte in the INFORMATION field, and the
 * medium is unchanged.
 *
 * ORWRITE(16) (SBC-3, opcode 8Bh): the range is written with the
 * bitwise OR of its contents and the data-out.
 *
 * Atomicity: the command holds its LBA range alone in the LU's range
 * lock (range_lock.c) from before the read until the command ends, so
 * no other write to those blocks can land in between; writes elsewhere
 * on the LU go on meanwhile. The range is read into in_buf, used as
 * scratch (in_len stays 0: nothing of it goes to the initiator). */
#include "common/byteorder.h"
#include "scsi/core.h"
#include "scsi/scsi.h"

#define RMW_FUA 0x08
#define CAW_NLB_BYTE 13 /* NUMBER OF LOGICAL BLOCKS */
#define CAW_NLB_MAX 255 /* the field is one byte */

uint8_t sbc_caw_max_blocks(const struct scsi_lu *lu)
{
	/* Both halves of the data-out must fit one transfer. */
	uint64_t n = (SCSI_MAX_XFER_BYTES / 2) >> lu->blk_shift;

	return n > CAW_NLB_MAX ? CAW_NLB_MAX : (uint8_t)n;
}

static uint64_t range_bytes(const struct scsi_cmd *cmd)
{
	return (cmd->range.end - cmd->range.lba) << cmd->lu->blk_shift;
}

static void rmw_written(struct bs_io *io)
{
	struct scsi_cmd *cmd = io->arg;

	if (io->result < 0)
		sbc_io_failed(cmd, io);
	scsi_cmd_finish(cmd);
}

/* What to write over the range just read into in_buf, or NULL if
 * nothing is to be written (a miscompare, with the sense set). */
static const uint8_t *modified(struct scsi_cmd *cmd, uint64_t len)
{
	if (cmd->cdb[0] == OP_COMPARE_AND_WRITE)
		return sbc_miscompare(cmd, len) ? NULL : cmd->out_buf + len;
	for (uint64_t i = 0; i < len; i++)
		cmd->in_buf[i] |= cmd->out_buf[i];
	return cmd->in_buf;
}

static void rmw_read_done(struct bs_io *io)
{
	struct scsi_cmd *cmd = io->arg;
	const struct scsi_lu *lu = cmd->lu;
	uint64_t len = range_bytes(cmd);
	const uint8_t *data;

	if (io->result < 0) {
		sbc_io_failed(cmd, io);
	} else if ((data = modified(cmd, len)) != NULL) {
		/* Durable before GOOD with FUA or without a write cache,
		 * as for WRITE. */
		sbc_submit(cmd, BS_WRITE, cmd->range.lba << lu->blk_shift, len,
			   (void *)data,
			   (cmd->cdb[1] & RMW_FUA) || !lu->write_cache,
			   rmw_written);
		return;
	}
	scsi_cmd_finish(cmd);
}

/* Reads the range back, with the range lock held. */
static enum scsi_result rmw_read(struct scsi_cmd *cmd)
{
	uint64_t len = range_bytes(cmd);

	if (!scsi_alloc_in(cmd, len, false))
		return SCSI_DONE;
	return sbc_submit(cmd, BS_READ, cmd->range.lba << cmd->lu->blk_shift,
			  len, cmd->in_buf, false, rmw_read_done);
}

/* The range became free for a parked command. */
static void rmw_resume(struct scsi_cmd *cmd)
{
	if (rmw_read(cmd) == SCSI_DONE)
		scsi_cmd_finish(cmd);
}

/* Runs a checked command on [lba, lba + blocks), blocks > 0. */
static enum scsi_result rmw_start(struct scsi_cmd *cmd, uint64_t lba,
				  uint64_t blocks)
{
	if (!sbc_store_ready(cmd))
		return SCSI_DONE;
	if (!scsi_range_acquire(cmd, lba, blocks, true, rmw_resume))
		return SCSI_ASYNC;
	return rmw_read(cmd);
}

/* The data-out must be exactly both halves. One longer than the
 * largest COMPARE AND WRITE cannot belong to this command whatever the
 * CDB says: the one-byte NUMBER OF LOGICAL BLOCKS of a 256-block
 * request arrives as 0, which alone would be a valid no-op. */
static bool data_out_matches(const struct scsi_cmd *cmd, uint64_t want)
{
	uint64_t most = (uint64_t)2 * sbc_caw_max_blocks(cmd->lu)
			<< cmd->lu->blk_shift;

	if (cmd->expected_len > most)
		return false;
	if (want == 0)
		return true;
	return cmd->expected_len == want && cmd->out_buf &&
	       cmd->out_len >= want;
}

enum scsi_result sbc_compare_and_write(struct scsi_cmd *cmd)
{
	uint64_t nr = scsi_nr_blocks(cmd->lu), lba = get_be64(cmd->cdb + 2);
	unsigned blocks = cmd->cdb[CAW_NLB_BYTE];
	uint64_t want = (uint64_t)2 * blocks << cmd->lu->blk_shift;

	cmd->out_cdb_len = (uint32_t)want;
	if (blocks > sbc_caw_max_blocks(cmd->lu) ||
	    !data_out_matches(cmd, want))
		return scsi_bad_cdb(cmd, CAW_NLB_BYTE, 7);
	if (!sbc_write_allowed(cmd))
		return SCSI_DONE;
	if (lba > nr || blocks > nr - lba)
		return scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	/* SBC-3 5.2: zero blocks is not an error; nothing is done. */
	if (blocks == 0)
		return SCSI_DONE;
	return rmw_start(cmd, lba, blocks);
}

/* The data-out is checked as a WRITE(16)'s: the whole blocks that
 * arrived are ORed in, at most the CDB's length. */
enum scsi_result sbc_orwrite(struct scsi_cmd *cmd)
{
	uint64_t lba;
	uint64_t len = sbc_checked_write(cmd, &lba);

	if (!len)
		return SCSI_DONE;
	return rmw_start(cmd, lba, len >> cmd->lu->blk_shift);
}
