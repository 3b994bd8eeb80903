/* SCSI commands over iSCSI: SCSI Command PDU, immediate and unsolicited
 * data, R2T and Data-Out, CmdSN ordering, Data-In with phase collapse,
 * SCSI Response, and aborting a command. Runs on the loop that owns the
 * connection.
 *
 * An aborted command never answers (SAM-5 7.2). Where it is decides when
 * it goes: one inside scsi/ or a backing store is freed by its completion
 * (and counted in itgt->aborting until then, so that TMF responses can
 * wait for it; scsi_cmd_abort brings that completion forward for a
 * command that would take long); one waiting for its CmdSN turn stays in
 * the session's queue so that the CmdSN order steps over it; one waiting
 * for Data-Out goes at once, and Data-Out still on its way for it is
 * dropped. */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "event/bufpool.h"
#include "iscsi/iscsi.h"

static void task_try_execute(struct iscsi_task *task);

static unsigned itt_bucket(uint32_t itt)
{
	return (itt ^ (itt >> 8)) % ISCSI_ITT_HASH;
}

/* Aborted tasks leave the hash: only live ones are found. */
struct iscsi_task *iscsi_task_find(struct iscsi_conn *conn, uint32_t itt)
{
	struct iscsi_task *task;

	list_for_each_entry(task, &conn->itt_hash[itt_bucket(itt)], hash_node)
		if (task->itt == itt)
			return task;
	return NULL;
}

static void remember_aborted_itt(struct iscsi_conn *conn, uint32_t itt)
{
	conn->aborted_itt[conn->aborted_itt_next] = itt;
	conn->aborted_itt_next = (conn->aborted_itt_next + 1) %
				 ISCSI_ABORTED_ITTS;
}

static bool aborted_itt_known(const struct iscsi_conn *conn, uint32_t itt)
{
	for (int i = 0; i < ISCSI_ABORTED_ITTS; i++)
		if (conn->aborted_itt[i] == itt)
			return itt != ISCSI_RESERVED_TAG;
	return false;
}

/* The write data buffer: from the loop's pool, with 4 spare bytes that
 * take the padding of the last segment; page aligned, so O_DIRECT stores
 * use it as is. */
static uint8_t *task_data_alloc(struct iscsi_task *task)
{
	return ev_buf_get(task->conn->loop, task->edtl + 4u);
}

static void task_data_free(struct iscsi_task *task)
{
	ev_buf_put(task->conn->loop, task->data, task->edtl + 4u);
	task->data = NULL;
}

static void task_free(struct iscsi_task *task)
{
	if (task->counted && task->conn->session)
		task->conn->session->active--;
	list_del(&task->conn_node);
	list_del(&task->hash_node);
	list_del(&task->pending_node);
	scsi_cmd_release(&task->cmd);
	task_data_free(task);
	free(task);
}

static void mark_aborted(struct iscsi_task *task)
{
	task->aborted = true;
	list_del(&task->hash_node);
	if (task->cmd.dir == SCSI_DIR_WRITE)
		remember_aborted_itt(task->conn, task->itt);
}

/* A task inside scsi/ or a store: its completion frees it. One that
 * could take long (a SANITIZE) is told, so that it ends soon. */
static void abort_executing(struct iscsi_task *task)
{
	mark_aborted(task);
	if (task->conn->itgt)
		task->conn->itgt->aborting++;
	scsi_cmd_abort(&task->cmd);
}

/* A task whose Data-In or SCSI Response is queued. Nothing of it written
 * yet: it leaves the queue. A Data-In half written: it finishes (a PDU
 * cannot be cut) and the rest is not sent. Its status half written: too
 * late, the command has ended. */
static bool abort_sending(struct iscsi_task *task)
{
	struct iscsi_tx *tx = &task->tx;

	if (!tx->started) {
		list_del(&tx->node);
		task_free(task);
		return true;
	}
	if (tx->takes_statsn)
		return false;
	mark_aborted(task);
	return true;
}

bool iscsi_task_abort(struct iscsi_task *task)
{
	if (task->aborted)
		return true;
	switch (task->state) {
	case TASK_EXECUTING:
		abort_executing(task);
		return true;
	case TASK_SENDING:
		return abort_sending(task);
	default:
		mark_aborted(task);
		/* Waiting for its CmdSN turn, or its Data-Out being received
		 * right now: freed when that is over. */
		if (task->admitted && task->conn->rx_task != task)
			task_free(task);
		return true;
	}
}

bool iscsi_conn_busy(const struct iscsi_conn *conn)
{
	const struct iscsi_task *task;

	list_for_each_entry(task, &conn->tasks, conn_node)
		if (!task->aborted && task->state == TASK_EXECUTING)
			return true;
	return false;
}

/* Called when the connection closes: tasks inside scsi/ or a store are
 * aborted and left for their completion to free; the others go now. */
void iscsi_task_free_all(struct iscsi_conn *conn)
{
	struct iscsi_task *task, *tmp;

	/* A command whose PDU was still being received belongs to no list
	 * yet (a Data-Out's task does, and is freed below). */
	if (conn->rx_task && !list_linked(&conn->rx_task->conn_node)) {
		task_data_free(conn->rx_task);
		free(conn->rx_task);
	}
	conn->rx_task = NULL;

	list_for_each_entry_safe(task, tmp, &conn->tasks, conn_node) {
		if (task->state == TASK_EXECUTING) {
			if (!task->aborted)
				abort_executing(task);
			list_del(&task->pending_node);
			if (task->counted && conn->session)
				conn->session->active--;
			task->counted = false;
			continue;
		}
		task_free(task);
	}
}

static uint32_t conn_param(struct iscsi_conn *conn, enum iscsi_param p)
{
	return conn->params.val[p];
}

/* ---- responses ---- */

static void fill_residual(struct iscsi_task *task, uint8_t *bhs,
			  uint32_t produced)
{
	if (produced > task->edtl) {
		bhs[1] |= ISCSI_RSP_FLAG_OVERFLOW;
		put_be32(bhs + PDU_RESIDUAL, produced - task->edtl);
	} else if (produced < task->edtl) {
		bhs[1] |= ISCSI_RSP_FLAG_UNDERFLOW;
		put_be32(bhs + PDU_RESIDUAL, task->edtl - produced);
	}
}

/* How many bytes the command would have moved, for the residual. */
static uint32_t task_produced(struct iscsi_task *task)
{
	if (task->cmd.dir == SCSI_DIR_WRITE)
		return task->cmd.out_cdb_len;
	return task->cmd.in_len;
}

static void task_tx_done(struct iscsi_conn *conn, struct iscsi_tx *tx,
			 bool ok)
{
	struct iscsi_task *task = container_of(tx, struct iscsi_task, tx);

	(void)conn;
	(void)ok;
	task_free(task);
}

static void send_scsi_rsp(struct iscsi_task *task)
{
	struct iscsi_conn *conn = task->conn;
	struct iscsi_tx *tx = &task->tx;
	uint8_t *bhs = tx->bhs;
	struct scsi_cmd *cmd = &task->cmd;

	memset(bhs, 0, ISCSI_BHS_LEN);
	bhs[0] = ISCSI_OP_SCSI_RSP;
	bhs[1] = ISCSI_FLAG_FINAL;
	bhs[2] = ISCSI_RSP_COMPLETED;
	bhs[3] = cmd->status;
	put_be32(bhs + PDU_ITT, task->itt);
	put_be32(bhs + PDU_DATASN, task->datasn);
	fill_residual(task, bhs, task_produced(task));
	tx->data = NULL;
	tx->data_len = 0;
	if (cmd->sense_len) {
		/* Sense data is preceded by its 2-byte length (§11.4.7). */
		memcpy(task->sense_buf + 2, cmd->sense, cmd->sense_len);
		put_be16(task->sense_buf, cmd->sense_len);
		tx->data = task->sense_buf;
		tx->data_len = cmd->sense_len + 2u;
	}
	tx->takes_statsn = true;
	tx->release = task_tx_done;
	iscsi_conn_queue(conn, tx);
}

static void datain_sent(struct iscsi_conn *conn, struct iscsi_tx *tx,
			bool ok);

/* Fills the task's tx with the next Data-In PDU. */
static void build_datain(struct iscsi_task *task, uint32_t total,
			 bool collapse)
{
	struct iscsi_conn *conn = task->conn;
	struct iscsi_tx *tx = &task->tx;
	uint8_t *bhs = tx->bhs;
	uint32_t seg = conn_param(conn, ISCSI_PARAM_MAX_XMIT_DLENGTH);
	uint32_t burst = conn_param(conn, ISCSI_PARAM_MAX_BURST);
	uint32_t left = total - task->sent;
	uint32_t burst_left = burst - task->sent % burst;
	bool last;

	if (seg > left)
		seg = left;
	if (seg > burst_left)
		seg = burst_left;
	last = task->sent + seg == total;
	memset(bhs, 0, ISCSI_BHS_LEN);
	bhs[0] = ISCSI_OP_DATA_IN;
	if (last || seg == burst_left)
		bhs[1] = ISCSI_FLAG_FINAL;
	scsi_lun_to_wire(task->cmd.lun, bhs + PDU_LUN);
	put_be32(bhs + PDU_ITT, task->itt);
	put_be32(bhs + PDU_TTT, ISCSI_RESERVED_TAG);
	put_be32(bhs + PDU_DATASN, task->datasn++);
	put_be32(bhs + PDU_BUFOFF, task->sent);
	tx->data = task->cmd.in_buf + task->sent;
	tx->data_len = seg;
	tx->takes_statsn = false;
	if (last && collapse) {
		bhs[1] |= ISCSI_FLAG_FINAL | ISCSI_DATAIN_STATUS;
		bhs[3] = task->cmd.status;
		fill_residual(task, bhs, task_produced(task));
		tx->takes_statsn = true;
	}
	tx->release = datain_sent;
	task->sent += seg;
}

static uint32_t datain_total(struct iscsi_task *task)
{
	uint32_t n = task->cmd.in_len;

	if (task->cmd.dir != SCSI_DIR_READ)
		return 0;
	return n < task->edtl ? n : task->edtl;
}

static bool can_collapse(struct iscsi_task *task)
{
	return task->cmd.sense_len == 0;
}

static void datain_sent(struct iscsi_conn *conn, struct iscsi_tx *tx, bool ok)
{
	struct iscsi_task *task = container_of(tx, struct iscsi_task, tx);
	uint32_t total = datain_total(task);

	if (!ok || conn->state == CONN_CLOSING || task->aborted) {
		task_free(task);
		return;
	}
	if (task->sent < total) {
		build_datain(task, total, can_collapse(task));
		iscsi_conn_requeue(conn, tx);
	} else if (!can_collapse(task)) {
		send_scsi_rsp(task);
	} else {
		task_free(task);
	}
}

static void task_respond(struct iscsi_task *task)
{
	uint32_t total = datain_total(task);

	task->state = TASK_SENDING;
	if (total == 0) {
		send_scsi_rsp(task);
		return;
	}
	build_datain(task, total, can_collapse(task));
	iscsi_conn_queue(task->conn, &task->tx);
}

/* An aborted command left scsi/: it goes without a word, and what waited
 * for the aborted commands to end may go on. */
static void aborted_task_done(struct iscsi_task *task)
{
	struct iscsi_conn *conn = task->conn;
	struct iscsi_target *itgt = conn->itgt;

	task_free(task);
	iscsi_conn_put_inflight(conn);
	if (itgt && --itgt->aborting == 0)
		iscsi_target_aborts_drained(itgt);
}

static void task_scsi_done(struct scsi_cmd *cmd)
{
	struct iscsi_task *task = container_of(cmd, struct iscsi_task, cmd);
	struct iscsi_conn *conn = task->conn;

	if (task->aborted) {
		aborted_task_done(task);
		return;
	}
	iscsi_conn_put_inflight(conn);
	task_respond(task);
	if (!list_empty(&conn->deferred_tx))
		iscsi_conn_flush_deferred(conn); /* a Logout waits for this */
	if (conn->session)
		iscsi_session_run_pending(conn->session);
}

static void task_execute(struct iscsi_task *task)
{
	struct iscsi_conn *conn = task->conn;
	struct scsi_cmd *cmd = &task->cmd;

	if (task->early_asc || task->early_status) {
		/* Refused before execution: answered without scsi/. */
		cmd->lu = NULL;
		if (task->early_asc)
			scsi_set_sense(cmd, task->early_key, task->early_asc);
		else
			cmd->status = task->early_status;
		task_respond(task);
		return;
	}
	task->state = TASK_EXECUTING;
	cmd->nexus = &conn->session->nexus;
	cmd->loop = conn->loop;
	cmd->expected_len = task->edtl;
	cmd->out_buf = task->data;
	cmd->out_len = task->received;
	cmd->done = task_scsi_done;
	conn->inflight++;
	scsi_cmd_execute(cmd);
}

/* ---- R2T ---- */

static struct iscsi_r2t_seq *free_seq(struct iscsi_task *task)
{
	for (int i = 0; i < ISCSI_MAX_R2T_SEQ; i++)
		if (!task->seqs[i].active)
			return &task->seqs[i];
	return NULL;
}

static uint32_t new_ttt(struct iscsi_conn *conn)
{
	uint32_t ttt = conn->next_ttt++;

	return ttt == ISCSI_RESERVED_TAG ? conn->next_ttt++ : ttt;
}

static void send_r2ts(struct iscsi_task *task)
{
	struct iscsi_conn *conn = task->conn;
	uint32_t max_out = conn_param(conn, ISCSI_PARAM_MAX_OUTSTANDING_R2T);
	uint32_t burst = conn_param(conn, ISCSI_PARAM_MAX_BURST);
	struct iscsi_r2t_seq *seq;

	while (task->r2t_outstanding < max_out &&
	       task->r2t_offset < task->edtl && (seq = free_seq(task))) {
		struct iscsi_tx *tx = iscsi_tx_alloc(0);
		uint32_t len = task->edtl - task->r2t_offset;

		if (!tx) {
			iscsi_conn_close(conn);
			return;
		}
		if (len > burst)
			len = burst;
		*seq = (struct iscsi_r2t_seq){ .active = true,
					       .ttt = new_ttt(conn),
					       .offset = task->r2t_offset,
					       .len = len };
		tx->bhs[0] = ISCSI_OP_R2T;
		tx->bhs[1] = ISCSI_FLAG_FINAL;
		scsi_lun_to_wire(task->cmd.lun, tx->bhs + PDU_LUN);
		put_be32(tx->bhs + PDU_ITT, task->itt);
		put_be32(tx->bhs + PDU_TTT, seq->ttt);
		put_be32(tx->bhs + PDU_DATASN, task->r2t_sn++);
		put_be32(tx->bhs + PDU_BUFOFF, seq->offset);
		put_be32(tx->bhs + PDU_R2T_LEN, len);
		task->r2t_offset += len;
		task->r2t_outstanding++;
		iscsi_conn_queue(conn, tx);
		if (conn->state == CONN_CLOSING)
			return;
	}
}

/* ---- CmdSN ordering ---- */

static void task_admit(struct iscsi_task *task)
{
	task->admitted = true;
	if (task->aborted) {
		/* Its CmdSN has been stepped over; its Data-Out, if one is
		 * coming in right now, frees it when complete. */
		if (task->conn->rx_task != task)
			task_free(task);
		return;
	}
	task_try_execute(task);
}

/* Admits queued commands whose CmdSN has come up. */
void iscsi_session_run_pending(struct iscsi_session *sess)
{
	for (;;) {
		struct iscsi_task *task;

		if (iscsi_session_take_early_sn(sess))
			continue;
		if (list_empty(&sess->pending))
			break;
		task = list_first_entry(&sess->pending, struct iscsi_task,
					pending_node);
		if (task->cmdsn != sess->exp_cmdsn)
			break;
		list_del(&task->pending_node);
		sess->exp_cmdsn++;
		task_admit(task);
	}
}

static void pending_insert(struct iscsi_session *sess,
			   struct iscsi_task *task)
{
	struct iscsi_task *pos;

	log_debug("CmdSN %u waits for %u", task->cmdsn, sess->exp_cmdsn);
	list_for_each_entry(pos, &sess->pending, pending_node)
		if (sn_gt(pos->cmdsn, task->cmdsn))
			break;
	list_add_tail(&task->pending_node, &pos->pending_node);
}

static void task_try_execute(struct iscsi_task *task)
{
	if (!task->admitted || task->state != TASK_RECEIVING)
		return;
	if (task->data && task->received < task->edtl)
		return;
	task_execute(task);
}

/* ---- SCSI Command PDU ---- */

static void task_fail_early(struct iscsi_task *task, uint16_t asc)
{
	/* The command is answered with CHECK CONDITION once admitted; its
	 * data, if any, is discarded. */
	task->early_key = SK_ILLEGAL_REQUEST;
	task->early_asc = asc;
}

/* One immediate command too many: SAM-5's TASK SET FULL (the session
 * has commands in the task set) tells the initiator to retry later, as
 * its SCSI layer does for a full queue; RFC 7143's Reject "immediate
 * command reject" would leave the command to time out at many
 * initiators. No buffer is taken and any immediate data is dropped. */
static void refuse_immediate(struct iscsi_task *task)
{
	log_debug("%s: immediate command itt 0x%x refused: %u commands",
		  task->conn->peer_ip, task->itt, task->conn->session->active);
	task->early_status = SAM_STAT_TASK_SET_FULL;
}

static bool cmd_pdu_valid(struct iscsi_conn *conn, const uint8_t *bhs)
{
	uint32_t dlen = pdu_data_len(bhs);
	uint32_t edtl = get_be32(bhs + PDU_EDTL);
	bool write = bhs[1] & ISCSI_CMD_WRITE;

	if (!dlen)
		return true;
	if (!write || dlen > edtl)
		return false;
	if (!conn_param(conn, ISCSI_PARAM_IMMEDIATE_DATA))
		return false;
	return dlen <= conn_param(conn, ISCSI_PARAM_FIRST_BURST);
}

int iscsi_scsi_cmd_begin(struct iscsi_conn *conn)
{
	const uint8_t *bhs = conn->rx_bhs;
	struct iscsi_task *task;
	uint32_t dlen = pdu_data_len(bhs);

	if (!cmd_pdu_valid(conn, bhs)) {
		log_error("%s: bad immediate data (%u bytes)", conn->peer_ip,
			  dlen);
		return -1;
	}
	task = calloc(1, sizeof(*task));
	if (!task)
		return -1;
	list_init(&task->conn_node);
	list_init(&task->hash_node);
	list_init(&task->pending_node);
	task->conn = conn;
	task->itt = pdu_itt(bhs);
	task->cmdsn = get_be32(bhs + PDU_CMDSN);
	task->immediate = pdu_immediate(bhs);
	task->edtl = get_be32(bhs + PDU_EDTL);
	task->state = TASK_RECEIVING;
	memcpy(task->cmd.cdb, bhs + PDU_CDB, 16);
	task->cmd.cdb_len = 16;
	task->cmd.lun = scsi_lun_from_wire(bhs + PDU_LUN);
	task->cmd.attr = (enum scsi_task_attr)(bhs[1] & ISCSI_CMD_ATTR_MASK);
	if (bhs[1] & ISCSI_CMD_WRITE)
		task->cmd.dir = SCSI_DIR_WRITE;
	else if (bhs[1] & ISCSI_CMD_READ)
		task->cmd.dir = SCSI_DIR_READ;
	if (pdu_ahs_len(bhs))
		task_fail_early(task, ASC_INVALID_FIELD_IN_CDB);
	else if (task->edtl > SCSI_MAX_XFER_BYTES)
		task_fail_early(task, ASC_INVALID_FIELD_IN_CDB);
	else if (task->immediate &&
		 !iscsi_session_immediate_room(conn->session))
		refuse_immediate(task);
	else if (task->cmd.dir == SCSI_DIR_WRITE && task->edtl) {
		task->data = task_data_alloc(task);
		if (!task->data) {
			free(task);
			return -1;
		}
	}
	conn->rx_task = task;
	conn->rx_dest = task->data;
	return 0;
}

/* Sets up the write-data budget of a command that has just arrived. */
static void start_write_data(struct iscsi_conn *conn, struct iscsi_task *task,
			     bool final)
{
	uint32_t unsol = task->received;

	if (!final && !conn_param(conn, ISCSI_PARAM_INITIAL_R2T)) {
		unsol = conn_param(conn, ISCSI_PARAM_FIRST_BURST);
		if (unsol > task->edtl)
			unsol = task->edtl;
		task->unsol_left = unsol - task->received;
	}
	task->r2t_offset = unsol;
	if (task->unsol_left == 0)
		send_r2ts(task);
}

static void queue_or_admit(struct iscsi_session *sess, struct iscsi_task *task)
{
	if (task->immediate) {
		task_admit(task);
		return;
	}
	if (task->cmdsn == sess->exp_cmdsn) {
		sess->exp_cmdsn++;
		task_admit(task);
		iscsi_session_run_pending(sess);
		return;
	}
	pending_insert(sess, task);
}

void iscsi_scsi_cmd_rx(struct iscsi_conn *conn)
{
	struct iscsi_task *task = conn->rx_task;
	struct iscsi_session *sess = conn->session;
	bool final = pdu_final(conn->rx_bhs);

	conn->rx_task = NULL;
	task->received = pdu_data_len(conn->rx_bhs);
	/* Outside the window, or a window we already closed: the RFC has the
	 * target drop such a command silently; so too one whose CmdSN was
	 * taken as received already (an ABORT TASK that came first, RFC
	 * 7143 §11.6.1 b). */
	if (!task->immediate &&
	    (!iscsi_cmdsn_in_window(sess, task->cmdsn) ||
	     iscsi_session_early_sn_known(sess, task->cmdsn))) {
		log_debug("%s: CmdSN %u outside window %u+%u or taken",
			  conn->peer_ip, task->cmdsn, sess->exp_cmdsn,
			  sess->queue_depth);
		task_data_free(task);
		free(task);
		return;
	}
	if (iscsi_task_find(conn, task->itt)) {
		iscsi_conn_send_reject(conn, conn->rx_bhs,
				       ISCSI_REJECT_TASK_IN_PROGRESS);
		task_data_free(task);
		free(task);
		return;
	}
	list_add_tail(&task->conn_node, &conn->tasks);
	list_add_tail(&task->hash_node, &conn->itt_hash[itt_bucket(task->itt)]);
	task->counted = true;
	sess->active++;
	if (task->early_asc) {
		task_data_free(task);
	} else if (task->data && task->received < task->edtl) {
		start_write_data(conn, task, final);
	}
	queue_or_admit(sess, task);
}

/* ---- Data-Out ---- */

static struct iscsi_r2t_seq *find_seq(struct iscsi_task *task, uint32_t ttt)
{
	for (int i = 0; i < ISCSI_MAX_R2T_SEQ; i++)
		if (task->seqs[i].active && task->seqs[i].ttt == ttt)
			return &task->seqs[i];
	return NULL;
}

/* Whether a Data-Out PDU is the next one of a transfer in progress:
 * right sequence, DataSN and offset (DataPDUInOrder), within its burst.
 * At ErrorRecoveryLevel 0 anything else ends the connection. */
static bool data_out_fits(struct iscsi_conn *conn, struct iscsi_task *task,
			  const uint8_t *bhs)
{
	uint32_t ttt = get_be32(bhs + PDU_TTT);
	uint32_t off = get_be32(bhs + PDU_BUFOFF);
	uint32_t datasn = get_be32(bhs + PDU_DATASN);
	uint32_t len = pdu_data_len(bhs);
	struct iscsi_r2t_seq *seq;

	if (!task->data || task->state != TASK_RECEIVING)
		return false;
	if (off > task->edtl || len > task->edtl - off)
		return false;
	if (ttt == ISCSI_RESERVED_TAG)
		return !conn_param(conn, ISCSI_PARAM_INITIAL_R2T) &&
		       len <= task->unsol_left &&
		       datasn == task->unsol_datasn && off == task->received;
	seq = find_seq(task, ttt);
	return seq && datasn == seq->datasn && off == seq->offset + seq->got &&
	       len <= seq->len - seq->got;
}

/* SPC-4: ABORTED COMMAND, PROTOCOL SERVICE CRC ERROR, which RFC 7143
 * §11.4.7.2 names for a task ended by a digest error. */
#define ASC_PROTOCOL_SERVICE_CRC_ERROR 0x4705
/* SPC-4 ABORTED COMMAND codes for write data that ended short: of the
 * unsolicited data, or of a burst an R2T asked for. */
#define ASC_NOT_ENOUGH_UNSOLICITED_DATA 0x0c0d
#define ASC_DATA_PHASE_ERROR 0x4b00

/* For a Data-Out that fits (data_out_fits): whether its F bit ends its
 * sequence before the sequence's length, the R2T's Desired Data Transfer
 * Length or, for unsolicited data, min(FirstBurstLength, EDTL) less the
 * immediate data (RFC 7143 §11.7.1). The initiator will send no more of
 * it; returns the ASC to end the task with, 0 if the PDU is fine. */
static uint16_t data_out_cut_short(struct iscsi_task *task,
				   const uint8_t *bhs)
{
	uint32_t ttt = get_be32(bhs + PDU_TTT);
	uint32_t len = pdu_data_len(bhs);
	const struct iscsi_r2t_seq *seq;

	if (!pdu_final(bhs))
		return 0;
	if (ttt == ISCSI_RESERVED_TAG)
		return len < task->unsol_left ? ASC_NOT_ENOUGH_UNSOLICITED_DATA
					      : 0;
	seq = find_seq(task, ttt);
	return len < seq->len - seq->got ? ASC_DATA_PHASE_ERROR : 0;
}

/* For a Data-Out that does not fit (data_out_fits): whether it still
 * belongs to a transfer this task has under way (its TTT, or unsolicited
 * data it may send), i.e. only its DataSN or offset is not the next one.
 * Anything else (unknown TTT, data beyond the transfer) stays a protocol
 * error that ends the connection. */
static bool data_out_out_of_order(struct iscsi_conn *conn,
				  struct iscsi_task *task, const uint8_t *bhs)
{
	uint32_t ttt = get_be32(bhs + PDU_TTT);
	uint32_t off = get_be32(bhs + PDU_BUFOFF);
	uint32_t len = pdu_data_len(bhs);
	bool ours;

	if (task->aborted || !task->data || task->state != TASK_RECEIVING)
		return false;
	if (off > task->edtl || len > task->edtl - off)
		return false;
	ours = ttt == ISCSI_RESERVED_TAG
		       ? !conn_param(conn, ISCSI_PARAM_INITIAL_R2T)
		       : find_seq(task, ttt) != NULL;
	return ours;
}

/* RFC 7143 §7.9: a Data-Out out of order tells the target it missed an
 * earlier one (an implied digest error), to be handled as §7.8 handles a
 * data digest error. At ErrorRecoveryLevel 0 no recovery R2T can ask for
 * it again, so the PDU is rejected and its data discarded, the task ends
 * now with CHECK CONDITION (sense asc), and the rest of its Data-Out is
 * dropped; the connection and the session's other commands go on.
 *
 * A sequence the F bit ends short is handled the same way: the bytes it
 * left out could only be asked for again out of order, by a recovery
 * R2T, which needs ErrorRecoveryLevel 1 (DataSequenceInOrder allows
 * going back only for error recovery). */
static void data_sequence_error(struct iscsi_conn *conn,
				struct iscsi_task *task, uint16_t asc)
{
	log_error("%s: Data-Out itt 0x%x DataSN %u offset %u %s: "
		  "the command ends", conn->peer_ip, task->itt,
		  get_be32(conn->rx_bhs + PDU_DATASN),
		  get_be32(conn->rx_bhs + PDU_BUFOFF),
		  asc == ASC_PROTOCOL_SERVICE_CRC_ERROR
			  ? "out of order" : "ends its sequence short");
	iscsi_conn_send_reject(conn, conn->rx_bhs,
			       ISCSI_REJECT_PROTOCOL_ERROR);
	if (conn->state == CONN_CLOSING)
		return;
	task->data_failed = true;
	task->early_key = SK_ABORTED_COMMAND;
	task->early_asc = asc;
	/* Data-Out still on its way once the task is gone: dropped. */
	remember_aborted_itt(conn, task->itt);
	for (int i = 0; i < ISCSI_MAX_R2T_SEQ; i++)
		task->seqs[i].active = false;
	task->r2t_outstanding = 0;
	task->received = task->edtl; /* nothing more is awaited */
	task_try_execute(task);
}

int iscsi_data_out_begin(struct iscsi_conn *conn)
{
	const uint8_t *bhs = conn->rx_bhs;
	uint32_t itt = pdu_itt(bhs);
	struct iscsi_task *task = iscsi_task_find(conn, itt);
	uint16_t short_asc;

	conn->rx_dest = NULL;
	if (!task && aborted_itt_known(conn, itt)) {
		/* Sent before the initiator learnt of the abort: dropped. */
		log_debug("%s: Data-Out for aborted itt 0x%x dropped",
			  conn->peer_ip, itt);
		return 0;
	}
	if (task && task->data_failed)
		return 0; /* its task already failed: dropped */
	if (!task || !data_out_fits(conn, task, bhs)) {
		if (task && data_out_out_of_order(conn, task, bhs)) {
			data_sequence_error(conn, task,
					    ASC_PROTOCOL_SERVICE_CRC_ERROR);
			return conn->state == CONN_CLOSING ? -1 : 0;
		}
		log_error("%s: Data-Out itt 0x%x ttt 0x%x sn %u off %u len %u "
			  "does not match a transfer", conn->peer_ip, itt,
			  get_be32(bhs + PDU_TTT), get_be32(bhs + PDU_DATASN),
			  get_be32(bhs + PDU_BUFOFF), pdu_data_len(bhs));
		return -1;
	}
	short_asc = data_out_cut_short(task, bhs);
	if (short_asc) {
		data_sequence_error(conn, task, short_asc);
		return conn->state == CONN_CLOSING ? -1 : 0;
	}
	conn->rx_task = task;
	conn->rx_dest = task->data + get_be32(bhs + PDU_BUFOFF);
	return 0;
}

/* A sequence ends with its last byte (an F bit before it was refused by
 * iscsi_data_out_begin); the next R2T goes out then. */
static void solicited_data(struct iscsi_task *task, struct iscsi_r2t_seq *seq,
			   uint32_t len)
{
	seq->got += len;
	seq->datasn++;
	if (seq->got == seq->len) {
		seq->active = false;
		task->r2t_outstanding--;
		send_r2ts(task);
	}
}

void iscsi_data_out_rx(struct iscsi_conn *conn)
{
	struct iscsi_task *task = conn->rx_task;
	uint32_t len = pdu_data_len(conn->rx_bhs);
	uint32_t ttt = get_be32(conn->rx_bhs + PDU_TTT);

	conn->rx_task = NULL;
	if (!task)
		return; /* data of an aborted command, dropped */
	if (task->aborted) {
		/* Aborted while this PDU came in: it may go now, unless it
		 * still waits for its CmdSN turn. */
		if (task->admitted)
			task_free(task);
		return;
	}
	task->received += len;
	if (ttt != ISCSI_RESERVED_TAG) {
		solicited_data(task, find_seq(task, ttt), len);
	} else {
		task->unsol_left -= len;
		task->unsol_datasn++;
		if (task->unsol_left == 0)
			send_r2ts(task);
	}
	if (conn->state == CONN_CLOSING)
		return;
	task_try_execute(task);
}

/* ---- data digest errors ---- */

void iscsi_scsi_cmd_drop(struct iscsi_conn *conn)
{
	struct iscsi_task *task = conn->rx_task;

	conn->rx_task = NULL;
	task_data_free(task);
	free(task);
}

void iscsi_data_out_digest_error(struct iscsi_conn *conn)
{
	struct iscsi_task *task = conn->rx_task;

	if (!task || task->aborted) {
		iscsi_data_out_rx(conn);
		return;
	}
	task->early_key = SK_ABORTED_COMMAND;
	task->early_asc = ASC_PROTOCOL_SERVICE_CRC_ERROR;
	iscsi_data_out_rx(conn);
}
