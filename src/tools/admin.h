/* tgt-admin's work on a running tgtd: one run of the program, its options,
 * what it knows of tgtd's state, and what it created (to undo it if a
 * later request fails). The actions follow Debian's tgt-admin (spec
 * tgt-compat.md §5.6-5.7), but every request goes straight to the
 * management socket (mgmt_client.h) instead of through tgtadm.
 *
 * Used by one thread; no shared state. */
#ifndef MTGT_TOOLS_ADMIN_H
#define MTGT_TOOLS_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "tools/mgmt_client.h"
#include "tools/targets_conf.h"
#include "tools/tgtd_state.h"

/* Something this run created, and how to take it back. */
struct undo_entry {
	enum { UNDO_TARGET, UNDO_ACCOUNT, UNDO_DISCOVERY_BIND } kind;
	int tid;
	uint32_t ac_dir;
	char *name; /* target or user name */
};

struct admin {
	int control_port;
	bool verbose;       /* -v: print each request before sending it */
	bool pretend;       /* -p: print the requests, send none that change */
	bool force;         /* -f */
	bool ignore_errors; /* --ignore-errors or `ignore-errors yes` */
	struct tgtd_state state;
	struct undo_entry *undo;
	size_t nr_undo;
	const struct targets_conf *conf; /* for --execute and --update */
	int next_tid;       /* the last tid given to a new target */
	bool updating;      /* --update (for messages) */
};

void admin_init(struct admin *a);
void admin_free(struct admin *a);

/* (Re)reads targets, accounts and the system state from tgtd. On failure
 * it says why and ends the program (after undoing this run's work). */
void admin_read_state(struct admin *a);

/* Shows what a request does, as the equivalent tgtadm command line. */
void admin_format_request(const struct admin *a,
			  const struct mgmt_request *req, char *buf,
			  size_t size);

/* Sends a request that changes tgtd; with -p only prints it, with -v
 * prints it first. origin, if not NULL, is the directive it comes from,
 * named in the error message. A failure ends the program with tgtadm's
 * exit status after undoing what this run created, unless errors are
 * ignored; then it returns false. */
bool admin_request(struct admin *a, const struct mgmt_request *req,
		   const struct conf_node *origin);

/* Asks tgtd for a show text (sent even with -p). Ends the program on
 * failure. The caller frees the text. */
char *admin_query(struct admin *a, int mode, int tid);

/* A "# ..." line, printed with -v and -p (tgt-admin's comments). */
void admin_comment(struct admin *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Something the run leaves undone (a skipped LUN, a target in use): a
 * comment with -v and -p, else a warning on stderr that names the
 * directive behind it (origin, may be NULL). */
void admin_warn(struct admin *a, const struct conf_node *origin,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Undoes what this run created and ends the program with status. */
__attribute__((noreturn)) void admin_abort(struct admin *a, int status);

/* ---- actions (admin_load.c, admin_remove.c, admin_dump.c) ---- */

/* -e: creates the targets of the configuration that tgtd lacks, then
 * deletes those it has that the configuration lacks. */
void admin_execute(struct admin *a);

/* --update ALL | tid=N | <name>: re-creates targets from the
 * configuration (those not in use, or all with -f). */
int admin_update(struct admin *a, const char *which);

/* --delete ALL | tid=N | <name>. */
int admin_delete(struct admin *a, const char *which);

/* --offline / --ready ALL | tid=N | <name>. */
int admin_set_state(struct admin *a, const char *which, const char *state);

/* Deletes one target (by name; tid_text is the "tid=N" it was asked for,
 * or NULL), and marks it deleted in a->state. Returns true if it was
 * left alone because it is in use. */
bool admin_delete_target(struct admin *a, const char *name,
			 const char *tid_text);

/* The tid of a new target: its controller_tid, or the one after the last
 * tid given (tgt-admin's rule), skipping tids in use or promised to
 * another target, which tgt-admin would collide with. */
int admin_choose_tid(struct admin *a, const struct conf_target *t);

/* Ends the run (undoing it) if the controller_tid of t belongs to
 * another target in tgtd. */
void admin_check_controller_tid(struct admin *a, const struct conf_target *t);

/* Creates a target of the configuration with the given tid. */
void admin_add_target(struct admin *a, const struct conf_target *t, int tid);

/* The settings that are not per target (iSNS, discovery accounts). */
void admin_add_globals(struct admin *a);

/* --dump: prints a configuration that re-creates the running state. */
int admin_dump(struct admin *a);

#endif
