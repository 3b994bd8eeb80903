/* Parsing tgtadm's show output into the state tgt-admin works from
 * (tgtd_state.h). */
#include "tools/tgtd_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int str_list_add(struct str_list *l, const char *s)
{
	char **grown = realloc(l->items, (l->count + 1) * sizeof(*grown));
	char *copy = strdup(s);

	if (grown)
		l->items = grown;
	if (!grown || !copy) {
		free(copy);
		return -1;
	}
	l->items[l->count++] = copy;
	return 0;
}

bool str_list_contains(const struct str_list *l, const char *s)
{
	for (size_t i = 0; i < l->count; i++)
		if (!strcmp(l->items[i], s))
			return true;
	return false;
}

void str_list_free(struct str_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

/* Replaces *slot with a copy of s. */
static int set_text(char **slot, const char *s)
{
	char *copy = strdup(s);

	if (!copy)
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

static const char *skip_blanks(const char *s)
{
	return s + strspn(s, " \t");
}

/* Calls fn for each line of text (without its newline, NUL-terminated
 * copy). Stops at the first non-zero return. */
static int for_each_line(const char *text, void *ctx,
			 int (*fn)(void *ctx, char *line))
{
	int rc = 0;

	while (text && *text && rc == 0) {
		size_t len = strcspn(text, "\n");
		char *line = strndup(text, len);

		if (!line)
			return -1;
		rc = fn(ctx, line);
		free(line);
		text += len + (text[len] == '\n');
	}
	return rc;
}

/* ---- target show ---- */

enum section { SEC_NONE, SEC_SYSTEM, SEC_NEXUS, SEC_LUNS, SEC_ACCOUNTS,
	       SEC_ACLS };

struct target_parser {
	struct tgtd_state *st;
	struct state_target *cur; /* NULL before the first "Target" line */
	enum section sec;
};

static struct state_target *new_target(struct tgtd_state *st, int tid,
				       const char *name)
{
	struct state_target *grown =
		realloc(st->targets, (st->nr_targets + 1) * sizeof(*grown));
	struct state_target *t;

	if (!grown)
		return NULL;
	st->targets = grown;
	t = &grown[st->nr_targets];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->name = strdup(name);
	if (!t->name)
		return NULL;
	st->nr_targets++;
	return t;
}

static bool yes(const char *v)
{
	return !strcmp(v, "Yes");
}

/* "Key: value" of a LUN entry. */
static int lun_field(struct state_lun *l, const char *key, const char *v)
{
	const char *bs;

	if (!strcmp(key, "Type"))
		return set_text(&l->type, v);
	if (!strcmp(key, "SCSI ID"))
		return set_text(&l->scsi_id, v);
	if (!strcmp(key, "SCSI SN"))
		return set_text(&l->scsi_sn, v);
	if (!strcmp(key, "Size") && (bs = strstr(v, "Block size: ")))
		l->block_size = strtoul(bs + 12, NULL, 10);
	else if (!strcmp(key, "Online"))
		l->online = yes(v);
	else if (!strcmp(key, "Removable media"))
		l->removable = yes(v);
	else if (!strcmp(key, "Readonly"))
		l->readonly = yes(v);
	else if (!strcmp(key, "SWP"))
		l->swp = yes(v);
	else if (!strcmp(key, "Thin-provisioning"))
		l->thin_provisioning = yes(v);
	else if (!strcmp(key, "Backing store type"))
		return set_text(&l->bs_type, v);
	else if (!strcmp(key, "Backing store path"))
		return strcmp(v, "None") ? set_text(&l->path, v) : 0;
	else if (!strcmp(key, "Backing store flags"))
		return set_text(&l->bs_flags, v);
	return 0;
}

static int lun_line(struct state_target *t, const char *text)
{
	const char *colon = strchr(text, ':');
	char key[64];

	if (!strncmp(text, "LUN: ", 5)) {
		struct state_lun *grown = realloc(
			t->luns, (t->nr_luns + 1) * sizeof(*grown));

		if (!grown)
			return -1;
		t->luns = grown;
		memset(&grown[t->nr_luns], 0, sizeof(*grown));
		grown[t->nr_luns].lun = strtoull(text + 5, NULL, 10);
		t->nr_luns++;
		return 0;
	}
	/* "Key: value"; keys hold no colon, values may */
	if (!t->nr_luns || !colon || (size_t)(colon - text) >= sizeof(key))
		return 0;
	memcpy(key, text, colon - text);
	key[colon - text] = '\0';
	return lun_field(&t->luns[t->nr_luns - 1], key,
			 colon + 1 + (colon[1] == ' '));
}

static int nexus_line(struct state_target *t, const char *text)
{
	if (!strncmp(text, "I_T nexus: ", 11)) {
		struct state_session *grown = realloc(
			t->sessions, (t->nr_sessions + 1) * sizeof(*grown));

		if (!grown)
			return -1;
		t->sessions = grown;
		grown[t->nr_sessions].sid = strtoull(text + 11, NULL, 10);
		grown[t->nr_sessions].cid = 0;
		t->nr_sessions++;
	} else if (!strncmp(text, "Connection: ", 12)) {
		t->connected = true;
		if (t->nr_sessions)
			t->sessions[t->nr_sessions - 1].cid =
				strtoul(text + 12, NULL, 10);
	}
	return 0;
}

static int system_line(struct state_target *t, const char *text)
{
	if (!strncmp(text, "Driver: ", 8))
		return set_text(&t->driver, text + 8);
	if (!strncmp(text, "State: ", 7))
		t->offline = !strcmp(text + 7, "offline");
	else if (!strncmp(text, "Nop interval: ", 14)) {
		t->has_nop = true;
		t->nop_interval = strtol(text + 14, NULL, 10);
	} else if (!strncmp(text, "Nop count: ", 11))
		t->nop_count = strtol(text + 11, NULL, 10);
	else if (!strncmp(text, "Max sessions: ", 14))
		t->max_sessions = strtol(text + 14, NULL, 10);
	return 0;
}

static int account_line(struct state_target *t, const char *text)
{
	static const char outgoing[] = " (outgoing)";
	size_t len = strlen(text), olen = strlen(outgoing);

	if (len > olen && !strcmp(text + len - olen, outgoing)) {
		char *user = strndup(text, len - olen);

		if (!user)
			return -1;
		free(t->outgoing);
		t->outgoing = user;
		return 0;
	}
	return str_list_add(&t->incoming, text);
}

/* A section header: "    System information:" and the like. */
static bool section_header(struct target_parser *p, const char *line)
{
	static const struct {
		const char *text;
		enum section sec;
	} headers[] = {
		{ "    System information:", SEC_SYSTEM },
		{ "    I_T nexus information:", SEC_NEXUS },
		{ "    LUN information:", SEC_LUNS },
		{ "    Account information:", SEC_ACCOUNTS },
		{ "    ACL information:", SEC_ACLS },
	};

	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		if (!strcmp(line, headers[i].text)) {
			p->sec = headers[i].sec;
			return true;
		}
	return false;
}

static int target_show_line(void *ctx, char *line)
{
	struct target_parser *p = ctx;
	const char *text = skip_blanks(line);
	int tid, end = 0;

	if (sscanf(line, "Target %d: %n", &tid, &end) == 1 && end > 0) {
		p->cur = new_target(p->st, tid, line + end);
		p->sec = SEC_NONE;
		return p->cur ? 0 : -1;
	}
	if (!p->cur || section_header(p, line) || !*text)
		return 0;
	switch (p->sec) {
	case SEC_SYSTEM: return system_line(p->cur, text);
	case SEC_NEXUS: return nexus_line(p->cur, text);
	case SEC_LUNS: return lun_line(p->cur, text);
	case SEC_ACCOUNTS: return account_line(p->cur, text);
	case SEC_ACLS: return str_list_add(&p->cur->acls, text);
	default: return 0;
	}
}

int tgtd_state_parse_targets(struct tgtd_state *st, const char *text)
{
	struct target_parser p = { st, NULL, SEC_NONE };

	return for_each_line(text, &p, target_show_line);
}

/* ---- account show, system show ---- */

static int account_show_line(void *ctx, char *line)
{
	struct tgtd_state *st = ctx;

	if (line[0] != ' ' || !*skip_blanks(line))
		return 0; /* "Account list:" */
	return str_list_add(&st->accounts, skip_blanks(line));
}

int tgtd_state_parse_accounts(struct tgtd_state *st, const char *text)
{
	return for_each_line(text, st, account_show_line);
}

struct system_parser {
	struct tgtd_state *st;
	bool in_accounts;
};

static int isns_line(struct tgtd_state *st, const char *text)
{
	static const char *const keys[] = {
		"iSNS=", "iSNSServerIP=", "iSNSServerPort=",
		"iSNSAccessControl=",
	};
	char **slots[] = { &st->isns, &st->isns_server_ip,
			   &st->isns_server_port, &st->isns_access_control };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strncmp(text, keys[i], strlen(keys[i])))
			return set_text(slots[i], text + strlen(keys[i]));
	return 0;
}

static int system_show_line(void *ctx, char *line)
{
	struct system_parser *p = ctx;
	const char *text = skip_blanks(line);
	size_t len = strlen(text);

	if (line[0] && line[0] != ' ') { /* a header: "System:", "iSNS:" */
		p->in_accounts = false;
		return 0;
	}
	if (!strcmp(line, "    Account information:")) {
		p->in_accounts = true;
		return 0;
	}
	if (!p->in_accounts)
		return isns_line(p->st, text);
	if (!len)
		return 0;
	if (len > 11 && !strcmp(text + len - 11, " (outgoing)")) {
		char *user = strndup(text, len - 11);

		if (!user)
			return -1;
		free(p->st->discovery_outgoing);
		p->st->discovery_outgoing = user;
		return 0;
	}
	return str_list_add(&p->st->discovery_incoming, text);
}

int tgtd_state_parse_system(struct tgtd_state *st, const char *text)
{
	struct system_parser p = { st, false };

	return for_each_line(text, &p, system_show_line);
}

/* ---- queries ---- */

struct state_target *tgtd_state_find(const struct tgtd_state *st,
				     const char *name)
{
	for (size_t i = 0; i < st->nr_targets; i++)
		if (!st->targets[i].deleted &&
		    !strcmp(st->targets[i].name, name))
			return &st->targets[i];
	return NULL;
}

struct state_target *tgtd_state_find_tid(const struct tgtd_state *st,
					 int tid)
{
	for (size_t i = 0; i < st->nr_targets; i++)
		if (!st->targets[i].deleted && st->targets[i].tid == tid)
			return &st->targets[i];
	return NULL;
}

int tgtd_state_max_tid(const struct tgtd_state *st)
{
	int max = 0;

	for (size_t i = 0; i < st->nr_targets; i++)
		if (st->targets[i].tid > max)
			max = st->targets[i].tid;
	return max;
}

static void free_lun(struct state_lun *l)
{
	free(l->type);
	free(l->scsi_id);
	free(l->scsi_sn);
	free(l->bs_type);
	free(l->path);
	free(l->bs_flags);
}

static void free_target(struct state_target *t)
{
	free(t->name);
	free(t->driver);
	free(t->sessions);
	for (size_t i = 0; i < t->nr_luns; i++)
		free_lun(&t->luns[i]);
	free(t->luns);
	str_list_free(&t->incoming);
	free(t->outgoing);
	str_list_free(&t->acls);
}

void tgtd_state_free(struct tgtd_state *st)
{
	for (size_t i = 0; i < st->nr_targets; i++)
		free_target(&st->targets[i]);
	free(st->targets);
	str_list_free(&st->accounts);
	str_list_free(&st->discovery_incoming);
	free(st->discovery_outgoing);
	free(st->isns);
	free(st->isns_server_ip);
	free(st->isns_server_port);
	free(st->isns_access_control);
	memset(st, 0, sizeof(*st));
}
