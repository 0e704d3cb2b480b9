/*
 * http_server.c - HTTP/1.1 connections on event loops (see http_server.h).
 *
 * A connection is in one of these states:
 *
 *   IDLE     keep-alive, nothing received: only the connection struct is held
 *   HEAD     receiving the request line and headers into the header block
 *   BODY     headers accepted by on_head; receiving the body into its own buffer
 *   APP      the request is with the application; nothing is read (the socket stays
 *            registered for input, and is silenced only if the client sends anyway)
 *   WRITE    the answer is being written; then IDLE (or HEAD, with pipelined bytes)
 *   LINGER   refused with its body unread: our side is shut, and what the client still
 *            sends is read and dropped for a while, so it can read the answer instead
 *            of a connection reset (nginx's lingering close)
 *
 * The header block and the parsed request live in one allocation made when a request
 * starts and freed when the connection goes idle, so a thousand idle keep-alive clients
 * cost a few hundred bytes each. Reads go into that block: the header bytes stay where
 * they were parsed (the request's header pointers point at them) and body bytes pass
 * through the room after them, copied into the body buffer by the parser's callback.
 */
#include "net/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

enum conn_state { ST_IDLE, ST_HEAD, ST_BODY, ST_APP, ST_WRITE, ST_LINGER, ST_CLOSED };

/* One per loop: the loop's share of the server. */
typedef struct loop_part {
	net_http_server *srv;
	net_loop *loop;
	net_watch listen_watch;
	bool listening;
	net_task drain_task;
	struct net_http_conn *lru_head, *lru_tail; /* IDLE and HEAD connections, oldest first */
	struct net_http_conn *all;                 /* every open connection of this loop */
	atomic_uint nconns;                        /* how many, for balancing new ones */
} loop_part;

/* The per-request allocation: header block (with read room after it) and the request. */
typedef struct active {
	net_http_request req;
	size_t hlen;     /* bytes in block */
	size_t pos;      /* bytes of block parsed */
	size_t head_end; /* end of the header block (0 until headers complete) */
	size_t hwm;      /* most of block ever filled: what to wipe */
	bool last_was_value;
	bool too_many;
	bool complete;
	bool bad_te;
	int hosts;       /* Host headers seen */
	size_t reserved; /* bytes of the body budget held */
	bg_buf body;
	char block[BG_HTTP_HEAD_MAX + BG_HTTP_READ_ROOM];
} active;

struct net_http_conn {
	loop_part *part;
	int fd;
	enum conn_state state;
	net_watch watch;
	net_timer timer;
	uint32_t interest;
	http_parser parser;
	active *a;
	char peer[64];
	/* LRU links (IDLE and HEAD only). */
	struct net_http_conn *prev, *next;
	bool in_lru;
	struct net_http_conn *all_prev, *all_next;
	/* Output. */
	bg_buf out;     /* status line and headers, or a 100 Continue */
	bg_buf outbody; /* the body, taken from the app */
	size_t out_off, body_off;
	unsigned flags;
	net_tls_conn *tls;   /* NULL for plain HTTP */
	bool read_wants_out; /* TLS: a read needs the socket writable first */
	bool dispatching;    /* inside process_input: do not re-enter it */
	bool sent_continue;
	net_task free_task;
	net_task pending_task; /* TLS: read what the session already holds */
	bool pending_queued;
};

struct net_http_server {
	int lfd;
	loop_part *parts;
	size_t nparts;
	net_http_settings set;
	net_http_handler h;
	atomic_uint nconns;
	atomic_size_t budget_used;
	atomic_bool draining;
	atomic_size_t unlistened; /* loops that have stopped watching lfd; the last closes it */
};

static http_parser_settings parser_settings;

/* --- small helpers --------------------------------------------------------------------- */

static void lru_remove(net_http_conn *c)
{
	loop_part *p = c->part;

	if (!c->in_lru)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		p->lru_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		p->lru_tail = c->prev;
	c->prev = c->next = NULL;
	c->in_lru = false;
}

static void lru_push(net_http_conn *c)
{
	loop_part *p = c->part;

	lru_remove(c);
	c->prev = p->lru_tail;
	c->next = NULL;
	if (p->lru_tail)
		p->lru_tail->next = c;
	else
		p->lru_head = c;
	p->lru_tail = c;
	c->in_lru = true;
}

static void set_interest(net_http_conn *c, uint32_t ev)
{
	if (c->fd < 0 || c->interest == ev)
		return;
	if (net_loop_mod(c->part->loop, c->fd, ev, &c->watch) == 0)
		c->interest = ev;
}

static void budget_release(net_http_conn *c)
{
	if (c->a && c->a->reserved) {
		atomic_fetch_sub(&c->part->srv->budget_used, c->a->reserved);
		c->a->reserved = 0;
	}
}

static bool budget_take(net_http_conn *c, size_t n)
{
	net_http_server *s = c->part->srv;
	size_t used = atomic_load(&s->budget_used);

	do {
		if (used + n > BG_HTTP_BODY_BUDGET || used + n < used)
			return false;
	} while (!atomic_compare_exchange_weak(&s->budget_used, &used, used + n));
	c->a->reserved += n;
	return true;
}

static void active_free(net_http_conn *c)
{
	if (c->a == NULL)
		return;
	budget_release(c);
	/* Requests carry API tokens and signatures: wipe what was received. */
	OPENSSL_cleanse(c->a->block, c->a->hwm);
	bg_buf_free_secure(&c->a->body);
	free(c->a);
	c->a = NULL;
}

static void out_free(net_http_conn *c)
{
	if (c->flags & NET_REPLY_SECRET) {
		bg_buf_free_secure(&c->out);
		bg_buf_free_secure(&c->outbody);
	} else {
		bg_buf_free(&c->out);
		bg_buf_free(&c->outbody);
	}
	c->out_off = c->body_off = 0;
	c->flags = 0;
}

static void conn_free_task(void *arg)
{
	free(arg);
}

static void conn_close(net_http_conn *c)
{
	if (c->state == ST_CLOSED)
		return;
	c->state = ST_CLOSED;
	lru_remove(c);
	if (c->all_prev)
		c->all_prev->all_next = c->all_next;
	else
		c->part->all = c->all_next;
	if (c->all_next)
		c->all_next->all_prev = c->all_prev;
	net_timer_disarm(c->part->loop, &c->timer);
	net_tls_close(c->tls);
	c->tls = NULL;
	if (c->fd >= 0) {
		net_loop_del(c->part->loop, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	active_free(c);
	out_free(c);
	atomic_fetch_sub(&c->part->srv->nconns, 1);
	atomic_fetch_sub(&c->part->nconns, 1);
	/* Freed after this wake-up's events: one of them may still name c. */
	c->free_task.fn = conn_free_task;
	c->free_task.arg = c;
	net_loop_defer(c->part->loop, &c->free_task);
}

static void refuse(net_http_conn *c, net_http_error err, const char *msg);

static void on_timer(void *arg)
{
	net_http_conn *c = arg;

	if (c->state == ST_BODY) {
		refuse(c, NET_HTTP_BODY_TIMEOUT, "the request body did not arrive in time");
		return;
	}
	/* Idle, slow headers or a client that does not read its answer. */
	conn_close(c);
}

static void arm(net_http_conn *c, int64_t ms)
{
	if (net_timer_arm(c->part->loop, &c->timer, ms) != 0)
		conn_close(c);
}

/* --- the parser's callbacks ------------------------------------------------------------ */

static int cb_url(http_parser *p, const char *at, size_t n)
{
	active *a = ((net_http_conn *)p->data)->a;

	if (a->req.target == NULL)
		a->req.target = at;
	a->req.target_len += n;
	return 0;
}

static int cb_field(http_parser *p, const char *at, size_t n)
{
	active *a = ((net_http_conn *)p->data)->a;
	net_http_header *h;

	if (a->req.n_headers == 0 || a->last_was_value) {
		if (a->req.n_headers == BG_MAX_HEADERS) {
			a->too_many = true;
			return 1;
		}
		h = &a->req.headers[a->req.n_headers++];
		h->name = at;
		h->name_len = 0;
		h->value = "";
		h->value_len = 0;
		a->last_was_value = false;
	}
	a->req.headers[a->req.n_headers - 1].name_len += n;
	return 0;
}

static int cb_value(http_parser *p, const char *at, size_t n)
{
	active *a = ((net_http_conn *)p->data)->a;
	net_http_header *h = &a->req.headers[a->req.n_headers - 1];

	if (!a->last_was_value) {
		h->value = at;
		h->value_len = 0;
		a->last_was_value = true;
	}
	h->value_len += n;
	return 0;
}

static bool name_is(const net_http_header *h, const char *name)
{
	size_t n = strlen(name);

	return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

static bool value_is(const net_http_header *h, const char *v)
{
	size_t n = strlen(v);

	return h->value_len == n && strncasecmp(h->value, v, n) == 0;
}

static int cb_headers_done(http_parser *p)
{
	net_http_conn *c = p->data;
	active *a = c->a;
	size_t i, q;

	for (i = 0; i < a->req.n_headers; i++) {
		const net_http_header *h = &a->req.headers[i];
		/* Only "chunked" alone: any other coding (or a list) makes the framing
		 * ambiguous between us and whatever sits in front of or behind us. */
		if (name_is(h, "transfer-encoding") && !value_is(h, "chunked"))
			a->bad_te = true;
		if (name_is(h, "expect") && value_is(h, "100-continue"))
			a->req.expect_continue = true;
		if (name_is(h, "host"))
			a->hosts++;
	}
	a->req.method = http_method_str((enum http_method)p->method);
	for (q = 0; q < a->req.target_len && a->req.target[q] != '?'; q++)
		;
	a->req.path_len = q;
	a->req.has_query = q < a->req.target_len;
	a->req.chunked = (p->flags & F_CHUNKED) != 0;
	a->req.has_length = (p->flags & F_CONTENTLENGTH) != 0;
	a->req.content_length = a->req.has_length ? p->content_length : 0;
	http_parser_pause(p, 1);
	return 0;
}

static int cb_body(http_parser *p, const char *at, size_t n)
{
	net_http_conn *c = p->data;
	active *a = c->a;

	if (a->body.len + n > a->req.body_max)
		return 1; /* chunked over the limit; lengths were checked up front */
	if (a->req.chunked && a->body.len + n > a->reserved && !budget_take(c, n))
		return 1;
	return bg_buf_add(&a->body, at, n) == 0 ? 0 : 1;
}

static int cb_complete(http_parser *p)
{
	net_http_conn *c = p->data;

	c->a->complete = true;
	http_parser_pause(p, 1);
	return 0;
}

static void parser_settings_init(void)
{
	memset(&parser_settings, 0, sizeof(parser_settings));
	parser_settings.on_url = cb_url;
	parser_settings.on_header_field = cb_field;
	parser_settings.on_header_value = cb_value;
	parser_settings.on_headers_complete = cb_headers_done;
	parser_settings.on_body = cb_body;
	parser_settings.on_message_complete = cb_complete;
}

/* --- writing --------------------------------------------------------------------------- */

static void finish_request(net_http_conn *c);

/* Socket I/O, plain or TLS. Both return bytes moved, 0 at the peer's end of stream, -1 on
 * an error, or -2 when the call would block (TLS: maybe for the other direction). */
static ssize_t conn_read(net_http_conn *c, void *buf, size_t n)
{
	ssize_t r;

	if (c->tls == NULL) {
		r = read(c->fd, buf, n);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return -2;
		return r;
	}
	c->read_wants_out = false;
	r = net_tls_read(c->tls, buf, n);
	if (r == NET_TLS_WANT_WRITE) {
		c->read_wants_out = true;
		set_interest(c, c->interest | EPOLLOUT);
		return -2;
	}
	return r == NET_TLS_WANT_READ ? -2 : r;
}

static ssize_t conn_writev(net_http_conn *c, const struct iovec *iov, int n)
{
	ssize_t w;

	if (c->tls == NULL) {
		w = writev(c->fd, iov, n);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return -2;
		return w;
	}
	w = net_tls_write(c->tls, iov[0].iov_base, iov[0].iov_len);
	if (w == NET_TLS_WANT_WRITE || w == NET_TLS_WANT_READ)
		return -2;
	return w <= 0 ? -1 : w;
}

/* Writes what is pending. Returns true when all of it is out (or the connection died). */
static bool flush_out(net_http_conn *c)
{
	while (c->out_off < c->out.len || c->body_off < c->outbody.len) {
		struct iovec iov[2];
		int n = 0;
		ssize_t w;

		if (c->out_off < c->out.len)
			iov[n++] =
			    (struct iovec){c->out.data + c->out_off, c->out.len - c->out_off};
		if (c->body_off < c->outbody.len)
			iov[n++] = (struct iovec){c->outbody.data + c->body_off,
			                          c->outbody.len - c->body_off};
		w = conn_writev(c, iov, n);
		if (w == -2)
			return false;
		if (w < 0) {
			conn_close(c);
			return true;
		}
		if ((size_t)w <= c->out.len - c->out_off) {
			c->out_off += (size_t)w;
		} else {
			w -= (ssize_t)(c->out.len - c->out_off);
			c->out_off = c->out.len;
			c->body_off += (size_t)w;
		}
	}
	return true;
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Status";
	}
}

int net_http_reply(net_http_conn *c, int status, const net_http_header *h, size_t n, bg_buf *body,
                   unsigned flags)
{
	net_http_server *s = c->part->srv;
	bool keep;
	size_t i;
	int rc = 0;

	if (c->state == ST_CLOSED) {
		bg_buf_free(body);
		return 0;
	}
	keep = !(flags & NET_REPLY_CLOSE) && !atomic_load(&s->draining) && c->a != NULL &&
	       c->a->complete && http_should_keep_alive(&c->parser);
	/* A 100 Continue still pending goes first; it shares the out buffer. */
	if (c->out_off >= c->out.len) {
		bg_buf_reset(&c->out);
		c->out_off = 0;
	}
	c->flags |= flags | (keep ? 0 : NET_REPLY_CLOSE);
	bg_buf_init(&c->outbody, BG_MAX_RESPONSE_BODY);
	if (c->out.max == 0)
		bg_buf_init(&c->out, BG_HTTP_HEAD_MAX + 256);
	rc |= bg_buf_addf(&c->out, "HTTP/1.1 %d %s\r\n", status, reason_phrase(status));
	for (i = 0; i < n; i++) {
		/* A value that could end the header line (from upstream, say) is dropped, never
		 * sent: no header or response can be injected. */
		if (memchr(h[i].value, '\r', h[i].value_len) ||
		    memchr(h[i].value, '\n', h[i].value_len))
			continue;
		rc |= bg_buf_add(&c->out, h[i].name, h[i].name_len);
		rc |= bg_buf_add(&c->out, ": ", 2);
		rc |= bg_buf_add(&c->out, h[i].value, h[i].value_len);
		rc |= bg_buf_add(&c->out, "\r\n", 2);
	}
	rc |= bg_buf_addf(&c->out, "Content-Length: %zu\r\n%s\r\n", body ? body->len : 0,
	                  keep ? "" : "Connection: close\r\n");
	if (body) {
		c->outbody = *body;
		memset(body, 0, sizeof(*body));
	}
	if (rc != 0) {
		conn_close(c);
		return BG_ENOMEM;
	}
	net_timer_disarm(c->part->loop, &c->timer);
	c->state = ST_WRITE;
	if (flush_out(c)) {
		if (c->state == ST_WRITE)
			finish_request(c);
	} else {
		set_interest(c, EPOLLOUT);
		arm(c, s->set.write_timeout_ms);
	}
	return 0;
}

/* --- reading and dispatch -------------------------------------------------------------- */

static void process_input(net_http_conn *c);

static void start_request(net_http_conn *c)
{
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	c->sent_continue = false;
}

static void refuse(net_http_conn *c, net_http_error err, const char *msg)
{
	net_http_server *s = c->part->srv;
	static const net_http_request empty;

	c->state = ST_APP;
	lru_remove(c);
	net_timer_disarm(c->part->loop, &c->timer);
	if (s->h.on_error(s->h.app, c, c->a ? &c->a->req : &empty, err, msg) != 0 &&
	    c->state == ST_APP)
		conn_close(c); /* the app will give no answer */
}

/* Headers are complete: framing checks, the app's early look, limits and budget. */
static void headers_complete(net_http_conn *c)
{
	net_http_server *s = c->part->srv;
	active *a = c->a;

	a->head_end = a->pos;
	a->req.body_max = BG_MAX_REQUEST_BODY;
	snprintf(a->req.peer, sizeof(a->req.peer), "%s", c->peer);
	lru_remove(c);
	if (a->bad_te || (a->req.chunked && a->req.has_length)) {
		refuse(c, NET_HTTP_BAD_REQUEST,
		       "unsupported or ambiguous Transfer-Encoding (only \"chunked\" alone, "
		       "without Content-Length)");
		return;
	}
	if (c->parser.http_major != 1) {
		refuse(c, NET_HTTP_BAD_REQUEST, "only HTTP/1.x is served");
		return;
	}
	/* RFC 9112 3.2: exactly one Host in HTTP/1.1 (SigV4 signs it: two would be two
	 * readings of what was signed). */
	if (a->hosts > 1 || (a->hosts == 0 && c->parser.http_minor >= 1)) {
		refuse(c, NET_HTTP_BAD_REQUEST, "a request needs exactly one Host header");
		return;
	}
	/* Over any route's limit: refused for its size before anyone looks at it. */
	if (a->req.has_length && a->req.content_length > a->req.body_max) {
		refuse(c, NET_HTTP_TOO_LARGE,
		       "the request body is larger than the gateway accepts");
		return;
	}
	c->state = ST_BODY;
	if (s->h.on_head(s->h.app, c, &a->req) != 0) {
		/* Refused unread: the app answers (now or later); nothing more is read. */
		if (c->state == ST_BODY)
			c->state = ST_APP;
		return;
	}
	if (a->req.has_length && a->req.content_length > a->req.body_max) {
		refuse(c, NET_HTTP_TOO_LARGE,
		       "the request body is larger than the gateway accepts");
		return;
	}
	bg_buf_init(&a->body, a->req.body_max);
	if (a->req.has_length && a->req.content_length > 0 &&
	    !budget_take(c, (size_t)a->req.content_length)) {
		refuse(c, NET_HTTP_BUSY,
		       "the gateway is holding too many request bodies; retry shortly");
		return;
	}
	/* The declared length, allocated once (it is within body_max and the budget). */
	if (a->req.has_length && bg_buf_reserve(&a->body, (size_t)a->req.content_length) != 0) {
		refuse(c, NET_HTTP_BUSY, "out of memory for the request body");
		return;
	}
	arm(c, s->set.body_timeout_ms);
}

/* The client waits for "100 Continue" before sending its body: send it once the
 * request's headers were accepted and none of the body has come. */
static void maybe_continue(net_http_conn *c)
{
	active *a = c->a;

	if (c->state != ST_BODY || c->sent_continue || !a->req.expect_continue ||
	    !a->req.has_length || a->req.content_length == 0 || a->body.len > 0)
		return;
	c->sent_continue = true;
	if (c->out.max == 0)
		bg_buf_init(&c->out, BG_HTTP_HEAD_MAX + 256);
	if (bg_buf_adds(&c->out, "HTTP/1.1 100 Continue\r\n\r\n") != 0) {
		conn_close(c);
		return;
	}
	(void)flush_out(c);
}

static const char *parse_error_text(enum http_errno err)
{
	switch (err) {
	case HPE_UNEXPECTED_CONTENT_LENGTH:
		return "conflicting Content-Length or Transfer-Encoding headers";
	case HPE_INVALID_CONTENT_LENGTH:
		return "invalid Content-Length";
	case HPE_INVALID_TRANSFER_ENCODING:
		return "invalid Transfer-Encoding";
	case HPE_INVALID_CHUNK_SIZE:
		return "invalid chunk size";
	case HPE_INVALID_METHOD:
		return "invalid method";
	case HPE_INVALID_URL:
		return "invalid request target";
	case HPE_INVALID_VERSION:
		return "invalid HTTP version";
	case HPE_HEADER_OVERFLOW:
		return "request header block too large";
	default:
		return http_errno_description(err);
	}
}

/* Feeds unparsed bytes to the parser and acts on what it finds. Loops until it needs
 * more bytes or the request is with the app. */
static void process_input(net_http_conn *c)
{
	net_http_server *s = c->part->srv;

	c->dispatching = true;
	while ((c->state == ST_HEAD || c->state == ST_BODY) && c->a != NULL &&
	       c->a->pos < c->a->hlen) {
		active *a = c->a;
		size_t n = http_parser_execute(&c->parser, &parser_settings, a->block + a->pos,
		                               a->hlen - a->pos);
		enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);

		a->pos += n;
		if (err == HPE_PAUSED) {
			http_parser_pause(&c->parser, 0);
			if (a->complete) {
				net_timer_disarm(c->part->loop, &c->timer);
				c->state = ST_APP;
				a->req.body = (const uint8_t *)(a->body.data ? a->body.data : "");
				a->req.body_len = a->body.len;
				s->h.on_request(s->h.app, c, &a->req);
			} else if (c->state == ST_HEAD) {
				headers_complete(c);
			}
			continue;
		}
		if (err != HPE_OK) {
			if (a->too_many)
				refuse(c, NET_HTTP_HEAD_TOO_LARGE, "too many request headers");
			else if (c->state == ST_BODY && a->body.len >= a->req.body_max)
				refuse(c, NET_HTTP_TOO_LARGE,
				       "the request body is larger than the gateway accepts");
			else if (c->state == ST_BODY && a->req.chunked)
				refuse(c, a->body.failed ? NET_HTTP_TOO_LARGE : NET_HTTP_BUSY,
				       "the request body cannot be held");
			else
				refuse(c, NET_HTTP_BAD_REQUEST, parse_error_text(err));
			break;
		}
		/* Everything given was consumed: body bytes can be read into the same room. */
		if (c->state == ST_BODY && a->pos == a->hlen)
			a->pos = a->hlen = a->head_end;
	}
	if (c->state == ST_BODY)
		maybe_continue(c);
	c->dispatching = false;
}

static void check_tls_pending(net_http_conn *c);

static void on_readable(net_http_conn *c)
{
	net_http_server *s = c->part->srv;
	active *a;
	ssize_t r;

	if (c->a == NULL) {
		c->a = calloc(1, sizeof(*c->a));
		if (c->a == NULL) {
			conn_close(c);
			return;
		}
		start_request(c);
	}
	a = c->a;
	if (c->state == ST_IDLE) {
		c->state = ST_HEAD;
		arm(c, s->set.header_timeout_ms);
		if (c->state == ST_CLOSED)
			return;
	}
	if (c->state == ST_HEAD && a->hlen == BG_HTTP_HEAD_MAX) {
		refuse(c, NET_HTTP_HEAD_TOO_LARGE, "request header block too large");
		return;
	}
	r = conn_read(c, a->block + a->hlen,
	              (c->state == ST_HEAD ? BG_HTTP_HEAD_MAX : sizeof(a->block)) - a->hlen);
	if (r == 0 || r == -1) {
		conn_close(c);
		return;
	}
	if (r < 0)
		return;
	a->hlen += (size_t)r;
	if (a->hlen > a->hwm)
		a->hwm = a->hlen;
	if (c->state == ST_HEAD)
		lru_push(c); /* most recently active */
	process_input(c);
	check_tls_pending(c);
}

static void read_pending(void *arg)
{
	net_http_conn *c = arg;

	c->pending_queued = false;
	if (c->state == ST_HEAD || c->state == ST_BODY || c->state == ST_IDLE)
		on_readable(c);
}

/* TLS may hold decrypted bytes that epoll cannot announce: read them after this
 * wake-up's events (deferred tasks run in order, so before the connection's free if it
 * closes meanwhile). */
static void check_tls_pending(net_http_conn *c)
{
	if (c->tls != NULL && !c->pending_queued && net_tls_pending(c->tls) > 0 &&
	    (c->state == ST_HEAD || c->state == ST_BODY || c->state == ST_IDLE)) {
		c->pending_queued = true;
		net_loop_defer(c->part->loop, &c->pending_task);
	}
}

static void on_conn_event(void *arg, uint32_t ev)
{
	net_http_conn *c = arg;

	if (c->state == ST_CLOSED)
		return;
	if (ev & (EPOLLERR | EPOLLHUP)) {
		if (c->state == ST_APP) {
			/* The app still owns the request: forget the socket, answer nobody. */
			net_loop_del(c->part->loop, c->fd);
			close(c->fd);
			c->fd = -1;
			return;
		}
		conn_close(c);
		return;
	}
	if ((ev & EPOLLOUT) && c->state == ST_WRITE) {
		if (flush_out(c) && c->state == ST_WRITE)
			finish_request(c);
		return;
	}
	if (c->state == ST_APP) {
		/* Nothing is read while the app has the request. Interest is dropped only
		 * now, when the client sent more or half-closed (rare): a request costs no
		 * epoll_ctl in the common case. */
		set_interest(c, 0);
		return;
	}
	if ((ev & EPOLLOUT) && c->read_wants_out) {
		set_interest(c, c->interest & ~(uint32_t)EPOLLOUT);
		ev |= EPOLLIN;
	}
	if (c->state == ST_LINGER) {
		ssize_t r = conn_read(c, c->a->block, sizeof(c->a->block));
		c->a->hwm = sizeof(c->a->block);
		if (r == 0 || r == -1)
			conn_close(c);
		return;
	}
	if ((ev & (EPOLLIN | EPOLLRDHUP)) &&
	    (c->state == ST_IDLE || c->state == ST_HEAD || c->state == ST_BODY))
		on_readable(c);
}

/* The answer is out: close, or get ready for the next request on this connection. */
static void finish_request(net_http_conn *c)
{
	net_http_server *s = c->part->srv;
	active *a = c->a;
	size_t left = 0;

	if (c->fd >= 0 && a != NULL && !a->complete && a->pos > 0) {
		/* Refused with bytes of the request still coming: linger. */
		out_free(c);
		budget_release(c);
		bg_buf_free_secure(&a->body);
		if (c->tls)
			net_tls_shutdown(c->tls);
		(void)shutdown(c->fd, SHUT_WR);
		c->state = ST_LINGER;
		lru_push(c);
		set_interest(c, EPOLLIN | EPOLLRDHUP);
		arm(c, BG_HTTP_LINGER_MS);
		return;
	}
	if ((c->flags & NET_REPLY_CLOSE) || c->fd < 0 || atomic_load(&s->draining)) {
		conn_close(c);
		return;
	}
	out_free(c);
	if (a && a->pos < a->hlen) {
		/* Pipelined bytes: keep them, start over on them. */
		left = a->hlen - a->pos;
		memmove(a->block, a->block + a->pos, left);
	}
	if (left == 0) {
		active_free(c);
		c->state = ST_IDLE;
		lru_push(c);
		set_interest(c, EPOLLIN | EPOLLRDHUP);
		arm(c, s->set.idle_timeout_ms);
		check_tls_pending(c);
		return;
	}
	budget_release(c);
	bg_buf_free_secure(&a->body);
	memset(&a->req, 0, sizeof(a->req));
	a->hlen = left;
	a->pos = a->head_end = 0;
	a->last_was_value = a->too_many = a->complete = a->bad_te = false;
	a->hosts = 0;
	start_request(c);
	c->state = ST_HEAD;
	lru_push(c);
	set_interest(c, EPOLLIN | EPOLLRDHUP);
	arm(c, s->set.header_timeout_ms);
	if (!c->dispatching && c->state == ST_HEAD)
		process_input(c);
	check_tls_pending(c);
}

/* --- accepting ------------------------------------------------------------------------- */

static void peer_text(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		port = ntohs(s6->sin6_port);
	}
	snprintf(out, cap, "%s:%u", a, port);
}

/* Room for one more connection: evict this loop's longest-quiet idle or
 * header-incomplete connection when the cap is reached. */
static bool make_room(loop_part *p)
{
	net_http_server *s = p->srv;

	if (atomic_load(&s->nconns) < s->set.max_connections)
		return true;
	if (p->lru_head == NULL)
		return false;
	conn_close(p->lru_head);
	return true;
}

/* Takes fd (connected, non-blocking) as a new connection of loop part p. Returns false
 * (fd closed) when there is no room or no memory. */
static bool adopt(loop_part *p, int fd, const char *peer)
{
	net_http_server *s = p->srv;
	net_http_conn *c;
	int one = 1;

	if (atomic_load(&s->draining)) {
		close(fd); /* handed over by another loop just before the drain */
		return false;
	}
	if (!make_room(p) || (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd); /* every open connection is busy with a request */
		return false;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->part = p;
	c->fd = fd;
	c->state = ST_IDLE;
	c->watch.fn = on_conn_event;
	c->watch.arg = c;
	c->timer.fn = on_timer;
	c->timer.arg = c;
	c->pending_task.fn = read_pending;
	c->pending_task.arg = c;
	if (s->set.tls != NULL && (c->tls = net_tls_accept(s->set.tls, fd)) == NULL) {
		close(fd);
		free(c);
		return false;
	}
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	c->interest = EPOLLIN | EPOLLRDHUP;
	if (net_loop_add(p->loop, fd, c->interest, &c->watch) != 0) {
		net_tls_close(c->tls);
		close(fd);
		free(c);
		return false;
	}
	atomic_fetch_add(&s->nconns, 1);
	atomic_fetch_add(&p->nconns, 1);
	c->all_next = p->all;
	if (p->all)
		p->all->all_prev = c;
	p->all = c;
	lru_push(c);
	/* A new connection must send its request as promptly as a slow header. */
	arm(c, s->set.header_timeout_ms);
	return true;
}

/* A connection accepted by one loop for another. */
typedef struct handoff {
	net_task task;
	loop_part *to;
	int fd;
	char peer[64];
} handoff;

static void handoff_run(void *arg)
{
	handoff *h = arg;

	atomic_fetch_sub(&h->to->nconns, 1);
	(void)adopt(h->to, h->fd, h->peer);
	free(h);
}

/* The loop with the fewest connections: whichever loop the kernel woke to accept, the
 * connections (and so the work) spread over every loop. */
static loop_part *least_loaded(loop_part *self)
{
	net_http_server *s = self->srv;
	loop_part *best = self;
	unsigned n = atomic_load(&self->nconns);
	size_t i;

	for (i = 0; i < s->nparts; i++) {
		unsigned m = atomic_load(&s->parts[i].nconns);
		if (m < n && s->parts[i].listening) {
			best = &s->parts[i];
			n = m;
		}
	}
	return best;
}

static void on_accept(void *arg, uint32_t ev)
{
	loop_part *p = arg;
	net_http_server *s = p->srv;
	int i;

	if (!p->listening)
		return; /* drained earlier in this wake-up */
	for (i = 0; i < BG_ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char peer[64];
		loop_part *to;
		handoff *h;
		int fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return; /* EAGAIN, or another loop took it, or out of descriptors */
		peer_text(&ss, peer, sizeof(peer));
		to = least_loaded(p);
		if (to == p || (h = calloc(1, sizeof(*h))) == NULL) {
			(void)adopt(p, fd, peer);
			continue;
		}
		h->to = to;
		h->fd = fd;
		snprintf(h->peer, sizeof(h->peer), "%s", peer);
		h->task.fn = handoff_run;
		h->task.arg = h;
		/* Counted at once (handoff_run takes it back), so the rest of this batch
		 * spreads too. */
		atomic_fetch_add(&to->nconns, 1);
		net_loop_post(to->loop, &h->task);
	}
}

int net_http_server_adopt(net_http_server *srv, size_t loop_index, int fd, const char *peer)
{
	if (loop_index >= srv->nparts) {
		close(fd);
		return BG_EINVAL;
	}
	return adopt(&srv->parts[loop_index], fd, peer) ? 0 : BG_ELIMIT;
}

/* --- drain ----------------------------------------------------------------------------- */

static void drain_part(void *arg)
{
	loop_part *p = arg;

	if (p->listening) {
		net_loop_del(p->loop, p->srv->lfd);
		p->listening = false;
		/* Closed by the last loop, so no loop can accept on a reused descriptor;
		 * closing it makes the kernel refuse new connections at once. */
		if (atomic_fetch_add(&p->srv->unlistened, 1) + 1 == p->srv->nparts) {
			close(p->srv->lfd);
			p->srv->lfd = -1;
		}
	}
	/* Idle and header-incomplete connections have nothing in flight. */
	while (p->lru_head)
		conn_close(p->lru_head);
}

void net_http_server_drain(net_http_server *srv)
{
	size_t i;

	if (atomic_exchange(&srv->draining, true))
		return;
	for (i = 0; i < srv->nparts; i++) {
		srv->parts[i].drain_task.fn = drain_part;
		srv->parts[i].drain_task.arg = &srv->parts[i];
		net_loop_post(srv->parts[i].loop, &srv->parts[i].drain_task);
	}
}

unsigned net_http_server_connections(const net_http_server *srv)
{
	return atomic_load(&((net_http_server *)srv)->nconns);
}

/* --- set-up ---------------------------------------------------------------------------- */

void net_http_settings_default(net_http_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->header_timeout_ms = BG_HTTP_HEADER_TIMEOUT_MS;
	s->body_timeout_ms = BG_HTTP_BODY_TIMEOUT_MS;
	s->idle_timeout_ms = (int64_t)BG_HTTP_IDLE_TIMEOUT_S * 1000;
	s->write_timeout_ms = BG_HTTP_WRITE_TIMEOUT_MS;
	s->max_connections = BG_MAX_CONNECTIONS;
}

int net_http_server_new(const char *host, uint16_t port, net_loop **loops, size_t n,
                        const net_http_settings *set, const net_http_handler *h,
                        net_http_server **out, uint16_t *bound, bg_err *e)
{
	net_http_server *s;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int one = 1, rc;
	size_t i;

	*out = NULL;
	if (parser_settings.on_url == NULL)
		parser_settings_init();
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	if (inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, &sa.sin_addr) !=
	    1)
		return bg_err_set(e, BG_EINVAL, "listen address must be an IPv4 address");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	s->set = *set;
	s->h = *h;
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0) {
		rc = bg_err_set(e, BG_EIO, "socket: %s", strerror(errno));
		goto fail;
	}
	(void)setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(s->lfd, BG_LISTEN_BACKLOG) != 0) {
		rc = bg_err_set(e, BG_EIO, "cannot listen on %s:%u: %s", host, (unsigned)port,
		                strerror(errno));
		goto fail;
	}
	if (getsockname(s->lfd, (struct sockaddr *)&sa, &sl) == 0)
		*bound = ntohs(sa.sin_port);
	s->parts = calloc(n, sizeof(*s->parts));
	if (s->parts == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto fail;
	}
	s->nparts = n;
	for (i = 0; i < n; i++) {
		loop_part *p = &s->parts[i];
		p->srv = s;
		p->loop = loops[i];
		p->listen_watch.fn = on_accept;
		p->listen_watch.arg = p;
		/* EPOLLEXCLUSIVE: one loop wakes per new connection, not all of them. */
		if (net_loop_add(p->loop, s->lfd, EPOLLIN | EPOLLEXCLUSIVE, &p->listen_watch) !=
		    0) {
			rc = bg_err_set(e, BG_EIO, "cannot watch the listening socket: %s",
			                strerror(errno));
			goto fail;
		}
		p->listening = true;
	}
	*out = s;
	return 0;
fail:
	net_http_server_free(s);
	return rc;
}

void net_http_server_free(net_http_server *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nparts; i++) {
		loop_part *p = &s->parts[i];
		if (p->listening)
			net_loop_del(p->loop, s->lfd);
		while (p->all)
			conn_close(p->all);
	}
	if (s->lfd >= 0)
		close(s->lfd);
	free(s->parts);
	free(s);
}

net_loop *net_http_conn_loop(const net_http_conn *c)
{
	return c->part->loop;
}

const net_http_request *net_http_conn_request(const net_http_conn *c)
{
	return c->a ? &c->a->req : NULL;
}
