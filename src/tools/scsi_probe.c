/* SCSI identity of a direct-store device (scsi_probe.h). */
#include "tools/scsi_probe.h"

#include <fcntl.h>
#include <scsi/sg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/byteorder.h"

#define PROBE_TIMEOUT_MS 5000
#define ANSWER_LEN 252 /* fits in INQUIRY's one-byte allocation length */

/* Copies a space-padded ASCII field without its padding. */
static void copy_field(char *dst, size_t size, const uint8_t *src,
		       size_t len)
{
	size_t start = 0;

	if (len >= size)
		len = size - 1;
	while (start < len && src[start] == ' ')
		start++;
	while (len > start && (src[len - 1] == ' ' || src[len - 1] == '\0'))
		len--;
	memcpy(dst, src + start, len - start);
	dst[len - start] = '\0';
}

void scsi_probe_decode_inquiry(const uint8_t *d, size_t len,
			       struct scsi_probe *out)
{
	if (len < 36)
		return;
	copy_field(out->vendor, sizeof(out->vendor), d + 8, 8);
	copy_field(out->product, sizeof(out->product), d + 16, 16);
	copy_field(out->revision, sizeof(out->revision), d + 32, 4);
}

void scsi_probe_decode_serial(const uint8_t *d, size_t len,
			      struct scsi_probe *out)
{
	size_t n;

	if (len < 4 || d[1] != 0x80)
		return;
	n = get_be16(d + 2);
	if (n > len - 4)
		n = len - 4;
	copy_field(out->serial, sizeof(out->serial), d + 4, n);
}

void scsi_probe_decode_block_limits(const uint8_t *d, size_t len,
				    struct scsi_probe *out)
{
	if (len < 16 || d[1] != 0xb0)
		return;
	out->has_limits = true;
	out->optimal_xfer_gran = get_be16(d + 6);
	out->optimal_xfer_len = get_be32(d + 12);
}

void scsi_probe_decode_capacity16(const uint8_t *d, size_t len,
				  struct scsi_probe *out)
{
	if (len < 16)
		return;
	out->has_capacity = true;
	out->block_length = get_be32(d + 8);
	out->lbppbe = d[13] & 0x0f;
	out->lowest_aligned_lba = get_be16(d + 14) & 0x3fff;
}

/* Sends one data-in command; returns the bytes received, or -1. */
static int send_command(int fd, const uint8_t *cdb, size_t cdb_len,
			uint8_t *data, size_t len)
{
	uint8_t sense[32];
	sg_io_hdr_t io = {
		.interface_id = 'S',
		.dxfer_direction = SG_DXFER_FROM_DEV,
		.cmd_len = cdb_len,
		.mx_sb_len = sizeof(sense),
		.dxfer_len = len,
		.dxferp = data,
		.cmdp = (unsigned char *)cdb,
		.sbp = sense,
		.timeout = PROBE_TIMEOUT_MS,
	};

	memset(data, 0, len);
	if (ioctl(fd, SG_IO, &io) < 0 || io.status || io.host_status ||
	    (io.driver_status & 0x0f) || (io.info & SG_INFO_OK_MASK))
		return -1;
	return (int)len - io.resid;
}

static void ask(int fd, const uint8_t *cdb, size_t cdb_len,
		void (*decode)(const uint8_t *, size_t, struct scsi_probe *),
		struct scsi_probe *out)
{
	uint8_t data[ANSWER_LEN];
	int n = send_command(fd, cdb, cdb_len, data, sizeof(data));

	if (n > 0)
		decode(data, n, out);
}

void scsi_probe(const char *path, struct scsi_probe *out)
{
	static const uint8_t inquiry[6] = { 0x12, 0, 0, 0, ANSWER_LEN, 0 };
	static const uint8_t serial[6] = { 0x12, 1, 0x80, 0, ANSWER_LEN, 0 };
	static const uint8_t limits[6] = { 0x12, 1, 0xb0, 0, ANSWER_LEN, 0 };
	static const uint8_t capacity16[16] = {
		0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0,
	};
	int fd;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	ask(fd, inquiry, sizeof(inquiry), scsi_probe_decode_inquiry, out);
	ask(fd, serial, sizeof(serial), scsi_probe_decode_serial, out);
	ask(fd, limits, sizeof(limits), scsi_probe_decode_block_limits, out);
	ask(fd, capacity16, sizeof(capacity16), scsi_probe_decode_capacity16,
	    out);
	close(fd);
}
