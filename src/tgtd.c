/* tgtd: the mtgt daemon. Parses tgt's options, opens the management socket
 * and the portals on the main loop, and runs until SIGTERM/SIGINT or
 * `tgtadm --op delete --mode system`. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/log.h"
#include "event/loop.h"
#include "iscsi/iscsi.h"
#include "mgmt/server.h"
#include "target/registry.h"
#include "target/target.h"

#define MTGT_VERSION "0.1.0"
#define MAX_PORTALS 32

struct options {
	bool foreground;
	int control_port;
	const char *pid_file;
	const char *portals[MAX_PORTALS];
	int nr_portals;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tgtd [OPTION]\n"
		"Target framework daemon (mtgt), version %s\n"
		"  -f, --foreground        make the program run in the foreground\n"
		"  -C, --control-port NNNN use port NNNN for the mgmt channel\n"
		"  -t, --nr_iothreads NNNN accepted for compatibility\n"
		"  -p, --pid-file FILE     write the daemon's pid to FILE\n"
		"  -d, --debug debuglevel  print debugging information\n"
		"  -V, --version           print version and exit\n"
		"  -h, --help              display this help and exit\n"
		"  --iscsi portal=ADDR[:PORT][,portal=...]\n"
		"                          listen on these portals\n"
		"  --iscsi nop_interval=S,nop_count=N\n"
		"                          NOP-In keepalive defaults of new targets\n"
		"  --iscsi login_timeout=S a login must finish in S seconds (15)\n"
		"  --iscsi max_conns_per_initiator=N,max_conns_per_portal=N\n"
		"                          connection limits (256, 4096; 0: none)\n"
		"  --iscsi max_sessions_per_target=N\n"
		"                          sessions per target (0: no limit, the\n"
		"                          default; tgtadm's max_sessions sets it\n"
		"                          per target)\n"
		"  --iscsi delete_timeout=S\n"
		"                          a delete waits at most S seconds for\n"
		"                          the I/O of what it deletes (30)\n"
		"  --pr-state-dir DIR      keep persistent reservations with\n"
		"                          APTPL in DIR (default %s;\n"
		"                          \"\" turns persistence off)\n",
		MTGT_VERSION, REGISTRY_PR_DIR_DEFAULT);
}

static int bad_arg(char opt, const char *arg, const char *why)
{
	fprintf(stderr, "-%c argument value '%s' %s\n", opt, arg, why);
	fprintf(stderr, "Try `tgtd --help' for more information.\n");
	return -1;
}

static int parse_int(char opt, const char *arg, int min, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 0);
	if (errno || *end || end == arg)
		return bad_arg(opt, arg, "invalid");
	if (v < min || v > max)
		return bad_arg(opt, arg, "out of range");
	*out = (int)v;
	return 0;
}

/* The numeric --iscsi settings: tgt's NOP defaults of new targets, and
 * mtgt's login time limit, connection limits, session limit and the time
 * a delete waits for its I/O. */
static unsigned *iscsi_setting(const char *name, size_t len, int *min,
			       int *max)
{
	struct iscsi_settings *set = registry_iscsi_settings();
	static const struct {
		const char *name;
		size_t offset;
		int min, max;
	} table[] = {
		{ "nop_interval", offsetof(struct iscsi_settings, nop_interval),
		  0, 1000000 },
		{ "nop_count", offsetof(struct iscsi_settings, nop_count), 0,
		  1000000 },
		{ "login_timeout",
		  offsetof(struct iscsi_settings, login_timeout_s), 1, 1000000 },
		{ "max_conns_per_initiator",
		  offsetof(struct iscsi_settings, max_conns_per_initiator), 0,
		  1000000 },
		{ "max_conns_per_portal",
		  offsetof(struct iscsi_settings, max_conns_per_portal), 0,
		  1000000 },
		/* As tgtadm's max_sessions: TSIHs are 16 bits. */
		{ "max_sessions_per_target",
		  offsetof(struct iscsi_settings, max_sessions_per_target), 0,
		  65535 },
		{ "delete_timeout",
		  offsetof(struct iscsi_settings, delete_timeout_s), 1, 1000000 },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strlen(table[i].name) != len ||
		    strncmp(table[i].name, name, len))
			continue;
		*min = table[i].min;
		*max = table[i].max;
		return (unsigned *)((char *)set + table[i].offset);
	}
	return NULL;
}

/* --iscsi portal=A:P,portal=B:Q,nop_interval=S,... */
static int parse_iscsi(char *arg, struct options *o)
{
	char *save = NULL;

	for (char *item = strtok_r(arg, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		unsigned *setting;
		int min, max, v;

		if (!strncmp(item, "portal=", 7)) {
			if (o->nr_portals == MAX_PORTALS)
				return -1;
			o->portals[o->nr_portals++] = item + 7;
			continue;
		}
		setting = eq ? iscsi_setting(item, (size_t)(eq - item), &min,
					     &max)
			     : NULL;
		if (!setting) {
			fprintf(stderr, "tgtd: unknown iscsi option '%s'\n",
				item);
			return -1;
		}
		if (parse_int('I', eq + 1, min, max, &v))
			return -1;
		*setting = (unsigned)v;
	}
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "nodaemonize", no_argument, NULL, 'D' },
		{ "control-port", required_argument, NULL, 'C' },
		{ "nr_iothreads", required_argument, NULL, 't' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "debug", required_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "iscsi", required_argument, NULL, 'I' },
		{ "pr-state-dir", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	int c, v;

	while ((c = getopt_long(argc, argv, "fDC:t:p:d:Vh", longopts, NULL)) >=
	       0) {
		switch (c) {
		case 'f':
		case 'D':
			o->foreground = true;
			break;
		case 'C':
			if (parse_int('C', optarg, 0, 32767, &o->control_port))
				return -1;
			break;
		case 't':
			if (parse_int('t', optarg, 1, 1024, &v))
				return -1;
			break;
		case 'p':
			o->pid_file = optarg;
			break;
		case 'd':
			if (parse_int('d', optarg, 0, 1, &v))
				return -1;
			log_set_debug(v);
			break;
		case 'V':
			printf("%s\n", MTGT_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		case 'I':
			if (parse_iscsi(optarg, o))
				return -1;
			break;
		case 'P':
			/* daemon() moves to /: a relative path would
			 * name another directory than the user meant. */
			if (*optarg && *optarg != '/') {
				fprintf(stderr, "tgtd: --pr-state-dir must be an "
					"absolute path: '%s'\n", optarg);
				return -1;
			}
			registry_set_pr_dir(optarg);
			break;
		default:
			fprintf(stderr, "Try `tgtd --help' for more information.\n");
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tgtd: '%s' is an unknown option\n", argv[optind]);
		return -1;
	}
	return 0;
}

static void on_signal(struct ev_loop *loop, uint32_t events, void *arg)
{
	struct ev_io *io = arg;
	struct signalfd_siginfo si;

	(void)events;
	if (read(io->fd, &si, sizeof(si)) == sizeof(si))
		log_info("signal %u: shutting down", si.ssi_signo);
	ev_stop(loop);
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The main thread serves every login and tgtadm call. On a machine whose
 * cores are saturated by target threads it must still get the CPU at
 * once when it has work, so it runs at a higher priority than they do
 * (threads it creates later reset theirs to the default). It mostly
 * sleeps, so it takes nothing from them. Best effort: needs CAP_SYS_NICE. */
static void favour_main_thread(void)
{
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), -10) < 0)
		log_debug("cannot raise the main thread's priority: %s",
			  strerror(errno));
}

static int write_pid_file(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "%d", getpid());
	return fclose(f);
}

static int open_portals(struct ev_loop *loop, struct options *o)
{
	if (o->nr_portals == 0)
		return iscsi_portal_add(loop, ":3260");
	for (int i = 0; i < o->nr_portals; i++) {
		int ret = iscsi_portal_add(loop, o->portals[i]);

		if (ret) {
			log_error("cannot listen on %s: %s", o->portals[i],
				  strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options opts = { 0 };
	struct ev_loop *loop;
	struct mgmt_server *mgmt;
	struct ev_io sig_io;
	sigset_t mask;
	int sig_fd;

	if (parse_options(argc, argv, &opts))
		return 1;
	if (!opts.foreground && daemon(0, 0) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	/* Blocked in every thread (they inherit the mask); the main loop
	 * reads them from a signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	raise_fd_limit();
	favour_main_thread();
	/* Command data buffers (up to SCSI_MAX_XFER_BYTES) come and go with
	 * every I/O. Above glibc's default threshold of 128 KiB each one
	 * would be a fresh mmap, page faults and munmap: a 128 KiB read
	 * cost three times as much. Keep them on the heap. */
	mallopt(M_MMAP_THRESHOLD, 2 * SCSI_MAX_XFER_BYTES);
	loop = ev_loop_create("tgtd", NULL);
	sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (!loop || sig_fd < 0)
		return 1;
	ev_io_init(&sig_io, sig_fd, on_signal, &sig_io);
	ev_io_start(loop, &sig_io, EPOLLIN);
	mgmt = mgmt_server_start(loop, opts.control_port);
	if (!mgmt || open_portals(loop, &opts)) {
		iscsi_portals_close_all();
		mgmt_server_stop(mgmt);
		ev_io_stop(&sig_io);
		close(sig_fd);
		ev_loop_destroy(loop);
		return 1;
	}
	if (opts.pid_file && write_pid_file(opts.pid_file) < 0)
		log_error("cannot write %s: %s", opts.pid_file, strerror(errno));
	ev_run(loop);

	/* Stop accepting, end every session, release everything. */
	iscsi_portals_close_all();
	iscsi_main_conns_close_all();
	target_destroy_all();
	ev_drain(loop);
	mgmt_server_stop(mgmt);
	ev_io_stop(&sig_io);
	close(sig_fd);
	ev_loop_destroy(loop);
	return 0;
}
