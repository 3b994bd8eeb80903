/* The target registry: targets, their LUNs, I_T nexuses and ACLs.
 *
 * The registry's list of targets is changed and walked only by the main
 * thread (DESIGN.md rule 3), so it needs no lock. Everything inside one
 * target that its loop uses (LUNs, nexuses, sessions, ACLs) is guarded by
 * that target's lock; the main thread takes it with target_lock(). */
#ifndef MTGT_TARGET_TARGET_H
#define MTGT_TARGET_TARGET_H

#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/list.h"
#include "event/loop.h"
#include "scsi/scsi.h"

#define TARGET_NAME_MAX 223 /* iSCSI names are at most 223 bytes */

enum target_state {
	TARGET_READY,
	TARGET_OFFLINE,
};

/* tgtadm error codes (spec §2.7); management calls return them. */
enum tgtadm_err {
	TGTADM_SUCCESS,
	TGTADM_UNKNOWN_ERR,
	TGTADM_NOMEM,
	TGTADM_NO_DRIVER,
	TGTADM_NO_TARGET,
	TGTADM_NO_LUN,
	TGTADM_NO_SESSION,
	TGTADM_NO_CONNECTION,
	TGTADM_NO_BINDING,
	TGTADM_TARGET_EXIST,
	TGTADM_LUN_EXIST,
	TGTADM_BINDING_EXIST,
	TGTADM_ACL_EXIST,
	TGTADM_ACL_NOEXIST,
	TGTADM_USER_EXIST,
	TGTADM_NO_USER,
	TGTADM_TOO_MANY_USER,
	TGTADM_INVALID_REQUEST,
	TGTADM_OUTACCOUNT_EXIST,
	TGTADM_TARGET_ACTIVE,
	TGTADM_LUN_ACTIVE,
	TGTADM_DRIVER_ACTIVE,
	TGTADM_UNSUPPORTED_OPERATION,
	TGTADM_UNKNOWN_PARAM,
	TGTADM_PREVENT_REMOVAL,
	/* Not an answer and never sent: the request waits for its answer
	 * (struct target_waiter). */
	TGTADM_IN_PROGRESS = 1000,
};

/* A management request that a delete answers only once it is final
 * (docs/design-notes.md, rule 5): every command of the deleted target or
 * LUN has left its backing store and the store is closed; or once the
 * time allowed for that (tgtd --iscsi delete_timeout) is up, with an
 * error. Embedded in the requester; main thread only. */
struct target_waiter {
	/* The requester's: called once, with the outcome. */
	void (*done)(struct target_waiter *w, enum tgtadm_err err);
	/* The target layer's while the request waits (fence.c): */
	struct list_node node;  /* target->waiters */
	struct target *target;
	struct scsi_lu *lu;     /* NULL: the whole target */
	/* Ends the delete once drained, then answers. */
	void (*drained)(struct target_waiter *w);
	enum tgtadm_err timeout_err;
	struct ev_timer poll;
	unsigned poll_ms;
	uint64_t deadline_ms;
};

/* One ACL entry (initiator address or initiator name), insertion order. */
struct acl_entry {
	struct list_node node;
	char value[];
};

struct iscsi_target; /* transport part, iscsi/ */

/* The tid of the discovery ("global") target that accounts can be bound
 * to: tgtadm's --tid -1, i.e. no --tid (spec §2.3). */
#define TARGET_DISCOVERY_TID (-1)

/* A CHAP account (`tgtadm --mode account`). Owned by the main thread, like
 * everything that refers to it: management creates and binds accounts, and
 * logins, which read them, also run on the main thread. No lock. */
struct account {
	struct list_node node; /* account_list(): newest first */
	char *user;
	char *password;
};

/* The accounts bound to one target, or to discovery. Incoming accounts
 * keep tgt's slot order: an unbind leaves a hole that the next bind fills.
 * Main thread only. */
struct account_binds {
	struct account **in; /* nr_slots slots; NULL = free */
	unsigned nr_slots;
	unsigned nr_in;      /* slots in use */
	struct account *out; /* the outgoing account, at most one */
};

/* Login redirection of a target (`--mode target --op update --name
 * Redirect*`, spec §6). Main thread only: set by management, read at
 * login. Empty strings mean unset. */
#define TARGET_REDIRECT_ADDR_MAX 1025 /* tgt: NI_MAXHOST */
#define TARGET_REDIRECT_PORT_MAX 32   /* tgt: NI_MAXSERV */
#define TARGET_REDIRECT_CALLBACK_MAX 4096

enum target_redirect_reason {
	REDIRECT_NONE,
	REDIRECT_TEMPORARY,
	REDIRECT_PERMANENT,
};

struct target_redirect {
	char addr[TARGET_REDIRECT_ADDR_MAX + 1];
	char port[TARGET_REDIRECT_PORT_MAX + 1];
	enum target_redirect_reason reason;
	bool has_callback; /* tgt shows a callback once set, even "" */
	char callback[TARGET_REDIRECT_CALLBACK_MAX];
};

/* A target. Created and destroyed by the main thread. Fields below `lock`
 * are guarded by it. */
struct target {
	struct list_node node; /* registry list: main thread only */
	int tid;
	char name[TARGET_NAME_MAX + 1];
	struct ev_loop *loop;  /* loop serving its sessions after login */
	struct ev_loop *main_loop; /* where a retired target is reaped */
	pthread_t thread;      /* runs loop; named tgt/<tid> */
	struct ev_work shutdown_work;   /* posted by target_destroy */
	struct ev_timer shutdown_timer; /* target thread, while draining */
	/* Deleted while its loop still had work (sessions to log out, or
	 * I/O to drain): off the target list; the main thread joins and
	 * frees it when its thread has ended (reap_work). */
	bool retired;
	bool joined;
	struct ev_work reap_work;
	/* Deletes of it or of its LUNs that wait for their I/O to drain
	 * (struct target_waiter). Main thread only. */
	struct list_node waiters;
	struct account_binds accounts;  /* main thread only */
	struct target_redirect redirect; /* main thread only */

	struct ev_lock lock;
	enum target_state state;
	struct list_node lus;       /* struct scsi_lu, ascending LUN */
	struct list_node nexuses;   /* struct it_nexus, creation order */
	struct list_node acl_addrs; /* struct acl_entry */
	struct list_node acl_names; /* struct acl_entry */
	struct iscsi_target *iscsi;
};

/* Registry (main thread only). */
struct target *target_find(int tid);
struct target *target_find_by_name(const char *name);
struct list_node *target_list(void); /* ascending tid */

enum tgtadm_err target_create(int tid, const char *name,
			      struct ev_loop *loop);
/* The target leaves the list at once and its LUNs take no new command.
 * The answer comes once their I/O has left the backing stores and the
 * stores are closed: at once (TGTADM_SUCCESS) or through w (returning
 * TGTADM_IN_PROGRESS). With force and sessions, the sessions end in the
 * background, after their initiators were asked to log out (at most
 * ISCSI_LOGOUT_GRACE_S seconds). w may be NULL for a caller that cannot
 * wait: it is then told TGTADM_TARGET_ACTIVE if I/O is still in flight
 * (the delete goes on in the background). */
enum tgtadm_err target_destroy(int tid, bool force, struct target_waiter *w);
/* Shutdown: ends every target now, retired ones included. */
void target_destroy_all(void);

/* Lock helpers for threads other than the target's loop thread. */
void target_lock(struct target *t);
void target_unlock(struct target *t);

/* LUNs (main thread; take the target lock inside). */
struct scsi_lu *target_find_lu(struct target *t, uint64_t lun);
/* type: SCSI_TYPE_DISK, or SCSI_TYPE_MMC (a read-only CD/DVD drive,
 * empty without a path). */
enum tgtadm_err target_add_lu(struct target *t, uint64_t lun, uint8_t type,
			      const char *path, const char *bstype,
			      const char *bsoflags, unsigned blocksize);
/* Without force, a LUN with I/O in flight is refused (LUN_ACTIVE), as in
 * tgt. With force (only the wire protocol sends it for a LUN), the LUN
 * takes no new command and is removed once its I/O has drained; answered
 * like target_destroy(). */
enum tgtadm_err target_del_lu(struct target *t, uint64_t lun, bool force,
			      struct target_waiter *w);

/* ACLs */
enum tgtadm_err target_acl_add(struct target *t, bool by_name,
			       const char *value);
enum tgtadm_err target_acl_del(struct target *t, bool by_name,
			       const char *value);
/* Whether an initiator (address text, name) may log in. Caller holds the
 * target lock or runs on the main thread, which alone changes ACLs. */
bool target_acl_permits(struct target *t, const struct sockaddr *addr,
			const char *initiator_name);

/* Accounts (account.c). Main thread only. tid is a target's or
 * TARGET_DISCOVERY_TID. */
enum tgtadm_err account_add(const char *user, const char *password);
/* Unbinds the account everywhere, then deletes it. */
enum tgtadm_err account_del(const char *user);
enum tgtadm_err account_bind(int tid, bool outgoing, const char *user);
enum tgtadm_err account_unbind(int tid, bool outgoing, const char *user);
struct list_node *account_list(void); /* struct account, newest first */
/* The bindings of a target or of discovery; NULL if no such target. */
struct account_binds *account_binds_of(int tid);
/* An incoming account bound to b with this user name, for CHAP. */
const struct account *account_find_incoming(const struct account_binds *b,
					    const char *user);
void account_binds_free(struct account_binds *b);
/* Shutdown: forget every account and discovery binding. */
void account_free_all(void);

/* Transport hook (iscsi/iscsi_target.c), main thread: force-closes
 * connection cid of session sid. The close runs on the target's loop,
 * the connection's owner; this returns once it is queued there. */
enum tgtadm_err iscsi_target_close_conn(struct target *t, uint64_t sid,
					uint32_t cid);

#endif
