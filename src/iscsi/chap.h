/* CHAP authentication of a login, target side (RFC 7143 §12.1.3, RFC
 * 1994): one-way (the target checks the initiator) and mutual (the
 * initiator also checks the target).
 *
 *   I: CHAP_A=<A1,A2,...>
 *   T: CHAP_A=<A> CHAP_I=<I> CHAP_C=<C>
 *   I: CHAP_N=<N> CHAP_R=<R> [CHAP_I=<I'> CHAP_C=<C'>]
 *   T: [CHAP_N=<N'> CHAP_R=<R'>]          (mutual only)
 *
 * The response is HASH(I || secret || C). Algorithms by their PPP numbers
 * (IANA "PPP Authentication Algorithms", as Linux initiators and targets
 * number them): 5 MD5, 6 SHA-1, 7 SHA-256, 8 SHA3-256.
 *
 * One struct chap per login; the login code (main thread) owns it. */
#ifndef MTGT_ISCSI_CHAP_H
#define MTGT_ISCSI_CHAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iscsi/params.h"

/* C and R: at most 1024 bytes once decoded (RFC 7143 §12.1.3). */
#define CHAP_BINARY_MAX 1024
#define CHAP_DIGEST_MAX 64
/* Our challenge: as long as the hash, and never under 16 bytes. */
#define CHAP_CHALLENGE_MIN 16
#define CHAP_NAME_MAX 256

enum chap_alg {
	CHAP_ALG_MD5 = 5,
	CHAP_ALG_SHA1 = 6,
	CHAP_ALG_SHA256 = 7,
	CHAP_ALG_SHA3_256 = 8,
};

enum chap_state {
	CHAP_WAIT_ALGORITHM, /* CHAP_A not seen yet */
	CHAP_WAIT_RESPONSE,  /* challenge sent, CHAP_N/CHAP_R expected */
	CHAP_SUCCEEDED,
	CHAP_FAILED,
};

enum chap_result {
	CHAP_CONTINUE,      /* more login PDUs needed */
	CHAP_SUCCESS,       /* the initiator (and we, if asked) proved itself */
	CHAP_AUTH_FAILURE,  /* wrong user/secret or malformed exchange */
	CHAP_TARGET_ERROR,  /* no random bytes, hash unavailable */
};

/* The secrets a CHAP exchange is checked against. They are looked up only
 * when the initiator's response arrives, so a change by management in
 * between counts. */
struct chap_accounts {
	/* The secret of incoming user `name` bound to the target, or NULL. */
	const char *(*incoming_secret)(void *arg, const char *name);
	void *arg;
	/* For mutual CHAP: the target's outgoing account, or NULLs. */
	const char *out_user;
	const char *out_secret;
};

struct chap {
	enum chap_state state;
	enum chap_alg alg;
	uint8_t id;
	uint8_t challenge[CHAP_DIGEST_MAX];
	size_t challenge_len;
	/* CHAP_* values of the text being handled: they point into that text
	 * and are cleared by chap_step, or by chap_drop_keys when the text
	 * is freed without a step (a login refused before it). */
	const char *a, *i, *c, *n, *r;
	bool malformed; /* a CHAP key repeated or unknown in the text */
};

void chap_init(struct chap *chap);

/* Records one CHAP_* key of the current login text. Returns false if key
 * is not a CHAP key. */
bool chap_take_key(struct chap *chap, const char *key, const char *value);

/* Forgets the keys recorded from a text that is about to be freed. */
void chap_drop_keys(struct chap *chap);

/* Acts on the keys recorded from one complete login text, appending the
 * keys to answer with to out. `who` names the initiator in log lines. */
enum chap_result chap_step(struct chap *chap, const struct chap_accounts *acc,
			   struct kv_text *out, const char *who);

/* ---- building blocks, exposed for the unit tests ---- */

/* Digest length of a supported algorithm, 0 if unsupported. */
size_t chap_digest_len(enum chap_alg alg);

/* The first algorithm of a CHAP_A list that we support, 0 if none. */
enum chap_alg chap_choose_alg(const char *list);

/* HASH(id || secret || challenge) into out (chap_digest_len bytes).
 * Returns false if the hash cannot be computed. */
bool chap_response(enum chap_alg alg, uint8_t id, const char *secret,
		   const uint8_t *challenge, size_t challenge_len,
		   uint8_t *out);

/* Decodes a binary value ("0x" hex or "0b" base64, RFC 7143 §6.1) into
 * out. Returns its length, or -1 if malformed, empty or longer than max. */
int chap_decode_binary(const char *text, uint8_t *out, size_t max);

/* Decodes CHAP_I: a number 0..255 in decimal or "0x" hex. */
bool chap_decode_id(const char *text, uint8_t *id);

/* "0x" followed by lowercase hex; out must hold 2 * len + 3 bytes. */
void chap_encode_hex(const uint8_t *data, size_t len, char *out);

#endif
