/*
 * help_pages.c - the text of the manual: one page per command (see help.h for the
 * conventions). `breakglass COMMAND --help` prints a page; docs/breakglass.1 is all of
 * them, regenerated with `make man`. When a command gains an option, its page here gains
 * it too: tests/e2e/test_help.sh checks that every option a command accepts is on its page.
 */
#include "cli/help.h"

#include "cli/cli.h"

#define END                                                                                        \
	{                                                                                          \
		NULL, NULL                                                                         \
	}

/* The tool as a whole: the man page's NAME, SYNOPSIS and DESCRIPTION. */
static const cli_help_item intro_examples[] = {
    {"A whole incident by hand (the README's \"By hand\" section explains each step):",
     "breakglass init --data ./bg-data --admin alice\n"
     "breakglass serve --data ./bg-data &\n"
     "export BREAKGLASS_TOKEN=...   # alice's token, printed by init\n"
     "breakglass user add bob --role responder --otp 123456\n"
     "breakglass grant --user bob --table orders --op GetItem,Query --for 30m --otp 654321\n"
     "BREAKGLASS_TOKEN=... breakglass exec bg-XXXXXXXXXX -- aws dynamodb get-item ...\n"
     "breakglass revoke bg-XXXXXXXXXX"},
    END};

const cli_help cli_help_intro = {
    "breakglass",
    "emergency access to DynamoDB: scoped, temporary, audited",
    "breakglass [--url URL] [--token TOKEN] [--json] COMMAND [ARGS...]\n"
    "breakglass COMMAND --help\n"
    "breakglass --version",
    "breakglass is the controlled emergency door to Amazon DynamoDB. A gateway (breakglass "
    "serve) stands between standard DynamoDB clients (the AWS CLI, boto3, the AWS SDKs) and "
    "DynamoDB. It verifies each request's AWS Signature Version 4 against a grant's "
    "temporary credentials, checks the grant's tables and operations, writes the request to "
    "a hash-chained audit log before it goes anywhere, re-signs it with the gateway's own "
    "AWS identity, and records the answer before the client sees it.\n\n"
    "Grants are given by an admin with a TOTP code, last at most 12 hours, and stop working "
    "the moment they are revoked. The same binary is the server (init, serve) and the client "
    "of its JSON API (every other command), which it reaches at $BREAKGLASS_URL with the API "
    "token in $BREAKGLASS_TOKEN.\n\n"
    "Roles: an admin adds users and gives grants; a responder uses the grants given to them; "
    "an approver is reserved for the approval workflow. Every action, allowed or refused, is "
    "on the audit record.",
    NULL,
    true,
    intro_examples,
    NULL,
    NULL,
};

/* --- init ---------------------------------------------------------------------------- */

static const cli_help_item init_opts[] = {
    {"--data DIR",
     "The data directory to create (mode 0700): the store (breakglass.db) and the master key "
     "(master.key, mode 0600) from which grant secrets and TOTP keys are derived. It must not "
     "hold a store already. Default: $BREAKGLASS_DATA."},
    {"--admin NAME",
     "The first admin's user name: 1 to 64 of the characters A-Z a-z 0-9 . _ - (no @: use "
     "alice, not alice@example.com)."},
    END};

static const cli_help_item init_examples[] = {
    {"Create a store and the first admin, then start the gateway on it:",
     "breakglass init --data /var/lib/breakglass --admin alice\n"
     "breakglass serve --data /var/lib/breakglass"},
    {"The same, for a script:", "breakglass init --data ./bg-data --admin alice --json"},
    END};

static const cli_help_item init_exit[] = {
    {"0", "The store and the admin were created; the token and TOTP secret were printed."},
    {"2", "Usage error (a missing option, a bad name): nothing was created."},
    {"4", "The data directory already holds a store, or could not be created or written: nothing "
          "new is left behind."},
    END};

static const cli_help_item init_env[] = {
    {"BREAKGLASS_DATA", "The data directory, when --data is not given (init and serve)."}, END};

/* --- serve --------------------------------------------------------------------------- */

static const cli_help_item serve_opts[] = {
    {"--config FILE",
     "A YAML file of the settings below (a flat mapping, keys as in the first column of the "
     "README's configuration table: listen, upstream, data, ...). Unknown keys are an error. "
     "Env: BREAKGLASS_CONFIG."},
    {"--listen ADDR:PORT",
     "Where the gateway listens. Plain HTTP is refused off loopback: give --tls-cert and "
     "--tls-key for any other address. Port 0 picks a free port. Default: 127.0.0.1:8700. "
     "Env: BREAKGLASS_LISTEN."},
    {"--upstream URL",
     "Where requests go after the checks. Default: https://dynamodb.REGION.amazonaws.com. "
     "Env: BREAKGLASS_UPSTREAM."},
    {"--data DIR",
     "The data directory made by init. Default: ./breakglass-data. Env: BREAKGLASS_DATA."},
    {"--region REGION",
     "The region of the credentials the gateway hands out and of the upstream signature. "
     "Default: $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1. Env: BREAKGLASS_REGION."},
    {"--public-url URL",
     "The gateway's address as clients reach it (behind a load balancer, say), put into the "
     "credentials `creds` and `exec` hand out. Default: the listen address. Env: "
     "BREAKGLASS_PUBLIC_URL."},
    {"--threads N", "Event loop threads. Default: the number of cores. Env: BREAKGLASS_THREADS."},
    {"--max-connections N",
     "Open client connections at most; beyond it the longest-idle connection is closed. "
     "Default: 1024. Env: BREAKGLASS_MAX_CONNECTIONS."},
    {"--header-timeout DURATION",
     "A request's headers must arrive within this (slow clients are cut off). Default: 10s. "
     "Env: BREAKGLASS_HEADER_TIMEOUT."},
    {"--upstream-timeout DURATION",
     "DynamoDB must answer within this; a request sent and not answered is reported as "
     "RequestOutcomeUnknownException. Default: 30s. Env: BREAKGLASS_UPSTREAM_TIMEOUT."},
    {"--drain-timeout DURATION",
     "On SIGTERM or SIGINT, in-flight requests get this long to finish and be audited. "
     "Default: 10s. Env: BREAKGLASS_DRAIN_TIMEOUT."},
    {"--tls-cert FILE", "PEM certificate chain for HTTPS. Env: BREAKGLASS_TLS_CERT."},
    {"--tls-key FILE", "PEM private key (mode 0600 or stricter). Env: BREAKGLASS_TLS_KEY."},
    {"--runbooks DIR",
     "The runbook folder (tables.yaml and one YAML template per file; see `breakglass "
     "runbook`). Env: BREAKGLASS_RUNBOOKS."},
    {"--policy FILE",
     "The policy file: trigger criteria a request must meet, approvals, the alert webhooks' "
     "secrets (docs/policy.md). Checked at start; an error names the line. Without one, a "
     "request needs one approval, waits 15 minutes, may not go solo, and the alert webhooks "
     "are off. Env: BREAKGLASS_POLICY."},
    {"--upstream-role-arn ARN",
     "A dedicated break-glass role the gateway assumes (STS AssumeRole at "
     "https://sts.REGION.amazonaws.com, session name breakglass-HOSTNAME) with the "
     "credentials of the standard chain, and renews before it expires. Env: "
     "BREAKGLASS_UPSTREAM_ROLE_ARN."},
    {"--upstream-external-id ID",
     "The ExternalId the role's trust policy asks for. Env: BREAKGLASS_UPSTREAM_EXTERNAL_ID."},
    END};

static const cli_help_item serve_examples[] = {
    {"Against a local dynalite, with the gateway's own (here dummy) AWS credentials:",
     "AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \\\n"
     "  breakglass serve --data ./bg-data --upstream http://127.0.0.1:4567"},
    {"In front of real DynamoDB in eu-west-1, over HTTPS:",
     "breakglass serve --data /var/lib/breakglass --region eu-west-1 \\\n"
     "  --listen 0.0.0.0:8443 --tls-cert gw.pem --tls-key gw.key \\\n"
     "  --public-url https://breakglass.example.com:8443"},
    END};

static const cli_help_item serve_exit[] = {
    {"0", "Stopped by SIGTERM or SIGINT after draining."},
    {"2", "A bad option, setting or config file."},
    {"4", "Could not start: no data directory or store, no AWS credentials for the gateway, the "
          "port in use, a TLS file that cannot be read."},
    END};

static const cli_help_item serve_env[] = {
    {"AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN",
     "The gateway's own AWS identity, used to re-sign requests to DynamoDB. Without them, "
     "the rest of the SDKs' standard chain is tried in botocore's order: the profile's "
     "role_arn (source_profile or credential_source), web identity, the shared credentials "
     "file, credential_process, keys in the config file, container credentials, EC2 "
     "instance metadata (IMDSv2). Temporary credentials are renewed before they expire; "
     "while the gateway has none valid, DynamoDB requests are refused "
     "(RequestRefusedException) and its log says why. See docs/deploy.md."},
    {"AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE",
     "The profile (default: default) and the files it is read from (default: "
     "~/.aws/credentials, ~/.aws/config)."},
    {"AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME",
     "Web identity (EKS IAM roles for service accounts): STS AssumeRoleWithWebIdentity."},
    {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, AWS_CONTAINER_CREDENTIALS_FULL_URI",
     "Container credentials (ECS task roles, EKS Pod Identity). A FULL_URI over plain http "
     "must name a loopback, ECS or EKS Pod Identity address."},
    {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, AWS_CONTAINER_AUTHORIZATION_TOKEN",
     "The Authorization header for container credentials (the file wins)."},
    {"AWS_EC2_METADATA_DISABLED, AWS_EC2_METADATA_SERVICE_ENDPOINT",
     "true turns instance metadata off; the endpoint overrides http://169.254.169.254."},
    {"AWS_ENDPOINT_URL_STS", "Another STS endpoint than https://sts.REGION.amazonaws.com."},
    {"BREAKGLASS_CONFIG, BREAKGLASS_LISTEN, BREAKGLASS_DATA, ...",
     "Each serve setting; see the options. Flags win over the environment, which wins over "
     "the config file."},
    END};

/* --- status -------------------------------------------------------------------------- */

static const cli_help_item status_examples[] = {
    {"Is the gateway able to reach DynamoDB as itself?", "breakglass status"},
    {"For monitoring:", "breakglass status --json | jq -e .identity.valid"},
    END};

/* --- whoami -------------------------------------------------------------------------- */

static const cli_help_item whoami_examples[] = {
    {"Check that your token works and see your role:", "breakglass whoami"}, END};

/* --- user ---------------------------------------------------------------------------- */

static const cli_help_item user_opts[] = {
    {"NAME", "The new user: 1 to 64 of A-Z a-z 0-9 . _ - (no spaces, no @)."},
    {"--role ROLE",
     "add: admin (adds users, gives grants, reads the audit log), responder (uses the grants "
     "given to them), approver (for the approval workflow), auditor (reads the audit log, "
     "nothing else), or several joined by commas: admin,approver."},
    {"--otp CODE",
     "Your current 6-digit TOTP code. Each code is accepted once; a command refused for a bad "
     "argument does not use it up. After 5 wrong codes in a row a user is locked out for 5 "
     "minutes; wrong, reused and locked-out codes are on the audit record."},
    END};

static const cli_help_item user_examples[] = {
    {"Who can act, and who is locked out:", "breakglass user list"},
    {"Someone left the team:", "breakglass user disable bob --otp 123456"},
    {"Enrol a responder; send them the token and TOTP secret over a private channel:",
     "breakglass user add bob --role responder --otp \"$(oathtool --totp -b \"$MY_SECRET\")\""},
    END};

/* --- recover ------------------------------------------------------------------------- */

static const cli_help_item recover_opts[] = {
    {"--data DIR", "The gateway's data directory. Default: $BREAKGLASS_DATA."},
    {"--admin NAME", "The admin who gets a new API token and TOTP key."},
    END};

static const cli_help_item recover_examples[] = {
    {"The only admin lost their phone:",
     "sudo -u breakglass breakglass recover --data /var/lib/breakglass --admin alice"},
    END};

/* --- incident ------------------------------------------------------------------------ */

static const cli_help_item incident_opts[] = {
    {"--id ID",
     "open: the incident's id, as your incident tracker names it (INC-4711): 1 to 64 of "
     "A-Z a-z 0-9 . _ -. Incidents opened by alerts get one of their own (am-..., pd-..., "
     "sns-..., gen-...)."},
    {"--severity N",
     "open: 1 (the most severe) to 5. Trigger criteria usually ask for SEV1 or SEV2."},
    {"--title TEXT", "open: one line saying what is wrong."},
    {"--service NAME",
     "open: the service affected (1 to 64 of A-Z a-z 0-9 . _ -); a runbook may be allowed "
     "for some services only."},
    {"--reason TEXT", "resolve: why it is over; kept in the incident's history."},
    {"--all", "list: resolved incidents too (the default lists the open ones)."},
    END};

static const cli_help_item incident_examples[] = {
    {"A customer-facing outage no alert caught:",
     "breakglass incident open --id INC-4711 --severity 1 --title \"API 500s\""},
    {"What is open, and what an alert opened:",
     "breakglass incident list\nbreakglass incident show am-7k2p9x4m1q"},
    {"The fix is out:", "breakglass incident resolve INC-4711 --reason \"rolled back 4.2.1\""},
    END};

/* --- request, approve, deny, requests ---------------------------------------------------- */

static const cli_help_item request_opts[] = {
    {"--incident ID", "The open incident the access is for (breakglass incident list)."},
    {"--runbook ID[,ID...]",
     "The runbooks you need, and nothing else: each is pinned at its current content hash, "
     "so approvers approve exactly these queries. Repeatable."},
    {"--reason TEXT", "Why, in a sentence the approver and the review will read."},
    {"--ticket T", "Your incident tracker's reference; the policy may require a pattern."},
    {"--for DURATION", "How long the grant lasts once approved: 90s, 15m, 1h30m (at most 12h)."},
    {"--otp CODE", "Your current TOTP code. A refused request does not use it up."},
    {"--wait",
     "Wait for the answer (printing who was asked on stderr), then print the grant. Exit 1 "
     "when the request is denied or expires."},
    {"--solo",
     "Break-glass without approval, on your pending request for the same incident and "
     "runbooks, where the policy allows it and nobody answered within its solo_after. Every "
     "approver is told, and the incident's review becomes mandatory."},
    END};

static const cli_help_item request_examples[] = {
    {"Ask for the runbooks the incident needs, and wait for an approver:",
     "breakglass request --incident INC-4711 --runbook orders-of-customer \\\n"
     "  --reason \"customers see stuck orders\" --ticket INC-4711 --for 30m \\\n"
     "  --otp 123456 --wait"},
    {"Nobody answered and the policy allows it:",
     "breakglass request --incident INC-4711 --runbook orders-of-customer \\\n"
     "  --solo --otp 123456"},
    END};

static const cli_help_item close_opts[] = {
    {"INCIDENT", "The incident's id."},
    {"--reason TEXT", "Why it is over; kept in the incident's history and the record."},
    {"--report FILE",
     "Where to write the post-incident report (breakglass report); the format follows "
     "the name: .md, .json, else HTML. Default: INCIDENT-report.html here (with --json: "
     "none unless named)."},
    {"--no-report", "Do not write the report."},
    END};

static const cli_help_item close_examples[] = {
    {"The fix is in: lock the door (the report goes to INC-4711-report.html):",
     "breakglass close INC-4711 --reason \"orders flow again\""},
    END};

static const cli_help_item close_exit[] = {
    {"0", "Closed, and the audit trail verified whole."},
    {"1", "Refused (no such incident, not allowed), or closed but the audit trail does "
          "not verify: run breakglass audit verify."},
    {"2", "A usage error: nothing was sent."},
    {"3", "The server could not be reached, or could not record the closing."},
    END};

static const cli_help_item review_opts[] = {
    {"INCIDENT", "The closed incident whose review to sign; or list."},
    {"--sign", "Sign the review (with --learnings and --otp)."},
    {"--learnings FILE",
     "What happened, why, and what changes: UTF-8 text, up to 16 KiB, kept with the "
     "review."},
    {"--otp CODE", "Your current TOTP code."},
    {"--overdue", "list: only reviews past their deadline and not signed."},
    END};

static const cli_help_item review_examples[] = {
    {"Sign the review of a closed incident:",
     "breakglass review INC-4711 --sign --learnings learnings.md --otp 123456"},
    {"What is overdue:", "breakglass review list --overdue"},
    END};

static const cli_help_item answer_opts[] = {
    {"REQUEST", "The request's id (bg-...), as the requester or `breakglass requests` shows."},
    {"--otp CODE", "Your current TOTP code."},
    {"--reason TEXT", "Why; required to deny."},
    END};

static const cli_help_item approve_examples[] = {
    {"See what is asked, then approve it:",
     "breakglass requests bg-7k2p9x4m1q\nbreakglass approve bg-7k2p9x4m1q --otp 123456"},
    END};

static const cli_help_item deny_examples[] = {
    {"Not this runbook:", "breakglass deny bg-7k2p9x4m1q --otp 123456 --reason \"wrong runbook\""},
    END};

static const cli_help_item extend_opts[] = {
    {"REQUEST", "Your approved request, which is your grant (bg-...)."},
    {"--for DURATION",
     "How long from the approval the grant should run: 15m, 1h (a grant lives at most 12h "
     "in all)."},
    {"--reason TEXT", "Why more time is needed; default: the first request's reason."},
    {"--wait", "Wait for the answer, then print the grant."},
    END};

static const cli_help_item extend_examples[] = {
    {"The fix takes longer than planned:",
     "breakglass extend bg-7k2p9x4m1q --for 30m --reason \"restore running\" \\\n"
     "  --wait"},
    END};

static const cli_help_item requests_examples[] = {
    {"Everything asked for, newest first:", "breakglass requests"},
    {"One request with its criteria and answers:", "breakglass requests bg-7k2p9x4m1q"},
    END};

/* --- grant --------------------------------------------------------------------------- */

static const cli_help_item grant_opts[] = {
    {"--user NAME", "Who gets the grant."},
    {"--runbook ID[,ID...]",
     "The runbooks the grant may run, and nothing else: each is pinned at its current content "
     "hash, so a runbook edited later is refused for this grant. At most 16. Repeatable. The "
     "narrow door; --table and --op are the wide one."},
    {"--table T[,T...]",
     "Instead of --runbook (for admins who need the wider door): the tables the grant covers (3 to "
     "255 of A-Z a-z 0-9 . _ -), at most 16. Repeatable. "
     "A table the upstream does not know is granted with a warning."},
    {"--op OP[,OP...]",
     "DynamoDB operations as named in the API, case-sensitive: GetItem, Query, Scan, PutItem, "
     "UpdateItem, DeleteItem, BatchGetItem, DescribeTable, ... At most 16. Repeatable. "
     "PartiQL (ExecuteStatement) cannot be granted: its tables cannot be checked."},
    {"--for DURATION", "How long the grant lasts: 90s, 15m, 1h30m; at most 12h."},
    {"--otp CODE", "Your current TOTP code (each code is accepted once)."},
    {"--reason TEXT",
     "Why (required): shown with the grant and kept on the audit record. A direct grant is "
     "the admin's path beside `breakglass request`: the policy may forbid it (direct_grants: "
     "deny), and an admin never grants themself."},
    {"show ID", "Prints one grant (admins: any; others: their own)."},
    {"list", "Lists grants, the same as `breakglass grants`."},
    END};

static const cli_help_item grant_examples[] = {
    {"Give bob 30 minutes of one runbook, then he runs it:",
     "breakglass grant --user bob --runbook orders-of-customer --for 30m \\\n"
     "  --otp 123456 --reason \"INC-4711 stuck orders\"\n"
     "breakglass run orders-of-customer --grant bg-ABCDEFGHIJ --param customer=CUSTOMER#42"},
    {"Give bob 30 minutes of any reads on orders (no runbook fits):",
     "breakglass grant --user bob --table orders --op GetItem,Query --for 30m \\\n"
     "  --otp 123456 --reason \"INC-4711 stuck orders\""},
    {"Look at it later:", "breakglass grant show bg-ABCDEFGHIJ"},
    END};

/* --- grants -------------------------------------------------------------------------- */

static const cli_help_item grants_examples[] = {
    {"Every grant, as a script sees it:", "breakglass grants --json"}, END};

/* --- creds --------------------------------------------------------------------------- */

static const cli_help_item creds_opts[] = {
    {"GRANT", "The grant's id (bg-...)."},
    {"--format env|json|process",
     "env (default): export lines for a POSIX shell. json: the server's answer. process: the "
     "credential_process format (version 1, with Expiration) for ~/.aws/config."},
    END};

static const cli_help_item creds_examples[] = {
    {"Load the grant into the current shell:", "eval \"$(breakglass creds bg-ABCDEFGHIJ)\""},
    {"A profile in ~/.aws/config (see the README for which clients also honour endpoint_url; "
     "older ones need --endpoint-url):",
     "[profile incident]\n"
     "credential_process = breakglass creds bg-ABCDEFGHIJ --format process\n"
     "endpoint_url = http://127.0.0.1:8700"},
    END};

/* --- exec ---------------------------------------------------------------------------- */

static const cli_help_item exec_opts[] = {
    {"GRANT", "The grant's id (bg-...)."},
    {"COMMAND [ARGS...]",
     "What to run; everything after GRANT (or after --) is the command's, not breakglass's."},
    END};

static const cli_help_item exec_examples[] = {
    {"Run one query with the grant:",
     "breakglass exec bg-ABCDEFGHIJ -- aws dynamodb get-item --table-name orders \\\n"
     "  --key '{\"pk\":{\"S\":\"CUSTOMER#42\"},\"sk\":{\"S\":\"ORDER#1\"}}'"},
    {"A shell whose AWS clients all go through the gateway:",
     "breakglass exec bg-ABCDEFGHIJ -- bash"},
    END};

static const cli_help_item exec_exit[] = {
    {"N", "COMMAND's own exit status; if COMMAND was killed by a signal, exec dies of it too."},
    {"126", "COMMAND exists but cannot be run."},
    {"127", "COMMAND was not found."},
    {"1-4", "Before COMMAND runs, as for every command (e.g. 1: the grant is revoked)."},
    END};

static const cli_help_item exec_env[] = {
    {"BREAKGLASS_GRANT", "Set for COMMAND: the grant's id."},
    {"AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN",
     "Set for COMMAND: the grant's temporary credentials. AWS_PROFILE and other credential "
     "sources are unset."},
    {"AWS_REGION, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_DYNAMODB",
     "Set for COMMAND: the gateway's region and address."},
    END};

/* --- revoke -------------------------------------------------------------------------- */

static const cli_help_item revoke_opts[] = {{"GRANT", "The grant's id (bg-...)."}, END};

static const cli_help_item revoke_examples[] = {
    {"End bob's access now:", "breakglass revoke bg-ABCDEFGHIJ"}, END};

/* --- audit --------------------------------------------------------------------------- */

static const cli_help_item audit_opts[] = {
    {"-n N", "tail: the newest N records, 1 to 1000 (default 20; --limit N is the same)."},
    {"-f, --follow",
     "tail: after them, print new records as they commit, until interrupted (with --json, "
     "one JSON object per line)."},
    {"--after SEQ",
     "tail: the records after sequence number SEQ, oldest first, instead of the newest "
     "(a page of -n; scripts walk the whole log so)."},
    {"--grant G", "tail, export: records of grant G."},
    {"--user U", "tail: records whose actor is U (a user, or an alert source)."},
    {"--incident I",
     "tail, export: records of incident I: opening it, its alerts, its requests and their "
     "answers, and everything its grants did (credentials, queries, denials, revocation)."},
    {"--since T", "tail, export: records at T or later (RFC 3339 UTC)."},
    {"--until T", "export: records whose ts is before T."},
    {"--pubkey FILE",
     "verify: public keys (PEM, one or several in the file) to trust; may be given "
     "several times. Default: every key the server has signed with (audit pubkey --all)."},
    {"--all", "pubkey: every key that has signed checkpoints, oldest first."},
    {"--otp CODE", "rotate-key: your current TOTP code (the rotation is a step-up action)."},
    {"--file FILE", "verify: an export (JSON lines; - for stdin) instead of the store."},
    {"--reference FILE",
     "verify: another copy of the trail (an earlier export); its signed checkpoints show a "
     "truncated tail or a rewritten chain."},
    END};

static const cli_help_item audit_examples[] = {
    {"The last twenty records:", "breakglass audit tail"},
    {"A request with its response, body and consumed capacity:", "breakglass audit show 42"},
    {"Everything about one incident, as it happens:",
     "breakglass audit tail --incident am-7k2p9x4m1q -n 100 -f"},
    {"Walk the whole log in a script:",
     "after=0\n"
     "while page=$(breakglass audit tail --after \"$after\" --limit 1000 --json) &&\n"
     "      [ \"$(jq '.records | length' <<<\"$page\")\" -gt 0 ]; do\n"
     "  jq -c '.records[]' <<<\"$page\"; after=$(jq '.records[-1].seq' <<<\"$page\")\n"
     "done"},
    {"Keep the public key and a full export somewhere else:",
     "breakglass audit pubkey >audit.pem && breakglass audit export >trail.jsonl"},
    {"Verify the store, and the export against a key kept offline:",
     "breakglass audit verify --pubkey audit.pem --reference trail.jsonl\n"
     "breakglass audit verify --pubkey audit.pem --file trail.jsonl --json"},
    {"Rotate the signing key, then keep every public key off the gateway:",
     "breakglass audit rotate-key --otp 123456\n"
     "breakglass audit pubkey --all >audit-keys.pem\n"
     "breakglass audit verify --pubkey audit-keys.pem"},
    {"One grant's records, verifiable on their own:",
     "breakglass audit export --grant g_3f9a >g_3f9a.jsonl"},
    END};

static const cli_help_item audit_exit[] = {
    {"0", "Done; for verify: the trail is whole."},
    {"1", "Refused (show: no such record); for verify: the trail is broken (each finding "
          "is printed)."},
    {"2", "Usage error (unreadable --pubkey or --file)."},
    {"3", "The server is unreachable."},
    END};

/* --- report -------------------------------------------------------------------------- */

static const cli_help_item report_opts[] = {
    {"--format md|html|json",
     "Markdown (default); one self-contained HTML file (inline CSS and SVG, nothing fetched; "
     "readable on a phone, printable); or the report's model as JSON (docs/report.md)."},
    {"--out FILE",
     "Write the report to FILE (mode 0600, replaced whole) and print where it is and what it "
     "found; default: the report on stdout."},
    {"--pubkey FILE",
     "The audit public key (PEM) that verifies the incident's records; default: the "
     "server's (audit pubkey). Keep a copy off the gateway and give it here."},
    {"--budget N",
     "The incident's capacity budget in capacity units, drawn on the chart and checked; "
     "default: a budget the records carry, else none."},
    END};

static const cli_help_item report_examples[] = {
    {"The review's starting point, in the terminal:", "breakglass report INC-77"},
    {"One HTML file to read on a phone or print, verified against a key kept offline:",
     "breakglass report INC-77 --format html --out INC-77.html \\\n"
     "  --pubkey audit.pem"},
    {"The model, for a script:",
     "breakglass report INC-77 --format json | jq '.anomalies[] | .kind'"},
    END};

static const cli_help_item report_exit[] = {
    {"0", "The report was written and the incident's audit records verify."},
    {"1", "Refused (no such incident in the audit trail, not an admin or auditor), or the "
          "report was written but the records do not verify (its verification section says "
          "where)."},
    {"2", "Usage error (an unknown format, an unreadable --pubkey)."},
    {"3", "The server is unreachable."},
    {"4", "The report could not be written (--out) or built on this machine."},
    END};

/* --- runbook ------------------------------------------------------------------------- */

static const cli_help_item runbook_opts[] = {
    {"lint", "Check every file of the folder; print each problem as FILE:LINE: MESSAGE."},
    {"list", "The runbooks: ID, OPERATION, TABLE, TITLE."},
    {"show ID",
     "One runbook: what it is for, its parameters and their rules, its content hash and git "
     "commit, and the same request as an `aws dynamodb` command line."},
    {"test [ID]",
     "Run the tests of every runbook (or of one) against fresh tables in a local DynamoDB "
     "loaded from each test's fixtures; print PASS or FAIL per test."},
    {"--runbooks DIR",
     "The runbook folder. Default: $BREAKGLASS_RUNBOOKS, else the runbooks setting of the serve "
     "configuration ($BREAKGLASS_CONFIG), else ./runbooks."},
    {"--endpoint URL",
     "test: the local DynamoDB to use (its tables are dropped and re-created). Default: a "
     "private dynalite on a free loopback port ($BREAKGLASS_DYNALITE, dynalite on PATH, or "
     "./node_modules/.bin/dynalite), stopped afterwards."},
    END};

static const cli_help_item runbook_examples[] = {
    {"Before merging a change to the runbook repository:",
     "breakglass runbook lint --runbooks ./runbooks && breakglass runbook test --runbooks "
     "./runbooks"},
    {"What exactly does a runbook send?", "breakglass runbook show orders-of-customer"},
    END};

static const cli_help_item runbook_exit[] = {
    {"0", "No problems; every test passed."},
    {"1", "lint found problems, a test failed, or there was no test to run."},
    {"2", "Usage error, or the folder does not exist."},
    {"4", "Local failure: a file cannot be read, dynalite cannot be started."},
    END};

static const cli_help_item runbook_env[] = {
    {"BREAKGLASS_RUNBOOKS",
     "The runbook folder, when --runbooks is not given (runbook and serve)."},
    {"BREAKGLASS_DYNALITE", "The dynalite program for runbook test."},
    END};

/* --- run ----------------------------------------------------------------------------- */

static const cli_help_item run_opts[] = {
    {"RUNBOOK", "The runbook to run: one the grant names."},
    {"--grant GRANT", "The grant (bg-...) to run it with; you must be its grantee."},
    {"--param NAME=VALUE",
     "A parameter's value, as text (numbers as digits, BOOL as true or false). Repeat for "
     "each; parameters with a default may be left out."},
    END};

static const cli_help_item run_examples[] = {
    {"The stuck orders of customer 42:",
     "breakglass run orders-of-customer --grant bg-ABCDEFGHIJ --param customer=CUSTOMER#42"},
    {"The same, for a script:",
     "breakglass run orders-of-customer --grant bg-ABCDEFGHIJ --param customer=CUSTOMER#42 "
     "--json | jq '.items[].sk.S'"},
    END};

/* --- drill --------------------------------------------------------------------------- */

static const cli_help_item drill_opts[] = {
    {"list", "Prints the drills kept in the history, newest first: when, the scenario, "
             "passed or FAILED, the time from alert to first query, and the runbooks that "
             "failed."},
    {"--scenario FILE",
     "The scenario: a YAML file with the drill's name, the alert's labels and the runbooks "
     "to run with their parameters (docs/drills.md). Default: every runbook of the folder, "
     "with its first test's parameters."},
    {"--runbooks DIR",
     "The runbook folder (its tables.yaml and fixtures seed the local DynamoDB). Default: "
     "$BREAKGLASS_RUNBOOKS, the serve configuration's, else ./runbooks."},
    {"--history DIR",
     "Where drills are kept, one folder each. Default: $BREAKGLASS_DRILL_HISTORY, else "
     "$XDG_STATE_HOME/breakglass/drills, else ~/.local/state/breakglass/drills."},
    END};

static const cli_help_item drill_examples[] = {
    {"Rehearse every runbook of ./runbooks:", "breakglass drill"},
    {"Rehearse the stuck-orders scenario, then look at the history:",
     "breakglass drill --scenario examples/drill.yaml\nbreakglass drill list"},
    {"For a script (the exit status says whether it passed):",
     "breakglass drill --json | jq .alert_to_first_query_ms"},
    END};

static const cli_help_item drill_exit[] = {
    {"0", "The drill passed: every step and every runbook."},
    {"1", "A runbook failed (named in the output and in result.json), a step of the path "
          "was refused (the drill still closed the incident and wrote the report), or the "
          "runbook folder does not load."},
    {"2", "A usage error: a bad option, or a scenario file with a mistake (file and line)."},
    {"3", "The local DynamoDB or the drill's gateway did not start or answer."},
    {"4", "A local failure (files, the history folder, memory)."},
    {"130", "Interrupted (143: SIGTERM): the drill stopped at the next step, stopped what it "
            "started, removed its temporary folder and kept what it had."},
    END};

static const cli_help_item drill_env[] = {
    {"BREAKGLASS_DRILL_HISTORY", "The history folder, when --history is not given."},
    {"BREAKGLASS_DYNALITE", "The dynalite program to start (default: "
                            "./node_modules/.bin/dynalite, else dynalite on PATH)."},
    END};

/* --- undo ---------------------------------------------------------------------------- */

static const cli_help_item undo_opts[] = {
    {"AUDIT_SEQ",
     "The write's audit record: its request or its response (`audit tail`, `audit show`, "
     "and the report's Writes section name them)."},
    {"--grant GRANT",
     "The grant the write ran under (bg-...). Required for its user; an admin may leave it "
     "out."},
    END};

static const cli_help_item undo_examples[] = {
    {"Put back the order a runbook write changed (record 42):",
     "breakglass undo 42 --grant bg-ABCDEFGHIJ"},
    {"See the difference, for a script, when it was changed since:",
     "breakglass undo 42 --grant bg-ABCDEFGHIJ --json"},
    END};

static const cli_help_item undo_exit[] = {
    {"0", "The item was put back as the write found it."},
    {"1", "Refused, nothing changed: the item changed since the write (the difference is "
          "listed), it was undone already, the write has no before-image or a masked one, the "
          "update is of a form undo cannot compute, or the grant is not yours or not live."},
    {"2", "A usage error."},
    {"3", "The server, or DynamoDB, could not be reached."},
    END};

/* --- help ---------------------------------------------------------------------------- */

static const cli_help_item help_opts[] = {
    {"COMMAND", "The command to describe; `breakglass help breakglass` describes the tool."},
    {"--man", "Print the whole manual as a man(7) page (how docs/breakglass.1 is made)."},
    END};

static const cli_help_item help_examples[] = {
    {"Read the manual without installing it:", "breakglass help --man | man -l -"}, END};

/* --- version ------------------------------------------------------------------------- */

static const cli_help_item version_examples[] = {{"For a bug report:", "breakglass --version"},
                                                 END};

static const cli_help pages[] = {
    {"init", "create the data directory, the store and the first admin",
     "breakglass init --data DIR --admin NAME [--json]",
     "Creates the data directory, its store and master key, and the first admin, and prints "
     "the admin's API token and TOTP secret (base32 and an otpauth:// URI). They are shown "
     "once: the store keeps only a hash of the token, and derives the TOTP key from the "
     "master key.\n\n"
     "init runs on the server's machine and needs no running server. It is all or nothing: "
     "the name is checked before anything is created, an existing store is never touched, "
     "and if any step fails, what this run created is removed, so it can simply be run "
     "again.",
     init_opts, false, init_examples, init_exit, init_env},
    {"serve", "run the DynamoDB gateway and its JSON API",
     "breakglass serve [--config FILE] [--listen ADDR:PORT] [--upstream URL]\n"
     "                 [--data DIR] [--region REGION] [--public-url URL]\n"
     "                 [--threads N] [--max-connections N] [--header-timeout D]\n"
     "                 [--upstream-timeout D] [--drain-timeout D]\n"
     "                 [--tls-cert FILE --tls-key FILE] [--runbooks DIR]\n"
     "                 [--policy FILE]\n"
     "                 [--upstream-role-arn ARN] [--upstream-external-id ID]\n"
     "                 [--json]",
     "Runs the gateway: DynamoDB's JSON protocol on / (what the AWS CLI, boto3 and the SDKs "
     "speak, unchanged) and the breakglass JSON API on /api/v1/ (what the other commands "
     "use). Every DynamoDB request is checked against its grant, written to the audit log "
     "before it is forwarded, re-signed with the gateway's own AWS credentials, and its "
     "answer is written to the audit log before the client sees it. If the audit log cannot "
     "be written, requests are refused (fail closed).\n\n"
     "The config file's audit: mapping sets the signed checkpoints' cadence and the audit "
     "sinks: copies of the trail (a JSON lines file, syslog at udp://, tcp://, unix: or "
     "relp:// addresses, CloudWatch Logs), each "
     "required (requests are refused when it cannot take records) or best effort (its "
     "backlog kept in the store, its lag shown by status). Only relp:// is acknowledged, so only "
     "it should be a required "
     "syslog sink. See docs/audit.md.\n\n"
     "Settings come from defaults, then the --config file, then BREAKGLASS_* variables, then "
     "flags. Durations take a unit: 500ms, 10s, 2m. Once it accepts connections, serve "
     "prints one line (with --json an object {\"listen\", \"upstream\", \"pid\"}) on stdout; "
     "its log goes to stderr.\n\n"
     "SIGTERM or SIGINT stops accepting connections, lets requests in flight finish and be "
     "audited (at most --drain-timeout), and exits 0.",
     serve_opts, false, serve_examples, serve_exit, serve_env},
    {"recover", "new secrets for an admin, on the server's host",
     "breakglass recover --data DIR --admin NAME [--json]",
     "The way back in when an admin's API token or TOTP key is lost (above all the only "
     "admin's, when no other admin can reset it): run on the "
     "gateway's host by someone who can read its data directory (the service user), it gives "
     "the admin a new API token and a new TOTP key, enables and unlocks them, and prints the "
     "secrets once. It is on the audit record as \"recover\", by \"host\". It works beside a "
     "running gateway.",
     recover_opts, false, recover_examples, init_exit, NULL},
    {"status", "the gateway's AWS identity, policy and what is open", "breakglass status [--json]",
     "Shows what an operator checks first: whether the gateway holds a valid AWS identity "
     "(where it came from: environment, profile, role, web identity, container, instance "
     "metadata; until when; the last failed refresh), its upstream and region, how many "
     "runbooks it has loaded and which policy, and what is open now: incidents, pending "
     "requests, live grants; and the audit trail's newest record with each audit sink: up "
     "or DOWN, how many records behind, its last error. Without a valid identity the gateway "
     "refuses DynamoDB requests "
     "(RequestRefusedException) and says why in its log and here. Nothing secret is shown.",
     NULL, true, status_examples, NULL, NULL},
    {"whoami", "show whose API token this is, and their role", "breakglass whoami [--json]",
     "Asks the server who the API token belongs to. A quick check that BREAKGLASS_URL and "
     "BREAKGLASS_TOKEN are right.",
     NULL, true, whoami_examples, NULL, NULL},
    {"user", "add, list, disable and renew users (admins)",
     "breakglass user add NAME --role ROLE --otp CODE [--json]",
     "Manages the people who may act. add creates a user and prints their API token and TOTP "
     "secret (base32, an otpauth:// URI and a QR code to scan) once. Only admins manage "
     "users; the admin's TOTP code confirms each change, and each is on the audit record. "
     "Arguments are checked before the request is sent, so a typo does not use up the "
     "code.\n\n"
     "If the only admin's token or TOTP key is lost, `breakglass recover` on the server's "
     "host issues new ones.",
     user_opts, true, user_examples, NULL, NULL},
    {"incident", "open, list, show and resolve incidents",
     "breakglass incident open --id ID --severity N --title TEXT [--service NAME]\n"
     "                         [--json]\n"
     "breakglass incident list [--all] [--json]\n"
     "breakglass incident show ID [--json]\n"
     "breakglass incident resolve ID [--reason TEXT] [--json]",
     "An incident is what break-glass access is for: a request names one, and the policy's "
     "trigger criteria read its severity, its service and its alerts. Alerts open incidents "
     "on their own through the gateway's webhooks (Prometheus Alertmanager, PagerDuty, "
     "CloudWatch alarms through SNS, a signed generic JSON hook; see docs/webhooks.md): one "
     "incident per alert group, its severity from the alert, and every alert's change of "
     "state in its history. open opens one by hand (responders, approvers and admins); list "
     "shows the open ones; show prints one with its alerts and history; resolve marks it "
     "over. Every change is on the audit record.",
     incident_opts, true, incident_examples, NULL, NULL},
    {"request", "ask for break-glass access to runbooks for an incident",
     "breakglass request --incident ID --runbook ID[,ID...] --reason TEXT\n"
     "                   [--ticket T] --for DURATION --otp CODE [--wait] [--json]\n"
     "breakglass request --incident ID --runbook ID[,ID...] --solo --otp CODE\n"
     "                   [--json]",
     "Asks for access to the runbooks named, for an open incident. The gateway evaluates "
     "the policy's trigger criteria (serve --policy; docs/policy.md) and keeps each result "
     "with the request; when one fails the request is refused and every failing criterion "
     "is listed. Otherwise the request waits for approvers (never the requester): once "
     "enough have approved, it becomes a grant with the same id, which `creds`, `exec` and "
     "`run` take. A request nobody answers expires. Responders only.",
     request_opts, true, request_examples, NULL, NULL},
    {"close", "lock down an incident: revoke, resolve, open the review",
     "breakglass close INCIDENT [--reason TEXT] [--report FILE | --no-report]\n"
     "                 [--json]",
     "Locks the door again after an incident, in one step: every live grant made for the "
     "incident's requests is revoked (a request already in flight finishes and is "
     "audited; the next one is refused), the incident is resolved if it is not yet, and "
     "its review is opened with a deadline (the policy's review.deadline, 24h by default). "
     "Then the whole audit trail is verified and the result shown, the post-incident "
     "report is written (breakglass report), and the review's sign-off comes next. "
     "Closing is never automatic, even "
     "when the alerts resolve. Closing again revokes whatever is live and keeps the first "
     "review. Responders, approvers and admins may close. With --json the answer is one "
     "document, with the report under \"report\" when --report FILE names one.",
     close_opts, true, close_examples, close_exit, NULL},
    {"review", "sign an incident's review, or list the reviews",
     "breakglass review INCIDENT --sign --learnings FILE --otp CODE [--json]\n"
     "breakglass review list [--overdue] [--json]",
     "Every closed incident has a review to sign by its deadline, by an approver or an "
     "admin who did not ask for access during the incident, with what was learned. A review "
     "is signed once. Until it is signed, a review past its deadline is overdue: listed "
     "here, counted by breakglass status, and notified once (event review).",
     review_opts, true, review_examples, NULL, NULL},
    {"approve", "approve someone's request (approvers)",
     "breakglass approve REQUEST --otp CODE [--reason TEXT] [--json]",
     "Approves a pending request: yours never counts for your own. When the policy's number "
     "of distinct approvers is reached, the grant is made at once and the answer shows it. "
     "An expired or answered request cannot be approved.",
     answer_opts, true, approve_examples, NULL, NULL},
    {"deny", "deny someone's request (approvers)",
     "breakglass deny REQUEST --otp CODE --reason TEXT [--json]",
     "Denies a pending request, with a reason the requester and the review will read. One "
     "denial ends the request.",
     answer_opts, true, deny_examples, NULL, NULL},
    {"extend", "ask for more time on your grant (needs a new approval)",
     "breakglass extend REQUEST --for DURATION [--reason TEXT] [--wait] [--json]",
     "Asks for more time on your active grant, made from a request: a new request for the "
     "same incident and the same pinned runbooks, checked against the trigger criteria and "
     "answered by approvers like the first (with --solo rules alike). Once approved, the "
     "grant runs until DURATION from then. A direct grant cannot be extended.",
     extend_opts, true, extend_examples, NULL, NULL},
    {"requests", "list requests, or show one", "breakglass requests [REQUEST] [--json]",
     "Lists break-glass requests, newest first: approvers, admins and auditors see every "
     "request, responders their own. With an id, shows one request: its runbooks, each "
     "criterion's result, the answers so far, and its grant once approved.",
     NULL, true, requests_examples, NULL, NULL},
    {"grant", "give a user temporary access to runbooks (or tables)",
     "breakglass grant --user NAME --runbook ID[,ID...] --for DURATION --otp CODE\n"
     "                 --reason TEXT [--json]\n"
     "breakglass grant --user NAME --table T[,T...] --op OP[,OP...]\n"
     "                 --for DURATION --otp CODE --reason TEXT [--json]\n"
     "breakglass grant show ID [--json]\n"
     "breakglass grant list [--json]",
     "Creates a grant: temporary AWS credentials for the user, valid only through the "
     "gateway, until DURATION has passed or the grant is revoked. A runbook grant allows "
     "exactly the runbooks named (see `breakglass runbook`): a request must be one of them, "
     "with parameters that pass their rules. A table/operation grant allows any request on "
     "the tables and operations named: the wider door, for what no runbook covers. The grantee "
     "fetches the credentials with `breakglass creds` or runs a "
     "command with them with `breakglass exec`.\n\n"
     "The gateway asks DynamoDB whether each table exists (DescribeTable) and warns on stderr "
     "when one does not; the grant is made all the same, since a table may be about to be "
     "restored.\n\n"
     "`grant show` of a live grant also shows its guardrails as the gateway counts them: "
     "capacity spent against the budgets (the policy's guardrails.budget, and each "
     "runbook's budget), the requests its rate allows now, and the time left.",
     grant_opts, true, grant_examples, NULL, NULL},
    {"grants", "list grants", "breakglass grants [--json]",
     "Lists grants: admins see every grant, others their own. Columns: ID, USER, STATUS "
     "(active, expired, revoked), EXPIRES, TABLES, OPS.",
     NULL, true, grants_examples, NULL, NULL},
    {"creds", "print a grant's temporary AWS credentials (the grantee)",
     "breakglass creds GRANT [--format env|json|process] [--json]",
     "Prints the grant's temporary AWS credentials, region and gateway endpoint. Only the "
     "grantee may fetch them, and only while the grant is active. Each fetch is on the audit "
     "record.\n\n"
     "The credentials work only through the gateway: point the client at it with "
     "AWS_ENDPOINT_URL_DYNAMODB (env format), a profile's endpoint_url, or --endpoint-url. "
     "AWS CLI releases before 2.13 and boto3 before 1.28 ignore the first two and would send "
     "the request to real AWS, where the credentials mean nothing; `breakglass exec` guards "
     "against that.",
     creds_opts, true, creds_examples, NULL, NULL},
    {"exec", "run a command with a grant's credentials, fenced in",
     "breakglass exec GRANT [--] COMMAND [ARGS...]",
     "Fetches the grant's credentials and runs COMMAND with them in its environment, pointed "
     "at the gateway. So that no request can leave for real AWS by accident, COMMAND also "
     "gets: first on its PATH, an `aws` that adds --endpoint-url unless one is given (so "
     "scripts, `bash -c` and aliases get it), and HTTPS_PROXY/HTTP_PROXY set to the gateway, "
     "which refuses to be a proxy, with NO_PROXY naming the gateway: a client that ignores "
     "the endpoint settings fails with a proxy error instead of reaching AWS, and the "
     "attempt is on the audit record. Other HTTP egress from COMMAND is refused the same "
     "way.\n\n"
     "boto3 before 1.28 (Debian 12 ships 1.26) ignores AWS_ENDPOINT_URL_DYNAMODB: give "
     "endpoint_url=os.environ[\"AWS_ENDPOINT_URL_DYNAMODB\"] to boto3.client().",
     exec_opts, true, exec_examples, exec_exit, exec_env},
    {"revoke", "end a grant now (admins, or the grantee)", "breakglass revoke GRANT [--json]",
     "Revokes the grant: its very next request is refused, whatever it is. Prints the grant, "
     "now revoked, with who revoked it and when.",
     revoke_opts, true, revoke_examples, NULL, NULL},
    {"audit", "read, export and verify the audit log (admins, auditors)",
     "breakglass audit tail [-n N] [-f] [--grant G] [--user U] [--incident I]\n"
     "                      [--since T] [--after SEQ] [--json]\n"
     "breakglass audit show SEQ [--json]\n"
     "breakglass audit pubkey [--all] [--json]\n"
     "breakglass audit export [--since T] [--until T] [--grant G] [--incident I]\n"
     "breakglass audit verify [--pubkey FILE]... [--file F] [--reference F]\n"
     "                        [--json]\n"
     "breakglass audit rotate-key --otp CODE [--json]",
     "tail prints the newest audit records (oldest of them first), narrowed by grant, user, "
     "incident or time, and with -f goes on printing new ones as they commit: every "
     "DynamoDB request and answer, every refusal, every API action. One line per record: SEQ TIME "
     "KIND ACTOR GRANT OP TABLES "
     "DECISION STATUS REASON. With --json, the server's {\"records\": [...]}, each record "
     "with its hash and the previous record's (the chain).\n\n"
     "show prints record SEQ joined with the other records of its request (a request and "
     "its response or denial share a request id; either SEQ shows both), each with its "
     "detail (body, sizes, consumed capacity, error), and the grant it ran under. With "
     "--json, {\"record\", \"related\", \"request\", \"response\", \"grant\"}.\n\n"
     "The gateway signs a checkpoint record into the chain every 1000 records or 10 seconds "
     "(audit.checkpoint_every and audit.checkpoint_seconds in the serve config file) with "
     "an Ed25519 key kept in the data directory. pubkey prints its public key (PEM); "
     "--all prints every key that has signed checkpoints, retired ones included, one PEM "
     "after the other (a file verify --pubkey takes as it is).\n\n"
     "rotate-key (an admin, with a TOTP code) makes the gateway switch to a new key: the "
     "key-rotation record, naming both key ids and holding the new public key, is "
     "checkpointed by the old key, and every later checkpoint is the new key's. The old "
     "public key stays in the list, so older checkpoints still verify; the old private key "
     "is deleted. The private keys never leave the gateway.\n\n"
     "export writes the log as JSON lines, one record each, checkpoints included. With a "
     "filter, it starts at the first record kept and ends at the checkpoint after the last "
     "one; the records left out between are written redacted (seq, prev_hash and hash "
     "only), so the links stay checkable. docs/audit.md has the formats.\n\n"
     "verify checks the store (through the server) or an export: every hash, every link, "
     "every checkpoint signature. It prints each finding with its seq and kind (edited, "
     "link, deleted, inserted, reordered, bad_checkpoint, bad_signature, unknown_key, "
     "retired_key, "
     "truncated, diverged, malformed); with --json, {\"ok\", \"partial\", \"records\", "
     "\"checkpoints\", \"first_seq\", \"last_seq\", \"signed_seq\", \"problems\": [{\"seq\", "
     "\"kind\", \"message\"}]}. A cut tail is visible only against another copy's later "
     "checkpoint: give one with --reference.",
     audit_opts, true, audit_examples, audit_exit, NULL},
    {"report", "the post-incident report, from the audit trail alone",
     "breakglass report INCIDENT [--format md|html|json] [--out FILE]\n"
     "                  [--pubkey FILE] [--budget N] [--json]",
     "Builds the incident's post-incident report from its audit records alone: the "
     "timeline (alerts, the request, each criterion's result, MFA, approvals or solo "
     "break-glass, the grant, every query, the revocation), each query with its runbook, "
     "parameters, items returned, consumed capacity and latency, every denial with its "
     "reason, writes with their before-images and undo commands when the records carry "
     "them, a chart of consumed capacity against the budget, the anomalies (solo "
     "break-glass, denials, budget exhaustion, queries near a grant's expiry, activity "
     "after the alerts resolved), the audit verification with its checkpoint range, and "
     "the learnings to fill in.\n\n"
     "The records are those of audit export --incident: the incident's own, those of its "
     "requests and of the grants they became, read through the server page by page, with "
     "the records between them redacted and the checkpoints whole, so the range is "
     "verified against the audit public key. Every text from the records (alert titles, "
     "reasons, user agents) is escaped for the format.",
     report_opts, true, report_examples, report_exit, NULL},
    {"drill", "rehearse an incident end to end against a local DynamoDB",
     "breakglass drill [--scenario FILE] [--runbooks DIR] [--history DIR]\n"
     "breakglass drill list [--history DIR] [--json]",
     "Rehearses an incident from end to end without touching production: a temporary store "
     "(init), a private dynalite seeded from the runbooks' tables.yaml and fixtures, and a "
     "gateway of its own on a free loopback port with a drill policy. An alert arrives "
     "through the real Alertmanager webhook and opens an incident; a scripted responder "
     "requests the scenario's runbooks with MFA; a scripted approver approves; each runbook "
     "runs as `breakglass run` would run it; the incident is closed and its report written "
     "(html, md, json); the incident's audit export is verified offline.\n\n"
     "Each step is this very binary doing what the command of that name does, and is shown "
     "as it ends with its duration. The drill measures the tool time from the alert to the "
     "first successful templated query (the setup excluded) and counts the responder "
     "commands it took; the target is 2 seconds in at most 3 commands. Everything is marked "
     "DRILL: the alert's title and labels, the request's reason, the close.\n\n"
     "A runbook that fails (a parameter its rules refuse, a query DynamoDB refuses, a "
     "runbook the folder lacks) is reported by name, and the drill goes on to close and "
     "report. Each drill is kept in the history folder: result.json (the steps, their "
     "timings, each runbook's result, the alert-to-first-query time), the report, the "
     "audit export and the keys that verify it (breakglass audit verify --file audit.jsonl "
     "--pubkey audit-pubkey.pem), and the drill gateway's log. With --json the drill prints "
     "result.json's object.",
     drill_opts, false, drill_examples, drill_exit, drill_env},
    {"runbook", "check, list, show and test the runbook templates",
     "breakglass runbook lint [--runbooks DIR] [--json]\n"
     "breakglass runbook list [--runbooks DIR] [--json]\n"
     "breakglass runbook show ID [--runbooks DIR] [--json]\n"
     "breakglass runbook test [ID] [--runbooks DIR] [--endpoint URL] [--json]",
     "Runbooks are the tested query templates a break-glass grant may run: one YAML file per "
     "template in a folder meant to be a reviewed git repository, with tables.yaml declaring "
     "each table's keys and indexes. docs/runbooks.md describes the format.\n\n"
     "These commands read the folder directly and need no server. A template with any "
     "problem is refused by the gateway too, so run lint and test before merging a change. "
     "Each template has a content hash (SHA-256 of its normalised form, tests left out) that "
     "grants pin, and, in a git checkout, the commit it came from.",
     runbook_opts, false, runbook_examples, runbook_exit, runbook_env},
    {"run", "run one of a grant's runbooks and print what it found",
     "breakglass run RUNBOOK --grant GRANT [--param NAME=VALUE ...] [--json]",
     "Runs a runbook the grant names, with the parameters given: the gateway renders the "
     "request from the runbook as the grant pinned it (checking every parameter against its "
     "rules first), and the request goes through the gateway signed with the grant's "
     "credentials, so it is matched and audited like any client's. Pages are followed up to "
     "the runbook's max_pages.\n\n"
     "Prints the items as a table, with the number of pages read and the capacity consumed; "
     "with --json, {\"runbook\", \"items\", \"count\", \"pages\", \"consumed_capacity\", "
     "\"more\", \"usage\"}. A write runbook prints what it did and the `breakglass undo` "
     "command that puts the item back (with --json, \"audit_seq\": the write's record). "
     "Then one line on the grant: capacity spent against its budgets, requests its rate "
     "allows now, time left (on stderr after a refusal, such as a spent budget). Attributes "
     "the runbook masks show "
     "its marker, never their values (docs/runbooks.md, Masking).",
     run_opts, true, run_examples, NULL, NULL},
    {"undo", "put back the item a write found",
     "breakglass undo AUDIT_SEQ [--grant GRANT] [--json]",
     "Every PutItem, UpdateItem and DeleteItem through the gateway is sent with ReturnValues "
     "ALL_OLD, and its response record keeps the item as the write found it (the "
     "before-image). undo puts that item back (or deletes the item when the write created "
     "it), but only while the item is exactly what the write left: the gateway reads it "
     "(a consistent GetItem) and compares, and the restore carries a condition that "
     "DynamoDB checks again, so a change made since is never overwritten. If the item "
     "changed, nothing is restored and the difference is listed attribute by attribute "
     "(what the write left, what is there now).\n\n"
     "The grant's user may undo its writes while the grant is live; an admin may undo any "
     "write. A write is undone once. The restore is recorded as a request and a response "
     "of its own (actor: who ran undo, undo_of: the write's response record). undo refuses "
     "a write whose before-image holds values the runbook masks (the trail does not have "
     "them), and an UpdateItem whose effect it cannot compute (ADD, DELETE, arithmetic, "
     "list_append, list elements; SET path = :value, SET path = path, if_not_exists and "
     "REMOVE are computed). docs/runbooks.md, Safe writes.\n\n"
     "Prints what was put back and the records made; with --json {\"undo_of\", \"op\", "
     "\"table\", \"key\", \"restored\", \"request_seq\", \"response_seq\"}.",
     undo_opts, true, undo_examples, undo_exit, NULL},
    {"help", "describe a command, or print the manual", "breakglass help [COMMAND | --man]",
     "Prints COMMAND's page (the same as `breakglass COMMAND --help`), the command list, or "
     "with --man the whole manual in roff.",
     help_opts, false, help_examples, NULL, NULL},
    {"version", "print the version and the libraries it uses",
     "breakglass version\nbreakglass --version",
     "Prints breakglass's version and, on a second line, the versions of libcurl, OpenSSL, "
     "jansson, libyaml and the store's engine it runs with.",
     NULL, false, version_examples, NULL, NULL},
};

const cli_help *cli_help_pages(size_t *n)
{
	*n = sizeof(pages) / sizeof(pages[0]);
	return pages;
}
