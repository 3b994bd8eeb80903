/* The medium as a removable one (SBC-3 START STOP UNIT, SPC-4 PREVENT
 * ALLOW MEDIUM REMOVAL).
 *
 * A LU with tgt's removable=1 can have its medium ejected (LOEJ = 1,
 * START = 0: the LU goes offline, as `tgtadm ... online=0` does, and
 * medium commands get NOT READY, MEDIUM NOT PRESENT) and loaded again.
 * Removal is prevented while any I_T nexus has PREVENT set: each nexus's
 * prevention is its own, ends when that nexus clears it or goes away,
 * and all of them end with a LU or target reset (SPC-4). The LU
 * keeps the nexuses that prevent in lu->preventers; lu->prevent_removal
 * says whether there is any (tgtadm's "Prevent removal"). */
#include <stdlib.h>

#include "common/log.h"
#include "scsi/core.h"
#include "scsi/scsi.h"

#define SSU_START 0x01
#define SSU_LOEJ 0x02
#define SSU_NO_FLUSH 0x04
#define ASC_MEDIUM_MAY_HAVE_CHANGED 0x2800 /* NOT READY TO READY CHANGE */

/* One I_T nexus that prevents removal of a LU's medium. */
struct scsi_preventer {
	struct list_node node;
	const struct it_nexus *nexus;
};

static struct scsi_preventer *find_preventer(struct scsi_lu *lu,
					     const struct it_nexus *nexus)
{
	struct scsi_preventer *p;

	list_for_each_entry(p, &lu->preventers, node)
		if (p->nexus == nexus)
			return p;
	return NULL;
}

static void drop_preventer(struct scsi_lu *lu, struct scsi_preventer *p)
{
	list_del(&p->node);
	free(p);
	lu->prevent_removal = !list_empty(&lu->preventers);
}

void sbc_prevent_nexus_gone(struct scsi_lu *lu, const struct it_nexus *nexus)
{
	struct scsi_preventer *p = find_preventer(lu, nexus);

	if (p)
		drop_preventer(lu, p);
}

void sbc_prevent_clear(struct scsi_lu *lu)
{
	struct scsi_preventer *p, *tmp;

	list_for_each_entry_safe(p, tmp, &lu->preventers, node)
		drop_preventer(lu, p);
}

/* PREVENT 01b prevents, 00b allows; 10b and 11b are obsolete and taken
 * by their low bit. A command without a nexus (none in practice) has
 * nobody to hold the prevention for. */
enum scsi_result sbc_prevent_allow(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;
	struct scsi_preventer *p;
	bool prevent = cmd->cdb[4] & 0x01;

	if (!cmd->nexus)
		return SCSI_DONE;
	p = find_preventer(lu, cmd->nexus);
	if (!prevent) {
		if (p)
			drop_preventer(lu, p);
		return SCSI_DONE;
	}
	if (p)
		return SCSI_DONE;
	p = calloc(1, sizeof(*p));
	if (!p) {
		cmd->status = SAM_STAT_BUSY;
		return SCSI_DONE;
	}
	p->nexus = cmd->nexus;
	list_add_tail(&p->node, &lu->preventers);
	lu->prevent_removal = true;
	return SCSI_DONE;
}

/* The medium is back: the other nexuses learn that it may have changed
 * (SPC-4 unit attentions); the one that loaded it knows. */
static enum scsi_result load(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;

	if (!lu->bs.ops)
		return scsi_fail(cmd, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	if (!lu->online && cmd->nexus)
		scsi_ua_queue_all(cmd->nexus->target, cmd->nexus, lu->lun,
				  ASC_MEDIUM_MAY_HAVE_CHANGED);
	if (!lu->online)
		mmc_media_event(lu, MMC_EVENT_NEW_MEDIA);
	lu->online = true;
	return SCSI_DONE;
}

static void take_out(struct scsi_lu *lu)
{
	if (lu->online)
		mmc_media_event(lu, MMC_EVENT_MEDIA_REMOVAL);
	lu->online = false;
}

static void ejected_after_flush(struct bs_io *io)
{
	struct scsi_cmd *cmd = io->arg;

	if (io->result < 0)
		sbc_io_failed(cmd, io);
	else
		take_out(cmd->lu);
	scsi_cmd_finish(cmd);
}

/* The cache is written out first (unless NO_FLUSH), so that nothing
 * acknowledged is lost with the medium. */
static enum scsi_result eject(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;

	if (!lu->online || (cmd->cdb[4] & SSU_NO_FLUSH) || !lu->bs.ops) {
		take_out(lu);
		return SCSI_DONE;
	}
	return sbc_submit(cmd, BS_FLUSH, 0, 0, NULL, false,
			  ejected_after_flush);
}

/* There is no spindle: START and STOP change nothing, except that a stop
 * writes the cache out first (unless NO_FLUSH). LOEJ loads
 * or ejects a removable medium; a fixed one cannot be ejected. A power
 * condition other than 0h makes START and LOEJ ignored (SBC-3), and is
 * accepted and ignored itself. */
enum scsi_result sbc_start_stop(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;
	uint8_t b4 = cmd->cdb[4];
	bool start = b4 & SSU_START;

	if (b4 >> 4)
		return SCSI_DONE;
	if (b4 & SSU_LOEJ) {
		if (!lu->removable)
			return scsi_bad_cdb(cmd, 4, 1);
		if (lu->prevent_removal)
			return scsi_fail(cmd, SK_ILLEGAL_REQUEST,
					 ASC_MEDIUM_REMOVAL_PREVENTED);
		return start ? load(cmd) : eject(cmd);
	}
	if (!start && !(b4 & SSU_NO_FLUSH) && lu->online)
		return sbc_submit_flush(cmd);
	return SCSI_DONE;
}
