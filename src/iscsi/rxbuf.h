/* Read-ahead of a connection's socket: one recv brings in as many PDUs
 * as have arrived (a burst of 48-byte SCSI Command PDUs, or commands with
 * their immediate data), and the receive state machine takes its parts
 * (header, AHS, digests, data segments) from the buffer. Without it every
 * part costs a recv, and every burst one more that fails with EAGAIN.
 *
 * A part at least as large as the buffer, once the buffer is empty, is
 * read straight into its destination: large data segments are not copied
 * twice.
 *
 * Owned by the connection's loop thread, like the connection. */
#ifndef MTGT_ISCSI_RXBUF_H
#define MTGT_ISCSI_RXBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RX_BUF_SIZE (16u << 10)

struct rx_buf {
	uint8_t *data; /* RX_BUF_SIZE bytes, allocated on first read-ahead */
	uint32_t head; /* first byte not yet taken */
	uint32_t tail; /* end of the bytes received */
};

void rx_buf_init(struct rx_buf *b);
void rx_buf_free(struct rx_buf *b);
/* Bytes received and not yet taken. */
uint32_t rx_buf_pending(const struct rx_buf *b);

/* Gives up to want bytes (> 0) into dst: what is buffered first; when
 * nothing is, and may_recv, from fd: with read_ahead through the buffer
 * (or straight into dst for a part of RX_BUF_SIZE or more), without it
 * exactly what is wanted at most, nothing beyond. Returns the bytes given,
 * 0 at end of stream, -1 with errno set (EAGAIN: nothing buffered and
 * nothing to read, or may_recv false). */
ssize_t rx_buf_read(struct rx_buf *b, int fd, void *dst, size_t want,
		    bool may_recv, bool read_ahead);

#endif
