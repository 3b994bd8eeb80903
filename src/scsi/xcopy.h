/* EXTENDED COPY(LID1) inside the SCSI core: the parsed parameter list of
 * one command (xcopy_params.c), its execution (xcopy.c) and the status
 * records RECEIVE COPY RESULTS reads (copy_results.c). Nothing outside
 * those files includes this.
 *
 * Threading: a job belongs to its command and runs on the loop of the
 * target that owns the command, under the target lock, like every other
 * command; so do the records, which live in the command's I_T nexus. */
#ifndef MTGT_SCSI_XCOPY_H
#define MTGT_SCSI_XCOPY_H

#include <stdbool.h>
#include <stdint.h>

#include "scsi/core.h"

/* Descriptor type codes the copy manager implements. */
#define XCOPY_SEG_BLOCK_TO_BLOCK 0x02
#define XCOPY_CSCD_IDENTIFICATION 0xe4

/* Limits (RECEIVE COPY RESULTS OPERATING PARAMETERS, VPD 8Fh). */
#define XCOPY_MAX_CSCD 16
#define XCOPY_MAX_SEGMENTS 16
#define XCOPY_MAX_DESC_LIST 1024u
#define XCOPY_MAX_CONCURRENT 16 /* copies one copy manager LU runs */
#define XCOPY_SEG_MAX_BLOCKS 0xffffu /* the 2-byte NUMBER OF BLOCKS */

/* COPY MANAGER STATUS of RECEIVE COPY STATUS */
#define COPY_STATUS_RUNNING 0x00
#define COPY_STATUS_GOOD 0x01
#define COPY_STATUS_ERROR 0x02

/* One block device to block device segment descriptor. */
struct xcopy_segment {
	uint32_t at;          /* its offset in the parameter list */
	uint16_t src, dst;    /* CSCD descriptor indexes */
	bool dc;              /* the block count is in destination blocks */
	bool backwards;       /* overlapping, destination after source */
	uint64_t blocks;      /* BLOCK DEVICE NUMBER OF BLOCKS */
	uint64_t src_lba, dst_lba;
	uint64_t bytes;       /* what the segment copies (xcopy_check) */
};

/* What the next step of a running copy is. */
enum xcopy_next {
	XCOPY_READ,   /* read the next chunk (or end) */
	XCOPY_LOCK,   /* take the chunk's destination range */
	XCOPY_WRITE,  /* write the chunk */
	XCOPY_WAIT,   /* a request or the range lock will call back */
};

/* The status of one EXTENDED COPY, kept in its I_T nexus. */
struct copy_record {
	struct list_node node;
	uint64_t lun;         /* the copy manager LU */
	uint8_t list_id;
	bool hold;            /* LIST ID USAGE 00b: kept after the end */
	bool running;
	/* Out of its nexus, which has gone while the copy ran (the
	 * session ended); the copy frees it at its end. */
	bool orphan;
	uint8_t status;       /* COPY_STATUS_* once ended */
	uint16_t segments;    /* segments done */
	uint64_t bytes;       /* bytes copied */
};

/* One EXTENDED COPY command (cmd->priv while it runs). */
struct xcopy_job {
	struct scsi_lu *cscd[XCOPY_MAX_CSCD]; /* NULL: names no LU */
	unsigned ncscd;
	struct xcopy_segment seg[XCOPY_MAX_SEGMENTS];
	unsigned nseg;
	uint8_t list_id, list_id_usage;
	struct copy_record *record; /* NULL without a list identifier */
	/* LUs kept busy meanwhile: the CSCDs and the copy manager */
	struct scsi_lu *held[XCOPY_MAX_CSCD + 1];
	unsigned nheld;

	unsigned cur;         /* segment being copied */
	uint64_t done;        /* its bytes copied so far */
	uint32_t chunk;       /* bytes of the chunk being moved */
	uint8_t *buf;         /* the chunk */
	enum xcopy_next next;
	bool stepping, again; /* xcopy_step() running / asked again */
};

/* xcopy_params.c */
bool xcopy_parse(struct scsi_cmd *cmd, struct xcopy_job *job, uint32_t plen);
bool xcopy_check(struct scsi_cmd *cmd, struct xcopy_job *job);
/* COPY ABORTED, segment pointer at byte `field` of the segment
 * descriptor at `seg_at`; returns false. */
bool xcopy_abort(struct scsi_cmd *cmd, uint16_t asc, size_t seg_at,
		 size_t field);
/* MAXIMUM SEGMENT LENGTH in bytes. */
static inline uint32_t xcopy_max_segment_bytes(const struct scsi_lu *lu)
{
	return XCOPY_SEG_MAX_BLOCKS << lu->blk_shift;
}

/* copy_results.c */
struct copy_record *spc_copy_find(struct it_nexus *nexus, uint64_t lun,
				  uint8_t list_id);
/* A record for a starting copy, replacing the ended one of the same
 * list identifier; NULL without memory. */
struct copy_record *spc_copy_begin(struct it_nexus *nexus, uint64_t lun,
				   uint8_t list_id, bool hold);
/* The copy ended; a record not held, or orphaned, is freed. */
void spc_copy_end(struct copy_record *r, bool ok);

#endif
