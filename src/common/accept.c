/* Accepting connections without spinning when out of file descriptors
 * (see accept.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/accept.h"
#include "common/log.h"

static int open_spare(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void accept_reserve_init(struct accept_reserve *r, const char *what)
{
	r->spare_fd = open_spare();
	r->shedding = false;
	r->what = what;
}

void accept_reserve_close(struct accept_reserve *r)
{
	if (r->spare_fd >= 0)
		close(r->spare_fd);
	r->spare_fd = -1;
}

/* Out of descriptors: drop the first waiting connection. */
static void shed_one(int listen_fd, struct accept_reserve *r, int err)
{
	int fd;

	if (!r->shedding)
		log_error("%s: out of file descriptors (%s): refusing new "
			  "connections", r->what, strerror(err));
	r->shedding = true;
	if (r->spare_fd >= 0) {
		close(r->spare_fd);
		fd = accept(listen_fd, NULL, NULL);
		if (fd >= 0)
			close(fd);
		r->spare_fd = open_spare();
	}
}

int accept_or_shed(int listen_fd, struct accept_reserve *r,
		   struct sockaddr *peer, socklen_t *len, int flags)
{
	int fd = accept4(listen_fd, peer, len, flags);
	int err = errno;

	if (fd >= 0) {
		if (r->shedding)
			log_info("%s: accepting connections again", r->what);
		r->shedding = false;
		return fd;
	}
	if (err == EMFILE || err == ENFILE)
		shed_one(listen_fd, r, err);
	else if (err != EAGAIN && err != EINTR && err != ECONNABORTED)
		log_error("%s: accept: %s", r->what, strerror(err));
	errno = err;
	return -1;
}
