/* I_T nexuses and their unit attention queues (SAM-5 5.14, SPC-4 5.14).
 *
 * Each nexus keeps its own list of pending UAs, oldest first. Everything
 * here runs under the target lock (the target loop, or the main thread
 * adding a LUN); the queues are reached only through these functions so
 * that they can get their own lock if sessions ever spread over loops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "scsi/core.h"
#include "scsi/scsi.h"
#include "target/target.h"

/* A nexus that never reads its UAs (an idle session while LUNs are added
 * and removed in a loop) must not grow without bound. Past this many the
 * oldest is dropped: the newest news is the most relevant. */
#define UA_MAX 64

static unsigned ua_count(const struct it_nexus *nexus)
{
	const struct scsi_ua *ua;
	unsigned n = 0;

	list_for_each_entry(ua, &nexus->ua_list, node)
		n++;
	return n;
}

static bool ua_queued(const struct it_nexus *nexus, uint64_t lun,
		      uint16_t asc)
{
	const struct scsi_ua *ua;

	list_for_each_entry(ua, &nexus->ua_list, node)
		if (ua->lun == lun && ua->asc == asc)
			return true;
	return false;
}

static void ua_free(struct scsi_ua *ua)
{
	list_del(&ua->node);
	free(ua);
}

void scsi_ua_queue(struct it_nexus *nexus, uint64_t lun, uint16_t asc)
{
	struct scsi_ua *ua;

	/* The same condition twice tells the initiator nothing new. */
	if (ua_queued(nexus, lun, asc))
		return;
	if (ua_count(nexus) >= UA_MAX)
		ua_free(list_first_entry(&nexus->ua_list, struct scsi_ua, node));
	ua = calloc(1, sizeof(*ua));
	if (!ua) {
		log_error("no memory for a unit attention (lun %llu asc %04x)",
			  (unsigned long long)lun, asc);
		return;
	}
	ua->lun = lun;
	ua->asc = asc;
	list_add_tail(&ua->node, &nexus->ua_list);
}

void scsi_ua_queue_all(struct target *target, struct it_nexus *except,
		       uint64_t lun, uint16_t asc)
{
	struct it_nexus *nexus;

	if (!target)
		return;
	list_for_each_entry(nexus, &target->nexuses, node)
		if (nexus != except)
			scsi_ua_queue(nexus, lun, asc);
}

void scsi_ua_drop_lun(struct target *target, uint64_t lun)
{
	struct it_nexus *nexus;
	struct scsi_ua *ua, *tmp;

	if (!target)
		return;
	list_for_each_entry(nexus, &target->nexuses, node) {
		list_for_each_entry_safe(ua, tmp, &nexus->ua_list, node)
			if (ua->lun == lun)
				ua_free(ua);
		spc_copy_forget(nexus, lun);
		scsi_stats_forget_lun(nexus, lun);
	}
}

bool scsi_ua_take(struct it_nexus *nexus, uint64_t lun, uint16_t *asc)
{
	struct scsi_ua *ua;

	list_for_each_entry(ua, &nexus->ua_list, node) {
		if (ua->lun != lun)
			continue;
		*asc = ua->asc;
		ua_free(ua);
		return true;
	}
	return false;
}

bool scsi_ua_pending(const struct it_nexus *nexus, uint64_t lun)
{
	const struct scsi_ua *ua;

	list_for_each_entry(ua, &nexus->ua_list, node)
		if (ua->lun == lun)
			return true;
	return false;
}

void scsi_ua_clear_asc(struct it_nexus *nexus, uint16_t asc)
{
	struct scsi_ua *ua, *tmp;

	list_for_each_entry_safe(ua, tmp, &nexus->ua_list, node)
		if (ua->asc == asc)
			ua_free(ua);
}

int it_nexus_init(struct it_nexus *nexus, struct target *target,
		  uint64_t id)
{
	struct scsi_lu *lu;

	list_init(&nexus->node);
	list_init(&nexus->ua_list);
	list_init(&nexus->copies);
	nexus->target = target;
	nexus->id = id;
	if (scsi_stats_nexus_init(nexus) < 0) {
		nexus->target = NULL;
		return -1;
	}
	if (!target)
		return 0;
	list_add_tail(&nexus->node, &target->nexuses);
	list_for_each_entry(lu, &target->lus, node)
		scsi_ua_queue(nexus, lu->lun, ASC_POWERON_RESET);
	return 0;
}

void it_nexus_set_port(struct it_nexus *nexus, const char *initiator,
		       const uint8_t isid[6])
{
	snprintf(nexus->initiator, sizeof(nexus->initiator), "%s", initiator);
	memcpy(nexus->isid, isid, sizeof(nexus->isid));
}

/* SAM-5: an I_T nexus loss ends the SPC-2 reservations it holds; its
 * persistent reservations and registrations stay. */
void it_nexus_fini(struct it_nexus *nexus)
{
	struct scsi_ua *ua, *tmp;
	struct scsi_lu *lu;

	if (nexus->target)
		list_for_each_entry(lu, &nexus->target->lus, node) {
			scsi_pr_nexus_gone(lu, nexus);
			sbc_prevent_nexus_gone(lu, nexus);
		}
	list_for_each_entry_safe(ua, tmp, &nexus->ua_list, node)
		ua_free(ua);
	spc_copy_forget(nexus, SCSI_LUN_NONE);
	scsi_stats_nexus_fini(nexus);
	if (list_linked(&nexus->node))
		list_del(&nexus->node);
	nexus->target = NULL;
}
