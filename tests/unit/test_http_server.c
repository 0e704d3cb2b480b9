/*
 * test_http_server.c - the HTTP/1.1 transport on a real loopback socket with a small
 * application: framing rules (RFC 9112 smuggling shapes), early refusal, proxy request
 * forms (CONNECT, absolute targets), 100-continue, pipelining, chunked bodies, header
 * timeout, the connection cap's eviction, and drain.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/http_server.h"
#include "net/loop.h"

static net_loop *loop;
static net_http_server *srv;
static uint16_t port;
static pthread_t thread;

/* A reply made later, on the loop, as the gateway does after an audit or upstream. */
typedef struct later {
	net_timer t;
	net_http_conn *c;
} later;
static later pending;

static void reply_text(net_http_conn *c, int status, const char *text, unsigned flags)
{
	bg_buf b;
	net_http_header h = {"Content-Type", 12, "text/plain", 10};

	bg_buf_init(&b, 4096);
	assert_int_equal(bg_buf_adds(&b, text), 0);
	assert_int_equal(net_http_reply(c, status, &h, 1, &b, flags), 0);
	bg_buf_free(&b);
}

static bool has_header(const net_http_request *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n_headers; i++)
		if (r->headers[i].name_len == strlen(name) &&
		    strncasecmp(r->headers[i].name, name, r->headers[i].name_len) == 0)
			return true;
	return false;
}

static int on_head(void *app, net_http_conn *c, net_http_request *r)
{
	char text[128];

	r->body_max = 1024;
	/* A proxy tunnel request reaches the app (the gateway refuses it by name). */
	if (strcmp(r->method, "CONNECT") == 0) {
		snprintf(text, sizeof(text), "no tunnel to %.*s", (int)r->target_len, r->target);
		reply_text(c, 400, text, NET_REPLY_CLOSE);
		return -1;
	}
	if (has_header(r, "x-refuse")) {
		reply_text(c, 400, "refused early", NET_REPLY_CLOSE);
		return -1;
	}
	return 0;
}

static void later_fire(void *arg)
{
	later *l = arg;

	reply_text(l->c, 200, "later", 0);
}

/* Which loops served requests (test_spread). */
static net_loop *seen_loops[2];
static int seen_count[2];

static void on_request(void *app, net_http_conn *c, const net_http_request *r)
{
	char text[128];
	int i;

	for (i = 0; i < 2; i++)
		if (seen_loops[i] == net_http_conn_loop(c))
			__atomic_fetch_add(&seen_count[i], 1, __ATOMIC_SEQ_CST);

	if (has_header(r, "x-later")) {
		pending.c = c;
		pending.t.fn = later_fire;
		pending.t.arg = &pending;
		assert_int_equal(net_timer_arm(loop, &pending.t, 300), 0);
		return;
	}
	snprintf(text, sizeof(text), "%s %.*s body=%zu", r->method, (int)r->target_len, r->target,
	         r->body_len);
	reply_text(c, 200, text, 0);
}

static int on_error(void *app, net_http_conn *c, const net_http_request *r, net_http_error err,
                    const char *msg)
{
	reply_text(c, err == NET_HTTP_TOO_LARGE ? 413 : 400, msg, NET_REPLY_CLOSE);
	return 0;
}

static void *run(void *arg)
{
	(void)net_loop_run(loop);
	return NULL;
}

static int setup(void **state)
{
	net_http_settings s;
	net_http_handler h = {NULL, on_head, on_request, on_error};
	bg_err e;

	net_http_settings_default(&s);
	s.header_timeout_ms = 300;
	s.max_connections = 4;
	if (net_loop_new(&loop, &e) != 0)
		return -1;
	if (net_http_server_new("127.0.0.1", 0, &loop, 1, &s, &h, &srv, &port, &e) != 0)
		return -1;
	return pthread_create(&thread, NULL, run, NULL);
}

static int teardown(void **state)
{
	net_loop_stop(loop);
	pthread_join(thread, NULL);
	net_http_server_free(srv);
	net_loop_free(loop);
	return 0;
}

static int connect_to(void)
{
	struct sockaddr_in sa;
	struct timeval tv = {3, 0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_all(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Reads until the peer closes or `want` bytes of answer contain n status lines. */
static size_t read_answers(int fd, char *out, size_t cap, int n_status)
{
	size_t len = 0;

	for (;;) {
		ssize_t r;
		int count = 0;
		const char *p;

		out[len] = '\0';
		for (p = out; (p = strstr(p, "HTTP/1.1 ")) != NULL; p++)
			count++;
		if (n_status > 0 && count >= n_status && strstr(out, "\r\n\r\n")) {
			/* the last answer's body is short: give it a moment */
			struct pollfd pf = {fd, POLLIN, 0};
			if (poll(&pf, 1, 100) <= 0)
				break;
		}
		r = recv(fd, out + len, cap - 1 - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	out[len] = '\0';
	return len;
}

static bool closed_by_peer(int fd)
{
	char c;

	return recv(fd, &c, 1, 0) == 0;
}

static int count(const char *s, const char *needle)
{
	int n = 0;

	for (; (s = strstr(s, needle)) != NULL; s++)
		n++;
	return n;
}

static void test_keepalive_and_pipelining(void **state)
{
	char buf[8192];
	int fd = connect_to();

	send_all(fd, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
	             "GET /b?q=1 HTTP/1.1\r\nHost: x\r\n\r\n");
	read_answers(fd, buf, sizeof(buf), 2);
	assert_int_equal(count(buf, "HTTP/1.1 200"), 2);
	assert_non_null(strstr(buf, "POST /a body=3"));
	assert_non_null(strstr(buf, "GET /b?q=1 body=0"));
	assert_null(strstr(buf, "Connection: close"));
	/* Chunked, on the same connection. */
	send_all(fd, "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	             "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
	read_answers(fd, buf, sizeof(buf), 1);
	assert_non_null(strstr(buf, "POST /c body=5"));
	close(fd);
}

/* Each of these must be a 400 (or 413) with one header block, and the connection closed. */
static void expect_refused(const char *req, const char *status)
{
	char buf[8192];
	int fd = connect_to();

	send_all(fd, req);
	read_answers(fd, buf, sizeof(buf), 0);
	assert_int_equal(count(buf, "HTTP/1.1 "), 1);
	assert_non_null(strstr(buf, status));
	assert_non_null(strstr(buf, "Connection: close"));
	assert_null(strstr(buf, "100 Continue"));
	close(fd);
}

static void test_framing(void **state)
{
	expect_refused(
	    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"
	    "abcd",
	    "HTTP/1.1 400");
	expect_refused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n"
	               "Content-Length: 3\r\n\r\nabc",
	               "HTTP/1.1 400");
	expect_refused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n"
	               "Content-Length: 3\r\n\r\nabc",
	               "HTTP/1.1 400");
	expect_refused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	               "Content-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	               "HTTP/1.1 400");
	expect_refused(
	    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
	    "HTTP/1.1 4");
	expect_refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 17000000\r\n"
	               "Expect: 100-continue\r\n\r\n",
	               "HTTP/1.1 413");
	expect_refused("GARBAGE\r\n\r\n", "HTTP/1.1 400");
	expect_refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400");
	expect_refused("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400");
	expect_refused("POST / HTTP/1.1\r\nHost: x\r\nX-Refuse: 1\r\nContent-Length: 5\r\n\r\n",
	               "refused early");
}

/* What a client behind a proxy variable sends: CONNECT host:port (the app sees the
 * method and the authority, answers, and the connection closes; no tunnel opens), or
 * an absolute-form target, passed to the app as sent. */
static void test_proxy_forms(void **state)
{
	char buf[8192];
	int fd;

	expect_refused("CONNECT dynamodb.us-east-1.amazonaws.com:443 HTTP/1.1\r\n"
	               "Host: dynamodb.us-east-1.amazonaws.com:443\r\n\r\n",
	               "no tunnel to dynamodb.us-east-1.amazonaws.com:443");
	expect_refused("CONNECT dynamodb.us-east-1.amazonaws.com:443 HTTP/1.0\r\n\r\n",
	               "HTTP/1.1 400");
	fd = connect_to();
	send_all(fd, "GET http://example.com/x?y=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
	read_answers(fd, buf, sizeof(buf), 1);
	assert_non_null(strstr(buf, "GET http://example.com/x?y=1 body=0"));
	close(fd);
}

static void test_continue(void **state)
{
	char buf[4096];
	int fd = connect_to();

	send_all(
	    fd, "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
	assert_true(recv(fd, buf, sizeof(buf) - 1, 0) > 0);
	assert_non_null(strstr(buf, "HTTP/1.1 100 Continue"));
	send_all(fd, "xyz");
	read_answers(fd, buf, sizeof(buf), 1);
	assert_non_null(strstr(buf, "POST /e body=3"));
	close(fd);
}

static void test_header_timeout(void **state)
{
	int fd = connect_to();
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	send_all(fd, "POST / HTTP/1.1\r\nHo");
	assert_true(closed_by_peer(fd));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 3); /* closed by the 300 ms timeout, not ours */
	close(fd);
}

static void test_cap_evicts_idle(void **state)
{
	int idle[4], fd, i, alive = 0;
	char buf[4096];

	for (i = 0; i < 4; i++) {
		idle[i] = connect_to();
		assert_true(idle[i] >= 0);
	}
	usleep(50000);
	fd = connect_to();
	send_all(fd, "GET /new HTTP/1.1\r\nHost: x\r\n\r\n");
	read_answers(fd, buf, sizeof(buf), 1);
	assert_non_null(strstr(buf, "GET /new body=0"));
	close(fd);
	for (i = 0; i < 4; i++) {
		struct pollfd pf = {idle[i], POLLIN, 0};
		if (poll(&pf, 1, 0) == 0)
			alive++;
		close(idle[i]);
	}
	assert_true(alive <= 3); /* the oldest idle one made room */
}

static void test_drain(void **state)
{
	char buf[4096];
	int fd = connect_to(), fd2, i;

	send_all(fd, "GET /slow HTTP/1.1\r\nHost: x\r\nX-Later: 1\r\n\r\n");
	usleep(100000);
	net_http_server_drain(srv);
	usleep(50000);
	/* In flight: still answered, then closed. New connections: refused. */
	read_answers(fd, buf, sizeof(buf), 0);
	assert_non_null(strstr(buf, "HTTP/1.1 200"));
	assert_non_null(strstr(buf, "later"));
	assert_non_null(strstr(buf, "Connection: close"));
	close(fd);
	fd2 = connect_to();
	assert_int_equal(fd2, -1);
	for (i = 0; i < 100 && net_http_server_connections(srv) != 0; i++)
		usleep(10000); /* the loop sees the last close on its own time */
	assert_int_equal(net_http_server_connections(srv), 0);
}

static void *run_loop(void *arg)
{
	(void)net_loop_run(arg);
	return NULL;
}

/* Whichever loop the kernel wakes to accept, connections spread over every loop. */
static void test_spread(void **state)
{
	net_loop *two[2];
	net_http_server *s2;
	net_http_settings set;
	net_http_handler h = {NULL, on_head, on_request, on_error};
	pthread_t t[2];
	uint16_t saved = port;
	int fds[8], i;
	char buf[1024];
	bg_err e;

	net_http_settings_default(&set);
	for (i = 0; i < 2; i++) {
		assert_int_equal(net_loop_new(&two[i], &e), 0);
		seen_loops[i] = two[i];
		seen_count[i] = 0;
	}
	assert_int_equal(net_http_server_new("127.0.0.1", 0, two, 2, &set, &h, &s2, &port, &e), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, run_loop, two[i]), 0);
	for (i = 0; i < 8; i++) {
		fds[i] = connect_to();
		assert_true(fds[i] >= 0);
	}
	for (i = 0; i < 8; i++)
		send_all(fds[i], "GET /s HTTP/1.1\r\nHost: x\r\n\r\n");
	for (i = 0; i < 8; i++) {
		read_answers(fds[i], buf, sizeof(buf), 1);
		assert_non_null(strstr(buf, "HTTP/1.1 200"));
		close(fds[i]);
	}
	assert_true(seen_count[0] >= 2);
	assert_true(seen_count[1] >= 2);
	assert_int_equal(seen_count[0] + seen_count[1], 8);
	for (i = 0; i < 2; i++) {
		net_loop_stop(two[i]);
		pthread_join(t[i], NULL);
	}
	net_http_server_free(s2);
	for (i = 0; i < 2; i++) {
		net_loop_free(two[i]);
		seen_loops[i] = NULL;
	}
	port = saved;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keepalive_and_pipelining),
	    cmocka_unit_test(test_framing),
	    cmocka_unit_test(test_proxy_forms),
	    cmocka_unit_test(test_continue),
	    cmocka_unit_test(test_header_timeout),
	    cmocka_unit_test(test_cap_evicts_idle),
	    cmocka_unit_test(test_spread),
	    cmocka_unit_test(test_drain), /* last: the server stops accepting */
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
