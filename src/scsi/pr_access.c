/* Which commands a reservation lets through (RESERVATION CONFLICT).
 *
 * Persistent reservations: the tables of SPC-4 5.13.1 (SPC commands)
 * and SBC-3 4.17 (block commands) give, for a command from an I_T
 * nexus that does not hold the reservation, one of three answers:
 *   - allowed under every type (INQUIRY, REPORT LUNS, REQUEST SENSE,
 *     PERSISTENT RESERVE IN/OUT, LOG SENSE, READ CAPACITY, ...);
 *   - a read of the medium: allowed under the Write Exclusive types,
 *     conflicts under the Exclusive Access types;
 *   - everything else (writes, MODE SENSE/SELECT, SYNCHRONIZE CACHE,
 *     REPORT SUPPORTED OPERATION CODES, ...) conflicts.
 * Under the Registrants Only and All Registrants types a registered
 * nexus is allowed everything. TEST UNIT READY is let through Write
 * Exclusive and Exclusive Access as well, which REPORT CAPABILITIES
 * announces (ALLOW COMMANDS 001b). Commands not in the tables conflict:
 * a command added later is safe until it is classified here.
 *
 * SPC-2 RESERVE: a LU reserved by one nexus refuses every other nexus
 * all but INQUIRY, REQUEST SENSE and REPORT LUNS; RESERVE and RELEASE
 * decide for themselves (reserve.c). */
#include "scsi/core.h"
#include "scsi/pr.h"
#include "scsi/scsi.h"

#define OP_LOG_SENSE 0x4d
#define OP_SERVICE_ACTION_IN_12 0xab

#define SAI12_READ_MEDIA_SERIAL 0x01
#define MI_REPORT_IDENTIFYING_INFO 0x05
#define MI_REPORT_TARGET_PORT_GROUPS 0x0a
#define MI_REPORT_ALIASES 0x0b
#define MI_REPORT_PRIORITY 0x0e
#define MI_REPORT_TIMESTAMP 0x0f

enum pr_access {
	ACCESS_ANY,   /* allowed through every reservation */
	ACCESS_READ,  /* reads the medium */
	ACCESS_OTHER, /* for holders (and registrants where the type says) */
};

static enum pr_access maintenance_in(uint8_t sa)
{
	switch (sa) {
	case MI_REPORT_IDENTIFYING_INFO:
	case MI_REPORT_TARGET_PORT_GROUPS:
	case MI_REPORT_ALIASES:
	case MI_REPORT_PRIORITY:
	case MI_REPORT_TIMESTAMP:
		return ACCESS_ANY;
	default:
		return ACCESS_OTHER;
	}
}

static enum pr_access service_action_in_16(uint8_t sa)
{
	if (sa == SAI_READ_CAPACITY_16)
		return ACCESS_ANY;
	if (sa == SAI_GET_LBA_STATUS)
		return ACCESS_READ;
	return ACCESS_OTHER;
}

/* PREVENT ALLOW MEDIUM REMOVAL is allowed only to allow removal; START
 * STOP UNIT only to start (START = 1, POWER CONDITION 0h). */
static enum pr_access access_of(const uint8_t *cdb)
{
	switch (cdb[0]) {
	case OP_TEST_UNIT_READY:
	case OP_REQUEST_SENSE:
	case OP_INQUIRY:
	case OP_READ_CAPACITY_10:
	case OP_LOG_SENSE:
	case OP_PR_IN:
	case OP_PR_OUT:
	case OP_REPORT_LUNS:
	case OP_RESERVE_6:
	case OP_RELEASE_6:
	case OP_RESERVE_10:
	case OP_RELEASE_10:
		return ACCESS_ANY;
	case OP_READ_6:
	case OP_READ_10:
	case OP_READ_12:
	case OP_READ_16:
	case OP_VERIFY_10:
	case OP_VERIFY_12:
	case OP_VERIFY_16:
	case OP_PRE_FETCH_10:
	case OP_PRE_FETCH_16:
	case OP_READ_DEFECT_DATA_10:
	case OP_READ_DEFECT_DATA_12:
		return ACCESS_READ;
	/* Writes of the medium (SBC-3 table 13), and the commands that
	 * write it as a whole or through the copy manager: for holders
	 * only. EXTENDED COPY also needs the reservations of its source
	 * and destination LUs to allow it (xcopy.c). */
	case OP_WRITE_SAME_10:
	case OP_WRITE_SAME_16:
	case OP_UNMAP:
	case OP_ORWRITE_16:
	case OP_SANITIZE:
	case OP_EXTENDED_COPY:
	case OP_RECEIVE_COPY_RESULTS:
		return ACCESS_OTHER;
	case OP_PREVENT_ALLOW:
		return (cdb[4] & 0x03) ? ACCESS_OTHER : ACCESS_ANY;
	case OP_START_STOP_UNIT:
		return (cdb[4] & 0xf1) == 0x01 ? ACCESS_ANY : ACCESS_OTHER;
	case OP_SERVICE_ACTION_IN_16:
		return service_action_in_16(cdb[1] & 0x1f);
	case OP_SERVICE_ACTION_IN_12:
		return (cdb[1] & 0x1f) == SAI12_READ_MEDIA_SERIAL
			       ? ACCESS_ANY : ACCESS_OTHER;
	case OP_MAINTENANCE_IN:
		return maintenance_in(cdb[1] & 0x1f);
	default:
		return ACCESS_OTHER;
	}
}

static bool write_exclusive(uint8_t type)
{
	return type == PR_TYPE_WE || type == PR_TYPE_WERO ||
	       type == PR_TYPE_WEAR;
}

static bool pr_allows(const struct pr_state *st, const struct it_nexus *n,
		      enum pr_access access)
{
	int i;

	if (st->type == PR_TYPE_NONE || access == ACCESS_ANY)
		return true;
	i = pr_find(st, n);
	if (i >= 0 && (pr_is_holder(st, (unsigned)i) ||
		       pr_registrants_type(st->type)))
		return true;
	return access == ACCESS_READ && write_exclusive(st->type);
}

static bool spc2_allows(const struct scsi_pr *pr, const struct it_nexus *n,
			const uint8_t *cdb)
{
	if (!pr->spc2_holder || pr->spc2_holder == n)
		return true;
	switch (cdb[0]) {
	case OP_INQUIRY:
	case OP_REQUEST_SENSE:
	case OP_REPORT_LUNS:
	case OP_RESERVE_6:
	case OP_RELEASE_6:
	case OP_RESERVE_10:
	case OP_RELEASE_10:
		return true;
	default:
		return false;
	}
}

bool scsi_pr_permits(const struct scsi_lu *lu, const struct it_nexus *nexus,
		     bool write)
{
	const struct scsi_pr *pr = lu->pr;

	if (!nexus || !pr)
		return true;
	if (pr->spc2_holder && pr->spc2_holder != nexus)
		return false;
	return pr_allows(&pr->st, nexus, write ? ACCESS_OTHER : ACCESS_READ);
}

bool scsi_pr_conflict(struct scsi_cmd *cmd)
{
	const struct scsi_pr *pr = cmd->lu->pr;

	if (!cmd->nexus || !pr)
		return false;
	if (spc2_allows(pr, cmd->nexus, cmd->cdb) &&
	    pr_allows(&pr->st, cmd->nexus, access_of(cmd->cdb)))
		return false;
	cmd->status = SAM_STAT_RESERVATION_CONFLICT;
	return true;
}
