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

#include "tools/mgmt_client.h"

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

/* Everything the command line says. Strings point into argv. In req,
 * mode and op are -1 until --mode and --op are seen, and a host_no of 0
 * counts as "not given", as in tgt. */
struct command {
	struct mgmt_request req;
	bool debug;
	int control_port;

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
	case 'n': cmd->req.name = arg; break;
	case 'v': cmd->req.value = arg; break;
	case 'b': cmd->req.path = arg; break;
	case 'E': cmd->req.bstype = arg; break;
	case 'S': cmd->req.bsopts = arg; break;
	case 'f': cmd->req.bsoflags = arg; break;
	case 'y': cmd->req.blocksize = arg; break;
	case 'T': cmd->req.targetname = arg; break;
	case 'I': cmd->req.initiator_address = arg; break;
	case 'Q': cmd->req.initiator_name = arg; break;
	case 'u': cmd->req.user = arg; break;
	case 'p': cmd->req.password = arg; break;
	case 'P':
		/* tgt's quirk: -P means portal parameters only if --mode portal
		 * came before it on the command line. */
		if (cmd->req.mode == MODE_PORTAL)
			cmd->req.portal_params = arg;
		else
			cmd->req.target_params = arg;
		break;
	default:
		return false;
	}
	return true;
}

static void set_mode_or_op(struct command *cmd, int opt, const char *arg)
{
	if (opt == 'm') {
		cmd->req.mode = mgmt_mode_from_name(arg);
		if (cmd->req.mode < 0)
			die(1, "unknown mode: %s", arg);
	} else {
		cmd->req.op = mgmt_op_from_name(arg);
		if (cmd->req.op < 0)
			die(1, "unknown operation: %s", arg);
	}
}

static void set_device_type(struct command *cmd, const char *arg)
{
	int type = mgmt_device_type_from_name(arg);

	if (type < 0)
		die(EXIT_USAGE, "unknown target type: %s", arg);
	cmd->req.device_type = type;
}

/* Handles one option returned by getopt_long. */
static void apply_option(struct command *cmd, int opt, char **argv)
{
	if (set_string_option(cmd, opt, optarg))
		return;
	switch (opt) {
	case 'd': cmd->debug = true; break;
	case 'L': mgmt_request_set_lld(&cmd->req, optarg); break;
	case 'm': case 'o': set_mode_or_op(cmd, opt, optarg); break;
	case 't': cmd->req.tid = parse_number(opt, optarg, INT_MAX); break;
	case 's': cmd->req.sid = parse_number(opt, optarg, UINT64_MAX); break;
	case 'c': cmd->req.cid = parse_number(opt, optarg, UINT32_MAX); break;
	case 'l': cmd->req.lun = parse_number(opt, optarg, UINT64_MAX); break;
	case 'H':
		cmd->req.host_no = parse_number(opt, optarg, UINT32_MAX);
		break;
	case 'C':
		cmd->control_port = parse_number(opt, optarg, SHRT_MAX);
		break;
	case 'B': cmd->req.host_no = host_of_bus_device(optarg); break;
	case 'Y': set_device_type(cmd, optarg); break;
	case 'F':
		cmd->req.force = true;
		give_back_option_like_arg(argv);
		break;
	case 'O':
		cmd->req.ac_dir = ACCOUNT_TYPE_OUTGOING;
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
	if (cmd->req.op < 0)
		die(EXIT_USAGE, "specify the operation type");
	if (cmd->req.mode < 0)
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
			    mgmt_mode_name(cmd->req.mode), opt);
		die(EXIT_USAGE, "option '-%c' not supported in %s mode", opt,
		    mgmt_mode_name(cmd->req.mode));
	}
}

__attribute__((noreturn))
static void die_unsupported_op(const struct command *cmd)
{
	die(EXIT_USAGE, "operation %s not supported in %s mode",
	    mgmt_op_name(cmd->req.op), mgmt_mode_name(cmd->req.mode));
}

static void require_name_and_value(const struct command *cmd)
{
	if (!cmd->req.name || !cmd->req.value)
		die(EXIT_USAGE,
		    "update operation requires 'name' and 'value' options");
}

static void validate_system(const struct command *cmd)
{
	switch (cmd->req.op) {
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
	if (cmd->req.op != OP_SHOW) {
		if (cmd->req.tid < 0)
			die(EXIT_USAGE, "'tid' option is necessary");
		if (cmd->req.tid == 0)
			die(EXIT_USAGE, "'tid' cannot be 0");
	}
	switch (cmd->req.op) {
	case OP_NEW:
		check_allowed(cmd, "LmotTC", MODE_FIRST);
		if (!cmd->req.targetname)
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
		if (!cmd->req.initiator_address && !cmd->req.initiator_name &&
		    !cmd->req.host_no)
			die(EXIT_USAGE, "%s operation requires "
			    "initiator-address, initiator-nameor bus",
			    mgmt_op_name(cmd->req.op));
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
	if (!cmd->req.user)
		die(EXIT_USAGE, "'user' option is necessary");
}

static void validate_account(const struct command *cmd)
{
	switch (cmd->req.op) {
	case OP_NEW:
		check_allowed(cmd, "LmoupfC", MODE_FIRST);
		if (!cmd->req.user || !cmd->req.password)
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
	return type != MGMT_TYPE_DISK && type != MGMT_TYPE_MMC &&
	       type != MGMT_TYPE_TAPE;
}

static void validate_logicalunit(const struct command *cmd)
{
	if (cmd->req.tid < 0)
		die(EXIT_USAGE, "'tid' option is necessary");
	if (cmd->req.tid == 0)
		die(EXIT_USAGE, "'tid' must not be 0");
	if (cmd->req.lun == UINT64_MAX)
		die(EXIT_USAGE, "'lun' option is necessary");
	switch (cmd->req.op) {
	case OP_NEW:
		check_allowed(cmd, "LmofytlbEYCS", MODE_FIRST);
		if (!cmd->req.path &&
		    device_type_needs_backing_store(cmd->req.device_type))
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
	switch (cmd->req.op) {
	case OP_NEW:
	case OP_DELETE:
		check_allowed(cmd, "LmoCP", MODE_FIRST);
		if (!cmd->req.portal_params)
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
	switch (cmd->req.op) {
	case OP_START:
	case OP_STOP:
	case OP_SHOW:
		check_allowed(cmd, "LmoC", MODE_FIRST);
		break;
	default:
		/* Sic: tgt prints the op number and calls it an option. */
		die(EXIT_USAGE, "option %d not supported in lld mode",
		    cmd->req.op);
	}
}

/* Client-side checks per mode and op (spec §3.2). Session and connection
 * requests go to the daemon unchecked. */
static void validate_command(const struct command *cmd)
{
	switch (cmd->req.mode) {
	case MODE_SYSTEM: validate_system(cmd); break;
	case MODE_TARGET: validate_target(cmd); break;
	case MODE_ACCOUNT: validate_account(cmd); break;
	case MODE_DEVICE: validate_logicalunit(cmd); break;
	case MODE_PORTAL: validate_portal(cmd); break;
	case MODE_LLD: validate_lld(cmd); break;
	default: break;
	}
}

/* After `--mode system --op delete` the daemon exits once it has replied;
 * wait until its socket refuses connections so that a following start of
 * tgtd does not find the old one still running. */
static void wait_for_daemon_exit(int control_port)
{
	const struct timespec interval = { 0, RECONNECT_INTERVAL_NS };
	int fd;

	while ((fd = mgmt_connect(control_port)) >= 0) {
		close(fd);
		nanosleep(&interval, NULL);
	}
}

static int run_request(const struct command *cmd)
{
	struct mgmt_reply reply;
	char path[PATH_MAX], msg[512];

	mgmt_call(cmd->control_port, &cmd->req, cmd->debug, &reply);
	if (reply.failure == MGMT_PATH_TOO_LONG) {
		mgmt_socket_path(cmd->control_port, path, sizeof(path));
		fprintf(stderr, "tgtadm: management path too long: %s\n",
			path);
	}
	if (reply.failure != MGMT_OK)
		die(mgmt_failure_exit_status(&reply), "%s",
		    mgmt_failure_message(&reply, msg, sizeof(msg)));
	if (reply.body)
		fputs(reply.body, stdout);
	mgmt_reply_free(&reply);
	if (cmd->req.mode == MODE_SYSTEM && cmd->req.op == OP_DELETE)
		wait_for_daemon_exit(cmd->control_port);
	return 0;
}

int main(int argc, char **argv)
{
	struct command cmd = { .debug = false };

	mgmt_request_init(&cmd.req, -1, -1);

	/* A daemon that goes away mid-request must give an error message,
	 * not a silent death by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	parse_command_line(&cmd, argc, argv);
	validate_command(&cmd);
	return run_request(&cmd);
}
