/* The small iSCSI requests: NOP-Out, Text (SendTargets) and Logout. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "iscsi/iscsi.h"
#include "iscsi/keys.h"

void iscsi_nop_out_rx(struct iscsi_conn *conn)
{
	const uint8_t *bhs = conn->rx_bhs;
	uint32_t itt = pdu_itt(bhs);
	uint32_t dlen = pdu_data_len(bhs);
	struct iscsi_tx *tx;

	iscsi_session_consume_cmdsn(conn->session, conn->rx_bhs);
	/* ITT 0xffffffff: an answer to our NOP-In, or a ping that wants no
	 * reply. */
	if (itt == ISCSI_RESERVED_TAG)
		return;
	tx = iscsi_tx_alloc(dlen);
	if (!tx) {
		iscsi_conn_close(conn);
		return;
	}
	tx->bhs[0] = ISCSI_OP_NOP_IN;
	tx->bhs[1] = ISCSI_FLAG_FINAL;
	memcpy(tx->bhs + PDU_LUN, bhs + PDU_LUN, 8);
	put_be32(tx->bhs + PDU_ITT, itt);
	put_be32(tx->bhs + PDU_TTT, ISCSI_RESERVED_TAG);
	if (dlen)
		memcpy((void *)tx->data, conn->rx_buf, dlen);
	tx->takes_statsn = true;
	iscsi_conn_queue(conn, tx);
}

static void format_addr(const struct sockaddr_storage *ss, char *buf,
			size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u,1", ip, ntohs(a->sin6_port));
	} else {
		const struct sockaddr_in *a = (const void *)ss;

		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u,1", ip, ntohs(a->sin_port));
	}
}

static void add_target(struct iscsi_conn *conn, struct target *t,
		       struct kv_text *out)
{
	char addr[INET6_ADDRSTRLEN + 16];

	format_addr(&conn->local, addr, sizeof(addr));
	kv_text_add(out, "TargetName", t->name);
	kv_text_add(out, "TargetAddress", addr);
}

/* SendTargets: a discovery session (main thread) may walk the registry;
 * a normal session runs on its target's thread and only ever reports its
 * own target (DESIGN.md rule 10). */
void iscsi_sendtargets(struct iscsi_conn *conn, const char *what,
		       struct kv_text *out)
{
	struct target *t;
	const char *initiator = conn->session->initiator_name;

	if (!conn->discovery) {
		t = conn->session->itgt->target;
		if (!*what || !strcmp(what, "All") || !strcmp(what, t->name))
			add_target(conn, t, out);
		return;
	}
	if (!*what)
		return; /* empty means "this session's target": none here */
	list_for_each_entry(t, target_list(), node) {
		if (strcmp(what, "All") && strcmp(what, t->name))
			continue;
		if (t->state != TARGET_READY)
			continue;
		if (!target_acl_permits(t, (const struct sockaddr *)&conn->peer,
					initiator))
			continue;
		add_target(conn, t, out);
	}
}

/* Queues one Text Response; len bytes of data (none: data may be NULL). */
static void send_text_rsp(struct iscsi_conn *conn, uint32_t itt,
			  uint8_t flags, uint32_t ttt, const char *data,
			  uint32_t len)
{
	struct iscsi_tx *tx = iscsi_tx_alloc(len);

	if (!tx) {
		iscsi_conn_close(conn);
		return;
	}
	tx->bhs[0] = ISCSI_OP_TEXT_RSP;
	tx->bhs[1] = flags;
	put_be32(tx->bhs + PDU_ITT, itt);
	put_be32(tx->bhs + PDU_TTT, ttt);
	if (len) /* an empty answer may have no buffer */
		memcpy((void *)tx->data, data, len);
	tx->takes_statsn = true;
	iscsi_conn_queue(conn, tx);
}

/* Answers one text request; a response longer than the initiator takes in
 * one PDU is split with the Continue bit and resumed by empty requests. */
static void text_send_chunk(struct iscsi_conn *conn, uint32_t itt)
{
	uint32_t max = conn->params.val[ISCSI_PARAM_MAX_XMIT_DLENGTH];
	uint32_t left = conn->text_rsp_len - conn->text_rsp_off;
	uint32_t len = left < max ? left : max;
	const char *data = conn->text_rsp + conn->text_rsp_off;
	bool more = len < left;

	conn->text_rsp_off += len;
	send_text_rsp(conn, itt, more ? ISCSI_TEXT_CONTINUE : ISCSI_FLAG_FINAL,
		      more ? conn->text_ttt : ISCSI_RESERVED_TAG, data, len);
	if (!more) {
		free(conn->text_rsp);
		conn->text_rsp = NULL;
	}
}

/* A Text Request's answers, gathered before anything takes effect: a
 * failed negotiation changes nothing (RFC 7143 §6.10). On the stack of the
 * connection's thread, for one request. */
struct text_request {
	struct kv_text out;
	struct key_seen seen;
	struct iscsi_params params; /* the connection's, as negotiated */
};

/* Whether a pair may appear in a Text Request: NULL, or why not. */
static const char *text_pair_error(struct text_request *req, const char *key,
				   const char *value, enum key_verdict *verdict)
{
	static const struct key_context full_feature = {
		.phase = KEY_PHASE_FULL_FEATURE,
	};
	const char *why = NULL;

	*verdict = iscsi_key_check(key, value, &full_feature, &why);
	if (*verdict == KEY_PROTOCOL_ERROR)
		return why;
	if (key_seen_add(&req->seen, key) != KEY_SEEN_NEW)
		return "a key offered twice, or too many keys";
	return NULL;
}

/* Answers an allowed pair: NULL, or why its value is refused. */
static const char *text_pair_answer(struct iscsi_conn *conn,
				    struct text_request *req, const char *key,
			       const char *value, enum key_verdict verdict)
{
	char answer[64];

	if (verdict == KEY_IRRELEVANT)
		kv_text_add(&req->out, key, "Irrelevant");
	else if (verdict == KEY_NOT_UNDERSTOOD)
		kv_text_add(&req->out, key, "NotUnderstood");
	else if (!strcmp(key, "SendTargets"))
		iscsi_sendtargets(conn, value, &req->out);
	else if (!strcmp(key, "MaxRecvDataSegmentLength") &&
		 iscsi_param_negotiate(&conn->params, &req->params, key, value,
				       answer, sizeof(answer)) ==
			 ISCSI_NEGO_BAD_DECLARATION)
		return "a declaration out of range";
	/* else InitiatorAlias: a declaration, nothing to answer */
	return NULL;
}

/* One pair of a Text Request. Returns false for a protocol error. */
static bool text_pair(struct iscsi_conn *conn, struct text_request *req,
		      const char *key, const char *value)
{
	enum key_verdict verdict;
	const char *why = text_pair_error(req, key, value, &verdict);

	if (!why)
		why = text_pair_answer(conn, req, key, value, verdict);
	if (why)
		log_info("%s: Text Request refused: %s (key \"%.63s\")",
			 conn->peer_ip, why, key);
	return !why;
}

/* Answers the whole text of a request (text[len] may be overwritten);
 * a protocol error in it is answered with a Reject of the PDU that
 * completed it. */
static void text_answer(struct iscsi_conn *conn, uint32_t itt, char *text,
			uint32_t len)
{
	char *cursor = text, *key, *value;
	struct text_request req = { .params = conn->params };
	bool ok = true;

	text[len] = '\0';
	kv_text_init(&req.out, 65536);
	while (ok && kv_next(&cursor, text + len, &key, &value))
		ok = text_pair(conn, &req, key, value);
	key_seen_free(&req.seen);
	if (!ok) {
		kv_text_free(&req.out);
		iscsi_conn_send_reject(conn, conn->rx_bhs,
				       ISCSI_REJECT_PROTOCOL_ERROR);
		return;
	}
	/* A receive limit the initiator declared holds for what it gets
	 * from now on, this answer included. */
	conn->params.val[ISCSI_PARAM_MAX_XMIT_DLENGTH] =
		req.params.val[ISCSI_PARAM_MAX_XMIT_DLENGTH];
	conn->text_rsp = req.out.buf;
	conn->text_rsp_len = req.out.len;
	conn->text_rsp_off = 0;
	conn->text_ttt = conn->next_ttt++;
	text_send_chunk(conn, itt);
}

/* Drops the text exchange under way: a request with the reserved TTT
 * (or one not ours) starts a new one. */
static void text_reset(struct iscsi_conn *conn)
{
	free(conn->text_rsp);
	conn->text_rsp = NULL;
	free(conn->text_req);
	conn->text_req = NULL;
	conn->text_req_len = 0;
}

/* Appends the received piece of a request's text. Past the text limit
 * (or without memory) the connection ends, as it does for a single PDU
 * with too much text; returns false then. */
static bool text_gather(struct iscsi_conn *conn)
{
	uint32_t len = pdu_data_len(conn->rx_bhs);
	char *p = NULL;

	if (conn->text_req_len + len <= ISCSI_LOGIN_TEXT_MAX)
		p = realloc(conn->text_req, conn->text_req_len + len + 1);
	if (!p) {
		log_error("%s: continued text request: over %u bytes or "
			  "no memory", conn->peer_ip, ISCSI_LOGIN_TEXT_MAX);
		iscsi_conn_close(conn);
		return false;
	}
	memcpy(p + conn->text_req_len, conn->rx_buf, len);
	conn->text_req = p;
	conn->text_req_len += len;
	return true;
}

/* RFC 7143 §11.10.2: a request with the C bit continues in the next one,
 * possibly in the middle of a key or value. Each piece is gathered and
 * acknowledged by an empty response without the F bit, whose TTT the
 * next piece carries; the last piece (C = 0) completes the text, which
 * is answered as a whole. */
static void text_continued(struct iscsi_conn *conn, uint32_t itt, bool ours)
{
	const uint8_t *bhs = conn->rx_bhs;

	if (pdu_final(bhs)) { /* C and F together: §11.10.2 forbids it */
		text_reset(conn);
		iscsi_conn_send_reject(conn, bhs,
				       ISCSI_REJECT_INVALID_PDU_FIELD);
		return;
	}
	if (!text_gather(conn))
		return;
	if (!ours)
		conn->text_ttt = conn->next_ttt++;
	send_text_rsp(conn, itt, 0, conn->text_ttt, NULL, 0);
}

void iscsi_text_rx(struct iscsi_conn *conn)
{
	const uint8_t *bhs = conn->rx_bhs;
	uint32_t ttt = get_be32(bhs + PDU_TTT);
	uint32_t itt = pdu_itt(bhs);
	uint32_t len = pdu_data_len(bhs);
	bool ours = ttt != ISCSI_RESERVED_TAG && ttt == conn->text_ttt &&
		    (conn->text_rsp || conn->text_req);

	iscsi_session_consume_cmdsn(conn->session, conn->rx_bhs);
	if (ours && conn->text_rsp) {
		text_send_chunk(conn, itt);
		return;
	}
	if (!ours)
		text_reset(conn);
	if (bhs[1] & ISCSI_TEXT_CONTINUE) {
		text_continued(conn, itt, ours);
		return;
	}
	if (!conn->text_req) {
		text_answer(conn, itt, (char *)conn->rx_buf, len);
		return;
	}
	if (!text_gather(conn))
		return;
	text_answer(conn, itt, conn->text_req, conn->text_req_len);
	free(conn->text_req);
	conn->text_req = NULL;
	conn->text_req_len = 0;
}

/* Logout reasons and responses (RFC 7143 §11.14.1, §11.15.1) */
#define LOGOUT_CLOSE_SESSION 0
#define LOGOUT_CLOSE_CONNECTION 1
#define LOGOUT_REMOVE_FOR_RECOVERY 2
#define LOGOUT_RSP_CLOSED 0
#define LOGOUT_RSP_CID_NOT_FOUND 1
#define LOGOUT_RSP_NO_RECOVERY 2
/* Logout Response fields */
#define PDU_TIME2WAIT 40
#define PDU_TIME2RETAIN 42

/* Commands still waiting for data or for their CmdSN turn would never
 * end once the initiator logs out: they are aborted. */
static void abort_receiving(struct iscsi_conn *conn)
{
	struct iscsi_task *task, *tmp;

	list_for_each_entry_safe(task, tmp, &conn->tasks, conn_node)
		if (task->state == TASK_RECEIVING)
			iscsi_task_abort(task);
}

/* Closes the session's connections other than conn (the one the Logout
 * came on, which closes after the answer). */
static void close_others(struct iscsi_conn *conn)
{
	struct iscsi_session *sess = conn->session;
	struct iscsi_conn *c, *tmp;

	list_for_each_entry_safe(c, tmp, &sess->conns, session_node)
		if (c != conn)
			iscsi_conn_close(c);
}

/* Decides what a Logout does; returns the response code and sets
 * *closes if conn itself ends after answering. */
static uint8_t logout_action(struct iscsi_conn *conn, uint8_t reason,
			     uint16_t cid, bool *closes)
{
	struct iscsi_conn *target_conn;

	*closes = false;
	if (reason == LOGOUT_CLOSE_SESSION) {
		close_others(conn);
		*closes = true;
		return LOGOUT_RSP_CLOSED;
	}
	target_conn = iscsi_session_find_conn(conn->session, cid);
	if (!target_conn)
		return LOGOUT_RSP_CID_NOT_FOUND;
	if (target_conn == conn)
		*closes = true;
	else
		iscsi_conn_close(target_conn);
	/* Connection recovery needs ErrorRecoveryLevel 2: at 0 the
	 * connection and its commands are simply gone. */
	return reason == LOGOUT_REMOVE_FOR_RECOVERY ? LOGOUT_RSP_NO_RECOVERY
						    : LOGOUT_RSP_CLOSED;
}

/* RFC 7143 §11.15.2/3: meaningful for "connection recovery not
 * supported" (a new logout may come after Time2Wait; the state is already
 * gone, Time2Retain 0); for a closed session or connection they carry the
 * negotiated defaults, which the initiator ignores below ERL 2. */
static void logout_times(struct iscsi_conn *conn, uint8_t response,
			 uint8_t *bhs)
{
	const struct iscsi_params *p = &conn->session->params;
	uint16_t wait = (uint16_t)p->val[ISCSI_PARAM_DEFAULT_WAIT];
	uint16_t retain = (uint16_t)p->val[ISCSI_PARAM_DEFAULT_RETAIN];

	if (response == LOGOUT_RSP_CID_NOT_FOUND)
		wait = retain = 0;
	else if (response == LOGOUT_RSP_NO_RECOVERY)
		retain = 0;
	put_be16(bhs + PDU_TIME2WAIT, wait);
	put_be16(bhs + PDU_TIME2RETAIN, retain);
}

/* The answer waits for the connection's commands in progress, whose
 * responses go first (RFC 7143 §11.14: the logout ends the connection's
 * tasks); a connection that closes does so once it has sent it. */
void iscsi_logout_rx(struct iscsi_conn *conn)
{
	const uint8_t *bhs = conn->rx_bhs;
	uint8_t reason = bhs[1] & 0x7f;
	uint16_t cid = get_be16(bhs + 20);
	struct iscsi_tx *tx;
	bool closes;

	iscsi_session_consume_cmdsn(conn->session, bhs);
	if (reason > LOGOUT_REMOVE_FOR_RECOVERY) {
		iscsi_conn_send_reject(conn, bhs,
				       ISCSI_REJECT_INVALID_PDU_FIELD);
		return;
	}
	tx = iscsi_tx_alloc(0);
	if (!tx) {
		iscsi_conn_close(conn);
		return;
	}
	tx->bhs[0] = ISCSI_OP_LOGOUT_RSP;
	tx->bhs[1] = ISCSI_FLAG_FINAL;
	tx->bhs[2] = logout_action(conn, reason, cid, &closes);
	put_be32(tx->bhs + PDU_ITT, pdu_itt(bhs));
	logout_times(conn, tx->bhs[2], tx->bhs);
	tx->takes_statsn = true;
	if (closes) {
		abort_receiving(conn);
		conn->logout_done = true;
		tx->defer = DEFER_CONN_IDLE;
	}
	iscsi_conn_defer(conn, tx);
}
