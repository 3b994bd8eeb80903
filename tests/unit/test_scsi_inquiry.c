/* INQUIRY standard data and VPD pages, and the tgt-compatible defaults of
 * new logical units. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/byteorder.h"
#include "scsi/scsi.h"
#include "target/target.h"

#include "scsi_fixture.h"

/* ---- tests ---- */

static void test_lu_defaults(void **state)
{
	struct scsi_lu *lu;

	(void)state;
	lu = scsi_lu_new(NULL, 20, 256, SCSI_TYPE_DISK);
	assert_non_null(lu);
	assert_string_equal(lu->vendor_id, "IET");
	assert_string_equal(lu->product_id, "VIRTUAL-DISK");
	assert_string_equal(lu->product_rev, "0001");
	assert_string_equal(lu->scsi_id, "IET     00140100");
	assert_string_equal(lu->scsi_sn, "beaf20256");
	assert_int_equal(lu->blk_shift, 9);
	assert_true(lu->online);
	assert_true(lu->write_cache);
	assert_false(lu->readonly);
	assert_false(lu->removable);
	assert_false(lu->sense_descriptor);
	scsi_lu_free(lu);

	lu = scsi_lu_new(NULL, 1, 0, SCSI_TYPE_CONTROLLER);
	assert_string_equal(lu->product_id, "Controller");
	assert_string_equal(lu->scsi_id, "IET     00010000");
	assert_string_equal(lu->scsi_sn, "beaf10");
	assert_int_equal(lu->blk_shift, 0);
	scsi_lu_free(lu);
}

static void test_standard_disk(void **state)
{
	struct fx *f = *state;
	const uint8_t *d;
	bool spc4 = false, sbc3 = false;

	SEND(f, 1, 0x12, 0, 0, 1, 4, 0); /* allocation length 260 */
	assert_good(f);
	d = f->cmd.in_buf;
	assert_true(f->cmd.in_len >= 36);
	assert_int_equal(d[4], f->cmd.in_len - 5);
	assert_int_equal(d[0], 0x00);          /* qualifier 0, disk */
	assert_int_equal(d[1], 0x00);          /* not removable */
	assert_int_equal(d[2], 0x06);          /* SPC-4 */
	assert_int_equal(d[3] & 0x0f, 2);      /* response data format */
	assert_int_equal(d[3] & 0xc0, 0);      /* no AERC/TRMTSK */
	assert_int_equal(d[5] & 0x01, 0);      /* no PROTECT */
	assert_int_equal(d[7] & 0x02, 0x02);   /* CMDQUE */
	assert_memory_equal(d + 8, "IET     ", 8);
	assert_memory_equal(d + 16, "VIRTUAL-DISK    ", 16);
	assert_memory_equal(d + 32, "0001", 4);
	for (unsigned i = 58; i + 1 < f->cmd.in_len && i < 74; i += 2) {
		if (get_be16(d + i) == 0x0460)
			spc4 = true;
		if (get_be16(d + i) == 0x04c0)
			sbc3 = true;
	}
	assert_true(spc4);
	assert_true(sbc3);
}

static void test_standard_controller_and_flags(void **state)
{
	struct fx *f = *state;

	SEND(f, 0, 0x12, 0, 0, 0, 255, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[0], SCSI_TYPE_CONTROLLER);
	assert_memory_equal(f->cmd.in_buf + 16, "Controller      ", 16);
	for (unsigned i = 58; i + 1 < f->cmd.in_len; i += 2)
		assert_int_not_equal(get_be16(f->cmd.in_buf + i), 0x04c0);

	f->disk->removable = true;
	strcpy(f->disk->vendor_id, "MyVendor");
	SEND(f, 1, 0x12, 0, 0, 0, 255, 0);
	assert_int_equal(f->cmd.in_buf[1], 0x80);
	assert_memory_equal(f->cmd.in_buf + 8, "MyVendor", 8);
}

static void test_alloc_length(void **state)
{
	struct fx *f = *state;
	uint8_t full[255];
	uint32_t full_len;

	SEND(f, 1, 0x12, 0, 0, 0, 0, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 0);
	SEND(f, 1, 0x12, 0, 0, 0, 5, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_len, 5);

	SEND(f, 1, 0x12, 0, 0, 0, 255, 0);
	full_len = f->cmd.in_len;
	memcpy(full, f->cmd.in_buf, full_len);
	/* 16-bit allocation length: 256 gives the same data as 255. */
	SEND(f, 1, 0x12, 0, 0, 1, 0, 0);
	assert_int_equal(f->cmd.in_len, full_len);
	assert_memory_equal(f->cmd.in_buf, full, full_len);
}

static void test_evpd_rules(void **state)
{
	struct fx *f = *state;

	/* Page code without EVPD (libiscsi Inquiry.EVPD). */
	SEND(f, 1, 0x12, 0, 1, 0, 255, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field(f, true, 2, 7);
	/* Unsupported page. */
	SEND(f, 1, 0x12, 1, 0x89, 0, 255, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	/* Block pages exist only on disks. */
	SEND(f, 0, 0x12, 1, 0xb0, 0, 255, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
}

/* Every page listed by page 00h can be read and carries a consistent
 * header (libiscsi Inquiry.SupportedVPD). */
static void test_supported_pages(void **state)
{
	static const uint8_t disk[] = { 0x00, 0x80, 0x83, 0x8f, 0xb0, 0xb1,
				       0xb2 };
	static const uint8_t ctl[] = { 0x00, 0x80, 0x83 };
	struct fx *f = *state;
	uint8_t list[16];
	unsigned n;

	SEND(f, 1, 0x12, 1, 0x00, 0, 255, 0);
	assert_good(f);
	n = get_be16(f->cmd.in_buf + 2);
	assert_int_equal(n, sizeof(disk));
	assert_memory_equal(f->cmd.in_buf + 4, disk, sizeof(disk));
	memcpy(list, f->cmd.in_buf + 4, n);
	for (unsigned i = 0; i < n; i++) {
		SEND(f, 1, 0x12, 1, list[i], 0, 255, 0);
		assert_good(f);
		assert_int_equal(f->cmd.in_buf[0], 0x00);
		assert_int_equal(f->cmd.in_buf[1], list[i]);
		assert_int_equal(get_be16(f->cmd.in_buf + 2) + 4,
				 f->cmd.in_len);
	}
	SEND(f, 0, 0x12, 1, 0x00, 0, 255, 0);
	assert_int_equal(f->cmd.in_buf[0], SCSI_TYPE_CONTROLLER);
	assert_int_equal(get_be16(f->cmd.in_buf + 2), sizeof(ctl));
	assert_memory_equal(f->cmd.in_buf + 4, ctl, sizeof(ctl));
	/* A missing LUN lists page 00h only, qualifier 3. */
	SEND(f, 5, 0x12, 1, 0x00, 0, 255, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[0], 0x7f);
	assert_int_equal(get_be16(f->cmd.in_buf + 2), 1);
	SEND(f, 5, 0x12, 1, 0x80, 0, 255, 0);
	assert_sense(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
}

static void test_serial(void **state)
{
	struct fx *f = *state;

	SEND(f, 1, 0x12, 1, 0x80, 0, 255, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[3], 6);
	assert_memory_equal(f->cmd.in_buf + 4, "beaf11", 6);
}

/* Finds designator `type` with `assoc`; returns it or NULL. */
static const uint8_t *find_designator(const uint8_t *page, unsigned len,
				      unsigned type, unsigned assoc)
{
	for (unsigned off = 4; off + 4 <= len; off += 4 + page[off + 3])
		if ((page[off + 1] & 0x0f) == type &&
		    ((page[off + 1] >> 4) & 0x03) == assoc)
			return page + off;
	return NULL;
}

static uint64_t naa_of(struct fx *f, uint64_t lun)
{
	const uint8_t *d;

	SEND(f, lun, 0x12, 1, 0x83, 0, 255, 0);
	assert_good(f);
	d = find_designator(f->cmd.in_buf, f->cmd.in_len, 3, 0);
	assert_non_null(d);
	assert_int_equal(d[0] & 0x0f, 1); /* binary */
	assert_int_equal(d[3], 8);
	return get_be64(d + 4);
}

static void test_device_identification(void **state)
{
	struct fx *f = *state;
	const uint8_t *page, *d;
	uint64_t naa1, naa0;
	unsigned len;

	naa1 = naa_of(f, 1);
	assert_int_equal(naa1 >> 60, 3); /* NAA locally assigned */
	naa0 = naa_of(f, 0);
	assert_true(naa0 != naa1);
	/* The NAA follows the SCSI ID: same ID, same identifier. */
	strcpy(f->ctl->scsi_id, f->disk->scsi_id);
	assert_true(naa_of(f, 0) == naa1);

	SEND(f, 1, 0x12, 1, 0x83, 0, 255, 0);
	page = f->cmd.in_buf;
	len = f->cmd.in_len;
	assert_int_equal(get_be16(page + 2) + 4, len);
	/* Descriptors tile the page exactly. */
	{
		unsigned off = 4;

		while (off < len)
			off += 4 + page[off + 3];
		assert_int_equal(off, len);
	}
	d = find_designator(page, len, 1, 0); /* T10 vendor ID */
	assert_non_null(d);
	assert_int_equal(d[0] & 0x0f, 2);     /* ASCII */
	/* tgt's default SCSI ID already starts with the padded vendor and
	 * is used as it is, so initiators see the id `show` prints. */
	assert_int_equal(d[3], strlen("IET     00010001"));
	assert_memory_equal(d + 4, "IET     00010001", 16);

	d = find_designator(page, len, 4, 1); /* relative target port */
	assert_non_null(d);
	assert_int_equal(d[0] >> 4, 5);       /* iSCSI */
	assert_true(d[1] & 0x80);             /* PIV */
	assert_int_equal(get_be16(d + 6), 1);

	d = find_designator(page, len, 8, 2); /* SCSI name of the target */
	assert_non_null(d);
	assert_int_equal(d[0] & 0x0f, 3);     /* UTF-8 */
	assert_int_equal(d[3] % 4, 0);
	assert_true(d[3] > strlen(f->t.name));
	assert_string_equal((const char *)d + 4, f->t.name);

	/* Any other id gets the vendor in front of it. */
	strcpy(f->disk->scsi_id, "MYID");
	SEND(f, 1, 0x12, 1, 0x83, 0, 255, 0);
	d = find_designator(f->cmd.in_buf, f->cmd.in_len, 1, 0);
	assert_non_null(d);
	assert_int_equal(d[3], 12);
	assert_memory_equal(d + 4, "IET     MYID", 12);
}

static void test_block_limits(void **state)
{
	struct fx *f = *state;
	const uint8_t *d;

	f->disk->optimal_xfer_len = 128;
	SEND(f, 1, 0x12, 1, 0xb0, 0, 64, 0);
	assert_good(f);
	d = f->cmd.in_buf;
	assert_int_equal(f->cmd.in_len, 64);
	assert_int_equal(d[3], 0x3c);
	assert_int_equal(get_be16(d + 6), 1);  /* granularity: 1 block */
	assert_int_equal(get_be32(d + 8), SCSI_MAX_XFER_BYTES / 512);
	assert_int_equal(get_be32(d + 12), 128);
	assert_int_equal(get_be32(d + 20), 0); /* no UNMAP */
	assert_int_equal(get_be32(d + 24), 0);

	/* 4 KiB blocks, 4 logical per physical. */
	f->disk->blk_shift = 12;
	f->disk->lbppbe = 2;
	f->disk->optimal_xfer_len = 1u << 30;
	SEND(f, 1, 0x12, 1, 0xb0, 0, 64, 0);
	d = f->cmd.in_buf;
	assert_int_equal(get_be16(d + 6), 4);
	assert_int_equal(get_be32(d + 8), SCSI_MAX_XFER_BYTES / 4096);
	/* The optimal length never exceeds the maximum. */
	assert_int_equal(get_be32(d + 12), SCSI_MAX_XFER_BYTES / 4096);
}

static void test_characteristics_and_provisioning(void **state)
{
	struct fx *f = *state;

	f->disk->rotation_rate = 1;
	SEND(f, 1, 0x12, 1, 0xb1, 0, 255, 0);
	assert_good(f);
	assert_int_equal(f->cmd.in_buf[3], 0x3c);
	assert_int_equal(get_be16(f->cmd.in_buf + 4), 1);

	SEND(f, 1, 0x12, 1, 0xb2, 0, 255, 0);
	assert_good(f);
	assert_int_equal(get_be16(f->cmd.in_buf + 2), 4);
	assert_int_equal(f->cmd.in_buf[5] & 0xe0, 0); /* LBPU/LBPWS/LBPWS10 */
	assert_int_equal(f->cmd.in_buf[6] & 0x07, 0); /* fully provisioned */
	f->disk->thin_provisioning = true;
	SEND(f, 1, 0x12, 1, 0xb2, 0, 255, 0);
	assert_int_equal(f->cmd.in_buf[6] & 0x07, 2); /* thin */
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lu_defaults),
		T(test_standard_disk),
		T(test_standard_controller_and_flags),
		T(test_alloc_length),
		T(test_evpd_rules),
		T(test_supported_pages),
		T(test_serial),
		T(test_device_identification),
		T(test_block_limits),
		T(test_characteristics_and_provisioning),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
