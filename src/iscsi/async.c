/* Asynchronous Messages (RFC 7143 §11.9) that a target sends unasked.
 * Used before a forced target delete: every initiator is asked to log out
 * (AsyncEvent 1) and given a short grace period, so that it ends its
 * session cleanly instead of finding its connection cut. Target loop. */
#include "common/log.h"
#include "iscsi/iscsi.h"

#define ASYNC_EVENT_LOGOUT_REQUEST 1
/* Async Message fields */
#define PDU_ASYNC_EVENT 36
#define PDU_ASYNC_PARAM1 38
#define PDU_ASYNC_PARAM2 40
#define PDU_ASYNC_PARAM3 42

/* Parameter3 of a logout request is the time the initiator has to log
 * out; past it the target may drop the connection. */
static void send_logout_request(struct iscsi_conn *conn, unsigned seconds)
{
	struct iscsi_tx *tx = iscsi_tx_alloc(0);

	/* Closing here would free the session the caller is walking; the
	 * grace timer ends the connection anyway, only without a warning. */
	if (!tx) {
		log_error("%s: no memory to ask for a logout", conn->peer_ip);
		return;
	}
	tx->bhs[0] = ISCSI_OP_ASYNC;
	tx->bhs[1] = ISCSI_FLAG_FINAL;
	put_be32(tx->bhs + PDU_ITT, ISCSI_RESERVED_TAG);
	tx->bhs[PDU_ASYNC_EVENT] = ASYNC_EVENT_LOGOUT_REQUEST;
	put_be16(tx->bhs + PDU_ASYNC_PARAM3, (uint16_t)seconds);
	/* Status-class PDU: it takes a StatSN (§11.9). */
	tx->takes_statsn = true;
	iscsi_conn_queue(conn, tx);
}

/* Runs once: ending the sessions that are left frees them, which would
 * start the timer again. */
static void grace_over(struct ev_loop *loop, void *arg)
{
	struct iscsi_target *itgt = arg;
	void (*retired)(struct iscsi_target *itgt) = itgt->retired;

	(void)loop;
	itgt->retired = NULL;
	if (!retired)
		return;
	if (!list_empty(&itgt->sessions))
		log_info("target %s: initiators did not log out in time, "
			 "ending their sessions", itgt->target->name);
	retired(itgt);
}

void iscsi_target_request_logout(struct iscsi_target *itgt, unsigned grace_s,
				 void (*retired)(struct iscsi_target *itgt))
{
	struct iscsi_session *sess;
	struct iscsi_conn *conn;

	itgt->dying = true;
	itgt->retired = retired;
	ev_timer_init(&itgt->grace_timer, grace_over, itgt);
	list_for_each_entry(sess, &itgt->sessions, node)
		list_for_each_entry(conn, &sess->conns, session_node)
			if (conn->state == CONN_FULL_FEATURE)
				send_logout_request(conn, grace_s);
	/* Nothing above closes a connection (a failed send is noticed by
	 * the event handler), so the walk is safe. */
	ev_timer_start(itgt->target->loop, &itgt->grace_timer,
		       list_empty(&itgt->sessions) ? 0 : grace_s * 1000ull);
}

void iscsi_target_session_gone(struct iscsi_target *itgt)
{
	/* The last initiator logged out: no need to wait any longer. The
	 * timer runs `retired` from the loop, not from inside the close
	 * that got us here. */
	if (list_empty(&itgt->sessions) && itgt->retired)
		ev_timer_start(itgt->target->loop, &itgt->grace_timer, 0);
}
