/* A read-only CD/DVD drive (MMC-6, peripheral device type 05h) whose disc
 * is an image file of 2048-byte blocks: one finalized single-session
 * disc with one data track, the DVD-ROM profile current as long as a
 * medium is loaded (as tgt's drive reports a non-empty image).
 *
 * Reads go through the block read path (rw.c), START STOP UNIT and
 * PREVENT ALLOW MEDIUM REMOVAL through removal.c. This file answers the
 * commands that describe the disc and the drive: READ TOC/PMA/ATIP, GET
 * CONFIGURATION, GET EVENT STATUS NOTIFICATION, READ DISC and TRACK
 * INFORMATION, MECHANISM STATUS, SET CD SPEED, GET PERFORMANCE, the
 * capabilities mode page, and refuses writes. Everything runs on the LU's target loop. */
#include <string.h>

#include "common/byteorder.h"
#include "scsi/core.h"
#include "scsi/scsi.h"

#define PROFILE_NONE 0x0000
#define PROFILE_CD_ROM 0x0008
#define PROFILE_DVD_ROM 0x0010

#define TRACK_ADR_CONTROL 0x14 /* ADR 1 (Q sub-channel), data track */
#define LEAD_OUT 0xaa
#define MSF_OFFSET 150         /* LBA 0 is 00:02:00 (MMC-6 4.2.3.4) */

/* The one medium there can be: loaded. */
static bool medium_present(const struct scsi_lu *lu)
{
	return lu->online && lu->bs.ops;
}

static uint16_t current_profile(const struct scsi_lu *lu)
{
	return medium_present(lu) ? PROFILE_DVD_ROM : PROFILE_NONE;
}

/* A block address as the TOC gives it: an LBA, or with MSF set a
 * minute/second/frame address (the largest one for an LBA past it). */
static void put_address(uint8_t *p, uint64_t lba, bool msf)
{
	uint64_t frames = lba + MSF_OFFSET;

	if (!msf) {
		put_be32(p, (uint32_t)lba);
		return;
	}
	if (frames >= 256ull * 60 * 75)
		frames = 256ull * 60 * 75 - 1; /* FF:3B:4A */
	p[0] = 0;
	p[1] = (uint8_t)(frames / (60 * 75));
	p[2] = (uint8_t)(frames / 75 % 60);
	p[3] = (uint8_t)(frames % 75);
}

static size_t put_track_descriptor(uint8_t *p, uint8_t track, uint64_t lba,
				   bool msf)
{
	memset(p, 0, 8);
	p[1] = TRACK_ADR_CONTROL;
	p[2] = track;
	put_address(p + 4, lba, msf);
	return 8;
}

/* Format 0000b: the track descriptors from the starting track on, then
 * the lead-out; track 1 is the only track. */
static enum scsi_result toc_formatted(struct scsi_cmd *cmd, bool msf,
				      uint16_t alloc)
{
	uint8_t buf[4 + 2 * 8], start = cmd->cdb[6];
	size_t len = 4;

	if (start > 1 && start != LEAD_OUT)
		return scsi_bad_cdb(cmd, 6, 7);
	if (start <= 1)
		len += put_track_descriptor(buf + len, 1, 0, msf);
	len += put_track_descriptor(buf + len, LEAD_OUT,
				    scsi_nr_blocks(cmd->lu), msf);
	put_be16(buf, (uint16_t)(len - 2));
	buf[2] = 1; /* first track */
	buf[3] = 1; /* last track */
	return scsi_reply(cmd, buf, len, alloc);
}

/* Format 0001b: the first complete session and its first track. */
static enum scsi_result toc_session(struct scsi_cmd *cmd, bool msf,
				    uint16_t alloc)
{
	uint8_t buf[4 + 8];

	put_be16(buf, sizeof(buf) - 2);
	buf[2] = 1; /* first session */
	buf[3] = 1; /* last session */
	put_track_descriptor(buf + 4, 1, 0, msf);
	return scsi_reply(cmd, buf, sizeof(buf), alloc);
}

/* READ TOC/PMA/ATIP (MMC-6 6.39). The format is in byte 2, or for old
 * (SFF-8020) initiators in the top bits of byte 9. Raw TOC, PMA, ATIP
 * and CD-TEXT do not exist on an image. */
enum scsi_result mmc_read_toc(struct scsi_cmd *cmd)
{
	bool msf = cmd->cdb[1] & 0x02;
	uint8_t format = cmd->cdb[2] & 0x0f;
	uint16_t alloc = get_be16(cmd->cdb + 7);

	if (!format)
		format = cmd->cdb[9] >> 6;
	switch (format) {
	case 0:
		return toc_formatted(cmd, msf, alloc);
	case 1:
		return toc_session(cmd, msf, alloc);
	default:
		return scsi_bad_cdb(cmd, 2, 3);
	}
}

/* GET CONFIGURATION (MMC-6 6.6) ------------------------------------ */

#define RT_ALL 0
#define RT_CURRENT 1
#define RT_ONE 2
#define FEATURE_PERSISTENT 0x02
#define FEATURE_CURRENT 0x01

/* One feature descriptor: its code, version, and whether it is current
 * (persistent ones always are); fill writes the additional bytes and
 * returns their number. */
struct mmc_feature {
	uint16_t code;
	uint8_t version;
	bool persistent;
	size_t (*fill)(const struct scsi_lu *lu, uint8_t *p);
};

/* Profile List: a DVD-ROM drive reads CD-ROMs too; DVD-ROM is current
 * with a disc in (descending profile order). */
static size_t fill_profiles(const struct scsi_lu *lu, uint8_t *p)
{
	memset(p, 0, 8);
	put_be16(p, PROFILE_DVD_ROM);
	p[2] = current_profile(lu) == PROFILE_DVD_ROM;
	put_be16(p + 4, PROFILE_CD_ROM);
	return 8;
}

/* Core: the SCSI family of physical interfaces, no device busy events. */
static size_t fill_core(const struct scsi_lu *lu, uint8_t *p)
{
	(void)lu;
	memset(p, 0, 8);
	put_be32(p, 0x00000001);
	return 8;
}

/* Morphing: neither asynchronous events nor operational change events. */
static size_t fill_morphing(const struct scsi_lu *lu, uint8_t *p)
{
	(void)lu;
	memset(p, 0, 4);
	return 4;
}

/* Removable Medium: a tray, ejected by START STOP UNIT with LOEJ, that
 * PREVENT ALLOW MEDIUM REMOVAL locks. */
static size_t fill_removable(const struct scsi_lu *lu, uint8_t *p)
{
	(void)lu;
	memset(p, 0, 4);
	p[0] = 0x20 | 0x08 | 0x01; /* tray, Eject, Lock */
	return 4;
}

/* Random Readable: 2048-byte blocks, read 16 at a time on a DVD. */
static size_t fill_random_readable(const struct scsi_lu *lu, uint8_t *p)
{
	memset(p, 0, 8);
	put_be32(p, scsi_block_size(lu));
	put_be16(p + 4, 16); /* blocking */
	return 8;
}

static size_t fill_nothing(const struct scsi_lu *lu, uint8_t *p)
{
	(void)lu;
	(void)p;
	return 0;
}

/* Ascending feature code, the order MMC-6 6.6.2 asks for. */
static const struct mmc_feature features[] = {
	{ 0x0000, 0, true, fill_profiles },
	{ 0x0001, 2, true, fill_core },
	{ 0x0002, 1, true, fill_morphing },
	{ 0x0003, 0, true, fill_removable },
	{ 0x0010, 0, false, fill_random_readable },
	{ 0x001f, 0, false, fill_nothing },    /* DVD Read */
	{ 0x0100, 0, true, fill_nothing },     /* Power Management */
};

#define NR_FEATURES (sizeof(features) / sizeof(features[0]))
#define FEATURES_MAX_LEN (NR_FEATURES * 4 + 8 + 8 + 4 + 4 + 8)

static bool feature_current(const struct mmc_feature *f,
			    const struct scsi_lu *lu)
{
	return f->persistent || medium_present(lu);
}

static size_t put_feature(const struct mmc_feature *f,
			  const struct scsi_lu *lu, uint8_t *p)
{
	size_t n = f->fill(lu, p + 4);

	put_be16(p, f->code);
	p[2] = (uint8_t)(f->version << 2);
	if (f->persistent)
		p[2] |= FEATURE_PERSISTENT;
	if (feature_current(f, lu))
		p[2] |= FEATURE_CURRENT;
	p[3] = (uint8_t)n;
	return 4 + n;
}

static bool feature_wanted(const struct mmc_feature *f,
			   const struct scsi_lu *lu, uint8_t rt,
			   uint16_t start)
{
	if (rt == RT_ONE)
		return f->code == start;
	if (f->code < start)
		return false;
	return rt == RT_ALL || feature_current(f, lu);
}

enum scsi_result mmc_get_configuration(struct scsi_cmd *cmd)
{
	const struct scsi_lu *lu = cmd->lu;
	uint8_t buf[8 + FEATURES_MAX_LEN];
	uint8_t rt = cmd->cdb[1] & 0x03;
	uint16_t start = get_be16(cmd->cdb + 2);
	size_t len = 8;

	if (rt > RT_ONE)
		return scsi_bad_cdb(cmd, 1, 1);
	memset(buf, 0, 8);
	for (size_t i = 0; i < NR_FEATURES; i++)
		if (feature_wanted(&features[i], lu, rt, start))
			len += put_feature(&features[i], lu, buf + len);
	/* DATA LENGTH counts what follows it. */
	put_be32(buf, (uint32_t)(len - 4));
	put_be16(buf + 6, current_profile(lu));
	return scsi_reply(cmd, buf, len, get_be16(cmd->cdb + 7));
}

/* GET EVENT STATUS NOTIFICATION (MMC-6 6.7) ------------------------ */

#define GESN_POLLED 0x01
#define CLASS_MEDIA 4
#define CLASS_MEDIA_MASK (1u << CLASS_MEDIA)
#define GESN_NEA 0x80 /* no event available (no class we report) */

void mmc_media_event(struct scsi_lu *lu, uint8_t event)
{
	lu->media_event = event;
}

/* Only polling, and only the media class: the event a load or an eject
 * left, reported once, with whether a disc is in and the tray open. */
enum scsi_result mmc_get_event_status(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;
	uint8_t buf[8];
	size_t len = 4;

	if (!(cmd->cdb[1] & GESN_POLLED))
		return scsi_bad_cdb(cmd, 1, 0);
	memset(buf, 0, sizeof(buf));
	buf[3] = CLASS_MEDIA_MASK; /* SUPPORTED EVENT CLASSES */
	if (!(cmd->cdb[4] & CLASS_MEDIA_MASK)) {
		buf[2] = GESN_NEA;
		put_be16(buf, (uint16_t)(len - 2));
		return scsi_reply(cmd, buf, len, get_be16(cmd->cdb + 7));
	}
	buf[2] = CLASS_MEDIA;
	buf[4] = lu->media_event;
	buf[5] = medium_present(lu) ? 0x02 : 0x01; /* present : tray open */
	len += 4;
	put_be16(buf, (uint16_t)(len - 2));
	lu->media_event = MMC_EVENT_NONE;
	return scsi_reply(cmd, buf, len, get_be16(cmd->cdb + 7));
}

/* READ DISC INFORMATION (MMC-6 6.22): standard disc information of a
 * finalized disc with one complete session of one track. */
enum scsi_result mmc_read_disc_info(struct scsi_cmd *cmd)
{
	uint8_t buf[34];

	if (cmd->cdb[1] & 0x07) /* DATA TYPE: only 000b exists here */
		return scsi_bad_cdb(cmd, 1, 2);
	memset(buf, 0, sizeof(buf));
	put_be16(buf, sizeof(buf) - 2);
	buf[2] = 0x0e; /* last session complete, disc finalized */
	buf[3] = 1;    /* first track on disc */
	buf[4] = 1;    /* sessions */
	buf[5] = 1;    /* first track in last session */
	buf[6] = 1;    /* last track in last session */
	put_be32(buf + 16, 0xffffffff); /* no lead-in of a next session */
	put_be32(buf + 20, 0xffffffff); /* nor a lead-out */
	return scsi_reply(cmd, buf, sizeof(buf), get_be16(cmd->cdb + 7));
}

#define TRACK_BY_LBA 0
#define TRACK_BY_NUMBER 1
#define TRACK_BY_SESSION 2

/* READ TRACK INFORMATION (MMC-6 6.27): track 1, the whole disc, found
 * by one of its LBAs, its number or its session's number. */
enum scsi_result mmc_read_track_info(struct scsi_cmd *cmd)
{
	const struct scsi_lu *lu = cmd->lu;
	uint32_t number = get_be32(cmd->cdb + 2);
	uint64_t blocks = scsi_nr_blocks(lu);
	uint8_t buf[48];

	switch (cmd->cdb[1] & 0x03) {
	case TRACK_BY_LBA:
		if (number >= blocks)
			return scsi_bad_cdb(cmd, 2, 7);
		break;
	case TRACK_BY_NUMBER:
	case TRACK_BY_SESSION:
		if (number != 1)
			return scsi_bad_cdb(cmd, 2, 7);
		break;
	default:
		return scsi_bad_cdb(cmd, 1, 1);
	}
	memset(buf, 0, sizeof(buf));
	put_be16(buf, sizeof(buf) - 2);
	buf[2] = 1;    /* track number */
	buf[3] = 1;    /* session number */
	buf[5] = 0x04; /* track mode: data, recorded uninterrupted */
	buf[6] = 0x01; /* data mode 1 */
	buf[7] = 0x02; /* LRA_V: the last recorded address is valid */
	put_be32(buf + 20, 16);                   /* blocking factor */
	put_be32(buf + 24, (uint32_t)blocks);     /* track size */
	put_be32(buf + 28, (uint32_t)(blocks ? blocks - 1 : 0)); /* LRA */
	return scsi_reply(cmd, buf, sizeof(buf), get_be16(cmd->cdb + 7));
}

/* MECHANISM STATUS (MMC-6 6.11): no changer, no slots; the door (the
 * tray) is open while no disc is in. */
enum scsi_result mmc_mechanism_status(struct scsi_cmd *cmd)
{
	uint8_t buf[8];

	memset(buf, 0, sizeof(buf));
	if (!medium_present(cmd->lu))
		buf[1] = 0x10; /* DOOR OPEN */
	return scsi_reply(cmd, buf, sizeof(buf), get_be16(cmd->cdb + 8));
}

/* SET CD SPEED (MMC-6 6.37): an image has no spindle to slow down. */
enum scsi_result mmc_set_cd_speed(struct scsi_cmd *cmd)
{
	(void)cmd;
	return SCSI_DONE;
}

#define PERF_NOMINAL 0x00     /* GET PERFORMANCE type: performance data */
#define PERF_WRITE_SPEED 0x03 /* ... write speed descriptors */
#define PERF_WRITE 0x04       /* data type: write, not read, performance */
#define READ_SPEED_KBS 2770   /* 2x DVD, what tgt's drive reports */

/* GET PERFORMANCE (MMC-6 6.8): nominal read performance over the whole
 * disc; nothing can be written, so no write performance and no write
 * speed descriptors. */
enum scsi_result mmc_get_performance(struct scsi_cmd *cmd)
{
	const struct scsi_lu *lu = cmd->lu;
	uint8_t buf[8 + 16], type = cmd->cdb[10];
	uint16_t max = get_be16(cmd->cdb + 8);
	uint64_t blocks = scsi_nr_blocks(lu);
	size_t len = 8;

	if (type != PERF_NOMINAL && type != PERF_WRITE_SPEED)
		return scsi_bad_cdb(cmd, 10, 7);
	memset(buf, 0, sizeof(buf));
	if (type == PERF_NOMINAL) {
		buf[4] = cmd->cdb[1] & PERF_WRITE ? 0x02 : 0; /* Write */
		if (!(cmd->cdb[1] & PERF_WRITE) && max && blocks) {
			put_be32(buf + 12, READ_SPEED_KBS);
			put_be32(buf + 16, (uint32_t)(blocks - 1));
			put_be32(buf + 20, READ_SPEED_KBS);
			len += 16;
		}
	}
	put_be32(buf, (uint32_t)(len - 4));
	return scsi_reply(cmd, buf, len, 8 + 16u * max);
}

/* WRITE(10/12) reach a read-only disc: as tgt and MMC-6 answer for a
 * DVD-ROM, the medium cannot be written in its format. */
enum scsi_result mmc_write(struct scsi_cmd *cmd)
{
	return scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_CANNOT_WRITE_FORMAT);
}

/* The MM Capabilities and Mechanical Status mode page (2Ah, MMC-6
 * 7.8), 32 bytes without write speed descriptors: reads DVD-ROM and
 * CD-R/RW discs, writes none, a tray with eject and lock whose lock
 * state is the LU's prevention. Nothing in it is changeable. */
void mmc_capabilities_page(const struct scsi_lu *lu, bool changeable,
			   uint8_t *p)
{
	if (changeable)
		return;
	p[2] = 0x08 | 0x02 | 0x01; /* DVD-ROM, CD-RW, CD-R read */
	p[6] = 0x20 | 0x08 | 0x01; /* tray, Eject, Lock */
	if (lu->prevent_removal)
		p[6] |= 0x02;      /* Lock State */
	put_be16(p + 12, 64);      /* buffer size, KB */
}
