#include "mgmt/show.h"

#include <stdio.h>
#include <string.h>

#include "backing/bs.h"
#include "common/log.h"
#include "iscsi/iscsi.h"
#include "mgmt/modes.h"
#include "target/registry.h"

static const char *yes_no(bool v)
{
	return v ? "Yes" : "No";
}

static const char *device_type_name(uint8_t type)
{
	switch (type) {
	case 0x00: return "disk";
	case 0x01: return "tape";
	case 0x02: return "printer";
	case 0x03: return "processor";
	case 0x04: return "worm";
	case 0x05: return "cd/dvd";
	case 0x06: return "scanner";
	case 0x07: return "optical";
	case 0x08: return "changer";
	case 0x09: return "communication";
	case 0x0c: return "controller";
	case 0x0d: return "enclosure";
	case 0x0e: return "rbc";
	case 0x11: return "osd";
	case 0xff: return "passthrough";
	default: return "No LUN";
	}
}

/* tgt's size in "MB": about bytes / 10^6, computed its way so the digits
 * match for every size (spec §4.3). */
static unsigned long long size_mb(uint64_t bytes)
{
	uint64_t sectors = bytes / 512;

	return (unsigned long long)((sectors - (sectors / 625 - 974)) / 1950);
}

static void bsoflags_text(int oflags, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", oflags & BS_OFLAG_SYNC ? "sync" : "",
		 (oflags & BS_OFLAG_SYNC) && (oflags & BS_OFLAG_DIRECT) ? ":"
									: "",
		 oflags & BS_OFLAG_DIRECT ? "direct" : "");
}

/* tgt's CD/DVD drives always use its "mmc" store, whatever serves
 * ours, and its show gives them blocks of 1 byte, disc or not (their
 * 2048 bytes are READ CAPACITY's; spec §4.3). */
static const char *store_name(const struct scsi_lu *lu)
{
	if (lu->type == SCSI_TYPE_MMC)
		return "mmc";
	return lu->bs.ops ? lu->bs.ops->name : "null";
}

static unsigned shown_block_size(const struct scsi_lu *lu)
{
	if (lu->type == SCSI_TYPE_MMC)
		return 1;
	return 1u << lu->blk_shift;
}

static void show_lu(const struct scsi_lu *lu, struct strbuf *out)
{
	char flags[32];

	bsoflags_text(lu->bs.oflags, flags, sizeof(flags));
	strbuf_printf(out,
		      "        LUN: %llu\n"
		      "            Type: %s\n"
		      "            SCSI ID: %s\n"
		      "            SCSI SN: %s\n"
		      "            Size: %llu MB, Block size: %u\n"
		      "            Online: %s\n"
		      "            Removable media: %s\n"
		      "            Prevent removal: %s\n"
		      "            Readonly: %s\n"
		      "            SWP: %s\n"
		      "            Thin-provisioning: %s\n"
		      "            Backing store type: %s\n"
		      "            Backing store path: %s\n"
		      "            Backing store flags: %s\n",
		      (unsigned long long)lu->lun, device_type_name(lu->type),
		      lu->scsi_id, lu->scsi_sn, size_mb(lu->size),
		      shown_block_size(lu), yes_no(lu->online),
		      yes_no(lu->removable), yes_no(lu->prevent_removal),
		      yes_no(lu->readonly), yes_no(lu->swp),
		      yes_no(lu->thin_provisioning),
		      store_name(lu), lu->path ? lu->path : "None", flags);
}

static void show_connection(uint16_t cid, const char *ip, struct strbuf *out)
{
	strbuf_printf(out,
		      "            Connection: %u\n"
		      "                IP Address: %s\n",
		      cid, ip);
}

/* Every connection of a session (MC/S), as tgt lists them. */
static void show_nexuses(struct target *t, struct strbuf *out)
{
	struct iscsi_session *sess;
	struct iscsi_conn *conn;

	pthread_mutex_lock(&t->iscsi->roster_lock);
	list_for_each_entry(sess, &t->iscsi->sessions, node) {
		strbuf_printf(out,
			      "        I_T nexus: %u\n"
			      "            Initiator: %s alias: %s\n",
			      sess->tsih, sess->initiator_name,
			      sess->initiator_alias[0] ? sess->initiator_alias
						       : "none");
		if (list_empty(&sess->conns))
			show_connection(sess->first_cid, sess->first_ip, out);
		list_for_each_entry(conn, &sess->conns, session_node)
			show_connection(conn->cid, conn->peer_ip, out);
	}
	pthread_mutex_unlock(&t->iscsi->roster_lock);
}

/* Incoming accounts in slot order, then the outgoing one. */
static void show_bound_accounts(const struct account_binds *b,
				const char *indent, struct strbuf *out)
{
	for (unsigned i = 0; i < b->nr_slots; i++)
		if (b->in[i])
			strbuf_printf(out, "%s%s\n", indent, b->in[i]->user);
	if (b->out)
		strbuf_printf(out, "%s%s (outgoing)\n", indent, b->out->user);
}

/* Without the target lock: a busy target thread holds it nearly all the
 * time, also while it waits for a CPU, and `show` would wait with it
 * (DESIGN.md rule 7). What the target thread changes and this prints is
 * either under the roster lock (sessions, connections) or atomic (LU
 * flags); everything else here only this thread changes. */
static void show_one_target(struct target *t, struct strbuf *out)
{
	struct scsi_lu *lu;
	struct acl_entry *a;

	strbuf_printf(out,
		      "Target %d: %s\n"
		      "    System information:\n"
		      "        Driver: iscsi\n"
		      "        State: %s\n",
		      t->tid, t->name,
		      t->state == TARGET_READY ? "ready" : "offline");
	/* tgt keeps them as int: a negative value prints as one. */
	if (t->iscsi->nop_interval)
		strbuf_printf(out,
			      "        Nop interval: %d\n"
			      "        Nop count: %d\n",
			      (int)t->iscsi->nop_interval,
			      (int)t->iscsi->nop_count);
	/* mtgt's own; absent without a limit, as tgt shows it. */
	if (t->iscsi->max_sessions)
		strbuf_printf(out, "        Max sessions: %u\n",
			      t->iscsi->max_sessions);
	strbuf_printf(out, "    I_T nexus information:\n");
	show_nexuses(t, out);
	strbuf_printf(out, "    LUN information:\n");
	list_for_each_entry(lu, &t->lus, node)
		show_lu(lu, out);
	strbuf_printf(out, "    Account information:\n");
	show_bound_accounts(&t->accounts, "        ", out);
	strbuf_printf(out, "    ACL information:\n");
	list_for_each_entry(a, &t->acl_addrs, node)
		strbuf_printf(out, "        %s\n", a->value);
	list_for_each_entry(a, &t->acl_names, node)
		strbuf_printf(out, "        %s\n", a->value);
}

void show_targets(struct strbuf *out)
{
	struct target *t;

	list_for_each_entry(t, target_list(), node)
		show_one_target(t, out);
}

/* A redirected target shows its redirection instead of its keys. */
static bool show_redirect(const struct target_redirect *rd,
			  struct strbuf *out)
{
	static const char *const reasons[] = {
		[REDIRECT_NONE] = "Unknown",
		[REDIRECT_TEMPORARY] = "Temporary",
		[REDIRECT_PERMANENT] = "Permanent",
	};

	if (rd->has_callback) {
		strbuf_printf(out, "RedirectCallback=%s\n", rd->callback);
		return true;
	}
	if (!rd->addr[0])
		return false;
	strbuf_printf(out,
		      "RedirectAddress=%s\n"
		      "RedirectPort=%s\n"
		      "RedirectReason=%s\n",
		      rd->addr, rd->port, reasons[rd->reason]);
	return true;
}

void show_target_params(struct target *t, struct strbuf *out)
{
	char value[32];

	if (show_redirect(&t->redirect, out))
		return;
	strbuf_printf(out, "nop_interval=%d\nnop_count=%d\n",
		      (int)t->iscsi->nop_interval, (int)t->iscsi->nop_count);
	for (int i = 0; i < ISCSI_PARAM_COUNT; i++) {
		iscsi_param_format((enum iscsi_param)i, t->iscsi->params.val[i],
				   value, sizeof(value));
		strbuf_printf(out, "%s=%s\n",
			      iscsi_param_name((enum iscsi_param)i), value);
	}
}

static const char *lld_state_name(void)
{
	return lld_iscsi_state() == LLD_READY ? "ready" : "stopped";
}

/* The discovery accounts, only when one incoming is bound; tgt prints
 * the header with an extra newline and the names at the header's depth. */
static void show_discovery_accounts(struct strbuf *out)
{
	const struct account_binds *b =
		account_binds_of(TARGET_DISCOVERY_TID);

	if (!b->nr_in)
		return;
	strbuf_printf(out, "    Account information:\n\n");
	show_bound_accounts(b, "    ", out);
}

static void show_isns(struct strbuf *out)
{
	const struct isns_conf *c = registry_isns();

	strbuf_printf(out,
		      "iSNS:\n"
		      "    iSNS=%s\n"
		      "    iSNSServerIP=%s\n"
		      "    iSNSServerPort=%d\n"
		      "    iSNSAccessControl=%s\n",
		      c->on ? "On" : "Off", c->server_ip, c->server_port,
		      c->access_control ? "On" : "Off");
}

void show_system(struct strbuf *out)
{
	const struct bs_ops *const *ops;

	strbuf_printf(out,
		      "System:\n"
		      "    State: %s\n"
		      "    debug: %s\n"
		      "LLDs:\n"
		      "    iscsi: %s\n"
		      "    iser: error\n"
		      "Backing stores:\n",
		      registry_system_state() == SYSTEM_READY ? "ready"
							       : "offline",
		      log_debug_enabled() ? "on" : "off", lld_state_name());
	for (ops = bs_all(); *ops; ops++)
		strbuf_printf(out, "    %s%s\n", (*ops)->name,
			      (*ops)->supports_oflags ? " (bsoflags sync:direct)"
						      : "");
	strbuf_printf(out,
		      "Device types:\n"
		      "    disk\n"
		      "    controller\n");
	show_discovery_accounts(out);
	show_isns(out);
}

void show_lld(struct strbuf *out)
{
	struct target *t;

	strbuf_printf(out, "LLDs:\n    iscsi: %s\n", lld_state_name());
	list_for_each_entry(t, target_list(), node)
		strbuf_printf(out, "        Target %d: %s\n", t->tid, t->name);
	strbuf_printf(out, "    iser: error\n");
}

void show_accounts(struct strbuf *out)
{
	struct account *ac;

	if (!list_empty(account_list()))
		strbuf_printf(out, "Account list:\n");
	list_for_each_entry(ac, account_list(), node)
		strbuf_printf(out, "    %s\n", ac->user);
}

void show_portals(struct strbuf *out)
{
	struct iscsi_portal *p;

	list_for_each_entry(p, iscsi_portals(), node) {
		if (p->family == AF_INET6)
			strbuf_printf(out, "Portal: [%s]:%d,1\n", p->addr,
				      p->port);
		else
			strbuf_printf(out, "Portal: %s:%d,1\n", p->addr,
				      p->port);
	}
}

/* `conn show`: sessions newest first, their connections newest first. */
void show_connections(struct target *t, struct strbuf *out)
{
	struct iscsi_session *sess;
	struct iscsi_conn *conn;

	pthread_mutex_lock(&t->iscsi->roster_lock);
	list_for_each_entry_reverse(sess, &t->iscsi->sessions, node) {
		strbuf_printf(out, "Session: %u\n", sess->tsih);
		list_for_each_entry_reverse(conn, &sess->conns, session_node)
			strbuf_printf(out,
				      "    Connection: %u\n"
				      "        Initiator: %s\n"
				      "        IP Address: %s\n",
				      conn->cid, sess->initiator_name,
				      conn->peer_ip);
	}
	pthread_mutex_unlock(&t->iscsi->roster_lock);
}
