/*
 * limits.h - every hard limit breakglass enforces, in one place, each with its reason.
 *
 * Input from the network or from files is bounded by these numbers before it reaches
 * a parser. Changing one is a reviewed decision: keep the reason next to the number.
 */
#ifndef BG_LIMITS_H
#define BG_LIMITS_H

/* DynamoDB itself caps a request at 16 MiB (BatchWriteItem with 25 x 400 KiB items plus
 * overhead is ~10 MiB). Nothing an on-call engineer needs is bigger; anything bigger is
 * refused before it is buffered. */
#define BG_MAX_REQUEST_BODY (16u * 1024u * 1024u)

/* DynamoDB responses are capped at 16 MiB (a 1 MiB page plus marshalling overhead);
 * a larger answer from upstream is treated as an upstream failure. */
#define BG_MAX_RESPONSE_BODY (16u * 1024u * 1024u)

/* DynamoDB documents nest at most 32 levels, and each level costs two JSON levels in
 * the wire format ({"M":{...}}); add headroom for the request envelope (RequestItems ->
 * table -> list -> item -> ...). Deeper JSON is refused before jansson sees it, so a
 * hostile body cannot exhaust the stack. */
#define BG_MAX_JSON_DEPTH 80

/* The JSON API (CLI to server) carries small objects only. */
#define BG_MAX_API_BODY (64u * 1024u)

/* HTTP header count and size: SDKs send about 12 headers. libmicrohttpd bounds the
 * whole header block by its connection memory limit (below). */
#define BG_MAX_HEADERS      64
#define BG_MAX_HEADER_VALUE 8192

/* The request line and header block of one request. SDKs send about 2 KiB of headers;
 * nginx's default header buffer is 8 KiB. Held only while a request is being received
 * or answered, not by idle keep-alive connections. */
#define BG_HTTP_HEAD_MAX (16u * 1024u)

/* Room after the header block through which body bytes are read (and copied into the
 * body buffer): one read of this size per loop wake-up and connection. */
#define BG_HTTP_READ_ROOM (16u * 1024u)

/* All request bodies being received or processed at once, across connections. A
 * body's declared length is reserved before it is read, so 64 clients announcing
 * 16 MiB bodies cannot make the gateway allocate 1 GiB; beyond the budget a request
 * is refused (and may be retried). 128 MiB is eight maximal DynamoDB requests. */
#define BG_HTTP_BODY_BUDGET ((size_t)128u * 1024u * 1024u)

/* A request's headers must be complete this long after its first byte (or after the
 * connection was accepted). Clients send them in one packet; a slow-loris trickle
 * never completes them. */
#define BG_HTTP_HEADER_TIMEOUT_MS 10000

/* A body must be complete this long after its headers: 16 MiB in 30 s is 0.5 MiB/s. */
#define BG_HTTP_BODY_TIMEOUT_MS 30000

/* A client must take its answer (up to 16 MiB) within this long. */
#define BG_HTTP_WRITE_TIMEOUT_MS 30000

/* After refusing a request whose body was not read, the rest of what the client sends
 * is read and dropped for at most this long before the connection closes, so the client
 * reads the refusal rather than a reset (nginx's lingering_time is 30 s). */
#define BG_HTTP_LINGER_MS 5000

/* The longest configurable timeout (header, upstream, drain): ten minutes; anything
 * longer is a typo, and would hold a responder's terminal or a shutdown for too long. */
#define BG_MAX_TIMEOUT_MS 600000

/* Pending connections the kernel queues for accept(). */
#define BG_LISTEN_BACKLOG 1024

/* Connections one loop accepts per wake-up before it serves others again. */
#define BG_ACCEPT_BATCH 64

/* Readiness events one loop takes per epoll_wait. */
#define BG_LOOP_EVENTS 256

/* On SIGTERM, in-flight requests get this long to finish and be audited before the
 * gateway answers the rest as "outcome unknown" or refused and exits. */
#define BG_DRAIN_TIMEOUT_MS 10000

/* How long a request waits for its audit record to become durable. A stuck disk must
 * not hold clients without bound: past this the request is refused (request record)
 * or answered "outcome unknown" (response record). */
#define BG_AUDIT_WAIT_MS 10000

/* The Authorization header: the credential scope, up to BG_MAX_HEADERS signed header
 * names, and a 64-hex signature fit comfortably in 4 KiB. */
#define BG_MAX_AUTH_HEADER    4096
#define BG_MAX_SIGNED_HEADERS BG_MAX_HEADERS

/* Access key ids are 16-128 characters at AWS; ours are 20. */
#define BG_MAX_ACCESS_KEY_ID 128

/* Session tokens from STS reach ~2 KiB; ours are 64 bytes of base64url. */
#define BG_MAX_SESSION_TOKEN 4096

/* SigV4: signatures are valid within 5 minutes of the signer's clock (AWS's own rule). */
#define BG_SIGV4_MAX_SKEW_SECONDS (5 * 60)

/* Derived signing keys cached by the verifier: one per access key, day, region and
 * service. Grants are few; 1024 covers every live grant with room to spare. */
#define BG_SIGV4_KEY_CACHE 1024

/* SigV4 credential scope parts: region and service names ("ap-southeast-2", "dynamodb")
 * are short; bounding them keeps the string to sign in a fixed stack buffer. */
#define BG_SIGV4_MAX_SCOPE_PART 63

/* SigV4 path and query: the request line fits in the HTTP header block. */
#define BG_SIGV4_MAX_PATH  BG_HTTP_HEAD_MAX
#define BG_SIGV4_MAX_QUERY BG_HTTP_HEAD_MAX

/* DynamoDB sends no query at all; 64 parameters bound the sort done for other services. */
#define BG_SIGV4_MAX_QUERY_PARAMS 64

/* HTTP methods are short tokens. */
#define BG_SIGV4_MAX_METHOD 32

/* AWS secret access keys are 40 characters; ours are 40 too. */
#define BG_MAX_SECRET_KEY 256

/* A shared credentials file holds a handful of profiles; 1 MiB is far beyond any real
 * one. Profile names and paths are bounded for messages. */
#define BG_MAX_CREDENTIALS_FILE (1u << 20)
#define BG_MAX_PROFILE_NAME     128
#define BG_MAX_PATH             4096

/* The gateway's own credentials from a service (signing/credchain). A credentials answer
 * (container endpoint, instance metadata, credential_process, STS XML) is a few hundred
 * bytes plus a session token (BG_MAX_SESSION_TOKEN): 64 KiB bounds it with room to spare,
 * and a web identity token (a JWT from EKS, ~1 KiB) is bounded the same way. */
#define BG_MAX_CREDENTIAL_DOC (64u * 1024)
/* The instance metadata service answers on the local link within milliseconds; the SDKs
 * give it 1 s and one attempt (botocore's metadata_service_timeout), so a host that is not
 * EC2 costs the chain one second, not a retry storm. */
#define BG_IMDS_TIMEOUT_MS 1000
/* The token the instance metadata service is asked for lives 6 hours (the SDKs' value). */
#define BG_IMDS_TOKEN_TTL_S 21600
/* STS and the container endpoint are remote services: a call gets 10 s in all (connect
 * included), then the refresher retries later. */
#define BG_CREDENTIAL_HTTP_TIMEOUT_MS 10000
/* A credential_process must print its answer within a minute (the SDKs set no bound; a
 * process waiting forever would stall every later refresh). */
#define BG_CREDENTIAL_PROCESS_TIMEOUT_MS 60000
/* A credential_process command line: its words, for messages and exec. */
#define BG_MAX_PROCESS_ARGS 64
/* Temporary credentials are refreshed this long before they expire, plus a random part of
 * BG_CRED_REFRESH_JITTER_S (botocore refreshes 15 min before, and must 10 min before), or
 * at half their remaining life when that is shorter. A failed refresh is retried after
 * BG_CRED_RETRY_MIN_S, doubling up to BG_CRED_RETRY_MAX_S, while the old credentials last. */
#define BG_CRED_REFRESH_BEFORE_S 300
#define BG_CRED_REFRESH_JITTER_S 600
#define BG_CRED_RETRY_MIN_S      1
#define BG_CRED_RETRY_MAX_S      60
/* STS session names are at most 64 characters of [\w+=,.@-] (the AssumeRole API). */
#define BG_MAX_ROLE_SESSION_NAME 64
/* Role ARNs are at most 2048 characters and external ids 1224 (the AssumeRole API); ours
 * are config values, so the API's own bounds hold them. */
#define BG_MAX_ROLE_ARN    2048
#define BG_MAX_EXTERNAL_ID 1224

/* Runbook files (src/runbook/): one template, its parameters and tests is a page or two;
 * fixtures are larger (items for a test table). A folder holds the team's emergencies,
 * not a library. Nodes and depth bound the tree every reader walks recursively. */
#define BG_MAX_RUNBOOK_FILE     (64u * 1024u)
#define BG_MAX_RUNBOOK_FIXTURES (4u * 1024u * 1024u)
#define BG_MAX_RUNBOOKS         256
/* Any YAML file read through common/ytree (runbooks, the serve config): the largest of
 * the files above. */
#define BG_MAX_YAML_FILE  (64u * 1024u)
#define BG_MAX_YAML_NODES 4096
#define BG_MAX_YAML_DEPTH 16
/* A regular expression in a file under review (a runbook parameter's pattern, the
 * policy's ticket pattern; common/pattern.h): what validates an id or a ticket number is a
 * line, and group nesting beyond a few levels only makes glibc's regcomp expensive. */
#define BG_MAX_PATTERN       256
#define BG_MAX_PATTERN_DEPTH 4
/* A runbook's id ([a-z0-9-], what a grant names), its parameters, and a parameter's enum. */
#define BG_MAX_RUNBOOK_ID     64
#define BG_MAX_RUNBOOK_PARAMS 16
#define BG_MAX_PARAM_ENUM     64
/* Items a test table is loaded with, and pages a template may allow. */
#define BG_MAX_FIXTURE_ITEMS 1000
#define BG_MAX_RUNBOOK_PAGES 100
/* DynamoDB's own cap on Limit is none; a break-glass read of more than this per page is
 * not a targeted look. */
#define BG_MAX_RUNBOOK_LIMIT 1000
/* Page counts the gateway keeps for runbook grants (one per grant, runbook and set of
 * parameters being paged through); beyond it the least recently used is forgotten, which
 * only lets that paging restart from its first page. */
#define BG_MAX_PAGE_KEYS 4096

/* Wrong TOTP codes in a row before a user is locked out, and for how long: a six-digit
 * code guessed within 5 tries has odds of 1 in 200 000 (three codes are valid at once),
 * and the lockout makes the next five wait. */
#define BG_MAX_OTP_FAILURES    5
#define BG_OTP_LOCKOUT_SECONDS 300

/* Masking (policy/mask.h, a runbook's `mask:`): the attributes one runbook hides are
 * the handful of personal or secret fields of one table (an email, a card, an address),
 * not a schema; each path is written by hand and reviewed. A segment is one attribute
 * name: DynamoDB allows 64 KiB names but caps key attribute names at 255 bytes, and a name
 * a reviewer can read is far shorter. Depth follows maps (a.b.c): DynamoDB nests 32
 * levels, a hand-written path into a record rarely goes past three, and eight bounds the
 * masking walk per item and path. */
#define BG_MAX_MASK_PATHS   32
#define BG_MAX_MASK_SEGMENT 255
#define BG_MAX_MASK_DEPTH   8
#define BG_MAX_MASK_PATH    512
/* Hex digits of the keyed hash shown in a masked value (mask_hash): 64 bits tell apart
 * the values one incident sees (collisions are negligible below millions of values) while
 * giving away as little of the value's HMAC as is useful. */
#define BG_MASK_HASH_HEX 16

/* Runbooks one grant may name: the handful an incident needs. */
#define BG_MAX_GRANT_RUNBOOKS 16

/* The serve config file is a handful of settings. */
#define BG_MAX_CONFIG_FILE (64u * 1024u)

/* URLs: the upstream endpoint, the public URL handed to clients, the CLI's server URL.
 * Real ones are well under 100 characters; 511 leaves room for a long internal name. */
#define BG_MAX_URL 511

/* The data directory as configured: the store adds its file names below it, so it stays
 * well inside BG_MAX_PATH. */
#define BG_MAX_DATA_DIR 511

/* The host part of the listen address: an IPv4 address or a host name such as
 * "localhost" (the listener binds IPv4 only). */
#define BG_MAX_LISTEN_HOST 63

/* A JSON API path the CLI builds: a fixed prefix, an id of at most 128 characters
 * percent-escaped (3 bytes each), an action and a short query. */
#define BG_MAX_API_PATH 1024

/* What the CLI prints for one object (a grant, a new user's secrets, credentials): a few
 * lines of bounded fields, the longest a grant's 16 table names and its reason. Lists
 * (grants, audit records) are bounded by the answer they come from instead. */
#define BG_MAX_CLI_TEXT (64u * 1024u)

/* `serve`'s settings (config.c's key table) and how many may be given on one command
 * line: the table has 12 today; a repeated flag counts again (the last wins). */
#define BG_MAX_CONFIG_KEYS 32
#define BG_MAX_CONFIG_ARGS 64

/* One CLI error or warning line: the server's message (bounded at 512 by the client) with
 * a short prefix, or a local message naming a path (BG_MAX_PATH). */
#define BG_MAX_CLI_MESSAGE 4608

/* The destination of a request meant for a proxy (CONNECT host:port, or scheme://host
 * of an absolute-form target), as named in its refusal and audit record: a DNS name has
 * at most 253 characters (RFC 1035), plus scheme and port; anything longer is cut. */
#define BG_MAX_PROXY_TARGET 300

/* Table and index names: DynamoDB allows 3-255 characters. */
#define BG_MAX_TABLE_NAME 255

/* DynamoDB operation names are CamelCase words; the longest today
 * (DescribeKinesisStreamingDestination) has 35 characters. */
#define BG_MAX_OP_NAME 39

/* Tables named in one request: BatchGetItem/BatchWriteItem and transactions touch at
 * most 100 items, hence at most 100 tables. */
#define BG_MAX_REQUEST_TABLES 100

/* Tables and operations in one grant. */
#define BG_MAX_GRANT_TABLES 16
#define BG_MAX_GRANT_OPS    32

/* Longest grant: break-glass access is for minutes to hours, never days. */
#define BG_MAX_GRANT_SECONDS (12 * 3600)

/* User names: short, printable, safe in logs and file names. */
#define BG_MAX_USER_NAME 64

/* Free-text fields kept in the store (reason, denial message). */
#define BG_MAX_REASON 1024

/* Incidents (workflow/incident.h). An id is what responders type and tickets quote
 * ("INC-4711", "am-7k2p9x4m1q"); a title is one line of a pager message; its service is
 * named as runbooks name theirs (BG_MAX_SERVICE_NAME). An incident opened by an alert keeps its
 * group, its alerts' keys, names and summaries within the alert webhooks' limits (BG_MAX_ALERT_*,
 * below). */
#define BG_MAX_INCIDENT_ID    64
#define BG_MAX_INCIDENT_TITLE 256
/* Alerts remembered per incident: one alert group rarely has more than a few dozen; an
 * incident that collects more is a storm, and its newest alerts still update the ones it
 * has. */
#define BG_MAX_INCIDENT_ALERTS 256
/* A break-glass request's ticket reference ("INC-4711", a URL to the tracker), and its
 * trigger criteria's results as JSON (one short line per check, a handful of checks). */
#define BG_MAX_TICKET        256
#define BG_MAX_CRITERIA_JSON 8192
/* How long a webhook delivery's id is remembered, so a redelivery changes nothing: longer
 * than any sender retries (SNS's longest retry policy spans about an hour; PagerDuty
 * retries for a few hours). */
#define BG_HOOK_DELIVERY_MEMORY (7 * 24 * 3600)

/* Audit records in one answer of the JSON API (the CLI pages with --after), and how many
 * a request that names no limit gets. A record may carry a whole request body, so a page
 * of large ones can still exceed BG_MAX_RESPONSE_BODY: that answer is an error, never a
 * cut-short list, and a smaller limit reads it. */
#define BG_MAX_AUDIT_PAGE     1000
#define BG_AUDIT_PAGE_DEFAULT 100

/* Records sharing one request_id that `audit show` joins: a request and its response or
 * denial, an API action and a refused TOTP code before it; a runbook's pages share
 * their request's id. More than this is listed as cut short ("related_more"), never
 * silently. */
#define BG_MAX_AUDIT_RELATED 64

/* Audit records waiting for their group commit. When the queue is full an append fails
 * at once (fail closed: the action is refused) rather than waiting without bound. */
#define BG_AUDIT_QUEUE 4096

/* Signed audit checkpoints (docs/audit.md): by default one after every 1000 records and
 * at most 10 s after the first record not yet covered, so a copy of the trail kept
 * elsewhere proves a truncation within seconds while signing costs the committer one
 * Ed25519 signature (about 30 us) per thousand records. A configured cadence may go
 * from every record (tests) to a million. */
#define BG_AUDIT_CHECKPOINT_EVERY     1000
#define BG_AUDIT_CHECKPOINT_MS        10000
#define BG_AUDIT_CHECKPOINT_EVERY_MAX 1000000
/* and a configured time bound from 1 s to an hour (longer leaves a truncation unprovable
 * for longer than an incident usually lasts). */
#define BG_AUDIT_CHECKPOINT_SECONDS_MAX 3600
/* One line of an audit export (docs/audit.md): a record with a request body twice over
 * (escaped in the detail) and its small fields; a longer line is a finding, not read. */
#define BG_MAX_AUDIT_LINE (2 * BG_MAX_REQUEST_BODY * 6 + 65536)

/* Live grants and open incidents `status` lists one by one (their numbers are always
 * given): one screen. */
#define BG_STATUS_GRANTS    20
#define BG_STATUS_INCIDENTS 10

/* A review's learnings (`review --sign --learnings FILE`): a page or two of text; more
 * belongs in the team's own post-mortem document, linked from here. */
#define BG_MAX_LEARNINGS 16384

/* Grant ids a `close` answer lists (it revokes every live grant of the incident; beyond
 * this many the answer gives their number only). */
#define BG_MAX_CLOSE_GRANTS 256

/* The policy's guardrails.rate: requests a second and burst, up to a million (beyond
 * that a limit limits nothing this gateway can serve). The gateway keeps one bucket per
 * grant that used it, at most BG_MAX_RATE_BUCKETS (live grants are far fewer; when full,
 * buckets of grants idle for longer than it takes to fill them go first, which only
 * gives them a fresh burst). */
#define BG_MAX_RATE         1000000
#define BG_MAX_RATE_BUCKETS 4096

/* A capacity budget (guardrails.budget, a runbook's budget), in capacity units: far above
 * what a break-glass grant should ever spend, low enough that sums stay exact in a double. */
#define BG_MAX_BUDGET_UNITS 1000000000

/* A client's User-Agent as the audit records it: enough for the SDK, its version and
 * the tool around it; the rest of a longer one is cut. */
#define BG_MAX_AUDIT_USER_AGENT 512

/* Audit sinks (audit/sink.h, docs/audit.md). A transport gets at most BG_SINK_BATCH records
 * per call (one store read, one write or request; CloudWatch splits further by its own
 * limits); one network round trip may take BG_SINK_IO_TIMEOUT_MS, so a required sink that
 * hangs refuses requests within seconds instead of holding them; a best-effort sink that
 * fails retries after BG_SINK_RETRY_MIN_MS, doubling up to BG_SINK_RETRY_MAX_MS (a minute:
 * its lag shows in status meanwhile); its cursor is saved at most every
 * BG_SINK_CURSOR_SAVE_MS (what a crash may send twice), and a configuration holds at most
 * BG_MAX_SINKS of them (each has a thread). */
#define BG_SINK_BATCH          1000
#define BG_SINK_IO_TIMEOUT_MS  3000
#define BG_SINK_RETRY_MIN_MS   500
#define BG_SINK_RETRY_MAX_MS   60000
#define BG_SINK_CURSOR_SAVE_MS 1000
#define BG_MAX_SINKS           8
/* A sink with nothing to send looks at the store this often for records the service
 * layer committed itself (the committer's batches wake it at once); a required sink must
 * take a batch within BG_SINK_GATE_MS or the batch's requests are refused (below the
 * BG_AUDIT_WAIT_MS a caller waits for its record). */
#define BG_SINK_POLL_MS 200
#define BG_SINK_GATE_MS 8000
/* A jsonl sink's rotation size: at least a megabyte, so one large record (a whole request
 * body, BG_MAX_AUDIT_LINE) does not rotate a file per record. */
#define BG_SINK_MIN_ROTATE_BYTES (1024 * 1024)
/* CloudWatch Logs' own bounds on a log group's and a log stream's name (its API reference),
 * checked when the config is read rather than on the first delivery. */
#define BG_CW_MAX_LOG_GROUP  512
#define BG_CW_MAX_LOG_STREAM 512

/* One syslog datagram (udp://, or unix: such as /dev/log), header included. rsyslog's and
 * syslog-ng's default maximum message size is 8 KiB (RFC 5426 only asks receivers for
 * 2 KiB, but the common ones take 8 KiB; above that a datagram also risks IP
 * fragmentation): a default receiver cuts a longer message, and a record cut short
 * breaks the chain where a stub does not. So a record whose message would be longer is
 * sent as its redacted stub (seq, prev_hash, hash), and the copy still verifies, as
 * partial. tcp:// and relp:// send every record whole (docs/audit-syslog.md says how to
 * raise the receiver's limit). */
#define BG_SYSLOG_DGRAM_MAX 8192
/* Everything of a syslog message before its MSG: PRI, version, timestamp (24), hostname
 * (RFC 5424: 255), app name, procid, msgid (32), structured data "-" and the spaces. */
#define BG_SYSLOG_HEADER_MAX 400
/* A syslog sink's address as configured ("relp://HOST:PORT", "unix:/PATH"): a DNS name is
 * at most 253 bytes, a Unix socket path 107. */
#define BG_SYSLOG_ADDRESS_MAX 300
/* The CloudWatch Logs transport (audit/sink_cloudwatch.h), by PutLogEvents' documented
 * quotas: a batch holds at most 10,000 events and 1,048,576 bytes, counting each message's
 * UTF-8 bytes plus 26 per event, in time order, spanning at most 24 hours (dropped from
 * the newest documentation, kept: stricter is safe). One event: the documentation says
 * 1 MB since 2025, the service model and older endpoints 256 KB (the 26 bytes included);
 * the older limit is kept, so no endpoint rejects a batch over it, and a longer record is
 * sent as the redacted stub `audit verify` understands. The service takes events from 14
 * days back to 2 hours ahead; a record outside that window, less an hour for the clocks
 * of the gateway and the service to differ, is stamped with the time of its delivery (its
 * own time stays in the message). A service answer longer than 64 KiB is not read (the
 * largest is an error with a message), nor a sequence token longer than 512 bytes (they
 * are 56 digits); log group and stream names are at most 512 bytes (the model's max). */
#define BG_CWLOGS_MAX_BATCH_EVENTS 10000
#define BG_CWLOGS_MAX_BATCH_BYTES  1048576
#define BG_CWLOGS_EVENT_OVERHEAD   26
#define BG_CWLOGS_MAX_EVENT_BYTES  262144
#define BG_CWLOGS_MAX_SPAN_MS      (24LL * 3600 * 1000)
#define BG_CWLOGS_MAX_AGE_MS       ((14LL * 24 - 1) * 3600 * 1000)
#define BG_CWLOGS_MAX_AHEAD_MS     (1LL * 3600 * 1000)
#define BG_CWLOGS_MAX_ANSWER       (64u * 1024u)
#define BG_CWLOGS_MAX_TOKEN        512
#define BG_CWLOGS_MAX_NAME         512

/* Upstream timeouts: DynamoDB answers in milliseconds; a stuck upstream must not hold a
 * responder's terminal for long, and must never look like a denial. */
#define BG_UPSTREAM_CONNECT_TIMEOUT_MS 2000
#define BG_UPSTREAM_TIMEOUT_MS         30000

/* Asking DynamoDB whether a new grant's tables exist (DescribeTable, on the API worker,
 * while the admin waits): all of a grant's tables together get this long. DescribeTable
 * answers in milliseconds; past this the grant is made with a warning that the check
 * could not be done. */
#define BG_TABLE_CHECK_TIMEOUT_MS 5000

/* One warning in an API answer (a table name of up to 255 characters and what the
 * upstream said about it). */
#define BG_MAX_WARNING 1024

/* Idle upstream connections each loop keeps for reuse: one per client connection that
 * may be waiting on DynamoDB at once, up to this many. */
#define BG_UPSTREAM_IDLE_CONNS 256

/* Idle HTTP keep-alive connections are closed after this many seconds. */
#define BG_HTTP_IDLE_TIMEOUT_S 120

/* How long a store connection waits for another connection's (or process's) write lock
 * before giving up: a CLI-side command and the gateway share the file, and a write
 * commits in milliseconds, so waiting longer would only hide a stuck writer. */
#define BG_SQLITE_BUSY_TIMEOUT_MS 5000

/* SQLite page cache per connection, in KiB. Audit appends touch only the right edge of
 * the audit table's B-trees and the state tables are small, so SQLite's default (2 MiB
 * each, filled as the audit table grows) would only hold memory. */
#define BG_SQLITE_CACHE_KIB 256

/* Stack below an API handler that is wiped after each API request (credentials pass
 * through jansson and libc there). Handlers use a few KiB; 64 KiB is ample. */
#define BG_STACK_SCRUB (64u * 1024u)

/* How often the gateway looks whether it has gone idle after serving, and if so returns
 * freed heap to the system (malloc_trim, well under a millisecond here): resident memory
 * comes back down a moment after a burst. */
#define BG_TRIM_INTERVAL_MS 250

/* A limit as a string literal, for SQL text. */
#define BG_STR_(x) #x
#define BG_STR(x)  BG_STR_(x)

/* Concurrent client connections the gateway accepts by default (max_connections), and
 * the most it may be configured to (each costs a descriptor and ~1 KiB when idle). */
#define BG_MAX_CONNECTIONS       1024
#define BG_MAX_CONNECTIONS_LIMIT 65536

/* Event loop threads: one per core is the design; more only adds switching. */
#define BG_MAX_THREADS 64

/* Query arguments of one JSON API request (the API uses at most three). */
#define BG_MAX_API_ARGS 16

/* Grants expired longer ago than this are not loaded into the gateway's memory at
 * start-up: a late request with such a key is "unknown" rather than "expired". */
#define BG_GRANT_CACHE_KEEP_EXPIRED_S 86400

/* libcurl easy handles kept for reuse across upstream calls (all loops together). */
#define BG_UPSTREAM_HANDLE_POOL 64

/* The JSON API's decoded query arguments ("after=123&limit=50"): short by construction;
 * the path is bounded by BG_MAX_API_PATH above. */
#define BG_MAX_API_QUERY 1024

/* DynamoDB expressions (KeyConditionExpression, ConditionExpression, FilterExpression,
 * ProjectionExpression, UpdateExpression): DynamoDB refuses any expression string longer
 * than 4 KiB, so a longer one can never be a valid request or template. */
#define BG_MAX_EXPR_LEN 4096

/* Nesting of parentheses, NOT and function calls in one expression. Runbook conditions
 * nest two or three levels; the parser recurses once per level, so this bounds its stack
 * whatever a request sends. */
#define BG_MAX_EXPR_DEPTH 32

/* Tree nodes (operators, operands, paths) in one parsed expression. 4 KiB of text makes
 * at most about 1400 ("a=:b AND ..."); DynamoDB allows 300 operators in an update. The
 * bound keeps the matcher's work per request small and fixed. */
#define BG_MAX_EXPR_NODES 1024

/* Operands of IN after the left one: DynamoDB's own limit. */
#define BG_MAX_EXPR_IN_OPERANDS 100

/* Dereference operators ('.', '[n]') in one document path: DynamoDB's own limit (32),
 * so a path has at most 33 elements. */
#define BG_MAX_EXPR_PATH_DEPTH 32

/* A #name or :value placeholder, with its prefix: DynamoDB's limit is 255 bytes. */
#define BG_MAX_EXPR_PLACEHOLDER 255

/* An attribute name an ExpressionAttributeNames entry stands for: DynamoDB allows
 * attribute names up to 64 KiB. */
#define BG_MAX_EXPR_ATTR_NAME 65535

/* Steps (node comparisons) one structural match may take. AND, OR and IN operands match
 * in any order, which is a search when several operands look alike; a request that makes
 * the search longer than this is refused (never accepted) as too complex to compare. */
#define BG_MAX_EXPR_MATCH_STEPS 200000

/* Alert webhooks (src/alerts/: Alertmanager, SNS, PagerDuty, generic). A delivery is one
 * alert group: Alertmanager sends every alert of a group in one body (about 1 KiB each),
 * SNS caps a message at 256 KiB (escaping in its JSON envelope can double that), PagerDuty
 * sends one incident of a few KiB. 1 MiB holds all of them; a bigger body is refused
 * before it is buffered. */
#define BG_MAX_HOOK_BODY (1u << 20)
/* The deepest payload (a CloudWatch alarm's Trigger.Metrics[].MetricStat.Metric.
 * Dimensions[]) nests 7 levels; 32 leaves room for fields the senders add later while
 * bounding jansson's recursion. */
#define BG_MAX_HOOK_JSON_DEPTH 32
/* Alerts kept from one delivery. An incident needs to know which alerts fire, not every
 * instance of them: past this an Alertmanager group's further alerts are counted, not kept
 * (set the receiver's max_alerts to 64 and Alertmanager counts them itself); our own
 * generic format refuses more. 64 items make an alert_batch of about 60 KiB. */
#define BG_MAX_HOOK_ALERTS 64
/* An alert's identity within its group (a 16-hex Alertmanager fingerprint, a CloudWatch
 * alarm name of up to 255 characters, a PagerDuty id) and its name (alertname, AlarmName,
 * an incident title). */
#define BG_MAX_ALERT_KEY  255
#define BG_MAX_ALERT_NAME 255
/* One alert's summary and a new incident's title: what a responder reads in a list; a
 * longer text is cut at a character boundary. */
#define BG_MAX_ALERT_SUMMARY 511
#define BG_MAX_ALERT_TITLE   255
/* The group a delivery belongs to (one incident per group). Alertmanager's groupKey grows
 * with the route's matchers and group_by labels; a longer one is replaced by its SHA-256
 * (identity is kept, readability is not). Alarm names are at most 255 characters. */
#define BG_MAX_ALERT_GROUP 511
/* A delivery's id for de-duplication: an SNS MessageId and a PagerDuty event id are UUIDs
 * (36 characters); the generic format allows 128. */
#define BG_MAX_ALERT_DELIVERY 128
/* A service label or CloudWatch TableName dimension (a table name is at most 255). */
#define BG_MAX_ALERT_SERVICE 255
/* Generic webhooks: the signed timestamp must be within 5 minutes of our clock, as for
 * SigV4: long enough for clock drift and a retry, short enough that a captured delivery
 * cannot be replayed after the caller forgot its id. */
#define BG_HOOK_MAX_SKEW_SECONDS (5 * 60)
/* Signatures in one signature header (PagerDuty and the generic format send one per live
 * secret: two while a secret is rotated) and secrets configured for one hook (the current
 * one and the one being retired). The check costs one HMAC per secret. */
#define BG_MAX_HOOK_SIGNATURES 8
#define BG_MAX_HOOK_SECRETS    8
/* A signature header's value: 8 "v1=" + 64 hex entries with separators. */
#define BG_MAX_HOOK_SIG_HEADER 1024
/* SNS: a signing certificate in PEM is about 2 KiB; an RSA signature in base64 is 344
 * characters at 2048 bits, 684 at 4096; SubscribeURL carries the topic ARN (up to 256) and
 * a token of a few hundred characters. Keys shorter than 2048 bits are refused. */
#define BG_MAX_SNS_CERT         (16u * 1024u)
#define BG_MAX_SNS_SIGNATURE    1024
#define BG_MAX_SNS_URL          2048
#define BG_MIN_SNS_RSA_BITS     2048
#define BG_MAX_SNS_ALLOWED_HOST 255

/* Services a runbook names (`services:`) and a service's name: a runbook serves the one or
 * two systems its table belongs to; names are short labels like "orders" or "payments-api". */
#define BG_MAX_RUNBOOK_SERVICES 32
#define BG_MAX_SERVICE_NAME     64

/* The severity of an incident opened by an alert that states none (Alertmanager without a
 * severity label, a generic delivery without one): SEV3, "warning", which the example
 * policy's incident_open check does not accept on its own. */
#define BG_HOOK_DEFAULT_SEVERITY 3
/* Fetching an SNS signing certificate or confirming a subscription (on the API worker):
 * AWS answers in milliseconds; SNS retries a delivery we answer 503. Certificates kept: SNS
 * signs with one or two per region at a time. */
#define BG_HOOK_FETCH_TIMEOUT_MS 5000
#define BG_HOOK_CERT_CACHE       8
/* A webhook secret file (a bearer token, an HMAC key): a line of text; 1 KiB holds any
 * key a sender generates. The on-call schedule: a year of overrides fits in 256 KiB. */
#define BG_MAX_HOOK_SECRET 1024
#define BG_MAX_ONCALL_FILE (256u * 1024u)
/* The policy file (src/policy/policy.h): a page of settings, read through common/ytree. */
#define BG_MAX_POLICY_FILE (64u * 1024u)
/* Distinct approvers a request may need: a two-person rule is 1; at 2 a.m. more than a
 * handful never answers, so a larger number is a typo that would block every request. */
#define BG_MAX_APPROVERS 5
/* How long a request may wait for approval, and the longest review deadline: pending is
 * minutes (the incident is now); a review is signed within days, not months. */
#define BG_MAX_PENDING_SECONDS (24 * 3600)
#define BG_MAX_REVIEW_SECONDS  (30 * 86400)
/* alert_firing_within: an alert older than a day is not "the incident now". */
#define BG_MAX_ALERT_WINDOW_MINUTES 1440
/* SNS topics, certificate hosts and secret files (rotation keeps two or three) a policy may
 * list, and notification targets: a team's handful, bounded so a file cannot make the
 * gateway hold thousands of webhook calls per event. */
#define BG_MAX_POLICY_LIST    16
#define BG_MAX_NOTIFY_TARGETS 16
/* A notify target's name (in logs and the audit) and a certificate host "host[:port]": a
 * DNS name is at most 253 characters (RFC 1035). */
#define BG_MAX_NOTIFY_NAME 64
#define BG_MAX_HOSTPORT    (253 + 6)
/* SNS topic ARNs: arn:PARTITION:sns:REGION:ACCOUNT:NAME, names at most 256 characters. */
#define BG_MAX_TOPIC_ARN 320
/* One criterion's result message: a line naming the values it compared (a runbook list
 * or the people on call in a few rotations); longer is cut. */
#define BG_MAX_CRITERION_MESSAGE 512
/* How much of a requester's text (ticket) a message quotes. */
#define BG_MAX_QUOTED 64

/* The on-call schedule file (src/policy/oncall.h): rotations, their members, overrides.
 * Large teams have dozens of rotations; overrides are the holidays of a year or two. */
#define BG_MAX_ONCALL_ROTATIONS 64
#define BG_MAX_ONCALL_MEMBERS   64
#define BG_MAX_ONCALL_OVERRIDES 1024
/* A rotation's name, as messages and the policy's `rotation:` name it. */
#define BG_MAX_ROTATION_NAME 64
/* A shift is at most a quarter; longer is a typo (a rotation that never turns). */
#define BG_MAX_SHIFT_SECONDS (92 * 86400)

/* Notifications out (workflow/notify, gateway/notifier): one outbox row per target and
 * event. A request's payload carries its criteria (BG_MAX_CRITERIA_JSON), up to 16
 * runbooks with their expressions and AWS CLI lines (a few KiB each) and the approvers:
 * 128 KiB holds the largest with room; a bigger one is refused at enqueue, so the change
 * it describes is not made without its notification. */
#define BG_MAX_NOTIFY_PAYLOAD (128u * 1024u)
/* What a failed delivery keeps of its error (an HTTP status and reason, a curl error). */
#define BG_MAX_NOTIFY_ERROR 255
/* A delivery's whole HTTP exchange: long enough for a slow chat service, short enough
 * that one dead receiver cannot hold the other targets' notifications for long. */
#define BG_NOTIFY_TIMEOUT_MS 5000
/* Retries: the first one second after a failure, doubling, at most ten minutes apart (a
 * receiver back after an outage gets the backlog within ten minutes), for a day; then the
 * row is abandoned with a final audit record: a notification a day late is news nobody
 * can act on, and the audit log already holds the event itself. */
#define BG_NOTIFY_BACKOFF_FIRST_MS 1000
#define BG_NOTIFY_BACKOFF_MAX_MS   (600 * 1000)
#define BG_NOTIFY_MAX_AGE_SECONDS  (24 * 3600)
/* Rows taken per pass, and how long a taken row is reserved for its sender (longer than
 * BG_NOTIFY_TIMEOUT_MS times a batch, so two gateways sharing a store never send the same
 * row at once; a sender that dies leaves it due again after this). */
#define BG_NOTIFY_BATCH         32
#define BG_NOTIFY_LEASE_SECONDS 300
/* The notifier's sweep for requests and grants that expired, per pass. */
#define BG_NOTIFY_SWEEP_BATCH 64

/* The post-incident report (src/report): the records one report reads (an incident with
 * 10,000 audited queries has about 20,000; a hundred times that is a runaway, not an
 * incident, and would take minutes to read through the API), and the largest document
 * it writes (the HTML of 10,000 queries is about 10 MiB; beyond this an appended row is
 * refused rather than the process growing without bound). */
#define BG_MAX_REPORT_RECORDS 2000000
#define BG_MAX_REPORT_BYTES   (256u * 1024u * 1024u)
/* Keys listed per query in the report; more are counted, not shown. */
#define BG_MAX_REPORT_KEYS 20

/* A drill's scenario file (breakglass drill --scenario): one alert and the runbooks a
 * responder would reach for. The runbooks go into one request, which names at most
 * BG_MAX_GRANT_RUNBOOKS; an alert's labels beyond a few dozen are noise, not a
 * rehearsal. A name is for a list on a screen. */
#define BG_MAX_DRILL_RUNBOOKS BG_MAX_GRANT_RUNBOOKS
#define BG_MAX_DRILL_LABELS   32
#define BG_MAX_DRILL_LABEL    256
#define BG_MAX_DRILL_NAME     128
/* A parameter's value in a scenario: what `run --param` would send on one line. */
#define BG_MAX_DRILL_PARAM 1024
/* What a drill keeps of a command it runs (the largest answer, a runbook's items, is
 * bounded by the runbook; an audit export goes to a file, not here), how long its gateway
 * may take to listen (it opens a new store and loads the runbooks: well under a second),
 * and the largest result.json `drill list` reads (a drill of BG_MAX_DRILL_RUNBOOKS
 * runbooks writes a few KiB). */
#define BG_MAX_DRILL_OUTPUT      (4u * 1024u * 1024u)
#define BG_DRILL_GATEWAY_WAIT_MS 10000
#define BG_MAX_DRILL_RESULT      (1024u * 1024u)
/* The drills `drill list` reads from its history folder (newest first); older folders
 * stay on disk but are not listed. */
#define BG_MAX_DRILL_HISTORY 1000
/* Undo (protocol/ddb_undo.h): the restore's condition names every attribute the write
 * left, one "#uN = :uN AND " term (about 16 bytes) each, and DynamoDB caps an expression
 * at 4 KiB; 200 terms stay well inside it. An item with more attributes is refused. */
#define BG_MAX_UNDO_ATTRS 200
/* The time an undo's upstream calls (the read of the item now, the restore) may take in
 * all, on the API worker thread. */
#define BG_UNDO_TIMEOUT_MS 10000

#endif
