#!/usr/bin/python3
"""test_hooks.py - the alert webhooks (docs/webhooks.md) against a real `breakglass serve`:
genuine and forged deliveries of Amazon SNS, PagerDuty v3 and the generic hook.

The test starts its own gateway on a fresh store with a policy it writes: PagerDuty with
two secrets (rotation), the generic hook with one, SNS with one topic, a certificate host
on 127.0.0.1 and a CA file. SNS is played without AWS: a CA and a server certificate for
127.0.0.1 made with the openssl CLI, a Python HTTPS server that serves the signing
certificate and records the GET of the SubscribeURL, and messages built and signed as SNS
does (the string to sign of docs/webhooks.md, signed by `openssl dgst -sign`, SHA256withRSA
for SignatureVersion 2 and SHA1withRSA for 1). PagerDuty's and the generic hook's HMACs
are computed here with Python's hmac.

Every answer is checked, and so is its effect: the incident list (`incident list --all
--json`) and, for refusals, the audit log (`audit tail --json`: kind hook, decision deny).
Covered: SNS confirmation, ALARM/OK notifications, redelivery, forgeries (changed Message or
MessageId, disallowed or non-https SigningCertURL, unknown topic, another key, mismatched
SignatureVersion), genuine messages too old or dated ahead, fetches from an allowed host
whose TLS certificate the CA did not sign; PagerDuty with secret rotation, two signatures,
bad or missing signatures, redelivery, resolve, ping, events too old or ahead; the generic
hook with replay (also of a delivery that changed nothing), stale and future timestamps,
wrong secret, missing headers, malformed bodies. Also: endpoints the policy does not
configure (404), a wrong method (405), an unknown hook (404), and no configured secret in
the gateways' logs or the audit log.

Run by run.sh (/usr/bin/python3), which exports BREAKGLASS_BIN, E2E_STATE and
E2E_DYNALITE_URL.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import Report, note_secret  # noqa: E402
from hostile_util import free_port  # noqa: E402

PREFIX = "[hooks] "
report = Report(PREFIX)
BG = os.environ["BREAKGLASS_BIN"]
LOG_DIR = os.path.join(os.environ["E2E_STATE"], "logs")
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TOPIC = "arn:aws:sns:us-east-1:123456789012:ddb-alarms"
OTHER_TOPIC = "arn:aws:sns:us-east-1:210987654321:someone-elses"
PD_OLD = "pd-secret-old-6a1f0c9e2b7d4e58"
PD_NEW = "pd-secret-new-93b2e7d1c4a05f66"
GENERIC = "generic-secret-0d4c8b1e7f2a9365"


def now_iso(delta=0, ms=False):
    t = datetime.now(timezone.utc) + timedelta(seconds=delta)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" if ms else t.strftime("%Y-%m-%dT%H:%M:%SZ")


def openssl(*args, data=None):
    r = subprocess.run(["openssl", *args], input=data, capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {r.stderr.decode(errors='replace')[:300]}")
    return r.stdout


def make_pki(d):
    """A CA, a server certificate for 127.0.0.1 signed by it, a signing key with its
    self-signed certificate, and another key (the forger's). Returns a dict of paths."""
    p = {k: os.path.join(d, k) for k in ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem",
                                         "srv.ext", "sign.key", "sign.pem", "evil.key",
                                         "rogue.key", "rogue.pem")}
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p["ca.key"], "-out",
            p["ca.pem"], "-days", "2", "-subj", "/CN=breakglass e2e test CA", "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", p["srv.key"], "-out", p["srv.csr"],
            "-subj", "/CN=127.0.0.1")
    with open(p["srv.ext"], "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", p["srv.csr"], "-CA", p["ca.pem"], "-CAkey", p["ca.key"],
            "-CAcreateserial", "-out", p["srv.pem"], "-days", "2", "-extfile", p["srv.ext"])
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p["sign.key"], "-out",
            p["sign.pem"], "-days", "2", "-subj", "/CN=sns.us-east-1.amazonaws.com")
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
            p["evil.key"])
    # A server certificate for 127.0.0.1 that the CA did not sign.
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p["rogue.key"], "-out",
            p["rogue.pem"], "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
            "subjectAltName=IP:127.0.0.1")
    return p


class CertServer(BaseHTTPRequestHandler):
    """The HTTPS side of SNS: the signing certificate, and the SubscribeURL."""

    def log_message(self, *a):
        pass

    def do_GET(self):
        s = self.server
        s.gets.append(self.path)
        if self.path == "/SimpleNotificationService-e2e.pem":
            data = s.pem
        elif self.path.startswith("/confirm?"):
            s.confirms.append(self.path)
            data = (b'<ConfirmSubscriptionResponse><ConfirmSubscriptionResult><SubscriptionArn>'
                    + TOPIC.encode() + b':1</SubscriptionArn></ConfirmSubscriptionResult>'
                    b'</ConfirmSubscriptionResponse>')
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def tls_server(pki, cert="srv.pem", key="srv.key"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki[cert], pki[key])
    srv = ThreadingHTTPServer(("127.0.0.1", 0), CertServer)
    srv.daemon_threads = True
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(pki["sign.pem"], "rb") as f:
        srv.pem = f.read()
    srv.gets, srv.confirms = [], []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def wait_port(port, proc, secs=20):
    for _ in range(secs * 20):
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Gateway:
    """`breakglass serve` of its own store (made here with `init`), with dummy AWS
    credentials for dynalite, optionally with a policy."""

    def __init__(self, work, name, policy=None):
        self.data = os.path.join(work, name + "-store")
        self.log = os.path.join(LOG_DIR, f"hooks-gateway-{name}.log")
        self.proc = None
        r = subprocess.run([BG, "init", "--data", self.data, "--admin", "admin", "--json"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"breakglass init failed: {r.stderr.strip()[:300]}")
        self.admin = json.loads(r.stdout)
        note_secret(self.admin["token"])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BREAKGLASS_"))}
        env.update(AWS_ACCESS_KEY_ID="gateway-upstream-key",
                   AWS_SECRET_ACCESS_KEY="gateway-upstream-secret", AWS_REGION="us-east-1",
                   AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
                   AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true")
        for _ in range(3):
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            args = [BG, "serve", "--data", self.data, "--listen", f"127.0.0.1:{self.port}",
                    "--upstream", os.environ["E2E_DYNALITE_URL"], "--public-url", self.url,
                    "--runbooks", os.path.join(REPO_ROOT, "runbooks")]
            if policy is not None:
                args += ["--policy", policy]
            with open(self.log, "ab") as logf:
                self.proc = subprocess.Popen(args, env=env, stdout=logf, stderr=logf)
            self.up = wait_port(self.port, self.proc)
            if self.up:
                return
            self.stop()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode

    def logtext(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def cli(self, *args):
        env = dict(os.environ, BREAKGLASS_TOKEN=self.admin["token"], BREAKGLASS_URL=self.url)
        r = subprocess.run([BG, *args], capture_output=True, text=True, env=env, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"breakglass {' '.join(args[:2])} failed ({r.returncode}): "
                               f"{r.stderr.strip()[:300]}")
        return json.loads(r.stdout)

    def text(self, *args):
        """The CLI's human output (stdout) as the admin."""
        env = dict(os.environ, BREAKGLASS_TOKEN=self.admin["token"], BREAKGLASS_URL=self.url)
        return subprocess.run([BG, *args], capture_output=True, text=True, env=env,
                              timeout=60).stdout

    def incidents(self):
        return sorted(self.cli("incident", "list", "--all", "--json")["incidents"],
                      key=lambda i: i["id"])

    def audit(self):
        return self.cli("audit", "tail", "--json", "--limit", "1000")["records"]

    def denials(self):
        return [r for r in self.audit() if r.get("kind") == "hook" and r.get("decision") == "deny"]

    def request(self, method, path, body=b"", headers=None):
        """Returns (status, the answer as JSON or {"raw": text})."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            h = {"Content-Type": "application/json"}
            h.update(headers or {})
            if isinstance(body, str):
                body = body.encode()
            c.request(method, path, body=body if method != "GET" else None, headers=h)
            r = c.getresponse()
            raw = r.read()
        finally:
            c.close()
        try:
            ans = json.loads(raw) if raw else {}
        except ValueError:
            ans = {"raw": raw.decode(errors="replace")[:300]}
        return r.status, ans


# --- message builders ---------------------------------------------------------------------

class Sns:
    def __init__(self, pki, port):
        self.pki = pki
        self.base = f"https://127.0.0.1:{port}"
        self.cert_url = self.base + "/SimpleNotificationService-e2e.pem"

    def sign(self, m, key=None):
        if m["Type"] == "Notification":
            keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        else:
            keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn",
                    "Type"]
        text = "".join(f"{k}\n{m[k]}\n" for k in keys if k in m)
        digest = "-sha1" if m["SignatureVersion"] == "1" else "-sha256"
        sig = openssl("dgst", digest, "-sign", key or self.pki["sign.key"], data=text.encode())
        m["Signature"] = base64.b64encode(sig).decode()
        return m

    def envelope(self, typ, message, topic=TOPIC, version="2", cert_url=None, **extra):
        m = {"Type": typ, "MessageId": str(uuid.uuid4()), "TopicArn": topic,
             "Message": message, "Timestamp": now_iso(ms=True), "SignatureVersion": version,
             "SigningCertURL": cert_url or self.cert_url}
        m.update(extra)
        return m

    def confirmation(self, token, subscribe_url=None):
        url = subscribe_url or (f"{self.base}/confirm?Action=ConfirmSubscription&TopicArn="
                                f"{TOPIC}&Token={token}")
        return self.envelope(
            "SubscriptionConfirmation",
            f"You have chosen to subscribe to the topic {TOPIC}.\nTo confirm the subscription, "
            "visit the SubscribeURL included in this message.", Token=token, SubscribeURL=url)

    def alarm(self, name, state, version="2", **kw):
        alarm = {
            "AlarmName": name,
            "AlarmDescription": "Orders table throttles. severity=critical service=orders",
            "AWSAccountId": "123456789012",
            "AlarmConfigurationUpdatedTimestamp": "2026-01-05T10:00:00.000+0000",
            "NewStateValue": state,
            "NewStateReason": ("Threshold Crossed: 1 datapoint [12.0] was greater than the "
                               "threshold (0.0)." if state == "ALARM" else
                               "Threshold Crossed: 1 datapoint [0.0] was not greater than "
                               "the threshold (0.0)."),
            "StateChangeTime": datetime.now(timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%S.000+0000"),
            "Region": "US East (N. Virginia)",
            "AlarmArn": f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}",
            "OldStateValue": "OK" if state == "ALARM" else "ALARM",
            "OKActions": [], "AlarmActions": [TOPIC], "InsufficientDataActions": [],
            "Trigger": {"MetricName": "ThrottledRequests", "Namespace": "AWS/DynamoDB",
                        "StatisticType": "Statistic", "Statistic": "SUM", "Unit": None,
                        "Dimensions": [{"value": "orders", "name": "TableName"}],
                        "Period": 60, "EvaluationPeriods": 1,
                        "ComparisonOperator": "GreaterThanThreshold", "Threshold": 0.0,
                        "TreatMissingData": "missing", "EvaluateLowSampleCountPercentile": ""},
        }
        return self.envelope("Notification", json.dumps(alarm), version=version,
                             Subject=f'{state}: "{name}" in US East (N. Virginia)',
                             UnsubscribeURL=f"{self.base}/unsubscribe", **kw)


def pd_event(event_id, event_type, incident_id="Q2ORDERS0THRT", status="triggered",
             resource_type="incident", occurred=0):
    ts = now_iso(occurred)
    if resource_type != "incident":
        return {"event": {"id": event_id, "event_type": event_type, "resource_type": resource_type,
                          "occurred_at": ts, "agent": None, "client": None,
                          "data": {"message": "Hello from your friend Pagey!", "type": "ping"}}}
    return {"event": {
        "id": event_id, "event_type": event_type, "resource_type": "incident",
        "occurred_at": ts,
        "agent": {"html_url": "https://acme.pagerduty.com/users/PLH1HKV", "id": "PLH1HKV",
                  "self": "https://api.pagerduty.com/users/PLH1HKV", "summary": "Tenex Engineer",
                  "type": "user_reference"},
        "client": None,
        "data": {"id": incident_id, "type": "incident",
                 "self": f"https://api.pagerduty.com/incidents/{incident_id}",
                 "html_url": f"https://acme.pagerduty.com/incidents/{incident_id}",
                 "number": 2, "status": status, "incident_key": "d3640fbd41094207a1c11e58e46b1662",
                 "created_at": "2026-01-05T10:00:00Z", "title": "Orders table is throttled",
                 "service": {"html_url": "https://acme.pagerduty.com/services/PF9KMXH",
                             "id": "PF9KMXH", "self": "https://api.pagerduty.com/services/PF9KMXH",
                             "summary": "orders", "type": "service_reference"},
                 "assignees": [], "escalation_policy": None, "teams": [],
                 "priority": {"html_url": "https://acme.pagerduty.com/account/incident_priorities",
                              "id": "PSO75BM", "self": "https://api.pagerduty.com/priorities/PSO75BM",
                              "summary": "P1", "type": "priority"},
                 "urgency": "high", "conference_bridge": None, "resolve_reason": None}}}


def pd_sig(secret, body):
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def gen_headers(body, secret=GENERIC, ts=None):
    ts = str(int(time.time()) if ts is None else ts)
    mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Breakglass-Timestamp": ts, "X-Breakglass-Signature": "v1=" + mac}


def dumps(o):
    return json.dumps(o, separators=(",", ":")).encode()


# --- the test -----------------------------------------------------------------------------

def main():
    started = time.time()
    work = tempfile.mkdtemp(prefix="bg-hooks-", dir=os.environ["E2E_STATE"])
    pki = make_pki(work)
    srv = tls_server(pki)
    rogue = tls_server(pki, "rogue.pem", "rogue.key")  # allowed host, untrusted certificate
    sns = Sns(pki, srv.server_address[1])
    note_secret(PD_OLD)
    note_secret(PD_NEW)
    note_secret(GENERIC)

    os.makedirs(os.path.join(work, "secrets"))
    for name, value in (("pd-old.secret", PD_OLD), ("pd-new.secret", PD_NEW),
                        ("generic.secret", GENERIC)):
        path = os.path.join(work, "secrets", name)
        with open(path, "w") as f:
            f.write(value + "\n")
        os.chmod(path, 0o600)
    shutil.copy(pki["ca.pem"], os.path.join(work, "ca-bundle.pem"))
    policy = os.path.join(work, "policy.yaml")
    with open(policy, "w") as f:
        f.write(f"""# written by tests/e2e/test_hooks.py
alerts:
  pagerduty: {{secret_files: [secrets/pd-old.secret, secrets/pd-new.secret]}}
  generic: {{secret_file: secrets/generic.secret}}
  sns:
    topic_arns: ["{TOPIC}"]
    cert_hosts: ["127.0.0.1:{srv.server_address[1]}", "127.0.0.1:{rogue.server_address[1]}"]
    ca_file: ca-bundle.pem
""")

    gws = []
    try:
        gw = Gateway(work, "policy", policy)
        gws.append(gw)
        report(gw.up, "a gateway with the webhook policy starts", gw.logtext()[-400:])
        if not gw.up:
            return
        run(gw, sns, srv, rogue, work, gws)
    finally:
        for g in reversed(gws):
            g.stop()
        for t in (srv, rogue):
            t.shutdown()
            t.server_close()
        print(f"test_hooks: {time.time() - started:.1f}s", file=sys.stderr)


def run(gw, sns, srv, rogue, work, gws):
    def refused(name, send, status, source, why=None):
        """A delivery that must be refused: its answer, one audit record (kind hook,
        decision deny, of source, its reason containing why), and no incident changed."""
        inc0, den0 = gw.incidents(), gw.denials()
        st, ans = send()
        inc1, den1 = gw.incidents(), gw.denials()
        new = den1[len(den0):]
        report(st == status, f"{name}: answers {status}", f"got {st} {ans}")
        rec = new[0] if len(new) == 1 else {}
        report(len(new) == 1 and (rec.get("detail") or {}).get("source") == source and
               rec.get("actor") == source and (why is None or why in (rec.get("reason") or "")),
               f"{name}: one audit record of kind hook, decision deny, source {source}",
               json.dumps(new)[:400])
        report(inc1 == inc0, f"{name}: no incident created or changed",
               json.dumps(inc1)[:400])

    def unchanged(name, send, status, outcome=None, error=None):
        """A delivery that is answered but changes no incident and is no refusal."""
        inc0, den0 = gw.incidents(), gw.denials()
        st, ans = send()
        inc1, den1 = gw.incidents(), gw.denials()
        ok = st == status and (outcome is None or ans.get("outcome") == outcome) and \
            (error is None or ans.get("error") == error)
        report(ok, f"{name}: answers {status} {outcome or error or ''}".rstrip(),
               f"got {st} {ans}")
        report(inc1 == inc0 and len(den1) == len(den0),
               f"{name}: no incident created or changed, no refusal recorded",
               json.dumps(inc1)[:300])

    def by_group(source, group):
        m = [i for i in gw.incidents() if i["source"] == source and i.get("group") == group]
        return m[0] if len(m) == 1 else None

    def post(path, body, headers=None):
        return lambda: gw.request("POST", path, body, headers)

    # === SNS ===================================================================================
    # The subscription is confirmed: the gateway GETs the SubscribeURL over verified TLS.
    token = "2336412f37fb687f5d51e6e2425dacbba3e8e64b3a8b2e8e1b8d66a9f4" + uuid.uuid4().hex
    st, ans = gw.request("POST", "/hooks/sns", dumps(sns.sign(sns.confirmation(token))),
                         {"x-amz-sns-message-type": "SubscriptionConfirmation"})
    report(st == 200 and ans.get("outcome") == "confirmed" and ans.get("topic") == TOPIC,
           "sns: SubscriptionConfirmation -> 200 confirmed", f"{st} {ans}")
    report(len(srv.confirms) == 1 and f"Token={token}" in srv.confirms[0],
           "sns: the receiver saw the GET of the SubscribeURL (with its token)", str(srv.gets))
    report("/SimpleNotificationService-e2e.pem" in srv.gets,
           "sns: the signing certificate was fetched from SigningCertURL", str(srv.gets))
    # A SubscribeURL on a host that is not allowed is not fetched.
    n_gets = len(srv.gets)
    m = sns.sign(sns.confirmation("bad" + token, subscribe_url=(
        "https://127.0.0.2:%d/confirm?Token=x" % srv.server_address[1])))
    st, ans = gw.request("POST", "/hooks/sns", dumps(m))
    report(st == 400 and len(srv.gets) == n_gets and len(srv.confirms) == 1,
           "sns: a confirmation whose SubscribeURL is not an allowed host -> 400, not fetched",
           f"{st} {ans} {srv.gets[n_gets:]}")

    # An ALARM notification (SignatureVersion 2) opens an incident.
    alarm = sns.sign(sns.alarm("orders-throttled", "ALARM"))
    inc0 = gw.incidents()
    st, ans = gw.request("POST", "/hooks/sns", dumps(alarm),
                         {"x-amz-sns-message-type": "Notification"})
    report(st == 200 and ans.get("outcome") == "opened" and
           str(ans.get("incident", "")).startswith("sns-"),
           "sns: an ALARM notification (SignatureVersion 2) -> 200 opened", f"{st} {ans}")
    inc = by_group("sns", "orders-throttled")
    report(inc is not None and inc["id"] == ans.get("incident") and inc["severity"] == 1 and
           inc["service"] == "orders" and inc["state"] == "open" and
           inc["title"] == "orders-throttled" and len(inc["alerts"]) == 1 and
           inc["alerts"][0]["state"] == "firing" and
           inc["alerts"][0]["name"] == "orders-throttled" and
           inc["alerts"][0]["summary"].startswith("Threshold Crossed") and
           len(gw.incidents()) == len(inc0) + 1,
           "sns: the incident: source sns, SEV1, service orders, its alert firing",
           json.dumps(inc)[:400])
    sns_id = (inc or {}).get("id")

    # The same MessageId again (SNS retries): duplicate, nothing changes.
    unchanged("sns: the same message again", post("/hooks/sns", dumps(alarm)), 200, "duplicate")

    # An OK notification (SignatureVersion 1, SHA1withRSA) resolves the alert.
    ok = sns.sign(sns.alarm("orders-throttled", "OK", version="1"))
    st, ans = gw.request("POST", "/hooks/sns", dumps(ok))
    report(st == 200 and ans.get("outcome") == "updated" and ans.get("incident") == sns_id,
           "sns: an OK notification (SignatureVersion 1) -> 200 updated", f"{st} {ans}")
    inc = by_group("sns", "orders-throttled")
    report(inc is not None and inc["alerts"][0]["state"] == "resolved" and
           inc["alerts_firing"] == 0 and inc["alerts"][0]["ends_at"] and inc["state"] == "open",
           "sns: the alert is resolved (the incident stays open)", json.dumps(inc)[:400])

    # Forgeries: none creates or changes an incident.
    m = sns.sign(sns.alarm("orders-forged", "ALARM"))
    m["Message"] = m["Message"].replace("severity=critical", "severity=info")
    refused("sns: the Message changed after signing", post("/hooks/sns", dumps(m)), 401, "sns",
            "does not verify")
    m = sns.sign(sns.alarm("orders-forged", "ALARM"))
    m["MessageId"] = str(uuid.uuid4())
    refused("sns: the MessageId changed after signing", post("/hooks/sns", dumps(m)), 401, "sns")
    m = sns.sign(sns.alarm("orders-forged", "ALARM",
                           cert_url="https://127.0.0.2:%d/SimpleNotificationService-e2e.pem" %
                           srv.server_address[1]))
    refused("sns: SigningCertURL on a host not in cert_hosts", post("/hooks/sns", dumps(m)), 401,
            "sns", "SigningCertURL")
    m = sns.sign(sns.alarm("orders-forged", "ALARM",
                           cert_url="https://sns.us-east-1.amazonaws.com/SimpleNotificationService-"
                                    "e2e.pem"))
    refused("sns: SigningCertURL on AWS's host (cert_hosts replaces AWS's rule)",
            post("/hooks/sns", dumps(m)), 401, "sns", "SigningCertURL")
    m = sns.sign(sns.alarm("orders-forged", "ALARM", cert_url=sns.cert_url.replace(
        "https://", "http://")))
    refused("sns: SigningCertURL over http", post("/hooks/sns", dumps(m)), 401, "sns")
    m = sns.sign(sns.alarm("orders-forged", "ALARM", topic=OTHER_TOPIC))
    refused("sns: a topic that is not configured", post("/hooks/sns", dumps(m)), 401, "sns",
            "topic")
    m = sns.sign(sns.alarm("orders-forged", "ALARM"), key=sns.pki["evil.key"])
    refused("sns: signed by another key", post("/hooks/sns", dumps(m)), 401, "sns",
            "does not verify")
    m = sns.sign(sns.alarm("orders-forged", "ALARM", version="1"))
    m["SignatureVersion"] = "2"  # a SHA-1 signature presented as SHA-256
    refused("sns: a SignatureVersion that does not match the signature",
            post("/hooks/sns", dumps(m)), 401, "sns")
    # Genuine, but outside the window in which its MessageId is remembered (7 days): a
    # captured message replayed later must not fire again.
    m = sns.sign(sns.alarm("orders-forged", "ALARM", Timestamp=now_iso(-8 * 86400, ms=True)))
    refused("sns: a genuine message 8 days old", post("/hooks/sns", dumps(m)), 401, "sns",
            "Timestamp")
    m = sns.sign(sns.alarm("orders-forged", "ALARM", Timestamp=now_iso(86400, ms=True)))
    refused("sns: a genuine message dated a day ahead", post("/hooks/sns", dumps(m)), 401,
            "sns", "Timestamp")
    # TLS is verified with the CA file: an allowed host:port whose certificate the CA did
    # not sign gets no request, and a certificate that cannot be fetched is a 503 (SNS
    # retries), changing nothing.
    rogue_base = f"https://127.0.0.1:{rogue.server_address[1]}"
    m = sns.sign(sns.alarm("orders-forged", "ALARM",
                           cert_url=rogue_base + "/SimpleNotificationService-e2e.pem"))
    unchanged("sns: SigningCertURL on an allowed host with an untrusted TLS certificate",
              post("/hooks/sns", dumps(m)), 503, error="unavailable")
    report(rogue.gets == [], "sns: ...the untrusted server got no request", str(rogue.gets))
    m = sns.sign(sns.confirmation("rogue" + token, subscribe_url=rogue_base +
                                  "/confirm?Token=rogue"))
    st, ans = gw.request("POST", "/hooks/sns", dumps(m))
    report(st == 503 and rogue.gets == [] and len(srv.confirms) == 1,
           "sns: a SubscribeURL on an allowed host with an untrusted TLS certificate -> 503, "
           "not confirmed", f"{st} {ans} {rogue.gets}")
    m = sns.sign(sns.alarm("orders-forged", "ALARM", cert_url=sns.base + "/no-such.pem"))
    unchanged("sns: a SigningCertURL that answers 404", post("/hooks/sns", dumps(m)), 503,
              error="unavailable")
    # An UnsubscribeConfirmation is genuine and changes nothing.
    m = sns.confirmation("unsub" + token)
    m["Type"] = "UnsubscribeConfirmation"
    unchanged("sns: an UnsubscribeConfirmation", post("/hooks/sns", dumps(sns.sign(m))), 200,
              "ignored")
    # The genuine ALARM for the same alarm is still accepted afterwards.
    m = sns.sign(sns.alarm("orders-forged", "ALARM"))
    st, ans = gw.request("POST", "/hooks/sns", dumps(m))
    report(st == 200 and ans.get("outcome") == "opened",
           "sns: after the forgeries, the genuine message is accepted", f"{st} {ans}")

    # === PagerDuty =============================================================================
    trig_id = "01DEN7GS3ZDAD2F3T0RGJ6Y1KG"
    trig = dumps(pd_event(trig_id, "incident.triggered"))
    st, ans = gw.request("POST", "/hooks/pagerduty", trig,
                         {"X-PagerDuty-Signature": pd_sig(PD_NEW, trig)})
    report(st == 200 and ans.get("outcome") == "opened" and
           str(ans.get("incident", "")).startswith("pd-"),
           "pagerduty: incident.triggered signed with the second secret -> 200 opened",
           f"{st} {ans}")
    inc = by_group("pagerduty", "Q2ORDERS0THRT")
    report(inc is not None and inc["id"] == ans.get("incident") and inc["severity"] == 1 and
           inc["service"] == "orders" and inc["title"] == "Orders table is throttled" and
           len(inc["alerts"]) == 1 and inc["alerts"][0]["state"] == "firing",
           "pagerduty: the incident: source pagerduty, SEV1 (P1), service orders, firing",
           json.dumps(inc)[:400])
    pd_id = (inc or {}).get("id")
    unchanged("pagerduty: the same event id again",
              post("/hooks/pagerduty", trig, {"X-PagerDuty-Signature": pd_sig(PD_NEW, trig)}),
              200, "duplicate")

    ack = dumps(pd_event("01DEN7GS3ZDAD2F3T0RGJ6Y1KH", "incident.acknowledged",
                         status="acknowledged"))
    two = pd_sig("a-secret-nobody-configured", ack) + ", " + pd_sig(PD_OLD, ack)
    st, ans = gw.request("POST", "/hooks/pagerduty", ack, {"X-PagerDuty-Signature": two})
    report(st == 200 and ans.get("outcome") in ("unchanged", "updated"),
           "pagerduty: two signatures (an unknown one, then the first secret's) -> accepted",
           f"{st} {ans}")
    unchanged("pagerduty: that event id again",
              post("/hooks/pagerduty", ack, {"X-PagerDuty-Signature": two}), 200, "duplicate")

    res = dumps(pd_event("01DEN7GS3ZDAD2F3T0RGJ6Y1KJ", "incident.resolved", status="resolved"))
    refused("pagerduty: a bad signature",
            post("/hooks/pagerduty", res, {"X-PagerDuty-Signature": pd_sig("wrong-secret", res)}),
            401, "pagerduty", "matches no configured secret")
    refused("pagerduty: a signature of another body",
            post("/hooks/pagerduty", res, {"X-PagerDuty-Signature": pd_sig(PD_NEW, trig)}),
            401, "pagerduty")
    refused("pagerduty: no signature", post("/hooks/pagerduty", res), 401, "pagerduty")
    # Genuine, but older than the 7 days its event id is remembered, or dated ahead: the
    # signed occurred_at gives a replay away.
    old = dumps(pd_event("01DEN7GS3ZDAD2F3T0RGJ6Y1OL", "incident.resolved", status="resolved",
                         occurred=-8 * 86400))
    refused("pagerduty: a genuine event that occurred 8 days ago",
            post("/hooks/pagerduty", old, {"X-PagerDuty-Signature": pd_sig(PD_NEW, old)}),
            401, "pagerduty", "occurred_at")
    ahead = dumps(pd_event("01DEN7GS3ZDAD2F3T0RGJ6Y1AH", "incident.resolved", status="resolved",
                           occurred=86400))
    refused("pagerduty: a genuine event dated a day ahead",
            post("/hooks/pagerduty", ahead, {"X-PagerDuty-Signature": pd_sig(PD_NEW, ahead)}),
            401, "pagerduty", "occurred_at")
    st, ans = gw.request("POST", "/hooks/pagerduty", res,
                         {"X-PagerDuty-Signature": pd_sig(PD_OLD, res)})
    report(st == 200 and ans.get("outcome") == "updated" and ans.get("incident") == pd_id,
           "pagerduty: incident.resolved -> 200 updated", f"{st} {ans}")
    inc = by_group("pagerduty", "Q2ORDERS0THRT")
    report(inc is not None and inc["alerts"][0]["state"] == "resolved" and
           inc["alerts_firing"] == 0,
           "pagerduty: the alert is resolved", json.dumps(inc)[:400])
    if inc is not None:
        suggestion = "all alerts resolved: `breakglass close %s` when done" % inc["id"]
        shown = gw.text("incident", "show", inc["id"])
        report(inc["state"] == "open" and suggestion in shown,
               "...the incident stays open, and `incident show` suggests closing it", shown[:600])
        st_text = gw.text("status")
        report(inc["id"] in st_text and suggestion in st_text,
               "...`status` lists it with the same suggestion", st_text[:800])
    ping = dumps(pd_event("01DEN7GS3ZDAD2F3T0RGJ6Y1KK", "pagey.ping", resource_type="pagey"))
    unchanged("pagerduty: a pagey.ping event",
              post("/hooks/pagerduty", ping, {"X-PagerDuty-Signature": pd_sig(PD_NEW, ping)}),
              200, "ignored")

    # === generic ===============================================================================
    fire = dumps({"id": "orders-latency-" + uuid.uuid4().hex[:12], "group": "orders-latency",
                  "status": "firing", "severity": "error", "title": "Orders p99 over 2s",
                  "service": "orders"})
    fire_h = gen_headers(fire)
    st, ans = gw.request("POST", "/hooks/generic", fire, fire_h)
    report(st == 200 and ans.get("outcome") == "opened" and
           str(ans.get("incident", "")).startswith("gen-"),
           "generic: a firing delivery -> 200 opened", f"{st} {ans}")
    inc = by_group("generic", "orders-latency")
    report(inc is not None and inc["id"] == ans.get("incident") and inc["severity"] == 2 and
           inc["service"] == "orders" and inc["title"] == "Orders p99 over 2s" and
           len(inc["alerts"]) == 1 and inc["alerts"][0]["state"] == "firing",
           "generic: the incident: source generic, SEV2, service orders, firing",
           json.dumps(inc)[:400])
    refused("generic: the same delivery re-sent (replay)",
            post("/hooks/generic", fire, fire_h), 409, "generic", "replay")
    stale = dumps({"id": "orders-latency-stale", "group": "orders-latency-2", "status": "firing",
                   "title": "stale"})
    refused("generic: a timestamp 10 minutes old, correctly signed",
            post("/hooks/generic", stale, gen_headers(stale, ts=int(time.time()) - 600)),
            401, "generic")
    refused("generic: a timestamp 10 minutes ahead, correctly signed",
            post("/hooks/generic", stale, gen_headers(stale, ts=int(time.time()) + 600)),
            401, "generic")
    refused("generic: a wrong secret",
            post("/hooks/generic", stale, gen_headers(stale, secret="not-the-secret")),
            401, "generic", "matches no configured secret")
    h = gen_headers(stale)
    refused("generic: no X-Breakglass-Signature",
            post("/hooks/generic", stale, {"X-Breakglass-Timestamp": h["X-Breakglass-Timestamp"]}),
            401, "generic")
    refused("generic: no X-Breakglass-Timestamp",
            post("/hooks/generic", stale, {"X-Breakglass-Signature": h["X-Breakglass-Signature"]}),
            401, "generic")
    h = gen_headers(stale)
    h["X-Breakglass-Timestamp"] = str(int(h["X-Breakglass-Timestamp"]) + 1)
    refused("generic: the timestamp changed after signing", post("/hooks/generic", stale, h),
            401, "generic")
    bad = b'{"id":"orders-bad-1","group":"orders-bad","status":"firing","title":"x",'
    unchanged("generic: a malformed body, signed", post("/hooks/generic", bad, gen_headers(bad)),
              400, error="bad_request")
    typo = dumps({"id": "orders-bad-2", "group": "orders-bad", "status": "firing",
                  "title": "x", "sevrity": "critical"})
    unchanged("generic: a misspelt key, signed", post("/hooks/generic", typo, gen_headers(typo)),
              400, error="bad_request")
    done = dumps({"id": "orders-latency-" + uuid.uuid4().hex[:12], "group": "orders-latency",
                  "status": "resolved", "title": "Orders p99 over 2s"})
    done_h = gen_headers(done)
    st, ans = gw.request("POST", "/hooks/generic", done, done_h)
    inc = by_group("generic", "orders-latency")
    report(st == 200 and ans.get("outcome") == "updated" and inc is not None and
           inc["alerts"][0]["state"] == "resolved",
           "generic: a resolved delivery -> 200 updated, the alert resolved",
           f"{st} {ans} {json.dumps(inc)[:300]}")
    # A delivery that changed nothing is still a delivery seen: its replay is refused too.
    again = dumps({"id": "orders-latency-" + uuid.uuid4().hex[:12], "group": "orders-latency",
                   "status": "resolved", "title": "Orders p99 over 2s"})
    again_h = gen_headers(again)
    st, ans = gw.request("POST", "/hooks/generic", again, again_h)
    report(st == 200 and ans.get("outcome") == "unchanged",
           "generic: the same state again under a new id -> 200 unchanged", f"{st} {ans}")
    refused("generic: that unchanged delivery re-sent (replay)",
            post("/hooks/generic", again, again_h), 409, "generic", "replay")

    # === endpoints =============================================================================
    unchanged("/hooks/alertmanager, not in the policy",
              post("/hooks/alertmanager", b'{"version":"4"}',
                   {"Authorization": "Bearer anything"}), 404, error="not_found")
    st, ans = gw.request("GET", "/hooks/generic")
    report(st == 405, "GET /hooks/generic -> 405", f"{st} {ans}")
    st, ans = gw.request("POST", "/hooks/nope", b"{}")
    report(st == 404, "POST /hooks/nope -> 404", f"{st} {ans}")

    bare = Gateway(work, "nopolicy")
    gws.append(bare)
    report(bare.up, "a gateway without --policy starts", bare.logtext()[-300:])
    if bare.up:
        for path, body, h in (("/hooks/generic", fire, gen_headers(fire)),
                              ("/hooks/pagerduty", trig, {"X-PagerDuty-Signature":
                                                          pd_sig(PD_NEW, trig)}),
                              ("/hooks/sns", dumps(alarm), {}),
                              ("/hooks/alertmanager", b'{"version":"4"}', {})):
            st, ans = bare.request("POST", path, body, h)
            report(st == 404 and ans.get("error") == "not_found",
                   f"without a policy: POST {path} -> 404", f"{st} {ans}")
        report(bare.incidents() == [], "without a policy: no incident", "")
        bare.stop()

    # === no secret in the logs ==================================================================
    records = json.dumps(gw.audit())
    leaked = [s for s in (PD_OLD, PD_NEW, GENERIC) if s in records]
    report(not leaked, "no configured secret in the audit log", str(leaked))
    gw_rc = gw.stop()
    report(gw_rc == 0, "the gateway exits 0 on SIGTERM", f"rc={gw_rc}")
    texts = {os.path.basename(g.log): g.logtext() for g in gws}
    leaked = [(f, s) for f, t in texts.items() for s in (PD_OLD, PD_NEW, GENERIC) if s in t]
    report(not leaked, "no configured secret in the gateways' logs", str(leaked))
    report("confirmed the SNS subscription to " + TOPIC in texts[os.path.basename(gw.log)],
           "the gateway's log says it confirmed the subscription", "")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash is a failure with its reason, never a silent exit
        import traceback
        traceback.print_exc()
        report(False, "the test ran to the end", repr(e)[:300])
    report.finish()
