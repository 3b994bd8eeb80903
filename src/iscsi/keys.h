/* The rules of RFC 7143 text keys (§6.1-6.2, §12, §13, and the iSER keys
 * of RFC 7145) that decide, before any value is negotiated, whether a
 * key=value pair may appear where it does: in which login stage or in the
 * full feature phase, on which connection, from which side, and in which
 * text format. The value negotiation itself is params.c's. */
#ifndef MTGT_ISCSI_KEYS_H
#define MTGT_ISCSI_KEYS_H

#include <stdbool.h>
#include <stdint.h>

/* RFC 7143 §6.1: at most 63 bytes of key name, 255 of value (for binary
 * values, of the decoded value: the CHAP decoder bounds those). */
#define ISCSI_KEY_NAME_MAX 63
#define ISCSI_KEY_VALUE_MAX 255

enum key_verdict {
	KEY_NEGOTIATE,      /* allowed here: answer by its negotiation rule */
	KEY_NOT_UNDERSTOOD, /* unknown to us, private X- and public X# keys
			     * included: answer key=NotUnderstood */
	KEY_IRRELEVANT,     /* known, but without meaning here: answer
			     * key=Irrelevant */
	KEY_PROTOCOL_ERROR, /* a violation of the text rules: Login reject
			     * 0x0200 in login, Reject PDU in full feature */
};

enum key_phase {
	KEY_PHASE_SECURITY,     /* login, security negotiation stage */
	KEY_PHASE_OPERATIONAL,  /* login, operational negotiation stage */
	KEY_PHASE_FULL_FEATURE, /* Text Request */
};

struct key_context {
	enum key_phase phase;
	bool leading;   /* the login starts a new session (TSIH 0) */
	bool discovery; /* SessionType=Discovery */
};

/* Judges one pair offered by the initiator; value NULL means the pair had
 * no '='. For KEY_PROTOCOL_ERROR, *why says what was wrong (for logs). */
enum key_verdict iscsi_key_check(const char *key, const char *value,
				 const struct key_context *ctx,
				 const char **why);

/* RFC 7143 §13 "LO" keys: session-wide, settled by the leading login. */
bool iscsi_key_leading_only(const char *key);

/* The key names already received in one negotiation (a login, or one
 * Text Request), to refuse a key offered twice (RFC 7143 §6.2). Owned by
 * whoever owns the negotiation. */
struct key_seen {
	char **names;
	uint32_t count;
	uint32_t cap;
};

/* More distinct keys than this in one negotiation is abuse. */
#define KEY_SEEN_MAX 256

enum key_seen_result {
	KEY_SEEN_NEW,
	KEY_SEEN_REPEATED,
	KEY_SEEN_FULL, /* KEY_SEEN_MAX reached, or no memory */
};

enum key_seen_result key_seen_add(struct key_seen *s, const char *key);
void key_seen_free(struct key_seen *s);

#endif
