/* Writing one pattern over a range of a LU (WRITE SAME, SANITIZE
 * OVERWRITE): the pattern is repeated into a buffer of at most FILL_CHUNK
 * bytes, and the range is written one bounded request at a time, the
 * next submitted from the completion of the last, so the target's loop
 * never blocks and other commands interleave. A pattern of zeros is
 * handed to the store as BS_WRITE_ZEROES (no buffer; fallocate where the
 * filesystem can).
 *
 * A fill belongs to whoever started it (a command, or a SANITIZE that
 * outlives its command) and runs on that owner's target loop. */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "scsi/core.h"
#include "scsi/scsi.h"

#define FILL_CHUNK (1u << 20)
/* Zeroing needs no buffer; its requests are bounded only so that
 * progress can be reported (SANITIZE). */
#define FILL_ZERO_CHUNK (64ull << 20)

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Fills len bytes of dst with the first n bytes of src over and over
 * (src may be dst itself: it is read before it is written). */
static void repeat(uint8_t *dst, size_t len, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < len; i += n)
		memmove(dst + i, src, len - i < n ? len - i : n);
}

/* The chunk: whole blocks, each holding the pattern repeated from its
 * start (an initialization pattern shorter than a block repeats within
 * the block, as SBC-3's SANITIZE OVERWRITE asks). */
static uint32_t chunk_len(const struct scsi_lu *lu, uint64_t len)
{
	uint64_t n = len < FILL_CHUNK ? len : FILL_CHUNK;

	n &= ~(uint64_t)(scsi_block_size(lu) - 1);
	return n ? (uint32_t)n : scsi_block_size(lu);
}

struct sbc_fill *sbc_fill_new(struct scsi_lu *lu, const uint8_t *pattern,
			      size_t pattern_len, uint64_t offset,
			      uint64_t len, bool fua)
{
	struct sbc_fill *fill = calloc(1, sizeof(*fill));
	void *buf = NULL;

	if (!fill)
		return NULL;
	fill->lu = lu;
	fill->start = fill->next = offset;
	fill->end = offset + len;
	fill->fua = fua;
	fill->zeroes = all_zero(pattern, pattern_len);
	if (fill->zeroes)
		return fill;
	fill->chunk_len = chunk_len(lu, len);
	if (posix_memalign(&buf, 4096, fill->chunk_len)) {
		free(fill);
		return NULL;
	}
	fill->chunk = buf;
	repeat(fill->chunk, scsi_block_size(lu), pattern, pattern_len);
	repeat(fill->chunk, fill->chunk_len, fill->chunk, scsi_block_size(lu));
	return fill;
}

void sbc_fill_free(struct sbc_fill *fill)
{
	if (!fill)
		return;
	free(fill->chunk);
	free(fill);
}

void sbc_fill_invert(struct sbc_fill *fill)
{
	for (uint32_t i = 0; i < fill->chunk_len; i++)
		fill->chunk[i] = (uint8_t)~fill->chunk[i];
}

uint16_t sbc_fill_progress(const struct sbc_fill *fill)
{
	uint64_t total = fill->end - fill->start;

	if (!total)
		return 0xffff;
	/* Fraction of 65536, computed without overflowing 64 bits. */
	return (uint16_t)((fill->next - fill->start) / (total / 65536 + 1));
}

static void fill_step(struct sbc_fill *fill);

static void fill_done(struct bs_io *io)
{
	struct sbc_fill *fill = container_of(io, struct sbc_fill, io);

	sbc_account_done(io);
	if (io->result < 0)
		log_error("LUN %llu: fill at %llu failed: %d",
			  (unsigned long long)fill->lu->lun,
			  (unsigned long long)io->offset, io->result);
	else
		fill->next = io->offset + io->length;
	fill_step(fill);
}

/* Submits the next request, or reports the end. A store that completes
 * inside submit (the null store) would recurse once per chunk; a nested
 * call only asks the running one to go round again. */
static void fill_step(struct sbc_fill *fill)
{
	if (fill->stepping) {
		fill->again = true;
		return;
	}
	fill->stepping = true;
	do {
		uint64_t left = fill->end - fill->next;
		uint64_t limit = fill->zeroes ? FILL_ZERO_CHUNK
					      : fill->chunk_len;

		fill->again = false;
		if (fill->io.result < 0 || !left) {
			/* done() may free the fill, or start it again. */
			fill->stepping = false;
			fill->done(fill);
			return;
		}
		sbc_submit_io(fill->lu, &fill->io,
			      fill->zeroes ? BS_WRITE_ZEROES : BS_WRITE,
			      fill->next, left < limit ? left : limit,
			      fill->chunk, fill->fua);
	} while (fill->again);
	fill->stepping = false;
}

void sbc_fill_start(struct sbc_fill *fill, struct ev_loop *loop,
		    void (*done)(struct sbc_fill *fill), void *arg)
{
	fill->io.done = fill_done;
	fill->io.arg = fill;
	fill->io.loop = loop;
	fill->done = done;
	fill->arg = arg;
	fill->next = fill->start;
	fill->io.result = 0;
	fill_step(fill);
}
