/* Whether a backing store is already in use, checked before tgt-admin
 * gives it to a LUN (spec tgt-compat.md §5.4): a block device the kernel
 * holds (mounted, swap, RAID: an exclusive open fails), or a file that a
 * process, tgtd included, has open (what tgt-admin asks lsof). */
#ifndef MTGT_TOOLS_DEVICE_USE_H
#define MTGT_TOOLS_DEVICE_USE_H

enum device_use {
	DEVICE_FREE,
	DEVICE_HELD_BY_SYSTEM, /* an exclusive open says EBUSY */
	DEVICE_OPEN,           /* some process has it open */
};

enum device_use device_use(const char *path);

#endif
