/* The transmit queue of a connection: PDUs are written in queue order,
 * several per sendmsg (header, digests, payload and padding gathered, the
 * payload straight from the command's buffer); what the socket does not
 * take waits for EPOLLOUT.
 *
 * In full-feature phase, queueing does not write at once: the connection
 * joins its loop's transmit batch, which is written just before the loop
 * waits again, after the store completions of the batch of events were
 * handled. So the responses to a burst of completions leave in one
 * sendmsg per connection instead of one per PDU: fewer syscalls, fewer
 * TCP pushes, and fewer wake-ups of the initiator. During login every
 * PDU is written at once, as the login code expects. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "iscsi/iscsi.h"

static void drop_queue(struct iscsi_conn *conn, struct list_node *queue)
{
	while (!list_empty(queue)) {
		struct iscsi_tx *tx =
			list_first_entry(queue, struct iscsi_tx, node);

		list_del(&tx->node);
		tx->release(conn, tx, false);
	}
}

void iscsi_conn_tx_drop(struct iscsi_conn *conn)
{
	list_del(&conn->tx_batch_node);
	drop_queue(conn, &conn->tx_queue);
	drop_queue(conn, &conn->deferred_tx);
}

/* ---- PDUs ---- */

static void tx_free(struct iscsi_conn *conn, struct iscsi_tx *tx, bool ok)
{
	(void)conn;
	(void)ok;
	free(tx);
}

struct iscsi_tx *iscsi_tx_alloc(uint32_t data_len)
{
	struct iscsi_tx *tx = calloc(1, sizeof(*tx) + data_len);

	if (!tx)
		return NULL;
	list_init(&tx->node);
	tx->data = data_len ? (const void *)(tx + 1) : NULL;
	tx->data_len = data_len;
	tx->release = tx_free;
	return tx;
}

/* Sequence numbers go into a response when it is about to be written, so
 * they are current and StatSN increases in send order. */
void iscsi_conn_fill_sn(struct iscsi_conn *conn, uint8_t *bhs)
{
	struct iscsi_session *sess = conn->session;

	put_be32(bhs + PDU_STATSN, conn->stat_sn);
	if (sess) {
		put_be32(bhs + PDU_EXPCMDSN, sess->exp_cmdsn);
		put_be32(bhs + PDU_MAXCMDSN, iscsi_session_max_cmdsn(sess));
	}
}

/* Padding of data segments (always zeros), read-only. */
static const uint8_t zero_pad[4];

/* Digests cover the header and the padded data segment; Login Responses
 * never carry them, not even the last one, sent after the connection's
 * digests were agreed. */
static void compute_digests(struct iscsi_tx *tx, struct iscsi_conn *conn)
{
	bool login = pdu_opcode(tx->bhs) == ISCSI_OP_LOGIN_RSP;

	tx->header_digest_len = 0;
	tx->data_digest_len = 0;
	if (conn->header_digest && !login) {
		iscsi_digest_put(tx->header_digest,
				 iscsi_crc32c(tx->bhs, ISCSI_BHS_LEN));
		tx->header_digest_len = ISCSI_DIGEST_LEN;
	}
	if (conn->data_digest && !login && tx->data_len) {
		uint32_t crc = iscsi_crc32c_update(ISCSI_CRC32C_INIT, tx->data,
						   tx->data_len);

		crc = iscsi_crc32c_update(crc, zero_pad, pdu_pad(tx->data_len));
		iscsi_digest_put(tx->data_digest, iscsi_crc32c_final(crc));
		tx->data_digest_len = ISCSI_DIGEST_LEN;
	}
}

/* Once per PDU, however many writes it takes: a PDU whose first write
 * found the socket full must not take a second StatSN. */
static void start_tx(struct iscsi_tx *tx, struct iscsi_conn *conn)
{
	tx->started = true;
	pdu_set_data_len(tx->bhs, tx->data_len);
	if (tx->takes_statsn) {
		iscsi_conn_fill_sn(conn, tx->bhs);
		conn->stat_sn++;
	} else if (conn->session) {
		/* Data-In without status, R2T, NOP-In: StatSN is the next
		 * one, ExpCmdSN/MaxCmdSN current (RFC 7143 §11.7.4). */
		iscsi_conn_fill_sn(conn, tx->bhs);
	}
	compute_digests(tx, conn);
}

/* The parts of a PDU not yet written, as iovecs. Returns their count. */
static int tx_iov(struct iscsi_tx *tx, struct iovec *out)
{
	struct iovec iov[] = {
		{ tx->bhs, ISCSI_BHS_LEN },
		{ tx->header_digest, tx->header_digest_len },
		{ (void *)tx->data, tx->data_len },
		{ (void *)zero_pad, pdu_pad(tx->data_len) },
		{ tx->data_digest, tx->data_digest_len },
	};
	uint32_t skip = tx->sent;
	int cnt = 0;

	for (size_t i = 0; i < sizeof(iov) / sizeof(iov[0]); i++) {
		if (skip >= iov[i].iov_len) {
			skip -= (uint32_t)iov[i].iov_len;
			continue;
		}
		out[cnt].iov_base = (char *)iov[i].iov_base + skip;
		out[cnt].iov_len = iov[i].iov_len - skip;
		skip = 0;
		cnt++;
	}
	return cnt;
}

static uint32_t tx_total(const struct iscsi_tx *tx)
{
	return ISCSI_BHS_LEN + tx->header_digest_len + tx->data_len +
	       pdu_pad(tx->data_len) + tx->data_digest_len;
}

/* PDUs and bytes gathered into one sendmsg: 5 iovecs per PDU stay far
 * below IOV_MAX, and a megabyte is more than a socket buffer takes. */
#define TX_GATHER_PDUS 64
#define TX_GATHER_BYTES (1u << 20)

/* Gathers the head of the queue into out[]. Returns the iovec count;
 * *bytes gets their length. */
static size_t gather(struct iscsi_conn *conn, struct iovec *out,
		     size_t *bytes)
{
	struct iscsi_tx *tx;
	size_t cnt = 0;
	int pdus = 0;

	*bytes = 0;
	list_for_each_entry(tx, &conn->tx_queue, node) {
		if (pdus == TX_GATHER_PDUS || *bytes >= TX_GATHER_BYTES)
			break;
		if (!tx->started)
			start_tx(tx, conn);
		cnt += (size_t)tx_iov(tx, out + cnt);
		*bytes += tx_total(tx) - tx->sent;
		pdus++;
	}
	return cnt;
}

/* n bytes from the head of the queue were written: the PDUs they
 * complete leave it. Returns -1 if a release closed the connection. */
static int consume(struct iscsi_conn *conn, size_t n)
{
	while (n) {
		struct iscsi_tx *tx =
			list_first_entry(&conn->tx_queue, struct iscsi_tx, node);
		size_t left = tx_total(tx) - tx->sent;

		if (n < left) {
			tx->sent += (uint32_t)n;
			return 0;
		}
		n -= left;
		list_del(&tx->node);
		/* May queue the next Data-In of its task at the tail. */
		tx->release(conn, tx, true);
		if (conn->state == CONN_CLOSING)
			return -1;
	}
	return 0;
}

int iscsi_conn_tx_flush(struct iscsi_conn *conn)
{
	while (!list_empty(&conn->tx_queue)) {
		struct iovec out[TX_GATHER_PDUS * 5];
		struct msghdr msg = { .msg_iov = out };
		size_t bytes;
		ssize_t n;

		msg.msg_iovlen = gather(conn, out, &bytes);
		n = sendmsg(conn->io.fd, &msg, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		conn->tx_octets += (uint64_t)n;
		if (consume(conn, (size_t)n) < 0)
			return -1;
		if ((size_t)n < bytes)
			return 0; /* the socket is full: EPOLLOUT goes on */
	}
	return 0;
}

void iscsi_conn_tx_poll(struct iscsi_conn *conn)
{
	uint32_t ev = EPOLLIN;

	if (!list_empty(&conn->tx_queue))
		ev |= EPOLLOUT;
	/* A connection that ends after its last answer closes from its
	 * event handler, which a writable socket calls at once. */
	if (conn->logout_done && iscsi_conn_drained(conn))
		ev |= EPOLLOUT;
	if (conn->io.loop)
		ev_io_modify(&conn->io, ev);
}

/* ---- the transmit batch of a loop ---- */

/* Connections of one loop with PDUs queued during the current batch of
 * events (linked by conn->tx_batch_node). Owned by the loop's thread,
 * which creates it on first use and frees it with the loop. */
struct tx_batch {
	struct list_node conns;
};

/* Writes the queues of the batch's connections. A failed write does not
 * close here: the PDU stays queued, the socket polls writable (or hung
 * up) and the event handler closes the connection. */
static void tx_batch_flush(struct ev_loop *loop, void *data)
{
	struct tx_batch *batch = data;

	(void)loop;
	while (!list_empty(&batch->conns)) {
		struct iscsi_conn *conn = list_first_entry(
			&batch->conns, struct iscsi_conn, tx_batch_node);

		list_del(&conn->tx_batch_node);
		iscsi_conn_tx_flush(conn);
		if (conn->state != CONN_CLOSING)
			iscsi_conn_tx_poll(conn);
	}
}

static const struct ev_local_ops tx_batch_ops = {
	.flush = tx_batch_flush,
	.release = free,
	.flush_last = true, /* after the stores' flushes complete I/O */
};

/* Puts conn into its loop's batch. Returns false if there is none and
 * none can be made. */
static bool tx_batch_join(struct iscsi_conn *conn)
{
	struct tx_batch *batch = ev_local_get(conn->loop, &tx_batch_ops);

	if (list_linked(&conn->tx_batch_node))
		return true;
	if (!batch) {
		batch = malloc(sizeof(*batch));
		if (!batch)
			return false;
		list_init(&batch->conns);
		if (ev_local_set(conn->loop, &tx_batch_ops, batch) < 0) {
			free(batch);
			return false;
		}
	}
	list_add_tail(&conn->tx_batch_node, &batch->conns);
	return true;
}

void iscsi_conn_queue(struct iscsi_conn *conn, struct iscsi_tx *tx)
{
	if (conn->state == CONN_CLOSING) {
		tx->release(conn, tx, false);
		return;
	}
	tx->sent = 0;
	tx->started = false;
	list_add_tail(&tx->node, &conn->tx_queue);
	if (conn->state == CONN_FULL_FEATURE && tx_batch_join(conn))
		return;
	/* Login: at once (most PDUs fit in the socket buffer). A failed
	 * send does not close the connection here: callers up the stack
	 * still use it. The PDU stays queued; the socket then polls
	 * writable (or hung up) and the event handler closes the
	 * connection with nothing else on the stack. */
	if (conn->tx_queue.next == &tx->node)
		iscsi_conn_tx_flush(conn);
	if (conn->state != CONN_CLOSING)
		iscsi_conn_tx_poll(conn);
}

void iscsi_conn_requeue(struct iscsi_conn *conn, struct iscsi_tx *tx)
{
	tx->sent = 0;
	tx->started = false;
	list_add_tail(&tx->node, &conn->tx_queue);
}

static bool defer_over(struct iscsi_conn *conn, const struct iscsi_tx *tx)
{
	switch (tx->defer) {
	case DEFER_ABORTS:
		return !conn->itgt || conn->itgt->aborting == 0;
	case DEFER_CONN_IDLE:
		return !iscsi_conn_busy(conn);
	default:
		return true;
	}
}

void iscsi_conn_flush_deferred(struct iscsi_conn *conn)
{
	while (!list_empty(&conn->deferred_tx) &&
	       conn->state != CONN_CLOSING) {
		struct iscsi_tx *tx = list_first_entry(&conn->deferred_tx,
						       struct iscsi_tx, node);

		if (!defer_over(conn, tx))
			break;
		list_del(&tx->node);
		iscsi_conn_queue(conn, tx);
	}
	/* A connection that ends after its last answer closes from its
	 * event handler, which a writable socket calls at once. */
	if (conn->logout_done && conn->state != CONN_CLOSING &&
	    iscsi_conn_drained(conn) && conn->io.loop)
		ev_io_modify(&conn->io, EPOLLIN | EPOLLOUT);
}

void iscsi_conn_defer(struct iscsi_conn *conn, struct iscsi_tx *tx)
{
	if (conn->state == CONN_CLOSING) {
		tx->release(conn, tx, false);
		return;
	}
	list_add_tail(&tx->node, &conn->deferred_tx);
	iscsi_conn_flush_deferred(conn);
}

bool iscsi_conn_drained(const struct iscsi_conn *conn)
{
	return list_empty(&conn->tx_queue) && list_empty(&conn->deferred_tx);
}

void iscsi_conn_send_reject(struct iscsi_conn *conn, const uint8_t *bad_bhs,
			    uint8_t reason)
{
	struct iscsi_tx *tx = iscsi_tx_alloc(ISCSI_BHS_LEN);

	if (!tx) {
		iscsi_conn_close(conn);
		return;
	}
	tx->bhs[0] = ISCSI_OP_REJECT;
	tx->bhs[1] = ISCSI_FLAG_FINAL;
	tx->bhs[2] = reason;
	put_be32(tx->bhs + PDU_ITT, ISCSI_RESERVED_TAG);
	tx->takes_statsn = true;
	memcpy((void *)tx->data, bad_bhs, ISCSI_BHS_LEN);
	iscsi_conn_queue(conn, tx);
}

