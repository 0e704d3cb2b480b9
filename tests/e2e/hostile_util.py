"""hostile_util.py - tools for test_hostile.py: a raw HTTP client, a fake DynamoDB
upstream, a second gateway launcher, a slow-loris attacker and readers for the audit log,
dynalite and a process's memory.

The hostile tests talk to the gateway below the level of http.client: framing is the
subject (duplicate Content-Length, odd Transfer-Encoding, Expect, early answers, closes),
so requests are built as bytes and answers are parsed from the bytes received, all of
them, so that a second header block or a "100 Continue" cannot hide. Every wait has a
deadline: a gateway that hangs makes a check fail, never the suite stall.

Used by run.sh's environment: BREAKGLASS_BIN, BREAKGLASS_URL (the run's gateway, whose
API reads the shared audit log), E2E_DATA (the run's store, which second gateways share:
the audit writer reads the chain head inside each transaction, so several processes may
append), E2E_DYNALITE_URL and E2E_STATE (logs go to $E2E_STATE/logs, which run.sh scans
for sanitizer reports and keeps on failure).
"""
import errno
import hashlib
import http.client
import http.server
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import uuid
import zlib

DDB_JSON = "application/x-amz-json-1.0"
# Error codes SDKs retry: a refusal must never be one of them (DESIGN.md).
THROTTLING = {"ThrottlingException", "ProvisionedThroughputExceededException",
              "RequestLimitExceeded", "TooManyRequestsException", "LimitExceededException",
              "TransactionInProgressException", "InternalServerError",
              "ServiceUnavailable", "ServiceUnavailableException"}


def free_port():
    """A loopback TCP port nobody listens on right now (the caller retries on a race)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def log_dir():
    d = os.path.join(os.environ.get("E2E_STATE", "/tmp"), "logs")
    os.makedirs(d, exist_ok=True)
    return d


# --- HTTP/1.1 bytes in and out ----------------------------------------------------------

def request_bytes(method, target, headers, body=b""):
    """The request as bytes: headers is a list of (name, value) pairs, sent as given (no
    Content-Length is added: framing is what the tests vary)."""
    head = f"{method} {target} HTTP/1.1\r\n".encode()
    for name, value in headers:
        head += f"{name}: {value}\r\n".encode("latin-1")
    return head + b"\r\n" + body


class Response:
    """One parsed response: status, reason, headers (list of (lower-case name, value)),
    body and the raw bytes of its header block."""

    def __init__(self, status, reason, headers, body, head):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.head = head

    def header(self, name):
        name = name.lower()
        for n, v in self.headers:
            if n == name:
                return v
        return None

    def json(self):
        try:
            doc = json.loads(self.body)
        except ValueError:
            return None
        return doc if isinstance(doc, dict) else None

    def code(self):
        """The error code as botocore derives it: the text after the last '#' of __type."""
        doc = self.json() or {}
        t = doc.get("__type")
        return t.rsplit("#", 1)[-1] if isinstance(t, str) else None

    def message(self):
        doc = self.json() or {}
        m = doc.get("message")
        return m if isinstance(m, str) else ""

    def request_ids(self):
        """Every id the gateway could have recorded this answer under."""
        return {v for v in (self.header("x-amzn-RequestId"),
                            self.header("x-breakglass-request-id")) if v}

    def __repr__(self):
        return f"HTTP {self.status} {self.code() or ''} {self.body[:160]!r}"


def _parse_one(data):
    """Parses one response from the front of data. Returns (Response, rest) or (None,
    data) when it is not complete yet. A response framed by neither Content-Length nor
    chunked runs to the end of what was received (the caller knows whether that is EOF)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None, data
    head = data[:end + 4]
    lines = head[:-4].split(b"\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})(?: (.*))?$", lines[0])
    if not m:
        raise ValueError(f"not a status line: {lines[0][:80]!r}")
    status = int(m.group(1))
    headers = []
    for ln in lines[1:]:
        name, _, value = ln.partition(b":")
        headers.append((name.strip().decode("latin-1").lower(),
                        value.strip().decode("latin-1")))
    rest = data[end + 4:]
    resp = Response(status, (m.group(2) or b"").decode("latin-1"), headers, b"", head)
    if 100 <= status < 200 or status in (204, 304):
        return resp, rest
    te = resp.header("transfer-encoding")
    cl = resp.header("content-length")
    if te and "chunked" in te.lower():
        body, pos = b"", 0
        while True:
            nl = rest.find(b"\r\n", pos)
            if nl < 0:
                return None, data
            size = int(rest[pos:nl].split(b";")[0], 16)
            if len(rest) < nl + 2 + size + 2:
                return None, data
            body += rest[nl + 2:nl + 2 + size]
            pos = nl + 2 + size + 2
            if size == 0:
                resp.body = body
                return resp, rest[pos:]
    if cl is not None:
        n = int(cl)
        if len(rest) < n:
            return None, data
        resp.body = rest[:n]
        return resp, rest[n:]
    resp.body = rest
    return resp, b""


def parse_responses(data):
    """Every complete response in data, in order (interim 1xx ones included)."""
    out = []
    while data:
        try:
            r, data2 = _parse_one(data)
        except ValueError:
            break
        if r is None:
            break
        out.append(r)
        if data2 is data or not data2:
            break
        data = data2
    return out


def status_lines(data):
    """How many status lines (header blocks) the bytes received contain."""
    return len(re.findall(rb"(?:^|\r\n)HTTP/1\.[01] \d{3}", data))


class Raw:
    """One client connection at the byte level. Everything received is kept in .data;
    .eof is set once the peer closed (FIN or RST, .reset tells which)."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.data = b""
        self.eof = False
        self.reset = False
        self.eof_at = None
        self.send_error = None

    def send(self, data):
        """Sends data; returns False (keeping the error) if the peer has gone."""
        try:
            self.sock.sendall(data)
            return True
        except OSError as e:
            self.send_error = e
            return False

    def _recv(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0 or self.eof:
            return False
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            self.eof, self.reset, self.eof_at = True, True, time.monotonic()
            return True
        except OSError:
            self.eof, self.eof_at = True, time.monotonic()
            return True
        if not chunk:
            self.eof, self.eof_at = True, time.monotonic()
        self.data += chunk
        return True

    def responses(self):
        return parse_responses(self.data)

    def final(self):
        """The first complete non-1xx response, if any."""
        for r in self.responses():
            if r.status >= 200:
                # Unframed bodies are complete only at EOF.
                if (r.header("content-length") is None and r.header("transfer-encoding") is None
                        and not self.eof):
                    return None
                return r
        return None

    def wait_response(self, timeout):
        """Reads until a final response is complete, EOF, or timeout; returns it or None."""
        deadline = time.monotonic() + timeout
        while self.final() is None and not self.eof:
            if not self._recv(deadline):
                break
        return self.final()

    def wait_closed(self, timeout):
        """Reads (keeping what arrives) until the peer closes or timeout; True if closed."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            if not self._recv(deadline):
                break
        return self.eof

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def ddb_error_problems(resp, statuses=(400,), code=None):
    """What makes resp not a DynamoDB-shaped error (empty list when it is one): a status
    in statuses (never 5xx or 429), Content-Type application/x-amz-json-1.0, a JSON body
    with "__type" containing '#' and a "message", an x-amzn-RequestId header, and no
    throttling code. code, if given, is the expected text after the '#'."""
    if resp is None:
        return ["no answer"]
    bad = []
    if resp.status not in statuses or resp.status >= 500 or resp.status == 429:
        bad.append(f"HTTP {resp.status} (want {'/'.join(map(str, statuses))})")
    ct = (resp.header("content-type") or "").split(";")[0].strip().lower()
    if ct != DDB_JSON:
        bad.append(f"Content-Type {ct or 'missing'!r}")
    doc = resp.json()
    if doc is None:
        bad.append(f"body is not a JSON object: {resp.body[:80]!r}")
    else:
        t = doc.get("__type")
        if not isinstance(t, str) or "#" not in t:
            bad.append(f"__type {t!r}")
        if not resp.message():
            bad.append("no message")
    if not resp.header("x-amzn-RequestId"):
        bad.append("no x-amzn-RequestId")
    got = resp.code()
    if got in THROTTLING:
        bad.append(f"throttling code {got}")
    if code is not None and got != code:
        bad.append(f"code {got!r}, want {code!r}")
    return bad


# --- signing ------------------------------------------------------------------------------

def signed_headers(creds, host, op, body, path="/", query="", region="us-east-1",
                   extra=()):
    """SigV4-signed DynamoDB request headers (botocore's signer) as a list of pairs,
    Host first. extra pairs are signed too. No Content-Length: the caller frames."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    hdrs = {"Content-Type": DDB_JSON, "X-Amz-Target": f"DynamoDB_20120810.{op}"}
    for k, v in extra:
        hdrs[k] = v
    url = f"http://{host}{path}" + (f"?{query}" if query else "")
    req = AWSRequest(method="POST", url=url, data=body, headers=hdrs)
    SigV4Auth(creds, "dynamodb", region).add_auth(req)
    return [("Host", host)] + list(req.headers.items())


def signed_request(creds, host, op, body, **kw):
    """A complete signed POST with a Content-Length, as bytes."""
    path = kw.get("path", "/")
    query = kw.get("query", "")
    hdrs = signed_headers(creds, host, op, body, **kw)
    target = path + (f"?{query}" if query else "")
    return request_bytes("POST", target, hdrs + [("Content-Length", str(len(body)))], body)


def http_call(port, creds, op, body, timeout=5.0):
    """One signed call on a fresh http.client connection: (status, Response-like, secs).
    Raises on a connection error or timeout."""
    host = f"127.0.0.1:{port}"
    hdrs = dict(signed_headers(creds, host, op, body))
    t0 = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/", body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        resp = Response(r.status, r.reason, [(k.lower(), v) for k, v in r.getheaders()], data, b"")
    finally:
        conn.close()
    return resp, time.monotonic() - t0


# --- dynalite, read directly (the admin path, not through the gateway) ------------------

def dynalite_call(op, body, timeout=10.0):
    """A call straight to dynalite (which checks no signature, but wants one present)."""
    from botocore.credentials import Credentials

    u = urllib.parse.urlparse(os.environ["E2E_DYNALITE_URL"])
    creds = Credentials("direct", "direct")
    resp, _ = http_call(u.port, creds, op, json.dumps(body).encode(), timeout)
    return resp


def dynalite_has_item(table, key):
    r = dynalite_call("GetItem", {"TableName": table, "Key": key, "ConsistentRead": True})
    doc = r.json() or {}
    if r.status != 200:
        raise RuntimeError(f"dynalite GetItem: {r!r}")
    return "Item" in doc


def dynalite_delete(table, key):
    try:
        dynalite_call("DeleteItem", {"TableName": table, "Key": key})
    except Exception:  # noqa: BLE001 - cleanup is best effort
        pass


# --- the audit log --------------------------------------------------------------------

def audit_head_seq():
    """The chain head's seq, read-only from the run's store."""
    db = os.path.join(os.environ["E2E_DATA"], "breakglass.db")
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return c.execute("SELECT coalesce(max(seq), 0) FROM audit").fetchone()[0]
    finally:
        c.close()


def audit_by_marker(records, marker):
    """{request_id: [records]} for the requests whose audited body mentions marker, with
    every record (request, response, denial) sharing those request ids."""
    ids = {r.get("request_id") for r in records
           if r.get("request_id") and marker in json.dumps(r.get("detail"))}
    out = {}
    for r in records:
        if r.get("request_id") in ids:
            out.setdefault(r["request_id"], []).append(r)
    return out


def audit_since(admin_token, after):
    """Every audit record after seq `after`, through the run's gateway API
    (GET /api/v1/audit, 1000 per page)."""
    base = os.environ["BREAKGLASS_URL"].rstrip("/")
    out = []
    while True:
        req = urllib.request.Request(f"{base}/api/v1/audit?after={after}&limit=1000",
                                     headers={"Authorization": f"Bearer {admin_token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            page = json.loads(r.read())["records"]
        if not page:
            return out
        out.extend(page)
        after = page[-1]["seq"]


# --- a fake DynamoDB upstream ---------------------------------------------------------

class FakeUpstream:
    """A threaded HTTP/1.1 server on a free loopback port that answers every POST with
    200 {} (DynamoDB's content type, a request id and the body's CRC32) at once, except:
    a body containing "slow" is held `hold` seconds first, and one containing "never" is
    not answered at all (held until release_never() or close(), then the connection is
    dropped). Every body received is kept in .seen, so a test can prove a request never
    got here."""

    def __init__(self, hold=1.5):
        self.hold = hold
        self.seen = []
        self.release = threading.Event()  # set at close(): let every held handler go
        self.never = threading.Event()
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with outer.lock:
                    outer.seen.append(body)
                if b'"never"' in body:
                    never = outer.never
                    while not (never.wait(0.1) or outer.release.is_set()):
                        pass
                    self.close_connection = True
                    return
                if b'"slow"' in body:
                    outer.release.wait(outer.hold)
                out = b"{}"
                self.send_response(200)
                self.send_header("Content-Type", DDB_JSON)
                self.send_header("Content-Length", str(len(out)))
                self.send_header("x-amzn-RequestId", uuid.uuid4().hex.upper())
                self.send_header("x-amz-crc32", str(zlib.crc32(out)))
                self.end_headers()
                self.wfile.write(out)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            # socketserver's default backlog of 5 drops SYNs when the gateway opens 20
            # upstream connections at once; the retry a second later would skew timings.
            request_queue_size = 256

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def saw(self, marker):
        with self.lock:
            return sum(1 for b in self.seen if marker.encode() in b)

    def release_never(self):
        """Drops the connections of the requests held so far (their gateway sees the
        upstream fail); later "never" requests are held again."""
        with self.lock:
            ev, self.never = self.never, threading.Event()
        ev.set()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


# --- a second gateway -------------------------------------------------------------------

# The transport settings the tests assume: config key -> (flag, environment variable).
NEW_SETTINGS = {
    "header_timeout": ("--header-timeout", "BREAKGLASS_HEADER_TIMEOUT"),
    "max_connections": ("--max-connections", "BREAKGLASS_MAX_CONNECTIONS"),
    "upstream_timeout": ("--upstream-timeout", "BREAKGLASS_UPSTREAM_TIMEOUT"),
    "drain_timeout": ("--drain-timeout", "BREAKGLASS_DRAIN_TIMEOUT"),
}


class Gateway:
    """`breakglass serve` on a free loopback port, sharing the run's store, with its own
    log in $E2E_STATE/logs/hostile-NAME.log. settings maps config keys (NEW_SETTINGS) to
    values, passed as flags, or as environment variables when use_flags is False (so a
    binary that does not know the flags yet still starts, and the behaviour behind them
    can be measured). Stopped by PID only."""

    def __init__(self, name, upstream, settings=None, use_flags=True, config_file=None):
        self.name = name
        self.upstream = upstream
        self.settings = dict(settings or {})
        self.use_flags = use_flags
        self.config_file = config_file
        self.proc = None
        self.port = None
        self.log_path = os.path.join(log_dir(), f"hostile-{name}.log")
        self.start_error = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self):
        return self.proc.pid

    def start(self, wait=20.0):
        """Starts the gateway and waits for GET / to answer; returns True, or False with
        .start_error (exit status and the log's tail)."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("BREAKGLASS_") or k == "BREAKGLASS_BIN"}
        env.update(AWS_ACCESS_KEY_ID="gateway-upstream-key",
                   AWS_SECRET_ACCESS_KEY="gateway-upstream-secret",
                   AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1")
        env.pop("AWS_SESSION_TOKEN", None)
        for attempt in range(3):
            self.port = free_port()
            args = [os.environ["BREAKGLASS_BIN"], "serve", "--listen", self.host,
                    "--upstream", self.upstream, "--data", os.environ["E2E_DATA"],
                    "--public-url", self.url]
            if self.config_file:
                args += ["--config", self.config_file]
            for key, value in self.settings.items():
                flag, var = NEW_SETTINGS[key]
                if self.use_flags:
                    args += [flag, str(value)]
                else:
                    env[var] = str(value)
            with open(self.log_path, "ab") as log:
                log.write(f"--- start {' '.join(args)}\n".encode())
                log.flush()
                self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=log, env=env)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                    c.request("GET", "/")
                    ok = c.getresponse().status == 200
                    c.close()
                    if ok:
                        return True
                except OSError:
                    pass
                time.sleep(0.05)
            rc = self.proc.poll()
            if rc is None:
                self.stop()
                rc = "still running, not answering"
            self.start_error = f"serve exited {rc}: {self.log_tail()}"
            if rc == 2:  # a usage error will not go away on another port
                return False
        return False

    def log_tail(self, n=300):
        """The end of what the last start wrote to the log, on one line."""
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        text = text.rsplit("--- start ", 1)[-1].split("\n", 1)[-1]
        return " | ".join(text.strip().splitlines())[-n:]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def rss_kib(self):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def stop(self, grace=10.0):
        """SIGTERM, then SIGKILL after grace seconds; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


# --- slow-loris -----------------------------------------------------------------------

class Loris:
    """n connections that each send the next byte of an endless header block every
    `interval` seconds, from one thread with non-blocking sockets. A connection the
    gateway closes is opened again (at most once per interval), so the pressure stays."""

    PAYLOAD = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + DDB_JSON.encode() +
               b"\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\nX-Slow: " + b"a" * 100000)

    def __init__(self, port, n, interval=1.0, payload=None):
        self.port = port
        self.n = n
        self.interval = interval
        self.payload = payload or self.PAYLOAD
        self.socks = [None] * n
        self.pos = [0] * n
        self.reopened = 0
        self.connect_errors = 0
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _open(self, i):
        s = socket.socket()
        s.setblocking(False)
        err = s.connect_ex(("127.0.0.1", self.port))
        if err not in (0, errno.EINPROGRESS, errno.EAGAIN):
            self.connect_errors += 1
        self.socks[i] = s
        self.pos[i] = 0

    def _run(self):
        for i in range(self.n):
            if self.stop_ev.is_set():
                return
            self._open(i)
        while not self.stop_ev.wait(self.interval):
            for i, s in enumerate(self.socks):
                try:
                    if s.send(self.payload[self.pos[i]:self.pos[i] + 1]) == 1:
                        self.pos[i] += 1
                except (BlockingIOError, InterruptedError):
                    pass  # still connecting, or the gateway is not reading
                except OSError as e:
                    if e.errno == errno.ENOTCONN:
                        continue
                    s.close()
                    self.reopened += 1
                    self._open(i)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stop_ev.set()
        self.thread.join(10)
        for s in self.socks:
            if s is not None:
                s.close()

    def connected(self):
        """How many of the sockets are connected right now."""
        n = 0
        for s in self.socks:
            try:
                if s is not None:
                    s.getpeername()
                    n += 1
            except OSError:
                pass
        return n


# --- a process's memory -----------------------------------------------------------------

def count_in_memory(pid, needles, max_mapping=1 << 30):
    """Occurrences of each needle (bytes) in the readable private mappings of process pid
    smaller than max_mapping (ASan's shadow and allocator reservations are terabytes and
    hold no data worth reading). Returns ({needle: count}, bytes scanned)."""
    counts = {n: 0 for n in needles}
    overlap = max(len(n) for n in needles) - 1
    scanned = 0
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            perms = parts[1]
            if perms[0] != "r" or perms[3] != "p" or hi - lo >= max_mapping:
                continue
            if len(parts) > 5 and parts[5] in ("[vvar]", "[vsyscall]"):
                continue
            tail = b""
            addr = lo
            while addr < hi:
                n = min(8 << 20, hi - addr)
                try:
                    mem.seek(addr)
                    chunk = mem.read(n)
                except OSError:
                    chunk = b""
                if not chunk:
                    tail = b""
                    addr += n
                    continue
                # The previous chunk's last bytes go in front, so a needle across
                # two chunks is found; what lies wholly in them was counted already.
                buf = tail + chunk
                for nd in needles:
                    counts[nd] += buf.count(nd) - tail.count(nd)
                scanned += len(chunk)
                tail = buf[-overlap:] if overlap else b""
                addr += n
    return counts, scanned


def sha256_hex(b):
    return hashlib.sha256(b).hexdigest()
