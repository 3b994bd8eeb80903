/* tgtadm: the management command-line client (spec tgt-compat.md §2, §3).
 *
 * It turns the command line into one tgt management request (a 120-byte
 * header plus an optional "key=value,..." payload), sends it over the unix
 * socket of the daemon, and prints the reply. Its option names, checks,
 * messages and exit codes are those of tgt's tgtadm, because scripts and
 * tgt-admin rely on them; where tgt behaves badly the differences are few
 * and marked "Unlike tgt" below. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mgmt/ipc_proto.h"

/* The tgt release whose tgtadm behaviour we reproduce, marked as ours so
 * that `tgtadm -V` tells the two apart. */
#define TGTADM_VERSION "1.0.85-mtgt"

#define MAX_OPTIONS_SEEN 256
#define EXIT_USAGE EINVAL /* tgt exits 22 for every usage error */
#define RECONNECT_INTERVAL_NS 100000000L

/* Short option characters and their long names. The order of the long
 * table matters: glibc lists the candidates of an ambiguous prefix in
 * table order, and tgt users see that list. -F and -O take an argument in
 * their short form (tgt's quirk), the long forms are plain flags. */
static const char short_options[] =
	"dhVL:o:m:t:s:c:l:n:v:b:E:f:y:T:I:Q:u:p:H:F:P:B:Y:O:C:S:";

static const struct option long_options[] = {
	{ "debug", no_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "lld", required_argument, NULL, 'L' },
	{ "op", required_argument, NULL, 'o' },
	{ "mode", required_argument, NULL, 'm' },
	{ "tid", required_argument, NULL, 't' },
	{ "sid", required_argument, NULL, 's' },
	{ "cid", required_argument, NULL, 'c' },
	{ "lun", required_argument, NULL, 'l' },
	{ "name", required_argument, NULL, 'n' },
	{ "value", required_argument, NULL, 'v' },
	{ "backing-store", required_argument, NULL, 'b' },
	{ "bstype", required_argument, NULL, 'E' },
	{ "bsopts", required_argument, NULL, 'S' },
	{ "bsoflags", required_argument, NULL, 'f' },
	{ "blocksize", required_argument, NULL, 'y' },
	{ "targetname", required_argument, NULL, 'T' },
	{ "initiator-address", required_argument, NULL, 'I' },
	{ "initiator-name", required_argument, NULL, 'Q' },
	{ "user", required_argument, NULL, 'u' },
	{ "password", required_argument, NULL, 'p' },
	{ "host", required_argument, NULL, 'H' },
	{ "bus", required_argument, NULL, 'B' },
	{ "force", no_argument, NULL, 'F' },
	{ "params", required_argument, NULL, 'P' },
	{ "device-type", required_argument, NULL, 'Y' },
	{ "outgoing", no_argument, NULL, 'O' },
	{ "control-port", required_argument, NULL, 'C' },
	{ NULL, 0, NULL, 0 },
};

/* SCSI peripheral device types accepted by --device-type. */
#define TYPE_DISK 0x00
#define TYPE_TAPE 0x01
#define TYPE_MMC 0x05
#define TYPE_MEDIUM_CHANGER 0x08
#define TYPE_OSD 0x11
#define TYPE_PT 0xff

struct name_value {
	const char *name;
	int value;
};

static const struct name_value mode_names[] = {
	{ "system", MODE_SYSTEM }, { "sys", MODE_SYSTEM },
	{ "target", MODE_TARGET }, { "tgt", MODE_TARGET },
	{ "logicalunit", MODE_DEVICE }, { "lu", MODE_DEVICE },
	{ "portal", MODE_PORTAL }, { "pt", MODE_PORTAL },
	{ "lld", MODE_LLD },
	{ "session", MODE_SESSION }, { "sess", MODE_SESSION },
	{ "connection", MODE_CONNECTION }, { "conn", MODE_CONNECTION },
	{ "account", MODE_ACCOUNT },
	{ NULL, 0 },
};

static const struct name_value op_names[] = {
	{ "new", OP_NEW }, { "delete", OP_DELETE }, { "show", OP_SHOW },
	{ "bind", OP_BIND }, { "unbind", OP_UNBIND }, { "update", OP_UPDATE },
	{ "stat", OP_STATS }, { "start", OP_START }, { "stop", OP_STOP },
	{ NULL, 0 },
};

static const struct name_value device_type_names[] = {
	{ "disk", TYPE_DISK }, { "tape", TYPE_TAPE }, { "ssc", TYPE_TAPE },
	{ "cd", TYPE_MMC }, { "changer", TYPE_MEDIUM_CHANGER },
	{ "osd", TYPE_OSD }, { "pt", TYPE_PT },
	{ NULL, 0 },
};

/* Everything the command line says. Strings point into argv. */
struct command {
	int mode; /* -1 until --mode is seen */
	int op;   /* -1 until --op is seen */
	char lld[TGT_LLD_NAME_LEN];
	int tid;      /* -1: not given */
	uint64_t sid;
	uint64_t lun; /* UINT64_MAX: not given */
	uint32_t cid;
	uint32_t host_no; /* 0 counts as "not given", as in tgt */
	uint32_t device_type;
	uint32_t ac_dir;
	bool force;
	bool debug;
	int control_port;

	const char *name, *value;
	const char *path, *bstype, *bsopts, *bsoflags, *blocksize;
	const char *targetname, *initiator_address, *initiator_name;
	const char *user, *password;
	const char *target_params, *portal_params;

	/* Option characters in command-line order, for the per-mode checks,
	 * which name the first option that is not allowed. */
	char seen[MAX_OPTIONS_SEEN];
	size_t nseen;
};

static void print_usage(void)
{
	printf("Linux SCSI Target administration utility, version %s\n\n",
	       TGTADM_VERSION);
	fputs(
"Usage: tgtadm [OPTION]...\n"
"Common options: [--lld <driver>] [--control-port <port>] [--debug]\n"
"\n"
"--mode system --op show | stat | delete\n"
"--mode system --op update --name <key> --value <value>\n"
"    show, count or stop the daemon; change a daemon setting\n"
"    (debug, State, iSNS, ...). delete waits until the daemon has exited.\n"
"--mode target --op new --tid <id> --targetname <name>\n"
"--mode target --op delete [--force] --tid <id>\n"
"--mode target --op show [--tid <id>]\n"
"--mode target --op stat --tid <id>\n"
"--mode target --op update --tid <id> --name <param> --value <value>\n"
"--mode target --op bind|unbind --tid <id> --initiator-address <address>\n"
"--mode target --op bind|unbind --tid <id> --initiator-name <name>\n"
"--mode target --op bind|unbind --tid <id> --host <n> | --bus <bus>,<dev>\n"
"    manage targets (<id> must not be 0) and their access rules.\n"
"--mode logicalunit --op new --tid <id> --lun <lun>\n"
"    [--backing-store <path>] [--bstype <type>] [--bsopts <options>]\n"
"    [--bsoflags sync|direct|sync:direct] [--blocksize <bytes>]\n"
"    [--device-type disk|tape|ssc|cd|changer|osd|pt]\n"
"--mode logicalunit --op delete | stat --tid <id> --lun <lun>\n"
"--mode logicalunit --op update --tid <id> --lun <lun> --params <k=v,...>\n"
"    manage logical units; a backing store is required unless the\n"
"    device type is disk, cd or tape.\n"
"--mode account --op new --user <name> --password <password>\n"
"--mode account --op delete --user <name>\n"
"--mode account --op show\n"
"--mode account --op bind|unbind [--tid <id>] --user <name> [--outgoing]\n"
"    manage CHAP accounts; without --tid the account applies to\n"
"    discovery sessions.\n"
"--mode portal --op new | delete --params portal=<address>[:<port>]\n"
"--mode portal --op show\n"
"--mode lld --op start | stop | show\n"
"--mode session --op stat --sid <sid>\n"
"--mode connection --op show --tid <id>\n"
"--mode connection --op stat | delete --tid <id> --sid <sid> --cid <cid>\n"
"--help      display this help and exit\n"
"--version   display the version and exit\n"
"\n"
"Short options: -L lld -m mode -o op -t tid -s sid -c cid -l lun -n name\n"
"-v value -b backing-store -E bstype -S bsopts -f bsoflags -y blocksize\n"
"-T targetname -I initiator-address -Q initiator-name -u user -p password\n"
"-H host -B bus -F force -P params -Y device-type -O outgoing\n"
"-C control-port -d debug.\n",
		stdout);
}

/* Prints `tgtadm: <message>` to stderr and exits with status. */
__attribute__((format(printf, 2, 3), noreturn))
static void die(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("tgtadm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* The hint tgt prints after every command-line syntax error. */
__attribute__((noreturn))
static void die_try_help(void)
{
	fputs("Try `tgtadm --help' for more information.\n", stderr);
	exit(EXIT_USAGE);
}

static int lookup_name(const struct name_value *table, const char *name)
{
	for (; table->name; table++)
		if (!strcmp(table->name, name))
			return table->value;
	return -1;
}

/* Canonical name of a mode, as used in error messages. */
static const char *mode_name(int mode)
{
	for (const struct name_value *m = mode_names; m->name; m++)
		if (m->value == mode)
			return m->name;
	return "unknown";
}

static const char *op_name(int op)
{
	for (const struct name_value *o = op_names; o->name; o++)
		if (o->value == op)
			return o->name;
	return "unknown";
}

/* Numbers are read like tgt does: strtoull in base 0 (so 0x10 and 010
 * work, trailing garbage is ignored), no digits or ULLONG_MAX (which is
 * also what an overflow or "-1" yields) is invalid, and a value above the
 * field's maximum is out of range. */
static uint64_t parse_number(int opt, const char *arg, uint64_t max)
{
	unsigned long long value;
	const char *problem = NULL;
	char *end;

	errno = 0;
	value = strtoull(arg, &end, 0);
	if (end == arg || errno == ERANGE || value == ULLONG_MAX)
		problem = "invalid";
	else if (value > max)
		problem = "out of range";
	if (problem) {
		fprintf(stderr, "-%c argument value '%s' %s\n", opt, arg,
			problem);
		die_try_help();
	}
	return value;
}

/* Finds the SCSI host of a device: --bus <bus>,<device> names the sysfs
 * directory /sys/bus/<bus>/devices/<device>, which holds a host<N> entry.
 * Unlike tgt, a value without a comma is an error instead of sending the
 * host number -EINVAL to the daemon. */
static uint32_t host_of_bus_device(const char *arg)
{
	const char *comma = strchr(arg, ',');
	int bus_len = comma ? (int)(comma - arg) : (int)strlen(arg);
	char dir_path[PATH_MAX];
	struct dirent *entry;
	long host = -1;
	DIR *dir;

	if (!comma)
		die(EXIT_USAGE, "can't find bus: %s", arg);
	snprintf(dir_path, sizeof(dir_path), "/sys/bus/%.*s/devices/%s",
		 bus_len, arg, comma + 1);
	dir = opendir(dir_path);
	while (dir && host < 0 && (entry = readdir(dir))) {
		char *end;

		if (strncmp(entry->d_name, "host", 4) ||
		    !isdigit((unsigned char)entry->d_name[4]))
			continue;
		host = strtol(entry->d_name + 4, &end, 10);
		if (*end || host > UINT32_MAX)
			host = -1;
	}
	if (dir)
		closedir(dir);
	if (host < 0)
		die(EXIT_USAGE, "can't find bus: %.*s", bus_len, arg);
	return host;
}

static void set_lld(struct command *cmd, const char *name)
{
	/* Like strncpy: a 64-byte name fills the field without a NUL; the
	 * daemon terminates it. */
	size_t len = strnlen(name, sizeof(cmd->lld));

	memset(cmd->lld, 0, sizeof(cmd->lld));
	memcpy(cmd->lld, name, len);
}

/* -F and -O: tgt declares them with an argument in the short form, so
 * `-F 1` must keep working. We also accept them bare: when the "argument"
 * getopt took is really the next option, hand it back to getopt. */
static void give_back_option_like_arg(char **argv)
{
	if (optarg && optarg == argv[optind - 1] && optarg[0] == '-')
		optind--;
}

/* Records one string option in the payload fields. Returns false if opt
 * is not one of them. */
static bool set_string_option(struct command *cmd, int opt, const char *arg)
{
	switch (opt) {
	case 'n': cmd->name = arg; break;
	case 'v': cmd->value = arg; break;
	case 'b': cmd->path = arg; break;
	case 'E': cmd->bstype = arg; break;
	case 'S': cmd->bsopts = arg; break;
	case 'f': cmd->bsoflags = arg; break;
	case 'y': cmd->blocksize = arg; break;
	case 'T': cmd->targetname = arg; break;
	case 'I': cmd->initiator_address = arg; break;
	case 'Q': cmd->initiator_name = arg; break;
	case 'u': cmd->user = arg; break;
	case 'p': cmd->password = arg; break;
	case 'P':
		/* tgt's quirk: -P means portal parameters only if --mode portal
		 * came before it on the command line. */
		if (cmd->mode == MODE_PORTAL)
			cmd->portal_params = arg;
		else
			cmd->target_params = arg;
		break;
	default:
		return false;
	}
	return true;
}

static void set_mode_or_op(struct command *cmd, int opt, const char *arg)
{
	if (opt == 'm') {
		cmd->mode = lookup_name(mode_names, arg);
		if (cmd->mode < 0)
			die(1, "unknown mode: %s", arg);
	} else {
		cmd->op = lookup_name(op_names, arg);
		if (cmd->op < 0)
			die(1, "unknown operation: %s", arg);
	}
}

static void set_device_type(struct command *cmd, const char *arg)
{
	int type = lookup_name(device_type_names, arg);

	if (type < 0)
		die(EXIT_USAGE, "unknown target type: %s", arg);
	cmd->device_type = type;
}

/* Handles one option returned by getopt_long. */
static void apply_option(struct command *cmd, int opt, char **argv)
{
	if (set_string_option(cmd, opt, optarg))
		return;
	switch (opt) {
	case 'd': cmd->debug = true; break;
	case 'L': set_lld(cmd, optarg); break;
	case 'm': case 'o': set_mode_or_op(cmd, opt, optarg); break;
	case 't': cmd->tid = parse_number(opt, optarg, INT_MAX); break;
	case 's': cmd->sid = parse_number(opt, optarg, UINT64_MAX); break;
	case 'c': cmd->cid = parse_number(opt, optarg, UINT32_MAX); break;
	case 'l': cmd->lun = parse_number(opt, optarg, UINT64_MAX); break;
	case 'H': cmd->host_no = parse_number(opt, optarg, UINT32_MAX); break;
	case 'C':
		cmd->control_port = parse_number(opt, optarg, SHRT_MAX);
		break;
	case 'B': cmd->host_no = host_of_bus_device(optarg); break;
	case 'Y': set_device_type(cmd, optarg); break;
	case 'F':
		cmd->force = true;
		give_back_option_like_arg(argv);
		break;
	case 'O':
		cmd->ac_dir = ACCOUNT_TYPE_OUTGOING;
		give_back_option_like_arg(argv);
		break;
	case 'V':
		printf("%s\n", TGTADM_VERSION);
		exit(0);
	case 'h':
		print_usage();
		exit(0);
	default:
		/* getopt has already said what is wrong. */
		die_try_help();
	}
}

/* A copy of argv for getopt. If the last element ends in a bare -F or -O,
 * getopt would complain that its argument is missing; an added "--" gives
 * it one that apply_option hands back, and then ends the options. */
static char **argv_for_getopt(int argc, char **argv)
{
	char **copy = calloc(argc + 2, sizeof(*copy));
	bool has_end_marker = false;
	const char *last;
	size_t last_len;

	if (!copy)
		die(ENOMEM, "out of memory");
	for (int i = 0; i < argc; i++) {
		copy[i] = argv[i];
		has_end_marker |= !strcmp(argv[i], "--");
	}
	if (argc < 2 || has_end_marker)
		return copy;
	last = argv[argc - 1];
	last_len = strlen(last);
	if (last_len >= 2 && last[0] == '-' && last[1] != '-' &&
	    strchr("FO", last[last_len - 1]))
		copy[argc] = "--";
	return copy;
}

static void parse_command_line(struct command *cmd, int argc, char **argv)
{
	char **args = argv_for_getopt(argc, argv);
	int nargs = argc + (args[argc] != NULL);
	int opt;

	while ((opt = getopt_long(nargs, args, short_options, long_options,
				  NULL)) >= 0) {
		if (cmd->nseen < sizeof(cmd->seen))
			cmd->seen[cmd->nseen++] = opt;
		apply_option(cmd, opt, args);
	}
	if (optind < nargs) {
		fprintf(stderr, "tgtadm: unrecognized option '%s'\n",
			args[optind]);
		die_try_help();
	}
	free(args);
	if (cmd->op < 0)
		die(EXIT_USAGE, "specify the operation type");
	if (cmd->mode < 0)
		die(EXIT_USAGE, "specify the mode");
}

/* tgt words this message two ways depending on the mode and op. */
enum disallowed_wording {
	MODE_FIRST,   /* "<mode> mode: option '-x' is not allowed/supported" */
	OPTION_FIRST, /* "option '-x' not supported in <mode> mode" */
};

/* Refuses the first option on the command line that `allowed` (plus -d)
 * does not list. */
static void check_allowed(const struct command *cmd, const char *allowed,
			  enum disallowed_wording wording)
{
	for (size_t i = 0; i < cmd->nseen; i++) {
		char opt = cmd->seen[i];

		if (opt == 'd' || strchr(allowed, opt))
			continue;
		if (wording == MODE_FIRST)
			die(EXIT_USAGE,
			    "%s mode: option '-%c' is not allowed/supported",
			    mode_name(cmd->mode), opt);
		die(EXIT_USAGE, "option '-%c' not supported in %s mode", opt,
		    mode_name(cmd->mode));
	}
}

__attribute__((noreturn))
static void die_unsupported_op(const struct command *cmd)
{
	die(EXIT_USAGE, "operation %s not supported in %s mode",
	    op_name(cmd->op), mode_name(cmd->mode));
}

static void require_name_and_value(const struct command *cmd)
{
	if (!cmd->name || !cmd->value)
		die(EXIT_USAGE,
		    "update operation requires 'name' and 'value' options");
}

static void validate_system(const struct command *cmd)
{
	switch (cmd->op) {
	case OP_UPDATE:
		check_allowed(cmd, "LmonvC", MODE_FIRST);
		require_name_and_value(cmd);
		break;
	case OP_SHOW:
	case OP_DELETE:
	case OP_STATS:
		break;
	default:
		die_unsupported_op(cmd);
	}
}

static void validate_target(const struct command *cmd)
{
	if (cmd->op != OP_SHOW) {
		if (cmd->tid < 0)
			die(EXIT_USAGE, "'tid' option is necessary");
		if (cmd->tid == 0)
			die(EXIT_USAGE, "'tid' cannot be 0");
	}
	switch (cmd->op) {
	case OP_NEW:
		check_allowed(cmd, "LmotTC", MODE_FIRST);
		if (!cmd->targetname)
			die(EXIT_USAGE, "creating new target requires a name, "
			    "use --targetname");
		break;
	case OP_DELETE:
		check_allowed(cmd, "LmotCF", MODE_FIRST);
		break;
	case OP_SHOW:
	case OP_STATS:
		check_allowed(cmd, "LmotC", MODE_FIRST);
		break;
	case OP_BIND:
	case OP_UNBIND:
		check_allowed(cmd, "LmotIQBHC", MODE_FIRST);
		/* The missing space in "initiator-nameor" is tgt's. */
		if (!cmd->initiator_address && !cmd->initiator_name &&
		    !cmd->host_no)
			die(EXIT_USAGE, "%s operation requires "
			    "initiator-address, initiator-nameor bus",
			    op_name(cmd->op));
		break;
	case OP_UPDATE:
		check_allowed(cmd, "LmotnvC", MODE_FIRST);
		require_name_and_value(cmd);
		break;
	default:
		die_unsupported_op(cmd);
	}
}

static void require_user(const struct command *cmd)
{
	if (!cmd->user)
		die(EXIT_USAGE, "'user' option is necessary");
}

static void validate_account(const struct command *cmd)
{
	switch (cmd->op) {
	case OP_NEW:
		check_allowed(cmd, "LmoupfC", MODE_FIRST);
		if (!cmd->user || !cmd->password)
			die(EXIT_USAGE,
			    "'user' and 'password' options are required");
		break;
	case OP_SHOW:
		check_allowed(cmd, "LmoC", MODE_FIRST);
		break;
	case OP_DELETE:
		check_allowed(cmd, "LmouC", MODE_FIRST);
		/* Unlike tgt, which sends the request without a user and
		 * thereby crashes tgtd 1.0.85. */
		require_user(cmd);
		break;
	case OP_BIND:
	case OP_UNBIND:
		check_allowed(cmd, "LmotuOC", MODE_FIRST);
		require_user(cmd);
		break;
	default:
		die_unsupported_op(cmd);
	}
}

static bool device_type_needs_backing_store(uint32_t type)
{
	return type != TYPE_DISK && type != TYPE_MMC && type != TYPE_TAPE;
}

static void validate_logicalunit(const struct command *cmd)
{
	if (cmd->tid < 0)
		die(EXIT_USAGE, "'tid' option is necessary");
	if (cmd->tid == 0)
		die(EXIT_USAGE, "'tid' must not be 0");
	if (cmd->lun == UINT64_MAX)
		die(EXIT_USAGE, "'lun' option is necessary");
	switch (cmd->op) {
	case OP_NEW:
		check_allowed(cmd, "LmofytlbEYCS", MODE_FIRST);
		if (!cmd->path &&
		    device_type_needs_backing_store(cmd->device_type))
			die(EXIT_USAGE, "'backing-store' option is necessary");
		break;
	case OP_DELETE:
	case OP_STATS:
		check_allowed(cmd, "LmotlC", MODE_FIRST);
		break;
	case OP_UPDATE:
		check_allowed(cmd, "LmofytlPC", OPTION_FIRST);
		break;
	default:
		die_unsupported_op(cmd);
	}
}

static void validate_portal(const struct command *cmd)
{
	switch (cmd->op) {
	case OP_NEW:
	case OP_DELETE:
		check_allowed(cmd, "LmoCP", MODE_FIRST);
		if (!cmd->portal_params)
			die(EXIT_USAGE,
			    "you must specify --param portal=<portal>");
		break;
	case OP_SHOW:
		check_allowed(cmd, "LmoC", OPTION_FIRST);
		break;
	default:
		die_unsupported_op(cmd);
	}
}

static void validate_lld(const struct command *cmd)
{
	switch (cmd->op) {
	case OP_START:
	case OP_STOP:
	case OP_SHOW:
		check_allowed(cmd, "LmoC", MODE_FIRST);
		break;
	default:
		/* Sic: tgt prints the op number and calls it an option. */
		die(EXIT_USAGE, "option %d not supported in lld mode",
		    cmd->op);
	}
}

/* Client-side checks per mode and op (spec §3.2). Session and connection
 * requests go to the daemon unchecked. */
static void validate_command(const struct command *cmd)
{
	switch (cmd->mode) {
	case MODE_SYSTEM: validate_system(cmd); break;
	case MODE_TARGET: validate_target(cmd); break;
	case MODE_ACCOUNT: validate_account(cmd); break;
	case MODE_DEVICE: validate_logicalunit(cmd); break;
	case MODE_PORTAL: validate_portal(cmd); break;
	case MODE_LLD: validate_lld(cmd); break;
	default: break;
	}
}

/* A growing text buffer for the payload. */
struct payload {
	char *text;
	size_t len;
	size_t size;
};

__attribute__((format(printf, 2, 3)))
static void payload_add(struct payload *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	/* room for a separating comma and the final NUL */
	if (p->len + n + 2 > p->size) {
		p->size = (p->len + n + 2) * 2;
		p->text = realloc(p->text, p->size);
		if (!p->text)
			die(ENOMEM, "out of memory");
	}
	if (p->len)
		p->text[p->len++] = ',';
	va_start(ap, fmt);
	vsnprintf(p->text + p->len, p->size - p->len, fmt, ap);
	va_end(ap);
	p->len += n;
}

/* Builds the comma-separated payload in tgt's fixed item order (spec
 * §2.5). Returns NULL when there is nothing to send. */
static char *build_payload(const struct command *cmd, size_t *len)
{
	struct payload p = { 0 };

	if (cmd->name) /* tgt prints a missing value as "(null)" */
		payload_add(&p, "%s=%s", cmd->name,
			    cmd->value ? cmd->value : "(null)");
	if (cmd->path)
		payload_add(&p, "path=%s", cmd->path);
	if (cmd->device_type == TYPE_TAPE)
		payload_add(&p, "bstype=ssc"); /* tape always uses ssc */
	else if (cmd->bstype)
		payload_add(&p, "bstype=%s", cmd->bstype);
	if (cmd->bsopts)
		payload_add(&p, "bsopts=%s", cmd->bsopts);
	if (cmd->bsoflags)
		payload_add(&p, "bsoflags=%s", cmd->bsoflags);
	if (cmd->blocksize)
		payload_add(&p, "blocksize=%s", cmd->blocksize);
	if (cmd->targetname)
		payload_add(&p, "targetname=%s", cmd->targetname);
	if (cmd->initiator_address)
		payload_add(&p, "initiator-address=%s",
			    cmd->initiator_address);
	if (cmd->initiator_name)
		payload_add(&p, "initiator-name=%s", cmd->initiator_name);
	if (cmd->user)
		payload_add(&p, "user=%s", cmd->user);
	if (cmd->password)
		payload_add(&p, "password=%s", cmd->password);
	if (cmd->target_params)
		payload_add(&p, "targetOps %s,", cmd->target_params);
	if (cmd->portal_params)
		payload_add(&p, "portalOps %s,", cmd->portal_params);
	*len = p.text ? p.len + 1 : 0; /* the NUL is part of the payload */
	return p.text;
}

static void fill_header(const struct command *cmd, size_t payload_len,
			struct tgtadm_req *req)
{
	memset(req, 0, sizeof(*req));
	req->mode = cmd->mode;
	req->op = cmd->op;
	memcpy(req->lld, cmd->lld, sizeof(req->lld));
	req->len = sizeof(*req) + payload_len;
	req->tid = cmd->tid;
	req->sid = cmd->sid;
	req->lun = cmd->lun;
	req->cid = cmd->cid;
	req->host_no = cmd->host_no;
	req->device_type = cmd->device_type;
	req->ac_dir = cmd->ac_dir;
	req->force = cmd->force;
}

/* Connects to the daemon's management socket. Returns the fd, or -1. */
static int connect_daemon(int control_port, bool report_long_path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char path[PATH_MAX];
	int fd;

	if (tgt_ipc_path(control_port, path, sizeof(path)) < 0) {
		if (report_long_path)
			fprintf(stderr,
				"tgtadm: management path too long: %s\n",
				path);
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static void send_request(int fd, const struct tgtadm_req *req,
			 const char *payload, size_t payload_len, bool debug)
{
	if (write_all(fd, req, sizeof(*req)) < 0)
		die(errno, "failed to send request hdr to tgt daemon, %s",
		    strerror(errno));
	if (payload_len && write_all(fd, payload, payload_len) < 0)
		die(errno, "failed to send request buf to tgt daemon, %s",
		    strerror(errno));
	if (debug)
		fprintf(stderr, "send_request: sent to tgtd %u\n", req->len);
}

/* Reads the reply header. The exit statuses for a closed or short reply
 * are tgt's (0, oddly); scripts only see the message. */
static void receive_header(int fd, struct tgtadm_rsp *rsp)
{
	ssize_t n;

	do
		n = recv(fd, rsp, sizeof(*rsp), MSG_WAITALL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die(errno, "can't get the response, %s", strerror(errno));
	if (n == 0)
		die(0, "tgtd closed the socket");
	if ((size_t)n < sizeof(*rsp))
		die(0, "a partial response");
}

/* Reads the reply body (text plus NUL) and prints it unchanged. */
static void print_body(int fd, size_t len)
{
	char *body = malloc(len + 1);
	size_t got = 0;

	if (!body)
		die(ENOMEM, "out of memory");
	while (got < len) {
		ssize_t n = read(fd, body + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die(errno, "can't get the response, %s",
			    strerror(errno));
		if (n == 0)
			break;
		got += n;
	}
	body[got] = '\0'; /* in case the daemon left out the NUL */
	fputs(body, stdout);
	free(body);
}

/* After `--mode system --op delete` the daemon exits once it has replied;
 * wait until its socket refuses connections so that a following start of
 * tgtd does not find the old one still running. */
static void wait_for_daemon_exit(int control_port)
{
	const struct timespec interval = { 0, RECONNECT_INTERVAL_NS };
	int fd;

	while ((fd = connect_daemon(control_port, false)) >= 0) {
		close(fd);
		nanosleep(&interval, NULL);
	}
}

static int run_request(const struct command *cmd)
{
	struct tgtadm_req req;
	struct tgtadm_rsp rsp;
	size_t payload_len;
	char *payload = build_payload(cmd, &payload_len);
	int fd;

	fill_header(cmd, payload_len, &req);
	fd = connect_daemon(cmd->control_port, true);
	/* tgt reports any connect failure through the write that follows
	 * on the unconnected socket; the systemd unit and scripts rely on
	 * "107 = tgtd is not running". */
	if (fd < 0)
		die(ENOTCONN, "failed to send request hdr to tgt daemon, %s",
		    strerror(ENOTCONN));
	send_request(fd, &req, payload, payload_len, cmd->debug);
	free(payload);
	receive_header(fd, &rsp);
	if (rsp.err != TGTADM_SUCCESS)
		die(EINVAL, "%s", tgtadm_strerror(rsp.err));
	if (rsp.len > sizeof(rsp))
		print_body(fd, rsp.len - sizeof(rsp));
	if (cmd->mode == MODE_SYSTEM && cmd->op == OP_DELETE)
		wait_for_daemon_exit(cmd->control_port);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct command cmd = {
		.mode = -1,
		.op = -1,
		.tid = -1,
		.lun = UINT64_MAX,
	};

	/* A daemon that goes away mid-request must give an error message,
	 * not a silent death by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	parse_command_line(&cmd, argc, argv);
	validate_command(&cmd);
	return run_request(&cmd);
}
