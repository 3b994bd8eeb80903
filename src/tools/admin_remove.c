/* Deleting, re-creating and switching targets by name, tid or ALL:
 * --delete, --update, --offline, --ready (spec tgt-compat.md §5.7). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/admin.h"

bool admin_delete_target(struct admin *a, const char *name,
			 const char *tid_text)
{
	struct state_target *t =
		name ? tgtd_state_find(&a->state, name) : NULL;
	struct mgmt_request req;

	if (!t) {
		if (tid_text)
			admin_warn(a, NULL, "Target with tid %s does not "
				   "exist!", tid_text);
		else
			admin_warn(a, NULL, "Target with name %s does not "
				   "exist!", name);
		return false;
	}
	if (t->connected && !a->force) {
		admin_warn(a, NULL, "Target with tid %d (%s) is in use, it "
			   "won't be %s.", t->tid, t->name,
			   a->updating ? "updated" : "deleted");
		return true;
	}
	admin_comment(a, "Removing target: %s", t->name);
	mgmt_request_init(&req, MODE_TARGET, OP_DELETE);
	req.tid = t->tid;
	/* With -f tgt-admin unbinds the ACLs, closes each connection and
	 * then deletes; tgtd's forced delete does all that at once. */
	req.force = t->connected;
	t->deleted = admin_request(a, &req, NULL);
	if (a->verbose || a->pretend)
		putchar('\n');
	return false;
}

/* "tid=<n>": the tid text after "tid=", or NULL. */
static const char *tid_selector(const char *which)
{
	return strncmp(which, "tid=", 4) ? NULL : which + 4;
}

static const struct state_target *target_of_tid(const struct admin *a,
						const char *tid_text)
{
	char *end;
	long tid = strtol(tid_text, &end, 10);

	if (end == tid_text || *end || tid <= 0 || tid > INT32_MAX)
		return NULL;
	return tgtd_state_find_tid(&a->state, (int)tid);
}

static void print_help(const char *option, const char *verb,
		       bool mentions_use)
{
	printf("      --%s <value>\t\t%s all or selected targets\n", option,
	       verb);
	if (mentions_use)
		printf("\t\t\t\tThe target will be %sd only if it's not used\n"
		       "\t\t\t\t(no initiator is connected to it).\n"
		       "\t\t\t\tIf you want to %s targets which are in use,\n"
		       "\t\t\t\tyou have to add \"--force\" flag.\n", verb,
		       verb);
	printf("\nExample usage:\n"
	       "      --%s help\t      - display this help\n"
	       "      --%s ALL\t      - %s all targets\n"
	       "      --%s tid=4\t      - %s target 4 (target with tid 4)\n"
	       "      --%s iqn.2008-08.com.example:some.target - %s this "
	       "target\n\n", option, option, verb, option, verb, option,
	       verb);
}

int admin_delete(struct admin *a, const char *which)
{
	const char *tid_text = tid_selector(which);

	if (!strcmp(which, "help")) {
		print_help("delete", "delete", true);
		return 0;
	}
	admin_read_state(a);
	if (!strcmp(which, "ALL")) {
		/* by name: the list is not changed under the loop */
		for (size_t i = 0; i < a->state.nr_targets; i++)
			admin_delete_target(a, a->state.targets[i].name, NULL);
	} else if (tid_text) {
		const struct state_target *t = target_of_tid(a, tid_text);

		admin_delete_target(a, t ? t->name : NULL, tid_text);
	} else {
		admin_delete_target(a, which, NULL);
	}
	return 0;
}

static void set_state(struct admin *a, int tid, const char *tid_text,
		      const char *state)
{
	struct mgmt_request req;
	char *end;

	mgmt_request_init(&req, MODE_TARGET, OP_UPDATE);
	req.tid = tid;
	if (tid_text) { /* not checked, as tgt-admin: tgtd answers */
		long v = strtol(tid_text, &end, 10);

		req.tid = end == tid_text || *end || v < 0 || v > INT32_MAX
				  ? 0 : (int)v;
	}
	req.name = "state";
	req.value = state;
	admin_request(a, &req, NULL);
}

int admin_set_state(struct admin *a, const char *which, const char *state)
{
	const struct state_target *t;

	if (!strcmp(which, "help")) {
		print_help(state, state, false);
		return 0;
	}
	admin_read_state(a);
	if (!strcmp(which, "ALL")) {
		for (size_t i = 0; i < a->state.nr_targets; i++)
			set_state(a, a->state.targets[i].tid, NULL, state);
	} else if (tid_selector(which)) {
		set_state(a, 0, tid_selector(which), state);
	} else if ((t = tgtd_state_find(&a->state, which))) {
		set_state(a, t->tid, NULL, state);
	} else {
		printf("There is no target with name \"%s\", can't %s it!\n",
		       which, state);
		return 1;
	}
	return 0;
}

/* ---- --update ---- */

/* Re-creates one target from the configuration: deletes it if it is not
 * in use (or with -f) and adds it again, with the same tid. */
static int update_target(struct admin *a, const char *name)
{
	const struct conf_target *t = targets_conf_find(a->conf, name);
	const struct state_target *old = tgtd_state_find(&a->state, name);
	int tid;

	if (!t && !old) {
		printf("Target %s is currently not configured\n"
		       "and does not exist in the config file - can't "
		       "continue!\n", name);
		return 1;
	}
	if (!t) { /* tgtd has it, the configuration not: delete */
		admin_delete_target(a, name, NULL);
		return 0;
	}
	admin_check_controller_tid(a, t);
	if (old && admin_delete_target(a, name, NULL)) {
		admin_comment(a, "Target %s already exists!", name);
		return 0;
	}
	/* tgt-admin --update: controller_tid, else the old tid, else one
	 * above every tid seen (deleted ones too) */
	if (t->tid)
		tid = t->tid;
	else if (old)
		tid = old->tid;
	else
		tid = admin_choose_tid(a, t);
	if (tid > a->next_tid)
		a->next_tid = tid;
	admin_add_target(a, t, tid);
	return 0;
}

/* Targets of tgtd not in the configuration, then the configuration's. */
static int update_all(struct admin *a)
{
	const struct targets_conf *conf = a->conf;
	struct str_list names = { NULL, 0 };
	int rc = 0;

	for (size_t i = 0; i < a->state.nr_targets; i++)
		if (!targets_conf_find(conf, a->state.targets[i].name) &&
		    str_list_add(&names, a->state.targets[i].name))
			rc = -1;
	for (size_t i = 0; i < conf->nr_targets; i++)
		if (str_list_add(&names, conf->targets[i].node->value))
			rc = -1;
	if (rc) {
		str_list_free(&names);
		fputs("tgt-admin: out of memory\n", stderr);
		admin_abort(a, ENOMEM);
	}
	for (size_t i = 0; i < names.count && rc == 0; i++)
		rc = update_target(a, names.items[i]);
	str_list_free(&names);
	return rc;
}

int admin_update(struct admin *a, const char *which)
{
	const char *tid_text = tid_selector(which);

	if (!strcmp(which, "help")) {
		print_help("update", "update", true);
		return 0;
	}
	a->updating = true;
	admin_read_state(a);
	admin_add_globals(a);
	a->next_tid = tgtd_state_max_tid(&a->state);
	if (!strcmp(which, "ALL"))
		return update_all(a);
	if (tid_text) {
		const struct state_target *t = target_of_tid(a, tid_text);

		if (!t) {
			printf("There is no target with tid %s, can't "
			       "continue!\n", tid_text);
			return 1;
		}
		return update_target(a, t->name);
	}
	return update_target(a, which);
}
