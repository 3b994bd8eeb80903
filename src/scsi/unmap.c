/* UNMAP (SBC-3, opcode 42h): deallocate the LBA ranges of the
 * parameter list's block descriptors on a thin LU.
 *
 * The whole list is checked before anything is deallocated (a bad
 * descriptor anywhere changes nothing): its length, the descriptor count
 * and the LBA total against the Block Limits page, and every range
 * against the capacity. Then one store request per non-empty descriptor,
 * in order, each holding its range in the LU's range lock as a write
 * does, so that a COMPARE AND WRITE there stays atomic. */
#include "common/byteorder.h"
#include "scsi/core.h"
#include "scsi/scsi.h"

#define UNMAP_HEADER 8
#define UNMAP_DESCRIPTOR 16
#define UNMAP_PLEN_BYTE 7 /* PARAMETER LIST LENGTH in the CDB */

/* cmd->bs_stage is the index of the descriptor being deallocated. */

static unsigned descriptor_count(const struct scsi_cmd *cmd, uint32_t plen)
{
	uint32_t have = cmd->out_len < plen ? cmd->out_len : plen;
	uint32_t listed = get_be16(cmd->out_buf + 2);

	/* What the list announces and what arrived, whichever is
	 * shorter; an incomplete last descriptor is ignored (SBC-3). */
	if (listed > have - UNMAP_HEADER)
		listed = have - UNMAP_HEADER;
	return listed / UNMAP_DESCRIPTOR;
}

static const uint8_t *descriptor(const struct scsi_cmd *cmd, unsigned i)
{
	return cmd->out_buf + UNMAP_HEADER + (size_t)i * UNMAP_DESCRIPTOR;
}

static bool bad_param(struct scsi_cmd *cmd, unsigned byte)
{
	scsi_bad_param(cmd, byte, 7);
	return false;
}

/* Every descriptor on the medium, and the total within the limit. */
static bool descriptors_valid(struct scsi_cmd *cmd, unsigned n)
{
	uint64_t nr = scsi_nr_blocks(cmd->lu), total = 0;

	if (n > SBC_MAX_UNMAP_DESCRIPTORS)
		return bad_param(cmd, 2);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *d = descriptor(cmd, i);
		uint64_t lba = get_be64(d);
		uint32_t blocks = get_be32(d + 8);

		if (lba > nr || blocks > nr - lba) {
			scsi_set_sense(cmd, SK_ILLEGAL_REQUEST,
				       ASC_LBA_OUT_OF_RANGE);
			return false;
		}
		total += blocks;
	}
	if (total > SBC_MAX_UNMAP_LBAS)
		return bad_param(cmd, UNMAP_HEADER + 8);
	return true;
}

static enum scsi_result unmap_from(struct scsi_cmd *cmd, unsigned i);
static void unmap_done(struct bs_io *io);

/* A descriptor parked behind a COMPARE AND WRITE goes on. */
static void unmap_resume(struct scsi_cmd *cmd)
{
	const uint8_t *d = descriptor(cmd, (unsigned)cmd->bs_stage);
	struct scsi_lu *lu = cmd->lu;

	sbc_submit(cmd, BS_UNMAP, get_be64(d) << lu->blk_shift,
		   (uint64_t)get_be32(d + 8) << lu->blk_shift, NULL,
		   !lu->write_cache, unmap_done);
}

static void unmap_done(struct bs_io *io)
{
	struct scsi_cmd *cmd = io->arg;

	scsi_range_release(cmd);
	if (io->result < 0) {
		sbc_io_failed(cmd, io);
		scsi_cmd_finish(cmd);
		return;
	}
	if (unmap_from(cmd, (unsigned)cmd->bs_stage + 1) == SCSI_DONE)
		scsi_cmd_finish(cmd);
}

/* Deallocates descriptor i, or the next non-empty one after it; done
 * when none is left. */
static enum scsi_result unmap_from(struct scsi_cmd *cmd, unsigned i)
{
	unsigned n = descriptor_count(cmd, get_be16(cmd->cdb + UNMAP_PLEN_BYTE));

	while (i < n && !get_be32(descriptor(cmd, i) + 8))
		i++;
	if (i >= n)
		return SCSI_DONE;
	cmd->bs_stage = (int)i;
	if (!scsi_range_acquire(cmd, get_be64(descriptor(cmd, i)),
				get_be32(descriptor(cmd, i) + 8), false,
				unmap_resume))
		return SCSI_ASYNC;
	unmap_resume(cmd);
	return SCSI_ASYNC;
}

enum scsi_result sbc_unmap(struct scsi_cmd *cmd)
{
	uint32_t plen = get_be16(cmd->cdb + UNMAP_PLEN_BYTE);

	cmd->out_cdb_len = plen;
	if (!sbc_write_allowed(cmd))
		return SCSI_DONE;
	/* No parameter list is no work. */
	if (plen == 0)
		return SCSI_DONE;
	if (plen < UNMAP_HEADER || !cmd->out_buf ||
	    cmd->out_len < UNMAP_HEADER)
		return scsi_fail(cmd, SK_ILLEGAL_REQUEST,
				 ASC_PARAMETER_LIST_LENGTH_ERROR);
	if (!descriptors_valid(cmd, descriptor_count(cmd, plen)) ||
	    !sbc_store_ready(cmd))
		return SCSI_DONE;
	return unmap_from(cmd, 0);
}
