/* Text of tgtadm `--op stat` replies (spec §4.9). Main thread; each
 * target's sessions and counters are read under its lock (DESIGN.md rule
 * 8). The counters are per LU and I_T nexus, as in tgt (scsi/stats.c). */
#ifndef MTGT_MGMT_STAT_H
#define MTGT_MGMT_STAT_H

#include <stdint.h>

#include "common/strbuf.h"
#include "target/target.h"

void stat_system(struct strbuf *out);
void stat_target(struct target *t, struct strbuf *out);
enum tgtadm_err stat_lu(int tid, uint64_t lun, struct strbuf *out);
/* Sessions are found by id alone, in every target, as tgt does. */
enum tgtadm_err stat_session(uint64_t sid, struct strbuf *out);
enum tgtadm_err stat_connection(uint64_t sid, uint32_t cid,
				struct strbuf *out);

#endif
