/* Text of tgtadm `show` replies, byte-compatible with tgt (spec §4). All
 * functions run on the main thread. They read a target's sessions and
 * connections under its roster lock, never under the target lock, so that
 * a busy or preempted target thread cannot delay them (DESIGN.md rules 7
 * and 8; iscsi.h, struct iscsi_target). */
#ifndef MTGT_MGMT_SHOW_H
#define MTGT_MGMT_SHOW_H

#include "common/strbuf.h"
#include "target/target.h"

void show_targets(struct strbuf *out);
void show_target_params(struct target *t, struct strbuf *out);
void show_system(struct strbuf *out);
void show_lld(struct strbuf *out);
void show_portals(struct strbuf *out);
void show_connections(struct target *t, struct strbuf *out);
void show_accounts(struct strbuf *out);

#endif
