/* Running tgt-admin's requests: printing them (-v, -p), sending them,
 * reporting failures with the directive behind them, and undoing this
 * run's work when one fails (admin.h). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "tools/admin.h"

void admin_init(struct admin *a)
{
	memset(a, 0, sizeof(*a));
}

static void free_undo(struct admin *a)
{
	for (size_t i = 0; i < a->nr_undo; i++)
		free(a->undo[i].name);
	free(a->undo);
	a->undo = NULL;
	a->nr_undo = 0;
}

void admin_free(struct admin *a)
{
	tgtd_state_free(&a->state);
	free_undo(a);
}

/* ---- printing ---- */

static void vprint_line(FILE *f, const char *prefix, const char *fmt,
			va_list ap)
{
	fputs(prefix, f);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
}

void admin_comment(struct admin *a, const char *fmt, ...)
{
	va_list ap;

	if (!a->verbose && !a->pretend)
		return;
	va_start(ap, fmt);
	vprint_line(stdout, "# ", fmt, ap);
	va_end(ap);
}

void admin_warn(struct admin *a, const struct conf_node *origin,
		const char *fmt, ...)
{
	char prefix[PATH_MAX + 64];
	va_list ap;

	if (a->verbose || a->pretend) {
		snprintf(prefix, sizeof(prefix), "# ");
	} else if (origin) {
		snprintf(prefix, sizeof(prefix), "tgt-admin: warning: %s:%u: ",
			 origin->loc.file, origin->loc.line);
	} else {
		snprintf(prefix, sizeof(prefix), "tgt-admin: warning: ");
	}
	va_start(ap, fmt);
	vprint_line(a->verbose || a->pretend ? stdout : stderr, prefix, fmt,
		    ap);
	va_end(ap);
}

/* Quotes a word for the shell if it needs it, so that a printed request
 * can be run as it is. */
static void add_word(struct strbuf *sb, const char *word)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789_./:=,@%+-";

	if (*word && !word[strspn(word, plain)]) {
		strbuf_printf(sb, " %s", word);
		return;
	}
	strbuf_printf(sb, " '");
	for (const char *p = word; *p; p++)
		strbuf_printf(sb, *p == '\'' ? "'\\''" : "%c", *p);
	strbuf_printf(sb, "'");
}

static void add_option(struct strbuf *sb, const char *option,
		       const char *value)
{
	if (!value)
		return;
	strbuf_printf(sb, " %s", option);
	add_word(sb, value);
}

static const char *device_type_word(uint32_t type)
{
	static const char *const words[] = { "disk", "tape", "cd", "changer",
					     "osd", "pt" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if ((uint32_t)mgmt_device_type_from_name(words[i]) == type)
			return words[i];
	return "disk";
}

void admin_format_request(const struct admin *a,
			  const struct mgmt_request *r, char *buf,
			  size_t size)
{
	struct strbuf sb;
	char lld[TGT_LLD_NAME_LEN + 1] = "";

	strbuf_init(&sb);
	memcpy(lld, r->lld, TGT_LLD_NAME_LEN);
	strbuf_printf(&sb, "tgtadm -C %d", a->control_port);
	add_option(&sb, "--lld", lld[0] ? lld : NULL);
	strbuf_printf(&sb, " --mode %s --op %s", mgmt_mode_name(r->mode),
		      mgmt_op_name(r->op));
	if (r->tid >= 0)
		strbuf_printf(&sb, " --tid %d", r->tid);
	if (r->lun != UINT64_MAX)
		strbuf_printf(&sb, " --lun %llu", (unsigned long long)r->lun);
	if (r->device_type)
		strbuf_printf(&sb, " --device-type %s",
			      device_type_word(r->device_type));
	add_option(&sb, "--name", r->name);
	add_option(&sb, "--value", r->value);
	add_option(&sb, "--backing-store", r->path);
	add_option(&sb, "--bstype", r->bstype);
	add_option(&sb, "--bsopts", r->bsopts);
	add_option(&sb, "--bsoflags", r->bsoflags);
	add_option(&sb, "--blocksize", r->blocksize);
	add_option(&sb, "--targetname", r->targetname);
	add_option(&sb, "--initiator-address", r->initiator_address);
	add_option(&sb, "--initiator-name", r->initiator_name);
	add_option(&sb, "--user", r->user);
	add_option(&sb, "--password", r->password);
	add_option(&sb, "--params", r->target_params);
	if (r->ac_dir == ACCOUNT_TYPE_OUTGOING)
		strbuf_printf(&sb, " --outgoing");
	if (r->force)
		strbuf_printf(&sb, " --force");
	snprintf(buf, size, "%s", sb.buf && !sb.failed ? sb.buf : "tgtadm");
	strbuf_free(&sb);
}

/* ---- undo ---- */

static void remember(struct admin *a, int kind, int tid, uint32_t ac_dir,
		     const char *name)
{
	struct undo_entry *grown =
		realloc(a->undo, (a->nr_undo + 1) * sizeof(*grown));
	char *copy = strdup(name ? name : "");

	if (grown)
		a->undo = grown;
	if (!grown || !copy) {
		/* Without the record the work could not be undone. */
		free(copy);
		fputs("tgt-admin: out of memory\n", stderr);
		admin_abort(a, ENOMEM);
	}
	a->undo[a->nr_undo++] = (struct undo_entry){ kind, tid, ac_dir, copy };
}

/* Records what a successful request created. */
static void remember_creation(struct admin *a, const struct mgmt_request *r)
{
	if (r->mode == MODE_TARGET && r->op == OP_NEW)
		remember(a, UNDO_TARGET, r->tid, 0, r->targetname);
	else if (r->mode == MODE_ACCOUNT && r->op == OP_NEW)
		remember(a, UNDO_ACCOUNT, -1, 0, r->user);
	else if (r->mode == MODE_ACCOUNT && r->op == OP_BIND && r->tid < 0)
		remember(a, UNDO_DISCOVERY_BIND, -1, r->ac_dir, r->user);
}

/* The request that takes an undo entry back. */
static void undo_request(const struct undo_entry *u, struct mgmt_request *r)
{
	switch (u->kind) {
	case UNDO_TARGET:
		mgmt_request_init(r, MODE_TARGET, OP_DELETE);
		r->tid = u->tid;
		r->force = true; /* an initiator may have logged in already */
		break;
	case UNDO_ACCOUNT:
		mgmt_request_init(r, MODE_ACCOUNT, OP_DELETE);
		r->user = u->name;
		break;
	case UNDO_DISCOVERY_BIND:
		mgmt_request_init(r, MODE_ACCOUNT, OP_UNBIND);
		r->user = u->name;
		r->ac_dir = u->ac_dir;
		break;
	}
}

/* Targets first (which also drops their bindings), then discovery
 * bindings, then accounts: the reverse of creation. */
static void undo_all(struct admin *a)
{
	char line[1024], msg[512];

	for (size_t i = a->nr_undo; i-- > 0;) {
		const struct undo_entry *u = &a->undo[i];
		struct mgmt_request r;
		struct mgmt_reply reply;

		undo_request(u, &r);
		admin_format_request(a, &r, line, sizeof(line));
		fprintf(stderr, "tgt-admin: undoing: %s\n", line);
		mgmt_call(a->control_port, &r, false, &reply);
		if (reply.failure != MGMT_OK)
			fprintf(stderr, "tgt-admin: undo failed: %s\n",
				mgmt_failure_message(&reply, msg,
						     sizeof(msg)));
		mgmt_reply_free(&reply);
	}
	free_undo(a);
}

void admin_abort(struct admin *a, int status)
{
	if (a->nr_undo)
		undo_all(a);
	admin_free(a);
	exit(status ? status : 1);
}

/* ---- requests ---- */

static void report_failure(const struct admin *a,
			   const struct mgmt_request *req,
			   const struct mgmt_reply *reply,
			   const struct conf_node *origin, int status)
{
	char line[1024], msg[512];

	admin_format_request(a, req, line, sizeof(line));
	fprintf(stderr, "tgt-admin: ");
	if (origin)
		fprintf(stderr, "%s:%u: directive '%s': ", origin->loc.file,
			origin->loc.line, origin->key);
	fprintf(stderr, "%s: %s%s\n",
		reply->failure == MGMT_REFUSED ? "tgtd refused the request"
					       : "the request failed",
		mgmt_failure_message(reply, msg, sizeof(msg)),
		a->ignore_errors ? " (ignored)" : "");
	fprintf(stderr, "Command:\n\t%s\nexited with code: %d.\n", line,
		status);
}

bool admin_request(struct admin *a, const struct mgmt_request *req,
		   const struct conf_node *origin)
{
	struct mgmt_reply reply;
	char line[1024];
	int status;

	if (a->verbose || a->pretend) {
		admin_format_request(a, req, line, sizeof(line));
		puts(line);
		fflush(stdout);
	}
	if (a->pretend)
		return true;
	mgmt_call(a->control_port, req, false, &reply);
	mgmt_reply_free(&reply);
	if (reply.failure == MGMT_OK) {
		remember_creation(a, req);
		return true;
	}
	status = mgmt_failure_exit_status(&reply);
	if (!status)
		status = 1; /* tgtadm's 0 for a closed socket is no success */
	report_failure(a, req, &reply, origin, status);
	if (!a->ignore_errors)
		admin_abort(a, status);
	return false;
}

char *admin_query(struct admin *a, int mode, int tid)
{
	struct mgmt_request req;
	struct mgmt_reply reply;
	char msg[512];

	mgmt_request_init(&req, mode, OP_SHOW);
	req.tid = tid;
	mgmt_call(a->control_port, &req, false, &reply);
	if (reply.failure != MGMT_OK) {
		int status = mgmt_failure_exit_status(&reply);

		fprintf(stderr, "tgt-admin: cannot read tgtd's state: %s\n",
			mgmt_failure_message(&reply, msg, sizeof(msg)));
		mgmt_reply_free(&reply);
		admin_abort(a, status);
	}
	return reply.body ? reply.body : strdup("");
}

void admin_read_state(struct admin *a)
{
	static const int modes[] = { MODE_TARGET, MODE_ACCOUNT, MODE_SYSTEM };
	int (*const parsers[])(struct tgtd_state *, const char *) = {
		tgtd_state_parse_targets, tgtd_state_parse_accounts,
		tgtd_state_parse_system,
	};

	tgtd_state_free(&a->state);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char *text = admin_query(a, modes[i], -1);
		int rc = text ? parsers[i](&a->state, text) : -1;

		free(text);
		if (rc) {
			fputs("tgt-admin: out of memory\n", stderr);
			admin_abort(a, ENOMEM);
		}
	}
}
