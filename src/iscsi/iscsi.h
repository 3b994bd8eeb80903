/* Internal structures of the iSCSI transport: portals, connections,
 * sessions, tasks, and the transmit queue.
 *
 * Ownership (DESIGN.md): a connection belongs to the main loop until its
 * login finishes, then to its target's loop (conn->loop says which). A
 * session and everything hanging off it belongs to its target's loop and is
 * guarded by the target lock; the main thread takes the lock to create or
 * look up sessions at login and to read them for `show`. */
#ifndef MTGT_ISCSI_ISCSI_H
#define MTGT_ISCSI_ISCSI_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/accept.h"
#include "common/list.h"
#include "event/loop.h"
#include "iscsi/digest.h"
#include "iscsi/params.h"
#include "iscsi/pdu.h"
#include "iscsi/rxbuf.h"
#include "scsi/scsi.h"
#include "target/target.h"

#define ISCSI_NAME_MAX 224
#define ISCSI_ADDR_MAX 64
/* Login and text negotiation never need more than this much text. */
#define ISCSI_LOGIN_TEXT_MAX 65536
#define ISCSI_ITT_HASH 256
#define ISCSI_EARLY_SN_MAX 8
/* ITTs of aborted writes a connection remembers, so that Data-Out the
 * initiator had already sent for them is dropped quietly. */
#define ISCSI_ABORTED_ITTS 16
/* How long initiators get to log out after a forced target delete asked
 * them to (Async Message, event 1), before their connections are cut. */
#define ISCSI_LOGOUT_GRACE_S 2

struct iscsi_conn;

/* One PDU waiting to be sent. Either allocated with its data behind it
 * (control PDUs) or embedded in a task (Data-In, R2T, SCSI Response). */
struct iscsi_tx {
	struct list_node node;
	uint8_t bhs[ISCSI_BHS_LEN];
	const void *data;
	uint32_t data_len;
	uint32_t sent;        /* bytes of the PDU written so far */
	/* Digests, computed when the PDU starts going out; their lengths
	 * are 0 while digests are off. */
	uint8_t header_digest[ISCSI_DIGEST_LEN];
	uint8_t data_digest[ISCSI_DIGEST_LEN];
	uint8_t header_digest_len, data_digest_len;
	bool takes_statsn;    /* advances StatSN when sent */
	bool started;         /* sequence numbers and digests are filled */
	/* What a deferred PDU (conn->deferred_tx) waits for. */
	enum iscsi_defer {
		DEFER_NONE,
		DEFER_ABORTS,    /* TMF: aborted commands left the stores */
		DEFER_CONN_IDLE, /* Logout: the connection's commands ended */
	} defer;
	/* Called when the PDU leaves the queue: sent fully (ok) or dropped
	 * because the connection closed. Frees or recycles the tx. */
	void (*release)(struct iscsi_conn *conn, struct iscsi_tx *tx, bool ok);
};

/* A listening socket. Owned by the main thread. */
struct iscsi_portal {
	struct list_node node;
	struct ev_io io;
	char addr[ISCSI_ADDR_MAX]; /* as configured, brackets for IPv6 */
	int port;                  /* actual port (also when 0 was asked) */
	int family;
	struct accept_reserve reserve; /* for running out of fds */
};

/* A leading login the main thread handed to the target loop (join.c).
 * Main thread only. */
struct iscsi_handed_lead {
	uint16_t tsih; /* 0: unused */
	uint8_t isid[6];
	char initiator[ISCSI_NAME_MAX];
	uint32_t max_conns;
	uint64_t at_ms;
};
#define ISCSI_HANDED_LEADS 4

/* Transport part of a target. Params and max_sessions are configured by
 * the main thread and read at login (main thread); handed_leads is the
 * main thread's alone (no lock); the NOP settings are
 * written by the main thread under the target lock and read by the target
 * loop; sessions_held is atomic (session_limit.c). Every other field is
 * the target loop's and guarded by the target lock. */
struct iscsi_target {
	struct target *target;
	struct iscsi_params params;
	unsigned nop_interval, nop_count;
	unsigned max_sessions;     /* 0: no limit */
	/* Sessions of the target plus logins admitted as new sessions and
	 * not yet adopted by the target loop. */
	atomic_uint sessions_held;
	struct list_node sessions; /* struct iscsi_session, creation order */
	/* Guards the membership of `sessions` and of every session's
	 * `conns`, so that `show` lists them from the main thread without
	 * waiting for the target lock, which a busy target thread holds
	 * most of the time, also while it is preempted (DESIGN.md rules 7
	 * and 8). Whoever links or unlinks holds the target lock as well
	 * (lock order: target lock, then this one), so the target's own
	 * walks need only the target lock. Held for a few list operations
	 * (session.c) or one listing (show.c). */
	pthread_mutex_t roster_lock;
	/* Aborted commands still inside scsi/ or a store. TMF responses and
	 * reinstated sessions wait until there are none (task.c). */
	unsigned aborting;
	/* Connections whose login finished and that wait for the old
	 * session's commands to end before they start (session.c). */
	struct list_node adopting;
	/* A forced delete asked the initiators to log out: no new
	 * connection is adopted; `retired` runs once the sessions are gone
	 * or the grace period is over (async.c). */
	bool dying;
	struct ev_timer grace_timer;
	void (*retired)(struct iscsi_target *itgt);
	struct iscsi_handed_lead handed_leads[ISCSI_HANDED_LEADS];
	unsigned next_handed_lead;
};

/* A session. Guarded by its target's lock; used by the target loop. */
struct iscsi_session {
	struct list_node node;
	struct iscsi_target *itgt;
	uint16_t tsih;
	uint8_t isid[6];
	char initiator_name[ISCSI_NAME_MAX];
	char initiator_alias[ISCSI_NAME_MAX];
	char first_ip[ISCSI_ADDR_MAX]; /* snapshot for `show` */
	uint16_t first_cid;
	bool holds_slot;        /* counted in itgt->sessions_held */
	struct it_nexus nexus;
	struct list_node conns;
	struct iscsi_params params;
	uint32_t exp_cmdsn;
	uint32_t queue_depth;   /* commands the session may have at once */
	uint32_t max_cmdsn;     /* advertised; never moves backwards */
	bool max_cmdsn_valid;
	unsigned active;        /* tasks received and not yet freed */
	struct list_node pending; /* tasks with CmdSN > ExpCmdSN, by CmdSN */
	/* CmdSNs of non-SCSI requests answered ahead of their turn */
	uint32_t early_sn[ISCSI_EARLY_SN_MAX];
	unsigned nr_early_sn;
};

/* R2Ts a task keeps open at once (MaxOutstandingR2T is honoured up to
 * this; sending fewer is always allowed). */
#define ISCSI_MAX_R2T_SEQ 8

/* One solicited Data-Out sequence (the answer to one R2T). */
struct iscsi_r2t_seq {
	bool active;
	uint32_t ttt;
	uint32_t offset, len, got;
	uint32_t datasn; /* next expected DataSN */
};

enum iscsi_task_state {
	TASK_RECEIVING,   /* waiting for Data-Out */
	TASK_PENDING,     /* waiting for its CmdSN turn */
	TASK_EXECUTING,   /* in scsi/ or the backing store */
	TASK_SENDING,     /* Data-In/Response queued */
};

/* One SCSI command of a connection. Owned by the connection's loop. */
struct iscsi_task {
	struct list_node conn_node;  /* conn->tasks */
	struct list_node hash_node;  /* conn->itt_hash bucket */
	struct list_node pending_node; /* session->pending */
	struct iscsi_conn *conn;
	enum iscsi_task_state state;
	uint32_t itt;
	uint32_t cmdsn;
	bool immediate;
	uint32_t edtl;         /* expected data transfer length */
	uint8_t *data;         /* write data buffer (edtl bytes) */
	uint32_t received;     /* write bytes received */
	uint32_t unsol_left;   /* unsolicited Data-Out bytes still allowed */
	bool admitted;         /* its CmdSN has come up */
	bool counted;          /* included in session->active */
	/* Aborted by a TMF or a closing connection: it never answers, and
	 * is freed when it leaves scsi/ (if there) or its CmdSN turn comes
	 * (if it waits for one). */
	bool aborted;
	/* A Data-Out of it came out of order: it ends with CHECK CONDITION
	 * and its further Data-Out are dropped (task.c). */
	bool data_failed;
	uint8_t early_key;     /* refused before execution: sense key */
	uint16_t early_asc;    /* and ASC/ASCQ */
	uint8_t early_status;  /* or this status without sense (not GOOD) */
	uint32_t r2t_offset;   /* next offset to ask for */
	uint32_t r2t_sn;
	uint32_t r2t_outstanding;
	uint32_t unsol_datasn; /* next DataSN of unsolicited Data-Out */
	struct iscsi_r2t_seq seqs[ISCSI_MAX_R2T_SEQ];
	uint32_t datasn;       /* next Data-In DataSN */
	uint32_t sent;         /* Data-In bytes queued */
	struct scsi_cmd cmd;
	struct iscsi_tx tx;    /* Data-In / SCSI Response in flight */
	uint8_t sense_buf[SCSI_SENSE_MAX + 2];
};

enum iscsi_conn_state {
	CONN_LOGIN,
	CONN_FULL_FEATURE,
	CONN_CLOSING,
};

enum iscsi_rx_state {
	RX_BHS,
	RX_AHS,
	RX_HEADER_DIGEST,
	RX_DATA,
	RX_DATA_DIGEST,
};

struct iscsi_login; /* login.c private */

/* A TCP connection. Owned by conn->loop's thread; while in a session it is
 * guarded by the target lock as well. */
struct iscsi_conn {
	struct ev_io io;
	struct ev_loop *loop;
	struct list_node session_node;
	struct list_node main_node; /* registry_main_conns() while on main */
	struct iscsi_session *session;
	enum iscsi_conn_state state;
	bool discovery;
	char peer_ip[ISCSI_ADDR_MAX];
	struct sockaddr_storage peer;
	struct sockaddr_storage local;
	uint16_t cid;
	struct iscsi_params params;
	/* CRC32C negotiated; set when login finishes (login PDUs never carry
	 * digests). */
	bool header_digest, data_digest;

	struct iscsi_login *login;
	struct target *migrate_to; /* set when login finished, main loop */
	struct ev_timer login_timer;
	/* Login refused at once with this status (a connection limit). */
	uint16_t refuse_status;
	/* Counted in the registry's per-address and per-portal totals. */
	bool counted;
	/* The target loop takes over the connection (session.c). */
	struct target *adopt_target;
	struct ev_work adopt_work;
	struct list_node adopt_node;  /* itgt->adopting while it waits */
	/* The transport target; set when the target loop adopts the
	 * connection, kept until it is freed (completions of aborted
	 * commands report to it after the session is gone). */
	struct iscsi_target *itgt;

	/* receive */
	enum iscsi_rx_state rx_state;
	uint8_t rx_bhs[ISCSI_BHS_LEN];
	uint8_t rx_ahs[1024];
	uint32_t rx_got;       /* bytes of the current part received */
	uint8_t *rx_dest;      /* where the data segment goes */
	uint32_t rx_len;       /* data segment length incl. padding */
	uint8_t *rx_buf;       /* connection buffer for non-task data */
	uint32_t rx_buf_cap;
	struct iscsi_task *rx_task; /* task whose data is being received */
	uint32_t rx_scratch_left;   /* data bytes to discard */
	uint8_t rx_digest[ISCSI_DIGEST_LEN];
	uint32_t rx_discard_crc;    /* CRC of a data segment being discarded */
	struct rx_buf rx_ahead;     /* bytes read ahead of the state machine */
	bool rx_may_recv;           /* this event's read budget is not spent */

	/* transmit (tx.c) */
	struct list_node tx_queue;
	/* In its loop's transmit batch while linked (full-feature phase:
	 * PDUs queued, written before the loop waits again). */
	struct list_node tx_batch_node;
	/* Responses that must wait (TMF, Logout), in order (struct
	 * iscsi_tx, defer says for what). */
	struct list_node deferred_tx;
	uint32_t stat_sn;
	uint32_t exp_stat_sn;

	struct list_node tasks;
	struct list_node itt_hash[ISCSI_ITT_HASH];
	unsigned inflight;     /* tasks inside scsi/ or a store */
	uint32_t next_ttt;
	bool logout_done;      /* close once the queue drains */
	struct ev_work free_work;
	uint32_t aborted_itt[ISCSI_ABORTED_ITTS]; /* ring, 0xffffffff free */
	unsigned aborted_itt_next;

	/* NOP-In keepalive (keepalive.c), target loop */
	struct ev_timer nop_timer;
	struct iscsi_keepalive {
		unsigned interval_s;  /* 0: off */
		unsigned count;       /* unanswered pings tolerated */
		unsigned unanswered;  /* pings sent since we last heard */
		uint64_t rx_seen;     /* rx_octets at the last tick */
	} keepalive;

	/* a text response being sent in several PDUs */
	char *text_rsp;
	uint32_t text_rsp_len, text_rsp_off;
	uint32_t text_ttt;
	/* a text request coming in several PDUs (C bit), gathered so far */
	char *text_req;
	uint32_t text_req_len;

	/* statistics for `stat`, counted as tgt does (spec §4.9): every
	 * byte read and written since the connection was accepted, login
	 * included, and the SCSI Command and Data-Out PDUs received. Owned
	 * by the connection's loop; `stat` reads them under the target
	 * lock. */
	uint64_t rx_octets, tx_octets;
	uint32_t dataout_pdus, cmd_pdus;
};

/* conn.c */
struct iscsi_conn *iscsi_conn_new(struct ev_loop *loop, int fd,
				  const struct sockaddr_storage *peer,
				  const struct sockaddr_storage *local);
void iscsi_conn_close(struct iscsi_conn *conn);
/* A task of a closed connection finished inside scsi/: drop its hold. */
void iscsi_conn_put_inflight(struct iscsi_conn *conn);

/* tx.c */
/* Queues a PDU; written at once during login, else with the loop's
 * transmit batch. */
void iscsi_conn_queue(struct iscsi_conn *conn, struct iscsi_tx *tx);
/* Writes what the socket takes. Returns -1 if the connection failed. */
int iscsi_conn_tx_flush(struct iscsi_conn *conn);
/* Polls writable while something waits to be written (or a finished
 * connection is to close). */
void iscsi_conn_tx_poll(struct iscsi_conn *conn);
/* The connection closes: every queued PDU is released unsent. */
void iscsi_conn_tx_drop(struct iscsi_conn *conn);
/* Re-queue from a release callback (inside the flush loop): no flush. */
void iscsi_conn_requeue(struct iscsi_conn *conn, struct iscsi_tx *tx);
/* Holds a response back until what tx->defer names has happened; sends
 * it at once if that is already the case. */
void iscsi_conn_defer(struct iscsi_conn *conn, struct iscsi_tx *tx);
/* Sends the deferred responses whose condition now holds, in order. */
void iscsi_conn_flush_deferred(struct iscsi_conn *conn);
/* A control PDU with a private copy of its data. */
struct iscsi_tx *iscsi_tx_alloc(uint32_t data_len);
void iscsi_conn_send_reject(struct iscsi_conn *conn, const uint8_t *bad_bhs,
			    uint8_t reason);
void iscsi_conn_fill_sn(struct iscsi_conn *conn, uint8_t *bhs);
/* Whether the connection has sent or queued all it will ever send (it
 * may close once a logout or a cold reset is answered). */
bool iscsi_conn_drained(const struct iscsi_conn *conn);

/* login.c */
void iscsi_login_rx(struct iscsi_conn *conn);
void iscsi_login_free(struct iscsi_conn *conn);
/* Main loop: hand a connection whose login finished to its target. */
void iscsi_login_migrate(struct iscsi_conn *conn);
/* What the login agreed on, for the session the connection starts or
 * joins (target loop, at adoption). */
struct iscsi_login_result {
	const char *initiator, *alias;
	const uint8_t *isid;
	uint16_t tsih;     /* the session joined, or the new session's */
	bool joining;      /* a further connection of an existing session */
	uint32_t cmdsn;    /* the leading login's CmdSN */
	uint32_t window;   /* the new session's command window */
};
void iscsi_login_result(const struct iscsi_conn *conn,
			struct iscsi_login_result *r);
/* The new session took the TSIH the login allocated, and the session
 * slot it reserved: returns whether there was one. */
bool iscsi_login_session_started(struct iscsi_conn *conn);

/* task.c: SCSI Command, Data-Out, Data-In, R2T */
void iscsi_scsi_cmd_rx(struct iscsi_conn *conn);
int iscsi_data_out_begin(struct iscsi_conn *conn);
void iscsi_data_out_rx(struct iscsi_conn *conn);
int iscsi_scsi_cmd_begin(struct iscsi_conn *conn);
void iscsi_task_free_all(struct iscsi_conn *conn);
/* Data digest errors (RFC 7143 §7.8): a SCSI Command is dropped as if
 * never received; a Data-Out still counts towards its transfer, but the
 * command then ends with CHECK CONDITION instead of running. */
void iscsi_scsi_cmd_drop(struct iscsi_conn *conn);
void iscsi_data_out_digest_error(struct iscsi_conn *conn);
void iscsi_session_run_pending(struct iscsi_session *sess);
/* The task of this connection with this ITT, if it is still live (not
 * aborted). */
struct iscsi_task *iscsi_task_find(struct iscsi_conn *conn, uint32_t itt);
/* Aborts a task: it will never answer. Returns false if that is too late
 * because its status is already going out. */
bool iscsi_task_abort(struct iscsi_task *task);
/* Whether the connection has commands that will still answer. */
bool iscsi_conn_busy(const struct iscsi_conn *conn);

/* tmf.c: Task Management Function Request */
void iscsi_tmf_rx(struct iscsi_conn *conn);
/* RFC 7143 §11.6.1 b/c: the answer to ABORT TASK for a task the target
 * does not have, from the CmdSN it referred to. Pure; for tests too. */
uint8_t iscsi_tmf_absent_task_response(uint32_t ref_cmdsn, uint32_t tmf_cmdsn,
				       uint32_t exp_cmdsn, uint32_t max_cmdsn);

/* misc.c: NOP, Text, Logout */
void iscsi_nop_out_rx(struct iscsi_conn *conn);
void iscsi_text_rx(struct iscsi_conn *conn);
void iscsi_logout_rx(struct iscsi_conn *conn);
/* SendTargets text for a discovery or normal session. */
void iscsi_sendtargets(struct iscsi_conn *conn, const char *what,
		       struct kv_text *out);

/* session.c */
struct iscsi_session *iscsi_session_new(struct iscsi_target *itgt,
					const char *initiator,
					const char *alias,
					const uint8_t isid[6], uint16_t tsih);
void iscsi_session_free(struct iscsi_session *sess);
/* Links a connection into its session, and a new session into its target
 * with its first connection. Main thread, target lock held. */
void iscsi_session_add_conn(struct iscsi_session *sess,
			    struct iscsi_conn *conn);
/* Unlinks a connection; with the last one the session leaves its target
 * too, and true is returned: the caller then frees it. Its owner, target
 * lock held. */
bool iscsi_session_remove_conn(struct iscsi_session *sess,
			       struct iscsi_conn *conn);
/* Ends a session: closes its connections (target loop). */
void iscsi_session_close(struct iscsi_session *sess);
struct iscsi_session *iscsi_session_find(struct iscsi_target *itgt,
					 const char *initiator,
					 const uint8_t isid[6]);
struct iscsi_session *iscsi_session_find_tsih(struct iscsi_target *itgt,
					      uint16_t tsih);
struct iscsi_conn *iscsi_session_find_conn(struct iscsi_session *sess,
					   uint16_t cid);
unsigned iscsi_session_nr_conns(const struct iscsi_session *sess);
/* Main thread, target lock held: may this login add a connection to
 * session tsih? Returns a login status. */
uint16_t iscsi_session_check_join(struct iscsi_target *itgt, uint16_t tsih,
				  const char *initiator,
				  const uint8_t isid[6], uint16_t cid);
/* Target loop: take over a connection whose login finished. */
void iscsi_session_adopt(struct ev_loop *loop, void *conn);
/* Target loop: the aborted commands are gone; adoptions waiting for
 * that go on. */
void iscsi_session_adopt_waiting(struct iscsi_target *itgt);
/* Whether an immediate SCSI command (outside the CmdSN window) may be
 * taken: the session has fewer than its queue depth plus
 * ISCSI_IMMEDIATE_SLACK commands. */
bool iscsi_session_immediate_room(const struct iscsi_session *sess);
/* CmdSN window check for a non-immediate command. */
bool iscsi_cmdsn_in_window(struct iscsi_session *sess, uint32_t cmdsn);
/* MaxCmdSN to advertise now: the window closes while `queue_depth`
 * commands are in progress, and never shrinks below what was advertised. */
uint32_t iscsi_session_max_cmdsn(struct iscsi_session *sess);
/* A non-SCSI request with a CmdSN ahead of ExpCmdSN was handled. */
void iscsi_session_note_early_sn(struct iscsi_session *sess, uint32_t cmdsn);
/* If ExpCmdSN is such a CmdSN, steps over it and returns true. */
bool iscsi_session_take_early_sn(struct iscsi_session *sess);
/* Whether cmdsn was already handled ahead of its turn. */
bool iscsi_session_early_sn_known(const struct iscsi_session *sess,
				  uint32_t cmdsn);
/* A non-immediate request other than a SCSI command consumes its CmdSN. */
void iscsi_session_consume_cmdsn(struct iscsi_session *sess,
				 const uint8_t *bhs);

/* join.c: a further connection's login (main thread) */
uint16_t iscsi_join_check(struct target *t, uint16_t tsih,
			  const char *initiator, const uint8_t isid[6],
			  uint16_t cid);
void iscsi_join_note_lead(struct iscsi_conn *conn);

/* session_limit.c: sessions per target (any thread unless said) */
/* Takes a slot if fewer than limit (0: no limit) are held. */
bool iscsi_session_slot_try(atomic_uint *held, unsigned limit);
void iscsi_session_slot_put(atomic_uint *held);
/* Main thread, before the final Login Response of a login that starts a
 * new session: reserves its slot on the target, or returns the login
 * status that refuses it. */
uint16_t iscsi_session_admit(struct target *t, const char *initiator,
			     const uint8_t isid[6]);
/* Main thread: tgtadm's `--name max_sessions --value N`. */
enum tgtadm_err iscsi_target_set_max_sessions(struct target *t,
					      const char *value);

/* keepalive.c: NOP-In pings (target loop) */
void iscsi_keepalive_start(struct iscsi_conn *conn);
void iscsi_keepalive_stop(struct iscsi_conn *conn);
enum iscsi_keepalive_action {
	KEEPALIVE_IDLE,   /* heard from the initiator: nothing to do */
	KEEPALIVE_PING,   /* send a NOP-In */
	KEEPALIVE_DROP,   /* too many pings unanswered */
};
/* One tick of the keepalive timer given the bytes received so far. Pure;
 * for tests too. */
enum iscsi_keepalive_action iscsi_keepalive_tick(struct iscsi_keepalive *ka,
						 uint64_t rx_octets);

/* async.c: Async Messages (RFC 7143 §11.9) */
/* Target loop: asks every initiator of the target to log out within
 * grace_s seconds; itgt->retired runs when all sessions are gone or the
 * time is up. */
void iscsi_target_request_logout(struct iscsi_target *itgt, unsigned grace_s,
				 void (*retired)(struct iscsi_target *itgt));
/* A session of a dying target ended (session.c). */
void iscsi_target_session_gone(struct iscsi_target *itgt);

/* portal.c */
int iscsi_portal_add(struct ev_loop *main_loop, const char *spec);
int iscsi_portal_del(const char *spec);
struct list_node *iscsi_portals(void);
void iscsi_portals_close_all(void);
/* Shutdown: end the connections still on the main loop. */
void iscsi_main_conns_close_all(void);

/* iscsi_target.c: target hooks */
struct iscsi_target *iscsi_target_new(struct target *t);
void iscsi_target_free(struct iscsi_target *itgt);
/* Ends every connection of the target; target loop thread. */
bool iscsi_target_in_use(struct iscsi_target *itgt);
void iscsi_target_close_all(struct iscsi_target *itgt);
/* Target loop: the last aborted command left scsi/; deferred TMF
 * responses and waiting adoptions go on. */
void iscsi_target_aborts_drained(struct iscsi_target *itgt);

#endif
