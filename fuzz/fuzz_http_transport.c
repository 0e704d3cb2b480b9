/*
 * fuzz_http_transport.c - libFuzzer target for the HTTP/1.1 server transport: the bytes
 * a client sends, over a socketpair, through the real connection code (http-parser, the
 * framing rules, limits, pipelining, early refusal, 100-continue, lingering close).
 *
 * Input: one byte choosing how the rest is cut into writes (0: all at once, else chunks
 * of that many bytes, with a loop turn between), then the bytes. The application
 * answers at once (a header "X-Refuse" makes it refuse before the body). Promises
 * checked: whatever comes back is a sequence starting with an HTTP/1.1 status line, and
 * once the client has gone, the connection is gone too (nothing is left open or held).
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "net/http_server.h"
#include "net/loop.h"

static net_loop *loop;
static net_http_server *srv;

static void reply(net_http_conn *c, int status, unsigned flags)
{
	bg_buf b;

	bg_buf_init(&b, 64);
	CHECK(bg_buf_adds(&b, "{}") == 0);
	CHECK(net_http_reply(c, status, NULL, 0, &b, flags) == 0);
	bg_buf_free(&b);
}

static int on_head(void *app, net_http_conn *c, net_http_request *r)
{
	size_t i;

	r->body_max = 4096; /* small, so the limits are reached often */
	CHECK(r->n_headers <= BG_MAX_HEADERS);
	for (i = 0; i < r->n_headers; i++)
		if (r->headers[i].name_len == 8 &&
		    strncasecmp(r->headers[i].name, "x-refuse", 8) == 0) {
			reply(c, 400, NET_REPLY_CLOSE);
			return -1;
		}
	return 0;
}

static void on_request(void *app, net_http_conn *c, const net_http_request *r)
{
	CHECK(r->body_len <= r->body_max);
	CHECK(r->path_len <= r->target_len);
	reply(c, 200, 0);
}

static int on_error(void *app, net_http_conn *c, const net_http_request *r, net_http_error err,
                    const char *msg)
{
	CHECK(msg != NULL);
	reply(c, 400, NET_REPLY_CLOSE);
	return 0;
}

static void setup(void)
{
	net_http_settings s;
	net_http_handler h = {NULL, on_head, on_request, on_error};
	uint16_t port;
	bg_err e;

	signal(SIGPIPE, SIG_IGN); /* the server writes to clients that have gone */
	net_http_settings_default(&s);
	CHECK(net_loop_new(&loop, &e) == 0);
	CHECK(net_http_server_new("127.0.0.1", 0, &loop, 1, &s, &h, &srv, &port, &e) == 0);
}

/* Reads what the server sent back so far. */
static void drain(int fd, bg_buf *got)
{
	char buf[4096];
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0)
		if (got->len < 65536)
			(void)bg_buf_add(got, buf, (size_t)r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2], i;
	size_t chunk, off = 1;
	bg_buf got;

	if (size < 1)
		return 0;
	if (loop == NULL)
		setup();
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(net_http_server_adopt(srv, 0, sv[0], "fuzz") == 0);
	bg_buf_init(&got, 1 << 20);
	chunk = data[0] ? data[0] : size;
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		ssize_t w = send(sv[1], data + off, n, MSG_NOSIGNAL);

		if (w > 0)
			off += (size_t)w;
		else if (net_http_server_connections(srv) == 0)
			break; /* the server closed: the rest cannot be sent */
		(void)net_loop_run_once(loop, 0);
		drain(sv[1], &got);
	}
	(void)shutdown(sv[1], SHUT_WR);
	for (i = 0; i < 8; i++) {
		(void)net_loop_run_once(loop, 0);
		drain(sv[1], &got);
	}
	if (got.len > 0)
		CHECK(got.len >= 9 && memcmp(got.data, "HTTP/1.1 ", 9) == 0);
	close(sv[1]);
	for (i = 0; i < 100 && net_http_server_connections(srv) > 0; i++)
		(void)net_loop_run_once(loop, 1);
	CHECK(net_http_server_connections(srv) == 0);
	bg_buf_free(&got);
	return 0;
}
