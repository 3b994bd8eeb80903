#include "iscsi/rxbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void rx_buf_init(struct rx_buf *b)
{
	b->data = NULL;
	b->head = b->tail = 0;
}

void rx_buf_free(struct rx_buf *b)
{
	free(b->data);
	rx_buf_init(b);
}

uint32_t rx_buf_pending(const struct rx_buf *b)
{
	return b->tail - b->head;
}

static size_t take(struct rx_buf *b, void *dst, size_t want)
{
	size_t n = rx_buf_pending(b);

	if (n > want)
		n = want;
	memcpy(dst, b->data + b->head, n);
	b->head += (uint32_t)n;
	if (b->head == b->tail)
		b->head = b->tail = 0;
	return n;
}

/* Refills the (empty) buffer. Same returns as recv. */
static ssize_t fill(struct rx_buf *b, int fd)
{
	ssize_t n;

	if (!b->data) {
		b->data = malloc(RX_BUF_SIZE);
		if (!b->data) {
			errno = ENOMEM;
			return -1;
		}
	}
	n = recv(fd, b->data, RX_BUF_SIZE, 0);
	if (n > 0)
		b->tail = (uint32_t)n;
	return n;
}

ssize_t rx_buf_read(struct rx_buf *b, int fd, void *dst, size_t want,
		    bool may_recv, bool read_ahead)
{
	ssize_t n;

	if (rx_buf_pending(b))
		return (ssize_t)take(b, dst, want);
	if (!may_recv) {
		errno = EAGAIN;
		return -1;
	}
	if (!read_ahead || want >= RX_BUF_SIZE)
		return recv(fd, dst, want, 0);
	n = fill(b, fd);
	if (n <= 0)
		return n;
	return (ssize_t)take(b, dst, want);
}
