#!/usr/bin/python3
"""masking_clients.py - the client half of test_masking.sh (not a test of its own).

With the grant test_masking.sh made (runbooks customer-by-key, GetItem, masking email and
card.last4, customers-of-team, Query, the same with mask_hash, and customer-state,
UpdateItem returning ALL_OLD, the same mask), through the gateway:
Debian's AWS CLI, boto3 and the AWS SDK for JavaScript v3 see the marker and never the
values; the CLI and boto3 verify x-amz-crc32 and may retry (3 attempts), and the audit
shows one request per call, so the recomputed checksum was right the first time; with
mask_hash the two customers sharing an email show the same hash and the third another; a
write's returned old item is masked.
A raw signed Query checks the checksum header against the body, and its response record
against the raw body dynalite gives the same request directly: body_sha256 is the
unmasked answer's, released_body_sha256 the masked one's. No response or request record
of the grant holds a plain value.

Environment (from test_masking.sh): BREAKGLASS_BIN, BREAKGLASS_URL (the test's gateway),
E2E_DYNALITE_URL, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN (the grant),
E2E_MASK_GRANT, E2E_ADMIN_TOKEN (that gateway's admin).
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.request
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import Report  # noqa: E402

report = Report("[masking] ")
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AWS = "/usr/bin/aws"
PLAIN = ["shared.person@example.com", "other.person@example.com", "4242", "9876"]
MARK = "***masked***"
HASHED = re.compile(r"\*\*\*masked:[0-9a-f]{16}\*\*\*")

URL = os.environ["BREAKGLASS_URL"]
DYN = os.environ["E2E_DYNALITE_URL"]
GRANT = os.environ["E2E_MASK_GRANT"]
KEY = {"team": {"S": "T1"}, "id": {"S": "c1"}}
QUERY = {"TableName": "customers", "KeyConditionExpression": "team = :t",
         "ExpressionAttributeValues": {":t": {"S": "T1"}}, "Limit": 10}
GET = {"TableName": "customers", "Key": KEY}
calls = 0  # requests sent through the gateway

JS = r"""
import * as ddb from "@aws-sdk/client-dynamodb";
const [op, input, endpoint] = process.argv.slice(1);
const c = new ddb.DynamoDBClient({region: "us-east-1", endpoint, maxAttempts: 3});
try {
  const out = await c.send(new ddb[op + "Command"](JSON.parse(input)));
  console.log(JSON.stringify({ok: true, out}));
} catch (e) {
  console.log(JSON.stringify({ok: false, name: e.name, message: e.message}));
}
"""


def no_plain(text):
    return not any(p in text for p in PLAIN)


def check_get(who, item):
    ok = (item.get("email") == {"S": MARK} and item.get("card", {}).get("M", {}).get("last4") == {"S": MARK}
          and item["card"]["M"].get("brand") == {"S": "visa"} and item.get("name") == {"S": "Ada"}
          and item.get("team") == {"S": "T1"} and item.get("id") == {"S": "c1"})
    report(ok and no_plain(json.dumps(item)), f"{who} GetItem: email and card.last4 show {MARK}, "
           "the rest as stored", json.dumps(item)[:300])


def check_query(who, items):
    by = {i["id"]["S"]: i for i in items}
    ok = sorted(by) == ["c1", "c2", "c3"]
    e = {k: by[k]["email"]["S"] for k in by} if ok else {}
    ok = ok and all(HASHED.fullmatch(v) for v in e.values())
    ok = ok and HASHED.fullmatch(by["c1"]["card"]["M"]["last4"]["S"]) and "card" not in by["c3"]
    report(ok and no_plain(json.dumps(items)), f"{who} Query: three items, every email and card.last4 "
           "a hashed marker", json.dumps(items)[:300])
    if ok:
        report(e["c1"] == e["c2"] and e["c1"] != e["c3"]
               and by["c1"]["card"]["M"]["last4"] != by["c2"]["card"]["M"]["last4"],
               f"{who} Query: equal emails show the same hash, a different one another", json.dumps(e))


def main():
    global calls
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config
    from botocore.credentials import Credentials

    env = dict(os.environ, AWS_MAX_ATTEMPTS="3", AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1")

    # --- the AWS CLI (it checks x-amz-crc32; a mismatch is retried, then fails) ------------
    def cli(*args):
        global calls
        calls += 1
        r = subprocess.run([AWS, "--endpoint-url", URL, "--output", "json", "dynamodb", *args],
                           capture_output=True, text=True, env=env, timeout=60)
        return r.returncode, r.stdout, r.stderr

    rc, out, err = cli("get-item", "--table-name", "customers", "--key", json.dumps(KEY))
    report(rc == 0, "AWS CLI get-item through the gateway -> 0", err[-300:])
    if rc == 0:
        check_get("AWS CLI", json.loads(out).get("Item", {}))
    rc, out, err = cli("query", "--no-paginate", "--cli-input-json", json.dumps(QUERY))
    report(rc == 0, "AWS CLI query through the gateway -> 0", err[-300:])
    if rc == 0:
        check_query("AWS CLI", json.loads(out).get("Items", []))

    # --- boto3 (botocore checks x-amz-crc32 too) --------------------------------------------
    c = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=URL,
                     aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                     aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                     aws_session_token=os.environ["AWS_SESSION_TOKEN"],
                     config=Config(retries={"max_attempts": 3, "mode": "standard"}))
    calls += 1
    a = c.get_item(**GET)
    report(a["ResponseMetadata"]["RetryAttempts"] == 0, "boto3 GetItem: no retry", json.dumps(a["ResponseMetadata"]))
    check_get("boto3", a.get("Item", {}))
    calls += 1
    a = c.query(**QUERY)
    report(a["ResponseMetadata"]["RetryAttempts"] == 0, "boto3 Query: no retry", json.dumps(a["ResponseMetadata"]))
    check_query("boto3", a.get("Items", []))

    # --- the JS SDK v3 ------------------------------------------------------------------------
    def js(op, request):
        global calls
        calls += 1
        r = subprocess.run(["node", "--input-type=module", "-e", JS, op, json.dumps(request), URL],
                           capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
        try:
            return json.loads(r.stdout)
        except ValueError:
            return {"ok": False, "message": (r.stdout + r.stderr)[:300]}

    j = js("GetItem", GET)
    report(j.get("ok"), "JS SDK GetItem through the gateway", json.dumps(j)[:300])
    if j.get("ok"):
        report(j["out"]["$metadata"].get("attempts") == 1, "JS SDK GetItem: one attempt", json.dumps(j["out"]["$metadata"]))
        check_get("JS SDK", j["out"].get("Item", {}))
    j = js("Query", QUERY)
    report(j.get("ok"), "JS SDK Query through the gateway", json.dumps(j)[:300])
    if j.get("ok"):
        check_query("JS SDK", j["out"].get("Items", []))

    # --- a write's Attributes (ReturnValues ALL_OLD): boto3 unlocks c2, the AWS CLI locks it
    upd = {"TableName": "customers", "Key": {"team": {"S": "T1"}, "id": {"S": "c2"}},
           "UpdateExpression": "SET #st = :new", "ConditionExpression": "#st = :old",
           "ExpressionAttributeNames": {"#st": "state"}, "ReturnValues": "ALL_OLD"}
    calls += 1
    a = c.update_item(ExpressionAttributeValues={":new": {"S": "ACTIVE"}, ":old": {"S": "LOCKED"}}, **upd)
    at = a.get("Attributes", {})
    report(at.get("email") == {"S": MARK} and at.get("card", {}).get("M", {}).get("last4") == {"S": MARK}
           and at.get("state") == {"S": "LOCKED"} and no_plain(json.dumps(at)),
           "boto3 UpdateItem ALL_OLD: the old item's email and card.last4 masked", json.dumps(at)[:300])
    rc, out, err = cli("update-item", "--cli-input-json", json.dumps(dict(
        upd, ExpressionAttributeValues={":new": {"S": "LOCKED"}, ":old": {"S": "ACTIVE"}})))
    at = json.loads(out).get("Attributes", {}) if rc == 0 else {}
    report(rc == 0 and at.get("email") == {"S": MARK} and at.get("state") == {"S": "ACTIVE"}
           and no_plain(out), "AWS CLI update-item ALL_OLD: masked", (err or out)[-300:])

    # --- raw: the checksum header, and the unmasked answer's hash -------------------------------
    body = json.dumps(QUERY).encode()

    def raw(endpoint, creds, body=body):
        req = AWSRequest(method="POST", url=endpoint + "/", data=body, headers={
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.Query"})
        SigV4Auth(Credentials(*creds), "dynamodb", "us-east-1").add_auth(req)
        r = urllib.request.Request(endpoint + "/", data=body, method="POST", headers=dict(req.headers))
        with urllib.request.urlopen(r, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()

    calls += 1
    st, hdrs, masked = raw(URL, (os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"],
                                 os.environ["AWS_SESSION_TOKEN"]))
    crc = {k.lower(): v for k, v in hdrs.items()}.get("x-amz-crc32")
    report(st == 200 and crc == str(zlib.crc32(masked)), "raw Query: x-amz-crc32 is the masked body's CRC-32",
           f"{st} {crc} vs {zlib.crc32(masked)}")
    report(no_plain(masked.decode()) and HASHED.search(masked.decode()) is not None,
           "raw Query: the body has markers and no plain value", masked[:300])
    rid = {k.lower(): v for k, v in hdrs.items()}.get("x-breakglass-request-id")
    # The gateway asks DynamoDB for the capacity consumed (and strips it from the answer):
    # the same request straight to dynalite asks for it too, so the bodies are the same.
    _, _, unmasked = raw(DYN, ("direct", "direct", None),
                         json.dumps(dict(QUERY, ReturnConsumedCapacity="TOTAL")).encode())
    report(not no_plain(unmasked.decode()), "the same Query straight to dynalite shows the values", unmasked[:200])

    # --- the audit records of the grant -----------------------------------------------------------
    r = subprocess.run([os.environ["BREAKGLASS_BIN"], "audit", "tail", "-n", "1000", "--grant", GRANT, "--json"],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, BREAKGLASS_TOKEN=os.environ["E2E_ADMIN_TOKEN"]))
    recs = json.loads(r.stdout)["records"] if r.returncode == 0 else []
    reqs = [x for x in recs if x["kind"] == "request"]
    resps = [x for x in recs if x["kind"] == "response"]
    report(len(reqs) == calls and len(resps) == calls,
           f"one request and one response record per call ({calls}): no client retried",
           f"{len(reqs)} requests, {len(resps)} responses, {calls} calls")
    report(len(recs) > 0 and all(no_plain(json.dumps(x)) for x in recs),
           "no record of the grant holds a plain value (the whole record searched)",
           [x["seq"] for x in recs if not no_plain(json.dumps(x))])
    ok = all(x["detail"].get("masked", {}).get("paths", {}).keys() == {"email", "card.last4"}
             for x in resps)
    report(ok, "every response record says what was masked", json.dumps([x["detail"].get("masked") for x in resps])[:300])
    mine = [x for x in resps if x["request_id"] == rid]
    d = mine[0]["detail"] if mine else {}
    report(d.get("body_sha256") == hashlib.sha256(unmasked).hexdigest(),
           "the raw Query's response record: body_sha256 = SHA-256 of dynalite's unmasked answer",
           f"{d.get('body_sha256')} vs {hashlib.sha256(unmasked).hexdigest()}")
    report(d.get("released_body_sha256") == hashlib.sha256(masked).hexdigest(),
           "...released_body_sha256 = SHA-256 of the masked answer the client got", json.dumps(d)[:300])
    report(d.get("masked") == {"paths": {"email": 3, "card.last4": 2}, "values": 5, "hash": True},
           "...masked: 3 emails and 2 card.last4, hashed", json.dumps(d.get("masked")))
    report(d.get("count") == 3 and sorted(k["id"]["S"] for k in d.get("keys", [])) == ["c1", "c2", "c3"],
           "...count and the items' keys are recorded", json.dumps(d)[:300])
    report.finish()


if __name__ == "__main__":
    main()
