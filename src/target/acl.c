/* Initiator ACLs of a target: by address (ALL, IPv4/IPv6 literal, [v6],
 * CIDR) and by initiator name; a login is admitted if either kind matches
 * (as Debian's tgt 1.0.85 does). Changed by the main thread under the
 * target lock; consulted at login on the main thread. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "target/target.h"

static struct list_node *acl_list(struct target *t, bool by_name)
{
	return by_name ? &t->acl_names : &t->acl_addrs;
}

static struct acl_entry *acl_find(struct list_node *list, const char *value)
{
	struct acl_entry *a;

	list_for_each_entry(a, list, node)
		if (!strcmp(a->value, value))
			return a;
	return NULL;
}

enum tgtadm_err target_acl_add(struct target *t, bool by_name,
			       const char *value)
{
	struct list_node *list = acl_list(t, by_name);
	struct acl_entry *a;
	size_t len = strlen(value);

	if (!len)
		return TGTADM_INVALID_REQUEST;
	if (acl_find(list, value))
		return TGTADM_ACL_EXIST;
	a = malloc(sizeof(*a) + len + 1);
	if (!a)
		return TGTADM_NOMEM;
	memcpy(a->value, value, len + 1);
	target_lock(t);
	list_add_tail(&a->node, list);
	target_unlock(t);
	return TGTADM_SUCCESS;
}

enum tgtadm_err target_acl_del(struct target *t, bool by_name,
			       const char *value)
{
	struct acl_entry *a = acl_find(acl_list(t, by_name), value);

	if (!a)
		return TGTADM_ACL_NOEXIST;
	target_lock(t);
	list_del(&a->node);
	target_unlock(t);
	free(a);
	return TGTADM_SUCCESS;
}

/* Parses an address rule into family, address bytes and prefix length. */
static bool parse_rule(const char *rule, int *family, uint8_t addr[16],
		       int *prefix)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash;
	size_t len;

	snprintf(buf, sizeof(buf), "%s", rule);
	slash = strchr(buf, '/');
	*prefix = -1;
	if (slash) {
		char *end;
		long p = strtol(slash + 1, &end, 10);

		if (*end || slash[1] == '\0' || p < 0)
			return false;
		*prefix = (int)p;
		*slash = '\0';
	}
	len = strlen(buf);
	if (buf[0] == '[' && len > 2 && buf[len - 1] == ']') {
		buf[len - 1] = '\0';
		memmove(buf, buf + 1, len - 1);
	}
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		return *prefix <= 32;
	}
	if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = AF_INET6;
		return *prefix <= 128;
	}
	return false;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, int bits)
{
	int bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)bytes))
		return false;
	if (!rest)
		return true;
	return ((a[bytes] ^ b[bytes]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* The peer's address as bytes; IPv4-mapped IPv6 peers count as IPv4. */
static int peer_bytes(const struct sockaddr *sa, uint8_t out[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const uint8_t *a =
			((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;

		if (IN6_IS_ADDR_V4MAPPED(
			    &((const struct sockaddr_in6 *)sa)->sin6_addr)) {
			memcpy(out, a + 12, 4);
			return AF_INET;
		}
		memcpy(out, a, 16);
		return AF_INET6;
	}
	return -1;
}

/* Whether an address has bits set beyond its prefix. */
static bool host_bits_set(const uint8_t *addr, int prefix, int total)
{
	for (int i = prefix; i < total; i++)
		if (addr[i / 8] & (0x80 >> (i % 8)))
			return true;
	return false;
}

static bool addr_rule_matches(const char *rule, const struct sockaddr *peer)
{
	uint8_t want[16], have[16];
	int family, prefix, peer_family;

	if (!strcmp(rule, "ALL"))
		return true;
	if (!parse_rule(rule, &family, want, &prefix))
		return false;
	peer_family = peer_bytes(peer, have);
	if (peer_family != family)
		return false;
	if (prefix < 0)
		prefix = family == AF_INET ? 32 : 128;
	/* As tgt: an IPv4 network written with host bits (10.0.0.1/8)
	 * admits nobody rather than a guess at what was meant. */
	if (family == AF_INET && host_bits_set(want, prefix, 32))
		return false;
	return prefix_match(want, have, prefix);
}

bool target_acl_permits(struct target *t, const struct sockaddr *addr,
			const char *initiator_name)
{
	struct acl_entry *a;

	list_for_each_entry(a, &t->acl_addrs, node)
		if (addr_rule_matches(a->value, addr))
			return true;
	list_for_each_entry(a, &t->acl_names, node)
		if (initiator_name && !strcmp(a->value, initiator_name))
			return true;
	return false;
}
