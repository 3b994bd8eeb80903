/* `tgtadm --op stat` counters, per LU and I_T nexus, counted the way tgt
 * 1.0.85 counts them so that the output is the same for the same traffic
 * (spec §4.9; found by experiment against Debian's tgtd):
 *
 * - every command the SCSI core runs counts, whatever its opcode
 *   (INQUIRY and READ CAPACITY too), in the counters of its LU as seen
 *   through its nexus; a command for a LUN without a LU counts in LUN 0;
 * - its direction is the R/W flag of its SCSI Command PDU, and only with
 *   a non-zero expected data transfer length; the bytes are that expected
 *   length, not what the command moved (an INQUIRY returning 66 of 255
 *   bytes counts 255);
 * - *_subm when the core starts it, *_done when it finishes, so the two
 *   differ only while commands are in flight; a block write that reaches
 *   the store counts at most its CDB's bytes when done;
 * - any status but GOOD counts one error, with or without data;
 * - a nexus starts at zero: a new session has new counters.
 *
 * The counters live in the nexus and are touched by the target loop under
 * the target lock, like the rest of the nexus; `stat` reads them under the
 * same lock. Finding a command's counters walks the nexus's short list
 * (one entry per LU), as finding its LU walks the target's. */
#include <stdlib.h>

#include "scsi/core.h"
#include "scsi/scsi.h"
#include "target/target.h"

void itl_count_start(struct itl_counters *c, enum scsi_data_dir dir,
		     uint32_t expected_len)
{
	if (!expected_len)
		return;
	if (dir == SCSI_DIR_READ) {
		c->rd_subm_bytes += expected_len;
		c->rd_subm_cmds++;
	} else if (dir == SCSI_DIR_WRITE) {
		c->wr_subm_bytes += expected_len;
		c->wr_subm_cmds++;
	}
}

void itl_count_end(struct itl_counters *c, enum scsi_data_dir dir,
		   uint32_t expected_len, uint32_t wr_len, uint8_t status)
{
	if (status != SAM_STAT_GOOD)
		c->errors++;
	if (!expected_len)
		return;
	if (dir == SCSI_DIR_READ) {
		c->rd_done_bytes += expected_len;
		c->rd_done_cmds++;
	} else if (dir == SCSI_DIR_WRITE) {
		c->wr_done_bytes += wr_len;
		c->wr_done_cmds++;
	}
}

struct scsi_itl_stats *scsi_stats_find(const struct it_nexus *nexus,
				       const struct scsi_lu *lu)
{
	struct scsi_itl_stats *s;

	list_for_each_entry(s, &nexus->itl_stats, node)
		if (s->lu == lu)
			return s;
	return NULL;
}

/* LUN 0 stands in for a LUN without a LU: the first LU of the target. */
static const struct scsi_lu *counted_lu(const struct scsi_cmd *cmd)
{
	struct target *t = cmd->nexus->target;

	if (cmd->lu)
		return cmd->lu;
	if (!t || list_empty(&t->lus))
		return NULL;
	return list_first_entry(&t->lus, struct scsi_lu, node);
}

void scsi_stats_start(struct scsi_cmd *cmd)
{
	const struct scsi_lu *lu = cmd->nexus ? counted_lu(cmd) : NULL;

	cmd->itl = lu ? scsi_stats_find(cmd->nexus, lu) : NULL;
	cmd->itl_wr_len = cmd->expected_len;
	if (cmd->itl) {
		cmd->itl->users++;
		itl_count_start(&cmd->itl->n, cmd->dir, cmd->expected_len);
	}
}

void scsi_stats_end(struct scsi_cmd *cmd)
{
	struct scsi_itl_stats *s = cmd->itl;

	cmd->itl = NULL;
	if (!s)
		return;
	itl_count_end(&s->n, cmd->dir, cmd->expected_len, cmd->itl_wr_len,
		      cmd->status);
	if (--s->users == 0 && s->orphaned)
		free(s);
}

/* Unlinks counters whose nexus or LU goes; commands still counted in
 * them free them when the last one ends. */
static void itl_drop(struct scsi_itl_stats *s)
{
	list_del(&s->node);
	if (s->users)
		s->orphaned = true;
	else
		free(s);
}

void scsi_stats_write_clamp(struct scsi_cmd *cmd, uint32_t cdb_bytes)
{
	if (cdb_bytes < cmd->itl_wr_len)
		cmd->itl_wr_len = cdb_bytes;
}

static struct scsi_itl_stats *itl_new(struct it_nexus *nexus,
				      const struct scsi_lu *lu)
{
	struct scsi_itl_stats *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->lu = lu;
	s->lun = lu->lun;
	list_add_head(&s->node, &nexus->itl_stats);
	return s;
}

void scsi_stats_nexus_fini(struct it_nexus *nexus)
{
	struct scsi_itl_stats *s, *tmp;

	list_for_each_entry_safe(s, tmp, &nexus->itl_stats, node)
		itl_drop(s);
}

int scsi_stats_nexus_init(struct it_nexus *nexus)
{
	struct scsi_lu *lu;

	list_init(&nexus->itl_stats);
	if (!nexus->target)
		return 0;
	/* Ascending LUNs, each put first: the session lists them from
	 * the highest down, as tgt does. */
	list_for_each_entry(lu, &nexus->target->lus, node) {
		if (!itl_new(nexus, lu)) {
			scsi_stats_nexus_fini(nexus);
			return -1;
		}
	}
	return 0;
}

void scsi_stats_forget_lun(struct it_nexus *nexus, uint64_t lun)
{
	struct scsi_itl_stats *s, *tmp;

	list_for_each_entry_safe(s, tmp, &nexus->itl_stats, node) {
		if (s->lun == lun)
			itl_drop(s);
	}
}

int scsi_stats_lu_added(struct target *target, const struct scsi_lu *lu)
{
	struct it_nexus *nexus;

	list_for_each_entry(nexus, &target->nexuses, node) {
		if (itl_new(nexus, lu))
			continue;
		/* Undo: no nexus keeps counters of a LU that is not there. */
		list_for_each_entry(nexus, &target->nexuses, node)
			scsi_stats_forget_lun(nexus, lu->lun);
		return -1;
	}
	return 0;
}
