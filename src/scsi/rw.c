/* The block data path (SBC-3): READ, WRITE and WRITE AND VERIFY in their
 * 6/10/12/16-byte forms, VERIFY and SYNCHRONIZE CACHE. Reads go straight
 * into cmd->in_buf and writes straight from cmd->out_buf: the store sees
 * the transport's buffers, no copy in between.
 *
 * Residuals (what libiscsi's iSCSIResiduals tests check): a READ always
 * produces the CDB's full transfer length in in_len and lets the
 * transport cut it to the expected length; a WRITE writes the whole
 * blocks the initiator actually sent, at most the CDB's length, and
 * reports the CDB's length in out_cdb_len for the residual.
 *
 * BYTCHK = 01b (WRITE AND VERIFY, VERIFY) compares the data-out with the
 * medium: a second store request reads the range back into in_buf, used
 * as scratch (in_len stays 0, so nothing of it goes to the initiator). */
#include <errno.h>
#include <stdint.h>

#include "common/byteorder.h"
#include "common/log.h"
#include "scsi/core.h"
#include "scsi/scsi.h"

#define RW_FUA 0x08
/* The result of a request that a fenced LU kept from its store. */
#define IO_FENCED (-ESHUTDOWN)
#define BYTCHK(cdb) (((cdb)[1] >> 1) & 0x03)

/* cmd->bs_stage: what the completion of the current request leads to. */
enum rw_stage {
	STAGE_LAST = 0,        /* the only or last request: finish */
	STAGE_THEN_COMPARE,    /* a write to read back and compare */
	STAGE_COMPARE,         /* a read to compare with the data-out */
	STAGE_COMPARE_BLOCK,   /* a read to compare, block by block, with
				* the data-out's one block (BYTCHK 11b) */
};

/* The fields common to the READ/WRITE/VERIFY/SYNCHRONIZE CACHE CDBs. */
struct rw_args {
	uint64_t lba;
	uint64_t blocks;
	unsigned len_byte; /* CDB byte of the transfer length, for sense */
	bool fua;
};

static void decode(const uint8_t *cdb, struct rw_args *a)
{
	switch (scsi_cdb_group_len(cdb[0])) {
	case 6:
		/* READ(6)/WRITE(6): 21-bit LBA, and 0 blocks means 256. */
		a->lba = get_be24(cdb + 1) & 0x1fffff;
		a->blocks = cdb[4] ? cdb[4] : 256;
		a->len_byte = 4;
		a->fua = false;
		return;
	case 10:
		a->lba = get_be32(cdb + 2);
		a->blocks = get_be16(cdb + 7);
		a->len_byte = 7;
		break;
	case 12:
		a->lba = get_be32(cdb + 2);
		a->blocks = get_be32(cdb + 6);
		a->len_byte = 6;
		break;
	default:
		a->lba = get_be64(cdb + 2);
		a->blocks = get_be32(cdb + 10);
		a->len_byte = 10;
		break;
	}
	a->fua = cdb[1] & RW_FUA;
}

static bool is_write_verify(uint8_t opcode)
{
	return opcode == OP_WRITE_VERIFY_10 || opcode == OP_WRITE_VERIFY_12 ||
	       opcode == OP_WRITE_VERIFY_16;
}

/* SBC-3 4.5: the range [lba, lba + blocks) must lie on the medium; a
 * zero-length range is still checked at its LBA. Written so that no sum
 * can overflow (libiscsi probes LBA 2^63 and -1). */
static bool in_range(const struct scsi_lu *lu, const struct rw_args *a)
{
	uint64_t n = scsi_nr_blocks(lu);

	return a->lba <= n && a->blocks <= n - a->lba;
}

/* The Block Limits page promises at most SCSI_MAX_XFER_BYTES per
 * command; a larger transfer length is an invalid CDB field (SBC-3
 * 6.5.3). */
static bool xfer_ok(struct scsi_cmd *cmd, const struct rw_args *a)
{
	if (a->blocks <= (SCSI_MAX_XFER_BYTES >> cmd->lu->blk_shift))
		return true;
	scsi_bad_cdb(cmd, a->len_byte, 7);
	return false;
}

bool sbc_store_ready(struct scsi_cmd *cmd)
{
	if (cmd->lu->bs.ops)
		return true;
	scsi_set_sense(cmd, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	return false;
}

/* Requests in the store, which a LU delete waits for. (The `stat`
 * counters are the command's, stats.c.) */
static void account_submit(struct scsi_lu *lu)
{
	lu->inflight++;
}

static void account_done(struct scsi_lu *lu)
{
	lu->inflight--;
}

/* SBC-3 4.7.3.6: a thin-provisioned write that finds no space left
 * is DATA PROTECT, SPACE ALLOCATION FAILED WRITE PROTECT; any other
 * failure is a MEDIUM ERROR of the read or the write (SPC-4 annex D). */
static bool out_of_space(const struct bs_io *io)
{
	return io->op != BS_READ &&
	       (io->result == -ENOSPC || io->result == -EDQUOT);
}

static uint8_t io_error_key(const struct bs_io *io)
{
	return out_of_space(io) ? SK_DATA_PROTECT : SK_MEDIUM_ERROR;
}

static uint16_t io_error_asc(const struct bs_io *io)
{
	if (out_of_space(io))
		return ASC_SPACE_ALLOC_FAILED;
	return io->op == BS_READ ? ASC_READ_ERROR : ASC_WRITE_ERROR;
}

void sbc_io_failed(struct scsi_cmd *cmd, const struct bs_io *io)
{
	/* The LU was deleted under the command: it is gone, as any later
	 * command will be told. */
	if (io->result == IO_FENCED) {
		cmd->in_len = 0;
		scsi_set_sense(cmd, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
		return;
	}
	log_error("LUN %llu: %s of %llu bytes at %llu failed: %d",
		  (unsigned long long)cmd->lu->lun,
		  io->op == BS_READ ? "read" : "write/flush",
		  (unsigned long long)io->length,
		  (unsigned long long)io->offset, io->result);
	/* No data goes out with an error status. */
	cmd->in_len = 0;
	scsi_set_sense(cmd, io_error_key(io), io_error_asc(io));
}

/* SBC-3 5.34 and 5.2: the INFORMATION field holds the offset of the
 * first byte that differs. in_buf is compared with the first `period`
 * bytes of the data-out repeated. */
static bool miscompare_repeated(struct scsi_cmd *cmd, uint64_t len,
				uint64_t period)
{
	for (uint64_t i = 0; i < len; i++) {
		if (cmd->in_buf[i] != cmd->out_buf[i % period]) {
			scsi_set_sense_info(cmd, SK_MISCOMPARE,
					    ASC_MISCOMPARE_VERIFY, i);
			return true;
		}
	}
	return false;
}

bool sbc_miscompare(struct scsi_cmd *cmd, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++) {
		if (cmd->in_buf[i] != cmd->out_buf[i]) {
			scsi_set_sense_info(cmd, SK_MISCOMPARE,
					    ASC_MISCOMPARE_VERIFY, i);
			return true;
		}
	}
	return false;
}

static enum scsi_result start_compare(struct scsi_cmd *cmd, uint64_t offset,
				      uint64_t len);

static void io_done(struct bs_io *io)
{
	struct scsi_cmd *cmd = io->arg;

	if (io->result < 0)
		sbc_io_failed(cmd, io);
	else if (cmd->bs_stage == STAGE_THEN_COMPARE &&
		 start_compare(cmd, io->offset, io->length) == SCSI_ASYNC)
		return;
	else if (cmd->bs_stage == STAGE_COMPARE)
		sbc_miscompare(cmd, io->length);
	else if (cmd->bs_stage == STAGE_COMPARE_BLOCK)
		miscompare_repeated(cmd, io->length,
				    scsi_block_size(cmd->lu));
	scsi_cmd_finish(cmd);
}

/* The store's completion: the LU's count of requests first, then what
 * the submitter wants done (cmd->bs_next). */
static void io_complete(struct bs_io *io)
{
	struct scsi_cmd *cmd = io->arg;

	account_done(sbc_io_lu(io));
	cmd->bs_next(io);
}

/* Hands the command to the store. The store may complete before
 * bs_submit returns (the null store does), and completion may free the
 * command: nothing touches cmd after the call. */
struct scsi_lu *sbc_io_lu(const struct bs_io *io)
{
	return container_of(io->bs, struct scsi_lu, bs);
}

void sbc_submit_io(struct scsi_lu *lu, struct bs_io *io, enum bs_op op,
		   uint64_t offset, uint64_t len, void *buf, bool fua)
{
	io->op = op;
	io->offset = offset;
	io->length = len;
	io->buf = buf;
	io->fua = fua;
	io->result = 0;
	account_submit(lu);
	/* Nothing reaches the store of a LU being deleted once it is
	 * fenced; the request completes at once, as stores may. */
	if (lu->fenced) {
		io->bs = &lu->bs;
		io->result = IO_FENCED;
		io->done(io);
		return;
	}
	bs_submit(&lu->bs, io);
}

void sbc_account_done(const struct bs_io *io)
{
	account_done(sbc_io_lu(io));
}

enum scsi_result sbc_submit_to(struct scsi_cmd *cmd, struct scsi_lu *lu,
			       enum bs_op op, uint64_t offset, uint64_t len,
			       void *buf, bool fua,
			       void (*done)(struct bs_io *io))
{
	struct bs_io *io = &cmd->io;

	io->done = io_complete;
	io->arg = cmd;
	io->loop = cmd->loop;
	cmd->bs_next = done;
	sbc_submit_io(lu, io, op, offset, len, buf, fua);
	return SCSI_ASYNC;
}

enum scsi_result sbc_submit(struct scsi_cmd *cmd, enum bs_op op,
			    uint64_t offset, uint64_t len, void *buf, bool fua,
			    void (*done)(struct bs_io *io))
{
	return sbc_submit_to(cmd, cmd->lu, op, offset, len, buf, fua, done);
}

static enum scsi_result submit(struct scsi_cmd *cmd, enum bs_op op,
			       uint64_t offset, uint64_t len, void *buf,
			       bool fua)
{
	return sbc_submit(cmd, op, offset, len, buf, fua, io_done);
}

/* Reads [offset, offset + len) back into in_buf to compare it with the
 * data-out when it completes. */
static enum scsi_result start_compare(struct scsi_cmd *cmd, uint64_t offset,
				      uint64_t len)
{
	if (!cmd->in_buf && !scsi_alloc_in(cmd, len, false))
		return SCSI_DONE;
	cmd->in_len = 0;
	cmd->bs_stage = STAGE_COMPARE;
	return submit(cmd, BS_READ, offset, len, cmd->in_buf, false);
}

enum scsi_result sbc_read(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;
	struct rw_args a;
	uint64_t len;

	decode(cmd->cdb, &a);
	if (!xfer_ok(cmd, &a))
		return SCSI_DONE;
	if (!in_range(lu, &a))
		return scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	if (a.blocks == 0)
		return SCSI_DONE;
	if (!sbc_store_ready(cmd))
		return SCSI_DONE;
	len = a.blocks << lu->blk_shift;
	if (!scsi_alloc_in(cmd, len, false))
		return SCSI_DONE;
	/* The full length even if the initiator expects less: the
	 * transport sends what fits and reports the overflow. */
	cmd->in_len = (uint32_t)len;
	return submit(cmd, BS_READ, a.lba << lu->blk_shift, len, cmd->in_buf,
		      false);
}

bool sbc_write_allowed(struct scsi_cmd *cmd)
{
	const struct scsi_lu *lu = cmd->lu;

	if (!scsi_write_protected(lu))
		return true;
	scsi_set_sense(cmd, SK_DATA_PROTECT,
		       lu->readonly ? ASC_WRITE_PROTECT : ASC_SW_WRITE_PROTECT);
	return false;
}

/* The data-out to use for a CDB that describes `want` bytes: the whole
 * blocks that arrived, at most `want`. With an expected length below the
 * CDB's, the rest of the range keeps its data (libiscsi Write10Residuals
 * reads it back). */
static uint64_t data_out_len(const struct scsi_cmd *cmd, uint64_t want)
{
	uint64_t have = cmd->out_buf ? cmd->out_len : 0;

	if (have > want)
		have = want;
	return have & ~(uint64_t)(scsi_block_size(cmd->lu) - 1);
}

/* Decodes a data-out command and runs its common checks; returns the
 * bytes to use, or 0 with nothing left to do (status set if an error). */
static uint64_t prepare_data_out(struct scsi_cmd *cmd, struct rw_args *a,
				 bool writes)
{
	uint64_t want;

	decode(cmd->cdb, a);
	want = a->blocks << cmd->lu->blk_shift;
	cmd->out_cdb_len = want > UINT32_MAX ? UINT32_MAX : (uint32_t)want;
	if (!xfer_ok(cmd, a) || (writes && !sbc_write_allowed(cmd)))
		return 0;
	if (!in_range(cmd->lu, a)) {
		scsi_set_sense(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		return 0;
	}
	if (!data_out_len(cmd, want) || !sbc_store_ready(cmd))
		return 0;
	return data_out_len(cmd, want);
}

uint64_t sbc_checked_write(struct scsi_cmd *cmd, uint64_t *lba)
{
	struct rw_args a;
	uint64_t len = prepare_data_out(cmd, &a, true);

	*lba = a.lba;
	return len;
}

/* Submits a checked write (prepare_data_out() returned len). */
static enum scsi_result submit_write(struct scsi_cmd *cmd,
				     const struct rw_args *a, uint64_t len)
{
	struct scsi_lu *lu = cmd->lu;
	bool verify = is_write_verify(cmd->cdb[0]);

	if (verify && BYTCHK(cmd->cdb))
		cmd->bs_stage = STAGE_THEN_COMPARE;
	scsi_stats_write_clamp(cmd, cmd->out_cdb_len);
	/* Durable before GOOD when asked (FUA), when there is no write
	 * cache to hide behind (WCE = 0), and for WRITE AND VERIFY, whose
	 * verification is of the medium. */
	return submit(cmd, BS_WRITE, a->lba << lu->blk_shift, len,
		      cmd->out_buf, a->fua || !lu->write_cache || verify);
}

/* A write parked behind a COMPARE AND WRITE on its range goes on. Its
 * CDB was checked when it arrived; decoding it again cannot fail. */
static void resume_write(struct scsi_cmd *cmd)
{
	struct rw_args a;
	uint64_t len = prepare_data_out(cmd, &a, true);

	if (submit_write(cmd, &a, len) == SCSI_DONE)
		scsi_cmd_finish(cmd);
}

enum scsi_result sbc_write(struct scsi_cmd *cmd)
{
	struct rw_args a;
	uint64_t len = prepare_data_out(cmd, &a, true);

	if (!len)
		return SCSI_DONE;
	/* Writes share their range with each other but not with a
	 * COMPARE AND WRITE in progress there (caw.c). */
	if (!scsi_range_acquire(cmd, a.lba, len >> cmd->lu->blk_shift, false,
				resume_write))
		return SCSI_ASYNC;
	return submit_write(cmd, &a, len);
}

/* VERIFY with BYTCHK = 11b: the data-out is one block, compared with
 * every block of the range. */
static enum scsi_result verify_one_block(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;
	uint32_t bs = scsi_block_size(lu);
	struct rw_args a;

	decode(cmd->cdb, &a);
	cmd->out_cdb_len = a.blocks ? bs : 0;
	if (!xfer_ok(cmd, &a))
		return SCSI_DONE;
	if (!in_range(lu, &a))
		return scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	/* Nothing to verify, or nothing to verify against (as for a
	 * write, only whole blocks that arrived count). */
	if (!a.blocks || data_out_len(cmd, bs) < bs || !sbc_store_ready(cmd))
		return SCSI_DONE;
	if (!scsi_alloc_in(cmd, a.blocks << lu->blk_shift, false))
		return SCSI_DONE;
	cmd->bs_stage = STAGE_COMPARE_BLOCK;
	return submit(cmd, BS_READ, a.lba << lu->blk_shift,
		      a.blocks << lu->blk_shift, cmd->in_buf, false);
}

/* VERIFY. BYTCHK = 00b asks for a medium verification; a file has no
 * unreadable sectors to find, so what remains is the range check.
 * BYTCHK = 01b compares the data-out with the medium, 11b one block of
 * data-out with each block of the range; 10b is reserved. */
enum scsi_result sbc_verify(struct scsi_cmd *cmd)
{
	struct rw_args a;
	uint64_t len;

	switch (BYTCHK(cmd->cdb)) {
	case 0:
		decode(cmd->cdb, &a);
		if (!in_range(cmd->lu, &a))
			return scsi_fail(cmd, SK_ILLEGAL_REQUEST,
					 ASC_LBA_OUT_OF_RANGE);
		return SCSI_DONE;
	case 2:
		return scsi_bad_cdb(cmd, 1, 2);
	case 3:
		return verify_one_block(cmd);
	}
	len = prepare_data_out(cmd, &a, false);
	if (!len)
		return SCSI_DONE;
	return start_compare(cmd, a.lba << cmd->lu->blk_shift, len);
}

enum scsi_result sbc_submit_flush(struct scsi_cmd *cmd)
{
	if (!sbc_store_ready(cmd))
		return SCSI_DONE;
	return submit(cmd, BS_FLUSH, 0, 0, NULL, false);
}

/* SYNCHRONIZE CACHE flushes the whole store whatever the range: the
 * store has no finer flush, and flushing more is always correct. IMMED
 * is accepted but status still waits for the flush. */
enum scsi_result sbc_sync_cache(struct scsi_cmd *cmd)
{
	struct rw_args a;

	decode(cmd->cdb, &a);
	if (!in_range(cmd->lu, &a))
		return scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	return sbc_submit_flush(cmd);
}
