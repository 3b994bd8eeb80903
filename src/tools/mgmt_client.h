/* The client side of tgt's management protocol (spec tgt-compat.md §2):
 * one request per connection to the daemon's unix socket, a 120-byte
 * header plus a "key=value,..." payload built in tgtadm's fixed item order,
 * and the reply (an error code, or a text body). Shared by tgtadm and
 * tgt-admin, which therefore send byte for byte the same requests.
 *
 * Single-threaded tools: nothing here is shared between threads. */
#ifndef MTGT_TOOLS_MGMT_CLIENT_H
#define MTGT_TOOLS_MGMT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mgmt/ipc_proto.h"

/* SCSI peripheral device types accepted by --device-type. */
#define MGMT_TYPE_DISK 0x00
#define MGMT_TYPE_TAPE 0x01
#define MGMT_TYPE_MMC 0x05
#define MGMT_TYPE_MEDIUM_CHANGER 0x08
#define MGMT_TYPE_OSD 0x11
#define MGMT_TYPE_PT 0xff

/* One request: the header fields and the payload items. Strings are
 * borrowed from the caller; NULL means "option not given". */
struct mgmt_request {
	int mode; /* enum tgtadm_mode */
	int op;   /* enum tgtadm_op */
	char lld[TGT_LLD_NAME_LEN]; /* not NUL-terminated at full length */
	int tid;      /* -1: not given */
	uint64_t sid;
	uint64_t lun; /* UINT64_MAX: not given */
	uint32_t cid;
	uint32_t host_no;
	uint32_t device_type;
	uint32_t ac_dir;
	bool force;

	const char *name, *value;
	const char *path, *bstype, *bsopts, *bsoflags, *blocksize;
	const char *targetname, *initiator_address, *initiator_name;
	const char *user, *password;
	const char *target_params, *portal_params;
};

/* What went wrong with a request, if anything. */
enum mgmt_failure {
	MGMT_OK,
	MGMT_REFUSED,       /* the daemon answered with an error code */
	MGMT_PATH_TOO_LONG, /* the socket path does not fit sun_path */
	MGMT_NOT_CONNECTED, /* no daemon listens on the socket */
	MGMT_SEND_HEADER,
	MGMT_SEND_PAYLOAD,
	MGMT_RECEIVE,
	MGMT_CLOSED,        /* the daemon closed the socket without a reply */
	MGMT_PARTIAL,       /* a short reply header */
	MGMT_NO_MEMORY,
};

struct mgmt_reply {
	enum mgmt_failure failure;
	int sys_errno;    /* for the send/receive failures */
	uint32_t err;     /* enum tgtadm_err, for MGMT_REFUSED */
	char *body;       /* the reply text, NUL-terminated; NULL if none */
	size_t body_len;  /* strlen(body) */
};

/* tgtadm's spellings of modes, operations and device types (spec §2.4,
 * §3.1); lookups return -1 for an unknown name, names "unknown" for an
 * unknown value. */
int mgmt_mode_from_name(const char *name);
const char *mgmt_mode_name(int mode);
int mgmt_op_from_name(const char *name);
const char *mgmt_op_name(int op);
int mgmt_device_type_from_name(const char *name);

/* A request with every field "not given" and the given mode and op. */
void mgmt_request_init(struct mgmt_request *req, int mode, int op);

/* Copies a driver name into req->lld the way tgtadm does (strncpy). */
void mgmt_request_set_lld(struct mgmt_request *req, const char *lld);

/* The payload in tgt's item order (spec §2.5), with its terminating NUL
 * counted in *len. Returns NULL with *len = 0 when there is nothing to
 * send; sets *no_memory (and returns NULL) if an allocation failed. */
char *mgmt_build_payload(const struct mgmt_request *req, size_t *len,
			 bool *no_memory);

/* Connects to the management socket of a control port. Returns the fd,
 * or -1 with errno set (ENAMETOOLONG if the path does not fit). */
int mgmt_connect(int control_port);

/* Sends one request and reads the whole reply. With debug, says on
 * stderr how many bytes were sent (tgtadm's -d). The reply must be
 * released with mgmt_reply_free. */
void mgmt_call(int control_port, const struct mgmt_request *req,
	       bool debug, struct mgmt_reply *reply);

void mgmt_reply_free(struct mgmt_reply *reply);

/* The text tgtadm prints (after "tgtadm: ") for a failed request, and the
 * exit status tgtadm gives it (spec §2.7). */
const char *mgmt_failure_message(const struct mgmt_reply *reply, char *buf,
				 size_t size);
int mgmt_failure_exit_status(const struct mgmt_reply *reply);

/* The socket path of a control port, for messages. */
void mgmt_socket_path(int control_port, char *buf, size_t size);

#endif
