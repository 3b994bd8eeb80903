/* The meaning of targets.conf (spec tgt-compat.md §5.2-5.5): global
 * settings, targets, their backing stores (LUNs), ACLs, accounts, iSCSI
 * and logical-unit parameters, checked as a whole before anything is sent
 * to tgtd.
 *
 * Every directive stays a `const struct conf_node *` of the parsed
 * document (its value, file and line), so that later errors, e.g. tgtd
 * refusing a request, can still name the line that caused them.
 *
 * Differences from Debian's tgt-admin, all about files it would have
 * half-applied or silently misread: an unknown directive, a repeated
 * single-valued directive (tgt-admin warns and takes the first iSCSI
 * parameter or outgoinguser), a value it cannot send (a comma where tgtd
 * splits the request), a duplicate LUN number or store path in a target,
 * and an invalid number or keyword are errors with file and line.
 *
 * Used by one thread; no shared state. */
#ifndef MTGT_TOOLS_TARGETS_CONF_H
#define MTGT_TOOLS_TARGETS_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/conf_syntax.h"

/* Logical-unit parameters sent as `--params key=value`, in the order
 * tgt-admin sends them when they come from the target level. */
enum lu_param {
	LU_SCSI_ID,
	LU_SENSE_FORMAT,
	LU_REMOVABLE,
	LU_ONLINE,
	LU_PATH,
	LU_READONLY,
	LU_VENDOR_ID,
	LU_PRODUCT_ID,
	LU_PRODUCT_REV,
	LU_SCSI_SN,
	LU_LBPPBE,
	LU_LA_LBA,
	LU_OPTIMAL_XFER_GRAN,
	LU_OPTIMAL_XFER_LEN,
	LU_PARAM_COUNT,
};

/* The directive name of a logical-unit parameter. */
const char *lu_param_name(enum lu_param p);

struct node_list {
	const struct conf_node **items;
	size_t count;
};

/* What a <backing-store> block, or the target level as a default for
 * every LUN, says about logical units. NULL: not given here. */
struct lun_settings {
	const struct conf_node *device_type, *bs_type, *bsopts, *bsoflags;
	const struct conf_node *block_size, *write_cache, *allow_in_use;
	const struct conf_node *param[LU_PARAM_COUNT];
	struct node_list mode_pages, params; /* every one is sent */
};

/* One backing-store or direct-store: one LUN. */
struct conf_store {
	const struct conf_node *node; /* path = node->value */
	bool direct;
	const struct conf_node *lun_node; /* `lun` in its block */
	bool lun_given;    /* lun_node, or the target's lun for its store */
	uint64_t lun;
	struct lun_settings set; /* its block; empty for a one-line store */
};

/* incominguser / outgoinguser / *discoveryuser: "<user> <password>". */
struct conf_account {
	const struct conf_node *node;
	char *user, *password;
};

struct conf_target {
	const struct conf_node *node; /* name = node->value (first block) */
	const struct conf_node *driver, *controller_tid;
	const struct conf_node *lun; /* for a target with one store */
	int tid; /* from controller_tid, 0 if not given */
	/* backing-stores sorted by path, then direct-stores by path: the
	 * order in which tgt-admin numbers and creates them */
	struct conf_store *stores;
	size_t nr_stores;
	struct node_list initiator_addresses, initiator_names;
	struct conf_account *incoming;
	size_t nr_incoming;
	struct conf_account outgoing; /* node NULL if none */
	/* iSCSI parameters, `state` and the other target updates, sorted by
	 * name (tgt-admin's order) */
	struct node_list target_params;
	struct lun_settings defaults;
};

struct targets_conf {
	struct conf_doc doc;
	const struct conf_node *default_driver, *ignore_errors, *control_port;
	bool ignore_errors_yes;
	int control_port_value; /* -1 if not given */
	/* iSNSAccessControl, iSNSServerIP, iSNSServerPort (sorted by
	 * name), then iSNS: the order tgt-admin sends them */
	struct node_list isns;
	struct conf_account incoming_discovery, outgoing_discovery;
	struct conf_target *targets; /* sorted by name, as tgt-admin does */
	size_t nr_targets;
	char **warnings; /* "file:line: ..." for the caller to print */
	size_t nr_warnings;
};

/* Reads and checks a whole file. Returns 0, or -1 with err filled ("file:
 * line: directive 'x': what is wrong"). conf must be freed either way. */
int targets_conf_load_file(struct targets_conf *conf, const char *path,
			   struct conf_error *err);

/* The same for text in memory (for tests and fuzzing); flags as for
 * conf_doc_read_buffer (CONF_NO_INCLUDES). */
int targets_conf_load_buffer(struct targets_conf *conf, const char *name,
			     const char *text, size_t len, unsigned flags,
			     struct conf_error *err);

void targets_conf_free(struct targets_conf *conf);

/* The target named name, or NULL. */
const struct conf_target *targets_conf_find(const struct targets_conf *conf,
					    const char *name);

/* The driver of a target: its own, the default-driver, or "iscsi". */
const char *conf_target_driver(const struct targets_conf *conf,
			       const struct conf_target *t);

/* A LUN setting: the store's own, else the target's default, else NULL.
 * (block-size only counts inside a block, as in tgt-admin.) */
const struct conf_node *conf_store_setting(const struct conf_target *t,
					   const struct conf_store *s,
					   size_t offset);
#define CONF_STORE_SETTING(t, s, field) \
	conf_store_setting((t), (s), offsetof(struct lun_settings, field))

const struct conf_node *conf_store_param(const struct conf_target *t,
					 const struct conf_store *s,
					 enum lu_param p);

#endif
