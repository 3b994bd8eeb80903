/* Reservation state of a logical unit: registrations, the persistent
 * reservation, the SPC-2 reservation, who matches whom, the unit
 * attentions service actions cause, and iSCSI TransportIDs. The rules of
 * the service actions are in pr_out.c; see pr.h for identities and
 * threading. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/byteorder.h"
#include "common/log.h"
#include "scsi/core.h"
#include "scsi/pr.h"
#include "scsi/scsi.h"
#include "target/target.h"

struct scsi_pr *scsi_pr_new(void)
{
	struct scsi_pr *pr = calloc(1, sizeof(struct scsi_pr));

	if (pr)
		list_init(&pr->parked);
	return pr;
}

void scsi_pr_free(struct scsi_pr *pr)
{
	if (!pr)
		return;
	pr_save_stop(pr);
	pr_state_clear(&pr->st);
	free(pr->path);
	free(pr);
}

void scsi_pr_nexus_gone(struct scsi_lu *lu, const struct it_nexus *nexus)
{
	if (lu->pr && lu->pr->spc2_holder == nexus)
		lu->pr->spc2_holder = NULL;
}

void scsi_pr_lu_reset(struct scsi_lu *lu)
{
	if (lu->pr)
		lu->pr->spc2_holder = NULL;
}

int scsi_pr_set_store(struct scsi_lu *lu, const char *dir,
		      const char *target_name)
{
	struct scsi_pr *pr = lu->pr;
	char *path;
	int ret;

	if (!pr || !dir || !*dir)
		return -EINVAL;
	path = pr_file_path(dir, target_name, lu->lun);
	if (!path)
		return -ENOMEM;
	ret = pr_file_load(path, &pr->st);
	if (ret < 0) {
		/* A damaged file is kept for inspection and not
		 * overwritten until APTPL state changes again. */
		log_error("%s: cannot restore reservations: %s", path,
			  strerror(-ret));
		pr_state_clear(&pr->st);
	} else if (pr->st.nr) {
		log_info("LUN %llu: restored %u registration(s) from %s",
			 (unsigned long long)lu->lun, pr->st.nr, path);
	}
	free(pr->path);
	pr->path = path;
	return 0;
}

/* Identities ------------------------------------------------------- */

void pr_port_of(const struct it_nexus *nexus, struct pr_port *port)
{
	memset(port, 0, sizeof(*port));
	snprintf(port->name, sizeof(port->name), "%s", nexus->initiator);
	memcpy(port->isid, nexus->isid, sizeof(port->isid));
}

/* iSCSI names compare without regard to case (RFC 7143 §4.2.7.1: they
 * are normalised to lower case). */
static bool same_name(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

bool pr_port_matches(const struct pr_port *port, const struct it_nexus *n)
{
	if (!same_name(port->name, n->initiator))
		return false;
	return port->any_isid || !memcmp(port->isid, n->isid, 6);
}

bool pr_port_equal(const struct pr_port *a, const struct pr_port *b)
{
	if (!same_name(a->name, b->name) || a->any_isid != b->any_isid)
		return false;
	return a->any_isid || !memcmp(a->isid, b->isid, 6);
}

int pr_find_port(const struct pr_state *st, const struct pr_port *port)
{
	for (unsigned i = 0; i < st->nr; i++)
		if (pr_port_equal(&st->regs[i].port, port))
			return (int)i;
	return -1;
}

int pr_find(const struct pr_state *st, const struct it_nexus *nexus)
{
	struct pr_port port;
	int i;

	pr_port_of(nexus, &port);
	i = pr_find_port(st, &port);
	if (i >= 0)
		return i;
	for (unsigned j = 0; j < st->nr; j++)
		if (pr_port_matches(&st->regs[j].port, nexus))
			return (int)j;
	return -1;
}

/* Registrations and the reservation ---------------------------------- */

bool pr_all_registrants(uint8_t type)
{
	return type == PR_TYPE_WEAR || type == PR_TYPE_EAAR;
}

bool pr_registrants_type(uint8_t type)
{
	return type == PR_TYPE_WERO || type == PR_TYPE_EARO ||
	       pr_all_registrants(type);
}

bool pr_type_valid(uint8_t type)
{
	switch (type) {
	case PR_TYPE_WE:
	case PR_TYPE_EA:
	case PR_TYPE_WERO:
	case PR_TYPE_EARO:
	case PR_TYPE_WEAR:
	case PR_TYPE_EAAR:
		return true;
	default:
		return false;
	}
}

bool pr_is_holder(const struct pr_state *st, unsigned i)
{
	if (st->type == PR_TYPE_NONE)
		return false;
	return pr_all_registrants(st->type) || st->regs[i].holder;
}

bool pr_add(struct pr_state *st, const struct pr_port *port, uint64_t key,
	    bool all_tg_pt)
{
	struct pr_reg *regs;

	if (st->nr >= PR_MAX_REGS)
		return false;
	regs = realloc(st->regs, (st->nr + 1) * sizeof(*regs));
	if (!regs)
		return false;
	st->regs = regs;
	memset(&regs[st->nr], 0, sizeof(regs[0]));
	regs[st->nr].port = *port;
	regs[st->nr].key = key;
	regs[st->nr].all_tg_pt = all_tg_pt;
	st->nr++;
	return true;
}

void pr_release(struct pr_state *st)
{
	st->type = PR_TYPE_NONE;
	for (unsigned i = 0; i < st->nr; i++)
		st->regs[i].holder = false;
}

/* Removing the holder ends the reservation; an all-registrants
 * reservation ends with its last registrant (SPC-4 5.13.11.1). */
void pr_remove(struct pr_state *st, unsigned i)
{
	if (st->regs[i].holder)
		pr_release(st);
	memmove(&st->regs[i], &st->regs[i + 1],
		(st->nr - i - 1) * sizeof(st->regs[0]));
	st->nr--;
	if (st->nr == 0)
		pr_release(st);
}

int pr_state_copy(struct pr_state *dst, const struct pr_state *src)
{
	*dst = *src;
	dst->regs = NULL;
	if (!src->nr)
		return 0;
	dst->regs = malloc(src->nr * sizeof(src->regs[0]));
	if (!dst->regs)
		return -ENOMEM;
	memcpy(dst->regs, src->regs, src->nr * sizeof(src->regs[0]));
	return 0;
}

void pr_state_clear(struct pr_state *st)
{
	free(st->regs);
	memset(st, 0, sizeof(*st));
}

/* Unit attentions ---------------------------------------------------- */

void pr_effect(struct pr_effects *fx, const struct pr_port *port,
	       uint16_t asc)
{
	struct pr_ua *ua;

	for (unsigned i = 0; i < fx->nr; i++)
		if (fx->ua[i].asc == asc &&
		    pr_port_equal(&fx->ua[i].port, port))
			return;
	if (fx->nr == fx->cap) {
		unsigned cap = fx->cap ? 2 * fx->cap : 8;

		ua = realloc(fx->ua, cap * sizeof(*ua));
		if (!ua) {
			fx->lost = true;
			return;
		}
		fx->ua = ua;
		fx->cap = cap;
	}
	fx->ua[fx->nr].port = *port;
	fx->ua[fx->nr].asc = asc;
	fx->nr++;
}

void pr_effect_registrants(struct pr_effects *fx, const struct pr_state *st,
			   const struct it_nexus *issuer, uint16_t asc)
{
	for (unsigned i = 0; i < st->nr; i++) {
		const struct pr_port *port = &st->regs[i].port;

		/* The issuer's own port is skipped at delivery; a port
		 * that is only the issuer needs no entry. */
		if (!port->any_isid && pr_port_matches(port, issuer))
			continue;
		pr_effect(fx, port, asc);
	}
}

void pr_effects_deliver(struct scsi_lu *lu, const struct it_nexus *issuer,
			struct pr_effects *fx)
{
	struct it_nexus *n;

	if (fx->lost)
		log_error("LUN %llu: out of memory, reservation unit "
			  "attentions lost", (unsigned long long)lu->lun);
	if (lu->target) {
		list_for_each_entry(n, &lu->target->nexuses, node) {
			if (n == issuer)
				continue;
			for (unsigned i = 0; i < fx->nr; i++)
				if (pr_port_matches(&fx->ua[i].port, n))
					scsi_ua_queue(n, lu->lun, fx->ua[i].asc);
		}
	}
	free(fx->ua);
	memset(fx, 0, sizeof(*fx));
}

/* iSCSI TransportIDs (SPC-4 7.6.4.6) --------------------------------- */

#define TID_PROTO_ISCSI 0x5
#define TID_FMT_NAME 0x00      /* 00b: iSCSI name */
#define TID_FMT_PORT 0x40      /* 01b: iSCSI name, ",i,0x", ISID */
#define TID_SEPARATOR ",i,0x"
#define TID_MIN_LEN 24         /* ADDITIONAL LENGTH at least 20 */

unsigned pr_tid_build(const struct pr_port *port, uint8_t *buf)
{
	char *text = (char *)buf + 4;
	size_t room = PR_TID_MAX - 4, n;
	unsigned len;

	memset(buf, 0, PR_TID_MAX);
	if (port->any_isid) {
		buf[0] = TID_FMT_NAME | TID_PROTO_ISCSI;
		n = (size_t)snprintf(text, room, "%s", port->name);
	} else {
		const uint8_t *id = port->isid;

		buf[0] = TID_FMT_PORT | TID_PROTO_ISCSI;
		n = (size_t)snprintf(text, room,
				     "%s" TID_SEPARATOR "%02x%02x%02x%02x%02x%02x",
				     port->name, id[0], id[1], id[2], id[3],
				     id[4], id[5]);
	}
	/* NUL-terminated, padded to a multiple of four. */
	len = (unsigned)(4 + n + 1 + 3) & ~3u;
	if (len < TID_MIN_LEN)
		len = TID_MIN_LEN;
	put_be16(buf + 2, (uint16_t)(len - 4));
	return len;
}

static bool parse_isid(const char *hex, uint8_t isid[6])
{
	for (int i = 0; i < 12; i++)
		if (!isxdigit((unsigned char)hex[i]))
			return false;
	if (hex[12] != '\0')
		return false;
	for (int i = 0; i < 6; i++) {
		char byte[3] = { hex[2 * i], hex[2 * i + 1], 0 };

		isid[i] = (uint8_t)strtoul(byte, NULL, 16);
	}
	return true;
}

/* Splits "name,i,0xISID" (format 01b) or takes "name" (00b). */
static bool parse_tid_text(const char *text, bool with_isid,
			   struct pr_port *port)
{
	const char *sep = with_isid ? strstr(text, ",i,0x") : NULL;
	size_t n = with_isid ? (size_t)(sep - text) : strlen(text);

	if (with_isid && (!sep || !parse_isid(sep + 5, port->isid)))
		return false;
	if (n == 0 || n >= sizeof(port->name))
		return false;
	memcpy(port->name, text, n);
	port->name[n] = '\0';
	port->any_isid = !with_isid;
	return true;
}

unsigned pr_tid_parse(const uint8_t *p, uint32_t len, struct pr_port *port)
{
	uint32_t addl, total;
	uint8_t fmt;

	memset(port, 0, sizeof(*port));
	if (len < 4)
		return 0;
	fmt = p[0] & 0xc0;
	addl = get_be16(p + 2);
	total = 4 + addl;
	if ((p[0] & 0x0f) != TID_PROTO_ISCSI || (p[0] & 0x30) ||
	    (fmt != TID_FMT_NAME && fmt != TID_FMT_PORT))
		return 0;
	if (total < TID_MIN_LEN || addl % 4 || total > len)
		return 0;
	/* The text must end within the descriptor. */
	if (strnlen((const char *)p + 4, addl) == addl)
		return 0;
	if (!parse_tid_text((const char *)p + 4, fmt == TID_FMT_PORT, port))
		return 0;
	return total;
}
