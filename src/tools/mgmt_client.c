/* Client side of tgt's management protocol: building the payload,
 * sending a request, reading the reply (spec tgt-compat.md §2). */
#include "tools/mgmt_client.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/strbuf.h"

struct name_value {
	const char *name;
	int value;
};

static const struct name_value mode_names[] = {
	{ "system", MODE_SYSTEM }, { "sys", MODE_SYSTEM },
	{ "target", MODE_TARGET }, { "tgt", MODE_TARGET },
	{ "logicalunit", MODE_DEVICE }, { "lu", MODE_DEVICE },
	{ "portal", MODE_PORTAL }, { "pt", MODE_PORTAL },
	{ "lld", MODE_LLD },
	{ "session", MODE_SESSION }, { "sess", MODE_SESSION },
	{ "connection", MODE_CONNECTION }, { "conn", MODE_CONNECTION },
	{ "account", MODE_ACCOUNT },
	{ NULL, 0 },
};

static const struct name_value op_names[] = {
	{ "new", OP_NEW }, { "delete", OP_DELETE }, { "show", OP_SHOW },
	{ "bind", OP_BIND }, { "unbind", OP_UNBIND }, { "update", OP_UPDATE },
	{ "stat", OP_STATS }, { "start", OP_START }, { "stop", OP_STOP },
	{ NULL, 0 },
};

static const struct name_value device_type_names[] = {
	{ "disk", MGMT_TYPE_DISK }, { "tape", MGMT_TYPE_TAPE },
	{ "ssc", MGMT_TYPE_TAPE }, { "cd", MGMT_TYPE_MMC },
	{ "changer", MGMT_TYPE_MEDIUM_CHANGER }, { "osd", MGMT_TYPE_OSD },
	{ "pt", MGMT_TYPE_PT },
	{ NULL, 0 },
};

static int lookup_name(const struct name_value *table, const char *name)
{
	for (; table->name; table++)
		if (!strcmp(table->name, name))
			return table->value;
	return -1;
}

/* The first name of a value: the canonical spelling. */
static const char *name_of(const struct name_value *table, int value)
{
	for (; table->name; table++)
		if (table->value == value)
			return table->name;
	return "unknown";
}

int mgmt_mode_from_name(const char *name)
{
	return lookup_name(mode_names, name);
}

const char *mgmt_mode_name(int mode)
{
	return name_of(mode_names, mode);
}

int mgmt_op_from_name(const char *name)
{
	return lookup_name(op_names, name);
}

const char *mgmt_op_name(int op)
{
	return name_of(op_names, op);
}

int mgmt_device_type_from_name(const char *name)
{
	return lookup_name(device_type_names, name);
}

void mgmt_request_init(struct mgmt_request *req, int mode, int op)
{
	memset(req, 0, sizeof(*req));
	req->mode = mode;
	req->op = op;
	req->tid = -1;
	req->lun = UINT64_MAX;
}

void mgmt_request_set_lld(struct mgmt_request *req, const char *lld)
{
	/* Like strncpy: a 64-byte name fills the field without a NUL; the
	 * daemon terminates it. */
	size_t len = strnlen(lld, sizeof(req->lld));

	memset(req->lld, 0, sizeof(req->lld));
	memcpy(req->lld, lld, len);
}

/* Appends one payload item, with a separating comma after the first. */
__attribute__((format(printf, 2, 3)))
static void add_item(struct strbuf *p, const char *fmt, ...)
{
	char *item = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&item, fmt, ap);
	va_end(ap);
	if (n < 0) {
		p->failed = true;
		return;
	}
	strbuf_printf(p, "%s%s", p->len ? "," : "", item);
	free(item);
}

char *mgmt_build_payload(const struct mgmt_request *req, size_t *len,
			 bool *no_memory)
{
	struct strbuf p;

	strbuf_init(&p);
	if (req->name) /* tgt prints a missing value as "(null)" */
		add_item(&p, "%s=%s", req->name,
			 req->value ? req->value : "(null)");
	if (req->path)
		add_item(&p, "path=%s", req->path);
	if (req->device_type == MGMT_TYPE_TAPE)
		add_item(&p, "bstype=ssc"); /* tape always uses ssc */
	else if (req->bstype)
		add_item(&p, "bstype=%s", req->bstype);
	if (req->bsopts)
		add_item(&p, "bsopts=%s", req->bsopts);
	if (req->bsoflags)
		add_item(&p, "bsoflags=%s", req->bsoflags);
	if (req->blocksize)
		add_item(&p, "blocksize=%s", req->blocksize);
	if (req->targetname)
		add_item(&p, "targetname=%s", req->targetname);
	if (req->initiator_address)
		add_item(&p, "initiator-address=%s", req->initiator_address);
	if (req->initiator_name)
		add_item(&p, "initiator-name=%s", req->initiator_name);
	if (req->user)
		add_item(&p, "user=%s", req->user);
	if (req->password)
		add_item(&p, "password=%s", req->password);
	if (req->target_params)
		add_item(&p, "targetOps %s,", req->target_params);
	if (req->portal_params)
		add_item(&p, "portalOps %s,", req->portal_params);
	*no_memory = p.failed;
	if (p.failed) {
		strbuf_free(&p);
		*len = 0;
		return NULL;
	}
	*len = p.buf ? p.len + 1 : 0; /* the NUL is part of the payload */
	return p.buf;
}

static void fill_header(const struct mgmt_request *r, size_t payload_len,
			struct tgtadm_req *h)
{
	memset(h, 0, sizeof(*h));
	h->mode = r->mode;
	h->op = r->op;
	memcpy(h->lld, r->lld, sizeof(h->lld));
	h->len = sizeof(*h) + payload_len;
	h->tid = r->tid;
	h->sid = r->sid;
	h->lun = r->lun;
	h->cid = r->cid;
	h->host_no = r->host_no;
	h->device_type = r->device_type;
	h->ac_dir = r->ac_dir;
	h->force = r->force;
}

void mgmt_socket_path(int control_port, char *buf, size_t size)
{
	/* On failure the buffer still holds the (truncated) path. */
	(void)tgt_ipc_path(control_port, buf, size);
}

int mgmt_connect(int control_port)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char path[PATH_MAX];
	int fd;

	if (tgt_ipc_path(control_port, path, sizeof(path)) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Sends header and payload with as few calls as the socket allows: one
 * send, one wake-up of tgtd's main thread. On a machine whose cores are
 * busy every extra wake-up can cost the caller its CPU for a time slice.
 * Returns the bytes sent, all of them unless an error stopped it. */
static size_t send_request(int fd, const void *hdr, size_t hdr_len,
			   const void *payload, size_t payload_len)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)hdr, .iov_len = hdr_len },
		{ .iov_base = (void *)payload, .iov_len = payload_len },
	};
	struct msghdr msg = { 0 };
	size_t sent = 0;

	while (iov[0].iov_len || iov[1].iov_len) {
		struct iovec *first = iov[0].iov_len ? &iov[0] : &iov[1];
		ssize_t n;

		msg.msg_iov = first;
		msg.msg_iovlen = (size_t)(iov + 2 - first);
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		sent += (size_t)n;
		for (struct iovec *v = first; n > 0; v++) {
			size_t step = (size_t)n < v->iov_len ? (size_t)n
							     : v->iov_len;

			v->iov_base = (char *)v->iov_base + step;
			v->iov_len -= step;
			n -= (ssize_t)step;
		}
	}
	return sent;
}

static void fail(struct mgmt_reply *reply, enum mgmt_failure failure,
		 int sys_errno)
{
	reply->failure = failure;
	reply->sys_errno = sys_errno;
}

/* Reads the reply header; false (with the failure recorded) if there is
 * none. */
static bool receive_header(int fd, struct tgtadm_rsp *rsp,
			   struct mgmt_reply *reply)
{
	ssize_t n;

	do
		n = recv(fd, rsp, sizeof(*rsp), MSG_WAITALL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		fail(reply, MGMT_RECEIVE, errno);
	else if (n == 0)
		fail(reply, MGMT_CLOSED, 0);
	else if ((size_t)n < sizeof(*rsp))
		fail(reply, MGMT_PARTIAL, 0);
	return n == (ssize_t)sizeof(*rsp);
}

/* Reads the reply text (len bytes, normally ending in a NUL). A daemon
 * that closes early leaves a shorter body, which is kept. */
static void receive_body(int fd, size_t len, struct mgmt_reply *reply)
{
	char *body = malloc(len + 1);
	size_t got = 0;

	if (!body) {
		fail(reply, MGMT_NO_MEMORY, ENOMEM);
		return;
	}
	while (got < len) {
		ssize_t n = read(fd, body + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(reply, MGMT_RECEIVE, errno);
			free(body);
			return;
		}
		if (n == 0)
			break;
		got += n;
	}
	body[got] = '\0'; /* in case the daemon left out the NUL */
	reply->body = body;
	reply->body_len = strlen(body);
}

static void exchange(int fd, const struct tgtadm_req *hdr,
		     const char *payload, size_t payload_len, bool debug,
		     struct mgmt_reply *reply)
{
	struct tgtadm_rsp rsp;
	size_t sent = send_request(fd, hdr, sizeof(*hdr), payload,
				   payload_len);

	if (sent < sizeof(*hdr) + payload_len) {
		fail(reply, sent < sizeof(*hdr) ? MGMT_SEND_HEADER
						: MGMT_SEND_PAYLOAD, errno);
		return;
	}
	if (debug)
		fprintf(stderr, "send_request: sent to tgtd %u\n", hdr->len);
	if (!receive_header(fd, &rsp, reply))
		return;
	if (rsp.err != TGTADM_SUCCESS) {
		reply->failure = MGMT_REFUSED;
		reply->err = rsp.err;
		return;
	}
	if (rsp.len > sizeof(rsp))
		receive_body(fd, rsp.len - sizeof(rsp), reply);
}

void mgmt_call(int control_port, const struct mgmt_request *req,
	       bool debug, struct mgmt_reply *reply)
{
	struct tgtadm_req hdr;
	size_t payload_len;
	bool no_memory;
	char *payload;
	int fd;

	memset(reply, 0, sizeof(*reply));
	payload = mgmt_build_payload(req, &payload_len, &no_memory);
	if (no_memory) {
		fail(reply, MGMT_NO_MEMORY, ENOMEM);
		return;
	}
	fill_header(req, payload_len, &hdr);
	fd = mgmt_connect(control_port);
	if (fd < 0) {
		/* tgt reports any connect failure through the write that
		 * follows on the unconnected socket: "107 = tgtd is not
		 * running" is what scripts rely on. */
		fail(reply, errno == ENAMETOOLONG ? MGMT_PATH_TOO_LONG
						   : MGMT_NOT_CONNECTED,
		     ENOTCONN);
	} else {
		exchange(fd, &hdr, payload, payload_len, debug, reply);
		close(fd);
	}
	free(payload);
}

void mgmt_reply_free(struct mgmt_reply *reply)
{
	free(reply->body);
	reply->body = NULL;
	reply->body_len = 0;
}

const char *mgmt_failure_message(const struct mgmt_reply *reply, char *buf,
				 size_t size)
{
	switch (reply->failure) {
	case MGMT_OK:
		return "success";
	case MGMT_REFUSED:
		return tgtadm_strerror(reply->err);
	case MGMT_PATH_TOO_LONG:
	case MGMT_NOT_CONNECTED:
	case MGMT_SEND_HEADER:
		snprintf(buf, size,
			 "failed to send request hdr to tgt daemon, %s",
			 strerror(reply->sys_errno));
		return buf;
	case MGMT_SEND_PAYLOAD:
		snprintf(buf, size,
			 "failed to send request buf to tgt daemon, %s",
			 strerror(reply->sys_errno));
		return buf;
	case MGMT_RECEIVE:
		snprintf(buf, size, "can't get the response, %s",
			 strerror(reply->sys_errno));
		return buf;
	case MGMT_CLOSED:
		return "tgtd closed the socket";
	case MGMT_PARTIAL:
		return "a partial response";
	case MGMT_NO_MEMORY:
		return "out of memory";
	}
	return "unknown error";
}

int mgmt_failure_exit_status(const struct mgmt_reply *reply)
{
	switch (reply->failure) {
	case MGMT_OK:
		return 0;
	case MGMT_REFUSED:
		return EINVAL;
	case MGMT_CLOSED:
	case MGMT_PARTIAL:
		return 0; /* tgt's, oddly; scripts only see the message */
	case MGMT_NO_MEMORY:
		return ENOMEM;
	default:
		return reply->sys_errno;
	}
}
