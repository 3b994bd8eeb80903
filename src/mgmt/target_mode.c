/* `--mode target`: create, delete, show, statistics, ACL bind/unbind and
 * the update of target parameters (spec §2.8, §6). Main thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "mgmt/modes.h"
#include "mgmt/show.h"
#include "mgmt/stat.h"
#include "target/registry.h"

static enum tgtadm_err set_state(struct target *t, const char *value)
{
	if (!strcmp(value, "ready"))
		t->state = TARGET_READY;
	else if (!strcmp(value, "offline"))
		t->state = TARGET_OFFLINE;
	else
		return TGTADM_INVALID_REQUEST;
	return TGTADM_SUCCESS;
}

/* RedirectReason: tgt compares the first nine characters only. */
static enum tgtadm_err set_redirect_reason(struct target *t, const char *v)
{
	if (!strncmp(v, "Temporary", 9))
		t->redirect.reason = REDIRECT_TEMPORARY;
	else if (!strncmp(v, "Permanent", 9))
		t->redirect.reason = REDIRECT_PERMANENT;
	else
		return TGTADM_INVALID_REQUEST;
	return TGTADM_SUCCESS;
}

/* The Redirect* names, matched as tgt does: case-sensitive prefixes.
 * Returns false if the name is not one of them. */
static bool redirect_update(struct target *t, const char *name,
			    const char *v, enum tgtadm_err *err)
{
	struct target_redirect *rd = &t->redirect;

	*err = TGTADM_SUCCESS;
	if (!strncmp(name, "RedirectAddress", 15))
		snprintf(rd->addr, sizeof(rd->addr), "%s", v);
	else if (!strncmp(name, "RedirectPort", 12))
		snprintf(rd->port, sizeof(rd->port), "%s", v);
	else if (!strncmp(name, "RedirectReason", 14))
		*err = set_redirect_reason(t, v);
	else if (!strncmp(name, "RedirectCallback", 16)) {
		snprintf(rd->callback, sizeof(rd->callback), "%s", v);
		rd->has_callback = true;
	} else
		return false;
	return true;
}

/* nop_interval / nop_count: tgt matches the prefix and reads the number
 * at a fixed offset from the start of the name (just past its '='), so
 * "nop_countx" reads from inside the name. name and value are one buffer
 * ("name\0value\0"), which keeps that offset inside it. */
static bool nop_update(struct target *t, const char *name)
{
	unsigned *field;
	int v;

	if (!strncmp(name, "nop_count", 9)) {
		field = &t->iscsi->nop_count;
		v = atoi(name + 10);
	} else if (!strncmp(name, "nop_interval", 12)) {
		field = &t->iscsi->nop_interval;
		v = atoi(name + 13);
	} else {
		return false;
	}
	/* The target loop reads them when it arms a connection's timer. */
	target_lock(t);
	*field = (unsigned)v;
	target_unlock(t);
	return true;
}

static enum tgtadm_err target_update(struct target *t, char *payload)
{
	char *eq = strchr(payload, '=');
	enum tgtadm_err err;
	bool known;

	if (!eq)
		return TGTADM_UNSUPPORTED_OPERATION;
	*eq = '\0';
	if (!strcmp(payload, "state"))
		return set_state(t, eq + 1);
	if (redirect_update(t, payload, eq + 1, &err))
		return err;
	if (nop_update(t, payload))
		return TGTADM_SUCCESS;
	if (!strcmp(payload, "max_sessions")) /* mtgt's own */
		return iscsi_target_set_max_sessions(t, eq + 1);
	/* Session keys: case-insensitive names. Only the main thread reads
	 * them (at login), so no lock. */
	if (!iscsi_param_update(&t->iscsi->params, payload, eq + 1, &known))
		return TGTADM_INVALID_REQUEST;
	return TGTADM_SUCCESS;
}

/* bind/unbind: tgt takes everything after the key to the end of the
 * payload, so "-I a -Q b" stores "a,initiator-name=b" (spec §2.8). */
static enum tgtadm_err target_acl(struct target *t, bool bind,
				  const char *payload)
{
	static const char addr_key[] = "initiator-address=";
	static const char name_key[] = "initiator-name=";
	const char *a = strstr(payload, addr_key);
	const char *n = strstr(payload, name_key);
	enum tgtadm_err err = TGTADM_SUCCESS;

	if (!a && !n)
		return TGTADM_INVALID_REQUEST;
	if (a) {
		a += sizeof(addr_key) - 1;
		err = bind ? target_acl_add(t, false, a)
			   : target_acl_del(t, false, a);
	}
	if (n && !err) {
		n += sizeof(name_key) - 1;
		err = bind ? target_acl_add(t, true, n)
			   : target_acl_del(t, true, n);
	}
	return err;
}

/* SCSI host bindings (`-H`/`--bus`), kept only so that bind and unbind
 * answer as in tgt: they mean nothing to iSCSI. Main thread only. */
struct bound_host {
	struct list_node node;
	uint32_t host_no;
	int tid;
};


static struct bound_host *find_host(uint32_t host_no)
{
	struct bound_host *h;

	list_for_each_entry(h, registry_bound_hosts(), node)
		if (h->host_no == host_no)
			return h;
	return NULL;
}

static enum tgtadm_err host_bind(struct target *t, uint32_t host_no)
{
	struct bound_host *h;

	if (find_host(host_no))
		return TGTADM_BINDING_EXIST;
	h = calloc(1, sizeof(*h));
	if (!h)
		return TGTADM_NOMEM;
	h->host_no = host_no;
	h->tid = t->tid;
	list_add_head(&h->node, registry_bound_hosts());
	return TGTADM_SUCCESS;
}

/* tgt looks the host up in every target, and refuses while the target
 * it is bound to has I_T nexuses. */
static enum tgtadm_err host_unbind(uint32_t host_no)
{
	struct bound_host *h = find_host(host_no);
	struct target *bound;
	bool busy = false;

	if (!h)
		return TGTADM_NO_BINDING;
	bound = target_find(h->tid);
	if (bound) {
		target_lock(bound);
		busy = !list_empty(&bound->nexuses);
		target_unlock(bound);
	}
	if (busy)
		return TGTADM_TARGET_ACTIVE;
	list_del(&h->node);
	free(h);
	return TGTADM_SUCCESS;
}

void target_mode_free_all(void)
{
	struct bound_host *h, *tmp;

	list_for_each_entry_safe(h, tmp, registry_bound_hosts(), node)
		free(h);
	list_init(registry_bound_hosts());
}

static enum tgtadm_err target_bind(struct target *t,
				   const struct tgtadm_req *req,
				   const char *payload)
{
	bool bind = req->op == OP_BIND;

	/* No payload at all: a SCSI host, not an initiator. */
	if (req->len == sizeof(*req))
		return bind ? host_bind(t, req->host_no)
			    : host_unbind(req->host_no);
	return target_acl(t, bind, payload);
}

static enum tgtadm_err target_new(struct ev_loop *loop, int tid,
				  const char *payload)
{
	char name[TARGET_NAME_MAX + 2];

	if (!payload_value(payload, "targetname", name, sizeof(name)))
		return TGTADM_INVALID_REQUEST;
	return target_create(tid, name, loop);
}

enum tgtadm_err target_mode(struct ev_loop *loop,
			    const struct tgtadm_req *req, char *payload,
			    struct strbuf *out, struct target_waiter *wait)
{
	struct target *t;

	if (req->op == OP_NEW)
		return target_new(loop, req->tid, payload);
	if (req->op == OP_SHOW && req->tid < 0) {
		show_targets(out);
		return TGTADM_SUCCESS;
	}
	t = target_find(req->tid);
	if (!t)
		return TGTADM_NO_TARGET;
	switch (req->op) {
	case OP_DELETE:
		return target_destroy(req->tid, req->force, wait);
	case OP_SHOW:
		show_target_params(t, out);
		return TGTADM_SUCCESS;
	case OP_STATS:
		stat_target(t, out);
		return TGTADM_SUCCESS;
	case OP_BIND:
	case OP_UNBIND:
		return target_bind(t, req, payload);
	case OP_UPDATE:
		return target_update(t, payload);
	default:
		return TGTADM_INVALID_REQUEST;
	}
}
