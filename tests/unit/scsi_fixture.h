/* Shared harness of the SCSI core unit tests: a target with LUN 0
 * (controller) and LUN 1 (a disk on an in-memory store), two I_T nexuses
 * on it, and helpers that run one command at a time and check how it
 * ended. Use fx_setup/fx_teardown as the cmocka setup and teardown; the
 * state is a struct fx. */
#ifndef MTGT_TESTS_SCSI_FIXTURE_H
#define MTGT_TESTS_SCSI_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scsi/scsi.h"
#include "target/target.h"

/* Size of the disk in 512-byte blocks. */
#define DISK_BLOCKS 1024
/* Size of LUN 2 (fx_add_disk2), larger than a copy or fill chunk. */
#define DISK2_BLOCKS 6144

/* The disk's store. By default every request copies its data and
 * completes inside submit with result 0; the knobs below let a test
 * inject errors, complete requests itself or corrupt writes. The
 * remaining fields record what reached the store.
 *
 * Like a file, it keeps which 512-byte units are allocated: a write
 * allocates, BS_UNMAP deallocates (and zeroes), BS_WRITE_ZEROES zeroes
 * and allocates, BS_MAP_STATUS reports the run at the offset. Its
 * capabilities are those of a file that punches holes. */
struct mem_store {
	uint8_t *data;       /* the disk's bytes, freed by teardown */
	bool *mapped;        /* per 512-byte unit, freed by teardown */
	int fail;            /* result of every request: 0 or -errno */
	bool defer;          /* park requests in `parked`, do not complete */
	bool corrupt;        /* writes store their first byte inverted */
	struct bs_io *parked;
	unsigned submits;
	unsigned unmaps, zeroings; /* BS_UNMAP / BS_WRITE_ZEROES seen */
	enum bs_op last_op;
	uint64_t last_offset, last_length;
	bool last_fua;
};

struct fx {
	struct target t;
	struct it_nexus nexus, other;
	struct scsi_lu *ctl, *disk;
	struct mem_store mem;
	struct scsi_lu *disk2; /* LUN 2, only after fx_add_disk2() */
	struct mem_store mem2;
	struct ev_loop *loop; /* cmd.loop: NULL unless a test sets one */
	struct scsi_cmd cmd;  /* the one command in flight or last run */
	int done;             /* calls of cmd.done since it was started */
};

int fx_setup(void **state);
int fx_teardown(void **state);
/* Gives the fixture a loop (f->loop) for completions posted from other
 * threads or deferred; fx_loop_teardown runs what is left on it and
 * frees it, then does fx_teardown. */
void fx_use_loop(struct fx *f);
int fx_loop_teardown(void **state);
/* Adds LUN 2, a second disk of DISK2_BLOCKS blocks on its own store. */
void fx_add_disk2(struct fx *f);

/* The `stat` counters of lu as nexus n uses it (fails the test if none). */
const struct itl_counters *fx_counters(struct it_nexus *n,
				       const struct scsi_lu *lu);
/* Releases the previous command and fills f->cmd afresh with the CDB,
 * LUN and nexus; direction and lengths are left zero for the caller. */
void fx_cmd_init(struct fx *f, struct it_nexus *n, uint64_t lun,
		 const uint8_t *cdb, size_t cdb_len);
/* Starts a command carrying `len` bytes of data-out. Does not require
 * completion, so tests of deferred stores can complete it later. */
void fx_start_out(struct fx *f, struct it_nexus *n, uint64_t lun,
		  const uint8_t *cdb, size_t cdb_len, const uint8_t *data,
		  uint32_t len);
/* Runs a data-in command (up to 4096 bytes) to completion. */
void send_on(struct fx *f, struct it_nexus *n, uint64_t lun,
	     const uint8_t *cdb, size_t cdb_len);

#define SEND(f, lun, ...)                                               \
	do {                                                            \
		const uint8_t cdb_[] = { __VA_ARGS__ };                 \
		send_on(f, &(f)->nexus, lun, cdb_, sizeof(cdb_));       \
	} while (0)

#define SEND_ON(f, n, lun, ...)                                         \
	do {                                                            \
		const uint8_t cdb_[] = { __VA_ARGS__ };                 \
		send_on(f, n, lun, cdb_, sizeof(cdb_));                 \
	} while (0)

/* A second command, beside f->cmd, for tests of commands that overlap
 * (range lock, sanitize, copies). Release its cmd when done. */
struct fx_side {
	struct scsi_cmd cmd;
	int done;
};
/* Starts it on nexus n with `len` bytes of data-out (0: none, a data-in
 * command then). Does not require completion. */
void fx_side_start(struct fx_side *s, struct it_nexus *n, uint64_t lun,
		   const uint8_t *cdb, uint8_t *data, uint32_t len);
/* The same with its completion on loop (cmd.loop). */
void fx_side_start_on(struct fx_side *s, struct ev_loop *loop,
		      struct it_nexus *n, uint64_t lun, const uint8_t *cdb,
		      uint8_t *data, uint32_t len);
/* Completes the request the disk's store parked last, or else LUN 2's. */
void fx_complete_parked(struct fx *f);
/* Whether blocks [lba, lba + blocks) of the disk all hold byte v. */
bool fx_medium_is(const struct fx *f, uint64_t lba, unsigned blocks,
		  uint8_t v);

void assert_good(const struct fx *f);
/* Checks status, key and ASC/ASCQ in either sense format. */
void assert_sense(const struct fx *f, uint8_t key, uint16_t asc);
/* Fixed-format sense key specific bytes: C/D, bit pointer (-1: none),
 * field. */
void assert_field(const struct fx *f, bool cdb, unsigned byte, int bit);

#endif
