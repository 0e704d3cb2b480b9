#!/usr/bin/python3
"""test_crash.py - crash safety of the write-ahead audit (issue 9, point 6).

A gateway of its own (its own store, checkpoints every 50 records or 1 s) in front of the
run's dynalite. Four boto3 clients write PutItems through it as fast as they can, each
item a new key, while the gateway is killed with SIGKILL at random moments (5 kills, the
delays drawn from a seeded generator) and restarted at once on the same port. Then, with
the gateway up once more:

- every item that reached dynalite (a Scan of dynalite directly, with its own
  credentials) has its request record in the audit (the record holds the body, so the
  item's key is matched exactly): nothing was forwarded before it was durable;
- every answer a client received (success or error, by its x-amzn-RequestId: DynamoDB's,
  which the response record keeps as upstream_request_id, or the gateway's own) has its
  response or denial record: nothing was released before it was durable;
- `breakglass audit verify` passes: the chain is whole across the kills.

The seed is printed; CRASH_SEED=N replays the same kill schedule (the moments at which
the kills land in the stream still depend on timing). Run by run.sh (/usr/bin/python3).
"""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import Report, bg, lib, note_secret  # noqa: E402

PREFIX = "[crash] "
report = Report(PREFIX)
KILLS = int(os.environ.get("CRASH_KILLS", "5"))
CLIENTS = 4
TABLE = "crash_items"


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc, secs=20):
    import socket
    end = time.time() + secs
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


class Gateway:
    def __init__(self, data, cfg, log):
        self.data, self.cfg, self.log = data, cfg, log
        self.port = free_port()
        self.proc = None

    def start(self):
        env = dict(os.environ, AWS_ACCESS_KEY_ID="gateway-upstream-key",
                   AWS_SECRET_ACCESS_KEY="gateway-upstream-secret", AWS_REGION="us-east-1",
                   AWS_DEFAULT_REGION="us-east-1")
        env.pop("BREAKGLASS_TOKEN", None)
        env.pop("BREAKGLASS_URL", None)
        for _ in range(3):
            with open(self.log, "a") as lf:
                self.proc = subprocess.Popen(
                    [os.environ["BREAKGLASS_BIN"], "serve", "--listen", f"127.0.0.1:{self.port}",
                     "--upstream", os.environ["E2E_DYNALITE_URL"], "--data", self.data,
                     "--config", self.cfg], stdout=lf, stderr=lf, env=env)
            if wait_port(self.port, self.proc):
                return True
            self.stop(signal.SIGKILL)
            self.port = free_port()  # the port was taken meanwhile: another one
        return False

    def stop(self, sig):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"


def main():
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    seed = int(os.environ.get("CRASH_SEED", str(random.SystemRandom().randrange(1, 2**31))))
    print(f"{PREFIX}seed {seed} (CRASH_SEED={seed} replays the kill schedule)", flush=True)
    rnd = random.Random(seed)
    # One attempt: a retry would hide the answers the kills cut off.
    cfg = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=2,
                 read_timeout=10)
    direct = boto3.client("dynamodb", region_name="us-east-1",
                          endpoint_url=os.environ["E2E_DYNALITE_URL"], aws_access_key_id="direct",
                          aws_secret_access_key="direct", config=cfg)
    try:
        direct.delete_table(TableName=TABLE)
    except ClientError:
        pass
    direct.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")

    tmp = tempfile.mkdtemp(prefix="breakglass-crash.")
    data = os.path.join(tmp, "data")
    r = subprocess.run([os.environ["BREAKGLASS_BIN"], "init", "--data", data, "--admin",
                        "crash-admin", "--json"], capture_output=True, text=True, timeout=60)
    report(r.returncode == 0, "init a store of its own", r.stderr[-300:])
    adm = json.loads(r.stdout)
    note_secret(adm["token"])
    cfgfile = os.path.join(tmp, "serve.yaml")
    with open(cfgfile, "w") as f:
        f.write("audit:\n  checkpoint_every: 50\n  checkpoint_seconds: 1\n")
    log = os.path.join(tmp, "gateway.log")
    gw = Gateway(data, cfgfile, log)
    report(gw.start(), "the gateway starts", open(log).read()[-300:])
    os.environ["BREAKGLASS_URL"] = gw.url

    code = lib("otp", adm["totp_secret"]).strip()
    _, out = bg(adm["token"], "user", "add", "crash-resp", "--role", "responder", "--otp", code,
                "--json")
    resp = json.loads(out)
    note_secret(resp["token"])
    g = json.loads(lib("grant", adm["token"], adm["totp_secret"], "--user", "crash-resp",
                       "--table", TABLE, "--op", "PutItem", "--for", "15m", "--reason",
                       "crash test"))
    _, out = bg(resp["token"], "creds", g["id"], "--json")
    cr = json.loads(out)
    note_secret(cr["secret_access_key"], cr["session_token"])

    stop = threading.Event()
    lock = threading.Lock()
    received = {}  # RequestId -> (pk, http status)
    stats = {"sent": 0, "ok": 0, "error_answers": 0, "no_answer": 0}

    def writer(tid):
        url, c, n = None, None, 0
        while not stop.is_set():
            if url != gw.url:
                url = gw.url
                c = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=url,
                                 aws_access_key_id=cr["access_key_id"],
                                 aws_secret_access_key=cr["secret_access_key"],
                                 aws_session_token=cr["session_token"], config=cfg)
            n += 1
            pk = f"w{tid}-{n}"
            with lock:
                stats["sent"] += 1
            try:
                out = c.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "v": {"N": str(n)}})
                with lock:
                    stats["ok"] += 1
                    received[out["ResponseMetadata"]["RequestId"]] = (pk, 200)
            except ClientError as e:
                rid = e.response.get("ResponseMetadata", {}).get("RequestId")
                with lock:
                    stats["error_answers"] += 1
                    if rid:
                        received[rid] = (pk, e.response["ResponseMetadata"].get("HTTPStatusCode"))
            except Exception:  # connection refused or reset, timeout: no answer
                with lock:
                    stats["no_answer"] += 1
                time.sleep(0.02)

    threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    schedule = [round(rnd.uniform(0.3, 1.5), 3) for _ in range(KILLS)]
    print(f"{PREFIX}kill after {schedule} s of writes", flush=True)
    started_ok = True
    for delay in schedule:
        time.sleep(delay)
        gw.stop(signal.SIGKILL)
        if not gw.start():
            started_ok = False
            break
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(15)
    report(started_ok, f"{KILLS} SIGKILLs during the writes, each followed by a restart",
           open(log).read()[-400:])
    print(f"{PREFIX}writes {stats}", flush=True)
    report(stats["ok"] >= 50 and stats["no_answer"] >= 1,
           "writes were acknowledged and some were cut by the kills", str(stats))
    time.sleep(1.5)  # the timer's checkpoint covers the tail

    items = set()
    kw = {"TableName": TABLE, "ConsistentRead": True}
    while True:
        page = direct.scan(**kw)
        items |= {it["pk"]["S"] for it in page["Items"]}
        if "LastEvaluatedKey" not in page:
            break
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    rc, out = bg(adm["token"], "audit", "export", check=False)
    report(rc == 0, "audit export", out[-200:])
    recs = [json.loads(line) for line in out.splitlines() if line.strip()]
    req_pks, answered = set(), set()
    for rec in recs:
        if rec.get("kind") == "request" and rec.get("op") == "PutItem":
            try:
                req_pks.add(rec["detail"]["body"]["Item"]["pk"]["S"])
            except (KeyError, TypeError):
                pass
        if rec.get("kind") in ("response", "denial") and rec.get("request_id"):
            # The client sees DynamoDB's request id when DynamoDB answered (the record's
            # detail.upstream_request_id), the gateway's own otherwise.
            answered.add(rec["request_id"])
            up = (rec.get("detail") or {}).get("upstream_request_id")
            if up:
                answered.add(up)
    missing = sorted(items - req_pks)
    report(len(items) >= stats["ok"] and not missing,
           f"each of the {len(items)} items in dynalite has its request record",
           f"no request record for {missing[:10]} (seed {seed})")
    unrecorded = sorted(rid for rid in received if rid not in answered)
    report(not unrecorded,
           f"each of the {len(received)} answers the clients received has its response record",
           f"no response record for {unrecorded[:10]} (seed {seed})")
    acked = {pk for pk, st in received.values() if st == 200}
    report(acked <= items, "every acknowledged write is in dynalite",
           str(sorted(acked - items)[:10]))
    rc, out = bg(adm["token"], "audit", "verify", "--json", check=False)
    try:
        v = json.loads(out)
    except ValueError:
        v = {}
    report(rc == 0 and v.get("ok") is True and v.get("first_seq") == 1,
           f"audit verify passes after {KILLS} kills ({v.get('records')} records, "
           f"{v.get('checkpoints')} checkpoints)", out[-400:] + f" (seed {seed})")
    with open(log) as f:
        text = f.read()
    report("ERROR: AddressSanitizer" not in text and "runtime error:" not in text,
           "no sanitizer report in the gateway's logs", text[-400:])
    gw.stop(signal.SIGTERM)
    subprocess.run(["rm", "-rf", tmp])
    report.finish()


if __name__ == "__main__":
    main()
