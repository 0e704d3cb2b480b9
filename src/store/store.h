/*
 * store.h - the state store's interface: users, grants and the audit table, read
 * directly and changed only inside transactions, whatever the backend.
 *
 * A store is opened by backend name (store_open_backend; "sqlite" is the one built
 * today, a WAL file in the data directory; PostgreSQL comes next) and used only through
 * the functions below. They check their arguments here, once for every backend, and
 * dispatch through the backend's method table (store_backend.h), the way SQLite reaches
 * a file through its VFS. Nothing in this header belongs to one backend: no SQL, no
 * library types, no row identifiers; a backend reports its failures as the BG_E* codes
 * documented here (and anything it cannot classify as BG_EIO).
 *
 * Reads take the store and see what is committed. Every change takes a transaction:
 * store_begin(), the operations, then store_commit() (durable when it returns) or
 * store_rollback(). The audit log appends its records to the same table through the
 * same transactions (audit.h: audit_append_tx), which is how a state change and the
 * record that describes it commit together or not at all. An operation that fails
 * leaves its transaction good only for rolling back (PostgreSQL's rule, so callers need
 * not know which failures a backend survives).
 *
 * Secrets are never stored in plain form: API tokens and session tokens as SHA-256
 * hashes; the grant secret and TOTP keys are derived from the master key (see keyring.h)
 * and so not stored at all. Each backend versions its schema so later releases can
 * migrate it.
 */
#ifndef BG_STORE_H
#define BG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"

typedef struct store store;
typedef struct store_tx store_tx;

#define STORE_ID_MAX   32 /* grant ids ("bg-" + 10 base32), access key ids (20) */
#define STORE_OP_MAX   (BG_MAX_OP_NAME + 1)
#define STORE_ROLE_MAX 48 /* a set: "admin,responder,approver,auditor" and a margin */
#define STORE_HASH_HEX 64 /* an audit chain hash: SHA-256 as lower-case hex */

typedef struct store_user {
	int64_t id; /* assigned by the store when the user is added; never reused */
	char name[BG_MAX_USER_NAME + 1];
	char role[STORE_ROLE_MAX];
	uint8_t totp_seed[16];    /* input to keyring_derive("totp", ...) */
	int64_t last_otp_counter; /* highest TOTP time step accepted; reuse is refused */
	int64_t created_at;
	bool disabled;        /* refused everywhere; kept for the record */
	int64_t otp_failures; /* wrong TOTP codes in a row */
	int64_t locked_until; /* no TOTP code is checked before this time (0: none) */
} store_user;

typedef struct store_grant {
	char id[STORE_ID_MAX];
	char user[BG_MAX_USER_NAME + 1];       /* grantee */
	char created_by[BG_MAX_USER_NAME + 1]; /* admin or approver who granted */
	char kind[16];                         /* "direct" (admin grant); later "request" */
	char access_key_id[STORE_ID_MAX];
	uint8_t session_token_hash[32]; /* SHA-256 of the session token */
	size_t n_tables;
	char tables[BG_MAX_GRANT_TABLES][BG_MAX_TABLE_NAME + 1];
	size_t n_ops;
	char ops[BG_MAX_GRANT_OPS][STORE_OP_MAX];
	int64_t created_at;
	int64_t expires_at;
	int64_t revoked_at; /* 0 while not revoked */
	char revoked_by[BG_MAX_USER_NAME + 1];
	char reason[BG_MAX_REASON + 1];
	/* A runbook grant names its runbooks and pins each one's content hash (hex SHA-256):
	 * a request must be one of them, as it was when granted. None: a table/operation
	 * grant. */
	size_t n_runbooks;
	char runbooks[BG_MAX_GRANT_RUNBOOKS][BG_MAX_RUNBOOK_ID + 1];
	char runbook_hashes[BG_MAX_GRANT_RUNBOOKS][65];
} store_grant;

/* Text with its length, not NUL-terminated; p == NULL is a null value. */
typedef struct store_text {
	const char *p;
	size_t n;
} store_text;

/* The text columns of an audit row, in order. */
enum {
	STORE_AUDIT_KIND,
	STORE_AUDIT_ACTOR,
	STORE_AUDIT_GRANT,
	STORE_AUDIT_REQUEST,
	STORE_AUDIT_OP,
	STORE_AUDIT_TABLES,
	STORE_AUDIT_DECISION,
	STORE_AUDIT_REASON,
	STORE_AUDIT_FIELDS
};

/* One row of the audit table exactly as stored: the store keeps the bytes, audit.h says
 * what they mean (and how hash chains them). Every store_text is borrowed. */
typedef struct store_audit_row {
	int64_t seq; /* 1, 2, 3, ... */
	store_text ts;
	store_text f[STORE_AUDIT_FIELDS]; /* kind is never null */
	int64_t status;
	store_text detail; /* JSON text, or null */
	store_text prev_hash, hash;
} store_audit_row;

/* --- opening ------------------------------------------------------------------------- */

/* Opens (create=false) or creates (create=true) a store with the backend named backend
 * at where: for "sqlite" the data directory (datadir.h), which create makes if needed.
 * Creating fails with BG_EEXISTS when a store is already there (and leaves it intact);
 * opening fails with BG_ENOTFOUND when there is none, BG_EINVAL when what is there is
 * not a breakglass store of a schema this build knows. An unknown backend is BG_EINVAL.
 * On success *out is owned by the caller (store_free). */
int store_open_backend(const char *backend, const char *where, bool create, store **out,
                       bg_err *e) BG_MUST_CHECK;

/* store_open_backend() with the default backend (the first of store_backend_name()). */
int store_open(const char *where, bool create, store **out, bg_err *e) BG_MUST_CHECK;

/* The name of the i-th backend built in ("sqlite", ...), NULL past the last. The test
 * suite runs against each. */
const char *store_backend_name(size_t i);

/* The i-th backend's engine release ("3.40.1"), NULL past the last. */
const char *store_backend_version(size_t i);

/* Closes the store. Every transaction must have ended. Accepts NULL. */
void store_free(store *s);

/* Housekeeping, never inside a commit: the audit log's checkpointer thread calls it
 * beside the commits, and the committer once more between two batches to catch up
 * (SQLite: a passive WAL checkpoint, since automatic ones are off so that no commit pays
 * for one). Thread-safe. Failure is harmless, so it returns nothing. */
void store_maintain(store *s);

/* --- transactions -------------------------------------------------------------------- */

/* Begins a transaction that may change state. Transactions that change the same things
 * (at least, every two that append to the audit table) take turns: the second waits for
 * the first to end, up to the backend's lock timeout (then BG_EIO). On success *out
 * belongs to the caller until store_commit() or store_rollback(). It holds one of the
 * backend's connections meanwhile, so a thread should not open a second transaction
 * while it holds one. */
int store_begin(store *s, store_tx **out, bg_err *e) BG_MUST_CHECK;

/* Commits tx and ends it. Returns 0 once the changes are durable; otherwise nothing of
 * tx is kept (a transaction with a failed operation is rolled back here and returns
 * that operation's code). */
int store_commit(store_tx *tx, bg_err *e) BG_MUST_CHECK;

/* Discards tx's changes and ends it. Accepts NULL. */
void store_rollback(store_tx *tx);

/* The usual end of a transaction: commits tx when rc is 0, else rolls it back. Returns
 * rc, or the commit's failure. */
int store_end(store_tx *tx, int rc, bg_err *e) BG_MUST_CHECK;

/* --- users --------------------------------------------------------------------------- */

/* Adds a user. token_hash is SHA-256 of the user's API token. BG_EEXISTS if the name (or
 * the token) is taken, BG_EINVAL for a bad name or role. */
int store_user_add(store_tx *tx, const char *name, const char *role, const uint8_t token_hash[32],
                   const uint8_t totp_seed[16], bg_err *e) BG_MUST_CHECK;

/* Finds a user by name, or by the SHA-256 of an API token. BG_ENOTFOUND if none. */
int store_user_by_name(store *s, const char *name, store_user *out, bg_err *e) BG_MUST_CHECK;
int store_user_by_token(store *s, const uint8_t token_hash[32], store_user *out,
                        bg_err *e) BG_MUST_CHECK;

/* Records that TOTP step `counter` was used by the user, atomically: succeeds only if
 * counter is greater than the last one recorded (so a code cannot be used twice, even
 * by two gateways racing). BG_EDENIED when it was already used, BG_ENOTFOUND when there
 * is no such user. */
int store_user_use_otp(store_tx *tx, int64_t user_id, int64_t counter, bg_err *e) BG_MUST_CHECK;

/* A TOTP check's outcome, counted atomically in the store (never from a copy of the row,
 * which another process may have changed): ok clears the wrong-code count; a wrong code
 * adds one and, at max_failures, locks the user until lock_until and starts counting
 * again. *locked (may be NULL) tells whether this call locked the user out. BG_ENOTFOUND
 * when there is no such user. */
int store_user_otp_result(store_tx *tx, int64_t user_id, bool ok, int64_t max_failures,
                          int64_t lock_until, bool *locked, bg_err *e) BG_MUST_CHECK;

/* Every user, ordered by name: fn(ctx, user) for each; a non-zero return stops the
 * listing (and is returned). */
int store_user_list(store *s, int (*fn)(void *ctx, const store_user *u), void *ctx,
                    bg_err *e) BG_MUST_CHECK;

/* Writes the user's mutable fields (u->id names the row): role, totp_seed, disabled,
 * otp_failures, locked_until; and the API token's hash when token_hash is not NULL. A
 * changed totp_seed (a new TOTP key) resets the used-step counter; otherwise the counter
 * is left alone (only store_user_use_otp moves it, and only forward).
 * BG_ENOTFOUND when there is no such user, BG_EINVAL for a bad role. */
int store_user_update(store_tx *tx, const store_user *u, const uint8_t *token_hash,
                      bg_err *e) BG_MUST_CHECK;

/* --- grants -------------------------------------------------------------------------- */

/* Inserts a grant. BG_EEXISTS when its id or access key id is taken, BG_ENOTFOUND when
 * its grantee does not exist, BG_EINVAL or BG_ELIMIT when a field breaks its rule. */
int store_grant_add(store_tx *tx, const store_grant *g, bg_err *e) BG_MUST_CHECK;

/* Finds a grant by id or by access key id. BG_ENOTFOUND if none. */
int store_grant_by_id(store *s, const char *id, store_grant *out, bg_err *e) BG_MUST_CHECK;
int store_grant_by_akid(store *s, const char *akid, store_grant *out, bg_err *e) BG_MUST_CHECK;

/* Marks a grant revoked at `now` by `who`; *out (if not NULL) is the grant afterwards.
 * BG_ENOTFOUND if no such grant; revoking a revoked grant succeeds and keeps the first
 * revocation. */
int store_grant_revoke(store_tx *tx, const char *id, const char *who, int64_t now, store_grant *out,
                       bg_err *e) BG_MUST_CHECK;

/* The grant with this id as tx sees it (BG_ENOTFOUND if none), and making a live grant
 * run until expires_at (an extension): BG_ENOTFOUND when there is no such grant,
 * BG_EINVAL when it is revoked or the new expiry breaks a grant's rules. *out (may be
 * NULL) is the grant afterwards. */
int store_grant_get_tx(store_tx *tx, const char *id, store_grant *out, bg_err *e) BG_MUST_CHECK;
int store_grant_extend(store_tx *tx, const char *id, int64_t expires_at, store_grant *out,
                       bg_err *e) BG_MUST_CHECK;

/* Calls fn for each grant, newest first (created_at descending, the later added first
 * among equals), optionally only those of user (NULL for all). fn returns 0 to continue,
 * non-zero to stop (not an error). Grants are fetched in pages and fn runs between
 * them, holding nothing of the store's, so it may use the store. */
int store_grant_list(store *s, const char *user, int (*fn)(void *ctx, const store_grant *g),
                     void *ctx, bg_err *e) BG_MUST_CHECK;

/* --- incidents ----------------------------------------------------------------------- */

#define STORE_SOURCE_MAX 16 /* "manual", "alertmanager", "sns", "pagerduty", "generic" */
#define STORE_EVENT_MAX  24 /* an incident event's kind: "alert-resolved", ... */

typedef struct store_incident {
	char id[BG_MAX_INCIDENT_ID + 1];
	char source[STORE_SOURCE_MAX];          /* "manual" or the alert source that opened it */
	char group_key[BG_MAX_ALERT_GROUP + 1]; /* the alert group it is for; "" when manual */
	int64_t severity;                       /* 1 (most severe) to 5 */
	char title[BG_MAX_INCIDENT_TITLE + 1];
	char service[BG_MAX_SERVICE_NAME + 1]; /* "" when none */
	bool open;                             /* false once resolved */
	char opened_by[BG_MAX_USER_NAME + 1];  /* a user, or the alert source */
	int64_t opened_at;
	int64_t updated_at;
	int64_t resolved_at; /* 0 while open */
	char resolved_by[BG_MAX_USER_NAME + 1];
	int64_t firing;             /* its alerts firing now */
	int64_t last_firing_at;     /* when one of its alerts was last reported firing; 0 never */
	int64_t alerts_resolved_at; /* when its last firing alert resolved; 0 while one fires */
	bool review_required;       /* set by a solo break-glass: the review may not be skipped */
} store_incident;

/* An alert of an incident, as last reported. */
typedef struct store_alert {
	char incident[BG_MAX_INCIDENT_ID + 1];
	char key[BG_MAX_ALERT_KEY + 1]; /* unique within the incident */
	char name[BG_MAX_ALERT_NAME + 1];
	bool firing;
	int64_t starts_at; /* 0 when not known */
	int64_t ends_at;   /* 0 when not known or still firing */
	int64_t updated_at;
	char summary[BG_MAX_ALERT_SUMMARY + 1];
} store_alert;

/* One line of an incident's history: opened, an alert's change of state, a new severity,
 * resolved. */
typedef struct store_incident_event {
	int64_t at;
	char kind[STORE_EVENT_MAX];
	char actor[BG_MAX_USER_NAME + 1];
	char text[BG_MAX_REASON + 1];
} store_incident_event;

/* Adds an incident. BG_EEXISTS when its id is taken, or when its alert group already has
 * an open incident (one open incident per source and group); BG_EINVAL for a bad field. */
int store_incident_add(store_tx *tx, const store_incident *in, bg_err *e) BG_MUST_CHECK;

/* The incident with this id: committed state (store_incident_get), or as tx sees it, for
 * a change (store_incident_get_tx: tx's write lock keeps it current until tx ends).
 * BG_ENOTFOUND if none. */
int store_incident_get(store *s, const char *id, store_incident *out, bg_err *e) BG_MUST_CHECK;
int store_incident_get_tx(store_tx *tx, const char *id, store_incident *out,
                          bg_err *e) BG_MUST_CHECK;

/* The open incident of alert group `group` from source, as tx sees it. BG_ENOTFOUND when
 * there is none. */
int store_incident_find_open(store_tx *tx, const char *source, const char *group,
                             store_incident *out, bg_err *e) BG_MUST_CHECK;

/* Writes an incident's mutable fields (in->id names the row): severity, title, service,
 * open, updated_at, resolved_at, resolved_by, firing, last_firing_at, alerts_resolved_at,
 * review_required. BG_ENOTFOUND when there is no such incident. */
int store_incident_update(store_tx *tx, const store_incident *in, bg_err *e) BG_MUST_CHECK;

/* Calls fn for each incident, newest first; fn returns non-zero to stop. It runs while
 * the backend reads: it may read the store, not begin a transaction. */
int store_incident_list(store *s, int (*fn)(void *ctx, const store_incident *in), void *ctx,
                        bg_err *e) BG_MUST_CHECK;

/* The alert `key` of an incident, as tx sees it (BG_ENOTFOUND if it has none), and
 * adding or replacing one. */
int store_alert_get(store_tx *tx, const char *incident, const char *key, store_alert *out,
                    bg_err *e) BG_MUST_CHECK;
int store_alert_put(store_tx *tx, const store_alert *a, bg_err *e) BG_MUST_CHECK;

/* An incident's alerts, firing first, then by name; and their number (as tx sees it). */
int store_alert_list(store *s, const char *incident, int (*fn)(void *ctx, const store_alert *a),
                     void *ctx, bg_err *e) BG_MUST_CHECK;
int store_alert_count(store_tx *tx, const char *incident, int64_t *firing, int64_t *all,
                      bg_err *e) BG_MUST_CHECK;

/* Appends to an incident's history, and reads it oldest first. */
int store_incident_event_add(store_tx *tx, const char *incident, const store_incident_event *ev,
                             bg_err *e) BG_MUST_CHECK;
int store_incident_event_list(store *s, const char *incident,
                              int (*fn)(void *ctx, const store_incident_event *ev), void *ctx,
                              bg_err *e) BG_MUST_CHECK;

/* Remembers that the webhook delivery `id` from source arrived at `now`, forgetting those
 * older than BG_HOOK_DELIVERY_MEMORY. BG_EEXISTS when it was seen already: a redelivery,
 * or a replay. */
int store_delivery_record(store_tx *tx, const char *source, const char *id, int64_t now,
                          bg_err *e) BG_MUST_CHECK;

/* --- requests and approvals ------------------------------------------------------------ */

#define STORE_STATE_MAX 12 /* "pending", "approved", "denied", "expired", "refused" */

/* A break-glass request: who asks for which runbooks (pinned at their content hash when
 * asked), for which incident, why and for how long, and what became of it. Its id is the
 * grant's id once approved (a request and its grant are one thing to the people using
 * them). */
typedef struct store_request {
	char id[STORE_ID_MAX];
	char requester[BG_MAX_USER_NAME + 1];
	char incident[BG_MAX_INCIDENT_ID + 1];
	size_t n_runbooks;
	char runbooks[BG_MAX_GRANT_RUNBOOKS][BG_MAX_RUNBOOK_ID + 1];
	char runbook_hashes[BG_MAX_GRANT_RUNBOOKS][65];
	char reason[BG_MAX_REASON + 1];
	char ticket[BG_MAX_TICKET + 1];
	int64_t duration_seconds;
	char criteria[BG_MAX_CRITERIA_JSON]; /* each criterion's result, a JSON array */
	char state[STORE_STATE_MAX];
	bool solo;                  /* granted without approval (solo break-glass) */
	char extends[STORE_ID_MAX]; /* the grant this request would extend; "" for a new one */
	int64_t created_at;
	int64_t expires_at; /* a pending request expires then */
	int64_t decided_at; /* 0 while pending */
	char decided_by[BG_MAX_USER_NAME + 1];
} store_request;

/* One approver's answer to a request. */
typedef struct store_approval {
	char request[STORE_ID_MAX];
	char approver[BG_MAX_USER_NAME + 1];
	bool approve; /* false: denied */
	char reason[BG_MAX_REASON + 1];
	int64_t at;
} store_approval;

/* Adds a request. BG_EEXISTS when its id is taken; BG_ENOTFOUND when its requester or
 * incident does not exist; BG_EINVAL for a bad field. */
int store_request_add(store_tx *tx, const store_request *r, bg_err *e) BG_MUST_CHECK;

/* The request with this id, committed (store_request_get) or as tx sees it.
 * BG_ENOTFOUND if none. */
int store_request_get(store *s, const char *id, store_request *out, bg_err *e) BG_MUST_CHECK;
int store_request_get_tx(store_tx *tx, const char *id, store_request *out, bg_err *e) BG_MUST_CHECK;

/* Writes a request's decision: state, solo, decided_at, decided_by (r->id names it).
 * BG_ENOTFOUND when there is no such request. */
int store_request_update(store_tx *tx, const store_request *r, bg_err *e) BG_MUST_CHECK;

/* Calls fn for each request, newest first (of requester only, unless NULL). It runs while
 * the backend reads: it may read the store, not begin a transaction. */
int store_request_list(store *s, const char *requester,
                       int (*fn)(void *ctx, const store_request *r), void *ctx,
                       bg_err *e) BG_MUST_CHECK;

/* Records an approver's answer. BG_EEXISTS when that approver has answered already. */
int store_approval_add(store_tx *tx, const store_approval *a, bg_err *e) BG_MUST_CHECK;

/* A request's answers, oldest first: as tx sees them (tx not NULL) or committed. */
int store_approval_list(store *s, store_tx *tx, const char *request,
                        int (*fn)(void *ctx, const store_approval *a), void *ctx,
                        bg_err *e) BG_MUST_CHECK;

/* Pending requests that expired after since and by now, oldest first: up to max ids into
 * ids, their number into *n. (The sweep looks back a bounded time: older ones were not
 * news when it first ran.) */
int store_request_expired(store *s, int64_t since, int64_t now, char (*ids)[STORE_ID_MAX],
                          size_t max, size_t *n, bg_err *e) BG_MUST_CHECK;

/* Grants that expired after since and by now (not revoked) whose expiry has not been
 * noticed yet, oldest first: up to max into out, their number into *n. */
int store_grant_expired(store *s, int64_t since, int64_t now, store_grant *out, size_t max,
                        size_t *n, bg_err *e) BG_MUST_CHECK;

/* Notes that grant id's expiry was noticed (its notification is queued), once:
 * BG_ENOTFOUND when there is no such grant or it was noticed already. */
int store_grant_expiry_noticed(store_tx *tx, const char *id, bg_err *e) BG_MUST_CHECK;

/* --- the notification outbox ----------------------------------------------------------- */

/* One notification for one target, kept until it is delivered: the change it describes
 * and the row commit together, so a committed change always has its notification and a
 * restart loses none. */
typedef struct store_outbox {
	int64_t id; /* assigned by store_outbox_add; never reused */
	char target[BG_MAX_NOTIFY_NAME + 1];
	char event[STORE_EVENT_MAX]; /* "request", "approval", ... (policy_event_name) */
	const char *payload;         /* a JSON object; borrowed (for a listing: during the call) */
	int64_t created_at;
	int64_t next_at;      /* due then; 0 once abandoned (no more attempts) */
	int64_t attempts;     /* deliveries tried */
	int64_t delivered_at; /* 0 until a delivery succeeded */
	char last_error[BG_MAX_NOTIFY_ERROR + 1];
} store_outbox;

/* Queues a notification in tx (o->id is set). BG_EINVAL for a bad target or event name,
 * a payload that is not a JSON object text, or times out of order; BG_ELIMIT past
 * BG_MAX_NOTIFY_PAYLOAD. */
int store_outbox_add(store_tx *tx, store_outbox *o, bg_err *e) BG_MUST_CHECK;

/* Calls fn for each notification due at now (neither delivered nor abandoned, next_at <=
 * now), the longest waiting first, at most limit of them. It runs while the backend reads:
 * it may copy the row, not use the store. */
int store_outbox_due(store *s, int64_t now, int64_t limit,
                     int (*fn)(void *ctx, const store_outbox *o), void *ctx,
                     bg_err *e) BG_MUST_CHECK;

/* Takes notification id for a delivery: only if it is still due at now, it is reserved
 * until `until` (its next_at), so another sender skips it. BG_ENOTFOUND when it is not
 * due (delivered, abandoned, or taken by another sender meanwhile). */
int store_outbox_claim(store_tx *tx, int64_t id, int64_t now, int64_t until,
                       bg_err *e) BG_MUST_CHECK;

/* Records an attempt at notification id at now: delivered, or failed with error (a
 * line, cut at BG_MAX_NOTIFY_ERROR) and the next attempt at next_at (0: abandoned).
 * attempts grows by one. BG_ENOTFOUND when there is no such notification. */
int store_outbox_result(store_tx *tx, int64_t id, int64_t now, bool delivered, int64_t next_at,
                        const char *error, bg_err *e) BG_MUST_CHECK;

/* The notification with this id (payload: NULL; use store_outbox_due for it), for tests
 * and `status`. BG_ENOTFOUND if none. */
int store_outbox_get(store *s, int64_t id, store_outbox *out, bg_err *e) BG_MUST_CHECK;

/* --- the audit table (written and read by audit.c) ----------------------------------- */

/* The last row's seq and hash (seq 0 and an empty hash while the table is empty). It
 * also claims the table for tx: no other transaction can append until tx ends, so the
 * caller may chain rows onto this head. Call it as late in a transaction as possible. */
int store_audit_head(store_tx *tx, int64_t *seq, char hash[STORE_HASH_HEX + 1],
                     bg_err *e) BG_MUST_CHECK;

/* Appends row, which must follow the head read by store_audit_head() in tx. BG_EEXISTS
 * when its seq is taken. The table is append-only: no operation changes or removes a
 * row. */
int store_audit_insert(store_tx *tx, const store_audit_row *row, bg_err *e) BG_MUST_CHECK;

/* Calls fn with each committed row whose seq is greater than after, in seq order, at
 * most limit of them (limit <= 0: all). The row is borrowed for the call. fn returns 0
 * to go on, a positive value to stop (the scan returns 0) or a BG_E* code, which ends
 * the scan and is returned. A backend may hold a connection across the calls: fn may
 * read the store but should not wait for a transaction. */
int store_audit_scan(store *s, int64_t after, int64_t limit,
                     int (*fn)(void *ctx, const store_audit_row *row, bg_err *e), void *ctx,
                     bg_err *e) BG_MUST_CHECK;

/* store_audit_scan() backwards: the rows whose seq is below before (before <= 0: from the
 * newest), newest first, at most limit of them. The same rules for fn. */
int store_audit_scan_back(store *s, int64_t before, int64_t limit,
                          int (*fn)(void *ctx, const store_audit_row *row, bg_err *e), void *ctx,
                          bg_err *e) BG_MUST_CHECK;

/* The rows whose request_id is request_id (a request and its response or denial), in
 * seq order, at most limit of them (limit <= 0: all); indexed, not a scan of the log.
 * The same rules for fn. */
int store_audit_by_request(store *s, const char *request_id, int64_t limit,
                           int (*fn)(void *ctx, const store_audit_row *row, bg_err *e), void *ctx,
                           bg_err *e) BG_MUST_CHECK;

/* --- post-incident reviews -------------------------------------------------------------- */

/* The review `close` opens for an incident: signed once, by someone who did not request
 * access for it, before its deadline (or after: then it is overdue until signed). */
typedef struct store_review {
	char incident[BG_MAX_INCIDENT_ID + 1];
	int64_t opened_at;
	char opened_by[BG_MAX_USER_NAME + 1];
	int64_t deadline;
	char signed_by[BG_MAX_USER_NAME + 1]; /* "" until signed */
	int64_t signed_at;                    /* 0 until signed */
	char learnings[BG_MAX_LEARNINGS + 1];
	bool overdue_noticed; /* its overdue notification is queued */
} store_review;

/* Opens r's review. BG_EEXISTS when the incident has one (closing again opens none). */
int store_review_open(store_tx *tx, const store_review *r, bg_err *e) BG_MUST_CHECK;

/* The incident's review, committed (tx NULL) or as tx sees it. BG_ENOTFOUND if none. */
int store_review_get(store *s, store_tx *tx, const char *incident, store_review *out,
                     bg_err *e) BG_MUST_CHECK;

/* Signs it. BG_EEXISTS when it is signed already (one signature: the first stands). */
int store_review_sign(store_tx *tx, const char *incident, const char *who, int64_t at,
                      const char *learnings, bg_err *e) BG_MUST_CHECK;

/* Calls fn for each review, latest deadline first; fn returns non-zero to stop. */
int store_review_list(store *s, int (*fn)(void *ctx, const store_review *r), void *ctx,
                      bg_err *e) BG_MUST_CHECK;

/* Marks an overdue review noticed: 0, or 1 when it was already (nothing to send). */
int store_review_overdue_noticed(store_tx *tx, const char *incident, bg_err *e) BG_MUST_CHECK;

/* The cursor of the audit sink called name (audit/sink.h): the highest seq its
 * destination has accepted, 0 when none was saved. */
int store_sink_cursor_get(store *s, const char *name, int64_t *seq, bg_err *e) BG_MUST_CHECK;

/* Saves it in tx; a cursor never moves back (a lower seq leaves it as it is). */
int store_sink_cursor_set(store_tx *tx, const char *name, int64_t seq, bg_err *e) BG_MUST_CHECK;

/* --- capacity spent ------------------------------------------------------------------ */

/* The capacity a grant has spent (gateway/spend.h), kept as running totals beside the
 * trail: the audit log adds a response record's charge in the record's own transaction
 * (audit.h, audit_record.charge), so the totals always equal the sum of the `charged`
 * members of the committed records, and a restart reads a few rows instead of the grant's
 * whole trail. runbook is NULL for what the grant spent outside any runbook. */
int store_spend_add(store_tx *tx, const char *grant_id, const char *runbook, double read,
                    double write, bg_err *e) BG_MUST_CHECK;

/* Calls fn with each of grant_id's totals, one per runbook it spent under (runbook NULL:
 * outside runbooks). fn returns 0 to go on or a BG_E* code, which ends the list. */
int store_spend_list(store *s, const char *grant_id,
                     int (*fn)(void *ctx, const char *runbook, double read, double write,
                               bg_err *e),
                     void *ctx, bg_err *e) BG_MUST_CHECK;

#endif
