/* The fence of a delete (docs/design-notes.md, rule 5): a deleted target
 * or LUN takes no new command, and the delete is answered only once the
 * commands it had admitted have left the backing store. Private to
 * target/. Main thread. */
#ifndef MTGT_TARGET_FENCE_H
#define MTGT_TARGET_FENCE_H

#include <stdbool.h>

#include "target/target.h"

/* Target lock held: lu (NULL: every LU of t) takes no new command and
 * lets nothing more reach its store. */
void fence_lus(struct target *t, struct scsi_lu *lu);
/* Target lock held: whether nothing of lu (NULL: of any LU of t) is left
 * in its store. */
bool fence_drained(const struct target *t, const struct scsi_lu *lu);
/* Waits, without blocking the main loop, until fence_drained(t, lu):
 * then drained(w) ends the delete and answers w. After delete_timeout
 * seconds w is answered timeout_err instead (the fence stays). Returns
 * TGTADM_IN_PROGRESS, or at once timeout_err if there is no w or no
 * main loop to wait on. */
enum tgtadm_err fence_wait(struct target *t, struct scsi_lu *lu,
			   struct target_waiter *w,
			   void (*drained)(struct target_waiter *w),
			   enum tgtadm_err timeout_err);
/* Whether a delete of lu already waits. */
bool fence_waiting_for(const struct target *t, const struct scsi_lu *lu);
/* t is about to be freed, with nothing left in its stores (its thread
 * ended after draining them): its waiters stop waiting and move to
 * `answer`; fence_answer_all() answers them once t is gone. */
void fence_take_waiters(struct target *t, struct list_node *answer);
void fence_answer_all(struct list_node *waiters, enum tgtadm_err err);

#endif
