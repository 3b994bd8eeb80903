/* --dump: a targets.conf that re-creates what tgtd runs now.
 *
 * Debian's tgt-admin writes only targets, paths, accounts and ACLs (and
 * renumbers the LUNs). Here every setting tgtd shows is kept: tids
 * (controller_tid), LUN numbers, device type, backing-store type, flags,
 * block size, SCSI ID and serial, removable/readonly/online,
 * thin provisioning, target state, iSCSI parameters that differ from tgt's
 * defaults, nop settings, the session limit, redirection, ACLs, discovery
 * accounts and iSNS.
 * What tgtd does not show cannot be dumped: passwords (written as
 * PLEASE_CORRECT_THE_PASSWORD, as tgt-admin does), vendor/product ids,
 * mode pages (write-cache), sense format, rotation rate. States a
 * targets.conf cannot express are written as comments. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/admin.h"

#define NO_PASSWORD "PLEASE_CORRECT_THE_PASSWORD"
#define DEFAULT_BLOCK_SIZE 512
#define DEFAULT_ISNS_PORT "3205"

/* tgt's defaults of the target parameters a configuration may set
 * (spec tgt-compat.md §6); a value that differs is dumped. */
static const struct {
	const char *name, *value;
} param_defaults[] = {
	{ "MaxRecvDataSegmentLength", "8192" }, { "HeaderDigest", "None" },
	{ "DataDigest", "None" }, { "InitialR2T", "Yes" },
	{ "MaxOutstandingR2T", "1" }, { "ImmediateData", "Yes" },
	{ "FirstBurstLength", "65536" }, { "MaxBurstLength", "262144" },
	{ "DataPDUInOrder", "Yes" }, { "DataSequenceInOrder", "Yes" },
	{ "ErrorRecoveryLevel", "0" }, { "IFMarker", "No" },
	{ "OFMarker", "No" }, { "DefaultTime2Wait", "2" },
	{ "DefaultTime2Retain", "20" }, { "MaxConnections", "1" },
	{ "RDMAExtensions", "Yes" },
	{ "TargetRecvDataSegmentLength", "262144" },
	{ "InitiatorRecvDataSegmentLength", "262144" },
	{ "MaxOutstandingUnexpectedPDUs", "0" },
	{ "MaxXmitDataSegmentLength", "8192" }, { "MaxQueueCmd", "128" },
	{ "nop_interval", "0" }, { "nop_count", "0" },
	{ "RedirectAddress", "" }, { "RedirectPort", "" },
	{ "RedirectCallback", "" }, { "RedirectReason", "Unknown" },
};

/* Whether a "Name=Value" line of `show --tid` differs from the default
 * of a parameter a configuration can set. */
static bool param_worth_dumping(const char *name, const char *value)
{
	for (size_t i = 0; i < sizeof(param_defaults) /
				   sizeof(param_defaults[0]); i++)
		if (!strcmp(name, param_defaults[i].name))
			return strcmp(value, param_defaults[i].value) != 0;
	return false; /* OFMarkInt, IFMarkInt: shown, never set */
}

static void dump_params(struct admin *a, const struct state_target *t)
{
	char *text = admin_query(a, MODE_TARGET, t->tid);
	bool redirected = false;
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		if (!eq)
			continue;
		*eq = '\0';
		redirected |= !strncmp(line, "Redirect", 8);
		if (param_worth_dumping(line, eq + 1))
			printf("\t%s %s\n", line, eq + 1);
	}
	free(text);
	if (redirected)
		printf("\t# tgtd shows no other parameter of a redirected "
		       "target\n");
}

/* ---- LUNs ---- */

static const char *device_type_directive(const char *type)
{
	static const struct {
		const char *shown, *directive;
	} types[] = {
		{ "disk", "disk" }, { "cd/dvd", "cd" }, { "tape", "tape" },
		{ "changer", "changer" }, { "osd", "osd" },
		{ "passthrough", "pt" },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (type && !strcmp(type, types[i].shown))
			return types[i].directive;
	return NULL;
}

/* How many LUNs of all targets use this path. */
static size_t path_users(const struct tgtd_state *st, const char *path)
{
	size_t n = 0;

	for (size_t i = 0; i < st->nr_targets; i++)
		for (size_t j = 0; j < st->targets[i].nr_luns; j++)
			n += st->targets[i].luns[j].path &&
			     !strcmp(st->targets[i].luns[j].path, path);
	return n;
}

/* The flags whose default depends on the device type. */
static void dump_lun_flags(const struct state_lun *l, const char *type)
{
	bool removable_type = strcmp(type, "disk") != 0;

	if (l->removable != removable_type)
		printf("\t\tremovable %d\n", l->removable);
	if (l->readonly)
		printf("\t\treadonly 1\n");
	if (!l->online)
		printf("\t\tonline 0\n");
	if (l->thin_provisioning)
		printf("\t\tparams thin_provisioning=1\n");
	if (l->swp)
		printf("\t\t# SWP is set: a mode_page directive for page 0x0a "
		       "would be needed\n");
}

static void dump_lun(const struct admin *a, const struct state_target *t,
		     const struct state_lun *l)
{
	const char *type = device_type_directive(l->type);
	char id[64];

	if (!type || !l->path) {
		printf("\t# LUN %llu (%s, %s) cannot be written as a "
		       "backing-store\n", (unsigned long long)l->lun,
		       l->type ? l->type : "?", l->path ? l->path : "no path");
		return;
	}
	printf("\t<backing-store %s>\n\t\tlun %llu\n", l->path,
	       (unsigned long long)l->lun);
	if (strcmp(type, "disk"))
		printf("\t\tdevice-type %s\n", type);
	if (l->bs_type)
		printf("\t\tbs-type %s\n", l->bs_type);
	if (l->bs_flags && *l->bs_flags)
		printf("\t\tbsoflags %s\n", l->bs_flags);
	/* A CD/DVD's blocks are fixed (and shown as 1 byte, as by tgt). */
	if (l->block_size && l->block_size != DEFAULT_BLOCK_SIZE &&
	    strcmp(type, "cd"))
		printf("\t\tblock-size %u\n", l->block_size);
	snprintf(id, sizeof(id), "IET     %04x%04llx", t->tid,
		 (unsigned long long)l->lun);
	if (l->scsi_id && strcmp(l->scsi_id, id))
		printf("\t\tscsi_id %s\n", l->scsi_id);
	snprintf(id, sizeof(id), "beaf%d%llu", t->tid,
		 (unsigned long long)l->lun);
	if (l->scsi_sn && strcmp(l->scsi_sn, id))
		printf("\t\tscsi_sn %s\n", l->scsi_sn);
	dump_lun_flags(l, type);
	/* a file shared by LUNs would look "in use" to the second one */
	if (path_users(&a->state, l->path) > 1)
		printf("\t\tallow-in-use yes\n");
	printf("\t</backing-store>\n");
}

/* ---- access ---- */

/* An address ACL as tgtd takes it: ALL, an IPv4 or IPv6 address, in
 * brackets or not, with or without a /prefix. */
static bool looks_like_address(const char *acl)
{
	char buf[INET6_ADDRSTRLEN + 8];
	unsigned char bin[sizeof(struct in6_addr)];
	size_t len;

	if (!strcmp(acl, "ALL"))
		return true;
	snprintf(buf, sizeof(buf), "%s", acl[0] == '[' ? acl + 1 : acl);
	buf[strcspn(buf, "/")] = '\0';
	len = strlen(buf);
	if (len && buf[len - 1] == ']')
		buf[len - 1] = '\0';
	return inet_pton(AF_INET, buf, bin) == 1 ||
	       inet_pton(AF_INET6, buf, bin) == 1;
}

static void dump_access(const struct state_target *t)
{
	const struct str_list *acls = &t->acls;
	bool any_address = false;

	for (size_t i = 0; i < t->incoming.count; i++)
		printf("\tincominguser %s " NO_PASSWORD "\n",
		       t->incoming.items[i]);
	if (t->outgoing)
		printf("\toutgoinguser %s " NO_PASSWORD "\n", t->outgoing);
	if (acls->count == 1 && !strcmp(acls->items[0], "ALL"))
		return; /* what tgt-admin binds by default */
	/* tgtd lists the address rules first: a name rule that looks like
	 * an address is the one thing that cannot be told apart */
	for (size_t i = 0; i < acls->count; i++) {
		bool address = looks_like_address(acls->items[i]);

		any_address |= address;
		printf("\tinitiator-%s %s\n", address ? "address" : "name",
		       acls->items[i]);
	}
	if (!any_address)
		printf("\t# tgtd has no address rule for this target; "
		       "tgt-admin will add initiator-address ALL\n");
}

/* ---- whole configuration ---- */

static bool single_driver(const struct tgtd_state *st)
{
	for (size_t i = 1; i < st->nr_targets; i++)
		if (strcmp(st->targets[i].driver, st->targets[0].driver))
			return false;
	return st->nr_targets > 0 && st->targets[0].driver;
}

static void dump_target(struct admin *a, const struct state_target *t,
			bool with_driver)
{
	printf("<target %s>\n\tcontroller_tid %d\n", t->name, t->tid);
	if (with_driver && t->driver)
		printf("\tdriver %s\n", t->driver);
	if (t->offline)
		printf("\tstate offline\n");
	dump_params(a, t);
	if (t->max_sessions)
		printf("\tmax_sessions %ld\n", t->max_sessions);
	for (size_t i = 0; i < t->nr_luns; i++)
		if (t->luns[i].lun != 0) /* LUN 0 comes with the target */
			dump_lun(a, t, &t->luns[i]);
	dump_access(t);
	printf("</target>\n\n");
}

static bool account_bound(const struct tgtd_state *st, const char *user)
{
	if (str_list_contains(&st->discovery_incoming, user) ||
	    (st->discovery_outgoing && !strcmp(st->discovery_outgoing, user)))
		return true;
	for (size_t i = 0; i < st->nr_targets; i++)
		if (str_list_contains(&st->targets[i].incoming, user) ||
		    (st->targets[i].outgoing &&
		     !strcmp(st->targets[i].outgoing, user)))
			return true;
	return false;
}

static void dump_globals(const struct tgtd_state *st)
{
	const char *ip = st->isns_server_ip, *port = st->isns_server_port;

	if (ip && *ip)
		printf("iSNSServerIP %s\n", ip);
	if (port && *port && strcmp(port, DEFAULT_ISNS_PORT))
		printf("iSNSServerPort %s\n", port);
	if (st->isns_access_control && !strcmp(st->isns_access_control, "On"))
		printf("iSNSAccessControl On\n");
	if (st->isns && !strcmp(st->isns, "On"))
		printf("iSNS On\n");
	for (size_t i = 0; i < st->discovery_incoming.count; i++)
		printf("incomingdiscoveryuser %s " NO_PASSWORD "\n",
		       st->discovery_incoming.items[i]);
	if (st->discovery_outgoing)
		printf("outgoingdiscoveryuser %s " NO_PASSWORD "\n",
		       st->discovery_outgoing);
	for (size_t i = 0; i < st->accounts.count; i++)
		if (!account_bound(st, st->accounts.items[i]))
			printf("# account %s is bound to nothing: targets.conf"
			       " cannot create it\n", st->accounts.items[i]);
}

int admin_dump(struct admin *a)
{
	const struct tgtd_state *st = &a->state;
	bool one_driver;

	admin_read_state(a);
	one_driver = single_driver(st);
	printf("# Written by tgt-admin --dump from tgtd (control port %d).\n"
	       "# tgtd does not show passwords: replace each " NO_PASSWORD
	       ".\n", a->control_port);
	if (one_driver)
		printf("default-driver %s\n", st->targets[0].driver);
	dump_globals(st);
	putchar('\n');
	for (size_t i = 0; i < st->nr_targets; i++)
		dump_target(a, &st->targets[i], !one_driver);
	return 0;
}
