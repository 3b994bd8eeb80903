/* Ordering of COMPARE AND WRITE against other writes to its range.
 *
 * SBC-3 5.2 wants the read, compare and write of a COMPARE AND WRITE to
 * be atomic against every other command that writes the same logical
 * blocks. Everything of a LU runs on its target's loop, but the store
 * completes asynchronously, so another write could land between the
 * read and the write. Each write therefore holds its LBA range in the
 * LU's range lock while it is at the store: writes share ranges with
 * each other (SAM-5 allows simple tasks to be reordered), a COMPARE AND
 * WRITE holds its range alone. A command that cannot have its range is
 * parked in arrival order and resumed when the range frees; a write
 * never overtakes a parked COMPARE AND WRITE it overlaps, so neither can
 * starve the other.
 *
 * The common case costs two list operations per write: with no COMPARE
 * AND WRITE active or parked nothing is compared. Everything here runs
 * on the LU's target loop under the target lock; the lock state is
 * reached only through these functions. */
#include "scsi/core.h"
#include "scsi/scsi.h"

void scsi_range_lock_init(struct scsi_range_lock *lock)
{
	list_init(&lock->active);
	list_init(&lock->waiting);
	lock->exclusive = 0;
}

static bool conflict(const struct scsi_range *a, const struct scsi_range *b)
{
	return (a->exclusive || b->exclusive) && a->lba < b->end &&
	       b->lba < a->end;
}

/* Whether r may run now: no conflict with a running range, nor with a
 * range parked before it (`self`, r itself when it is parked). */
static bool may_start(const struct scsi_range_lock *lock,
		      const struct scsi_range *r, const struct scsi_range *self)
{
	const struct scsi_range *o;

	if (lock->exclusive || r->exclusive)
		list_for_each_entry(o, &lock->active, node)
			if (conflict(r, o))
				return false;
	list_for_each_entry(o, &lock->waiting, node) {
		if (o == self)
			break;
		if (conflict(r, o))
			return false;
	}
	return true;
}

static void hold(struct scsi_range_lock *lock, struct scsi_range *r)
{
	list_add_tail(&r->node, &lock->active);
	r->held = true;
	if (r->exclusive)
		lock->exclusive++;
}

bool scsi_range_acquire_on(struct scsi_cmd *cmd, struct scsi_lu *lu,
			   uint64_t lba, uint64_t blocks, bool exclusive,
			   void (*resume)(struct scsi_cmd *))
{
	struct scsi_range_lock *lock = &lu->ranges;
	struct scsi_range *r = &cmd->range;

	r->lu = lu;
	r->lba = lba;
	r->end = lba + blocks;
	r->exclusive = exclusive;
	r->resume = resume;
	r->held = false;
	if (may_start(lock, r, NULL)) {
		hold(lock, r);
		return true;
	}
	list_add_tail(&r->node, &lock->waiting);
	/* A parked command keeps the LU busy (no deletion under it). */
	lu->inflight++;
	return false;
}

bool scsi_range_acquire(struct scsi_cmd *cmd, uint64_t lba, uint64_t blocks,
			bool exclusive, void (*resume)(struct scsi_cmd *))
{
	return scsi_range_acquire_on(cmd, cmd->lu, lba, blocks, exclusive,
				     resume);
}

/* Resumes the first parked command that may run now, if any. */
static bool wake_one(struct scsi_lu *lu)
{
	struct scsi_range_lock *lock = &lu->ranges;
	struct scsi_range *r;

	list_for_each_entry(r, &lock->waiting, node) {
		if (!may_start(lock, r, r))
			continue;
		list_del(&r->node);
		hold(lock, r);
		lu->inflight--;
		/* The command may complete, and release, inside resume:
		 * the caller rescans from the start. */
		r->resume(container_of(r, struct scsi_cmd, range));
		return true;
	}
	return false;
}

static void wake_all(struct scsi_lu *lu)
{
	while (!list_empty(&lu->ranges.waiting) && wake_one(lu))
		;
}

void scsi_range_release(struct scsi_cmd *cmd)
{
	struct scsi_range *r = &cmd->range;

	if (!r->held)
		return;
	list_del(&r->node);
	r->held = false;
	if (r->exclusive)
		r->lu->ranges.exclusive--;
	wake_all(r->lu);
}

void scsi_range_cancel(struct scsi_cmd *cmd)
{
	struct scsi_range *r = &cmd->range;

	list_del(&r->node);
	r->lu->inflight--;
	/* Those parked behind it only for its sake may run now. */
	wake_all(r->lu);
}
