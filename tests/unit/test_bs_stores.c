/* The backing stores on real files in a temporary directory, driven the
 * way a target loop drives them (submit on the loop's thread, done() on
 * that loop): aio through a real io_uring, aio with O_DIRECT, rdwr on its
 * worker threads, and null. Each file store is checked for the round
 * trip, reads past the end, short writes, errors, FUA and flush (by the
 * page cache's dirty count), UNMAP, WRITE ZEROES and the mapped/
 * deallocated query; aio also with more requests than its ring holds. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cmocka.h>

#include "backing/bs.h"
#include "event/loop.h"

#define FILE_SIZE (4u << 20)
#define KiB 1024u

/* What a test runs on: one store type with its flags. */
struct variant {
	const struct bs_ops *ops;
	int oflags;
};

static const struct variant aio = { &bs_aio_ops, 0 };
static const struct variant aio_direct = { &bs_aio_ops, BS_OFLAG_DIRECT };
static const struct variant aio_read_only = { &bs_aio_ops, BS_OFLAG_RDONLY };
static const struct variant rdwr_read_only = { &bs_rdwr_ops,
					       BS_OFLAG_RDONLY };
static const struct variant rdwr = { &bs_rdwr_ops, 0 };
static const struct variant rdwr_direct = { &bs_rdwr_ops, BS_OFLAG_DIRECT };
static const struct variant null_store = { &bs_null_ops, 0 };

struct fx {
	const struct variant *v;
	char dir[64];
	char path[96];
	struct ev_loop *loop;
	struct backing_store bs;
	unsigned pending; /* submitted, done() not yet called */
	bool running;     /* inside ev_run: the last done() stops it */
};

/* ---- harness ---- */

static void *aligned(size_t len)
{
	void *p = NULL;

	assert_int_equal(posix_memalign(&p, 4096, len), 0);
	return p;
}

static void create_file(const char *path, uint64_t size)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int ret;

	f->v = *state;
	snprintf(f->dir, sizeof(f->dir), "/tmp/mtgt-bs.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/lun.img", f->dir);
	create_file(f->path, FILE_SIZE);
	f->loop = ev_loop_create("bs-test", NULL);
	assert_non_null(f->loop);
	ret = bs_open(&f->bs, f->v->ops, f->path, f->v->oflags, "t:1");
	assert_int_equal(ret, 0);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	bs_close(&f->bs);
	ev_loop_destroy(f->loop);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void io_done(struct bs_io *io)
{
	struct fx *f = io->arg;

	if (--f->pending == 0 && f->running)
		ev_stop(f->loop);
}

static void start(struct fx *f, struct bs_io *io, enum bs_op op,
		  uint64_t off, uint64_t len, void *buf, bool fua)
{
	*io = (struct bs_io){ .op = op, .offset = off, .length = len,
			      .buf = buf, .fua = fua, .result = 1,
			      .done = io_done, .arg = f, .loop = f->loop };
	f->pending++;
	bs_submit(&f->bs, io);
}

/* Runs the loop until every request started has completed. */
static void wait_all(struct fx *f)
{
	if (f->pending) {
		f->running = true;
		ev_run(f->loop);
		f->running = false;
	}
	assert_int_equal(f->pending, 0);
}

static int run_io(struct fx *f, enum bs_op op, uint64_t off, uint64_t len,
		  void *buf, bool fua)
{
	struct bs_io io;

	start(f, &io, op, off, len, buf, fua);
	wait_all(f);
	return io.result;
}

static struct bs_map map_of(struct fx *f, uint64_t off, uint64_t len)
{
	struct bs_io io;

	start(f, &io, BS_MAP_STATUS, off, len, NULL, false);
	wait_all(f);
	assert_int_equal(io.result, 0);
	return io.map;
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 13 + (i >> 9));
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* What the file holds, read past the store. */
static void read_file(const struct fx *f, uint64_t off, void *buf, size_t len)
{
	int fd = open(f->path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* Dirty pages of the file in [off, off + len) by cachestat(2) (Linux
 * 6.5); -1 when the kernel lacks it. */
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif
struct cachestat_range {
	uint64_t off, len;
};
struct cachestat_result {
	uint64_t cache, dirty, writeback, evicted, recently_evicted;
};

static long dirty_pages(const struct fx *f, uint64_t off, uint64_t len)
{
	struct cachestat_range r = { off, len };
	struct cachestat_result cs;
	int fd = open(f->path, O_RDONLY);
	long ret;

	assert_true(fd >= 0);
	ret = syscall(__NR_cachestat, fd, &r, &cs, 0);
	close(fd);
	return ret < 0 ? -1 : (long)(cs.dirty + cs.writeback);
}

/* ---- every store with a file ---- */

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	size_t len = 192 * KiB;
	uint8_t *w = aligned(len), *r = aligned(len), *file = malloc(len);

	assert_int_equal(f->bs.size, FILE_SIZE);
	fill(w, len, 7);
	assert_int_equal(run_io(f, BS_WRITE, 512 * 7, len, w, false), 0);
	memset(r, 0xee, len);
	assert_int_equal(run_io(f, BS_READ, 512 * 7, len, r, false), 0);
	assert_memory_equal(r, w, len);
	read_file(f, 512 * 7, file, len);
	assert_memory_equal(file, w, len);
	/* Transfers of nothing succeed. */
	assert_int_equal(run_io(f, BS_WRITE, 0, 0, w, false), 0);
	assert_int_equal(run_io(f, BS_READ, 0, 0, r, false), 0);
	/* Untouched ranges of the sparse file read as zeros. */
	assert_int_equal(run_io(f, BS_READ, 2u << 20, len, r, false), 0);
	assert_true(all_zero(r, len));
	free(w);
	free(r);
	free(file);
}

/* Many requests at once, more than an io_uring of 256 entries holds:
 * the rest waits in the backlog and goes as entries free up. */
static void test_many_in_flight(void **state)
{
	struct fx *f = *state;
	enum { N = 700, LEN = 4096 };
	struct bs_io *ios = calloc(N, sizeof(*ios));
	uint8_t *w = aligned((size_t)N * LEN), *r = aligned((size_t)N * LEN);

	fill(w, (size_t)N * LEN, 3);
	for (unsigned i = 0; i < N; i++)
		start(f, &ios[i], BS_WRITE, (uint64_t)i * LEN, LEN,
		      w + (size_t)i * LEN, false);
	wait_all(f);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(ios[i].result, 0);
	for (unsigned i = 0; i < N; i++)
		start(f, &ios[i], BS_READ, (uint64_t)i * LEN, LEN,
		      r + (size_t)i * LEN, false);
	wait_all(f);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(ios[i].result, 0);
	assert_memory_equal(r, w, (size_t)N * LEN);
	free(ios);
	free(w);
	free(r);
}

/* A read that crosses the end of the file is short; the rest is asked
 * for again, finds the end and reads as zeros. */
static void test_short_read_at_end(void **state)
{
	struct fx *f = *state;
	uint8_t *w = aligned(8 * KiB), *r = aligned(16 * KiB);
	int fd = open(f->path, O_WRONLY);

	fill(w, 8 * KiB, 9);
	assert_true(fd >= 0);
	/* The file now ends 4 KiB into the range read below. */
	assert_int_equal(ftruncate(fd, 12 * KiB), 0);
	assert_int_equal(pwrite(fd, w, 4 * KiB, 8 * KiB), 4 * KiB);
	close(fd);
	memset(r, 0xee, 16 * KiB);
	assert_int_equal(run_io(f, BS_READ, 8 * KiB, 16 * KiB, r, false), 0);
	assert_memory_equal(r, w, 4 * KiB);
	assert_true(all_zero(r + 4 * KiB, 12 * KiB));
	free(w);
	free(r);
}

/* A file size limit makes a write short: the first part lands, the rest
 * is asked for again and fails with EFBIG, which the store reports. */
static void test_short_write_then_error(void **state)
{
	struct fx *f = *state;
	struct rlimit old, lim;
	uint8_t *w = aligned(8 * KiB), *file = malloc(4 * KiB);
	int ret;

	fill(w, 8 * KiB, 11);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = FILE_SIZE + 4 * KiB;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	ret = run_io(f, BS_WRITE, FILE_SIZE, 8 * KiB, w, false);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(ret, -EFBIG);
	read_file(f, FILE_SIZE, file, 4 * KiB);
	assert_memory_equal(file, w, 4 * KiB);
	free(w);
	free(file);
}

/* A write with FUA leaves no dirty page behind (RWF_DSYNC); FLUSH cleans
 * what plain writes left. The plain write shows that the check sees
 * dirty pages at all. */
static void test_fua_and_flush(void **state)
{
	struct fx *f = *state;
	uint8_t *w = aligned(64 * KiB);

	fill(w, 64 * KiB, 5);
	if (dirty_pages(f, 0, 0) < 0)
		skip(); /* no cachestat(2) on this kernel */
	assert_int_equal(run_io(f, BS_WRITE, 0, 64 * KiB, w, false), 0);
	assert_int_equal(run_io(f, BS_WRITE, 1u << 20, 64 * KiB, w, true), 0);
	assert_int_equal(dirty_pages(f, 1u << 20, 64 * KiB), 0);
	if (!(f->v->oflags & BS_OFLAG_DIRECT))
		assert_true(dirty_pages(f, 0, 64 * KiB) > 0);
	assert_int_equal(run_io(f, BS_FLUSH, 0, 0, NULL, false), 0);
	assert_int_equal(dirty_pages(f, 0, 0), 0);
	free(w);
}

static void write_pattern(struct fx *f, uint64_t off, size_t len)
{
	uint8_t *w = aligned(len);

	fill(w, len, 1);
	assert_int_equal(run_io(f, BS_WRITE, off, len, w, false), 0);
	free(w);
}

static void assert_reads_zero(struct fx *f, uint64_t off, size_t len,
			      bool zero)
{
	uint8_t *r = aligned(len);

	assert_int_equal(run_io(f, BS_READ, off, len, r, false), 0);
	assert_int_equal(all_zero(r, len), zero);
	free(r);
}

static uint64_t allocated(const struct fx *f)
{
	struct stat st;

	assert_int_equal(stat(f->path, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

/* UNMAP punches a hole: the range reads as zeros, its blocks are freed,
 * the file keeps its size, and the map query sees the hole. */
static void test_unmap(void **state)
{
	struct fx *f = *state;
	struct bs_map m;
	uint64_t before;

	assert_true(f->bs.caps.discard);
	assert_true(f->bs.caps.unmap_zeroes);
	assert_true(f->bs.caps.map_status);
	write_pattern(f, 0, 1u << 20);
	assert_int_equal(run_io(f, BS_FLUSH, 0, 0, NULL, false), 0);
	before = allocated(f);
	assert_int_equal(run_io(f, BS_UNMAP, 256 * KiB, 256 * KiB, NULL,
				false), 0);
	assert_int_equal(allocated(f), before - 256 * KiB);
	assert_reads_zero(f, 256 * KiB, 256 * KiB, true);
	assert_reads_zero(f, 0, 256 * KiB, false);
	assert_reads_zero(f, 512 * KiB, 512 * KiB, false);
	assert_int_equal(f->bs.size, FILE_SIZE);
	m = map_of(f, 0, 1u << 20);
	assert_true(m.mapped);
	assert_int_equal(m.len, 256 * KiB);
	m = map_of(f, 256 * KiB, 1u << 20);
	assert_false(m.mapped);
	assert_int_equal(m.len, 256 * KiB);
	m = map_of(f, 512 * KiB, 1u << 20);
	assert_true(m.mapped);
	assert_int_equal(m.len, 512 * KiB);
	/* Never written: deallocated up to the end, capped at the request. */
	m = map_of(f, 2u << 20, 64 * KiB);
	assert_false(m.mapped);
	assert_int_equal(m.len, 64 * KiB);
	/* With FUA, the deallocation is flushed too. */
	assert_int_equal(run_io(f, BS_UNMAP, 0, 64 * KiB, NULL, true), 0);
	assert_reads_zero(f, 0, 64 * KiB, true);
}

/* WRITE ZEROES: the range reads as zeros, the rest keeps its data. (The
 * map query may call the range deallocated: filesystems report zeroed,
 * unwritten extents as holes to SEEK_DATA.) */
static void test_write_zeroes(void **state)
{
	struct fx *f = *state;

	assert_true(f->bs.caps.write_zeroes);
	write_pattern(f, 0, 512 * KiB);
	assert_int_equal(run_io(f, BS_WRITE_ZEROES, 128 * KiB, 128 * KiB,
				NULL, false), 0);
	assert_reads_zero(f, 128 * KiB, 128 * KiB, true);
	assert_reads_zero(f, 0, 128 * KiB, false);
	assert_reads_zero(f, 256 * KiB, 256 * KiB, false);
	assert_int_equal(run_io(f, BS_WRITE_ZEROES, 0, 64 * KiB, NULL, true),
			 0);
	assert_reads_zero(f, 0, 64 * KiB, true);
	assert_int_equal(f->bs.size, FILE_SIZE);
}

/* Where fallocate cannot zero (tmpfs), zeros are written instead. */
static void test_write_zeroes_fallback(void **state)
{
	struct fx *f = *state;
	struct backing_store shm;
	char path[64];
	struct fx g;
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/mtgt-bs-%d", (int)getpid());
	fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	if (fd < 0)
		skip();
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	/* The same loop, a second LUN on tmpfs. */
	g = *f;
	snprintf(g.path, sizeof(g.path), "%s", path);
	assert_int_equal(bs_open(&shm, f->v->ops, path, 0, "t:2"), 0);
	g.bs = shm;
	write_pattern(&g, 0, 256 * KiB);
	assert_int_equal(run_io(&g, BS_WRITE_ZEROES, 64 * KiB, 64 * KiB, NULL,
				false), 0);
	assert_reads_zero(&g, 64 * KiB, 64 * KiB, true);
	assert_reads_zero(&g, 0, 64 * KiB, false);
	assert_reads_zero(&g, 128 * KiB, 128 * KiB, false);
	bs_close(&g.bs);
	unlink(path);
}

/* Errors come back as -errno: O_DIRECT refuses an offset that is not a
 * multiple of the device's block size (on allocated blocks: a hole is
 * read without looking at the device). */
static void test_direct_misaligned(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = aligned(8 * KiB);

	fill(buf, 8 * KiB, 2);
	assert_int_equal(run_io(f, BS_WRITE, 0, 8 * KiB, buf, false), 0);
	assert_int_equal(run_io(f, BS_READ, 100, 4 * KiB, buf, false),
			 -EINVAL);
	assert_int_equal(run_io(f, BS_WRITE, 100, 4 * KiB, buf, false),
			 -EINVAL);
	assert_int_equal(run_io(f, BS_READ, 0, 4 * KiB, buf, false), 0);
	free(buf);
}

static unsigned open_fds(void)
{
	unsigned n = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static void stop_loop(struct ev_loop *loop, void *arg)
{
	(void)arg;
	ev_stop(loop);
}

/* The loop's ring (an io_uring fd and an eventfd) appears with the
 * first request, serves every aio LUN of the loop, and goes away after
 * an idle period; the next request brings a new one. */
static void test_ring_per_loop_released_when_idle(void **state)
{
	struct fx *f = *state;
	struct backing_store first, second;
	struct ev_timer later;
	uint8_t *buf = aligned(4 * KiB);
	unsigned base = open_fds();

	assert_int_equal(bs_open(&second, &bs_aio_ops, f->path, 0, "t:2"), 0);
	base++;
	assert_int_equal(run_io(f, BS_READ, 0, 4 * KiB, buf, false), 0);
	assert_int_equal(open_fds(), base + 2);
	/* A second LUN on the same loop: the same ring. */
	first = f->bs;
	f->bs = second;
	assert_int_equal(run_io(f, BS_READ, 0, 4 * KiB, buf, false), 0);
	assert_int_equal(open_fds(), base + 2);
	f->bs = first;
	ev_timer_init(&later, stop_loop, NULL);
	ev_timer_start(f->loop, &later, 4500);
	ev_run(f->loop);
	assert_int_equal(open_fds(), base);
	assert_int_equal(run_io(f, BS_READ, 0, 4 * KiB, buf, false), 0);
	assert_int_equal(open_fds(), base + 2);
	bs_close(&second);
	free(buf);
}

/* ---- opening ---- */

static void test_open_errors(void **state)
{
	const struct bs_ops *stores[] = { &bs_aio_ops, &bs_rdwr_ops };
	char dir[] = "/tmp/mtgt-bs.XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < 2; i++) {
		struct backing_store bs;

		assert_int_equal(bs_open(&bs, stores[i], "/nonexistent/x", 0,
					 "t:1"), -ENOENT);
		bs_close(&bs);
		/* Neither a regular file nor a block device. */
		assert_true(bs_open(&bs, stores[i], dir, 0, "t:1") < 0);
		bs_close(&bs);
		assert_int_equal(bs_open(&bs, stores[i], NULL, 0, "t:1"),
				 -EINVAL);
		bs_close(&bs);
	}
	rmdir(dir);
}

static void test_default_is_aio(void **state)
{
	(void)state;
	assert_ptr_equal(bs_default(), &bs_aio_ops);
	assert_ptr_equal(bs_lookup("aio"), &bs_aio_ops);
	assert_ptr_equal(bs_lookup("rdwr"), &bs_rdwr_ops);
	assert_true(bs_aio_ops.supports_oflags);
}

/* ---- null ---- */

static void test_null(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = aligned(8 * KiB);

	assert_true(f->bs.caps.discard && f->bs.caps.write_zeroes &&
		    f->bs.caps.unmap_zeroes && f->bs.caps.map_status);
	fill(buf, 8 * KiB, 1);
	assert_int_equal(run_io(f, BS_WRITE, 0, 8 * KiB, buf, true), 0);
	assert_int_equal(run_io(f, BS_READ, 0, 8 * KiB, buf, false), 0);
	assert_true(all_zero(buf, 8 * KiB));
	assert_int_equal(run_io(f, BS_UNMAP, 0, 8 * KiB, NULL, false), 0);
	assert_int_equal(run_io(f, BS_WRITE_ZEROES, 0, 8 * KiB, NULL, false),
			 0);
	assert_int_equal(run_io(f, BS_FLUSH, 0, 0, NULL, false), 0);
	assert_false(map_of(f, 0, 8 * KiB).mapped);
	assert_int_equal(map_of(f, 0, 8 * KiB).len, 8 * KiB);
	free(buf);
}

static bool on_tmpfs(const char *path)
{
	struct statfs fs;

	return statfs(path, &fs) == 0 && fs.f_type == TMPFS_MAGIC;
}

/* aio on tmpfs reads and writes on the loop, before bs_submit returns
 * (io_uring would hand each to a kernel worker); on other files it goes
 * through the ring and completes later, on the loop. */
static void test_in_memory_on_the_loop(void **state)
{
	struct fx *f = *state;
	uint8_t *out = aligned(16 * KiB), *in = aligned(16 * KiB);
	char path[64];
	struct fx g;
	struct bs_io io;

	snprintf(path, sizeof(path), "/dev/shm/mtgt-bs-mem-%d", (int)getpid());
	if (access("/dev/shm", W_OK))
		skip();
	create_file(path, 1 << 20);
	g = *f;
	snprintf(g.path, sizeof(g.path), "%s", path);
	assert_int_equal(bs_open(&g.bs, f->v->ops, path, 0, "t:2"), 0);
	fill(out, 16 * KiB, 7);
	start(&g, &io, BS_WRITE, 4 * KiB, 16 * KiB, out, false);
	assert_int_equal(g.pending, 0);
	assert_int_equal(io.result, 0);
	start(&g, &io, BS_READ, 4 * KiB, 16 * KiB, in, false);
	assert_int_equal(g.pending, 0);
	assert_int_equal(io.result, 0);
	assert_memory_equal(in, out, 16 * KiB);
	bs_close(&g.bs);
	unlink(path);
	/* The fixture's file (unless /tmp is a tmpfs): through the ring. */
	start(f, &io, BS_READ, 0, 16 * KiB, in, false);
	if (!on_tmpfs(f->path))
		assert_int_equal(f->pending, 1);
	wait_all(f);
	assert_int_equal(io.result, 0);
	free(out);
	free(in);
}

/* A store opened read-only (a CD/DVD image): its file is open for
 * reading only, reads work and writes fail without touching it. */
static void test_read_only(void **state)
{
	struct fx *f = *state;
	size_t len = 8 * KiB;
	uint8_t *buf = aligned(len);

	assert_int_equal(fcntl(f->bs.fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_int_equal(run_io(f, BS_READ, 0, len, buf, false), 0);
	assert_true(all_zero(buf, len));
	fill(buf, len, 3);
	assert_int_equal(run_io(f, BS_WRITE, 0, len, buf, false), -EBADF);
	read_file(f, 0, buf, len);
	assert_true(all_zero(buf, len));
	free(buf);
}

#define ON(fn, v)                                                        \
	cmocka_unit_test_prestate_setup_teardown(fn, fx_setup, fx_teardown, \
						 (void *)&(v))
#define FILE_TESTS(v)                                                    \
	ON(test_round_trip, v), ON(test_many_in_flight, v),              \
	ON(test_short_read_at_end, v), ON(test_fua_and_flush, v),        \
	ON(test_unmap, v), ON(test_write_zeroes, v)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_is_aio),
		cmocka_unit_test(test_open_errors),
		FILE_TESTS(aio),
		ON(test_short_write_then_error, aio),
		ON(test_write_zeroes_fallback, aio),
		ON(test_in_memory_on_the_loop, aio),
		ON(test_ring_per_loop_released_when_idle, aio),
		FILE_TESTS(aio_direct),
		ON(test_direct_misaligned, aio_direct),
		FILE_TESTS(rdwr),
		ON(test_short_write_then_error, rdwr),
		ON(test_write_zeroes_fallback, rdwr),
		ON(test_direct_misaligned, rdwr_direct),
		ON(test_null, null_store),
		ON(test_read_only, aio_read_only),
		ON(test_read_only, rdwr_read_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
