/* Files and block devices under a store: open with tgt's bsoflags, size
 * and capabilities, and the blocking operations the worker threads run
 * (every operation of the rdwr store; those io_uring cannot express for
 * the aio store). */
#include "backing/file.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

/* Written where fallocate cannot zero a range. Aligned so that O_DIRECT
 * accepts it. */
#define ZEROS_LEN (64u << 10)
static _Alignas(4096) const unsigned char zeros[ZEROS_LEN];

static int read_all(int fd, struct bs_io *io)
{
	char *buf = io->buf;
	uint64_t done = 0;

	while (done < io->length) {
		ssize_t n = pread(fd, buf + done, io->length - done,
				  (off_t)(io->offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) { /* beyond the end of a file: zeros */
			memset(buf + done, 0, io->length - done);
			return 0;
		}
		done += (uint64_t)n;
	}
	return 0;
}

static int write_all(int fd, const void *buf, uint64_t len, uint64_t off,
		     bool fua)
{
	uint64_t done = 0;

	while (done < len) {
		struct iovec iov = { (char *)buf + done, len - done };
		ssize_t n = pwritev2(fd, &iov, 1, (off_t)(off + done),
				     fua ? RWF_DSYNC : 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) /* no progress and no reason: give up */
			return -EIO;
		done += (uint64_t)n;
	}
	return 0;
}

static int sync_data(int fd)
{
	return fdatasync(fd) < 0 ? -errno : 0;
}

static int unmap(struct backing_store *bs, const struct bs_io *io)
{
	uint64_t range[2] = { io->offset, io->length };
	int ret;

	if (!bs->caps.discard)
		return -EOPNOTSUPP;
	if (bs->blockdev)
		ret = ioctl(bs->fd, BLKDISCARD, range);
	else
		ret = fallocate(bs->fd,
				FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				(off_t)io->offset, (off_t)io->length);
	if (ret < 0)
		return -errno;
	return io->fua ? sync_data(bs->fd) : 0;
}

/* fallocate first (ext4, xfs, block devices zero without moving data);
 * where the filesystem cannot (tmpfs, NFS), zeros are written. */
static int write_zeroes(struct backing_store *bs, const struct bs_io *io)
{
	uint64_t done = 0;

	if (fallocate(bs->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
		      (off_t)io->offset, (off_t)io->length) == 0)
		return io->fua ? sync_data(bs->fd) : 0;
	if (errno != EOPNOTSUPP && errno != EINVAL)
		return -errno;
	while (done < io->length) {
		uint64_t n = io->length - done;
		int ret;

		if (n > ZEROS_LEN)
			n = ZEROS_LEN;
		ret = write_all(bs->fd, zeros, n, io->offset + done, io->fua);
		if (ret)
			return ret;
		done += n;
	}
	return 0;
}

/* SEEK_DATA/SEEK_HOLE: the run of mapped or unmapped bytes at offset. A
 * block device (or a store without the capability) is all mapped. */
static int map_status(struct backing_store *bs, struct bs_io *io)
{
	off_t off = (off_t)io->offset;
	off_t data, hole;
	uint64_t run;

	io->map = (struct bs_map){ .mapped = true, .len = io->length };
	if (!bs->caps.map_status)
		return 0;
	data = lseek(bs->fd, off, SEEK_DATA);
	if (data < 0 && errno == ENXIO) { /* no data from here to the end */
		io->map.mapped = false;
		return 0;
	}
	if (data < 0)
		return -errno;
	if (data > off) {
		io->map.mapped = false;
		run = (uint64_t)(data - off);
	} else {
		hole = lseek(bs->fd, off, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		run = (uint64_t)(hole - off);
	}
	if (run && run < io->length)
		io->map.len = run;
	return 0;
}

int bs_file_run(struct backing_store *bs, struct bs_io *io)
{
	switch (io->op) {
	case BS_READ:
		return read_all(bs->fd, io);
	case BS_WRITE:
		return write_all(bs->fd, io->buf, io->length, io->offset,
				 io->fua);
	case BS_FLUSH:
		return sync_data(bs->fd);
	case BS_UNMAP:
		return unmap(bs, io);
	case BS_WRITE_ZEROES:
		return write_zeroes(bs, io);
	case BS_MAP_STATUS:
		return map_status(bs, io);
	}
	return -EINVAL;
}

/* Punching a hole at the end of the file changes nothing and fails with
 * EOPNOTSUPP where the filesystem cannot punch (vfat, old NFS). */
static bool can_punch(int fd, off_t size)
{
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, size,
			 1) == 0;
}

/* A block device discards if its queue says so; a partition's queue is
 * its disk's. */
static bool queue_discards(dev_t rdev)
{
	static const char *const where[] = {
		"/sys/dev/block/%u:%u/queue/discard_max_bytes",
		"/sys/dev/block/%u:%u/../queue/discard_max_bytes",
	};

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		char path[96];
		unsigned long long max = 0;
		FILE *f;
		int n;

		snprintf(path, sizeof(path), where[i], major(rdev),
			 minor(rdev));
		f = fopen(path, "re");
		if (!f)
			continue;
		n = fscanf(f, "%llu", &max);
		fclose(f);
		return n == 1 && max > 0;
	}
	return false;
}

static int probe(struct backing_store *bs)
{
	struct stat st;

	if (fstat(bs->fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		bs->size = (uint64_t)st.st_size;
		bs->caps.discard = can_punch(bs->fd, st.st_size);
		bs->caps.unmap_zeroes = bs->caps.discard; /* holes read 0 */
		bs->caps.write_zeroes = true;
		bs->caps.map_status = true;
		return 0;
	}
	if (!S_ISBLK(st.st_mode))
		return -EINVAL;
	bs->blockdev = true;
	if (ioctl(bs->fd, BLKGETSIZE64, &bs->size) < 0)
		return -errno;
	/* A discarded block may read as anything: no LBPRZ. */
	bs->caps.discard = queue_discards(st.st_rdev);
	bs->caps.write_zeroes = true;
	return 0;
}

int bs_file_open(struct backing_store *bs, const char *path)
{
	int flags = O_CLOEXEC | O_LARGEFILE;
	int ret;

	if (!path)
		return -EINVAL;
	flags |= bs->oflags & BS_OFLAG_RDONLY ? O_RDONLY : O_RDWR;
	if (bs->oflags & BS_OFLAG_SYNC)
		flags |= O_SYNC;
	if (bs->oflags & BS_OFLAG_DIRECT)
		flags |= O_DIRECT;
	bs->fd = open(path, flags);
	if (bs->fd < 0)
		return -errno;
	ret = probe(bs);
	if (ret)
		bs_file_close(bs);
	return ret;
}

void bs_file_close(struct backing_store *bs)
{
	if (bs->fd >= 0)
		close(bs->fd);
	bs->fd = -1;
}
