/*
 * fuzz_syslog_address.c - libFuzzer target for the syslog sink's address parser
 * (audit/sink_syslog.h). The input is the address as configured. Promises checked: a
 * failure leaves a message and an all-zero result; a success gives NUL-terminated host,
 * port and path within their arrays, a port of 1-65535 in plain decimal for the network
 * forms, an absolute path for unix:, and re-parsing the address it describes gives the
 * same result.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/sink_syslog.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const schemes[] = {"udp://", "tcp://", "unix:", "relp://"};
	sink_syslog_addr a, b;
	char again[400];
	bg_err e;
	unsigned long port;
	char *end;
	int n;

	bg_err_clear(&e);
	if (sink_syslog_parse_address((const char *)data, size, &a, &e) != 0) {
		CHECK(e.code == BG_EINVAL && e.msg[0] != '\0');
		CHECK(memchr(e.msg, '\0', sizeof(e.msg)) != NULL);
		CHECK(a.host[0] == '\0' && a.port[0] == '\0' && a.path[0] == '\0');
		return 0;
	}
	CHECK(memchr(a.host, '\0', sizeof(a.host)) != NULL);
	CHECK(memchr(a.port, '\0', sizeof(a.port)) != NULL);
	CHECK(memchr(a.path, '\0', sizeof(a.path)) != NULL);
	CHECK(a.proto >= SINK_SYSLOG_UDP && a.proto <= SINK_SYSLOG_RELP);
	if (a.proto == SINK_SYSLOG_UNIX) {
		CHECK(a.path[0] == '/' && a.host[0] == '\0');
		n = snprintf(again, sizeof(again), "unix:%s", a.path);
	} else {
		CHECK(a.host[0] != '\0' && a.path[0] == '\0');
		port = strtoul(a.port, &end, 10);
		CHECK(*end == '\0' && port >= 1 && port <= 65535 && a.port[0] != '0');
		n = snprintf(again, sizeof(again), strchr(a.host, ':') ? "%s[%s]:%s" : "%s%s:%s",
		             schemes[a.proto], a.host, a.port);
	}
	CHECK(n > 0 && (size_t)n < sizeof(again));
	CHECK(sink_syslog_parse_address(again, (size_t)n, &b, &e) == 0);
	CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	return 0;
}
