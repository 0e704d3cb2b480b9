/*
 * test_upstream.c - forwarding: a loopback HTTP server stands in for DynamoDB, takes
 * the request exactly as libcurl sent it, and checks it with breakglass's own SigV4
 * verifier under the gateway's credentials (so the signed Host, headers and body are
 * what actually went over the wire). Its status, body, request id and checksum must
 * come back unchanged; connections are reused, and one the upstream closed while idle is
 * replaced, also when the upstream is named (the resolver's own socket comes and goes
 * first); a dead upstream is BG_EUPSTREAM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gateway/upstream.h"
#include "signing/sigv4.h"

typedef struct fake {
	int lfd;
	int port;
	int requests;    /* requests served */
	int connections; /* connections accepted */
	int verified;    /* requests whose signature verified */
	bool hang_up;    /* close each connection after one answer (an idle timeout) */
	char target[128];
	char body[256];
} fake;

static int secret_cb(void *ctx, const char *akid, char *buf, size_t cap)
{
	if (strcmp(akid, "AKIDGATEWAY") != 0)
		return BG_ENOTFOUND;
	snprintf(buf, cap, "gateway-secret");
	return 0;
}

/* Reads one request (headers + Content-Length body) from fd into buf; returns its size. */
static size_t read_request(int fd, char *buf, size_t cap, size_t *hdr_end)
{
	size_t n = 0, clen = 0;
	char *e = NULL;

	while (n < cap - 1) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r <= 0)
			return 0;
		n += (size_t)r;
		buf[n] = '\0';
		if (e == NULL && (e = strstr(buf, "\r\n\r\n")) != NULL) {
			char *cl = strcasestr(buf, "\r\ncontent-length:");
			*hdr_end = (size_t)(e - buf) + 4;
			clen = cl ? strtoul(cl + 17, NULL, 10) : 0;
		}
		if (e && n >= *hdr_end + clen)
			return n;
	}
	return 0;
}

static void serve_one(fake *f, int fd, char *buf, size_t n, size_t hdr_end)
{
	sigv4_header h[32];
	sigv4_request req;
	sigv4_result res;
	sigv4_verifier *v;
	static const char *const required[] = {"host", "x-amz-target"};
	char *line = strstr(buf, "\r\n") + 2, *resp;
	size_t nh = 0;
	bg_err e;
	int len;

	while (line < buf + hdr_end - 2 && nh < 32) {
		char *eol = strstr(line, "\r\n"), *colon = memchr(line, ':', (size_t)(eol - line));
		char *val = colon + 1;
		while (*val == ' ')
			val++;
		h[nh++] = (sigv4_header){line, (size_t)(colon - line), val, (size_t)(eol - val)};
		if ((size_t)(colon - line) == 12 && strncasecmp(line, "x-amz-target", 12) == 0)
			snprintf(f->target, sizeof(f->target), "%.*s", (int)(eol - val), val);
		line = eol + 2;
	}
	snprintf(f->body, sizeof(f->body), "%.*s", (int)(n - hdr_end), buf + hdr_end);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = "/";
	req.path_len = 1;
	req.query = "";
	req.headers = h;
	req.n_headers = nh;
	req.body = buf + hdr_end;
	req.body_len = n - hdr_end;
	v = sigv4_verifier_new("eu-west-1", "dynamodb", required, 2);
	if (sigv4_verify(v, &req, time(NULL), secret_cb, NULL, &res, &e) == SIGV4_OK &&
	    res.session_token && res.session_token_len == 9 &&
	    memcmp(res.session_token, "gw-token!", 9) == 0)
		f->verified++;
	sigv4_verifier_free(v);
	f->requests++;
	len = asprintf(&resp,
	               "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\n"
	               "x-amzn-RequestId: UPSTREAM-RID-%d\r\nx-amz-crc32: 12345\r\n"
	               "Content-Length: 30\r\n\r\n{\"__type\":\"x#Throttling\"}     ",
	               f->requests);
	if (len > 0 && write(fd, resp, (size_t)len) != len)
		f->requests = -1000;
	free(resp);
}

static void *fake_main(void *arg)
{
	fake *f = arg;
	char buf[8192];

	for (;;) {
		int fd = accept(f->lfd, NULL, NULL);
		size_t n, hdr_end = 0;
		if (fd < 0)
			return NULL;
		f->connections++;
		while ((n = read_request(fd, buf, sizeof(buf), &hdr_end)) > 0) {
			serve_one(f, fd, buf, n, hdr_end);
			if (f->hang_up)
				break;
		}
		close(fd);
	}
}

/* Listens on addr (an IPv4 loopback address). */
static void start_fake(fake *f, pthread_t *t, struct in_addr addr, bool hang_up)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	memset(f, 0, sizeof(*f));
	f->hang_up = hang_up;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr = addr;
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 8), 0);
	getsockname(f->lfd, (struct sockaddr *)&sa, &sl);
	f->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(t, NULL, fake_main, f), 0);
}

/* Three calls through one loop to host (a name makes libcurl's resolver watch a socket
 * of its own first); the upstream closes each connection after one answer if hang_up
 * (the closed connection waits, parked, in the loop until the next call). */
static void forward_three(const char *host, struct in_addr addr, bool hang_up)
{
	fake f;
	pthread_t t;
	awscreds *cr = NULL;
	upstream *u = NULL;
	upstream_response r;
	net_loop *loop = NULL;
	net_curl *mc = NULL;
	char url[64];
	const char body[] = "{\"TableName\":\"Orders\"}";
	bg_err e;
	int i;

	start_fake(&f, &t, addr, hang_up);
	snprintf(url, sizeof(url), "http://%s:%d", host, f.port);
	assert_int_equal(
	    awscreds_from_values("AKIDGATEWAY", "gateway-secret", "gw-token!", &cr, &e), 0);
	assert_int_equal(upstream_new(url, "eu-west-1", cr, 0, &u, &e), 0);
	assert_int_equal(net_loop_new(&loop, &e), 0);
	assert_int_equal(net_curl_new(loop, &mc, &e), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(upstream_call_sync(u, loop, mc, "DynamoDB_20120810.Query", 23,
		                                    body, sizeof(body) - 1, 0, &r, &e),
		                 0);
		/* Errors and throttling pass back untouched. */
		assert_int_equal(r.status, 400);
		assert_int_equal(r.body.len, 30);
		assert_memory_equal(r.body.data, "{\"__type\":\"x#Throttling\"}", 25);
		assert_string_equal(r.crc32, "12345");
		assert_non_null(strstr(r.request_id, "UPSTREAM-RID-"));
		assert_string_equal(r.content_type, "application/x-amz-json-1.0");
		upstream_response_free(&r);
		/* Let the loop see the hang-up while the connection is parked. */
		if (hang_up)
			assert_int_equal(net_loop_run_once(loop, 50), 0);
	}
	assert_int_equal(f.requests, 3);
	assert_int_equal(f.verified, 3);
	/* Kept alive, or replaced when the upstream hung up. */
	assert_int_equal(f.connections, hang_up ? 3 : 1);
	assert_string_equal(f.target, "DynamoDB_20120810.Query");
	assert_string_equal(f.body, body);
	net_curl_free(mc);
	net_loop_free(loop);
	upstream_free(u);
	shutdown(f.lfd, SHUT_RDWR);
	close(f.lfd);
	pthread_join(t, NULL);
}

static struct in_addr loopback(void)
{
	struct in_addr a = {htonl(INADDR_LOOPBACK)};

	return a;
}

static void test_forward_resigned(void **state)
{
	forward_three("127.0.0.1", loopback(), false);
}

static void test_upstream_hangs_up(void **state)
{
	forward_three("127.0.0.1", loopback(), true);
}

/* By name: this machine's host name when it resolves to a loopback address (libcurl
 * resolves "localhost" itself, without its resolver), else skipped. */
static void test_upstream_by_name(void **state)
{
	struct addrinfo hints, *res = NULL;
	struct in_addr addr;
	char name[256];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (gethostname(name, sizeof(name)) != 0 || getaddrinfo(name, NULL, &hints, &res) != 0) {
		skip();
		return;
	}
	addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
	freeaddrinfo(res);
	if ((ntohl(addr.s_addr) >> 24) != 127) {
		skip();
		return;
	}
	forward_three(name, addr, false);
	forward_three(name, addr, true);
}

static void test_unreachable(void **state)
{
	awscreds *cr = NULL;
	upstream *u = NULL;
	net_loop *loop = NULL;
	net_curl *mc = NULL;
	upstream_response r;
	bg_err e;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char url[64];

	/* A port that was free a moment ago: nothing listens there. */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	port = ntohs(sa.sin_port);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	assert_int_equal(awscreds_from_values("AKIDGATEWAY", "gateway-secret", NULL, &cr, &e), 0);
	assert_int_equal(upstream_new(url, "eu-west-1", cr, 0, &u, &e), 0);
	assert_int_equal(net_loop_new(&loop, &e), 0);
	assert_int_equal(net_curl_new(loop, &mc, &e), 0);
	assert_int_equal(
	    upstream_call_sync(u, loop, mc, "DynamoDB_20120810.Query", 23, "{}", 2, 0, &r, &e),
	    BG_EUPSTREAM);
	upstream_response_free(&r);
	net_curl_free(mc);
	net_loop_free(loop);
	upstream_free(u);
	cr = NULL;
	assert_int_equal(awscreds_from_values("A", "B", NULL, &cr, &e), 0);
	assert_int_equal(upstream_new("ftp://x", "eu-west-1", cr, 0, &u, &e), BG_EINVAL);
}

/* A blocking client of the upstream at url: the upstream (signing with the test's
 * gateway key and token, which may be NULL), a loop and a libcurl multi on it. */
typedef struct client {
	upstream *u;
	net_loop *loop;
	net_curl *mc;
} client;

static void client_open(client *c, const char *url, const char *token)
{
	awscreds *cr = NULL;
	bg_err e;

	memset(c, 0, sizeof(*c));
	assert_int_equal(awscreds_from_values("AKIDGATEWAY", "gateway-secret", token, &cr, &e), 0);
	assert_int_equal(upstream_new(url, "eu-west-1", cr, 0, &c->u, &e), 0);
	assert_int_equal(net_loop_new(&c->loop, &e), 0);
	assert_int_equal(net_curl_new(c->loop, &c->mc, &e), 0);
}

static void client_close(client *c)
{
	net_curl_free(c->mc);
	net_loop_free(c->loop);
	upstream_free(c->u);
}

/* A loopback TCP socket on a free port, its URL in url; listening (but never accepting)
 * if listening, else closed again, so nothing listens there. Returns the socket or -1. */
static int loopback_port(bool listening, char url[64])
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(url, 64, "http://127.0.0.1:%d/", ntohs(sa.sin_port));
	if (listening) {
		assert_int_equal(listen(fd, 4), 0);
		return fd;
	}
	close(fd);
	return -1;
}

/* Without credentials (an identity that has none valid) nothing is sent: the call does not
 * start, and the message for the client says why. */
static void test_no_identity(void **state)
{
	upstream *u = NULL;
	upstream_call *call = NULL;
	net_loop *loop = NULL;
	net_curl *mc = NULL;
	bg_err e;

	assert_int_equal(upstream_new("http://127.0.0.1:9/", "eu-west-1", NULL, 0, &u, &e), 0);
	assert_int_equal(net_loop_new(&loop, &e), 0);
	assert_int_equal(net_curl_new(loop, &mc, &e), 0);
	assert_int_equal(
	    upstream_start(u, mc, "DynamoDB_20120810.Query", 23, "{}", 2, NULL, NULL, &call, &e),
	    BG_EAUTH);
	assert_null(call);
	assert_non_null(strstr(e.msg, "breakglass: the gateway has no valid AWS identity"));
	net_curl_free(mc);
	net_loop_free(loop);
	upstream_free(u);
}

/* An upstream that takes the connection and never answers: the blocking call gives up
 * at its own bound (the API's table check relies on it), and the call is stopped. */
static void test_sync_bound(void **state)
{
	client c;
	upstream_response r;
	bg_err e;
	char url[64];
	/* Listening, never accepting: the kernel completes the handshake, nobody answers. */
	int fd = loopback_port(true, url);

	client_open(&c, url, NULL);
	assert_int_equal(upstream_call_sync(c.u, c.loop, c.mc, "DynamoDB_20120810.DescribeTable",
	                                    31, "{}", 2, 100, &r, &e),
	                 BG_EUPSTREAM);
	assert_non_null(strstr(e.msg, "no answer within 100 ms"));
	upstream_response_free(&r);
	client_close(&c);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forward_resigned), cmocka_unit_test(test_upstream_hangs_up),
	    cmocka_unit_test(test_upstream_by_name), cmocka_unit_test(test_unreachable),
	    cmocka_unit_test(test_no_identity),      cmocka_unit_test(test_sync_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
