/* Shared harness of the SCSI core unit tests; see scsi_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/byteorder.h"
#include "event/loop.h"
#include "scsi/core.h"
#include "scsi_fixture.h"

static void mem_record(struct mem_store *m, const struct bs_io *io)
{
	m->submits++;
	m->last_op = io->op;
	m->last_offset = io->offset;
	m->last_length = io->length;
	m->last_fua = io->fua;
}

static void mem_set_mapped(struct mem_store *m, const struct bs_io *io,
			   bool mapped)
{
	for (uint64_t u = io->offset / 512;
	     u < (io->offset + io->length + 511) / 512; u++)
		m->mapped[u] = mapped;
}

/* The run of units with the same state as the one at io->offset. */
static void mem_map_status(struct mem_store *m, struct bs_io *io)
{
	uint64_t u = io->offset / 512, end = (io->offset + io->length) / 512;
	uint64_t v = u;

	while (v < end && m->mapped[v] == m->mapped[u])
		v++;
	io->map.mapped = m->mapped[u];
	io->map.len = (v - u) * 512;
}

static void mem_run(struct mem_store *m, struct bs_io *io)
{
	switch (io->op) {
	case BS_READ:
		memcpy(io->buf, m->data + io->offset, io->length);
		break;
	case BS_WRITE:
		memcpy(m->data + io->offset, io->buf, io->length);
		mem_set_mapped(m, io, true);
		if (m->corrupt)
			m->data[io->offset] ^= 0xff;
		break;
	case BS_UNMAP:
		m->unmaps++;
		memset(m->data + io->offset, 0, io->length);
		mem_set_mapped(m, io, false);
		break;
	case BS_WRITE_ZEROES:
		m->zeroings++;
		memset(m->data + io->offset, 0, io->length);
		mem_set_mapped(m, io, true);
		break;
	case BS_MAP_STATUS:
		mem_map_status(m, io);
		break;
	case BS_FLUSH:
		break;
	}
}

static void mem_submit(struct backing_store *bs, struct bs_io *io)
{
	struct mem_store *m = bs->priv;

	mem_record(m, io);
	io->result = m->fail;
	if (!m->fail)
		mem_run(m, io);
	if (m->defer) {
		m->parked = io;
		return;
	}
	io->done(io);
}

static const struct bs_ops mem_ops = { .name = "mem", .submit = mem_submit };

static struct scsi_lu *new_disk(struct fx *f, uint64_t lun,
				struct mem_store *m, unsigned blocks)
{
	struct scsi_lu *lu = scsi_lu_new(&f->t, 1, lun, SCSI_TYPE_DISK);

	m->data = calloc(blocks, 512);
	m->mapped = calloc(blocks, sizeof(*m->mapped));
	lu->size = (uint64_t)blocks * 512;
	lu->bs.ops = &mem_ops;
	lu->bs.priv = m;
	lu->bs.caps = (struct bs_caps){
		.discard = true,
		.write_zeroes = true,
		.unmap_zeroes = true,
		.map_status = true,
	};
	list_add_tail(&lu->node, &f->t.lus);
	return lu;
}

void fx_add_disk2(struct fx *f)
{
	f->disk2 = new_disk(f, 2, &f->mem2, DISK2_BLOCKS);
}

static void drain_uas(struct it_nexus *n)
{
	uint16_t asc;

	while (scsi_ua_take(n, 0, &asc) || scsi_ua_take(n, 1, &asc))
		;
}

const struct itl_counters *fx_counters(struct it_nexus *n,
				       const struct scsi_lu *lu)
{
	const struct scsi_itl_stats *s = scsi_stats_find(n, lu);

	assert_non_null(s);
	return &s->n;
}

int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->t.tid = 1;
	strcpy(f->t.name, "iqn.2024-01.test:cdb");
	list_init(&f->t.lus);
	list_init(&f->t.nexuses);
	f->ctl = scsi_lu_new(&f->t, 1, 0, SCSI_TYPE_CONTROLLER);
	list_add_tail(&f->ctl->node, &f->t.lus);
	f->disk = new_disk(f, 1, &f->mem, DISK_BLOCKS);
	it_nexus_init(&f->nexus, &f->t, 1);
	it_nexus_init(&f->other, &f->t, 2);
	/* Start without the power-on UAs; the UA tests queue their own.
	 * (scsi_ua_drop_lun would drop the LUNs' statistics as well.) */
	drain_uas(&f->nexus);
	drain_uas(&f->other);
	*state = f;
	return 0;
}

int fx_teardown(void **state)
{
	struct fx *f = *state;

	scsi_cmd_release(&f->cmd);
	it_nexus_fini(&f->nexus);
	it_nexus_fini(&f->other);
	scsi_lu_free(f->ctl);
	scsi_lu_free(f->disk);
	scsi_lu_free(f->disk2);
	free(f->mem.data);
	free(f->mem.mapped);
	free(f->mem2.data);
	free(f->mem2.mapped);
	free(f);
	return 0;
}

void fx_use_loop(struct fx *f)
{
	f->loop = ev_loop_create("fx", NULL);
	assert_non_null(f->loop);
}

int fx_loop_teardown(void **state)
{
	struct fx *f = *state;

	ev_drain(f->loop);
	/* Its data-in buffer goes back to the loop's pool first. */
	scsi_cmd_release(&f->cmd);
	f->cmd.loop = NULL;
	ev_loop_destroy(f->loop);
	return fx_teardown(state);
}

static void on_done(struct scsi_cmd *cmd)
{
	struct fx *f = (struct fx *)((char *)cmd - offsetof(struct fx, cmd));

	f->done++;
}

void fx_cmd_init(struct fx *f, struct it_nexus *n, uint64_t lun,
		 const uint8_t *cdb, size_t cdb_len)
{
	scsi_cmd_release(&f->cmd);
	memset(&f->cmd, 0, sizeof(f->cmd));
	memcpy(f->cmd.cdb, cdb, cdb_len);
	/* iSCSI always carries 16 CDB bytes, zero-padded; the opcode says
	 * how many of them the core reads. */
	f->cmd.cdb_len = 16;
	f->cmd.lun = lun;
	f->cmd.nexus = n;
	f->cmd.loop = f->loop;
	f->cmd.done = on_done;
	f->done = 0;
}

void fx_start_out(struct fx *f, struct it_nexus *n, uint64_t lun,
		  const uint8_t *cdb, size_t cdb_len, const uint8_t *data,
		  uint32_t len)
{
	fx_cmd_init(f, n, lun, cdb, cdb_len);
	f->cmd.dir = SCSI_DIR_WRITE;
	f->cmd.expected_len = len;
	/* The core only reads data-out; the field is not const. */
	f->cmd.out_buf = (uint8_t *)data;
	f->cmd.out_len = len;
	scsi_cmd_execute(&f->cmd);
}

void send_on(struct fx *f, struct it_nexus *n, uint64_t lun,
	     const uint8_t *cdb, size_t cdb_len)
{
	fx_cmd_init(f, n, lun, cdb, cdb_len);
	f->cmd.dir = SCSI_DIR_READ;
	f->cmd.expected_len = 4096;
	scsi_cmd_execute(&f->cmd);
	assert_int_equal(f->done, 1);
}

static void side_done(struct scsi_cmd *cmd)
{
	container_of(cmd, struct fx_side, cmd)->done++;
}

void fx_side_start(struct fx_side *s, struct it_nexus *n, uint64_t lun,
		   const uint8_t *cdb, uint8_t *data, uint32_t len)
{
	fx_side_start_on(s, NULL, n, lun, cdb, data, len);
}

void fx_side_start_on(struct fx_side *s, struct ev_loop *loop,
		      struct it_nexus *n, uint64_t lun, const uint8_t *cdb,
		      uint8_t *data, uint32_t len)
{
	memset(s, 0, sizeof(*s));
	s->cmd.loop = loop;
	memcpy(s->cmd.cdb, cdb, 16);
	s->cmd.cdb_len = 16;
	s->cmd.lun = lun;
	s->cmd.nexus = n;
	s->cmd.dir = len ? SCSI_DIR_WRITE : SCSI_DIR_READ;
	s->cmd.expected_len = len ? len : 4096;
	s->cmd.out_buf = data;
	s->cmd.out_len = len;
	s->cmd.done = side_done;
	scsi_cmd_execute(&s->cmd);
}

void fx_complete_parked(struct fx *f)
{
	struct mem_store *m = f->mem.parked ? &f->mem : &f->mem2;
	struct bs_io *io = m->parked;

	assert_non_null(io);
	m->parked = NULL;
	io->done(io);
}

bool fx_medium_is(const struct fx *f, uint64_t lba, unsigned blocks,
		  uint8_t v)
{
	for (size_t i = 0; i < (size_t)blocks * 512; i++)
		if (f->mem.data[lba * 512 + i] != v)
			return false;
	return true;
}

void assert_good(const struct fx *f)
{
	assert_int_equal(f->cmd.status, SAM_STAT_GOOD);
	assert_int_equal(f->cmd.sense_len, 0);
}

void assert_sense(const struct fx *f, uint8_t key, uint16_t asc)
{
	const uint8_t *s = f->cmd.sense;
	bool desc = (s[0] & 0x7f) == 0x72;

	assert_int_equal(f->cmd.status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(desc ? s[1] & 0x0f : s[2] & 0x0f, key);
	assert_int_equal(desc ? get_be16(s + 2) : get_be16(s + 12), asc);
}

void assert_field(const struct fx *f, bool cdb, unsigned byte, int bit)
{
	const uint8_t *s = f->cmd.sense;

	assert_int_equal(s[0] & 0x7f, 0x70);
	assert_true(s[15] & 0x80);
	assert_int_equal(!!(s[15] & 0x40), cdb);
	if (bit < 0) {
		assert_false(s[15] & 0x08);
	} else {
		assert_true(s[15] & 0x08);
		assert_int_equal(s[15] & 0x07, bit);
	}
	assert_int_equal(get_be16(s + 16), byte);
}
