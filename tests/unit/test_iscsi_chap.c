/* Unit tests: CHAP hashes (known answers), value encodings, algorithm
 * choice and the target side of whole exchanges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/chap.h"

static void assert_hex(const uint8_t *data, size_t len, const char *want)
{
	char buf[2 * CHAP_DIGEST_MAX + 3];

	chap_encode_hex(data, len, buf);
	assert_string_equal(buf, want);
}

/* HASH(id || secret || challenge) with id 'a', secret "b" and challenge
 * "c" is HASH("abc"), whose value each hash standard publishes (RFC 1321,
 * FIPS 180-4, FIPS 202). */
static void test_response_known_answers(void **state)
{
	static const struct {
		enum chap_alg alg;
		const char *abc;
		const char *chap; /* id 7, "twelve-chars", bytes 0..15 */
	} cases[] = {
		{ CHAP_ALG_MD5, "0x900150983cd24fb0d6963f7d28e17f72",
		  "0x014aa423808c13bd1cf739b1a98290a7" },
		{ CHAP_ALG_SHA1, "0xa9993e364706816aba3e25717850c26c9cd0d89d",
		  "0x3cfe4e90523f10abc5d2e7d0e237cd2666749c7e" },
		{ CHAP_ALG_SHA256,
		  "0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		  "0x5ae095bf7bd5c1c050ffd0d1109c14c8b33a57bf0db8aea72e0fbfb6629c02b9" },
		{ CHAP_ALG_SHA3_256,
		  "0x3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
		  "0x6fcdea5956898dbb3ca2a88cb676574a73b4b8f64f590728f34529a4b43260d3" },
	};
	uint8_t challenge[16], out[CHAP_DIGEST_MAX];

	(void)state;
	for (int i = 0; i < 16; i++)
		challenge[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = chap_digest_len(cases[i].alg);

		assert_true(chap_response(cases[i].alg, 'a', "b",
					  (const uint8_t *)"c", 1, out));
		assert_hex(out, len, cases[i].abc);
		assert_true(chap_response(cases[i].alg, 7, "twelve-chars",
					  challenge, 16, out));
		assert_hex(out, len, cases[i].chap);
	}
	assert_int_equal(chap_digest_len(CHAP_ALG_MD5), 16);
	assert_int_equal(chap_digest_len(CHAP_ALG_SHA1), 20);
	assert_int_equal(chap_digest_len(CHAP_ALG_SHA3_256), 32);
	assert_int_equal(chap_digest_len(9), 0);
}

static void test_decode_binary(void **state)
{
	uint8_t out[8];

	(void)state;
	assert_int_equal(chap_decode_binary("0x0aFf", out, 8), 2);
	assert_memory_equal(out, "\x0a\xff", 2);
	assert_int_equal(chap_decode_binary("0X1", out, 8), 1);
	assert_int_equal(out[0], 1);
	/* An odd number of digits: the first is a half byte. */
	assert_int_equal(chap_decode_binary("0x123", out, 8), 2);
	assert_memory_equal(out, "\x01\x23", 2);
	assert_int_equal(chap_decode_binary("0bAQID", out, 8), 3);
	assert_memory_equal(out, "\x01\x02\x03", 3);
	assert_int_equal(chap_decode_binary("0BAQI=", out, 8), 2);
	assert_memory_equal(out, "\x01\x02", 2);
	assert_int_equal(chap_decode_binary("0bAQ==", out, 8), 1);
	assert_int_equal(chap_decode_binary("0bAQ", out, 8), 1);
	assert_int_equal(out[0], 1);
	/* Malformed: no prefix, no digits, bad digits, bad padding, too
	 * long for the buffer. */
	assert_int_equal(chap_decode_binary("1234", out, 8), -1);
	assert_int_equal(chap_decode_binary("0x", out, 8), -1);
	assert_int_equal(chap_decode_binary("0b", out, 8), -1);
	assert_int_equal(chap_decode_binary("0x12g4", out, 8), -1);
	assert_int_equal(chap_decode_binary("0x 12", out, 8), -1);
	assert_int_equal(chap_decode_binary("0bA", out, 8), -1);
	assert_int_equal(chap_decode_binary("0bAQ=", out, 8), -1);
	assert_int_equal(chap_decode_binary("0bA=QI", out, 8), -1);
	assert_int_equal(chap_decode_binary("0bAQ*D", out, 8), -1);
	assert_int_equal(chap_decode_binary("0x112233445566778899", out, 8),
			 -1);
	assert_int_equal(chap_decode_binary("0x1122334455667788", out, 8), 8);
}

static void test_decode_id(void **state)
{
	uint8_t id;

	(void)state;
	assert_true(chap_decode_id("0", &id));
	assert_int_equal(id, 0);
	assert_true(chap_decode_id("255", &id));
	assert_int_equal(id, 255);
	assert_true(chap_decode_id("0xfe", &id));
	assert_int_equal(id, 254);
	assert_false(chap_decode_id("256", &id));
	assert_false(chap_decode_id("0x100", &id));
	assert_false(chap_decode_id("-1", &id));
	assert_false(chap_decode_id(" 1", &id));
	assert_false(chap_decode_id("", &id));
	assert_false(chap_decode_id("1a", &id));
}

static void test_choose_alg(void **state)
{
	(void)state;
	assert_int_equal(chap_choose_alg("5"), CHAP_ALG_MD5);
	assert_int_equal(chap_choose_alg("7,5"), CHAP_ALG_SHA256);
	assert_int_equal(chap_choose_alg("8,7,6,5"), CHAP_ALG_SHA3_256);
	assert_int_equal(chap_choose_alg("9,x,6"), CHAP_ALG_SHA1);
	assert_int_equal(chap_choose_alg("1,2,99999999999999999999"), 0);
	assert_int_equal(chap_choose_alg(""), 0);
}

/* ---- whole exchanges ---- */

struct fixture {
	struct chap chap;
	struct chap_accounts acc;
	struct kv_text out;
	char text[512]; /* the "initiator's" keys, as pointers need them */
	uint8_t id;     /* the target's CHAP_I and CHAP_C */
	uint8_t challenge[CHAP_DIGEST_MAX];
	int len;
};

static const char *lookup(void *arg, const char *name)
{
	(void)arg;
	return !strcmp(name, "alice") ? "alice-secret-12" : NULL;
}

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	chap_init(&f.chap);
	f.acc.incoming_secret = lookup;
	kv_text_init(&f.out, 4096);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	kv_text_free(&f->out);
	return 0;
}

/* The value of key in the target's answer, or NULL. */
static const char *answer(struct fixture *f, const char *key)
{
	size_t klen = strlen(key);

	for (uint32_t off = 0; off < f->out.len;
	     off += (uint32_t)strlen(f->out.buf + off) + 1)
		if (!strncmp(f->out.buf + off, key, klen) &&
		    f->out.buf[off + klen] == '=')
			return f->out.buf + off + klen + 1;
	return NULL;
}

/* Feeds "K=V" pairs (a NULL-ended list) as one login text and steps. */
static enum chap_result feed(struct fixture *f, const char *const *pairs)
{
	char *p = f->text;

	f->out.len = 0;
	for (; *pairs; pairs++) {
		char *eq;

		strcpy(p, *pairs);
		eq = strchr(p, '=');
		*eq = '\0';
		assert_true(chap_take_key(&f->chap, p, eq + 1));
		p = eq + strlen(eq + 1) + 2;
	}
	return chap_step(&f->chap, &f->acc, &f->out, "test");
}

/* Starts a fresh exchange: sends CHAP_A and keeps the target's CHAP_I and
 * CHAP_C. */
static void start(struct fixture *f, const char *algs)
{
	char a[32];
	const char *pairs[] = { a, NULL };

	chap_init(&f->chap);
	snprintf(a, sizeof(a), "CHAP_A=%s", algs);
	assert_int_equal(feed(f, pairs), CHAP_CONTINUE);
	assert_true(chap_decode_id(answer(f, "CHAP_I"), &f->id));
	f->len = chap_decode_binary(answer(f, "CHAP_C"), f->challenge,
				    CHAP_DIGEST_MAX);
	assert_true(f->len >= CHAP_CHALLENGE_MIN);
}

/* "CHAP_R=0x..." made with secret for the target's challenge, and an
 * identifier id_offset away from the target's. */
static void make_response(struct fixture *f, enum chap_alg alg, int id_offset,
			  const char *secret, char *pair)
{
	uint8_t r[CHAP_DIGEST_MAX];

	assert_true(chap_response(alg, (uint8_t)(f->id + id_offset), secret,
				  f->challenge, (size_t)f->len, r));
	strcpy(pair, "CHAP_R=");
	chap_encode_hex(r, chap_digest_len(alg), pair + 7);
}

/* A fresh MD5 exchange answered with secret, then `pairs` sent. */
static enum chap_result md5_answer(struct fixture *f, const char *secret,
				   char *r, const char *const *pairs)
{
	start(f, "5");
	make_response(f, CHAP_ALG_MD5, 0, secret, r);
	return feed(f, pairs);
}

static void test_one_way_each_algorithm(void **state)
{
	struct fixture *f = *state;
	enum chap_alg algs[] = { CHAP_ALG_MD5, CHAP_ALG_SHA1, CHAP_ALG_SHA256,
				 CHAP_ALG_SHA3_256 };

	for (size_t i = 0; i < 4; i++) {
		char offer[8], r[160];
		const char *pairs[] = { "CHAP_N=alice", r, NULL };

		snprintf(offer, sizeof(offer), "%d,5", algs[i]);
		start(f, offer);
		assert_int_equal(atoi(answer(f, "CHAP_A")), algs[i]);
		make_response(f, algs[i], 0, "alice-secret-12", r);
		assert_int_equal(feed(f, pairs), CHAP_SUCCESS);
		assert_int_equal(f->out.len, 0); /* nothing to say back */
	}
}

static void test_wrong_secret_or_user(void **state)
{
	struct fixture *f = *state;
	char r[160];
	const char *wrong_user[] = { "CHAP_N=bob", r, NULL };
	const char *pairs[] = { "CHAP_N=alice", r, NULL };

	assert_int_equal(md5_answer(f, "alice-secret-12", r, wrong_user),
			 CHAP_AUTH_FAILURE);
	/* A failed exchange stays failed. */
	assert_int_equal(feed(f, pairs), CHAP_AUTH_FAILURE);
	assert_int_equal(md5_answer(f, "alice-secret-13", r, pairs),
			 CHAP_AUTH_FAILURE);
	/* The right response for another identifier is wrong too. */
	start(f, "5");
	make_response(f, CHAP_ALG_MD5, 1, "alice-secret-12", r);
	assert_int_equal(feed(f, pairs), CHAP_AUTH_FAILURE);
}

static void test_mutual(void **state)
{
	struct fixture *f = *state;
	uint8_t mine[CHAP_DIGEST_MAX], want[CHAP_DIGEST_MAX];
	uint8_t got[CHAP_DIGEST_MAX];
	char r[160];
	const char *pairs[] = { "CHAP_N=alice", r, "CHAP_I=9",
				"CHAP_C=0x00112233445566778899aabbccddeeff",
				NULL };

	f->acc.out_user = "target-user";
	f->acc.out_secret = "target-secret-1";
	start(f, "7");
	make_response(f, CHAP_ALG_SHA256, 0, "alice-secret-12", r);
	assert_int_equal(feed(f, pairs), CHAP_SUCCESS);
	assert_string_equal(answer(f, "CHAP_N"), "target-user");
	assert_int_equal(chap_decode_binary("0x00112233445566778899aabbccddeeff",
					    mine, sizeof(mine)), 16);
	assert_true(chap_response(CHAP_ALG_SHA256, 9, "target-secret-1", mine,
				  16, want));
	assert_int_equal(chap_decode_binary(answer(f, "CHAP_R"), got,
					    sizeof(got)), 32);
	assert_memory_equal(got, want, 32);
}

static void test_mutual_refusals(void **state)
{
	struct fixture *f = *state;
	char r[160], reflected[160];
	const char *no_out[] = { "CHAP_N=alice", r, "CHAP_I=1",
				 "CHAP_C=0x0102030405060708", NULL };
	const char *half[] = { "CHAP_N=alice", r, "CHAP_I=1", NULL };
	const char *reflect[] = { "CHAP_N=alice", r, "CHAP_I=1", reflected,
				  NULL };

	/* Mutual asked, but the target has no outgoing account. */
	assert_int_equal(md5_answer(f, "alice-secret-12", r, no_out),
			 CHAP_AUTH_FAILURE);
	f->acc.out_user = "target-user";
	f->acc.out_secret = "target-secret-1";
	assert_int_equal(md5_answer(f, "alice-secret-12", r, half),
			 CHAP_AUTH_FAILURE);
	/* Our own challenge sent back (in uppercase hex: the value counts,
	 * not its spelling). */
	start(f, "5");
	make_response(f, CHAP_ALG_MD5, 0, "alice-secret-12", r);
	strcpy(reflected, "CHAP_C=0x");
	for (int i = 0; i < f->len; i++)
		sprintf(reflected + 9 + 2 * i, "%02X", f->challenge[i]);
	assert_int_equal(feed(f, reflect), CHAP_AUTH_FAILURE);
	assert_null(answer(f, "CHAP_R"));
}

/* The initiator answering with the target's own secret (one secret used
 * both ways) is refused even though that secret is also its own. */
static void test_shared_secret_refused(void **state)
{
	struct fixture *f = *state;
	char r[160];
	const char *pairs[] = { "CHAP_N=alice", r, NULL };

	f->acc.out_user = "target-user";
	f->acc.out_secret = "alice-secret-12";
	assert_int_equal(md5_answer(f, "alice-secret-12", r, pairs),
			 CHAP_AUTH_FAILURE);
}

static void test_malformed_exchanges(void **state)
{
	struct fixture *f = *state;
	const char *unknown_alg[] = { "CHAP_A=1,2,3", NULL };
	const char *early[] = { "CHAP_N=alice", "CHAP_R=0x00", NULL };
	const char *twice[] = { "CHAP_A=5", "CHAP_A=5", NULL };
	const char *const after_challenge[][3] = {
		{ "CHAP_N=alice", "CHAP_R=0x0011", NULL },  /* too short */
		{ "CHAP_N=alice", "CHAP_R=secret", NULL },  /* not binary */
		{ "CHAP_R=0x00112233445566778899aabbccddeeff", NULL }, /* no N */
		{ "CHAP_A=5", NULL },                       /* again */
	};

	assert_int_equal(feed(f, unknown_alg), CHAP_AUTH_FAILURE);
	chap_init(&f->chap);
	assert_int_equal(feed(f, early), CHAP_AUTH_FAILURE);
	chap_init(&f->chap);
	assert_int_equal(feed(f, twice), CHAP_AUTH_FAILURE);
	for (size_t i = 0; i < 4; i++) {
		start(f, "5");
		assert_int_equal(feed(f, after_challenge[i]),
				 CHAP_AUTH_FAILURE);
	}
}

/* Each exchange gets a fresh challenge. */
static void test_challenges_differ(void **state)
{
	struct fixture *f = *state;
	uint8_t first[CHAP_DIGEST_MAX];

	start(f, "5");
	memcpy(first, f->challenge, sizeof(first));
	start(f, "5");
	assert_int_equal(f->len, 16);
	assert_memory_not_equal(first, f->challenge, 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_response_known_answers),
		cmocka_unit_test(test_decode_binary),
		cmocka_unit_test(test_decode_id),
		cmocka_unit_test(test_choose_alg),
		cmocka_unit_test_setup_teardown(test_one_way_each_algorithm,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_secret_or_user,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_mutual, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mutual_refusals, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shared_secret_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_exchanges,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_challenges_differ, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
