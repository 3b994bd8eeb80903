#include "mgmt/ipc_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/un.h>

const char *tgtadm_strerror(uint32_t err)
{
	static const char *const msgs[] = {
		[TGTADM_SUCCESS] = "success",
		[TGTADM_UNKNOWN_ERR] = "unknown error",
		[TGTADM_NOMEM] = "out of memory",
		[TGTADM_NO_DRIVER] = "can't find the driver",
		[TGTADM_NO_TARGET] = "can't find the target",
		[TGTADM_NO_LUN] = "can't find the logical unit",
		[TGTADM_NO_SESSION] = "can't find the session",
		[TGTADM_NO_CONNECTION] = "can't find the connection",
		[TGTADM_NO_BINDING] = "can't find the binding",
		[TGTADM_TARGET_EXIST] = "this target already exists",
		[TGTADM_LUN_EXIST] = "this logical unit number already exists",
		[TGTADM_BINDING_EXIST] = "this binding already exists",
		[TGTADM_ACL_EXIST] = "this access control rule already exists",
		[TGTADM_ACL_NOEXIST] = "this access control rule does not exist",
		[TGTADM_USER_EXIST] = "this account already exists",
		[TGTADM_NO_USER] = "can't find the account",
		[TGTADM_TOO_MANY_USER] = "too many accounts",
		[TGTADM_INVALID_REQUEST] = "invalid request",
		[TGTADM_OUTACCOUNT_EXIST] =
			"this target already has an outgoing account",
		[TGTADM_TARGET_ACTIVE] = "this target is still active",
		[TGTADM_LUN_ACTIVE] = "this logical unit is still active",
		[TGTADM_DRIVER_ACTIVE] = "this driver is busy",
		[TGTADM_UNSUPPORTED_OPERATION] =
			"this operation isn't supported",
		[TGTADM_UNKNOWN_PARAM] = "unknown parameter",
		[TGTADM_PREVENT_REMOVAL] = "this device has Prevent Removal set",
	};

	if (err < sizeof(msgs) / sizeof(msgs[0]) && msgs[err])
		return msgs[err];
	return "(unknown tgtadm_errno)";
}

int tgt_ipc_path(int control_port, char *buf, size_t size)
{
	const char *base = getenv(TGT_IPC_ENV);
	struct sockaddr_un addr;
	int n;

	if (!base || !*base)
		base = TGT_IPC_DEFAULT_BASE;
	n = snprintf(buf, size, "%s.%d", base, control_port);
	if (n < 0 || (size_t)n >= size || (size_t)n >= sizeof(addr.sun_path))
		return -1;
	return 0;
}
