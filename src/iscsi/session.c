/* Sessions: creation at the end of login, lookup, and the CmdSN window. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "target/registry.h"

struct iscsi_session *iscsi_session_new(struct iscsi_target *itgt,
					const char *initiator,
					const char *alias,
					const uint8_t isid[6], uint16_t tsih)
{
	struct iscsi_session *sess = calloc(1, sizeof(*sess));

	if (!sess)
		return NULL;
	sess->itgt = itgt;
	sess->tsih = tsih;
	memcpy(sess->isid, isid, 6);
	snprintf(sess->initiator_name, sizeof(sess->initiator_name), "%s",
		 initiator);
	snprintf(sess->initiator_alias, sizeof(sess->initiator_alias), "%s",
		 alias);
	list_init(&sess->conns);
	list_init(&sess->pending);
	list_init(&sess->node);
	sess->queue_depth = 1; /* set from the login's window */
	if (itgt) {
		it_nexus_init(&sess->nexus, itgt->target, tsih);
		/* Reservations name the initiator port (DESIGN.md rule
		 * 10): the nexus keeps its own copy. */
		it_nexus_set_port(&sess->nexus, initiator, isid);
		list_add_tail(&sess->node, &itgt->sessions);
	}
	return sess;
}

/* Called by the session's owner (target loop, or main loop for discovery)
 * with the target lock held, once its last connection is gone. */
void iscsi_session_free(struct iscsi_session *sess)
{
	if (sess->itgt) {
		list_del(&sess->node);
		it_nexus_fini(&sess->nexus);
	}
	if (sess->tsih)
		registry_free_tsih(sess->tsih);
	free(sess);
}

struct iscsi_session *iscsi_session_find_tsih(struct iscsi_target *itgt,
					      uint16_t tsih)
{
	struct iscsi_session *sess;

	list_for_each_entry(sess, &itgt->sessions, node)
		if (sess->tsih == tsih)
			return sess;
	return NULL;
}

struct iscsi_session *iscsi_session_find(struct iscsi_target *itgt,
					 const char *initiator,
					 const uint8_t isid[6])
{
	struct iscsi_session *sess;

	list_for_each_entry(sess, &itgt->sessions, node)
		if (!memcmp(sess->isid, isid, 6) &&
		    !strcmp(sess->initiator_name, initiator))
			return sess;
	return NULL;
}

/* RFC 7143 §4.2.2.1: a non-immediate command is acceptable when ExpCmdSN
 * <= CmdSN <= MaxCmdSN in serial arithmetic. */
bool iscsi_cmdsn_in_window(struct iscsi_session *sess, uint32_t cmdsn)
{
	/* Against what the initiator was told, not what we could offer
	 * now: a CmdSN beyond the advertised MaxCmdSN is a protocol error
	 * even if there is room for it (iSCSICmdSnTooHigh). */
	return !sn_lt(cmdsn, sess->exp_cmdsn) &&
	       !sn_gt(cmdsn, sess->max_cmdsn);
}

uint32_t iscsi_session_max_cmdsn(struct iscsi_session *sess)
{
	uint32_t room = sess->active < sess->queue_depth
				? sess->queue_depth - sess->active : 0;
	uint32_t max = sess->exp_cmdsn + room - 1;

	/* RFC 7143 §4.2.2.1: an initiator may use any CmdSN up to the
	 * largest MaxCmdSN it has seen, so it must never go backwards. */
	if (!sess->max_cmdsn_valid || sn_gt(max, sess->max_cmdsn)) {
		sess->max_cmdsn = max;
		sess->max_cmdsn_valid = true;
	}
	return sess->max_cmdsn;
}

void iscsi_session_note_early_sn(struct iscsi_session *sess, uint32_t cmdsn)
{
	for (unsigned i = 0; i < sess->nr_early_sn; i++)
		if (sess->early_sn[i] == cmdsn)
			return;
	/* A full list means a misbehaving initiator; it then stalls only
	 * itself, as any CmdSN gap would. */
	if (sess->nr_early_sn < ISCSI_EARLY_SN_MAX)
		sess->early_sn[sess->nr_early_sn++] = cmdsn;
}

bool iscsi_session_take_early_sn(struct iscsi_session *sess)
{
	for (unsigned i = 0; i < sess->nr_early_sn; i++) {
		if (sess->early_sn[i] != sess->exp_cmdsn)
			continue;
		sess->early_sn[i] = sess->early_sn[--sess->nr_early_sn];
		sess->exp_cmdsn++;
		return true;
	}
	return false;
}
