/* Backing-store interface: what scsi/ sees of the storage under a LUN.
 *
 * A store is opened on the management (main) thread before the LUN is
 * published. I/O is submitted from the loop that owns the command; the
 * store completes it by calling io->done on that same loop (a blocking
 * store hands the completion back with ev_post on io->loop). */
#ifndef MTGT_BACKING_BS_H
#define MTGT_BACKING_BS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/list.h"
#include "event/loop.h"

enum bs_op {
	BS_READ,
	BS_WRITE,
	BS_FLUSH,        /* make every completed write durable */
	/* Thin provisioning (offset and length in bytes, no buffer): */
	BS_UNMAP,        /* deallocate the range (needs caps.discard) */
	BS_WRITE_ZEROES, /* make the range read as zeros, kept allocated */
	BS_MAP_STATUS,   /* how far the range's first run of mapped or
			  * deallocated bytes goes: io->map */
};

/* What a store offers beyond READ, WRITE and FLUSH; set by open(). */
struct bs_caps {
	bool discard;        /* BS_UNMAP deallocates */
	bool write_zeroes;   /* BS_WRITE_ZEROES works (maybe by writing) */
	bool unmap_zeroes;   /* deallocated bytes read as zeros (LBPRZ) */
	bool map_status;     /* BS_MAP_STATUS knows the real allocation;
			      * without it everything is reported mapped */
};

/* The answer of BS_MAP_STATUS: [offset, offset + len) is all mapped or
 * all deallocated, len > 0 and at most the request's length. */
struct bs_map {
	bool mapped;
	uint64_t len;
};

/* bsoflags of tgt: O_SYNC and O_DIRECT on open. */
#define BS_OFLAG_SYNC 0x1
#define BS_OFLAG_DIRECT 0x2
/* Not one of tgt's bsoflags: the LU is read-only by nature (a CD/DVD
 * image), so the store opens its file for reading only. Every store
 * accepts it; those without a file ignore it. */
#define BS_OFLAG_RDONLY 0x4

struct bs_io;
typedef void (*bs_done_fn)(struct bs_io *io);

/* One request to a store. Owned by the command that embeds it; the store
 * borrows it from submit() until done() runs. */
struct bs_io {
	enum bs_op op;
	uint64_t offset;
	uint64_t length;
	void *buf;
	bool fua;            /* durable before completion (RWF_DSYNC) */
	int result;          /* set by the store: 0 or -errno */
	struct bs_map map;   /* set by the store for BS_MAP_STATUS */
	bs_done_fn done;
	void *arg;           /* for the submitter */
	struct ev_loop *loop; /* loop on which done() must run */

	/* Store-private while the store holds the request: */
	struct backing_store *bs; /* set by bs_submit() */
	struct ev_work work;  /* completion handed back from another thread */
	struct list_node node; /* queueing */
	uint64_t progress;    /* bytes done of a request done in parts */
};

struct backing_store;

struct bs_ops {
	const char *name;
	bool supports_oflags; /* accepts BS_OFLAG_SYNC/DIRECT */
	bool needs_path;
	/* Opens path; fills bs->size. Returns 0 or -errno. May block. */
	int (*open)(struct backing_store *bs, const char *path);
	void (*close)(struct backing_store *bs);
	void (*submit)(struct backing_store *bs, struct bs_io *io);
};

/* An open store. Owned by its LUN; created and destroyed by the main
 * thread, used by the target's loop in between. */
struct backing_store {
	const struct bs_ops *ops;
	int fd;
	int oflags;        /* BS_OFLAG_* */
	uint64_t size;     /* bytes */
	bool blockdev;     /* fd is a block device, not a regular file */
	struct bs_caps caps;
	char tag[16];      /* "<tid>:<lun>", names worker threads */
	void *priv;
};

const struct bs_ops *bs_lookup(const char *name);
/* The store of a LUN created without a type: aio (io_uring). */
const struct bs_ops *bs_default(void);
/* Registered store types, in the order `sys show` lists them. */
const struct bs_ops *const *bs_all(void);

int bs_open(struct backing_store *bs, const struct bs_ops *ops,
	    const char *path, int oflags, const char *tag);
void bs_close(struct backing_store *bs);

/* Loop thread of io->loop only. done() may run before this returns. */
static inline void bs_submit(struct backing_store *bs, struct bs_io *io)
{
	io->bs = bs;
	io->progress = 0;
	bs->ops->submit(bs, io);
}

extern const struct bs_ops bs_aio_ops;
extern const struct bs_ops bs_rdwr_ops;
extern const struct bs_ops bs_null_ops;

#endif
