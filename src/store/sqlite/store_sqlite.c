/*
 * store_sqlite.c - the SQLite backend of the store (store.h, store_backend.h): one
 * database file in the data directory (datadir.h), shared by every gateway thread and
 * by the commands that run beside it (`breakglass init`).
 *
 * Threads never share a connection: the store keeps a pool of connections (grown on
 * demand up to POOL_MAX, then callers wait), each with its prepared statements cached.
 * A read borrows a connection for one statement; a transaction holds one from
 * BEGIN IMMEDIATE, which takes the database's write lock at once (so a transaction that
 * reads the audit chain's head can append to it: that is store_audit_head()'s claim),
 * to COMMIT or ROLLBACK. Every statement runs through run(): borrow or use the
 * transaction's connection, prepare once, bind, step, hand out rows, reset.
 *
 * Every connection runs with WAL, synchronous=FULL (COMMIT returns once the WAL is
 * synced: a committed write survives power loss), foreign keys on and a busy timeout, so
 * several processes (CLI and server) can share the file. Automatic checkpoints (copying
 * the WAL into the database: three more syncs) are off, so that no commit pays for one:
 * the store's owner calls store_maintain() between bursts of writes (the audit
 * committer does, between batches), and closing the last connection checkpoints too.
 *
 * Schema (version 9, recorded in meta.schema_version; a version 1 store is brought up to
 * date when opened):
 *   meta(key PRIMARY KEY, value)
 *   users(id INTEGER PRIMARY KEY, name UNIQUE, role (a set: "admin,approver"),
 *         token_hash BLOB(32) UNIQUE, totp_seed BLOB(16), last_otp_counter, created_at,
 *         disabled, otp_failures, locked_until (version 3))
 *   grants(id PRIMARY KEY, user -> users(name), created_by, kind,
 *          access_key_id UNIQUE, session_token_hash BLOB(32),
 *          tables JSON array, ops JSON array, created_at, expires_at,
 *          revoked_at (0 = live), revoked_by, reason,
 *          runbooks JSON array of "ID@SHA256" pins (version 2))
 *   audit(seq INTEGER PRIMARY KEY, ts, kind, actor, grant_id, request_id, op, tables,
 *         decision, reason, status, detail JSON, prev_hash, hash); triggers refuse
 *         UPDATE and DELETE so the log is append-only through SQL.
 *   incidents(id PRIMARY KEY, source, group_key, severity, title, service, open,
 *             opened_by, opened_at, updated_at, resolved_at, resolved_by, firing,
 *             last_firing_at, alerts_resolved_at, review_required), at most one open
 *             per (source, group_key); incident_alerts(incident, key, ...) and
 *             incident_events(id, incident, at, kind, actor, text) beside them;
 *             hook_deliveries(source, id, at) (all version 4)
 *   requests(id PRIMARY KEY, requester -> users(name), incident -> incidents(id),
 *            runbooks JSON pins, reason, ticket, duration, criteria JSON, state, solo,
 *            extends, created_at, expires_at, decided_at, decided_by) and
 *            approvals(request, approver) PRIMARY KEY (version 5)
 *   outbox(id INTEGER PRIMARY KEY AUTOINCREMENT (never reused), target, event, payload
 *          JSON, created_at, next_at (0: abandoned), attempts, delivered_at, last_error),
 *          grants.expiry_noticed, and partial indexes on what is due, pending or live
 *          (version 6: notifications)
 *   audit_sinks(name PRIMARY KEY, seq, updated_at): the highest seq each audit sink's
 *               destination has accepted (version 7)
 *   reviews(incident PRIMARY KEY -> incidents(id), opened_at, opened_by, deadline,
 *           signed_by, signed_at (0: not yet), learnings, overdue_noticed): the
 *           post-incident review `close` opens (version 8)
 *   audit_request: an index of the audit table by request_id, so `audit show` finds a
 *          request's response (version 9)
 * Tables and ops are JSON arrays in the grant row so that a grant is one row. Grants
 * with equal created_at are listed in the order they were added, which is the rowid's;
 * the rowid never leaves this file (the listing's cursor is the last grant itself).
 * Values reach SQL only as bound parameters.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/datadir.h"
#include "store/store_backend.h"

#define SCHEMA_VERSION_N 10
#define STR_(x)          #x
#define STR(x)           STR_(x)
#define SCHEMA_VERSION   STR(SCHEMA_VERSION_N)
#define POOL_MAX         16 /* connections; readers never block each other in WAL */

enum {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SCHEMA_VERSION,
	ST_USER_ADD,
	ST_USER_BY_NAME,
	ST_USER_BY_TOKEN,
	ST_USER_USE_OTP,
	ST_USER_EXISTS,
	ST_USER_OTP_OK,
	ST_USER_OTP_WRONG,
	ST_USER_LIST,
	ST_USER_UPDATE,
	ST_USER_UPDATE_TOKEN,
	ST_GRANT_ADD,
	ST_GRANT_BY_ID,
	ST_GRANT_BY_AKID,
	ST_GRANT_REVOKE,
	ST_GRANT_EXTEND,
	ST_GRANT_PAGE_ALL,
	ST_GRANT_PAGE_USER,
	ST_INCIDENT_ADD,
	ST_INCIDENT_GET,
	ST_INCIDENT_FIND_OPEN,
	ST_INCIDENT_UPDATE,
	ST_INCIDENT_LIST,
	ST_ALERT_GET,
	ST_ALERT_PUT,
	ST_ALERT_LIST,
	ST_ALERT_COUNT,
	ST_EVENT_ADD,
	ST_EVENT_LIST,
	ST_DELIVERY_PRUNE,
	ST_REQUEST_ADD,
	ST_REQUEST_GET,
	ST_REQUEST_UPDATE,
	ST_REQUEST_LIST_ALL,
	ST_REQUEST_LIST_USER,
	ST_APPROVAL_ADD,
	ST_APPROVAL_LIST,
	ST_DELIVERY_ADD,
	ST_REQUEST_EXPIRED,
	ST_GRANT_EXPIRED,
	ST_GRANT_EXPIRY_NOTICED,
	ST_OUTBOX_ADD,
	ST_OUTBOX_DUE,
	ST_OUTBOX_CLAIM,
	ST_OUTBOX_RESULT,
	ST_OUTBOX_GET,
	ST_AUDIT_HEAD,
	ST_AUDIT_INSERT,
	ST_AUDIT_SCAN,
	ST_AUDIT_SCAN_BACK,
	ST_SINK_CURSOR_GET,
	ST_SINK_CURSOR_SET,
	ST_SPEND_ADD,
	ST_SPEND_LIST,
	ST_REVIEW_OPEN,
	ST_REVIEW_GET,
	ST_REVIEW_SIGN,
	ST_REVIEW_LIST,
	ST_REVIEW_OVERDUE_NOTICED,
	ST_AUDIT_BY_REQUEST,
	ST_COUNT
};

#define USER_COLS                                                                                  \
	"id, name, role, totp_seed, last_otp_counter, created_at, disabled, otp_failures, "        \
	"locked_until"
#define GRANT_COLS                                                                                 \
	"id, user, created_by, kind, access_key_id, session_token_hash, tables, ops, "             \
	"created_at, expires_at, revoked_at, revoked_by, reason, runbooks"
#define INCIDENT_COLS                                                                              \
	"id, source, group_key, severity, title, service, open, opened_by, opened_at, "            \
	"updated_at, resolved_at, resolved_by, firing, last_firing_at, alerts_resolved_at, "       \
	"review_required"
#define ALERT_COLS "incident, key, name, firing, starts_at, ends_at, updated_at, summary"
#define REQUEST_COLS                                                                               \
	"id, requester, incident, runbooks, reason, ticket, duration, criteria, state, solo, "     \
	"extends, created_at, expires_at, decided_at, decided_by"
#define APPROVAL_COLS "request, approver, approve, reason, at"
#define REVIEW_COLS                                                                                \
	"incident, opened_at, opened_by, deadline, signed_by, signed_at, learnings, "              \
	"overdue_noticed"
#define OUTBOX_COLS                                                                                \
	"id, target, event, payload, created_at, next_at, attempts, delivered_at, last_error"
#define AUDIT_COLS                                                                                 \
	"seq, ts, kind, actor, grant_id, request_id, op, tables, decision, reason, status, "       \
	"detail, prev_hash, hash"
/* After the cursor (?1 created_at, ?2 id; the first page: ?1 above every created_at). */
#define GRANT_PAGE_AFTER                                                                           \
	"(created_at < ?1 OR (created_at = ?1 AND "                                                \
	"rowid < (SELECT rowid FROM grants WHERE id = ?2)))"
#define GRANT_PAGE_ORDER " ORDER BY created_at DESC, rowid DESC LIMIT ?3"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SCHEMA_VERSION] = "SELECT value FROM meta WHERE key = 'schema_version'",
    [ST_USER_ADD] = "INSERT INTO users (name, role, token_hash, totp_seed, "
                    "last_otp_counter, created_at) VALUES (?1, ?2, ?3, ?4, 0, ?5)",
    [ST_USER_BY_NAME] = "SELECT " USER_COLS " FROM users WHERE name = ?1",
    [ST_USER_BY_TOKEN] = "SELECT " USER_COLS " FROM users WHERE token_hash = ?1",
    [ST_USER_USE_OTP] = "UPDATE users SET last_otp_counter = ?2 "
                        "WHERE id = ?1 AND last_otp_counter < ?2",
    [ST_USER_EXISTS] = "SELECT 1 FROM users WHERE id = ?1",
    [ST_USER_OTP_OK] = "UPDATE users SET otp_failures = 0 WHERE id = ?1",
    /* One more wrong code; at ?2 of them the user is locked until ?3 and counting restarts.
     * The row's own values, not a copy: concurrent processes count correctly. */
    [ST_USER_OTP_WRONG] =
        "UPDATE users SET "
        "locked_until = CASE WHEN otp_failures + 1 >= ?2 THEN ?3 ELSE locked_until END, "
        "otp_failures = CASE WHEN otp_failures + 1 >= ?2 THEN 0 ELSE otp_failures + 1 END "
        "WHERE id = ?1 RETURNING otp_failures = 0",
    [ST_USER_LIST] = "SELECT " USER_COLS " FROM users ORDER BY name",
    /* A new TOTP key starts its own sequence of time steps; with the same key the
     * counter is left to store_user_use_otp, which only ever raises it. */
    [ST_USER_UPDATE] = "UPDATE users SET role = ?2, last_otp_counter = CASE WHEN totp_seed = ?3 "
                       "THEN last_otp_counter ELSE 0 END, totp_seed = ?3, disabled = ?4, "
                       "otp_failures = ?5, locked_until = ?6 WHERE id = ?1",
    [ST_USER_UPDATE_TOKEN] = "UPDATE users SET token_hash = ?2 WHERE id = ?1",
    [ST_GRANT_ADD] = "INSERT INTO grants (" GRANT_COLS ") "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    [ST_GRANT_BY_ID] = "SELECT " GRANT_COLS " FROM grants WHERE id = ?1",
    [ST_GRANT_BY_AKID] = "SELECT " GRANT_COLS " FROM grants WHERE access_key_id = ?1",
    [ST_GRANT_REVOKE] = "UPDATE grants SET revoked_at = ?2, revoked_by = ?3 "
                        "WHERE id = ?1 AND revoked_at = 0",
    [ST_GRANT_EXTEND] = "UPDATE grants SET expires_at = ?2 WHERE id = ?1 AND revoked_at = 0",
    [ST_GRANT_PAGE_ALL] =
        "SELECT " GRANT_COLS " FROM grants WHERE " GRANT_PAGE_AFTER GRANT_PAGE_ORDER,
    [ST_GRANT_PAGE_USER] =
        "SELECT " GRANT_COLS " FROM grants WHERE user = ?4 AND " GRANT_PAGE_AFTER GRANT_PAGE_ORDER,
    [ST_INCIDENT_ADD] = "INSERT INTO incidents (" INCIDENT_COLS ") VALUES "
                        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    [ST_INCIDENT_GET] = "SELECT " INCIDENT_COLS " FROM incidents WHERE id = ?1",
    [ST_INCIDENT_FIND_OPEN] = "SELECT " INCIDENT_COLS " FROM incidents "
                              "WHERE source = ?1 AND group_key = ?2 AND open = 1",
    [ST_INCIDENT_UPDATE] =
        "UPDATE incidents SET severity = ?2, title = ?3, service = ?4, open = ?5, "
        "updated_at = ?6, resolved_at = ?7, resolved_by = ?8, firing = ?9, "
        "last_firing_at = ?10, alerts_resolved_at = ?11, review_required = ?12 WHERE id = ?1",
    [ST_INCIDENT_LIST] =
        "SELECT " INCIDENT_COLS " FROM incidents ORDER BY opened_at DESC, rowid DESC",
    [ST_ALERT_GET] = "SELECT " ALERT_COLS " FROM incident_alerts WHERE incident = ?1 AND key = ?2",
    [ST_ALERT_PUT] = "INSERT OR REPLACE INTO incident_alerts (" ALERT_COLS ") VALUES "
                     "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_ALERT_LIST] = "SELECT " ALERT_COLS " FROM incident_alerts WHERE incident = ?1 "
                      "ORDER BY firing DESC, name, key",
    [ST_ALERT_COUNT] = "SELECT coalesce(sum(firing), 0), count(*) FROM incident_alerts "
                       "WHERE incident = ?1",
    [ST_EVENT_ADD] = "INSERT INTO incident_events (incident, at, kind, actor, text) "
                     "VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_EVENT_LIST] = "SELECT at, kind, actor, text FROM incident_events WHERE incident = ?1 "
                      "ORDER BY id",
    [ST_DELIVERY_PRUNE] = "DELETE FROM hook_deliveries WHERE at < ?1",
    [ST_DELIVERY_ADD] =
        "INSERT OR IGNORE INTO hook_deliveries (source, id, at) VALUES (?1, ?2, ?3)",
    [ST_REQUEST_ADD] = "INSERT INTO requests (" REQUEST_COLS ") VALUES "
                       "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    [ST_REQUEST_GET] = "SELECT " REQUEST_COLS " FROM requests WHERE id = ?1",
    [ST_REQUEST_UPDATE] = "UPDATE requests SET state = ?2, solo = ?3, decided_at = ?4, "
                          "decided_by = ?5 WHERE id = ?1",
    [ST_REQUEST_LIST_ALL] = "SELECT " REQUEST_COLS " FROM requests "
                            "ORDER BY created_at DESC, rowid DESC",
    [ST_REQUEST_LIST_USER] = "SELECT " REQUEST_COLS " FROM requests WHERE requester = ?1 "
                             "ORDER BY created_at DESC, rowid DESC",
    [ST_APPROVAL_ADD] = "INSERT INTO approvals (" APPROVAL_COLS ") VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_APPROVAL_LIST] = "SELECT " APPROVAL_COLS " FROM approvals WHERE request = ?1 "
                         "ORDER BY at, rowid",
    [ST_REQUEST_EXPIRED] = "SELECT id FROM requests WHERE state = 'pending' AND expires_at <= ?1 "
                           "AND expires_at > ?3 "
                           "ORDER BY expires_at, rowid LIMIT ?2",
    [ST_GRANT_EXPIRED] = "SELECT " GRANT_COLS " FROM grants WHERE revoked_at = 0 AND "
                         "expiry_noticed = 0 AND expires_at <= ?1 AND expires_at > ?3 "
                         "ORDER BY expires_at, rowid LIMIT ?2",
    [ST_GRANT_EXPIRY_NOTICED] =
        "UPDATE grants SET expiry_noticed = 1 WHERE id = ?1 AND expiry_noticed = 0",
    [ST_OUTBOX_ADD] = "INSERT INTO outbox (target, event, payload, created_at, next_at) "
                      "VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_OUTBOX_DUE] = "SELECT " OUTBOX_COLS " FROM outbox WHERE delivered_at = 0 AND "
                      "next_at > 0 AND next_at <= ?1 ORDER BY next_at, id LIMIT ?2",
    [ST_OUTBOX_CLAIM] = "UPDATE outbox SET next_at = ?3 WHERE id = ?1 AND delivered_at = 0 "
                        "AND next_at > 0 AND next_at <= ?2",
    [ST_OUTBOX_RESULT] = "UPDATE outbox SET attempts = attempts + 1, "
                         "delivered_at = CASE WHEN ?3 THEN ?2 ELSE 0 END, next_at = ?4, "
                         "last_error = ?5 WHERE id = ?1",
    [ST_OUTBOX_GET] = "SELECT " OUTBOX_COLS " FROM outbox WHERE id = ?1",
    [ST_AUDIT_HEAD] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
    [ST_AUDIT_INSERT] = "INSERT INTO audit (" AUDIT_COLS ") VALUES "
                        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    [ST_AUDIT_SCAN] = "SELECT " AUDIT_COLS " FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    [ST_AUDIT_SCAN_BACK] =
        "SELECT " AUDIT_COLS " FROM audit WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2",
    [ST_SINK_CURSOR_GET] = "SELECT seq FROM audit_sinks WHERE name = ?1",
    [ST_SINK_CURSOR_SET] = "INSERT INTO audit_sinks (name, seq, updated_at) VALUES (?1, ?2, ?3) "
                           "ON CONFLICT (name) DO UPDATE SET seq = max(seq, excluded.seq), "
                           "updated_at = excluded.updated_at",
    [ST_SPEND_ADD] =
        "INSERT INTO grant_spend (grant_id, runbook, read, write) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT (grant_id, runbook) DO UPDATE SET read = read + excluded.read, "
        "write = write + excluded.write",
    [ST_SPEND_LIST] =
        "SELECT runbook, read, write FROM grant_spend WHERE grant_id = ?1 ORDER BY runbook",
    [ST_REVIEW_OPEN] = "INSERT INTO reviews (incident, opened_at, opened_by, deadline) "
                       "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (incident) DO NOTHING",
    [ST_REVIEW_GET] = "SELECT " REVIEW_COLS " FROM reviews WHERE incident = ?1",
    [ST_REVIEW_SIGN] = "UPDATE reviews SET signed_by = ?2, signed_at = ?3, learnings = ?4 "
                       "WHERE incident = ?1 AND signed_at = 0",
    [ST_REVIEW_LIST] = "SELECT " REVIEW_COLS " FROM reviews ORDER BY deadline DESC, incident",
    [ST_REVIEW_OVERDUE_NOTICED] =
        "UPDATE reviews SET overdue_noticed = 1 WHERE incident = ?1 AND overdue_noticed = 0",
    [ST_AUDIT_BY_REQUEST] =
        "SELECT " AUDIT_COLS " FROM audit WHERE request_id = ?1 ORDER BY seq LIMIT ?2",
};

/* Version 9: the records of one request (its request, response or denial) found by
 * request_id, not by scanning the log. */
#define AUDIT_REQUEST_SQL                                                                          \
	"CREATE INDEX audit_request ON audit (request_id) WHERE request_id IS NOT NULL;"

/* Version 4's tables, in a new store and in the migration to it. One open incident per
 * alert group (the partial unique index), so two deliveries racing cannot open two. */
#define INCIDENTS_SQL                                                                              \
	"CREATE TABLE incidents ("                                                                 \
	" id TEXT PRIMARY KEY,"                                                                    \
	" source TEXT NOT NULL,"                                                                   \
	" group_key TEXT NOT NULL DEFAULT '',"                                                     \
	" severity INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 5),"                             \
	" title TEXT NOT NULL,"                                                                    \
	" service TEXT NOT NULL DEFAULT '',"                                                       \
	" open INTEGER NOT NULL DEFAULT 1,"                                                        \
	" opened_by TEXT NOT NULL,"                                                                \
	" opened_at INTEGER NOT NULL,"                                                             \
	" updated_at INTEGER NOT NULL,"                                                            \
	" resolved_at INTEGER NOT NULL DEFAULT 0,"                                                 \
	" resolved_by TEXT NOT NULL DEFAULT '',"                                                   \
	" firing INTEGER NOT NULL DEFAULT 0,"                                                      \
	" last_firing_at INTEGER NOT NULL DEFAULT 0,"                                              \
	" alerts_resolved_at INTEGER NOT NULL DEFAULT 0,"                                          \
	" review_required INTEGER NOT NULL DEFAULT 0);"                                            \
	"CREATE UNIQUE INDEX incidents_open_group ON incidents (source, group_key)"                \
	" WHERE open = 1 AND group_key != '';"                                                     \
	"CREATE INDEX incidents_opened ON incidents (opened_at);"                                  \
	"CREATE TABLE incident_alerts ("                                                           \
	" incident TEXT NOT NULL REFERENCES incidents (id),"                                       \
	" key TEXT NOT NULL,"                                                                      \
	" name TEXT NOT NULL,"                                                                     \
	" firing INTEGER NOT NULL,"                                                                \
	" starts_at INTEGER NOT NULL,"                                                             \
	" ends_at INTEGER NOT NULL,"                                                               \
	" updated_at INTEGER NOT NULL,"                                                            \
	" summary TEXT NOT NULL,"                                                                  \
	" PRIMARY KEY (incident, key)) WITHOUT ROWID;"                                             \
	"CREATE TABLE incident_events ("                                                           \
	" id INTEGER PRIMARY KEY,"                                                                 \
	" incident TEXT NOT NULL REFERENCES incidents (id),"                                       \
	" at INTEGER NOT NULL,"                                                                    \
	" kind TEXT NOT NULL,"                                                                     \
	" actor TEXT NOT NULL,"                                                                    \
	" text TEXT NOT NULL);"                                                                    \
	"CREATE INDEX incident_events_incident ON incident_events (incident, id);"                 \
	"CREATE TABLE hook_deliveries ("                                                           \
	" source TEXT NOT NULL,"                                                                   \
	" id TEXT NOT NULL,"                                                                       \
	" at INTEGER NOT NULL,"                                                                    \
	" PRIMARY KEY (source, id)) WITHOUT ROWID;"                                                \
	"CREATE INDEX hook_deliveries_at ON hook_deliveries (at);"

/* Version 5's tables: break-glass requests and their approvers' answers. */
#define REQUESTS_SQL                                                                               \
	"CREATE TABLE requests ("                                                                  \
	" id TEXT PRIMARY KEY,"                                                                    \
	" requester TEXT NOT NULL REFERENCES users (name),"                                        \
	" incident TEXT NOT NULL REFERENCES incidents (id),"                                       \
	" runbooks TEXT NOT NULL,"                                                                 \
	" reason TEXT NOT NULL,"                                                                   \
	" ticket TEXT NOT NULL,"                                                                   \
	" duration INTEGER NOT NULL,"                                                              \
	" criteria TEXT NOT NULL,"                                                                 \
	" state TEXT NOT NULL,"                                                                    \
	" solo INTEGER NOT NULL DEFAULT 0,"                                                        \
	" extends TEXT NOT NULL DEFAULT '',"                                                       \
	" created_at INTEGER NOT NULL,"                                                            \
	" expires_at INTEGER NOT NULL,"                                                            \
	" decided_at INTEGER NOT NULL DEFAULT 0,"                                                  \
	" decided_by TEXT NOT NULL DEFAULT '');"                                                   \
	"CREATE INDEX requests_requester ON requests (requester, created_at);"                     \
	"CREATE INDEX requests_incident ON requests (incident);"                                   \
	"CREATE TABLE approvals ("                                                                 \
	" request TEXT NOT NULL REFERENCES requests (id),"                                         \
	" approver TEXT NOT NULL REFERENCES users (name),"                                         \
	" approve INTEGER NOT NULL,"                                                               \
	" reason TEXT NOT NULL,"                                                                   \
	" at INTEGER NOT NULL,"                                                                    \
	" PRIMARY KEY (request, approver));"

/* Version 6's notifications: the outbox, and what the expiry sweep looks for. */
#define OUTBOX_SQL                                                                                 \
	"CREATE TABLE outbox ("                                                                    \
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"                                                   \
	" target TEXT NOT NULL,"                                                                   \
	" event TEXT NOT NULL,"                                                                    \
	" payload TEXT NOT NULL,"                                                                  \
	" created_at INTEGER NOT NULL,"                                                            \
	" next_at INTEGER NOT NULL,"                                                               \
	" attempts INTEGER NOT NULL DEFAULT 0,"                                                    \
	" delivered_at INTEGER NOT NULL DEFAULT 0,"                                                \
	" last_error TEXT NOT NULL DEFAULT '');"                                                   \
	"CREATE INDEX outbox_due ON outbox (next_at) WHERE delivered_at = 0 AND next_at > 0;"      \
	"CREATE INDEX requests_pending ON requests (expires_at) WHERE state = 'pending';"          \
	"CREATE INDEX grants_expiry ON grants (expires_at)"                                        \
	" WHERE revoked_at = 0 AND expiry_noticed = 0;"

static const char schema_sql[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE users ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " role TEXT NOT NULL,"
    " token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),"
    " totp_seed BLOB NOT NULL CHECK (length(totp_seed) = 16),"
    " last_otp_counter INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL,"
    " disabled INTEGER NOT NULL DEFAULT 0,"
    " otp_failures INTEGER NOT NULL DEFAULT 0,"
    " locked_until INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE grants ("
    " id TEXT PRIMARY KEY,"
    " user TEXT NOT NULL REFERENCES users (name),"
    " created_by TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " access_key_id TEXT NOT NULL UNIQUE,"
    " session_token_hash BLOB NOT NULL CHECK (length(session_token_hash) = 32),"
    " tables TEXT NOT NULL,"
    " ops TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " revoked_at INTEGER NOT NULL DEFAULT 0,"
    " revoked_by TEXT NOT NULL DEFAULT '',"
    " reason TEXT NOT NULL DEFAULT '',"
    " runbooks TEXT NOT NULL DEFAULT '[]',"
    " expiry_noticed INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX grants_created ON grants (created_at);"
    "CREATE INDEX grants_user ON grants (user, created_at);"
    "CREATE TABLE audit ("
    " seq INTEGER PRIMARY KEY,"
    " ts TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " actor TEXT,"
    " grant_id TEXT,"
    " request_id TEXT,"
    " op TEXT,"
    " tables TEXT,"
    " decision TEXT,"
    " reason TEXT,"
    " status INTEGER NOT NULL DEFAULT 0,"
    " detail TEXT,"
    " prev_hash TEXT NOT NULL,"
    " hash TEXT NOT NULL);"
    "CREATE INDEX audit_grant ON audit (grant_id) WHERE grant_id IS NOT NULL;" AUDIT_REQUEST_SQL
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;" INCIDENTS_SQL;

/* Version 8's post-incident reviews: one per incident, opened by `close`, signed once. */
#define REVIEWS_SQL                                                                                \
	"CREATE TABLE reviews ("                                                                   \
	" incident TEXT PRIMARY KEY REFERENCES incidents(id),"                                     \
	" opened_at INTEGER NOT NULL,"                                                             \
	" opened_by TEXT NOT NULL,"                                                                \
	" deadline INTEGER NOT NULL,"                                                              \
	" signed_by TEXT NOT NULL DEFAULT '',"                                                     \
	" signed_at INTEGER NOT NULL DEFAULT 0,"                                                   \
	" learnings TEXT NOT NULL DEFAULT '',"                                                     \
	" overdue_noticed INTEGER NOT NULL DEFAULT 0);"

/* Version 7's cursors of the audit sinks (audit/sink.h): a cursor only moves forward. */
#define SINKS_SQL                                                                                  \
	"CREATE TABLE audit_sinks ("                                                               \
	" name TEXT PRIMARY KEY,"                                                                  \
	" seq INTEGER NOT NULL,"                                                                   \
	" updated_at INTEGER NOT NULL);"

/* Version 10's running totals of the capacity each grant spent (store.h, store_spend_add),
 * one row per runbook it spent under ('' outside runbooks). They only grow: a row cannot
 * be deleted or lowered (the trail, which `audit verify` checks, stays the ledger they
 * are counted from). */
#define SPEND_SQL                                                                                  \
	"CREATE TABLE grant_spend ("                                                               \
	" grant_id TEXT NOT NULL,"                                                                 \
	" runbook TEXT NOT NULL,"                                                                  \
	" read REAL NOT NULL,"                                                                     \
	" write REAL NOT NULL,"                                                                    \
	" PRIMARY KEY (grant_id, runbook)) WITHOUT ROWID;"                                         \
	"CREATE TRIGGER grant_spend_no_delete BEFORE DELETE ON grant_spend"                        \
	" BEGIN SELECT RAISE(ABORT, 'spent capacity only grows'); END;"                            \
	"CREATE TRIGGER grant_spend_no_lower BEFORE UPDATE ON grant_spend"                         \
	" WHEN NEW.read < OLD.read OR NEW.write < OLD.write OR NEW.grant_id IS NOT OLD.grant_id"   \
	" OR NEW.runbook IS NOT OLD.runbook"                                                       \
	" BEGIN SELECT RAISE(ABORT, 'spent capacity only grows'); END;"

/* Upgrading to version 10 counts what the trail's response records charged so far, as
 * the gateway did at every start before: a `charged` member's read and write when they
 * are numbers (else 0), its runbook when it is a string, rows with a negative or absurd
 * amount or a detail that is not JSON left out. */
#define SPEND_FROM_TRAIL_SQL                                                                       \
	"INSERT INTO grant_spend (grant_id, runbook, read, write)"                                 \
	" SELECT grant_id, runbook, total(read), total(write) FROM (SELECT grant_id,"              \
	"  CASE WHEN json_type(detail, '$.charged.runbook') = 'text'"                              \
	"   THEN json_extract(detail, '$.charged.runbook') ELSE '' END AS runbook,"                \
	"  CASE WHEN json_type(detail, '$.charged.read') IN ('integer', 'real')"                   \
	"   THEN json_extract(detail, '$.charged.read') ELSE 0 END AS read,"                       \
	"  CASE WHEN json_type(detail, '$.charged.write') IN ('integer', 'real')"                  \
	"   THEN json_extract(detail, '$.charged.write') ELSE 0 END AS write"                      \
	"  FROM audit WHERE kind = 'response' AND grant_id IS NOT NULL AND json_valid(detail)"     \
	"  AND json_type(detail, '$.charged') = 'object')"                                         \
	" WHERE read >= 0 AND write >= 0 AND read < 1e15 AND write < 1e15 GROUP BY 1, 2;"

/* The rest of a new store's schema (one string literal each stays within C's limit). */
static const char schema_sql_more[] = REQUESTS_SQL OUTBOX_SQL SINKS_SQL REVIEWS_SQL SPEND_SQL
    "INSERT INTO meta (key, value) VALUES ('schema_version', '" SCHEMA_VERSION "');";

typedef struct conn conn;

typedef struct sq_tx {
	store_tx base; /* first: a store_tx pointer is an sq_tx pointer */
	conn *c;
} sq_tx;

struct conn {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	sq_tx tx; /* the transaction open on this connection, if any */
	conn *next;
};

typedef struct sq_store {
	store base; /* first: a store pointer is an sq_store pointer */
	char *path;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool sync_ready; /* mu and cv initialised */
	conn *idle;
	int open; /* connections in existence (idle or checked out) */
} sq_store;

static sq_store *sq(store *s)
{
	return (sq_store *)s;
}

static conn *tx_conn(store_tx *tx)
{
	return ((sq_tx *)tx)->c;
}

/* --- connections --------------------------------------------------------------------- */

/* SQLite's result as a store error: a uniqueness conflict is BG_EEXISTS, a missing
 * referenced row BG_ENOTFOUND, anything else (a lock held too long, a full disk, a
 * trigger's refusal) BG_EIO. */
static int db_fail(bg_err *e, sqlite3 *db, int rc, const char *what)
{
	int code = BG_EIO;

	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		code = BG_EEXISTS;
	else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		code = BG_ENOTFOUND;
	return bg_err_set(e, code, "store: %s: %s", what,
	                  db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static void conn_free(conn *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
	free(c);
}

/* Opens a connection to an existing database file and applies the per-connection
 * settings. */
static int conn_open(const char *path, conn **out, bg_err *e)
{
	conn *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (c == NULL)
		return bg_err_set(e, BG_ENOMEM, "store: out of memory");
	rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = rc == SQLITE_CANTOPEN
		         ? bg_err_set(e, BG_ENOTFOUND, "store: cannot open %s (run init?)", path)
		         : db_fail(e, c->db, rc, "open");
		goto fail;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, BG_SQLITE_BUSY_TIMEOUT_MS);
	rc = sqlite3_exec(c->db,
	                  "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
	                  "PRAGMA wal_autocheckpoint = 0;"
	                  "PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF;"
	                  "PRAGMA cache_size = -" BG_STR(BG_SQLITE_CACHE_KIB) ";",
	                  NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = db_fail(e, c->db, rc, "configure");
		goto fail;
	}
	c->tx.c = c;
	*out = c;
	return 0;
fail:
	conn_free(c);
	return rc;
}

static int checkout(sq_store *s, conn **out, bg_err *e)
{
	conn *c;
	int rc;

	pthread_mutex_lock(&s->mu);
	while (s->idle == NULL && s->open >= POOL_MAX)
		pthread_cond_wait(&s->cv, &s->mu);
	if (s->idle != NULL) {
		c = s->idle;
		s->idle = c->next;
		pthread_mutex_unlock(&s->mu);
		c->next = NULL;
		*out = c;
		return 0;
	}
	s->open++;
	pthread_mutex_unlock(&s->mu);
	rc = conn_open(s->path, out, e); /* slow; outside the lock */
	if (rc != 0) {
		pthread_mutex_lock(&s->mu);
		s->open--;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
	return rc;
}

/* Returns c to the pool; a connection left inside a transaction (its rollback failed)
 * is closed instead, which rolls it back. */
static void checkin(sq_store *s, conn *c)
{
	bool keep = sqlite3_get_autocommit(c->db) != 0;

	if (!keep)
		conn_free(c);
	pthread_mutex_lock(&s->mu);
	if (keep) {
		c->next = s->idle;
		s->idle = c;
	} else {
		s->open--;
	}
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* --- running a statement ------------------------------------------------------------- */

/* A bound parameter: 'i' an integer, 't' text (SQL NULL when p is NULL; n == SIZE_MAX:
 * NUL-terminated), 'b' a blob. */
typedef struct arg {
	char type;
	int64_t i;
	const void *p;
	size_t n;
	double d;
} arg;

#define INT(v)                                                                                     \
	{                                                                                          \
		'i', (v), NULL, 0, 0                                                               \
	}
#define REAL(v)                                                                                    \
	{                                                                                          \
		'd', 0, NULL, 0, (v)                                                               \
	}
#define TEXT(s)                                                                                    \
	{                                                                                          \
		't', 0, (s), SIZE_MAX, 0                                                           \
	}
#define TEXTN(t)                                                                                   \
	{                                                                                          \
		't', 0, (t).p, (t).n, 0                                                            \
	}
#define BLOB(p, n)                                                                                 \
	{                                                                                          \
		'b', 0, (p), (n), 0                                                                \
	}
/* The parameters of a query, in order: ARGS(INT(x), TEXT(y)). */
#define ARGS(...)                                                                                  \
	.args = (const arg[]){__VA_ARGS__},                                                        \
	.nargs = sizeof((const arg[]){__VA_ARGS__}) / sizeof(arg)

/* Called with each row; returns 0 to go on, a positive value to stop, or a BG_E* code. */
typedef int (*row_fn)(void *ctx, sqlite3_stmt *q, bg_err *e);

typedef struct query {
	int st; /* which statement */
	const arg *args;
	size_t nargs;
	row_fn row; /* NULL: rows are only counted */
	void *ctx;
	int64_t count;   /* set by run(): the rows seen */
	int64_t changes; /* set by run(): the rows inserted, updated or deleted */
} query;

static void bind(sqlite3_stmt *q, int i, const arg *a)
{
	if (a->type == 'i')
		sqlite3_bind_int64(q, i, a->i);
	else if (a->type == 'd')
		sqlite3_bind_double(q, i, a->d);
	else if (a->p == NULL)
		sqlite3_bind_null(q, i);
	else if (a->type == 'b')
		sqlite3_bind_blob64(q, i, a->p, a->n, SQLITE_STATIC);
	else
		sqlite3_bind_text64(q, i, a->p, a->n == SIZE_MAX ? strlen(a->p) : a->n,
		                    SQLITE_STATIC, SQLITE_UTF8);
}

/* Runs one query on c (a transaction's connection), or on a connection borrowed from
 * the pool for the call when c is NULL: prepares it once per connection, binds its
 * parameters, steps through its rows handing each to qy->row, then resets it and drops
 * the bindings (they point into the caller's memory). Returns 0, the row function's
 * error, or SQLite's failure as a BG_E* code with what in the message. */
static int run(sq_store *s, conn *c, query *qy, const char *what, bg_err *e)
{
	conn *borrowed = NULL;
	sqlite3_stmt *q;
	size_t i;
	int rc = 0, step;

	qy->count = qy->changes = 0;
	if (c == NULL) {
		rc = checkout(s, &borrowed, e);
		if (rc != 0)
			return rc;
		c = borrowed;
	}
	q = c->st[qy->st];
	if (q == NULL) {
		step = sqlite3_prepare_v3(c->db, stmt_sql[qy->st], -1, SQLITE_PREPARE_PERSISTENT,
		                          &c->st[qy->st], NULL);
		if (step != SQLITE_OK) {
			rc = db_fail(e, c->db, step, what);
			goto out;
		}
		q = c->st[qy->st];
	}
	for (i = 0; i < qy->nargs; i++)
		bind(q, (int)i + 1, &qy->args[i]);
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		qy->count++;
		if (qy->row != NULL && (rc = qy->row(qy->ctx, q, e)) != 0)
			break;
	}
	if (rc > 0)
		rc = 0; /* stopped by the row function */
	else if (rc == 0 && step != SQLITE_DONE)
		rc = db_fail(e, c->db, step, what);
	qy->changes = rc == 0 && !sqlite3_stmt_readonly(q) ? sqlite3_changes64(c->db) : 0;
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
out:
	if (borrowed != NULL)
		checkin(s, borrowed);
	return rc;
}

/* A statement without parameters or rows (BEGIN, COMMIT, ROLLBACK). */
static int exec_stmt(sq_store *s, conn *c, int st, const char *what, bg_err *e)
{
	query qy = {.st = st};

	return run(s, c, &qy, what, e);
}

/* --- open and close ------------------------------------------------------------------ */

/* Removes the database file and SQLite's files beside it. */
static void remove_db(const char *path)
{
	char aux[PATH_MAX];

	unlink(path);
	if ((size_t)snprintf(aux, sizeof(aux), "%s-wal", path) < sizeof(aux))
		unlink(aux);
	if ((size_t)snprintf(aux, sizeof(aux), "%s-shm", path) < sizeof(aux))
		unlink(aux);
}

static void pool_add(sq_store *s, conn *c)
{
	c->next = s->idle;
	s->idle = c;
	s->open++;
}

/* Creates the database file exclusively, so two concurrent inits cannot both win. */
static int create_db(sq_store *s, bg_err *e)
{
	conn *c = NULL;
	int fd, rc;

	fd = open(s->path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return bg_err_set(e, BG_EEXISTS, "store: %s already exists", s->path);
		return bg_err_set(e, BG_EIO, "store: cannot create %s: %s", s->path,
		                  strerror(errno));
	}
	close(fd); /* an empty file is an empty SQLite database */
	rc = conn_open(s->path, &c, e);
	if (rc == 0)
		rc = exec_stmt(s, c, ST_BEGIN, "create", e);
	if (rc == 0) {
		rc = sqlite3_exec(c->db, schema_sql, NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(c->db, schema_sql_more, NULL, NULL, NULL);
		rc = rc == SQLITE_OK ? exec_stmt(s, c, ST_COMMIT, "create", e)
		                     : db_fail(e, c->db, rc, "create");
		if (rc != 0)
			(void)exec_stmt(s, c, ST_ROLLBACK, "create", NULL);
	}
	if (rc != 0) {
		conn_free(c);
		remove_db(s->path); /* leave nothing behind, so init can simply be retried */
		return rc;
	}
	pool_add(s, c);
	return 0;
}

/* Each step brings a store from version N (its index + 1) to N + 1, in one transaction
 * with the version's update. */
static const char *const migrations[] = {
    /* 1 -> 2: grants pin runbooks. */
    "ALTER TABLE grants ADD COLUMN runbooks TEXT NOT NULL DEFAULT '[]';",
    /* 2 -> 3: users can be disabled and locked out after wrong TOTP codes. */
    "ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN otp_failures INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN locked_until INTEGER NOT NULL DEFAULT 0;",
    /* 3 -> 4: incidents, their alerts and history, and webhook deliveries seen. */
    INCIDENTS_SQL,
    /* 4 -> 5: break-glass requests and approvals. */
    REQUESTS_SQL,
    /* 5 -> 6: notifications. Grants that expired before are not news: noticed already. */
    "ALTER TABLE grants ADD COLUMN expiry_noticed INTEGER NOT NULL DEFAULT 0;"
    "UPDATE grants SET expiry_noticed = 1 WHERE expires_at <= "
    "CAST(strftime('%s', 'now') AS INTEGER);" OUTBOX_SQL,
    /* 6 -> 7: the audit sinks' cursors. */
    SINKS_SQL,
    /* 7 -> 8: post-incident reviews. */
    REVIEWS_SQL,
    /* 8 -> 9: the audit table by request_id. */
    AUDIT_REQUEST_SQL,
    /* 9 -> 10: capacity spent, as running totals. */
    SPEND_SQL SPEND_FROM_TRAIL_SQL,
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == SCHEMA_VERSION_N - 1,
               "one migration per version");

static int schema_row(void *ctx, sqlite3_stmt *q, bg_err *e)
{
	const unsigned char *v = sqlite3_column_text(q, 0);
	int *version = ctx;
	char *end = NULL;
	long n = v != NULL && v[0] >= '1' && v[0] <= '9' ? strtol((const char *)v, &end, 10) : 0;

	*version = end != NULL && *end == '\0' && n <= SCHEMA_VERSION_N ? (int)n : 0;
	if (*version == 0 || *version > SCHEMA_VERSION_N)
		return bg_err_set(e, BG_EINVAL,
		                  "store: unsupported schema version %s (this build knows 1 to %s)",
		                  v != NULL ? (const char *)v : "(none)", SCHEMA_VERSION);
	return 0;
}

/* Brings the store from version to SCHEMA_VERSION. */
static int migrate(sq_store *s, conn *c, int version, bg_err *e)
{
	char sql[4096];
	int rc = 0;

	for (; rc == 0 && version < SCHEMA_VERSION_N; version++) {
		snprintf(sql, sizeof(sql),
		         "%sUPDATE meta SET value = '%d' WHERE key = 'schema_version';",
		         migrations[version - 1], version + 1);
		rc = exec_stmt(s, c, ST_BEGIN, "upgrade", e);
		if (rc != 0)
			break;
		rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
		rc = rc == SQLITE_OK ? exec_stmt(s, c, ST_COMMIT, "upgrade", e)
		                     : db_fail(e, c->db, rc, "upgrade");
		if (rc != 0)
			(void)exec_stmt(s, c, ST_ROLLBACK, "upgrade", NULL);
	}
	return rc;
}

static int check_db(sq_store *s, bg_err *e)
{
	int version = 0;
	query qy = {.st = ST_SCHEMA_VERSION, .row = schema_row, .ctx = &version};
	conn *c = NULL;
	int rc;

	rc = conn_open(s->path, &c, e);
	if (rc != 0)
		return rc;
	rc = run(s, c, &qy, "schema version", e);
	if (rc == 0 && qy.count != 0)
		rc = migrate(s, c, version, e);
	if (rc == BG_EIO)
		rc = bg_err_set(e, BG_EINVAL, "store: %s is not a breakglass store (%s)", s->path,
		                sqlite3_errmsg(c->db));
	else if (rc == 0 && qy.count == 0)
		rc = bg_err_set(e, BG_EINVAL, "store: no schema version");
	if (rc != 0) {
		conn_free(c);
		return rc;
	}
	pool_add(s, c);
	return 0;
}

static void sq_close(store *st)
{
	sq_store *s = sq(st);
	conn *c;

	while ((c = s->idle) != NULL) {
		s->idle = c->next;
		conn_free(c);
	}
	if (s->sync_ready) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
	}
	free(s->path);
	free(s);
}

static int sq_open(const char *where, bool create, store **out, bg_err *e)
{
	datadir *dd = NULL;
	sq_store *s;
	int rc;

	*out = NULL;
	if (!sqlite3_threadsafe())
		return bg_err_set(e, BG_EINVAL, "store: SQLite built without thread support");
	rc = datadir_open(where, create, &dd, e);
	if (rc != 0)
		return rc;
	s = calloc(1, sizeof(*s));
	rc = bg_err_set(e, BG_ENOMEM, "store: out of memory");
	if (s == NULL)
		goto out;
	s->path = strdup(datadir_path(dd, DATADIR_DB));
	if (s->path == NULL || pthread_mutex_init(&s->mu, NULL) != 0)
		goto fail;
	if (pthread_cond_init(&s->cv, NULL) != 0) {
		pthread_mutex_destroy(&s->mu);
		goto fail;
	}
	s->sync_ready = true;
	rc = create ? create_db(s, e) : check_db(s, e);
	if (rc != 0)
		goto fail;
	*out = &s->base;
	goto out;
fail:
	sq_close(&s->base);
out:
	datadir_free(dd);
	return rc;
}

static void sq_maintain(store *st)
{
	conn *c;

	if (checkout(sq(st), &c, NULL) != 0)
		return;
	(void)sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	checkin(sq(st), c);
}

/* --- transactions -------------------------------------------------------------------- */

static int sq_begin(store *st, store_tx **out, bg_err *e)
{
	conn *c;
	int rc;

	rc = checkout(sq(st), &c, e);
	if (rc != 0)
		return rc;
	rc = exec_stmt(sq(st), c, ST_BEGIN, "begin", e);
	if (rc != 0) {
		checkin(sq(st), c);
		return rc;
	}
	*out = &c->tx.base;
	return 0;
}

static void sq_rollback(store_tx *tx)
{
	sq_store *s = sq(tx->s);
	conn *c = tx_conn(tx);

	/* SQLite may have rolled back already (after some I/O errors). */
	if (!sqlite3_get_autocommit(c->db))
		(void)exec_stmt(s, c, ST_ROLLBACK, "rollback", NULL);
	checkin(s, c);
}

static int sq_commit(store_tx *tx, bg_err *e)
{
	int rc = exec_stmt(sq(tx->s), tx_conn(tx), ST_COMMIT, "commit", e);

	if (rc != 0) {
		sq_rollback(tx);
		return rc;
	}
	checkin(sq(tx->s), tx_conn(tx));
	return 0;
}

/* --- row decoding -------------------------------------------------------------------- */

/* Copies text column i into dst (of cap bytes); false if it does not fit. */
static bool col_text(sqlite3_stmt *q, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	size_t n = (size_t)sqlite3_column_bytes(q, i);

	if (t == NULL || n >= cap)
		return false;
	memcpy(dst, t, n);
	dst[n] = '\0';
	return true;
}

static bool col_blob(sqlite3_stmt *q, int i, uint8_t *dst, size_t n)
{
	const void *b = sqlite3_column_blob(q, i);

	if (b == NULL || (size_t)sqlite3_column_bytes(q, i) != n)
		return false;
	memcpy(dst, b, n);
	return true;
}

/* Column i as borrowed text; SQL NULL as p == NULL. */
static int read_user(void *ctx, sqlite3_stmt *q, bg_err *e)
{
	store_user *u = ctx;

	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(q, 0);
	if (!col_text(q, 1, u->name, sizeof(u->name)) ||
	    !col_text(q, 2, u->role, sizeof(u->role)) ||
	    !col_blob(q, 3, u->totp_seed, sizeof(u->totp_seed)))
		return bg_err_set(e, BG_EIO, "store: corrupt user row %lld", (long long)u->id);
	u->last_otp_counter = sqlite3_column_int64(q, 4);
	u->created_at = sqlite3_column_int64(q, 5);
	u->disabled = sqlite3_column_int64(q, 6) != 0;
	u->otp_failures = sqlite3_column_int64(q, 7);
	u->locked_until = sqlite3_column_int64(q, 8);
	return 1; /* one is all there is */
}

typedef struct user_lister {
	int (*fn)(void *ctx, const store_user *u);
	void *ctx;
} user_lister;

static int list_user(void *ctx, sqlite3_stmt *q, bg_err *e)
{
	user_lister *l = ctx;
	store_user u;
	int rc = read_user(&u, q, e);

	if (rc < 0)
		return rc;
	rc = l->fn(l->ctx, &u);
	return rc != 0 ? rc : 0;
}

/* Parses a JSON array of strings into n rows of a char[rows][width] array. */
static bool json_names(const unsigned char *text, char *rows, size_t max, size_t width, size_t *n)
{
	json_t *a = text ? json_loads((const char *)text, JSON_REJECT_DUPLICATES, NULL) : NULL;
	size_t i;
	bool ok = a != NULL && json_is_array(a) && json_array_size(a) <= max;

	for (i = 0; ok && i < json_array_size(a); i++) {
		json_t *v = json_array_get(a, i);
		size_t len = json_string_length(v);
		if (!json_is_string(v) || len >= width) {
			ok = false;
			break;
		}
		memcpy(rows + i * width, json_string_value(v), len + 1);
	}
	if (ok)
		*n = json_array_size(a);
	json_decref(a);
	return ok;
}

/* The rows of a char[n][width] array as a JSON array text (caller frees). */
static char *names_json(const char *rows, size_t n, size_t width)
{
	json_t *a = json_array();
	char *out = NULL;
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (json_array_append_new(a, json_string(rows + i * width)) != 0)
			goto out;
	out = json_dumps(a, JSON_COMPACT);
out:
	json_decref(a);
	return out;
}

/* A grant's runbook pins as the runbooks column: ["ID@SHA256", ...] (caller frees). */
typedef char pin_id[BG_MAX_RUNBOOK_ID + 1];
typedef char pin_hash[65];

/* Runbook pins (a grant's or a request's) as a JSON array of "ID@SHA256". */
static char *pins_json(size_t n, const pin_id *ids, const pin_hash *hashes)
{
	char rows[BG_MAX_GRANT_RUNBOOKS][BG_MAX_RUNBOOK_ID + 66];
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(rows[i], sizeof(rows[i]), "%s@%s", ids[i], hashes[i]);
	return names_json(&rows[0][0], n, sizeof(rows[0]));
}

/* A runbooks column back into pins. */
static bool pins_read(const unsigned char *text, size_t *np, pin_id *ids, pin_hash *hashes)
{
	char rows[BG_MAX_GRANT_RUNBOOKS][BG_MAX_RUNBOOK_ID + 66], *at;
	size_t i, n = 0;

	if (!json_names(text, &rows[0][0], BG_MAX_GRANT_RUNBOOKS, sizeof(rows[0]), &n))
		return false;
	for (i = 0; i < n; i++) {
		at = strchr(rows[i], '@');
		if (at == NULL || (size_t)(at - rows[i]) > BG_MAX_RUNBOOK_ID ||
		    strlen(at + 1) != 64)
			return false;
		memcpy(ids[i], rows[i], (size_t)(at - rows[i]));
		ids[i][at - rows[i]] = '\0';
		memcpy(hashes[i], at + 1, 65);
	}
	*np = n;
	return true;
}

static int grant_row(store_grant *g, sqlite3_stmt *q, bg_err *e)
{
	memset(g, 0, sizeof(*g));
	if (!col_text(q, 0, g->id, sizeof(g->id)) || !col_text(q, 1, g->user, sizeof(g->user)) ||
	    !col_text(q, 2, g->created_by, sizeof(g->created_by)) ||
	    !col_text(q, 3, g->kind, sizeof(g->kind)) ||
	    !col_text(q, 4, g->access_key_id, sizeof(g->access_key_id)) ||
	    !col_blob(q, 5, g->session_token_hash, sizeof(g->session_token_hash)) ||
	    !json_names(sqlite3_column_text(q, 6), &g->tables[0][0], BG_MAX_GRANT_TABLES,
	                sizeof(g->tables[0]), &g->n_tables) ||
	    !json_names(sqlite3_column_text(q, 7), &g->ops[0][0], BG_MAX_GRANT_OPS,
	                sizeof(g->ops[0]), &g->n_ops) ||
	    !col_text(q, 11, g->revoked_by, sizeof(g->revoked_by)) ||
	    !col_text(q, 12, g->reason, sizeof(g->reason)) ||
	    !pins_read(sqlite3_column_text(q, 13), &g->n_runbooks, g->runbooks, g->runbook_hashes))
		return bg_err_set(e, BG_EIO, "store: corrupt grant row %s", g->id);
	g->created_at = sqlite3_column_int64(q, 8);
	g->expires_at = sqlite3_column_int64(q, 9);
	g->revoked_at = sqlite3_column_int64(q, 10);
	return 0;
}

static int read_grant(void *ctx, sqlite3_stmt *q, bg_err *e)
{
	int rc = grant_row(ctx, q, e);

	return rc != 0 ? rc : 1; /* one is all there is */
}

/* --- users --------------------------------------------------------------------------- */

static int sq_user_add(store_tx *tx, const char *name, const char *role,
                       const uint8_t token_hash[32], const uint8_t totp_seed[16], int64_t now,
                       bg_err *e)
{
	query qy = {
	    .st = ST_USER_ADD,
	    ARGS(TEXT(name), TEXT(role), BLOB(token_hash, 32), BLOB(totp_seed, 16), INT(now))};
	bg_err why;
	int rc;

	rc = run(sq(tx->s), tx_conn(tx), &qy, "add user", &why);
	if (rc == BG_EEXISTS)
		return strstr(why.msg, "users.name") != NULL
		           ? bg_err_set(e, BG_EEXISTS, "user %s already exists", name)
		           : bg_err_set(e, BG_EEXISTS, "store: API token already in use");
	if (rc != 0 && e != NULL)
		*e = why;
	return rc;
}

static int sq_user_get(store *st, store_user_key by, const void *key, store_user *out, bg_err *e)
{
	query by_name = {.st = ST_USER_BY_NAME, ARGS(TEXT(key)), .row = read_user, .ctx = out};
	query by_token = {
	    .st = ST_USER_BY_TOKEN, ARGS(BLOB(key, 32)), .row = read_user, .ctx = out};
	query *qy = by == STORE_USER_BY_NAME ? &by_name : &by_token;
	int rc = run(sq(st), NULL, qy, "find user", e);

	if (rc == 0 && qy->count == 0)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such user");
	return rc;
}

static int otp_locked_row(void *ctx, sqlite3_stmt *q, bg_err *e)
{
	(void)e;
	*(bool *)ctx = sqlite3_column_int64(q, 0) != 0;
	return 0;
}

static int sq_user_otp_result(store_tx *tx, int64_t user_id, bool ok, int64_t max_failures,
                              int64_t lock_until, bool *locked, bg_err *e)
{
	query good = {.st = ST_USER_OTP_OK, ARGS(INT(user_id))};
	query bad = {.st = ST_USER_OTP_WRONG,
	             ARGS(INT(user_id), INT(max_failures), INT(lock_until)),
	             .row = otp_locked_row,
	             .ctx = locked};
	query *qy = ok ? &good : &bad;
	int rc;

	*locked = false;
	rc = run(sq(tx->s), tx_conn(tx), qy, "count a TOTP code", e);
	if (rc == 0 && qy->changes == 0 && qy->count == 0)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such user");
	return rc;
}

static int sq_user_list(store *st, int (*fn)(void *ctx, const store_user *u), void *ctx, bg_err *e)
{
	user_lister l = {fn, ctx};
	query qy = {.st = ST_USER_LIST, .row = list_user, .ctx = &l};

	return run(sq(st), NULL, &qy, "list users", e);
}

static int sq_user_update(store_tx *tx, const store_user *u, const uint8_t *token_hash, bg_err *e)
{
	query up = {.st = ST_USER_UPDATE,
	            ARGS(INT(u->id), TEXT(u->role), BLOB(u->totp_seed, 16),
	                 INT(u->disabled ? 1 : 0), INT(u->otp_failures), INT(u->locked_until))};
	query tok = {.st = ST_USER_UPDATE_TOKEN, ARGS(INT(u->id), BLOB(token_hash, 32))};
	int rc = run(sq(tx->s), tx_conn(tx), &up, "update user", e);

	if (rc == 0 && up.changes != 1)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such user");
	if (rc == 0 && token_hash != NULL)
		rc = run(sq(tx->s), tx_conn(tx), &tok, "update user", e);
	return rc;
}

static int sq_user_use_otp(store_tx *tx, int64_t user_id, int64_t counter, bg_err *e)
{
	query use = {.st = ST_USER_USE_OTP, ARGS(INT(user_id), INT(counter))};
	query exists = {.st = ST_USER_EXISTS, ARGS(INT(user_id))};
	int rc;

	rc = run(sq(tx->s), tx_conn(tx), &use, "record TOTP use", e);
	if (rc != 0 || use.changes == 1)
		return rc;
	/* Nothing updated: either the code was used already or there is no such user. */
	rc = run(sq(tx->s), tx_conn(tx), &exists, "find user", e);
	if (rc != 0)
		return rc;
	return exists.count != 0 ? bg_err_set(e, BG_EDENIED, "TOTP code already used")
	                         : bg_err_set(e, BG_ENOTFOUND, "no such user");
}

/* --- grants -------------------------------------------------------------------------- */

static int sq_grant_add(store_tx *tx, const store_grant *g, bg_err *e)
{
	char *tables = names_json(&g->tables[0][0], g->n_tables, sizeof(g->tables[0]));
	char *ops = names_json(&g->ops[0][0], g->n_ops, sizeof(g->ops[0]));
	char *pins = pins_json(g->n_runbooks, g->runbooks, g->runbook_hashes);
	query qy = {.st = ST_GRANT_ADD,
	            ARGS(TEXT(g->id), TEXT(g->user), TEXT(g->created_by), TEXT(g->kind),
	                 TEXT(g->access_key_id), BLOB(g->session_token_hash, 32), TEXT(tables),
	                 TEXT(ops), INT(g->created_at), INT(g->expires_at), INT(g->revoked_at),
	                 TEXT(g->revoked_by), TEXT(g->reason), TEXT(pins))};
	int rc;

	if (tables == NULL || ops == NULL || pins == NULL)
		rc = bg_err_set(e, BG_ENOMEM, "store: out of memory");
	else
		rc = run(sq(tx->s), tx_conn(tx), &qy, "add grant", e);
	if (rc == BG_ENOTFOUND)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such user %s", g->user);
	else if (rc == BG_EEXISTS)
		rc = bg_err_set(e, BG_EEXISTS, "grant id or access key id already exists");
	free(tables);
	free(ops);
	free(pins);
	return rc;
}

/* The grant by id or access key id, on c (NULL: a pooled connection). */
static int grant_get(sq_store *s, conn *c, store_grant_key by, const char *key, store_grant *out,
                     bg_err *e)
{
	query qy = {.st = by == STORE_GRANT_BY_ID ? ST_GRANT_BY_ID : ST_GRANT_BY_AKID,
	            ARGS(TEXT(key)),
	            .row = read_grant,
	            .ctx = out};
	int rc = run(s, c, &qy, "find grant", e);

	if (rc == 0 && qy.count == 0)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such grant");
	return rc;
}

static int sq_grant_get(store *st, store_grant_key by, const char *key, store_grant *out, bg_err *e)
{
	return grant_get(sq(st), NULL, by, key, out, e);
}

static int sq_grant_revoke(store_tx *tx, const char *id, const char *who, int64_t now,
                           store_grant *out, bg_err *e)
{
	query qy = {.st = ST_GRANT_REVOKE, ARGS(TEXT(id), INT(now), TEXT(who))};
	int rc;

	/* No row updated: already revoked (the first revocation stands) or no such grant,
	 * which reading it back tells apart. */
	rc = run(sq(tx->s), tx_conn(tx), &qy, "revoke grant", e);
	return rc != 0 ? rc : grant_get(sq(tx->s), tx_conn(tx), STORE_GRANT_BY_ID, id, out, e);
}

static int sq_grant_get_tx(store_tx *tx, const char *id, store_grant *out, bg_err *e)
{
	return grant_get(sq(tx->s), tx_conn(tx), STORE_GRANT_BY_ID, id, out, e);
}

static int sq_grant_extend(store_tx *tx, const char *id, int64_t expires_at, bg_err *e)
{
	query qy = {.st = ST_GRANT_EXTEND, ARGS(TEXT(id), INT(expires_at))};
	int rc = run(sq(tx->s), tx_conn(tx), &qy, "extend grant", e);

	if (rc == 0 && qy.changes == 0)
		rc = bg_err_set(e, BG_EINVAL, "grant %s is revoked or gone", id);
	return rc;
}

typedef struct page_ctx {
	store_grant *page;
	size_t n;
} page_ctx;

static int page_row(void *ctx, sqlite3_stmt *q, bg_err *e)
{
	page_ctx *p = ctx;
	int rc = grant_row(&p->page[p->n], q, e);

	if (rc == 0)
		p->n++;
	return rc;
}

static int sq_grant_page(store *st, const char *user, const store_grant *after, store_grant *page,
                         size_t max, size_t *n, bg_err *e)
{
	page_ctx p = {page, 0};
	query qy = {.st = user ? ST_GRANT_PAGE_USER : ST_GRANT_PAGE_ALL,
	            ARGS(INT(after ? after->created_at : INT64_MAX), TEXT(after ? after->id : NULL),
	                 INT((int64_t)max), TEXT(user)),
	            .row = page_row,
	            .ctx = &p};
	int rc;

	if (user == NULL)
		qy.nargs--; /* ?4, the user, is only in the per-user statement */
	rc = run(sq(st), NULL, &qy, "list grants", e);
	*n = p.n;
	return rc;
}

/* --- incidents ----------------------------------------------------------------------- */

static int incident_row(store_incident *in, sqlite3_stmt *q, bg_err *e)
{
	memset(in, 0, sizeof(*in));
	if (!col_text(q, 0, in->id, sizeof(in->id)) ||
	    !col_text(q, 1, in->source, sizeof(in->source)) ||
	    !col_text(q, 2, in->group_key, sizeof(in->group_key)) ||
	    !col_text(q, 4, in->title, sizeof(in->title)) ||
	    !col_text(q, 5, in->service, sizeof(in->service)) ||
	    !col_text(q, 7, in->opened_by, sizeof(in->opened_by)) ||
	    !col_text(q, 11, in->resolved_by, sizeof(in->resolved_by)))
		return bg_err_set(e, BG_EIO, "store: incident row is corrupt");
	in->severity = sqlite3_column_int64(q, 3);
	in->open = sqlite3_column_int64(q, 6) != 0;
	in->opened_at = sqlite3_column_int64(q, 8);
	in->updated_at = sqlite3_column_int64(q, 9);
	in->resolved_at = sqlite3_column_int64(q, 10);
	in->firing = sqlite3_column_int64(q, 12);
	in->last_firing_at = sqlite3_column_int64(q, 13);
	in->alerts_resolved_at = sqlite3_column_int64(q, 14);
	in->review_required = sqlite3_column_int64(q, 15) != 0;
	return 0;
}

static int read_incident(void *ctx, sqlite3_stmt *q, bg_err *e)
{
	int rc = incident_row(ctx, q, e);

	return rc != 0 ? rc : 1;
}

static int sq_incident_add(store_tx *tx, const store_incident *in, bg_err *e)
{
	query qy = {.st = ST_INCIDENT_ADD,
	            ARGS(TEXT(in->id), TEXT(in->source), TEXT(in->group_key), INT(in->severity),
	                 TEXT(in->title), TEXT(in->service), INT(in->open), TEXT(in->opened_by),
	                 INT(in->opened_at), INT(in->updated_at), INT(in->resolved_at),
	                 TEXT(in->resolved_by), INT(in->firing), INT(in->last_firing_at),
	                 INT(in->alerts_resolved_at), INT(in->review_required))};
	int rc = run(sq(tx->s), tx_conn(tx), &qy, "add incident", e);

	if (rc == BG_EEXISTS)
		rc = bg_err_set(e, BG_EEXISTS, "incident %s already exists", in->id);
	return rc;
}

/* Runs a statement that yields at most one incident; BG_ENOTFOUND when it yields none. */
static int incident_query(sq_store *s, conn *c, query *qy, store_incident *out, bg_err *e)
{
	int rc;

	qy->row = read_incident;
	qy->ctx = out;
	rc = run(s, c, qy, "find incident", e);
	if (rc == 0 && qy->count == 0)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such incident");
	return rc;
}

static int sq_incident_get(store *st, store_tx *tx, const char *id, store_incident *out, bg_err *e)
{
	query qy = {.st = ST_INCIDENT_GET, ARGS(TEXT(id))};

	return incident_query(sq(st), tx ? tx_conn(tx) : NULL, &qy, out, e);
}

static int sq_incident_find_open(store_tx *tx, const char *source, const char *group,
                                 store_incident *out, bg_err *e)
{
	query qy = {.st = ST_INCIDENT_FIND_OPEN, ARGS(TEXT(source), TEXT(group))};

	return incident_query(sq(tx->s), tx_conn(tx), &qy, out, e);
}

static int sq_incident_update(store_tx *tx, const store_incident *in, bg_err *e)
{
	query qy = {.st = ST_INCIDENT_UPDATE,
	            ARGS(TEXT(in->id), INT(in->severity), TEXT(in->title), TEXT(in->service),
	                 INT(in->open), INT(in->updated_at), INT(in->resolved_at),
	                 TEXT(in->resolved_by), INT(in->firing), INT(in->last_firing_at),
	                 INT(in->alerts_resolved_at), INT(in->review_required))};
	int rc = run(sq(tx->s), tx_conn(tx), &qy, "update incident", e);

	if (rc == BG_EEXISTS) /* reopened while its group has another open incident */
		rc = bg_err_set(e, BG_EEXISTS, "its alert group has another open incident");
	else if (rc == 0 && qy.changes == 0)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such incident");
	return rc;
}

/* A listing of incidents, alerts or incident events: each row decoded into the scratch
 * row and handed to the caller's function of that type. */
typedef enum list_kind {
	LIST_INCIDENTS,
	LIST_ALERTS,
	LIST_EVENTS,
	LIST_REQUESTS,
	LIST_APPROVALS
} list_kind;

typedef struct list_ctx {
	list_kind kind;
	union {
		int (*incident)(void *ctx, const store_incident *in);
		int (*alert)(void *ctx, const store_alert *a);
		int (*event)(void *ctx, const store_incident_event *ev);
		int (*request)(void *ctx, const store_request *r);
		int (*approval)(void *ctx, const store_approval *a);
	} fn;
	void *ctx;
	union {
		store_incident incident;
		store_alert alert;
		store_incident_event event;
		store_request request;
		store_approval approval;
	} row;
} list_ctx;

static int alert_row(store_alert *a, sqlite3_stmt *q, bg_err *e);
static int event_row(store_incident_event *ev, sqlite3_stmt *q, bg_err *e);
static int request_row(store_request *r, sqlite3_stmt *q, bg_err *e);
static int approval_row(store_approval *a, sqlite3_stmt *q, bg_err *e);

static int list_row(void *ctx, sqlite3_stmt *q, bg_err *e)
{
	list_ctx *l = ctx;
	int rc;

	switch (l->kind) {
	case LIST_INCIDENTS:
		rc = incident_row(&l->row.incident, q, e);
		return rc != 0 ? rc : l->fn.incident(l->ctx, &l->row.incident);
	case LIST_ALERTS:
		rc = alert_row(&l->row.alert, q, e);
		return rc != 0 ? rc : l->fn.alert(l->ctx, &l->row.alert);
	case LIST_EVENTS:
		rc = event_row(&l->row.event, q, e);
		return rc != 0 ? rc : l->fn.event(l->ctx, &l->row.event);
	case LIST_REQUESTS:
		rc = request_row(&l->row.request, q, e);
		return rc != 0 ? rc : l->fn.request(l->ctx, &l->row.request);
	case LIST_APPROVALS:
		rc = approval_row(&l->row.approval, q, e);
		return rc != 0 ? rc : l->fn.approval(l->ctx, &l->row.approval);
	}
	return bg_err_set(e, BG_EIO, "store: unknown listing");
}

/* Runs the statement st on c (NULL: a pooled connection) with at most one text parameter
 * (NULL: none), handing each row to l's function. */
static int list_rows_on(sq_store *s, conn *c, int st, const char *param, list_ctx *l,
                        const char *what, bg_err *e)
{
	query qy = {.st = st, ARGS(TEXT(param)), .row = list_row, .ctx = l};

	if (param == NULL)
		qy.nargs = 0;
	return run(s, c, &qy, what, e);
}

/* list_rows_on() on a pooled connection. */
static int list_rows(sq_store *s, int st, const char *param, list_ctx *l, const char *what,
                     bg_err *e)
{
	return list_rows_on(s, NULL, st, param, l, what, e);
}

static int sq_incident_list(store *st, int (*fn)(void *ctx, const store_incident *in), void *ctx,
                            bg_err *e)
{
	list_ctx l = {.kind = LIST_INCIDENTS, .fn.incident = fn, .ctx = ctx};

	return list_rows(sq(st), ST_INCIDENT_LIST, NULL, &l, "list incidents", e);
}

static int alert_row(store_alert *a, sqlite3_stmt *q, bg_err *e)
{
	memset(a, 0, sizeof(*a));
	if (!col_text(q, 0, a->incident, sizeof(a->incident)) ||
	    !col_text(q, 1, a->key, sizeof(a->key)) || !col_text(q, 2, a->name, sizeof(a->name)) ||
	    !col_text(q, 7, a->summary, sizeof(a->summary)))
		return bg_err_set(e, BG_EIO, "store: alert row is corrupt");
	a->firing = sqlite3_column_int64(q, 3) != 0;
	a->starts_at = sqlite3_column_int64(q, 4);
	a->ends_at = sqlite3_column_int64(q, 5);
	a->updated_at = sqlite3_column_int64(q, 6);
	return 0;
}

static int read_alert(void *ctx, sqlite3_stmt *q, bg_err *e)
{
	int rc = alert_row(ctx, q, e);

	return rc != 0 ? rc : 1;
}

static int sq_alert_get(store_tx *tx, const char *incident, const char *key, store_alert *out,
                        bg_err *e)
{
	query qy = {
	    .st = ST_ALERT_GET, ARGS(TEXT(incident), TEXT(key)), .row = read_alert, .ctx = out};
	int rc = run(sq(tx->s), tx_conn(tx), &qy, "find alert", e);

	if (rc == 0 && qy.count == 0)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such alert");
	return rc;
}

static int sq_alert_put(store_tx *tx, const store_alert *a, bg_err *e)
{
	query qy = {.st = ST_ALERT_PUT,
	            ARGS(TEXT(a->incident), TEXT(a->key), TEXT(a->name), INT(a->firing),
	                 INT(a->starts_at), INT(a->ends_at), INT(a->updated_at), TEXT(a->summary))};
	int rc = run(sq(tx->s), tx_conn(tx), &qy, "store alert", e);

	if (rc == BG_ENOTFOUND)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such incident %s", a->incident);
	return rc;
}

static int sq_alert_list(store *st, const char *incident,
                         int (*fn)(void *ctx, const store_alert *a), void *ctx, bg_err *e)
{
	list_ctx l = {.kind = LIST_ALERTS, .fn.alert = fn, .ctx = ctx};

	return list_rows(sq(st), ST_ALERT_LIST, incident, &l, "list alerts", e);
}

static int count_row(void *ctx, sqlite3_stmt *q, bg_err *e)
{
	int64_t **out = ctx;

	*out[0] = sqlite3_column_int64(q, 0);
	*out[1] = sqlite3_column_int64(q, 1);
	return 1;
}

static int sq_alert_count(store_tx *tx, const char *incident, int64_t *firing, int64_t *all,
                          bg_err *e)
{
	int64_t *out[2] = {firing, all};
	query qy = {.st = ST_ALERT_COUNT, ARGS(TEXT(incident)), .row = count_row, .ctx = out};

	*firing = *all = 0;
	return run(sq(tx->s), tx_conn(tx), &qy, "count alerts", e);
}

static int sq_incident_event_add(store_tx *tx, const char *incident, const store_incident_event *ev,
                                 bg_err *e)
{
	query qy = {
	    .st = ST_EVENT_ADD,
	    ARGS(TEXT(incident), INT(ev->at), TEXT(ev->kind), TEXT(ev->actor), TEXT(ev->text))};
	int rc = run(sq(tx->s), tx_conn(tx), &qy, "add incident event", e);

	if (rc == BG_ENOTFOUND)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such incident %s", incident);
	return rc;
}

static int event_row(store_incident_event *ev, sqlite3_stmt *q, bg_err *e)
{
	memset(ev, 0, sizeof(*ev));
	ev->at = sqlite3_column_int64(q, 0);
	if (!col_text(q, 1, ev->kind, sizeof(ev->kind)) ||
	    !col_text(q, 2, ev->actor, sizeof(ev->actor)) ||
	    !col_text(q, 3, ev->text, sizeof(ev->text)))
		return bg_err_set(e, BG_EIO, "store: incident event row is corrupt");
	return 0;
}

static int sq_incident_event_list(store *st, const char *incident,
                                  int (*fn)(void *ctx, const store_incident_event *ev), void *ctx,
                                  bg_err *e)
{
	list_ctx l = {.kind = LIST_EVENTS, .fn.event = fn, .ctx = ctx};

	return list_rows(sq(st), ST_EVENT_LIST, incident, &l, "list incident events", e);
}

static int sq_delivery_record(store_tx *tx, const char *source, const char *id, int64_t now,
                              bg_err *e)
{
	query prune = {.st = ST_DELIVERY_PRUNE, ARGS(INT(now - BG_HOOK_DELIVERY_MEMORY))};
	query add = {.st = ST_DELIVERY_ADD, ARGS(TEXT(source), TEXT(id), INT(now))};
	int rc = run(sq(tx->s), tx_conn(tx), &prune, "forget old deliveries", e);

	if (rc == 0)
		rc = run(sq(tx->s), tx_conn(tx), &add, "record delivery", e);
	if (rc == 0 && add.changes == 0)
		rc = bg_err_set(e, BG_EEXISTS, "delivery %s from %s was received already", id,
		                source);
	return rc;
}

/* --- requests and approvals ------------------------------------------------------------ */

static int request_row(store_request *r, sqlite3_stmt *q, bg_err *e)
{
	memset(r, 0, sizeof(*r));
	if (!col_text(q, 0, r->id, sizeof(r->id)) ||
	    !col_text(q, 1, r->requester, sizeof(r->requester)) ||
	    !col_text(q, 2, r->incident, sizeof(r->incident)) ||
	    !pins_read(sqlite3_column_text(q, 3), &r->n_runbooks, r->runbooks, r->runbook_hashes) ||
	    !col_text(q, 4, r->reason, sizeof(r->reason)) ||
	    !col_text(q, 5, r->ticket, sizeof(r->ticket)) ||
	    !col_text(q, 7, r->criteria, sizeof(r->criteria)) ||
	    !col_text(q, 8, r->state, sizeof(r->state)) ||
	    !col_text(q, 10, r->extends, sizeof(r->extends)) ||
	    !col_text(q, 14, r->decided_by, sizeof(r->decided_by)))
		return bg_err_set(e, BG_EIO, "store: request row is corrupt");
	r->duration_seconds = sqlite3_column_int64(q, 6);
	r->solo = sqlite3_column_int64(q, 9) != 0;
	r->created_at = sqlite3_column_int64(q, 11);
	r->expires_at = sqlite3_column_int64(q, 12);
	r->decided_at = sqlite3_column_int64(q, 13);
	return 0;
}

static int read_request(void *ctx, sqlite3_stmt *q, bg_err *e)
{
	int rc = request_row(ctx, q, e);

	return rc != 0 ? rc : 1;
}

static int sq_request_add(store_tx *tx, const store_request *r, bg_err *e)
{
	char *pins = pins_json(r->n_runbooks, r->runbooks, r->runbook_hashes);
	query qy = {.st = ST_REQUEST_ADD,
	            ARGS(TEXT(r->id), TEXT(r->requester), TEXT(r->incident), TEXT(pins),
	                 TEXT(r->reason), TEXT(r->ticket), INT(r->duration_seconds),
	                 TEXT(r->criteria), TEXT(r->state), INT(r->solo), TEXT(r->extends),
	                 INT(r->created_at), INT(r->expires_at), INT(r->decided_at),
	                 TEXT(r->decided_by))};
	int rc = pins == NULL ? bg_err_set(e, BG_ENOMEM, "store: out of memory")
	                      : run(sq(tx->s), tx_conn(tx), &qy, "add request", e);

	free(pins);
	if (rc == BG_EEXISTS)
		rc = bg_err_set(e, BG_EEXISTS, "request %s already exists", r->id);
	else if (rc == BG_ENOTFOUND)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such user %s or incident %s", r->requester,
		                r->incident);
	return rc;
}

static int sq_request_get(store *st, store_tx *tx, const char *id, store_request *out, bg_err *e)
{
	query qy = {.st = ST_REQUEST_GET, ARGS(TEXT(id)), .row = read_request, .ctx = out};
	int rc = run(sq(st), tx ? tx_conn(tx) : NULL, &qy, "find request", e);

	if (rc == 0 && qy.count == 0)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such request");
	return rc;
}

static int sq_request_update(store_tx *tx, const store_request *r, bg_err *e)
{
	query qy = {.st = ST_REQUEST_UPDATE,
	            ARGS(TEXT(r->id), TEXT(r->state), INT(r->solo), INT(r->decided_at),
	                 TEXT(r->decided_by))};
	int rc = run(sq(tx->s), tx_conn(tx), &qy, "update request", e);

	if (rc == 0 && qy.changes == 0)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such request");
	return rc;
}

static int sq_request_list(store *st, const char *requester,
                           int (*fn)(void *ctx, const store_request *r), void *ctx, bg_err *e)
{
	list_ctx *l = malloc(sizeof(*l)); /* a request row is large */
	int rc;

	if (l == NULL)
		return bg_err_set(e, BG_ENOMEM, "store: out of memory");
	l->kind = LIST_REQUESTS;
	l->fn.request = fn;
	l->ctx = ctx;
	rc = list_rows(sq(st), requester ? ST_REQUEST_LIST_USER : ST_REQUEST_LIST_ALL, requester, l,
	               "list requests", e);
	free(l);
	return rc;
}

static int approval_row(store_approval *a, sqlite3_stmt *q, bg_err *e)
{
	memset(a, 0, sizeof(*a));
	if (!col_text(q, 0, a->request, sizeof(a->request)) ||
	    !col_text(q, 1, a->approver, sizeof(a->approver)) ||
	    !col_text(q, 3, a->reason, sizeof(a->reason)))
		return bg_err_set(e, BG_EIO, "store: approval row is corrupt");
	a->approve = sqlite3_column_int64(q, 2) != 0;
	a->at = sqlite3_column_int64(q, 4);
	return 0;
}

static int sq_approval_add(store_tx *tx, const store_approval *a, bg_err *e)
{
	query qy = {.st = ST_APPROVAL_ADD,
	            ARGS(TEXT(a->request), TEXT(a->approver), INT(a->approve), TEXT(a->reason),
	                 INT(a->at))};
	int rc = run(sq(tx->s), tx_conn(tx), &qy, "add approval", e);

	if (rc == BG_EEXISTS)
		rc = bg_err_set(e, BG_EEXISTS, "%s has answered request %s already", a->approver,
		                a->request);
	else if (rc == BG_ENOTFOUND)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such request %s", a->request);
	return rc;
}

static int sq_approval_list(store *st, store_tx *tx, const char *request,
                            int (*fn)(void *ctx, const store_approval *a), void *ctx, bg_err *e)
{
	list_ctx *l = malloc(sizeof(*l));
	int rc;

	if (l == NULL)
		return bg_err_set(e, BG_ENOMEM, "store: out of memory");
	l->kind = LIST_APPROVALS;
	l->fn.approval = fn;
	l->ctx = ctx;
	rc = list_rows_on(sq(st), tx ? tx_conn(tx) : NULL, ST_APPROVAL_LIST, request, l,
	                  "list approvals", e);
	free(l);
	return rc;
}

/* --- expiry sweeps and the notification outbox ------------------------------------------ */

typedef struct ids_ctx {
	char (*ids)[STORE_ID_MAX];
	size_t n;
} ids_ctx;

static int id_row(void *ctx, sqlite3_stmt *q, bg_err *e)
{
	ids_ctx *c = ctx;

	if (!col_text(q, 0, c->ids[c->n], STORE_ID_MAX))
		return bg_err_set(e, BG_EIO, "store: request row is corrupt");
	c->n++;
	return 0;
}

static int sq_request_expired(store *st, int64_t since, int64_t now, char (*ids)[STORE_ID_MAX],
                              size_t max, size_t *n, bg_err *e)
{
	ids_ctx c = {ids, 0};
	query qy = {.st = ST_REQUEST_EXPIRED,
	            ARGS(INT(now), INT((int64_t)max), INT(since)),
	            .row = id_row,
	            .ctx = &c};
	int rc = run(sq(st), NULL, &qy, "list expired requests", e);

	*n = c.n;
	return rc;
}

static int sq_grant_expired(store *st, int64_t since, int64_t now, store_grant *out, size_t max,
                            size_t *n, bg_err *e)
{
	page_ctx p = {out, 0};
	query qy = {.st = ST_GRANT_EXPIRED,
	            ARGS(INT(now), INT((int64_t)max), INT(since)),
	            .row = page_row,
	            .ctx = &p};
	int rc = run(sq(st), NULL, &qy, "list expired grants", e);

	*n = p.n;
	return rc;
}

static int sq_grant_expiry_noticed(store_tx *tx, const char *id, bg_err *e)
{
	query qy = {.st = ST_GRANT_EXPIRY_NOTICED, ARGS(TEXT(id))};
	int rc = run(sq(tx->s), tx_conn(tx), &qy, "note a grant's expiry", e);

	if (rc == 0 && qy.changes == 0)
		rc = bg_err_set(e, BG_ENOTFOUND, "grant %s: no such grant, or noticed already", id);
	return rc;
}

static int sq_outbox_add(store_tx *tx, store_outbox *o, bg_err *e)
{
	query qy = {.st = ST_OUTBOX_ADD,
	            ARGS(TEXT(o->target), TEXT(o->event), TEXT(o->payload), INT(o->created_at),
	                 INT(o->next_at))};
	int rc = run(sq(tx->s), tx_conn(tx), &qy, "queue a notification", e);

	if (rc == 0)
		o->id = sqlite3_last_insert_rowid(tx_conn(tx)->db);
	return rc;
}

typedef struct outbox_ctx {
	int (*fn)(void *ctx, const store_outbox *o);
	void *ctx;
	store_outbox *one; /* store_outbox_get: the row is copied here (payload NULL) */
} outbox_ctx;

static int outbox_row(void *ctx, sqlite3_stmt *q, bg_err *e)
{
	outbox_ctx *c = ctx;
	store_outbox o;

	memset(&o, 0, sizeof(o));
	o.id = sqlite3_column_int64(q, 0);
	if (!col_text(q, 1, o.target, sizeof(o.target)) ||
	    !col_text(q, 2, o.event, sizeof(o.event)) ||
	    (o.payload = (const char *)sqlite3_column_text(q, 3)) == NULL ||
	    !col_text(q, 8, o.last_error, sizeof(o.last_error)))
		return bg_err_set(e, BG_EIO, "store: notification %lld is corrupt",
		                  (long long)o.id);
	o.created_at = sqlite3_column_int64(q, 4);
	o.next_at = sqlite3_column_int64(q, 5);
	o.attempts = sqlite3_column_int64(q, 6);
	o.delivered_at = sqlite3_column_int64(q, 7);
	if (c->one != NULL) {
		*c->one = o;
		c->one->payload = NULL;
		return 1;
	}
	return c->fn(c->ctx, &o);
}

static int sq_outbox_due(store *st, int64_t now, int64_t limit,
                         int (*fn)(void *ctx, const store_outbox *o), void *ctx, bg_err *e)
{
	outbox_ctx c = {fn, ctx, NULL};
	query qy = {.st = ST_OUTBOX_DUE, ARGS(INT(now), INT(limit)), .row = outbox_row, .ctx = &c};

	return run(sq(st), NULL, &qy, "list due notifications", e);
}

static int sq_outbox_claim(store_tx *tx, int64_t id, int64_t now, int64_t until, bg_err *e)
{
	query qy = {.st = ST_OUTBOX_CLAIM, ARGS(INT(id), INT(now), INT(until))};
	int rc = run(sq(tx->s), tx_conn(tx), &qy, "take a notification", e);

	if (rc == 0 && qy.changes == 0)
		rc = bg_err_set(e, BG_ENOTFOUND, "notification %lld is not due", (long long)id);
	return rc;
}

static int sq_outbox_result(store_tx *tx, int64_t id, int64_t now, bool delivered, int64_t next_at,
                            const char *error, bg_err *e)
{
	query qy = {.st = ST_OUTBOX_RESULT,
	            ARGS(INT(id), INT(now), INT(delivered), INT(next_at), TEXT(error))};
	int rc = run(sq(tx->s), tx_conn(tx), &qy, "record a delivery", e);

	if (rc == 0 && qy.changes == 0)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such notification %lld", (long long)id);
	return rc;
}

static int sq_outbox_get(store *st, int64_t id, store_outbox *out, bg_err *e)
{
	outbox_ctx c = {NULL, NULL, out};
	query qy = {.st = ST_OUTBOX_GET, ARGS(INT(id)), .row = outbox_row, .ctx = &c};
	int rc = run(sq(st), NULL, &qy, "find notification", e);

	if (rc == 0 && qy.count == 0)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such notification");
	return rc;
}

/* --- the audit table ----------------------------------------------------------------- */

typedef struct head_ctx {
	int64_t *seq;
	char *hash;
} head_ctx;

static int head_row(void *ctx, sqlite3_stmt *q, bg_err *e)
{
	head_ctx *h = ctx;

	*h->seq = sqlite3_column_int64(q, 0);
	if (sqlite3_column_bytes(q, 1) != STORE_HASH_HEX ||
	    !col_text(q, 1, h->hash, STORE_HASH_HEX + 1))
		return bg_err_set(e, BG_EIO, "store: audit chain head %lld is corrupt",
		                  (long long)*h->seq);
	return 1;
}

static int sq_audit_head(store_tx *tx, int64_t *seq, char hash[STORE_HASH_HEX + 1], bg_err *e)
{
	head_ctx h = {seq, hash};
	query qy = {.st = ST_AUDIT_HEAD, .row = head_row, .ctx = &h};

	/* BEGIN IMMEDIATE took the write lock: the head cannot move until tx ends. */
	*seq = 0;
	hash[0] = '\0';
	return run(sq(tx->s), tx_conn(tx), &qy, "read the audit chain head", e);
}

static int sq_audit_insert(store_tx *tx, const store_audit_row *r, bg_err *e)
{
	const store_text *f = r->f;
	query qy = {.st = ST_AUDIT_INSERT,
	            ARGS(INT(r->seq), TEXTN(r->ts), TEXTN(f[STORE_AUDIT_KIND]),
	                 TEXTN(f[STORE_AUDIT_ACTOR]), TEXTN(f[STORE_AUDIT_GRANT]),
	                 TEXTN(f[STORE_AUDIT_REQUEST]), TEXTN(f[STORE_AUDIT_OP]),
	                 TEXTN(f[STORE_AUDIT_TABLES]), TEXTN(f[STORE_AUDIT_DECISION]),
	                 TEXTN(f[STORE_AUDIT_REASON]), INT(r->status), TEXTN(r->detail),
	                 TEXTN(r->prev_hash), TEXTN(r->hash))};

	return run(sq(tx->s), tx_conn(tx), &qy, "insert audit record", e);
}

typedef struct scan_ctx {
	int (*fn)(void *ctx, const store_audit_row *row, bg_err *e);
	void *ctx;
} scan_ctx;

/* A text column's bytes where the row holds them, for readers of whole pages of the
 * audit log: sqlite3_column_blob() hands out the stored bytes as they are, where
 * sqlite3_column_text() first copies a value that is not NUL-terminated in the record
 * (every one of them) to add the NUL a store_text does not need. A zero-length value
 * comes back as a NULL pointer, so only then is the column's type asked. */
static store_text col_raw(sqlite3_stmt *q, int i)
{
	store_text s;

	s.p = sqlite3_column_blob(q, i);
	s.n = (size_t)sqlite3_column_bytes(q, i);
	if (s.p == NULL) {
		s.n = 0;
		s.p = sqlite3_column_type(q, i) == SQLITE_NULL ? NULL : "";
	}
	return s;
}

static int scan_row(void *ctx, sqlite3_stmt *q, bg_err *e)
{
	scan_ctx *sc = ctx;
	store_audit_row r;
	int i;

	r.seq = sqlite3_column_int64(q, 0);
	r.ts = col_raw(q, 1);
	for (i = 0; i < STORE_AUDIT_FIELDS; i++)
		r.f[i] = col_raw(q, 2 + i);
	r.status = sqlite3_column_int64(q, 2 + STORE_AUDIT_FIELDS);
	r.detail = col_raw(q, 3 + STORE_AUDIT_FIELDS);
	r.prev_hash = col_raw(q, 4 + STORE_AUDIT_FIELDS);
	r.hash = col_raw(q, 5 + STORE_AUDIT_FIELDS);
	return sc->fn(sc->ctx, &r, e);
}

static int sq_audit_scan(store *st, int64_t after, int64_t limit,
                         int (*fn)(void *ctx, const store_audit_row *row, bg_err *e), void *ctx,
                         bg_err *e)
{
	scan_ctx sc = {fn, ctx};
	query qy = {.st = ST_AUDIT_SCAN,
	            ARGS(INT(after), INT(limit > 0 ? limit : INT64_MAX)),
	            .row = scan_row,
	            .ctx = &sc};

	return run(sq(st), NULL, &qy, "read the audit log", e);
}

static int sq_audit_by_request(store *st, const char *request_id, int64_t limit,
                               int (*fn)(void *ctx, const store_audit_row *row, bg_err *e),
                               void *ctx, bg_err *e)
{
	scan_ctx sc = {fn, ctx};
	query qy = {.st = ST_AUDIT_BY_REQUEST,
	            ARGS(TEXT(request_id), INT(limit > 0 ? limit : INT64_MAX)),
	            .row = scan_row,
	            .ctx = &sc};

	return run(sq(st), NULL, &qy, "read the audit log", e);
}

static int sq_audit_scan_back(store *st, int64_t before, int64_t limit,
                              int (*fn)(void *ctx, const store_audit_row *row, bg_err *e),
                              void *ctx, bg_err *e)
{
	scan_ctx sc = {fn, ctx};
	query qy = {.st = ST_AUDIT_SCAN_BACK,
	            ARGS(INT(before), INT(limit > 0 ? limit : INT64_MAX)),
	            .row = scan_row,
	            .ctx = &sc};

	return run(sq(st), NULL, &qy, "read the audit log", e);
}

static int seq_row(void *ctx, sqlite3_stmt *q, bg_err *e)
{
	(void)e;
	*(int64_t *)ctx = sqlite3_column_int64(q, 0);
	return 1;
}

static int sq_sink_cursor_get(store *st, const char *name, int64_t *seq, bg_err *e)
{
	query qy = {.st = ST_SINK_CURSOR_GET, ARGS(TEXT(name)), .row = seq_row, .ctx = seq};

	*seq = 0;
	return run(sq(st), NULL, &qy, "read an audit sink's cursor", e);
}

static int sq_sink_cursor_set(store_tx *tx, const char *name, int64_t seq, int64_t now, bg_err *e)
{
	query qy = {.st = ST_SINK_CURSOR_SET, ARGS(TEXT(name), INT(seq), INT(now))};

	return run(sq(tx->s), tx_conn(tx), &qy, "save an audit sink's cursor", e);
}

static int sq_spend_add(store_tx *tx, const char *grant_id, const char *runbook, double read,
                        double write, bg_err *e)
{
	query qy = {
	    .st = ST_SPEND_ADD,
	    ARGS(TEXT(grant_id), TEXT(runbook != NULL ? runbook : ""), REAL(read), REAL(write))};

	return run(sq(tx->s), tx_conn(tx), &qy, "add to a grant's spent capacity", e);
}

typedef struct spend_ctx {
	int (*fn)(void *ctx, const char *runbook, double read, double write, bg_err *e);
	void *ctx;
} spend_ctx;

static int spend_row(void *ctx, sqlite3_stmt *q, bg_err *e)
{
	spend_ctx *sc = ctx;
	const char *rb = (const char *)sqlite3_column_text(q, 0);

	return sc->fn(sc->ctx, rb != NULL && rb[0] != '\0' ? rb : NULL, sqlite3_column_double(q, 1),
	              sqlite3_column_double(q, 2), e);
}

static int sq_spend_list(store *st, const char *grant_id,
                         int (*fn)(void *ctx, const char *runbook, double read, double write,
                                   bg_err *e),
                         void *ctx, bg_err *e)
{
	spend_ctx sc = {fn, ctx};
	query qy = {.st = ST_SPEND_LIST, ARGS(TEXT(grant_id)), .row = spend_row, .ctx = &sc};

	return run(sq(st), NULL, &qy, "read a grant's spent capacity", e);
}

static int review_row(void *ctx, sqlite3_stmt *q, bg_err *e)
{
	store_review *r = ctx;

	memset(r, 0, sizeof(*r));
	if (!col_text(q, 0, r->incident, sizeof(r->incident)) ||
	    !col_text(q, 2, r->opened_by, sizeof(r->opened_by)) ||
	    !col_text(q, 4, r->signed_by, sizeof(r->signed_by)) ||
	    !col_text(q, 6, r->learnings, sizeof(r->learnings)))
		return bg_err_set(e, BG_EIO, "store: a review row is corrupt");
	r->opened_at = sqlite3_column_int64(q, 1);
	r->deadline = sqlite3_column_int64(q, 3);
	r->signed_at = sqlite3_column_int64(q, 5);
	r->overdue_noticed = sqlite3_column_int64(q, 7) != 0;
	return 1;
}

static int sq_review_open(store_tx *tx, const store_review *r, bg_err *e)
{
	query qy = {
	    .st = ST_REVIEW_OPEN,
	    ARGS(TEXT(r->incident), INT(r->opened_at), TEXT(r->opened_by), INT(r->deadline))};
	int rc = run(sq(tx->s), tx_conn(tx), &qy, "open a review", e);

	if (rc == 0 && qy.changes == 0)
		rc = bg_err_set(e, BG_EEXISTS, "incident %s has a review already", r->incident);
	return rc;
}

static int sq_review_get(store *st, store_tx *tx, const char *incident, store_review *out,
                         bg_err *e)
{
	query qy = {.st = ST_REVIEW_GET, ARGS(TEXT(incident)), .row = review_row, .ctx = out};
	int rc = run(sq(st), tx ? tx_conn(tx) : NULL, &qy, "find a review", e);

	if (rc == 0 && qy.count == 0)
		rc = bg_err_set(e, BG_ENOTFOUND, "incident %s has no review (close it first)",
		                incident);
	return rc;
}

static int sq_review_sign(store_tx *tx, const char *incident, const char *who, int64_t at,
                          const char *learnings, bg_err *e)
{
	query qy = {.st = ST_REVIEW_SIGN,
	            ARGS(TEXT(incident), TEXT(who), INT(at), TEXT(learnings))};
	int rc = run(sq(tx->s), tx_conn(tx), &qy, "sign a review", e);

	if (rc == 0 && qy.changes == 0)
		rc = bg_err_set(e, BG_EEXISTS, "the review of %s is signed already", incident);
	return rc;
}

typedef struct review_list_ctx {
	int (*fn)(void *ctx, const store_review *r);
	void *ctx;
	store_review row;
} review_list_ctx;

static int review_each(void *ctx, sqlite3_stmt *q, bg_err *e)
{
	review_list_ctx *l = ctx;
	int rc = review_row(&l->row, q, e);

	if (rc != 1)
		return rc;
	return l->fn(l->ctx, &l->row) != 0; /* positive: stop */
}

static int sq_review_list(store *st, int (*fn)(void *ctx, const store_review *r), void *ctx,
                          bg_err *e)
{
	review_list_ctx *l = malloc(sizeof(*l)); /* a review row is large */
	query qy = {.st = ST_REVIEW_LIST, .row = review_each};
	int rc;

	if (l == NULL)
		return bg_err_set(e, BG_ENOMEM, "store: out of memory");
	l->fn = fn;
	l->ctx = ctx;
	qy.ctx = l;
	rc = run(sq(st), NULL, &qy, "list reviews", e);
	free(l);
	return rc;
}

static int sq_review_overdue_noticed(store_tx *tx, const char *incident, bg_err *e)
{
	query qy = {.st = ST_REVIEW_OVERDUE_NOTICED, ARGS(TEXT(incident))};
	int rc = run(sq(tx->s), tx_conn(tx), &qy, "mark a review overdue", e);

	return rc == 0 && qy.changes == 0 ? 1 : rc; /* 1: noticed before */
}

static const char *sq_version(void)
{
	return sqlite3_libversion();
}

const store_methods store_sqlite_methods = {
    .name = "sqlite",
    .version = sq_version,
    .open = sq_open,
    .close = sq_close,
    .maintain = sq_maintain,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .user_add = sq_user_add,
    .user_get = sq_user_get,
    .user_otp_result = sq_user_otp_result,
    .user_list = sq_user_list,
    .user_update = sq_user_update,
    .user_use_otp = sq_user_use_otp,
    .grant_add = sq_grant_add,
    .grant_get = sq_grant_get,
    .grant_revoke = sq_grant_revoke,
    .grant_get_tx = sq_grant_get_tx,
    .grant_extend = sq_grant_extend,
    .grant_page = sq_grant_page,
    .incident_add = sq_incident_add,
    .incident_get = sq_incident_get,
    .incident_find_open = sq_incident_find_open,
    .incident_update = sq_incident_update,
    .incident_list = sq_incident_list,
    .alert_get = sq_alert_get,
    .alert_put = sq_alert_put,
    .alert_list = sq_alert_list,
    .alert_count = sq_alert_count,
    .incident_event_add = sq_incident_event_add,
    .incident_event_list = sq_incident_event_list,
    .delivery_record = sq_delivery_record,
    .request_add = sq_request_add,
    .request_get = sq_request_get,
    .request_update = sq_request_update,
    .request_list = sq_request_list,
    .approval_add = sq_approval_add,
    .approval_list = sq_approval_list,
    .request_expired = sq_request_expired,
    .grant_expired = sq_grant_expired,
    .grant_expiry_noticed = sq_grant_expiry_noticed,
    .outbox_add = sq_outbox_add,
    .outbox_due = sq_outbox_due,
    .outbox_claim = sq_outbox_claim,
    .outbox_result = sq_outbox_result,
    .outbox_get = sq_outbox_get,
    .audit_head = sq_audit_head,
    .audit_insert = sq_audit_insert,
    .audit_scan = sq_audit_scan,
    .audit_scan_back = sq_audit_scan_back,
    .sink_cursor_get = sq_sink_cursor_get,
    .sink_cursor_set = sq_sink_cursor_set,
    .review_open = sq_review_open,
    .review_get = sq_review_get,
    .review_sign = sq_review_sign,
    .review_list = sq_review_list,
    .review_overdue_noticed = sq_review_overdue_noticed,
    .audit_by_request = sq_audit_by_request,
    .spend_add = sq_spend_add,
    .spend_list = sq_spend_list,
};
