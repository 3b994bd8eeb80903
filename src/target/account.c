/* CHAP accounts and their bindings to targets and to discovery, with tgt's
 * observable rules (spec §2.8): one global list (newest first), incoming
 * bindings in slots (an unbind leaves a hole the next bind fills, which
 * decides the order `show` prints), at most one outgoing account per
 * target.
 *
 * Main thread only: management changes accounts and logins read them, and
 * both run on the main thread (DESIGN.md), so nothing here is locked. */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "target/registry.h"
#include "target/target.h"

/* tgt starts a target with 16 incoming slots and doubles when full. */
#define ACCOUNT_SLOTS_INITIAL 16

struct list_node *account_list(void)
{
	return registry_accounts();
}

static struct account *account_find(const char *user)
{
	struct account *ac;

	list_for_each_entry(ac, account_list(), node)
		if (!strcmp(ac->user, user))
			return ac;
	return NULL;
}

static void account_free(struct account *ac)
{
	free(ac->user);
	free(ac->password);
	free(ac);
}

/* Accepted, but worth a word: Microsoft's initiator refuses CHAP secrets
 * outside 12 to 16 bytes, and short secrets make CHAP easy to crack from
 * a captured login. */
#define SECRET_LEN_MIN 12
#define SECRET_LEN_WINDOWS_MAX 16

static void warn_secret_length(const char *user, size_t len)
{
	if (len < SECRET_LEN_MIN)
		log_info("warning: account %s: a CHAP secret of %zu characters "
			 "is weak, and Windows initiators need 12 to 16",
			 user, len);
	else if (len > SECRET_LEN_WINDOWS_MAX)
		log_info("warning: account %s: a CHAP secret of %zu characters "
			 "does not work with Windows initiators (12 to 16)",
			 user, len);
}

enum tgtadm_err account_add(const char *user, const char *password)
{
	struct account *ac;

	if (account_find(user))
		return TGTADM_USER_EXIST;
	ac = calloc(1, sizeof(*ac));
	if (!ac)
		return TGTADM_NOMEM;
	ac->user = strdup(user);
	ac->password = strdup(password);
	if (!ac->user || !ac->password) {
		account_free(ac);
		return TGTADM_NOMEM;
	}
	list_add_head(&ac->node, account_list());
	warn_secret_length(user, strlen(password));
	return TGTADM_SUCCESS;
}

struct account_binds *account_binds_of(int tid)
{
	struct target *t;

	if (tid == TARGET_DISCOVERY_TID)
		return registry_discovery_binds();
	t = target_find(tid);
	return t ? &t->accounts : NULL;
}

static int slot_of(const struct account_binds *b, const struct account *ac)
{
	for (unsigned i = 0; i < b->nr_slots; i++)
		if (b->in[i] == ac)
			return (int)i;
	return -1;
}

/* A free slot, growing the array when every slot is taken. */
static int free_slot(struct account_binds *b)
{
	unsigned n = b->nr_slots ? b->nr_slots * 2 : ACCOUNT_SLOTS_INITIAL;
	struct account **in;
	int i = slot_of(b, NULL);

	if (i >= 0)
		return i;
	in = realloc(b->in, n * sizeof(*in));
	if (!in)
		return -1;
	memset(in + b->nr_slots, 0, (n - b->nr_slots) * sizeof(*in));
	i = (int)b->nr_slots;
	b->in = in;
	b->nr_slots = n;
	return i;
}

static enum tgtadm_err bind_incoming(struct account_binds *b,
				     struct account *ac)
{
	int i;

	if (slot_of(b, ac) >= 0)
		return TGTADM_USER_EXIST;
	i = free_slot(b);
	if (i < 0)
		return TGTADM_NOMEM;
	b->in[i] = ac;
	b->nr_in++;
	return TGTADM_SUCCESS;
}

static enum tgtadm_err unbind(struct account_binds *b, bool outgoing,
			      struct account *ac)
{
	int i;

	if (outgoing) {
		if (b->out != ac)
			return TGTADM_NO_USER;
		b->out = NULL;
		return TGTADM_SUCCESS;
	}
	i = slot_of(b, ac);
	if (i < 0)
		return TGTADM_NO_USER;
	b->in[i] = NULL;
	b->nr_in--;
	return TGTADM_SUCCESS;
}

/* The binding list of tid and the named account, or tgt's error. */
static enum tgtadm_err lookup_binding(int tid, const char *user,
				      struct account_binds **b,
				      struct account **ac)
{
	*b = account_binds_of(tid);
	if (!*b)
		return TGTADM_NO_TARGET;
	*ac = account_find(user);
	return *ac ? TGTADM_SUCCESS : TGTADM_NO_USER;
}

enum tgtadm_err account_bind(int tid, bool outgoing, const char *user)
{
	struct account_binds *b;
	struct account *ac;
	enum tgtadm_err err = lookup_binding(tid, user, &b, &ac);

	if (err)
		return err;
	if (!outgoing)
		return bind_incoming(b, ac);
	if (b->out)
		return TGTADM_OUTACCOUNT_EXIST;
	b->out = ac;
	return TGTADM_SUCCESS;
}

enum tgtadm_err account_unbind(int tid, bool outgoing, const char *user)
{
	struct account_binds *b;
	struct account *ac;
	enum tgtadm_err err = lookup_binding(tid, user, &b, &ac);

	return err ? err : unbind(b, outgoing, ac);
}

enum tgtadm_err account_del(const char *user)
{
	struct account *ac = account_find(user);
	struct target *t;

	if (!ac)
		return TGTADM_NO_USER;
	/* No binding may outlive its account: a login would read it. */
	list_for_each_entry(t, target_list(), node) {
		unbind(&t->accounts, false, ac);
		unbind(&t->accounts, true, ac);
	}
	unbind(registry_discovery_binds(), false, ac);
	unbind(registry_discovery_binds(), true, ac);
	list_del(&ac->node);
	account_free(ac);
	return TGTADM_SUCCESS;
}

const struct account *account_find_incoming(const struct account_binds *b,
					    const char *user)
{
	for (unsigned i = 0; i < b->nr_slots; i++)
		if (b->in[i] && !strcmp(b->in[i]->user, user))
			return b->in[i];
	return NULL;
}

void account_binds_free(struct account_binds *b)
{
	free(b->in);
	memset(b, 0, sizeof(*b));
}

void account_free_all(void)
{
	struct account *ac, *tmp;

	account_binds_free(registry_discovery_binds());
	list_for_each_entry_safe(ac, tmp, account_list(), node) {
		list_del(&ac->node);
		account_free(ac);
	}
}
