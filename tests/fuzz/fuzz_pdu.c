/* libFuzzer harness: the iSCSI transport end to end. The input is the
 * byte stream an initiator sends on one TCP connection (login, then full
 * feature phase PDUs); it reaches a real connection of an in-process
 * daemon through a socketpair: PDU framing, login and key negotiation,
 * discovery, migration to the target's thread, SCSI commands with R2T and
 * Data-Out, NOP, Text, TMF, Logout. The seeds are streams recorded from
 * libiscsi sessions (tests/fuzz/record.py), so that mutations reach the
 * full feature phase.
 *
 * Two targets live for the whole run, both with LUN 1 on the null store
 * and open to every initiator: FUZZ_TARGET, with header and data digests
 * allowed, and FUZZ_CHAP_TARGET, which requires CHAP (mutual if the
 * initiator asks). make-seeds.sh records sessions with the same names. After writing the input and closing the sending side,
 * the harness runs the main loop until the connection is gone from the
 * main loop and the target has no session left. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "event/loop.h"
#include "iscsi/iscsi.h"
#include "mgmt/dispatch.h"
#include "mgmt/ipc_proto.h"
#include "target/registry.h"

#define FUZZ_TARGET "iqn.2026-01.org.mtgt:fuzz"
#define FUZZ_CHAP_TARGET "iqn.2026-01.org.mtgt:fuzz-chap"
/* How long one input may keep the daemon busy before it is cut off. */
#define INPUT_DEADLINE_MS 5000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The harness's own state; touched only by the fuzzing (main) thread. */
struct harness {
	struct ev_loop *loop;
	struct ev_timer tick;
	int peer_fd;         /* the initiator's end of the socketpair */
	uint64_t deadline;
};

static struct harness h;

static int manage(int mode, int op, int tid, uint64_t lun,
		  const char *payload, struct strbuf *out)
{
	struct tgtadm_req req = { .mode = mode, .op = op, .tid = tid,
				  .lun = lun };
	char *copy = strdup(payload);
	struct mgmt_result r;

	strcpy(req.lld, "iscsi");
	r = mgmt_execute(h.loop, &req, copy, out, NULL);
	free(copy);
	return r.err;
}

static void setup_target(int tid, const char *name)
{
	char payload[128];
	struct strbuf out;
	int err;

	snprintf(payload, sizeof(payload), "targetname=%s", name);
	strbuf_init(&out);
	err = manage(MODE_TARGET, OP_NEW, tid, 0, payload, &out) ||
	      manage(MODE_DEVICE, OP_NEW, tid, 1, "path=none,bstype=null",
		     &out) ||
	      manage(MODE_TARGET, OP_BIND, tid, 0, "initiator-address=ALL",
		     &out);
	strbuf_free(&out);
	if (err) {
		fprintf(stderr, "fuzz_pdu: cannot set up %s\n", name);
		abort();
	}
}

/* The settings make-seeds.sh records its sessions with. */
static void setup_targets(void)
{
	struct tgtadm_req req = { .mode = MODE_ACCOUNT, .tid = 2 };
	static const char *const steps[][2] = {
		{ "new", "user=fuzzuser,password=fuzz-secret-12" },
		{ "new", "user=fuzztarget,password=fuzz-target-12" },
		{ "bind", "user=fuzzuser" },
		{ "bind", "user=fuzztarget" },
	};
	struct strbuf out;

	setup_target(1, FUZZ_TARGET);
	setup_target(2, FUZZ_CHAP_TARGET);
	strbuf_init(&out);
	if (manage(MODE_TARGET, OP_UPDATE, 1, 0,
		   "HeaderDigest=CRC32C", &out) ||
	    manage(MODE_TARGET, OP_UPDATE, 1, 0, "DataDigest=CRC32C",
		   &out))
		abort();
	strcpy(req.lld, "iscsi");
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		char *payload = strdup(steps[i][1]);

		req.op = steps[i][0][0] == 'n' ? OP_NEW : OP_BIND;
		req.ac_dir = i == 3 ? ACCOUNT_TYPE_OUTGOING :
				      ACCOUNT_TYPE_INCOMING;
		if (mgmt_execute(h.loop, &req, payload, &out, NULL).err)
			abort();
		free(payload);
	}
	strbuf_free(&out);
}

static bool target_has_sessions(void)
{
	struct strbuf out;
	bool busy;

	strbuf_init(&out);
	manage(MODE_TARGET, OP_SHOW, 0, 0, "", &out);
	busy = out.buf && strstr(out.buf, "I_T nexus:");
	strbuf_free(&out);
	return busy;
}

static void drain_peer(void)
{
	char buf[65536];

	while (recv(h.peer_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void on_tick(struct ev_loop *loop, void *arg)
{
	(void)arg;
	drain_peer();
	if ((list_empty(registry_main_conns()) && !target_has_sessions()) ||
	    ev_now_ms() > h.deadline) {
		ev_stop(loop);
		return;
	}
	ev_timer_start(loop, &h.tick, 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* APTPL reservation state goes to a scratch directory. */
	static char pr_dir[] = "/tmp/mtgt-fuzz-pdu.XXXXXX";

	(void)argc;
	(void)argv;
	if (!mkdtemp(pr_dir))
		abort();
	registry_set_pr_dir(pr_dir);
	h.loop = ev_loop_create("tgtd", NULL);
	if (!h.loop)
		abort();
	ev_timer_init(&h.tick, on_tick, NULL);
	setup_targets();
	return 0;
}

static void fake_addresses(struct sockaddr_storage *peer,
			   struct sockaddr_storage *local)
{
	struct sockaddr_in *p = (struct sockaddr_in *)peer;
	struct sockaddr_in *l = (struct sockaddr_in *)local;

	memset(peer, 0, sizeof(*peer));
	memset(local, 0, sizeof(*local));
	p->sin_family = l->sin_family = AF_INET;
	p->sin_addr.s_addr = l->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->sin_port = htons(40000);
	l->sin_port = htons(3260);
}

/* Writes the input and closes the sending side. The socket buffer is
 * set larger than the biggest input (-max_len in run.sh), so the whole
 * input fits before the daemon reads any of it. */
static void send_input(const uint8_t *data, size_t size)
{
	int sndbuf = 4 << 20;
	size_t off = 0;

	setsockopt(h.peer_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	while (off < size) {
		ssize_t n = send(h.peer_fd, data + off, size - off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(h.peer_fd, SHUT_WR);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage peer, local;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	h.peer_fd = sv[1];
	fake_addresses(&peer, &local);
	if (!iscsi_conn_new(h.loop, sv[0], &peer, &local))
		abort();
	send_input(data, size);
	h.deadline = ev_now_ms() + INPUT_DEADLINE_MS;
	ev_timer_start(h.loop, &h.tick, 0);
	ev_run(h.loop);
	ev_timer_stop(h.loop, &h.tick);
	if (!list_empty(registry_main_conns()) || target_has_sessions()) {
		/* Still busy at the deadline: a hang worth a report. */
		fprintf(stderr, "fuzz_pdu: connection still open after %d ms\n",
			INPUT_DEADLINE_MS);
		abort();
	}
	close(h.peer_fd);
	return 0;
}
