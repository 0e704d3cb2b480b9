#!/usr/bin/python3
"""test_boto3.py - boto3 (Debian's python3-boto3) against dynalite through the real gateway.

The same contract as the AWS CLI test, seen by an SDK: a grant for Orders with Query and
GetItem returns exactly what dynalite returns; Scan, writes, another table, a wrong
secret, an unknown key, a wrong session token, an expired and a revoked grant each raise
the ClientError code botocore derives from the gateway's answer (the text after the last
'#' of __type), and denied writes do not reach the table. Also botocore's own
credential_process support reading `breakglass creds --format process`.

Run by run.sh (/usr/bin/python3), which starts dynalite and the gateway and exports
BREAKGLASS_BIN, BREAKGLASS_URL, E2E_DYNALITE_URL, E2E_STATE and the responder's token.
"""
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import Report, bg, lib, note_secret  # noqa: E402

PREFIX = "[boto3] "
report = Report(PREFIX)
finish = report.finish


def main():
    try:
        import boto3
        import botocore
        from botocore.config import Config
        from botocore.exceptions import ClientError
    except ImportError as e:
        report(False, "boto3 importable", str(e))
        finish()

    url = os.environ["BREAKGLASS_URL"]
    dyn = os.environ["E2E_DYNALITE_URL"]
    rtoken = os.environ["E2E_RESPONDER_TOKEN"]
    user = os.environ["E2E_RESPONDER"]
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5,
                 read_timeout=30)

    def client(endpoint, akid, secret, token=None, **kw):
        return boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint,
                            aws_access_key_id=akid, aws_secret_access_key=secret,
                            aws_session_token=token, config=cfg, **kw)

    direct = client(dyn, "direct", "direct")

    # --- setup: our own admin (fresh TOTP budget), a grant, its credentials --------------
    adm = json.loads(lib("admin", "boto"))
    note_secret(adm["token"])
    g = json.loads(lib("grant", adm["token"], adm["totp_secret"], "--user", user, "--table",
                       "Orders", "--op", "Query,GetItem", "--for", "15m", "--reason",
                       "e2e boto3"))
    _, out = bg(rtoken, "creds", g["id"], "--json")
    cr = json.loads(out)
    note_secret(cr["secret_access_key"])
    note_secret(cr["session_token"])
    report(cr["endpoint"] == url, "creds endpoint is the gateway", cr["endpoint"])
    gw = client(url, cr["access_key_id"], cr["secret_access_key"], cr["session_token"])

    def expect_error(name, code, fn, want_msg=None):
        try:
            fn()
        except ClientError as e:
            got = e.response.get("Error", {}).get("Code")
            msg = e.response.get("Error", {}).get("Message", "")
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            ok = got == code and status == 400 and (want_msg is None or want_msg in msg.lower())
            report(ok, name, f"got {got} (HTTP {status}): {msg}")
            return
        except Exception as e:  # noqa: BLE001 - any other failure is a test failure
            report(False, name, f"{type(e).__name__}: {e}")
            return
        report(False, name, "the call succeeded")

    def same(name, a, b, key):
        try:
            ra, rb = a(), b()
            report(key in ra and ra.get(key) == rb.get(key), name,
                   f"direct {json.dumps(rb.get(key), default=str)[:200]} gateway {json.dumps(ra.get(key), default=str)[:200]}")
        except Exception as e:  # noqa: BLE001
            report(False, name, f"{type(e).__name__}: {e}")

    q = dict(TableName="Orders", KeyConditionExpression="customer = :c",
             ExpressionAttributeValues={":c": {"S": "c-100"}})
    gi = dict(TableName="Orders", Key={"customer": {"S": "c-200"}, "order_id": {"S": "o-9"}})

    # --- allowed ------------------------------------------------------------------------
    same("Query through the gateway = direct", lambda: gw.query(**q), lambda: direct.query(**q), "Items")
    same("GetItem through the gateway = direct", lambda: gw.get_item(**gi),
         lambda: direct.get_item(**gi), "Item")
    qp = dict(q, Limit=2)
    same("Query with Limit: same page", lambda: gw.query(**qp), lambda: direct.query(**qp), "Items")
    same("Query with Limit: same LastEvaluatedKey", lambda: gw.query(**qp), lambda: direct.query(**qp),
         "LastEvaluatedKey")
    try:
        pages = [p["Items"] for p in gw.get_paginator("query").paginate(**q, PaginationConfig={"PageSize": 1})]
        flat = [i for p in pages for i in p]
        report(flat == direct.query(**q)["Items"], "paginated Query (page size 1) = direct")
    except Exception as e:  # noqa: BLE001
        report(False, "paginated Query (page size 1) = direct", f"{type(e).__name__}: {e}")

    # --- denied -------------------------------------------------------------------------
    before = direct.scan(TableName="Orders", ConsistentRead=True)["Items"]
    expect_error("Scan denied", "AccessDeniedException", lambda: gw.scan(TableName="Orders"))
    expect_error("PutItem denied", "AccessDeniedException", lambda: gw.put_item(
        TableName="Orders", Item={"customer": {"S": "c-100"}, "order_id": {"S": "o-boto"}}))
    expect_error("DeleteItem denied", "AccessDeniedException", lambda: gw.delete_item(
        TableName="Orders", Key={"customer": {"S": "c-100"}, "order_id": {"S": "o-1"}}))
    expect_error("BatchWriteItem denied", "AccessDeniedException", lambda: gw.batch_write_item(
        RequestItems={"Orders": [{"DeleteRequest": {"Key": {"customer": {"S": "c-100"},
                                                              "order_id": {"S": "o-2"}}}}]}))
    after = direct.scan(TableName="Orders", ConsistentRead=True)["Items"]
    report(before == after, "Orders unchanged after denied writes")
    expect_error("Query on another table denied", "AccessDeniedException", lambda: gw.query(
        TableName="Users", KeyConditionExpression="id = :i",
        ExpressionAttributeValues={":i": {"S": "u-1"}}))
    expect_error("GetItem on another table denied", "AccessDeniedException",
                 lambda: gw.get_item(TableName="Users", Key={"id": {"S": "u-1"}}))

    # --- authentication -----------------------------------------------------------------
    bad = client(url, cr["access_key_id"], cr["secret_access_key"] + "x", cr["session_token"])
    expect_error("wrong secret -> InvalidSignatureException", "InvalidSignatureException",
                 lambda: bad.query(**q))
    bad = client(url, "BGAKNOSUCHKEY0000000", cr["secret_access_key"], cr["session_token"])
    expect_error("unknown access key -> UnrecognizedClientException", "UnrecognizedClientException",
                 lambda: bad.query(**q))
    bad = client(url, cr["access_key_id"], cr["secret_access_key"], cr["session_token"] + "x")
    expect_error("wrong session token -> UnrecognizedClientException", "UnrecognizedClientException",
                 lambda: bad.query(**q))

    # --- credential_process through botocore's own provider ------------------------------
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "config")
        with open(path, "w") as f:
            f.write("[profile breakglass]\nregion = us-east-1\n"
                    f"credential_process = {os.environ['BREAKGLASS_BIN']} creds {g['id']} --format process\n")
        saved = {k: os.environ.pop(k, None) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                      "AWS_SESSION_TOKEN")}
        os.environ["AWS_CONFIG_FILE"] = path
        os.environ["BREAKGLASS_TOKEN"] = rtoken
        try:
            s = boto3.session.Session(profile_name="breakglass")
            c = s.client("dynamodb", endpoint_url=url, config=cfg)
            same("credential_process profile: Query = direct", lambda: c.query(**q),
                 lambda: direct.query(**q), "Items")
            creds = s.get_credentials()
            report(creds.access_key == cr["access_key_id"], "credential_process: same access key")
        finally:
            os.environ["AWS_CONFIG_FILE"] = "/dev/null"
            del os.environ["BREAKGLASS_TOKEN"]
            for k, v in saved.items():
                if v is not None:
                    os.environ[k] = v

    # --- expiry -------------------------------------------------------------------------
    try:
        sg = json.loads(lib("grant", adm["token"], adm["totp_secret"], "--user", user, "--table",
                            "Orders", "--op", "Query,GetItem", "--for", "2s", "--reason", "e2e expiry"))
        _, out = bg(rtoken, "creds", sg["id"], "--json")
        sc = json.loads(out)
        note_secret(sc["secret_access_key"])
        note_secret(sc["session_token"])
        time.sleep(3)
        ex = client(url, sc["access_key_id"], sc["secret_access_key"], sc["session_token"])
        expect_error("expired grant -> ExpiredTokenException", "ExpiredTokenException",
                     lambda: ex.query(**q))
    except Exception as e:  # noqa: BLE001
        report(False, "expired grant -> ExpiredTokenException", f"setup: {e}")

    # --- revocation ---------------------------------------------------------------------
    rc, out = bg(rtoken, "revoke", g["id"], "--json", check=False)
    report(rc == 0 and json.loads(out or "{}").get("status") == "revoked", "revoke -> status revoked",
           f"exit {rc}: {out[:200]}")
    expect_error("revoked grant -> AccessDeniedException (says revoked)", "AccessDeniedException",
                 lambda: gw.query(**q), want_msg="revoked")
    expect_error("revoked grant: GetItem denied too", "AccessDeniedException", lambda: gw.get_item(**gi))
    finish()


if __name__ == "__main__":
    for k in ("BREAKGLASS_BIN", "BREAKGLASS_URL", "E2E_DYNALITE_URL", "E2E_STATE",
              "E2E_RESPONDER", "E2E_RESPONDER_TOKEN"):
        if not os.environ.get(k):
            print(f"FAIL {PREFIX}environment: {k} is not set (run me through tests/e2e/run.sh)")
            sys.exit(1)
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 - a crash is one more failure, with its reason
        report(False, "test crashed", f"{type(e).__name__}: {e}")
        finish()
