/* GET LBA STATUS (SBC-3, SERVICE ACTION IN(16) 12h): which blocks
 * from an LBA on are mapped and which deallocated, in LBA status
 * descriptors as many as the allocation length holds (at most
 * GLS_MAX_DESCRIPTORS, and never past the end of the medium).
 *
 * The answer is the store's (BS_MAP_STATUS: SEEK_DATA/SEEK_HOLE on a
 * file), asked once per descriptor. Its byte runs follow the filesystem's
 * allocation; a block counts as mapped if any byte of it is. A LU that is
 * not thin has no deallocated blocks (LBPME = 0): all mapped. */
#include <string.h>

#include "common/byteorder.h"
#include "scsi/core.h"
#include "scsi/scsi.h"

#define GLS_HEADER 8
#define GLS_DESCRIPTOR 16
#define GLS_MAX_DESCRIPTORS 64
#define GLS_MAX_BLOCKS 0xffffffffull /* NUMBER OF LOGICAL BLOCKS: 4 bytes */

#define STATUS_MAPPED 0x0
#define STATUS_DEALLOCATED 0x1

/* cmd->bs_stage counts the descriptors built in cmd->in_buf. */

static uint8_t *descriptor(struct scsi_cmd *cmd, int i)
{
	return cmd->in_buf + GLS_HEADER + (size_t)i * GLS_DESCRIPTOR;
}

/* The first LBA no descriptor covers yet. */
static uint64_t next_lba(struct scsi_cmd *cmd)
{
	const uint8_t *d;

	if (!cmd->bs_stage)
		return get_be64(cmd->cdb + 2);
	d = descriptor(cmd, cmd->bs_stage - 1);
	return get_be64(d) + get_be32(d + 8);
}

static unsigned max_descriptors(const struct scsi_cmd *cmd)
{
	uint32_t alloc = get_be32(cmd->cdb + 10);
	uint32_t n = alloc > GLS_HEADER + GLS_DESCRIPTOR
			     ? (alloc - GLS_HEADER) / GLS_DESCRIPTOR : 1;

	return n < GLS_MAX_DESCRIPTORS ? n : GLS_MAX_DESCRIPTORS;
}

/* Adds [lba, lba + count) with status, merged into the last descriptor
 * if that has the same status and room. */
static void add_run(struct scsi_cmd *cmd, uint64_t lba, uint64_t count,
		    uint8_t status)
{
	uint8_t *d;

	if (cmd->bs_stage) {
		d = descriptor(cmd, cmd->bs_stage - 1);
		if ((d[12] & 0x0f) == status &&
		    get_be32(d + 8) + count <= GLS_MAX_BLOCKS) {
			put_be32(d + 8, get_be32(d + 8) + (uint32_t)count);
			return;
		}
	}
	d = descriptor(cmd, cmd->bs_stage++);
	memset(d, 0, GLS_DESCRIPTOR);
	put_be64(d, lba);
	put_be32(d + 8, (uint32_t)count);
	d[12] = status;
}

/* The blocks of a store run starting at block lba: a mapped run ends at
 * the block holding its last byte, a deallocated one at the last block
 * it covers whole. A run shorter than its first block is mapped. */
static void add_store_run(struct scsi_cmd *cmd, uint64_t lba,
			  const struct bs_map *map)
{
	const struct scsi_lu *lu = cmd->lu;
	uint64_t nr = scsi_nr_blocks(lu);
	uint64_t end_byte = (lba << lu->blk_shift) + map->len;
	uint64_t bs = scsi_block_size(lu);
	uint64_t end = map->mapped ? (end_byte + bs - 1) / bs : end_byte / bs;
	bool mapped = map->mapped || end <= lba;

	if (end <= lba)
		end = lba + 1;
	if (end > nr)
		end = nr;
	if (end - lba > GLS_MAX_BLOCKS)
		end = lba + GLS_MAX_BLOCKS;
	add_run(cmd, lba, end - lba,
		mapped ? STATUS_MAPPED : STATUS_DEALLOCATED);
}

static enum scsi_result finish(struct scsi_cmd *cmd)
{
	uint32_t len = GLS_HEADER + (uint32_t)cmd->bs_stage * GLS_DESCRIPTOR;
	uint32_t alloc = get_be32(cmd->cdb + 10);

	memset(cmd->in_buf, 0, GLS_HEADER);
	put_be32(cmd->in_buf, len - 4); /* PARAMETER DATA LENGTH */
	cmd->in_len = len < alloc ? len : alloc;
	return SCSI_DONE;
}

static enum scsi_result ask_store(struct scsi_cmd *cmd);

static void map_done(struct bs_io *io)
{
	struct scsi_cmd *cmd = io->arg;

	if (io->result < 0) {
		sbc_io_failed(cmd, io);
		scsi_cmd_finish(cmd);
		return;
	}
	add_store_run(cmd, next_lba(cmd), &io->map);
	if (ask_store(cmd) == SCSI_DONE)
		scsi_cmd_finish(cmd);
}

/* Asks for the run at the next uncovered LBA, or finishes when the
 * descriptors are full or the medium ends. */
static enum scsi_result ask_store(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;
	uint64_t lba = next_lba(cmd), nr = scsi_nr_blocks(lu);

	if (lba >= nr || (unsigned)cmd->bs_stage >= max_descriptors(cmd))
		return finish(cmd);
	return sbc_submit(cmd, BS_MAP_STATUS, lba << lu->blk_shift,
			  (nr - lba) << lu->blk_shift, NULL, false, map_done);
}

enum scsi_result sbc_get_lba_status(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;
	uint64_t lba = get_be64(cmd->cdb + 2), nr = scsi_nr_blocks(lu);
	size_t room = GLS_HEADER + (size_t)max_descriptors(cmd) *
				   GLS_DESCRIPTOR;

	if (lba >= nr)
		return scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	if (!sbc_store_ready(cmd) || !scsi_alloc_in(cmd, room, false))
		return SCSI_DONE;
	cmd->bs_stage = 0;
	if (!sbc_thin(lu)) {
		uint64_t count = nr - lba;

		add_run(cmd, lba, count < GLS_MAX_BLOCKS ? count
							 : GLS_MAX_BLOCKS,
			STATUS_MAPPED);
		return finish(cmd);
	}
	return ask_store(cmd);
}
