/*
 * stress-io: one iSCSI session doing verified random I/O on a slice of
 * one or more LUNs, with several commands in flight (libiscsi, async API).
 * Used by tests/stress/stress.sh (and test_threads.sh for idle sessions).
 *
 *   stress-io run URL [options]     random verified I/O, then a full check
 *   stress-io hold URL [options]    log in and stay idle until SIGTERM
 *
 * URL: iscsi://HOST[:PORT]/IQN/LUN (the LUN of the URL is the default
 * --luns).
 *
 * run: the session owns slice K of N (--slot K --slots N) of every LUN in
 * --luns, so several sessions can write the same LUNs and still know what
 * every block must contain. Commands in flight never overlap one another.
 * A WRITE (10 or 16, a quarter with FUA) that returned GOOD sets the
 * generation of its blocks; each write is read back at once, random ranges
 * of the slice are re-read, and after --duration seconds the session
 * flushes (SYNCHRONIZE CACHE), reads its whole slice back and, with
 * --backing LUN=FILE, compares the backing file as well. Block content is a
 * pure function of (seed, LUN, LBA, generation) with a self-describing
 * header, so a mismatch report says whose data landed where.
 * UNIT ATTENTION is retried (LUN inventory changes are expected).
 *
 *   --luns L[,L...]    LUNs to write (default: the URL's)
 *   --slot K --slots N this session's slice of each LUN (default 0 of 1)
 *   --duration S       seconds of random I/O (default 10)
 *   --qd N             commands in flight (default 8, at most 64)
 *   --max-blocks N     largest transfer in blocks (default 64)
 *   --seed N           content seed (default 1)
 *   --initiator NAME   initiator IQN
 *   --fresh            the LUNs start as zeros: unwritten blocks are checked
 *   --probe-lun L      now and then READ, or WRITE zeros to, up to 256
 *                      blocks of the first MiB of LUN L (all zeros, 512-byte
 *                      blocks), which may come and go: GOOD (reading zeros),
 *                      "LUN not supported", NOT READY (offline) and UNIT
 *                      ATTENTION are accepted
 *   --backing L=FILE   final check of LUN L's slice also in FILE
 *   --tolerate-disconnect  the connection may be dropped (target deleted,
 *                      session killed) or a LUN deleted: end quietly with
 *                      status 0; data read before that must still match,
 *                      and so must the --backing files (every write that
 *                      was acknowledged)
 *   --hang-timeout S   a command outstanding for S seconds is a hang
 *                      (default 60): status 3
 *
 * hold: logs in, answers NOP-Ins, and logs out on SIGTERM/SIGINT (status
 * 0). A dropped connection ends it with status 4.
 *
 * A forced target delete first asks the initiators to log out (Async
 * Message, event 1). libiscsi would log out and then try to log in again,
 * forever, to a target that is gone; these clients take the request as
 * the end of their connection instead (libiscsi's
 * LIBISCSI_DROP_CONN_ON_ASYNC_EVENT1), which is what they check for.
 *
 * Exit status: 0 ok, 1 data mismatch, 2 error (login, I/O, protocol),
 * 3 hang, 4 connection lost (hold).
 * Last line of output: "stress-io: ..." with counters and the slowest
 * command's latency.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define BLOCK_MAGIC	0x53545253u	/* "STRS" */
#define MAX_LUNS	8
#define MAX_QD		64
#define MAX_REPORTED	32
#define UNKNOWN_GEN	UINT32_MAX	/* content not known: not compared */
#define CHECK_CHUNK	256		/* blocks per final read-back */
#define UA_RETRIES	20

enum { EXIT_OK = 0, EXIT_MISMATCH = 1, EXIT_ERROR = 2, EXIT_HANG = 3,
       EXIT_LOST = 4 };

struct lunst {
	int lun;
	uint32_t bs;
	uint64_t blocks;	/* of the LUN */
	uint64_t first;		/* slice: [first, first + count) */
	uint64_t count;
	uint32_t *gen;		/* per slice block; 0 = zeros */
	uint8_t *busy;		/* per slice block: a command in flight */
	const char *backing;
};

enum op_kind { OP_WRITE, OP_READBACK, OP_READ, OP_PROBE };

struct op {
	bool active;
	enum op_kind kind;
	struct lunst *l;
	int lun;
	uint64_t lba;		/* absolute LBA */
	uint32_t n;
	uint32_t gen;		/* written generation (OP_WRITE/READBACK) */
	bool fua, cdb16;
	bool probe_write;	/* OP_PROBE: WRITE zeros instead of READ */
	int retries;
	unsigned char *buf;	/* data written */
	double t0;
};

struct opts {
	const char *mode, *url, *initiator;
	int luns[MAX_LUNS], nluns;
	const char *backing[MAX_LUNS];
	int backing_lun[MAX_LUNS], nbacking;
	uint64_t slot, slots;
	double duration;
	int qd;
	uint32_t max_blocks;
	uint64_t seed;
	bool fresh, tolerate;
	int probe_lun;
	double hang_timeout;
};

static struct opts o;
static struct iscsi_context *iscsi;
static struct lunst luns[MAX_LUNS];
static int nluns;
static struct op ops[MAX_QD];
static int inflight;
static uint32_t next_gen;
static uint64_t rng_state;
static volatile sig_atomic_t stop_requested;
static bool disconnected;
static bool lun_gone;	/* tolerated: a LUN of ours was deleted */
static int fatal;	/* exit status decided by a completion */

static struct {
	uint64_t writes, fua, reads, blocks_written, blocks_verified;
	uint64_t mismatches, ua, probe_good, probe_nolun, probe_ua;
	double max_lat;
} st;

/* ------------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t n)
{
	return n ? splitmix64(&rng_state) % n : 0;
}

static void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p) {
		perror("calloc");
		exit(EXIT_ERROR);
	}
	return p;
}

/* Header: le64 LBA, le64 (magic << 32 | gen), le64 seed, le64 LUN; then a
 * splitmix64 stream seeded from all four. */
static void fill_block(unsigned char *p, uint32_t bs, uint64_t seed, int lun,
		       uint64_t lba, uint32_t gen)
{
	uint64_t x = seed ^ (lba * 0xd6e8feb86659fd93ull) ^
		     ((uint64_t)gen * 0xa0761d6478bd642full) ^
		     ((uint64_t)lun * 0xe7037ed1a0b428dbull);
	uint32_t off;

	put_le64(p, lba);
	put_le64(p + 8, ((uint64_t)BLOCK_MAGIC << 32) | gen);
	put_le64(p + 16, seed);
	put_le64(p + 24, (uint64_t)lun);
	for (off = 32; off + 8 <= bs; off += 8)
		put_le64(p + off, splitmix64(&x));
}

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void describe(const unsigned char *p, uint32_t bs, char *out,
		     size_t len)
{
	uint64_t tag = get_le64(p + 8);

	if (all_zero(p, bs))
		snprintf(out, len, "zeros");
	else if ((tag >> 32) != BLOCK_MAGIC)
		snprintf(out, len, "unrecognised data");
	else
		snprintf(out, len, "block of LUN %" PRIu64 " LBA %" PRIu64
			 " gen %u seed %" PRIu64, get_le64(p + 24),
			 get_le64(p), (uint32_t)tag, get_le64(p + 16));
}

/* Compares [lba, lba+n) read from the LUN (or its file) with the state. */
static void compare(struct lunst *l, uint64_t lba, uint32_t n,
		    const unsigned char *buf, const char *when)
{
	unsigned char *exp = xmalloc(l->bs);

	for (uint32_t i = 0; i < n; i++) {
		uint64_t idx = lba + i - l->first;
		uint32_t gen = l->gen[idx];
		const unsigned char *got = buf + (size_t)i * l->bs;
		char desc[160];

		if (gen == UNKNOWN_GEN)
			continue;
		if (gen)
			fill_block(exp, l->bs, o.seed, l->lun, lba + i, gen);
		else
			memset(exp, 0, l->bs);
		st.blocks_verified++;
		if (!memcmp(exp, got, l->bs))
			continue;
		if (++st.mismatches > MAX_REPORTED)
			continue;
		describe(got, l->bs, desc, sizeof(desc));
		printf("MISMATCH (%s) LUN %d LBA %" PRIu64 ": expected gen %u"
		       " seed %" PRIu64 ", found %s\n", when, l->lun, lba + i,
		       gen, o.seed, desc);
		fflush(stdout);
	}
	free(exp);
}

/* ------------------------------------------------------------------ */

static bool is_ua(const struct scsi_task *t)
{
	return t->status == SCSI_STATUS_CHECK_CONDITION &&
	       t->sense.key == SCSI_SENSE_UNIT_ATTENTION;
}

static void print_status(FILE *f, const char *what, const struct op *op,
			 int status, const struct scsi_task *t)
{
	fprintf(f, "%s LUN %d LBA %" PRIu64 " +%u: status 0x%x", what,
		op ? op->lun : -1, op ? op->lba : 0, op ? op->n : 0, status);
	if (t && status == SCSI_STATUS_CHECK_CONDITION)
		fprintf(f, " sense %s ascq %s (0x%04x)",
			scsi_sense_key_str(t->sense.key),
			scsi_sense_ascq_str(t->sense.ascq), t->sense.ascq);
	fprintf(f, ": %s\n", iscsi_get_error(iscsi));
}

static bool transport_status(int status)
{
	return status == SCSI_STATUS_ERROR || status == SCSI_STATUS_CANCELLED;
}

static bool lun_not_supported(int status, const struct scsi_task *t)
{
	return status == SCSI_STATUS_CHECK_CONDITION && t &&
	       t->sense.key == SCSI_SENSE_ILLEGAL_REQUEST &&
	       t->sense.ascq == SCSI_SENSE_ASCQ_LOGICAL_UNIT_NOT_SUPPORTED;
}

/* A command failed. Tolerated only as a consequence of a lost connection
 * or (with --tolerate-disconnect) a deleted LUN. */
static void op_failed(struct op *op, int status, struct scsi_task *t)
{
	if (o.tolerate && transport_status(status)) {
		disconnected = true;
		return;
	}
	if (o.tolerate && lun_not_supported(status, t)) {
		lun_gone = true;
		return;
	}
	print_status(stderr, op->kind == OP_WRITE ? "WRITE" : "READ", op,
		     status, t);
	if (status == SCSI_STATUS_TIMEOUT)
		fatal = EXIT_HANG;
	else if (!fatal)
		fatal = EXIT_ERROR;
}

static void mark(struct op *op, uint8_t busy)
{
	if (op->l)
		memset(op->l->busy + (op->lba - op->l->first), busy, op->n);
}

static void op_done(struct op *op)
{
	double lat = now_s() - op->t0;

	if (lat > st.max_lat)
		st.max_lat = lat;
	mark(op, 0);
	free(op->buf);
	op->buf = NULL;
	op->active = false;
	inflight--;
}

/* A write whose outcome is unknown: its blocks hold old or new data. */
static void forget_write(struct op *op)
{
	for (uint32_t i = 0; i < op->n; i++)
		op->l->gen[op->lba - op->l->first + i] = UNKNOWN_GEN;
}

static void io_cb(struct iscsi_context *ctx, int status, void *data,
		  void *priv);

static void submit(struct op *op)
{
	uint32_t bs = op->l ? op->l->bs : 512;
	uint32_t len = op->n * bs;
	struct scsi_task *t;

	op->t0 = now_s();
	switch (op->kind == OP_PROBE && op->probe_write ? OP_WRITE : op->kind) {
	case OP_WRITE:
		if (op->cdb16)
			t = iscsi_write16_task(iscsi, op->lun, op->lba, op->buf,
					       len, (int)bs, 0, 0, op->fua, 0, 0,
					       io_cb, op);
		else
			t = iscsi_write10_task(iscsi, op->lun,
					       (uint32_t)op->lba, op->buf, len,
					       (int)bs, 0, 0, op->fua, 0, 0,
					       io_cb, op);
		break;
	default:
		if (op->cdb16)
			t = iscsi_read16_task(iscsi, op->lun, op->lba, len,
					      (int)bs, 0, 0, 0, 0, 0, io_cb, op);
		else
			t = iscsi_read10_task(iscsi, op->lun, (uint32_t)op->lba,
					      len, (int)bs, 0, 0, 0, 0, 0, io_cb,
					      op);
		break;
	}
	if (!t) {
		if (o.tolerate) {
			disconnected = true;
		} else {
			fprintf(stderr, "cannot queue a command: %s\n",
				iscsi_get_error(iscsi));
			fatal = EXIT_ERROR;
		}
		if (op->kind == OP_WRITE)
			forget_write(op);
		op_done(op);
	}
}

static void probe_done(struct op *op, int status, struct scsi_task *t)
{
	if (status == SCSI_STATUS_GOOD && op->probe_write) {
		st.probe_good++;
	} else if (status == SCSI_STATUS_GOOD) {
		size_t want = (size_t)op->n * 512;

		st.probe_good++;
		if (t->datain.size < 0 || (size_t)t->datain.size != want) {
			fprintf(stderr, "probe READ of LUN %d: %d bytes\n",
				op->lun, t->datain.size);
			fatal = EXIT_ERROR;
		} else if (!all_zero(t->datain.data, want)) {
			printf("MISMATCH (probe) LUN %d LBA %" PRIu64 " +%u: "
			       "not zeros\n", op->lun, op->lba, op->n);
			st.mismatches++;
		}
	} else if (lun_not_supported(status, t)) {
		st.probe_nolun++; /* the LUN is not there right now */
	} else if (status == SCSI_STATUS_CHECK_CONDITION &&
		   t->sense.key == SCSI_SENSE_NOT_READY) {
		st.probe_nolun++; /* set offline (online=0) */
	} else if (status == SCSI_STATUS_CHECK_CONDITION && is_ua(t)) {
		st.probe_ua++;
	} else {
		op_failed(op, status, t);
	}
	op_done(op);
}

static void io_cb(struct iscsi_context *ctx, int status, void *data,
		  void *priv)
{
	struct scsi_task *t = data;
	struct op *op = priv;

	(void)ctx;
	if (op->kind == OP_PROBE) {
		probe_done(op, status, t);
		goto out;
	}
	if (status == SCSI_STATUS_CHECK_CONDITION && t && is_ua(t) &&
	    op->retries++ < UA_RETRIES) {
		/* Not executed: run it again. */
		st.ua++;
		scsi_free_scsi_task(t);
		submit(op);
		return;
	}
	if (status != SCSI_STATUS_GOOD) {
		if (op->kind == OP_WRITE)
			forget_write(op);
		op_failed(op, status, t);
		op_done(op);
		goto out;
	}
	if (op->kind == OP_WRITE) {
		for (uint32_t i = 0; i < op->n; i++)
			op->l->gen[op->lba - op->l->first + i] = op->gen;
		st.writes++;
		st.fua += op->fua;
		st.blocks_written += op->n;
		/* Read the write back, the range still reserved. */
		op->kind = OP_READBACK;
		op->retries = 0;
		op->cdb16 = rnd(2);
		free(op->buf);
		op->buf = NULL;
		scsi_free_scsi_task(t);
		submit(op);
		return;
	}
	st.reads++;
	if (t->datain.size < 0 ||
	    (size_t)t->datain.size != (size_t)op->n * op->l->bs) {
		fprintf(stderr, "READ LUN %d LBA %" PRIu64 " +%u: %d bytes\n",
			op->lun, op->lba, op->n, t->datain.size);
		fatal = EXIT_ERROR;
	} else {
		compare(op->l, op->lba, op->n, t->datain.data,
			op->kind == OP_READBACK ? "read after write"
						: "random read");
	}
	op_done(op);
out:
	if (t)
		scsi_free_scsi_task(t);
}

/* Picks a range of l's slice that no command in flight touches. */
static bool pick_range(struct lunst *l, uint64_t *lba, uint32_t *n)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		uint32_t max = o.max_blocks;
		uint64_t start;
		bool free_range = true;

		if (max > l->count)
			max = (uint32_t)l->count;
		*n = 1 + (uint32_t)rnd(max);
		start = rnd(l->count - *n + 1);
		for (uint32_t i = 0; i < *n; i++)
			if (l->busy[start + i]) {
				free_range = false;
				break;
			}
		if (free_range) {
			*lba = l->first + start;
			return true;
		}
	}
	return false;
}

static void start_one(void)
{
	struct op *op = NULL;
	unsigned r = (unsigned)rnd(100);

	for (int i = 0; i < o.qd; i++)
		if (!ops[i].active) {
			op = &ops[i];
			break;
		}
	if (!op)
		return;
	memset(op, 0, sizeof(*op));
	if (o.probe_lun >= 0 && r < 15) {
		op->kind = OP_PROBE;
		op->lun = o.probe_lun;
		op->n = 1 + (uint32_t)rnd(o.max_blocks < 256 ? o.max_blocks : 256);
		op->lba = rnd(2048 - op->n + 1);
		op->cdb16 = rnd(2);
		op->probe_write = rnd(2);
		if (op->probe_write)
			op->buf = xmalloc((size_t)op->n * 512); /* zeros */
	} else {
		struct lunst *l = &luns[rnd((uint64_t)nluns)];

		if (!pick_range(l, &op->lba, &op->n))
			return;
		op->l = l;
		op->lun = l->lun;
		op->cdb16 = rnd(2) || op->lba + op->n > UINT32_MAX;
		if (r < 70) {
			op->kind = OP_WRITE;
			op->gen = ++next_gen;
			op->fua = rnd(4) == 0;
			op->buf = xmalloc((size_t)op->n * l->bs);
			for (uint32_t i = 0; i < op->n; i++)
				fill_block(op->buf + (size_t)i * l->bs, l->bs,
					   o.seed, l->lun, op->lba + i,
					   op->gen);
		} else {
			op->kind = OP_READ;
		}
	}
	op->active = true;
	inflight++;
	mark(op, 1);
	submit(op);
}

/* One round of the event loop. false: the connection is gone. */
static bool service(int timeout_ms)
{
	struct pollfd pfd = { .fd = iscsi_get_fd(iscsi),
			      .events = (short)iscsi_which_events(iscsi) };
	int n = poll(&pfd, 1, timeout_ms);

	if (n < 0 && errno != EINTR) {
		perror("poll");
		exit(EXIT_ERROR);
	}
	if (iscsi_service(iscsi, n > 0 ? pfd.revents : 0) < 0) {
		if (!o.tolerate)
			fprintf(stderr, "connection lost: %s\n",
				iscsi_get_error(iscsi));
		disconnected = true;
		return false;
	}
	return true;
}

/* The oldest command in flight has waited too long. */
static bool hung(void)
{
	double now = now_s();

	for (int i = 0; i < o.qd; i++)
		if (ops[i].active && now - ops[i].t0 > o.hang_timeout) {
			fprintf(stderr, "command on LUN %d LBA %" PRIu64
				" +%u outstanding for %.0f s\n", ops[i].lun,
				ops[i].lba, ops[i].n, now - ops[i].t0);
			return true;
		}
	return false;
}

static void random_io(void)
{
	double end = now_s() + o.duration;

	while (!fatal && !disconnected) {
		bool running = now_s() < end && !stop_requested && !lun_gone;

		if (!running && inflight == 0)
			break;
		while (running && inflight < o.qd) {
			int before = inflight;

			start_one();
			if (inflight == before || disconnected)
				break;
		}
		if (!service(100))
			break;
		if (hung()) {
			fatal = EXIT_HANG;
			break;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Synchronous phases (nothing in flight) */

static struct scsi_task *sync_retry(struct scsi_task *(*fn)(struct lunst *,
							   uint64_t, uint32_t),
				    struct lunst *l, uint64_t lba, uint32_t n)
{
	for (int i = 0; i < UA_RETRIES; i++) {
		struct scsi_task *t = fn(l, lba, n);

		if (t && is_ua(t)) {
			st.ua++;
			scsi_free_scsi_task(t);
			continue;
		}
		return t;
	}
	return NULL;
}

static struct scsi_task *do_capacity(struct lunst *l, uint64_t lba,
				     uint32_t n)
{
	(void)lba;
	(void)n;
	return iscsi_readcapacity16_sync(iscsi, l->lun);
}

static struct scsi_task *do_sync_cache(struct lunst *l, uint64_t lba,
				       uint32_t n)
{
	(void)lba;
	(void)n;
	return iscsi_synchronizecache10_sync(iscsi, l->lun, 0, 0, 0, 0);
}

static struct scsi_task *do_read(struct lunst *l, uint64_t lba, uint32_t n)
{
	return iscsi_read16_sync(iscsi, l->lun, lba, n * l->bs, (int)l->bs, 0,
				 0, 0, 0, 0);
}

/* Returns the GOOD task, or NULL after noting why (status decided). */
static struct scsi_task *sync_cmd(struct scsi_task *(*fn)(struct lunst *,
							 uint64_t, uint32_t),
				  struct lunst *l, uint64_t lba, uint32_t n,
				  const char *what)
{
	struct scsi_task *t = sync_retry(fn, l, lba, n);
	struct op op = { .lun = l->lun, .lba = lba, .n = n };

	if (t && t->status == SCSI_STATUS_GOOD)
		return t;
	if (o.tolerate && (!t || transport_status(t->status))) {
		disconnected = true;
	} else if (o.tolerate && t && lun_not_supported(t->status, t)) {
		lun_gone = true;
	} else {
		print_status(stderr, what, &op, t ? t->status : -1, t);
		fatal = EXIT_ERROR;
	}
	if (t)
		scsi_free_scsi_task(t);
	return NULL;
}

static bool setup_lun(struct lunst *l, int lun)
{
	struct scsi_task *t;
	struct scsi_readcapacity16 *rc;

	l->lun = lun;
	l->bs = 512;
	t = sync_cmd(do_capacity, l, 0, 0, "READ CAPACITY(16)");
	if (!t)
		return false;
	rc = scsi_datain_unmarshall(t);
	if (!rc || !rc->block_length) {
		fprintf(stderr, "LUN %d: bad READ CAPACITY data\n", lun);
		exit(EXIT_ERROR);
	}
	l->bs = rc->block_length;
	l->blocks = rc->returned_lba + 1;
	scsi_free_scsi_task(t);
	l->first = l->blocks * o.slot / o.slots;
	l->count = l->blocks * (o.slot + 1) / o.slots - l->first;
	if (!l->count) {
		fprintf(stderr, "LUN %d: empty slice\n", lun);
		exit(EXIT_ERROR);
	}
	l->gen = xmalloc(l->count * sizeof(*l->gen));
	l->busy = xmalloc(l->count);
	if (!o.fresh)
		for (uint64_t i = 0; i < l->count; i++)
			l->gen[i] = UNKNOWN_GEN;
	for (int i = 0; i < o.nbacking; i++)
		if (o.backing_lun[i] == lun)
			l->backing = o.backing[i];
	return true;
}

static void check_backing(struct lunst *l)
{
	int fd = open(l->backing, O_RDONLY);
	size_t len = (size_t)CHECK_CHUNK * l->bs;
	unsigned char *buf = xmalloc(len);

	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", l->backing, strerror(errno));
		fatal = EXIT_ERROR;
		free(buf);
		return;
	}
	for (uint64_t lba = l->first; lba < l->first + l->count;
	     lba += CHECK_CHUNK) {
		uint32_t n = CHECK_CHUNK;
		ssize_t got;

		if (l->first + l->count - lba < n)
			n = (uint32_t)(l->first + l->count - lba);
		got = pread(fd, buf, (size_t)n * l->bs, (off_t)(lba * l->bs));
		if (got < 0 || (size_t)got != (size_t)n * l->bs) {
			/* A sparse file shorter than the LUN reads as zeros
			 * past its end: not in our use. */
			fprintf(stderr, "%s: short read at %" PRIu64 "\n",
				l->backing, lba);
			fatal = EXIT_ERROR;
			break;
		}
		compare(l, lba, n, buf, "backing file");
	}
	close(fd);
	free(buf);
}

static void final_check(void)
{
	for (int i = 0; i < nluns && !fatal && !disconnected; i++) {
		struct lunst *l = &luns[i];
		struct scsi_task *t = sync_cmd(do_sync_cache, l, 0, 0,
					       "SYNCHRONIZE CACHE");

		if (!t)
			return;
		scsi_free_scsi_task(t);
		for (uint64_t lba = l->first; lba < l->first + l->count;
		     lba += CHECK_CHUNK) {
			uint32_t n = CHECK_CHUNK;

			if (l->first + l->count - lba < n)
				n = (uint32_t)(l->first + l->count - lba);
			t = sync_cmd(do_read, l, lba, n, "final READ");
			if (!t)
				return;
			if (t->datain.size != (int)(n * l->bs)) {
				fprintf(stderr, "final READ: %d bytes\n",
					t->datain.size);
				fatal = EXIT_ERROR;
			} else {
				compare(l, lba, n, t->datain.data,
					"final read-back");
			}
			scsi_free_scsi_task(t);
		}
		if (l->backing)
			check_backing(l);
	}
}

/* ------------------------------------------------------------------ */

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static bool connect_session(void)
{
	struct iscsi_url *u;
	char name[256];

	if (o.initiator)
		snprintf(name, sizeof(name), "%s", o.initiator);
	else
		snprintf(name, sizeof(name), "iqn.2026-01.org.mtgt:stress-io-%d",
			 (int)getpid());
	iscsi = iscsi_create_context(name);
	if (!iscsi) {
		fprintf(stderr, "cannot create iSCSI context\n");
		exit(EXIT_ERROR);
	}
	u = iscsi_parse_full_url(iscsi, o.url);
	if (!u) {
		fprintf(stderr, "bad URL %s: %s\n", o.url,
			iscsi_get_error(iscsi));
		exit(EXIT_ERROR);
	}
	if (!o.nluns)
		o.luns[o.nluns++] = u->lun;
	iscsi_set_targetname(iscsi, u->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	iscsi_set_noautoreconnect(iscsi, 1);
	/* Sessions of one initiator name must not reinstate each other. */
	iscsi_set_isid_random(iscsi, (uint32_t)getpid() ^ (uint32_t)time(NULL),
			      0);
	iscsi_set_timeout(iscsi, (int)o.hang_timeout);
	if (iscsi_full_connect_sync(iscsi, u->portal, u->lun)) {
		iscsi_destroy_url(u);
		if (o.tolerate)
			return false;
		fprintf(stderr, "login to %s failed: %s\n", o.url,
			iscsi_get_error(iscsi));
		exit(EXIT_ERROR);
	}
	iscsi_destroy_url(u);
	return true;
}

static void summary(void)
{
	printf("stress-io: slot %" PRIu64 "/%" PRIu64 " writes %" PRIu64
	       " (fua %" PRIu64 ") reads %" PRIu64 " blocks-written %" PRIu64
	       " blocks-verified %" PRIu64 " mismatches %" PRIu64
	       " unit-attentions %" PRIu64 " probes %" PRIu64 "/%" PRIu64
	       "/%" PRIu64 " (good/no-lun/ua) slowest %.0f ms%s\n", o.slot,
	       o.slots, st.writes, st.fua, st.reads, st.blocks_written,
	       st.blocks_verified, st.mismatches, st.ua, st.probe_good,
	       st.probe_nolun, st.probe_ua, st.max_lat * 1000,
	       disconnected ? " (disconnected)" : lun_gone ? " (LUN gone)" : "");
	fflush(stdout);
}

static int run(void)
{
	if (!connect_session()) {
		printf("stress-io: login failed (tolerated): %s\n",
		       iscsi_get_error(iscsi));
		return EXIT_OK;
	}
	nluns = 0;
	for (int i = 0; i < o.nluns; i++) {
		if (!setup_lun(&luns[nluns], o.luns[i]))
			break;
		nluns++;
	}
	if (!fatal && !disconnected && !lun_gone)
		random_io();
	if (!fatal && !disconnected && !lun_gone)
		final_check();
	if (!fatal && (disconnected || lun_gone)) {
		/* Cut off (target or LUN deleted): what was acknowledged must
		 * still be in the backing file. Writes without an answer may
		 * have landed, in part or whole: those blocks are not known. */
		for (int i = 0; i < o.qd; i++)
			if (ops[i].active && ops[i].kind == OP_WRITE)
				forget_write(&ops[i]);
		for (int i = 0; i < nluns; i++)
			if (luns[i].backing)
				check_backing(&luns[i]);
	}
	if (!disconnected)
		iscsi_logout_sync(iscsi);
	summary();
	iscsi_destroy_context(iscsi);
	if (st.mismatches)
		return EXIT_MISMATCH;
	if (!fatal && disconnected && !o.tolerate)
		return EXIT_ERROR;
	return fatal;
}

static int hold(void)
{
	if (!connect_session())
		return EXIT_ERROR;
	printf("stress-io: logged in to %s\n", o.url);
	fflush(stdout);
	while (!stop_requested) {
		if (!service(500)) {
			printf("stress-io: connection lost\n");
			iscsi_destroy_context(iscsi);
			return EXIT_LOST;
		}
	}
	iscsi_logout_sync(iscsi);
	iscsi_destroy_context(iscsi);
	printf("stress-io: logged out\n");
	return EXIT_OK;
}

/* ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
		"usage: stress-io run URL [--luns L,L] [--slot K --slots N] "
		"[--duration S] [--qd N]\n"
		"                 [--max-blocks N] [--seed N] [--initiator NAME]"
		" [--fresh] [--probe-lun L]\n"
		"                 [--backing L=FILE] [--tolerate-disconnect] "
		"[--hang-timeout S]\n"
		"       stress-io hold URL [--initiator NAME]\n");
	exit(EXIT_ERROR);
}

static uint64_t num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		usage();
	return v;
}

static void parse_luns(const char *s)
{
	char *copy = strdup(s), *save = NULL;

	for (char *p = strtok_r(copy, ",", &save); p;
	     p = strtok_r(NULL, ",", &save)) {
		if (o.nluns == MAX_LUNS)
			usage();
		o.luns[o.nluns++] = (int)num(p);
	}
	free(copy);
}

static void parse_backing(const char *s)
{
	const char *eq = strchr(s, '=');
	char lun[16];

	if (!eq || eq == s || (size_t)(eq - s) >= sizeof(lun) ||
	    o.nbacking == MAX_LUNS)
		usage();
	memcpy(lun, s, (size_t)(eq - s));
	lun[eq - s] = '\0';
	o.backing_lun[o.nbacking] = (int)num(lun);
	o.backing[o.nbacking++] = eq + 1;
}

static void parse_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "luns", required_argument, NULL, 'l' },
		{ "slot", required_argument, NULL, 'k' },
		{ "slots", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "qd", required_argument, NULL, 'q' },
		{ "max-blocks", required_argument, NULL, 'm' },
		{ "seed", required_argument, NULL, 's' },
		{ "initiator", required_argument, NULL, 'i' },
		{ "fresh", no_argument, NULL, 'z' },
		{ "probe-lun", required_argument, NULL, 'p' },
		{ "backing", required_argument, NULL, 'b' },
		{ "tolerate-disconnect", no_argument, NULL, 't' },
		{ "hang-timeout", required_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o = (struct opts){ .slots = 1, .duration = 10, .qd = 8,
			   .max_blocks = 64, .seed = 1, .probe_lun = -1,
			   .hang_timeout = 60 };
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'l': parse_luns(optarg); break;
		case 'k': o.slot = num(optarg); break;
		case 'n': o.slots = num(optarg); break;
		case 'd': o.duration = (double)num(optarg); break;
		case 'q': o.qd = (int)num(optarg); break;
		case 'm': o.max_blocks = (uint32_t)num(optarg); break;
		case 's': o.seed = num(optarg); break;
		case 'i': o.initiator = optarg; break;
		case 'z': o.fresh = true; break;
		case 'p': o.probe_lun = (int)num(optarg); break;
		case 'b': parse_backing(optarg); break;
		case 't': o.tolerate = true; break;
		case 'h': o.hang_timeout = (double)num(optarg); break;
		default: usage();
		}
	}
	if (argc - optind != 2 || !o.slots || o.slot >= o.slots ||
	    o.qd < 1 || o.qd > MAX_QD || !o.max_blocks || !o.hang_timeout)
		usage();
	o.mode = argv[optind];
	o.url = argv[optind + 1];
	if (strcmp(o.mode, "run") && strcmp(o.mode, "hold"))
		usage();
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };

	parse_args(argc, argv);
	setenv("LIBISCSI_DROP_CONN_ON_ASYNC_EVENT1", "1", 0);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rng_state = o.seed * 0x2545f4914f6cdd1dull;
	if (!strcmp(o.mode, "hold"))
		return hold();
	return run();
}
