/* The EXTENDED COPY(LID1) parameter list (SPC-4):
 * header, CSCD descriptors and segment descriptors, checked and turned
 * into a struct xcopy_job before any data moves (xcopy.c runs it).
 *
 * Supported: identification descriptor CSCD descriptors (E4h) that name
 * a LU of the same target by one of its VPD 83h LU designators (the NAA
 * designator, as VMware and libiscsi send it), and block device to block
 * device segments (02h). Only LUs of the target the command came to can
 * be named: an initiator reaches through EXTENDED COPY nothing that its
 * login (ACL, CHAP) did not already give it.
 *
 * Errors in the list itself are ILLEGAL REQUEST with the field pointer;
 * a segment that cannot be carried out (a CSCD that names no LU, a range
 * off the medium, a write-protected destination) is COPY ABORTED with
 * the segment pointer at the offending field. */
#include <string.h>

#include "common/byteorder.h"
#include "common/log.h"
#include "scsi/core.h"
#include "scsi/scsi.h"
#include "scsi/xcopy.h"
#include "target/target.h"

#define HEADER_LEN 16
#define CSCD_LEN 32
#define CSCD_LONG_LEN 64      /* IPv6 and IP copy service CSCDs */
#define SEG_B2B_LEN 28
#define SEG_B2B_DESC_LENGTH 0x18

#define LIST_ID_USAGE_HOLD 0x0
#define LIST_ID_USAGE_RESERVED 0x1
#define LIST_ID_USAGE_NONE 0x3

#define ASC_TOO_MANY_CSCD 0x2606      /* TOO MANY TARGET DESCRIPTORS */
#define ASC_UNSUPPORTED_CSCD 0x2607   /* ... TARGET DESCRIPTOR TYPE CODE */
#define ASC_TOO_MANY_SEGMENTS 0x2608
#define ASC_UNSUPPORTED_SEGMENT 0x2609
#define ASC_COPY_TARGET_NOT_REACHABLE 0x0d02

#define SKS_SD 0x20 /* segment pointer: relative to a segment descriptor */

static bool bad_param(struct scsi_cmd *cmd, size_t byte, int bit)
{
	scsi_bad_param(cmd, (unsigned)byte, bit);
	return false;
}

static bool list_error(struct scsi_cmd *cmd, uint16_t asc, size_t byte)
{
	scsi_set_sense_field(cmd, asc, false, (uint16_t)byte, -1);
	return false;
}

static bool length_error(struct scsi_cmd *cmd)
{
	scsi_set_sense(cmd, SK_ILLEGAL_REQUEST,
		       ASC_PARAMETER_LIST_LENGTH_ERROR);
	return false;
}

/* COPY ABORTED with the segment pointer at byte `field` of the segment
 * descriptor at `seg_at` in the parameter list. */
bool xcopy_abort(struct scsi_cmd *cmd, uint16_t asc, size_t seg_at,
		 size_t field)
{
	uint8_t sks[3] = { 0x80 | SKS_SD };

	put_be16(sks + 1, (uint16_t)field);
	scsi_set_sense_sks(cmd, SK_COPY_ABORTED, asc, sks,
			   (uint32_t)seg_at);
	return false;
}

/* Length of a CSCD descriptor by its type code, 0 if not one (SPC-4
 * table 119: E0h-E9h are 32 bytes, EAh and EBh 64). */
static size_t cscd_length(uint8_t type)
{
	if (type >= 0xe0 && type <= 0xe9)
		return CSCD_LEN;
	if (type == 0xea || type == 0xeb)
		return CSCD_LONG_LEN;
	return 0;
}

/* The LU of the command's target that the identification descriptor
 * names, or NULL. Only disks with a medium can be copied to or from. */
static struct scsi_lu *resolve(const struct scsi_cmd *cmd, const uint8_t *d)
{
	struct target *t = cmd->nexus ? cmd->nexus->target : NULL;
	struct scsi_lu *lu;

	if ((d[1] & 0x1f) != SCSI_TYPE_DISK || d[7] > 20 || !t)
		return NULL;
	list_for_each_entry(lu, &t->lus, node)
		if (lu->type == SCSI_TYPE_DISK && !lu->fenced &&
		    scsi_lu_designated(lu, d + 4))
			return lu;
	return NULL;
}

/* The CSCD descriptor list: counted and typed first (too many, then an
 * unsupported type), then resolved. LU ID TYPE and NUL are obsolete in
 * SPC-4 and ignored. A descriptor naming no LU is an error only when a
 * segment uses it. */
static bool parse_cscds(struct scsi_cmd *cmd, struct xcopy_job *job,
			const uint8_t *p, size_t at, size_t len)
{
	size_t off, unsupported = 0;
	unsigned n = 0;

	for (off = 0; off < len; n++) {
		size_t one = cscd_length(p[at + off]);

		if (!one || p[at + off] != XCOPY_CSCD_IDENTIFICATION) {
			unsupported = unsupported ? unsupported : at + off;
			if (!one)
				break;
		}
		off += one;
	}
	if (n > XCOPY_MAX_CSCD)
		return list_error(cmd, ASC_TOO_MANY_CSCD, 2);
	if (unsupported)
		return list_error(cmd, ASC_UNSUPPORTED_CSCD, unsupported);
	if (off != len)
		return bad_param(cmd, 2, 7);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *d = p + at + (size_t)i * CSCD_LEN;
		uint32_t bl = get_be24(d + 29);

		job->cscd[i] = resolve(cmd, d);
		/* The block length must be the LU's: no reblocking. */
		if (job->cscd[i] && bl != scsi_block_size(job->cscd[i]))
			return bad_param(cmd, at + (size_t)i * CSCD_LEN + 29, 7);
	}
	job->ncscd = n;
	return true;
}

/* The segment descriptor list: counted and typed, then each block to
 * block segment decoded (its checks against the LUs are xcopy_check's). */
static bool parse_segments(struct scsi_cmd *cmd, struct xcopy_job *job,
			   const uint8_t *p, size_t at, size_t len)
{
	size_t off, unsupported = 0, bad_length = 0;
	unsigned n = 0;

	for (off = 0; off + 4 <= len; n++) {
		const uint8_t *d = p + at + off;

		if (d[0] != XCOPY_SEG_BLOCK_TO_BLOCK && !unsupported)
			unsupported = at + off;
		else if (get_be16(d + 2) != SEG_B2B_DESC_LENGTH && !bad_length)
			bad_length = at + off + 2;
		off += 4u + get_be16(d + 2);
	}
	if (n > XCOPY_MAX_SEGMENTS)
		return list_error(cmd, ASC_TOO_MANY_SEGMENTS, 8);
	if (unsupported)
		return list_error(cmd, ASC_UNSUPPORTED_SEGMENT, unsupported);
	if (bad_length)
		return bad_param(cmd, bad_length, 7);
	if (off != len)
		return bad_param(cmd, 8, 7);
	for (off = 0, n = 0; off < len; off += SEG_B2B_LEN, n++) {
		const uint8_t *d = p + at + off;
		struct xcopy_segment *s = &job->seg[n];

		s->at = (uint32_t)(at + off);
		s->src = get_be16(d + 4);
		s->dst = get_be16(d + 6);
		s->dc = d[1] & 0x02;
		s->blocks = get_be16(d + 10);
		s->src_lba = get_be64(d + 12);
		s->dst_lba = get_be64(d + 20);
	}
	job->nseg = n;
	return true;
}

/* Header (SPC-4 table 113) and list lengths. */
bool xcopy_parse(struct scsi_cmd *cmd, struct xcopy_job *job, uint32_t plen)
{
	const uint8_t *p = cmd->out_buf;
	uint32_t have = cmd->out_len < plen ? cmd->out_len : plen;
	uint8_t usage;
	uint32_t cscd_len, seg_len;

	if (have < HEADER_LEN || !p)
		return length_error(cmd);
	usage = (p[1] >> 3) & 0x03;
	cscd_len = get_be16(p + 2);
	seg_len = get_be32(p + 8);
	if (usage == LIST_ID_USAGE_RESERVED)
		return bad_param(cmd, 1, 4);
	if (usage == LIST_ID_USAGE_NONE && p[0])
		return bad_param(cmd, 0, 7);
	if (get_be32(p + 12)) /* no inline data (MAX INLINE DATA LENGTH 0) */
		return bad_param(cmd, 12, 7);
	if ((uint64_t)cscd_len + seg_len > XCOPY_MAX_DESC_LIST ||
	    HEADER_LEN + (uint64_t)cscd_len + seg_len > have)
		return length_error(cmd);
	job->list_id = p[0];
	job->list_id_usage = usage;
	return parse_cscds(cmd, job, p, HEADER_LEN, cscd_len) &&
	       parse_segments(cmd, job, p, HEADER_LEN + cscd_len, seg_len);
}

/* The LU a segment's CSCD index names, or COPY ABORTED. */
static struct scsi_lu *segment_lu(struct scsi_cmd *cmd,
				  const struct xcopy_job *job,
				  const struct xcopy_segment *s, bool dst)
{
	unsigned i = dst ? s->dst : s->src;

	if (i < job->ncscd && job->cscd[i])
		return job->cscd[i];
	xcopy_abort(cmd, ASC_COPY_TARGET_NOT_REACHABLE, s->at, dst ? 6 : 4);
	return NULL;
}

/* [lba, lba + bytes) on lu, or COPY ABORTED pointing at the LBA field
 * (the reason, out of range, is in the log). */
static bool segment_range(struct scsi_cmd *cmd, const struct scsi_lu *lu,
			  const struct xcopy_segment *s, bool dst)
{
	uint64_t lba = dst ? s->dst_lba : s->src_lba;
	uint64_t blocks = s->bytes >> lu->blk_shift, nr = scsi_nr_blocks(lu);

	if (lba <= nr && blocks <= nr - lba)
		return true;
	log_debug("EXTENDED COPY: LUN %llu range %llu+%llu off the medium",
		  (unsigned long long)lu->lun, (unsigned long long)lba,
		  (unsigned long long)blocks);
	return xcopy_abort(cmd, ASC_NO_ADDITIONAL_SENSE, s->at,
			   dst ? 20 : 12);
}

/* Whether a LU can take part: it has its medium. */
static bool segment_medium(struct scsi_cmd *cmd, const struct scsi_lu *lu,
			   const struct xcopy_segment *s, bool dst)
{
	if (lu->online && lu->bs.ops)
		return true;
	return xcopy_abort(cmd, ASC_MEDIUM_NOT_PRESENT, s->at, dst ? 6 : 4);
}

/* Every segment, against its LUs. The byte count follows the block
 * size of the side DC names and must be whole blocks on both. */
bool xcopy_check(struct scsi_cmd *cmd, struct xcopy_job *job)
{
	for (unsigned i = 0; i < job->nseg; i++) {
		struct xcopy_segment *s = &job->seg[i];
		struct scsi_lu *src = segment_lu(cmd, job, s, false);
		struct scsi_lu *dst = src ? segment_lu(cmd, job, s, true)
					  : NULL;

		if (!dst)
			return false;
		s->bytes = s->blocks << (s->dc ? dst : src)->blk_shift;
		if (s->bytes & (scsi_block_size(src) - 1) ||
		    s->bytes & (scsi_block_size(dst) - 1))
			return bad_param(cmd, s->at + 10, 7);
		if (!segment_medium(cmd, src, s, false) ||
		    !segment_medium(cmd, dst, s, true) ||
		    !segment_range(cmd, src, s, false) ||
		    !segment_range(cmd, dst, s, true))
			return false;
		if (scsi_write_protected(dst))
			return xcopy_abort(cmd, dst->readonly
					   ? ASC_WRITE_PROTECT
					   : ASC_SW_WRITE_PROTECT, s->at, 6);
	}
	return true;
}
