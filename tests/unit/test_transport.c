/* SPDX-License-Identifier: MIT */
/*
 * test_transport.c - the transport seam against a real pseudo-terminal
 * pair: the test holds the master side, the transport opens the slave.
 * Waiting is done with poll() on descriptors, never with sleeps.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "transport.h"

#define WAIT_MS 2000 /* generous: only reached when a test fails */

static int master = -1;
static int slave = -1;
static char slave_path[256];
static char tmpdir[64];
static char err[512];

/* Bytes a cooked terminal would alter or act on: NUL, ^C, ^D, LF, CR,
 * XON, XOFF, ^Z, DEL, and the JBD start and end bytes. */
static const unsigned char frame[] = {0xDD, 0x00, 0x03, 0x04, 0x0A, 0x0D,
				      0x11, 0x13, 0x1A, 0x7F, 0xFF, 0x77};

static void setup(void)
{
	ck_assert_int_eq(openpty(&master, &slave, slave_path, NULL, NULL), 0);
	ck_assert_int_eq(fcntl(master, F_SETFL, O_NONBLOCK), 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_transport.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	err[0] = '\0';
}

static void rm_in_tmpdir(const char *name)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	unlink(p);
}

static void teardown(void)
{
	if (master >= 0)
		close(master);
	if (slave >= 0)
		close(slave);
	master = slave = -1;
	rm_in_tmpdir("link");
	rm_in_tmpdir("link2");
	rm_in_tmpdir("dangling");
	rmdir(tmpdir);
}

static void tmp_link(const char *target, const char *name, char *out,
		     size_t len)
{
	snprintf(out, len, "%s/%s", tmpdir, name);
	ck_assert_int_eq(symlink(target, out), 0);
}

static int wait_readable(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	return poll(&pfd, 1, WAIT_MS) == 1 && (pfd.revents & POLLIN);
}

/* Read exactly n bytes from the master side, or fail the test. */
static void master_read_exact(unsigned char *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		ck_assert_msg(wait_readable(master), "master: timeout");
		r = read(master, buf + got, n - got);
		ck_assert_int_gt(r, 0);
		got += (size_t)r;
	}
}

/* Read exactly n bytes through the transport, or fail the test. */
static void tp_read_exact(struct transport *t, unsigned char *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		ck_assert_msg(wait_readable(t->fd), "transport: timeout");
		r = transport_read(t, buf + got, n - got);
		ck_assert_int_gt(r, 0);
		got += (size_t)r;
	}
}

static struct transport *open_slave(unsigned baud)
{
	struct transport *t =
		transport_open(slave_path, baud, err, sizeof(err));

	ck_assert_msg(t != NULL, "transport_open: %s", err);
	return t;
}

START_TEST(test_pty_picks_tty)
{
	struct transport *t = open_slave(9600);

	ck_assert_str_eq(t->ops->kind, "tty");
	ck_assert_str_eq(t->path, slave_path);
	ck_assert_int_ge(t->fd, 0);
	ck_assert_int_eq(fcntl(t->fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	ck_assert_int_eq(fcntl(t->fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	transport_close(t);
}
END_TEST

START_TEST(test_termios_raw_8n1)
{
	struct transport *t = open_slave(19200);
	struct termios tio;

	ck_assert_int_eq(tcgetattr(t->fd, &tio), 0);
	ck_assert_uint_eq(cfgetospeed(&tio), B19200);
	ck_assert_uint_eq(cfgetispeed(&tio), B19200);
	ck_assert_uint_eq(tio.c_cflag & (CSIZE | PARENB | CSTOPB | CRTSCTS),
			  CS8);
	ck_assert_uint_eq(tio.c_cflag & (CLOCAL | CREAD), CLOCAL | CREAD);
	ck_assert_uint_eq(tio.c_lflag & (ICANON | ECHO | ISIG | IEXTEN), 0);
	ck_assert_uint_eq(tio.c_iflag & (IXON | IXOFF | IXANY | ICRNL | INLCR |
					 IGNCR | ISTRIP),
			  0);
	ck_assert_uint_eq(tio.c_oflag & OPOST, 0);
	/* VMIN=1 so that an empty non-blocking read is EAGAIN, not 0. */
	ck_assert_uint_eq(tio.c_cc[VMIN], 1);
	ck_assert_uint_eq(tio.c_cc[VTIME], 0);
	transport_close(t);
}
END_TEST

START_TEST(test_master_to_transport)
{
	struct transport *t = open_slave(9600);
	unsigned char buf[sizeof(frame)];
	unsigned char extra;

	ck_assert_int_eq(write(master, frame, sizeof(frame)), sizeof(frame));
	tp_read_exact(t, buf, sizeof(buf));
	ck_assert_mem_eq(buf, frame, sizeof(frame));
	/* Nothing more, and nothing echoed back to the sender. */
	ck_assert_int_eq(transport_read(t, &extra, 1), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(read(master, &extra, 1), -1);
	ck_assert_int_eq(errno, EAGAIN);
	transport_close(t);
}
END_TEST

START_TEST(test_transport_to_master)
{
	struct transport *t = open_slave(9600);
	unsigned char buf[sizeof(frame)];
	unsigned char extra;

	ck_assert_int_eq(transport_write(t, frame, sizeof(frame)),
			 sizeof(frame));
	master_read_exact(buf, sizeof(buf));
	ck_assert_mem_eq(buf, frame, sizeof(frame));
	ck_assert_int_eq(read(master, &extra, 1), -1);
	ck_assert_int_eq(errno, EAGAIN);
	transport_close(t);
}
END_TEST

START_TEST(test_read_empty_is_eagain)
{
	struct transport *t = open_slave(9600);
	unsigned char buf[16];

	errno = 0;
	ck_assert_int_eq(transport_read(t, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EAGAIN);
	transport_close(t);
}
END_TEST

START_TEST(test_flush_drops_input)
{
	struct transport *t = open_slave(9600);
	unsigned char buf[sizeof(frame)];

	ck_assert_int_eq(write(master, frame, sizeof(frame)), sizeof(frame));
	ck_assert(wait_readable(t->fd));
	transport_flush(t);
	ck_assert_int_eq(transport_read(t, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EAGAIN);
	/* The port still works after a flush. */
	ck_assert_int_eq(write(master, frame, 3), 3);
	tp_read_exact(t, buf, 3);
	ck_assert_mem_eq(buf, frame, 3);
	transport_close(t);
}
END_TEST

START_TEST(test_second_open_is_in_use)
{
	struct transport *t = open_slave(9600);
	struct transport *t2;
	char want[512];

	t2 = transport_open(slave_path, 9600, err, sizeof(err));
	ck_assert_ptr_null(t2);
	snprintf(want, sizeof(want), "%s is in use by another process (locked)",
		 slave_path);
	ck_assert_str_eq(err, want);
	/* Closing releases the lock. */
	transport_close(t);
	t = open_slave(9600);
	transport_close(t);
}
END_TEST

START_TEST(test_symlink_resolved)
{
	char link[128], link2[128];
	struct transport *t;

	tmp_link(slave_path, "link", link, sizeof(link));
	tmp_link(link, "link2", link2, sizeof(link2)); /* link to a link */
	t = transport_open(link2, 9600, err, sizeof(err));
	ck_assert_msg(t != NULL, "transport_open: %s", err);
	ck_assert_str_eq(t->ops->kind, "tty");
	ck_assert_str_eq(t->path, slave_path);
	transport_close(t);
}
END_TEST

START_TEST(test_missing_path)
{
	const char *spec = "/dev/smallbms-test-missing";

	ck_assert_ptr_null(transport_open(spec, 9600, err, sizeof(err)));
	ck_assert_str_eq(err, "/dev/smallbms-test-missing: no such device");
}
END_TEST

START_TEST(test_dangling_link_names_both)
{
	char link[128], want[512];

	tmp_link("/dev/smallbms-test-gone", "dangling", link, sizeof(link));
	ck_assert_ptr_null(transport_open(link, 9600, err, sizeof(err)));
	snprintf(want, sizeof(want),
		 "%s: no such device (symbolic link to "
		 "/dev/smallbms-test-gone)",
		 link);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_no_spec)
{
	ck_assert_ptr_null(transport_open(NULL, 9600, err, sizeof(err)));
	ck_assert_str_eq(err, "no serial device configured");
	err[0] = '\0';
	ck_assert_ptr_null(transport_open("", 9600, err, sizeof(err)));
	ck_assert_str_eq(err, "no serial device configured");
}
END_TEST

START_TEST(test_unsupported_baud)
{
	char want[512];
	struct transport *t;

	ck_assert_ptr_null(transport_open(slave_path, 12345, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: unsupported baud rate 12345",
		 slave_path);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(transport_tty_open(slave_path, 0, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: unsupported baud rate 0", slave_path);
	ck_assert_str_eq(err, want);
	/* A rejected open leaves no lock behind. */
	t = open_slave(115200);
	transport_close(t);
}
END_TEST

START_TEST(test_err_buffer_small_or_null)
{
	char small[8];

	ck_assert_ptr_null(
		transport_open("/dev/smallbms-test-missing", 9600, NULL, 0));
	ck_assert_ptr_null(transport_open("/dev/smallbms-test-missing", 9600,
					  small, sizeof(small)));
	ck_assert_str_eq(small, "/dev/sm");
}
END_TEST

START_TEST(test_hangup_reads_eof)
{
	struct transport *t = open_slave(9600);
	unsigned char buf[4];

	/* Closing the master hangs the slave up: the simulator went away. */
	close(master);
	master = -1;
	ck_assert(wait_readable(t->fd));
	ck_assert_int_eq(transport_read(t, buf, sizeof(buf)), 0);
	ck_assert_int_eq(transport_write(t, frame, sizeof(frame)), -1);
	ck_assert_int_eq(errno, EIO);
	transport_close(t);
}
END_TEST

START_TEST(test_sp_dev_null)
{
	ck_assert_ptr_null(
		transport_sp_open("/dev/null", 9600, err, sizeof(err)));
	ck_assert_str_eq(err, "/dev/null: not a serial port (the kernel lists "
			      "no tty device of that name)");
}
END_TEST

START_TEST(test_open_non_pty_uses_sp)
{
	/* /dev/null is a character device but no pty: libserialport's turn. */
	ck_assert_ptr_null(transport_open("/dev/null", 9600, err, sizeof(err)));
	ck_assert_str_eq(err, "/dev/null: not a serial port (the kernel lists "
			      "no tty device of that name)");
}
END_TEST

START_TEST(test_sp_missing_device)
{
	ck_assert_ptr_null(
		transport_sp_open("/dev/ttyUSB99", 9600, err, sizeof(err)));
	ck_assert_str_eq(err, "/dev/ttyUSB99: no such device");
}
END_TEST

START_TEST(test_sp_bad_baud)
{
	ck_assert_ptr_null(
		transport_sp_open("/dev/ttyUSB99", 0, err, sizeof(err)));
	ck_assert_str_eq(err, "/dev/ttyUSB99: unsupported baud rate 0");
}
END_TEST

START_TEST(test_close_null)
{
	transport_close(NULL);
}
END_TEST

START_TEST(test_find_by_serial)
{
	char path[64] = "untouched";

	errno = 0;
	ck_assert_int_eq(transport_sp_find_by_serial("SMALLBMS-NO-SUCH-SERIAL",
						     path, sizeof(path)),
			 -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_str_eq(path, "untouched");
	ck_assert_int_eq(transport_sp_find_by_serial(NULL, path, sizeof(path)),
			 -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(transport_sp_find_by_serial("", path, sizeof(path)),
			 -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(transport_sp_find_by_serial("X", NULL, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* --- TCP (RS485-to-Ethernet gateways) on loopback --------------------- */

static int tcp_listener(unsigned short *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* Write through the transport until the non-blocking connect is up. */
static void write_when_connected(struct transport *t, const void *b, size_t n)
{
	struct pollfd p = {.fd = t->fd, .events = POLLOUT};
	ssize_t w;

	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
	w = transport_write(t, b, n);
	ck_assert_int_eq(w, (ssize_t)n);
}

START_TEST(test_tcp_both_directions)
{
	unsigned short port;
	int l = tcp_listener(&port), peer;
	char spec[64];
	unsigned char buf[64];
	struct transport *t;
	struct pollfd p;

	snprintf(spec, sizeof(spec), "tcp://127.0.0.1:%u", port);
	t = transport_open(spec, 9600, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	ck_assert_str_eq(t->ops->kind, "tcp");
	write_when_connected(t, frame, sizeof(frame));
	peer = accept(l, NULL, NULL);
	ck_assert_int_ge(peer, 0);
	ck_assert_int_eq(read(peer, buf, sizeof(buf)), (ssize_t)sizeof(frame));
	ck_assert_mem_eq(buf, frame, sizeof(frame));
	ck_assert_int_eq(write(peer, frame, sizeof(frame)),
			 (ssize_t)sizeof(frame));
	p = (struct pollfd){.fd = t->fd, .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
	ck_assert_int_eq(transport_read(t, buf, sizeof(buf)),
			 (ssize_t)sizeof(frame));
	ck_assert_mem_eq(buf, frame, sizeof(frame));
	ck_assert_int_eq(transport_read(t, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EAGAIN);
	/* The gateway goes away: a read says so (0), not EAGAIN. */
	close(peer);
	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
	ck_assert_int_eq(transport_read(t, buf, sizeof(buf)), 0);
	transport_close(t);
	close(l);
}
END_TEST

START_TEST(test_tcp_refused_is_an_error_not_a_hang)
{
	unsigned short port;
	int l = tcp_listener(&port);
	char spec[64];
	unsigned char buf[8];
	struct transport *t;
	struct pollfd p;

	close(l); /* nothing listens there any more */
	snprintf(spec, sizeof(spec), "tcp://127.0.0.1:%u", port);
	t = transport_open(spec, 9600, err, sizeof(err));
	if (!t)
		return; /* refused at once: also fine */
	p = (struct pollfd){.fd = t->fd, .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
	ck_assert_int_eq(transport_read(t, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	transport_close(t);
}
END_TEST

/* An IPv6 gateway, by its bracketed address (skipped where the test
 * machine has no IPv6 loopback). */
START_TEST(test_tcp_ipv6_loopback)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6,
				 .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	socklen_t len = sizeof(a);
	int l = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), peer;
	char spec[64];
	unsigned char buf[64];
	struct transport *t;

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (l >= 0)
			close(l);
		return; /* no IPv6 here */
	}
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
	snprintf(spec, sizeof(spec), "tcp://[::1]:%u", ntohs(a.sin6_port));
	t = transport_open(spec, 9600, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	write_when_connected(t, frame, sizeof(frame));
	peer = accept(l, NULL, NULL);
	ck_assert_int_ge(peer, 0);
	ck_assert_int_eq(read(peer, buf, sizeof(buf)), (ssize_t)sizeof(frame));
	ck_assert_mem_eq(buf, frame, sizeof(frame));
	close(peer);
	transport_close(t);
	close(l);
}
END_TEST

/* A name is refused before any lookup, even one /etc/hosts knows: no DNS
 * query may stall the event loop. */
START_TEST(test_tcp_names_not_looked_up)
{
	unsigned short port;
	int l = tcp_listener(&port);
	char spec[64];

	snprintf(spec, sizeof(spec), "tcp://localhost:%u", port);
	ck_assert_ptr_null(transport_open(spec, 9600, err, sizeof(err)));
	ck_assert_msg(strstr(err, "'localhost' is not an IP address (host "
				  "names are not looked up") != NULL,
		      "%s", err);
	close(l);
}
END_TEST

START_TEST(test_tcp_bad_specs)
{
	static const char *bad[] = {
		"tcp://",           "tcp://host",         "tcp://:80",
		"tcp://h:",         "tcp://h:8x",         "tcp://[::1]80",
		"tcp://10.0.0.1:0", "tcp://300.1.1.1:80", "tcp://::1:80"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_ptr_null(
			transport_open(bad[i], 9600, err, sizeof(err)));
		ck_assert_msg(strstr(err, bad[i]) != NULL, "%s: %s", bad[i],
			      err);
	}
}
END_TEST

static Suite *transport_suite(void)
{
	Suite *s = suite_create("transport");
	TCase *pty = tcase_create("pty");
	TCase *errors = tcase_create("errors");
	TCase *sp = tcase_create("serialport");
	TCase *tcp = tcase_create("tcp");

	tcase_add_checked_fixture(pty, setup, teardown);
	tcase_add_test(pty, test_pty_picks_tty);
	tcase_add_test(pty, test_termios_raw_8n1);
	tcase_add_test(pty, test_master_to_transport);
	tcase_add_test(pty, test_transport_to_master);
	tcase_add_test(pty, test_read_empty_is_eagain);
	tcase_add_test(pty, test_flush_drops_input);
	tcase_add_test(pty, test_second_open_is_in_use);
	tcase_add_test(pty, test_symlink_resolved);
	tcase_add_test(pty, test_unsupported_baud);
	tcase_add_test(pty, test_hangup_reads_eof);
	suite_add_tcase(s, pty);

	tcase_add_checked_fixture(errors, setup, teardown);
	tcase_add_test(errors, test_missing_path);
	tcase_add_test(errors, test_dangling_link_names_both);
	tcase_add_test(errors, test_no_spec);
	tcase_add_test(errors, test_err_buffer_small_or_null);
	tcase_add_test(errors, test_close_null);
	suite_add_tcase(s, errors);

	tcase_add_test(sp, test_sp_dev_null);
	tcase_add_test(sp, test_open_non_pty_uses_sp);
	tcase_add_test(sp, test_sp_missing_device);
	tcase_add_test(sp, test_sp_bad_baud);
	tcase_add_test(sp, test_find_by_serial);
	suite_add_tcase(s, sp);

	tcase_add_checked_fixture(tcp, setup, teardown);
	tcase_add_test(tcp, test_tcp_both_directions);
	tcase_add_test(tcp, test_tcp_refused_is_an_error_not_a_hang);
	tcase_add_test(tcp, test_tcp_ipv6_loopback);
	tcase_add_test(tcp, test_tcp_names_not_looked_up);
	tcase_add_test(tcp, test_tcp_bad_specs);
	suite_add_tcase(s, tcp);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(transport_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
