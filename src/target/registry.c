/* The registry: the only daemon-wide mutable state (DESIGN.md). The target
 * list, system state and portals are main-thread only; the TSIH bitmap is
 * also released from target threads and has its own mutex. */
#include "target/registry.h"

#include <pthread.h>
#include <stdint.h>

#include "target/target.h"

static struct {
	struct list_node targets;  /* main thread */
	struct list_node portals;  /* main thread */
	struct list_node main_conns; /* main thread */
	enum system_state state;   /* main thread */
	const char *pr_dir;        /* main thread, set at startup */

	pthread_mutex_t tsih_lock; /* guards tsih_used and tsih_next */
	uint64_t tsih_used[65536 / 64];
	uint16_t tsih_next;
} reg = {
	.targets = LIST_HEAD_INIT(reg.targets),
	.portals = LIST_HEAD_INIT(reg.portals),
	.main_conns = LIST_HEAD_INIT(reg.main_conns),
	.state = SYSTEM_READY,
	.pr_dir = REGISTRY_PR_DIR_DEFAULT,
	.tsih_lock = PTHREAD_MUTEX_INITIALIZER,
	.tsih_next = 1,
};

struct list_node *target_list(void)
{
	return &reg.targets;
}

struct list_node *registry_portals(void)
{
	return &reg.portals;
}

struct list_node *registry_main_conns(void)
{
	return &reg.main_conns;
}

enum system_state registry_system_state(void)
{
	return reg.state;
}

void registry_set_system_state(enum system_state s)
{
	reg.state = s;
}

const char *registry_pr_dir(void)
{
	return reg.pr_dir;
}

void registry_set_pr_dir(const char *dir)
{
	reg.pr_dir = dir;
}

static bool tsih_taken(uint16_t t)
{
	return reg.tsih_used[t / 64] & (1ull << (t % 64));
}

uint16_t registry_alloc_tsih(void)
{
	uint16_t found = 0;

	pthread_mutex_lock(&reg.tsih_lock);
	for (unsigned i = 0; i < 65535; i++) {
		uint16_t t = reg.tsih_next;

		reg.tsih_next = t == 65535 ? 1 : (uint16_t)(t + 1);
		if (!tsih_taken(t)) {
			reg.tsih_used[t / 64] |= 1ull << (t % 64);
			found = t;
			break;
		}
	}
	pthread_mutex_unlock(&reg.tsih_lock);
	return found;
}

void registry_free_tsih(uint16_t tsih)
{
	pthread_mutex_lock(&reg.tsih_lock);
	reg.tsih_used[tsih / 64] &= ~(1ull << (tsih % 64));
	pthread_mutex_unlock(&reg.tsih_lock);
}
