/* Block device commands that describe or control the medium rather than
 * move data (SBC-3): READ CAPACITY(10/16), START STOP UNIT and PREVENT
 * ALLOW MEDIUM REMOVAL. */
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

#define SSU_START 0x01
#define SSU_LOEJ 0x02
#define SSU_NO_FLUSH 0x04

/* There is no spindle: START and STOP change nothing, except that a stop
 * writes the cache out first (SBC-3 5.25: unless NO_FLUSH) and an eject
 * is refused while an initiator prevents medium removal. A power
 * condition other than 0h is accepted and ignored. */
enum scsi_result sbc_start_stop(struct scsi_cmd *cmd)
{
	const struct scsi_lu *lu = cmd->lu;
	uint8_t b4 = cmd->cdb[4];
	bool start = b4 & SSU_START, loej = b4 & SSU_LOEJ;

	if (b4 >> 4)
		return SCSI_DONE;
	if (loej && !start && lu->prevent_removal)
		return scsi_fail(cmd, SK_ILLEGAL_REQUEST,
				 ASC_MEDIUM_REMOVAL_PREVENTED);
	if (!start && !(b4 & SSU_NO_FLUSH) && lu->online)
		return sbc_submit_flush(cmd);
	return SCSI_DONE;
}

/* Recorded for `tgtadm --op show` ("Prevent removal") and honoured by
 * START STOP UNIT. Values 10b and 11b are obsolete; bit 0 decides. */
enum scsi_result sbc_prevent_allow(struct scsi_cmd *cmd)
{
	cmd->lu->prevent_removal = cmd->cdb[4] & 0x01;
	return SCSI_DONE;
}
