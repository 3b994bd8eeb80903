/* Logical block provisioning (SBC-3 4.7): whether a LU is thin, what
 * its deallocated blocks read as, and the limits of the commands that
 * deallocate (UNMAP, WRITE SAME with the UNMAP bit) as the Block Limits
 * page announces them.
 *
 * A LU is thin provisioned (LBPME) when tgt's thin_provisioning=1 is set
 * and its store can deallocate (a file on a filesystem that punches
 * holes, a block device that discards); a thin setting on a store that
 * cannot is not announced, so no initiator relies on it. Deallocated
 * blocks read as zeros (LBPRZ) where the store says so (file holes). */
#include "scsi/core.h"
#include "scsi/scsi.h"

/* Bytes a filesystem allocates at once: unmapping less frees nothing. */
#define FS_BLOCK 4096u

bool sbc_thin(const struct scsi_lu *lu)
{
	return lu->type == SCSI_TYPE_DISK && lu->thin_provisioning &&
	       lu->bs.ops && lu->bs.caps.discard;
}

bool sbc_lbprz(const struct scsi_lu *lu)
{
	return sbc_thin(lu) && lu->bs.caps.unmap_zeroes;
}

uint32_t sbc_unmap_granularity(const struct scsi_lu *lu)
{
	uint32_t fs_blocks = FS_BLOCK >> lu->blk_shift;
	uint32_t physical = 1u << lu->lbppbe;

	if (!fs_blocks)
		fs_blocks = 1;
	return physical > fs_blocks ? physical : fs_blocks;
}
