/* The SCSI command core as the transport sees it: a command, the I_T nexus
 * it arrives on, and the logical units of a target.
 *
 * Threading: every structure here belongs to one target and is used by the
 * thread that runs that target's loop, under the target lock (DESIGN.md);
 * the main thread takes the same lock to change them or to read them for
 * `show`. LUN-shared state (unit attentions) is reached through functions so
 * that it can later get its own lock. */
#ifndef MTGT_SCSI_SCSI_H
#define MTGT_SCSI_SCSI_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "backing/bs.h"
#include "common/list.h"

struct target;
struct ev_loop;

/* Largest data transfer of one command. Advertised in the Block Limits VPD
 * page; the transport refuses larger expected lengths before buffering. */
#define SCSI_MAX_XFER_BYTES (8u << 20)
#define SCSI_SENSE_MAX 96

/* SAM status codes */
#define SAM_STAT_GOOD 0x00
#define SAM_STAT_CHECK_CONDITION 0x02
#define SAM_STAT_CONDITION_MET 0x04
#define SAM_STAT_BUSY 0x08
#define SAM_STAT_RESERVATION_CONFLICT 0x18
#define SAM_STAT_TASK_SET_FULL 0x28
#define SAM_STAT_TASK_ABORTED 0x40

/* Sense keys */
#define SK_NO_SENSE 0x0
#define SK_RECOVERED_ERROR 0x1
#define SK_NOT_READY 0x2
#define SK_MEDIUM_ERROR 0x3
#define SK_HARDWARE_ERROR 0x4
#define SK_ILLEGAL_REQUEST 0x5
#define SK_UNIT_ATTENTION 0x6
#define SK_DATA_PROTECT 0x7
#define SK_ABORTED_COMMAND 0xb
#define SK_MISCOMPARE 0xe

/* Additional sense code and qualifier, packed as (ASC << 8 | ASCQ). */
#define ASC_NO_ADDITIONAL_SENSE 0x0000
#define ASC_LUN_NOT_READY_MANUAL 0x0403 /* LU not ready, manual intervention */
#define ASC_MEDIUM_NOT_PRESENT 0x3a00
#define ASC_WRITE_ERROR 0x0c00
#define ASC_READ_ERROR 0x1100
#define ASC_PARAMETER_LIST_LENGTH_ERROR 0x1a00
#define ASC_INVALID_OPCODE 0x2000
#define ASC_LBA_OUT_OF_RANGE 0x2100
#define ASC_INVALID_FIELD_IN_CDB 0x2400
#define ASC_LUN_NOT_SUPPORTED 0x2500
#define ASC_INVALID_FIELD_IN_PARAM_LIST 0x2600
#define ASC_WRITE_PROTECT 0x2700
#define ASC_POWERON_RESET 0x2900
#define ASC_BUS_DEVICE_RESET 0x2903 /* BUS DEVICE RESET FUNCTION OCCURRED */
#define ASC_COMMANDS_CLEARED 0x2f00 /* COMMANDS CLEARED BY ANOTHER INITIATOR */
#define ASC_PARAMETERS_CHANGED 0x2a00
#define ASC_MODE_PARAMETERS_CHANGED 0x2a01
#define ASC_CAPACITY_CHANGED 0x2a09
#define ASC_SAVING_PARAMS_UNSUP 0x3900
#define ASC_REPORTED_LUNS_DATA_CHANGED 0x3f0e
#define ASC_INTERNAL_TARGET_FAILURE 0x4400
#define ASC_MEDIUM_REMOVAL_PREVENTED 0x5302

enum scsi_data_dir {
	SCSI_DIR_NONE,
	SCSI_DIR_READ,  /* data-in: target to initiator */
	SCSI_DIR_WRITE, /* data-out: initiator to target */
};

enum scsi_task_attr {
	SCSI_TASK_UNTAGGED = 0,
	SCSI_TASK_SIMPLE = 1,
	SCSI_TASK_ORDERED = 2,
	SCSI_TASK_HEAD_OF_QUEUE = 3,
	SCSI_TASK_ACA = 4,
};

/* Peripheral device types used by tgt-compatible LUNs */
#define SCSI_TYPE_DISK 0x00
#define SCSI_TYPE_CONTROLLER 0x0c

struct lu_stats {
	uint64_t rd_subm_bytes, rd_done_bytes, wr_subm_bytes, wr_done_bytes;
	uint32_t rd_subm_cmds, rd_done_cmds, wr_subm_cmds, wr_done_cmds;
	uint32_t errors;
};

/* A logical unit. Owned by its target (linked in target->lus, ascending
 * LUN); guarded by the target lock. */
struct scsi_lu {
	struct list_node node;
	struct target *target;
	uint64_t lun;
	uint8_t type;          /* SCSI_TYPE_* */
	unsigned blk_shift;    /* log2 of the logical block size */
	unsigned lbppbe;       /* logical blocks per physical block exponent */
	uint64_t size;         /* bytes; 0 for the controller */

	char vendor_id[9];
	char product_id[17];
	char product_rev[5];
	char scsi_id[37];
	char scsi_sn[37];

	bool online;
	bool removable;
	bool readonly;
	bool swp;              /* software write protect (control mode page) */
	bool thin_provisioning;
	bool prevent_removal;
	bool sense_descriptor; /* D_SENSE: descriptor-format sense */
	bool write_cache;      /* caching mode page WCE */
	uint16_t rotation_rate; /* Block Device Characteristics; 0 unknown */
	uint16_t lowest_aligned_lba; /* la_lba (READ CAPACITY(16)) */
	uint32_t optimal_xfer_gran; /* blocks; 0: one physical block */
	uint32_t optimal_xfer_len;  /* blocks; 0: not reported */

	char *path;            /* NULL for no backing file */
	struct backing_store bs;

	unsigned inflight;     /* commands submitted and not completed */
	struct lu_stats stats;
};

/* A pending unit attention of one I_T nexus for one LUN. */
struct scsi_ua {
	struct list_node node;
	uint64_t lun;
	uint16_t asc; /* ASC << 8 | ASCQ */
};

/* An I_T nexus: the SCSI view of one iSCSI session. Owned by the target
 * (linked in target->nexuses); guarded by the target lock. */
struct it_nexus {
	struct list_node node;
	struct target *target;
	uint64_t id;               /* the session's TSIH */
	struct list_node ua_list;  /* struct scsi_ua, oldest first */
};

struct scsi_cmd;
typedef void (*scsi_done_fn)(struct scsi_cmd *cmd);

/* One SCSI command. Owned by the transport task that embeds it; lives on
 * the target's loop from submission to scsi_done_fn. */
struct scsi_cmd {
	/* Filled by the transport before scsi_cmd_execute() */
	uint8_t cdb[16];
	uint8_t cdb_len;
	uint64_t lun;              /* LUN number from the 8-byte LUN field */
	struct it_nexus *nexus;
	struct ev_loop *loop;      /* loop on which done() runs */
	enum scsi_task_attr attr;
	enum scsi_data_dir dir;    /* from the transport's R/W flags */
	uint32_t expected_len;     /* expected data transfer length */
	uint8_t *out_buf;          /* data-out received, out_len bytes */
	uint32_t out_len;
	scsi_done_fn done;

	/* Filled by the core */
	struct scsi_lu *lu;
	uint8_t *in_buf;           /* data-in; malloc'd, freed by scsi_cmd_release */
	uint32_t in_len;           /* bytes of data-in produced */
	uint8_t status;
	uint8_t sense[SCSI_SENSE_MAX];
	uint8_t sense_len;
	/* Data-out bytes the CDB describes (0 if it takes none); the
	 * transport reports the data-out residual against it. The data-in
	 * residual is reported against in_len. */
	uint32_t out_cdb_len;
	struct bs_io io;           /* used for backing-store requests */
	int bs_stage;              /* core-private sequencing of multi-step I/O */
};

/* Runs a command; cmd->done is called exactly once, possibly before this
 * returns, always on cmd->loop. */
void scsi_cmd_execute(struct scsi_cmd *cmd);
/* Frees what the core allocated for the command (in_buf). */
void scsi_cmd_release(struct scsi_cmd *cmd);

/* Sets CHECK CONDITION with fixed or descriptor sense as the LU (or, with
 * no LU, fixed) wants. */
void scsi_set_sense(struct scsi_cmd *cmd, uint8_t key, uint16_t asc);
/* Same with a sense-key-specific field pointer (INVALID FIELD IN CDB /
 * PARAMETER LIST): byte offset, bit (0-7) or -1 when no bit pointer. */
void scsi_set_sense_field(struct scsi_cmd *cmd, uint16_t asc, bool in_cdb,
			  uint16_t byte, int bit);
/* Builds sense bytes into buf; returns its length. Exposed for tests. */
unsigned scsi_build_sense(uint8_t *buf, bool descriptor, uint8_t key,
			  uint16_t asc, const uint8_t *sks /* 3 bytes or NULL */,
			  bool info_valid, uint64_t info);

/* LUN field <-> LUN number (SAM-5 flat and peripheral addressing). A
 * LUN field the core cannot address decodes to SCSI_LUN_NONE, which
 * matches no logical unit. */
#define SCSI_LUN_NONE UINT64_MAX
uint64_t scsi_lun_from_wire(const uint8_t lun[8]);
void scsi_lun_to_wire(uint64_t lun, uint8_t out[8]);

/* Logical units: create with tgt's defaults (vendor IET, product
 * VIRTUAL-DISK or Controller, SCSI ID "IET     %04x%04llx", SN
 * "beaf<tid><lun>"). Returns NULL on allocation failure. */
struct scsi_lu *scsi_lu_new(struct target *target, int tid, uint64_t lun,
			    uint8_t type);
void scsi_lu_free(struct scsi_lu *lu);
/* LOGICAL UNIT RESET (SAM-5 6.3.3), once its task set has been aborted by
 * the transport: the LU's state returns to its reset values (no medium
 * removal prevention) and every I_T nexus gets BUS DEVICE RESET FUNCTION
 * OCCURRED. Target lock held. */
void scsi_lu_reset(struct scsi_lu *lu);

/* I_T nexus lifetime and unit attentions. it_nexus_init queues POWER ON,
 * RESET OR BUS DEVICE RESET OCCURRED for every LUN of the target.
 * it_nexus_init also links the nexus into target->nexuses (target may be
 * NULL: no link, no UAs) and it_nexus_fini unlinks it and frees its
 * pending unit attentions; callers hold the target lock. */
void it_nexus_init(struct it_nexus *nexus, struct target *target,
		   uint64_t id);
void it_nexus_fini(struct it_nexus *nexus);
void scsi_ua_queue(struct it_nexus *nexus, uint64_t lun, uint16_t asc);
/* Queue asc for lun on every nexus of the target except `except`. */
void scsi_ua_queue_all(struct target *target, struct it_nexus *except,
		       uint64_t lun, uint16_t asc);
void scsi_ua_drop_lun(struct target *target, uint64_t lun);

#endif
