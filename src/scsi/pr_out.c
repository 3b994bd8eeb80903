/* PERSISTENT RESERVE OUT (SPC-4 6.16, 5.13.7-5.13.11): every service
 * action but REPLACE LOST RESERVATION (SPC-5), every reservation type, in
 * LU scope.
 *
 * A service action works on a copy of the LU's state and collects the
 * unit attentions it causes. Only if it succeeds is the copy made
 * durable (APTPL, pr_file.c) and then put in place, and the unit
 * attentions queued: a refused command, or one whose state could not be
 * saved, changes nothing.
 *
 * The save runs on the LU's worker thread (pr_save.c), never on the
 * target's loop, and the command completes when the state is on disk
 * (SPC-4: a GOOD with APTPL survives a power loss). Meanwhile the LU's
 * other commands go on against the old state, which is still the LU's
 * state: the change has not been reported. Later PERSISTENT RESERVE OUT
 * commands wait until the save is over and then run one by one against
 * the state it left, so each sees what the ones before it did, and
 * saves reach the file in command order.
 *
 * Supported optional parts, as REPORT CAPABILITIES announces: SPEC_I_PT
 * (TransportID formats 00b and 01b), ALL_TG_PT (every target has a single
 * target port, so it changes only what READ FULL STATUS shows), APTPL
 * when tgtd has a state directory.
 *
 * PREEMPT AND ABORT: the registrations and reservation change at once,
 * so every later command of a preempted nexus meets its unit attention
 * or a RESERVATION CONFLICT. Commands of those nexuses already handed to
 * the backing store are not cancelled (the store cannot recall a request)
 * and complete normally; nothing is queued inside the core for long
 * enough to be worth aborting (a write parked behind a COMPARE AND WRITE
 * is released within one store round trip). */
#include <stdlib.h>
#include <string.h>

#include "common/byteorder.h"
#include "common/log.h"
#include "scsi/core.h"
#include "scsi/pr.h"
#include "scsi/scsi.h"

#define PROUT_REGISTER 0x00
#define PROUT_RESERVE 0x01
#define PROUT_RELEASE 0x02
#define PROUT_CLEAR 0x03
#define PROUT_PREEMPT 0x04
#define PROUT_PREEMPT_ABORT 0x05
#define PROUT_REGISTER_IGNORE 0x06
#define PROUT_REGISTER_MOVE 0x07

#define PARAM_LEN 24         /* the basic parameter list */
#define SPEC_I_PT_HEADER 28  /* ... and TRANSPORTID PARAMETER DATA LENGTH */

#define P_SPEC_I_PT 0x08     /* byte 20 */
#define P_ALL_TG_PT 0x04
#define P_APTPL 0x01
#define M_UNREG 0x02         /* byte 17 of REGISTER AND MOVE */
#define M_APTPL 0x01

/* The decoded CDB and parameter list. */
struct prout {
	uint8_t sa, scope, type;
	uint64_t key, sark;
	bool spec_i_pt, all_tg_pt, aptpl, unreg;
	uint16_t rel_port;      /* REGISTER AND MOVE */
	const uint8_t *tids;    /* TransportIDs: SPEC_I_PT or MOVE */
	uint32_t tids_len;
	uint32_t tids_offset;   /* of tids in the parameter list */
};

/* How a service action ended. */
enum pr_outcome {
	PR_CHANGED,   /* state changed: save and commit */
	PR_UNCHANGED, /* GOOD, nothing to save */
	PR_CONFLICT,  /* RESERVATION CONFLICT */
	PR_FAILED,    /* CHECK CONDITION, sense set */
};

struct pr_action {
	struct scsi_cmd *cmd;
	const struct it_nexus *nexus;
	struct prout p;
	struct pr_state st;    /* the working copy */
	struct pr_effects fx;
	int me;                /* the issuer's registration in st, or -1 */
	struct pr_save_job save; /* st on its way to disk (APTPL) */
};

static enum pr_outcome bad_param(struct pr_action *a, unsigned byte, int bit)
{
	scsi_bad_param(a->cmd, byte, bit);
	return PR_FAILED;
}

static enum pr_outcome no_resources(struct pr_action *a)
{
	scsi_set_sense(a->cmd, SK_ILLEGAL_REQUEST,
		       ASC_INSUFFICIENT_REG_RESOURCES);
	return PR_FAILED;
}

/* Parameter list -------------------------------------------------- */

static bool is_register(uint8_t sa)
{
	return sa == PROUT_REGISTER || sa == PROUT_REGISTER_IGNORE;
}

static bool length_error(struct scsi_cmd *cmd)
{
	scsi_set_sense(cmd, SK_ILLEGAL_REQUEST,
		       ASC_PARAMETER_LIST_LENGTH_ERROR);
	return false;
}

/* The REGISTER AND MOVE parameter list (SPC-4 6.16.4). */
static bool decode_move(struct scsi_cmd *cmd, const uint8_t *d,
			uint32_t len, struct prout *p)
{
	p->unreg = d[17] & M_UNREG;
	p->aptpl = d[17] & M_APTPL;
	p->rel_port = get_be16(d + 18);
	p->tids_len = get_be32(d + 20);
	p->tids_offset = PARAM_LEN;
	p->tids = d + PARAM_LEN;
	if (p->tids_len > len - PARAM_LEN)
		return length_error(cmd);
	return true;
}

/* The basic parameter list (SPC-4 6.16.3) and, with SPEC_I_PT, the
 * TransportIDs after it. */
static bool decode_basic(struct scsi_cmd *cmd, const uint8_t *d,
			 uint32_t len, struct prout *p)
{
	p->spec_i_pt = d[20] & P_SPEC_I_PT;
	p->all_tg_pt = d[20] & P_ALL_TG_PT;
	p->aptpl = d[20] & P_APTPL;
	if (!p->spec_i_pt)
		return len == PARAM_LEN || length_error(cmd);
	if (len < SPEC_I_PT_HEADER)
		return length_error(cmd);
	p->tids_len = get_be32(d + PARAM_LEN);
	p->tids_offset = SPEC_I_PT_HEADER;
	p->tids = d + SPEC_I_PT_HEADER;
	if (p->tids_len > len - SPEC_I_PT_HEADER)
		return length_error(cmd);
	return true;
}

static bool decode(struct scsi_cmd *cmd, struct prout *p)
{
	uint32_t len = get_be32(cmd->cdb + 5);
	const uint8_t *d = cmd->out_buf;

	memset(p, 0, sizeof(*p));
	p->sa = cmd->cdb[1] & 0x1f;
	p->scope = cmd->cdb[2] >> 4;
	p->type = cmd->cdb[2] & 0x0f;
	cmd->out_cdb_len = len;
	if (len < PARAM_LEN || !d || cmd->out_len < len)
		return length_error(cmd);
	p->key = get_be64(d);
	p->sark = get_be64(d + 8);
	if (p->sa == PROUT_REGISTER_MOVE)
		return decode_move(cmd, d, len, p);
	return decode_basic(cmd, d, len, p);
}

/* Checks of fields whose meaning does not depend on the state. */
static bool fields_valid(struct scsi_cmd *cmd, const struct prout *p,
			 bool can_persist)
{
	bool typed = p->sa == PROUT_RESERVE || p->sa == PROUT_RELEASE ||
		     p->sa == PROUT_PREEMPT || p->sa == PROUT_PREEMPT_ABORT;

	if (typed && p->scope != PR_SCOPE_LU) {
		scsi_bad_cdb(cmd, 2, 7);
		return false;
	}
	if (typed && !pr_type_valid(p->type)) {
		scsi_bad_cdb(cmd, 2, 3);
		return false;
	}
	/* SPEC_I_PT is for REGISTER only (SPC-4 6.16.3). */
	if (p->spec_i_pt && p->sa != PROUT_REGISTER) {
		scsi_bad_param(cmd, 20, 3);
		return false;
	}
	if (p->aptpl && !can_persist &&
	    (is_register(p->sa) || p->sa == PROUT_REGISTER_MOVE)) {
		scsi_bad_param(cmd, p->sa == PROUT_REGISTER_MOVE ? 17 : 20, 0);
		return false;
	}
	return true;
}

/* Service actions -------------------------------------------------- */

/* The RESERVATION KEY must be the issuer's registered key. */
static bool key_ok(const struct pr_action *a)
{
	return a->me >= 0 && a->st.regs[a->me].key == a->p.key;
}

/* Removes the issuer's registration (SPC-4 5.13.10.3). Unregistering
 * the holder of a Registrants Only reservation releases it, which every
 * other registrant learns. */
static void unregister(struct pr_action *a, unsigned i)
{
	struct pr_state *st = &a->st;
	bool released = st->regs[i].holder &&
			(st->type == PR_TYPE_WERO || st->type == PR_TYPE_EARO);

	pr_remove(st, i);
	if (released)
		pr_effect_registrants(&a->fx, st, a->nexus,
				      ASC_RESERVATIONS_RELEASED);
}

/* SPEC_I_PT: registers every port a TransportID names, with the same
 * key; one that cannot be registered fails the whole command. */
static enum pr_outcome register_specified(struct pr_action *a)
{
	const struct prout *p = &a->p;
	struct pr_port port;
	uint32_t off = 0;
	unsigned n;

	while (off < p->tids_len) {
		n = pr_tid_parse(p->tids + off, p->tids_len - off, &port);
		if (!n || pr_find_port(&a->st, &port) >= 0)
			return bad_param(a, p->tids_offset + off, -1);
		if (!pr_add(&a->st, &port, p->sark, p->all_tg_pt))
			return no_resources(a);
		off += n;
	}
	return PR_CHANGED;
}

/* REGISTER and REGISTER AND IGNORE EXISTING KEY (SPC-4 5.13.7). */
static enum pr_outcome do_register(struct pr_action *a, bool ignore_key)
{
	const struct prout *p = &a->p;
	enum pr_outcome res = PR_CHANGED;
	struct pr_port own;

	if (a->me < 0) {
		if (!ignore_key && p->key != 0)
			return PR_CONFLICT;
		if (p->sark == 0)
			return PR_UNCHANGED;
		pr_port_of(a->nexus, &own);
		if (!pr_add(&a->st, &own, p->sark, p->all_tg_pt))
			return no_resources(a);
		if (p->spec_i_pt)
			res = register_specified(a);
	} else {
		if (!ignore_key && !key_ok(a))
			return PR_CONFLICT;
		if (p->spec_i_pt)
			return bad_param(a, 20, 3);
		if (p->sark == 0)
			unregister(a, (unsigned)a->me);
		else
			a->st.regs[a->me].key = p->sark;
	}
	a->st.generation++;
	a->st.aptpl = p->aptpl;
	return res;
}

/* RESERVE (SPC-4 5.13.9). */
static enum pr_outcome do_reserve(struct pr_action *a)
{
	struct pr_state *st = &a->st;

	if (!key_ok(a))
		return PR_CONFLICT;
	if (st->type != PR_TYPE_NONE) {
		if (!pr_is_holder(st, (unsigned)a->me) || st->type != a->p.type)
			return PR_CONFLICT;
		return PR_UNCHANGED;
	}
	st->type = a->p.type;
	if (!pr_all_registrants(st->type))
		st->regs[a->me].holder = true;
	return PR_CHANGED;
}

/* RELEASE (SPC-4 5.13.11.2.2). */
static enum pr_outcome do_release(struct pr_action *a)
{
	struct pr_state *st = &a->st;
	uint8_t type = st->type;

	if (!key_ok(a))
		return PR_CONFLICT;
	if (type == PR_TYPE_NONE || !pr_is_holder(st, (unsigned)a->me))
		return PR_UNCHANGED;
	if (a->p.type != type) {
		scsi_set_sense(a->cmd, SK_ILLEGAL_REQUEST,
			       ASC_INVALID_RELEASE_OF_PR);
		return PR_FAILED;
	}
	pr_release(st);
	/* Registrants Only and All Registrants reservations tell the
	 * other registrants when they end. */
	if (pr_registrants_type(type))
		pr_effect_registrants(&a->fx, st, a->nexus,
				      ASC_RESERVATIONS_RELEASED);
	return PR_CHANGED;
}

/* CLEAR (SPC-4 5.13.11.2.6). */
static enum pr_outcome do_clear(struct pr_action *a)
{
	struct pr_state *st = &a->st;

	if (!key_ok(a))
		return PR_CONFLICT;
	pr_effect_registrants(&a->fx, st, a->nexus,
			      ASC_RESERVATIONS_PREEMPTED);
	while (st->nr)
		pr_remove(st, st->nr - 1);
	st->generation++;
	return PR_CHANGED;
}

/* Removes the registrations with key (all but the issuer's when key is
 * zero and all is set); their nexuses learn REGISTRATIONS PREEMPTED.
 * Returns how many went. */
static unsigned preempt_regs(struct pr_action *a, uint64_t key, bool all)
{
	struct pr_state *st = &a->st;
	struct pr_port own = st->regs[a->me].port;
	unsigned removed = 0;

	for (unsigned i = st->nr; i-- > 0;) {
		if ((!all && st->regs[i].key != key) ||
		    pr_port_equal(&st->regs[i].port, &own))
			continue;
		pr_effect(&a->fx, &st->regs[i].port,
			  ASC_REGISTRATIONS_PREEMPTED);
		pr_remove(st, i);
		removed++;
	}
	a->me = pr_find_port(st, &own);
	return removed;
}

/* The issuer takes the reservation with the PREEMPT's type; if the type
 * changed, the remaining registrants are told it was released. */
static void take_over(struct pr_action *a, uint8_t old_type)
{
	struct pr_state *st = &a->st;

	pr_release(st);
	st->type = a->p.type;
	if (!pr_all_registrants(st->type))
		st->regs[a->me].holder = true;
	if (old_type != st->type)
		pr_effect_registrants(&a->fx, st, a->nexus,
				      ASC_RESERVATIONS_RELEASED);
}

static uint64_t holder_key(const struct pr_state *st)
{
	for (unsigned i = 0; i < st->nr; i++)
		if (st->regs[i].holder)
			return st->regs[i].key;
	return 0;
}

/* PREEMPT and PREEMPT AND ABORT (SPC-4 5.13.11.4). */
static enum pr_outcome do_preempt(struct pr_action *a)
{
	struct pr_state *st = &a->st;
	uint64_t sark = a->p.sark;
	uint8_t old_type = st->type;

	if (!key_ok(a))
		return PR_CONFLICT;
	if (old_type != PR_TYPE_NONE && pr_all_registrants(old_type) &&
	    sark == 0) {
		preempt_regs(a, 0, true);
		take_over(a, old_type);
	} else if (old_type != PR_TYPE_NONE &&
		   !pr_all_registrants(old_type) && sark == holder_key(st)) {
		preempt_regs(a, sark, false);
		take_over(a, old_type);
	} else if (sark == 0) {
		/* Zero names no registration to preempt. */
		return bad_param(a, 8, -1);
	} else if (!preempt_regs(a, sark, false)) {
		return PR_CONFLICT;
	}
	st->generation++;
	return PR_CHANGED;
}

/* The destination of REGISTER AND MOVE must be another initiator port
 * behind our only target port. */
static enum pr_outcome move_destination(struct pr_action *a,
					struct pr_port *port)
{
	const struct prout *p = &a->p;

	if (!pr_tid_parse(p->tids, p->tids_len, port))
		return bad_param(a, p->tids_offset, -1);
	if (p->rel_port != 1)
		return bad_param(a, 18, -1);
	if (pr_port_matches(port, a->nexus))
		return bad_param(a, p->tids_offset, -1);
	if (p->sark == 0)
		return bad_param(a, 8, -1);
	return PR_CHANGED;
}

/* REGISTER AND MOVE (SPC-4 5.13.8): the holder hands its reservation,
 * same type, to another port, registering it with the SERVICE ACTION
 * RESERVATION KEY unless it is registered already. */
static enum pr_outcome do_register_move(struct pr_action *a)
{
	struct pr_state *st = &a->st;
	enum pr_outcome res;
	struct pr_port dest;
	uint8_t type = st->type;
	int d;

	if (!key_ok(a))
		return PR_CONFLICT;
	if (!pr_is_holder(st, (unsigned)a->me) || pr_all_registrants(type))
		return PR_CONFLICT;
	res = move_destination(a, &dest);
	if (res != PR_CHANGED)
		return res;
	d = pr_find_port(st, &dest);
	if (d < 0) {
		if (!pr_add(st, &dest, a->p.sark, false))
			return no_resources(a);
		d = (int)st->nr - 1;
	}
	pr_release(st);
	st->type = type;
	st->regs[d].holder = true;
	if (a->p.unreg)
		pr_remove(st, (unsigned)a->me);
	st->generation++;
	st->aptpl = a->p.aptpl;
	return PR_CHANGED;
}

static enum pr_outcome run_action(struct pr_action *a)
{
	/* Everything but registering needs a registered issuer. */
	if (a->me < 0 && !is_register(a->p.sa))
		return PR_CONFLICT;
	switch (a->p.sa) {
	case PROUT_REGISTER:
		return do_register(a, false);
	case PROUT_REGISTER_IGNORE:
		return do_register(a, true);
	case PROUT_RESERVE:
		return do_reserve(a);
	case PROUT_RELEASE:
		return do_release(a);
	case PROUT_CLEAR:
		return do_clear(a);
	case PROUT_PREEMPT:
	case PROUT_PREEMPT_ABORT:
		return do_preempt(a);
	default:
		return do_register_move(a);
	}
}

/* Running one command ------------------------------------------------ */

static void action_free(struct pr_action *a)
{
	if (!a)
		return;
	pr_state_clear(&a->st);
	free(a->fx.ua);
	free(a);
}

/* Puts the new state in place and tells the other nexuses. */
static void commit(struct pr_action *a)
{
	struct scsi_lu *lu = a->cmd->lu;

	pr_state_clear(&lu->pr->st);
	lu->pr->st = a->st;
	memset(&a->st, 0, sizeof(a->st));
	pr_effects_deliver(lu, a->nexus, &a->fx);
}

/* A state that cannot be made durable is not put in place: the command
 * fails and the LU keeps the state it had (pr_file_save leaves the old
 * file unless the rename was done). */
static void save_failed(struct pr_action *a, int err)
{
	log_error("%s: cannot save reservations: %s", a->cmd->lu->pr->path,
		  strerror(-err));
	scsi_set_sense(a->cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
}

static void run_parked(struct scsi_lu *lu);

/* On the command's loop: the save is over, the state goes in place (or
 * not), the command ends and the next parked one may run. */
static void saved(struct pr_save_job *job)
{
	struct pr_action *a = container_of(job, struct pr_action, save);
	struct scsi_cmd *cmd = a->cmd;
	struct scsi_lu *lu = cmd->lu;

	if (job->result < 0)
		save_failed(a, job->result);
	else
		commit(a);
	action_free(a);
	lu->pr->saving = false;
	scsi_cmd_finish(cmd);
	run_parked(lu);
	lu->inflight--;
}

/* The new state must be durable before it is in place when APTPL is (or
 * was) in force. The save runs on the LU's worker; the command waits,
 * holding the LU. */
static enum scsi_result save(struct pr_action *a)
{
	struct scsi_cmd *cmd = a->cmd;
	struct scsi_pr *pr = cmd->lu->pr;
	int ret;

	a->save.path = pr->path;
	a->save.st = &a->st;
	a->save.loop = cmd->loop;
	a->save.done = saved;
	ret = pr_save_submit(cmd->lu, &a->save);
	if (ret < 0) {
		save_failed(a, ret);
		action_free(a);
		return SCSI_DONE;
	}
	pr->saving = true;
	cmd->lu->inflight++;
	return SCSI_ASYNC;
}

static bool must_save(const struct scsi_pr *pr, const struct pr_state *st)
{
	return pr->path && (st->aptpl || pr->st.aptpl);
}

/* Applies the command to a copy of the state; a change is saved (if
 * APTPL asks for it) and only then put in place. */
static enum scsi_result execute(struct scsi_cmd *cmd)
{
	struct scsi_pr *pr = cmd->lu->pr;
	struct pr_action *a;
	enum pr_outcome res;
	struct prout p;

	if (!decode(cmd, &p) || !fields_valid(cmd, &p, pr->path != NULL))
		return SCSI_DONE;
	a = calloc(1, sizeof(*a));
	if (!a || pr_state_copy(&a->st, &pr->st) < 0) {
		cmd->status = SAM_STAT_BUSY;
		action_free(a);
		return SCSI_DONE;
	}
	a->cmd = cmd;
	a->nexus = cmd->nexus;
	a->p = p;
	a->me = pr_find(&a->st, a->nexus);
	res = run_action(a);
	if (res == PR_CONFLICT)
		cmd->status = SAM_STAT_RESERVATION_CONFLICT;
	if (res == PR_CHANGED && must_save(pr, &a->st))
		return save(a);
	if (res == PR_CHANGED)
		commit(a);
	action_free(a);
	return SCSI_DONE;
}

/* Commands parked behind a save, in arrival order, each against the
 * state the previous ones left, until one starts a save again. */
static void run_parked(struct scsi_lu *lu)
{
	struct scsi_pr *pr = lu->pr;
	struct scsi_cmd *cmd;

	while (!pr->saving && !list_empty(&pr->parked)) {
		cmd = list_first_entry(&pr->parked, struct scsi_cmd, io.node);
		list_del(&cmd->io.node);
		lu->inflight--;
		if (execute(cmd) == SCSI_DONE)
			scsi_cmd_finish(cmd);
	}
}

enum scsi_result spc_pr_out(struct scsi_cmd *cmd)
{
	struct scsi_pr *pr = cmd->lu->pr;

	/* Behind a save, a command would see the state before it: it
	 * waits its turn, holding the LU like a command at the store. */
	if (pr->saving || !list_empty(&pr->parked)) {
		list_add_tail(&cmd->io.node, &pr->parked);
		cmd->lu->inflight++;
		return SCSI_ASYNC;
	}
	return execute(cmd);
}
