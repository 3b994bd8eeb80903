/* Block device commands that describe or control the medium rather than
 * move data (SBC-3): READ CAPACITY(10/16), PRE-FETCH(10/16) and READ
 * DEFECT DATA(10/12). */
#include <string.h>

#include "common/byteorder.h"
#include "scsi/core.h"
#include "scsi/scsi.h"

/* RETURNED LOGICAL BLOCK ADDRESS: the last LBA. */
static uint64_t last_lba(const struct scsi_lu *lu)
{
	uint64_t n = scsi_nr_blocks(lu);

	return n ? n - 1 : 0;
}

enum scsi_result sbc_read_capacity10(struct scsi_cmd *cmd)
{
	const struct scsi_lu *lu = cmd->lu;
	uint64_t last = last_lba(lu);
	uint8_t buf[8];

	/* Without PMI (obsolete) the LBA field must be zero. */
	if (!(cmd->cdb[8] & 0x01) && get_be32(cmd->cdb + 2))
		return scsi_bad_cdb(cmd, 2, 7);
	/* FFFFFFFFh tells the initiator to use READ CAPACITY(16). */
	put_be32(buf, last > 0xfffffffeull ? 0xffffffffu : (uint32_t)last);
	put_be32(buf + 4, scsi_block_size(lu));
	return scsi_reply(cmd, buf, sizeof(buf), sizeof(buf));
}

enum scsi_result sbc_read_capacity16(struct scsi_cmd *cmd)
{
	const struct scsi_lu *lu = cmd->lu;
	uint8_t buf[32];

	if (!(cmd->cdb[14] & 0x01) && get_be64(cmd->cdb + 2))
		return scsi_bad_cdb(cmd, 2, 7);
	memset(buf, 0, sizeof(buf));
	put_be64(buf, last_lba(lu));
	put_be32(buf + 8, scsi_block_size(lu));
	/* Byte 12: no protection information (P_TYPE, PROT_EN = 0). */
	buf[13] = lu->lbppbe & 0x0f;
	put_be16(buf + 14, lu->lowest_aligned_lba & 0x3fff);
	if (sbc_thin(lu))
		buf[14] |= 0x80; /* LBPME */
	if (sbc_lbprz(lu))
		buf[14] |= 0x40; /* LBPRZ */
	return scsi_reply(cmd, buf, sizeof(buf), get_be32(cmd->cdb + 10));
}

/* PRE-FETCH(10/16) (SBC-3): there is no cache of our own to
 * load (the host's page cache is the kernel's), so the blocks that fit
 * in it are none: after the range check the answer is GOOD, which SBC-3
 * gives for a cache without room for the range (CONDITION MET would
 * claim the blocks are cached). */
enum scsi_result sbc_prefetch(struct scsi_cmd *cmd)
{
	bool ten = cmd->cdb[0] == OP_PRE_FETCH_10;
	uint64_t lba = ten ? get_be32(cmd->cdb + 2) : get_be64(cmd->cdb + 2);
	uint64_t blocks = ten ? get_be16(cmd->cdb + 7)
			      : get_be32(cmd->cdb + 10);
	uint64_t nr = scsi_nr_blocks(cmd->lu);

	if (lba > nr || blocks > nr - lba)
		return scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	return SCSI_DONE;
}

#define DEFECT_PLIST 0x10
#define DEFECT_GLIST 0x08
#define DEFECT_FORMAT 0x07
#define DEFECT_FORMAT_RESERVED 0x07

/* READ DEFECT DATA(10/12) (SBC-3): a file has no defective
 * sectors of its own, so both lists are empty. The lists asked for are
 * marked valid (PLISTV, GLISTV) and the requested format is echoed: an
 * empty list is empty in every format. */
enum scsi_result sbc_read_defect_data(struct scsi_cmd *cmd)
{
	bool ten = cmd->cdb[0] == OP_READ_DEFECT_DATA_10;
	uint8_t flags = ten ? cmd->cdb[2] : cmd->cdb[1];
	uint32_t alloc = ten ? get_be16(cmd->cdb + 7) : get_be32(cmd->cdb + 6);
	uint8_t buf[8];

	if ((flags & DEFECT_FORMAT) == DEFECT_FORMAT_RESERVED)
		return scsi_bad_cdb(cmd, ten ? 2 : 1, 2);
	memset(buf, 0, sizeof(buf));
	/* Byte 1 of both headers: PLISTV, GLISTV, DEFECT LIST FORMAT;
	 * the DEFECT LIST LENGTH (2 or 4 bytes) is zero. */
	buf[1] = flags & (DEFECT_PLIST | DEFECT_GLIST | DEFECT_FORMAT);
	return scsi_reply(cmd, buf, ten ? 4 : 8, alloc);
}
