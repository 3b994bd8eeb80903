/* libFuzzer harness: the SCSI command core (dispatcher, SPC, SBC, sense,
 * unit attentions) against two in-memory disks (LUN 1 thin), two I_T
 * nexuses.
 *
 * Input layout: byte 0 selects the LUN (bit 0-1) and the nexus (bit 2)
 * and the data direction (bits 3-4: none, write, read); byte 1-2 the
 * expected transfer length (big endian, up to 64 KiB); then 16 CDB
 * bytes; the rest is the data-out payload. Every command must complete
 * exactly once, with sense when its status says CHECK CONDITION; the
 * sanitizers catch the rest. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scsi_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fx *fixture(void)
{
	static struct fx *f;
	void *state;

	if (!f) {
		fx_setup(&state);
		f = state;
		/* Thin, so that UNMAP and friends are reachable; a second
		 * disk for EXTENDED COPY across LUs. */
		f->disk->thin_provisioning = true;
		fx_add_disk2(f);
	}
	return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fx *f = fixture();
	struct it_nexus *n;
	uint8_t ctl;
	uint32_t want;

	if (size < 19)
		return -1;
	ctl = data[0];
	want = (uint32_t)data[1] << 8 | data[2];
	n = ctl & 0x04 ? &f->other : &f->nexus;
	fx_cmd_init(f, n, ctl & 0x03, data + 3, 16);
	switch ((ctl >> 3) & 0x03) {
	case 1:
		f->cmd.dir = SCSI_DIR_WRITE;
		f->cmd.out_buf = (uint8_t *)data + 19;
		f->cmd.out_len = (uint32_t)(size - 19);
		f->cmd.expected_len = f->cmd.out_len;
		break;
	case 2:
		f->cmd.dir = SCSI_DIR_READ;
		f->cmd.expected_len = want;
		break;
	default:
		f->cmd.dir = SCSI_DIR_NONE;
		break;
	}
	scsi_cmd_execute(&f->cmd);
	if (f->done != 1)
		abort();
	if (f->cmd.status == SAM_STAT_CHECK_CONDITION && !f->cmd.sense_len)
		abort();
	return 0;
}
