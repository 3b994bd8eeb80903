/* The iSCSI side of a target: its configured parameters and sessions. */
#include <stdint.h>
#include <stdlib.h>

#include "common/log.h"
#include "iscsi/iscsi.h"
#include "target/registry.h"

struct iscsi_target *iscsi_target_new(struct target *t)
{
	struct iscsi_target *itgt = calloc(1, sizeof(*itgt));

	if (!itgt)
		return NULL;
	itgt->target = t;
	iscsi_params_target_defaults(&itgt->params);
	itgt->nop_interval = registry_iscsi_settings()->nop_interval;
	itgt->nop_count = registry_iscsi_settings()->nop_count;
	itgt->max_sessions = registry_iscsi_settings()->max_sessions_per_target;
	atomic_init(&itgt->sessions_held, 0);
	list_init(&itgt->sessions);
	list_init(&itgt->adopting);
	pthread_mutex_init(&itgt->roster_lock, NULL);
	return itgt;
}

void iscsi_target_free(struct iscsi_target *itgt)
{
	pthread_mutex_destroy(&itgt->roster_lock);
	free(itgt);
}

/* Target lock held: whether the target has a session, or a login that
 * became one (its final Login Response may be on its way) and that the
 * target loop has not adopted yet. */
bool iscsi_target_in_use(struct iscsi_target *itgt)
{
	return !list_empty(&itgt->sessions) ||
	       atomic_load(&itgt->sessions_held) > 0;
}

/* Target thread, lock held: close every connection, those still waiting
 * to start too; sessions go with their last connection. */
void iscsi_target_close_all(struct iscsi_target *itgt)
{
	ev_timer_stop(itgt->target->loop, &itgt->grace_timer);
	while (!list_empty(&itgt->adopting))
		iscsi_conn_close(list_first_entry(&itgt->adopting,
						  struct iscsi_conn,
						  adopt_node));
	while (!list_empty(&itgt->sessions))
		iscsi_session_close(list_first_entry(
			&itgt->sessions, struct iscsi_session, node));
}

void iscsi_target_aborts_drained(struct iscsi_target *itgt)
{
	struct iscsi_session *sess, *stmp;
	struct iscsi_conn *conn, *ctmp;

	/* Sending a deferred response never closes a connection here (it
	 * closes from its event handler), so the walk is safe. */
	list_for_each_entry_safe(sess, stmp, &itgt->sessions, node)
		list_for_each_entry_safe(conn, ctmp, &sess->conns,
					 session_node)
			iscsi_conn_flush_deferred(conn);
	iscsi_session_adopt_waiting(itgt);
}

/* A `--mode conn --op delete` on its way to the target's loop. */
struct conn_close_req {
	struct ev_work work;
	struct iscsi_target *itgt;
	uint16_t tsih;
	uint32_t cid;
};

static struct iscsi_conn *find_conn(struct iscsi_session *sess, uint32_t cid)
{
	return cid <= UINT16_MAX ? iscsi_session_find_conn(sess, (uint16_t)cid)
				 : NULL;
}

/* Target loop, lock held. The connection may have gone meanwhile (the
 * initiator logged out); then there is nothing left to do. */
static void close_conn_on_loop(struct ev_loop *loop, void *arg)
{
	struct conn_close_req *req = arg;
	struct iscsi_session *sess;
	struct iscsi_conn *conn = NULL;

	(void)loop;
	sess = iscsi_session_find_tsih(req->itgt, req->tsih);
	if (sess)
		conn = find_conn(sess, req->cid);
	if (conn) {
		log_info("closing connection %u of session %u on request",
			 req->cid, req->tsih);
		iscsi_conn_close(conn);
	}
	free(req);
}

/* Main thread. The lookup is done here, under the lock, so that tgtadm
 * gets tgt's errors; the close itself is the owner's job (DESIGN.md rule
 * 6). The request is queued before a later `target delete` can post its
 * shutdown, and a stopping loop still runs it, so it is always freed. */
enum tgtadm_err iscsi_target_close_conn(struct target *t, uint64_t sid,
					uint32_t cid)
{
	struct iscsi_session *sess = NULL;
	struct conn_close_req *req;

	target_lock(t);
	if (sid && sid <= UINT16_MAX)
		sess = iscsi_session_find_tsih(t->iscsi, (uint16_t)sid);
	if (!sess || !find_conn(sess, cid)) {
		target_unlock(t);
		return sess ? TGTADM_NO_CONNECTION : TGTADM_NO_SESSION;
	}
	target_unlock(t);
	req = calloc(1, sizeof(*req));
	if (!req)
		return TGTADM_NOMEM;
	req->itgt = t->iscsi;
	req->tsih = (uint16_t)sid;
	req->cid = cid;
	ev_post(t->loop, &req->work, close_conn_on_loop, req);
	return TGTADM_SUCCESS;
}
