/* Whether a further connection may join a session (main thread, at
 * login).
 *
 * The session of a leading login is started by the target loop when it
 * adopts the connection (session.c), a moment after the main thread sent
 * the final Login Response with its TSIH. An initiator that opens its
 * next connection at once (MC/S, or a multipath initiator adding a path)
 * could name a session the target loop has not started yet and be told
 * it does not exist. So the main thread remembers the last few leading
 * logins it handed over: a join naming one of them is let through, and
 * by the time its own adoption runs on the same target loop, the
 * leader's adoption, posted earlier, has started the session. (If the
 * leader still waits for a reinstated session's commands to end, the
 * join fails there and the initiator retries.)
 */
#include <stdio.h>
#include <string.h>

#include "event/loop.h"
#include "iscsi/iscsi.h"
#include "iscsi/pdu.h"
#include "target/target.h"

/* Long enough for any hand-over; short enough that an entry cannot
 * outlive its session by much (a join naming an ended session still
 * fails at adoption). */
#define HANDED_LEAD_MS 10000

static const struct iscsi_handed_lead *
handed_lead(const struct iscsi_target *itgt, uint16_t tsih,
	    const char *initiator, const uint8_t isid[6])
{
	uint64_t now = ev_now_ms();

	for (unsigned i = 0; i < ISCSI_HANDED_LEADS; i++) {
		const struct iscsi_handed_lead *l = &itgt->handed_leads[i];

		if (l->tsih == tsih && now - l->at_ms < HANDED_LEAD_MS &&
		    !strcmp(l->initiator, initiator) &&
		    !memcmp(l->isid, isid, 6))
			return l;
	}
	return NULL;
}

uint16_t iscsi_join_check(struct target *t, uint16_t tsih,
			  const char *initiator, const uint8_t isid[6],
			  uint16_t cid)
{
	const struct iscsi_handed_lead *lead;
	uint16_t status;

	target_lock(t);
	status = iscsi_session_check_join(t->iscsi, tsih, initiator, isid,
					  cid);
	target_unlock(t);
	if (status != ISCSI_LOGIN_SESSION_NOT_FOUND)
		return status;
	lead = handed_lead(t->iscsi, tsih, initiator, isid);
	if (!lead)
		return status;
	return lead->max_conns > 1 ? ISCSI_LOGIN_OK
				   : ISCSI_LOGIN_TOO_MANY_CONNECTIONS;
}

void iscsi_join_note_lead(struct iscsi_conn *conn)
{
	struct iscsi_target *itgt = conn->migrate_to->iscsi;
	struct iscsi_handed_lead *l;
	struct iscsi_login_result r;

	iscsi_login_result(conn, &r);
	if (r.joining)
		return;
	l = &itgt->handed_leads[itgt->next_handed_lead++ % ISCSI_HANDED_LEADS];
	l->tsih = r.tsih;
	memcpy(l->isid, r.isid, 6);
	snprintf(l->initiator, sizeof(l->initiator), "%s", r.initiator);
	l->max_conns = conn->params.val[ISCSI_PARAM_MAX_CONNECTIONS];
	l->at_ms = ev_now_ms();
}
