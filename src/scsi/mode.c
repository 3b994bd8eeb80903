/* MODE SENSE(6/10) and MODE SELECT(6/10) (SPC-4 6.11-6.14, 7.5) with the
 * pages a virtual disk needs: caching (08h, WCE), control (0Ah, D_SENSE
 * and SWP) and informational exceptions control (1Ch); a CD/DVD drive
 * has the MM capabilities page (2Ah) instead of caching.
 *
 * The pages are not stored: they are built from the LU's fields on every
 * request, and MODE SELECT writes the changeable bits back into those
 * fields. Nothing can be saved (PC 11b and SP are refused). */
#include <string.h>

#include "common/byteorder.h"
#include "scsi/core.h"
#include "scsi/scsi.h"

enum pc {
	PC_CURRENT = 0,
	PC_CHANGEABLE = 1,
	PC_DEFAULT = 2,
	PC_SAVED = 3,
};

#define ALL_PAGES 0x3f
#define ALL_SUBPAGES 0xff

#define DSP_WP 0x80     /* device-specific parameter: write protected */
#define DSP_DPOFUA 0x10 /* DPO and FUA bits are supported */

#define CACHING_WCE 0x04
#define CONTROL_D_SENSE 0x04
#define CONTROL_SWP 0x08

#define ANY_TYPE 0xff

struct mode_page {
	uint8_t code;
	uint8_t len;    /* whole page including its 2-byte header */
	uint8_t type;   /* the one device type that has it, or ANY_TYPE */
	void (*fill)(const struct scsi_lu *lu, enum pc pc, uint8_t *p);
	void (*apply)(struct scsi_lu *lu, const uint8_t *p);
};

static void caching_fill(const struct scsi_lu *lu, enum pc pc, uint8_t *p)
{
	bool wce = pc == PC_DEFAULT ? true : lu->write_cache;

	if (pc == PC_CHANGEABLE) {
		p[2] = CACHING_WCE;
		return;
	}
	p[2] = 0x10 | (wce ? CACHING_WCE : 0); /* DISC */
	put_be16(p + 4, 0xffff);  /* disable pre-fetch transfer length */
	put_be16(p + 8, 0xffff);  /* maximum pre-fetch */
	put_be16(p + 10, 0xffff); /* maximum pre-fetch ceiling */
	p[12] = 0x80;             /* FSW */
	p[13] = 0x14;             /* number of cache segments */
}

static void caching_apply(struct scsi_lu *lu, const uint8_t *p)
{
	lu->write_cache = p[2] & CACHING_WCE;
}

static void control_fill(const struct scsi_lu *lu, enum pc pc, uint8_t *p)
{
	if (pc == PC_CHANGEABLE) {
		p[2] = CONTROL_D_SENSE;
		p[4] = CONTROL_SWP;
		return;
	}
	p[2] = 0x02; /* GLTSD: no log parameters are saved */
	p[3] = 0x10; /* QUEUE ALGORITHM MODIFIER 1: unrestricted reordering */
	if (pc == PC_CURRENT) {
		p[2] |= lu->sense_descriptor ? CONTROL_D_SENSE : 0;
		p[4] = lu->swp ? CONTROL_SWP : 0;
	}
	put_be16(p + 8, 0xffff); /* BUSY TIMEOUT PERIOD: unlimited */
}

static void control_apply(struct scsi_lu *lu, const uint8_t *p)
{
	lu->sense_descriptor = p[2] & CONTROL_D_SENSE;
	lu->swp = p[4] & CONTROL_SWP;
}

static void iec_fill(const struct scsi_lu *lu, enum pc pc, uint8_t *p)
{
	(void)lu;
	if (pc != PC_CHANGEABLE)
		p[2] = 0x08; /* DEXCPT: no informational exceptions */
}

static void iec_apply(struct scsi_lu *lu, const uint8_t *p)
{
	(void)lu;
	(void)p;
}

/* The CD/DVD capabilities page (mmc.c): nothing in it changes. */
static void capabilities_fill(const struct scsi_lu *lu, enum pc pc,
			      uint8_t *p)
{
	mmc_capabilities_page(lu, pc == PC_CHANGEABLE, p);
}

static void capabilities_apply(struct scsi_lu *lu, const uint8_t *p)
{
	(void)lu;
	(void)p;
}

/* Ascending page code: the order "all pages" returns them in. */
static const struct mode_page pages[] = {
	{ 0x08, 20, SCSI_TYPE_DISK, caching_fill, caching_apply },
	{ 0x0a, 12, ANY_TYPE, control_fill, control_apply },
	{ 0x1c, 12, ANY_TYPE, iec_fill, iec_apply },
	{ 0x2a, MMC_CAPABILITIES_PAGE_LEN, SCSI_TYPE_MMC, capabilities_fill,
	  capabilities_apply },
};

#define NR_PAGES (sizeof(pages) / sizeof(pages[0]))
/* The most one device type has: a disk's, or a CD/DVD's. */
#define PAGES_MAX_LEN (20 + 12 + 12 + MMC_CAPABILITIES_PAGE_LEN)

static bool page_applies(const struct mode_page *mp, const struct scsi_lu *lu)
{
	return mp->type == ANY_TYPE || lu->type == mp->type;
}

static const struct mode_page *find_page(const struct scsi_lu *lu,
					 uint8_t code)
{
	for (size_t i = 0; i < NR_PAGES; i++)
		if (pages[i].code == code && page_applies(&pages[i], lu))
			return &pages[i];
	return NULL;
}

static size_t put_page(const struct mode_page *mp, const struct scsi_lu *lu,
		       enum pc pc, uint8_t *p)
{
	memset(p, 0, mp->len);
	p[0] = mp->code; /* PS = 0: the page cannot be saved */
	p[1] = mp->len - 2;
	mp->fill(lu, pc, p);
	return mp->len;
}

/* MODE SENSE ----------------------------------------------------------- */

static size_t put_block_descriptor(const struct scsi_lu *lu, enum pc pc,
				   bool long_lba, uint8_t *p)
{
	uint64_t blocks = scsi_nr_blocks(lu);
	size_t len = long_lba ? 16 : 8;

	memset(p, 0, len);
	/* Nothing in it can be changed. */
	if (pc == PC_CHANGEABLE)
		return len;
	if (long_lba) {
		put_be64(p, blocks);
		put_be32(p + 12, scsi_block_size(lu));
	} else {
		put_be32(p, blocks > 0xffffffffull ? 0xffffffffu
						   : (uint32_t)blocks);
		put_be24(p + 5, scsi_block_size(lu));
	}
	return len;
}

/* Appends the requested pages; returns their length, or -1 (with the
 * sense set) for a page or subpage we do not have. */
static long put_pages(struct scsi_cmd *cmd, enum pc pc, uint8_t *p)
{
	const struct scsi_lu *lu = cmd->lu;
	uint8_t code = cmd->cdb[2] & 0x3f, sub = cmd->cdb[3];
	const struct mode_page *mp;
	size_t len = 0;

	/* None of our pages has subpages: 00h and "all" are the same. */
	if (sub != 0 && sub != ALL_SUBPAGES) {
		scsi_bad_cdb(cmd, 3, 7);
		return -1;
	}
	if (code == ALL_PAGES) {
		for (size_t i = 0; i < NR_PAGES; i++)
			if (page_applies(&pages[i], lu))
				len += put_page(&pages[i], lu, pc, p + len);
		return (long)len;
	}
	mp = find_page(lu, code);
	if (!mp) {
		scsi_bad_cdb(cmd, 2, 5);
		return -1;
	}
	return (long)put_page(mp, lu, pc, p);
}

static uint8_t device_specific(const struct scsi_lu *lu)
{
	if (lu->type != SCSI_TYPE_DISK)
		return 0;
	return DSP_DPOFUA | (scsi_write_protected(lu) ? DSP_WP : 0);
}

enum scsi_result spc_mode_sense(struct scsi_cmd *cmd)
{
	uint8_t buf[8 + 16 + PAGES_MAX_LEN];
	const uint8_t *cdb = cmd->cdb;
	bool ten = cdb[0] == OP_MODE_SENSE_10;
	bool dbd = cdb[1] & 0x08, long_lba = ten && (cdb[1] & 0x10);
	enum pc pc = cdb[2] >> 6;
	size_t hdr = ten ? 8 : 4, bd = 0, len;
	long pl;

	if (pc == PC_SAVED)
		return scsi_fail(cmd, SK_ILLEGAL_REQUEST,
				 ASC_SAVING_PARAMS_UNSUP);
	memset(buf, 0, hdr);
	if (cmd->lu->type == SCSI_TYPE_DISK && !dbd)
		bd = put_block_descriptor(cmd->lu, pc, long_lba, buf + hdr);
	pl = put_pages(cmd, pc, buf + hdr + bd);
	if (pl < 0)
		return SCSI_DONE;
	len = hdr + bd + (size_t)pl;
	/* MODE DATA LENGTH counts what follows it, before truncation to
	 * the allocation length (SPC-4 7.5.5). */
	if (ten) {
		put_be16(buf, (uint16_t)(len - 2));
		buf[3] = device_specific(cmd->lu);
		buf[4] = bd == 16 ? 0x01 : 0; /* LONGLBA */
		put_be16(buf + 6, (uint16_t)bd);
		return scsi_reply(cmd, buf, len, get_be16(cdb + 7));
	}
	buf[0] = (uint8_t)(len - 1);
	buf[2] = device_specific(cmd->lu);
	buf[3] = (uint8_t)bd;
	return scsi_reply(cmd, buf, len, cdb[4]);
}

/* MODE SELECT ---------------------------------------------------------- */

static bool select_too_short(struct scsi_cmd *cmd)
{
	scsi_set_sense(cmd, SK_ILLEGAL_REQUEST,
		       ASC_PARAMETER_LIST_LENGTH_ERROR);
	return false;
}

static bool bad_param(struct scsi_cmd *cmd, size_t byte, int bit)
{
	scsi_bad_param(cmd, (unsigned)byte, bit);
	return false;
}

/* Block descriptors may come along but must not change the block size
 * (that would need FORMAT UNIT); the number of blocks is ignored. */
static bool check_descriptors(struct scsi_cmd *cmd, const uint8_t *d,
			      size_t off, size_t bd, bool long_lba)
{
	size_t one = long_lba ? 16 : 8, at = long_lba ? 12 : 5;

	if (bd && cmd->lu->type != SCSI_TYPE_DISK)
		return bad_param(cmd, off - 1, 7);
	if (bd % one)
		return bad_param(cmd, off - 1, 7);
	for (size_t i = off; i < off + bd; i += one) {
		uint32_t bl = long_lba ? get_be32(d + i + at)
				       : get_be24(d + i + at);

		if (bl != scsi_block_size(cmd->lu))
			return bad_param(cmd, i + at, 7);
	}
	return true;
}

/* One page of the parameter list: it must be one of ours, of the right
 * length, and differ from the current values only in changeable bits. */
static bool check_page(struct scsi_cmd *cmd, const uint8_t *d, size_t off,
		       size_t have, const struct mode_page **out)
{
	uint8_t cur[PAGES_MAX_LEN], chg[PAGES_MAX_LEN];
	const struct mode_page *mp;

	if (off + 2 > have)
		return select_too_short(cmd);
	/* PS is reserved in MODE SELECT; SPF would announce a subpage. */
	if (d[off] & 0xc0)
		return bad_param(cmd, off, 7);
	mp = find_page(cmd->lu, d[off] & 0x3f);
	if (!mp)
		return bad_param(cmd, off, 5);
	if (d[off + 1] != mp->len - 2)
		return bad_param(cmd, off + 1, 7);
	if (off + mp->len > have)
		return select_too_short(cmd);
	put_page(mp, cmd->lu, PC_CURRENT, cur);
	put_page(mp, cmd->lu, PC_CHANGEABLE, chg);
	for (size_t i = 2; i < mp->len; i++) {
		uint8_t bad = (d[off + i] ^ cur[i]) & (uint8_t)~chg[i];

		if (bad) {
			int bit = 7;

			while (!(bad & (1u << bit)))
				bit--;
			return bad_param(cmd, off + i, bit);
		}
	}
	*out = mp;
	return true;
}

static bool page_changes(const struct mode_page *mp, const struct scsi_lu *lu,
			 const uint8_t *p)
{
	uint8_t cur[PAGES_MAX_LEN];

	put_page(mp, lu, PC_CURRENT, cur);
	return memcmp(cur + 2, p + 2, mp->len - 2) != 0;
}

/* Validates every page before applying any, so that a bad list changes
 * nothing; then applies them and tells the other nexuses (SPC-4 6.11:
 * MODE PARAMETERS CHANGED for every I_T nexus but this one). */
static enum scsi_result apply_pages(struct scsi_cmd *cmd, const uint8_t *d,
				    size_t off, size_t have)
{
	const struct mode_page *mp;
	bool changed = false;

	for (size_t at = off; at < have; at += mp->len)
		if (!check_page(cmd, d, at, have, &mp))
			return SCSI_DONE;
	for (size_t at = off; at < have; at += mp->len) {
		mp = find_page(cmd->lu, d[at] & 0x3f);
		if (page_changes(mp, cmd->lu, d + at)) {
			mp->apply(cmd->lu, d + at);
			changed = true;
		}
	}
	if (changed && cmd->nexus)
		scsi_ua_queue_all(cmd->nexus->target, cmd->nexus, cmd->lu->lun,
				  ASC_MODE_PARAMETERS_CHANGED);
	return SCSI_DONE;
}

enum scsi_result spc_mode_select(struct scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb, *d = cmd->out_buf;
	bool ten = cdb[0] == OP_MODE_SELECT_10;
	uint32_t plen = ten ? get_be16(cdb + 7) : cdb[4];
	size_t hdr = ten ? 8 : 4, have, bd;
	bool long_lba;

	cmd->out_cdb_len = plen;
	if (cdb[1] & 0x01) /* SP: there is nowhere to save pages */
		return scsi_bad_cdb(cmd, 1, 0);
	if (plen == 0)
		return SCSI_DONE;
	have = cmd->out_len < plen ? cmd->out_len : plen;
	if (have < hdr || !d) {
		select_too_short(cmd);
		return SCSI_DONE;
	}
	bd = ten ? get_be16(d + 6) : d[3];
	long_lba = ten && (d[4] & 0x01);
	if (d[ten ? 2 : 1]) /* MEDIUM TYPE: only the default (00h) */
		return scsi_bad_param(cmd, ten ? 2 : 1, 7);
	if (hdr + bd > have) {
		select_too_short(cmd);
		return SCSI_DONE;
	}
	if (!check_descriptors(cmd, d, hdr, bd, long_lba))
		return SCSI_DONE;
	return apply_pages(cmd, d, hdr + bd, have);
}
