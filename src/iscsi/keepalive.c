/* NOP-In keepalive (RFC 7143 §11.19, tgt's nop_interval/nop_count): every
 * nop_interval seconds a connection that sent nothing since the last look
 * gets a NOP-In with a Target Transfer Tag, which the initiator must
 * answer with a NOP-Out. After nop_count pings without a word from it
 * (at least one), the initiator is taken for dead and its connection is
 * dropped; its session goes with its last connection. The settings are
 * the target's when the connection starts, as in tgt. Target loop. */
#include "common/log.h"
#include "iscsi/iscsi.h"

enum iscsi_keepalive_action iscsi_keepalive_tick(struct iscsi_keepalive *ka,
						 uint64_t rx_octets)
{
	unsigned tolerated = ka->count ? ka->count : 1;

	if (rx_octets != ka->rx_seen) {
		ka->rx_seen = rx_octets;
		ka->unanswered = 0;
		return KEEPALIVE_IDLE;
	}
	if (ka->unanswered >= tolerated)
		return KEEPALIVE_DROP;
	ka->unanswered++;
	return KEEPALIVE_PING;
}

static void send_ping(struct iscsi_conn *conn)
{
	struct iscsi_tx *tx = iscsi_tx_alloc(0);
	uint32_t ttt = conn->next_ttt++;

	if (ttt == ISCSI_RESERVED_TAG)
		ttt = conn->next_ttt++;
	if (!tx) {
		iscsi_conn_close(conn);
		return;
	}
	tx->bhs[0] = ISCSI_OP_NOP_IN;
	tx->bhs[1] = ISCSI_FLAG_FINAL;
	put_be32(tx->bhs + PDU_ITT, ISCSI_RESERVED_TAG);
	put_be32(tx->bhs + PDU_TTT, ttt);
	/* StatSN is not advanced (§11.19.2): takes_statsn stays false. */
	iscsi_conn_queue(conn, tx);
}

static void keepalive_timer(struct ev_loop *loop, void *arg)
{
	struct iscsi_conn *conn = arg;

	switch (iscsi_keepalive_tick(&conn->keepalive, conn->rx_octets)) {
	case KEEPALIVE_DROP:
		log_info("%s: no answer to %u NOP-In, dropping the connection",
			 conn->peer_ip, conn->keepalive.unanswered);
		iscsi_conn_close(conn);
		return;
	case KEEPALIVE_PING:
		send_ping(conn);
		break;
	case KEEPALIVE_IDLE:
		break;
	}
	if (conn->state != CONN_CLOSING)
		ev_timer_start(loop, &conn->nop_timer,
			       conn->keepalive.interval_s * 1000ull);
}

void iscsi_keepalive_start(struct iscsi_conn *conn)
{
	struct iscsi_keepalive *ka = &conn->keepalive;

	ka->interval_s = conn->itgt->nop_interval;
	ka->count = conn->itgt->nop_count;
	ka->unanswered = 0;
	ka->rx_seen = conn->rx_octets;
	if (!ka->interval_s)
		return;
	ev_timer_init(&conn->nop_timer, keepalive_timer, conn);
	ev_timer_start(conn->loop, &conn->nop_timer, ka->interval_s * 1000ull);
}

void iscsi_keepalive_stop(struct iscsi_conn *conn)
{
	ev_timer_stop(conn->loop, &conn->nop_timer);
}
