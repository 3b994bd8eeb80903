/* COMPARE AND WRITE (SBC-3 5.2, opcode 89h): the data-out carries the
 * verify data and then the write data, NUMBER OF LOGICAL BLOCKS blocks
 * each. The range is read into in_buf (scratch: in_len stays 0), compared
 * with the verify data, and written with the write data only if all of
 * it matched; otherwise MISCOMPARE with the offset of the first
 * differing byte in the INFORMATION field, and the medium is unchanged.
 *
 * Atomicity: the command holds its LBA range alone in the LU's range
 * lock (range_lock.c) from before the read until the command ends,
 * so no other write to those blocks, from any I_T nexus of the LU, can
 * land in between; writes elsewhere on the LU go on meanwhile. */
#include "common/byteorder.h"
#include "scsi/core.h"
#include "scsi/scsi.h"

#define CAW_FUA 0x08
#define CAW_NLB_BYTE 13 /* NUMBER OF LOGICAL BLOCKS */
#define CAW_NLB_MAX 255 /* the field is one byte */

uint8_t sbc_caw_max_blocks(const struct scsi_lu *lu)
{
	/* Both halves of the data-out must fit one transfer. */
	uint64_t n = (SCSI_MAX_XFER_BYTES / 2) >> lu->blk_shift;

	return n > CAW_NLB_MAX ? CAW_NLB_MAX : (uint8_t)n;
}

static uint64_t caw_lba(const struct scsi_cmd *cmd)
{
	return get_be64(cmd->cdb + 2);
}

static uint64_t caw_bytes(const struct scsi_cmd *cmd)
{
	return (uint64_t)cmd->cdb[CAW_NLB_BYTE] << cmd->lu->blk_shift;
}

static void caw_written(struct bs_io *io)
{
	struct scsi_cmd *cmd = io->arg;

	if (io->result < 0)
		sbc_io_failed(cmd, io);
	scsi_cmd_finish(cmd);
}

static void caw_read_done(struct bs_io *io)
{
	struct scsi_cmd *cmd = io->arg;
	const struct scsi_lu *lu = cmd->lu;
	uint64_t len = caw_bytes(cmd);

	if (io->result < 0) {
		sbc_io_failed(cmd, io);
	} else if (!sbc_miscompare(cmd, len)) {
		/* Durable before GOOD with FUA or without a write cache,
		 * as for WRITE. */
		sbc_submit(cmd, BS_WRITE, caw_lba(cmd) << lu->blk_shift, len,
			   cmd->out_buf + len,
			   (cmd->cdb[1] & CAW_FUA) || !lu->write_cache,
			   caw_written);
		return;
	}
	scsi_cmd_finish(cmd);
}

/* Reads the range back, with the range lock held. */
static enum scsi_result caw_read(struct scsi_cmd *cmd)
{
	uint64_t len = caw_bytes(cmd);

	if (!scsi_alloc_in(cmd, len, false))
		return SCSI_DONE;
	return sbc_submit(cmd, BS_READ, caw_lba(cmd) << cmd->lu->blk_shift,
			  len, cmd->in_buf, false, caw_read_done);
}

/* The range became free for a parked COMPARE AND WRITE. */
static void caw_resume(struct scsi_cmd *cmd)
{
	if (caw_read(cmd) == SCSI_DONE)
		scsi_cmd_finish(cmd);
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
	uint64_t nr = scsi_nr_blocks(cmd->lu), lba = caw_lba(cmd);
	unsigned blocks = cmd->cdb[CAW_NLB_BYTE];
	uint64_t want = 2 * caw_bytes(cmd);

	cmd->out_cdb_len = (uint32_t)want;
	if (blocks > sbc_caw_max_blocks(cmd->lu) ||
	    !data_out_matches(cmd, want))
		return scsi_bad_cdb(cmd, CAW_NLB_BYTE, 7);
	if (!sbc_write_allowed(cmd))
		return SCSI_DONE;
	if (lba > nr || blocks > nr - lba)
		return scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	/* SBC-3 5.2: zero blocks is not an error; nothing is done. */
	if (blocks == 0 || !sbc_store_ready(cmd))
		return SCSI_DONE;
	if (!scsi_range_acquire(cmd, lba, blocks, true, caw_resume))
		return SCSI_ASYNC;
	return caw_read(cmd);
}
