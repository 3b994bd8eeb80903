#include "mgmt/server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/accept.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "event/loop.h"
#include "mgmt/dispatch.h"
#include "mgmt/ipc_proto.h"
#include "mgmt/modes.h"

/* Owned by the main thread. */
struct mgmt_server {
	struct ev_io io;
	struct ev_loop *loop;
	int lock_fd;
	struct accept_reserve reserve; /* for running out of fds */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

enum client_state {
	READ_HDR,
	READ_PAYLOAD,
	WAIT_RESULT, /* a delete waits for its I/O; the fd is off the loop */
	WRITE_RSP,
};

/* One management request in progress; main thread. */
struct mgmt_client {
	struct ev_io io;
	struct mgmt_server *srv;
	enum client_state state;
	struct tgtadm_req req;
	char *payload;
	uint32_t payload_len;
	uint32_t got;
	char *rsp;       /* header + body */
	uint32_t rsp_len;
	uint32_t sent;
	bool stop_daemon;
	/* A delete answers once nothing it deleted touches a backing store
	 * any more (target/fence.c). */
	struct target_waiter wait;
};

static void client_free(struct mgmt_client *c)
{
	ev_io_stop(&c->io);
	close(c->io.fd);
	free(c->payload);
	free(c->rsp);
	free(c);
}

static void set_response(struct mgmt_client *c, enum tgtadm_err err,
			 const struct strbuf *out)
{
	struct tgtadm_rsp hdr;
	/* On error tgt sends the header only. */
	uint32_t body = !err && out->len ? (uint32_t)out->len + 1 : 0;

	hdr.err = err;
	hdr.len = (uint32_t)sizeof(hdr) + body;
	c->rsp = malloc(hdr.len);
	if (c->rsp) {
		memcpy(c->rsp, &hdr, sizeof(hdr));
		if (body)
			memcpy(c->rsp + sizeof(hdr), out->buf, body);
		c->rsp_len = hdr.len;
	}
}

/* Returns false if the answer comes later (request_done). */
static bool build_response(struct mgmt_client *c)
{
	struct strbuf out;
	struct mgmt_result r;

	strbuf_init(&out);
	r = mgmt_execute(c->srv->loop, &c->req, c->payload, &out, &c->wait);
	if (r.err == TGTADM_IN_PROGRESS) {
		strbuf_free(&out);
		return false;
	}
	if (!r.err && out.failed)
		r.err = TGTADM_NOMEM;
	set_response(c, r.err, &out);
	c->stop_daemon = r.stop_daemon;
	strbuf_free(&out);
	return true;
}

static int read_some(int fd, void *buf, uint32_t want, uint32_t *got)
{
	while (*got < want) {
		ssize_t n = read(fd, (char *)buf + *got, want - *got);

		if (n > 0) {
			*got += (uint32_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return -1;
	}
	return 1;
}

/* Returns -1 to drop the client, 0 to wait, 1 when the request is read. */
static int client_read(struct mgmt_client *c)
{
	int r;

	if (c->state == READ_HDR) {
		r = read_some(c->io.fd, &c->req, sizeof(c->req), &c->got);
		if (r <= 0)
			return r;
		if (c->req.len < sizeof(c->req) ||
		    c->req.len - sizeof(c->req) > TGT_MGMT_MAX_PAYLOAD)
			return -1;
		c->payload_len = c->req.len - (uint32_t)sizeof(c->req);
		c->payload = calloc(1, c->payload_len + 1);
		if (!c->payload)
			return -1;
		c->got = 0;
		c->state = READ_PAYLOAD;
	}
	r = read_some(c->io.fd, c->payload, c->payload_len, &c->got);
	if (r <= 0)
		return r;
	c->payload[c->payload_len] = '\0';
	c->req.lld[sizeof(c->req.lld) - 1] = '\0';
	return 1;
}

static void client_event(struct ev_loop *loop, uint32_t events, void *arg)
{
	struct mgmt_client *c = arg;

	(void)events;
	if (c->state != WRITE_RSP) {
		int r = client_read(c);

		if (r < 0) {
			client_free(c);
			return;
		}
		if (r == 0)
			return;
		if (!build_response(c)) {
			/* Nothing more to read: off the loop until then. */
			c->state = WAIT_RESULT;
			ev_io_stop(&c->io);
			return;
		}
		if (!c->rsp) {
			client_free(c);
			return;
		}
		c->state = WRITE_RSP;
		ev_io_modify(&c->io, EPOLLOUT);
	}
	while (c->sent < c->rsp_len) {
		ssize_t n = send(c->io.fd, c->rsp + c->sent,
				 c->rsp_len - c->sent, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			break;
		c->sent += (uint32_t)n;
	}
	if (c->stop_daemon)
		ev_stop(loop);
	client_free(c);
}

/* A delete that waited has its answer. It is sent at once (it is a
 * header alone and the socket is idle), so that it goes out also while
 * the daemon shuts down and its loop no longer runs. */
static void request_done(struct target_waiter *w, enum tgtadm_err err)
{
	struct mgmt_client *c = container_of(w, struct mgmt_client, wait);
	struct strbuf none;

	strbuf_init(&none);
	set_response(c, err, &none);
	if (!c->rsp || ev_io_start(c->srv->loop, &c->io, EPOLLOUT) < 0) {
		client_free(c);
		return;
	}
	c->state = WRITE_RSP;
	client_event(c->srv->loop, EPOLLOUT, c);
}

/* Only tgtd's own user and group may manage it, as in tgt. */
static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == getuid() && cred.gid == getgid();
}

static void server_accept(struct ev_loop *loop, uint32_t events, void *arg)
{
	struct mgmt_server *srv = arg;
	struct mgmt_client *c;
	int fd;

	(void)events;
	fd = accept_or_shed(srv->io.fd, &srv->reserve, NULL, NULL,
			    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (!peer_allowed(fd)) {
		log_error("permission error");
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->srv = srv;
	c->wait.done = request_done;
	ev_io_init(&c->io, fd, client_event, c);
	if (ev_io_start(loop, &c->io, EPOLLIN) < 0) {
		close(fd);
		free(c);
	}
}

static int take_lock(struct mgmt_server *srv)
{
	char lock_path[sizeof(srv->path) + 8];

	snprintf(lock_path, sizeof(lock_path), "%s.lock", srv->path);
	srv->lock_fd = open(lock_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (srv->lock_fd < 0) {
		log_error("cannot open %s: %s", lock_path, strerror(errno));
		return -1;
	}
	if (lockf(srv->lock_fd, F_TLOCK, 1) < 0) {
		log_error("another tgtd is using %s", lock_path);
		return -1;
	}
	return 0;
}

static int listen_unix(struct mgmt_server *srv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", srv->path);
	unlink(srv->path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(fd, 32) < 0) {
		log_error("cannot listen on %s: %s", srv->path,
			  strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct mgmt_server *mgmt_server_start(struct ev_loop *loop, int control_port)
{
	struct mgmt_server *srv = calloc(1, sizeof(*srv));
	int fd;

	if (!srv)
		return NULL;
	srv->loop = loop;
	srv->lock_fd = -1;
	if (tgt_ipc_path(control_port, srv->path, sizeof(srv->path)) < 0) {
		log_error("management path too long");
		goto fail;
	}
	if (!getenv(TGT_IPC_ENV))
		mkdir(TGT_IPC_DIR, 0755);
	if (take_lock(srv) < 0)
		goto fail;
	fd = listen_unix(srv);
	if (fd < 0)
		goto fail;
	accept_reserve_init(&srv->reserve, "management socket");
	ev_io_init(&srv->io, fd, server_accept, srv);
	if (ev_io_start(loop, &srv->io, EPOLLIN) < 0) {
		accept_reserve_close(&srv->reserve);
		close(fd);
		goto fail;
	}
	return srv;
fail:
	if (srv->lock_fd >= 0)
		close(srv->lock_fd);
	free(srv);
	return NULL;
}

void mgmt_server_stop(struct mgmt_server *srv)
{
	/* Management state lives as long as the server that changes it. */
	account_free_all();
	lld_free_saved();
	target_mode_free_all();
	if (!srv)
		return;
	ev_io_stop(&srv->io);
	close(srv->io.fd);
	accept_reserve_close(&srv->reserve);
	close(srv->lock_fd);
	free(srv);
}
