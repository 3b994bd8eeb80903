#include "iscsi/keys.h"

#include <stdlib.h>
#include <string.h>

/* When a key may be used (RFC 7143 §13 "Use"). */
enum key_use {
	USE_IO,   /* during login (any connection) */
	USE_LO,   /* during the login of the leading connection */
	USE_ALL,  /* during login and in full feature phase */
	USE_FFPO, /* in full feature phase only */
};

/* Login stages a key may appear in. */
#define IN_SECURITY 0x1
#define IN_OPERATIONAL 0x2
#define ANY_STAGE (IN_SECURITY | IN_OPERATIONAL)

struct key_rule {
	const char *name;
	uint8_t use;           /* enum key_use */
	uint8_t stages;        /* IN_* */
	bool target_only;      /* "Senders: Target" */
	bool discovery_irrelevant; /* "Irrelevant when: SessionType=Discovery" */
	bool binary;           /* CHAP binary values: length is the decoder's */
};

static const struct key_rule rules[] = {
	/* Security keys (§12): the security stage only. */
	{ "AuthMethod", USE_IO, IN_SECURITY, false, false, false },
	{ "CHAP_A", USE_IO, IN_SECURITY, false, false, false },
	{ "CHAP_I", USE_IO, IN_SECURITY, false, false, false },
	{ "CHAP_C", USE_IO, IN_SECURITY, false, false, true },
	{ "CHAP_N", USE_IO, IN_SECURITY, false, false, false },
	{ "CHAP_R", USE_IO, IN_SECURITY, false, false, true },
	/* Declarative Any-Stage keys (§13.4-13.9, §13.21). SessionType is
	 * LO by the RFC, but initiators declare it on every connection's
	 * login and it decides nothing there: it is taken as IO. */
	{ "SessionType", USE_IO, ANY_STAGE, false, false, false },
	{ "InitiatorName", USE_IO, ANY_STAGE, false, false, false },
	{ "TargetName", USE_IO, ANY_STAGE, false, false, false },
	{ "InitiatorAlias", USE_ALL, ANY_STAGE, false, false, false },
	{ "TargetAlias", USE_ALL, ANY_STAGE, true, false, false },
	{ "TargetAddress", USE_ALL, ANY_STAGE, true, false, false },
	{ "TargetPortalGroupTag", USE_IO, ANY_STAGE, true, false, false },
	{ "SendTargets", USE_FFPO, 0, false, false, false },
	/* Operational keys (§13). */
	{ "HeaderDigest", USE_IO, IN_OPERATIONAL, false, false, false },
	{ "DataDigest", USE_IO, IN_OPERATIONAL, false, false, false },
	{ "MaxConnections", USE_LO, IN_OPERATIONAL, false, true, false },
	{ "InitialR2T", USE_LO, IN_OPERATIONAL, false, true, false },
	{ "ImmediateData", USE_LO, IN_OPERATIONAL, false, true, false },
	{ "MaxRecvDataSegmentLength", USE_ALL, IN_OPERATIONAL, false, false,
	  false },
	{ "MaxBurstLength", USE_LO, IN_OPERATIONAL, false, true, false },
	{ "FirstBurstLength", USE_LO, IN_OPERATIONAL, false, true, false },
	{ "DefaultTime2Wait", USE_LO, IN_OPERATIONAL, false, false, false },
	{ "DefaultTime2Retain", USE_LO, IN_OPERATIONAL, false, false, false },
	{ "MaxOutstandingR2T", USE_LO, IN_OPERATIONAL, false, true, false },
	{ "DataPDUInOrder", USE_LO, IN_OPERATIONAL, false, true, false },
	{ "DataSequenceInOrder", USE_LO, IN_OPERATIONAL, false, true, false },
	{ "ErrorRecoveryLevel", USE_LO, IN_OPERATIONAL, false, false, false },
	{ "TaskReporting", USE_LO, IN_OPERATIONAL, false, true, false },
	{ "iSCSIProtocolLevel", USE_IO, IN_OPERATIONAL, false, true, false },
	/* Obsoleted by RFC 7143, still answered (its "Obsoleted Keys"). */
	{ "IFMarker", USE_IO, IN_OPERATIONAL, false, false, false },
	{ "OFMarker", USE_IO, IN_OPERATIONAL, false, false, false },
	{ "IFMarkInt", USE_IO, IN_OPERATIONAL, false, false, false },
	{ "OFMarkInt", USE_IO, IN_OPERATIONAL, false, false, false },
	/* iSER (RFC 7145 §6). */
	{ "RDMAExtensions", USE_LO, IN_OPERATIONAL, false, false, false },
	{ "TargetRecvDataSegmentLength", USE_IO, IN_OPERATIONAL, false, false,
	  false },
	{ "InitiatorRecvDataSegmentLength", USE_IO, IN_OPERATIONAL, false,
	  false, false },
	{ "MaxOutstandingUnexpectedPDUs", USE_LO, IN_OPERATIONAL, false,
	  false, false },
};

static const struct key_rule *find_rule(const char *key)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (!strcmp(rules[i].name, key)) /* names are case sensitive */
			return &rules[i];
	return NULL;
}

bool iscsi_key_leading_only(const char *key)
{
	const struct key_rule *r = find_rule(key);

	return r && r->use == USE_LO;
}

/* RFC 7143 §6.2: these constants are answers only; offering one is a
 * protocol error. */
static bool reserved_answer(const char *value)
{
	return !strcmp(value, "NotUnderstood") ||
	       !strcmp(value, "Irrelevant") || !strcmp(value, "Reject");
}

/* The text format, whatever the key (§6.1, §6.2). */
static const char *format_error(const char *key, const char *value,
				const struct key_rule *r)
{
	if (!value)
		return "a pair without '='";
	if (!*key)
		return "an empty key name";
	if (strlen(key) > ISCSI_KEY_NAME_MAX)
		return "a key name longer than 63 bytes";
	if (!(r && r->binary) && strlen(value) > ISCSI_KEY_VALUE_MAX)
		return "a value longer than 255 bytes";
	if (reserved_answer(value))
		return "an answer constant offered as a value";
	return NULL;
}

/* Login-only keys were settled by the login: nothing to renegotiate in
 * full feature phase. */
static enum key_verdict full_feature_verdict(const struct key_rule *r)
{
	return r->use == USE_FFPO || r->use == USE_ALL ? KEY_NEGOTIATE
						       : KEY_IRRELEVANT;
}

static enum key_verdict login_verdict(const struct key_rule *r,
				      const struct key_context *ctx,
				      const char **why)
{
	uint8_t stage = ctx->phase == KEY_PHASE_SECURITY ? IN_SECURITY
							 : IN_OPERATIONAL;

	if (r->use == USE_FFPO) {
		*why = "a full-feature-phase key during login";
		return KEY_PROTOCOL_ERROR;
	}
	if (!(r->stages & stage)) {
		*why = stage == IN_SECURITY
			       ? "an operational key in the security stage"
			       : "a security key in the operational stage";
		return KEY_PROTOCOL_ERROR;
	}
	if (ctx->discovery && r->discovery_irrelevant)
		return KEY_IRRELEVANT;
	if (r->use == USE_LO && !ctx->leading)
		return KEY_IRRELEVANT; /* settled by the leading login */
	return KEY_NEGOTIATE;
}

enum key_verdict iscsi_key_check(const char *key, const char *value,
				 const struct key_context *ctx,
				 const char **why)
{
	const struct key_rule *r = find_rule(key);

	*why = format_error(key, value, r);
	if (*why)
		return KEY_PROTOCOL_ERROR;
	if (!r)
		return KEY_NOT_UNDERSTOOD;
	if (r->target_only) {
		*why = "a key only a target may send";
		return KEY_PROTOCOL_ERROR;
	}
	if (ctx->phase == KEY_PHASE_FULL_FEATURE)
		return full_feature_verdict(r);
	return login_verdict(r, ctx, why);
}

enum key_seen_result key_seen_add(struct key_seen *s, const char *key)
{
	char *copy;

	for (uint32_t i = 0; i < s->count; i++)
		if (!strcmp(s->names[i], key))
			return KEY_SEEN_REPEATED;
	if (s->count == KEY_SEEN_MAX)
		return KEY_SEEN_FULL;
	if (s->count == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 32;
		char **names = realloc(s->names, cap * sizeof(*names));

		if (!names)
			return KEY_SEEN_FULL;
		s->names = names;
		s->cap = cap;
	}
	copy = strdup(key);
	if (!copy)
		return KEY_SEEN_FULL;
	s->names[s->count++] = copy;
	return KEY_SEEN_NEW;
}

void key_seen_free(struct key_seen *s)
{
	for (uint32_t i = 0; i < s->count; i++)
		free(s->names[i]);
	free(s->names);
	s->names = NULL;
	s->count = s->cap = 0;
}
