/* `--mode logicalunit`: new, delete, update (lu_params.c) and statistics
 * (spec §2.8, §3.3). Main thread. */
#include <stdlib.h>

#include "common/log.h"
#include "mgmt/modes.h"
#include "mgmt/stat.h"
#include "scsi/scsi.h"
#include "target/target.h"

static enum tgtadm_err lu_new(struct target *t, uint64_t lun,
			      uint32_t device_type, const char *payload)
{
	char path[4096], bstype[32], oflags[64], bsize[32];
	const char *p, *type, *flags, *size;

	/* Block devices (SBC) and read-only CD/DVD drives (MMC) are
	 * emulated: a tape or changer request must fail rather than
	 * quietly become a disk. */
	if (device_type != SCSI_TYPE_DISK && device_type != SCSI_TYPE_MMC) {
		log_error("LUN %llu: device type 0x%02x is not supported",
			  (unsigned long long)lun, device_type);
		return TGTADM_INVALID_REQUEST;
	}
	p = payload_value(payload, "path", path, sizeof(path));
	type = payload_value(payload, "bstype", bstype, sizeof(bstype));
	flags = payload_value(payload, "bsoflags", oflags, sizeof(oflags));
	size = payload_value(payload, "blocksize", bsize, sizeof(bsize));
	return target_add_lu(t, lun, (uint8_t)device_type, p, type, flags,
			     size ? (unsigned)strtoul(size, NULL, 0) : 0);
}

/* With a session id tgt asks the driver, which shows that session's
 * statistics whatever the target and LUN (spec §4.9). */
static enum tgtadm_err lu_stat(const struct tgtadm_req *req,
			       struct strbuf *out)
{
	if (req->sid)
		return stat_session(req->sid, out);
	return stat_lu(req->tid, req->lun, out);
}

enum tgtadm_err lu_mode(const struct tgtadm_req *req, char *payload,
			struct strbuf *out, struct target_waiter *wait)
{
	struct target *t;
	struct scsi_lu *lu;

	if (req->op == OP_STATS)
		return lu_stat(req, out);
	if (req->op != OP_NEW && req->op != OP_DELETE && req->op != OP_UPDATE)
		return TGTADM_UNSUPPORTED_OPERATION;
	/* LUN 0 goes only with its target; tgt says so before it even
	 * looks for the target. */
	if (req->op == OP_DELETE && req->lun == 0 && !req->force)
		return TGTADM_INVALID_REQUEST;
	t = target_find(req->tid);
	if (!t)
		return TGTADM_NO_TARGET;
	if (req->op == OP_NEW)
		return lu_new(t, req->lun, req->device_type, payload);
	if (req->op == OP_DELETE)
		return target_del_lu(t, req->lun, req->force, wait);
	/* LUNs are added and removed by this thread only: no lock needed
	 * to find one. */
	lu = target_find_lu(t, req->lun);
	return lu ? lu_update(t, lu, payload) : TGTADM_NO_LUN;
}
