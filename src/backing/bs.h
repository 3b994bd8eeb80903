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
};

/* bsoflags of tgt: O_SYNC and O_DIRECT on open. */
#define BS_OFLAG_SYNC 0x1
#define BS_OFLAG_DIRECT 0x2

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
	bs_done_fn done;
	void *arg;           /* for the submitter */
	struct ev_loop *loop; /* loop on which done() must run */
	struct ev_work work;  /* used by stores that complete off-loop */
	struct list_node node; /* store-private queueing */
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
	char tag[16];      /* "<tid>:<lun>", names worker threads */
	void *priv;
};

const struct bs_ops *bs_lookup(const char *name);
/* Registered store types, in the order `sys show` lists them. */
const struct bs_ops *const *bs_all(void);

int bs_open(struct backing_store *bs, const struct bs_ops *ops,
	    const char *path, int oflags, const char *tag);
void bs_close(struct backing_store *bs);

static inline void bs_submit(struct backing_store *bs, struct bs_io *io)
{
	bs->ops->submit(bs, io);
}

extern const struct bs_ops bs_rdwr_ops;
extern const struct bs_ops bs_null_ops;

#endif
