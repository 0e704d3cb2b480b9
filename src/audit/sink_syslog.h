/*
 * sink_syslog.h - the syslog transport of the audit sinks (sink.h, type "syslog"): every
 * record as one RFC 5424 message whose MSG is the record's JSON line, over UDP, TCP
 * (octet-counted framing, RFC 6587), a Unix datagram socket (like /dev/log) or RELP.
 *
 * The message is
 *
 *   <PRI>1 TIMESTAMP HOSTNAME breakglass PROCID MSGID - LINE
 *
 * with facility 13 ("log audit", RFC 5424 table 1), severity 4 (warning) for a refusal
 * (kind "denial", "refusal", "lockout", or ending in "_denied", "_refused" or "_failed")
 * and 5 (notice) for every other record; TIMESTAMP the record's time in UTC with
 * milliseconds, MSGID its kind, no structured data, and LINE the record exactly as
 * `audit export` writes it, so the MSG fields of a receiver's copy verify with
 * `breakglass audit verify --file`.
 *
 * Only RELP acknowledges what it received, so only relp:// can honestly be a required
 * sink; tcp:// checks before each batch that the receiver has not closed the connection
 * (and reconnects), but what the kernel took may still be lost. A datagram (udp://,
 * unix:) never exceeds BG_SYSLOG_DGRAM_MAX: a record whose line is longer than
 * BG_SYSLOG_DGRAM_MAX - BG_SYSLOG_HEADER_MAX bytes goes as its redacted stub instead.
 *
 * The pure parts (address parsing, formatting, framing) are exposed for tests and the
 * fuzz target; the stub is sink_stub.h's, shared with the other sinks.
 */
#ifndef BG_AUDIT_SINK_SYSLOG_H
#define BG_AUDIT_SINK_SYSLOG_H

#include <stddef.h>

#include "audit/sink.h"
#include "common/buf.h"
#include "common/err.h"

/* RFC 5424 facility 13, "log audit". */
#define SINK_SYSLOG_FACILITY 13
#define SINK_SYSLOG_NOTICE   5
#define SINK_SYSLOG_WARNING  4

typedef enum sink_syslog_proto {
	SINK_SYSLOG_UDP,
	SINK_SYSLOG_TCP,
	SINK_SYSLOG_UNIX,
	SINK_SYSLOG_RELP
} sink_syslog_proto;

/* A parsed address: host (without brackets for IPv6) and port for udp/tcp/relp, path for
 * unix. All NUL-terminated. */
typedef struct sink_syslog_addr {
	sink_syslog_proto proto;
	char host[254];
	char port[6];
	char path[108]; /* fits sockaddr_un.sun_path */
} sink_syslog_addr;

/* Parses the n bytes at s: "udp://HOST:PORT", "tcp://HOST:PORT", "relp://HOST:PORT" (HOST
 * a DNS name, an IPv4 address or a bracketed IPv6 address, PORT 1-65535) or "unix:/PATH".
 * Returns 0 and *a, or BG_EINVAL with e saying what is wrong. Pure. */
int sink_syslog_parse_address(const char *s, size_t n, sink_syslog_addr *a,
                              bg_err *e) BG_MUST_CHECK;

/* The severity of a record of this kind (SINK_SYSLOG_WARNING or _NOTICE). Pure. */
int sink_syslog_severity(const char *kind);

/* Appends r as one RFC 5424 message (above) to out, with hostname (non-printable bytes
 * become '_', at most 255 kept; empty or NULL: "-") and procid. Returns 0, or BG_EINVAL
 * (r has no line), BG_ELIMIT or BG_ENOMEM (out's limits). Pure. */
int sink_syslog_format(const sink_rec *r, const char *hostname, long procid, bg_buf *out,
                       bg_err *e) BG_MUST_CHECK;

/* Writes the octet-counting prefix of an n-byte message (RFC 6587 3.4.1: "N " before
 * the message) into out (of cap >= 22 bytes) and returns its length. Pure. */
size_t sink_syslog_frame_prefix(size_t n, char *out, size_t cap);

#endif
