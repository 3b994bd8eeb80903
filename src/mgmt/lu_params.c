/* `--mode logicalunit --op update --params k=v,...` (spec §3.4): tgt's
 * keys, value parsing (atoi, truncated strings) and order of evaluation,
 * but all or nothing: tgt applies the items one by one and keeps what
 * came before a failure; here a failing item changes nothing.
 *
 * Main thread. The items are parsed first, a new medium (`path=`) is
 * opened next, outside the target lock because opening may block; then,
 * under the lock, the items are evaluated in order against the LU's
 * current state and the result is stored at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "mgmt/modes.h"
#include "target/target.h"

enum lu_key {
	K_SCSI_ID, K_SCSI_SN, K_VENDOR_ID, K_PRODUCT_ID, K_PRODUCT_REV,
	K_SENSE_FORMAT, K_LBPPBE, K_LA_LBA, K_XFER_GRAN, K_XFER_LEN,
	K_REMOVABLE, K_READONLY, K_ONLINE, K_MODE_PAGE, K_PATH,
	K_THIN, K_ROTATION_RATE, K_BSOPTS, K_BSOFLAGS,
};

static const char *const key_names[] = {
	[K_SCSI_ID] = "scsi_id", [K_SCSI_SN] = "scsi_sn",
	[K_VENDOR_ID] = "vendor_id", [K_PRODUCT_ID] = "product_id",
	[K_PRODUCT_REV] = "product_rev", [K_SENSE_FORMAT] = "sense_format",
	[K_LBPPBE] = "lbppbe", [K_LA_LBA] = "la_lba",
	[K_XFER_GRAN] = "optimal_xfer_gran", [K_XFER_LEN] = "optimal_xfer_len",
	[K_REMOVABLE] = "removable", [K_READONLY] = "readonly",
	[K_ONLINE] = "online", [K_MODE_PAGE] = "mode_page", [K_PATH] = "path",
	[K_THIN] = "thin_provisioning", [K_ROTATION_RATE] = "rotation_rate",
	[K_BSOPTS] = "bsopts", [K_BSOFLAGS] = "bsoflags",
};

#define NR_KEYS (sizeof(key_names) / sizeof(key_names[0]))
#define MAX_ITEMS 64
/* Mode page bytes we look at (after the 2-byte page header). */
#define MODE_DATA_KEPT 16

/* A parsed mode_page=<page>:<subpage>:<len>:<byte>:... */
struct mode_page_spec {
	bool installed; /* tgt installs a page once it has read <len> */
	uint8_t page, subpage;
	uint16_t len;
	uint8_t data[MODE_DATA_KEPT]; /* page byte 2 onwards, 0-filled */
};

struct lu_item {
	enum lu_key key;
	const char *value;
	struct mode_page_spec mp;
};

/* The LU fields an update may change, staged while the items are
 * evaluated. */
struct lu_settings {
	char vendor_id[9], product_id[17], product_rev[5];
	char scsi_id[37], scsi_sn[37];
	unsigned lbppbe;
	uint16_t la_lba, rotation_rate;
	uint32_t xfer_gran, xfer_len;
	bool sense_descriptor, removable, readonly, thin, online;
	bool write_cache, swp;
	bool has_medium;
	bool new_medium; /* path= evaluated: swap in the opened store */
};

/* tgt's mode page parser: fields separated by ':', numbers with base 0
 * truncated to their type; more data bytes than <len> is an error. */
static bool parse_mode_page(const char *s, struct mode_page_spec *mp)
{
	unsigned i;

	memset(mp, 0, sizeof(*mp));
	for (i = 0; s; i++) {
		long v = strtol(s, NULL, 0);

		if (i == 0)
			mp->page = (uint8_t)v;
		else if (i == 1)
			mp->subpage = (uint8_t)v;
		else if (i == 2) {
			mp->len = (uint16_t)v;
			mp->installed = true;
		} else if (i < mp->len + 3u && i - 3 < MODE_DATA_KEPT)
			mp->data[i - 3] = (uint8_t)v;
		s = strchr(s, ':');
		if (s)
			s++;
	}
	return i <= mp->len + 3u;
}

/* "key=value" with a non-empty value (tgt's "%s" needs one character). */
static enum tgtadm_err parse_item(char *text, struct lu_item *it)
{
	char *eq = strchr(text, '=');

	if (!eq || !eq[1])
		return TGTADM_INVALID_REQUEST;
	*eq = '\0';
	for (size_t k = 0; k < NR_KEYS; k++) {
		if (strcmp(text, key_names[k]))
			continue;
		it->key = (enum lu_key)k;
		it->value = eq + 1;
		/* Recognised by tgt, and refused. */
		if (it->key == K_BSOPTS || it->key == K_BSOFLAGS)
			return TGTADM_INVALID_REQUEST;
		if (it->key == K_MODE_PAGE &&
		    !parse_mode_page(it->value, &it->mp))
			return TGTADM_INVALID_REQUEST;
		return TGTADM_SUCCESS;
	}
	return TGTADM_INVALID_REQUEST;
}

/* Splits the payload: an optional leading "targetOps " (tgt skips its
 * first ten characters), then comma-separated items; empty ones are
 * skipped. Returns the number of items or -error. */
static int parse_items(char *payload, struct lu_item *items)
{
	char *item;
	int n = 0;

	if (!strncmp(payload, "targetOps", 9))
		payload += payload[9] ? 10 : 9;
	while ((item = strsep(&payload, ",")) != NULL) {
		enum tgtadm_err err;

		if (!*item)
			continue;
		if (n == MAX_ITEMS)
			return -TGTADM_INVALID_REQUEST;
		err = parse_item(item, &items[n]);
		if (err)
			return -(int)err;
		n++;
	}
	return n;
}

static void settings_get(struct lu_settings *s, const struct scsi_lu *lu)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->vendor_id, lu->vendor_id, sizeof(s->vendor_id));
	memcpy(s->product_id, lu->product_id, sizeof(s->product_id));
	memcpy(s->product_rev, lu->product_rev, sizeof(s->product_rev));
	memcpy(s->scsi_id, lu->scsi_id, sizeof(s->scsi_id));
	memcpy(s->scsi_sn, lu->scsi_sn, sizeof(s->scsi_sn));
	s->lbppbe = lu->lbppbe;
	s->la_lba = lu->lowest_aligned_lba;
	s->rotation_rate = lu->rotation_rate;
	s->xfer_gran = lu->optimal_xfer_gran;
	s->xfer_len = lu->optimal_xfer_len;
	s->sense_descriptor = lu->sense_descriptor;
	s->removable = lu->removable;
	s->readonly = lu->readonly;
	s->thin = lu->thin_provisioning;
	s->online = lu->online;
	s->write_cache = lu->write_cache;
	s->swp = lu->swp;
	s->has_medium = lu->path != NULL;
}

static void settings_put(const struct lu_settings *s, struct scsi_lu *lu)
{
	memcpy(lu->vendor_id, s->vendor_id, sizeof(s->vendor_id));
	memcpy(lu->product_id, s->product_id, sizeof(s->product_id));
	memcpy(lu->product_rev, s->product_rev, sizeof(s->product_rev));
	memcpy(lu->scsi_id, s->scsi_id, sizeof(s->scsi_id));
	memcpy(lu->scsi_sn, s->scsi_sn, sizeof(s->scsi_sn));
	lu->lbppbe = s->lbppbe;
	lu->lowest_aligned_lba = s->la_lba;
	lu->rotation_rate = s->rotation_rate;
	lu->optimal_xfer_gran = s->xfer_gran;
	lu->optimal_xfer_len = s->xfer_len;
	lu->sense_descriptor = s->sense_descriptor;
	lu->removable = s->removable;
	lu->readonly = s->readonly;
	lu->thin_provisioning = s->thin;
	lu->online = s->online;
	lu->write_cache = s->write_cache;
	lu->swp = s->swp;
}

/* The pages a virtual disk has are built from LU fields (scsi/mode.c), so
 * an installed page is translated into them; others have nowhere to go. */
static void apply_mode_page(struct lu_settings *s,
			    const struct mode_page_spec *mp)
{
	if (!mp->installed)
		return;
	if (mp->page == 0x08 && mp->subpage == 0) {
		s->write_cache = mp->data[0] & 0x04; /* WCE */
		return;
	}
	if (mp->page == 0x0a && mp->subpage == 0) {
		s->sense_descriptor = mp->data[0] & 0x04; /* D_SENSE */
		s->swp = mp->data[2] & 0x08;              /* SWP */
		return;
	}
	log_error("mode page 0x%02x/0x%02x is not kept: only the caching "
		  "(08h) and control (0Ah) pages are", mp->page, mp->subpage);
}

static void copy_text(char *dst, size_t size, const char *v)
{
	snprintf(dst, size, "%.*s", (int)(size - 1), v);
}

/* String and number keys: tgt truncates strings and reads numbers with
 * atoi, so nothing here can fail. */
static bool apply_plain(struct lu_settings *s, const struct lu_item *it)
{
	const char *v = it->value;

	switch (it->key) {
	case K_SCSI_ID: copy_text(s->scsi_id, sizeof(s->scsi_id), v); break;
	case K_SCSI_SN: copy_text(s->scsi_sn, sizeof(s->scsi_sn), v); break;
	case K_VENDOR_ID:
		copy_text(s->vendor_id, sizeof(s->vendor_id), v);
		break;
	case K_PRODUCT_ID:
		copy_text(s->product_id, sizeof(s->product_id), v);
		break;
	case K_PRODUCT_REV:
		copy_text(s->product_rev, sizeof(s->product_rev), v);
		break;
	case K_SENSE_FORMAT: s->sense_descriptor = atoi(v) != 0; break;
	case K_LBPPBE: s->lbppbe = (unsigned)atoi(v); break;
	case K_LA_LBA: s->la_lba = (uint16_t)atoi(v); break;
	case K_XFER_GRAN: s->xfer_gran = (uint32_t)atoi(v); break;
	case K_XFER_LEN: s->xfer_len = (uint32_t)atoi(v); break;
	case K_REMOVABLE: s->removable = atoi(v) != 0; break;
	case K_READONLY: s->readonly = atoi(v) != 0; break;
	case K_THIN: s->thin = atoi(v) != 0; break;
	case K_ROTATION_RATE: s->rotation_rate = (uint16_t)atoi(v); break;
	case K_MODE_PAGE: apply_mode_page(s, &it->mp); break;
	default: return false;
	}
	return true;
}

/* One item, in order, against the staged state; lock held. */
static enum tgtadm_err apply_item(struct lu_settings *s,
				  const struct lu_item *it,
				  const struct scsi_lu *lu)
{
	if (apply_plain(s, it))
		return TGTADM_SUCCESS;
	if (it->key == K_ONLINE) {
		s->online = atoi(it->value) != 0;
		if (s->online)
			return TGTADM_SUCCESS;
		return lu->prevent_removal ? TGTADM_PREVENT_REMOVAL
					   : TGTADM_SUCCESS;
	}
	/* K_PATH: a loaded medium can only be changed while offline, and
	 * a new one brings the LU online (tgt's lu_online). */
	if (s->has_medium && s->online)
		return TGTADM_INVALID_REQUEST;
	if (s->has_medium && lu->prevent_removal)
		return TGTADM_PREVENT_REMOVAL;
	s->has_medium = true;
	s->new_medium = true;
	s->online = true;
	return TGTADM_SUCCESS;
}

static enum tgtadm_err evaluate(struct lu_settings *s,
				const struct lu_item *items, int n,
				const struct scsi_lu *lu)
{
	settings_get(s, lu);
	for (int i = 0; i < n; i++) {
		enum tgtadm_err err = apply_item(s, &items[i], lu);

		if (err)
			return err;
	}
	/* I/O still on the old store must finish before it is replaced. */
	if (s->new_medium && lu->inflight)
		return TGTADM_LUN_ACTIVE;
	return TGTADM_SUCCESS;
}

/* The last path= wins: only that file is opened. */
static const char *new_path(const struct lu_item *items, int n)
{
	const char *path = NULL;

	for (int i = 0; i < n; i++)
		if (items[i].key == K_PATH)
			path = items[i].value;
	return path;
}

/* A new medium, opened before the lock is taken. The store type and
 * flags stay the LU's; only the main thread changes them. */
struct medium {
	struct backing_store bs;
	char *path;
	bool open;
};

static enum tgtadm_err medium_open(struct medium *m, const char *path,
				   const struct scsi_lu *lu)
{
	int ret;

	memset(m, 0, sizeof(*m));
	if (!path)
		return TGTADM_SUCCESS;
	m->path = strdup(path);
	if (!m->path)
		return TGTADM_NOMEM;
	/* An empty CD/DVD drive has no store yet: it gets the default. */
	ret = bs_open(&m->bs, lu->bs.ops ? lu->bs.ops : bs_default(), path,
		      lu->bs.oflags, lu->bs.tag);
	if (ret < 0) {
		log_error("cannot open %s: %s", path, strerror(-ret));
		free(m->path);
		m->path = NULL;
		return TGTADM_INVALID_REQUEST;
	}
	m->open = true;
	return TGTADM_SUCCESS;
}

static void medium_close(struct medium *m)
{
	if (m->open)
		bs_close(&m->bs);
	free(m->path);
}

/* Lock held: the LU takes the new store; the old one comes back in m so
 * that it is closed after the lock is dropped. */
static void medium_swap(struct target *t, struct scsi_lu *lu,
			struct medium *m)
{
	struct backing_store old = lu->bs;
	char *old_path = lu->path;
	uint64_t old_size = lu->size;

	lu->bs = m->bs;
	lu->path = m->path;
	/* A partial last block is not addressable. */
	lu->size = lu->bs.size & ~((1ull << lu->blk_shift) - 1);
	m->bs = old;
	m->path = old_path;
	m->open = old.ops != NULL;
	if (lu->size != old_size)
		scsi_ua_queue_all(t, NULL, lu->lun, ASC_CAPACITY_CHANGED);
}

enum tgtadm_err lu_update(struct target *t, struct scsi_lu *lu, char *payload)
{
	struct lu_item items[MAX_ITEMS];
	struct lu_settings s;
	struct medium m;
	enum tgtadm_err err;
	int n = parse_items(payload, items);

	if (n < 0)
		return (enum tgtadm_err)-n;
	err = medium_open(&m, new_path(items, n), lu);
	if (err)
		return err;
	target_lock(t);
	err = evaluate(&s, items, n, lu);
	if (!err) {
		settings_put(&s, lu);
		if (s.new_medium)
			medium_swap(t, lu, &m);
	}
	target_unlock(t);
	medium_close(&m);
	return err;
}
