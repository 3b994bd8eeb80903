/* Executes one management request (tgt's semantics, spec §2.8). */
#ifndef MTGT_MGMT_DISPATCH_H
#define MTGT_MGMT_DISPATCH_H

#include <stdbool.h>

#include "common/strbuf.h"
#include "mgmt/ipc_proto.h"

struct ev_loop;

struct mgmt_result {
	enum tgtadm_err err;
	bool stop_daemon; /* system delete succeeded: exit after replying */
};

/* payload is NUL-terminated (possibly empty). A delete may answer later
 * (err TGTADM_IN_PROGRESS, out unused): then wait->done gets the answer;
 * with no wait it answers at once. */
struct mgmt_result mgmt_execute(struct ev_loop *main_loop,
				const struct tgtadm_req *req, char *payload,
				struct strbuf *out, struct target_waiter *wait);

#endif
