/* Private interface between the files of the SCSI command core: the opcode
 * table, the handlers it points at, and small helpers every handler uses.
 * Nothing outside src/scsi/ includes this file.
 *
 * Threading: everything here runs on the loop of the target that owns the
 * command (see scsi.h); no function takes a lock. */
#ifndef MTGT_SCSI_CORE_H
#define MTGT_SCSI_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scsi/scsi.h"

/* Additional sense codes only the core produces. */
#define ASC_SW_WRITE_PROTECT 0x2702
#define ASC_SPACE_ALLOC_FAILED 0x2707 /* ... WRITE PROTECT (SBC-3) */
#define ASC_MISCOMPARE_VERIFY 0x1d00
#define ASC_INVALID_RELEASE_OF_PR 0x2604
#define ASC_INSUFFICIENT_REG_RESOURCES 0x5504
/* CANNOT WRITE MEDIUM - INCOMPATIBLE FORMAT (MMC-6) */
#define ASC_CANNOT_WRITE_FORMAT 0x3005

/* Operation codes the core knows by name. */
#define OP_TEST_UNIT_READY 0x00
#define OP_REQUEST_SENSE 0x03
#define OP_READ_6 0x08
#define OP_WRITE_6 0x0a
#define OP_INQUIRY 0x12
#define OP_MODE_SELECT_6 0x15
#define OP_MODE_SENSE_6 0x1a
#define OP_RESERVE_6 0x16
#define OP_RELEASE_6 0x17
#define OP_START_STOP_UNIT 0x1b
#define OP_PREVENT_ALLOW 0x1e
#define OP_READ_CAPACITY_10 0x25
#define OP_READ_10 0x28
#define OP_WRITE_10 0x2a
#define OP_WRITE_VERIFY_10 0x2e
#define OP_VERIFY_10 0x2f
#define OP_SYNC_CACHE_10 0x35
#define OP_MODE_SELECT_10 0x55
#define OP_RESERVE_10 0x56
#define OP_RELEASE_10 0x57
#define OP_MODE_SENSE_10 0x5a
#define OP_PR_IN 0x5e
#define OP_PR_OUT 0x5f
#define OP_READ_16 0x88
#define OP_COMPARE_AND_WRITE 0x89
#define OP_WRITE_16 0x8a
#define OP_WRITE_VERIFY_16 0x8e
#define OP_VERIFY_16 0x8f
#define OP_SYNC_CACHE_16 0x91
#define OP_SERVICE_ACTION_IN_16 0x9e
#define OP_REPORT_LUNS 0xa0
#define OP_MAINTENANCE_IN 0xa3
#define OP_READ_12 0xa8
#define OP_WRITE_12 0xaa
#define OP_WRITE_VERIFY_12 0xae
#define OP_VERIFY_12 0xaf
#define OP_PRE_FETCH_10 0x34
#define OP_READ_DEFECT_DATA_10 0x37
#define OP_WRITE_SAME_10 0x41
#define OP_UNMAP 0x42
#define OP_SANITIZE 0x48
#define OP_EXTENDED_COPY 0x83
#define OP_RECEIVE_COPY_RESULTS 0x84
#define OP_ORWRITE_16 0x8b
#define OP_PRE_FETCH_16 0x90
#define OP_WRITE_SAME_16 0x93
#define OP_READ_DEFECT_DATA_12 0xb7
/* MMC-6 */
#define OP_READ_TOC 0x43
#define OP_GET_CONFIGURATION 0x46
#define OP_GET_EVENT_STATUS 0x4a
#define OP_READ_DISC_INFO 0x51
#define OP_READ_TRACK_INFO 0x52
#define OP_GET_PERFORMANCE 0xac
#define OP_SET_CD_SPEED 0xbb
#define OP_MECHANISM_STATUS 0xbd

#define SAI_READ_CAPACITY_16 0x10
#define SAI_GET_LBA_STATUS 0x12
#define MI_REPORT_SUPPORTED_OPCODES 0x0c

/* What a handler did with the command: finished it (the dispatcher calls
 * done) or handed it to the backing store (the completion calls done). */
enum scsi_result {
	SCSI_DONE,
	SCSI_ASYNC,
};

typedef enum scsi_result (*scsi_handler)(struct scsi_cmd *cmd);

/* Flags of an opcode table entry. */
#define OPF_NO_LU 0x01  /* answered also for a LUN that does not exist */
#define OPF_MEDIUM 0x02 /* needs the medium: NOT READY while offline */
#define OPF_SA 0x04     /* service action in CDB byte 1, bits 4-0 */
/* Only on a thin provisioned LU (sbc_thin()), or only on one whose
 * deallocated blocks read as zeros (sbc_lbprz()); elsewhere the command
 * is unknown and absent from REPORT SUPPORTED OPERATION CODES. */
#define OPF_THIN 0x08
#define OPF_LBPRZ 0x10
#define OPF_WLUN 0x20  /* answered by the REPORT LUNS well known LU */

/* One supported command. usage[] is the CDB usage data of REPORT
 * SUPPORTED OPERATION CODES and, at the same time, the set of CDB bits the
 * dispatcher lets through: any other bit set is INVALID FIELD IN CDB. For
 * a service-action command usage[1] covers the service action field. */
struct scsi_op {
	uint8_t opcode;
	uint8_t sa;
	uint8_t cdb_len;
	uint8_t flags;
	scsi_handler fn;
	uint8_t usage[16];
};

/* opcodes.c */
/* The entry for a CDB on a logical unit, or NULL. *known tells whether
 * the opcode exists at all (so an unknown service action is INVALID
 * FIELD IN CDB, not INVALID COMMAND OPERATION CODE). */
const struct scsi_op *scsi_op_find(const struct scsi_lu *lu,
				   const uint8_t *cdb, bool *known);
/* The opcode table entry that is valid without a logical unit, or for
 * the REPORT LUNS well known LU (wlun). */
const struct scsi_op *scsi_op_find_no_lu(const uint8_t *cdb, bool wlun);
/* CDB length implied by the opcode's group code; 0 for unsupported
 * groups (variable length, vendor specific). */
unsigned scsi_cdb_group_len(uint8_t opcode);
enum scsi_result spc_report_opcodes(struct scsi_cmd *cmd);

/* spc.c */
enum scsi_result spc_test_unit_ready(struct scsi_cmd *cmd);
enum scsi_result spc_inquiry(struct scsi_cmd *cmd);
enum scsi_result spc_request_sense(struct scsi_cmd *cmd);
enum scsi_result spc_report_luns(struct scsi_cmd *cmd);

/* vpd.c */
/* Builds VPD page `page` into buf (at least SCSI_VPD_MAX bytes); returns
 * its length, or 0 if the page is not supported. lu may be NULL (no such
 * LUN: peripheral qualifier 3). */
#define SCSI_VPD_MAX 512
size_t scsi_vpd_page(const struct scsi_cmd *cmd, const struct scsi_lu *lu,
		     uint8_t page, uint8_t *buf);

/* mode.c */
enum scsi_result spc_mode_sense(struct scsi_cmd *cmd);
enum scsi_result spc_mode_select(struct scsi_cmd *cmd);

/* pr_in.c, pr_out.c: PERSISTENT RESERVE IN/OUT; reserve.c: SPC-2
 * RESERVE and RELEASE (6/10) */
enum scsi_result spc_pr_in(struct scsi_cmd *cmd);
enum scsi_result spc_pr_out(struct scsi_cmd *cmd);
enum scsi_result spc_reserve(struct scsi_cmd *cmd);
enum scsi_result spc_release(struct scsi_cmd *cmd);

/* pr.c: reservation state of a LU */
struct scsi_pr *scsi_pr_new(void);
void scsi_pr_free(struct scsi_pr *pr);
/* The I_T nexus ends: its SPC-2 reservations end with it. */
void scsi_pr_nexus_gone(struct scsi_lu *lu, const struct it_nexus *nexus);
/* A LU reset ends the SPC-2 reservation. */
void scsi_pr_lu_reset(struct scsi_lu *lu);

/* xcopy.c, copy_results.c: EXTENDED COPY(LID1) and RECEIVE COPY
 * RESULTS, the copy manager being the LU the command is sent to. */
enum scsi_result spc_extended_copy(struct scsi_cmd *cmd);
enum scsi_result spc_receive_copy_results(struct scsi_cmd *cmd);
/* Forgets the copy status records of the nexus for lun (SCSI_LUN_NONE:
 * all of them); those of copies still running go with their copy. */
void spc_copy_forget(struct it_nexus *nexus, uint64_t lun);
/* The Third-party Copy VPD page (8Fh) body into buf; returns its length. */
size_t spc_copy_vpd(const struct scsi_lu *lu, uint8_t *buf);

/* vpd.c: whether the LU has the designator d (a VPD 83h designation
 * descriptor: code set, association and type, length, designator) as
 * one of its LU designators. */
bool scsi_lu_designated(const struct scsi_lu *lu, const uint8_t *d);

/* pr_access.c: whether the command may run under the LU's reservations
 * (SPC-4 5.13.1 and SBC-3 4.17 tables; SPC-2 7.21); if not, sets
 * RESERVATION CONFLICT and returns true. */
bool scsi_pr_conflict(struct scsi_cmd *cmd);
/* Whether the reservations of lu let nexus read (write = false) or
 * write its medium, for a command that reaches lu indirectly (EXTENDED
 * COPY's source and destination LUs). */
bool scsi_pr_permits(const struct scsi_lu *lu, const struct it_nexus *nexus,
		     bool write);

/* rmw.c: COMPARE AND WRITE and ORWRITE */
enum scsi_result sbc_compare_and_write(struct scsi_cmd *cmd);
enum scsi_result sbc_orwrite(struct scsi_cmd *cmd);
/* MAXIMUM COMPARE AND WRITE LENGTH of the Block Limits page, blocks. */
uint8_t sbc_caw_max_blocks(const struct scsi_lu *lu);

/* range_lock.c: COMPARE AND WRITE runs alone on its LBA range. Writes
 * take a shared range, COMPARE AND WRITE an exclusive one; a command
 * that cannot have its range now is parked and cmd->range.resume is
 * called when it can. Returns true if the range is held now. The range
 * is released when the command finishes (scsi_cmd_finish), or earlier
 * by scsi_range_release(). */
void scsi_range_lock_init(struct scsi_range_lock *lock);
bool scsi_range_acquire(struct scsi_cmd *cmd, uint64_t lba, uint64_t blocks,
			bool exclusive, void (*resume)(struct scsi_cmd *));
/* The same on the range lock of another LU of the target (EXTENDED COPY
 * writes to a LU other than the one it was sent to). */
bool scsi_range_acquire_on(struct scsi_cmd *cmd, struct scsi_lu *lu,
			   uint64_t lba, uint64_t blocks, bool exclusive,
			   void (*resume)(struct scsi_cmd *));
void scsi_range_release(struct scsi_cmd *cmd);
/* Takes a command still parked (acquire returned false, resume not yet
 * called) out of the lock; its resume is never called. */
void scsi_range_cancel(struct scsi_cmd *cmd);

/* provisioning.c: logical block provisioning (SBC-3 4.7) and the limits
 * of the deallocating commands, as the Block Limits page states them. */
#define SBC_MAX_UNMAP_LBAS (1u << 20)      /* per UNMAP command */
#define SBC_MAX_UNMAP_DESCRIPTORS 256u     /* per UNMAP command */
#define SBC_MAX_WRITE_SAME_BLOCKS 0xffffu  /* per WRITE SAME command */
/* Whether the LU is thin provisioned (LBPME): configured so, and its
 * store can deallocate. Also the availability of UNMAP. */
bool sbc_thin(const struct scsi_lu *lu);
/* Whether deallocated blocks read as zeros (LBPRZ). */
bool sbc_lbprz(const struct scsi_lu *lu);
/* OPTIMAL UNMAP GRANULARITY, blocks: a physical block, at least what a
 * filesystem allocates at once. */
uint32_t sbc_unmap_granularity(const struct scsi_lu *lu);

/* unmap.c, write_same.c, lba_status.c */
enum scsi_result sbc_unmap(struct scsi_cmd *cmd);
enum scsi_result sbc_write_same(struct scsi_cmd *cmd);
enum scsi_result sbc_get_lba_status(struct scsi_cmd *cmd);

/* fill.c: one pattern written over a byte range of a LU in bounded
 * requests. Owned by its starter; runs on the loop given to start. */
struct sbc_fill {
	struct bs_io io;        /* the request at the store; io.result is
				 * the outcome when done() runs */
	struct scsi_lu *lu;
	uint8_t *chunk;         /* the pattern repeated; NULL for zeros */
	uint32_t chunk_len;
	bool zeroes;            /* the pattern is zeros: BS_WRITE_ZEROES */
	bool fua;
	bool stepping, again;   /* fill_step() running / asked again */
	uint64_t start, next, end; /* byte range; next: first not written */
	void (*done)(struct sbc_fill *fill);
	void *arg;              /* for the starter */
};
/* A fill of [offset, offset + len) with pattern (at most a block,
 * repeated within each block); NULL without memory. */
struct sbc_fill *sbc_fill_new(struct scsi_lu *lu, const uint8_t *pattern,
			      size_t pattern_len, uint64_t offset,
			      uint64_t len, bool fua);
/* Writes the range from its start; done runs once, when it is written
 * or a request failed. done may free the fill or start it again. */
void sbc_fill_start(struct sbc_fill *fill, struct ev_loop *loop,
		    void (*done)(struct sbc_fill *fill), void *arg);
/* Inverts the pattern (SANITIZE OVERWRITE with INVERT, between passes). */
void sbc_fill_invert(struct sbc_fill *fill);
/* How far the fill is, in 65536ths (sense PROGRESS INDICATION). */
uint16_t sbc_fill_progress(const struct sbc_fill *fill);
void sbc_fill_free(struct sbc_fill *fill);

/* sanitize.c */
enum scsi_result sbc_sanitize(struct scsi_cmd *cmd);
/* How far the LU's running sanitize is, in 65536ths. */
uint16_t sbc_sanitize_progress(const struct scsi_lu *lu);
/* The SANITIZE cmd (cmd->priv its operation) is aborted: the operation
 * goes on without it, or never starts if it still waits for the range
 * lock. cmd is left for the caller to finish (scsi_cmd_abort). */
void sbc_sanitize_abort(struct scsi_cmd *cmd);

/* sbc.c */
enum scsi_result sbc_read_capacity10(struct scsi_cmd *cmd);
enum scsi_result sbc_read_capacity16(struct scsi_cmd *cmd);
enum scsi_result sbc_prefetch(struct scsi_cmd *cmd);
enum scsi_result sbc_read_defect_data(struct scsi_cmd *cmd);

/* removal.c: START STOP UNIT and PREVENT ALLOW MEDIUM REMOVAL */
enum scsi_result sbc_start_stop(struct scsi_cmd *cmd);
enum scsi_result sbc_prevent_allow(struct scsi_cmd *cmd);
/* The nexus's prevention of medium removal ends (nexus loss). */
void sbc_prevent_nexus_gone(struct scsi_lu *lu, const struct it_nexus *nexus);
/* Every prevention ends (LU reset, target reset). */
void sbc_prevent_clear(struct scsi_lu *lu);

/* mmc.c: a read-only CD/DVD drive (MMC-6) */
enum scsi_result mmc_read_toc(struct scsi_cmd *cmd);
enum scsi_result mmc_get_configuration(struct scsi_cmd *cmd);
enum scsi_result mmc_get_event_status(struct scsi_cmd *cmd);
enum scsi_result mmc_read_disc_info(struct scsi_cmd *cmd);
enum scsi_result mmc_read_track_info(struct scsi_cmd *cmd);
enum scsi_result mmc_mechanism_status(struct scsi_cmd *cmd);
enum scsi_result mmc_set_cd_speed(struct scsi_cmd *cmd);
enum scsi_result mmc_get_performance(struct scsi_cmd *cmd);
enum scsi_result mmc_write(struct scsi_cmd *cmd);
/* Media event codes of GET EVENT STATUS NOTIFICATION (media class). */
#define MMC_EVENT_NONE 0
#define MMC_EVENT_NEW_MEDIA 2
#define MMC_EVENT_MEDIA_REMOVAL 3
/* A load or an eject happened: GET EVENT STATUS NOTIFICATION reports
 * it once. */
void mmc_media_event(struct scsi_lu *lu, uint8_t event);
/* The body of mode page 2Ah (32 bytes, header included, zeroed). */
#define MMC_CAPABILITIES_PAGE_LEN 32
void mmc_capabilities_page(const struct scsi_lu *lu, bool changeable,
			   uint8_t *p);

/* rw.c */
enum scsi_result sbc_read(struct scsi_cmd *cmd);
enum scsi_result sbc_write(struct scsi_cmd *cmd);
enum scsi_result sbc_verify(struct scsi_cmd *cmd);
enum scsi_result sbc_sync_cache(struct scsi_cmd *cmd);
/* Submits BS_FLUSH for the command (SYNCHRONIZE CACHE, STOP). */
enum scsi_result sbc_submit_flush(struct scsi_cmd *cmd);
/* Hands one read or write to the LU's store with the statistics the
 * data path keeps; done runs on the command's loop when it completes. */
enum scsi_result sbc_submit(struct scsi_cmd *cmd, enum bs_op op,
			    uint64_t offset, uint64_t len, void *buf, bool fua,
			    void (*done)(struct bs_io *io));
/* The same on the store of another LU of the command's target. */
enum scsi_result sbc_submit_to(struct scsi_cmd *cmd, struct scsi_lu *lu,
			       enum bs_op op, uint64_t offset, uint64_t len,
			       void *buf, bool fua,
			       void (*done)(struct bs_io *io));
/* For requests that are not a command's (io->done, arg and loop set by
 * the caller): fills in the request, counts it and submits it. Its done
 * must call sbc_account_done() first. */
void sbc_submit_io(struct scsi_lu *lu, struct bs_io *io, enum bs_op op,
		   uint64_t offset, uint64_t len, void *buf, bool fua);
void sbc_account_done(const struct bs_io *io);
/* The LU whose store a submitted request went to. */
struct scsi_lu *sbc_io_lu(const struct bs_io *io);
/* Medium error sense for a failed store request. */
void sbc_io_failed(struct scsi_cmd *cmd, const struct bs_io *io);
/* Compares len bytes of in_buf (read from the medium) with the data-out;
 * on a difference sets MISCOMPARE with its offset and returns true. */
bool sbc_miscompare(struct scsi_cmd *cmd, uint64_t len);
/* Checks a WRITE-like CDB (READ/WRITE group layout) and its data-out:
 * returns the bytes to write at *lba, or 0 with nothing to do (status
 * set if an error). */
uint64_t sbc_checked_write(struct scsi_cmd *cmd, uint64_t *lba);
/* Refuses a write to a write-protected LU with DATA PROTECT. */
bool sbc_write_allowed(struct scsi_cmd *cmd);
/* Whether the LU has a store; NOT READY / MEDIUM NOT PRESENT if not. */
bool sbc_store_ready(struct scsi_cmd *cmd);

/* nexus.c: unit attention queue internals */
/* Removes and returns the oldest pending UA of nexus for lun. */
bool scsi_ua_take(struct it_nexus *nexus, uint64_t lun, uint16_t *asc);
bool scsi_ua_pending(const struct it_nexus *nexus, uint64_t lun);
/* Drops every pending UA with this asc, whatever its LUN. */
void scsi_ua_clear_asc(struct it_nexus *nexus, uint16_t asc);

/* dispatch.c helpers */
/* The logical unit `lun` of the target, or NULL. Walks target->lus
 * itself so the core does not link against target/. */
struct scsi_lu *scsi_find_lu(struct target *target, uint64_t lun);
/* Allocates cmd->in_buf of len (> 0) bytes, page aligned so O_DIRECT
 * stores can read into it, zeroed if asked. On failure sets BUSY and
 * returns NULL. Does not set in_len. */
uint8_t *scsi_alloc_in(struct scsi_cmd *cmd, size_t len, bool zero);
/* Returns min(len, alloc) bytes of data as the command's data-in: the
 * allocation length truncates without error (SPC-4 4.2.5.6). */
enum scsi_result scsi_reply(struct scsi_cmd *cmd, const void *data,
			    size_t len, size_t alloc);
/* ILLEGAL REQUEST, INVALID FIELD IN CDB pointing at byte/bit. */
enum scsi_result scsi_bad_cdb(struct scsi_cmd *cmd, unsigned byte, int bit);
/* ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST at byte/bit. */
enum scsi_result scsi_bad_param(struct scsi_cmd *cmd, unsigned byte, int bit);
/* scsi_set_sense() with the INFORMATION field set. */
void scsi_set_sense_info(struct scsi_cmd *cmd, uint8_t key, uint16_t asc,
			 uint64_t info);
/* scsi_set_sense() returning SCSI_DONE, for one-line error exits. */
enum scsi_result scsi_fail(struct scsi_cmd *cmd, uint8_t key, uint16_t asc);
/* Releases the command's LBA range, if it holds one, and calls
 * cmd->done; the command must not be touched afterwards. */
void scsi_cmd_finish(struct scsi_cmd *cmd);

/* Statistics of the command's LU and nexus (stats.c, spec §4.9): counted
 * when the core starts it and when it finishes. A command for a LUN with
 * no LU counts in LUN 0's counters, as in tgt. */
void scsi_stats_start(struct scsi_cmd *cmd);
void scsi_stats_end(struct scsi_cmd *cmd);
/* A block write (WRITE, WRITE AND VERIFY) that reaches the store counts
 * at most the bytes its CDB describes when it ends, as tgt does. */
void scsi_stats_write_clamp(struct scsi_cmd *cmd, uint32_t cdb_bytes);
/* Nexus lifetime (nexus.c): counters for every LU of the target, freed
 * again by scsi_stats_nexus_fini; 0, or -1 without memory. */
int scsi_stats_nexus_init(struct it_nexus *nexus);
void scsi_stats_nexus_fini(struct it_nexus *nexus);
void scsi_stats_forget_lun(struct it_nexus *nexus, uint64_t lun);

static inline uint32_t scsi_block_size(const struct scsi_lu *lu)
{
	return 1u << lu->blk_shift;
}

static inline uint64_t scsi_nr_blocks(const struct scsi_lu *lu)
{
	return lu->size >> lu->blk_shift;
}

/* Whether writes are refused (tgt's readonly, or the control page SWP). */
static inline bool scsi_write_protected(const struct scsi_lu *lu)
{
	return lu->readonly || lu->swp;
}

/* Pads an ASCII field with spaces (SPC-4 4.4.1: left-aligned). */
void scsi_pad_ascii(uint8_t *dst, const char *src, size_t width);

#endif
