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
#include <stdatomic.h>
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
#define SK_COPY_ABORTED 0xa
#define SK_ABORTED_COMMAND 0xb
#define SK_MISCOMPARE 0xe

/* Additional sense code and qualifier, packed as (ASC << 8 | ASCQ). */
#define ASC_NO_ADDITIONAL_SENSE 0x0000
#define ASC_LUN_NOT_READY_MANUAL 0x0403 /* LU not ready, manual intervention */
#define ASC_SANITIZE_IN_PROGRESS 0x041b
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
#define ASC_RESERVATIONS_PREEMPTED 0x2a03
#define ASC_RESERVATIONS_RELEASED 0x2a04
#define ASC_REGISTRATIONS_PREEMPTED 0x2a05
#define ASC_SAVING_PARAMS_UNSUP 0x3900
#define ASC_SANITIZE_FAILED 0x3103 /* SANITIZE COMMAND FAILED */
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
#define SCSI_TYPE_MMC 0x05 /* CD/DVD drive (MMC-6), read-only */
#define SCSI_TYPE_CONTROLLER 0x0c

/* Longest iSCSI name plus its NUL (RFC 7143 §4.2.7.1: 223 bytes). */
#define SCSI_NAME_MAX 224

struct scsi_pr; /* persistent and SPC-2 reservations, pr.h */
struct sbc_sanitize; /* a running SANITIZE, sanitize.c */

/* The LBA ranges of a LU's writes in flight, so that COMPARE AND WRITE
 * runs alone on its range (range_lock.c). Used by the LU's target loop
 * under the target lock, and reached only through that file's
 * functions. */
struct scsi_range_lock {
	struct list_node active;  /* struct scsi_range of running commands */
	struct list_node waiting; /* struct scsi_range parked, arrival order */
	unsigned exclusive;       /* active ranges that exclude writes */
};

/* The counters of `tgtadm --op stat` (spec §4.9) for one LU as one I_T
 * nexus uses it, counted as tgt 1.0.85 counts them (stats.c). */
struct itl_counters {
	uint64_t rd_subm_bytes, rd_done_bytes, wr_subm_bytes, wr_done_bytes;
	uint32_t rd_subm_cmds, rd_done_cmds, wr_subm_cmds, wr_done_cmds;
	uint32_t errors;
};

/* One LU's counters in one nexus. Owned by the nexus (nexus->itl_stats);
 * counted by the target loop and read by `stat` on the main thread, both
 * under the target lock, so plain fields suffice. Created for every LU
 * when the nexus begins and for every nexus when a LU is added (main
 * thread, target lock held); freed when either ends. */
struct scsi_itl_stats {
	struct list_node node;  /* nexus->itl_stats, newest LU first */
	const struct scsi_lu *lu;
	uint64_t lun;
	struct itl_counters n;
	/* Commands counted here and not ended yet. A nexus (or LU) may go
	 * while its commands are still in a store: the counters are then
	 * unlinked, and the last of those commands frees them. */
	unsigned users;
	bool orphaned;
};

/* A logical unit. Owned by its target (linked in target->lus, ascending
 * LUN); guarded by the target lock. The list and the fields that only
 * management changes are also read by the main thread without that lock
 * (`show`); the flags that commands change on the target thread and
 * `show` prints are atomic for that reason. */
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

	atomic_bool online;    /* START STOP UNIT changes it too */
	bool removable;
	bool readonly;
	atomic_bool swp;       /* software write protect (control mode page) */
	bool thin_provisioning;
	atomic_bool prevent_removal; /* some I_T nexus prevents (removal.c) */
	/* CD/DVD: the media event GET EVENT STATUS NOTIFICATION reports
	 * next (MMC_EVENT_*, mmc.c); set by loads and ejects. */
	uint8_t media_event;
	struct list_node preventers; /* those nexuses; removal.c only */
	bool sense_descriptor; /* D_SENSE: descriptor-format sense */
	/* SANITIZE (sanitize.c): the operation running, if any, and the
	 * failure mode a failed one leaves (exit allowed with AUSE). */
	struct sbc_sanitize *sanitize;
	bool sanitize_failed, sanitize_ause;
	bool write_cache;      /* caching mode page WCE */
	uint16_t rotation_rate; /* Block Device Characteristics; 0 unknown */
	uint16_t lowest_aligned_lba; /* la_lba (READ CAPACITY(16)) */
	uint32_t optimal_xfer_gran; /* blocks; 0: one physical block */
	uint32_t optimal_xfer_len;  /* blocks; 0: not reported */

	char *path;            /* NULL for no backing file */
	struct backing_store bs;

	unsigned inflight;     /* commands submitted and not completed */
	/* Being deleted (docs/design-notes.md, rule 5): the LU takes no
	 * new command, as if it were gone already, and nothing more reaches
	 * its store, not even the next step of a command it had admitted.
	 * Set once, by the main thread under the target lock (fence.c); read
	 * by the target thread, which holds that lock while it runs
	 * commands. The delete is final when inflight is 0. */
	bool fenced;
	unsigned copies;       /* EXTENDED COPY commands it manages now */

	/* LUN-shared state of all I_T nexuses: reservations (pr.c) and the
	 * write ranges COMPARE AND WRITE orders against (range_lock.c).
	 * Reached only through their functions, so that it can get its
	 * own lock if sessions ever spread over several loops. */
	struct scsi_pr *pr;
	struct scsi_range_lock ranges;
};

/* A pending unit attention of one I_T nexus for one LUN. */
struct scsi_ua {
	struct list_node node;
	uint64_t lun;
	uint16_t asc; /* ASC << 8 | ASCQ */
};

/* An I_T nexus: the SCSI view of one iSCSI session. Owned by the target
 * (linked in target->nexuses); guarded by the target lock. The initiator
 * port (name and ISID, its TransportID) is copied in at login so that
 * reservations never look outside the target (DESIGN.md rule 10); the
 * target port is always relative port 1, the target's only one. */
struct it_nexus {
	struct list_node node;
	struct target *target;
	uint64_t id;               /* the session's TSIH */
	struct list_node ua_list;  /* struct scsi_ua, oldest first */
	/* EXTENDED COPY status of this nexus, by LUN and list identifier,
	 * for RECEIVE COPY RESULTS (copy_results.c only). */
	struct list_node copies;
	char initiator[SCSI_NAME_MAX]; /* iSCSI initiator name */
	uint8_t isid[6];
	/* struct scsi_itl_stats, one per LU of the target, newest LU
	 * first: the order of tgt's session stat lines (stats.c). */
	struct list_node itl_stats;
};

struct scsi_cmd;
typedef void (*scsi_done_fn)(struct scsi_cmd *cmd);

/* The LBA range [lba, end) a command writes or compares, while it is in
 * the LU's range lock (range_lock.c); part of the command, so owned as
 * the command is. */
struct scsi_range {
	struct list_node node;
	struct scsi_lu *lu;        /* whose lock: the command's or, for a
				    * copy, its destination's */
	uint64_t lba, end;
	bool exclusive;            /* COMPARE AND WRITE: alone on the range */
	bool held;                 /* in ranges.active */
	/* Called when a parked command may go on. */
	void (*resume)(struct scsi_cmd *cmd);
};

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
	uint8_t *in_buf;           /* data-in, from ev_buf_get(loop); given
				    * back by scsi_cmd_release */
	size_t in_buf_size;        /* what in_buf was asked for */
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
	void (*bs_next)(struct bs_io *io); /* completion of the current step */
	struct scsi_range range;   /* its place in lu->ranges, if any */
	/* The counters it is counted in (NULL: none) and the data-out
	 * bytes its completion counts (stats.c). */
	struct scsi_itl_stats *itl;
	uint32_t itl_wr_len;
	void *priv;                /* state of a long command (EXTENDED
				    * COPY); its handler frees it */
};

/* Runs a command; cmd->done is called exactly once, possibly before this
 * returns, always on cmd->loop. */
void scsi_cmd_execute(struct scsi_cmd *cmd);
/* The transport aborts a command it has handed to scsi_cmd_execute() and
 * that has not ended (ABORT TASK, a cleared task set, a reset, its
 * connection gone), and will send no status for it. A command whose end
 * may be far off (a SANITIZE, whose operation goes on for the LU) ends
 * early: cmd->done then runs soon from cmd->loop, never inside this
 * call. Any other command runs to its end as usual. */
void scsi_cmd_abort(struct scsi_cmd *cmd);
/* Frees what the core allocated for the command (in_buf). */
void scsi_cmd_release(struct scsi_cmd *cmd);

/* Sets CHECK CONDITION with fixed or descriptor sense as the LU (or, with
 * no LU, fixed) wants. */
void scsi_set_sense(struct scsi_cmd *cmd, uint8_t key, uint16_t asc);
/* Same with a sense-key-specific field pointer (INVALID FIELD IN CDB /
 * PARAMETER LIST): byte offset, bit (0-7) or -1 when no bit pointer. */
void scsi_set_sense_field(struct scsi_cmd *cmd, uint16_t asc, bool in_cdb,
			  uint16_t byte, int bit);
/* Same with a sense-key specific field of any kind (progress indication,
 * segment pointer) and a COMMAND-SPECIFIC INFORMATION value (0: none). */
void scsi_set_sense_sks(struct scsi_cmd *cmd, uint8_t key, uint16_t asc,
			const uint8_t sks[3], uint32_t csi);
/* Builds sense bytes into buf; returns its length. Exposed for tests. */
unsigned scsi_build_sense(uint8_t *buf, bool descriptor, uint8_t key,
			  uint16_t asc, const uint8_t *sks /* 3 bytes or NULL */,
			  bool info_valid, uint64_t info);

/* LUN field <-> LUN number (SAM-5 flat and peripheral addressing). A
 * LUN field the core cannot address decodes to SCSI_LUN_NONE, which
 * matches no logical unit. */
#define SCSI_LUN_NONE UINT64_MAX
/* The REPORT LUNS well known logical unit (SPC-4 8.2: W-LUN 01h, LUN
 * field C101 0000 0000 0000h), numbered by its LUN field: above every
 * LUN a target can have. */
#define SCSI_LUN_REPORT_LUNS 0xc101000000000000ull
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
 * removal prevention, no SPC-2 reservation; persistent reservations
 * stay) and every I_T nexus gets BUS DEVICE RESET FUNCTION OCCURRED.
 * Target lock held. */
void scsi_lu_reset(struct scsi_lu *lu);

/* I_T nexus lifetime and unit attentions. it_nexus_init queues POWER ON,
 * RESET OR BUS DEVICE RESET OCCURRED for every LUN of the target and
 * gives the nexus zeroed statistics for each; it also links the nexus
 * into target->nexuses (target may be NULL: no link, no UAs, no
 * statistics) and it_nexus_fini unlinks it and frees its unit attentions
 * and statistics; callers hold the target lock. it_nexus_init returns 0,
 * or -1 (nothing done) when memory runs out. */
int it_nexus_init(struct it_nexus *nexus, struct target *target,
		  uint64_t id);
void it_nexus_fini(struct it_nexus *nexus);
/* Records the initiator port of the nexus (login, before any command). */
void it_nexus_set_port(struct it_nexus *nexus, const char *initiator,
		       const uint8_t isid[6]);
void scsi_ua_queue(struct it_nexus *nexus, uint64_t lun, uint16_t asc);
/* Queue asc for lun on every nexus of the target except `except`. */
void scsi_ua_queue_all(struct target *target, struct it_nexus *except,
		       uint64_t lun, uint16_t asc);
/* The LUN has left the target: every nexus forgets what it kept for it
 * (unit attentions, copy results, statistics). Target lock held. */
void scsi_ua_drop_lun(struct target *target, uint64_t lun);

/* Statistics (stats.c). A LU joins the target: every nexus gets zeroed
 * counters for it, listed first. Main thread, target lock held, before
 * the LU is linked; returns 0, or -1 (nothing done) without memory. */
int scsi_stats_lu_added(struct target *target, const struct scsi_lu *lu);
/* The counters of lu in nexus, or NULL. */
struct scsi_itl_stats *scsi_stats_find(const struct it_nexus *nexus,
				       const struct scsi_lu *lu);
/* The counting rules alone (tgt's, spec §4.9), for stats.c and tests: a
 * command moves data in the direction of its R or W flag only with a
 * non-zero expected length, and counts that length when it starts and
 * when it ends (wr_done: wr_len, see scsi_stats_write_clamp); any status
 * but GOOD is an error. */
void itl_count_start(struct itl_counters *c, enum scsi_data_dir dir,
		     uint32_t expected_len);
void itl_count_end(struct itl_counters *c, enum scsi_data_dir dir,
		   uint32_t expected_len, uint32_t wr_len, uint8_t status);

/* Persist Through Power Loss (APTPL) for a LU: its reservation state
 * lives in dir as a file named after the target and the LUN, and is
 * loaded from there now. Called by the main thread before the LU is
 * linked into its target. Returns 0, or -errno if the directory name is
 * unusable (persistence then stays off; the LU still works). */
int scsi_pr_set_store(struct scsi_lu *lu, const char *dir,
		      const char *target_name);

#endif
