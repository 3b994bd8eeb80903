/* Unit tests: the read-ahead buffer of connections, over a real socket
 * pair: several PDUs taken from one recv, a PDU split over several
 * arrivals, large parts read straight into their destination, the
 * no-read-ahead mode of login, and reads limited to what is buffered. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "iscsi/rxbuf.h"

struct pair {
	int rd, wr;
	struct rx_buf buf;
};

static int setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	int fds[2];

	if (!p || socketpair(AF_UNIX, SOCK_STREAM, 0, fds))
		return -1;
	p->rd = fds[0];
	p->wr = fds[1];
	fcntl(p->rd, F_SETFL, O_NONBLOCK);
	rx_buf_init(&p->buf);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;

	rx_buf_free(&p->buf);
	close(p->rd);
	close(p->wr);
	free(p);
	return 0;
}

static void pattern(uint8_t *b, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed * 31 + i * 7);
}

static void send_all(int fd, const void *data, size_t len)
{
	assert_int_equal(send(fd, data, len, 0), (ssize_t)len);
}

/* Reads exactly len bytes (as the receive state machine does); fails on
 * EAGAIN, which must not happen when the bytes were sent. */
static void read_exact(struct pair *p, uint8_t *dst, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = rx_buf_read(&p->buf, p->rd, dst + got, len - got,
					true, true);

		assert_true(n > 0);
		got += (size_t)n;
	}
}

static void test_several_pdus_one_recv(void **state)
{
	struct pair *p = *state;
	uint8_t wire[3 * 48], got[48];

	pattern(wire, sizeof(wire), 1);
	send_all(p->wr, wire, sizeof(wire));
	/* The first header brings the others along. */
	read_exact(p, got, 48);
	assert_memory_equal(got, wire, 48);
	assert_int_equal(rx_buf_pending(&p->buf), 96);
	/* The rest comes from the buffer, even with the socket not read. */
	for (int i = 1; i < 3; i++) {
		assert_int_equal(rx_buf_read(&p->buf, p->rd, got, 48, false,
					     true), 48);
		assert_memory_equal(got, wire + 48 * i, 48);
	}
	assert_int_equal(rx_buf_pending(&p->buf), 0);
	/* Nothing buffered, nothing sent: EAGAIN. */
	assert_int_equal(rx_buf_read(&p->buf, p->rd, got, 48, true, true), -1);
	assert_int_equal(errno, EAGAIN);
}

static void test_pdu_split_over_arrivals(void **state)
{
	struct pair *p = *state;
	uint8_t wire[48 + 1000], got[48 + 1000];
	ssize_t n;

	pattern(wire, sizeof(wire), 2);
	send_all(p->wr, wire, 30);
	n = rx_buf_read(&p->buf, p->rd, got, 48, true, true);
	assert_int_equal(n, 30);
	assert_int_equal(rx_buf_read(&p->buf, p->rd, got + 30, 18, true,
				     true), -1);
	assert_int_equal(errno, EAGAIN);
	send_all(p->wr, wire + 30, sizeof(wire) - 30);
	read_exact(p, got + 30, 18);
	read_exact(p, got + 48, 1000);
	assert_memory_equal(got, wire, sizeof(wire));
}

static void test_may_recv_false_reads_nothing(void **state)
{
	struct pair *p = *state;
	uint8_t wire[48], got[48];

	pattern(wire, sizeof(wire), 3);
	send_all(p->wr, wire, sizeof(wire));
	assert_int_equal(rx_buf_read(&p->buf, p->rd, got, 48, false, true), -1);
	assert_int_equal(errno, EAGAIN);
	/* Still in the socket. */
	read_exact(p, got, 48);
	assert_memory_equal(got, wire, 48);
}

static void test_login_reads_no_more_than_wanted(void **state)
{
	struct pair *p = *state;
	uint8_t wire[96], got[96];

	pattern(wire, sizeof(wire), 4);
	send_all(p->wr, wire, sizeof(wire));
	assert_int_equal(rx_buf_read(&p->buf, p->rd, got, 48, true, false),
			 48);
	assert_int_equal(rx_buf_pending(&p->buf), 0);
	/* The second PDU is left in the socket for whoever reads next. */
	assert_int_equal(recv(p->rd, got + 48, 48, 0), 48);
	assert_memory_equal(got, wire, sizeof(wire));
}

static void test_large_part_straight_to_destination(void **state)
{
	struct pair *p = *state;
	size_t big = 2 * RX_BUF_SIZE;
	uint8_t *wire = malloc(48 + big), *got = malloc(48 + big);
	ssize_t n;

	pattern(wire, 48 + big, 5);
	send_all(p->wr, wire, 48 + big);
	read_exact(p, got, 48);
	/* What came along with the header is handed out first... */
	n = rx_buf_read(&p->buf, p->rd, got + 48, big, true, true);
	assert_true(n > 0 && n <= (ssize_t)RX_BUF_SIZE - 48);
	assert_int_equal(rx_buf_pending(&p->buf), 0);
	/* ...then the rest bypasses the buffer. */
	read_exact(p, got + 48 + n, big - (size_t)n);
	assert_int_equal(rx_buf_pending(&p->buf), 0);
	assert_memory_equal(got, wire, 48 + big);
	free(wire);
	free(got);
}

static void test_end_of_stream(void **state)
{
	struct pair *p = *state;
	uint8_t wire[10], got[48];

	pattern(wire, sizeof(wire), 6);
	send_all(p->wr, wire, sizeof(wire));
	shutdown(p->wr, SHUT_WR);
	assert_int_equal(rx_buf_read(&p->buf, p->rd, got, 48, true, true), 10);
	assert_memory_equal(got, wire, 10);
	assert_int_equal(rx_buf_read(&p->buf, p->rd, got, 48, true, true), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_several_pdus_one_recv,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_pdu_split_over_arrivals,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_may_recv_false_reads_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_login_reads_no_more_than_wanted, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_large_part_straight_to_destination, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_end_of_stream, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
