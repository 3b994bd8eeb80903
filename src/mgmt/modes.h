/* The handlers of each tgtadm mode, called by mgmt_execute() after the
 * driver check (spec §2.8). Private to mgmt/. Everything here runs on the
 * main thread and takes a target's lock only while it touches what that
 * target's loop also uses (DESIGN.md rules 2 and 8). */
#ifndef MTGT_MGMT_MODES_H
#define MTGT_MGMT_MODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "mgmt/dispatch.h"
#include "mgmt/ipc_proto.h"

struct ev_loop;

struct mgmt_result system_mode(struct ev_loop *loop,
			       const struct tgtadm_req *req, char *payload,
			       struct strbuf *out);
enum tgtadm_err lld_mode(struct ev_loop *loop, const struct tgtadm_req *req,
			 struct strbuf *out);
/* Deletes may answer later through wait (dispatch.h). */
enum tgtadm_err target_mode(struct ev_loop *loop,
			    const struct tgtadm_req *req, char *payload,
			    struct strbuf *out, struct target_waiter *wait);
/* Shutdown: forget the SCSI host bindings. */
void target_mode_free_all(void);
enum tgtadm_err lu_mode(const struct tgtadm_req *req, char *payload,
			struct strbuf *out, struct target_waiter *wait);
enum tgtadm_err account_mode(const struct tgtadm_req *req, char *payload,
			     struct strbuf *out);

/* lu_params.c: `--mode logicalunit --op update` (spec §3.4). */
struct target;
struct scsi_lu;
enum tgtadm_err lu_update(struct target *t, struct scsi_lu *lu,
			  char *payload);

/* The iSCSI driver's state as `--mode lld` and `sys show` report it
 * (lld.c). Only "iscsi" exists; "iser" is known but never ready. */
enum lld_state lld_iscsi_state(void);
/* Forget what `lld stop` kept for `lld start` (shutdown). */
void lld_free_saved(void);


/* Value of "key=" in a comma-separated payload, up to the next comma;
 * NULL if absent. */
char *payload_value(const char *payload, const char *key, char *buf,
		    size_t size);

#endif
