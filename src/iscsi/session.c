/* Sessions: creation at the end of login, lookup, the CmdSN window, and
 * the hand-over of a connection whose login finished to its target's loop:
 * a new session, a further connection of a session (MC/S), session
 * reinstatement and connection reinstatement (RFC 7143 §6.3.5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/log.h"
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
		if (it_nexus_init(&sess->nexus, itgt->target, tsih) < 0) {
			free(sess);
			return NULL;
		}
		/* Reservations name the initiator port (DESIGN.md rule
		 * 10): the nexus keeps its own copy. */
		it_nexus_set_port(&sess->nexus, initiator, isid);
	}
	/* Linked into its target with its first connection
	 * (iscsi_session_add_conn), complete: `show` may read it then. */
	return sess;
}

void iscsi_session_add_conn(struct iscsi_session *sess,
			    struct iscsi_conn *conn)
{
	struct iscsi_target *itgt = sess->itgt;

	if (itgt)
		pthread_mutex_lock(&itgt->roster_lock);
	if (itgt && list_empty(&sess->node))
		list_add_tail(&sess->node, &itgt->sessions);
	list_add_tail(&conn->session_node, &sess->conns);
	conn->session = sess;
	if (itgt)
		pthread_mutex_unlock(&itgt->roster_lock);
}

bool iscsi_session_remove_conn(struct iscsi_session *sess,
			       struct iscsi_conn *conn)
{
	struct iscsi_target *itgt = sess->itgt;
	bool last;

	if (itgt)
		pthread_mutex_lock(&itgt->roster_lock);
	list_del(&conn->session_node);
	conn->session = NULL;
	last = list_empty(&sess->conns);
	/* In the same step, so that `show` never lists a session that
	 * has no connection left. */
	if (last)
		list_del(&sess->node);
	if (itgt)
		pthread_mutex_unlock(&itgt->roster_lock);
	return last;
}

/* Called by the session's owner (target loop, or main loop for discovery)
 * with the target lock held, once its last connection is gone. */
void iscsi_session_free(struct iscsi_session *sess)
{
	struct iscsi_target *itgt = sess->itgt;

	if (itgt) {
		/* Normally unlinked with its last connection already. */
		pthread_mutex_lock(&itgt->roster_lock);
		list_del(&sess->node);
		pthread_mutex_unlock(&itgt->roster_lock);
		it_nexus_fini(&sess->nexus);
	}
	if (sess->tsih)
		registry_free_tsih(sess->tsih);
	if (sess->holds_slot)
		iscsi_session_slot_put(&itgt->sessions_held);
	free(sess);
	if (itgt && itgt->dying)
		iscsi_target_session_gone(itgt);
}

/* The session goes with its last connection: it must not be looked at
 * after that one is closed. */
void iscsi_session_close(struct iscsi_session *sess)
{
	bool last = list_empty(&sess->conns);

	while (!last) {
		struct iscsi_conn *conn = list_first_entry(
			&sess->conns, struct iscsi_conn, session_node);

		last = conn->session_node.next == &sess->conns;
		iscsi_conn_close(conn);
	}
}

struct iscsi_conn *iscsi_session_find_conn(struct iscsi_session *sess,
					   uint16_t cid)
{
	struct iscsi_conn *conn;

	list_for_each_entry(conn, &sess->conns, session_node)
		if (conn->cid == cid)
			return conn;
	return NULL;
}

unsigned iscsi_session_nr_conns(const struct iscsi_session *sess)
{
	const struct iscsi_conn *conn;
	unsigned n = 0;

	list_for_each_entry(conn, &sess->conns, session_node)
		n++;
	return n;
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

/* Commands a session may have beyond its queue depth, for immediate
 * ones: RFC 7143 §4.2.2.1 wants room for at least one per connection
 * even when the CmdSN window is full. */
#define ISCSI_IMMEDIATE_SLACK 16

/* Immediate commands stand outside the CmdSN window, and RFC 7143
 * §4.2.2.1 lets a target refuse them for lack of resources. Without a
 * limit each would hold a write buffer of its expected length (up to
 * SCSI_MAX_XFER_BYTES) for as long as its data stays away. */
bool iscsi_session_immediate_room(const struct iscsi_session *sess)
{
	return sess->active < sess->queue_depth + ISCSI_IMMEDIATE_SLACK;
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

bool iscsi_session_early_sn_known(const struct iscsi_session *sess,
				  uint32_t cmdsn)
{
	for (unsigned i = 0; i < sess->nr_early_sn; i++)
		if (sess->early_sn[i] == cmdsn)
			return true;
	return false;
}

/* Non-immediate requests other than SCSI commands also consume a CmdSN.
 * They are answered at once; one that arrives ahead of its turn is noted
 * so that ExpCmdSN steps over it when the gap before it closes. */
void iscsi_session_consume_cmdsn(struct iscsi_session *sess,
				 const uint8_t *bhs)
{
	uint32_t cmdsn = get_be32(bhs + PDU_CMDSN);

	if (!sess || pdu_immediate(bhs))
		return;
	if (cmdsn == sess->exp_cmdsn)
		sess->exp_cmdsn++;
	else if (iscsi_cmdsn_in_window(sess, cmdsn))
		iscsi_session_note_early_sn(sess, cmdsn);
	iscsi_session_run_pending(sess);
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

/* ---- a connection joins its target (target loop, lock held) ---- */

/* RFC 7143 §11.13.5: a further connection needs the session, started by
 * the same initiator port (name and ISID), and room under the
 * MaxConnections it negotiated; a CID already in use is a connection
 * reinstatement and takes no more room. */
uint16_t iscsi_session_check_join(struct iscsi_target *itgt, uint16_t tsih,
				  const char *initiator,
				  const uint8_t isid[6], uint16_t cid)
{
	struct iscsi_session *sess = iscsi_session_find_tsih(itgt, tsih);

	if (!sess || strcmp(sess->initiator_name, initiator) ||
	    memcmp(sess->isid, isid, 6))
		return ISCSI_LOGIN_SESSION_NOT_FOUND;
	if (!iscsi_session_find_conn(sess, cid) &&
	    iscsi_session_nr_conns(sess) >=
		    sess->params.val[ISCSI_PARAM_MAX_CONNECTIONS])
		return ISCSI_LOGIN_TOO_MANY_CONNECTIONS;
	return ISCSI_LOGIN_OK;
}

static struct iscsi_session *start_session(struct iscsi_conn *conn,
					   const struct iscsi_login_result *r)
{
	struct iscsi_session *sess;

	sess = iscsi_session_new(conn->itgt, r->initiator, r->alias, r->isid,
				 r->tsih);
	if (!sess)
		return NULL;
	sess->holds_slot = iscsi_login_session_started(conn);
	sess->params = conn->params;
	sess->exp_cmdsn = r->cmdsn;
	sess->queue_depth = r->window;
	sess->max_cmdsn = r->cmdsn + r->window - 1;
	sess->max_cmdsn_valid = true;
	snprintf(sess->first_ip, sizeof(sess->first_ip), "%s", conn->peer_ip);
	sess->first_cid = conn->cid;
	return sess;
}

/* A further connection runs with the session's values of the session-wide
 * keys; only the connection's own (digests, data segment lengths) come
 * from its login. */
static void join_params(struct iscsi_conn *conn, struct iscsi_session *sess)
{
	static const enum iscsi_param own[] = {
		ISCSI_PARAM_MAX_RECV_DLENGTH, ISCSI_PARAM_MAX_XMIT_DLENGTH,
		ISCSI_PARAM_HDRDGST,          ISCSI_PARAM_DATADGST,
		ISCSI_PARAM_IFMARKER,         ISCSI_PARAM_OFMARKER,
	};
	struct iscsi_params p = sess->params;

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		p.val[own[i]] = conn->params.val[own[i]];
	conn->params = p;
}

/* Ends what the new connection replaces: the initiator port's old session
 * (session reinstatement), or the session's connection with the same CID
 * (connection reinstatement). Their commands are aborted. Returns whether
 * there was such a thing. */
static bool replace_old(struct iscsi_conn *conn,
			const struct iscsi_login_result *r)
{
	struct iscsi_session *old;
	struct iscsi_conn *old_conn;

	if (!r->joining) {
		old = iscsi_session_find(conn->itgt, r->initiator, r->isid);
		if (!old)
			return false;
		log_info("%s: session %u of %s reinstated", conn->peer_ip,
			 old->tsih, r->initiator);
		iscsi_session_close(old);
		return true;
	}
	old = iscsi_session_find_tsih(conn->itgt, r->tsih);
	old_conn = old ? iscsi_session_find_conn(old, conn->cid) : NULL;
	if (!old_conn || old_conn == conn)
		return false;
	log_info("%s: connection %u of session %u reinstated", conn->peer_ip,
		 conn->cid, r->tsih);
	iscsi_conn_close(old_conn);
	return true;
}

/* Links the connection into its session (new or joined) and starts
 * reading from it. */
static void adopt_finish(struct iscsi_conn *conn)
{
	struct iscsi_login_result r;
	struct iscsi_session *sess;

	iscsi_login_result(conn, &r);
	if (r.joining) {
		sess = conn->session;
	} else {
		sess = start_session(conn, &r);
		if (!sess) {
			iscsi_conn_close(conn);
			return;
		}
		iscsi_session_add_conn(sess, conn);
	}
	iscsi_login_free(conn);
	conn->state = CONN_FULL_FEATURE;
	if (ev_io_start(conn->loop, &conn->io, EPOLLIN) < 0) {
		iscsi_conn_close(conn);
		return;
	}
	iscsi_keepalive_start(conn);
}

/* A joining connection is linked into its session before the old one
 * with its CID goes, so that the session survives the replacement. */
static bool join_session(struct iscsi_conn *conn,
			 const struct iscsi_login_result *r)
{
	struct iscsi_session *sess = iscsi_session_find_tsih(conn->itgt,
							     r->tsih);

	if (!sess || iscsi_session_check_join(conn->itgt, r->tsih,
					      r->initiator, r->isid,
					      conn->cid)) {
		log_info("%s: connection %u cannot join session %u any more",
			 conn->peer_ip, conn->cid, r->tsih);
		return false;
	}
	join_params(conn, sess);
	iscsi_session_add_conn(sess, conn);
	return true;
}

/* Ends what the connection replaces and, unless commands of that are
 * still in a store, starts it. Those commands must end first, so that
 * none of them lands after the initiator's retries; the connection waits
 * in itgt->adopting meanwhile. A connection that replaces nothing starts
 * at once. */
static void adopt_try(struct iscsi_conn *conn)
{
	struct iscsi_login_result r;

	iscsi_login_result(conn, &r);
	if (replace_old(conn, &r) && conn->itgt->aborting) {
		log_info("%s: connection %u starts once %u aborted commands "
			 "have left the store", conn->peer_ip, conn->cid,
			 conn->itgt->aborting);
		list_add_tail(&conn->adopt_node, &conn->itgt->adopting);
		return;
	}
	adopt_finish(conn);
}

/* Posted by the main thread once the login finished (DESIGN.md rule 4,
 * with the target loop doing the linking so that it alone closes what the
 * new connection replaces). The connection's fd is in no epoll until it
 * starts here. */
void iscsi_session_adopt(struct ev_loop *loop, void *arg)
{
	struct iscsi_conn *conn = arg;
	struct iscsi_login_result r;

	conn->loop = loop;
	conn->itgt = conn->adopt_target->iscsi;
	if (conn->itgt->dying) {
		iscsi_conn_close(conn);
		return;
	}
	iscsi_login_result(conn, &r);
	if (r.joining && !join_session(conn, &r)) {
		iscsi_conn_close(conn);
		return;
	}
	adopt_try(conn);
}

/* Tries the waiting connections again, in login order; one that must wait
 * again (it replaced a session that was started meanwhile) stops the
 * walk. */
void iscsi_session_adopt_waiting(struct iscsi_target *itgt)
{
	while (!list_empty(&itgt->adopting) && !itgt->aborting) {
		struct iscsi_conn *conn = list_first_entry(
			&itgt->adopting, struct iscsi_conn, adopt_node);

		list_del(&conn->adopt_node);
		adopt_try(conn);
	}
}
