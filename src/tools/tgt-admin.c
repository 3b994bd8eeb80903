/* tgt-admin: configures tgtd from targets.conf (spec tgt-compat.md §5).
 *
 * Same options, actions and messages as Debian's tgt-admin (a Perl
 * script that runs tgtadm), but it talks to the management socket itself,
 * reads and checks the whole configuration before it sends anything, and
 * undoes what it created if a request fails. Differences: -d is --delete
 * (as the man page says; Debian's script finds -d ambiguous), an unknown
 * option is an error, and `control-port` in the file is honoured before
 * tgtd is first asked anything. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/admin.h"

#define DEFAULT_CONFIG "/etc/tgt/targets.conf"
#define MAX_CONTROL_PORT 32767

enum action { NONE, EXECUTE, DELETE, UPDATE, DUMP, OFFLINE, READY };

struct options {
	bool execute, dump, show, help;
	const char *delete_which, *update_which;
	const char *offline_which, *ready_which;
	const char *conf_file; /* -c, NULL for the default */
	bool control_port_given;
};

static void usage(void)
{
	printf(
"Usage:\n"
"tgt-admin [OPTION]...\n"
"This tool configures tgt targets.\n"
"\n"
"  -e, --execute\t\t\tread " DEFAULT_CONFIG " and execute tgtadm commands\n"
"  -d, --delete <value>\t\tdelete all or selected targets\n"
"\t\t\t\t(see \"--delete help\" for more info)\n"
"      --offline <value>\t\tput all or selected targets in offline state\n"
"\t\t\t\t(see \"--offline help\" for more info)\n"
"      --ready <value>\t\tput all or selected targets in ready state\n"
"\t\t\t\t(see \"--ready help\" for more info)\n"
"      --update <value>\t\tupdate configuration for all or selected targets\n"
"\t\t\t\t(see \"--update help\" for more info)\n"
"  -s, --show\t\t\tshow all the targets\n"
"  -C, --control-port <NNNN>\tspecify the control port to connect to\n"
"  -c, --conf <conf file>\tspecify an alternative configuration file\n"
"      --ignore-errors\t\tcontinue even if tgtadm exits with non-zero code\n"
"  -f, --force\t\t\tforce some operations even if the target is in use\n"
"  -p, --pretend\t\t\tonly print tgtadm options\n"
"      --dump\t\t\tdump current tgtd configuration (passwords cannot\n"
"\t\t\t\tbe read from tgtd)\n"
"  -v, --verbose\t\t\tincrease verbosity (show tgtadm commands)\n"
"  -h, --help\t\t\tshow this help\n"
"\n");
}

/* Long-option codes without a short letter. */
enum { OPT_OFFLINE = 256, OPT_READY, OPT_UPDATE, OPT_IGNORE_ERRORS,
       OPT_DUMP };

static const struct option long_options[] = {
	{ "execute", no_argument, NULL, 'e' },
	{ "delete", required_argument, NULL, 'd' },
	{ "offline", required_argument, NULL, OPT_OFFLINE },
	{ "ready", required_argument, NULL, OPT_READY },
	{ "update", required_argument, NULL, OPT_UPDATE },
	{ "show", no_argument, NULL, 's' },
	{ "conf", required_argument, NULL, 'c' },
	{ "ignore-errors", no_argument, NULL, OPT_IGNORE_ERRORS },
	{ "force", no_argument, NULL, 'f' },
	{ "pretend", no_argument, NULL, 'p' },
	{ "dump", no_argument, NULL, OPT_DUMP },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "control-port", required_argument, NULL, 'C' },
	{ NULL, 0, NULL, 0 },
};

static int parse_control_port(const char *arg)
{
	char *end;
	long port = strtol(arg, &end, 10);

	if (end == arg || *end || port < 0 || port > MAX_CONTROL_PORT) {
		fprintf(stderr, "tgt-admin: invalid control port '%s'\n", arg);
		exit(1);
	}
	return (int)port;
}

/* Options as Getopt::Long takes them: long ones with one or two dashes
 * and any unique prefix, single letters as short options. */
static void parse_options(int argc, char **argv, struct options *o,
			  struct admin *a)
{
	int opt;

	while ((opt = getopt_long_only(argc, argv, "ed:sc:fpvhC:",
				       long_options, NULL)) != -1) {
		switch (opt) {
		case 'e': o->execute = true; break;
		case 'd': o->delete_which = optarg; break;
		case OPT_OFFLINE: o->offline_which = optarg; break;
		case OPT_READY: o->ready_which = optarg; break;
		case OPT_UPDATE: o->update_which = optarg; break;
		case 's': o->show = true; break;
		case 'c': o->conf_file = optarg; break;
		case OPT_IGNORE_ERRORS: a->ignore_errors = true; break;
		case 'f': a->force = true; break;
		case 'p': a->pretend = true; break;
		case OPT_DUMP: o->dump = true; break;
		case 'v': a->verbose = true; break;
		case 'h': o->help = true; break;
		case 'C':
			a->control_port = parse_control_port(optarg);
			o->control_port_given = true;
			break;
		default: /* getopt has said what is wrong */
			fputs("Try `tgt-admin --help' for more information.\n",
			      stderr);
			exit(1);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tgt-admin: unexpected argument '%s'\n",
			argv[optind]);
		exit(1);
	}
}

static enum action chosen_action(const struct options *o)
{
	if (o->execute)
		return EXECUTE;
	if (o->delete_which)
		return DELETE;
	if (o->update_which)
		return UPDATE;
	if (o->dump)
		return DUMP;
	if (o->offline_which)
		return OFFLINE;
	if (o->ready_which)
		return READY;
	return NONE;
}

/* Reads the configuration; ends the program if it is not usable. */
static void load_config(struct admin *a, const struct options *o,
			struct targets_conf *conf)
{
	const char *path = o->conf_file ? o->conf_file : DEFAULT_CONFIG;
	struct conf_error err;
	struct stat st;

	if (stat(path, &st) < 0) {
		printf("Config file %s not found. Exiting...\n", path);
		exit(1);
	}
	if (o->conf_file)
		admin_comment(a, "Using %s as configuration file\n", path);
	if (targets_conf_load_file(conf, path, &err)) {
		fprintf(stderr, "tgt-admin: %s\n", err.text);
		fprintf(stderr, "tgt-admin: nothing was changed\n");
		targets_conf_free(conf);
		exit(1);
	}
	for (size_t i = 0; i < conf->nr_warnings; i++)
		fprintf(stderr, "tgt-admin: warning: %s\n", conf->warnings[i]);
	if (!o->control_port_given && conf->control_port_value >= 0)
		a->control_port = conf->control_port_value;
	a->ignore_errors |= conf->ignore_errors_yes;
	a->conf = conf;
}

static int show_targets(struct admin *a)
{
	char *text = admin_query(a, MODE_TARGET, -1);

	fputs(text, stdout);
	free(text);
	return 0;
}

static int run(struct admin *a, const struct options *o, enum action act)
{
	switch (act) {
	case EXECUTE:
		admin_execute(a);
		return 0;
	case DELETE:
		return admin_delete(a, o->delete_which);
	case UPDATE:
		return admin_update(a, o->update_which);
	case DUMP:
		return admin_dump(a);
	case OFFLINE:
	case READY:
		if (o->offline_which && o->ready_which) {
			printf("Invalid value (you can't use both ready and "
			       "offline)!\n");
			return 1;
		}
		return act == OFFLINE
			       ? admin_set_state(a, o->offline_which, "offline")
			       : admin_set_state(a, o->ready_which, "ready");
	case NONE:
		break;
	}
	printf("No action specified.\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { .execute = false };
	struct targets_conf conf;
	struct admin a;
	enum action act;
	int rc;

	admin_init(&a);
	parse_options(argc, argv, &o, &a);
	if (o.help || argc < 2) {
		usage();
		return 0;
	}
	if (o.show)
		return show_targets(&a);
	act = chosen_action(&o);
	memset(&conf, 0, sizeof(conf));
	if ((act == EXECUTE || act == UPDATE) &&
	    (!o.update_which || strcmp(o.update_which, "help")))
		load_config(&a, &o, &conf);
	rc = run(&a, &o, act);
	admin_free(&a);
	if (a.conf)
		targets_conf_free(&conf);
	return rc;
}
