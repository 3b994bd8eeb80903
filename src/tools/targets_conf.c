/* targets.conf directives: from the syntax tree to checked settings
 * (targets_conf.h). */
#include "tools/targets_conf.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/conf_value.h"

#define MAX_CONTROL_PORT 32767 /* tgtadm's -C is a short */
#define MAX_DRIVER_NAME 63

static const char *const lu_param_names[LU_PARAM_COUNT] = {
	[LU_SCSI_ID] = "scsi_id",
	[LU_SENSE_FORMAT] = "sense_format",
	[LU_REMOVABLE] = "removable",
	[LU_ONLINE] = "online",
	[LU_PATH] = "path",
	[LU_READONLY] = "readonly",
	[LU_VENDOR_ID] = "vendor_id",
	[LU_PRODUCT_ID] = "product_id",
	[LU_PRODUCT_REV] = "product_rev",
	[LU_SCSI_SN] = "scsi_sn",
	[LU_LBPPBE] = "lbppbe",
	[LU_LA_LBA] = "la_lba",
	[LU_OPTIMAL_XFER_GRAN] = "optimal_xfer_gran",
	[LU_OPTIMAL_XFER_LEN] = "optimal_xfer_len",
};

/* Target-level directives sent as `--mode target --op update --name K
 * --value V`: tgt-admin's iSCSI parameters and `state`, then the other
 * names tgtd accepts there, which tgt-admin ignores (here they are sent,
 * so that --dump can carry them). */
static const char *const target_param_names[] = {
	"MaxRecvDataSegmentLength", "MaxXmitDataSegmentLength",
	"HeaderDigest", "DataDigest", "InitialR2T", "MaxOutstandingR2T",
	"ImmediateData", "FirstBurstLength", "MaxBurstLength",
	"DataPDUInOrder", "DataSequenceInOrder", "ErrorRecoveryLevel",
	"IFMarker", "OFMarker", "DefaultTime2Wait", "DefaultTime2Retain",
	"OFMarkInt", "IFMarkInt", "MaxConnections", "state",
	/* accepted by tgtd, ignored by Debian's tgt-admin */
	"MaxQueueCmd", "RDMAExtensions", "TargetRecvDataSegmentLength",
	"InitiatorRecvDataSegmentLength", "MaxOutstandingUnexpectedPDUs",
	"nop_interval", "nop_count", "RedirectAddress", "RedirectPort",
	"RedirectReason", "RedirectCallback",
	/* mtgt's own */
	"max_sessions",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *lu_param_name(enum lu_param p)
{
	return p < LU_PARAM_COUNT ? lu_param_names[p] : "?";
}

/* State of one load. */
struct loader {
	struct targets_conf *conf;
	struct conf_error *err;
};

static int fail(struct loader *ld, const struct conf_node *n,
		const char *fmt, const char *arg)
{
	conf_error_set(ld->err, &n->loc, n->key, fmt, arg);
	return -1;
}

static int out_of_memory(struct loader *ld, const struct conf_node *n)
{
	return fail(ld, n, "%s", "out of memory");
}

static int list_add(struct loader *ld, struct node_list *l,
		    const struct conf_node *n)
{
	const struct conf_node **grown =
		realloc(l->items, (l->count + 1) * sizeof(*grown));

	if (!grown)
		return out_of_memory(ld, n);
	l->items = grown;
	l->items[l->count++] = n;
	return 0;
}

/* A directive that may appear once per scope. */
static int set_once(struct loader *ld, const struct conf_node **slot,
		    const struct conf_node *n)
{
	char first[PATH_MAX + 32];

	if (*slot) {
		snprintf(first, sizeof(first), "%s:%u", (*slot)->loc.file,
			 (*slot)->loc.line);
		return fail(ld, n, "given more than once here (first at %s)",
			    first);
	}
	*slot = n;
	return 0;
}

/* "<user> <password>": exactly two words. */
static int parse_account(struct loader *ld, const struct conf_node *n,
			 struct conf_account *a)
{
	const char *v = n->value;
	size_t ulen = strcspn(v, " \t");
	const char *p = v + ulen + strspn(v + ulen, " \t");
	size_t plen = strcspn(p, " \t");

	if (!ulen || !plen || p[plen])
		return fail(ld, n, "'%s': expected '<user> <password>'", v);
	if (memchr(v, ',', ulen))
		return fail(ld, n, "'%s': a user name cannot hold a comma", v);
	a->node = n;
	a->user = strndup(v, ulen);
	a->password = strdup(p);
	if (!a->user || !a->password)
		return out_of_memory(ld, n);
	return 0;
}

static int set_account(struct loader *ld, struct conf_account *a,
		       const struct conf_node *n)
{
	const struct conf_node *slot = a->node;

	if (set_once(ld, &slot, n))
		return -1;
	return parse_account(ld, n, a);
}

/* ---- logical-unit settings ---- */

static int lu_param_index(const char *key)
{
	for (int i = 0; i < LU_PARAM_COUNT; i++)
		if (!strcmp(key, lu_param_names[i]))
			return i;
	return -1;
}

/* The single-valued LUN settings besides the --params ones. */
static const struct {
	const char *key;
	size_t offset;
	enum conf_value_kind kind;
} lun_keys[] = {
	{ "device-type", offsetof(struct lun_settings, device_type),
	  CONF_DEVICE_TYPE },
	{ "bs-type", offsetof(struct lun_settings, bs_type), CONF_NO_COMMA },
	{ "bsopts", offsetof(struct lun_settings, bsopts), CONF_NO_COMMA },
	{ "bsoflags", offsetof(struct lun_settings, bsoflags), CONF_NO_COMMA },
	{ "block-size", offsetof(struct lun_settings, block_size),
	  CONF_NUMBER },
	{ "write-cache", offsetof(struct lun_settings, write_cache),
	  CONF_ON_OFF },
	{ "allow-in-use", offsetof(struct lun_settings, allow_in_use),
	  CONF_YES_NO },
};

static int set_checked(struct loader *ld, const struct conf_node **slot,
		       const struct conf_node *n, enum conf_value_kind kind)
{
	if (conf_value_check(ld->err, n, kind))
		return -1;
	return set_once(ld, slot, n);
}

static int add_checked(struct loader *ld, struct node_list *l,
		       const struct conf_node *n, enum conf_value_kind kind)
{
	if (conf_value_check(ld->err, n, kind))
		return -1;
	return list_add(ld, l, n);
}

/* A logical-unit directive into set. Returns 1 if n is not one. */
static int lun_directive(struct loader *ld, struct lun_settings *set,
			 const struct conf_node *n)
{
	int p = lu_param_index(n->key);

	if (p >= 0)
		return set_checked(ld, &set->param[p], n, CONF_NO_COMMA);
	if (!strcmp(n->key, "mode_page"))
		return add_checked(ld, &set->mode_pages, n, CONF_NO_COMMA);
	if (!strcmp(n->key, "params"))
		return add_checked(ld, &set->params, n, CONF_ANY_TEXT);
	for (size_t i = 0; i < ARRAY_SIZE(lun_keys); i++)
		if (!strcmp(n->key, lun_keys[i].key))
			return set_checked(ld, (const struct conf_node **)
					   ((char *)set + lun_keys[i].offset),
					   n, lun_keys[i].kind);
	return 1;
}

static void free_settings(struct lun_settings *set)
{
	free(set->mode_pages.items);
	free(set->params.items);
}

/* ---- stores ---- */

static struct conf_store *new_store(struct loader *ld, struct conf_target *t,
				    const struct conf_node *n)
{
	struct conf_store *grown;

	if (conf_value_no_comma(ld->err, n))
		return NULL;
	grown = realloc(t->stores, (t->nr_stores + 1) * sizeof(*grown));
	if (!grown) {
		out_of_memory(ld, n);
		return NULL;
	}
	t->stores = grown;
	grown = &t->stores[t->nr_stores++];
	memset(grown, 0, sizeof(*grown));
	grown->node = n;
	grown->direct = !strcmp(n->key, "direct-store");
	return grown;
}

static int store_directive(struct loader *ld, struct conf_store *s,
			   const struct conf_node *n)
{
	int rc;

	if (n->is_block)
		return fail(ld, n, "%s", "no block can be nested here");
	if (!n->value)
		return fail(ld, n, "%s", "missing value");
	if (!strcmp(n->key, "lun")) {
		if (conf_value_number(ld->err, n, 1, UINT64_MAX - 1, &s->lun))
			return -1;
		s->lun_given = true;
		return set_once(ld, &s->lun_node, n);
	}
	rc = lun_directive(ld, &s->set, n);
	if (rc > 0)
		return fail(ld, n, "%s",
			    "unknown directive in a backing-store block");
	return rc;
}

static int store_block(struct loader *ld, struct conf_target *t,
		       const struct conf_node *block)
{
	struct conf_store *s = new_store(ld, t, block);

	if (!s)
		return -1;
	for (const struct conf_node *n = block->children; n; n = n->next)
		if (store_directive(ld, s, n))
			return -1;
	return 0;
}

/* ---- targets ---- */

static bool is_store_key(const char *key)
{
	return !strcmp(key, "backing-store") || !strcmp(key, "direct-store");
}

/* Access rules and accounts. Returns 1 if n is none of them. */
static int target_access(struct loader *ld, struct conf_target *t,
			 const struct conf_node *n)
{
	struct conf_account *grown;

	if (!strcmp(n->key, "initiator-address"))
		return add_checked(ld, &t->initiator_addresses, n,
				   CONF_NO_COMMA);
	if (!strcmp(n->key, "initiator-name"))
		return add_checked(ld, &t->initiator_names, n, CONF_NO_COMMA);
	if (!strcmp(n->key, "outgoinguser"))
		return set_account(ld, &t->outgoing, n);
	if (strcmp(n->key, "incominguser"))
		return 1;
	grown = realloc(t->incoming, (t->nr_incoming + 1) * sizeof(*grown));
	if (!grown)
		return out_of_memory(ld, n);
	t->incoming = grown;
	grown = &t->incoming[t->nr_incoming++];
	memset(grown, 0, sizeof(*grown));
	return parse_account(ld, n, grown);
}

static int target_param(struct loader *ld, struct conf_target *t,
			const struct conf_node *n)
{
	for (size_t i = 0; i < t->target_params.count; i++) {
		const struct conf_node *seen = t->target_params.items[i];

		if (!strcmp(seen->key, n->key))
			return set_once(ld, &seen, n);
	}
	if (!strcmp(n->key, "state") &&
	    conf_value_keyword(ld->err, n, "ready", "offline"))
		return -1;
	return list_add(ld, &t->target_params, n);
}

static int target_directive(struct loader *ld, struct conf_target *t,
			    const struct conf_node *n)
{
	int rc;

	if (n->is_block) {
		if (!is_store_key(n->key))
			return fail(ld, n, "%s", "unknown block in a target");
		if (!n->value)
			return fail(ld, n, "%s", "the block needs a path");
		return store_block(ld, t, n);
	}
	if (!n->value)
		return fail(ld, n, "%s", "missing value");
	if (is_store_key(n->key))
		return new_store(ld, t, n) ? 0 : -1;
	if (!strcmp(n->key, "driver"))
		return set_once(ld, &t->driver, n);
	if (!strcmp(n->key, "controller_tid")) {
		uint64_t tid;

		if (conf_value_number(ld->err, n, 1, INT_MAX, &tid))
			return -1;
		t->tid = tid;
		return set_once(ld, &t->controller_tid, n);
	}
	if (!strcmp(n->key, "lun")) { /* for its single store: see finish */
		if (conf_value_number(ld->err, n, 1, UINT64_MAX - 1, NULL))
			return -1;
		return set_once(ld, &t->lun, n);
	}
	if (conf_in_table(n->key, target_param_names,
		     ARRAY_SIZE(target_param_names)))
		return target_param(ld, t, n);
	rc = target_access(ld, t, n);
	if (rc <= 0)
		return rc;
	rc = lun_directive(ld, &t->defaults, n);
	if (rc > 0)
		return fail(ld, n, "%s", "unknown directive in a target");
	return rc;
}

/* A target name tgtd accepts: letters, digits, '.', ':', '-'. */
static bool valid_target_name(const char *name)
{
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".:-", *p))
			return false;
	return true;
}

static struct conf_target *find_target(const struct targets_conf *conf,
				       const char *name)
{
	for (size_t i = 0; i < conf->nr_targets; i++)
		if (!strcmp(conf->targets[i].node->value, name))
			return &conf->targets[i];
	return NULL;
}

/* A <target> block. A second block of the same name adds to the first,
 * as Config::General merges them. */
static int target_block(struct loader *ld, const struct conf_node *block)
{
	struct targets_conf *conf = ld->conf;
	struct conf_target *t;

	if (!block->value)
		return fail(ld, block, "%s", "the block needs a target name");
	if (!valid_target_name(block->value))
		return fail(ld, block, "'%s': a target name may hold only "
			    "letters, digits, '.', ':' and '-'", block->value);
	t = find_target(conf, block->value);
	if (!t) {
		t = realloc(conf->targets,
			    (conf->nr_targets + 1) * sizeof(*t));
		if (!t)
			return out_of_memory(ld, block);
		conf->targets = t;
		t = &conf->targets[conf->nr_targets++];
		memset(t, 0, sizeof(*t));
		t->node = block;
	}
	for (const struct conf_node *n = block->children; n; n = n->next)
		if (target_directive(ld, t, n))
			return -1;
	return 0;
}

/* ---- global directives ---- */

static const char *const isns_keys[] = {
	"iSNSAccessControl", "iSNSServerIP", "iSNSServerPort", "iSNS",
};

static int isns_directive(struct loader *ld, const struct conf_node *n)
{
	struct node_list *l = &ld->conf->isns;

	for (size_t i = 0; i < l->count; i++) {
		const struct conf_node *seen = l->items[i];

		if (!strcmp(seen->key, n->key))
			return set_once(ld, &seen, n);
	}
	if (!strcmp(n->key, "iSNSServerPort")) {
		if (conf_value_number(ld->err, n, 0, INT_MAX, NULL))
			return -1;
	} else if (strcmp(n->key, "iSNSServerIP")) {
		if (conf_value_keyword(ld->err, n, "On", "Off"))
			return -1;
	} else if (conf_value_no_comma(ld->err, n)) {
		return -1;
	}
	return list_add(ld, l, n);
}

static int global_setting(struct loader *ld, const struct conf_node *n)
{
	struct targets_conf *conf = ld->conf;
	uint64_t port;

	if (!strcmp(n->key, "default-driver")) {
		if (strlen(n->value) > MAX_DRIVER_NAME)
			return fail(ld, n, "'%s': too long for a driver name",
				    n->value);
		return set_once(ld, &conf->default_driver, n);
	}
	if (!strcmp(n->key, "ignore-errors")) {
		if (conf_value_keyword(ld->err, n, "yes", "no"))
			return -1;
		conf->ignore_errors_yes = !strcmp(n->value, "yes");
		return set_once(ld, &conf->ignore_errors, n);
	}
	if (!strcmp(n->key, "control-port")) {
		if (conf_value_number(ld->err, n, 0, MAX_CONTROL_PORT, &port))
			return -1;
		conf->control_port_value = port;
		return set_once(ld, &conf->control_port, n);
	}
	if (!strcmp(n->key, "incomingdiscoveryuser"))
		return set_account(ld, &conf->incoming_discovery, n);
	if (!strcmp(n->key, "outgoingdiscoveryuser"))
		return set_account(ld, &conf->outgoing_discovery, n);
	if (conf_in_table(n->key, isns_keys, ARRAY_SIZE(isns_keys)))
		return isns_directive(ld, n);
	return fail(ld, n, "%s", "unknown directive at the top level");
}

static int global_directive(struct loader *ld, const struct conf_node *n)
{
	if (n->is_block) {
		if (strcmp(n->key, "target"))
			return fail(ld, n, "%s", "unknown block at the top "
				    "level (only <target> blocks are)");
		return target_block(ld, n);
	}
	if (!n->value)
		return fail(ld, n, "%s", "missing value");
	return global_setting(ld, n);
}

/* ---- whole-file checks ---- */

static void add_warning(struct loader *ld, const struct conf_node *n,
			const char *text)
{
	struct targets_conf *conf = ld->conf;
	char **grown = realloc(conf->warnings,
			       (conf->nr_warnings + 1) * sizeof(*grown));
	char *w = NULL;

	if (!grown)
		return;
	conf->warnings = grown;
	if (asprintf(&w, "%s:%u: directive '%s': %s", n->loc.file,
		     n->loc.line, n->key, text) >= 0)
		conf->warnings[conf->nr_warnings++] = w;
}

/* qsort, which must not be given a NULL array even when it is empty. */
static void sort(void *base, size_t n, size_t size,
		 int (*compare)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, compare);
}

static int compare_stores(const void *a, const void *b)
{
	const struct conf_store *x = a, *y = b;

	if (x->direct != y->direct)
		return x->direct ? 1 : -1;
	return strcmp(x->node->value, y->node->value);
}

static int compare_nodes_by_key(const void *a, const void *b)
{
	const struct conf_node *const *x = a, *const *y = b;

	return strcmp((*x)->key, (*y)->key);
}

/* Two stores of a target with the same path or the same LUN number. */
static int check_store_clashes(struct loader *ld, const struct conf_target *t)
{
	for (size_t i = 0; i < t->nr_stores; i++) {
		const struct conf_store *a = &t->stores[i];

		for (size_t j = 0; j < i; j++) {
			const struct conf_store *b = &t->stores[j];

			if (!strcmp(a->node->value, b->node->value))
				return fail(ld, a->node, "'%s' is already a "
					    "LUN of this target",
					    b->node->value);
			if (a->lun_given && b->lun_given && a->lun == b->lun)
				return fail(ld, a->lun_node ? a->lun_node
							    : a->node,
					    "LUN %s is given twice in this "
					    "target", a->lun_node ?
					    a->lun_node->value : "?");
		}
	}
	return 0;
}

/* A target-level lun numbers the target's only store. */
static int apply_target_lun(struct loader *ld, struct conf_target *t)
{
	if (!t->lun)
		return 0;
	if (t->nr_stores != 1)
		return fail(ld, t->lun, "%s", "a target-level lun needs "
			    "exactly one backing-store or direct-store");
	if (t->stores[0].lun_given)
		return fail(ld, t->lun, "%s", "the store's block gives its "
			    "own lun");
	t->stores[0].lun_given = true;
	return conf_parse_u64(t->lun->value, &t->stores[0].lun) ? 0 : -1;
}

static int finish_target(struct loader *ld, struct conf_target *t)
{
	if (apply_target_lun(ld, t) || check_store_clashes(ld, t))
		return -1;
	if (t->defaults.block_size)
		add_warning(ld, t->defaults.block_size,
			    "ignored at target level, as tgt-admin does; "
			    "put it in a <backing-store> block");
	sort(t->stores, t->nr_stores, sizeof(*t->stores), compare_stores);
	sort(t->target_params.items, t->target_params.count,
	      sizeof(*t->target_params.items), compare_nodes_by_key);
	return 0;
}

static int compare_targets(const void *a, const void *b)
{
	const struct conf_target *x = a, *y = b;

	return strcmp(x->node->value, y->node->value);
}

/* iSNS last, the rest by name: tgt-admin's order. */
static int compare_isns(const void *a, const void *b)
{
	const struct conf_node *const *x = a, *const *y = b;
	bool x_last = !strcmp((*x)->key, "iSNS");
	bool y_last = !strcmp((*y)->key, "iSNS");

	if (x_last != y_last)
		return x_last ? 1 : -1;
	return strcmp((*x)->key, (*y)->key);
}

static int finish(struct loader *ld)
{
	struct targets_conf *conf = ld->conf;

	for (size_t i = 0; i < conf->nr_targets; i++) {
		struct conf_target *t = &conf->targets[i];

		if (finish_target(ld, t))
			return -1;
		for (size_t j = 0; j < i && t->tid; j++)
			if (conf->targets[j].tid == t->tid)
				return fail(ld, t->controller_tid, "tid %s is "
					    "also given to another target",
					    t->controller_tid->value);
	}
	sort(conf->targets, conf->nr_targets, sizeof(*conf->targets),
	      compare_targets);
	sort(conf->isns.items, conf->isns.count, sizeof(*conf->isns.items),
	      compare_isns);
	return 0;
}

static int load(struct targets_conf *conf, struct conf_error *err)
{
	struct loader ld = { conf, err };

	for (const struct conf_node *n = conf->doc.nodes; n; n = n->next)
		if (global_directive(&ld, n))
			return -1;
	return finish(&ld);
}

static void conf_init(struct targets_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->control_port_value = -1;
}

int targets_conf_load_file(struct targets_conf *conf, const char *path,
			   struct conf_error *err)
{
	conf_init(conf);
	if (conf_doc_read_file(&conf->doc, path, err))
		return -1;
	return load(conf, err);
}

int targets_conf_load_buffer(struct targets_conf *conf, const char *name,
			     const char *text, size_t len, unsigned flags,
			     struct conf_error *err)
{
	conf_init(conf);
	if (conf_doc_read_buffer(&conf->doc, name, text, len, flags, err))
		return -1;
	return load(conf, err);
}

static void free_account(struct conf_account *a)
{
	free(a->user);
	free(a->password);
}

static void free_target(struct conf_target *t)
{
	for (size_t i = 0; i < t->nr_stores; i++)
		free_settings(&t->stores[i].set);
	free(t->stores);
	free(t->initiator_addresses.items);
	free(t->initiator_names.items);
	for (size_t i = 0; i < t->nr_incoming; i++)
		free_account(&t->incoming[i]);
	free(t->incoming);
	free_account(&t->outgoing);
	free(t->target_params.items);
	free_settings(&t->defaults);
}

void targets_conf_free(struct targets_conf *conf)
{
	for (size_t i = 0; i < conf->nr_targets; i++)
		free_target(&conf->targets[i]);
	free(conf->targets);
	free(conf->isns.items);
	free_account(&conf->incoming_discovery);
	free_account(&conf->outgoing_discovery);
	for (size_t i = 0; i < conf->nr_warnings; i++)
		free(conf->warnings[i]);
	free(conf->warnings);
	conf_doc_free(&conf->doc);
	conf_init(conf);
}

/* ---- queries ---- */

const struct conf_target *targets_conf_find(const struct targets_conf *conf,
					    const char *name)
{
	return find_target(conf, name);
}

const char *conf_target_driver(const struct targets_conf *conf,
			       const struct conf_target *t)
{
	if (t->driver)
		return t->driver->value;
	if (conf->default_driver)
		return conf->default_driver->value;
	return "iscsi";
}

const struct conf_node *conf_store_setting(const struct conf_target *t,
					   const struct conf_store *s,
					   size_t offset)
{
	const struct conf_node *own =
		*(const struct conf_node *const *)((const char *)&s->set +
						   offset);

	if (own || offset == offsetof(struct lun_settings, block_size))
		return own;
	return *(const struct conf_node *const *)((const char *)&t->defaults +
						  offset);
}

const struct conf_node *conf_store_param(const struct conf_target *t,
					 const struct conf_store *s,
					 enum lu_param p)
{
	return s->set.param[p] ? s->set.param[p] : t->defaults.param[p];
}
