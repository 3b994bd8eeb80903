#include "iscsi/params.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum key_kind {
	KEY_DECLARATIVE, /* each side states its own value */
	KEY_MIN,         /* numeric, lower value wins */
	KEY_MAX,         /* numeric, higher value wins */
	KEY_MIN_OR_ZERO, /* numeric, 0 or >= 2, lower wins */
	KEY_OR,          /* boolean, Yes if either says Yes */
	KEY_AND,         /* boolean, Yes only if both say Yes */
	KEY_DIGEST,      /* list of None/CRC32C */
	KEY_MARKINT,     /* markers are not supported: always Reject */
	KEY_LOCAL,       /* target-side only, never negotiated */
};

struct key_def {
	const char *name;
	enum key_kind kind;
	uint32_t target_default;
	uint32_t rfc_default;
	uint32_t min, max;
};

/* RFC 7145 iSER keys are "Irrelevant when: RDMAExtensions=No", which it
 * always is on TCP. They stay in the table for tgtadm's show and update. */
static bool iser_only(int idx)
{
	return idx == ISCSI_PARAM_TARGET_RDSL ||
	       idx == ISCSI_PARAM_INITIATOR_RDSL ||
	       idx == ISCSI_PARAM_MAX_OUTST_PDU;
}

static const struct key_def keys[ISCSI_PARAM_COUNT] = {
	[ISCSI_PARAM_MAX_RECV_DLENGTH] = { "MaxRecvDataSegmentLength",
		KEY_DECLARATIVE, 8192, 8192, 512, 16777215 },
	[ISCSI_PARAM_HDRDGST] = { "HeaderDigest", KEY_DIGEST,
		ISCSI_DIGEST_NONE, ISCSI_DIGEST_NONE, 0, 3 },
	[ISCSI_PARAM_DATADGST] = { "DataDigest", KEY_DIGEST,
		ISCSI_DIGEST_NONE, ISCSI_DIGEST_NONE, 0, 3 },
	[ISCSI_PARAM_INITIAL_R2T] = { "InitialR2T", KEY_OR, 1, 1, 0, 1 },
	[ISCSI_PARAM_MAX_OUTSTANDING_R2T] = { "MaxOutstandingR2T", KEY_MIN,
		1, 1, 1, 65535 },
	[ISCSI_PARAM_IMMEDIATE_DATA] = { "ImmediateData", KEY_AND, 1, 1, 0,
		1 },
	[ISCSI_PARAM_FIRST_BURST] = { "FirstBurstLength", KEY_MIN, 65536,
		65536, 512, 16777215 },
	[ISCSI_PARAM_MAX_BURST] = { "MaxBurstLength", KEY_MIN, 262144, 262144,
		512, 16777215 },
	[ISCSI_PARAM_DATAPDU_INORDER] = { "DataPDUInOrder", KEY_OR, 1, 1, 0,
		1 },
	[ISCSI_PARAM_DATASEQ_INORDER] = { "DataSequenceInOrder", KEY_OR, 1,
		1, 0, 1 },
	[ISCSI_PARAM_ERL] = { "ErrorRecoveryLevel", KEY_MIN, 0, 0, 0, 2 },
	[ISCSI_PARAM_IFMARKER] = { "IFMarker", KEY_AND, 0, 0, 0, 1 },
	[ISCSI_PARAM_OFMARKER] = { "OFMarker", KEY_AND, 0, 0, 0, 1 },
	[ISCSI_PARAM_DEFAULT_WAIT] = { "DefaultTime2Wait", KEY_MAX, 2, 2, 0,
		3600 },
	[ISCSI_PARAM_DEFAULT_RETAIN] = { "DefaultTime2Retain", KEY_MIN, 20,
		20, 0, 3600 },
	[ISCSI_PARAM_OFMARKINT] = { "OFMarkInt", KEY_MARKINT, 2048, 2048, 1,
		65535 },
	[ISCSI_PARAM_IFMARKINT] = { "IFMarkInt", KEY_MARKINT, 2048, 2048, 1,
		65535 },
	[ISCSI_PARAM_MAX_CONNECTIONS] = { "MaxConnections", KEY_MIN, 1, 1, 1,
		65535 },
	[ISCSI_PARAM_RDMA_EXTENSIONS] = { "RDMAExtensions", KEY_AND, 1, 0, 0,
		1 },
	[ISCSI_PARAM_TARGET_RDSL] = { "TargetRecvDataSegmentLength",
		KEY_DECLARATIVE, 262144, 8192, 512, 16777215 },
	[ISCSI_PARAM_INITIATOR_RDSL] = { "InitiatorRecvDataSegmentLength",
		KEY_DECLARATIVE, 262144, 8192, 512, 16777215 },
	[ISCSI_PARAM_MAX_OUTST_PDU] = { "MaxOutstandingUnexpectedPDUs",
		KEY_MIN_OR_ZERO, 0, 0, 0, 0xffffffffu },
	[ISCSI_PARAM_MAX_XMIT_DLENGTH] = { "MaxXmitDataSegmentLength",
		KEY_LOCAL, 8192, 8192, 512, 16777215 },
	[ISCSI_PARAM_MAX_QUEUE_CMD] = { "MaxQueueCmd", KEY_LOCAL, 128, 128, 1,
		512 },
};

void iscsi_params_target_defaults(struct iscsi_params *p)
{
	for (int i = 0; i < ISCSI_PARAM_COUNT; i++)
		p->val[i] = keys[i].target_default;
}

void iscsi_params_rfc_defaults(struct iscsi_params *p)
{
	for (int i = 0; i < ISCSI_PARAM_COUNT; i++)
		p->val[i] = keys[i].rfc_default;
}

void iscsi_params_settle(struct iscsi_params *p)
{
	if (p->val[ISCSI_PARAM_FIRST_BURST] > p->val[ISCSI_PARAM_MAX_BURST])
		p->val[ISCSI_PARAM_FIRST_BURST] = p->val[ISCSI_PARAM_MAX_BURST];
}

const char *iscsi_param_name(enum iscsi_param idx)
{
	return keys[idx].name;
}

static const char *yes_no(uint32_t v)
{
	return v ? "Yes" : "No";
}

void iscsi_param_format(enum iscsi_param idx, uint32_t val, char *buf,
			size_t size)
{
	switch (keys[idx].kind) {
	case KEY_OR:
	case KEY_AND:
		snprintf(buf, size, "%s", yes_no(val));
		break;
	case KEY_DIGEST:
		snprintf(buf, size, "%s",
			 val & ISCSI_DIGEST_CRC32C ? "CRC32C" : "None");
		break;
	case KEY_MARKINT:
		snprintf(buf, size, "%s", val ? "Reject" : "Irrelevant");
		break;
	default:
		snprintf(buf, size, "%u", val);
		break;
	}
}

static int find_key(const char *name, bool case_sensitive)
{
	for (int i = 0; i < ISCSI_PARAM_COUNT; i++) {
		int diff = case_sensitive ? strcmp(keys[i].name, name)
					  : strcasecmp(keys[i].name, name);

		if (!diff)
			return i;
	}
	return -1;
}

/* Strict decimal/hex number parse as tgt's strtol(…, 0). */
static bool parse_number(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > 0xffffffffull)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* A numerical value as RFC 7143 §6.1 writes it: a decimal constant without
 * leading zeros, or 0x/0X and hex digits; no sign, no spaces, no octal. */
static bool parse_rfc_number(const char *s, uint32_t *out)
{
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	const char *digits = hex ? s + 2 : s;
	size_t n = strspn(digits, hex ? "0123456789abcdefABCDEF"
				      : "0123456789");

	if (n == 0 || digits[n] != '\0')
		return false;
	if (!hex && n > 1 && digits[0] == '0')
		return false;
	return parse_number(s, out);
}

static bool parse_bool(const char *s, uint32_t *out)
{
	if (!strcmp(s, "Yes"))
		*out = 1;
	else if (!strcmp(s, "No"))
		*out = 0;
	else
		return false;
	return true;
}

/* A comma-separated digest list into a bit set; unknown names ignored (the
 * RFC lets an initiator offer values we do not know). */
static uint32_t parse_digest_list(const char *s)
{
	uint32_t set = 0;
	const char *p = s;

	while (*p) {
		size_t n = strcspn(p, ",");

		if (n == 4 && !strncmp(p, "None", 4))
			set |= ISCSI_DIGEST_NONE;
		else if (n == 6 && !strncmp(p, "CRC32C", 6))
			set |= ISCSI_DIGEST_CRC32C;
		p += n;
		if (*p == ',')
			p++;
	}
	return set;
}

static bool value_in_range(const struct key_def *k, uint32_t v)
{
	if (k->kind == KEY_MIN_OR_ZERO)
		return v == 0 || v >= 2;
	return v >= k->min && v <= k->max;
}

bool iscsi_param_update(struct iscsi_params *p, const char *name,
			const char *value, bool *known)
{
	int idx = find_key(name, false);
	const struct key_def *k;
	uint32_t v;

	*known = idx >= 0;
	if (idx < 0)
		return false;
	k = &keys[idx];
	switch (k->kind) {
	case KEY_OR:
	case KEY_AND:
		if (!parse_bool(value, &v))
			return false;
		break;
	case KEY_DIGEST:
		v = parse_digest_list(value);
		if (!v)
			return false;
		/* As tgt: None stays acceptable, so that enabling CRC32C
		 * does not lock out initiators that only offer None. */
		v |= ISCSI_DIGEST_NONE;
		break;
	default:
		if (!parse_number(value, &v) || !value_in_range(k, v))
			return false;
		break;
	}
	p->val[idx] = v;
	return true;
}

/* Digests this transport implements. */
#define SUPPORTED_DIGESTS (ISCSI_DIGEST_NONE | ISCSI_DIGEST_CRC32C)

/* As tgt: a target with CRC32C enabled uses it with every initiator that
 * offers it, wherever CRC32C stands in the initiator's list (libiscsi and
 * QEMU offer "None,CRC32C"). RFC 7143 §6.2.1 lets the responder choose
 * among the values it allows a given originator; None is allowed only to
 * initiators that cannot do CRC32C. */
static void negotiate_digest(uint32_t target_set, const char *offer,
			     uint32_t *out, char *answer, size_t size)
{
	uint32_t common = parse_digest_list(offer) & target_set &
			  SUPPORTED_DIGESTS;

	if (common & ISCSI_DIGEST_CRC32C)
		*out = ISCSI_DIGEST_CRC32C;
	else if (common & ISCSI_DIGEST_NONE)
		*out = ISCSI_DIGEST_NONE;
	else {
		snprintf(answer, size, "Reject");
		return;
	}
	snprintf(answer, size, "%s",
		 *out == ISCSI_DIGEST_CRC32C ? "CRC32C" : "None");
}

static void negotiate_number(const struct key_def *k, uint32_t mine,
			     uint32_t offered, uint32_t *out, char *answer,
			     size_t size)
{
	uint32_t result;

	if (k->kind == KEY_MAX)
		result = offered > mine ? offered : mine;
	else if (k->kind == KEY_MIN_OR_ZERO && (offered == 0 || mine == 0))
		result = 0;
	else
		result = offered < mine ? offered : mine;
	*out = result;
	snprintf(answer, size, "%u", result);
}

/* Yes/No keys: OR or AND of the offer and the target's value. */
static void negotiate_bool(const struct key_def *k, uint32_t mine,
			   uint32_t offered, uint32_t *out, char *answer,
			   size_t size)
{
	*out = k->kind == KEY_OR ? (offered || mine) : (offered && mine);
	snprintf(answer, size, "%s", yes_no(*out));
}

/* MaxRecvDataSegmentLength: the initiator's receive limit is our transmit
 * limit. Our own is declared separately; declarations get no answer. */
static void take_declaration(uint32_t offered, struct iscsi_params *conn,
			     char *answer)
{
	conn->val[ISCSI_PARAM_MAX_XMIT_DLENGTH] = offered;
	answer[0] = '\0';
}

/* A parsed, admissible offer of a key of the table. */
static void negotiate_value(const struct iscsi_params *target,
			    struct iscsi_params *conn, int idx, uint32_t v,
			    char *answer, size_t size)
{
	const struct key_def *k = &keys[idx];

	switch (k->kind) {
	case KEY_DECLARATIVE:
		take_declaration(v, conn, answer);
		break;
	case KEY_OR:
	case KEY_AND:
		negotiate_bool(k, target->val[idx], v, &conn->val[idx], answer,
			       size);
		break;
	default:
		negotiate_number(k, target->val[idx], v, &conn->val[idx],
				 answer, size);
		break;
	}
	/* An answer must not exceed the MaxBurstLength settled so far (a
	 * later, smaller one is applied by iscsi_params_settle). */
	if (idx == ISCSI_PARAM_FIRST_BURST &&
	    conn->val[idx] > conn->val[ISCSI_PARAM_MAX_BURST]) {
		conn->val[idx] = conn->val[ISCSI_PARAM_MAX_BURST];
		snprintf(answer, size, "%u", conn->val[idx]);
	}
}

/* Parses an offer of a Yes/No or numerical key; false if it is not an
 * admissible value. */
static bool parse_offer(const struct key_def *k, const char *value,
			uint32_t *v)
{
	if (k->kind == KEY_OR || k->kind == KEY_AND)
		return parse_bool(value, v);
	return parse_rfc_number(value, v) && value_in_range(k, v[0]);
}

/* TaskReporting (RFC 7143 §13.23): the responses and aborts keep the
 * RFC 3720 semantics; neither ResponseFence nor FastAbort is offered. */
static void negotiate_task_reporting(const char *offer, char *answer,
				     size_t size)
{
	const char *p = offer;

	while (*p) {
		size_t n = strcspn(p, ",");

		if (n == 7 && !strncmp(p, "RFC3720", 7)) {
			snprintf(answer, size, "RFC3720");
			return;
		}
		p += n + (p[n] == ',');
	}
	snprintf(answer, size, "Reject");
}

/* iSCSIProtocolLevel (RFC 7143 §13.24): this target implements RFC 7143,
 * level 1; the lower of the two wins. */
#define PROTOCOL_LEVEL 1
#define PROTOCOL_LEVEL_MAX 31

static void negotiate_protocol_level(const char *offer, char *answer,
				     size_t size)
{
	uint32_t v;

	if (!parse_rfc_number(offer, &v) || v > PROTOCOL_LEVEL_MAX)
		snprintf(answer, size, "Reject");
	else
		snprintf(answer, size, "%u", v < PROTOCOL_LEVEL ? v
							      : PROTOCOL_LEVEL);
}

/* Keys negotiated without a place in the parameter table: their only
 * outcome is fixed by what this target implements. */
static bool negotiate_fixed(const char *key, const char *value, char *answer,
			    size_t size)
{
	if (!strcmp(key, "TaskReporting"))
		negotiate_task_reporting(value, answer, size);
	else if (!strcmp(key, "iSCSIProtocolLevel"))
		negotiate_protocol_level(value, answer, size);
	else
		return false;
	return true;
}

/* An offer that is not admissible: Reject, except for a declaration, which
 * has no answer to carry it. */
static enum iscsi_nego_result refuse_offer(const struct key_def *k,
					   char *answer, size_t size)
{
	if (k->kind == KEY_DECLARATIVE)
		return ISCSI_NEGO_BAD_DECLARATION;
	snprintf(answer, size, "Reject");
	return ISCSI_NEGO_ANSWERED;
}

enum iscsi_nego_result iscsi_param_negotiate(const struct iscsi_params *target,
					     struct iscsi_params *conn,
					     const char *key, const char *value,
					     char *answer, size_t size)
{
	int idx = find_key(key, true);
	const struct key_def *k;
	uint32_t v;

	if (negotiate_fixed(key, value, answer, size))
		return ISCSI_NEGO_ANSWERED;
	if (idx < 0 || keys[idx].kind == KEY_LOCAL)
		return ISCSI_NEGO_NOT_MINE;
	k = &keys[idx];
	if (iser_only(idx))
		snprintf(answer, size, "Irrelevant");
	else if (k->kind == KEY_DIGEST)
		negotiate_digest(target->val[idx], value, &conn->val[idx],
				 answer, size);
	else if (k->kind == KEY_MARKINT)
		snprintf(answer, size, "Reject");
	else if (!parse_offer(k, value, &v))
		return refuse_offer(k, answer, size);
	else if (idx == ISCSI_PARAM_RDMA_EXTENSIONS) /* no RDMA on TCP */
		snprintf(answer, size, "No");
	else
		negotiate_value(target, conn, idx, v, answer, size);
	return ISCSI_NEGO_ANSWERED;
}

void kv_text_init(struct kv_text *t, uint32_t cap)
{
	t->buf = malloc(cap);
	t->len = 0;
	t->cap = t->buf ? cap : 0;
	t->overflow = false;
}

void kv_text_free(struct kv_text *t)
{
	free(t->buf);
	t->buf = NULL;
	t->len = t->cap = 0;
}

void kv_text_add(struct kv_text *t, const char *key, const char *value)
{
	size_t klen = strlen(key), vlen = strlen(value);
	size_t need = klen + 1 + vlen + 1;

	if (t->len + need > t->cap) {
		t->overflow = true;
		return;
	}
	memcpy(t->buf + t->len, key, klen);
	t->buf[t->len + klen] = '=';
	memcpy(t->buf + t->len + klen + 1, value, vlen);
	t->buf[t->len + need - 1] = '\0';
	t->len += (uint32_t)need;
}

bool kv_next(char **cursor, char *end, char **key, char **value)
{
	char *p = *cursor, *nul, *eq;

	/* Skip empty pairs (padding NULs). */
	while (p < end && *p == '\0')
		p++;
	if (p >= end)
		return false;
	nul = memchr(p, '\0', (size_t)(end - p));
	if (!nul) /* unterminated last pair: the caller guarantees a spare
		   * byte after `end`, so terminate it there */
		nul = end;
	*nul = '\0';
	eq = strchr(p, '=');
	*key = p;
	if (eq) {
		*eq = '\0';
		*value = eq + 1;
	} else {
		*value = NULL;
	}
	*cursor = nul + 1;
	return true;
}
