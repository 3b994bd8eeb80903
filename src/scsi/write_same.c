/* WRITE SAME(10) and (16) (SBC-3; NDOB from SBC-4): one block
 * of data-out written over a range, or, with the UNMAP bit on a thin LU,
 * the range deallocated.
 *
 * Limits (Block Limits page): at most SBC_MAX_WRITE_SAME_BLOCKS per
 * command; NUMBER OF LOGICAL BLOCKS 0 means "to the end of the medium"
 * (WSNZ = 0) and is held to the same limit. ANCHOR is not supported
 * (ANC_SUP = 0): its bit is refused by the opcode table's usage data.
 *
 * The range is held in the LU's range lock like any write's; the data is
 * written in bounded requests (fill.c), zeros and deallocation go to the
 * store as one request each. */
#include "common/byteorder.h"
#include "scsi/core.h"
#include "scsi/scsi.h"

#define WS_UNMAP 0x08
#define WS_NDOB 0x01 /* WRITE SAME(16) only */

struct ws_args {
	uint64_t lba;
	uint32_t blocks;     /* as in the CDB; 0: to the end of the medium */
	unsigned count_byte; /* NUMBER OF LOGICAL BLOCKS, for sense */
	bool unmap, ndob;
};

static void decode(const uint8_t *cdb, struct ws_args *a)
{
	if (cdb[0] == OP_WRITE_SAME_10) {
		a->lba = get_be32(cdb + 2);
		a->blocks = get_be16(cdb + 7);
		a->count_byte = 7;
		a->ndob = false;
	} else {
		a->lba = get_be64(cdb + 2);
		a->blocks = get_be32(cdb + 10);
		a->count_byte = 10;
		a->ndob = cdb[1] & WS_NDOB;
	}
	a->unmap = cdb[1] & WS_UNMAP;
}

/* The blocks to write, or 0 with the status set (an error) or not (a
 * zero-length range at the end of the medium: nothing to do). */
static uint64_t checked_count(struct scsi_cmd *cmd, const struct ws_args *a)
{
	uint64_t nr = scsi_nr_blocks(cmd->lu);
	uint64_t count;

	if (a->lba > nr) {
		scsi_set_sense(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		return 0;
	}
	count = a->blocks ? a->blocks : nr - a->lba;
	if (count > SBC_MAX_WRITE_SAME_BLOCKS) {
		scsi_bad_cdb(cmd, a->count_byte, 7);
		return 0;
	}
	if (count > nr - a->lba) {
		scsi_set_sense(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		return 0;
	}
	return count;
}

/* The data-out must be the one block the CDB describes (none with
 * NDOB). An initiator that announced another length disagrees with its
 * own CDB: there is no block to repeat, or more than one. */
static bool data_out_ok(struct scsi_cmd *cmd, const struct ws_args *a)
{
	uint32_t want = a->ndob ? 0 : scsi_block_size(cmd->lu);

	if (cmd->expected_len == want &&
	    (!want || (cmd->out_buf && cmd->out_len >= want)))
		return true;
	scsi_set_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	return false;
}

static void ws_io_done(struct bs_io *io)
{
	struct scsi_cmd *cmd = io->arg;

	if (io->result < 0)
		sbc_io_failed(cmd, io);
	scsi_cmd_finish(cmd);
}

static void ws_fill_done(struct sbc_fill *fill)
{
	struct scsi_cmd *cmd = fill->arg;

	if (fill->io.result < 0)
		sbc_io_failed(cmd, &fill->io);
	sbc_fill_free(fill);
	scsi_cmd_finish(cmd);
}

/* Runs a checked WRITE SAME whose range the command holds. */
static void ws_run(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;
	struct ws_args a;
	uint64_t offset, len;
	struct sbc_fill *fill;
	static const uint8_t zero;

	decode(cmd->cdb, &a);
	offset = cmd->range.lba << lu->blk_shift;
	len = (cmd->range.end - cmd->range.lba) << lu->blk_shift;
	if (a.unmap) {
		sbc_submit(cmd, BS_UNMAP, offset, len, NULL, !lu->write_cache,
			   ws_io_done);
		return;
	}
	fill = a.ndob ? sbc_fill_new(lu, &zero, 1, offset, len,
				     !lu->write_cache)
		      : sbc_fill_new(lu, cmd->out_buf, scsi_block_size(lu),
				     offset, len, !lu->write_cache);
	if (!fill) {
		cmd->status = SAM_STAT_BUSY;
		scsi_cmd_finish(cmd);
		return;
	}
	sbc_fill_start(fill, cmd->loop, ws_fill_done, cmd);
}

enum scsi_result sbc_write_same(struct scsi_cmd *cmd)
{
	struct ws_args a;
	uint64_t count;

	decode(cmd->cdb, &a);
	cmd->out_cdb_len = a.ndob ? 0 : scsi_block_size(cmd->lu);
	if (!sbc_write_allowed(cmd))
		return SCSI_DONE;
	/* Deallocation is for thin LUs (LBPWS, LBPWS10 = 0 otherwise). */
	if (a.unmap && !sbc_thin(cmd->lu))
		return scsi_bad_cdb(cmd, 1, 3);
	count = checked_count(cmd, &a);
	if (!count || !data_out_ok(cmd, &a) || !sbc_store_ready(cmd))
		return SCSI_DONE;
	if (!scsi_range_acquire(cmd, a.lba, count, false, ws_run))
		return SCSI_ASYNC;
	ws_run(cmd);
	return SCSI_ASYNC;
}
