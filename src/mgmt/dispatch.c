/* Routing of one management request: driver (lld) resolution, then the
 * handler of its mode (spec §2.8). The modes with little logic of their
 * own (portal, session, connection, account, unknown) are handled here;
 * the others have a file each. Main thread. */
#include "mgmt/dispatch.h"

#include <stdio.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "mgmt/modes.h"
#include "mgmt/show.h"
#include "mgmt/stat.h"
#include "target/registry.h"

char *payload_value(const char *payload, const char *key, char *buf,
		    size_t size)
{
	size_t klen = strlen(key);
	const char *p = payload;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			const char *v = p + klen + 1;
			size_t n = strcspn(v, ",");

			if (n >= size)
				n = size - 1;
			memcpy(buf, v, n);
			buf[n] = '\0';
			return buf;
		}
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return NULL;
}

/* "portalOps portal=A:P," or a list of portal= items. */
static enum tgtadm_err portal_op(struct ev_loop *loop, int op, char *payload)
{
	char *p = strstr(payload, "portal=");
	char spec[128];
	int ret;

	if (!p)
		return TGTADM_INVALID_REQUEST;
	p += 7;
	snprintf(spec, sizeof(spec), "%.*s", (int)strcspn(p, ","), p);
	ret = op == OP_NEW ? iscsi_portal_add(loop, spec)
			   : iscsi_portal_del(spec);
	return ret ? TGTADM_INVALID_REQUEST : TGTADM_SUCCESS;
}

static enum tgtadm_err portal_mode(struct ev_loop *loop,
				   const struct tgtadm_req *req, char *payload,
				   struct strbuf *out)
{
	if (req->op == OP_SHOW) {
		show_portals(out);
		return TGTADM_SUCCESS;
	}
	if (req->op == OP_NEW || req->op == OP_DELETE)
		return portal_op(loop, req->op, payload);
	return TGTADM_INVALID_REQUEST;
}

/* tgt hands every op but stat to the driver's update hook, which knows
 * none of them for sessions. */
static enum tgtadm_err session_mode(const struct tgtadm_req *req,
				    struct strbuf *out)
{
	if (req->op == OP_STATS)
		return stat_session(req->sid, out);
	return TGTADM_INVALID_REQUEST;
}

static enum tgtadm_err connection_mode(const struct tgtadm_req *req,
				       struct strbuf *out)
{
	struct target *t;

	/* Connection statistics find the session by sid alone, like tgt. */
	if (req->op == OP_STATS)
		return stat_connection(req->sid, req->cid, out);
	if (req->op != OP_SHOW && req->op != OP_DELETE)
		return TGTADM_INVALID_REQUEST;
	t = target_find(req->tid);
	if (!t)
		return TGTADM_NO_TARGET;
	if (req->op == OP_DELETE)
		return iscsi_target_close_conn(t, req->sid, req->cid);
	show_connections(t, out);
	return TGTADM_SUCCESS;
}

/* Modes tgtadm cannot send: tgt asks the driver's show hook, which wants
 * an existing target and then knows nothing to show. */
static enum tgtadm_err unknown_mode(const struct tgtadm_req *req)
{
	if (req->op == OP_SHOW && !target_find(req->tid))
		return TGTADM_NO_TARGET;
	return TGTADM_INVALID_REQUEST;
}

/* An empty name is driver 0 (iscsi) whatever its state; a named driver
 * must be ready except for `--mode lld`, which starts and stops it. */
static bool driver_usable(const struct tgtadm_req *req)
{
	if (!req->lld[0])
		return true;
	if (!strcmp(req->lld, "iscsi"))
		return req->mode == MODE_LLD || lld_iscsi_state() == LLD_READY;
	return !strcmp(req->lld, "iser") && req->mode == MODE_LLD;
}

static enum tgtadm_err execute_mode(struct ev_loop *loop,
				    const struct tgtadm_req *req,
				    char *payload, struct strbuf *out,
				    struct target_waiter *wait)
{
	switch (req->mode) {
	case MODE_TARGET:
		return target_mode(loop, req, payload, out, wait);
	case MODE_DEVICE:
		return lu_mode(req, payload, out, wait);
	case MODE_PORTAL:
		return portal_mode(loop, req, payload, out);
	case MODE_LLD:
		return lld_mode(loop, req, out);
	case MODE_SESSION:
		return session_mode(req, out);
	case MODE_CONNECTION:
		return connection_mode(req, out);
	case MODE_ACCOUNT:
		return account_mode(req, payload, out);
	default:
		return unknown_mode(req);
	}
}

struct mgmt_result mgmt_execute(struct ev_loop *main_loop,
				const struct tgtadm_req *req, char *payload,
				struct strbuf *out, struct target_waiter *wait)
{
	struct mgmt_result r = { TGTADM_SUCCESS, false };

	if (!driver_usable(req)) {
		r.err = TGTADM_NO_DRIVER;
		return r;
	}
	if (req->mode == MODE_SYSTEM)
		return system_mode(main_loop, req, payload, out);
	r.err = execute_mode(main_loop, req, payload, out, wait);
	return r;
}
