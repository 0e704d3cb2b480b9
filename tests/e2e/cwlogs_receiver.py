#!/usr/bin/python3
"""A loopback stand-in for Amazon CloudWatch Logs, strict where the service is, for the
audit sink's tests (tests/unit/test_sink_cloudwatch.c, tests/e2e/test_cloudwatch_sink.py).

Each request is checked, and any breach is answered as the service would (HTTP 400) and
written to the violations file, which the tests require empty:
  * POST /, Content-Type application/x-amz-json-1.1, X-Amz-Target Logs_20140328.<op>;
  * the signature: botocore's SigV4Auth signs the same request (method, Host, Content-Type,
    X-Amz-Target, body) with the same credentials at the request's X-Amz-Date, and its
    Authorization, X-Amz-Date and X-Amz-Security-Token must equal what was received, byte
    for byte;
  * the body against the operation's input shape in botocore's service model
    (botocore/data/logs/2014-03-28/service-2.json): required members, no unknown ones,
    types, string min/max/pattern, list min/max, long min;
  * PutLogEvents' quotas: at most 10,000 events and 1,048,576 bytes (UTF-8 message bytes
    plus 26 per event), each event at most --max-event bytes the same way, timestamps
    non-decreasing and spanning at most 24 hours.
It keeps log groups and streams like the service: PutLogEvents to a missing stream (or
group) is ResourceNotFoundException, CreateLogStream in a missing group too, an existing
stream ResourceAlreadyExistsException. Events older than 14 days or --retention-days, or
more than 2 hours ahead, are reported in rejectedLogEventsInfo and not kept. Accepted
events are appended to --out as JSON lines {"group", "stream", "timestamp", "message"}, and
each answer to --requests (when given) as "TARGET STATUS ERROR-CODE".

Faults for the tests: --throttle N answers the first N PutLogEvents with
ThrottlingException; --legacy-tokens requires sequence tokens as the service did before
2023 (InvalidSequenceTokenException with expectedSequenceToken, DataAlreadyAcceptedException
for a batch sent again with the token it already used); --lose-answer N keeps the events
of the first N PutLogEvents but answers HTTP 500; --skew-ms D moves the receiver's clock
(events too new or too old for it are reported as the service does).

Usage: cwlogs_receiver.py --port-file F --out F --violations F [--requests F] --akid A --secret S
       [--token T] [--region R] [--group G]... [--retention-days D] [--throttle N]
       [--legacy-tokens] [--lose-answer N] [--skew-ms D] [--max-event B] [--port P]
Listens on 127.0.0.1, port P or a free one, writes the port to --port-file once listening; stops on SIGTERM.
  cwlogs_receiver.py --check-signature  reads one JSON request on stdin ({"host", "region",
       "target", "body", "akid", "secret", "token", "headers": {name: value}}) and prints
       "ok" or what differs (exit 1).
"""

import argparse
import datetime
import json
import os
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MODEL = "/usr/lib/python3/dist-packages/botocore/data/logs/2014-03-28/service-2.json"
MAX_BATCH_EVENTS = 10000
MAX_BATCH_BYTES = 1048576
OVERHEAD = 26
DAY_MS = 24 * 3600 * 1000


def botocore_sign(host, region, target, body, akid, secret, token, amz_date):
    """The headers botocore's SigV4Auth adds to this request signed at amz_date."""
    fixed = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")

    class Fixed(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return fixed

        @classmethod
        def now(cls, tz=None):
            return fixed if tz is None else fixed.replace(tzinfo=tz)

    req = AWSRequest(method="POST", url=f"http://{host}/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": target,
    })
    with mock.patch("botocore.auth.datetime.datetime", Fixed):
        SigV4Auth(Credentials(akid, secret, token), "logs", region).add_auth(req)
    return {k.lower(): v for k, v in req.headers.items()}


def signature_problem(host, region, target, body, akid, secret, token, headers):
    """None when the received headers are what botocore produces, else what differs."""
    got = {k.lower(): v for k, v in headers.items()}
    amz_date = got.get("x-amz-date", "")
    if not re.fullmatch(r"\d{8}T\d{6}Z", amz_date):
        return f"X-Amz-Date {amz_date!r} is not an ISO 8601 basic time"
    want = botocore_sign(host, region, target, body, akid, secret, token, amz_date)
    for name in ("authorization", "x-amz-date", "x-amz-security-token"):
        if want.get(name) != got.get(name):
            return f"{name}: botocore {want.get(name)!r}, received {got.get(name)!r}"
    return None


class Model:
    def __init__(self):
        with open(MODEL) as f:
            self.m = json.load(f)

    def input_shape(self, op):
        o = self.m["operations"].get(op)
        return o and o["input"]["shape"]

    def check(self, shape_name, v, path, out):
        s = self.m["shapes"][shape_name]
        t = s["type"]
        if t == "structure":
            if not isinstance(v, dict):
                out.append(f"{path}: not an object")
                return
            for r in s.get("required", []):
                if r not in v:
                    out.append(f"{path}.{r}: required member missing")
            for k, x in v.items():
                if k not in s["members"]:
                    out.append(f"{path}.{k}: unknown member")
                else:
                    self.check(s["members"][k]["shape"], x, f"{path}.{k}", out)
        elif t == "list":
            if not isinstance(v, list):
                out.append(f"{path}: not a list")
                return
            if len(v) < s.get("min", 0) or len(v) > s.get("max", 1 << 62):
                out.append(f"{path}: {len(v)} items, outside {s.get('min')}..{s.get('max')}")
            for i, x in enumerate(v):
                self.check(s["member"]["shape"], x, f"{path}[{i}]", out)
        elif t == "string":
            if not isinstance(v, str):
                out.append(f"{path}: not a string")
                return
            if len(v) < s.get("min", 0) or len(v) > s.get("max", 1 << 62):
                out.append(f"{path}: length {len(v)} outside {s.get('min')}..{s.get('max')}")
            if "pattern" in s and not re.fullmatch(s["pattern"], v):
                out.append(f"{path}: does not match {s['pattern']}")
            if "enum" in s and v not in s["enum"]:
                out.append(f"{path}: not one of {s['enum']}")
        elif t in ("long", "integer"):
            if not isinstance(v, int) or isinstance(v, bool):
                out.append(f"{path}: not an integer")
                return
            if v < s.get("min", -(1 << 63)) or v > s.get("max", 1 << 63):
                out.append(f"{path}: {v} outside {s.get('min')}..{s.get('max')}")
        elif t == "boolean":
            if not isinstance(v, bool):
                out.append(f"{path}: not a boolean")
        else:
            out.append(f"{path}: shape type {t} not checked by this receiver")


def batch_problems(events, max_event):
    out = []
    total = 0
    for i, ev in enumerate(events):
        n = len(ev["message"].encode("utf-8")) + OVERHEAD
        if n > max_event:
            out.append(f"logEvents[{i}]: {n} bytes with the overhead, over {max_event}")
        total += n
        if i and ev["timestamp"] < events[i - 1]["timestamp"]:
            out.append(f"logEvents[{i}]: timestamp before the previous event's")
    if total > MAX_BATCH_BYTES:
        out.append(f"batch of {total} bytes, over {MAX_BATCH_BYTES}")
    if len(events) > MAX_BATCH_EVENTS:
        out.append(f"batch of {len(events)} events, over {MAX_BATCH_EVENTS}")
    if events and events[-1]["timestamp"] - events[0]["timestamp"] > DAY_MS:
        out.append("batch spans more than 24 hours")
    return out


class State:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.groups = {g: {} for g in a.group}  # group -> stream -> last token
        self.throttle = a.throttle
        self.lose = a.lose_answer
        self.model = Model()
        self.counter = 0

    def violation(self, text):
        with open(self.a.violations, "a") as f:
            f.write(text + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, obj):
        data = json.dumps(obj).encode()
        if self.server.state.a.requests:
            with open(self.server.state.a.requests, "a") as f:
                f.write(f"{self.headers.get('X-Amz-Target', '')} {status} "
                        f"{obj.get('__type', '')}\n")
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000")
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, message, **extra):
        self.answer(status, dict({"__type": code, "message": message}, **extra))

    def do_POST(self):
        st = self.server.state
        a = st.a
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        target = self.headers.get("X-Amz-Target", "")
        problems = []
        if self.path != "/":
            problems.append(f"path {self.path!r}, not /")
        if self.headers.get("Content-Type") != "application/x-amz-json-1.1":
            problems.append(f"Content-Type {self.headers.get('Content-Type')!r}")
        op = target[len("Logs_20140328."):] if target.startswith("Logs_20140328.") else ""
        shape = st.model.input_shape(op) if op else None
        if shape is None:
            problems.append(f"X-Amz-Target {target!r}")
        sig = signature_problem(self.headers.get("Host", ""), a.region, target, body, a.akid,
                                a.secret, a.token, dict(self.headers.items()))
        if sig:
            st.violation(f"{op}: signature: {sig}")
            return self.error(403, "InvalidSignatureException", sig)
        try:
            doc = json.loads(body)
        except ValueError as e:
            doc = None
            problems.append(f"body is not JSON: {e}")
        if shape and doc is not None:
            st.model.check(shape, doc, op, problems)
        if op == "PutLogEvents" and isinstance(doc, dict) and not problems:
            problems += batch_problems(doc["logEvents"], a.max_event)
        if problems:
            st.violation(f"{op}: " + "; ".join(problems))
            return self.error(400, "InvalidParameterException", "; ".join(problems))
        with st.lock:
            if op == "CreateLogStream":
                streams = st.groups.get(doc["logGroupName"])
                if streams is None:
                    return self.error(400, "ResourceNotFoundException",
                                      "The specified log group does not exist.")
                if doc["logStreamName"] in streams:
                    return self.error(400, "ResourceAlreadyExistsException",
                                      "The specified log stream already exists")
                streams[doc["logStreamName"]] = None
                return self.answer(200, {})
            if op != "PutLogEvents":
                return self.error(400, "InvalidOperationException", f"{op} not emulated")
            streams = st.groups.get(doc["logGroupName"])
            if streams is None or doc["logStreamName"] not in streams:
                what = "log group" if streams is None else "log stream"
                return self.error(400, "ResourceNotFoundException",
                                  f"The specified {what} does not exist.")
            if st.throttle > 0:
                st.throttle -= 1
                return self.error(400, "ThrottlingException", "Rate exceeded")
            key = doc["logStreamName"]
            last = streams[key]
            if a.legacy_tokens:
                sent = doc.get("sequenceToken")
                if last is not None and sent == last[0] and body == last[1]:
                    return self.error(400, "DataAlreadyAcceptedException",
                                      "The given batch of log events has already been "
                                      f"accepted. The next batch can be sent with "
                                      f"sequenceToken: {last[2]}",
                                      expectedSequenceToken=last[2])
                want = last[2] if last is not None else None
                if sent != want:
                    return self.error(400, "InvalidSequenceTokenException",
                                      "The given sequenceToken is invalid. The next expected "
                                      f"sequenceToken is: {want or 'null'}",
                                      **({"expectedSequenceToken": want} if want else {}))
            now = int(datetime.datetime.now().timestamp() * 1000) + a.skew_ms
            oldest = now - 14 * DAY_MS
            retention = now - a.retention_days * DAY_MS if a.retention_days else None
            info = {}
            evs = doc["logEvents"]
            for i, ev in enumerate(evs):
                if ev["timestamp"] < oldest:
                    info["tooOldLogEventEndIndex"] = i + 1
                elif retention is not None and ev["timestamp"] < retention:
                    info["expiredLogEventEndIndex"] = i + 1
                if ev["timestamp"] > now + 2 * 3600 * 1000 and "tooNewLogEventStartIndex" not in info:
                    info["tooNewLogEventStartIndex"] = i
            head = max(info.get("tooOldLogEventEndIndex", 0), info.get("expiredLogEventEndIndex", 0))
            tail = info.get("tooNewLogEventStartIndex", len(evs))
            with open(a.out, "a") as f:
                for ev in evs[head:tail]:
                    f.write(json.dumps({"group": doc["logGroupName"], "stream": key,
                                        "timestamp": ev["timestamp"],
                                        "message": ev["message"]}) + "\n")
            st.counter += 1
            token = "%056d" % st.counter
            streams[key] = (doc.get("sequenceToken"), body, token)
            ans = {"nextSequenceToken": token}
            if info:
                ans["rejectedLogEventsInfo"] = info
            if st.lose > 0:  # taken, but the answer is lost on the way
                st.lose -= 1
                return self.error(500, "InternalFailure", "the answer was lost")
            return self.answer(200, ans)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--check-signature", action="store_true")
    p.add_argument("--port-file")
    p.add_argument("--out")
    p.add_argument("--violations")
    p.add_argument("--requests")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--akid")
    p.add_argument("--secret")
    p.add_argument("--token")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--group", action="append", default=[])
    p.add_argument("--retention-days", type=int, default=0)
    p.add_argument("--throttle", type=int, default=0)
    p.add_argument("--legacy-tokens", action="store_true")
    p.add_argument("--lose-answer", type=int, default=0)
    p.add_argument("--skew-ms", type=int, default=0)
    p.add_argument("--max-event", type=int, default=262144)
    a = p.parse_args()
    if a.check_signature:
        r = json.load(sys.stdin)
        why = signature_problem(r["host"], r["region"], r["target"], r["body"].encode(),
                                r["akid"], r["secret"], r.get("token"), r["headers"])
        print(why or "ok")
        return 1 if why else 0
    parent = os.getppid()

    def orphaned():  # a test that failed half-way leaves no receiver behind
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=orphaned, daemon=True).start()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.state = State(a)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
