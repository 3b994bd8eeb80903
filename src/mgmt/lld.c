/* `--mode lld` (spec §2.8, §4.7): the iSCSI driver can be stopped while
 * no target exists and started again; iser is known but never ready.
 * Main thread only, like its state (registry_iscsi_lld). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "iscsi/iscsi.h"
#include "mgmt/modes.h"
#include "mgmt/show.h"
#include "target/registry.h"

enum lld_state lld_iscsi_state(void)
{
	return registry_iscsi_lld()->state;
}

void lld_free_saved(void)
{
	for (unsigned i = 0; i < registry_iscsi_lld()->nr_portals; i++)
		free(registry_iscsi_lld()->portals[i]);
	free(registry_iscsi_lld()->portals);
	registry_iscsi_lld()->portals = NULL;
	registry_iscsi_lld()->nr_portals = 0;
}

static enum tgtadm_err save_portals(void)
{
	struct iscsi_portal *p;
	unsigned n = 0;
	char **saved;

	list_for_each_entry(p, iscsi_portals(), node)
		n++;
	saved = calloc(n ? n : 1, sizeof(*saved));
	if (!saved)
		return TGTADM_NOMEM;
	registry_iscsi_lld()->portals = saved;
	registry_iscsi_lld()->nr_portals = n;
	/* The list is newest first; keep them oldest first. A failed
	 * strdup leaves NULL, reported when the driver starts again. */
	list_for_each_entry(p, iscsi_portals(), node) {
		char spec[ISCSI_ADDR_MAX + 16];

		snprintf(spec, sizeof(spec),
			 p->family == AF_INET6 ? "[%s]:%d" : "%s:%d", p->addr,
			 p->port);
		saved[--n] = strdup(spec);
	}
	return TGTADM_SUCCESS;
}

static enum tgtadm_err lld_stop(void)
{
	enum tgtadm_err err;

	if (registry_iscsi_lld()->state != LLD_READY)
		return TGTADM_SUCCESS;
	if (!list_empty(target_list()))
		return TGTADM_DRIVER_ACTIVE;
	err = save_portals();
	if (err)
		return err;
	iscsi_portals_close_all();
	registry_iscsi_lld()->state = LLD_STOPPED;
	return TGTADM_SUCCESS;
}

static enum tgtadm_err lld_start(struct ev_loop *loop)
{
	if (registry_iscsi_lld()->state == LLD_READY)
		return TGTADM_SUCCESS;
	for (unsigned i = 0; i < registry_iscsi_lld()->nr_portals; i++) {
		const char *spec = registry_iscsi_lld()->portals[i];
		int ret = spec ? iscsi_portal_add(loop, spec) : -ENOMEM;

		/* A portal added while stopped already listens (-EEXIST). */
		if (ret && ret != -EEXIST)
			log_error("cannot listen on %s again: %s",
				  spec ? spec : "?", strerror(-ret));
	}
	lld_free_saved();
	registry_iscsi_lld()->state = LLD_READY;
	return TGTADM_SUCCESS;
}

enum tgtadm_err lld_mode(struct ev_loop *loop, const struct tgtadm_req *req,
			 struct strbuf *out)
{
	/* iser is registered but can never be initialised here. */
	bool iser = !strcmp(req->lld, "iser");

	switch (req->op) {
	case OP_SHOW:
		show_lld(out);
		return TGTADM_SUCCESS;
	case OP_START:
		return iser ? TGTADM_UNKNOWN_ERR : lld_start(loop);
	case OP_STOP:
		return iser ? TGTADM_SUCCESS : lld_stop();
	default:
		return TGTADM_INVALID_REQUEST;
	}
}
