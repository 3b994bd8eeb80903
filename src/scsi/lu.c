/* Logical unit objects with tgt's defaults, so that `tgtadm --op show`
 * and INQUIRY look the same as under tgt (spec/tgt-compat.md 3.4, 4.3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/core.h"
#include "scsi/scsi.h"

static const char *default_product(uint8_t type)
{
	switch (type) {
	case SCSI_TYPE_DISK:
		return "VIRTUAL-DISK";
	case SCSI_TYPE_CONTROLLER:
		return "Controller";
	case 0x01:
		return "VIRTUAL-TAPE";
	case 0x05:
		return "VIRTUAL-CDROM";
	case 0x08:
		return "VIRTUAL-CHANGER";
	case 0x11:
		return "OSD";
	default:
		return "VIRTUAL-DEVICE";
	}
}

struct scsi_lu *scsi_lu_new(struct target *target, int tid, uint64_t lun,
			    uint8_t type)
{
	struct scsi_lu *lu = calloc(1, sizeof(*lu));

	if (!lu)
		return NULL;
	lu->pr = scsi_pr_new();
	if (!lu->pr) {
		free(lu);
		return NULL;
	}
	scsi_range_lock_init(&lu->ranges);
	list_init(&lu->node);
	list_init(&lu->preventers);
	lu->target = target;
	lu->lun = lun;
	lu->type = type;
	/* tgt reports a block size of 1 for LUN 0 (spec 4.3); a CD/DVD
	 * has 2048-byte blocks and a removable medium. It is not
	 * `readonly` in tgt's sense (its show says No): its disc refuses
	 * writes by its format (mmc.c), and its image is opened for
	 * reading only (target.c). */
	lu->blk_shift = type == SCSI_TYPE_DISK ? 9 : 0;
	if (type == SCSI_TYPE_MMC) {
		lu->blk_shift = 11;
		lu->removable = true;
	}
	snprintf(lu->vendor_id, sizeof(lu->vendor_id), "%s", "IET");
	snprintf(lu->product_id, sizeof(lu->product_id), "%s",
		 default_product(type));
	snprintf(lu->product_rev, sizeof(lu->product_rev), "%s", "0001");
	snprintf(lu->scsi_id, sizeof(lu->scsi_id), "IET     %04x%04llx",
		 (unsigned)tid, (unsigned long long)lun);
	snprintf(lu->scsi_sn, sizeof(lu->scsi_sn), "beaf%d%llu", tid,
		 (unsigned long long)lun);
	lu->online = true;
	lu->write_cache = true;
	lu->bs.fd = -1;
	return lu;
}

void scsi_lu_free(struct scsi_lu *lu)
{
	if (!lu)
		return;
	if (list_linked(&lu->node))
		list_del(&lu->node);
	/* Close a store the owner left open, the way bs_close() does (it
	 * clears ops, so a store closed before is not closed twice); calling
	 * the op directly keeps scsi/ free of a link dependency on backing/. */
	if (lu->bs.ops && lu->bs.ops->close)
		lu->bs.ops->close(&lu->bs);
	lu->bs.ops = NULL;
	sbc_prevent_clear(lu);
	scsi_pr_free(lu->pr);
	free(lu->path);
	free(lu);
}

void scsi_lu_reset(struct scsi_lu *lu)
{
	/* SPC-2 reservations end, persistent ones stay (SPC-4 5.13.1);
	 * SBC-3: a logical unit reset ends medium removal prevention. */
	scsi_pr_lu_reset(lu);
	sbc_prevent_clear(lu);
	scsi_ua_queue_all(lu->target, NULL, lu->lun, ASC_BUS_DEVICE_RESET);
}
