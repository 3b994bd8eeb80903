/* Unit tests: what tgt-admin reads from tgtadm's show output, and the
 * decoding of a direct-store device's SCSI answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tools/scsi_probe.h"
#include "tools/tgtd_state.h"

/* tgt 1.0.85's layout (spec §4.2), one session on target 2. */
static const char target_show[] =
	"Target 1: iqn.2001-04.com.example:storage.disk1\n"
	"    System information:\n"
	"        Driver: iscsi\n"
	"        State: offline\n"
	"        Nop interval: 5\n"
	"        Nop count: 3\n"
	"    I_T nexus information:\n"
	"    LUN information:\n"
	"        LUN: 0\n"
	"            Type: controller\n"
	"            SCSI ID: IET     00010000\n"
	"            SCSI SN: beaf10\n"
	"            Size: 0 MB, Block size: 1\n"
	"            Online: Yes\n"
	"            Removable media: No\n"
	"            Prevent removal: No\n"
	"            Readonly: No\n"
	"            SWP: No\n"
	"            Thin-provisioning: No\n"
	"            Backing store type: null\n"
	"            Backing store path: None\n"
	"            Backing store flags: \n"
	"        LUN: 1\n"
	"            Type: disk\n"
	"            SCSI ID: IET     00010001\n"
	"            SCSI SN: beaf11\n"
	"            Size: 1074 MB, Block size: 4096\n"
	"            Online: No\n"
	"            Removable media: Yes\n"
	"            Prevent removal: No\n"
	"            Readonly: Yes\n"
	"            SWP: No\n"
	"            Thin-provisioning: Yes\n"
	"            Backing store type: rdwr\n"
	"            Backing store path: /srv/iscsi/disk1.img\n"
	"            Backing store flags: sync:direct\n"
	"    Account information:\n"
	"        alice\n"
	"        bob (outgoing)\n"
	"    ACL information:\n"
	"        192.168.1.0/24\n"
	"        ALL\n"
	"        iqn.1994-05.com.redhat:abc\n"
	"Target 2: iqn.2024-01.test:t2\n"
	"    System information:\n"
	"        Driver: iscsi\n"
	"        State: ready\n"
	"        Max sessions: 4\n" /* mtgt's own */
	"    I_T nexus information:\n"
	"        I_T nexus: 7\n"
	"            Initiator: iqn.2024-01.test:init1 alias: pytest\n"
	"            Connection: 3\n"
	"                IP Address: 127.0.0.1\n"
	"    LUN information:\n"
	"    Account information:\n"
	"    ACL information:\n";

static void test_targets(void **state)
{
	struct tgtd_state st = { 0 };
	const struct state_target *t;
	const struct state_lun *l;

	(void)state;
	assert_int_equal(tgtd_state_parse_targets(&st, target_show), 0);
	assert_int_equal(st.nr_targets, 2);
	t = tgtd_state_find(&st, "iqn.2001-04.com.example:storage.disk1");
	assert_non_null(t);
	assert_int_equal(t->tid, 1);
	assert_string_equal(t->driver, "iscsi");
	assert_true(t->offline);
	assert_true(t->has_nop);
	assert_int_equal(t->nop_interval, 5);
	assert_int_equal(t->nop_count, 3);
	assert_int_equal(t->max_sessions, 0);
	assert_false(t->connected);
	assert_int_equal(t->nr_luns, 2);
	assert_null(t->luns[0].path);
	assert_string_equal(t->luns[0].bs_flags, "");
	l = &t->luns[1];
	assert_int_equal(l->lun, 1);
	assert_string_equal(l->type, "disk");
	assert_string_equal(l->scsi_id, "IET     00010001");
	assert_string_equal(l->scsi_sn, "beaf11");
	assert_int_equal(l->block_size, 4096);
	assert_false(l->online);
	assert_true(l->removable);
	assert_true(l->readonly);
	assert_true(l->thin_provisioning);
	assert_string_equal(l->bs_type, "rdwr");
	assert_string_equal(l->path, "/srv/iscsi/disk1.img");
	assert_string_equal(l->bs_flags, "sync:direct");
	assert_int_equal(t->incoming.count, 1);
	assert_string_equal(t->incoming.items[0], "alice");
	assert_string_equal(t->outgoing, "bob");
	assert_int_equal(t->acls.count, 3);
	assert_string_equal(t->acls.items[2], "iqn.1994-05.com.redhat:abc");

	t = tgtd_state_find_tid(&st, 2);
	assert_non_null(t);
	assert_false(t->offline);
	assert_int_equal(t->max_sessions, 4);
	assert_true(t->connected);
	assert_int_equal(t->nr_sessions, 1);
	assert_int_equal(t->sessions[0].sid, 7);
	assert_int_equal(t->sessions[0].cid, 3);
	assert_int_equal(t->nr_luns, 0);
	assert_int_equal(tgtd_state_max_tid(&st), 2);
	tgtd_state_free(&st);
}

static void test_accounts_and_system(void **state)
{
	static const char accounts[] = "Account list:\n    carol\n    dave\n";
	static const char system[] =
		"System:\n"
		"    State: ready\n"
		"    debug: off\n"
		"LLDs:\n"
		"    iscsi: ready\n"
		"Backing stores:\n"
		"    rdwr (bsoflags sync:direct)\n"
		"Device types:\n"
		"    disk\n"
		"    Account information:\n"
		"\n"
		"    carol\n"
		"    dave (outgoing)\n"
		"iSNS:\n"
		"    iSNS=Off\n"
		"    iSNSServerIP=\n"
		"    iSNSServerPort=3205\n"
		"    iSNSAccessControl=Off\n";
	struct tgtd_state st = { 0 };

	(void)state;
	assert_int_equal(tgtd_state_parse_accounts(&st, accounts), 0);
	assert_int_equal(st.accounts.count, 2);
	assert_true(str_list_contains(&st.accounts, "dave"));
	assert_false(str_list_contains(&st.accounts, "Account list:"));
	assert_int_equal(tgtd_state_parse_system(&st, system), 0);
	assert_int_equal(st.discovery_incoming.count, 1);
	assert_string_equal(st.discovery_incoming.items[0], "carol");
	assert_string_equal(st.discovery_outgoing, "dave");
	assert_string_equal(st.isns, "Off");
	assert_string_equal(st.isns_server_ip, "");
	assert_string_equal(st.isns_server_port, "3205");
	assert_string_equal(st.isns_access_control, "Off");
	tgtd_state_free(&st);
}

static void test_scsi_probe_decoding(void **state)
{
	uint8_t inquiry[36] = { 0x00, 0, 5, 2, 31 };
	static const uint8_t serial[] = { 0, 0x80, 0, 6, ' ', 'S', 'N', '1',
					  ' ', ' ' };
	uint8_t limits[64] = { 0, 0xb0, 0, 0x3c };
	uint8_t capacity[32] = { 0 };
	struct scsi_probe p = { .has_limits = false };

	(void)state;
	memcpy(inquiry + 8, "ATA     ", 8);
	memcpy(inquiry + 16, "Some Disk       ", 16);
	memcpy(inquiry + 32, "1.0 ", 4);
	scsi_probe_decode_inquiry(inquiry, sizeof(inquiry), &p);
	assert_string_equal(p.vendor, "ATA");
	assert_string_equal(p.product, "Some Disk");
	assert_string_equal(p.revision, "1.0");
	scsi_probe_decode_serial(serial, sizeof(serial), &p);
	assert_string_equal(p.serial, "SN1");
	limits[7] = 8;                    /* granularity 8 blocks */
	limits[14] = 0x01;                /* optimal length 0x100 */
	scsi_probe_decode_block_limits(limits, sizeof(limits), &p);
	assert_true(p.has_limits);
	assert_int_equal(p.optimal_xfer_gran, 8);
	assert_int_equal(p.optimal_xfer_len, 256);
	capacity[10] = 0x10;              /* 4096-byte blocks */
	capacity[13] = 0x23;              /* lbppbe 3 */
	capacity[14] = 0xc0;              /* only 14 bits count */
	capacity[15] = 0x07;
	scsi_probe_decode_capacity16(capacity, sizeof(capacity), &p);
	assert_int_equal(p.block_length, 4096);
	assert_int_equal(p.lbppbe, 3);
	assert_int_equal(p.lowest_aligned_lba, 7);
	/* a short answer changes nothing */
	scsi_probe_decode_inquiry(inquiry, 20, &p);
	assert_string_equal(p.vendor, "ATA");
	/* a file is no SCSI device: nothing is found */
	scsi_probe("/dev/null", &p);
	assert_string_equal(p.vendor, "");
	assert_false(p.has_capacity);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_accounts_and_system),
		cmocka_unit_test(test_scsi_probe_decoding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
