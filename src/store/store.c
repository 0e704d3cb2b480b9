/*
 * store.c - users and grants in one SQLite file in the data directory (datadir.h),
 * shared by every gateway thread (see store.h).
 *
 * Threads never share a connection: the store keeps a pool of connections (grown on
 * demand up to POOL_MAX, then callers wait), each with its prepared statements cached,
 * so a lookup is one mutex hand-off and one statement step. Every connection runs with
 * WAL, synchronous=FULL (a committed write survives power loss), foreign keys on and a
 * busy timeout, so several processes (CLI and server) can share the file.
 *
 * Schema (version 1, recorded in meta.schema_version):
 *   meta(key PRIMARY KEY, value)
 *   users(id INTEGER PRIMARY KEY, name UNIQUE, role, token_hash BLOB(32) UNIQUE,
 *         totp_seed BLOB(16), last_otp_counter, created_at)
 *   grants(id PRIMARY KEY, user -> users(name), created_by, kind,
 *          access_key_id UNIQUE, session_token_hash BLOB(32),
 *          tables JSON array, ops JSON array, created_at, expires_at,
 *          revoked_at (0 = live), revoked_by, reason)
 *   audit(seq INTEGER PRIMARY KEY, ts, kind, actor, grant_id, request_id, op, tables,
 *         decision, reason, status, detail JSON, prev_hash, hash), written only by
 *         audit.c; triggers refuse UPDATE and DELETE so the log is append-only through
 *         SQL.
 * Tables and ops are JSON arrays in the grant row so the gateway's per-request lookup
 * by access key id is a single indexed row fetch. Values reach SQL only as bound
 * parameters.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/validate.h"
#include "store/datadir.h"

#define SCHEMA_VERSION "1"
#define POOL_MAX       16 /* connections; readers never block each other in WAL */
#define LIST_PAGE      64 /* grants fetched per connection checkout when listing */

enum {
	ST_USER_ADD,
	ST_USER_BY_NAME,
	ST_USER_BY_TOKEN,
	ST_USER_USE_OTP,
	ST_USER_EXISTS,
	ST_GRANT_ADD,
	ST_GRANT_BY_ID,
	ST_GRANT_BY_AKID,
	ST_GRANT_REVOKE,
	ST_GRANT_EXISTS,
	ST_GRANT_PAGE_ALL,
	ST_GRANT_PAGE_USER,
	ST_COUNT
};

#define USER_COLS "id, name, role, totp_seed, last_otp_counter, created_at"
#define GRANT_COLS                                                                                 \
	"rowid, id, user, created_by, kind, access_key_id, session_token_hash, tables, ops, "      \
	"created_at, expires_at, revoked_at, revoked_by, reason"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_USER_ADD] = "INSERT INTO users (name, role, token_hash, totp_seed, "
                    "last_otp_counter, created_at) VALUES (?1, ?2, ?3, ?4, 0, ?5)",
    [ST_USER_BY_NAME] = "SELECT " USER_COLS " FROM users WHERE name = ?1",
    [ST_USER_BY_TOKEN] = "SELECT " USER_COLS " FROM users WHERE token_hash = ?1",
    [ST_USER_USE_OTP] = "UPDATE users SET last_otp_counter = ?2 "
                        "WHERE id = ?1 AND last_otp_counter < ?2",
    [ST_USER_EXISTS] = "SELECT 1 FROM users WHERE id = ?1",
    [ST_GRANT_ADD] = "INSERT INTO grants (id, user, created_by, kind, access_key_id, "
                     "session_token_hash, tables, ops, created_at, expires_at, revoked_at, "
                     "revoked_by, reason) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [ST_GRANT_BY_ID] = "SELECT " GRANT_COLS " FROM grants WHERE id = ?1",
    [ST_GRANT_BY_AKID] = "SELECT " GRANT_COLS " FROM grants WHERE access_key_id = ?1",
    [ST_GRANT_REVOKE] = "UPDATE grants SET revoked_at = ?2, revoked_by = ?3 "
                        "WHERE id = ?1 AND revoked_at = 0",
    [ST_GRANT_EXISTS] = "SELECT 1 FROM grants WHERE id = ?1",
    [ST_GRANT_PAGE_ALL] = "SELECT " GRANT_COLS " FROM grants "
                          "WHERE created_at < ?1 OR (created_at = ?1 AND rowid < ?2) "
                          "ORDER BY created_at DESC, rowid DESC LIMIT " BG_STR(LIST_PAGE),
    [ST_GRANT_PAGE_USER] = "SELECT " GRANT_COLS " FROM grants WHERE user = ?3 AND "
                           "(created_at < ?1 OR (created_at = ?1 AND rowid < ?2)) "
                           "ORDER BY created_at DESC, rowid DESC LIMIT " BG_STR(LIST_PAGE),
};

static const char schema_sql[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE users ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " role TEXT NOT NULL,"
    " token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),"
    " totp_seed BLOB NOT NULL CHECK (length(totp_seed) = 16),"
    " last_otp_counter INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL);"
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
    " reason TEXT NOT NULL DEFAULT '');"
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
    "CREATE INDEX audit_grant ON audit (grant_id) WHERE grant_id IS NOT NULL;"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    "INSERT INTO meta (key, value) VALUES ('schema_version', '" SCHEMA_VERSION "');";

typedef struct conn {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	struct conn *next;
} conn;

struct store {
	char *dir;
	char *path;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool sync_ready; /* mu and cv initialised */
	conn *idle;
	int open; /* connections in existence (idle or checked out) */
};

/* --- validation (the rules are common/validate.h's) ---------------------------------- */

/* True when the fixed-size field holds a NUL-terminated string. */
#define TERMINATED(f) (strnlen((f), sizeof(f)) < sizeof(f))

/* --- connections --------------------------------------------------------------------- */

static int db_fail(bg_err *e, sqlite3 *db, int rc, const char *what)
{
	int code = BG_EIO;

	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		code = rc == SQLITE_CONSTRAINT_FOREIGNKEY ? BG_ENOTFOUND : BG_EEXISTS;
	return bg_err_set(e, code, "store: %s: %s", what,
	                  db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static int exec_sql(sqlite3 *db, const char *sql, bg_err *e)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : db_fail(e, db, rc, "setup");
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
	rc = exec_sql(c->db,
	              "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
	              "PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF;"
	              "PRAGMA cache_size = -" BG_STR(BG_SQLITE_CACHE_KIB) ";",
	              e);
	if (rc != 0)
		goto fail;
	*out = c;
	return 0;
fail:
	conn_free(c);
	return rc;
}

/* The cached statement i of c, prepared on first use, reset and unbound. */
static int stmt(conn *c, int i, sqlite3_stmt **out, bg_err *e)
{
	int rc;

	if (c->st[i] == NULL) {
		rc = sqlite3_prepare_v3(c->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                        &c->st[i], NULL);
		if (rc != SQLITE_OK)
			return db_fail(e, c->db, rc, "prepare");
	}
	*out = c->st[i];
	return 0;
}

static int checkout(store *s, conn **out, bg_err *e)
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

static void checkin(store *s, conn *c)
{
	int i;

	for (i = 0; i < ST_COUNT; i++) {
		if (c->st[i] != NULL) {
			sqlite3_reset(c->st[i]);
			sqlite3_clear_bindings(c->st[i]);
		}
	}
	pthread_mutex_lock(&s->mu);
	c->next = s->idle;
	s->idle = c;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
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

/* Creates the database file exclusively, so two concurrent inits cannot both win. */
static int create_db(store *s, bg_err *e)
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
		rc = exec_sql(c->db, "BEGIN IMMEDIATE", e);
	if (rc == 0) {
		rc = exec_sql(c->db, schema_sql, e);
		if (rc == 0)
			rc = exec_sql(c->db, "COMMIT", e);
		if (rc != 0)
			sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	}
	if (rc != 0) {
		conn_free(c);
		remove_db(s->path); /* leave nothing behind, so init can simply be retried */
		return rc;
	}
	c->next = s->idle;
	s->idle = c;
	s->open++;
	return 0;
}

static int check_db(store *s, bg_err *e)
{
	sqlite3_stmt *q = NULL;
	conn *c = NULL;
	int rc;

	rc = conn_open(s->path, &c, e);
	if (rc != 0)
		return rc;
	rc = sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1,
	                        &q, NULL);
	if (rc != SQLITE_OK) {
		rc = bg_err_set(e, BG_EINVAL, "store: %s is not a breakglass store", s->path);
		goto fail;
	}
	rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? bg_err_set(e, BG_EINVAL, "store: no schema version")
		                       : db_fail(e, c->db, rc, "schema version");
		goto fail;
	}
	if (sqlite3_column_type(q, 0) != SQLITE_TEXT ||
	    strcmp((const char *)sqlite3_column_text(q, 0), SCHEMA_VERSION) != 0) {
		rc = bg_err_set(e, BG_EINVAL, "store: unsupported schema version (want %s)",
		                SCHEMA_VERSION);
		goto fail;
	}
	sqlite3_finalize(q);
	c->next = s->idle;
	s->idle = c;
	s->open++;
	return 0;
fail:
	sqlite3_finalize(q);
	conn_free(c);
	return rc;
}

int store_open(const char *dir, bool create, store **out, bg_err *e)
{
	datadir *dd = NULL;
	store *s;
	int rc;

	*out = NULL;
	if (!sqlite3_threadsafe())
		return bg_err_set(e, BG_EINVAL, "store: SQLite built without thread support");
	rc = datadir_open(dir, create, &dd, e);
	if (rc != 0)
		return rc;
	s = calloc(1, sizeof(*s));
	rc = bg_err_set(e, BG_ENOMEM, "store: out of memory");
	if (s == NULL) {
		datadir_free(dd);
		return rc;
	}
	s->dir = strdup(dir);
	s->path = strdup(datadir_path(dd, DATADIR_DB));
	datadir_free(dd);
	if (s->dir == NULL || s->path == NULL)
		goto fail;
	if (pthread_mutex_init(&s->mu, NULL) != 0)
		goto fail;
	if (pthread_cond_init(&s->cv, NULL) != 0) {
		pthread_mutex_destroy(&s->mu);
		goto fail;
	}
	s->sync_ready = true;
	rc = create ? create_db(s, e) : check_db(s, e);
	if (rc != 0)
		goto fail;
	bg_err_clear(e);
	*out = s;
	return 0;
fail:
	store_free(s);
	return rc;
}

void store_free(store *s)
{
	conn *c;

	if (s == NULL)
		return;
	while ((c = s->idle) != NULL) {
		s->idle = c->next;
		conn_free(c);
	}
	if (s->sync_ready) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
	}
	free(s->path);
	free(s->dir);
	free(s);
}

const char *store_dir(const store *s)
{
	return s->dir;
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

static int read_user(sqlite3_stmt *q, store_user *u, bg_err *e)
{
	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(q, 0);
	if (!col_text(q, 1, u->name, sizeof(u->name)) ||
	    !col_text(q, 2, u->role, sizeof(u->role)) ||
	    !col_blob(q, 3, u->totp_seed, sizeof(u->totp_seed)))
		return bg_err_set(e, BG_EIO, "store: corrupt user row %lld", (long long)u->id);
	u->last_otp_counter = sqlite3_column_int64(q, 4);
	u->created_at = sqlite3_column_int64(q, 5);
	return 0;
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

static int read_grant(sqlite3_stmt *q, store_grant *g, bg_err *e)
{
	memset(g, 0, sizeof(*g));
	if (!col_text(q, 1, g->id, sizeof(g->id)) || !col_text(q, 2, g->user, sizeof(g->user)) ||
	    !col_text(q, 3, g->created_by, sizeof(g->created_by)) ||
	    !col_text(q, 4, g->kind, sizeof(g->kind)) ||
	    !col_text(q, 5, g->access_key_id, sizeof(g->access_key_id)) ||
	    !col_blob(q, 6, g->session_token_hash, sizeof(g->session_token_hash)) ||
	    !json_names(sqlite3_column_text(q, 7), &g->tables[0][0], BG_MAX_GRANT_TABLES,
	                sizeof(g->tables[0]), &g->n_tables) ||
	    !json_names(sqlite3_column_text(q, 8), &g->ops[0][0], BG_MAX_GRANT_OPS,
	                sizeof(g->ops[0]), &g->n_ops) ||
	    !col_text(q, 12, g->revoked_by, sizeof(g->revoked_by)) ||
	    !col_text(q, 13, g->reason, sizeof(g->reason)))
		return bg_err_set(e, BG_EIO, "store: corrupt grant row %lld",
		                  (long long)sqlite3_column_int64(q, 0));
	g->created_at = sqlite3_column_int64(q, 9);
	g->expires_at = sqlite3_column_int64(q, 10);
	g->revoked_at = sqlite3_column_int64(q, 11);
	return 0;
}

/* --- users --------------------------------------------------------------------------- */

int store_user_add(store *s, const char *name, const char *role, const uint8_t token_hash[32],
                   const uint8_t totp_seed[16], bg_err *e)
{
	sqlite3_stmt *q;
	conn *c;
	int rc;

	if (!bg_valid_user_name(name))
		return bg_err_set(e, BG_EINVAL, "user name must be 1-%d of [A-Za-z0-9._-]",
		                  BG_MAX_USER_NAME);
	if (!bg_valid_id(role, STORE_ROLE_MAX - 1))
		return bg_err_set(e, BG_EINVAL, "role must be 1-%d of [A-Za-z0-9._-]",
		                  STORE_ROLE_MAX - 1);
	if (token_hash == NULL || totp_seed == NULL)
		return bg_err_set(e, BG_EINVAL, "store: token hash and TOTP seed are required");
	rc = checkout(s, &c, e);
	if (rc != 0)
		return rc;
	rc = stmt(c, ST_USER_ADD, &q, e);
	if (rc != 0)
		goto out;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, role, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, token_hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob(q, 4, totp_seed, 16, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(q);
	if (rc == SQLITE_DONE) {
		rc = 0;
	} else if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		rc = strstr(sqlite3_errmsg(c->db), "users.name") != NULL
		         ? bg_err_set(e, BG_EEXISTS, "user %s already exists", name)
		         : bg_err_set(e, BG_EEXISTS, "store: API token already in use");
	} else {
		rc = db_fail(e, c->db, rc, "add user");
	}
out:
	checkin(s, c);
	return rc;
}

static int user_lookup(store *s, int which, const void *key, store_user *out, bg_err *e)
{
	sqlite3_stmt *q;
	conn *c;
	int rc;

	rc = checkout(s, &c, e);
	if (rc != 0)
		return rc;
	rc = stmt(c, which, &q, e);
	if (rc != 0)
		goto out;
	if (which == ST_USER_BY_NAME)
		sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	else
		sqlite3_bind_blob(q, 1, key, 32, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		rc = read_user(q, out, e);
	else if (rc == SQLITE_DONE)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such user");
	else
		rc = db_fail(e, c->db, rc, "find user");
out:
	checkin(s, c);
	return rc;
}

int store_user_by_name(store *s, const char *name, store_user *out, bg_err *e)
{
	if (!bg_valid_user_name(name))
		return bg_err_set(e, BG_ENOTFOUND, "no such user");
	return user_lookup(s, ST_USER_BY_NAME, name, out, e);
}

int store_user_by_token(store *s, const uint8_t token_hash[32], store_user *out, bg_err *e)
{
	if (token_hash == NULL)
		return bg_err_set(e, BG_EINVAL, "store: no token hash");
	return user_lookup(s, ST_USER_BY_TOKEN, token_hash, out, e);
}

int store_user_use_otp(store *s, int64_t user_id, int64_t counter, bg_err *e)
{
	sqlite3_stmt *q;
	conn *c;
	int rc;

	if (counter <= 0)
		return bg_err_set(e, BG_EINVAL, "store: bad TOTP counter");
	rc = checkout(s, &c, e);
	if (rc != 0)
		return rc;
	rc = stmt(c, ST_USER_USE_OTP, &q, e);
	if (rc != 0)
		goto out;
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_int64(q, 2, counter);
	rc = sqlite3_step(q);
	if (rc != SQLITE_DONE) {
		rc = db_fail(e, c->db, rc, "record TOTP use");
		goto out;
	}
	if (sqlite3_changes(c->db) == 1) {
		rc = 0;
		goto out;
	}
	/* Nothing updated: either the code was used already or there is no such user. */
	rc = stmt(c, ST_USER_EXISTS, &q, e);
	if (rc != 0)
		goto out;
	sqlite3_bind_int64(q, 1, user_id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		rc = bg_err_set(e, BG_EDENIED, "TOTP code already used");
	else if (rc == SQLITE_DONE)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such user");
	else
		rc = db_fail(e, c->db, rc, "find user");
out:
	checkin(s, c);
	return rc;
}

/* --- grants -------------------------------------------------------------------------- */

static int validate_grant(const store_grant *g, bg_err *e)
{
	size_t i;

	if (!TERMINATED(g->id) || !bg_valid_id(g->id, STORE_ID_MAX - 1))
		return bg_err_set(e, BG_EINVAL, "grant id must be 1-%d of [A-Za-z0-9._-]",
		                  STORE_ID_MAX - 1);
	if (!TERMINATED(g->access_key_id) || !bg_valid_id(g->access_key_id, STORE_ID_MAX - 1))
		return bg_err_set(e, BG_EINVAL, "bad access key id");
	if (!TERMINATED(g->user) || !bg_valid_user_name(g->user))
		return bg_err_set(e, BG_EINVAL, "bad grantee name");
	if (!TERMINATED(g->created_by) || !bg_valid_user_name(g->created_by))
		return bg_err_set(e, BG_EINVAL, "bad grantor name");
	if (!TERMINATED(g->kind) || !bg_valid_id(g->kind, sizeof(g->kind) - 1))
		return bg_err_set(e, BG_EINVAL, "bad grant kind");
	if (g->n_tables > BG_MAX_GRANT_TABLES || g->n_ops > BG_MAX_GRANT_OPS)
		return bg_err_set(e, BG_ELIMIT, "at most %d tables and %d operations per grant",
		                  BG_MAX_GRANT_TABLES, BG_MAX_GRANT_OPS);
	for (i = 0; i < g->n_tables; i++)
		if (!TERMINATED(g->tables[i]) ||
		    !bg_valid_table_name(g->tables[i], strlen(g->tables[i])))
			return bg_err_set(e, BG_EINVAL,
			                  "table names must be 3-255 of [A-Za-z0-9._-]");
	for (i = 0; i < g->n_ops; i++)
		if (!TERMINATED(g->ops[i]) || !bg_valid_op_name(g->ops[i], strlen(g->ops[i])))
			return bg_err_set(e, BG_EINVAL, "operation names must be letters");
	if (g->created_at <= 0 || g->expires_at <= g->created_at ||
	    !bg_valid_grant_seconds(g->expires_at - g->created_at))
		return bg_err_set(e, BG_EINVAL, "grant must expire after creation, within %d s",
		                  BG_MAX_GRANT_SECONDS);
	if (g->revoked_at < 0 || !TERMINATED(g->revoked_by) || !TERMINATED(g->reason) ||
	    (g->revoked_by[0] != '\0' && !bg_valid_user_name(g->revoked_by)))
		return bg_err_set(e, BG_EINVAL, "bad revocation or reason field");
	return 0;
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

int store_grant_add(store *s, const store_grant *g, bg_err *e)
{
	char *tables = NULL, *ops = NULL;
	sqlite3_stmt *q;
	conn *c = NULL;
	int rc;

	rc = validate_grant(g, e);
	if (rc != 0)
		return rc;
	tables = names_json(&g->tables[0][0], g->n_tables, sizeof(g->tables[0]));
	ops = names_json(&g->ops[0][0], g->n_ops, sizeof(g->ops[0]));
	if (tables == NULL || ops == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "store: out of memory");
		goto out;
	}
	rc = checkout(s, &c, e);
	if (rc != 0) {
		c = NULL;
		goto out;
	}
	rc = stmt(c, ST_GRANT_ADD, &q, e);
	if (rc != 0)
		goto out;
	sqlite3_bind_text(q, 1, g->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, g->user, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, g->created_by, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, g->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, g->access_key_id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 6, g->session_token_hash, 32, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, tables, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 8, ops, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 9, g->created_at);
	sqlite3_bind_int64(q, 10, g->expires_at);
	sqlite3_bind_int64(q, 11, g->revoked_at);
	sqlite3_bind_text(q, 12, g->revoked_by, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 13, g->reason, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such user %s", g->user);
	else if ((rc & 0xff) == SQLITE_CONSTRAINT)
		rc = bg_err_set(e, BG_EEXISTS, "grant id or access key id already exists");
	else
		rc = db_fail(e, c->db, rc, "add grant");
out:
	if (c != NULL)
		checkin(s, c);
	free(tables);
	free(ops);
	return rc;
}

static int grant_lookup(store *s, int which, const char *key, store_grant *out, bg_err *e)
{
	sqlite3_stmt *q;
	conn *c;
	int rc;

	rc = checkout(s, &c, e);
	if (rc != 0)
		return rc;
	rc = stmt(c, which, &q, e);
	if (rc != 0)
		goto out;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		rc = read_grant(q, out, e);
	else if (rc == SQLITE_DONE)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such grant");
	else
		rc = db_fail(e, c->db, rc, "find grant");
out:
	checkin(s, c);
	return rc;
}

int store_grant_by_id(store *s, const char *id, store_grant *out, bg_err *e)
{
	if (!bg_valid_id(id, STORE_ID_MAX - 1))
		return bg_err_set(e, BG_ENOTFOUND, "no such grant");
	return grant_lookup(s, ST_GRANT_BY_ID, id, out, e);
}

int store_grant_by_akid(store *s, const char *akid, store_grant *out, bg_err *e)
{
	if (!bg_valid_id(akid, STORE_ID_MAX - 1))
		return bg_err_set(e, BG_ENOTFOUND, "no such grant");
	return grant_lookup(s, ST_GRANT_BY_AKID, akid, out, e);
}

int store_grant_revoke(store *s, const char *id, const char *who, int64_t now, bg_err *e)
{
	sqlite3_stmt *q;
	conn *c;
	int rc;

	if (!bg_valid_id(id, STORE_ID_MAX - 1))
		return bg_err_set(e, BG_ENOTFOUND, "no such grant");
	if (!bg_valid_user_name(who))
		return bg_err_set(e, BG_EINVAL, "bad revoker name");
	if (now <= 0)
		return bg_err_set(e, BG_EINVAL, "bad revocation time");
	rc = checkout(s, &c, e);
	if (rc != 0)
		return rc;
	rc = stmt(c, ST_GRANT_REVOKE, &q, e);
	if (rc != 0)
		goto out;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, now);
	sqlite3_bind_text(q, 3, who, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc != SQLITE_DONE) {
		rc = db_fail(e, c->db, rc, "revoke grant");
		goto out;
	}
	if (sqlite3_changes(c->db) == 1) {
		rc = 0;
		goto out;
	}
	/* Already revoked (keep the first revocation) or no such grant. */
	rc = stmt(c, ST_GRANT_EXISTS, &q, e);
	if (rc != 0)
		goto out;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		rc = 0;
	else if (rc == SQLITE_DONE)
		rc = bg_err_set(e, BG_ENOTFOUND, "no such grant");
	else
		rc = db_fail(e, c->db, rc, "find grant");
out:
	checkin(s, c);
	return rc;
}

/* Lists in pages, releasing the connection before calling fn, so fn may use the store
 * (even with every pooled connection busy elsewhere) without deadlocking the pool. */
int store_grant_list(store *s, const char *user, int (*fn)(void *ctx, const store_grant *g),
                     void *ctx, bg_err *e)
{
	store_grant *page;
	int64_t last_created = INT64_MAX, last_rowid = INT64_MAX;
	size_t n, i;
	int rc = 0;

	if (user != NULL && !bg_valid_user_name(user))
		return 0; /* no grant can belong to an invalid name */
	page = malloc(LIST_PAGE * sizeof(*page));
	if (page == NULL)
		return bg_err_set(e, BG_ENOMEM, "store: out of memory");
	for (;;) {
		sqlite3_stmt *q;
		conn *c;

		rc = checkout(s, &c, e);
		if (rc != 0)
			break;
		rc = stmt(c, user ? ST_GRANT_PAGE_USER : ST_GRANT_PAGE_ALL, &q, e);
		n = 0;
		if (rc == 0) {
			sqlite3_bind_int64(q, 1, last_created);
			sqlite3_bind_int64(q, 2, last_rowid);
			if (user != NULL)
				sqlite3_bind_text(q, 3, user, -1, SQLITE_STATIC);
			while (n < LIST_PAGE && (rc = sqlite3_step(q)) == SQLITE_ROW) {
				last_rowid = sqlite3_column_int64(q, 0);
				last_created = sqlite3_column_int64(q, 9);
				rc = read_grant(q, &page[n], e);
				if (rc != 0)
					break;
				n++;
			}
			if (rc == SQLITE_DONE || rc == SQLITE_ROW)
				rc = 0;
			else if (rc > 0)
				rc = db_fail(e, c->db, rc, "list grants");
		}
		checkin(s, c);
		for (i = 0; rc == 0 && i < n; i++)
			if (fn(ctx, &page[i]) != 0)
				goto out; /* stopped by the caller: not an error */
		if (rc != 0 || n < LIST_PAGE)
			break;
	}
out:
	free(page);
	return rc;
}
