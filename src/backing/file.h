/* What the stores that keep data in a file or block device (aio, rdwr)
 * share: opening it with what it can do, and the blocking form of every
 * operation, run on worker threads. Private to src/backing/. */
#ifndef MTGT_BACKING_FILE_H
#define MTGT_BACKING_FILE_H

#include "backing/bs.h"

/* Opens path with bs->oflags; fills fd, size, blockdev and caps. Returns
 * 0 or -errno (nothing left open). Main thread; may block. */
int bs_file_open(struct backing_store *bs, const char *path);
void bs_file_close(struct backing_store *bs);

/* Runs io to the end with blocking calls: partial transfers continue,
 * EINTR is retried, a read past the end of a file returns zeros. Returns
 * 0 or -errno; fills io->map for BS_MAP_STATUS. Any thread; blocks. */
int bs_file_run(struct backing_store *bs, struct bs_io *io);

#endif
