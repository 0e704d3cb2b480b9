// test_js_sdk.mjs - the AWS SDK for JavaScript v3 (@aws-sdk/client-dynamodb, pinned in
// package-lock.json) against dynalite through the real gateway.
//
// The same contract as the AWS CLI and boto3 tests, from the SDK that signs the most
// headers (amz-sdk-*, content-length, x-amz-content-sha256, ...): allowed calls return what
// dynalite returns, everything else fails with the error name the SDK derives from the
// gateway's __type, and denied writes do not reach the table. This SDK honours
// AWS_ENDPOINT_URL_DYNAMODB, so `breakglass exec -- node ...` with no endpoint in code is
// tested here, as is credential_process through the SDK's default chain.
//
// Run by run.sh with node, which starts dynalite and the gateway and exports
// BREAKGLASS_BIN, BREAKGLASS_URL, E2E_DYNALITE_URL, E2E_STATE and the responder's token.
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";

const E2E_DIR = dirname(fileURLToPath(import.meta.url));
const PREFIX = "[js-sdk] ";
let passed = 0;
let failed = 0;

function report(ok, name, detail = "") {
  if (ok) {
    passed++;
    console.log(`PASS ${PREFIX}${name}`);
  } else {
    failed++;
    console.log(`FAIL ${PREFIX}${name}: ${detail}`.slice(0, 600));
  }
}

function finish() {
  console.error(`${PREFIX.trim()}: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

for (const k of ["BREAKGLASS_BIN", "BREAKGLASS_URL", "E2E_DYNALITE_URL", "E2E_STATE",
  "E2E_RESPONDER", "E2E_RESPONDER_TOKEN"]) {
  if (!process.env[k]) {
    console.log(`FAIL ${PREFIX}environment: ${k} is not set (run me through tests/e2e/run.sh)`);
    process.exit(1);
  }
}

const BG = process.env.BREAKGLASS_BIN;
const URL_ = process.env.BREAKGLASS_URL;
const DYN = process.env.E2E_DYNALITE_URL;
const RTOKEN = process.env.E2E_RESPONDER_TOKEN;
const USER = process.env.E2E_RESPONDER;

const lib = (...args) =>
  execFileSync("bash", [join(E2E_DIR, "lib.sh"), ...args], { encoding: "utf8", timeout: 120000 });
const bg = (token, ...args) =>
  execFileSync(BG, args, { encoding: "utf8", env: { ...process.env, BREAKGLASS_TOKEN: token } });
const noteSecret = (s) => appendFileSync(join(process.env.E2E_STATE, "secrets"), s + "\n");

let sdk;
try {
  sdk = await import("@aws-sdk/client-dynamodb");
} catch (e) {
  report(false, "@aws-sdk/client-dynamodb importable", String(e));
  finish();
}
const { DynamoDBClient, QueryCommand, GetItemCommand, ScanCommand, PutItemCommand,
  DeleteItemCommand, TransactWriteItemsCommand, paginateQuery } = sdk;

function client(endpoint, accessKeyId, secretAccessKey, sessionToken) {
  return new DynamoDBClient({
    region: "us-east-1",
    endpoint,
    maxAttempts: 1,
    credentials: { accessKeyId, secretAccessKey, sessionToken },
  });
}

async function expectError(name, code, fn, wantMsg) {
  try {
    await fn();
    report(false, name, "the call succeeded");
  } catch (e) {
    const status = e.$metadata?.httpStatusCode;
    const ok = e.name === code && status === 400 &&
      (wantMsg === undefined || String(e.message).toLowerCase().includes(wantMsg));
    report(ok, name, `got ${e.name} (HTTP ${status}): ${e.message}`);
  }
}

async function same(name, viaFn, directFn, key) {
  try {
    const [a, b] = [await viaFn(), await directFn()];
    report(a[key] !== undefined && isDeepStrictEqual(a[key], b[key]), name,
      `gateway ${JSON.stringify(a[key])?.slice(0, 200)} direct ${JSON.stringify(b[key])?.slice(0, 200)}`);
  } catch (e) {
    report(false, name, `${e.name}: ${e.message}`);
  }
}

async function main() {
  const direct = client(DYN, "direct", "direct");

  // --- setup: our own admin (fresh TOTP budget), a grant, its credentials ---------------
  const adm = JSON.parse(lib("admin", "js"));
  noteSecret(adm.token);
  const g = JSON.parse(lib("grant", adm.token, adm.totp_secret, "--user", USER, "--table",
    "Orders", "--op", "Query,GetItem", "--for", "15m", "--reason", "e2e js-sdk"));
  const cr = JSON.parse(bg(RTOKEN, "creds", g.id, "--json"));
  noteSecret(cr.secret_access_key);
  noteSecret(cr.session_token);
  report(cr.endpoint === URL_, "creds endpoint is the gateway", cr.endpoint);
  const gw = client(URL_, cr.access_key_id, cr.secret_access_key, cr.session_token);

  const q = {
    TableName: "Orders", KeyConditionExpression: "customer = :c",
    ExpressionAttributeValues: { ":c": { S: "c-100" } },
  };
  const gi = { TableName: "Orders", Key: { customer: { S: "c-200" }, order_id: { S: "o-9" } } };

  // --- allowed --------------------------------------------------------------------------
  await same("Query through the gateway = direct", () => gw.send(new QueryCommand(q)),
    () => direct.send(new QueryCommand(q)), "Items");
  await same("GetItem through the gateway = direct", () => gw.send(new GetItemCommand(gi)),
    () => direct.send(new GetItemCommand(gi)), "Item");
  try {
    const items = [];
    // The paginator writes Limit and ExclusiveStartKey into its input: give it a copy.
    for await (const page of paginateQuery({ client: gw, pageSize: 1 }, { ...q })) items.push(...page.Items);
    const want = (await direct.send(new QueryCommand(q))).Items;
    report(isDeepStrictEqual(items, want), "paginated Query (page size 1) = direct");
  } catch (e) {
    report(false, "paginated Query (page size 1) = direct", `${e.name}: ${e.message}`);
  }

  // --- denied ---------------------------------------------------------------------------
  const scanAll = async () => (await direct.send(new ScanCommand({ TableName: "Orders", ConsistentRead: true }))).Items;
  const before = await scanAll();
  await expectError("Scan denied", "AccessDeniedException",
    () => gw.send(new ScanCommand({ TableName: "Orders" })));
  await expectError("PutItem denied", "AccessDeniedException", () => gw.send(new PutItemCommand({
    TableName: "Orders", Item: { customer: { S: "c-100" }, order_id: { S: "o-js" } },
  })));
  await expectError("DeleteItem denied", "AccessDeniedException", () => gw.send(new DeleteItemCommand({
    TableName: "Orders", Key: { customer: { S: "c-100" }, order_id: { S: "o-1" } },
  })));
  await expectError("TransactWriteItems denied", "AccessDeniedException", () => gw.send(
    new TransactWriteItemsCommand({
      TransactItems: [{ Delete: { TableName: "Orders", Key: { customer: { S: "c-100" }, order_id: { S: "o-2" } } } }],
    })));
  report(isDeepStrictEqual(before, await scanAll()), "Orders unchanged after denied writes");
  await expectError("Query on another table denied", "AccessDeniedException", () => gw.send(new QueryCommand({
    TableName: "Users", KeyConditionExpression: "id = :i", ExpressionAttributeValues: { ":i": { S: "u-1" } },
  })));
  await expectError("GetItem on another table denied", "AccessDeniedException",
    () => gw.send(new GetItemCommand({ TableName: "Users", Key: { id: { S: "u-1" } } })));

  // --- authentication -------------------------------------------------------------------
  await expectError("wrong secret -> InvalidSignatureException", "InvalidSignatureException",
    () => client(URL_, cr.access_key_id, cr.secret_access_key + "x", cr.session_token).send(new QueryCommand(q)));
  await expectError("unknown access key -> UnrecognizedClientException", "UnrecognizedClientException",
    () => client(URL_, "BGAKNOSUCHKEY0000000", cr.secret_access_key, cr.session_token).send(new QueryCommand(q)));
  await expectError("wrong session token -> UnrecognizedClientException", "UnrecognizedClientException",
    () => client(URL_, cr.access_key_id, cr.secret_access_key, cr.session_token + "x").send(new QueryCommand(q)));

  // --- breakglass exec + AWS_ENDPOINT_URL_DYNAMODB: no endpoint and no keys in code -----
  const want = JSON.stringify((await direct.send(new QueryCommand(q))).Items);
  const child = `
    import { DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
    const c = new DynamoDBClient({ maxAttempts: 1 });
    const r = await c.send(new QueryCommand(${JSON.stringify(q)}));
    process.stdout.write(JSON.stringify(r.Items));`;
  // `node --input-type=module -e` resolves imports from the working directory: run it
  // from the repository root, where node_modules is.
  const root = join(E2E_DIR, "..", "..");
  const nodeArgs = ["--input-type=module", "-e", child];
  const dir = mkdtempSync(join(tmpdir(), "breakglass-js-"));
  try {
    const env = { ...process.env, BREAKGLASS_TOKEN: RTOKEN };
    for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
      "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL_DYNAMODB"]) delete env[k];
    const r = spawnSync(BG, ["exec", g.id, "--", process.execPath, ...nodeArgs],
      { encoding: "utf8", env, cwd: root, timeout: 60000 });
    report(r.status === 0 && r.stdout === want,
      "breakglass exec -- node (AWS_ENDPOINT_URL_DYNAMODB, env creds) = direct",
      `exit ${r.status}: ${r.stdout.slice(0, 200)} ${r.stderr.slice(0, 300)}`);

    // credential_process in a profile + AWS_ENDPOINT_URL_DYNAMODB, via the default chain.
    const cfg = join(dir, "config");
    writeFileSync(cfg, "[profile breakglass]\nregion = us-east-1\n" +
      `credential_process = ${BG} creds ${g.id} --format process\n`);
    const env2 = { ...env, AWS_CONFIG_FILE: cfg, AWS_PROFILE: "breakglass", AWS_ENDPOINT_URL_DYNAMODB: URL_ };
    const r2 = spawnSync(process.execPath, nodeArgs, { encoding: "utf8", env: env2, cwd: root, timeout: 60000 });
    report(r2.status === 0 && r2.stdout === want, "credential_process profile + AWS_ENDPOINT_URL_DYNAMODB = direct",
      `exit ${r2.status}: ${r2.stdout.slice(0, 200)} ${r2.stderr.slice(0, 300)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // --- expiry ---------------------------------------------------------------------------
  try {
    const sg = JSON.parse(lib("grant", adm.token, adm.totp_secret, "--user", USER, "--table",
      "Orders", "--op", "Query,GetItem", "--for", "2s", "--reason", "e2e expiry"));
    const sc = JSON.parse(bg(RTOKEN, "creds", sg.id, "--json"));
    noteSecret(sc.secret_access_key);
    noteSecret(sc.session_token);
    await new Promise((r) => setTimeout(r, 3000));
    await expectError("expired grant -> ExpiredTokenException", "ExpiredTokenException",
      () => client(URL_, sc.access_key_id, sc.secret_access_key, sc.session_token).send(new QueryCommand(q)));
  } catch (e) {
    report(false, "expired grant -> ExpiredTokenException", `setup: ${e.message}`);
  }

  // --- revocation -----------------------------------------------------------------------
  try {
    const rv = JSON.parse(bg(RTOKEN, "revoke", g.id, "--json"));
    report(rv.status === "revoked", "revoke -> status revoked", JSON.stringify(rv));
  } catch (e) {
    report(false, "revoke -> status revoked", e.message);
  }
  await expectError("revoked grant -> AccessDeniedException (says revoked)", "AccessDeniedException",
    () => gw.send(new QueryCommand(q)), "revoked");
}

try {
  await main();
} catch (e) {
  report(false, "test crashed", `${e.name}: ${e.message}`);
}
finish();
