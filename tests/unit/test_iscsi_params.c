/* Unit tests: iSCSI key=value parsing and parameter negotiation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/params.h"

/* The target's answer to key=value, given the target's values. */
static const char *negotiate_with(const struct iscsi_params *target,
				  struct iscsi_params *conn, const char *key,
				  const char *value)
{
	static char answer[64];

	if (iscsi_param_negotiate(target, conn, key, value, answer,
				  sizeof(answer)) != ISCSI_NEGO_ANSWERED)
		return NULL;
	return answer;
}

static const char *negotiate(struct iscsi_params *conn, const char *key,
			     const char *value)
{
	struct iscsi_params target;

	iscsi_params_target_defaults(&target);
	return negotiate_with(&target, conn, key, value);
}

static void test_numeric_minimum(void **state)
{
	struct iscsi_params conn;

	(void)state;
	iscsi_params_rfc_defaults(&conn);
	assert_string_equal(negotiate(&conn, "MaxBurstLength", "1048576"),
			    "262144");
	assert_int_equal(conn.val[ISCSI_PARAM_MAX_BURST], 262144);
	assert_string_equal(negotiate(&conn, "FirstBurstLength", "4096"),
			    "4096");
	assert_int_equal(conn.val[ISCSI_PARAM_FIRST_BURST], 4096);
	assert_string_equal(negotiate(&conn, "DefaultTime2Wait", "0"), "2");
}

/* RFC 7143 §13.14: FirstBurstLength never exceeds MaxBurstLength. */
static void test_first_burst_within_max_burst(void **state)
{
	struct iscsi_params conn;

	(void)state;
	iscsi_params_rfc_defaults(&conn);
	/* MaxBurstLength first: the FirstBurstLength answer is bounded. */
	assert_string_equal(negotiate(&conn, "MaxBurstLength", "4096"),
			    "4096");
	assert_string_equal(negotiate(&conn, "FirstBurstLength", "65536"),
			    "4096");
	/* Only MaxBurstLength offered: the default FirstBurstLength (64 KiB)
	 * is settled down to it at the end of the login. */
	iscsi_params_rfc_defaults(&conn);
	assert_string_equal(negotiate(&conn, "MaxBurstLength", "8192"),
			    "8192");
	assert_int_equal(conn.val[ISCSI_PARAM_FIRST_BURST], 65536);
	iscsi_params_settle(&conn);
	assert_int_equal(conn.val[ISCSI_PARAM_FIRST_BURST], 8192);
	/* FirstBurstLength first, a smaller MaxBurstLength after it. */
	iscsi_params_rfc_defaults(&conn);
	assert_string_equal(negotiate(&conn, "FirstBurstLength", "16384"),
			    "16384");
	assert_string_equal(negotiate(&conn, "MaxBurstLength", "2048"),
			    "2048");
	iscsi_params_settle(&conn);
	assert_int_equal(conn.val[ISCSI_PARAM_FIRST_BURST], 2048);
}

static void test_out_of_range_rejected(void **state)
{
	struct iscsi_params conn;

	(void)state;
	iscsi_params_rfc_defaults(&conn);
	assert_string_equal(negotiate(&conn, "MaxBurstLength", "16777216"),
			    "Reject");
	assert_string_equal(negotiate(&conn, "MaxBurstLength", "12ab"),
			    "Reject");
	assert_string_equal(negotiate(&conn, "ErrorRecoveryLevel", "3"),
			    "Reject");
	assert_int_equal(conn.val[ISCSI_PARAM_MAX_BURST], 262144);
}

/* RFC 7143 §6.1 numbers: decimal without leading zeros, or 0x/0X hex. */
static void test_number_forms(void **state)
{
	static const char *const good[][2] = {
		{ "4096", "4096" }, { "0x1000", "4096" }, { "0X1000", "4096" },
		{ "0x00001000", "4096" },
	};
	static const char *const bad[] = {
		"010000", "+4096", " 4096", "4096 ", "-4096", "4e3", "0x",
		"0x1g00", "", "99999999999999999999",
	};
	struct iscsi_params conn;

	(void)state;
	iscsi_params_rfc_defaults(&conn);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_string_equal(negotiate(&conn, "MaxBurstLength",
					      good[i][0]), good[i][1]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_string_equal(negotiate(&conn, "MaxBurstLength", bad[i]),
				    "Reject");
	assert_string_equal(negotiate(&conn, "DefaultTime2Retain", "0"), "0");
}

/* Keys whose outcome is fixed by what this target implements. */
static void test_fixed_keys(void **state)
{
	struct iscsi_params conn;

	(void)state;
	iscsi_params_rfc_defaults(&conn);
	assert_string_equal(negotiate(&conn, "TaskReporting",
				      "FastAbort,RFC3720"), "RFC3720");
	assert_string_equal(negotiate(&conn, "TaskReporting", "FastAbort"),
			    "Reject");
	assert_string_equal(negotiate(&conn, "iSCSIProtocolLevel", "2"), "1");
	assert_string_equal(negotiate(&conn, "iSCSIProtocolLevel", "0"), "0");
	assert_string_equal(negotiate(&conn, "iSCSIProtocolLevel", "32"),
			    "Reject");
	/* iSER keys on TCP */
	assert_string_equal(negotiate(&conn, "RDMAExtensions", "Yes"), "No");
	assert_string_equal(negotiate(&conn, "RDMAExtensions", "maybe"),
			    "Reject");
	assert_string_equal(negotiate(&conn, "MaxOutstandingUnexpectedPDUs",
				      "4"), "Irrelevant");
	assert_string_equal(negotiate(&conn, "TargetRecvDataSegmentLength",
				      "8192"), "Irrelevant");
	/* Markers: Yes/No answered No, the intervals always Reject */
	assert_string_equal(negotiate(&conn, "IFMarker", "Yes"), "No");
	assert_string_equal(negotiate(&conn, "OFMarker", "x"), "Reject");
	assert_string_equal(negotiate(&conn, "IFMarkInt", "2048"), "Reject");
}

static void test_boolean_rules(void **state)
{
	struct iscsi_params conn;

	(void)state;
	iscsi_params_rfc_defaults(&conn);
	/* InitialR2T is OR: the target's Yes wins. */
	assert_string_equal(negotiate(&conn, "InitialR2T", "No"), "Yes");
	/* ImmediateData is AND: the initiator's No wins. */
	assert_string_equal(negotiate(&conn, "ImmediateData", "No"), "No");
	assert_int_equal(conn.val[ISCSI_PARAM_IMMEDIATE_DATA], 0);
	assert_string_equal(negotiate(&conn, "ImmediateData", "maybe"),
			    "Reject");
	/* Only iSER uses RDMA. */
	assert_string_equal(negotiate(&conn, "RDMAExtensions", "Yes"), "No");
}

static void test_digest_choice(void **state)
{
	struct iscsi_params conn;

	(void)state;
	iscsi_params_rfc_defaults(&conn);
	assert_string_equal(negotiate(&conn, "HeaderDigest", "CRC32C,None"),
			    "None");
	assert_string_equal(negotiate(&conn, "DataDigest", "CRC32C"), "Reject");
}

/* With CRC32C enabled on the target, every initiator that offers CRC32C
 * gets it, and None stays possible for the others, as with tgt. */
static void test_digest_enabled(void **state)
{
	struct iscsi_params target, conn;
	char shown[16];
	bool known;

	(void)state;
	iscsi_params_target_defaults(&target);
	iscsi_params_rfc_defaults(&conn);
	assert_true(iscsi_param_update(&target, "HeaderDigest", "CRC32C",
				       &known));
	assert_int_equal(target.val[ISCSI_PARAM_HDRDGST],
			 ISCSI_DIGEST_CRC32C | ISCSI_DIGEST_NONE);
	iscsi_param_format(ISCSI_PARAM_HDRDGST, target.val[ISCSI_PARAM_HDRDGST],
			   shown, sizeof(shown));
	assert_string_equal(shown, "CRC32C");
	assert_string_equal(negotiate_with(&target, &conn, "HeaderDigest",
					   "CRC32C,None"), "CRC32C");
	assert_int_equal(conn.val[ISCSI_PARAM_HDRDGST], ISCSI_DIGEST_CRC32C);
	assert_string_equal(negotiate_with(&target, &conn, "HeaderDigest",
					   "None,CRC32C"), "CRC32C");
	assert_string_equal(negotiate_with(&target, &conn, "HeaderDigest",
					   "None,MD5"), "None");
	assert_int_equal(conn.val[ISCSI_PARAM_HDRDGST], ISCSI_DIGEST_NONE);
	/* DataDigest was not enabled: CRC32C alone cannot be agreed. */
	assert_string_equal(negotiate_with(&target, &conn, "DataDigest",
					   "CRC32C"), "Reject");
}

static void test_declared_recv_length(void **state)
{
	struct iscsi_params conn;

	(void)state;
	iscsi_params_rfc_defaults(&conn);
	/* Declarative: no answer, becomes our transmit limit. */
	assert_string_equal(negotiate(&conn, "MaxRecvDataSegmentLength",
				      "65536"), "");
	assert_int_equal(conn.val[ISCSI_PARAM_MAX_XMIT_DLENGTH], 65536);
	assert_null(negotiate(&conn, "X-com.example.Foo", "1"));
	assert_null(negotiate(&conn, "MaxQueueCmd", "4"));
}

/* An out-of-range declaration has no answer to carry a Reject: the caller
 * treats it as a protocol error, and nothing changes. */
static void test_bad_declaration(void **state)
{
	struct iscsi_params target, conn;
	char answer[64];

	(void)state;
	iscsi_params_target_defaults(&target);
	iscsi_params_rfc_defaults(&conn);
	assert_int_equal(iscsi_param_negotiate(&target, &conn,
					       "MaxRecvDataSegmentLength", "1",
					       answer, sizeof(answer)),
			 ISCSI_NEGO_BAD_DECLARATION);
	assert_int_equal(conn.val[ISCSI_PARAM_MAX_XMIT_DLENGTH], 8192);
}

static void test_update_and_format(void **state)
{
	struct iscsi_params p;
	char buf[32];
	bool known;

	(void)state;
	iscsi_params_target_defaults(&p);
	assert_true(iscsi_param_update(&p, "maxburstlength", "0x1000", &known));
	assert_int_equal(p.val[ISCSI_PARAM_MAX_BURST], 4096);
	assert_false(iscsi_param_update(&p, "MaxBurstLength", "16777216",
					&known));
	assert_true(known);
	assert_int_equal(p.val[ISCSI_PARAM_MAX_BURST], 4096);
	assert_false(iscsi_param_update(&p, "InitialR2T", "yes", &known));
	assert_false(iscsi_param_update(&p, "NoSuchKey", "1", &known));
	assert_false(known);
	assert_false(iscsi_param_update(&p, "MaxOutstandingUnexpectedPDUs",
					"1", &known));
	assert_true(iscsi_param_update(&p, "MaxOutstandingUnexpectedPDUs",
				       "2", &known));
	iscsi_param_format(ISCSI_PARAM_OFMARKINT, 2048, buf, sizeof(buf));
	assert_string_equal(buf, "Reject");
	iscsi_param_format(ISCSI_PARAM_DATAPDU_INORDER, 1, buf, sizeof(buf));
	assert_string_equal(buf, "Yes");
	assert_string_equal(iscsi_param_name(ISCSI_PARAM_MAX_QUEUE_CMD),
			    "MaxQueueCmd");
}

static void test_kv_iteration(void **state)
{
	char text[] = "InitiatorName=iqn.x\0\0SessionType=Normal\0Bad\0Tail=1";
	char *cursor = text, *key, *value;
	/* The caller guarantees a spare byte after the data. */
	char *end = text + sizeof(text) - 1;

	(void)state;
	assert_true(kv_next(&cursor, end, &key, &value));
	assert_string_equal(key, "InitiatorName");
	assert_string_equal(value, "iqn.x");
	assert_true(kv_next(&cursor, end, &key, &value));
	assert_string_equal(key, "SessionType");
	assert_true(kv_next(&cursor, end, &key, &value));
	assert_string_equal(key, "Bad");
	assert_null(value);
	assert_true(kv_next(&cursor, end, &key, &value));
	assert_string_equal(value, "1");
	assert_false(kv_next(&cursor, end, &key, &value));
}

static void test_kv_text_bounded(void **state)
{
	struct kv_text t;

	(void)state;
	kv_text_init(&t, 16);
	kv_text_add(&t, "A", "1");
	assert_int_equal(t.len, 4);
	assert_memory_equal(t.buf, "A=1\0", 4);
	kv_text_add(&t, "Long", "0123456789");
	assert_true(t.overflow);
	assert_int_equal(t.len, 4);
	kv_text_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numeric_minimum),
		cmocka_unit_test(test_first_burst_within_max_burst),
		cmocka_unit_test(test_out_of_range_rejected),
		cmocka_unit_test(test_number_forms),
		cmocka_unit_test(test_fixed_keys),
		cmocka_unit_test(test_boolean_rules),
		cmocka_unit_test(test_digest_choice),
		cmocka_unit_test(test_digest_enabled),
		cmocka_unit_test(test_declared_recv_length),
		cmocka_unit_test(test_bad_declaration),
		cmocka_unit_test(test_update_and_format),
		cmocka_unit_test(test_kv_iteration),
		cmocka_unit_test(test_kv_text_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
