/* Daemon-wide state beside the target list, owned by the main thread
 * unless said otherwise: the session id (TSIH) allocator, the system
 * state, the portals, tgtd's --iscsi settings and the connection counts
 * behind its connection limits. */
#ifndef MTGT_TARGET_REGISTRY_H
#define MTGT_TARGET_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/list.h"

enum system_state {
	SYSTEM_READY,
	SYSTEM_OFFLINE,
};

/* Next free TSIH (1..65535, skipping those in use); 0 if none is free. */
uint16_t registry_alloc_tsih(void);
void registry_free_tsih(uint16_t tsih);

enum system_state registry_system_state(void);
void registry_set_system_state(enum system_state s);

/* Where APTPL reservation state is kept (tgtd --pr-state-dir); "" for
 * nowhere: persistence through power loss is then not offered. Set
 * before any target exists, read when LUs are created. */
#define REGISTRY_PR_DIR_DEFAULT "/var/lib/mtgt/pr"
const char *registry_pr_dir(void);
void registry_set_pr_dir(const char *dir);

/* Listening portals (struct iscsi_portal), newest first. */
struct list_node *registry_portals(void);

/* Connections served by the main loop: logging in, or in a discovery
 * session (struct iscsi_conn, linked by main_node). */
struct list_node *registry_main_conns(void);

/* tgtd's --iscsi settings. Written by the main thread before any target
 * or portal exists, read-only afterwards (so any thread may read them). */
struct iscsi_settings {
	unsigned nop_interval, nop_count; /* NOP-In defaults of new targets */
	unsigned login_timeout_s;         /* a login must finish in time */
	/* Connections at once from one initiator address, and on one portal
	 * (local address and port); 0 means no limit. */
	unsigned max_conns_per_initiator;
	unsigned max_conns_per_portal;
	/* Sessions at once on one target, the default of every target
	 * (tgtadm's max_sessions overrides it per target); 0 means no
	 * limit. Discovery sessions do not count. */
	unsigned max_sessions_per_target;
	/* How long a delete waits for the I/O of what it deletes to leave
	 * the backing stores before it answers "still active" (fence.c). */
	unsigned delete_timeout_s;
};
#define ISCSI_DEFAULT_LOGIN_TIMEOUT_S 15
#define ISCSI_DEFAULT_MAX_CONNS_PER_INITIATOR 256
#define ISCSI_DEFAULT_MAX_CONNS_PER_PORTAL 4096
/* No limit by default, as in tgt: the connection limits above already
 * bound what one initiator or one portal can take, and a session needs a
 * connection, so a default per-target bound would only refuse logins a
 * tgt user expects to work (e.g. many initiators on one big target). */
#define ISCSI_DEFAULT_MAX_SESSIONS_PER_TARGET 0
/* As long as Linux's default SCSI command timeout: an initiator has given
 * up on a command stuck that long in a store anyway. */
#define ISCSI_DEFAULT_DELETE_TIMEOUT_S 30
struct iscsi_settings *registry_iscsi_settings(void);

/* Open connections by initiator address and by portal. Any thread (a
 * connection closes on its target's thread); a mutex guards the counts.
 * registry_conn_count() adds one connection and returns both totals,
 * this one included. */
void registry_conn_count(const struct sockaddr_storage *peer,
			 const struct sockaddr_storage *local,
			 unsigned *by_initiator, unsigned *by_portal);
void registry_conn_uncount(const struct sockaddr_storage *peer,
			   const struct sockaddr_storage *local);

/* Management settings tgt keeps beside its targets. Main thread only. */

/* iSNS settings (`sys update`, spec §2.8); stored and shown only. */
struct isns_conf {
	bool on;
	char server_ip[1025]; /* tgt keeps 1024 characters */
	int server_port;
	bool access_control;
};
#define ISNS_DEFAULT_PORT 3205
struct isns_conf *registry_isns(void);

/* The iSCSI driver's state: `lld stop` closes the listeners and keeps
 * their addresses here for `lld start` (tgt's driver re-listens on its
 * portals when started again). */
enum lld_state {
	LLD_READY,
	LLD_STOPPED,
};
struct lld_saved {
	enum lld_state state;
	char **portals; /* oldest first */
	unsigned nr_portals;
};
struct lld_saved *registry_iscsi_lld(void);

/* SCSI host bindings (`-H`/`--bus`, struct bound_host of mgmt), kept
 * only so that bind and unbind answer as in tgt. */
struct list_node *registry_bound_hosts(void);

/* CHAP accounts (struct account) and the accounts bound to discovery
 * sessions (account.c). */
struct account_binds;
struct list_node *registry_accounts(void);
struct account_binds *registry_discovery_binds(void);

/* Targets deleted with --force that still give their initiators time to
 * log out: off the target list, joined and freed when their thread ends
 * (struct target, linked by node). */
struct list_node *registry_retiring_targets(void);

#endif
