/*
 * sink_stub.h - the redacted stub of an audit record: what a sink sends in place of a
 * record too long for its destination (a syslog datagram, a CloudWatch Logs event).
 *
 *   {"seq":N,"prev_hash":"..","hash":"..","redacted":true}
 *
 * verify.h takes a redacted record's hash as given and still checks the links through
 * it, so a copy with stubs verifies, as partial, while the full record stays in the
 * store. One builder for every sink, so they all write the form the verifier reads.
 */
#ifndef BG_AUDIT_SINK_STUB_H
#define BG_AUDIT_SINK_STUB_H

#include <stddef.h>

#include "audit/sink.h"
#include "common/err.h"

/* Builds the stub of r from its JSON line: *out (a heap string the caller frees) of *len
 * bytes. Returns 0, BG_EINVAL (e names the seq) when the line is not a record of seq
 * r->seq with string prev_hash and hash, or BG_ENOMEM. Pure. */
int sink_stub(const sink_rec *r, char **out, size_t *len, bg_err *e) BG_MUST_CHECK;

#endif
