#!/usr/bin/python3
"""test_protocol.py - the gateway's DynamoDB endpoint at the HTTP level.

Raw requests over one keep-alive connection (http.client), signed with botocore's
SigV4Auth where a signature is wanted, check what SDKs would hide: every error has the
DynamoDB shape (HTTP 400 or 413, JSON {"__type": ..., "message": ...}, an
x-amzn-RequestId header) with the code real clients understand for a missing or malformed
Authorization header, a skewed or tampered signature, an unsigned X-Amz-Target, malformed
or duplicate-key JSON, too-deep JSON, an unknown operation and an oversize body; an allowed
call returns dynalite's answer with its request id and CRC32 intact; GET / is a health
check; and the connection stays open across all of it.

Run by run.sh (/usr/bin/python3), which starts dynalite and the gateway.
"""
import datetime
import http.client
import hashlib
import json
import os
import sys
import urllib.parse
import zlib
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import Report, bg, lib, note_secret  # noqa: E402

report = Report("[protocol] ")


def main():
    import botocore.auth
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = urllib.parse.urlparse(os.environ["BREAKGLASS_URL"])
    host = f"{url.hostname}:{url.port}"
    adm = json.loads(lib("admin", "proto"))
    g = json.loads(lib("grant", adm["token"], adm["totp_secret"], "--user",
                       os.environ["E2E_RESPONDER"], "--table", "Orders", "--op",
                       "Query,GetItem", "--for", "15m", "--reason", "e2e protocol"))
    cr = json.loads(bg(os.environ["E2E_RESPONDER_TOKEN"], "creds", g["id"], "--json")[1])
    note_secret(cr["secret_access_key"], cr["session_token"], adm["token"])
    creds = Credentials(cr["access_key_id"], cr["secret_access_key"], cr["session_token"])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)

    def signed(op, body, when=None, creds_=creds, drop=(), unsigned_target=False):
        hdrs = {"Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": f"DynamoDB_20120810.{op}"}
        req = AWSRequest(method="POST", url=f"http://{host}/", data=body, headers=hdrs)
        if unsigned_target:
            # Sign without X-Amz-Target, then add it: the operation is not covered.
            del req.headers["X-Amz-Target"]
        if when is None:
            SigV4Auth(creds_, "dynamodb", "us-east-1").add_auth(req)
        else:
            # botocore reads the clock itself; give it another one for this signature.
            class Clock(datetime.datetime):
                @classmethod
                def utcnow(cls):
                    return when
            with mock.patch.object(botocore.auth.datetime, "datetime", Clock):
                SigV4Auth(creds_, "dynamodb", "us-east-1").add_auth(req)
        out = dict(req.headers.items())
        if unsigned_target:
            out["X-Amz-Target"] = f"DynamoDB_20120810.{op}"
        for h in drop:
            out.pop(h, None)
        return out

    def send(headers, body, method="POST", path="/"):
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        return r, data

    def expect(name, code, status, headers, body):
        r, data = send(headers, body)
        try:
            doc = json.loads(data)
            got = doc.get("__type", "").rsplit("#", 1)[-1]
            msg = doc.get("message", "")
        except ValueError:
            doc, got, msg = None, f"<not JSON: {data[:80]!r}>", ""
        rid = r.getheader("x-amzn-RequestId") or ""
        ok = r.status == status and got == code and msg and len(rid) >= 16
        report(ok, name, f"HTTP {r.status} {got} {msg[:120]!r} rid={rid!r}")
        return doc

    q = json.dumps({"TableName": "Orders", "KeyConditionExpression": "customer = :c",
                    "ExpressionAttributeValues": {":c": {"S": "c-100"}}}).encode()

    # --- allowed: dynalite's answer passes through untouched -----------------------------
    r, data = send(signed("Query", q), q)
    crc = r.getheader("x-amz-crc32")
    report(r.status == 200 and json.loads(data).get("Count") == 3,
           "signed Query answered (200, 3 items)", f"HTTP {r.status} {data[:200]!r}")
    report(crc is not None and int(crc) == zlib.crc32(data),
           "x-amz-crc32 matches the body released", f"crc {crc}")
    report(len(r.getheader("x-amzn-RequestId") or "") > 0 and
           r.getheader("x-breakglass-request-id") is not None,
           "upstream request id and the gateway's own request id are both there")

    # --- ConsumedCapacity: always asked of DynamoDB, recorded and charged; released only ---
    # --- to a client that asked for it (then as DynamoDB sent it) ------------------------
    qc = json.dumps({"TableName": "Orders", "KeyConditionExpression": "customer = :c",
                     "ExpressionAttributeValues": {":c": {"S": "c-100"}},
                     "ReturnConsumedCapacity": "TOTAL"}).encode()
    r, data = send(signed("Query", qc), qc)
    rid_cc = r.getheader("x-breakglass-request-id")
    want_cc = json.loads(data).get("ConsumedCapacity")
    r, data = send(signed("Query", q), q)
    rid_plain = r.getheader("x-breakglass-request-id")
    crc = r.getheader("x-amz-crc32")
    report(r.status == 200 and "ConsumedCapacity" not in json.loads(data)
           and json.loads(data).get("Count") == 3,
           "a client that did not ask gets no ConsumedCapacity", data[:200])
    report(crc is not None and int(crc) == zlib.crc32(data),
           "...and a x-amz-crc32 of the body it got", f"crc {crc}")
    responses = {}
    after = 0
    while True:
        page = json.loads(bg(adm["token"], "audit", "tail", "--json", "--after", str(after),
                             "--limit", "1000")[1])["records"]
        if not page:
            break
        for rec in page:
            if rec.get("kind") == "response":
                responses[rec.get("request_id")] = rec
        after = page[-1]["seq"]
    got = (responses.get(rid_cc, {}).get("detail") or {}).get("consumed_capacity")
    report(want_cc is not None and got == want_cc,
           "response record holds the ConsumedCapacity DynamoDB reported", f"{got} vs {want_cc}")
    got = (responses.get(rid_plain, {}).get("detail") or {})
    report(got.get("consumed_capacity") == want_cc
           and got.get("charged", {}).get("read") == want_cc.get("CapacityUnits")
           and got.get("released_body_sha256") == hashlib.sha256(data).hexdigest()
           and got.get("body_sha256") != got.get("released_body_sha256"),
           "...but its response record holds what DynamoDB reported, the charge, and the "
           "hashes of DynamoDB's body and the released one", str(got)[:300])

    # --- authentication -------------------------------------------------------------------
    expect("no Authorization header -> MissingAuthenticationTokenException",
           "MissingAuthenticationTokenException", 400,
           {"Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.Query"}, q)
    h = signed("Query", q)
    h["Authorization"] = h["Authorization"].replace("Signature=", "Sig=")
    expect("malformed Authorization -> IncompleteSignatureException",
           "IncompleteSignatureException", 400, h, q)
    h = signed("Query", q)
    h["Authorization"] = "AWS4-HMAC-SHA256 Credential=" + cr["access_key_id"]
    expect("Authorization without scope -> IncompleteSignatureException",
           "IncompleteSignatureException", 400, h, q)
    old = datetime.datetime.utcnow() - datetime.timedelta(minutes=6)
    expect("date 6 minutes old -> InvalidSignatureException", "InvalidSignatureException",
           400, signed("Query", q, when=old), q)
    future = datetime.datetime.utcnow() + datetime.timedelta(minutes=6)
    expect("date 6 minutes ahead -> InvalidSignatureException", "InvalidSignatureException",
           400, signed("Query", q, when=future), q)
    tampered = q.replace(b"c-100", b"c-200")
    expect("body changed after signing -> InvalidSignatureException",
           "InvalidSignatureException", 400, signed("Query", q), tampered)
    h = signed("Query", q)
    h["X-Amz-Target"] = "DynamoDB_20120810.Scan"
    expect("operation changed after signing -> InvalidSignatureException",
           "InvalidSignatureException", 400, h, q)
    expect("X-Amz-Target not signed -> IncompleteSignatureException",
           "IncompleteSignatureException", 400, signed("Query", q, unsigned_target=True), q)
    wrong_region = signed("Query", q)
    wrong_region["Authorization"] = wrong_region["Authorization"].replace("/us-east-1/", "/eu-west-1/")
    expect("credential scoped to another region -> InvalidSignatureException",
           "InvalidSignatureException", 400, wrong_region, q)
    expect("signed session token removed -> IncompleteSignatureException",
           "IncompleteSignatureException", 400, signed("Query", q, drop=("X-Amz-Security-Token",)), q)
    no_token = Credentials(cr["access_key_id"], cr["secret_access_key"])
    expect("no session token -> UnrecognizedClientException", "UnrecognizedClientException", 400,
           signed("Query", q, creds_=no_token), q)
    expect("unknown access key -> UnrecognizedClientException", "UnrecognizedClientException",
           400, signed("Query", q, creds_=Credentials("BGIAAAAAAAAAAAAAAAAA", "x" * 40, "t")), q)

    # --- the request itself ---------------------------------------------------------------
    for name, body in [("truncated JSON", b'{"TableName":"Orders"'),
                       ("not an object", b'["TableName"]'),
                       ("empty body", b"")]:
        expect(f"{name} -> SerializationException", "SerializationException", 400,
               signed("Query", body), body)
    dup = b'{"TableName":"Orders","TableName":"Users"}'
    d = expect("duplicate JSON keys -> refused before anything else",
               "SerializationException", 400, signed("Query", dup), dup)
    deep = b'{"TableName":"Orders","X":' + b"[" * 200 + b"]" * 200 + b"}"
    expect("JSON nested 200 deep -> ValidationException (as DynamoDB)", "ValidationException", 400,
           signed("Query", deep), deep)
    nt = b'{"KeyConditionExpression":"a = :a"}'
    expect("no TableName -> ValidationException", "ValidationException", 400,
           signed("Query", nt), nt)
    expect("unknown operation -> UnknownOperationException", "UnknownOperationException", 400,
           signed("FrobnicateItems", b"{}"), b"{}")
    h = signed("Query", q)
    h["X-Amz-Target"] = "DynamoDB_20120810.Query"
    h["Content-Length"] = str(17 * 1024 * 1024)
    big = b" " * (17 * 1024 * 1024)
    expect("body over 16 MiB -> 413 RequestEntityTooLargeException",
           "RequestEntityTooLargeException", 413, h, big)

    # --- the connection survived all of that, and health ---------------------------------
    r, data = send(signed("Query", q), q)
    report(r.status == 200, "same keep-alive connection still serves an allowed call",
           f"HTTP {r.status}")
    r, data = send({}, None, method="GET")
    report(r.status == 200 and data.startswith(b"healthy"), "GET / is a health check",
           f"HTTP {r.status} {data[:60]!r}")
    r, data = send({"Content-Type": "application/x-amz-json-1.0"}, q, path="/other")
    report(r.status == 400 and b"__type" in data, "POST to another path is a DynamoDB-shaped 400",
           f"HTTP {r.status} {data[:100]!r}")
    conn.close()


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash is a failure, never a skip
        report(False, "test ran to the end", f"{type(e).__name__}: {e}")
    report.finish()
