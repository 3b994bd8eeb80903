/* Unit tests: where each RFC 7143 text key may appear (keys.c) and the
 * set that catches a key offered twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/keys.h"

static const struct key_context security = { KEY_PHASE_SECURITY, true,
					     false };
static const struct key_context operational = { KEY_PHASE_OPERATIONAL, true,
						false };
static const struct key_context joining = { KEY_PHASE_OPERATIONAL, false,
					    false };
static const struct key_context discovery = { KEY_PHASE_OPERATIONAL, true,
					      true };
static const struct key_context full_feature = { KEY_PHASE_FULL_FEATURE,
						 true, false };

static enum key_verdict verdict(const struct key_context *ctx,
				const char *key, const char *value)
{
	const char *why = NULL;
	enum key_verdict v = iscsi_key_check(key, value, ctx, &why);

	/* A protocol error always says why, and only then. */
	assert_true((v == KEY_PROTOCOL_ERROR) == (why != NULL));
	return v;
}

static void test_stages(void **state)
{
	(void)state;
	assert_int_equal(verdict(&operational, "MaxBurstLength", "512"),
			 KEY_NEGOTIATE);
	assert_int_equal(verdict(&security, "MaxBurstLength", "512"),
			 KEY_PROTOCOL_ERROR);
	assert_int_equal(verdict(&security, "HeaderDigest", "None"),
			 KEY_PROTOCOL_ERROR);
	assert_int_equal(verdict(&security, "AuthMethod", "None"),
			 KEY_NEGOTIATE);
	assert_int_equal(verdict(&operational, "AuthMethod", "None"),
			 KEY_PROTOCOL_ERROR);
	assert_int_equal(verdict(&operational, "CHAP_A", "5"),
			 KEY_PROTOCOL_ERROR);
	/* Any-Stage declarations */
	assert_int_equal(verdict(&security, "InitiatorName", "iqn.x"),
			 KEY_NEGOTIATE);
	assert_int_equal(verdict(&operational, "TargetName", "iqn.x"),
			 KEY_NEGOTIATE);
	assert_int_equal(verdict(&operational, "SendTargets", "All"),
			 KEY_PROTOCOL_ERROR);
}

static void test_senders(void **state)
{
	(void)state;
	assert_int_equal(verdict(&security, "TargetAlias", "t"),
			 KEY_PROTOCOL_ERROR);
	assert_int_equal(verdict(&operational, "TargetAddress", "a"),
			 KEY_PROTOCOL_ERROR);
	assert_int_equal(verdict(&full_feature, "TargetPortalGroupTag", "1"),
			 KEY_PROTOCOL_ERROR);
}

static void test_leading_and_discovery(void **state)
{
	(void)state;
	assert_int_equal(verdict(&joining, "MaxConnections", "2"),
			 KEY_IRRELEVANT);
	assert_int_equal(verdict(&joining, "RDMAExtensions", "No"),
			 KEY_IRRELEVANT);
	assert_int_equal(verdict(&joining, "HeaderDigest", "None"),
			 KEY_NEGOTIATE);
	/* initiators declare it on every connection */
	assert_int_equal(verdict(&joining, "SessionType", "Normal"),
			 KEY_NEGOTIATE);
	assert_int_equal(verdict(&discovery, "MaxBurstLength", "512"),
			 KEY_IRRELEVANT);
	assert_int_equal(verdict(&discovery, "iSCSIProtocolLevel", "1"),
			 KEY_IRRELEVANT);
	assert_int_equal(verdict(&discovery, "DefaultTime2Wait", "2"),
			 KEY_NEGOTIATE);
	assert_int_equal(verdict(&discovery, "ErrorRecoveryLevel", "0"),
			 KEY_NEGOTIATE);
}

static void test_full_feature(void **state)
{
	(void)state;
	assert_int_equal(verdict(&full_feature, "SendTargets", "All"),
			 KEY_NEGOTIATE);
	assert_int_equal(verdict(&full_feature, "MaxRecvDataSegmentLength",
				 "4096"), KEY_NEGOTIATE);
	assert_int_equal(verdict(&full_feature, "InitiatorAlias", "a"),
			 KEY_NEGOTIATE);
	assert_int_equal(verdict(&full_feature, "MaxBurstLength", "512"),
			 KEY_IRRELEVANT);
	assert_int_equal(verdict(&full_feature, "InitiatorName", "iqn.x"),
			 KEY_IRRELEVANT);
	assert_int_equal(verdict(&full_feature, "CHAP_N", "u"),
			 KEY_IRRELEVANT);
}

static void test_unknown_and_format(void **state)
{
	char name[80], value[300];

	(void)state;
	assert_int_equal(verdict(&operational, "X-com.example.A", "1"),
			 KEY_NOT_UNDERSTOOD);
	assert_int_equal(verdict(&security, "X#NodeArchitecture", "x"),
			 KEY_NOT_UNDERSTOOD);
	assert_int_equal(verdict(&operational, "maxburstlength", "512"),
			 KEY_NOT_UNDERSTOOD);
	assert_int_equal(verdict(&operational, "MaxBurstLength", NULL),
			 KEY_PROTOCOL_ERROR);
	assert_int_equal(verdict(&operational, "", "1"), KEY_PROTOCOL_ERROR);
	for (const char *c = "NotUnderstood\0Irrelevant\0Reject\0"; *c;
	     c += strlen(c) + 1) {
		assert_int_equal(verdict(&operational, "MaxBurstLength", c),
				 KEY_PROTOCOL_ERROR);
		assert_int_equal(verdict(&full_feature, "X-a", c),
				 KEY_PROTOCOL_ERROR);
	}
	/* None is a value, not an answer constant */
	assert_int_equal(verdict(&operational, "HeaderDigest", "None"),
			 KEY_NEGOTIATE);
	snprintf(name, sizeof(name), "X-%061d", 0); /* 63 bytes */
	assert_int_equal(verdict(&operational, name, "1"), KEY_NOT_UNDERSTOOD);
	snprintf(name, sizeof(name), "X-%062d", 0); /* 64 bytes */
	assert_int_equal(verdict(&operational, name, "1"), KEY_PROTOCOL_ERROR);
	memset(value, 'v', sizeof(value));
	value[255] = '\0';
	assert_int_equal(verdict(&operational, "X-a", value),
			 KEY_NOT_UNDERSTOOD);
	value[255] = 'v';
	value[256] = '\0';
	assert_int_equal(verdict(&operational, "X-a", value),
			 KEY_PROTOCOL_ERROR);
	assert_int_equal(verdict(&operational, "InitiatorAlias", value),
			 KEY_PROTOCOL_ERROR);
	/* binary CHAP values are bounded by their decoder */
	assert_int_equal(verdict(&security, "CHAP_C", value), KEY_NEGOTIATE);
}

static void test_seen_set(void **state)
{
	struct key_seen seen = { 0 };
	char name[16];

	(void)state;
	assert_int_equal(key_seen_add(&seen, "MaxBurstLength"), KEY_SEEN_NEW);
	assert_int_equal(key_seen_add(&seen, "MaxBurstLength"),
			 KEY_SEEN_REPEATED);
	assert_int_equal(key_seen_add(&seen, "maxburstlength"), KEY_SEEN_NEW);
	for (int i = 2; i < KEY_SEEN_MAX; i++) {
		snprintf(name, sizeof(name), "X-k%d", i);
		assert_int_equal(key_seen_add(&seen, name), KEY_SEEN_NEW);
	}
	assert_int_equal(key_seen_add(&seen, "X-one-more"), KEY_SEEN_FULL);
	assert_int_equal(key_seen_add(&seen, "X-k2"), KEY_SEEN_REPEATED);
	key_seen_free(&seen);
	assert_int_equal(seen.count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stages),
		cmocka_unit_test(test_senders),
		cmocka_unit_test(test_leading_and_discovery),
		cmocka_unit_test(test_full_feature),
		cmocka_unit_test(test_unknown_and_format),
		cmocka_unit_test(test_seen_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
