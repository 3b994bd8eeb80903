/* The null store: reads return zeros, writes are discarded. It measures
 * the transport and SCSI layers without storage cost, and backs LUN 0.
 * Nothing is ever stored, so every range is deallocated and reads as
 * zeros: UNMAP and WRITE ZEROES succeed at once. */
#include <string.h>

#include "backing/bs.h"

/* Size of a null LUN when created with a path-less `-E null` (tgt reports
 * a 16 GiB device for its null store too, so benchmarks can address it). */
#define NULL_STORE_SIZE (16ull << 30)

static int null_open(struct backing_store *bs, const char *path)
{
	(void)path;
	bs->size = NULL_STORE_SIZE;
	bs->caps = (struct bs_caps){
		.discard = true,
		.write_zeroes = true,
		.unmap_zeroes = true,
		.map_status = true,
	};
	return 0;
}

static void null_submit(struct backing_store *bs, struct bs_io *io)
{
	(void)bs;
	if (io->op == BS_READ)
		memset(io->buf, 0, io->length);
	if (io->op == BS_MAP_STATUS)
		io->map = (struct bs_map){ .mapped = false, .len = io->length };
	io->result = 0;
	io->done(io);
}

const struct bs_ops bs_null_ops = {
	.name = "null",
	.open = null_open,
	.submit = null_submit,
};
