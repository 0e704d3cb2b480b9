#!/usr/bin/python3
"""test_hostile.py - the gateway's HTTP transport against hostile clients.

Pins down how the event-driven transport must behave, at the byte level (raw sockets
where framing matters, botocore's SigV4Auth where a valid signature is wanted):

  1. strict framing (RFC 9112): differing duplicate Content-Length, Transfer-Encoding
     that is not exactly "chunked" next to a Content-Length, an unparseable
     Content-Length, Expect: 100-continue with an oversize body; a well-formed chunked
     body is accepted;
  2. every error the HTTP layer makes is DynamoDB-shaped (never HTML, 5xx or throttling);
  3. refusals that need no body come before the body is read, so 64 clients pushing
     bodies nobody will accept cannot inflate the gateway's memory;
  4. validly signed requests refused by the transport (query string, other path, too
     many headers, oversize body) are audited as denials;
  5. slow-loris: 1100 trickling connections do not lock out real clients; a header
     timeout; a connection cap that evicts idle connections before busy ones;
  6. a slow upstream holds only its own request; one that never answers becomes
     RequestOutcomeUnknownException, audited with outcome "unknown";
  7. SIGTERM drains in-flight requests within a bound and exits 0;
  8. a stuck audit log refuses every request promptly (fail closed, never a hang);
  9. the gateway keeps no copy of a grant's secret after handing it out.

Each part runs against a gateway of its own (`breakglass serve` on a free port, sharing
the run's store, flags below), so a hostile test cannot disturb the run's gateway, and
each part is fenced: a crash in one is a FAIL line and the next part still runs.

Settings the tests assume (flag / config key / environment variable; durations as "2s"):
  --header-timeout D    header_timeout    BREAKGLASS_HEADER_TIMEOUT
  --max-connections N   max_connections   BREAKGLASS_MAX_CONNECTIONS
  --upstream-timeout D  upstream_timeout  BREAKGLASS_UPSTREAM_TIMEOUT
  --drain-timeout D     drain_timeout     BREAKGLASS_DRAIN_TIMEOUT
If serve refuses the flags, that is one FAIL and the gateways are started with the
environment variables instead, so the behaviour behind them is still measured. The
config-file keys are checked at start-up, the variable behind --header-timeout also by
its effect.

Run by run.sh (/usr/bin/python3), which starts dynalite and the run's gateway.
"""
import http.client
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import Report, bg, lib, note_secret  # noqa: E402
from hostile_util import (DDB_JSON, FakeUpstream, Gateway, Loris, Raw,  # noqa: E402
                          audit_by_marker, audit_head_seq, audit_since, count_in_memory,
                          ddb_error_problems, dynalite_delete, dynalite_has_item, http_call,
                          log_dir, request_bytes, signed_headers, signed_request,
                          status_lines)

REPORT = Report("[hostile] ")


def report(ok, name, detail=""):
    """One PASS/FAIL line: the detail is folded onto the line (run.sh counts lines). A
    pass's detail (timings, counts) goes to stderr, which the kept log holds."""
    detail = " ".join(str(detail).split())
    REPORT(ok, name, detail)
    if ok and detail:
        print(f"  ({detail[:300]})", file=sys.stderr, flush=True)


MiB = 1 << 20
# Any client error but throttling: where the contract names no status, the transport
# may pick the one RFC 9110 suggests (404, 405, 431...), as long as the body is
# DynamoDB's shape.
ANY_4XX = tuple(s for s in range(400, 500) if s != 429)
OVERSIZE = 17 * MiB  # over the 16 MiB request limit


class Ctx:
    """What the parts share: the grant's credentials, the admin's token for the audit,
    the fake upstream, and everything to stop or delete at the end."""

    def __init__(self):
        self.creds = None
        self.grant_id = None
        self.admin_token = None
        self.use_flags = True
        self.fake = None
        self.gateways = []
        self.keys = []  # Users items that must never exist; deleted at the end anyway
        self.run = uuid.uuid4().hex[:8]

    def gateway(self, name, upstream, settings=None):
        gw = Gateway(name, upstream, settings, use_flags=self.use_flags)
        self.gateways.append(gw)
        if not gw.start():
            raise RuntimeError(f"gateway {name} did not start: {gw.start_error}")
        return gw

    def new_key(self, tag):
        k = f"u-hostile-{self.run}-{tag}"
        self.keys.append(k)
        return k


def put_body(key):
    return json.dumps({"TableName": "Users", "Item": {"id": {"S": key},
                                                        "email": {"S": "h@example.com"}}}).encode()


def get_body(table="Orders"):
    if table == "Orders":
        return json.dumps({"TableName": "Orders", "Key": {"customer": {"S": "c-100"},
                                                          "order_id": {"S": "o-1"}}}).encode()
    return json.dumps({"TableName": table, "Key": {"id": {"S": uuid.uuid4().hex}}}).encode()


def query_body():
    return json.dumps({"TableName": "Orders", "KeyConditionExpression": "customer = :c",
                       "ExpressionAttributeValues": {":c": {"S": "c-200"}}}).encode()


def marked_body(table, marker):
    """A GetItem whose body carries marker, so the fake upstream can tell it saw it."""
    return json.dumps({"TableName": table, "Key": {"id": {"S": marker}}}).encode()


def in_users(key):
    return dynalite_has_item("Users", {"id": {"S": key}})


def shape(name, resp, statuses=ANY_4XX, code=None):
    bad = ddb_error_problems(resp, statuses, code)
    report(not bad, f"{name}: DynamoDB-shaped error", "; ".join(bad))


def probe(port, data, timeout):
    """Sends data on a new connection and reads until the gateway closes it or timeout.
    Returns the connection (its .data, .eof, .responses()) and the seconds to close."""
    c = Raw(port)
    t0 = time.monotonic()
    c.send(data)
    c.wait_closed(timeout)
    c.close()
    return c, (c.eof_at - t0 if c.eof else None)


def first_final(c):
    return next((r for r in c.responses() if r.status >= 200), None)


def describe(c):
    rs = c.responses()
    return (f"{[repr(r) for r in rs][:3]} closed={c.eof} reset={c.reset} "
            f"{len(c.data)} bytes {c.data[:120]!r}")


# --- 0. the settings exist ----------------------------------------------------------------

def part_settings(ctx, dyn):
    settings = {"header_timeout": "2s", "max_connections": 64, "upstream_timeout": "2s",
                "drain_timeout": "5s"}
    gw = Gateway("flags", dyn, settings, use_flags=True)
    ctx.gateways.append(gw)
    ok = gw.start()
    report(ok, "serve accepts --header-timeout 2s --max-connections 64 --upstream-timeout 2s "
           "--drain-timeout 5s", gw.start_error or "")
    gw.stop()
    ctx.use_flags = ok

    cfg = os.path.join(log_dir(), "hostile-config.yaml")
    with open(cfg, "w") as f:
        f.write("header_timeout: 2s\nmax_connections: 64\nupstream_timeout: 2s\n"
                "drain_timeout: 5s\n")
    gw = Gateway("config", dyn, config_file=cfg)
    ctx.gateways.append(gw)
    ok = gw.start()
    report(ok, "serve accepts header_timeout, max_connections, upstream_timeout, drain_timeout "
           "in its config file", gw.start_error or "")
    gw.stop()


# --- 1 and 2. framing, and the shape of the transport's own errors ------------------------

def part_framing(ctx, gw):
    creds, host = ctx.creds, gw.host

    # Two Content-Length headers that disagree: a proxy that believes one and a server
    # that believes the other is request smuggling. The signed body is a PutItem of a
    # fresh item, so "not forwarded" is visible in dynalite. Both orders: a transport
    # that takes the first or the last value forwards one of them.
    for order in ("first", "last"):
        key = ctx.new_key(f"cl-{order}")
        body = put_body(key)
        right, wrong = str(len(body)), str(len(body) - 5)
        cls = [right, wrong] if order == "first" else [wrong, right]
        hdrs = signed_headers(creds, host, "PutItem", body)
        hdrs += [("Content-Length", cls[0]), ("Content-Length", cls[1])]
        c, _ = probe(gw.port, request_bytes("POST", "/", hdrs, body), 3.0)
        r = first_final(c)
        report(r is not None and r.status == 400 and c.eof,
               f"two differing Content-Length (the right one {order}) -> 400, connection closed",
               describe(c))
        forwarded = in_users(key)
        report(not forwarded,
               f"two differing Content-Length (the right one {order}) -> not forwarded",
               "the item is in dynalite" if forwarded else "")
        if order == "first":
            shape("two differing Content-Length", r, (400,))

    # Transfer-Encoding other than exactly "chunked" with a Content-Length: RFC 9112
    # 6.1 says respond 400 and close. The body is a complete signed PutItem under the
    # Content-Length reading, so a lenient transport would forward it.
    for te in ("chunked, identity", "xchunked"):
        key = ctx.new_key(f"te-{te[:2]}")
        body = put_body(key)
        hdrs = signed_headers(creds, host, "PutItem", body)
        hdrs += [("Transfer-Encoding", te), ("Content-Length", str(len(body)))]
        c, _ = probe(gw.port, request_bytes("POST", "/", hdrs, body), 2.0)
        r = first_final(c)
        report(r is not None and r.status == 400 and c.eof,
               f"Transfer-Encoding: {te} + Content-Length -> 400 and closed within 2 s",
               describe(c))
        forwarded = in_users(key)
        report(not forwarded, f"Transfer-Encoding: {te} + Content-Length -> not forwarded",
               "the item is in dynalite" if forwarded else "")
        shape(f"Transfer-Encoding: {te} + Content-Length", r, (400,))

    # A Content-Length no integer type holds: one answer, not two.
    hdrs = [("Host", host), ("Content-Type", DDB_JSON),
            ("X-Amz-Target", "DynamoDB_20120810.GetItem"),
            ("Content-Length", "99999999999999999999999")]
    c, _ = probe(gw.port, request_bytes("POST", "/", hdrs), 3.0)
    r = first_final(c)
    n = status_lines(c.data)
    report(n == 1 and r is not None and r.status in (400, 413),
           "unparseable Content-Length -> exactly one answer, 400 or 413",
           f"{n} status lines; {describe(c)}")
    shape("unparseable Content-Length", r, (400, 413))

    # Expect: 100-continue with a body over the limit: refuse at once, never invite it.
    for signed in (False, True):
        if signed:
            hdrs = signed_headers(creds, host, "GetItem", b" " * OVERSIZE)
        else:
            hdrs = [("Host", host), ("Content-Type", DDB_JSON),
                    ("X-Amz-Target", "DynamoDB_20120810.GetItem")]
        hdrs += [("Expect", "100-continue"), ("Content-Length", str(OVERSIZE))]
        c = Raw(gw.port)
        c.send(request_bytes("POST", "/", hdrs))
        c.wait_response(3.0)
        c.wait_closed(0.3)  # anything sent right after (a second block) is seen too
        c.close()
        rs = c.responses()
        r = first_final(c)
        cont = [x for x in rs if x.status == 100] or b"100 Continue" in c.data
        what = "signed" if signed else "unsigned"
        report(r is not None and r.status == 413 and not cont,
               f"Expect: 100-continue with a 17 MiB Content-Length ({what}) -> 413, "
               "no 100 Continue", describe(c))
        if not signed:
            shape("Expect: 100-continue with a 17 MiB Content-Length", r, (413,))

    # A well-formed chunked body, signed (botocore signs the body's hash): accepted.
    body = get_body()
    hdrs = signed_headers(creds, host, "GetItem", body) + [("Transfer-Encoding", "chunked")]
    parts = [body[:10], body[10:25], body[25:]]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    c = Raw(gw.port)
    c.send(request_bytes("POST", "/", hdrs, chunked))
    r = c.wait_response(5.0)
    c.close()
    item = (r.json() or {}).get("Item") if r else None
    report(r is not None and r.status == 200 and item is not None,
           "a well-formed chunked, signed GetItem -> answered normally", describe(c))


def part_shapes(ctx, gw):
    """Errors the transport makes before the DynamoDB endpoint sees anything."""
    host = gw.host
    ddb = [("Host", host), ("Content-Type", DDB_JSON),
           ("X-Amz-Target", "DynamoDB_20120810.GetItem")]
    cases = [
        ("malformed request line (garbage)", b"GARBAGE\r\n\r\n"),
        ("malformed request line (control byte in the method)",
         b"PO\x01ST / HTTP/1.1\r\nHost: " + host.encode() + b"\r\n\r\n"),
        ("header line without a colon",
         b"POST / HTTP/1.1\r\nHost: " + host.encode() + b"\r\nNoColonHere\r\n"
         b"Content-Length: 2\r\n\r\n{}"),
        ("too many headers (70)",
         request_bytes("POST", "/", ddb + [(f"X-Filler-{i}", "v") for i in range(70)] +
                       [("Content-Length", "2")], b"{}")),
        ("GET /foo", request_bytes("GET", "/foo", [("Host", host)])),
        ("PUT /", request_bytes("PUT", "/", ddb + [("Content-Length", "2")], b"{}")),
        ("DELETE /", request_bytes("DELETE", "/", [("Host", host), ("Content-Length", "0")])),
        ("POST /foo", request_bytes("POST", "/foo", ddb + [("Content-Length", "2")], b"{}")),
        ("POST /?x=1", request_bytes("POST", "/?x=1", ddb + [("Content-Length", "2")], b"{}")),
    ]
    for name, data in cases:
        c = Raw(gw.port)
        c.send(data)
        r = c.wait_response(3.0)
        c.close()
        bad = ddb_error_problems(r, ANY_4XX)
        report(not bad, f"{name}: DynamoDB-shaped error", "; ".join(bad) + " | " + describe(c))


# --- 3. refusals before the body, and memory under bodies nobody wants ------------------

def early_headers(host, unknown_key):
    if unknown_key:
        from botocore.credentials import Credentials
        hdrs = signed_headers(Credentials("AKIAHOSTILEUNKNOWN01", "x" * 40), host, "GetItem",
                              b"")
    else:
        hdrs = [("Host", host), ("Content-Type", DDB_JSON),
                ("X-Amz-Target", "DynamoDB_20120810.GetItem")]
    return request_bytes("POST", "/", hdrs + [("Content-Length", "16000000")])


def part_early(ctx, gw):
    for unknown, code in ((False, "MissingAuthenticationTokenException"),
                          (True, "UnrecognizedClientException")):
        c = Raw(gw.port)
        t0 = time.monotonic()
        c.send(early_headers(gw.host, unknown))
        r = c.wait_response(3.0)
        secs = time.monotonic() - t0
        c.close()
        what = "an unknown access key" if unknown else "no Authorization"
        bad = ddb_error_problems(r, (400,), code)
        report(not bad, f"headers of a 16 MB POST with {what} -> 400 {code} before the body "
               f"(within 3 s)", f"{'; '.join(bad)} after {secs:.1f}s | {describe(c)}")


def part_flood(ctx, gw):
    """64 clients each send headers and then push body bytes the gateway will refuse."""
    stop = threading.Event()
    sent = [0] * 64
    chunk = b" " * 65536

    def flood(i):
        try:
            c = Raw(gw.port)
        except OSError:
            return
        try:
            c.sock.settimeout(1.0)
            c.sock.sendall(early_headers(gw.host, unknown_key=bool(i % 2)))
            while not stop.is_set() and sent[i] < 8 * MiB:
                c.sock.sendall(chunk)  # blocks at most 1 s when nobody reads
                sent[i] += len(chunk)
                time.sleep(0.03)
        except OSError:
            pass  # the gateway answered and closed: what it should do
        finally:
            c.close()

    base = gw.rss_kib()
    peak = base
    threads = [threading.Thread(target=flood, args=(i,), daemon=True) for i in range(64)]
    for t in threads:
        t.start()
    end = time.monotonic() + 5.0
    while time.monotonic() < end and any(t.is_alive() for t in threads):
        peak = max(peak, gw.rss_kib())
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(3)
    peak = max(peak, gw.rss_kib())
    report(gw.alive() and peak < 100 * 1024,
           "64 clients pushing refused bodies slowly: gateway RSS stays below 100 MiB",
           f"peak VmRSS {peak // 1024} MiB (start {base // 1024} MiB), "
           f"{sum(sent) // MiB} MiB of body sent, alive={gw.alive()}")


# --- 4. validly signed requests the transport refuses are audited ----------------------

def part_audited(ctx, gw):
    creds, host = ctx.creds, gw.host
    start = audit_head_seq()
    body = get_body()
    answers = {}

    def one(name, data, statuses, code=None, big_body=None):
        c = Raw(gw.port, timeout=10)
        c.send(data)
        if big_body is not None:
            # Send the body from another thread while this one reads: the gateway may
            # answer (and stop reading) before the body is in.
            def push():
                c.sock.settimeout(5)
                try:
                    view = memoryview(big_body)
                    for off in range(0, len(view), 1 << 20):
                        c.sock.sendall(view[off:off + (1 << 20)])
                except OSError:
                    pass
            t = threading.Thread(target=push, daemon=True)
            t.start()
        r = c.wait_response(10.0)
        c.close()
        answers[name] = r
        bad = ddb_error_problems(r, statuses, code)
        report(not bad, f"signed {name} -> refused, DynamoDB-shaped",
               "; ".join(bad) + " | " + describe(c))

    one("POST /?x=1", signed_request(creds, host, "GetItem", body, query="x=1"), (400,))
    one("POST /foo", signed_request(creds, host, "GetItem", body, path="/foo"), ANY_4XX)
    hdrs = signed_headers(creds, host, "GetItem", body)
    hdrs += [(f"X-Filler-{i}", "v") for i in range(70)] + [("Content-Length", str(len(body)))]
    one("request with 70 headers", request_bytes("POST", "/", hdrs, body), ANY_4XX)
    big = b" " * OVERSIZE
    hdrs = signed_headers(creds, host, "GetItem", big) + [("Content-Length", str(len(big)))]
    one("17 MiB body", request_bytes("POST", "/", hdrs), (413,),
        "RequestEntityTooLargeException", big_body=big)

    # The denial may be committed just after the answer is released; give it 3 s.
    deadline = time.monotonic() + 3.0
    while True:
        denials = {r.get("request_id") for r in audit_since(ctx.admin_token, start)
                   if r.get("kind") == "denial"}
        missing = [n for n, r in answers.items()
                   if r is None or not (r.header("x-amzn-RequestId") in denials)]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    for name, r in answers.items():
        rid = r.header("x-amzn-RequestId") if r else None
        report(name not in missing, f"signed {name} -> an audit record of kind denial",
               f"no denial with request_id {rid!r}")


# --- 5. slow clients: header timeout, slow-loris, connection cap ------------------------

def silent_partial_header(gw):
    """Sends half a header block and waits: (closed, seconds)."""
    c = Raw(gw.port)
    t0 = time.monotonic()
    c.send(b"POST / HTTP/1.1\r\nHost: " + gw.host.encode() + b"\r\nX-Amz-Target: Dyn")
    closed = c.wait_closed(4.0)
    secs = time.monotonic() - t0
    c.close()
    return closed, secs


def part_header_timeout(ctx, dyn):
    # The setting from the environment alone (every serve setting has a variable).
    gw = Gateway("header-timeout-env", dyn, {"header_timeout": "2s"}, use_flags=False)
    ctx.gateways.append(gw)
    if not gw.start():
        raise RuntimeError(f"gateway header-timeout-env did not start: {gw.start_error}")
    closed, secs = silent_partial_header(gw)
    report(closed and secs <= 3.5,
           "BREAKGLASS_HEADER_TIMEOUT=2s: partial header block then silence closed within "
           "2 s (+1.5 s)", f"closed={closed} after {secs:.1f}s")
    gw.stop()

    gw = ctx.gateway("header-timeout", dyn, {"header_timeout": "2s"})
    closed, secs = silent_partial_header(gw)
    report(closed and secs <= 3.5,
           "partial header block then silence: closed within the 2 s header timeout (+1.5 s)",
           f"closed={closed} after {secs:.1f}s")

    # The timeout bounds the whole header block, not the gap between bytes, or a
    # trickle of one byte per half second would hold the connection forever.
    c = Raw(gw.port)
    t0 = time.monotonic()
    payload = Loris.PAYLOAD
    i = 0
    while time.monotonic() - t0 < 5.0 and not c.eof:
        c.send(payload[i:i + 1])
        i += 1
        c.wait_closed(0.5)
    secs = time.monotonic() - t0
    c.close()
    report(c.eof and secs <= 3.5,
           "header block trickled a byte per 0.5 s: closed within the 2 s header timeout "
           "(+1.5 s)", f"closed={c.eof} after {secs:.1f}s")
    gw.stop()


def part_loris(ctx, dyn):
    gw = ctx.gateway("loris", dyn)
    loris = Loris(gw.port, 1100).start()
    results = [None] * 20
    try:
        time.sleep(1.5)  # all 1100 opened and trickling

        def legit(i):
            time.sleep(i * 0.5)
            op, body = ("GetItem", get_body()) if i % 2 == 0 else ("Query", query_body())
            try:
                r, secs = http_call(gw.port, ctx.creds, op, body, timeout=4.0)
                results[i] = (r.status, f"{secs:.1f}s")
            except Exception as e:  # noqa: BLE001 - any failure of a real client counts
                results[i] = (None, f"{type(e).__name__}: {e}")

        ts = [threading.Thread(target=legit, args=(i,), daemon=True) for i in range(20)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(16)
        connected = loris.connected()
    finally:
        loris.stop()
    ok = [r for r in results if r and r[0] == 200]
    bad = [r for r in results if not (r and r[0] == 200)]
    report(len(ok) == 20 and gw.alive(),
           "slow-loris (1100 connections, a header byte per second): 20 signed "
           "GetItem/Query over 10 s all succeed",
           f"{len(ok)}/20 ok; loris connected {connected}, reopened {loris.reopened}; "
           f"failures: {bad[:3]}; alive={gw.alive()}")
    gw.stop()


def part_cap(ctx):
    ctx.fake.hold = 3.0
    gw = ctx.gateway("cap", ctx.fake.url, {"max_connections": 64, "header_timeout": "30s",
                                           "upstream_timeout": "10s"})
    host = gw.host
    clients, answers, idle = [], [None] * 8, []
    try:
        for i in range(8):
            conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
            body = get_body("fast")
            conn.request("POST", "/", body=body,
                         headers=dict(signed_headers(ctx.creds, host, "GetItem", body)))
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                raise RuntimeError(f"keep-alive client {i}: HTTP {r.status}")
            clients.append(conn)

        def mid_request(i):
            body = marked_body("slow", f"cap-{ctx.run}-{i}")
            try:
                clients[i].request("POST", "/", body=body, headers=dict(
                    signed_headers(ctx.creds, host, "GetItem", body)))
                r = clients[i].getresponse()
                r.read()
                answers[i] = r.status
            except Exception as e:  # noqa: BLE001
                answers[i] = f"{type(e).__name__}: {e}"

        ts = [threading.Thread(target=mid_request, args=(i,), daemon=True) for i in range(8)]
        for t in ts:
            t.start()
        time.sleep(0.3)
        # A gateway that stops accepting leaves connects hanging (SYNs dropped once the
        # backlog is full): give the 200 at most 4 s in all.
        refused = 0
        opening_ends = time.monotonic() + 4.0
        for i in range(200):
            if time.monotonic() > opening_ends:
                refused += 200 - i
                break
            try:
                c = Raw(gw.port, timeout=1.0)
                if i % 2:
                    c.send(b"POST / HTTP/1.1\r\nHost: " + host.encode() + b"\r\n")
                idle.append(c)
            except OSError:
                refused += 1
        for t in ts:
            t.join(8)
        report(all(a == 200 for a in answers),
               "max-connections 64, 200 idle/slow connections opened: 8 keep-alive clients "
               "mid-request get their answers", f"answers {answers}; {refused} idle refused")

        # A newcomer while the idle ones are (or were) open.
        outcome = []
        deadline = time.monotonic() + 6.0
        while time.monotonic() < deadline:
            try:
                r, secs = http_call(gw.port, ctx.creds, "GetItem", get_body("fast"),
                                    timeout=3.0)
                outcome.append(f"HTTP {r.status} {secs:.1f}s")
                if r.status == 200:
                    break
            except Exception as e:  # noqa: BLE001
                outcome.append(f"{type(e).__name__}: {e}")
                time.sleep(0.2)
        report(outcome and outcome[-1].startswith("HTTP 200") and len(outcome) <= 3,
               "max-connections 64 with 200 idle/slow connections: a new client gets a "
               "request through (at most 3 tries)", f"tries: {outcome[:4]}")
    finally:
        for c in idle:
            c.close()
        for conn in clients:
            conn.close()
        gw.stop()


# --- 6. a slow upstream ----------------------------------------------------------------

def part_slow_upstream(ctx):
    gw = ctx.gateway("slow-upstream", ctx.fake.url, {"upstream_timeout": "2s"})
    start = audit_head_seq()
    marker = f"never-{ctx.run}"
    body = marked_body("never", marker)
    held = Raw(gw.port, timeout=10)
    t0 = time.monotonic()
    held.send(signed_request(ctx.creds, gw.host, "GetItem", body))
    time.sleep(0.2)

    lat = [None] * 10

    def fast(i):
        try:
            r, secs = http_call(gw.port, ctx.creds, "GetItem", get_body("fast"), timeout=5.0)
            lat[i] = (r.status, secs)
        except Exception as e:  # noqa: BLE001
            lat[i] = (None, f"{type(e).__name__}")

    ts = [threading.Thread(target=fast, args=(i,), daemon=True) for i in range(10)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(6)
    still_held = held.final() is None and not held.eof
    shown = [(x[0], round(x[1], 2) if isinstance(x[1], float) else x[1]) if x else None
             for x in lat]
    report(all(x and x[0] == 200 and x[1] < 1.0 for x in lat) and still_held,
           "a request held by the upstream does not delay 10 others on other connections "
           "(each < 1 s)", f"{shown} held request still outstanding={still_held}")

    r = held.wait_response(max(0.1, t0 + 5.0 - time.monotonic()))
    secs = time.monotonic() - t0
    held.close()
    bad = ddb_error_problems(r, (400,), "RequestOutcomeUnknownException")
    msg = r.message().lower() if r else ""
    if r is not None and "may" not in msg and "might" not in msg:
        bad.append(f"message does not say the request may or may not have run: {msg[:100]!r}")
    report(not bad, "upstream silent past --upstream-timeout 2s -> 400 "
           "RequestOutcomeUnknownException (within 5 s)",
           f"{'; '.join(bad)} after {secs:.1f}s | {r!r}")

    # Its response record (found through the request record, which holds the body and
    # so the marker) says the outcome is unknown.
    deadline = time.monotonic() + 3.0
    rec = None
    while rec is None and time.monotonic() < deadline:
        for recs in audit_by_marker(audit_since(ctx.admin_token, start), marker).values():
            rec = next((x for x in recs if x.get("kind") == "response"), rec)
        if rec is None:
            time.sleep(0.3)
    outcome = ((rec or {}).get("detail") or {}).get("outcome")
    report(outcome == "unknown", "its audit response record has detail.outcome \"unknown\"",
           f"record {json.dumps(rec)[:300] if rec else 'missing'}")
    ctx.fake.release_never()
    gw.stop(grace=5)


# --- 7. SIGTERM drains -----------------------------------------------------------------

class ExitWatch:
    """Notes when a process exits, from a thread of its own, so the time is right even
    while the test is busy reading answers."""

    def __init__(self, proc):
        self.proc = proc
        self.at = None
        self.thread = threading.Thread(target=self._wait, daemon=True)
        self.thread.start()

    def _wait(self):
        try:
            self.proc.wait(60)
            self.at = time.monotonic()
        except subprocess.TimeoutExpired:
            pass

    def wait(self, deadline):
        """The exit time, or None if still running at deadline."""
        self.thread.join(max(0.0, deadline - time.monotonic()))
        return self.at


def after_signal_attempt(ctx, gw, marker):
    """A new connection after SIGTERM: it must be refused, or closed with no request
    processed (no answer, and the upstream never sees it)."""
    try:
        c = Raw(gw.port, timeout=2)
    except OSError as e:
        return True, f"connect: {type(e).__name__}"
    c.send(signed_request(ctx.creds, gw.host, "GetItem", marked_body("fast", marker)))
    c.wait_closed(7.0)
    c.close()
    ok = c.eof and not c.responses() and not ctx.fake.saw(marker)
    return ok, f"closed={c.eof} answers={c.responses()[:1]} upstream saw it={ctx.fake.saw(marker)}"


def part_drain(ctx):
    ctx.fake.hold = 1.5
    gw = ctx.gateway("drain", ctx.fake.url, {"drain_timeout": "5s", "upstream_timeout": "10s"})
    start = audit_head_seq()
    tag = f"drain-{ctx.run}"
    reqs = [signed_request(ctx.creds, gw.host, "GetItem", marked_body("slow", f"{tag}-{i:02d}"))
            for i in range(20)]
    conns = [Raw(gw.port, timeout=10) for _ in reqs]
    for c, req in zip(conns, reqs):
        c.send(req)
    # 0.3 s, and all 20 at the upstream (so every one is surely in flight), at most 1 s.
    time.sleep(0.3)
    deadline = time.monotonic() + 0.7
    while ctx.fake.saw(tag) < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    at_upstream = ctx.fake.saw(tag)
    watch = ExitWatch(gw.proc)
    sig_t = time.monotonic()
    gw.proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    new_ok, new_detail = after_signal_attempt(ctx, gw, f"after-{tag}")
    answers = []
    for c in conns:
        answers.append(c.wait_response(max(0.1, sig_t + 7.0 - time.monotonic())))
        c.close()
    exit_t = watch.wait(sig_t + 7.0)
    rc = gw.proc.returncode
    got = [r.status if r else None for r in answers]
    report(all(s == 200 for s in got), "SIGTERM with 20 requests in flight: all 20 get their 200",
           f"statuses {got}; {at_upstream} were at the upstream at the signal")
    report(new_ok, "SIGTERM: a new connection afterwards is refused or closed unprocessed",
           new_detail)
    secs = exit_t - sig_t if exit_t else None
    report(exit_t is not None and rc == 0 and secs <= 6.0,
           "SIGTERM: exits 0 within the 5 s drain bound (+1 s)",
           f"exit status {rc}, " + (f"{secs:.1f}s" if secs is not None else "running after 7 s"))
    # Each request is found through its request record (which holds the body, so the
    # marker), whether or not its client got an answer.
    recs = audit_since(ctx.admin_token, start)
    n = 0
    for i in range(20):
        found = audit_by_marker(recs, f"{tag}-{i:02d}")
        n += any(x.get("kind") == "response" for rs in found.values() for x in rs)
    report(n == 20, "SIGTERM: the audit holds a response record for each of the 20",
           f"{n}/20 found")
    gw.stop(grace=3)

    # Requests that outlive the drain bound: answered as unknown outcome, then exit.
    gw = ctx.gateway("drain-bound", ctx.fake.url, {"drain_timeout": "2s",
                                                   "upstream_timeout": "30s"})
    tag = f"bound-{ctx.run}"
    reqs = [signed_request(ctx.creds, gw.host, "GetItem", marked_body("never", f"{tag}-{i:02d}"))
            for i in range(5)]
    conns = [Raw(gw.port, timeout=10) for _ in reqs]
    for c, req in zip(conns, reqs):
        c.send(req)
    time.sleep(0.3)
    deadline = time.monotonic() + 0.7
    while ctx.fake.saw(tag) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    watch = ExitWatch(gw.proc)
    sig_t = time.monotonic()
    gw.proc.send_signal(signal.SIGTERM)
    answers = []
    for c in conns:
        answers.append(c.wait_response(max(0.1, sig_t + 5.0 - time.monotonic())))
        c.close()
    exit_t = watch.wait(sig_t + 5.0)
    rc = gw.proc.returncode
    secs = exit_t - sig_t if exit_t else None
    report(exit_t is not None and rc == 0 and secs <= 3.5,
           "upstream holds requests past --drain-timeout 2s: exits 0 right after the bound "
           "(+1.5 s)",
           f"exit status {rc}, " + (f"{secs:.1f}s" if secs is not None else "running after 5 s"))
    codes = [(r.status, r.code()) if r else None for r in answers]
    report(all(c == (400, "RequestOutcomeUnknownException") for c in codes),
           "upstream holds requests past the drain bound: each client gets 400 "
           "RequestOutcomeUnknownException", f"answers {codes}")
    ctx.fake.release_never()
    gw.stop(grace=3)


# --- 8. the audit log is stuck ---------------------------------------------------------

def part_audit_stuck(ctx, gw):
    import sqlite3

    db = os.path.join(os.environ["E2E_DATA"], "breakglass.db")
    keys = [ctx.new_key(f"stuck-{i}") for i in range(10)]
    results = [None] * 10
    lock = sqlite3.connect(db, isolation_level=None, timeout=10)
    lock.execute("BEGIN IMMEDIATE")  # the store's write lock, as test_fail_closed.sh holds it
    try:
        t0 = time.monotonic()

        def put(i):
            try:
                r, secs = http_call(gw.port, ctx.creds, "PutItem", put_body(keys[i]),
                                    timeout=16.0)
                results[i] = (r.status, r.code(), secs)
            except Exception as e:  # noqa: BLE001
                results[i] = (None, f"{type(e).__name__}", time.monotonic() - t0)

        ts = [threading.Thread(target=put, args=(i,), daemon=True) for i in range(10)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(max(0.1, t0 + 16.0 - time.monotonic()))
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    ok = all(r and r[0] == 400 and r[1] == "RequestRefusedException" and r[2] <= 15.0
             for r in results)
    report(ok, "audit log locked: 10 concurrent PutItem all answered RequestRefusedException "
           "within 15 s", str([(r[0], r[1], round(r[2], 1)) if r else None for r in results]))
    time.sleep(0.5)
    present = [k for k in keys if in_users(k)]
    report(not present, "audit log locked: none of the 10 PutItem reached DynamoDB",
           f"{len(present)} items present")


# --- 9. no secret kept in memory -------------------------------------------------------

def part_secrets(ctx, dyn):
    gw = ctx.gateway("secrets", dyn)
    env = dict(os.environ, BREAKGLASS_URL=gw.url,
               BREAKGLASS_TOKEN=os.environ["E2E_RESPONDER_TOKEN"])
    out = subprocess.run([os.environ["BREAKGLASS_BIN"], "creds", ctx.grant_id, "--format",
                          "json"], capture_output=True, text=True, env=env, timeout=30)
    if out.returncode != 0:
        raise RuntimeError(f"creds through {gw.url}: {out.stderr.strip()[:200]}")
    cr = json.loads(out.stdout)
    time.sleep(0.5)  # the API connection is closed and its handler done
    secret, token = cr["secret_access_key"].encode(), cr["session_token"].encode()
    counts, scanned = count_in_memory(gw.pid, [secret, token])
    report(counts[secret] == 0, "after creds through the API, the gateway's memory holds no "
           "copy of the secret access key", f"{counts[secret]} copies in {scanned // MiB} MiB")
    report(counts[token] == 0, "after creds through the API, the gateway's memory holds no "
           "copy of the session token", f"{counts[token]} copies in {scanned // MiB} MiB")
    gw.stop()


# --- the run ---------------------------------------------------------------------------

def setup(ctx):
    from botocore.credentials import Credentials

    adm = json.loads(lib("admin", "hostile"))
    note_secret(adm["token"])
    ctx.admin_token = adm["token"]
    g = json.loads(lib("grant", adm["token"], adm["totp_secret"], "--user",
                       os.environ["E2E_RESPONDER"], "--table", "Orders,Users,fast,slow,never",
                       "--op", "Query,GetItem,PutItem", "--for", "30m", "--reason",
                       "e2e hostile clients"))
    ctx.grant_id = g["id"]
    cr = json.loads(bg(os.environ["E2E_RESPONDER_TOKEN"], "creds", g["id"], "--json")[1])
    note_secret(cr["secret_access_key"], cr["session_token"])
    ctx.creds = Credentials(cr["access_key_id"], cr["secret_access_key"], cr["session_token"])


def fenced(name, fn, *args):
    """Runs one part; a crash is one FAIL line, and the next part still runs."""
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - a crash is a failure, never a skip
        traceback.print_exc()
        report(False, f"{name} ran to the end", f"{type(e).__name__}: {e}")


def main():
    # 1100 slow-loris sockets here, and as many in the gateways started from here.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    started = time.monotonic()
    ctx = Ctx()
    dyn = os.environ["E2E_DYNALITE_URL"]
    try:
        setup(ctx)
        ctx.fake = FakeUpstream()
        fenced("settings", part_settings, ctx, dyn)
        plain = ctx.gateway("plain", dyn)
        fenced("framing", part_framing, ctx, plain)
        fenced("error shapes", part_shapes, ctx, plain)
        fenced("early refusal", part_early, ctx, plain)
        fenced("signed refusals audited", part_audited, ctx, plain)
        fenced("audit stuck", part_audit_stuck, ctx, plain)
        plain.stop()
        rss = ctx.gateway("rss", dyn)
        fenced("memory under refused bodies", part_flood, ctx, rss)
        rss.stop()
        fenced("header timeout", part_header_timeout, ctx, dyn)
        fenced("slow-loris", part_loris, ctx, dyn)
        fenced("connection cap", part_cap, ctx)
        fenced("slow upstream", part_slow_upstream, ctx)
        fenced("drain", part_drain, ctx)
        fenced("secrets in memory", part_secrets, ctx, dyn)
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        report(False, "test ran to the end", f"{type(e).__name__}: {e}")
    finally:
        for gw in ctx.gateways:
            gw.stop(grace=5)
        if ctx.fake:
            ctx.fake.close()
        for k in ctx.keys:
            dynalite_delete("Users", {"id": {"S": k}})
        print(f"test_hostile: {time.monotonic() - started:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
    REPORT.finish()
