/* The registry: the only daemon-wide mutable state (DESIGN.md). The target
 * list, system state and portals are main-thread only; the TSIH bitmap and
 * the connection counts are also released from target threads and have
 * their own mutexes. */
#include "target/registry.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "target/target.h"

#define CONN_COUNT_BUCKETS 64

/* What a connection is counted by: its initiator's address, or the
 * portal (local address and port) it came in on. */
enum count_kind {
	COUNT_INITIATOR,
	COUNT_PORTAL,
};

/* A normalised address of one kind, with its open connections. */
struct addr_key {
	uint8_t kind;
	uint8_t pad;
	uint16_t family;
	uint16_t port;
	uint8_t addr[16];
};

struct addr_count {
	struct list_node node;
	struct addr_key key;
	unsigned count;
};

static struct {
	struct list_node targets;  /* main thread */
	struct list_node retiring; /* main thread */
	struct list_node portals;  /* main thread */
	struct list_node main_conns; /* main thread */
	enum system_state state;   /* main thread */
	const char *pr_dir;        /* main thread, set at startup */
	struct iscsi_settings iscsi; /* main thread at start-up, then read */
	struct isns_conf isns;       /* main thread */
	struct lld_saved iscsi_lld;  /* main thread */
	struct list_node bound_hosts; /* main thread */
	struct list_node accounts;   /* main thread */
	struct account_binds discovery_binds; /* main thread */

	pthread_mutex_t tsih_lock; /* guards tsih_used and tsih_next */
	uint64_t tsih_used[65536 / 64];
	uint16_t tsih_next;

	pthread_mutex_t count_lock; /* guards the count buckets */
	struct list_node counts[CONN_COUNT_BUCKETS];
	bool counts_ready;
} reg = {
	.targets = LIST_HEAD_INIT(reg.targets),
	.retiring = LIST_HEAD_INIT(reg.retiring),
	.portals = LIST_HEAD_INIT(reg.portals),
	.main_conns = LIST_HEAD_INIT(reg.main_conns),
	.isns = { .server_port = ISNS_DEFAULT_PORT },
	.iscsi_lld = { .state = LLD_READY },
	.bound_hosts = LIST_HEAD_INIT(reg.bound_hosts),
	.accounts = LIST_HEAD_INIT(reg.accounts),
	.state = SYSTEM_READY,
	.pr_dir = REGISTRY_PR_DIR_DEFAULT,
	.iscsi = {
		.login_timeout_s = ISCSI_DEFAULT_LOGIN_TIMEOUT_S,
		.max_conns_per_initiator = ISCSI_DEFAULT_MAX_CONNS_PER_INITIATOR,
		.max_conns_per_portal = ISCSI_DEFAULT_MAX_CONNS_PER_PORTAL,
		.max_sessions_per_target =
			ISCSI_DEFAULT_MAX_SESSIONS_PER_TARGET,
		.delete_timeout_s = ISCSI_DEFAULT_DELETE_TIMEOUT_S,
	},
	.tsih_lock = PTHREAD_MUTEX_INITIALIZER,
	.tsih_next = 1,
	.count_lock = PTHREAD_MUTEX_INITIALIZER,
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

struct list_node *registry_retiring_targets(void)
{
	return &reg.retiring;
}

struct iscsi_settings *registry_iscsi_settings(void)
{
	return &reg.iscsi;
}

struct isns_conf *registry_isns(void)
{
	return &reg.isns;
}

struct lld_saved *registry_iscsi_lld(void)
{
	return &reg.iscsi_lld;
}

struct list_node *registry_bound_hosts(void)
{
	return &reg.bound_hosts;
}

struct list_node *registry_accounts(void)
{
	return &reg.accounts;
}

struct account_binds *registry_discovery_binds(void)
{
	return &reg.discovery_binds;
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

/* ---- connection counts ---- */

static struct addr_key make_key(const struct sockaddr_storage *ss,
				enum count_kind kind)
{
	bool with_port = kind == COUNT_PORTAL;
	struct addr_key k;

	memset(&k, 0, sizeof(k));
	k.kind = (uint8_t)kind;
	k.family = ss->ss_family;
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		memcpy(k.addr, &a->sin6_addr, 16);
		k.port = with_port ? a->sin6_port : 0;
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		memcpy(k.addr, &a->sin_addr, 4);
		k.port = with_port ? a->sin_port : 0;
	}
	return k;
}

static unsigned key_bucket(const struct addr_key *k)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	const uint8_t *p = (const uint8_t *)k;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h % CONN_COUNT_BUCKETS;
}

/* Count lock held. */
static struct addr_count *count_entry(const struct addr_key *k, bool create)
{
	struct list_node *bucket = &reg.counts[key_bucket(k)];
	struct addr_count *c;

	if (!reg.counts_ready) {
		for (int i = 0; i < CONN_COUNT_BUCKETS; i++)
			list_init(&reg.counts[i]);
		reg.counts_ready = true;
	}
	list_for_each_entry(c, bucket, node)
		if (!memcmp(&c->key, k, sizeof(*k)))
			return c;
	if (!create)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->key = *k;
	list_add_tail(&c->node, bucket);
	return c;
}

/* Adds delta to the count of key k; returns the new count. An entry that
 * drops to zero goes, so the table holds only addresses with connections.
 * Without memory for a new entry the connection is counted as the first
 * one (limits are a defence, not bookkeeping the daemon depends on). */
static unsigned count_add(const struct addr_key *k, int delta)
{
	struct addr_count *c = count_entry(k, delta > 0);

	if (!c)
		return delta > 0 ? 1 : 0;
	if (delta < 0 && c->count == 0)
		return 0;
	c->count = (unsigned)((int)c->count + delta);
	if (c->count == 0) {
		list_del(&c->node);
		free(c);
		return 0;
	}
	return c->count;
}

void registry_conn_count(const struct sockaddr_storage *peer,
			 const struct sockaddr_storage *local,
			 unsigned *by_initiator, unsigned *by_portal)
{
	struct addr_key pk = make_key(peer, COUNT_INITIATOR);
	struct addr_key lk = make_key(local, COUNT_PORTAL);

	pthread_mutex_lock(&reg.count_lock);
	*by_initiator = count_add(&pk, 1);
	*by_portal = count_add(&lk, 1);
	pthread_mutex_unlock(&reg.count_lock);
}

void registry_conn_uncount(const struct sockaddr_storage *peer,
			   const struct sockaddr_storage *local)
{
	struct addr_key pk = make_key(peer, COUNT_INITIATOR);
	struct addr_key lk = make_key(local, COUNT_PORTAL);

	pthread_mutex_lock(&reg.count_lock);
	count_add(&pk, -1);
	count_add(&lk, -1);
	pthread_mutex_unlock(&reg.count_lock);
}
