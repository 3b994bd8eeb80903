#include "iscsi/chap.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static const EVP_MD *alg_md(enum chap_alg alg)
{
	switch (alg) {
	case CHAP_ALG_MD5:
		return EVP_md5();
	case CHAP_ALG_SHA1:
		return EVP_sha1();
	case CHAP_ALG_SHA256:
		return EVP_sha256();
	case CHAP_ALG_SHA3_256:
		return EVP_sha3_256();
	}
	return NULL;
}

size_t chap_digest_len(enum chap_alg alg)
{
	const EVP_MD *md = alg_md(alg);
	int len = md ? EVP_MD_get_size(md) : 0;

	return len > 0 && len <= CHAP_DIGEST_MAX ? (size_t)len : 0;
}

/* ---- encodings (RFC 7143 §6.1) ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool has_prefix(const char *text, char lower)
{
	return text[0] == '0' && (text[1] == lower || text[1] == lower - 32);
}

/* A number below `limit`: decimal, or hex after "0x". No sign, no spaces,
 * at most 16 digits. */
static bool decode_number(const char *text, unsigned long limit,
			  unsigned long *out)
{
	bool hex = has_prefix(text, 'x');
	const char *p = hex ? text + 2 : text;
	unsigned long v = 0;
	size_t n = strlen(p);

	if (n == 0 || n > 16)
		return false;
	for (; *p; p++) {
		int d = hex ? hex_value(*p) : (is_digit(*p) ? *p - '0' : -1);

		if (d < 0)
			return false;
		v = v * (hex ? 16 : 10) + (unsigned long)d;
		if (v >= limit)
			return false;
	}
	*out = v;
	return true;
}

bool chap_decode_id(const char *text, uint8_t *id)
{
	unsigned long v;

	if (!decode_number(text, 256, &v))
		return false;
	*id = (uint8_t)v;
	return true;
}

/* Hex digits: each is four bits, so an odd count starts with a half
 * byte (the RFC's byte length of (n + 1) / 2). */
static int decode_hex(const char *digits, uint8_t *out, size_t max)
{
	size_t n = strlen(digits), len = (n + 1) / 2;

	if (n == 0 || len > max)
		return -1;
	memset(out, 0, len);
	for (size_t i = 0; i < n; i++) {
		int d = hex_value(digits[i]);
		size_t pos = (i + (n & 1)) / 2;

		if (d < 0)
			return -1;
		out[pos] |= (uint8_t)((i + (n & 1)) % 2 ? d : d << 4);
	}
	return (int)len;
}

static int base64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (is_digit(c))
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* RFC 4648 base64. Padding may be left out, but if present it must make
 * the length a multiple of four. */
static int decode_base64(const char *digits, uint8_t *out, size_t max)
{
	size_t n = strlen(digits), pad = 0, len;
	uint32_t acc = 0;
	int bits = 0;

	while (n > 0 && digits[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	if (n == 0 || n % 4 == 1 || (pad && (n + pad) % 4))
		return -1;
	len = n * 3 / 4;
	if (len > max)
		return -1;
	for (size_t i = 0, o = 0; i < n; i++) {
		int v = base64_value(digits[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return (int)len;
}

int chap_decode_binary(const char *text, uint8_t *out, size_t max)
{
	if (has_prefix(text, 'x'))
		return decode_hex(text + 2, out, max);
	if (has_prefix(text, 'b'))
		return decode_base64(text + 2, out, max);
	return -1;
}

void chap_encode_hex(const uint8_t *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	*out++ = '0';
	*out++ = 'x';
	for (size_t i = 0; i < len; i++) {
		*out++ = digits[data[i] >> 4];
		*out++ = digits[data[i] & 15];
	}
	*out = '\0';
}

/* ---- algorithm and hash ---- */

enum chap_alg chap_choose_alg(const char *list)
{
	const char *p = list;

	/* The initiator lists algorithms by preference: the first we know
	 * wins; values we do not know are skipped (RFC 7143 §6.2). */
	while (*p) {
		size_t n = strcspn(p, ",");
		char token[24];
		unsigned long v;

		if (n < sizeof(token)) {
			memcpy(token, p, n);
			token[n] = '\0';
			if (decode_number(token, 256, &v) &&
			    chap_digest_len((enum chap_alg)v))
				return (enum chap_alg)v;
		}
		p += n + (p[n] == ',');
	}
	return 0;
}

bool chap_response(enum chap_alg alg, uint8_t id, const char *secret,
		   const uint8_t *challenge, size_t challenge_len,
		   uint8_t *out)
{
	const EVP_MD *md = alg_md(alg);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = md && ctx && EVP_DigestInit_ex(ctx, md, NULL) &&
		  EVP_DigestUpdate(ctx, &id, 1) &&
		  EVP_DigestUpdate(ctx, secret, strlen(secret)) &&
		  EVP_DigestUpdate(ctx, challenge, challenge_len) &&
		  EVP_DigestFinal_ex(ctx, out, NULL);

	EVP_MD_CTX_free(ctx);
	return ok;
}

/* ---- the exchange ---- */

void chap_init(struct chap *chap)
{
	memset(chap, 0, sizeof(*chap));
	chap->state = CHAP_WAIT_ALGORITHM;
}

bool chap_take_key(struct chap *chap, const char *key, const char *value)
{
	const char **slot;

	if (!strcmp(key, "CHAP_A"))
		slot = &chap->a;
	else if (!strcmp(key, "CHAP_I"))
		slot = &chap->i;
	else if (!strcmp(key, "CHAP_C"))
		slot = &chap->c;
	else if (!strcmp(key, "CHAP_N"))
		slot = &chap->n;
	else if (!strcmp(key, "CHAP_R"))
		slot = &chap->r;
	else
		return false;
	if (*slot)
		chap->malformed = true; /* a key may appear once per text */
	*slot = value;
	return true;
}

void chap_drop_keys(struct chap *chap)
{
	chap->a = chap->i = chap->c = chap->n = chap->r = NULL;
	chap->malformed = false;
}

static bool any_key(const struct chap *chap)
{
	return chap->a || chap->i || chap->c || chap->n || chap->r;
}

static enum chap_result refuse(const char *who, const char *why)
{
	log_info("CHAP: login of %s refused: %s", who, why);
	return CHAP_AUTH_FAILURE;
}

static void add_number(struct kv_text *out, const char *key, unsigned v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", v);
	kv_text_add(out, key, buf);
}

static void add_binary(struct kv_text *out, const char *key,
		       const uint8_t *data, size_t len)
{
	char buf[2 * CHAP_DIGEST_MAX + 3];

	chap_encode_hex(data, len, buf);
	kv_text_add(out, key, buf);
}

static enum chap_result send_challenge(struct chap *chap, struct kv_text *out,
				       const char *who)
{
	size_t len;

	if (chap->i || chap->c || chap->n || chap->r)
		return refuse(who, "CHAP keys out of order");
	chap->alg = chap_choose_alg(chap->a);
	if (!chap->alg)
		return refuse(who, "no supported CHAP_A algorithm offered");
	len = chap_digest_len(chap->alg);
	chap->challenge_len = len < CHAP_CHALLENGE_MIN ? CHAP_CHALLENGE_MIN
						       : len;
	if (RAND_bytes(&chap->id, 1) != 1 ||
	    RAND_bytes(chap->challenge, (int)chap->challenge_len) != 1) {
		log_error("CHAP: no random bytes for a challenge");
		return CHAP_TARGET_ERROR;
	}
	add_number(out, "CHAP_A", chap->alg);
	add_number(out, "CHAP_I", chap->id);
	add_binary(out, "CHAP_C", chap->challenge, chap->challenge_len);
	chap->state = CHAP_WAIT_RESPONSE;
	return CHAP_CONTINUE;
}

/* Mutual CHAP: the target proves it knows its outgoing secret. */
static enum chap_result answer_challenge(struct chap *chap,
					 const struct chap_accounts *acc,
					 struct kv_text *out, const char *who)
{
	uint8_t challenge[CHAP_BINARY_MAX], response[CHAP_DIGEST_MAX];
	uint8_t id;
	int len;

	if (!acc->out_user || !acc->out_secret)
		return refuse(who, "mutual CHAP asked, no outgoing account");
	if (!chap_decode_id(chap->i, &id))
		return refuse(who, "malformed CHAP_I");
	len = chap_decode_binary(chap->c, challenge, sizeof(challenge));
	if (len <= 0)
		return refuse(who, "malformed CHAP_C");
	/* A challenge equal to ours would let the initiator have us compute
	 * the very response it owes us (RFC 7143 §12.1.3). */
	if ((size_t)len == chap->challenge_len &&
	    !CRYPTO_memcmp(challenge, chap->challenge, chap->challenge_len))
		return refuse(who, "CHAP_C reflects the target's challenge");
	if (!chap_response(chap->alg, id, acc->out_secret, challenge,
			   (size_t)len, response))
		return CHAP_TARGET_ERROR;
	kv_text_add(out, "CHAP_N", acc->out_user);
	add_binary(out, "CHAP_R", response, chap_digest_len(chap->alg));
	return CHAP_SUCCESS;
}

/* Whether `got` is the response to our challenge made with `secret`. */
static bool response_matches(const struct chap *chap, const char *secret,
			     const uint8_t *got, bool *error)
{
	uint8_t want[CHAP_DIGEST_MAX];

	if (!chap_response(chap->alg, chap->id, secret, chap->challenge,
			   chap->challenge_len, want)) {
		*error = true;
		return false;
	}
	return !CRYPTO_memcmp(got, want, chap_digest_len(chap->alg));
}

static enum chap_result check_response(struct chap *chap,
				       const struct chap_accounts *acc,
				       struct kv_text *out, const char *who)
{
	uint8_t got[CHAP_DIGEST_MAX];
	const char *secret;
	bool error = false;
	int len;

	if (chap->a || !chap->n || !chap->r)
		return refuse(who, "CHAP_N and CHAP_R expected");
	if (!chap->i != !chap->c)
		return refuse(who, "CHAP_I and CHAP_C go together");
	secret = strlen(chap->n) <= CHAP_NAME_MAX
			 ? acc->incoming_secret(acc->arg, chap->n) : NULL;
	if (!secret)
		return refuse(who, "no such incoming user");
	len = chap_decode_binary(chap->r, got, sizeof(got));
	if (len < 0 || (size_t)len != chap_digest_len(chap->alg))
		return refuse(who, "malformed CHAP_R");
	if (!response_matches(chap, secret, got, &error))
		return error ? CHAP_TARGET_ERROR
			     : refuse(who, "wrong CHAP response");
	/* A response we would have made ourselves means the initiator used
	 * the target's secret: the RFC forbids sharing them both ways. */
	if (acc->out_secret && response_matches(chap, acc->out_secret, got,
						&error))
		return refuse(who, "response made with the outgoing secret");
	if (chap->c)
		return answer_challenge(chap, acc, out, who);
	return CHAP_SUCCESS;
}

enum chap_result chap_step(struct chap *chap, const struct chap_accounts *acc,
			   struct kv_text *out, const char *who)
{
	enum chap_result res = CHAP_CONTINUE;

	if (chap->malformed)
		res = refuse(who, "a CHAP key is repeated");
	else if (chap->state == CHAP_WAIT_ALGORITHM && chap->a)
		res = send_challenge(chap, out, who);
	else if (chap->state == CHAP_WAIT_ALGORITHM && any_key(chap))
		res = refuse(who, "CHAP keys before CHAP_A");
	else if (chap->state == CHAP_WAIT_RESPONSE)
		res = check_response(chap, acc, out, who);
	else if (chap->state == CHAP_SUCCEEDED)
		res = any_key(chap) ? refuse(who, "CHAP keys after success")
				    : CHAP_SUCCESS;
	else if (chap->state == CHAP_FAILED)
		res = CHAP_AUTH_FAILURE;
	chap_drop_keys(chap);
	if (res == CHAP_SUCCESS)
		chap->state = CHAP_SUCCEEDED;
	else if (res != CHAP_CONTINUE)
		chap->state = CHAP_FAILED;
	return res;
}
