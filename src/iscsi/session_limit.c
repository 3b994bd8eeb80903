/* Sessions per target (tgtd --iscsi max_sessions_per_target, tgtadm's
 * max_sessions): a login that would start a session beyond the limit is
 * refused with "out of resources" (0x0302, RFC 7143 §11.13.5).
 *
 * The count is itgt->sessions_held: the target's sessions plus the
 * logins admitted as new sessions that its loop has not adopted yet. A
 * login reserves its slot on the main thread just before the final Login
 * Response; the slot passes to the session the target loop starts from
 * it, and is given back when that session is freed, or by the login
 * itself if it ends first (its connection dropped, the adoption failed).
 *
 * Why an atomic and not the target lock: slots are given back wherever a
 * login or session ends, on the target loop (lock held) or on the main
 * loop (a connection that fails between its reservation and its hand-over,
 * no lock held), and one compare-and-swap makes "take a slot if one is
 * free" a single step against all of them. The lock is taken only to
 * recognise a session reinstatement (rule 2: the session list is the
 * target loop's). */
#include <errno.h>
#include <stdlib.h>

#include "common/log.h"
#include "iscsi/iscsi.h"

/* TSIHs are 16 bits: no more sessions than this can exist at once. */
#define MAX_SESSIONS_LIMIT 65535

bool iscsi_session_slot_try(atomic_uint *held, unsigned limit)
{
	unsigned n = atomic_load(held);

	do {
		if (limit && n >= limit)
			return false;
	} while (!atomic_compare_exchange_weak(held, &n, n + 1));
	return true;
}

void iscsi_session_slot_put(atomic_uint *held)
{
	atomic_fetch_sub(held, 1);
}

/* Whether this initiator port (name and ISID) has a session on the
 * target, which the new login will replace (session reinstatement). */
static bool replaces_session(struct target *t, const char *initiator,
			     const uint8_t isid[6])
{
	bool found;

	target_lock(t);
	found = iscsi_session_find(t->iscsi, initiator, isid) != NULL;
	target_unlock(t);
	return found;
}

/* A reinstatement is admitted at the limit: it takes a slot beyond it for
 * as long as the old session lives (until the target loop adopts the new
 * connection and closes the old session). Meanwhile new logins see the
 * target fuller than it is, never emptier, so sessions never exceed the
 * limit: each slot over it belongs to an initiator port that has, or will
 * have, one session only. */
uint16_t iscsi_session_admit(struct target *t, const char *initiator,
			     const uint8_t isid[6])
{
	struct iscsi_target *itgt = t->iscsi;

	if (iscsi_session_slot_try(&itgt->sessions_held, itgt->max_sessions))
		return ISCSI_LOGIN_OK;
	if (replaces_session(t, initiator, isid)) {
		atomic_fetch_add(&itgt->sessions_held, 1);
		return ISCSI_LOGIN_OK;
	}
	log_info("login of %s to %s refused: the target has its %u sessions",
		 initiator, t->name, itgt->max_sessions);
	return ISCSI_LOGIN_OUT_OF_RESOURCES;
}

/* A decimal, octal or hex number as tgt reads its target parameters;
 * lowering it below the sessions there are ends none of them, it only
 * refuses new ones until fewer are left. */
enum tgtadm_err iscsi_target_set_max_sessions(struct target *t,
					      const char *value)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 0);
	if (errno || end == value || *end || v < 0 || v > MAX_SESSIONS_LIMIT)
		return TGTADM_INVALID_REQUEST;
	t->iscsi->max_sessions = (unsigned)v;
	return TGTADM_SUCCESS;
}
