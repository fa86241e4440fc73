/* SPDX-License-Identifier: MIT */
/*
 * test_tcpaddr.c - the one parser of tcp://HOST:PORT (configuration and
 * TCP transport): every form it takes with what it makes of it, every form
 * it refuses with its whole message. Host names are refused: no DNS query
 * may stall the event loop.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcpaddr.h"

static const struct {
	const char *spec;
	int family;
	const char *host;
	unsigned port;
} accepted[] = {
	{"tcp://192.168.1.50:8899", AF_INET, "192.168.1.50", 8899},
	{"tcp://10.0.0.1:1", AF_INET, "10.0.0.1", 1},
	{"tcp://127.0.0.1:502", AF_INET, "127.0.0.1", 502},
	{"tcp://255.255.255.255:65535", AF_INET, "255.255.255.255", 65535},
	{"tcp://0.0.0.0:23", AF_INET, "0.0.0.0", 23},
	{"tcp://10.0.0.5:08899", AF_INET, "10.0.0.5", 8899},
	{"tcp://[::1]:502", AF_INET6, "::1", 502},
	{"tcp://[2001:db8::5]:65535", AF_INET6, "2001:db8::5", 65535},
	{"tcp://[FD00::A:5]:4196", AF_INET6, "FD00::A:5", 4196},
	{"tcp://[::ffff:192.168.1.2]:4196", AF_INET6, "::ffff:192.168.1.2",
	 4196},
	{"tcp://[2001:0db8:0000:0000:0000:ff00:0042:8329]:1", AF_INET6,
	 "2001:0db8:0000:0000:0000:ff00:0042:8329", 1},
	/* The longest text of an IPv6 address (INET6_ADDRSTRLEN - 1). */
	{"tcp://[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:1", AF_INET6,
	 "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 1},
};

START_TEST(accepted_forms)
{
	struct tcpaddr a;
	char why[256] = "";
	const char *spec = accepted[_i].spec;

	ck_assert_msg(tcpaddr_is_tcp(spec), "%s", spec);
	ck_assert_msg(tcpaddr_parse(spec, &a, why, sizeof(why)) == 0, "%s: %s",
		      spec, why);
	ck_assert_int_eq(a.family, accepted[_i].family);
	ck_assert_str_eq(a.host, accepted[_i].host);
	ck_assert_uint_eq(a.port, accepted[_i].port);
}
END_TEST

/* What connect() gets: the address and port in network order. */
START_TEST(socket_addresses)
{
	static const unsigned char loop6[16] = {[15] = 1};
	struct sockaddr_storage ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
	struct tcpaddr a;

	ck_assert_int_eq(tcpaddr_parse("tcp://192.168.1.50:8899", &a, NULL, 0),
			 0);
	ck_assert_uint_eq(tcpaddr_sockaddr(&a, &ss), sizeof(*s4));
	ck_assert_int_eq(s4->sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(s4->sin_port), 8899);
	ck_assert_uint_eq(ntohl(s4->sin_addr.s_addr), 0xc0a80132u);

	ck_assert_int_eq(tcpaddr_parse("tcp://[::1]:502", &a, NULL, 0), 0);
	ck_assert_uint_eq(tcpaddr_sockaddr(&a, &ss), sizeof(*s6));
	ck_assert_int_eq(s6->sin6_family, AF_INET6);
	ck_assert_uint_eq(ntohs(s6->sin6_port), 502);
	ck_assert_mem_eq(s6->sin6_addr.s6_addr, loop6, 16);
	ck_assert_uint_eq(s6->sin6_scope_id, 0);
}
END_TEST

#define NAMES                                                                  \
	"' is not an IP address (host names are not looked up, so that no "    \
	"DNS query can stall the daemon: write the gateway's address, e.g. "   \
	"tcp://192.168.1.50:8899)"
#define NO_HOST "' has no host (e.g. tcp://192.168.1.50:8899)"
#define NO_PORT                                                                \
	"' has no port: write tcp://HOST:PORT (e.g. tcp://192.168.1.50:8899)"
#define NO_PORT6 "' has no port: write tcp://[ADDRESS]:PORT"
#define RANGE    " is out of range (1..65535)"
#define BRACKETS "': write an IPv6 address in brackets: tcp://[ADDRESS]:PORT"
#define NOT_TCP  "' is not tcp://HOST:PORT (e.g. tcp://192.168.1.50:8899)"

static const struct {
	const char *spec;
	const char *message;
} refused[] = {
	/* no host */
	{"tcp://", "'tcp://" NO_HOST},
	{"tcp://:502", "'tcp://:502" NO_HOST},
	{"tcp://[]:502", "'tcp://[]:502" NO_HOST},
	/* no port */
	{"tcp://10.0.0.1", "'tcp://10.0.0.1" NO_PORT},
	{"tcp://10.0.0.1:", "'tcp://10.0.0.1:" NO_PORT},
	{"tcp://[::1]:", "'tcp://[::1]:" NO_PORT},
	{"tcp://[::1]", "'tcp://[::1]" NO_PORT6},
	{"tcp://[::1]502", "'tcp://[::1]502" NO_PORT6},
	/* bad port */
	{"tcp://10.0.0.1:0", "'tcp://10.0.0.1:0': port 0" RANGE},
	{"tcp://10.0.0.1:00", "'tcp://10.0.0.1:00': port 00" RANGE},
	{"tcp://10.0.0.1:65536", "'tcp://10.0.0.1:65536': port 65536" RANGE},
	{"tcp://[::1]:70000", "'tcp://[::1]:70000': port 70000" RANGE},
	{"tcp://10.0.0.1:99999999999999999999999",
	 "'tcp://10.0.0.1:99999999999999999999999': port "
	 "99999999999999999999999" RANGE},
	{"tcp://10.0.0.1:http",
	 "'tcp://10.0.0.1:http': the port 'http' is not a number"},
	{"tcp://10.0.0.1:-1",
	 "'tcp://10.0.0.1:-1': the port '-1' is not a number"},
	{"tcp://10.0.0.1:+80",
	 "'tcp://10.0.0.1:+80': the port '+80' is not a number"},
	{"tcp://10.0.0.1: 80",
	 "'tcp://10.0.0.1: 80': the port ' 80' is not a number"},
	{"tcp://10.0.0.1:0x50",
	 "'tcp://10.0.0.1:0x50': the port '0x50' is not a number"},
	{"tcp://10.0.0.1:502/x",
	 "'tcp://10.0.0.1:502/x': the port '502/x' is not a number"},
	{"tcp://[::1]:502]", "'tcp://[::1]:502]': the port '502]' is not a "
			     "number"},
	/* IPv6 */
	{"tcp://::1:502", "'tcp://::1:502" BRACKETS},
	{"tcp://2001:db8::5:502", "'tcp://2001:db8::5:502" BRACKETS},
	{"tcp://[::ffff:10.0.0.1]", "'tcp://[::ffff:10.0.0.1]" NO_PORT6},
	{"tcp://::ffff:10.0.0.1:502", "'tcp://::ffff:10.0.0.1:502" BRACKETS},
	{"tcp://10.0.0.1:502:1",
	 "'tcp://10.0.0.1:502:1': the port '502:1' is not a number"},
	{"tcp://[::1:502",
	 "'tcp://[::1:502': missing ']' after the IPv6 address"},
	{"tcp://[zz]:502", "'tcp://[zz]:502': 'zz' is not an IPv6 address"},
	{"tcp://[10.0.0.1]:502",
	 "'tcp://[10.0.0.1]:502': '10.0.0.1' is not an IPv6 address"},
	{"tcp://[1:2:3:4:5:6:7:8:9]:502",
	 "'tcp://[1:2:3:4:5:6:7:8:9]:502': '1:2:3:4:5:6:7:8:9' is not an "
	 "IPv6 address"},
	{"tcp://[fe80::1%eth0]:502",
	 "'tcp://[fe80::1%eth0]:502': 'fe80::1%eth0' is not an IPv6 address"},
	{"tcp://[gw.lan]:502",
	 "'tcp://[gw.lan]:502': 'gw.lan' is not an IPv6 address"},
	{"tcp://[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2555]:1",
	 "'tcp://[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2555]:1': "
	 "'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2555' is not an IPv6 "
	 "address"},
	/* IPv4 */
	{"tcp://300.1.1.1:502",
	 "'tcp://300.1.1.1:502': '300.1.1.1' is not an IPv4 address"},
	{"tcp://256.1.1.1:502",
	 "'tcp://256.1.1.1:502': '256.1.1.1' is not an IPv4 address"},
	{"tcp://10.0.0:502",
	 "'tcp://10.0.0:502': '10.0.0' is not an IPv4 address"},
	{"tcp://10.0.0.1.:502",
	 "'tcp://10.0.0.1.:502': '10.0.0.1.' is not an IPv4 address"},
	{"tcp://1.2.3.4.5:502",
	 "'tcp://1.2.3.4.5:502': '1.2.3.4.5' is not an IPv4 address"},
	{"tcp://10..0.1:502",
	 "'tcp://10..0.1:502': '10..0.1' is not an IPv4 address"},
	{"tcp://010.0.0.1:502",
	 "'tcp://010.0.0.1:502': '010.0.0.1' is not an IPv4 address"},
	{"tcp://167772161:502",
	 "'tcp://167772161:502': '167772161' is not an IPv4 address"},
	{"tcp://1111111111111111111111111111111111111111111111111:502",
	 "'tcp://1111111111111111111111111111111111111111111111111:502': "
	 "'1111111111111111111111111111111111111111111111111' is not an IPv4 "
	 "address"},
	/* names, well formed or not: never looked up */
	{"tcp://gw:502", "'tcp://gw:502': 'gw" NAMES},
	{"tcp://localhost:502", "'tcp://localhost:502': 'localhost" NAMES},
	{"tcp://rs485-gw.local:8899",
	 "'tcp://rs485-gw.local:8899': 'rs485-gw.local" NAMES},
	{"tcp://0x0a000001:502", "'tcp://0x0a000001:502': '0x0a000001" NAMES},
	{"tcp://gw_1:502", "'tcp://gw_1:502': 'gw_1" NAMES},
	{"tcp://-gw:502", "'tcp://-gw:502': '-gw" NAMES},
	{"tcp://gw lan:502", "'tcp://gw lan:502': 'gw lan" NAMES},
	{"tcp://gw:", "'tcp://gw:': 'gw" NAMES},
	{"tcp://gw", "'tcp://gw': 'gw" NAMES},
	{"tcp:// 10.0.0.1:502", "'tcp:// 10.0.0.1:502': ' 10.0.0.1" NAMES},
	/* not tcp:// at all */
	{"", "'" NOT_TCP},
	{"tcp:/10.0.0.1:502", "'tcp:/10.0.0.1:502" NOT_TCP},
	{"TCP://10.0.0.1:502", "'TCP://10.0.0.1:502" NOT_TCP},
	{"udp://10.0.0.1:502", "'udp://10.0.0.1:502" NOT_TCP},
	{"/dev/ttyUSB0", "'/dev/ttyUSB0" NOT_TCP},
};

START_TEST(refused_forms)
{
	struct tcpaddr a;
	char why[512] = "";
	const char *spec = refused[_i].spec;

	ck_assert_msg(tcpaddr_parse(spec, &a, why, sizeof(why)) == -1, "%s",
		      spec);
	ck_assert_str_eq(why, refused[_i].message);
}
END_TEST

/* A label of 63 characters is a well-formed name, of 64 not: both are
 * names, both refused with the same message (nothing is looked up). */
START_TEST(names_of_any_length_refused)
{
	char spec[512], want[768], why[768], label[80];
	struct tcpaddr a;

	for (size_t len = 63; len <= 64; len++) {
		memset(label, 'a', len);
		label[len] = '\0';
		snprintf(spec, sizeof(spec), "tcp://%s.lan:1", label);
		snprintf(want, sizeof(want), "'%s': '%s.lan" NAMES, spec,
			 label);
		ck_assert_int_eq(tcpaddr_parse(spec, &a, why, sizeof(why)), -1);
		ck_assert_str_eq(why, want);
	}
}
END_TEST

/* A long host is quoted in the message up to 200 characters. */
START_TEST(long_host_quoted_in_part)
{
	char spec[300], why[1024];
	struct tcpaddr a;

	memset(spec, 'a', sizeof(spec));
	memcpy(spec, "tcp://", 6);
	strcpy(spec + 260, ":1");
	ck_assert_int_eq(tcpaddr_parse(spec, &a, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "' is not an IP address"));
	ck_assert_uint_eq(strlen(why),
			  1 + strlen(spec) + 4 + 200 + strlen(NAMES));
}
END_TEST

START_TEST(why_null_or_small)
{
	struct tcpaddr a;
	char why[8];

	ck_assert_int_eq(tcpaddr_parse("tcp://gw:1", &a, NULL, 0), -1);
	ck_assert_int_eq(tcpaddr_parse("tcp://gw:1", &a, why, 0), -1);
	ck_assert_int_eq(tcpaddr_parse("tcp://gw:1", &a, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "'tcp://");
	ck_assert_int_eq(tcpaddr_parse(NULL, &a, why, sizeof(why)), -1);
	ck_assert(!tcpaddr_is_tcp(NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tcpaddr");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, accepted_forms, 0,
			    sizeof(accepted) / sizeof(accepted[0]));
	tcase_add_test(tc, socket_addresses);
	tcase_add_loop_test(tc, refused_forms, 0,
			    sizeof(refused) / sizeof(refused[0]));
	tcase_add_test(tc, names_of_any_length_refused);
	tcase_add_test(tc, long_host_quoted_in_part);
	tcase_add_test(tc, why_null_or_small);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
