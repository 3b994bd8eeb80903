/* Creating what targets.conf describes: global settings, targets, their
 * LUNs, parameters, access rules and accounts, in the order Debian's
 * tgt-admin sends them (spec tgt-compat.md §5.2-5.6). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/admin.h"
#include "tools/device_use.h"
#include "tools/scsi_probe.h"

/* `write-cache off`: mode page 8 (caching) with WCE cleared. */
#define WRITE_CACHE_OFF_PAGE                                              \
	"mode_page=8:0:18:0x10:0:0xff:0xff:0:0:0xff:0xff:0xff:0xff:0x80:0x14:" \
	"0:0:0:0:0:0"

static void no_memory(struct admin *a)
{
	fputs("tgt-admin: out of memory\n", stderr);
	admin_abort(a, ENOMEM);
}

/* ---- accounts ---- */

/* Creates an account unless tgtd has it already (its password is then
 * left as it is, as tgt-admin does). */
static void ensure_account(struct admin *a, const struct conf_account *acc,
			   const char *lld)
{
	struct mgmt_request req;

	if (str_list_contains(&a->state.accounts, acc->user))
		return;
	mgmt_request_init(&req, MODE_ACCOUNT, OP_NEW);
	if (lld)
		mgmt_request_set_lld(&req, lld);
	req.user = acc->user;
	req.password = acc->password;
	admin_request(a, &req, acc->node);
	if (str_list_add(&a->state.accounts, acc->user))
		no_memory(a);
}

/* tid -1: the discovery (global) binding. */
static void bind_account(struct admin *a, const struct conf_account *acc,
			 const char *lld, int tid, bool outgoing)
{
	struct mgmt_request req;

	ensure_account(a, acc, lld);
	mgmt_request_init(&req, MODE_ACCOUNT, OP_BIND);
	if (lld)
		mgmt_request_set_lld(&req, lld);
	req.tid = tid;
	req.user = acc->user;
	req.ac_dir = outgoing ? ACCOUNT_TYPE_OUTGOING : ACCOUNT_TYPE_INCOMING;
	admin_request(a, &req, acc->node);
}

/* ---- global settings ---- */

static void sys_update(struct admin *a, const struct conf_node *n)
{
	struct mgmt_request req;

	mgmt_request_init(&req, MODE_SYSTEM, OP_UPDATE);
	req.name = n->key;
	req.value = n->value;
	admin_request(a, &req, n);
}

/* A discovery account is bound once; tgt-admin would bind it again on
 * every run and fail. */
static void bind_discovery(struct admin *a, const struct conf_account *acc,
			   bool outgoing)
{
	const struct tgtd_state *st = &a->state;

	if (!acc->node)
		return;
	if (outgoing ? st->discovery_outgoing &&
			       !strcmp(st->discovery_outgoing, acc->user)
		     : str_list_contains(&st->discovery_incoming, acc->user))
		admin_comment(a, "Account %s is already bound to discovery",
			      acc->user);
	else
		bind_account(a, acc, NULL, -1, outgoing);
}

void admin_add_globals(struct admin *a)
{
	const struct targets_conf *conf = a->conf;
	const struct conf_node *isns_on = NULL;
	bool enabled = a->state.isns && !strcmp(a->state.isns, "On");

	/* The iSNS keys are left alone while iSNS runs; "iSNS" itself
	 * comes last, after the discovery accounts. */
	for (size_t i = 0; i < conf->isns.count; i++) {
		const struct conf_node *n = conf->isns.items[i];

		if (!strcmp(n->key, "iSNS"))
			isns_on = n;
		else if (!enabled)
			sys_update(a, n);
	}
	bind_discovery(a, &conf->incoming_discovery, false);
	bind_discovery(a, &conf->outgoing_discovery, true);
	if (isns_on && enabled)
		admin_comment(a, "iSNS already enabled");
	else if (isns_on)
		sys_update(a, isns_on);
	if (!conf->default_driver)
		admin_comment(a, "default-driver not defined, defaulting to "
			      "iscsi.");
}

/* ---- logical units ---- */

/* LUN numbers given to stores of one target so far. */
struct lun_numbers {
	uint64_t *used;
	size_t count;
};

static bool lun_taken(const struct conf_target *t,
		      const struct lun_numbers *given, uint64_t lun)
{
	for (size_t i = 0; i < t->nr_stores; i++)
		if (t->stores[i].lun_given && t->stores[i].lun == lun)
			return true;
	for (size_t i = 0; i < given->count; i++)
		if (given->used[i] == lun)
			return true;
	return false;
}

/* A store's LUN: its own, or the smallest number from 1 that no store
 * of the target claims and none has been given (tgt-admin's rule; a
 * skipped store gets none, so the next one takes its number). */
static uint64_t number_store(struct admin *a, const struct conf_target *t,
			     const struct conf_store *s,
			     struct lun_numbers *given)
{
	uint64_t lun = s->lun;
	uint64_t *grown;

	if (!s->lun_given)
		for (lun = 1; lun_taken(t, given, lun); lun++)
			;
	grown = realloc(given->used, (given->count + 1) * sizeof(*grown));
	if (!grown)
		no_memory(a);
	given->used = grown;
	given->used[given->count++] = lun;
	return lun;
}

static bool is_network_store(const struct conf_node *bs_type)
{
	return bs_type && (strstr(bs_type->value, "rbd") ||
			   strstr(bs_type->value, "glfs"));
}

static bool setting_is(const struct conf_node *n, const char *value)
{
	return n && !strcmp(n->value, value);
}

/* Whether a store can become a LUN: it exists (unless it lives on the
 * network) and nobody uses it (unless -f or allow-in-use). */
static bool store_usable(struct admin *a, const struct conf_target *t,
			 const struct conf_store *s)
{
	const char *path = s->node->value;
	const struct conf_node *bs_type = CONF_STORE_SETTING(t, s, bs_type);
	bool network = is_network_store(bs_type);
	enum device_use use = DEVICE_FREE;
	struct stat st;

	if (!a->force && !network &&
	    !setting_is(CONF_STORE_SETTING(t, s, allow_in_use), "yes"))
		use = device_use(path);
	if (use == DEVICE_HELD_BY_SYSTEM)
		admin_comment(a, "Device %s is used by the system (mounted, "
			      "used by swap?).", path);
	if (use == DEVICE_OPEN) {
		admin_comment(a, "Device %s is used (already tgtd target?).",
			      path);
		admin_comment(a, "Run 'lsof %s' to see the details.", path);
	}
	if (use != DEVICE_FREE) {
		admin_warn(a, s->node, "Skipping device %s - it is in use.",
			   path);
		admin_comment(a, "You can override it with --force or "
			      "'allow-in-use yes' config option.");
		admin_comment(a, "Note - do so only if you know what you're "
			      "doing, you may damage your data.");
		return false;
	}
	if (network || (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)))
		return true;
	admin_warn(a, s->node, "Skipping device: %s", path);
	admin_comment(a, "%s does not exist - please check the configuration "
		      "file", path);
	return false;
}

/* Where a LUN goes and what a direct-store device said about itself. */
struct lun_target {
	const struct conf_target *t;
	const struct conf_store *s;
	int tid;
	uint64_t lun;
	const char *driver;
	struct scsi_probe probe;
};

static void create_lun(struct admin *a, const struct lun_target *l)
{
	const struct conf_node *type = CONF_STORE_SETTING(l->t, l->s,
							  device_type);
	const struct conf_node *n;
	struct mgmt_request req;
	char block_size[16];

	mgmt_request_init(&req, MODE_DEVICE, OP_NEW);
	mgmt_request_set_lld(&req, l->driver);
	req.tid = l->tid;
	req.lun = l->lun;
	req.path = l->s->node->value;
	if (type)
		req.device_type = mgmt_device_type_from_name(type->value);
	if ((n = CONF_STORE_SETTING(l->t, l->s, bs_type)))
		req.bstype = n->value;
	if ((n = CONF_STORE_SETTING(l->t, l->s, bsopts)))
		req.bsopts = n->value;
	if ((n = CONF_STORE_SETTING(l->t, l->s, bsoflags)))
		req.bsoflags = n->value;
	if ((n = CONF_STORE_SETTING(l->t, l->s, block_size))) {
		req.blocksize = n->value;
	} else if (l->probe.has_capacity && l->probe.block_length) {
		snprintf(block_size, sizeof(block_size), "%u",
			 l->probe.block_length);
		req.blocksize = block_size;
	}
	admin_request(a, &req, l->s->node);
}

/* One `--op update --mode logicalunit --params <params>`. */
static void update_lun(struct admin *a, const struct lun_target *l,
		       const char *params, const struct conf_node *origin)
{
	struct mgmt_request req;

	mgmt_request_init(&req, MODE_DEVICE, OP_UPDATE);
	mgmt_request_set_lld(&req, l->driver);
	req.tid = l->tid;
	req.lun = l->lun;
	req.target_params = params;
	admin_request(a, &req, origin);
}

static void update_lun_param(struct admin *a, const struct lun_target *l,
			     const char *key, const char *value,
			     const struct conf_node *origin)
{
	char *params;

	if (asprintf(&params, "%s=%s", key, value) < 0)
		no_memory(a);
	update_lun(a, l, params, origin);
	free(params);
}

/* What a direct-store device tells about a parameter, or NULL. */
static const char *probed_param(const struct scsi_probe *p, enum lu_param k,
				char *buf, size_t size)
{
	const char *text = NULL;

	switch (k) {
	case LU_VENDOR_ID: text = p->vendor; break;
	case LU_PRODUCT_ID: text = p->product; break;
	case LU_PRODUCT_REV: text = p->revision; break;
	case LU_SCSI_SN: text = p->serial; break;
	case LU_OPTIMAL_XFER_GRAN:
	case LU_OPTIMAL_XFER_LEN:
		if (!p->has_limits)
			return NULL;
		snprintf(buf, size, "%u", k == LU_OPTIMAL_XFER_GRAN
					  ? p->optimal_xfer_gran
					  : p->optimal_xfer_len);
		return buf;
	case LU_LBPPBE:
	case LU_LA_LBA:
		if (!p->has_capacity)
			return NULL;
		snprintf(buf, size, "%u", k == LU_LBPPBE
					  ? p->lbppbe : p->lowest_aligned_lba);
		return buf;
	default:
		return NULL;
	}
	/* tgtd would split a value at a comma */
	return text && *text && !strchr(text, ',') ? text : NULL;
}

static void send_list(struct admin *a, const struct lun_target *l,
		      const struct node_list *list, const char *key)
{
	for (size_t i = 0; i < list->count; i++) {
		const struct conf_node *n = list->items[i];

		if (key)
			update_lun_param(a, l, key, n->value, n);
		else
			update_lun(a, l, n->value, n);
	}
}

/* The LUN's parameters: mode pages first, then the others, then the
 * `params` lists, as tgt-admin orders them. */
static void set_lun_params(struct admin *a, const struct lun_target *l)
{
	const struct conf_node *wc = CONF_STORE_SETTING(l->t, l->s,
							write_cache);
	char number[16];

	if (setting_is(wc, "off"))
		update_lun(a, l, WRITE_CACHE_OFF_PAGE, wc);
	else
		admin_comment(a, "Write cache is enabled (default) for lun "
			      "%llu.", (unsigned long long)l->lun);
	send_list(a, l, &l->s->set.mode_pages, "mode_page");
	send_list(a, l, &l->t->defaults.mode_pages, "mode_page");
	for (int p = 0; p < LU_PARAM_COUNT; p++) {
		const struct conf_node *n = conf_store_param(l->t, l->s, p);
		const char *v = n ? n->value
				  : probed_param(&l->probe, p, number,
						 sizeof(number));

		if (v)
			update_lun_param(a, l, lu_param_name(p), v,
					 n ? n : l->s->node);
	}
	send_list(a, l, &l->s->set.params, NULL);
	send_list(a, l, &l->t->defaults.params, NULL);
}

static void add_store(struct admin *a, const struct conf_target *t,
		      const struct conf_store *s, int tid,
		      struct lun_numbers *given)
{
	struct lun_target l = { .t = t, .s = s, .tid = tid };

	if (!store_usable(a, t, s))
		return;
	l.lun = number_store(a, t, s, given);
	l.driver = conf_target_driver(a->conf, t);
	if (s->direct)
		scsi_probe(s->node->value, &l.probe);
	create_lun(a, &l);
	set_lun_params(a, &l);
}

/* ---- targets ---- */

static void update_target(struct admin *a, const char *driver, int tid,
			  const struct conf_node *n)
{
	struct mgmt_request req;

	mgmt_request_init(&req, MODE_TARGET, OP_UPDATE);
	mgmt_request_set_lld(&req, driver);
	req.tid = tid;
	req.name = n->key;
	req.value = n->value;
	admin_request(a, &req, n);
}

static void bind_initiators(struct admin *a, const char *driver, int tid,
			    const struct node_list *list, bool by_name)
{
	for (size_t i = 0; i < list->count; i++) {
		struct mgmt_request req;

		mgmt_request_init(&req, MODE_TARGET, OP_BIND);
		mgmt_request_set_lld(&req, driver);
		req.tid = tid;
		if (by_name)
			req.initiator_name = list->items[i]->value;
		else
			req.initiator_address = list->items[i]->value;
		admin_request(a, &req, list->items[i]);
	}
}

/* tgt-admin handles a target's directives in the ASCII order of their
 * names (iSCSI parameters, capitalised, first; then backing-store,
 * direct-store, incominguser, initiator-address, initiator-name,
 * outgoinguser, state); the requests keep that order. */
enum step_kind { STEP_PARAM, STEP_BACKING, STEP_DIRECT, STEP_INCOMING,
		 STEP_ADDRESSES, STEP_NAMES, STEP_OUTGOING };

struct step {
	const char *key;
	enum step_kind kind;
	const struct conf_node *param;
};

static int compare_steps(const void *a, const void *b)
{
	return strcmp(((const struct step *)a)->key,
		      ((const struct step *)b)->key);
}

/* The steps a target needs, sorted. Returns their number. */
static size_t plan_steps(const struct conf_target *t, struct step *steps)
{
	size_t n = 0;
	bool has_backing = false, has_direct = false;

	for (size_t i = 0; i < t->target_params.count; i++)
		steps[n++] = (struct step){ t->target_params.items[i]->key,
					    STEP_PARAM,
					    t->target_params.items[i] };
	for (size_t i = 0; i < t->nr_stores; i++) {
		has_direct |= t->stores[i].direct;
		has_backing |= !t->stores[i].direct;
	}
	if (has_backing)
		steps[n++] = (struct step){ "backing-store", STEP_BACKING, 0 };
	if (has_direct)
		steps[n++] = (struct step){ "direct-store", STEP_DIRECT, 0 };
	if (t->nr_incoming)
		steps[n++] = (struct step){ "incominguser", STEP_INCOMING, 0 };
	if (t->initiator_addresses.count)
		steps[n++] = (struct step){ "initiator-address",
					    STEP_ADDRESSES, 0 };
	if (t->initiator_names.count)
		steps[n++] = (struct step){ "initiator-name", STEP_NAMES, 0 };
	if (t->outgoing.node)
		steps[n++] = (struct step){ "outgoinguser", STEP_OUTGOING, 0 };
	qsort(steps, n, sizeof(*steps), compare_steps);
	return n;
}

/* Everything one step of a target sends. */
static void run_step(struct admin *a, const struct conf_target *t, int tid,
		     const struct step *st, struct lun_numbers *given)
{
	const char *driver = conf_target_driver(a->conf, t);

	switch (st->kind) {
	case STEP_PARAM:
		update_target(a, driver, tid, st->param);
		break;
	case STEP_BACKING:
	case STEP_DIRECT:
		for (size_t i = 0; i < t->nr_stores; i++)
			if (t->stores[i].direct == (st->kind == STEP_DIRECT))
				add_store(a, t, &t->stores[i], tid, given);
		break;
	case STEP_INCOMING:
		for (size_t i = 0; i < t->nr_incoming; i++)
			bind_account(a, &t->incoming[i], driver, tid, false);
		break;
	case STEP_ADDRESSES:
	case STEP_NAMES:
		if (st->kind == STEP_NAMES)
			bind_initiators(a, driver, tid, &t->initiator_names,
					true);
		else
			bind_initiators(a, driver, tid,
					&t->initiator_addresses, false);
		break;
	case STEP_OUTGOING:
		bind_account(a, &t->outgoing, driver, tid, true);
		break;
	}
}

void admin_add_target(struct admin *a, const struct conf_target *t, int tid)
{
	const char *driver = conf_target_driver(a->conf, t);
	struct step *steps = calloc(t->target_params.count + 6,
				    sizeof(*steps));
	struct lun_numbers given = { NULL, 0 };
	struct mgmt_request req;
	size_t n;

	if (!steps)
		no_memory(a);
	admin_comment(a, "Adding target: %s", t->node->value);
	mgmt_request_init(&req, MODE_TARGET, OP_NEW);
	mgmt_request_set_lld(&req, driver);
	req.tid = tid;
	req.targetname = t->node->value;
	admin_request(a, &req, t->node);
	n = plan_steps(t, steps);
	for (size_t i = 0; i < n; i++)
		run_step(a, t, tid, &steps[i], &given);
	free(steps);
	free(given.used);
	/* Without an address rule everyone may log in: tgt-admin binds
	 * ALL even when initiator-name rules exist. */
	if (!t->initiator_addresses.count) {
		mgmt_request_init(&req, MODE_TARGET, OP_BIND);
		mgmt_request_set_lld(&req, driver);
		req.tid = tid;
		req.initiator_address = "ALL";
		admin_request(a, &req, t->node);
	}
	if (a->verbose || a->pretend)
		putchar('\n');
}

/* ---- --execute ---- */

/* A tid taken by tgtd or promised by a controller_tid. */
static bool tid_taken(const struct admin *a, int tid)
{
	if (tgtd_state_find_tid(&a->state, tid))
		return true;
	for (size_t i = 0; i < a->conf->nr_targets; i++)
		if (a->conf->targets[i].tid == tid)
			return true;
	return false;
}

int admin_choose_tid(struct admin *a, const struct conf_target *t)
{
	int tid = t->tid;

	if (!tid)
		for (tid = a->next_tid + 1; tid_taken(a, tid); tid++)
			;
	a->next_tid = tid;
	return tid;
}

/* A controller_tid that tgtd gives another target already: found before
 * anything is sent. */
void admin_check_controller_tid(struct admin *a, const struct conf_target *t)
{
	const struct state_target *other =
		t->tid ? tgtd_state_find_tid(&a->state, t->tid) : NULL;

	if (!other || !strcmp(other->name, t->node->value))
		return;
	fprintf(stderr, "tgt-admin: %s:%u: directive 'controller_tid': tid %d "
		"is target %s in tgtd\n", t->controller_tid->loc.file,
		t->controller_tid->loc.line, t->tid, other->name);
	admin_abort(a, 1);
}

/* Before anything is sent: the targets to create can have their tids. */
static void check_controller_tids(struct admin *a)
{
	for (size_t i = 0; i < a->conf->nr_targets; i++) {
		const struct conf_target *t = &a->conf->targets[i];

		if (!tgtd_state_find(&a->state, t->node->value))
			admin_check_controller_tid(a, t);
	}
}

void admin_execute(struct admin *a)
{
	const struct targets_conf *conf = a->conf;

	admin_read_state(a);
	check_controller_tids(a);
	admin_add_globals(a);
	a->next_tid = tgtd_state_max_tid(&a->state);
	for (size_t i = 0; i < conf->nr_targets; i++) {
		const struct conf_target *t = &conf->targets[i];

		if (tgtd_state_find(&a->state, t->node->value))
			admin_comment(a, "Target %s already exists!",
				      t->node->value);
		else
			admin_add_target(a, t, admin_choose_tid(a, t));
	}
	if (!conf->nr_targets)
		return;
	/* Targets tgtd has that the configuration does not. */
	admin_read_state(a);
	for (size_t i = 0; i < a->state.nr_targets; i++) {
		const char *name = a->state.targets[i].name;

		if (!targets_conf_find(conf, name))
			admin_delete_target(a, name, NULL);
	}
}
