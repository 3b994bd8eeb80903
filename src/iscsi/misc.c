/* The small iSCSI requests: NOP-Out, Text (SendTargets), Logout and task
 * management. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "iscsi/iscsi.h"

/* Non-immediate requests other than SCSI commands also consume a CmdSN.
 * They are answered at once; one that arrives ahead of its turn is noted
 * so that ExpCmdSN steps over it when the gap before it closes. */
static void consume_cmdsn(struct iscsi_conn *conn)
{
	struct iscsi_session *sess = conn->session;
	uint32_t cmdsn = get_be32(conn->rx_bhs + PDU_CMDSN);

	if (!sess || pdu_immediate(conn->rx_bhs))
		return;
	if (cmdsn == sess->exp_cmdsn)
		sess->exp_cmdsn++;
	else if (iscsi_cmdsn_in_window(sess, cmdsn))
		iscsi_session_note_early_sn(sess, cmdsn);
	iscsi_session_run_pending(sess);
}

void iscsi_nop_out_rx(struct iscsi_conn *conn)
{
	const uint8_t *bhs = conn->rx_bhs;
	uint32_t itt = pdu_itt(bhs);
	uint32_t dlen = pdu_data_len(bhs);
	struct iscsi_tx *tx;

	consume_cmdsn(conn);
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

/* Answers one text request; a response longer than the initiator takes in
 * one PDU is split with the Continue bit and resumed by empty requests. */
static void text_send_chunk(struct iscsi_conn *conn, uint32_t itt)
{
	uint32_t max = conn->params.val[ISCSI_PARAM_MAX_XMIT_DLENGTH];
	uint32_t left = conn->text_rsp_len - conn->text_rsp_off;
	uint32_t len = left < max ? left : max;
	struct iscsi_tx *tx = iscsi_tx_alloc(len);
	bool more = len < left;

	if (!tx) {
		iscsi_conn_close(conn);
		return;
	}
	tx->bhs[0] = ISCSI_OP_TEXT_RSP;
	tx->bhs[1] = more ? 0x40 /* Continue */ : ISCSI_FLAG_FINAL;
	put_be32(tx->bhs + PDU_ITT, itt);
	put_be32(tx->bhs + PDU_TTT, more ? conn->text_ttt : ISCSI_RESERVED_TAG);
	if (len) /* an empty answer may have no buffer */
		memcpy((void *)tx->data, conn->text_rsp + conn->text_rsp_off,
		       len);
	tx->takes_statsn = true;
	conn->text_rsp_off += len;
	if (!more) {
		free(conn->text_rsp);
		conn->text_rsp = NULL;
	}
	iscsi_conn_queue(conn, tx);
}

void iscsi_text_rx(struct iscsi_conn *conn)
{
	const uint8_t *bhs = conn->rx_bhs;
	uint32_t ttt = get_be32(bhs + PDU_TTT);
	uint32_t len = pdu_data_len(bhs);
	char *cursor = (char *)conn->rx_buf, *key, *value;
	struct kv_text out;

	consume_cmdsn(conn);
	if (ttt != ISCSI_RESERVED_TAG && conn->text_rsp && ttt == conn->text_ttt) {
		text_send_chunk(conn, pdu_itt(bhs));
		return;
	}
	free(conn->text_rsp);
	conn->text_rsp = NULL;
	conn->rx_buf[len] = '\0';
	kv_text_init(&out, 65536);
	while (kv_next(&cursor, (char *)conn->rx_buf + len, &key, &value)) {
		if (!strcmp(key, "SendTargets"))
			iscsi_sendtargets(conn, value ? value : "", &out);
		else
			kv_text_add(&out, key, "NotUnderstood");
	}
	conn->text_rsp = out.buf;
	conn->text_rsp_len = out.len;
	conn->text_rsp_off = 0;
	conn->text_ttt = conn->next_ttt++;
	text_send_chunk(conn, pdu_itt(bhs));
}

void iscsi_logout_rx(struct iscsi_conn *conn)
{
	const uint8_t *bhs = conn->rx_bhs;
	uint8_t reason = bhs[1] & 0x7f;
	uint16_t cid = get_be16(bhs + 20);
	struct iscsi_tx *tx = iscsi_tx_alloc(0);

	consume_cmdsn(conn);
	if (!tx) {
		iscsi_conn_close(conn);
		return;
	}
	tx->bhs[0] = ISCSI_OP_LOGOUT_RSP;
	tx->bhs[1] = ISCSI_FLAG_FINAL;
	put_be32(tx->bhs + PDU_ITT, pdu_itt(bhs));
	tx->takes_statsn = true;
	/* One connection per session: closing another CID is unknown. */
	if (reason != 0 && cid != conn->cid)
		tx->bhs[2] = 1; /* CID not found */
	else
		conn->logout_done = true;
	iscsi_conn_queue(conn, tx);
}

/* TMF responses (RFC 7143 §11.6.1) */
#define TMF_COMPLETE 0
#define TMF_NO_TASK 1
#define TMF_NOT_SUPPORTED 5

/* After a LOGICAL UNIT or TARGET RESET every I_T nexus, the requester's
 * too, learns of it by a unit attention (SAM-5 6.3, 6.6), and SPC-2
 * reservations of the LUs end (persistent ones stay). Commands here
 * finish quickly and are left to complete; their status still reaches
 * the initiator. */
static void announce_reset(struct iscsi_conn *conn, const uint8_t *lun_field,
			   bool whole_target)
{
	struct iscsi_session *sess = conn->session;

	if (!sess || !sess->itgt)
		return;
	if (whole_target)
		scsi_target_reset(sess->itgt->target);
	else
		scsi_lu_reset(sess->itgt->target,
			      scsi_lun_from_wire(lun_field));
}

void iscsi_tmf_rx(struct iscsi_conn *conn)
{
	const uint8_t *bhs = conn->rx_bhs;
	uint8_t function = bhs[1] & 0x7f;
	struct iscsi_tx *tx = iscsi_tx_alloc(0);
	uint8_t response;

	consume_cmdsn(conn);
	if (!tx) {
		iscsi_conn_close(conn);
		return;
	}
	switch (function) {
	case 1: /* ABORT TASK: commands complete quickly here; a task still
		 * known is left to finish, as its status is about to go. */
		response = iscsi_task_known(conn, get_be32(bhs + PDU_TTT))
				   ? TMF_COMPLETE : TMF_NO_TASK;
		break;
	case 2: /* ABORT TASK SET */
	case 3: /* CLEAR ACA */
	case 4: /* CLEAR TASK SET */
		response = TMF_COMPLETE;
		break;
	case 5: /* LOGICAL UNIT RESET */
	case 6: /* TARGET WARM RESET */
	case 7: /* TARGET COLD RESET */
		announce_reset(conn, bhs + PDU_LUN, function != 5);
		response = TMF_COMPLETE;
		break;
	default:
		response = TMF_NOT_SUPPORTED;
		break;
	}
	tx->bhs[0] = ISCSI_OP_TMF_RSP;
	tx->bhs[1] = ISCSI_FLAG_FINAL;
	tx->bhs[2] = response;
	put_be32(tx->bhs + PDU_ITT, pdu_itt(bhs));
	tx->takes_statsn = true;
	iscsi_conn_queue(conn, tx);
}
