/* The rdwr store (tgt's name): pread/pwrite and the other blocking calls
 * on a file or block device, run by a small pool of worker threads so the
 * target's loop never blocks on storage. Completions go back to the
 * submitting loop with ev_post (its eventfd). */
#include <errno.h>

#include "backing/file.h"
#include "backing/pool.h"

#define RDWR_THREADS 4

static void rdwr_close(struct backing_store *bs)
{
	bs_pool_stop(bs->priv);
	bs->priv = NULL;
	bs_file_close(bs);
}

static int rdwr_open(struct backing_store *bs, const char *path)
{
	int ret = bs_file_open(bs, path);

	if (ret)
		return ret;
	bs->priv = bs_pool_start(bs->tag, RDWR_THREADS);
	if (!bs->priv) {
		bs_file_close(bs);
		return -EAGAIN;
	}
	return 0;
}

static void rdwr_submit(struct backing_store *bs, struct bs_io *io)
{
	bs_pool_submit(bs->priv, io);
}

const struct bs_ops bs_rdwr_ops = {
	.name = "rdwr",
	.supports_oflags = true,
	.needs_path = true,
	.open = rdwr_open,
	.close = rdwr_close,
	.submit = rdwr_submit,
};
