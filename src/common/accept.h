/* Accepting connections without spinning when the process is out of file
 * descriptors.
 *
 * A listening socket is level-triggered: while connections wait in its
 * backlog it stays readable, and if accept() fails with EMFILE/ENFILE the
 * event loop would call it again at once, forever, while the initiators
 * hang until their own timeout. So every listener keeps one spare
 * descriptor: when out of descriptors, it frees the spare, accepts the
 * waiting connection and closes it at once (the peer sees the connection
 * end, the backlog drains), then takes the spare back. */
#ifndef MTGT_COMMON_ACCEPT_H
#define MTGT_COMMON_ACCEPT_H

#include <stdbool.h>
#include <sys/socket.h>

/* Owned by the thread that accepts on the listener (the main thread). */
struct accept_reserve {
	int spare_fd;	/* an open /dev/null, or -1 */
	bool shedding;	/* connections are being refused; logged once */
	const char *what; /* the listener, for the log */
};

void accept_reserve_init(struct accept_reserve *r, const char *what);
void accept_reserve_close(struct accept_reserve *r);

/* accept4(2) that never leaves a connection waiting: returns the new fd,
 * or -1 (errno set) when there is none to take, or when one was refused
 * for want of descriptors (errno EMFILE or ENFILE). */
int accept_or_shed(int listen_fd, struct accept_reserve *r,
		   struct sockaddr *peer, socklen_t *len, int flags);

#endif
