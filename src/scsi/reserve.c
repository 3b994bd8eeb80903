/* RESERVE(6/10) and RELEASE(6/10): the SPC-2 logical unit reservation
 * (SPC-2 7.21-7.24), third-party and extent reservations not supported
 * (their CDB bits are refused by the opcode table).
 *
 * One I_T nexus at a time may hold it; it ends with RELEASE from the
 * holder, the holder's I_T nexus loss (logout, connection drop), a LU or
 * target reset (nexus.c). RESERVE from the holder again is GOOD; RELEASE
 * from another nexus is GOOD and changes nothing.
 *
 * With persistent reservations (SPC-4 5.13.3, compatible reservation
 * handling: CRH = 1 in REPORT CAPABILITIES): RESERVE and RELEASE from the
 * persistent reservation holder, or from a registrant under a
 * Registrants Only or All Registrants reservation, are GOOD and change
 * nothing; from anyone else, while any registration exists, they are a
 * RESERVATION CONFLICT. */
#include "scsi/core.h"
#include "scsi/pr.h"
#include "scsi/scsi.h"

/* The CRH exceptions: GOOD without effect. */
static bool pr_exempt(const struct pr_state *st, const struct it_nexus *n)
{
	int i = n ? pr_find(st, n) : -1;

	if (i < 0 || st->type == PR_TYPE_NONE)
		return false;
	return pr_is_holder(st, (unsigned)i) || pr_registrants_type(st->type);
}

static enum scsi_result conflict(struct scsi_cmd *cmd)
{
	cmd->status = SAM_STAT_RESERVATION_CONFLICT;
	return SCSI_DONE;
}

enum scsi_result spc_reserve(struct scsi_cmd *cmd)
{
	struct scsi_pr *pr = cmd->lu->pr;

	if (pr_exempt(&pr->st, cmd->nexus))
		return SCSI_DONE;
	if (pr->st.nr)
		return conflict(cmd);
	if (pr->spc2_holder && pr->spc2_holder != cmd->nexus)
		return conflict(cmd);
	pr->spc2_holder = cmd->nexus;
	return SCSI_DONE;
}

enum scsi_result spc_release(struct scsi_cmd *cmd)
{
	struct scsi_pr *pr = cmd->lu->pr;

	if (pr_exempt(&pr->st, cmd->nexus))
		return SCSI_DONE;
	if (pr->st.nr)
		return conflict(cmd);
	if (pr->spc2_holder == cmd->nexus)
		pr->spc2_holder = NULL;
	return SCSI_DONE;
}
