/* tgt's management wire protocol (spec tgt-compat.md §2): one request per
 * unix-socket connection, a 120-byte native-endian header plus an optional
 * NUL-terminated payload; the reply is an 8-byte header plus NUL-terminated
 * text. Shared by tgtd and tgtadm. */
#ifndef MTGT_MGMT_IPC_PROTO_H
#define MTGT_MGMT_IPC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "target/target.h" /* enum tgtadm_err */

#define TGT_IPC_DEFAULT_BASE "/var/run/tgtd/socket"
#define TGT_IPC_DIR "/var/run/tgtd"
#define TGT_IPC_ENV "TGT_IPC_SOCKET"
#define TGT_MGMT_MAX_PAYLOAD 8192
#define TGT_LLD_NAME_LEN 64
#define TGT_GLOBAL_TID (-1)

enum tgtadm_mode {
	MODE_SYSTEM,
	MODE_TARGET,
	MODE_DEVICE,
	MODE_PORTAL,
	MODE_LLD,
	MODE_SESSION,
	MODE_CONNECTION,
	MODE_ACCOUNT,
};

enum tgtadm_op {
	OP_NEW,
	OP_DELETE,
	OP_SHOW,
	OP_BIND,
	OP_UNBIND,
	OP_UPDATE,
	OP_STATS,
	OP_START,
	OP_STOP,
};

enum tgtadm_account_dir {
	ACCOUNT_TYPE_INCOMING,
	ACCOUNT_TYPE_OUTGOING,
};

struct tgtadm_req {
	int32_t mode;
	int32_t op;
	char lld[TGT_LLD_NAME_LEN];
	uint32_t len;
	int32_t tid;
	uint64_t sid;
	uint64_t lun;
	uint32_t cid;
	uint32_t host_no;
	uint32_t device_type;
	uint32_t ac_dir;
	uint32_t pack;
	uint32_t force;
};

struct tgtadm_rsp {
	uint32_t err;
	uint32_t len;
};

_Static_assert(sizeof(struct tgtadm_req) == 120, "tgt request header layout");
_Static_assert(offsetof(struct tgtadm_req, sid) == 80, "tgt sid offset");
_Static_assert(offsetof(struct tgtadm_req, force) == 116, "tgt force offset");
_Static_assert(sizeof(struct tgtadm_rsp) == 8, "tgt response header layout");

/* The message tgtadm prints for an error code. */
const char *tgtadm_strerror(uint32_t err);

/* Socket path for a control port: $TGT_IPC_SOCKET or the default base,
 * plus ".<port>". Returns -1 if it does not fit sun_path. */
int tgt_ipc_path(int control_port, char *buf, size_t size);

#endif
