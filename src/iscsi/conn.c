/* Connection I/O: the connection's life, receiving PDUs (header, AHS,
 * data segment straight into its destination) and dispatching them. The
 * transmit queue is in tx.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "iscsi/iscsi.h"
#include "target/registry.h"

/* PDUs handled per readiness event before yielding to other fds. */
#define RX_BUDGET 16

static void conn_event(struct ev_loop *loop, uint32_t events, void *arg);

static void format_peer(struct iscsi_conn *conn)
{
	const struct sockaddr *sa = (const struct sockaddr *)&conn->peer;
	char buf[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
			  buf, sizeof(buf));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
			  sizeof(buf));
	snprintf(conn->peer_ip, sizeof(conn->peer_ip), "%s", buf);
}

static void login_timeout(struct ev_loop *loop, void *arg)
{
	struct iscsi_conn *conn = arg;

	(void)loop;
	log_info("login from %s did not finish in time", conn->peer_ip);
	iscsi_conn_close(conn);
}

static bool over_limit(unsigned count, unsigned limit)
{
	return limit && count > limit;
}

/* Counts the connection against tgtd's limits per initiator address and
 * per portal. Over a limit, the login is refused with "out of resources"
 * (RFC 7143 §11.13.5: the target lacks connection resources), which needs
 * its first Login Request; far over it (twice), the connection is not
 * worth even that. Returns false to drop it at once. */
static bool conn_admit(struct iscsi_conn *conn)
{
	const struct iscsi_settings *set = registry_iscsi_settings();
	unsigned by_initiator, by_portal;

	registry_conn_count(&conn->peer, &conn->local, &by_initiator,
			    &by_portal);
	conn->counted = true;
	if (!over_limit(by_initiator, set->max_conns_per_initiator) &&
	    !over_limit(by_portal, set->max_conns_per_portal))
		return true;
	log_info("%s: %u connections from this initiator, %u on this portal: "
		 "over the limit", conn->peer_ip, by_initiator, by_portal);
	conn->refuse_status = ISCSI_LOGIN_OUT_OF_RESOURCES;
	return !over_limit(by_initiator, 2 * set->max_conns_per_initiator) &&
	       !over_limit(by_portal, 2 * set->max_conns_per_portal);
}

static void conn_uncount(struct iscsi_conn *conn)
{
	if (!conn->counted)
		return;
	registry_conn_uncount(&conn->peer, &conn->local);
	conn->counted = false;
}

struct iscsi_conn *iscsi_conn_new(struct ev_loop *loop, int fd,
				  const struct sockaddr_storage *peer,
				  const struct sockaddr_storage *local)
{
	struct iscsi_conn *conn = calloc(1, sizeof(*conn));
	int one = 1;

	if (!conn)
		return NULL;
	conn->peer = *peer;
	conn->local = *local;
	format_peer(conn);
	conn->state = CONN_LOGIN;
	conn->rx_state = RX_BHS;
	list_init(&conn->session_node);
	list_init(&conn->main_node);
	list_init(&conn->adopt_node);
	list_init(&conn->tx_queue);
	list_init(&conn->tx_batch_node);
	list_init(&conn->deferred_tx);
	list_init(&conn->tasks);
	memset(conn->aborted_itt, 0xff, sizeof(conn->aborted_itt));
	for (int i = 0; i < ISCSI_ITT_HASH; i++)
		list_init(&conn->itt_hash[i]);
	iscsi_params_rfc_defaults(&conn->params);
	rx_buf_init(&conn->rx_ahead);
	conn->rx_buf_cap = 8192;
	conn->rx_buf = malloc(conn->rx_buf_cap + 4);
	if (!conn->rx_buf || !conn_admit(conn)) {
		conn_uncount(conn);
		free(conn->rx_buf);
		free(conn);
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	ev_io_init(&conn->io, fd, conn_event, conn);
	ev_timer_init(&conn->login_timer, login_timeout, conn);
	if (ev_io_start(loop, &conn->io, EPOLLIN) < 0) {
		conn_uncount(conn);
		free(conn->rx_buf);
		free(conn);
		return NULL;
	}
	conn->loop = loop;
	list_add_tail(&conn->main_node, registry_main_conns());
	ev_timer_start(loop, &conn->login_timer,
		       registry_iscsi_settings()->login_timeout_s * 1000ull);
	return conn;
}

static void conn_free_now(struct ev_loop *loop, void *arg)
{
	struct iscsi_conn *conn = arg;

	(void)loop;
	free(conn->text_rsp);
	free(conn->text_req);
	free(conn->rx_buf);
	rx_buf_free(&conn->rx_ahead);
	free(conn);
}

/* Freeing is deferred to a posted work item so that no caller up the
 * stack (an event handler, a completion) is left holding a stale pointer. */
static void conn_free(struct iscsi_conn *conn)
{
	ev_post(conn->loop, &conn->free_work, conn_free_now, conn);
}

/* Ends a connection: the fd is closed at once; the structure goes when
 * no task of it is inside scsi/ or a backing store any more. */
void iscsi_conn_close(struct iscsi_conn *conn)
{
	if (conn->state == CONN_CLOSING)
		return;
	conn->state = CONN_CLOSING;
	list_del(&conn->main_node);
	list_del(&conn->adopt_node);
	ev_timer_stop(conn->loop, &conn->login_timer);
	iscsi_keepalive_stop(conn);
	if (conn->io.loop)
		ev_io_stop(&conn->io);
	close(conn->io.fd);
	conn->io.fd = -1;
	conn_uncount(conn);
	iscsi_conn_tx_drop(conn);
	iscsi_login_free(conn);
	iscsi_task_free_all(conn);
	if (conn->session) {
		struct iscsi_session *sess = conn->session;

		if (iscsi_session_remove_conn(sess, conn))
			iscsi_session_free(sess);
	}
	if (conn->inflight == 0)
		conn_free(conn);
}

void iscsi_conn_put_inflight(struct iscsi_conn *conn)
{
	if (--conn->inflight == 0 && conn->state == CONN_CLOSING)
		conn_free(conn);
}

/* ---- receive ---- */

static bool conn_rx_buf_fit(struct iscsi_conn *conn, uint32_t len)
{
	uint8_t *p;

	/* Only a NOP-Out's ping data grows the buffer past the text limit:
	 * give that memory back at the next smaller PDU. */
	if (conn->rx_buf_cap > ISCSI_LOGIN_TEXT_MAX &&
	    len <= ISCSI_LOGIN_TEXT_MAX)
		len = ISCSI_LOGIN_TEXT_MAX;
	else if (len <= conn->rx_buf_cap)
		return true;
	p = realloc(conn->rx_buf, len + 4);
	if (!p)
		return false;
	conn->rx_buf = p;
	conn->rx_buf_cap = len;
	return true;
}

/* Largest data segment we accept on this connection. */
static uint32_t max_rx_data(struct iscsi_conn *conn)
{
	if (conn->state == CONN_LOGIN)
		return 8192; /* RFC default until negotiated */
	return conn->params.val[ISCSI_PARAM_MAX_RECV_DLENGTH];
}

/* Decides where the data segment of the PDU in rx_bhs goes. Returns -1 to
 * drop the connection. */
static int rx_begin_data(struct iscsi_conn *conn)
{
	uint32_t dlen = pdu_data_len(conn->rx_bhs);
	uint8_t op = pdu_opcode(conn->rx_bhs);

	conn->rx_task = NULL;
	conn->rx_scratch_left = 0;
	conn->rx_discard_crc = ISCSI_CRC32C_INIT;
	conn->rx_len = dlen + pdu_pad(dlen);
	if (dlen > max_rx_data(conn) && op != ISCSI_OP_LOGIN_REQ &&
	    op != ISCSI_OP_TEXT_REQ) {
		log_error("%s: data segment %u exceeds %u", conn->peer_ip, dlen,
			  max_rx_data(conn));
		return -1;
	}
	if (conn->state == CONN_FULL_FEATURE && !conn->discovery) {
		if (op == ISCSI_OP_SCSI_CMD)
			return iscsi_scsi_cmd_begin(conn);
		if (op == ISCSI_OP_DATA_OUT)
			return iscsi_data_out_begin(conn);
	}
	/* The rest is read into the connection's buffer. Login and text
	 * keys are bounded by the text limit (whatever MaxRecvDataSegment-
	 * Length says); a NOP-Out may carry up to MaxRecvDataSegmentLength
	 * of ping data, checked above. */
	if (dlen > ISCSI_LOGIN_TEXT_MAX && op != ISCSI_OP_NOP_OUT) {
		log_error("%s: %u bytes of data in a PDU with opcode 0x%02x",
			  conn->peer_ip, dlen, op);
		return -1;
	}
	if (!conn_rx_buf_fit(conn, conn->rx_len))
		return -1;
	conn->rx_dest = conn->rx_buf;
	return 0;
}

static void rx_dispatch_login_phase(struct iscsi_conn *conn, uint8_t op)
{
	if (op == ISCSI_OP_LOGIN_REQ) {
		iscsi_login_rx(conn);
		return;
	}
	/* Anything but Login before login finishes is a protocol error and
	 * ends the connection (RFC 7143 §6.1). */
	log_error("%s: opcode 0x%02x during login", conn->peer_ip, op);
	iscsi_conn_close(conn);
}

/* A discovery session exists for SendTargets: it has no LUs, nexus or
 * tasks, and RFC 7143 lets the initiator send in it
 * only Text and Logout requests (and NOP-Out, which answers our
 * keepalive pings). */
static bool discovery_allows(uint8_t op)
{
	return op == ISCSI_OP_TEXT_REQ || op == ISCSI_OP_LOGOUT_REQ ||
	       op == ISCSI_OP_NOP_OUT;
}

static void rx_dispatch(struct iscsi_conn *conn)
{
	uint8_t op = pdu_opcode(conn->rx_bhs);

	if (conn->state == CONN_LOGIN) {
		rx_dispatch_login_phase(conn, op);
		return;
	}
	if (conn->discovery && !discovery_allows(op)) {
		log_error("%s: opcode 0x%02x in a discovery session",
			  conn->peer_ip, op);
		iscsi_conn_send_reject(conn, conn->rx_bhs,
				       ISCSI_REJECT_PROTOCOL_ERROR);
		return;
	}
	switch (op) {
	case ISCSI_OP_SCSI_CMD:
		conn->cmd_pdus++;
		iscsi_scsi_cmd_rx(conn);
		break;
	case ISCSI_OP_DATA_OUT:
		conn->dataout_pdus++;
		iscsi_data_out_rx(conn);
		break;
	case ISCSI_OP_NOP_OUT:
		iscsi_nop_out_rx(conn);
		break;
	case ISCSI_OP_TEXT_REQ:
		iscsi_text_rx(conn);
		break;
	case ISCSI_OP_LOGOUT_REQ:
		iscsi_logout_rx(conn);
		break;
	case ISCSI_OP_TMF_REQ:
		iscsi_tmf_rx(conn);
		break;
	case ISCSI_OP_LOGIN_REQ:
		/* Login in full-feature phase is a protocol error. */
		iscsi_conn_send_reject(conn, conn->rx_bhs,
				       ISCSI_REJECT_PROTOCOL_ERROR);
		break;
	default:
		iscsi_conn_send_reject(conn, conn->rx_bhs,
				       ISCSI_REJECT_CMD_NOT_SUPPORTED);
		break;
	}
}

/* Reads up to want bytes into dst, through the read-ahead buffer in
 * full-feature phase. During login only what the PDU needs is read: the
 * connection may move to another loop after it, and bytes read ahead
 * would stay behind with no readable socket to call for them. */
static ssize_t rx_recv(struct iscsi_conn *conn, void *dst, size_t want)
{
	return rx_buf_read(&conn->rx_ahead, conn->io.fd, dst, want,
			   conn->rx_may_recv,
			   conn->state == CONN_FULL_FEATURE);
}

/* Reads into buf[got..want). Returns 1 when complete, 0 on EAGAIN, -1 on
 * EOF or error. */
static int rx_fill(struct iscsi_conn *conn, uint8_t *buf, uint32_t want)
{
	while (conn->rx_got < want) {
		ssize_t n = rx_recv(conn, buf + conn->rx_got,
				    want - conn->rx_got);

		if (n > 0) {
			conn->rx_got += (uint32_t)n;
			conn->rx_octets += (uint64_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return -1;
	}
	return 1;
}

/* Discards a data segment nobody wants (e.g. data for a rejected task). */
static int rx_discard(struct iscsi_conn *conn)
{
	uint8_t sink[4096];

	while (conn->rx_got < conn->rx_len) {
		uint32_t want = conn->rx_len - conn->rx_got;
		ssize_t n = rx_recv(conn, sink,
				    want < sizeof(sink) ? want : sizeof(sink));

		if (n > 0) {
			conn->rx_got += (uint32_t)n;
			conn->rx_octets += (uint64_t)n;
			if (conn->data_digest)
				conn->rx_discard_crc = iscsi_crc32c_update(
					conn->rx_discard_crc, sink, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return -1;
	}
	return 1;
}

/* The header (BHS and AHS) is in: its digest comes next, or the data. */
static int rx_header_done(struct iscsi_conn *conn)
{
	conn->rx_got = 0;
	if (conn->header_digest) {
		conn->rx_state = RX_HEADER_DIGEST;
		return 0;
	}
	if (rx_begin_data(conn) < 0)
		return -1;
	conn->rx_state = RX_DATA;
	return 0;
}

static int rx_after_bhs(struct iscsi_conn *conn)
{
	uint32_t ahs = pdu_ahs_len(conn->rx_bhs);

	/* Before login completes only Login PDUs, without AHS, are valid:
	 * anything else ends the connection at once (RFC 7143 §6.1). */
	if (conn->state == CONN_LOGIN &&
	    (pdu_opcode(conn->rx_bhs) != ISCSI_OP_LOGIN_REQ || ahs)) {
		log_error("%s: opcode 0x%02x during login", conn->peer_ip,
			  pdu_opcode(conn->rx_bhs));
		return -1;
	}
	if (ahs > sizeof(conn->rx_ahs)) {
		log_error("%s: AHS of %u bytes", conn->peer_ip, ahs);
		return -1;
	}
	conn->rx_got = 0;
	if (ahs) {
		conn->rx_state = RX_AHS;
		return 0;
	}
	return rx_header_done(conn);
}

/* A header whose digest is wrong cannot be trusted, its lengths least of
 * all, so the next PDU cannot be found: the connection ends (RFC 7143
 * §7.8). */
static bool header_digest_ok(struct iscsi_conn *conn)
{
	uint32_t crc = iscsi_crc32c_update(ISCSI_CRC32C_INIT, conn->rx_bhs,
					   ISCSI_BHS_LEN);

	crc = iscsi_crc32c_update(crc, conn->rx_ahs,
				  pdu_ahs_len(conn->rx_bhs));
	if (iscsi_crc32c_final(crc) == iscsi_digest_get(conn->rx_digest))
		return true;
	log_error("%s: header digest error, closing the connection",
		  conn->peer_ip);
	return false;
}

static bool data_digest_ok(struct iscsi_conn *conn)
{
	uint32_t crc = conn->rx_dest
			       ? iscsi_crc32c(conn->rx_dest, conn->rx_len)
			       : iscsi_crc32c_final(conn->rx_discard_crc);

	return crc == iscsi_digest_get(conn->rx_digest);
}

/* A PDU whose data digest is wrong is rejected and discarded (RFC 7143
 * §7.8); what that means for its task is task.c's business. */
static void rx_data_digest_error(struct iscsi_conn *conn)
{
	uint8_t op = pdu_opcode(conn->rx_bhs);

	log_error("%s: data digest error in a PDU with opcode 0x%02x, "
		  "ITT 0x%x", conn->peer_ip, op, pdu_itt(conn->rx_bhs));
	iscsi_conn_send_reject(conn, conn->rx_bhs, ISCSI_REJECT_DATA_DIGEST);
	if (conn->state == CONN_CLOSING)
		return;
	if (op == ISCSI_OP_SCSI_CMD)
		iscsi_scsi_cmd_drop(conn);
	else if (op == ISCSI_OP_DATA_OUT)
		iscsi_data_out_digest_error(conn);
}

/* The data segment is in: its digest comes next, or the PDU is done. */
static int rx_data_done(struct iscsi_conn *conn)
{
	conn->rx_got = 0;
	if (conn->data_digest && pdu_data_len(conn->rx_bhs)) {
		conn->rx_state = RX_DATA_DIGEST;
		return 2;
	}
	conn->rx_state = RX_BHS;
	rx_dispatch(conn);
	return 1;
}

/* One step of the receive state machine. Returns 1 if a PDU was completed
 * and dispatched, 2 if a part (header, AHS, digest) was completed, 0 if
 * more bytes are needed, -1 to close. */
static int rx_step(struct iscsi_conn *conn)
{
	int r;

	switch (conn->rx_state) {
	case RX_BHS:
		r = rx_fill(conn, conn->rx_bhs, ISCSI_BHS_LEN);
		if (r <= 0)
			return r;
		return rx_after_bhs(conn) < 0 ? -1 : 2;
	case RX_AHS:
		r = rx_fill(conn, conn->rx_ahs, pdu_ahs_len(conn->rx_bhs));
		if (r <= 0)
			return r;
		return rx_header_done(conn) < 0 ? -1 : 2;
	case RX_HEADER_DIGEST:
		r = rx_fill(conn, conn->rx_digest, ISCSI_DIGEST_LEN);
		if (r <= 0)
			return r;
		conn->rx_got = 0;
		if (!header_digest_ok(conn) || rx_begin_data(conn) < 0)
			return -1;
		conn->rx_state = RX_DATA;
		return 2;
	case RX_DATA:
		r = conn->rx_dest ? rx_fill(conn, conn->rx_dest, conn->rx_len)
				  : rx_discard(conn);
		if (r <= 0)
			return r;
		return rx_data_done(conn);
	case RX_DATA_DIGEST:
		r = rx_fill(conn, conn->rx_digest, ISCSI_DIGEST_LEN);
		if (r <= 0)
			return r;
		conn->rx_got = 0;
		conn->rx_state = RX_BHS;
		if (data_digest_ok(conn))
			rx_dispatch(conn);
		else
			rx_data_digest_error(conn);
		return 1;
	}
	return -1;
}

/* Reads and handles PDUs. After RX_BUDGET of them the socket is not read
 * any more, so that other connections get their turn; the PDUs already
 * read ahead are still handled, since no readiness event would come back
 * for them. */
static void conn_read(struct iscsi_conn *conn)
{
	int budget = RX_BUDGET;

	conn->rx_may_recv = true;
	while (conn->state != CONN_CLOSING) {
		struct ev_loop *loop = conn->loop;
		int r;

		conn->rx_may_recv = budget > 0;
		r = rx_step(conn);

		if (r < 0) {
			iscsi_conn_close(conn);
			return;
		}
		if (r == 2)
			continue; /* header done; go on to its data */
		if (r == 0)
			return;
		budget--;
		/* Login finished: the connection moves to another loop and
		 * must not be read here any more. */
		if (conn->migrate_to || conn->loop != loop)
			return;
	}
}

static void conn_event(struct ev_loop *loop, uint32_t events, void *arg)
{
	struct iscsi_conn *conn = arg;

	(void)loop;
	if (events & EPOLLOUT) {
		if (iscsi_conn_tx_flush(conn) < 0) {
			iscsi_conn_close(conn);
			return;
		}
		iscsi_conn_tx_poll(conn);
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		conn_read(conn);
	if (conn->state != CONN_CLOSING && conn->logout_done &&
	    iscsi_conn_drained(conn)) {
		iscsi_conn_close(conn);
		return;
	}
	if (conn->migrate_to && conn->state != CONN_CLOSING)
		iscsi_login_migrate(conn);
}

void iscsi_main_conns_close_all(void)
{
	while (!list_empty(registry_main_conns()))
		iscsi_conn_close(list_first_entry(registry_main_conns(),
						  struct iscsi_conn, main_node));
}
