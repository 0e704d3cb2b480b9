#!/usr/bin/python3
"""test_runbook_clients.py - every example runbook through every client.

For each runbook in runbooks/, with one runbook grant naming them all: the request the
runbook describes (rendered by the gateway for the grant) sent by Debian's AWS CLI
(`--cli-input-json`), by boto3 and by the AWS SDK for JavaScript v3, each with the
grant's credentials through the gateway, and by `breakglass run`, returns the same items
as the same request sent straight to dynalite; the write runbook changes the item the
same way from each client.

Run by run.sh (/usr/bin/python3), which starts dynalite and the gateway (with the
repository's runbooks) and exports BREAKGLASS_BIN, BREAKGLASS_URL, E2E_DYNALITE_URL,
E2E_STATE and the responder's token.
"""
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import Report, bg, lib, note_secret  # noqa: E402

PREFIX = "[runbook-clients] "
report = Report(PREFIX)
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AWS = "/usr/bin/aws"

# One set of parameters per read runbook, and the write's.
READS = {
    "orders-of-customer": {"customer": "CUSTOMER#42"},
    "stuck-orders": {"status": "STUCK"},
    "order-by-key": {"customer": "CUSTOMER#42", "order": "ORDER#1001"},
    "newest-events": {"device": "DEV-HOT1"},
}
KEBAB = {"Query": "query", "GetItem": "get-item", "UpdateItem": "update-item"}

JS = r"""
import * as ddb from "@aws-sdk/client-dynamodb";
const [op, input, endpoint] = process.argv.slice(1);
const c = new ddb.DynamoDBClient({region: "us-east-1", endpoint, maxAttempts: 1});
try {
  const out = await c.send(new ddb[op + "Command"](JSON.parse(input)));
  console.log(JSON.stringify({ok: true, out}));
} catch (e) {
  console.log(JSON.stringify({ok: false, name: e.name, message: e.message}));
}
"""


def items_of(op, answer):
    if op == "GetItem":
        return [answer["Item"]] if "Item" in answer else []
    return answer.get("Items", [])


def same(a, b):
    key = lambda i: json.dumps(i, sort_keys=True)  # noqa: E731
    return sorted(map(key, a)) == sorted(map(key, b))


def main():
    import boto3
    from botocore.config import Config

    url = os.environ["BREAKGLASS_URL"]
    dyn = os.environ["E2E_DYNALITE_URL"]
    rtoken = os.environ["E2E_RESPONDER_TOKEN"]
    user = os.environ["E2E_RESPONDER"]
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"})

    def client(endpoint, akid, secret, token=None):
        return boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint,
                            aws_access_key_id=akid, aws_secret_access_key=secret,
                            aws_session_token=token, config=cfg)

    direct = client(dyn, "direct", "direct")

    # --- the tables and data the runbooks are for --------------------------------------
    def create(**kw):
        try:
            direct.create_table(BillingMode="PAY_PER_REQUEST", **kw)
        except direct.exceptions.ResourceInUseException:
            pass
    create(TableName="orders",
           AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "status")],
           KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
           GlobalSecondaryIndexes=[{"IndexName": "by-status", "Projection": {"ProjectionType": "ALL"},
                                    "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"},
                                                  {"AttributeName": "sk", "KeyType": "RANGE"}]}])
    create(TableName="events",
           AttributeDefinitions=[{"AttributeName": "device", "AttributeType": "S"},
                                 {"AttributeName": "ts", "AttributeType": "N"}],
           KeySchema=[{"AttributeName": "device", "KeyType": "HASH"}, {"AttributeName": "ts", "KeyType": "RANGE"}])
    fixtures = {name: json.load(open(os.path.join(REPO, "runbooks", "fixtures", name + ".json")))
                for name in ("orders", "events")}
    for table, items in (("orders", fixtures["orders"]), ("events", fixtures["events"])):
        for it in items:
            direct.put_item(TableName=table, Item=it)

    # --- one grant naming every example runbook ------------------------------------------
    adm = json.loads(lib("admin", "runclients"))
    note_secret(adm["token"])
    ids = sorted(READS) + ["unstick-order"]
    g = json.loads(lib("grant", adm["token"], adm["totp_secret"], "--user", user, "--runbook",
                       ",".join(ids), "--for", "15m", "--reason", "e2e runbook clients"))
    report(g.get("kind") == "runbook" and len(g.get("runbooks", [])) == len(ids),
           "a grant naming all five runbooks", json.dumps(g)[:300])
    _, out = bg(rtoken, "creds", g["id"], "--json")
    cr = json.loads(out)
    note_secret(cr["secret_access_key"], cr["session_token"])
    via = client(url, cr["access_key_id"], cr["secret_access_key"], cr["session_token"])
    grant_env = dict(os.environ, AWS_ACCESS_KEY_ID=cr["access_key_id"],
                     AWS_SECRET_ACCESS_KEY=cr["secret_access_key"],
                     AWS_SESSION_TOKEN=cr["session_token"], AWS_DEFAULT_REGION="us-east-1",
                     AWS_REGION="us-east-1")

    def render(runbook, params):
        req = urllib.request.Request(
            url + "/api/v1/grants/%s/render" % g["id"], method="POST",
            data=json.dumps({"runbook": runbook, "params": params}).encode(),
            headers={"Authorization": "Bearer " + rtoken, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def aws_cli(op, request):
        r = subprocess.run([AWS, "--endpoint-url", url, "--output", "json", "dynamodb", KEBAB[op],
                            "--no-paginate", "--cli-input-json", json.dumps(request)],
                           capture_output=True, text=True, env=grant_env, timeout=60)
        return r.returncode, (json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else {}), r.stderr

    def js(op, request):
        r = subprocess.run(["node", "--input-type=module", "-e", JS, op, json.dumps(request), url],
                           capture_output=True, text=True, env=grant_env, cwd=REPO, timeout=60)
        try:
            return json.loads(r.stdout)
        except ValueError:
            return {"ok": False, "message": (r.stdout + r.stderr)[:300]}

    # --- the reads ---------------------------------------------------------------------
    for rb, params in sorted(READS.items()):
        plan = render(rb, params)
        op, request = plan["operation"], plan["request"]
        want = items_of(op, getattr(direct, KEBAB[op].replace("-", "_"))(**request))
        report(len(want) > 0, f"{rb}: the direct call finds items", op)
        got = items_of(op, getattr(via, KEBAB[op].replace("-", "_"))(**request))
        report(same(got, want), f"{rb}: boto3 through the gateway = direct", f"{got} vs {want}")
        rc, ans, err = aws_cli(op, request)
        report(rc == 0 and same(items_of(op, ans), want), f"{rb}: the AWS CLI through the gateway = direct",
               err[-300:] or json.dumps(ans)[:300])
        j = js(op, request)
        report(j.get("ok") and same(items_of(op, j["out"]), want),
               f"{rb}: the JS SDK through the gateway = direct", json.dumps(j)[:300])
        args = ["run", rb, "--grant", g["id"], "--json"]
        for k, v in params.items():
            args += ["--param", f"{k}={v}"]
        rc, out = bg(rtoken, *args, check=False)
        o = json.loads(out) if out.strip() else {}
        # run follows pages; the direct call above read one page of the same size.
        report(rc == 0 and same(o.get("items", [])[:len(want)], want) and o.get("runbook") == rb,
               f"{rb}: breakglass run = direct", out[:300])

    # --- duplicate JSON keys: one reading for the gateway, another for DynamoDB? Refused. ---
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    plan = render("orders-of-customer", READS["orders-of-customer"])
    body = json.dumps(plan["request"])[:-1] + ', "Limit": 1000}'  # "Limit" twice
    raw = AWSRequest(method="POST", url=url + "/", data=body.encode(), headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.Query"})
    SigV4Auth(Credentials(cr["access_key_id"], cr["secret_access_key"], cr["session_token"]),
              "dynamodb", "us-east-1").add_auth(raw)
    req = urllib.request.Request(url + "/", data=body.encode(), method="POST", headers=dict(raw.headers))
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            report(False, "duplicate JSON keys are refused", "HTTP %d" % r.status)
    except urllib.error.HTTPError as e:
        err = json.loads(e.read() or b"{}")
        report(e.code == 400 and "SerializationException" in err.get("__type", ""),
               "duplicate JSON keys are refused (SerializationException)", json.dumps(err)[:300])

    # --- the write, from each client ---------------------------------------------------
    order = {it["sk"]["S"]: it for it in fixtures["orders"] if it["pk"]["S"] == "CUSTOMER#42"}

    def reset(sk):
        direct.put_item(TableName="orders", Item=order[sk])

    def status(sk):
        return direct.get_item(TableName="orders", Key={"pk": {"S": "CUSTOMER#42"}, "sk": {"S": sk}},
                               ConsistentRead=True)["Item"]["status"]["S"]

    def write_plan(sk, new):
        return render("unstick-order", {"customer": "CUSTOMER#42", "order": sk, "new": new})["request"]

    reset("ORDER#1001")
    via.update_item(**write_plan("ORDER#1001", "PENDING"))
    report(status("ORDER#1001") == "PENDING", "unstick-order: boto3 through the gateway", status("ORDER#1001"))
    reset("ORDER#1001")
    rc, _, err = aws_cli("UpdateItem", write_plan("ORDER#1001", "CANCELLED"))
    report(rc == 0 and status("ORDER#1001") == "CANCELLED", "unstick-order: the AWS CLI through the gateway", err[-300:])
    reset("ORDER#1001")
    j = js("UpdateItem", write_plan("ORDER#1001", "PENDING"))
    report(j.get("ok") and status("ORDER#1001") == "PENDING", "unstick-order: the JS SDK through the gateway",
           json.dumps(j)[:300])
    reset("ORDER#1001")
    rc, out = bg(rtoken, "run", "unstick-order", "--grant", g["id"], "--param", "customer=CUSTOMER#42",
                 "--param", "order=ORDER#1001", "--param", "new=CANCELLED", check=False)
    report(rc == 0 and status("ORDER#1001") == "CANCELLED", "unstick-order: breakglass run", out[:300])
    reset("ORDER#1001")
    report.finish()


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash is a failure, never a skip
        report(False, "the test ran to the end", repr(e)[:400])
        report.finish()
