/* The state of a running tgtd as tgt-admin sees it: parsed from the text
 * of `tgtadm --op show` for targets, accounts and the system (spec
 * tgt-compat.md §4.2, §4.5, §4.6; §5.9 lists what tgt-admin relies on).
 * Pure parsing: fetching the text is the caller's job.
 *
 * Used by one thread; no shared state. */
#ifndef MTGT_TOOLS_TGTD_STATE_H
#define MTGT_TOOLS_TGTD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable list of strings (owned). */
struct str_list {
	char **items;
	size_t count;
};

/* One "LUN:" entry of a target. */
struct state_lun {
	uint64_t lun;
	char *type;      /* "disk", "controller", "cd/dvd", ... */
	char *scsi_id, *scsi_sn;
	unsigned block_size;
	bool online, removable, readonly, swp, thin_provisioning;
	char *bs_type;
	char *path;      /* NULL for "None" */
	char *bs_flags;  /* "" when none */
};

struct state_session {
	uint64_t sid;
	uint32_t cid;
};

struct state_target {
	bool deleted; /* by this run: the find functions skip it */
	int tid;
	char *name;
	char *driver;
	bool offline;
	bool has_nop; /* the "Nop interval/count" lines were shown */
	long nop_interval, nop_count;
	long max_sessions; /* the "Max sessions" line; 0 if none: no limit */
	struct state_session *sessions;
	size_t nr_sessions;
	bool connected; /* a "Connection:" line: an initiator is logged in */
	struct state_lun *luns; /* in show order: ascending LUN */
	size_t nr_luns;
	struct str_list incoming; /* bound accounts */
	char *outgoing;           /* NULL if none */
	struct str_list acls;     /* addresses first, then names */
};

struct tgtd_state {
	struct state_target *targets; /* ascending tid */
	size_t nr_targets;
	struct str_list accounts;     /* every account (account show) */
	struct str_list discovery_incoming;
	char *discovery_outgoing;
	/* sys show's iSNS block, as text ("" if the line was empty) */
	char *isns, *isns_server_ip, *isns_server_port, *isns_access_control;
};

/* Each returns 0, or -1 if memory ran out (text it does not understand
 * is skipped, as tgt-admin's regular expressions do). */
int tgtd_state_parse_targets(struct tgtd_state *st, const char *text);
int tgtd_state_parse_accounts(struct tgtd_state *st, const char *text);
int tgtd_state_parse_system(struct tgtd_state *st, const char *text);

void tgtd_state_free(struct tgtd_state *st);

struct state_target *tgtd_state_find(const struct tgtd_state *st,
				     const char *name);
struct state_target *tgtd_state_find_tid(const struct tgtd_state *st,
					 int tid);
int tgtd_state_max_tid(const struct tgtd_state *st);

bool str_list_contains(const struct str_list *l, const char *s);
int str_list_add(struct str_list *l, const char *s);
void str_list_free(struct str_list *l);

#endif
