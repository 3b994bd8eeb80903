/*
 * iscsi-verify: data-integrity checker for one iSCSI LUN (libiscsi,
 * synchronous API).
 *
 *   iscsi-verify write-verify URL --seed N --ops N --max-blocks N
 *                --state FILE [--fresh] [--resume]
 *                [--fua random|always|never] [--no-readback] [--no-sync]
 *   iscsi-verify check URL --state FILE [--fresh]
 *
 * write-verify writes blocks whose content is a pure function of
 * (seed, LBA, generation) at random offsets with random sizes, some with
 * FUA, reads every write back, re-reads random ranges, flushes, reads the
 * whole LUN back at the end and saves the generation of every written
 * block in FILE. check re-reads every block FILE records (for instance
 * after a daemon restart). --fresh: the LUN started out all zeros, so
 * unwritten blocks must read as zeros. --resume: continue from FILE.
 * --fua: which writes carry FUA (random: one in four). --no-readback:
 * no reads at all, only the writes. --no-sync: no SYNCHRONIZE CACHE at
 * the end. The last two leave the state of what was acknowledged for a
 * later `check`, e.g. after the daemon was killed.
 *
 * Exit status: 0 all compares matched, 1 mismatch, 2 usage or I/O error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define INITIATOR	"iqn.2026-01.org.mtgt:iscsi-verify"
#define STATE_MAGIC	"iscsi-verify-state"
#define STATE_VERSION	1
#define BLOCK_MAGIC	0x4d544756u	/* "MTGV" */
#define CHUNK_BYTES	(1024 * 1024)	/* full read-back granularity */
#define MAX_REPORTED	64		/* mismatching LBAs printed */
#define CMD_TIMEOUT	120		/* seconds, per synchronous command */

enum { EXIT_OK = 0, EXIT_MISMATCH = 1, EXIT_ERROR = 2 };

struct opts {
	const char *mode;
	const char *url;
	const char *state_path;
	uint64_t seed;
	long ops;
	uint32_t max_blocks;
	bool fresh;
	bool resume;
	enum { FUA_RANDOM, FUA_ALWAYS, FUA_NEVER } fua;
	bool readback;
	bool sync;
};

struct lun {
	struct iscsi_context *iscsi;
	int lun;
	uint32_t block_size;
	uint64_t blocks;
};

/* gen[lba] = generation last written there; 0 = never written. */
struct state {
	uint64_t seed;
	uint32_t block_size;
	uint64_t blocks;
	uint32_t next_gen;
	uint32_t *gen;
};

struct stats {
	uint64_t writes;
	uint64_t fua_writes;
	uint64_t blocks_written;
	uint64_t blocks_verified;
	uint64_t mismatches;
};

/* One READ or WRITE: data is the buffer written or the expected length. */
struct io {
	uint64_t lba;
	uint32_t nblocks;
	unsigned char *data;
	bool fua;
	bool cdb16;
};

static struct stats stats;

/* ---------------------------------------------------------------------
 * Deterministic content
 */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *rng, uint64_t n)
{
	return n ? splitmix64(rng) % n : 0;
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

/*
 * Block layout: le64 lba, le64 (magic << 32 | gen), le64 seed, then a
 * splitmix64 stream seeded from all three. The header lets a mismatch
 * report say whose data landed in the wrong place.
 */
static void fill_block(unsigned char *p, uint32_t bs, uint64_t seed,
		       uint64_t lba, uint32_t gen)
{
	uint64_t x = seed ^ (lba * 0xd6e8feb86659fd93ull) ^
		     ((uint64_t)gen * 0xa0761d6478bd642full);
	uint32_t off = 0;

	put_le64(p, lba);
	put_le64(p + 8, ((uint64_t)BLOCK_MAGIC << 32) | gen);
	put_le64(p + 16, seed);
	for (off = 24; off + 8 <= bs; off += 8)
		put_le64(p + off, splitmix64(&x));
	for (; off < bs; off++)
		p[off] = (unsigned char)splitmix64(&x);
}

static void expected_block(unsigned char *p, const struct state *st,
			   uint64_t lba)
{
	if (st->gen[lba])
		fill_block(p, st->block_size, st->seed, lba, st->gen[lba]);
	else
		memset(p, 0, st->block_size);
}

/* Must this block be compared? Unwritten ones only on a fresh LUN. */
static bool block_known(const struct state *st, uint64_t lba, bool fresh)
{
	return st->gen[lba] != 0 || fresh;
}

/* ---------------------------------------------------------------------
 * Mismatch reporting
 */

static bool all_zero(const unsigned char *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Is p exactly the block its own header claims to be? */
static bool self_consistent(const unsigned char *p, uint32_t bs)
{
	unsigned char *copy = malloc(bs);
	bool same;

	if (!copy) {
		perror("malloc");
		exit(EXIT_ERROR);
	}
	fill_block(copy, bs, get_le64(p + 16), get_le64(p),
		   (uint32_t)get_le64(p + 8));
	same = !memcmp(copy, p, bs);
	free(copy);
	return same;
}

static void describe_found(const unsigned char *p, uint32_t bs,
			   char *out, size_t len)
{
	uint64_t tag = get_le64(p + 8);

	if (all_zero(p, bs))
		snprintf(out, len, "zeros");
	else if ((tag >> 32) != BLOCK_MAGIC)
		snprintf(out, len, "unrecognised data");
	else
		snprintf(out, len, "%s of LBA %" PRIu64 " gen %u seed %"
			 PRIu64, self_consistent(p, bs) ? "data" :
			 "damaged data", get_le64(p), (uint32_t)tag,
			 get_le64(p + 16));
}

static void report_mismatch(const struct state *st, uint64_t lba,
			    const unsigned char *found, const char *when)
{
	char desc[128];

	stats.mismatches++;
	if (stats.mismatches > MAX_REPORTED)
		return;
	describe_found(found, st->block_size, desc, sizeof(desc));
	printf("MISMATCH (%s) LBA %" PRIu64 ": expected gen %u, found %s\n",
	       when, lba, st->gen[lba], desc);
	if (stats.mismatches == MAX_REPORTED)
		printf("(further mismatches are counted, not listed)\n");
}

/* Compares a read-back buffer of [lba, lba+n) with the state. */
static void compare_range(const struct state *st, uint64_t lba, uint32_t n,
			  const unsigned char *buf, bool fresh,
			  const char *when)
{
	unsigned char *exp = malloc(st->block_size);
	uint32_t bs = st->block_size;

	if (!exp) {
		perror("malloc");
		exit(EXIT_ERROR);
	}
	for (uint32_t i = 0; i < n; i++) {
		if (!block_known(st, lba + i, fresh))
			continue;
		expected_block(exp, st, lba + i);
		stats.blocks_verified++;
		if (memcmp(exp, buf + (size_t)i * bs, bs))
			report_mismatch(st, lba + i, buf + (size_t)i * bs, when);
	}
	free(exp);
}

/* ---------------------------------------------------------------------
 * SCSI commands (one retry on UNIT ATTENTION)
 */

typedef struct scsi_task *(*cmd_fn)(struct lun *l, const struct io *io);

static struct scsi_task *cmd_write(struct lun *l, const struct io *io)
{
	uint32_t len = io->nblocks * l->block_size;

	if (io->cdb16)
		return iscsi_write16_sync(l->iscsi, l->lun, io->lba, io->data,
					  len, (int)l->block_size, 0, 0,
					  io->fua, 0, 0);
	return iscsi_write10_sync(l->iscsi, l->lun, (uint32_t)io->lba,
				  io->data, len, (int)l->block_size, 0, 0,
				  io->fua, 0, 0);
}

static struct scsi_task *cmd_read(struct lun *l, const struct io *io)
{
	uint32_t len = io->nblocks * l->block_size;

	if (io->cdb16)
		return iscsi_read16_sync(l->iscsi, l->lun, io->lba, len,
					 (int)l->block_size, 0, 0, 0, 0, 0);
	return iscsi_read10_sync(l->iscsi, l->lun, (uint32_t)io->lba, len,
				 (int)l->block_size, 0, 0, 0, 0, 0);
}

static struct scsi_task *cmd_sync_cache(struct lun *l, const struct io *io)
{
	(void)io;
	return iscsi_synchronizecache10_sync(l->iscsi, l->lun, 0, 0, 0, 0);
}

static struct scsi_task *cmd_capacity(struct lun *l, const struct io *io)
{
	(void)io;
	return iscsi_readcapacity16_sync(l->iscsi, l->lun);
}

static bool is_unit_attention(const struct scsi_task *t)
{
	return t->status == SCSI_STATUS_CHECK_CONDITION &&
	       t->sense.key == SCSI_SENSE_UNIT_ATTENTION;
}

static void report_failure(struct lun *l, struct scsi_task *t,
			   const char *what, const struct io *io)
{
	uint64_t lba = io ? io->lba : 0;
	uint32_t n = io ? io->nblocks : 0;

	if (!t) {
		fprintf(stderr, "%s LBA %" PRIu64 " +%u: transport error: %s\n",
			what, lba, n, iscsi_get_error(l->iscsi));
		return;
	}
	fprintf(stderr, "%s LBA %" PRIu64 " +%u: status 0x%02x", what, lba, n,
		t->status);
	if (t->status == SCSI_STATUS_CHECK_CONDITION)
		fprintf(stderr, " sense %s (0x%x) ascq %s (0x%04x)",
			scsi_sense_key_str(t->sense.key), t->sense.key,
			scsi_sense_ascq_str(t->sense.ascq), t->sense.ascq);
	fprintf(stderr, ": %s\n", iscsi_get_error(l->iscsi));
}

/* Runs fn; returns the GOOD task (caller frees) or exits on failure. */
static struct scsi_task *run_cmd(struct lun *l, cmd_fn fn,
				 const struct io *io, const char *what)
{
	struct scsi_task *t = fn(l, io);

	if (t && is_unit_attention(t)) {
		scsi_free_scsi_task(t);
		t = fn(l, io);
	}
	if (t && t->status == SCSI_STATUS_GOOD)
		return t;
	report_failure(l, t, what, io);
	if (t)
		scsi_free_scsi_task(t);
	exit(EXIT_ERROR);
}

static void do_write(struct lun *l, const struct io *io)
{
	scsi_free_scsi_task(run_cmd(l, cmd_write, io,
				    io->fua ? "WRITE (FUA)" : "WRITE"));
	stats.writes++;
	stats.fua_writes += io->fua;
	stats.blocks_written += io->nblocks;
}

/* Reads [io->lba, +nblocks) into buf (nblocks * block_size bytes). */
static void do_read(struct lun *l, const struct io *io, unsigned char *buf)
{
	struct scsi_task *t = run_cmd(l, cmd_read, io, "READ");
	size_t want = (size_t)io->nblocks * l->block_size;

	if (t->datain.size < 0 || (size_t)t->datain.size != want) {
		fprintf(stderr, "READ LBA %" PRIu64 " +%u: got %d bytes, "
			"expected %zu\n", io->lba, io->nblocks,
			t->datain.size, want);
		scsi_free_scsi_task(t);
		exit(EXIT_ERROR);
	}
	memcpy(buf, t->datain.data, want);
	scsi_free_scsi_task(t);
}

/* ---------------------------------------------------------------------
 * Connection
 */

static void read_capacity(struct lun *l)
{
	struct scsi_task *t = run_cmd(l, cmd_capacity, NULL,
				      "READ CAPACITY(16)");
	struct scsi_readcapacity16 *rc = scsi_datain_unmarshall(t);

	if (!rc || rc->block_length == 0) {
		fprintf(stderr, "cannot decode READ CAPACITY(16) data\n");
		exit(EXIT_ERROR);
	}
	l->block_size = rc->block_length;
	l->blocks = rc->returned_lba + 1;
	scsi_free_scsi_task(t);
}

static void lun_connect(struct lun *l, const char *url)
{
	struct iscsi_url *u;

	l->iscsi = iscsi_create_context(INITIATOR);
	if (!l->iscsi) {
		fprintf(stderr, "cannot create iSCSI context\n");
		exit(EXIT_ERROR);
	}
	u = iscsi_parse_full_url(l->iscsi, url);
	if (!u) {
		fprintf(stderr, "bad URL %s: %s\n", url,
			iscsi_get_error(l->iscsi));
		exit(EXIT_ERROR);
	}
	iscsi_set_targetname(l->iscsi, u->target);
	iscsi_set_session_type(l->iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(l->iscsi, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	iscsi_set_timeout(l->iscsi, CMD_TIMEOUT);
	if (iscsi_full_connect_sync(l->iscsi, u->portal, u->lun)) {
		fprintf(stderr, "login to %s failed: %s\n", url,
			iscsi_get_error(l->iscsi));
		exit(EXIT_ERROR);
	}
	l->lun = u->lun;
	iscsi_destroy_url(u);
	read_capacity(l);
}

static void lun_disconnect(struct lun *l)
{
	iscsi_logout_sync(l->iscsi);
	iscsi_destroy_context(l->iscsi);
}

/* ---------------------------------------------------------------------
 * State file: a header, then "LBA COUNT GEN" runs of written blocks
 */

static void state_alloc(struct state *st, uint64_t blocks)
{
	st->blocks = blocks;
	st->gen = calloc(blocks, sizeof(*st->gen));
	if (!st->gen) {
		perror("calloc");
		exit(EXIT_ERROR);
	}
}

static uint64_t run_end(const struct state *st, uint64_t lba)
{
	uint64_t end = lba + 1;

	while (end < st->blocks && st->gen[end] == st->gen[lba])
		end++;
	return end;
}

static void state_write_runs(const struct state *st, FILE *f)
{
	uint64_t lba = 0;

	while (lba < st->blocks) {
		uint64_t end = run_end(st, lba);

		if (st->gen[lba])
			fprintf(f, "%" PRIu64 " %" PRIu64 " %u\n", lba,
				end - lba, st->gen[lba]);
		lba = end;
	}
}

static void state_save(const struct state *st, const char *path)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "%s: %s\n", tmp, strerror(errno));
		exit(EXIT_ERROR);
	}
	fprintf(f, "%s %d\nseed %" PRIu64 "\nblock_size %u\nblocks %" PRIu64
		"\nnext_gen %u\n", STATE_MAGIC, STATE_VERSION, st->seed,
		st->block_size, st->blocks, st->next_gen);
	state_write_runs(st, f);
	if (fclose(f) || rename(tmp, path)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(EXIT_ERROR);
	}
}

static bool state_read_header(struct state *st, FILE *f)
{
	int version = 0;
	uint64_t blocks = 0;

	if (fscanf(f, STATE_MAGIC " %d seed %" SCNu64 " block_size %" SCNu32
		   " blocks %" SCNu64 " next_gen %" SCNu32, &version,
		   &st->seed, &st->block_size, &blocks, &st->next_gen) != 5)
		return false;
	if (version != STATE_VERSION || blocks == 0 || st->block_size == 0)
		return false;
	state_alloc(st, blocks);
	return true;
}

static bool state_read_runs(struct state *st, FILE *f)
{
	uint64_t lba, count;
	uint32_t gen;
	int n;

	while ((n = fscanf(f, "%" SCNu64 " %" SCNu64 " %" SCNu32, &lba,
			   &count, &gen)) == 3) {
		if (lba >= st->blocks || count > st->blocks - lba)
			return false;
		for (uint64_t i = 0; i < count; i++)
			st->gen[lba + i] = gen;
	}
	return n == EOF;
}

static void state_load(struct state *st, const char *path)
{
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(EXIT_ERROR);
	}
	if (!state_read_header(st, f) || !state_read_runs(st, f)) {
		fprintf(stderr, "%s: not a valid state file\n", path);
		exit(EXIT_ERROR);
	}
	fclose(f);
}

static void state_match_lun(const struct state *st, const struct lun *l)
{
	if (st->block_size == l->block_size && st->blocks == l->blocks)
		return;
	fprintf(stderr, "state is for %" PRIu64 " blocks of %u bytes, LUN "
		"has %" PRIu64 " blocks of %u bytes\n", st->blocks,
		st->block_size, l->blocks, l->block_size);
	exit(EXIT_ERROR);
}

/* ---------------------------------------------------------------------
 * Verification passes
 */

static bool range_has_known(const struct state *st, uint64_t lba,
			    uint32_t n, bool fresh)
{
	for (uint32_t i = 0; i < n; i++)
		if (block_known(st, lba + i, fresh))
			return true;
	return false;
}

static bool need_cdb16(uint64_t lba, uint32_t n)
{
	return lba + n > UINT32_MAX;
}

/* Reads [lba, +n) and compares every block the state knows. */
static void verify_range(struct lun *l, const struct state *st, uint64_t lba,
			 uint32_t n, bool cdb16, bool fresh, const char *when)
{
	struct io io = { .lba = lba, .nblocks = n };
	unsigned char *buf = malloc((size_t)n * st->block_size);

	if (!buf) {
		perror("malloc");
		exit(EXIT_ERROR);
	}
	io.cdb16 = cdb16 || need_cdb16(lba, n);
	do_read(l, &io, buf);
	compare_range(st, lba, n, buf, fresh, when);
	free(buf);
}

static void verify_all(struct lun *l, const struct state *st, bool fresh,
		       const char *when)
{
	uint32_t chunk = CHUNK_BYTES / st->block_size;

	if (chunk == 0)
		chunk = 1;
	for (uint64_t lba = 0; lba < st->blocks; lba += chunk) {
		uint32_t n = chunk;

		if (st->blocks - lba < n)
			n = (uint32_t)(st->blocks - lba);
		if (range_has_known(st, lba, n, fresh))
			verify_range(l, st, lba, n, true, fresh, when);
	}
}

static bool choose_fua(const struct opts *o, uint64_t *rng)
{
	bool random_pick = rng_below(rng, 4) == 0;

	if (o->fua == FUA_ALWAYS)
		return true;
	return o->fua == FUA_RANDOM && random_pick;
}

static void write_range(struct lun *l, struct state *st, uint64_t *rng,
			const struct opts *o, uint64_t lba, uint32_t n)
{
	uint32_t gen = ++st->next_gen;
	struct io io = { .lba = lba, .nblocks = n };
	unsigned char *buf = malloc((size_t)n * st->block_size);

	if (!buf) {
		perror("malloc");
		exit(EXIT_ERROR);
	}
	for (uint32_t i = 0; i < n; i++)
		fill_block(buf + (size_t)i * st->block_size, st->block_size,
			   st->seed, lba + i, gen);
	io.data = buf;
	io.fua = choose_fua(o, rng);
	io.cdb16 = rng_below(rng, 2) || need_cdb16(lba, n);
	do_write(l, &io);
	for (uint32_t i = 0; i < n; i++)
		st->gen[lba + i] = gen;
	free(buf);
}

static void random_range(uint64_t *rng, uint64_t blocks, uint32_t max,
			 uint64_t *lba, uint32_t *n)
{
	if (max > blocks)
		max = (uint32_t)blocks;
	*n = 1 + (uint32_t)rng_below(rng, max);
	*lba = rng_below(rng, blocks - *n + 1);
}

static void one_op(struct lun *l, struct state *st, uint64_t *rng,
		   const struct opts *o)
{
	uint64_t lba;
	uint32_t n;

	random_range(rng, st->blocks, o->max_blocks, &lba, &n);
	write_range(l, st, rng, o, lba, n);
	if (!o->readback)
		return;
	verify_range(l, st, lba, n, rng_below(rng, 2), o->fresh,
		     "read after write");
	if (rng_below(rng, 4) == 0) {
		random_range(rng, st->blocks, o->max_blocks, &lba, &n);
		verify_range(l, st, lba, n, rng_below(rng, 2), o->fresh,
			     "random read");
	}
}

static void sync_cache(struct lun *l)
{
	scsi_free_scsi_task(run_cmd(l, cmd_sync_cache, NULL,
				    "SYNCHRONIZE CACHE"));
}

static void state_init(struct state *st, const struct lun *l,
		       const struct opts *o)
{
	if (o->resume) {
		state_load(st, o->state_path);
		state_match_lun(st, l);
		return;
	}
	st->seed = o->seed;
	st->block_size = l->block_size;
	st->next_gen = 0;
	state_alloc(st, l->blocks);
}

static void write_verify(struct lun *l, const struct opts *o)
{
	struct state st = { 0 };
	uint64_t rng;

	state_init(&st, l, o);
	rng = st.seed ^ ((uint64_t)st.next_gen << 32);
	for (long i = 0; i < o->ops; i++)
		one_op(l, &st, &rng, o);
	if (o->sync)
		sync_cache(l);
	if (o->readback)
		verify_all(l, &st, o->fresh, "final read-back");
	state_save(&st, o->state_path);
	printf("write-verify: %" PRIu64 " writes (%" PRIu64 " FUA), %" PRIu64
	       " blocks written, %" PRIu64 " blocks compared, %" PRIu64
	       " mismatches; LUN %" PRIu64 " x %u bytes\n", stats.writes,
	       stats.fua_writes, stats.blocks_written, stats.blocks_verified,
	       stats.mismatches, l->blocks, l->block_size);
	free(st.gen);
}

static void check(struct lun *l, const struct opts *o)
{
	struct state st = { 0 };

	state_load(&st, o->state_path);
	state_match_lun(&st, l);
	verify_all(l, &st, o->fresh, "check");
	printf("check: %" PRIu64 " blocks compared, %" PRIu64
	       " mismatches\n", stats.blocks_verified, stats.mismatches);
	free(st.gen);
}

/* ---------------------------------------------------------------------
 * Command line
 */

static void usage(void)
{
	fprintf(stderr,
		"usage: iscsi-verify write-verify URL --seed N --ops N "
		"--max-blocks N --state FILE [--fresh] [--resume]\n"
		"                    [--fua random|always|never] "
		"[--no-readback] [--no-sync]\n"
		"       iscsi-verify check URL --state FILE [--fresh]\n"
		"URL: iscsi://HOST[:PORT]/IQN/LUN\n");
	exit(EXIT_ERROR);
}

static uint64_t parse_num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		usage();
	return v;
}

static int parse_fua(const char *s)
{
	if (!strcmp(s, "random"))
		return FUA_RANDOM;
	if (!strcmp(s, "always"))
		return FUA_ALWAYS;
	if (!strcmp(s, "never"))
		return FUA_NEVER;
	usage();
	return FUA_RANDOM;
}

static void parse_option(struct opts *o, int c, const char *arg)
{
	switch (c) {
	case 's': o->seed = parse_num(arg); break;
	case 'o': o->ops = (long)parse_num(arg); break;
	case 'm': o->max_blocks = (uint32_t)parse_num(arg); break;
	case 'f': o->state_path = arg; break;
	case 'z': o->fresh = true; break;
	case 'r': o->resume = true; break;
	case 'F': o->fua = parse_fua(arg); break;
	case 'R': o->readback = false; break;
	case 'S': o->sync = false; break;
	default: usage();
	}
}

static void parse_args(struct opts *o, int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'o' },
		{ "max-blocks", required_argument, NULL, 'm' },
		{ "state", required_argument, NULL, 'f' },
		{ "fresh", no_argument, NULL, 'z' },
		{ "resume", no_argument, NULL, 'r' },
		{ "fua", required_argument, NULL, 'F' },
		{ "no-readback", no_argument, NULL, 'R' },
		{ "no-sync", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct opts){ .seed = 1, .ops = 1000, .max_blocks = 256,
			    .readback = true, .sync = true };
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1)
		parse_option(o, c, optarg);
	if (argc - optind != 2 || !o->state_path || o->max_blocks == 0)
		usage();
	o->mode = argv[optind];
	o->url = argv[optind + 1];
	if (strcmp(o->mode, "write-verify") && strcmp(o->mode, "check"))
		usage();
}

int main(int argc, char **argv)
{
	struct opts o;
	struct lun l = { 0 };

	parse_args(&o, argc, argv);
	lun_connect(&l, o.url);
	if (!strcmp(o.mode, "check"))
		check(&l, &o);
	else
		write_verify(&l, &o);
	lun_disconnect(&l);
	return stats.mismatches ? EXIT_MISMATCH : EXIT_OK;
}
