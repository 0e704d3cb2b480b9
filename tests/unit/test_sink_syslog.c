/*
 * test_sink_syslog.c - the syslog transport without rsyslog: address parsing and its
 * errors, the RFC 5424 message to the byte, octet-counted framing, the redacted stub
 * (sink_stub.c, shared with the CloudWatch sink: a copy with stubs still verifies, as
 * partial), and delivery over UDP, a Unix datagram
 * socket and TCP to loopback receivers this test opens, including a TCP receiver that
 * closed or reset the connection (the batch reaches the new connection) and receivers
 * that are not there (an error naming the address and the errno text).
 * test_sink_syslog_rsyslog.c does the same against a real rsyslogd, RELP included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit_util.h"

#include "sink_syslog_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit/sink_stub.h"
#include "audit/sink_syslog.h"
#include "common/limits.h"

static char tmpdir[64];
static su_trail trail;

static int setup(void **state)
{
	if (ut_tmpdir(tmpdir, sizeof(tmpdir), "sinksyslog") != 0)
		return -1;
	return su_trail_make(tmpdir, 10, &trail);
}

static int teardown(void **state)
{
	su_trail_free(&trail);
	return ut_rm_tree(tmpdir);
}

/* ---- addresses ---- */

static int parse(const char *s, sink_syslog_addr *a, bg_err *e)
{
	return sink_syslog_parse_address(s, strlen(s), a, e);
}

static void refused(const char *s, const char *why)
{
	sink_syslog_addr a;
	bg_err e;

	bg_err_clear(&e);
	assert_int_equal(parse(s, &a, &e), BG_EINVAL);
	if (strstr(e.msg, why) == NULL)
		fail_msg("\"%s\": message \"%s\" does not say \"%s\"", s, e.msg, why);
}

static void test_address(void **state)
{
	sink_syslog_addr a;
	bg_err e;
	char big[BG_SYSLOG_ADDRESS_MAX + 2];

	assert_int_equal(parse("udp://127.0.0.1:514", &a, &e), 0);
	assert_int_equal(a.proto, SINK_SYSLOG_UDP);
	assert_string_equal(a.host, "127.0.0.1");
	assert_string_equal(a.port, "514");
	assert_int_equal(parse("tcp://logs.example.com:5514", &a, &e), 0);
	assert_int_equal(a.proto, SINK_SYSLOG_TCP);
	assert_string_equal(a.host, "logs.example.com");
	assert_string_equal(a.port, "5514");
	assert_int_equal(parse("relp://[::1]:2514", &a, &e), 0);
	assert_int_equal(a.proto, SINK_SYSLOG_RELP);
	assert_string_equal(a.host, "::1");
	assert_string_equal(a.port, "2514");
	assert_int_equal(parse("relp://[2001:db8::1]:65535", &a, &e), 0);
	assert_string_equal(a.host, "2001:db8::1");
	assert_string_equal(a.port, "65535");
	assert_int_equal(parse("unix:/dev/log", &a, &e), 0);
	assert_int_equal(a.proto, SINK_SYSLOG_UNIX);
	assert_string_equal(a.path, "/dev/log");
	assert_int_equal(parse("tcp://h:0001", &a, &e), 0);
	assert_string_equal(a.port, "1");

	refused("", "missing");
	refused("syslog://h:514", "unknown form");
	refused("UDP://h:514", "unknown form");
	refused("udp:/h:514", "unknown form");
	refused("udp://h", "needs a port");
	refused("udp://h:", "port must be");
	refused("udp://:514", "no host");
	refused("tcp://h:0", "port must be");
	refused("tcp://h:65536", "port must be");
	refused("tcp://h:123456", "port must be");
	refused("tcp://h:51x", "port must be");
	refused("tcp://h:514/path", "port must be");
	refused("tcp://::1:514", "IPv6 address goes in []");
	refused("tcp://h st:514", "host name has");
	refused("relp://[::1:2514", "without ']'");
	refused("relp://[]:2514", "not an IPv6");
	refused("relp://[1.2.3.4]:2514", "not an IPv6");
	refused("relp://[::1]2514", "needs a port");
	refused("unix:", "absolute");
	refused("unix:dev/log", "absolute");
	refused("unix:/", "absolute");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	refused(big, "longer than");
	memcpy(big, "unix:/", 6);
	big[200] = '\0';
	refused(big, "socket path longer than 107");
	memset(big, 'a', 260);
	memcpy(big, "tcp://", 6);
	memcpy(big + 260, ":1", 3);
	refused(big, "longer than 253");
	/* a NUL inside, and what the message shows of a hostile address */
	assert_int_equal(sink_syslog_parse_address("udp://h\0:1", 10, &a, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "NUL"));
	assert_int_equal(parse("tcp://\x1b[31m:1", &a, &e), BG_EINVAL);
	assert_null(strchr(e.msg, '\x1b'));
}

/* ---- the message ---- */

static char *fmt(const sink_rec *r, const char *host, long pid)
{
	bg_buf b;
	bg_err e;

	bg_buf_init(&b, 1 << 20);
	assert_int_equal(sink_syslog_format(r, host, pid, &b, &e), 0);
	return bg_buf_steal(&b);
}

static void test_format(void **state)
{
	sink_rec r = {.seq = 7,
	              .ts_ms = 1796083200123LL,
	              .kind = "request",
	              .line = "{\"seq\":7} trailing",
	              .len = 9};
	char *m;
	bg_buf b;
	bg_err e;

	m = fmt(&r, "gw-1.example.com", 4242);
	assert_string_equal(m, "<109>1 2026-12-01T00:00:00.123Z gw-1.example.com breakglass 4242 "
	                       "request - {\"seq\":7}");
	free(m);
	/* refusals at warning, facility 13 either way */
	r.kind = "denial";
	r.ts_ms = 5;
	m = fmt(&r, "h", 1);
	assert_string_equal(m,
	                    "<108>1 1970-01-01T00:00:00.005Z h breakglass 1 denial - {\"seq\":7}");
	free(m);
	assert_int_equal(sink_syslog_severity("denial"), SINK_SYSLOG_WARNING);
	assert_int_equal(sink_syslog_severity("refusal"), SINK_SYSLOG_WARNING);
	assert_int_equal(sink_syslog_severity("totp_failed"), SINK_SYSLOG_WARNING);
	assert_int_equal(sink_syslog_severity("api_refused"), SINK_SYSLOG_WARNING);
	assert_int_equal(sink_syslog_severity("checkpoint"), SINK_SYSLOG_NOTICE);
	assert_int_equal(sink_syslog_severity("response"), SINK_SYSLOG_NOTICE);
	assert_int_equal(sink_syslog_severity(NULL), SINK_SYSLOG_NOTICE);
	/* before the epoch (milliseconds counted down), unprintable header fields, no host */
	r.kind = "a kind\nthat is far too long for a msgid field";
	r.ts_ms = -1;
	m = fmt(&r, "", 1);
	assert_string_equal(m, "<109>1 1969-12-31T23:59:59.999Z - breakglass 1 "
	                       "a_kind_that_is_far_too_long_for_ - {\"seq\":7}");
	free(m);
	r.kind = "";
	r.ts_ms = INT64_MAX;
	m = fmt(&r, "h\xc3\xa9 x", 1);
	assert_string_equal(m, "<109>1 - h___x breakglass 1 - - {\"seq\":7}");
	free(m);
	/* the buffer's limit is an error, never a message cut short */
	r.kind = "request";
	bg_buf_init(&b, 40);
	assert_int_equal(sink_syslog_format(&r, "h", 1, &b, &e), BG_ELIMIT);
	bg_buf_free(&b);
	r.line = NULL;
	bg_buf_init(&b, 1000);
	assert_int_equal(sink_syslog_format(&r, "h", 1, &b, &e), BG_EINVAL);
	bg_buf_free(&b);
}

static void test_frame(void **state)
{
	char p[24];

	assert_int_equal(sink_syslog_frame_prefix(5, p, sizeof(p)), 2);
	assert_string_equal(p, "5 ");
	assert_int_equal(sink_syslog_frame_prefix(123456, p, sizeof(p)), 7);
	assert_string_equal(p, "123456 ");
	assert_int_equal(sink_syslog_frame_prefix(123456, p, 4), 0);
}

static void test_stub(void **state)
{
	char **copy = calloc(trail.n, sizeof(*copy));
	bg_err e;
	size_t i, len;
	bool partial = false;
	sink_rec bad;
	char *want, *stub = (char *)"unchanged";

	assert_non_null(copy);
	assert_true(su_verify(trail.key, trail.lines, trail.n, &partial));
	assert_false(partial);
	for (i = 0; i < trail.n; i++) {
		if (i % 2 == 0) {
			copy[i] = strdup(trail.lines[i]);
			continue;
		}
		assert_int_equal(sink_stub(&trail.recs[i], &copy[i], &len, &e), 0);
		assert_non_null(copy[i]);
		assert_int_equal(len, strlen(copy[i]));
		assert_true(strncmp(copy[i], "{\"seq\":", 7) == 0);
		assert_non_null(strstr(copy[i], "\"redacted\":true}"));
		want = su_stub_of(trail.lines[i]);
		assert_string_equal(copy[i], want);
		free(want);
	}
	assert_true(su_verify(trail.key, copy, trail.n, &partial));
	assert_true(partial);
	for (i = 0; i < trail.n; i++)
		free(copy[i]);
	free(copy);
	/* not a record, or a record of another seq: an error naming the seq, no stub */
	bad = trail.recs[1];
	bad.seq = 99;
	assert_int_equal(sink_stub(&bad, &stub, &len, &e), BG_EINVAL);
	assert_null(stub);
	assert_non_null(strstr(e.msg, "audit record 99"));
	bad.line = "{\"seq\":99}";
	bad.len = strlen(bad.line);
	assert_int_equal(sink_stub(&bad, &stub, &len, &e), BG_EINVAL);
	bad.line = "{\"seq\":99,\"seq\":99,\"prev_hash\":\"a\",\"hash\":\"b\"}";
	bad.len = strlen(bad.line);
	assert_int_equal(sink_stub(&bad, &stub, &len, &e), BG_EINVAL);
	bad.line = "not json";
	bad.len = strlen(bad.line);
	assert_int_equal(sink_stub(&bad, &stub, &len, &e), BG_EINVAL);
}

/* ---- delivery to loopback receivers ---- */

static void *open_sink(const char *address)
{
	sink_conf c = {.type = SINK_SYSLOG, .address = address};
	void *s = NULL;
	bg_err e;

	if (sink_syslog_ops.open(&c, &s, &e) != 0)
		fail_msg("open %s: %s", address, e.msg);
	return s;
}

static int bound(int family, int type, struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(family, type | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	return fd;
}

/* Checks that the message m (n bytes) carries record i: whole, or its stub when a
 * datagram could not hold it. Returns the MSG as a heap string. */
static char *check_msg(const char *m, size_t n, size_t i, bool dgram)
{
	size_t len = 0;
	const char *msg = su_msg(m, n, &len);
	char *want = NULL, *got;

	assert_non_null(msg);
	if (dgram)
		assert_true(n <= BG_SYSLOG_DGRAM_MAX);
	if (dgram && trail.recs[i].len + BG_SYSLOG_HEADER_MAX > BG_SYSLOG_DGRAM_MAX)
		want = su_stub_of(trail.lines[i]);
	else
		want = strdup(trail.lines[i]);
	got = strndup(msg, len);
	assert_string_equal(got, want);
	assert_true(strncmp(m, trail.recs[i].kind[0] == 'd' ? "<108>1 " : "<109>1 ", 7) == 0);
	free(want);
	return got;
}

/* Receives the datagrams of records [from, to) from fd and checks them, keeping their
 * MSGs in got. */
static void recv_dgrams(int fd, size_t from, size_t to, char **got)
{
	static char m[65536];
	size_t i;
	ssize_t k;

	for (i = from; i < to; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		assert_int_equal(poll(&p, 1, 2000), 1);
		k = recv(fd, m, sizeof(m), 0);
		assert_true(k > 0);
		got[i] = check_msg(m, (size_t)k, i, true);
	}
	assert_int_equal(recv(fd, m, sizeof(m), MSG_DONTWAIT), -1); /* nothing more */
}

/* The copy of the whole trail in got must verify, partial (the long record went as its
 * stub); frees it. */
static void verify_got(char **got)
{
	size_t i;
	bool partial = false;

	assert_true(su_verify(trail.key, got, trail.n, &partial));
	assert_true(partial);
	for (i = 0; i < trail.n; i++) {
		free(got[i]);
		got[i] = NULL;
	}
}

static void test_udp(void **state)
{
	struct sockaddr_in sin;
	int fd = bound(AF_INET, SOCK_DGRAM, &sin);
	char addr[64];
	size_t acc = 99;
	bg_err e;
	void *s;
	char **got = calloc(trail.n, sizeof(*got));

	assert_non_null(got);
	snprintf(addr, sizeof(addr), "udp://127.0.0.1:%d", ntohs(sin.sin_port));
	s = open_sink(addr);
	assert_int_equal(sink_syslog_ops.deliver(s, trail.recs, trail.n, &acc, &e), 0);
	assert_int_equal(acc, trail.n);
	recv_dgrams(fd, 0, trail.n, got);
	verify_got(got);
	/* again, in two batches, on the same socket */
	assert_int_equal(sink_syslog_ops.deliver(s, trail.recs, 4, &acc, &e), 0);
	assert_int_equal(sink_syslog_ops.deliver(s, trail.recs + 4, trail.n - 4, &acc, &e), 0);
	recv_dgrams(fd, 0, trail.n, got);
	verify_got(got);
	sink_syslog_ops.close(s);
	close(fd);
	free(got);
}

static void test_unix(void **state)
{
	struct sockaddr_un un;
	char addr[160];
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int big = 1 << 20;
	size_t acc = 99, i;
	char **got = calloc(trail.n, sizeof(*got));
	bg_err e;
	void *s;

	assert_true(fd >= 0 && got != NULL);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)), 0);
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s/log.sock", tmpdir);
	assert_int_equal(bind(fd, (struct sockaddr *)&un, sizeof(un)), 0);
	snprintf(addr, sizeof(addr), "unix:%s", un.sun_path);
	s = open_sink(addr);
	/* in batches: a Unix datagram socket queues only net.unix.max_dgram_qlen (often 10) */
	for (i = 0; i < trail.n; i += 5) {
		size_t k = trail.n - i < 5 ? trail.n - i : 5;
		assert_int_equal(sink_syslog_ops.deliver(s, trail.recs + i, k, &acc, &e), 0);
		recv_dgrams(fd, i, i + k, got);
	}
	verify_got(got);
	free(got);
	sink_syslog_ops.close(s);
	close(fd);
	unlink(un.sun_path);

	/* nobody there: an error naming the address and why */
	s = open_sink(addr);
	acc = 99;
	assert_int_equal(sink_syslog_ops.deliver(s, trail.recs, trail.n, &acc, &e), BG_EIO);
	assert_int_equal(acc, 0);
	assert_non_null(strstr(e.msg, addr));
	assert_non_null(strstr(e.msg, "No such file or directory"));
	sink_syslog_ops.close(s);
}

/* Reads one octet-counted frame from a stream; returns the message (heap) and its length,
 * or NULL at EOF. */
static char *read_frame(int fd, size_t *n)
{
	char c, *m;
	size_t len = 0, got = 0;
	ssize_t k;
	int digits = 0;

	for (;;) {
		k = recv(fd, &c, 1, 0);
		if (k == 0 && digits == 0)
			return NULL;
		assert_int_equal(k, 1);
		if (c == ' ')
			break;
		assert_true(c >= '0' && c <= '9');
		assert_true(digits++ < 9);
		len = len * 10 + (size_t)(c - '0');
	}
	m = malloc(len + 1);
	assert_non_null(m);
	while (got < len) {
		k = recv(fd, m + got, len - got, 0);
		assert_true(k > 0);
		got += (size_t)k;
	}
	m[len] = '\0';
	*n = len;
	return m;
}

/* Reads records [from, to) of the trail from the stream c, whole. */
static void read_records(int c, size_t from, size_t to)
{
	size_t i, n;
	char *m;

	for (i = from; i < to; i++) {
		m = read_frame(c, &n);
		assert_non_null(m);
		free(check_msg(m, n, i, false));
		free(m);
	}
}

static int accept_one(int lfd)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	struct timeval tv = {.tv_sec = 5};
	int c;

	assert_int_equal(poll(&p, 1, 2000), 1);
	c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(c >= 0);
	assert_int_equal(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return c;
}

static void test_tcp(void **state)
{
	struct sockaddr_in sin;
	int lfd = bound(AF_INET, SOCK_STREAM, &sin), c, c2;
	char addr[64];
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	struct pollfd p;
	size_t acc = 99;
	bg_err e;
	void *s;

	assert_int_equal(listen(lfd, 8), 0);
	snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", ntohs(sin.sin_port));
	s = open_sink(addr);
	/* every record whole, the long one too */
	assert_int_equal(sink_syslog_ops.deliver(s, trail.recs, trail.n, &acc, &e), 0);
	assert_int_equal(acc, trail.n);
	c = accept_one(lfd);
	read_records(c, 0, trail.n);
	/* the same connection carries the next batch */
	assert_int_equal(sink_syslog_ops.deliver(s, trail.recs, 3, &acc, &e), 0);
	read_records(c, 0, 3);
	p.fd = lfd;
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, 0), 0); /* no second connection */

	/* the receiver closes: the next batch goes to a new connection, whole */
	close(c);
	usleep(20000);
	assert_int_equal(sink_syslog_ops.deliver(s, trail.recs + 3, 4, &acc, &e), 0);
	c2 = accept_one(lfd);
	read_records(c2, 3, 7);

	/* the receiver resets: the same */
	assert_int_equal(setsockopt(c2, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(c2);
	usleep(20000);
	assert_int_equal(sink_syslog_ops.deliver(s, trail.recs + 7, trail.n - 7, &acc, &e), 0);
	c = accept_one(lfd);
	read_records(c, 7, trail.n);

	/* the receiver sends something (a receiver never should): dropped, still sent */
	assert_int_equal(send(c, "junk", 4, 0), 4);
	usleep(20000);
	assert_int_equal(sink_syslog_ops.deliver(s, trail.recs, 2, &acc, &e), 0);
	read_records(c, 0, 2);

	/* the receiver is gone for good: an error, nothing claimed */
	close(c);
	close(lfd);
	usleep(20000);
	acc = 99;
	assert_int_equal(sink_syslog_ops.deliver(s, trail.recs, 2, &acc, &e), BG_EIO);
	assert_int_equal(acc, 0);
	assert_non_null(strstr(e.msg, addr));
	assert_non_null(strstr(e.msg, "Connection refused"));
	sink_syslog_ops.close(s);
}

/* udp:// and tcp:// to [::1], when the machine has IPv6 loopback (containers may not:
 * then only the parsing is checked, by test_address). */
static void test_ipv6(void **state)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	socklen_t len = sizeof(sin6);
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char addr[64], m[65536];
	size_t acc = 0;
	ssize_t k;
	bg_err e;
	void *s;

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) != 0) {
		print_message("no IPv6 loopback here; [::1] delivery not tried\n");
		if (fd >= 0)
			close(fd);
		return;
	}
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin6, &len), 0);
	snprintf(addr, sizeof(addr), "udp://[::1]:%d", ntohs(sin6.sin6_port));
	s = open_sink(addr);
	assert_int_equal(sink_syslog_ops.deliver(s, trail.recs, 1, &acc, &e), 0);
	k = recv(fd, m, sizeof(m), 0);
	assert_true(k > 0);
	free(check_msg(m, (size_t)k, 0, true));
	sink_syslog_ops.close(s);
	close(fd);
}

/* ---- RELP acknowledgment, against a scripted RELP server ---- */

/* How the scripted server treats syslog frames after the first `ack` of them. */
enum { RELPD_ACK_ALL, RELPD_HANG_UP, RELPD_SILENT, RELPD_ERROR };

typedef struct relpd {
	int lfd, mode, ack;
	int frames; /* syslog frames received */
	pthread_t th;
} relpd;

static void relpd_reply(int c, const char *txnr, size_t tlen, const char *data)
{
	char f[512];
	int n = snprintf(f, sizeof(f), "%.*s rsp %zu %s\n", (int)tlen, txnr, strlen(data), data);

	assert_true(n > 0 && (size_t)n < sizeof(f));
	(void)!send(c, f, (size_t)n, MSG_NOSIGNAL);
}

/* One RELP session: "TXNR CMD LEN[ DATA]\n" frames, answered as d->mode says. */
static void *relpd_run(void *arg)
{
	relpd *d = arg;
	static char buf[1 << 20];
	size_t have = 0;
	int c = accept4(d->lfd, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0)
		return NULL;
	for (;;) {
		char *sp1, *sp2, *end;
		size_t len, hlen, total;
		ssize_t k = recv(c, buf + have, sizeof(buf) - have, 0);
		if (k <= 0)
			break;
		have += (size_t)k;
		for (;;) {
			sp1 = memchr(buf, ' ', have);
			sp2 = sp1 == NULL ? NULL
			                  : memchr(sp1 + 1, ' ', have - (size_t)(sp1 + 1 - buf));
			if (sp2 == NULL)
				break;
			len = strtoul(sp2 + 1, &end, 10);
			if (end >= buf + have)
				break;
			hlen = (size_t)(end - buf);
			total = hlen + (len > 0 ? 1 + len : 0) + 1;
			if (have < total)
				break;
			if (strncmp(sp1 + 1, "open ", 5) == 0) {
				relpd_reply(
				    c, buf, (size_t)(sp1 - buf),
				    "200 OK\nrelp_version=0\nrelp_software=test\ncommands=syslog");
			} else if (strncmp(sp1 + 1, "syslog ", 7) == 0) {
				if (++d->frames <= d->ack || d->mode == RELPD_ACK_ALL)
					relpd_reply(c, buf, (size_t)(sp1 - buf), "200 OK");
				else if (d->mode == RELPD_HANG_UP)
					goto out;
				else if (d->mode == RELPD_ERROR)
					relpd_reply(c, buf, (size_t)(sp1 - buf), "500 no room");
			} else if (strncmp(sp1 + 1, "close ", 6) == 0) {
				if (d->mode != RELPD_SILENT)
					relpd_reply(c, buf, (size_t)(sp1 - buf), "200 OK");
			}
			memmove(buf, buf + total, have - total);
			have -= total;
		}
	}
out:
	close(c);
	return NULL;
}

/* Delivers the trail through relp:// to a scripted server in mode (after ack frames);
 * returns deliver's result, *ms how long it took, *acc what it claimed. */
static int relp_try(int mode, int ack, int64_t *ms, size_t *acc, bg_err *e)
{
	struct sockaddr_in sin;
	relpd d = {.lfd = bound(AF_INET, SOCK_STREAM, &sin), .mode = mode, .ack = ack};
	char addr[64];
	struct timespec t0, t1;
	void *s;
	int rc;

	assert_int_equal(listen(d.lfd, 4), 0);
	assert_int_equal(pthread_create(&d.th, NULL, relpd_run, &d), 0);
	snprintf(addr, sizeof(addr), "relp://127.0.0.1:%d", ntohs(sin.sin_port));
	s = open_sink(addr);
	*acc = 99;
	bg_err_clear(e);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = sink_syslog_ops.deliver(s, trail.recs, trail.n, acc, e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	sink_syslog_ops.close(s);
	shutdown(d.lfd, SHUT_RDWR);
	pthread_join(d.th, NULL);
	close(d.lfd);
	if (rc == 0)
		assert_int_equal(d.frames, (int)trail.n);
	return rc;
}

static void test_relp_ack(void **state)
{
	int64_t ms;
	size_t acc;
	bg_err e;

	/* every frame and the close answered: accepted */
	assert_int_equal(relp_try(RELPD_ACK_ALL, 0, &ms, &acc, &e), 0);
	assert_int_equal(acc, trail.n);
	/* the receiver hangs up after 4 acknowledgments */
	assert_int_equal(relp_try(RELPD_HANG_UP, 4, &ms, &acc, &e), BG_EIO);
	assert_int_equal(acc, 0);
	print_message("hang-up: %s\n", e.msg);
	/* it answers "500" to a frame */
	assert_int_equal(relp_try(RELPD_ERROR, 5, &ms, &acc, &e), BG_EIO);
	assert_int_equal(acc, 0);
	print_message("500: %s\n", e.msg);
	/* it stops answering after 3 (the last frames and the close go unanswered): an
	 * error within the I/O timeouts, not a hang and not a claim */
	assert_int_equal(relp_try(RELPD_SILENT, 3, &ms, &acc, &e), BG_EIO);
	assert_int_equal(acc, 0);
	assert_true(ms < 3 * BG_SINK_IO_TIMEOUT_MS + 2000);
	print_message("silent: %s (%lld ms)\n", e.msg, (long long)ms);
	/* nobody listening */
	{
		sink_conf c = {.type = SINK_SYSLOG, .address = "relp://127.0.0.1:1"};
		void *s = NULL;
		assert_int_equal(sink_syslog_ops.open(&c, &s, &e), 0);
		assert_int_equal(sink_syslog_ops.deliver(s, trail.recs, 1, &acc, &e), BG_EIO);
		assert_non_null(strstr(e.msg, "relp://127.0.0.1:1"));
		sink_syslog_ops.close(s);
	}
}

static void test_open_refused(void **state)
{
	sink_conf c = {.type = SINK_SYSLOG, .address = "tcp://h"};
	void *s = (void *)1;
	bg_err e;

	assert_int_equal(sink_syslog_ops.open(&c, &s, &e), BG_EINVAL);
	assert_null(s);
	assert_non_null(strstr(e.msg, "needs a port"));
	c.address = NULL;
	assert_int_equal(sink_syslog_ops.open(&c, &s, &e), BG_EINVAL);
	sink_syslog_ops.close(NULL);
	assert_string_equal(sink_syslog_ops.type, "syslog");
	assert_null(sink_syslog_ops.resume);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_address),  cmocka_unit_test(test_format),
	    cmocka_unit_test(test_frame),    cmocka_unit_test(test_stub),
	    cmocka_unit_test(test_udp),      cmocka_unit_test(test_unix),
	    cmocka_unit_test(test_tcp),      cmocka_unit_test(test_ipv6),
	    cmocka_unit_test(test_relp_ack), cmocka_unit_test(test_open_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
