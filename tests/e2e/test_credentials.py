#!/usr/bin/python3
"""test_credentials.py - the gateway's own AWS identity from each source of the standard
credential chain, against loopback servers that follow the documented protocols.

Small HTTP servers on free 127.0.0.1 ports play the parts: EC2 instance metadata (IMDSv2:
token PUT with a TTL header, then the role, then its credentials; a GET without the token
is refused), the ECS/EKS container endpoint (checks the Authorization token), STS
(AssumeRole, whose SigV4 signature is checked with botocore's signer; and the unsigned
AssumeRoleWithWebIdentity, whose token is checked) and the upstream DynamoDB (records the
access key of each forwarded request and checks its signature with botocore's signer and
the secret it expects). Each case starts a real `breakglass serve` on one store with its
own environment, sends GetItem through it with a grant's credentials (boto3), and checks
which credentials signed the upstream request. Where botocore 1.29 (Debian 12) supports
the source, the same environment must give botocore.session.Session().get_credentials()
the same access key (the chain order included). Also: refresh before expiry, fail closed
when the identity expires and cannot be renewed, and no upstream secret in the logs.

Run by run.sh (/usr/bin/python3), which exports BREAKGLASS_BIN and E2E_STATE.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import Report, lib, note_secret  # noqa: E402
from hostile_util import free_port  # noqa: E402

PREFIX = "[credentials] "
report = Report(PREFIX)
BG = os.environ["BREAKGLASS_BIN"]
LOG_DIR = os.path.join(os.environ["E2E_STATE"], "logs")
REGION = "us-east-1"


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def soon(seconds):
    return iso(datetime.now(timezone.utc) + timedelta(seconds=seconds))


def verify_sigv4(method, path, headers, body, secret, service):
    """Recomputes the request's signature with botocore's signer and the expected secret.
    Returns (ok, access key id)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    auth = headers.get("Authorization", "")
    try:
        parts = dict(p.strip().split("=", 1) for p in auth.split(" ", 1)[1].split(","))
        akid = parts["Credential"].split("/")[0]
        signed = parts["SignedHeaders"].split(";")
    except (IndexError, KeyError, ValueError):
        return False, ""
    host = headers.get("Host", "")
    req = AWSRequest(method=method, url=f"http://{host}{path}", data=body,
                     headers={h: headers.get(h, "") for h in signed})
    amz_date = headers.get("X-Amz-Date", "")
    req.context["timestamp"] = amz_date
    token = headers.get("X-Amz-Security-Token")
    signer = SigV4Auth(Credentials(akid, secret, token), service, REGION)
    cr = signer.canonical_request(req)
    want = signer.signature(signer.string_to_sign(req, cr), req)
    return parts.get("Signature") == want, akid


class Base(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def answer(self, status, data, ctype="application/json"):
        if isinstance(data, (dict, list)):
            data = json.dumps(data)
        if isinstance(data, str):
            data = data.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(handler, **attrs):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    for k, v in attrs.items():
        setattr(srv, k, v)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


# --- the services -------------------------------------------------------------------------

class Upstream(Base):
    """DynamoDB as the gateway sees it: records who signed, checks the signature."""

    def do_POST(self):
        body = self.body()
        s = self.server
        akid = ""
        try:
            ok, akid = verify_sigv4("POST", self.path, self.headers, body,
                                    s.secrets.get(self.headers.get("Authorization", "")
                                                  .split("Credential=")[-1].split("/")[0], ""),
                                    "dynamodb")
        except Exception as e:  # a malformed request is a failed check, not a crash
            ok = False
            print("upstream check:", e)
        s.seen.append((akid, ok, self.headers.get("X-Amz-Security-Token")))
        self.answer(200, {}, "application/x-amz-json-1.0")


class Imds(Base):
    """IMDSv2: PUT /latest/api/token (TTL header required), then GETs with the token."""

    def do_PUT(self):
        s = self.server
        if self.path != "/latest/api/token" or not self.headers.get(
                "X-aws-ec2-metadata-token-ttl-seconds"):
            return self.answer(400, "bad token request", "text/plain")
        s.puts += 1
        self.answer(200, "imds-token-123", "text/plain")

    def do_GET(self):
        s = self.server
        if self.headers.get("X-aws-ec2-metadata-token") != "imds-token-123":
            s.untokened += 1
            return self.answer(401, "", "text/plain")
        base = "/latest/meta-data/iam/security-credentials/"
        if self.path == base:
            return self.answer(200, "bg-instance-role", "text/plain")
        if self.path == base + "bg-instance-role":
            s.fetches += 1
            if s.fail_after is not None and s.fetches > s.fail_after:
                return self.answer(500, "broken", "text/plain")
            akid = s.akid if not s.rotate else f"ASIAIMDS{s.fetches:04d}"
            s.owner.secrets[akid] = "imds-secret-" + akid
            return self.answer(200, {"Code": "Success", "Type": "AWS-HMAC",
                                     "AccessKeyId": akid,
                                     "SecretAccessKey": "imds-secret-" + akid,
                                     "Token": "imds-session-" + akid,
                                     "Expiration": soon(s.lifetime),
                                     "LastUpdated": soon(0)})
        self.answer(404, "", "text/plain")


class Ecs(Base):
    def do_GET(self):
        s = self.server
        if self.path != "/creds" or self.headers.get("Authorization") != s.token:
            s.refused += 1
            return self.answer(401, {"code": "Unauthorized", "message": "bad token"})
        s.owner.secrets["ASIAECS0001"] = "ecs-secret"
        self.answer(200, {"AccessKeyId": "ASIAECS0001", "SecretAccessKey": "ecs-secret",
                          "Token": "ecs-session", "Expiration": soon(3600)})


STS_OK = """<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <{action}Result>
    <Credentials>
      <AccessKeyId>{akid}</AccessKeyId>
      <SecretAccessKey>{secret}</SecretAccessKey>
      <SessionToken>{token}</SessionToken>
      <Expiration>{exp}</Expiration>
    </Credentials>
    <AssumedRoleUser><Arn>{arn}/x</Arn><AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser>
  </{action}Result>
  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>
</{action}Response>
"""
STS_ERR = """<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>{code}</Code><Message>{msg}</Message></Error>
  <RequestId>r-2</RequestId>
</ErrorResponse>
"""


class Sts(Base):
    def do_POST(self):
        s = self.server
        raw = self.body()
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
        s.calls.append(form)
        action = form.get("Action", "")
        if action == "AssumeRole":
            ok, akid = verify_sigv4("POST", self.path, self.headers, raw,
                                    s.signers.get(
                                        self.headers.get("Authorization", "")
                                        .split("Credential=")[-1].split("/")[0], "?"), "sts")
            s.signed.append((akid, ok))
            if not ok:
                return self.answer(403, STS_ERR.format(code="SignatureDoesNotMatch",
                                                       msg="bad signature"), "text/xml")
        elif action == "AssumeRoleWithWebIdentity":
            if "Authorization" in self.headers or form.get("WebIdentityToken") != s.jwt:
                return self.answer(400, STS_ERR.format(code="InvalidIdentityToken",
                                                       msg="bad token"), "text/xml")
        else:
            return self.answer(400, STS_ERR.format(code="InvalidAction", msg=action),
                               "text/xml")
        n = len(s.calls)
        akid = f"ASIASTS{n:05d}"
        s.owner.secrets[akid] = f"sts-secret-{n}"
        self.answer(200, STS_OK.format(action=action, akid=akid, secret=f"sts-secret-{n}",
                                       token=f"sts-session-{n}&amp;x", exp=soon(3600),
                                       arn=form.get("RoleArn", "")), "text/xml")


# --- the gateway ------------------------------------------------------------------------

class Gateway:
    """A `breakglass serve` on the shared store with its own environment."""

    def __init__(self, data, upstream, env, name, extra=()):
        self.log = os.path.join(LOG_DIR, f"credentials-gateway-{name}.log")
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("AWS_", "BREAKGLASS_"))}
        base.update(AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION,
                    AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
                    AWS_EC2_METADATA_DISABLED="true", HOME=data + "-home")
        base.update(env)
        self.env = base
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        with open(self.log, "ab") as logf:
            self.proc = subprocess.Popen(
                [BG, "serve", "--listen", f"127.0.0.1:{port}", "--upstream", upstream,
                 "--data", data, "--public-url", self.url, "--threads", "1", *extra],
                env=base, stdout=logf, stderr=logf)
        self.up = wait_port(port, self.proc)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def logtext(self):
        with open(self.log, errors="replace") as f:
            return f.read()


def wait_port(port, proc, secs=20):
    import socket
    for _ in range(secs * 20):
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def botocore_akid(env):
    """The access key botocore's default chain finds in env ('' for none)."""
    code = ("import botocore.session\n"
            "c = botocore.session.Session().get_credentials()\n"
            "print(c.get_frozen_credentials().access_key if c else '')\n")
    r = subprocess.run(["/usr/bin/python3", "-c", code], env=env, capture_output=True,
                       text=True, timeout=60)
    return r.stdout.strip() if r.returncode == 0 else "error: " + r.stderr.strip()[-200:]


def main():
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    work = tempfile.mkdtemp(prefix="bg-creds-", dir=os.environ["E2E_STATE"])
    home = os.path.join(work, "store-home")
    os.makedirs(os.path.join(home, ".aws"))
    data = os.path.join(work, "store")
    up, up_url = serve(Upstream, seen=[], secrets={})

    def owned(handler, **kw):
        return serve(handler, owner=up, **kw)

    imds, imds_url = owned(Imds, puts=0, fetches=0, untokened=0, akid="ASIAIMDS0000",
                           rotate=False, lifetime=3600, fail_after=None)
    ecs, ecs_url = owned(Ecs, token="Bearer ecs-auth-token", refused=0)
    sts, sts_url = owned(Sts, calls=[], signed=[], signers={}, jwt="eyJ.web.identity")

    # --- one store, a responder and a grant, made through a gateway with static keys -----
    out = subprocess.run([BG, "init", "--data", data, "--admin", "admin", "--json"],
                         capture_output=True, text=True, timeout=60)
    adm = json.loads(out.stdout)
    note_secret(adm["token"])
    up.secrets["AKIDSTATIC"] = "static-secret"
    gw = Gateway(data, up_url, {"AWS_ACCESS_KEY_ID": "AKIDSTATIC",
                                "AWS_SECRET_ACCESS_KEY": "static-secret"}, "setup")
    report(gw.up, "a gateway with keys in the environment starts", gw.logtext()[-300:])
    os.environ["BREAKGLASS_URL"] = gw.url
    code = lib("otp", adm["totp_secret"]).strip()
    r = subprocess.run([BG, "user", "add", "resp", "--role", "responder", "--otp", code,
                        "--json"], env=dict(os.environ, BREAKGLASS_TOKEN=adm["token"]),
                       capture_output=True, text=True, timeout=60)
    resp = json.loads(r.stdout)
    note_secret(resp["token"])
    g = json.loads(lib("grant", adm["token"], adm["totp_secret"], "--user", "resp", "--table",
                       "Orders", "--op", "GetItem", "--for", "2h", "--reason", "e2e creds"))
    r = subprocess.run([BG, "creds", g["id"], "--json"],
                       env=dict(os.environ, BREAKGLASS_TOKEN=resp["token"]),
                       capture_output=True, text=True, timeout=60)
    cr = json.loads(r.stdout)
    note_secret(cr["secret_access_key"])
    note_secret(cr["session_token"])
    gw.stop()

    cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5,
                 read_timeout=30)

    def get_item(gw):
        """GetItem through gw; returns (error code or None, message, who signed upstream)."""
        before = len(up.seen)
        c = boto3.client("dynamodb", region_name=REGION, endpoint_url=gw.url,
                         aws_access_key_id=cr["access_key_id"],
                         aws_secret_access_key=cr["secret_access_key"],
                         aws_session_token=cr["session_token"], config=cfg)
        try:
            c.get_item(TableName="Orders", Key={"customer": {"S": "c-1"},
                                                "order_id": {"S": "o-1"}})
            err, msg = None, ""
        except ClientError as e:
            err, msg = e.response["Error"]["Code"], e.response["Error"].get("Message", "")
        return err, msg, up.seen[before:]

    def case(name, env, want_akid, extra=(), botocore=True, token=True):
        gw = Gateway(data, up_url, env, name, extra)
        try:
            if not gw.up:
                report(False, f"{name}: the gateway starts", gw.logtext()[-400:])
                return None
            err, msg, seen = get_item(gw)
            report(err is None and len(seen) == 1 and seen[0][0] == want_akid and seen[0][1]
                   and (seen[0][2] is not None) == token,
                   f"{name}: upstream signed by {want_akid}, signature verified by botocore",
                   f"err={err} {msg} seen={seen}")
            if botocore:
                b = botocore_akid(gw.env)
                report(b == want_akid, f"{name}: botocore's chain finds the same key", b)
            return gw
        finally:
            gw.stop()

    cfile = os.path.join(work, "credentials")
    conf = os.path.join(work, "config")

    def write(path, text):
        with open(path, "w") as f:
            f.write(text)

    # --- 1. the environment, and its precedence over the files and IMDS -------------------
    up.secrets["AKIDENV"] = "env-secret"
    write(cfile, "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = file-secret\n")
    up.secrets["AKIDFILE"] = "file-secret"
    case("environment", {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret",
                         "AWS_SHARED_CREDENTIALS_FILE": cfile,
                         "AWS_EC2_METADATA_DISABLED": "false",
                         "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds_url}, "AKIDENV", token=False)

    # --- 2. the shared credentials file with a profile, before IMDS -----------------------
    write(cfile, "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = file-secret\n"
                 "[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = ops-secret\n"
                 "aws_session_token = ops-session\n")
    up.secrets["AKIDOPS"] = "ops-secret"
    case("shared credentials file, profile ops",
         {"AWS_SHARED_CREDENTIALS_FILE": cfile, "AWS_PROFILE": "ops",
          "AWS_EC2_METADATA_DISABLED": "false", "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds_url},
         "AKIDOPS")

    # --- 3. credential_process (no shell: the quoted argument arrives whole) --------------
    proc = os.path.join(work, "cred proc.py")
    write(proc, "import json, sys\n"
                "assert sys.argv[1] == 'one arg', sys.argv\n"
                "print(json.dumps({'Version': 1, 'AccessKeyId': 'AKIDPROC',"
                " 'SecretAccessKey': 'proc-secret', 'SessionToken': 'proc-session',"
                f" 'Expiration': '{soon(3600)}'}}))\n")
    up.secrets["AKIDPROC"] = "proc-secret"
    write(conf, f"[profile proc]\ncredential_process = /usr/bin/python3 '{proc}' \"one arg\"\n")
    case("credential_process", {"AWS_CONFIG_FILE": conf, "AWS_PROFILE": "proc"}, "AKIDPROC")

    # --- 4. role_arn + source_profile: AssumeRole signed with the source's keys -----------
    write(conf, "[profile base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = base-secret\n"
                "[profile assumer]\nrole_arn = arn:aws:iam::123456789012:role/ops\n"
                "source_profile = base\nexternal_id = ext-42\nrole_session_name = night\n")
    sts.signers["AKIDBASE"] = "base-secret"
    n0 = len(sts.calls)
    case("role_arn with source_profile", {"AWS_CONFIG_FILE": conf, "AWS_PROFILE": "assumer",
                                          "AWS_ENDPOINT_URL_STS": sts_url},
         f"ASIASTS{n0 + 1:05d}", botocore=False)
    call = sts.calls[n0] if len(sts.calls) > n0 else {}
    report(call.get("RoleArn") == "arn:aws:iam::123456789012:role/ops" and
           call.get("ExternalId") == "ext-42" and call.get("RoleSessionName") == "night" and
           sts.signed and sts.signed[-1] == ("AKIDBASE", True),
           "role_arn: AssumeRole carried the role, external id and session name, signed by "
           "the source profile's keys", f"{call} {sts.signed[-1:]}")

    # --- 5. web identity (unsigned AssumeRoleWithWebIdentity) -----------------------------
    jwt = os.path.join(work, "token")
    write(jwt, sts.jwt + "\n")
    n0 = len(sts.calls)
    case("web identity", {"AWS_WEB_IDENTITY_TOKEN_FILE": jwt,
                          "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/eks",
                          "AWS_ROLE_SESSION_NAME": "pod-1", "AWS_ENDPOINT_URL_STS": sts_url},
         f"ASIASTS{n0 + 1:05d}", botocore=False)
    call = sts.calls[n0] if len(sts.calls) > n0 else {}
    report(call.get("Action") == "AssumeRoleWithWebIdentity" and
           call.get("RoleSessionName") == "pod-1",
           "web identity: the role and session name were sent", str(call)[:200])

    # --- 6. container credentials with the authorization token (env, then file) -----------
    case("container credentials (FULL_URI, token)",
         {"AWS_CONTAINER_CREDENTIALS_FULL_URI": ecs_url + "/creds",
          "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer ecs-auth-token"}, "ASIAECS0001")
    tokf = os.path.join(work, "ecs-token")
    write(tokf, "Bearer ecs-auth-token\n")
    case("container credentials (token file)",
         {"AWS_CONTAINER_CREDENTIALS_FULL_URI": ecs_url + "/creds",
          "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokf}, "ASIAECS0001", botocore=False)
    refused = ecs.refused
    gw = Gateway(data, up_url, {"AWS_CONTAINER_CREDENTIALS_FULL_URI": ecs_url + "/creds",
                                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer wrong"}, "ecs-bad")
    rc = gw.stop() if gw.up else gw.proc.wait(timeout=30)
    report(not gw.up and rc == 4 and ecs.refused > refused,
           "container credentials with a wrong token: serve does not start (exit 4)",
           f"up={gw.up} rc={rc}")
    gw = Gateway(data, up_url, {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://192.0.2.1/creds"},
                 "ecs-host")
    rc = gw.stop() if gw.up else gw.proc.wait(timeout=30)
    report(not gw.up and rc == 4 and "must be https" in gw.logtext(),
           "a FULL_URI over http to a non-loopback host is refused", gw.logtext()[-300:])

    # --- 7. instance metadata, IMDSv2 only ------------------------------------------------
    imds_env = {"AWS_EC2_METADATA_DISABLED": "false",
                "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds_url}
    puts = imds.puts
    case("instance metadata (IMDSv2)", imds_env, "ASIAIMDS0000")
    report(imds.puts > puts and imds.untokened == 0,
           "instance metadata: a token was PUT first and every GET carried it",
           f"puts={imds.puts} untokened={imds.untokened}")
    gw = Gateway(data, up_url, {"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds_url}, "imds-off")
    rc = gw.stop() if gw.up else gw.proc.wait(timeout=30)
    report(not gw.up and rc == 4 and "no AWS credentials" in gw.logtext(),
           "AWS_EC2_METADATA_DISABLED=true and nothing else: serve refuses to start (exit 4)",
           gw.logtext()[-300:])

    # --- 8. the break-glass role on top of the chain --------------------------------------
    sts.signers["AKIDENV"] = "env-secret"
    n0 = len(sts.calls)
    case("upstream_role_arn", {"AWS_ACCESS_KEY_ID": "AKIDENV",
                               "AWS_SECRET_ACCESS_KEY": "env-secret",
                               "AWS_ENDPOINT_URL_STS": sts_url,
                               "BREAKGLASS_UPSTREAM_EXTERNAL_ID": "bg-ext"},
         f"ASIASTS{n0 + 1:05d}",
         extra=("--upstream-role-arn", "arn:aws:iam::123456789012:role/breakglass"),
         botocore=False)
    call = sts.calls[n0] if len(sts.calls) > n0 else {}
    report(call.get("RoleArn") == "arn:aws:iam::123456789012:role/breakglass" and
           call.get("ExternalId") == "bg-ext" and
           call.get("RoleSessionName", "").startswith("breakglass-") and
           sts.signed[-1:] == [("AKIDENV", True)],
           "upstream_role_arn: AssumeRole with the chain's keys, the external id and a "
           "breakglass-HOST session name", f"{call} {sts.signed[-1:]}")

    # --- 9. refresh before expiry, off the request path ------------------------------------
    imds.rotate, imds.lifetime, f0 = True, 20, imds.fetches
    gw = Gateway(data, up_url, imds_env, "refresh")
    try:
        first = f"ASIAIMDS{f0 + 1:04d}"
        err, msg, seen = get_item(gw)
        report(gw.up and err is None and [s[0] for s in seen] == [first],
               "refresh: the first credentials sign", f"{err} {msg} {seen}")
        # Renewed at half their 20 s life; wait (bounded) until the gateway has fetched
        # again, then the next request must be signed by the new key.
        for _ in range(300):
            if imds.fetches > f0 + 1:
                break
            time.sleep(0.1)
        time.sleep(0.5)
        err, msg, seen = get_item(gw)
        report(err is None and seen and seen[0][0] != first and seen[0][1],
               "refresh: credentials renewed before they expired sign the next request",
               f"fetches={imds.fetches - f0} {err} {seen}")
        report("AWS identity refreshed from: instance metadata" in gw.logtext(),
               "refresh: the gateway logs the renewal", gw.logtext()[-300:])
    finally:
        gw.stop()

    # --- 10. fail closed: the identity expires and cannot be renewed ----------------------
    imds.rotate, imds.lifetime, imds.fail_after, f0 = True, 4, imds.fetches + 1, imds.fetches
    gw = Gateway(data, up_url, imds_env, "expire")
    try:
        err, msg, seen = get_item(gw)
        report(gw.up and err is None, "fail closed: a request before expiry passes", f"{err}")
        for _ in range(200):
            if "could not be renewed" in gw.logtext():
                break
            time.sleep(0.1)
        time.sleep(4.5)  # past the 4 s expiry
        err, msg, seen = get_item(gw)
        report(err == "RequestRefusedException" and "no valid AWS identity" in msg and not seen,
               "fail closed: after expiry a request is refused (RequestRefusedException, "
               "nothing sent upstream)", f"{err} {msg} {seen}")
        report("refreshing the AWS identity failed" in gw.logtext(),
               "fail closed: the log says why", gw.logtext()[-300:])
    finally:
        gw.stop()
    imds.fail_after = None

    # --- no upstream secret or session token in any of the gateways' logs -----------------
    leaked = []
    for f in os.listdir(LOG_DIR):
        if not f.startswith("credentials-gateway-"):
            continue
        text = open(os.path.join(LOG_DIR, f), errors="replace").read()
        for secret in list(up.secrets.values()) + ["sts-session-1", "imds-session-",
                                                     "ecs-session", "ecs-auth-token",
                                                     "proc-session", "ops-session",
                                                     sts.jwt]:
            if secret in text:
                leaked.append((f, secret))
    report(not leaked, "no secret, session token or authorization token in the logs",
           str(leaked)[:300])
    report.finish()


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash is a failure with its reason, never a silent exit
        import traceback
        traceback.print_exc()
        report(False, "the test ran to the end", repr(e)[:300])
        report.finish()
