#!/usr/bin/python3
"""Cross-checks breakglass's SigV4 signer and verifier against botocore's.

For a set of real DynamoDB requests (JSON bodies, X-Amz-Target, host 127.0.0.1:PORT, with and
without a session token, several regions):

  * sign:   botocore's SigV4Auth signs at a fixed time; our signer (via tests/e2e/sigv4_sign_tool)
            signs the same request with the same headers and must produce the same
            Authorization and X-Amz-Date values;
  * verify: our verifier must accept botocore's signed request as sent on the wire (plus the
            Host, Content-Length and User-Agent headers an HTTP client adds), and reject it once
            the body, the target or the clock is off.

The same is done for requests captured from a full botocore DynamoDB client (the pipeline the
AWS CLI uses: its own headers, amz-sdk-*, real timestamps), short-circuited before the network.

Run with /usr/bin/python3 (Debian's python3-botocore). The helper binary comes from
$SIGV4_SIGN_TOOL, or is built into a temporary directory with scripts/build-one.sh.
Prints "N passed, M failed" and exits non-zero on any failure.
"""

import atexit
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
from unittest import mock

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+token=="
FIXED = datetime.datetime(2026, 11, 24, 3, 27, 0)

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}", file=sys.stderr)


def tool_path():
    path = os.environ.get("SIGV4_SIGN_TOOL")
    if path:
        return path
    tmp = tempfile.mkdtemp(prefix="sigv4-tool-")
    atexit.register(shutil.rmtree, tmp, True)
    out = os.path.join(tmp, "sigv4_sign_tool")
    subprocess.run(
        [os.path.join(REPO, "scripts", "build-one.sh"), out,
         os.path.join(REPO, "tests/e2e/sigv4_sign_tool.c"),
         os.path.join(REPO, "src/signing/sigv4.c"),
         os.path.join(REPO, "src/common/buf.c"),
         os.path.join(REPO, "src/common/err.c")],
        check=True, cwd=REPO)
    return out


TOOL = None


def run_tool(obj):
    p = subprocess.run([TOOL], input=json.dumps(obj).encode(), capture_output=True)
    if p.returncode != 0:
        raise RuntimeError(f"tool exited {p.returncode}: {p.stderr.decode(errors='replace')}")
    return json.loads(p.stdout)


def epoch(dt):
    return int(dt.replace(tzinfo=datetime.timezone.utc).timestamp())


def amz_to_epoch(s):
    return epoch(datetime.datetime.strptime(s, "%Y%m%dT%H%M%SZ"))


def signed_header_names(auth):
    part = [p for p in auth.split(", ") if p.startswith("SignedHeaders=")][0]
    return part[len("SignedHeaders="):].split(";")


def wire_headers(headers, host, body):
    """The headers as an HTTP client sends them: botocore's, plus Host and Content-Length."""
    hs = [[k, v.decode() if isinstance(v, bytes) else v] for k, v in headers.items()]
    names = {k.lower() for k, _ in hs}
    if "host" not in names:
        hs.append(["Host", host])
    if "content-length" not in names:
        hs.append(["Content-Length", str(len(body))])
    return hs


def cross_check(name, method, url, host, headers, body, region, token, when):
    """headers: botocore's signed request headers (Authorization, X-Amz-Date included)."""
    auth = headers["Authorization"]
    if isinstance(auth, bytes):
        auth = auth.decode()
    amz_date = headers["X-Amz-Date"]
    if isinstance(amz_date, bytes):
        amz_date = amz_date.decode()
    path = url.split("://", 1)[1].split("/", 1)[1]
    path, _, query = ("/" + path).partition("?")
    base = {
        "method": method, "path": path, "query": query, "body_hex": body.hex(),
        "access_key_id": AKID, "secret_access_key": SECRET, "region": region,
        "service": "dynamodb",
    }
    if token:
        base["session_token"] = token

    # sign: the headers botocore signed, minus those our signer adds itself.
    signed = signed_header_names(auth)
    lower = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in headers.items()}
    lower.setdefault("host", host)
    to_sign = [[n, lower[n]] for n in signed if n not in ("x-amz-date", "x-amz-security-token")]
    r = run_tool(dict(base, mode="sign", headers=to_sign, time=amz_to_epoch(amz_date)))
    check(f"{name}: Authorization", r["authorization"] == auth,
          f"\n  botocore: {auth}\n  ours:     {r['authorization']}\n"
          f"  canonical request:\n{r['canonical_request']}")
    check(f"{name}: X-Amz-Date", r["amz_date"] == amz_date, f"{amz_date} != {r['amz_date']}")

    # verify: botocore's request as it goes on the wire.
    wire = wire_headers(headers, host, body)
    req = dict(base, mode="verify", headers=wire, time=when + 30,
               required=["host", "x-amz-date", "x-amz-target"])
    v = run_tool(req)
    check(f"{name}: verify", v["status"] == "ok", v)
    check(f"{name}: verify akid", v["access_key_id"] == AKID, v)
    check(f"{name}: verify token", v["session_token"] == token, v)
    check(f"{name}: verify signed_at", v["signed_at"] == amz_to_epoch(amz_date), v)

    # ... and the verifier notices tampering and staleness.
    tampered = bytearray(body or b"x")
    tampered[len(tampered) // 2] ^= 1
    v = run_tool(dict(req, body_hex=bytes(tampered).hex()))
    check(f"{name}: tampered body rejected", v["status"] == "mismatch", v)
    other = [[k, "DynamoDB_20120810.DeleteTable" if k.lower() == "x-amz-target" else val]
             for k, val in wire]
    v = run_tool(dict(req, headers=other))
    check(f"{name}: changed target rejected", v["status"] == "mismatch", v)
    v = run_tool(dict(req, time=amz_to_epoch(amz_date) + 301))
    check(f"{name}: stale request rejected", v["status"] == "skew", v)
    v = run_tool(dict(req, secret_access_key=SECRET[:-1] + "X"))
    check(f"{name}: wrong secret rejected", v["status"] == "mismatch", v)


class FixedDateTime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return FIXED

    @classmethod
    def now(cls, tz=None):
        return FIXED if tz is None else FIXED.replace(tzinfo=tz)


REQUESTS = [
    ("Query", {"TableName": "orders", "KeyConditionExpression": "pk = :pk",
               "ExpressionAttributeValues": {":pk": {"S": "customer#42"}}, "Limit": 10}),
    ("GetItem", {"TableName": "orders", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
                 "ConsistentRead": True}),
    ("PutItem", {"TableName": "orders", "Item": {"pk": {"S": "b"}, "note": {"S": "café ☕ \"q\""}},
                 "ConditionExpression": "attribute_not_exists(pk)"}),
    ("ListTables", {}),
]


def sigv4auth_cases():
    for port in (8700, 45123):
        for region in ("us-east-1", "eu-west-1"):
            for token in (None, TOKEN):
                for op, payload in REQUESTS:
                    body = json.dumps(payload, ensure_ascii=False).encode()
                    url = f"http://127.0.0.1:{port}/"
                    req = AWSRequest(method="POST", url=url, data=body, headers={
                        "Content-Type": "application/x-amz-json-1.0",
                        "X-Amz-Target": f"DynamoDB_20120810.{op}",
                        "User-Agent": "aws-cli/2.9.19 Python/3.11.2 Linux/6.1.0 "
                                      "source/x86_64.debian.12 prompt/off command/dynamodb",
                    })
                    with mock.patch("botocore.auth.datetime.datetime", FixedDateTime):
                        SigV4Auth(Credentials(AKID, SECRET, token), "dynamodb",
                                  region).add_auth(req)
                    check(f"SigV4Auth {op}: fixed time", req.headers["X-Amz-Date"]
                          == FIXED.strftime("%Y%m%dT%H%M%SZ"), req.headers["X-Amz-Date"])
                    name = f"SigV4Auth {op} port={port} region={region} token={bool(token)}"
                    cross_check(name, "POST", url, f"127.0.0.1:{port}", dict(req.headers), body,
                                region, token, epoch(FIXED))


class _Raw:
    def __init__(self, data):
        self.data = data

    def stream(self, **kwargs):
        yield self.data


def client_cases():
    session = botocore.session.get_session()
    for token in (None, TOKEN):
        client = session.create_client(
            "dynamodb", region_name="us-west-2", endpoint_url="http://127.0.0.1:8700",
            aws_access_key_id=AKID, aws_secret_access_key=SECRET, aws_session_token=token)
        captured = []

        def before_send(request, **kwargs):
            captured.append(request)
            return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.0"},
                               _Raw(b"{}"))

        client.meta.events.register("before-send.dynamodb", before_send)
        client.query(TableName="orders", KeyConditionExpression="pk = :pk",
                     ExpressionAttributeValues={":pk": {"S": "customer#42"}}, Limit=5)
        client.get_item(TableName="orders", Key={"pk": {"S": "ü/ß"}})
        client.describe_table(TableName="orders")
        for req in captured:
            body = req.body or b""
            if isinstance(body, str):
                body = body.encode()
            target = req.headers["X-Amz-Target"]
            target = target.decode() if isinstance(target, bytes) else target
            amz = req.headers["X-Amz-Date"]
            amz = amz.decode() if isinstance(amz, bytes) else amz
            cross_check(f"client {target} token={bool(token)}", req.method, req.url,
                        "127.0.0.1:8700", dict(req.headers), body, "us-west-2", token,
                        amz_to_epoch(amz))
        check(f"client token={bool(token)}: requests captured", len(captured) == 3, captured)


def main():
    global TOOL
    TOOL = tool_path()
    sigv4auth_cases()
    client_cases()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
