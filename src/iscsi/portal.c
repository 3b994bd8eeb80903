/* Listening portals: parse "ADDR[:PORT]" / "[V6]:PORT", bind, listen, and
 * accept connections onto the main loop, where login happens. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/log.h"
#include "iscsi/iscsi.h"
#include "target/registry.h"

#define ISCSI_DEFAULT_PORT 3260

struct list_node *iscsi_portals(void)
{
	return registry_portals();
}

/* Splits a portal spec into host and port. Returns false if malformed. */
static bool split_portal(const char *spec, char *host, size_t hsize,
			 int *port)
{
	const char *colon;
	char *end;
	long p = ISCSI_DEFAULT_PORT;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (!close || (size_t)(close - spec - 1) >= hsize)
			return false;
		snprintf(host, hsize, "%.*s", (int)(close - spec - 1), spec + 1);
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] && !colon)
			return false;
	} else {
		colon = strrchr(spec, ':');
		if (colon && strchr(spec, ':') != colon)
			return false; /* bare IPv6 needs brackets */
		if ((size_t)(colon ? colon - spec : (long)strlen(spec)) >= hsize)
			return false;
		snprintf(host, hsize, "%.*s",
			 (int)(colon ? colon - spec : (long)strlen(spec)), spec);
	}
	if (colon) {
		errno = 0;
		p = strtol(colon + 1, &end, 10);
		if (errno || *end || colon[1] == '\0' || p < 0 || p > 65535)
			return false;
	}
	*port = (int)p;
	return true;
}

static void portal_accept(struct ev_loop *loop, uint32_t events, void *arg)
{
	struct iscsi_portal *portal = arg;
	struct sockaddr_storage peer, local;
	socklen_t plen = sizeof(peer), llen = sizeof(local);
	int fd;

	(void)events;
	fd = accept_or_shed(portal->io.fd, &portal->reserve,
			    (struct sockaddr *)&peer, &plen,
			    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* tgt closes new connections at once while the system is offline. */
	if (registry_system_state() != SYSTEM_READY ||
	    getsockname(fd, (struct sockaddr *)&local, &llen) < 0 ||
	    !iscsi_conn_new(loop, fd, &peer, &local))
		close(fd);
}

static int bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int open_listener(const struct addrinfo *ai)
{
	int one = 1;
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
					       SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int add_listener(struct ev_loop *loop, const struct addrinfo *ai,
			const char *host)
{
	struct iscsi_portal *portal = calloc(1, sizeof(*portal));
	int fd;

	if (!portal)
		return -ENOMEM;
	fd = open_listener(ai);
	if (fd < 0) {
		free(portal);
		return fd;
	}
	snprintf(portal->addr, sizeof(portal->addr), "%s", host);
	portal->port = bound_port(fd);
	portal->family = ai->ai_family;
	accept_reserve_init(&portal->reserve, "iSCSI portal");
	ev_io_init(&portal->io, fd, portal_accept, portal);
	if (ev_io_start(loop, &portal->io, EPOLLIN) < 0) {
		accept_reserve_close(&portal->reserve);
		close(fd);
		free(portal);
		return -EIO;
	}
	list_add_head(&portal->node, registry_portals());
	return 0;
}

static bool portal_exists(const char *host, int port)
{
	struct iscsi_portal *p;

	list_for_each_entry(p, registry_portals(), node)
		if (port && p->port == port && !strcmp(p->addr, host))
			return true;
	return false;
}

/* Adds every address a portal spec resolves to. An empty host means the
 * wildcard addresses (IPv4 and IPv6), as tgt's default. */
int iscsi_portal_add(struct ev_loop *main_loop, const char *spec)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	char host[ISCSI_ADDR_MAX], port_s[8];
	int port, err = 0, added = 0;

	if (!split_portal(spec, host, sizeof(host), &port))
		return -EINVAL;
	if (portal_exists(host, port))
		return -EEXIST;
	snprintf(port_s, sizeof(port_s), "%d", port);
	if (getaddrinfo(host[0] ? host : NULL, port_s, &hints, &res))
		return -EINVAL;
	for (ai = res; ai; ai = ai->ai_next) {
		char shown[ISCSI_ADDR_MAX];

		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if (host[0]) {
			snprintf(shown, sizeof(shown), "%s", host);
		} else {
			snprintf(shown, sizeof(shown), "%s",
				 ai->ai_family == AF_INET6 ? "::" : "0.0.0.0");
		}
		err = add_listener(main_loop, ai, shown);
		if (err)
			log_error("portal %s: %s", spec, strerror(-err));
		else
			added++;
	}
	freeaddrinfo(res);
	return added ? 0 : (err ? err : -EINVAL);
}

static void portal_free(struct iscsi_portal *p)
{
	ev_io_stop(&p->io);
	close(p->io.fd);
	accept_reserve_close(&p->reserve);
	list_del(&p->node);
	free(p);
}

int iscsi_portal_del(const char *spec)
{
	struct iscsi_portal *p, *tmp;
	char host[ISCSI_ADDR_MAX];
	int port;

	if (!split_portal(spec, host, sizeof(host), &port))
		return -EINVAL;
	list_for_each_entry_safe(p, tmp, registry_portals(), node) {
		if (p->port == port && !strcmp(p->addr, host)) {
			portal_free(p);
			return 0;
		}
	}
	return -ENOENT;
}

void iscsi_portals_close_all(void)
{
	struct iscsi_portal *p, *tmp;

	list_for_each_entry_safe(p, tmp, registry_portals(), node)
		portal_free(p);
}
