/*
 * slowfs: a FUSE file system that passes a directory through and makes
 * every fsync (of a file or of a directory) take a given time: a disk
 * whose cache flushes are slow (busy, remote), for test_pr_save.sh, which
 * keeps tgtd's APTPL state there. No real device and no host mount
 * table is touched (run it in a private mount namespace).
 *
 *   slowfs FSYNC_DELAY_MS BACKING_DIR MOUNTPOINT [fuse options...]
 *
 * Files and subdirectories of BACKING_DIR appear under MOUNTPOINT; what
 * is supported is what a program that writes a file atomically needs:
 * lookup, readdir, mkdir, create, open (O_TRUNC), read, write, rename,
 * unlink, fsync and fsyncdir. Runs in the foreground, single-threaded
 * (a slow fsync holds back every other request, as a busy disk would),
 * until unmounted or killed. Each fsync is logged on stdout with its
 * start time, so a test can see that it happened.
 *
 * Built by the test itself (libfuse3); not part of the daemon.
 */
#define FUSE_USE_VERSION 31
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int backing;	 /* the backing directory */
static long delay_ms;	 /* of every fsync */

/* The path relative to the backing directory ("/" is "."). */
static const char *rel(const char *path)
{
	return path[1] ? path + 1 : ".";
}

static int sl_getattr(const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	(void)fi;
	return fstatat(backing, rel(path), st, AT_SYMLINK_NOFOLLOW) < 0 ?
		       -errno : 0;
}

static int sl_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
		      off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	int fd = openat(backing, rel(path), O_RDONLY | O_DIRECTORY);
	struct dirent *e;
	DIR *d;

	(void)off;
	(void)fi;
	(void)flags;
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(d)))
		fill(buf, e->d_name, NULL, 0, 0);
	closedir(d);
	return 0;
}

static int sl_mkdir(const char *path, mode_t mode)
{
	return mkdirat(backing, rel(path), mode) < 0 ? -errno : 0;
}

static int sl_unlink(const char *path)
{
	return unlinkat(backing, rel(path), 0) < 0 ? -errno : 0;
}

static int sl_rename(const char *from, const char *to, unsigned int flags)
{
	if (flags)
		return -EINVAL;
	return renameat(backing, rel(from), backing, rel(to)) < 0 ? -errno : 0;
}

static int sl_truncate(const char *path, off_t size,
		       struct fuse_file_info *fi)
{
	int fd, ret;

	if (fi)
		return ftruncate((int)fi->fh, size) < 0 ? -errno : 0;
	fd = openat(backing, rel(path), O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = ftruncate(fd, size) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static int open_with(const char *path, int flags, mode_t mode,
		     struct fuse_file_info *fi)
{
	int fd = openat(backing, rel(path), flags | O_CLOEXEC, mode);

	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int sl_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return open_with(path, fi->flags | O_CREAT, mode, fi);
}

static int sl_open(const char *path, struct fuse_file_info *fi)
{
	return open_with(path, fi->flags, 0, fi);
}

static int sl_read(const char *path, char *buf, size_t len, off_t off,
		   struct fuse_file_info *fi)
{
	ssize_t n = pread((int)fi->fh, buf, len, off);

	(void)path;
	return n < 0 ? -errno : (int)n;
}

static int sl_write(const char *path, const char *buf, size_t len, off_t off,
		    struct fuse_file_info *fi)
{
	ssize_t n = pwrite((int)fi->fh, buf, len, off);

	(void)path;
	return n < 0 ? -errno : (int)n;
}

static int sl_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	close((int)fi->fh);
	return 0;
}

/* The slow part: waits, then really syncs what the path names. */
static int slow_sync(const char *path)
{
	struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000 };
	struct timespec now;
	int fd, ret;

	clock_gettime(CLOCK_REALTIME, &now);
	printf("fsync %s at %lld.%03ld\n", path, (long long)now.tv_sec,
	       now.tv_nsec / 1000000);
	fflush(stdout);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	fd = openat(backing, rel(path), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static int sl_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	(void)fi;
	return slow_sync(path);
}

static const struct fuse_operations ops = {
	.getattr = sl_getattr,
	.readdir = sl_readdir,
	.mkdir = sl_mkdir,
	.unlink = sl_unlink,
	.rename = sl_rename,
	.truncate = sl_truncate,
	.create = sl_create,
	.open = sl_open,
	.read = sl_read,
	.write = sl_write,
	.release = sl_release,
	.fsync = sl_fsync,
	.fsyncdir = sl_fsync,
};

int main(int argc, char **argv)
{
	char *fargv[32];
	int fargc = 0;

	if (argc < 4 || argc > 28 || (delay_ms = atol(argv[1])) < 0) {
		fprintf(stderr, "usage: slowfs FSYNC_DELAY_MS BACKING_DIR "
			"MOUNTPOINT [fuse options...]\n");
		return 2;
	}
	backing = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (backing < 0) {
		perror(argv[2]);
		return 1;
	}
	fargv[fargc++] = argv[0];
	fargv[fargc++] = "-f";		/* foreground */
	fargv[fargc++] = "-s";		/* one thread: a slow disk */
	for (int i = 3; i < argc; i++)
		fargv[fargc++] = argv[i];
	fargv[fargc] = NULL;
	return fuse_main(fargc, fargv, &ops, NULL);
}
