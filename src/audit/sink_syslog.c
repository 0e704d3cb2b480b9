/*
 * sink_syslog.c - the syslog transport of the audit sinks (sink_syslog.h says what is
 * sent and why; sink.h how a transport is driven).
 *
 * Connections are made by deliver, never by open, and every blocking step is bounded by
 * BG_SINK_IO_TIMEOUT_MS: a non-blocking connect polled for that long, then SO_SNDTIMEO
 * (librelp has its own timeouts, set to the same in whole seconds).
 *
 * RELP: each deliver opens a RELP session, sends its records with relpCltSendSyslog and
 * closes the session (relpEngineCltDestruct, which sends "close" and waits for its
 * answer). RELP answers frames in order on one TCP stream, so the close answer comes
 * after the answer to every syslog frame; librelp reports a non-200 answer, a timeout, a
 * closed peer or a broken session through the engine's onErr callback. A deliver whose
 * sends all returned RELP_RET_OK and during which onErr never fired has had every record
 * acknowledged; any other outcome returns an error with *accepted = 0 (which records
 * were acknowledged is unknown; the framework sends them again, and readers drop repeats
 * by seq). A session per batch of up to BG_SINK_BATCH records costs one TCP handshake.
 *
 * TCP: before each batch the connection is polled; a peer that closed it (EOF, HUP, an
 * error) makes deliver reconnect and send the batch on the new connection.
 */
#include "audit/sink_syslog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <librelp.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "audit/sink_stub.h"
#include "common/limits.h"

/* ---- addresses ---- */

/* Copies up to 64 bytes of s into out for an error message, non-printable as '?'. */
static const char *shown(const char *s, size_t n, char *out, size_t cap)
{
	size_t i, k = 0;

	for (i = 0; i < n && k + 4 < cap && i < 64; i++)
		out[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (i < n && k + 4 < cap) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
	return out;
}

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

static int parse_hostport(const char *s, size_t n, sink_syslog_addr *a, const char *whole,
                          size_t wlen, bg_err *e)
{
	char sh[80];
	size_t hlen, i;
	const char *h, *p;
	size_t plen;
	unsigned long port = 0;
	char v6[sizeof(a->host)];
	struct in6_addr in6;

	if (n > 0 && s[0] != '[' && memchr(s, ':', n) != memrchr(s, ':', n))
		return bg_err_set(e, BG_EINVAL,
		                  "syslog address \"%s\": an IPv6 address goes in [] ([::1]:514)",
		                  shown(whole, wlen, sh, sizeof(sh)));
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (close == NULL)
			return bg_err_set(e, BG_EINVAL, "syslog address \"%s\": '[' without ']'",
			                  shown(whole, wlen, sh, sizeof(sh)));
		h = s + 1;
		hlen = (size_t)(close - h);
		if (hlen == 0 || hlen >= sizeof(v6))
			return bg_err_set(e, BG_EINVAL,
			                  "syslog address \"%s\": not an IPv6 address in []",
			                  shown(whole, wlen, sh, sizeof(sh)));
		memcpy(v6, h, hlen);
		v6[hlen] = '\0';
		if (memchr(v6, '\0', hlen) != NULL || inet_pton(AF_INET6, v6, &in6) != 1)
			return bg_err_set(e, BG_EINVAL,
			                  "syslog address \"%s\": not an IPv6 address in []",
			                  shown(whole, wlen, sh, sizeof(sh)));
		p = close + 1;
	} else {
		h = s;
		for (i = 0; i < n && s[i] != ':'; i++)
			if (!host_char(s[i]))
				return bg_err_set(
				    e, BG_EINVAL,
				    "syslog address \"%s\": a host name has letters, "
				    "digits, '.', '-' or '_' only (an IPv6 address goes "
				    "in [])",
				    shown(whole, wlen, sh, sizeof(sh)));
		hlen = i;
		if (hlen == 0)
			return bg_err_set(e, BG_EINVAL, "syslog address \"%s\": no host",
			                  shown(whole, wlen, sh, sizeof(sh)));
		if (hlen > 253)
			return bg_err_set(e, BG_EINVAL,
			                  "syslog address \"%s\": host name longer than 253 bytes",
			                  shown(whole, wlen, sh, sizeof(sh)));
		p = s + hlen;
	}
	if (p == s + n || *p != ':')
		return bg_err_set(e, BG_EINVAL, "syslog address \"%s\": needs a port (HOST:PORT)",
		                  shown(whole, wlen, sh, sizeof(sh)));
	p++;
	plen = (size_t)(s + n - p);
	if (plen == 0 || plen > 5)
		return bg_err_set(
		    e, BG_EINVAL,
		    "syslog address \"%s\": the port must be a number from 1 to 65535",
		    shown(whole, wlen, sh, sizeof(sh)));
	for (i = 0; i < plen; i++) {
		if (p[i] < '0' || p[i] > '9')
			return bg_err_set(e, BG_EINVAL,
			                  "syslog address \"%s\": the port must be a number from 1 "
			                  "to 65535 (and nothing may follow it)",
			                  shown(whole, wlen, sh, sizeof(sh)));
		port = port * 10 + (unsigned long)(p[i] - '0');
	}
	if (port == 0 || port > 65535)
		return bg_err_set(
		    e, BG_EINVAL,
		    "syslog address \"%s\": the port must be a number from 1 to 65535",
		    shown(whole, wlen, sh, sizeof(sh)));
	memcpy(a->host, h, hlen);
	a->host[hlen] = '\0';
	snprintf(a->port, sizeof(a->port), "%lu", port);
	return 0;
}

int sink_syslog_parse_address(const char *s, size_t n, sink_syslog_addr *a, bg_err *e)
{
	static const struct {
		const char *scheme;
		sink_syslog_proto proto;
	} schemes[] = {{"udp://", SINK_SYSLOG_UDP},
	               {"tcp://", SINK_SYSLOG_TCP},
	               {"relp://", SINK_SYSLOG_RELP}};
	char sh[80];
	size_t i, k;

	memset(a, 0, sizeof(*a));
	if (s == NULL || n == 0)
		return bg_err_set(e, BG_EINVAL,
		                  "syslog address missing (udp://HOST:PORT, "
		                  "tcp://HOST:PORT, relp://HOST:PORT or unix:/PATH)");
	if (n > BG_SYSLOG_ADDRESS_MAX)
		return bg_err_set(e, BG_EINVAL, "syslog address longer than %d bytes",
		                  BG_SYSLOG_ADDRESS_MAX);
	if (memchr(s, '\0', n) != NULL)
		return bg_err_set(e, BG_EINVAL, "syslog address \"%s\": contains a NUL byte",
		                  shown(s, n, sh, sizeof(sh)));
	if (n >= 5 && memcmp(s, "unix:", 5) == 0) {
		k = n - 5;
		if (k < 2 || s[5] != '/')
			return bg_err_set(e, BG_EINVAL,
			                  "syslog address \"%s\": unix: needs an absolute socket "
			                  "path (unix:/dev/log)",
			                  shown(s, n, sh, sizeof(sh)));
		if (k >= sizeof(a->path))
			return bg_err_set(
			    e, BG_EINVAL,
			    "syslog address \"%s\": socket path longer than %zu bytes",
			    shown(s, n, sh, sizeof(sh)), sizeof(a->path) - 1);
		a->proto = SINK_SYSLOG_UNIX;
		memcpy(a->path, s + 5, k);
		a->path[k] = '\0';
		return 0;
	}
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		k = strlen(schemes[i].scheme);
		if (n >= k && memcmp(s, schemes[i].scheme, k) == 0) {
			int rc = parse_hostport(s + k, n - k, a, s, n, e);
			if (rc != 0) {
				memset(a, 0, sizeof(*a));
				return rc;
			}
			a->proto = schemes[i].proto;
			return 0;
		}
	}
	return bg_err_set(e, BG_EINVAL,
	                  "syslog address \"%s\": unknown form (udp://HOST:PORT, tcp://HOST:PORT, "
	                  "relp://HOST:PORT or unix:/PATH)",
	                  shown(s, n, sh, sizeof(sh)));
}

/* ---- the message ---- */

static bool ends_with(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);

	return n >= k && memcmp(s + n - k, suf, k) == 0;
}

int sink_syslog_severity(const char *kind)
{
	size_t n;

	if (kind == NULL)
		return SINK_SYSLOG_NOTICE;
	n = strlen(kind);
	if (strcmp(kind, "denial") == 0 || strcmp(kind, "refusal") == 0 ||
	    strcmp(kind, "lockout") == 0 || ends_with(kind, n, "_denied") ||
	    ends_with(kind, n, "_refused") || ends_with(kind, n, "_failed"))
		return SINK_SYSLOG_WARNING;
	return SINK_SYSLOG_NOTICE;
}

/* Appends s as an RFC 5424 header field: PRINTUSASCII (33-126) only, others as '_', at
 * most max bytes; "-" (NILVALUE) when empty. */
static int add_field(bg_buf *b, const char *s, size_t max)
{
	size_t i, n = s == NULL ? 0 : strnlen(s, max);
	int rc = 0;

	if (n == 0)
		return bg_buf_addc(b, '-');
	for (i = 0; i < n && rc == 0; i++) {
		unsigned char c = (unsigned char)s[i];
		rc = bg_buf_addc(b, (c >= 33 && c <= 126) ? (char)c : '_');
	}
	return rc;
}

/* RFC 3339 with milliseconds in UTC, or "-" outside years 0000-9999. */
static int add_timestamp(bg_buf *b, int64_t ts_ms)
{
	int64_t secs = ts_ms / 1000, ms = ts_ms % 1000;
	time_t t;
	struct tm tm;

	if (ms < 0) {
		ms += 1000;
		secs--;
	}
	t = (time_t)secs;
	if (secs < -62167219200LL || secs > 253402300799LL || gmtime_r(&t, &tm) == NULL)
		return bg_buf_addc(b, '-');
	return bg_buf_addf(b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
}

int sink_syslog_format(const sink_rec *r, const char *hostname, long procid, bg_buf *out, bg_err *e)
{
	int rc;

	if (r == NULL || r->line == NULL)
		return bg_err_set(e, BG_EINVAL, "syslog: record without a line");
	rc = bg_buf_reserve(out, BG_SYSLOG_HEADER_MAX + r->len);
	if (rc == 0)
		rc = bg_buf_addf(out, "<%d>1 ",
		                 SINK_SYSLOG_FACILITY * 8 + sink_syslog_severity(r->kind));
	if (rc == 0)
		rc = add_timestamp(out, r->ts_ms);
	if (rc == 0)
		rc = bg_buf_addc(out, ' ');
	if (rc == 0)
		rc = add_field(out, hostname, 255);
	if (rc == 0)
		rc = bg_buf_addf(out, " breakglass %ld ", procid);
	if (rc == 0)
		rc = add_field(out, r->kind, 32);
	if (rc == 0)
		rc = bg_buf_add(out, " - ", 3);
	if (rc == 0)
		rc = bg_buf_add(out, r->line, r->len);
	if (rc != 0)
		return bg_err_set(e, rc, "syslog: record %lld: message of %zu bytes: %s",
		                  (long long)r->seq, r->len, bg_err_name(rc));
	return 0;
}

size_t sink_syslog_frame_prefix(size_t n, char *out, size_t cap)
{
	int k = snprintf(out, cap, "%zu ", n);

	return k < 0 || (size_t)k >= cap ? 0 : (size_t)k;
}

/* ---- the transport ---- */

/* The message buffer is kept between deliveries up to this size (a record with a large
 * request body can be megabytes; most are under a few KiB). */
#define KEEP_BUF ((size_t)1 << 20)

typedef struct sink_syslog {
	sink_syslog_addr addr;
	char address[BG_SYSLOG_ADDRESS_MAX + 1]; /* as configured, for messages */
	char hostname[256];
	long pid; /* PROCID: read at each delivery (a fork changes it) */
	int fd;   /* udp, tcp, unix: -1 while not connected */
	relpEngine_t *relp;
	bool relp_failed; /* onErr fired during this deliver */
	char relp_msg[160];
	bg_buf msg;
} sink_syslog;

static void relp_on_err(void *usr, char *objinfo, char *errmsg, relpRetVal code)
{
	sink_syslog *s = usr;

	if (s == NULL)
		return;
	if (!s->relp_failed)
		snprintf(s->relp_msg, sizeof(s->relp_msg), "%s (librelp %d)",
		         errmsg != NULL ? errmsg : "error", (int)code);
	s->relp_failed = true;
}

/* librelp prints its debug trace through this; the trace is not wanted. */
static void relp_dbg(char *fmt, ...) BG_PRINTF(1, 2);
static void relp_dbg(char *fmt, ...)
{
}

static void sink_syslog_close(void *self)
{
	sink_syslog *s = self;

	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->relp != NULL)
		relpEngineDestruct(&s->relp);
	bg_buf_free(&s->msg);
	free(s);
}

static int sink_syslog_open(const sink_conf *c, void **self, bg_err *e)
{
	sink_syslog *s;
	char h[256];
	int rc;

	*self = NULL;
	if (c == NULL || c->address == NULL)
		return bg_err_set(e, BG_EINVAL, "syslog sink: no address");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return bg_err_set(e, BG_ENOMEM, "syslog sink: out of memory");
	s->fd = -1;
	rc = sink_syslog_parse_address(c->address, strlen(c->address), &s->addr, e);
	if (rc != 0)
		goto fail;
	snprintf(s->address, sizeof(s->address), "%s", c->address);
	if (gethostname(h, sizeof(h)) != 0)
		h[0] = '\0';
	h[sizeof(h) - 1] = '\0';
	snprintf(s->hostname, sizeof(s->hostname), "%s", h);
	bg_buf_init(&s->msg, BG_SYSLOG_HEADER_MAX + BG_MAX_AUDIT_LINE);
	if (s->addr.proto == SINK_SYSLOG_RELP) {
		if (relpEngineConstruct(&s->relp) != RELP_RET_OK || s->relp == NULL) {
			rc = bg_err_set(e, BG_ENOMEM, "syslog sink %s: cannot set up librelp",
			                s->address);
			goto fail;
		}
		if (relpEngineSetDbgprint(s->relp, relp_dbg) != RELP_RET_OK ||
		    relpEngineSetOnErr(s->relp, relp_on_err) != RELP_RET_OK ||
		    relpEngineSetEnableCmd(s->relp, (unsigned char *)"syslog",
		                           eRelpCmdState_Required) != RELP_RET_OK) {
			rc = bg_err_set(e, BG_EIO, "syslog sink %s: cannot set up librelp",
			                s->address);
			goto fail;
		}
	}
	*self = s;
	return 0;
fail:
	sink_syslog_close(s);
	return rc;
}

static void drop_fd(sink_syslog *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* Connects fd to sa within BG_SINK_IO_TIMEOUT_MS; 0 or -1 with errno. */
static int connect_bounded(int fd, const struct sockaddr *sa, socklen_t len)
{
	int fl = fcntl(fd, F_GETFL), err = 0;
	socklen_t el = sizeof(err);
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int r;

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	if (connect(fd, sa, len) != 0) {
		if (errno != EINPROGRESS)
			return -1;
		do
			r = poll(&p, 1, BG_SINK_IO_TIMEOUT_MS);
		while (r < 0 && errno == EINTR);
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (r < 0)
			return -1;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
			return -1;
		if (err != 0) {
			errno = err;
			return -1;
		}
	}
	return fcntl(fd, F_SETFL, fl);
}

static int set_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = BG_SINK_IO_TIMEOUT_MS / 1000,
	                     .tv_usec = (BG_SINK_IO_TIMEOUT_MS % 1000) * 1000};

	return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0 &&
	               setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0
	           ? 0
	           : -1;
}

static int connect_fd(sink_syslog *s, bg_err *e)
{
	struct addrinfo hints, *res = NULL, *ai;
	int gai, err = 0, fd;

	if (s->addr.proto == SINK_SYSLOG_UNIX) {
		struct sockaddr_un un;
		memset(&un, 0, sizeof(un));
		un.sun_family = AF_UNIX;
		memcpy(un.sun_path, s->addr.path, strlen(s->addr.path) + 1);
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || set_timeouts(fd) != 0 ||
		    connect(fd, (struct sockaddr *)&un, sizeof(un)) != 0) {
			err = errno;
			if (fd >= 0)
				close(fd);
			return bg_err_set(e, BG_EIO, "syslog sink %s: cannot connect: %s",
			                  s->address, strerror(err));
		}
		s->fd = fd;
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = s->addr.proto == SINK_SYSLOG_UDP ? SOCK_DGRAM : SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	gai = getaddrinfo(s->addr.host, s->addr.port, &hints, &res);
	if (gai != 0)
		return bg_err_set(e, BG_EIO, "syslog sink %s: cannot resolve %s: %s", s->address,
		                  s->addr.host, gai_strerror(gai));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (set_timeouts(fd) == 0 &&
		    connect_bounded(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			s->fd = fd;
			freeaddrinfo(res);
			return 0;
		}
		err = errno;
		close(fd);
	}
	freeaddrinfo(res);
	return bg_err_set(e, BG_EIO, "syslog sink %s: cannot connect: %s", s->address,
	                  strerror(err != 0 ? err : ECONNREFUSED));
}

/* Whether the TCP connection still looks open: the receiver sends nothing, so readable
 * means it closed (EOF) or reset; bytes it sent anyway are dropped. */
static bool stream_alive(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
	char junk[512];
	int i, r;
	ssize_t n;

	for (i = 0; i < 16; i++) {
		p.revents = 0;
		r = poll(&p, 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return false;
		if (r == 0)
			return true;
		if (p.revents & (POLLERR | POLLHUP | POLLRDHUP | POLLNVAL))
			return false;
		n = recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (n == 0)
			return false;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
	}
	return false; /* a receiver that keeps talking is not one */
}

/* Writes prefix and msg whole to a stream; 0 or -1 with errno. */
static int write_all(int fd, const char *prefix, size_t plen, const char *msg, size_t mlen)
{
	struct iovec iov[2] = {{(void *)prefix, plen}, {(void *)msg, mlen}};
	struct msghdr mh;
	ssize_t n;
	size_t k;

	while (iov[0].iov_len + iov[1].iov_len > 0) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov[0].iov_len > 0 ? iov : iov + 1;
		mh.msg_iovlen = iov[0].iov_len > 0 ? 2 : 1;
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				errno = ETIMEDOUT;
			return -1;
		}
		k = (size_t)n;
		if (k >= iov[0].iov_len) {
			k -= iov[0].iov_len;
			iov[0].iov_len = 0;
			iov[1].iov_base = (char *)iov[1].iov_base + k;
			iov[1].iov_len -= k;
		} else {
			iov[0].iov_base = (char *)iov[0].iov_base + k;
			iov[0].iov_len -= k;
		}
	}
	return 0;
}

/* Formats r into s->msg; for a datagram, its stub when the line is longer than a
 * datagram can hold whatever the header (so which records go as stubs depends on the
 * record alone, not on the host's name). */
static int build(sink_syslog *s, const sink_rec *r, bool dgram, bg_err *e)
{
	sink_rec st;
	char *stub;
	int rc;

	bg_buf_reset(&s->msg);
	if (!dgram || r->len <= BG_SYSLOG_DGRAM_MAX - BG_SYSLOG_HEADER_MAX)
		return sink_syslog_format(r, s->hostname, s->pid, &s->msg, e);
	st = *r;
	rc = sink_stub(r, &stub, &st.len, e);
	if (rc != 0)
		return rc;
	st.line = stub;
	rc = st.len > BG_SYSLOG_DGRAM_MAX - BG_SYSLOG_HEADER_MAX
	         ? bg_err_set(e, BG_EINVAL, "audit record %lld: its redacted stub is too long",
	                      (long long)r->seq)
	         : sink_syslog_format(&st, s->hostname, s->pid, &s->msg, e);
	free(stub);
	return rc;
}

static int deliver_fd(sink_syslog *s, const sink_rec *recs, size_t n, size_t *accepted, bg_err *e)
{
	bool stream = s->addr.proto == SINK_SYSLOG_TCP;
	char prefix[24];
	size_t i, plen;
	int rc, err;

	if (stream && s->fd >= 0 && !stream_alive(s->fd))
		drop_fd(s); /* the receiver closed: reconnect, send on the new connection */
	if (s->fd < 0) {
		rc = connect_fd(s, e);
		if (rc != 0)
			return rc;
	}
	for (i = 0; i < n; i++) {
		rc = build(s, &recs[i], !stream, e);
		if (rc != 0) {
			*accepted = stream ? 0 : i;
			return rc;
		}
		if (stream) {
			plen = sink_syslog_frame_prefix(s->msg.len, prefix, sizeof(prefix));
			if (write_all(s->fd, prefix, plen, s->msg.data, s->msg.len) == 0)
				continue;
		} else {
			ssize_t k;
			do
				k = send(s->fd, s->msg.data, s->msg.len, MSG_NOSIGNAL);
			while (k < 0 && errno == EINTR);
			if (k == (ssize_t)s->msg.len)
				continue;
			if (k >= 0)
				errno = EMSGSIZE;
			else if (errno == EAGAIN || errno == EWOULDBLOCK)
				errno = ETIMEDOUT;
		}
		err = errno;
		drop_fd(s);
		/* A stream may have lost what the kernel took before the failure. */
		*accepted = stream ? 0 : i;
		return bg_err_set(e, BG_EIO, "syslog sink %s: record %lld: cannot send: %s",
		                  s->address, (long long)recs[i].seq, strerror(err));
	}
	*accepted = n;
	return 0;
}

/* librelp writes with send(..., 0): a receiver that went away would raise SIGPIPE.
 * Block it in this thread for the call and take any that is pending before unblocking. */
static void sigpipe_block(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

static void sigpipe_restore(const sigset_t *old)
{
	sigset_t set;
	struct timespec zero = {0, 0};

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	if (!sigismember(old, SIGPIPE))
		while (sigtimedwait(&set, NULL, &zero) == SIGPIPE)
			;
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

static int deliver_relp(sink_syslog *s, const sink_rec *recs, size_t n, size_t *accepted, bg_err *e)
{
	relpClt_t *clt = NULL;
	relpRetVal r;
	unsigned secs = (BG_SINK_IO_TIMEOUT_MS + 999) / 1000;
	sigset_t old;
	size_t i;
	int rc = 0;

	*accepted = 0;
	s->relp_failed = false;
	s->relp_msg[0] = '\0';
	sigpipe_block(&old);
	r = relpEngineCltConstruct(s->relp, &clt);
	if (r != RELP_RET_OK || clt == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "syslog sink %s: cannot set up a RELP client",
		                s->address);
		goto done;
	}
	if (relpCltSetUsrPtr(clt, s) != RELP_RET_OK ||
	    relpCltSetTimeout(clt, secs) != RELP_RET_OK ||
	    relpCltSetConnTimeout(clt, (int)secs) != RELP_RET_OK) {
		rc = bg_err_set(e, BG_EIO, "syslog sink %s: cannot set up a RELP client",
		                s->address);
		goto done;
	}
	r = relpCltConnect(clt, AF_UNSPEC, (unsigned char *)s->addr.port,
	                   (unsigned char *)s->addr.host);
	if (r != RELP_RET_OK || s->relp_failed) {
		rc = bg_err_set(e, BG_EIO, "syslog sink %s: cannot open a RELP session: %s",
		                s->address, s->relp_msg[0] ? s->relp_msg : "refused or timed out");
		goto done;
	}
	for (i = 0; i < n; i++) {
		rc = build(s, &recs[i], false, e);
		if (rc != 0)
			goto done;
		r = relpCltSendSyslog(clt, (unsigned char *)s->msg.data, s->msg.len);
		if (r != RELP_RET_OK || s->relp_failed) {
			rc = bg_err_set(e, BG_EIO, "syslog sink %s: RELP failed at record %lld: %s",
			                s->address, (long long)recs[i].seq,
			                s->relp_msg[0] ? s->relp_msg : "session broken");
			goto done;
		}
	}
	/* The close and its answer: after it, every frame before it has been answered. */
	relpEngineCltDestruct(s->relp, &clt);
	clt = NULL;
	if (s->relp_failed)
		rc = bg_err_set(e, BG_EIO, "syslog sink %s: RELP batch not acknowledged: %s",
		                s->address, s->relp_msg);
done:
	if (clt != NULL)
		relpEngineCltDestruct(s->relp, &clt);
	sigpipe_restore(&old);
	if (rc == 0)
		*accepted = n;
	return rc;
}

static int sink_syslog_deliver(void *self, const sink_rec *recs, size_t n, size_t *accepted,
                               bg_err *e)
{
	sink_syslog *s = self;
	int rc;

	*accepted = 0;
	if (s == NULL || recs == NULL || n == 0)
		return bg_err_set(e, BG_EINVAL, "syslog sink: nothing to deliver");
	s->pid = (long)getpid();
	rc = s->addr.proto == SINK_SYSLOG_RELP ? deliver_relp(s, recs, n, accepted, e)
	                                       : deliver_fd(s, recs, n, accepted, e);
	/* A record of many megabytes is rare: do not keep its buffer for the ones after it. */
	if (s->msg.cap > KEEP_BUF) {
		bg_buf_free(&s->msg);
		bg_buf_init(&s->msg, BG_SYSLOG_HEADER_MAX + BG_MAX_AUDIT_LINE);
	}
	return rc;
}

const sink_ops sink_syslog_ops = {
    .type = "syslog",
    .open = sink_syslog_open,
    .deliver = sink_syslog_deliver,
    .resume = NULL,
    .close = sink_syslog_close,
};
