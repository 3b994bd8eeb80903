/* Reservations of one logical unit, shared by pr.c (state, nexus
 * matching, unit attentions), pr_access.c (conflicts), pr_in.c, pr_out.c,
 * reserve.c (SPC-2) and pr_file.c (APTPL). Nothing outside these files
 * includes it: the rest of the core reaches reservations through the
 * functions in core.h.
 *
 * Identity (SPC-4 5.13.2, 7.6.4.6): a registration belongs to an I_T
 * nexus, named by its initiator port (iSCSI name and ISID) and target
 * port; every target has one target port (relative port 1), so the
 * initiator port names it. Registrations outlive sessions: a new session
 * with the same name and ISID is the same I_T nexus. A registration made
 * from a name-only TransportID (format 00b, SPEC_I_PT or REGISTER AND
 * MOVE) stands for every initiator port with that name.
 *
 * Threading: a LU's state is used by its target's loop under the target
 * lock, and by the main thread only while the LU is not yet linked into
 * its target (loading the APTPL file) and when it frees the LU. An APTPL
 * save runs on the LU's worker thread (pr_save.c), which reads only its
 * job. */
#ifndef MTGT_SCSI_PR_H
#define MTGT_SCSI_PR_H

#include <stdbool.h>
#include <stdint.h>

#include "common/list.h"
#include "event/loop.h"
#include "scsi/scsi.h"

/* Persistent reservation types (SPC-4 table 231). */
#define PR_TYPE_NONE 0x0 /* no reservation (type 0 is obsolete) */
#define PR_TYPE_WE 0x1   /* Write Exclusive */
#define PR_TYPE_EA 0x3   /* Exclusive Access */
#define PR_TYPE_WERO 0x5 /* Write Exclusive - Registrants Only */
#define PR_TYPE_EARO 0x6 /* Exclusive Access - Registrants Only */
#define PR_TYPE_WEAR 0x7 /* Write Exclusive - All Registrants */
#define PR_TYPE_EAAR 0x8 /* Exclusive Access - All Registrants */

#define PR_SCOPE_LU 0x0

/* A registration limit per LU, so that an initiator cannot exhaust
 * memory: beyond it REGISTER gets INSUFFICIENT REGISTRATION RESOURCES. */
#define PR_MAX_REGS 256

/* An initiator port, as a TransportID names it. */
struct pr_port {
	char name[SCSI_NAME_MAX];
	uint8_t isid[6];
	bool any_isid; /* format 00b: every port of this initiator */
};

struct pr_reg {
	struct pr_port port;
	uint64_t key;
	bool all_tg_pt; /* registered for all target ports (we have one) */
	bool holder;    /* holds the reservation (types other than AR) */
};

/* The persistent part (what APTPL keeps) is copied whole by pr_out.c to
 * apply a service action to a copy and commit it only if it could be
 * made persistent. */
struct pr_state {
	uint32_t generation; /* PRGENERATION */
	uint8_t type;        /* PR_TYPE_*, PR_TYPE_NONE: not reserved */
	bool aptpl;          /* last valid APTPL bit */
	unsigned nr;
	struct pr_reg *regs; /* nr registrations, malloc'd */
};

struct pr_saver; /* pr_save.c */

struct scsi_pr {
	struct pr_state st;
	char *path;          /* APTPL file; NULL: persistence unavailable */
	/* SPC-2 RESERVE holder; cleared when that nexus ends. */
	const struct it_nexus *spc2_holder;
	/* APTPL saves (pr_out.c, pr_save.c): while one runs (saving), the
	 * PERSISTENT RESERVE OUT commands that arrive wait in `parked`
	 * (struct scsi_cmd, linked by io.node: they have no store
	 * request), oldest first; each holds the LU in flight. */
	bool saving;
	struct list_node parked;
	struct pr_saver *saver; /* started by the first save */
};

/* Unit attentions a service action causes, delivered only once it has
 * been committed. Each goes to the nexuses of one initiator port. */
struct pr_ua {
	struct pr_port port;
	uint16_t asc;
};

struct pr_effects {
	struct pr_ua *ua;
	unsigned nr, cap;
	bool lost; /* out of memory: some were dropped */
};

/* pr.c */
void pr_port_of(const struct it_nexus *nexus, struct pr_port *port);
bool pr_port_matches(const struct pr_port *port, const struct it_nexus *n);
bool pr_port_equal(const struct pr_port *a, const struct pr_port *b);
/* The registration of the nexus (exact port first), or -1. */
int pr_find(const struct pr_state *st, const struct it_nexus *nexus);
/* The registration made for exactly this port, or -1. */
int pr_find_port(const struct pr_state *st, const struct pr_port *port);
bool pr_all_registrants(uint8_t type);
/* Registrants Only and All Registrants: registrants are let through. */
bool pr_registrants_type(uint8_t type);
bool pr_type_valid(uint8_t type);
/* Whether registration i holds the reservation. */
bool pr_is_holder(const struct pr_state *st, unsigned i);
/* Appends a registration; false when out of room. */
bool pr_add(struct pr_state *st, const struct pr_port *port, uint64_t key,
	    bool all_tg_pt);
void pr_remove(struct pr_state *st, unsigned i);
/* Ends the reservation (registrations stay). */
void pr_release(struct pr_state *st);
int pr_state_copy(struct pr_state *dst, const struct pr_state *src);
void pr_state_clear(struct pr_state *st);

void pr_effect(struct pr_effects *fx, const struct pr_port *port,
	       uint16_t asc);
/* asc to every registrant's port except the issuer's. */
void pr_effect_registrants(struct pr_effects *fx, const struct pr_state *st,
			   const struct it_nexus *issuer, uint16_t asc);
/* Queues the unit attentions on the LU's live nexuses (not the issuer). */
void pr_effects_deliver(struct scsi_lu *lu, const struct it_nexus *issuer,
			struct pr_effects *fx);

/* pr_file.c: APTPL state on disk. */
/* Writes st to path atomically (or removes the file when nothing is to
 * be kept); 0 or -errno. */
int pr_file_save(const char *path, const struct pr_state *st);
/* Reads path into st (left empty if there is no file); 0 or -errno. */
int pr_file_load(const char *path, struct pr_state *st);
/* The file of a LU: dir/<target name, escaped>,lun<N>.pr; NULL on
 * allocation failure. */
char *pr_file_path(const char *dir, const char *target_name, uint64_t lun);

/* pr_save.c: one save of a LU's state on its worker thread. The
 * submitter fills path, st, loop and done and leaves st alone until done
 * runs on loop with result (0 or -errno). */
struct pr_save_job {
	const char *path;
	const struct pr_state *st;
	struct ev_loop *loop;
	void (*done)(struct pr_save_job *job);
	int result;
	struct ev_work work;
};
/* Hands the job to the LU's worker, starting it if need be; -EAGAIN if
 * it cannot be started. At most one job of a LU at a time. */
int pr_save_submit(struct scsi_lu *lu, struct pr_save_job *job);
/* Ends the worker, if any (no job running: the LU is not in flight). */
void pr_save_stop(struct scsi_pr *pr);

/* TransportIDs (SPC-4 7.6.4.6, iSCSI). */
#define PR_TID_MAX (4 + SCSI_NAME_MAX + 5 + 12 + 4)
/* Builds the TransportID of port into buf (PR_TID_MAX); returns its
 * length, a multiple of 4 and at least 24. */
unsigned pr_tid_build(const struct pr_port *port, uint8_t *buf);
/* Parses a TransportID of at most len bytes; returns its length, or 0
 * if it is not a valid iSCSI TransportID. */
unsigned pr_tid_parse(const uint8_t *p, uint32_t len, struct pr_port *port);

#endif
