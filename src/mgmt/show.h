/* Text of tgtadm `show` replies, byte-compatible with tgt (spec §4). All
 * functions run on the main thread and take each target's lock while they
 * read its sessions and LUNs (DESIGN.md rule 8). */
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
