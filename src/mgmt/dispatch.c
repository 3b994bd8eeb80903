#include "mgmt/dispatch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "iscsi/iscsi.h"
#include "mgmt/show.h"
#include "target/registry.h"

/* Value of "key=" inside a comma-separated payload, up to the next comma
 * (or to the end when to_end). Returns NULL if absent. */
static char *payload_value(const char *payload, const char *key, bool to_end,
			   char *buf, size_t size)
{
	size_t klen = strlen(key);
	const char *p = payload;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			const char *v = p + klen + 1;
			size_t n = to_end ? strlen(v) : strcspn(v, ",");

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

static enum tgtadm_err system_update(char *payload)
{
	char *eq = strchr(payload, '=');
	const char *value;

	if (!eq)
		return TGTADM_INVALID_REQUEST;
	*eq = '\0';
	value = eq + 1;
	if (!strcmp(payload, "debug")) {
		if (!strncmp(value, "on", 2))
			log_set_debug(true);
		else if (!strncmp(value, "off", 3))
			log_set_debug(false);
		else
			return TGTADM_INVALID_REQUEST;
		return TGTADM_SUCCESS;
	}
	if (!strcmp(payload, "State")) {
		if (!strcmp(value, "offline"))
			registry_set_system_state(SYSTEM_OFFLINE);
		else if (!strcmp(value, "ready"))
			registry_set_system_state(SYSTEM_READY);
		else
			return TGTADM_INVALID_REQUEST;
		return TGTADM_SUCCESS;
	}
	return TGTADM_INVALID_REQUEST;
}

static struct mgmt_result system_mode(const struct tgtadm_req *req,
				      char *payload, struct strbuf *out)
{
	struct mgmt_result r = { TGTADM_SUCCESS, false };

	switch (req->op) {
	case OP_SHOW:
		show_system(out);
		break;
	case OP_UPDATE:
		r.err = system_update(payload);
		break;
	case OP_DELETE:
		if (!list_empty(target_list()))
			r.err = TGTADM_INVALID_REQUEST;
		else
			r.stop_daemon = true;
		break;
	default:
		r.err = TGTADM_INVALID_REQUEST;
	}
	return r;
}

static enum tgtadm_err target_update(struct target *t, char *payload)
{
	char *eq = strchr(payload, '=');
	bool known;

	if (!eq)
		return TGTADM_INVALID_REQUEST;
	*eq = '\0';
	if (!strcmp(payload, "state")) {
		if (!strcmp(eq + 1, "ready"))
			t->state = TARGET_READY;
		else if (!strcmp(eq + 1, "offline"))
			t->state = TARGET_OFFLINE;
		else
			return TGTADM_INVALID_REQUEST;
		return TGTADM_SUCCESS;
	}
	if (!strncasecmp(payload, "nop_interval", 12)) {
		t->iscsi->nop_interval = (unsigned)atoi(eq + 1);
		return TGTADM_SUCCESS;
	}
	if (!strncasecmp(payload, "nop_count", 9)) {
		t->iscsi->nop_count = (unsigned)atoi(eq + 1);
		return TGTADM_SUCCESS;
	}
	/* Only the main thread reads these (at login), so no lock. */
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

static struct mgmt_result target_mode(struct ev_loop *loop,
				      const struct tgtadm_req *req,
				      char *payload, struct strbuf *out)
{
	struct mgmt_result r = { TGTADM_SUCCESS, false };
	struct target *t = req->tid >= 0 ? target_find(req->tid) : NULL;
	char name[TARGET_NAME_MAX + 2];

	if (req->op == OP_NEW) {
		if (!payload_value(payload, "targetname", false, name,
				   sizeof(name)))
			r.err = TGTADM_INVALID_REQUEST;
		else
			r.err = target_create(req->tid, name, loop);
		return r;
	}
	if (req->op == OP_SHOW && req->tid < 0) {
		show_targets(out);
		return r;
	}
	if (!t) {
		r.err = TGTADM_NO_TARGET;
		return r;
	}
	switch (req->op) {
	case OP_DELETE:
		r.err = target_destroy(req->tid, req->force);
		break;
	case OP_SHOW:
		show_target_params(t, out);
		break;
	case OP_BIND:
	case OP_UNBIND:
		r.err = target_acl(t, req->op == OP_BIND, payload);
		break;
	case OP_UPDATE:
		r.err = target_update(t, payload);
		break;
	default:
		r.err = TGTADM_INVALID_REQUEST;
	}
	return r;
}

static bool parse_bool01(const char *v, bool *out)
{
	if (!strcmp(v, "0") || !strcmp(v, "1")) {
		*out = v[0] == '1';
		return true;
	}
	return false;
}

static bool set_string(char *dst, size_t size, const char *v)
{
	if (strlen(v) >= size)
		return false;
	snprintf(dst, size, "%s", v);
	return true;
}

/* One LU parameter (spec §3.4). Called with the target lock held. */
static enum tgtadm_err lu_param(struct scsi_lu *lu, const char *key,
				const char *v)
{
	bool ok;

	if (!strcmp(key, "vendor_id"))
		ok = set_string(lu->vendor_id, sizeof(lu->vendor_id), v);
	else if (!strcmp(key, "product_id"))
		ok = set_string(lu->product_id, sizeof(lu->product_id), v);
	else if (!strcmp(key, "product_rev"))
		ok = set_string(lu->product_rev, sizeof(lu->product_rev), v);
	else if (!strcmp(key, "scsi_id"))
		ok = set_string(lu->scsi_id, sizeof(lu->scsi_id), v);
	else if (!strcmp(key, "scsi_sn"))
		ok = set_string(lu->scsi_sn, sizeof(lu->scsi_sn), v);
	else if (!strcmp(key, "removable"))
		ok = parse_bool01(v, &lu->removable);
	else if (!strcmp(key, "readonly"))
		ok = parse_bool01(v, &lu->readonly);
	else if (!strcmp(key, "online"))
		ok = parse_bool01(v, &lu->online);
	else if (!strcmp(key, "sense_format"))
		ok = parse_bool01(v, &lu->sense_descriptor);
	else if (!strcmp(key, "thin_provisioning"))
		ok = parse_bool01(v, &lu->thin_provisioning);
	else
		ok = false;
	return ok ? TGTADM_SUCCESS : TGTADM_INVALID_REQUEST;
}

/* Applies every "key=value" of an update; all or nothing. */
static enum tgtadm_err lu_update(struct target *t, struct scsi_lu *lu,
				 char *payload)
{
	struct scsi_lu saved;
	enum tgtadm_err err = TGTADM_SUCCESS;
	char *item, *save = NULL;

	if (!strncmp(payload, "targetOps", 9))
		payload += payload[9] ? 10 : 9;
	target_lock(t);
	saved = *lu;
	for (item = strtok_r(payload, ",", &save); item && !err;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');

		if (!eq) {
			err = TGTADM_INVALID_REQUEST;
			break;
		}
		*eq = '\0';
		err = lu_param(lu, item, eq + 1);
	}
	if (err)
		*lu = saved;
	target_unlock(t);
	return err;
}

static struct mgmt_result lu_mode(const struct tgtadm_req *req, char *payload)
{
	struct mgmt_result r = { TGTADM_SUCCESS, false };
	struct target *t = target_find(req->tid);
	char path[4096], bstype[32], oflags[64], bsize[32];
	struct scsi_lu *lu;

	if (!t) {
		r.err = TGTADM_NO_TARGET;
		return r;
	}
	switch (req->op) {
	case OP_NEW:
		r.err = target_add_lu(
			t, req->lun,
			payload_value(payload, "path", false, path, sizeof(path)),
			payload_value(payload, "bstype", false, bstype,
				      sizeof(bstype)),
			payload_value(payload, "bsoflags", false, oflags,
				      sizeof(oflags)),
			payload_value(payload, "blocksize", false, bsize,
				      sizeof(bsize))
				? (unsigned)strtoul(bsize, NULL, 0)
				: 0);
		break;
	case OP_DELETE:
		r.err = target_del_lu(t, req->lun, req->force);
		break;
	case OP_UPDATE:
		lu = target_find_lu(t, req->lun);
		r.err = lu ? lu_update(t, lu, payload) : TGTADM_NO_LUN;
		break;
	default:
		r.err = TGTADM_INVALID_REQUEST;
	}
	return r;
}

/* "portalOps portal=A:P," or a list of portal= items. */
static enum tgtadm_err portal_mode_op(struct ev_loop *loop, int op,
				      char *payload)
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

static struct mgmt_result portal_mode(struct ev_loop *loop,
				      const struct tgtadm_req *req,
				      char *payload, struct strbuf *out)
{
	struct mgmt_result r = { TGTADM_SUCCESS, false };

	if (req->op == OP_SHOW)
		show_portals(out);
	else if (req->op == OP_NEW || req->op == OP_DELETE)
		r.err = portal_mode_op(loop, req->op, payload);
	else
		r.err = TGTADM_INVALID_REQUEST;
	return r;
}

static struct mgmt_result other_modes(const struct tgtadm_req *req,
				      struct strbuf *out)
{
	struct mgmt_result r = { TGTADM_SUCCESS, false };
	struct target *t;

	switch (req->mode) {
	case MODE_LLD:
		if (req->op == OP_SHOW)
			show_lld(out);
		else if (req->op == OP_STOP && !list_empty(target_list()))
			r.err = TGTADM_DRIVER_ACTIVE;
		else if (req->op != OP_START && req->op != OP_STOP)
			r.err = TGTADM_INVALID_REQUEST;
		break;
	case MODE_CONNECTION:
		t = target_find(req->tid);
		if (!t)
			r.err = TGTADM_NO_TARGET;
		else if (req->op == OP_SHOW)
			show_connections(t, out);
		else
			r.err = TGTADM_INVALID_REQUEST;
		break;
	default:
		r.err = TGTADM_INVALID_REQUEST;
	}
	return r;
}

static bool lld_known(const struct tgtadm_req *req)
{
	char lld[TGT_LLD_NAME_LEN];

	memcpy(lld, req->lld, sizeof(lld));
	lld[sizeof(lld) - 1] = '\0';
	return !lld[0] || !strcmp(lld, "iscsi");
}

struct mgmt_result mgmt_execute(struct ev_loop *main_loop,
				const struct tgtadm_req *req, char *payload,
				struct strbuf *out)
{
	struct mgmt_result r = { TGTADM_SUCCESS, false };

	if (!lld_known(req)) {
		r.err = TGTADM_NO_DRIVER;
		return r;
	}
	switch (req->mode) {
	case MODE_SYSTEM:
		return system_mode(req, payload, out);
	case MODE_TARGET:
		return target_mode(main_loop, req, payload, out);
	case MODE_DEVICE:
		return lu_mode(req, payload);
	case MODE_PORTAL:
		return portal_mode(main_loop, req, payload, out);
	default:
		return other_modes(req, out);
	}
}
