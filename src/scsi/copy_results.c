/* The copy manager's side of EXTENDED COPY(LID1) that initiators read
 * (SPC-4): RECEIVE COPY RESULTS with OPERATING PARAMETERS
 * and COPY STATUS, the Third-party Copy VPD page, and the status records
 * COPY STATUS answers from.
 *
 * A record belongs to the I_T nexus that sent the EXTENDED COPY (SPC-4:
 * results are held per I_T nexus and list identifier) and is kept in
 * nexus->copies: from the start of the copy (so a second copy with the
 * same list identifier is refused while the first runs) and, for LIST ID
 * USAGE 00b, after its end until replaced, until the nexus or the LU
 * goes away, or until COPY_RECORDS_MAX newer ones push it out. The
 * record of a running copy whose nexus goes away stays with the copy
 * until it ends (orphan). Everything
 * runs on the target's loop under the target lock. */
#include <stdlib.h>
#include <string.h>

#include "common/byteorder.h"
#include "scsi/core.h"
#include "scsi/scsi.h"
#include "scsi/xcopy.h"

#define COPY_RECORDS_MAX 32

#define RCR_COPY_STATUS 0x00
#define RCR_OPERATING_PARAMETERS 0x03

/* Descriptor type codes the copy manager implements. */
static const uint8_t implemented[] = { XCOPY_SEG_BLOCK_TO_BLOCK,
				       XCOPY_CSCD_IDENTIFICATION };

static unsigned record_count(const struct it_nexus *nexus)
{
	const struct copy_record *r;
	unsigned n = 0;

	list_for_each_entry(r, &nexus->copies, node)
		n++;
	return n;
}

struct copy_record *spc_copy_find(struct it_nexus *nexus, uint64_t lun,
				  uint8_t list_id)
{
	struct copy_record *r;

	list_for_each_entry(r, &nexus->copies, node)
		if (r->lun == lun && r->list_id == list_id)
			return r;
	return NULL;
}

static void drop(struct copy_record *r)
{
	list_del(&r->node);
	free(r);
}

/* Makes room by dropping the oldest record of an ended copy. */
static void make_room(struct it_nexus *nexus)
{
	struct copy_record *r;

	if (record_count(nexus) < COPY_RECORDS_MAX)
		return;
	list_for_each_entry(r, &nexus->copies, node) {
		if (!r->running) {
			drop(r);
			return;
		}
	}
}

struct copy_record *spc_copy_begin(struct it_nexus *nexus, uint64_t lun,
				   uint8_t list_id, bool hold)
{
	struct copy_record *r = spc_copy_find(nexus, lun, list_id);

	if (r)
		drop(r); /* the results of an ended copy are replaced */
	make_room(nexus);
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->lun = lun;
	r->list_id = list_id;
	r->hold = hold;
	r->running = true;
	list_add_tail(&r->node, &nexus->copies);
	return r;
}

void spc_copy_end(struct copy_record *r, bool ok)
{
	r->running = false;
	r->status = ok ? COPY_STATUS_GOOD : COPY_STATUS_ERROR;
	if (!r->hold || r->orphan)
		drop(r);
}

/* The record of a copy still running belongs to that copy until it
 * ends (xcopy.c updates it from each completion): it only leaves the
 * list, and spc_copy_end frees it. */
void spc_copy_forget(struct it_nexus *nexus, uint64_t lun)
{
	struct copy_record *r, *tmp;

	list_for_each_entry_safe(r, tmp, &nexus->copies, node) {
		if (lun != SCSI_LUN_NONE && r->lun != lun)
			continue;
		if (r->running) {
			list_del(&r->node);
			r->orphan = true;
		} else {
			drop(r);
		}
	}
}

/* TRANSFER COUNT in the smallest unit (bytes, KiB, MiB, ... : codes 00h
 * to 06h) in which it fits four bytes. */
static void put_transfer_count(uint8_t *p, uint64_t bytes)
{
	uint8_t unit = 0;

	while (bytes > UINT32_MAX) {
		bytes >>= 10;
		unit++;
	}
	p[0] = unit;
	put_be32(p + 1, (uint32_t)bytes);
}

static enum scsi_result copy_status(struct scsi_cmd *cmd, uint32_t alloc)
{
	struct copy_record *r = NULL;
	uint8_t buf[12];

	if (cmd->nexus)
		r = spc_copy_find(cmd->nexus, cmd->lu->lun, cmd->cdb[2]);
	if (!r)
		return scsi_bad_cdb(cmd, 2, 7);
	memset(buf, 0, sizeof(buf));
	put_be32(buf, sizeof(buf) - 4);
	buf[4] = r->running ? COPY_STATUS_RUNNING : r->status; /* HDD = 0 */
	put_be16(buf + 5, r->segments);
	put_transfer_count(buf + 7, r->bytes);
	return scsi_reply(cmd, buf, sizeof(buf), alloc);
}

static enum scsi_result operating_parameters(struct scsi_cmd *cmd,
					     uint32_t alloc)
{
	const struct scsi_lu *lu = cmd->lu;
	uint8_t buf[44 + sizeof(implemented)];

	memset(buf, 0, sizeof(buf));
	put_be32(buf, sizeof(buf) - 4);
	buf[4] = 0x01; /* SNLID: LIST ID USAGE 11b is supported */
	put_be16(buf + 8, XCOPY_MAX_CSCD);
	put_be16(buf + 10, XCOPY_MAX_SEGMENTS);
	put_be32(buf + 12, XCOPY_MAX_DESC_LIST);
	put_be32(buf + 16, xcopy_max_segment_bytes(lu));
	/* No inline data, no held data, no stream devices. */
	put_be16(buf + 34, XCOPY_MAX_CONCURRENT);
	buf[36] = XCOPY_MAX_CONCURRENT;
	buf[37] = (uint8_t)lu->blk_shift; /* DATA SEGMENT GRANULARITY, log2 */
	buf[38] = (uint8_t)lu->blk_shift;
	buf[39] = (uint8_t)lu->blk_shift;
	buf[43] = sizeof(implemented);
	memcpy(buf + 44, implemented, sizeof(implemented));
	return scsi_reply(cmd, buf, sizeof(buf), alloc);
}

enum scsi_result spc_receive_copy_results(struct scsi_cmd *cmd)
{
	uint32_t alloc = get_be32(cmd->cdb + 10);

	if ((cmd->cdb[1] & 0x1f) == RCR_COPY_STATUS)
		return copy_status(cmd, alloc);
	return operating_parameters(cmd, alloc);
}

/* Third-party Copy VPD page descriptors (SPC-4): type, length of
 * what follows, content padded to a multiple of four bytes. */
static size_t put_tpc_descriptor(uint8_t *p, uint16_t type, size_t len)
{
	size_t padded = (len + 3) & ~(size_t)3;

	memset(p, 0, 4 + padded);
	put_be16(p, type);
	put_be16(p + 2, (uint16_t)padded);
	return 4 + padded;
}

#define TPC_SUPPORTED_COMMANDS 0x0001
#define TPC_PARAMETER_DATA 0x0004
#define TPC_SUPPORTED_DESCRIPTORS 0x0008
#define TPC_SUPPORTED_CSCD_IDS 0x000c
#define TPC_GENERAL_COPY 0x8001

static size_t supported_commands(uint8_t *p)
{
	static const uint8_t list[] = {
		OP_EXTENDED_COPY, 1, 0x00,
		OP_RECEIVE_COPY_RESULTS, 2, RCR_COPY_STATUS,
		RCR_OPERATING_PARAMETERS,
	};
	size_t len = put_tpc_descriptor(p, TPC_SUPPORTED_COMMANDS,
					1 + sizeof(list));

	p[4] = sizeof(list);
	memcpy(p + 5, list, sizeof(list));
	return len;
}

static size_t parameter_data(uint8_t *p)
{
	size_t len = put_tpc_descriptor(p, TPC_PARAMETER_DATA, 0x1c);

	put_be16(p + 8, XCOPY_MAX_CSCD);
	put_be16(p + 10, XCOPY_MAX_SEGMENTS);
	put_be32(p + 12, XCOPY_MAX_DESC_LIST);
	return len; /* MAXIMUM INLINE DATA LENGTH 0 */
}

static size_t supported_descriptors(uint8_t *p)
{
	size_t len = put_tpc_descriptor(p, TPC_SUPPORTED_DESCRIPTORS,
					1 + sizeof(implemented));

	p[4] = sizeof(implemented);
	memcpy(p + 5, implemented, sizeof(implemented));
	return len;
}

static size_t general_copy(const struct scsi_lu *lu, uint8_t *p)
{
	size_t len = put_tpc_descriptor(p, TPC_GENERAL_COPY, 0x1c);

	put_be32(p + 4, XCOPY_MAX_CONCURRENT);
	put_be32(p + 8, XCOPY_MAX_CONCURRENT);
	put_be32(p + 12, xcopy_max_segment_bytes(lu));
	p[16] = (uint8_t)lu->blk_shift;
	p[17] = (uint8_t)lu->blk_shift;
	return len;
}

size_t spc_copy_vpd(const struct scsi_lu *lu, uint8_t *buf)
{
	size_t len = 4;

	len += supported_commands(buf + len);
	len += parameter_data(buf + len);
	len += supported_descriptors(buf + len);
	/* No CSCD descriptor IDs beyond the descriptor indexes. */
	len += put_tpc_descriptor(buf + len, TPC_SUPPORTED_CSCD_IDS, 2);
	len += general_copy(lu, buf + len);
	return len;
}
