/*
 * faultfs: a FUSE file system holding one file, "lun.img", whose bytes live
 * in a backing file and whose reads and writes fail with EIO over one byte
 * range (a disk with bad sectors, for test_faults.sh), or go no faster
 * than a given rate (a slow disk, for the SANITIZE that must outlast
 * resets and reconnects in test_conformance.sh), without touching any
 * real device or the host's mount table (run it in a private mount
 * namespace).
 *
 *   faultfs [--rate BYTES_PER_SECOND] BACKING BAD_START BAD_END MOUNTPOINT
 *           [fuse options...]
 *
 * Any read or write overlapping [BAD_START, BAD_END) fails with EIO (an
 * empty range: none does); everything else goes to BACKING at the same
 * offset, and with --rate takes at least its length / rate seconds. Runs
 * in the foreground, single-threaded (so requests are served one after
 * the other and the rate holds for all of them together), until
 * unmounted or killed.
 *
 * Built by the test itself (libfuse3); not part of the daemon.
 */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FILE_NAME "lun.img"

struct faultfs {
	int fd;			/* the backing file */
	off_t bad_start;	/* first failing byte */
	off_t bad_end;		/* first good byte after the range */
	long long rate;		/* bytes per second; 0: as fast as BACKING */
};

static struct faultfs fs;

static int overlaps_bad(off_t off, size_t len)
{
	return off < fs.bad_end && off + (off_t)len > fs.bad_start;
}

static int ff_getattr(const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	if (strcmp(path, "/") == 0) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (strcmp(path, "/" FILE_NAME) != 0)
		return -ENOENT;
	if (fstat(fs.fd, st) < 0)
		return -errno;
	st->st_mode = S_IFREG | 0644;
	return 0;
}

static int ff_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
		      off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	if (strcmp(path, "/") != 0)
		return -ENOENT;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, FILE_NAME, NULL, 0, 0);
	return 0;
}

static int ff_open(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, "/" FILE_NAME) != 0)
		return -ENOENT;
	/* No page cache: every I/O of the target reaches ff_read/ff_write. */
	fi->direct_io = 1;
	return 0;
}

/* A slow disk: the request takes len / rate seconds. Sleeping here holds
 * the only thread, so the next request waits too. */
static void throttle(size_t len)
{
	long long ns;
	struct timespec ts;

	if (!fs.rate)
		return;
	ns = (long long)((double)len * 1e9 / (double)fs.rate);
	ts.tv_sec = ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Reads or writes the backing file, except over the bad range. */
static int ff_io(char *rbuf, const char *wbuf, size_t len, off_t off)
{
	ssize_t n;

	if (overlaps_bad(off, len))
		return -EIO;
	n = rbuf ? pread(fs.fd, rbuf, len, off) : pwrite(fs.fd, wbuf, len, off);
	if (n > 0)
		throttle((size_t)n);
	return n < 0 ? -errno : (int)n;
}

static int ff_read(const char *path, char *buf, size_t len, off_t off,
		   struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	return ff_io(buf, NULL, len, off);
}

static int ff_write(const char *path, const char *buf, size_t len, off_t off,
		    struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	return ff_io(NULL, buf, len, off);
}

static int ff_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	return (datasync ? fdatasync(fs.fd) : fsync(fs.fd)) < 0 ? -errno : 0;
}

static const struct fuse_operations ops = {
	.getattr = ff_getattr,
	.readdir = ff_readdir,
	.open = ff_open,
	.read = ff_read,
	.write = ff_write,
	.fsync = ff_fsync,
};

int main(int argc, char **argv)
{
	char *fargv[32];
	int fargc = 0;

	fargv[fargc++] = argv[0];
	if (argc > 2 && strcmp(argv[1], "--rate") == 0) {
		fs.rate = strtoll(argv[2], NULL, 0);
		argv += 2;
		argc -= 2;
	}
	if (argc < 5 || argc > 26 || fs.rate < 0) {
		fprintf(stderr, "usage: faultfs [--rate BYTES_PER_SECOND] "
			"BACKING BAD_START BAD_END MOUNTPOINT "
			"[fuse options...]\n");
		return 2;
	}
	fs.fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fs.fd < 0) {
		perror(argv[1]);
		return 1;
	}
	fs.bad_start = strtoll(argv[2], NULL, 0);
	fs.bad_end = strtoll(argv[3], NULL, 0);
	fargv[fargc++] = "-f";		/* foreground */
	fargv[fargc++] = "-s";		/* one thread: simple and enough */
	fargv[fargc++] = argv[4];
	for (int i = 5; i < argc; i++)
		fargv[fargc++] = argv[i];
	fargv[fargc] = NULL;
	return fuse_main(fargc, fargv, &ops, NULL);
}
