/* Unit tests: the targets.conf parser (syntax, directives, checks,
 * includes) on its own, without tgtd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tools/targets_conf.h"

/* Parses text; the caller frees conf. Returns the load result. */
static int parse(struct targets_conf *conf, const char *text,
		 struct conf_error *err)
{
	return targets_conf_load_buffer(conf, "t.conf", text, strlen(text), 0,
					err);
}

/* text must be refused with exactly this message. */
static void assert_error(const char *text, const char *expected)
{
	struct targets_conf conf;
	struct conf_error err;

	assert_int_equal(parse(&conf, text, &err), -1);
	assert_string_equal(err.text, expected);
	targets_conf_free(&conf);
}

/* The example of spec §5.8, as Debian's tgt-admin reads it. */
static const char debian_example[] =
	"default-driver iscsi\n"
	"<target iqn.2024-01.test:conf1>\n"
	"    backing-store /srv/iscsi/disk2.img\n"
	"    initiator-address 127.0.0.1\n"
	"    initiator-name iqn.2024-01.test:init1\n"
	"    incominguser dave davepassword12\n"
	"    outgoinguser erin erinpassword12\n"
	"    MaxRecvDataSegmentLength 65536\n"
	"    write-cache off\n"
	"    vendor_id MyVendor\n"
	"    controller_tid 20\n"
	"</target>\n"
	"<target iqn.2024-01.test:conf2>\n"
	"    <backing-store /srv/iscsi/disk1.img>\n"
	"        lun 5\n"
	"        scsi_sn SERIAL5\n"
	"        bs-type aio\n"
	"        block-size 4096\n"
	"        params thin_provisioning=1\n"
	"        mode_page 8:0:18:0x10:0:0xff:0xff:0:0:0xff:0xff:0xff:0xff:"
	"0x80:0x14:0:0:0:0:0:0\n"
	"    </backing-store>\n"
	"    <backing-store /srv/iscsi/disk2.img>\n"
	"        scsi_id MYID\n"
	"        readonly 1\n"
	"    </backing-store>\n"
	"    allow-in-use yes\n"
	"    HeaderDigest CRC32C\n"
	"</target>\n";

static void test_debian_example(void **state)
{
	struct targets_conf conf;
	struct conf_error err;
	const struct conf_target *t1, *t2;

	(void)state;
	assert_int_equal(parse(&conf, debian_example, &err), 0);
	assert_int_equal(conf.nr_targets, 2);
	t1 = &conf.targets[0];
	assert_string_equal(t1->node->value, "iqn.2024-01.test:conf1");
	assert_int_equal(t1->tid, 20);
	assert_string_equal(conf_target_driver(&conf, t1), "iscsi");
	assert_int_equal(t1->nr_stores, 1);
	assert_false(t1->stores[0].lun_given);
	assert_string_equal(t1->stores[0].node->value, "/srv/iscsi/disk2.img");
	assert_string_equal(t1->incoming[0].user, "dave");
	assert_string_equal(t1->incoming[0].password, "davepassword12");
	assert_string_equal(t1->outgoing.user, "erin");
	assert_int_equal(t1->initiator_addresses.count, 1);
	assert_int_equal(t1->initiator_names.count, 1);
	/* target-level LUN settings apply to the store */
	assert_string_equal(CONF_STORE_SETTING(t1, &t1->stores[0],
					       write_cache)->value, "off");
	assert_string_equal(conf_store_param(t1, &t1->stores[0],
					     LU_VENDOR_ID)->value, "MyVendor");
	assert_int_equal(t1->target_params.count, 1);
	assert_string_equal(t1->target_params.items[0]->key,
			    "MaxRecvDataSegmentLength");

	t2 = &conf.targets[1];
	assert_int_equal(t2->tid, 0);
	assert_int_equal(t2->nr_stores, 2);
	/* sorted by path: disk1 (lun 5) before disk2 */
	assert_string_equal(t2->stores[0].node->value, "/srv/iscsi/disk1.img");
	assert_true(t2->stores[0].lun_given);
	assert_int_equal(t2->stores[0].lun, 5);
	assert_string_equal(CONF_STORE_SETTING(t2, &t2->stores[0],
					       bs_type)->value, "aio");
	assert_string_equal(CONF_STORE_SETTING(t2, &t2->stores[0],
					       block_size)->value, "4096");
	assert_int_equal(t2->stores[0].set.mode_pages.count, 1);
	assert_int_equal(t2->stores[0].set.params.count, 1);
	assert_false(t2->stores[1].lun_given);
	assert_string_equal(conf_store_param(t2, &t2->stores[1],
					     LU_SCSI_ID)->value, "MYID");
	assert_null(conf_store_param(t2, &t2->stores[1], LU_SCSI_SN));
	/* allow-in-use from the target level reaches both blocks */
	assert_string_equal(CONF_STORE_SETTING(t2, &t2->stores[1],
					       allow_in_use)->value, "yes");
	assert_int_equal(conf.nr_warnings, 0);
	targets_conf_free(&conf);
}

/* The configuration of the original description (seed), as written. */
static void test_seed_example(void **state)
{
	static const char seed[] =
		" <target iqn.2019-04.com.example:curve.img01>\n"
		"    backing-store cbd:pool//iscsi_test_\n"
		"    bs-type curve\n"
		"</target>\n"
		"\n"
		"<target iqn.2019-04.com.example:local.img01>\n"
		"    backing-store /dev/sde\n"
		"</target>\n"
		"\n"
		"<target iqn.2019-04.com.example:local.img02>\n"
		"    backing-store /dev/sdc\n"
		"</target>\n";
	struct targets_conf conf;
	struct conf_error err;
	const struct conf_target *t;

	(void)state;
	assert_int_equal(parse(&conf, seed, &err), 0);
	assert_int_equal(conf.nr_targets, 3);
	t = targets_conf_find(&conf, "iqn.2019-04.com.example:curve.img01");
	assert_non_null(t);
	assert_string_equal(t->stores[0].node->value, "cbd:pool//iscsi_test_");
	/* any bs-type name is taken: tgtd decides */
	assert_string_equal(CONF_STORE_SETTING(t, &t->stores[0],
					       bs_type)->value, "curve");
	assert_string_equal(conf.targets[1].stores[0].node->value, "/dev/sde");
	assert_string_equal(conf.targets[2].stores[0].node->value, "/dev/sdc");
	targets_conf_free(&conf);
}

static void test_syntax(void **state)
{
	static const char text[] =
		"# a comment\n"
		"<target \"iqn.2024-01.test:q\">   # trailing comment\n"
		"  vendor_id My Vendor \\#1   # spaces inside stay\n"
		"  product_id = \"Quoted Product\"\n"
		"  scsi_sn=SN\\\n"
		"     123\n"
		"  scsi_id two \\\n"
		"     words\n"
		"/* a C comment\n"
		"   over lines */\n"
		"  product_rev 0042 /* inline */\r\n"
		"</target>\n";
	struct targets_conf conf;
	struct conf_error err;
	const struct conf_target *t;

	(void)state;
	assert_int_equal(parse(&conf, text, &err), 0);
	t = &conf.targets[0];
	assert_string_equal(t->node->value, "iqn.2024-01.test:q");
	assert_string_equal(t->defaults.param[LU_VENDOR_ID]->value,
			    "My Vendor #1");
	assert_string_equal(t->defaults.param[LU_PRODUCT_ID]->value,
			    "Quoted Product");
	assert_string_equal(t->defaults.param[LU_SCSI_SN]->value, "SN123");
	assert_int_equal(t->defaults.param[LU_SCSI_SN]->loc.line, 5);
	assert_string_equal(t->defaults.param[LU_SCSI_ID]->value, "two words");
	assert_string_equal(t->defaults.param[LU_PRODUCT_REV]->value, "0042");
	assert_int_equal(t->defaults.param[LU_PRODUCT_REV]->loc.line, 11);
	targets_conf_free(&conf);
}

static void test_errors_name_file_line_directive(void **state)
{
	(void)state;
	assert_error("<target iqn.x:a>\n  backing_store /a\n</target>\n",
		     "t.conf:2: directive 'backing_store': unknown directive "
		     "in a target");
	assert_error("<target iqn.x:a>\n  lun\n</target>\n",
		     "t.conf:2: directive 'lun': missing value");
	assert_error("<target iqn.x:a>\n  backing-store /a\n  lun x1\n"
		     "</target>\n",
		     "t.conf:3: directive 'lun': 'x1' is not a number from 1 "
		     "to 18446744073709551614");
	assert_error("<target iqn.x:a>\n  MaxConnections 2\n"
		     "  MaxConnections 4\n</target>\n",
		     "t.conf:3: directive 'MaxConnections': given more than "
		     "once here (first at t.conf:2)");
	assert_error("<target iqn.x:a>\n  write-cache maybe\n</target>\n",
		     "t.conf:2: directive 'write-cache': 'maybe' is not 'on' "
		     "or 'off'");
	assert_error("<target iqn.x:a>\n  device-type floppy\n</target>\n",
		     "t.conf:2: directive 'device-type': unknown device type "
		     "'floppy' (disk, tape, ssc, cd, changer, osd, pt)");
	assert_error("<target iqn.x:a>\n  backing-store /a,b\n</target>\n",
		     "t.conf:2: directive 'backing-store': '/a,b': a comma "
		     "cannot be sent to tgtd here");
	assert_error("<target iqn.x:a>\n  incominguser alice\n</target>\n",
		     "t.conf:2: directive 'incominguser': 'alice': expected "
		     "'<user> <password>'");
	assert_error("<target iqn.x:a>\n  state asleep\n</target>\n",
		     "t.conf:2: directive 'state': 'asleep' is not 'ready' or "
		     "'offline'");
	assert_error("ignore-errors sometimes\n",
		     "t.conf:1: directive 'ignore-errors': 'sometimes' is not "
		     "'yes' or 'no'");
	assert_error("frobnicate 1\n",
		     "t.conf:1: directive 'frobnicate': unknown directive at "
		     "the top level");
	assert_error("control-port 99999\n",
		     "t.conf:1: directive 'control-port': '99999' is not a "
		     "number from 0 to 32767");
}

static void test_block_errors(void **state)
{
	(void)state;
	assert_error("<target iqn.x:a>\n  backing-store /a\n",
		     "t.conf:1: <target> is not closed before the end of the "
		     "file");
	assert_error("<target iqn.x:a>\n</backing-store>\n",
		     "t.conf:2: </backing-store> does not close <target> of "
		     "line 1");
	assert_error("</target>\n", "t.conf:1: </target> closes no open block");
	assert_error("<target>\n</target>\n",
		     "t.conf:1: directive 'target': the block needs a target "
		     "name");
	assert_error("<target iqn.x:under_score>\n</target>\n",
		     "t.conf:1: directive 'target': 'iqn.x:under_score': a "
		     "target name may hold only letters, digits, '.', ':' and "
		     "'-'");
	assert_error("<lun 1>\n</lun>\n",
		     "t.conf:1: directive 'lun': unknown block at the top "
		     "level (only <target> blocks are)");
	assert_error("<target iqn.x:a>\n <backing-store /a>\n  <x y>\n  </x>\n"
		     " </backing-store>\n</target>\n",
		     "t.conf:3: directive 'x': no block can be nested here");
	assert_error("<target iqn.x:a>\n <direct-store>\n </direct-store>\n"
		     "</target>\n",
		     "t.conf:2: directive 'direct-store': the block needs a "
		     "path");
	assert_error("<a 1>\n<b 1>\n<c 1>\n<d 1>\n<e 1>\n<f 1>\n<g 1>\n<h 1>\n"
		     "<i 1>\n",
		     "t.conf:9: blocks nested more than 8 deep");
	assert_error("= x\n",
		     "t.conf:1: a line must start with a directive name");
}

static void test_lun_checks(void **state)
{
	(void)state;
	assert_error("<target iqn.x:a>\n  backing-store /a\n"
		     "  <backing-store /a>\n  </backing-store>\n</target>\n",
		     "t.conf:3: directive 'backing-store': '/a' is already a "
		     "LUN of this target");
	assert_error("<target iqn.x:a>\n  <backing-store /a>\n   lun 3\n"
		     "  </backing-store>\n  <backing-store /b>\n   lun 3\n"
		     "  </backing-store>\n</target>\n",
		     "t.conf:6: directive 'lun': LUN 3 is given twice in this "
		     "target");
	assert_error("<target iqn.x:a>\n  backing-store /a\n"
		     "  backing-store /b\n  lun 2\n</target>\n",
		     "t.conf:4: directive 'lun': a target-level lun needs "
		     "exactly one backing-store or direct-store");
	assert_error("<target iqn.x:a>\n  lun 0\n</target>\n",
		     "t.conf:2: directive 'lun': '0' is not a number from 1 to "
		     "18446744073709551614");
	assert_error("<target iqn.x:a>\n  controller_tid 3\n</target>\n"
		     "<target iqn.x:b>\n  controller_tid 3\n</target>\n",
		     "t.conf:5: directive 'controller_tid': tid 3 is also "
		     "given to another target");
}

/* backing-stores by path, then direct-stores; a target-level lun numbers
 * the single store; block-size counts only inside a block (with a
 * warning); repeated target blocks are merged. */
static void test_store_order_and_merge(void **state)
{
	static const char text[] =
		"<target iqn.x:b>\n"
		"  direct-store /dev/sdz\n"
		"  backing-store /z\n"
		"  <backing-store /a>\n"
		"    block-size 4096\n"
		"  </backing-store>\n"
		"  block-size 1024\n"
		"  bs-type null\n"
		"</target>\n"
		"<target iqn.x:a>\n"
		"  backing-store /only\n"
		"  lun 7\n"
		"</target>\n"
		"<target iqn.x:b>\n"
		"  initiator-address 10.0.0.1\n"
		"  nop_interval 5\n"
		"  HeaderDigest CRC32C\n"
		"</target>\n";
	struct targets_conf conf;
	struct conf_error err;
	const struct conf_target *a, *b;

	(void)state;
	assert_int_equal(parse(&conf, text, &err), 0);
	assert_int_equal(conf.nr_targets, 2);
	a = &conf.targets[0];
	b = &conf.targets[1];
	assert_string_equal(a->node->value, "iqn.x:a");
	assert_true(a->stores[0].lun_given);
	assert_int_equal(a->stores[0].lun, 7);
	assert_int_equal(b->nr_stores, 3);
	assert_string_equal(b->stores[0].node->value, "/a");
	assert_string_equal(b->stores[1].node->value, "/z");
	assert_string_equal(b->stores[2].node->value, "/dev/sdz");
	assert_true(b->stores[2].direct);
	assert_string_equal(CONF_STORE_SETTING(b, &b->stores[0],
					       block_size)->value, "4096");
	assert_null(CONF_STORE_SETTING(b, &b->stores[1], block_size));
	assert_string_equal(CONF_STORE_SETTING(b, &b->stores[1],
					       bs_type)->value, "null");
	assert_int_equal(conf.nr_warnings, 1);
	assert_non_null(strstr(conf.warnings[0], "t.conf:7: directive "
					       "'block-size'"));
	/* merged block: its directives joined the first one's */
	assert_int_equal(b->initiator_addresses.count, 1);
	assert_int_equal(b->target_params.count, 2);
	/* sorted as tgt-admin sends them: capitals first */
	assert_string_equal(b->target_params.items[0]->key, "HeaderDigest");
	assert_string_equal(b->target_params.items[1]->key, "nop_interval");
	targets_conf_free(&conf);
}

static void test_globals(void **state)
{
	static const char text[] =
		"iSNS On\n"
		"iSNSServerPort 3205\n"
		"iSNSServerIP 192.0.2.1\n"
		"iSNSAccessControl Off\n"
		"ignore-errors yes\n"
		"control-port 12\n"
		"incomingdiscoveryuser disc secret\n"
		"outgoingdiscoveryuser back secret2\n";
	struct targets_conf conf;
	struct conf_error err;

	(void)state;
	assert_int_equal(parse(&conf, text, &err), 0);
	assert_true(conf.ignore_errors_yes);
	assert_int_equal(conf.control_port_value, 12);
	assert_int_equal(conf.isns.count, 4);
	assert_string_equal(conf.isns.items[0]->key, "iSNSAccessControl");
	assert_string_equal(conf.isns.items[1]->key, "iSNSServerIP");
	assert_string_equal(conf.isns.items[2]->key, "iSNSServerPort");
	assert_string_equal(conf.isns.items[3]->key, "iSNS");
	assert_string_equal(conf.incoming_discovery.user, "disc");
	assert_string_equal(conf.outgoing_discovery.password, "secret2");
	assert_int_equal(conf.nr_targets, 0);
	targets_conf_free(&conf);
}

/* ---- includes, with files in a temporary directory ---- */

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int make_tmpdir(void **state)
{
	char sub[128];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_targets_conf.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(sub, sizeof(sub), "%s/conf.d", tmpdir);
	return mkdir(sub, 0700);
}

static int remove_tmpdir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd);
}

/* Loads main.conf; the error is printed to help when a check fails. */
static int load_main(struct targets_conf *conf, struct conf_error *err)
{
	char path[128];
	int rc;

	snprintf(path, sizeof(path), "%s/main.conf", tmpdir);
	rc = targets_conf_load_file(conf, path, err);
	if (rc)
		print_message("load: %s\n", err->text);
	return rc;
}

static void test_includes(void **state)
{
	struct targets_conf conf;
	struct conf_error err;
	char expected[256];

	(void)state;
	write_file("main.conf", "default-driver iscsi\n"
				"include conf.d/*.conf\n"
				"include main.conf\n" /* read once only */
				"includeoptional /nonexistent/file\n"
				"include extra\n");
	write_file("conf.d/b.conf", "<target iqn.x:b>\n backing-store /b\n"
				    "</target>\n");
	write_file("conf.d/a.conf", "<target iqn.x:a>\n include ../inner\n"
				    "</target>\n");
	/* not matched by the glob (main.conf has a default-driver) */
	write_file("conf.d/other.txt", "default-driver iscsi\n");
	write_file("inner", "backing-store /a\n");
	write_file("extra", "");
	assert_int_equal(load_main(&conf, &err), 0);
	assert_int_equal(conf.nr_targets, 2);
	assert_string_equal(conf.targets[0].node->value, "iqn.x:a");
	assert_int_equal(conf.targets[0].nr_stores, 1);
	/* the directive keeps the file it came from */
	snprintf(expected, sizeof(expected), "%s/conf.d/../inner", tmpdir);
	assert_string_equal(conf.targets[0].stores[0].node->loc.file,
			    expected);
	targets_conf_free(&conf);

	/* an error inside an included file names that file */
	write_file("conf.d/b.conf", "<target iqn.x:b>\n bogus 1\n</target>\n");
	assert_int_equal(load_main(&conf, &err), -1);
	snprintf(expected, sizeof(expected), "%s/conf.d/b.conf:2: directive "
		 "'bogus': unknown directive in a target", tmpdir);
	assert_string_equal(err.text, expected);
	targets_conf_free(&conf);

	/* a missing file (no glob) is an error of the include line */
	write_file("conf.d/b.conf", "include missing.conf\n");
	assert_int_equal(load_main(&conf, &err), -1);
	snprintf(expected, sizeof(expected), "%s/conf.d/b.conf:1: directive "
		 "'include': cannot read %s/conf.d/missing.conf: No such file "
		 "or directory", tmpdir, tmpdir);
	assert_string_equal(err.text, expected);
	targets_conf_free(&conf);

	/* only regular files are included */
	write_file("main.conf", "include /dev/zero\n");
	assert_int_equal(load_main(&conf, &err), -1);
	snprintf(expected, sizeof(expected), "%s/main.conf:1: directive "
		 "'include': /dev/zero is not a regular file", tmpdir);
	assert_string_equal(err.text, expected);
	targets_conf_free(&conf);

	/* for fuzzing: text in memory that may not include anything */
	assert_int_equal(targets_conf_load_buffer(&conf, "m", "include x\n", 10,
						  CONF_NO_INCLUDES, &err), -1);
	assert_string_equal(err.text, "m:1: directive 'include': includes are "
			    "not allowed here");
	targets_conf_free(&conf);

	/* a directory: all its files */
	write_file("conf.d/b.conf", "");
	write_file("main.conf", "include conf.d\n");
	assert_int_equal(load_main(&conf, &err), 0);
	assert_int_equal(conf.nr_targets, 1);
	assert_non_null(conf.default_driver);
	targets_conf_free(&conf);
}

static void test_nul_byte_refused(void **state)
{
	static const char text[] = "default-driver iscsi\nbad\0line\n";
	struct targets_conf conf;
	struct conf_error err;

	(void)state;
	assert_int_equal(targets_conf_load_buffer(&conf, "t.conf", text,
						  sizeof(text) - 1, 0, &err),
			 -1);
	assert_string_equal(err.text, "t.conf:2: NUL byte in line");
	targets_conf_free(&conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debian_example),
		cmocka_unit_test(test_seed_example),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_errors_name_file_line_directive),
		cmocka_unit_test(test_block_errors),
		cmocka_unit_test(test_lun_checks),
		cmocka_unit_test(test_store_order_and_merge),
		cmocka_unit_test(test_globals),
		cmocka_unit_test(test_includes),
		cmocka_unit_test(test_nul_byte_refused),
	};

	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
