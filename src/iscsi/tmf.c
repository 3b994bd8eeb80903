/* Task management (RFC 7143 §11.5 and §11.6; RFC 7144 §4 for the query
 * functions; SAM-5 §7 for what each function does to the task set).
 *
 * The task set is shared by all I_T nexuses of a logical unit (the
 * control mode page reports TST 000b) and TAS is 0: commands of other
 * initiators that a function aborts end without a word, and those
 * initiators learn of it by a unit attention.
 *
 * A function that aborts commands answers only once none of them can
 * still answer or reach the medium: commands inside a backing store are
 * waited for (the response is deferred, see conn.c), and a command whose
 * status is already going out was not aborted. A SANITIZE is not waited
 * for: its command leaves at once and its operation, which belongs to
 * the LU, goes on (scsi_cmd_abort). */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "iscsi/iscsi.h"

/* Functions (RFC 7143 §11.5.1, RFC 7144 §4.2) */
#define TMF_ABORT_TASK 1
#define TMF_ABORT_TASK_SET 2
#define TMF_CLEAR_ACA 3
#define TMF_CLEAR_TASK_SET 4
#define TMF_LU_RESET 5
#define TMF_TARGET_WARM_RESET 6
#define TMF_TARGET_COLD_RESET 7
#define TMF_TASK_REASSIGN 8
#define TMF_QUERY_TASK 9
#define TMF_QUERY_TASK_SET 10

/* Responses (RFC 7143 §11.6.1, RFC 7144 §4.3) */
#define TMF_RSP_COMPLETE 0
#define TMF_RSP_NO_TASK 1
#define TMF_RSP_NO_LUN 2
#define TMF_RSP_NO_REASSIGN 4
#define TMF_RSP_NOT_SUPPORTED 5
#define TMF_RSP_SUCCEEDED 7
#define TMF_RSP_REJECTED 255

#define PDU_REF_CMDSN 32

/* One request being carried out. */
struct tmf_req {
	struct iscsi_conn *conn;
	struct iscsi_session *sess;
	struct target *target;
	uint8_t function;
	uint64_t lun;
	uint32_t rtt;        /* Referenced Task Tag */
	uint32_t cmdsn;
	uint32_t ref_cmdsn;
};

uint8_t iscsi_tmf_absent_task_response(uint32_t ref_cmdsn, uint32_t tmf_cmdsn,
				       uint32_t exp_cmdsn, uint32_t max_cmdsn)
{
	bool in_window = !sn_lt(ref_cmdsn, exp_cmdsn) &&
			 !sn_gt(ref_cmdsn, max_cmdsn);

	return in_window && sn_lt(ref_cmdsn, tmf_cmdsn) ? TMF_RSP_COMPLETE
							: TMF_RSP_NO_TASK;
}

/* ITTs are unique in a session, whichever connection carried the task. */
static struct iscsi_task *session_task(struct iscsi_session *sess,
				       uint32_t itt)
{
	struct iscsi_conn *conn;
	struct iscsi_task *task;

	list_for_each_entry(conn, &sess->conns, session_node) {
		task = iscsi_task_find(conn, itt);
		if (task)
			return task;
	}
	return NULL;
}

/* RFC 7143 §11.5.1: a function acts on the requester's commands sent
 * before it, i.e. with a lower CmdSN (immediate ones carry no order). */
static bool sent_before(const struct iscsi_task *task,
			const struct tmf_req *req)
{
	return task->immediate || sn_lt(task->cmdsn, req->cmdsn);
}

/* Aborts the live tasks of sess for lun (every LUN if all_luns); those of
 * the requester's session only if sent before the request. Returns how
 * many were aborted. */
static unsigned abort_tasks(struct iscsi_session *sess,
			    const struct tmf_req *req, bool all_luns)
{
	struct iscsi_conn *conn;
	struct iscsi_task *task, *tmp;
	unsigned n = 0;

	list_for_each_entry(conn, &sess->conns, session_node)
		list_for_each_entry_safe(task, tmp, &conn->tasks, conn_node) {
			if (task->aborted ||
			    (!all_luns && task->cmd.lun != req->lun))
				continue;
			if (sess == req->sess && !sent_before(task, req))
				continue;
			n += iscsi_task_abort(task);
		}
	return n;
}

/* Aborts the task set of the LUN (or of every LUN) for every session.
 * Others than the requester lose commands without status (TAS 0) and,
 * unless a reset announces itself anyway, learn of it by COMMANDS CLEARED
 * BY ANOTHER INITIATOR (SAM-5 5.6). */
static void clear_task_sets(const struct tmf_req *req, bool all_luns,
			    bool announce)
{
	struct iscsi_session *sess;

	list_for_each_entry(sess, &req->target->iscsi->sessions, node)
		if (abort_tasks(sess, req, all_luns) && announce &&
		    sess != req->sess)
			scsi_ua_queue(&sess->nexus, req->lun,
				      ASC_COMMANDS_CLEARED);
}

static uint8_t abort_task(struct tmf_req *req)
{
	struct iscsi_session *sess = req->sess;
	struct iscsi_task *task = session_task(sess, req->rtt);
	uint8_t rsp;

	if (task)
		return iscsi_task_abort(task) ? TMF_RSP_COMPLETE
					      : TMF_RSP_NO_TASK;
	rsp = iscsi_tmf_absent_task_response(req->ref_cmdsn, req->cmdsn,
					     sess->exp_cmdsn, sess->max_cmdsn);
	if (rsp == TMF_RSP_COMPLETE) {
		/* Not received yet: taken as received, so that it is dropped
		 * if it ever comes and the CmdSN order goes on without it. */
		iscsi_session_note_early_sn(sess, req->ref_cmdsn);
		iscsi_session_run_pending(sess);
	}
	return rsp;
}

static bool session_has_task_on(struct iscsi_session *sess, uint64_t lun)
{
	struct iscsi_conn *conn;
	struct iscsi_task *task;

	list_for_each_entry(conn, &sess->conns, session_node)
		list_for_each_entry(task, &conn->tasks, conn_node)
			if (!task->aborted && task->cmd.lun == lun)
				return true;
	return false;
}

static void reset_every_lu(const struct tmf_req *req)
{
	struct scsi_lu *lu;

	list_for_each_entry(lu, &req->target->lus, node)
		scsi_lu_reset(lu);
}

/* TARGET COLD RESET ends every session of the target (RFC 7143 §11.6.1);
 * the requester's connection goes once it has sent the response. Closing
 * a session's last connection frees the session, so the walk starts over
 * after each close. */
static void close_all_but(struct iscsi_conn *keep)
{
	struct iscsi_session *sess;
	struct iscsi_conn *conn;
	bool closed;

	do {
		closed = false;
		list_for_each_entry(sess, &keep->itgt->sessions, node) {
			list_for_each_entry(conn, &sess->conns, session_node)
				if (conn != keep)
					break;
			if (&conn->session_node != &sess->conns) {
				iscsi_conn_close(conn);
				closed = true;
				break;
			}
		}
	} while (closed);
	keep->logout_done = true;
}

static bool lun_exists(const struct tmf_req *req)
{
	return target_find_lu(req->target, req->lun) != NULL;
}

/* Carries out the function; returns the response code. */
static uint8_t run_function(struct tmf_req *req)
{
	switch (req->function) {
	case TMF_ABORT_TASK:
		return abort_task(req);
	case TMF_ABORT_TASK_SET:
		if (!lun_exists(req))
			return TMF_RSP_NO_LUN;
		abort_tasks(req->sess, req, false);
		return TMF_RSP_COMPLETE;
	case TMF_CLEAR_TASK_SET:
		if (!lun_exists(req))
			return TMF_RSP_NO_LUN;
		clear_task_sets(req, false, true);
		return TMF_RSP_COMPLETE;
	case TMF_LU_RESET:
		if (!lun_exists(req))
			return TMF_RSP_NO_LUN;
		clear_task_sets(req, false, false);
		scsi_lu_reset(target_find_lu(req->target, req->lun));
		return TMF_RSP_COMPLETE;
	case TMF_TARGET_WARM_RESET:
	case TMF_TARGET_COLD_RESET:
		clear_task_sets(req, true, false);
		reset_every_lu(req);
		if (req->function == TMF_TARGET_COLD_RESET)
			close_all_but(req->conn);
		return TMF_RSP_COMPLETE;
	case TMF_TASK_REASSIGN:
		/* Needs ErrorRecoveryLevel 2; sessions here run at 0. */
		return TMF_RSP_NO_REASSIGN;
	case TMF_QUERY_TASK:
		return session_task(req->sess, req->rtt) ? TMF_RSP_SUCCEEDED
							 : TMF_RSP_COMPLETE;
	case TMF_QUERY_TASK_SET:
		if (!lun_exists(req))
			return TMF_RSP_NO_LUN;
		return session_has_task_on(req->sess, req->lun)
			       ? TMF_RSP_SUCCEEDED : TMF_RSP_COMPLETE;
	default:
		/* CLEAR ACA (ACA is not supported: NormACA 0), I_T NEXUS
		 * RESET, QUERY ASYNC EVENT and unassigned codes. */
		return TMF_RSP_NOT_SUPPORTED;
	}
}

static bool aborts_tasks(uint8_t function)
{
	return function == TMF_ABORT_TASK || function == TMF_ABORT_TASK_SET ||
	       function == TMF_CLEAR_TASK_SET || function == TMF_LU_RESET ||
	       function == TMF_TARGET_WARM_RESET ||
	       function == TMF_TARGET_COLD_RESET;
}

void iscsi_tmf_rx(struct iscsi_conn *conn)
{
	const uint8_t *bhs = conn->rx_bhs;
	struct iscsi_session *sess = conn->session;
	struct tmf_req req = {
		.conn = conn,
		.sess = sess,
		.function = bhs[1] & 0x7f,
		.lun = scsi_lun_from_wire(bhs + PDU_LUN),
		.rtt = get_be32(bhs + PDU_TTT),
		.cmdsn = get_be32(bhs + PDU_CMDSN),
		.ref_cmdsn = get_be32(bhs + PDU_REF_CMDSN),
	};
	struct iscsi_tx *tx;

	iscsi_session_consume_cmdsn(sess, bhs);
	tx = iscsi_tx_alloc(0);
	if (!tx) {
		iscsi_conn_close(conn);
		return;
	}
	tx->bhs[0] = ISCSI_OP_TMF_RSP;
	tx->bhs[1] = ISCSI_FLAG_FINAL;
	put_be32(tx->bhs + PDU_ITT, pdu_itt(bhs));
	tx->takes_statsn = true;
	if (!sess->itgt) {
		/* A discovery session has no task set. */
		tx->bhs[2] = TMF_RSP_REJECTED;
	} else {
		req.target = sess->itgt->target;
		tx->bhs[2] = run_function(&req);
		log_debug("%s: TMF %u (lun %llu, rtt 0x%x): response %u",
			  conn->peer_ip, req.function,
			  (unsigned long long)req.lun, req.rtt, tx->bhs[2]);
	}
	if (aborts_tasks(req.function))
		tx->defer = DEFER_ABORTS;
	iscsi_conn_defer(conn, tx);
}
