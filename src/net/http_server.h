/*
 * http_server.h - the HTTP/1.1 server transport: strict framing, bounded memory,
 * timeouts, a connection cap, and a graceful drain, on a set of event loops.
 *
 * Requests are parsed by Debian's http-parser (strict: a second Content-Length, a
 * Transfer-Encoding that is not exactly "chunked", a bad length are errors) into a
 * fixed-size header block per connection. The application sees a request twice: once
 * when its headers are complete (on_head: refuse early, before a large body is read,
 * or choose the body limit) and once when its body is complete (on_request). It
 * answers with net_http_reply() from its loop's thread, at once or later (after an
 * audit write or an upstream call); the connection reads nothing meanwhile.
 *
 * Defences, each bounded by limits.h or the server's settings:
 *   - a header block larger than BG_HTTP_HEAD_MAX, or more than BG_MAX_HEADERS headers,
 *     is refused;
 *   - headers must arrive within header_timeout of the request's first byte (slow-loris),
 *     a body within body_timeout of its headers, an answer must be taken by the client
 *     within write_timeout; idle keep-alive connections close after idle_timeout;
 *   - bodies in flight share a memory budget (BG_HTTP_BODY_BUDGET): a request whose
 *     declared length does not fit is refused before its body is read;
 *   - at most max_connections are open: beyond that the oldest idle or header-incomplete
 *     connection of the accepting loop is closed to make room, and a new connection is
 *     refused only when every open one is busy with a request.
 */
#ifndef BG_NET_HTTP_SERVER_H
#define BG_NET_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/limits.h"
#include "net/loop.h"
#include "net/tls.h"

typedef struct net_http_server net_http_server;
typedef struct net_http_conn net_http_conn;

/* A header (common/buf.h): the same type SigV4 verifies, so no copy is made. */
typedef bg_header net_http_header;

/* A request as the transport saw it. Every pointer is into the connection's buffers and
 * stays valid until the reply has been written. */
typedef struct net_http_request {
	const char *method; /* "POST", "GET", ... (static) */
	const char *target; /* the raw request-target as sent: path and query, not decoded */
	size_t target_len;
	size_t path_len; /* target[0..path_len) is the path */
	bool has_query;  /* the target had a '?' */
	net_http_header headers[BG_MAX_HEADERS];
	size_t n_headers;
	bool has_length; /* Content-Length given */
	uint64_t content_length;
	bool chunked;
	bool expect_continue;
	size_t body_max; /* on_head may lower it; default BG_MAX_REQUEST_BODY */
	const uint8_t *body;
	size_t body_len;
	char peer[64]; /* "127.0.0.1:53412" */
} net_http_request;

/* What went wrong at the transport level, for on_error. */
typedef enum net_http_error {
	NET_HTTP_BAD_REQUEST,    /* malformed request line, header or framing: 400 */
	NET_HTTP_HEAD_TOO_LARGE, /* header block or header count over the limit: 400 */
	NET_HTTP_TOO_LARGE,      /* body over body_max: 413 */
	NET_HTTP_BUSY,           /* the body memory budget is spent: refuse, retry later */
	NET_HTTP_BODY_TIMEOUT,   /* the body did not arrive within body_timeout */
} net_http_error;

typedef struct net_http_handler {
	void *app;
	/* Headers complete, body not read. Return 0 to read the body (r->body_max may be
	 * lowered), or non-zero to refuse it unread: the app then answers with
	 * net_http_reply, now or later, and the connection closes after the answer. */
	int (*on_head)(void *app, net_http_conn *c, net_http_request *r);
	/* Body complete. The app must call net_http_reply exactly once, now or later. */
	void (*on_request)(void *app, net_http_conn *c, const net_http_request *r);
	/* The transport refuses the request. r is what was parsed so far (headers may be
	 * missing). Return 0 when the app will answer (now or later; the connection closes
	 * after it), non-zero to have the connection closed without an answer. */
	int (*on_error)(void *app, net_http_conn *c, const net_http_request *r, net_http_error err,
	                const char *msg);
} net_http_handler;

typedef struct net_http_settings {
	int64_t header_timeout_ms;
	int64_t body_timeout_ms;
	int64_t idle_timeout_ms;
	int64_t write_timeout_ms;
	unsigned max_connections;
	net_tls *tls; /* NULL: plain HTTP; else every connection speaks TLS (borrowed) */
} net_http_settings;

/* Fills s with the defaults from limits.h. */
void net_http_settings_default(net_http_settings *s);

/* Listens on host:port (port 0: any free port; the bound port is stored in *bound) and
 * serves on each of the n loops (which the caller runs). The listening socket is shared:
 * whichever loop is free accepts. */
int net_http_server_new(const char *host, uint16_t port, net_loop **loops, size_t n,
                        const net_http_settings *s, const net_http_handler *h,
                        net_http_server **out, uint16_t *bound, bg_err *e) BG_MUST_CHECK;

/* Frees the server. Every loop must have stopped. Open connections are closed. */
void net_http_server_free(net_http_server *srv);

/* Starts a graceful drain, from any thread: the listening socket closes, idle
 * connections close, connections with a request in progress close after their answer. */
void net_http_server_drain(net_http_server *srv);

/* Serves fd, an already connected non-blocking stream socket, as a client connection
 * on loop loop_index (from that loop's thread, or before the loops run): for tests and
 * fuzzing over socketpairs. Takes fd (closed on failure). */
int net_http_server_adopt(net_http_server *srv, size_t loop_index, int fd,
                          const char *peer) BG_MUST_CHECK;

/* Connections still open (all loops). Thread-safe. */
unsigned net_http_server_connections(const net_http_server *srv);

/* Answer flags. */
#define NET_REPLY_CLOSE  1u /* close the connection after this answer */
#define NET_REPLY_SECRET 2u /* the answer holds secrets: wipe its buffers after sending */

/* Answers the connection's current request: status, headers (copied), and the body,
 * whose storage is taken over (body is left empty). Content-Length, and Connection:
 * close when closing, are added. Loop thread only. Returns 0, or BG_ENOMEM (the
 * connection is then closed). */
int net_http_reply(net_http_conn *c, int status, const net_http_header *h, size_t n, bg_buf *body,
                   unsigned flags);

/* The loop the connection lives on. */
net_loop *net_http_conn_loop(const net_http_conn *c);

/* The request being answered, or NULL. */
const net_http_request *net_http_conn_request(const net_http_conn *c);

#endif
