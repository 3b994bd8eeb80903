/* Daemon-wide state beside the target list, all owned by the main thread:
 * the session id (TSIH) allocator, the system state and the portals. */
#ifndef MTGT_TARGET_REGISTRY_H
#define MTGT_TARGET_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/list.h"

enum system_state {
	SYSTEM_READY,
	SYSTEM_OFFLINE,
};

/* Next free TSIH (1..65535, skipping those in use); 0 if none is free. */
uint16_t registry_alloc_tsih(void);
void registry_free_tsih(uint16_t tsih);

enum system_state registry_system_state(void);
void registry_set_system_state(enum system_state s);

/* Where APTPL reservation state is kept (tgtd --pr-state-dir); "" for
 * nowhere: persistence through power loss is then not offered. Set
 * before any target exists, read when LUs are created. */
#define REGISTRY_PR_DIR_DEFAULT "/var/lib/mtgt/pr"
const char *registry_pr_dir(void);
void registry_set_pr_dir(const char *dir);

/* Listening portals (struct iscsi_portal), newest first. */
struct list_node *registry_portals(void);

/* Connections served by the main loop: logging in, or in a discovery
 * session (struct iscsi_conn, linked by main_node). */
struct list_node *registry_main_conns(void);

#endif
