/* `--mode system`: daemon-wide settings (debug, system state, the iSNS
 * keys), statistics and shutdown (spec §2.8, §4.6). Main thread only,
 * like the state kept here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "mgmt/modes.h"
#include "mgmt/show.h"
#include "mgmt/stat.h"
#include "target/registry.h"


/* ---- sys update ---- */

/* One item of a system update, checked before anything is changed. */
struct sys_item {
	enum { SYS_ISNS, SYS_IP, SYS_PORT, SYS_AC, SYS_STATE } key;
	const char *value;
	int number;
};

/* tgt's "%d": strtol with base 0 that must consume the whole value; the
 * result is truncated to int as tgt stores it. */
static bool parse_int(const char *v, int *out)
{
	char *end;
	long n;

	n = strtol(v, &end, 0);
	if (end == v || *end)
		return false;
	*out = (int)n;
	return true;
}

static bool check_isns(const char *v)
{
	if (!strcmp(v, "On")) {
		/* This tgtd has no iSNS client: storing On would make
		 * tgt-admin believe a server is being used, so refuse. */
		log_error("iSNS is not supported by this tgtd");
		return false;
	}
	return !strcmp(v, "Off");
}

static bool check_state(const char *v)
{
	return !strcmp(v, "offline") || !strcmp(v, "ready");
}

/* Parses "key=value" (a value may not be empty, as in tgt). */
static bool parse_sys_item(char *item, struct sys_item *it)
{
	static const struct {
		const char *key;
		int id;
	} keys[] = {
		{ "iSNS", SYS_ISNS }, { "iSNSServerIP", SYS_IP },
		{ "iSNSServerPort", SYS_PORT }, { "iSNSAccessControl", SYS_AC },
		{ "State", SYS_STATE },
	};
	char *eq = strchr(item, '=');

	if (!eq || !eq[1])
		return false;
	*eq = '\0';
	it->value = eq + 1;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(item, keys[i].key))
			continue;
		it->key = keys[i].id;
		switch (it->key) {
		case SYS_ISNS:
			return check_isns(it->value);
		case SYS_PORT:
			return parse_int(it->value, &it->number);
		case SYS_STATE:
			return check_state(it->value);
		default:
			return true;
		}
	}
	return false;
}

static void apply_sys_item(const struct sys_item *it)
{
	struct isns_conf *isns = registry_isns();

	switch (it->key) {
	case SYS_ISNS:
		isns->on = false;
		break;
	case SYS_IP:
		snprintf(isns->server_ip, sizeof(isns->server_ip), "%s",
			 it->value);
		break;
	case SYS_PORT:
		isns->server_port = it->number;
		break;
	case SYS_AC:
		isns->access_control = !strcmp(it->value, "On");
		break;
	case SYS_STATE:
		registry_set_system_state(!strcmp(it->value, "ready")
						  ? SYSTEM_READY
						  : SYSTEM_OFFLINE);
		break;
	}
}

#define SYS_ITEMS_MAX 16

/* The driver's part of a system update: comma-separated items, all
 * checked before any is applied. */
static enum tgtadm_err driver_update(char *payload)
{
	struct sys_item items[SYS_ITEMS_MAX];
	unsigned n = 0;
	char *item, *save = NULL;

	for (item = strtok_r(payload, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		if (n == SYS_ITEMS_MAX || !parse_sys_item(item, &items[n]))
			return TGTADM_INVALID_REQUEST;
		n++;
	}
	if (!n)
		return TGTADM_INVALID_REQUEST;
	for (unsigned i = 0; i < n; i++)
		apply_sys_item(&items[i]);
	return TGTADM_SUCCESS;
}

static enum tgtadm_err system_update(char *payload)
{
	const char *v = payload + 6;

	if (strncmp(payload, "debug=", 6))
		return driver_update(payload);
	if (!strncmp(v, "on", 2))
		log_set_debug(true);
	else if (!strncmp(v, "off", 3))
		log_set_debug(false);
	else
		return TGTADM_INVALID_REQUEST;
	return TGTADM_SUCCESS;
}

struct mgmt_result system_mode(struct ev_loop *loop,
			       const struct tgtadm_req *req, char *payload,
			       struct strbuf *out)
{
	struct mgmt_result r = { TGTADM_SUCCESS, false };

	(void)loop;
	switch (req->op) {
	case OP_SHOW:
		show_system(out);
		break;
	case OP_UPDATE:
		r.err = system_update(payload);
		break;
	case OP_STATS:
		stat_system(out);
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
