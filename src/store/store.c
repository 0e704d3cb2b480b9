/*
 * store.c - the store interface (store.h): the table of backends, the rules every
 * backend's input must follow, and the dispatch to the backend's methods
 * (store_backend.h).
 *
 * The rules on values live here rather than in each backend so that a second backend
 * cannot disagree with the first about what a valid grant is. So does the transaction
 * rule that an operation's failure leaves only a rollback, and the paging of
 * store_grant_list() (so that its callback never runs while a backend holds a
 * connection).
 */
#include "store/store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/validate.h"
#include "store/store_backend.h"

#define LIST_PAGE 64 /* grants fetched per backend call when listing */

/* The first is the default. A new backend is one more line. */
static const store_methods *const backends[] = {
    &store_sqlite_methods,
};
#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

/* True when the fixed-size field holds a NUL-terminated string. */
#define TERMINATED(f) (strnlen((f), sizeof(f)) < sizeof(f))

/* --- opening ------------------------------------------------------------------------- */

const char *store_backend_name(size_t i)
{
	return i < N_BACKENDS ? backends[i]->name : NULL;
}

const char *store_backend_version(size_t i)
{
	return i < N_BACKENDS ? backends[i]->version() : NULL;
}

int store_open_backend(const char *backend, const char *where, bool create, store **out, bg_err *e)
{
	size_t i;
	int rc;

	*out = NULL;
	for (i = 0; i < N_BACKENDS; i++)
		if (backend != NULL && strcmp(backend, backends[i]->name) == 0)
			break;
	if (i == N_BACKENDS)
		return bg_err_set(e, BG_EINVAL, "store: no backend named %s",
		                  backend ? backend : "(none)");
	if (where == NULL || where[0] == '\0')
		return bg_err_set(e, BG_EINVAL, "store: no location given");
	rc = backends[i]->open(where, create, out, e);
	if (rc != 0)
		return rc;
	(*out)->m = backends[i];
	bg_err_clear(e);
	return 0;
}

int store_open(const char *where, bool create, store **out, bg_err *e)
{
	return store_open_backend(backends[0]->name, where, create, out, e);
}

void store_free(store *s)
{
	if (s != NULL)
		s->m->close(s);
}

void store_maintain(store *s)
{
	s->m->maintain(s);
}

/* --- transactions -------------------------------------------------------------------- */

int store_begin(store *s, store_tx **out, bg_err *e)
{
	int rc;

	*out = NULL;
	rc = s->m->begin(s, out, e);
	if (rc != 0)
		return rc;
	(*out)->s = s;
	(*out)->failed = 0;
	return 0;
}

int store_commit(store_tx *tx, bg_err *e)
{
	int failed;

	if (tx == NULL)
		return bg_err_set(e, BG_EINVAL, "store: no transaction");
	failed = tx->failed;
	if (failed != 0) {
		tx->s->m->rollback(tx);
		return bg_err_set(e, failed, "store: transaction rolled back after a failure");
	}
	return tx->s->m->commit(tx, e);
}

void store_rollback(store_tx *tx)
{
	if (tx != NULL)
		tx->s->m->rollback(tx);
}

int store_end(store_tx *tx, int rc, bg_err *e)
{
	if (rc != 0) {
		store_rollback(tx);
		return rc;
	}
	return store_commit(tx, e);
}

/* Before an operation in tx: refused when a previous one failed. */
static int tx_ready(store_tx *tx, bg_err *e)
{
	if (tx == NULL)
		return bg_err_set(e, BG_EINVAL, "store: no transaction");
	if (tx->failed != 0)
		return bg_err_set(e, BG_EIO, "store: an operation of this transaction failed");
	return 0;
}

/* After an operation in tx: a failure leaves only a rollback. */
static int tx_note(store_tx *tx, int rc)
{
	if (rc != 0 && tx != NULL && tx->failed == 0)
		tx->failed = rc;
	return rc;
}

/* --- users --------------------------------------------------------------------------- */

/* A role set as stored: lower-case names joined by commas (user.h reads them). */
static bool role_text_ok(const char *s)
{
	size_t i, n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n >= STORE_ROLE_MAX || s[0] == ',' || s[n - 1] == ',')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == ','))
			return false;
	return true;
}

int store_user_add(store_tx *tx, const char *name, const char *role, const uint8_t token_hash[32],
                   const uint8_t totp_seed[16], bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (!bg_valid_user_name(name))
		rc = bg_err_set(e, BG_EINVAL, "user name must be 1-%d of [A-Za-z0-9._-]",
		                BG_MAX_USER_NAME);
	else if (!role_text_ok(role))
		rc = bg_err_set(e, BG_EINVAL, "roles must be 1-%d of [a-z,]", STORE_ROLE_MAX - 1);
	else if (token_hash == NULL || totp_seed == NULL)
		rc = bg_err_set(e, BG_EINVAL, "store: token hash and TOTP seed are required");
	else
		rc = tx->s->m->user_add(tx, name, role, token_hash, totp_seed, bg_now(), e);
	return tx_note(tx, rc);
}

int store_user_by_name(store *s, const char *name, store_user *out, bg_err *e)
{
	if (!bg_valid_user_name(name))
		return bg_err_set(e, BG_ENOTFOUND, "no such user");
	return s->m->user_get(s, STORE_USER_BY_NAME, name, out, e);
}

int store_user_by_token(store *s, const uint8_t token_hash[32], store_user *out, bg_err *e)
{
	if (token_hash == NULL)
		return bg_err_set(e, BG_EINVAL, "store: no token hash");
	return s->m->user_get(s, STORE_USER_BY_TOKEN, token_hash, out, e);
}

int store_user_otp_result(store_tx *tx, int64_t user_id, bool ok, int64_t max_failures,
                          int64_t lock_until, bool *locked, bg_err *e)
{
	bool dummy;
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (max_failures < 1 || lock_until < 0)
		rc = bg_err_set(e, BG_EINVAL, "store: bad lockout parameters");
	else
		rc = tx->s->m->user_otp_result(tx, user_id, ok, max_failures, lock_until,
		                               locked != NULL ? locked : &dummy, e);
	return tx_note(tx, rc);
}

int store_user_list(store *s, int (*fn)(void *ctx, const store_user *u), void *ctx, bg_err *e)
{
	return s->m->user_list(s, fn, ctx, e);
}

int store_user_update(store_tx *tx, const store_user *u, const uint8_t *token_hash, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (u == NULL || !TERMINATED(u->role) || !role_text_ok(u->role))
		rc = bg_err_set(e, BG_EINVAL, "roles must be 1-%d of [a-z,]", STORE_ROLE_MAX - 1);
	else if (u->otp_failures < 0 || u->locked_until < 0)
		rc = bg_err_set(e, BG_EINVAL, "store: bad lockout fields");
	else
		rc = tx->s->m->user_update(tx, u, token_hash, e);
	return tx_note(tx, rc);
}

int store_user_use_otp(store_tx *tx, int64_t user_id, int64_t counter, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (counter <= 0)
		rc = bg_err_set(e, BG_EINVAL, "store: bad TOTP counter");
	else
		rc = tx->s->m->user_use_otp(tx, user_id, counter, e);
	return tx_note(tx, rc);
}

/* --- grants -------------------------------------------------------------------------- */

static int validate_grant(const store_grant *g, bg_err *e)
{
	size_t i;

	if (g == NULL)
		return bg_err_set(e, BG_EINVAL, "store: no grant");
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
	if (g->n_runbooks > BG_MAX_GRANT_RUNBOOKS)
		return bg_err_set(e, BG_ELIMIT, "at most %d runbooks per grant",
		                  BG_MAX_GRANT_RUNBOOKS);
	for (i = 0; i < g->n_runbooks; i++) {
		size_t k;
		if (!TERMINATED(g->runbooks[i]) ||
		    !bg_valid_id(g->runbooks[i], BG_MAX_RUNBOOK_ID) ||
		    !TERMINATED(g->runbook_hashes[i]) || strlen(g->runbook_hashes[i]) != 64)
			return bg_err_set(e, BG_EINVAL, "a runbook pin is an id and a SHA-256");
		for (k = 0; k < 64; k++)
			if (bg_hex_digit(g->runbook_hashes[i][k]) < 0)
				return bg_err_set(e, BG_EINVAL,
				                  "a runbook pin is an id and a SHA-256");
	}
	if (g->revoked_at < 0 || !TERMINATED(g->revoked_by) || !TERMINATED(g->reason) ||
	    (g->revoked_by[0] != '\0' && !bg_valid_user_name(g->revoked_by)))
		return bg_err_set(e, BG_EINVAL, "bad revocation or reason field");
	return 0;
}

int store_grant_add(store_tx *tx, const store_grant *g, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	rc = validate_grant(g, e);
	if (rc == 0)
		rc = tx->s->m->grant_add(tx, g, e);
	return tx_note(tx, rc);
}

int store_grant_by_id(store *s, const char *id, store_grant *out, bg_err *e)
{
	if (!bg_valid_id(id, STORE_ID_MAX - 1))
		return bg_err_set(e, BG_ENOTFOUND, "no such grant");
	return s->m->grant_get(s, STORE_GRANT_BY_ID, id, out, e);
}

int store_grant_by_akid(store *s, const char *akid, store_grant *out, bg_err *e)
{
	if (!bg_valid_id(akid, STORE_ID_MAX - 1))
		return bg_err_set(e, BG_ENOTFOUND, "no such grant");
	return s->m->grant_get(s, STORE_GRANT_BY_AKID, akid, out, e);
}

int store_grant_revoke(store_tx *tx, const char *id, const char *who, int64_t now, store_grant *out,
                       bg_err *e)
{
	store_grant *g = out;
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (!bg_valid_id(id, STORE_ID_MAX - 1))
		rc = bg_err_set(e, BG_ENOTFOUND, "no such grant");
	else if (!bg_valid_user_name(who))
		rc = bg_err_set(e, BG_EINVAL, "bad revoker name");
	else if (now <= 0)
		rc = bg_err_set(e, BG_EINVAL, "bad revocation time");
	else if (g == NULL && (g = malloc(sizeof(*g))) == NULL)
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
	else
		rc = tx->s->m->grant_revoke(tx, id, who, now, g, e);
	if (g != out)
		free(g);
	return tx_note(tx, rc);
}

int store_grant_list(store *s, const char *user, int (*fn)(void *ctx, const store_grant *g),
                     void *ctx, bg_err *e)
{
	store_grant *page, *cursor;
	size_t n, i;
	int rc;

	if (user != NULL && !bg_valid_user_name(user))
		return 0; /* no grant can belong to an invalid name */
	page = malloc((LIST_PAGE + 1) * sizeof(*page));
	if (page == NULL)
		return bg_err_set(e, BG_ENOMEM, "store: out of memory");
	cursor = &page[LIST_PAGE]; /* the last grant of the previous page */
	for (rc = s->m->grant_page(s, user, NULL, page, LIST_PAGE, &n, e); rc == 0;
	     rc = s->m->grant_page(s, user, cursor, page, LIST_PAGE, &n, e)) {
		for (i = 0; i < n; i++)
			if (fn(ctx, &page[i]) != 0)
				goto out; /* stopped by the caller: not an error */
		if (n < LIST_PAGE)
			break;
		*cursor = page[n - 1];
	}
out:
	free(page);
	return rc;
}

int store_grant_get_tx(store_tx *tx, const char *id, store_grant *out, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (!bg_valid_id(id, STORE_ID_MAX - 1))
		return bg_err_set(e, BG_ENOTFOUND, "no such grant");
	rc = tx->s->m->grant_get_tx(tx, id, out, e);
	return rc == BG_ENOTFOUND ? rc : tx_note(tx, rc);
}

int store_grant_extend(store_tx *tx, const char *id, int64_t expires_at, store_grant *out,
                       bg_err *e)
{
	store_grant *g = calloc(1, sizeof(*g));
	int rc = tx_ready(tx, e);

	if (g == NULL)
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
	if (rc == 0)
		rc = store_grant_get_tx(tx, id, g, e);
	if (rc == 0 && g->revoked_at != 0)
		rc = bg_err_set(e, BG_EINVAL, "grant %s is revoked", id);
	if (rc == 0) {
		g->expires_at = expires_at;
		rc = validate_grant(g, e);
	}
	if (rc == 0)
		rc = tx_note(tx, tx->s->m->grant_extend(tx, id, expires_at, e));
	if (rc == 0 && out != NULL)
		*out = *g;
	free(g);
	return tx_note(tx, rc);
}

/* --- incidents ----------------------------------------------------------------------- */

/* A lookup in tx that finds nothing has not failed: the transaction goes on. */
static int tx_note_lookup(store_tx *tx, int rc)
{
	return rc == BG_ENOTFOUND ? rc : tx_note(tx, rc);
}

static bool source_ok(const char *s)
{
	static const char *const names[] = {"manual", "alertmanager", "sns", "pagerduty",
	                                    "generic"};
	size_t i;

	for (i = 0; s != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return true;
	return false;
}

/* An actor: a user, or an alert source (which are valid user names too). */
static bool actor_ok(const char *s)
{
	return bg_valid_user_name(s);
}

static int validate_incident(const store_incident *in, bg_err *e)
{
	if (in == NULL || !TERMINATED(in->id) || !bg_valid_id(in->id, BG_MAX_INCIDENT_ID))
		return bg_err_set(e, BG_EINVAL, "an incident id is 1-%d of [A-Za-z0-9._-]",
		                  BG_MAX_INCIDENT_ID);
	if (!TERMINATED(in->source) || !source_ok(in->source))
		return bg_err_set(e, BG_EINVAL, "store: bad incident source");
	if (!TERMINATED(in->group_key) || !bg_valid_text(in->group_key, BG_MAX_ALERT_GROUP) ||
	    (strcmp(in->source, "manual") == 0) != (in->group_key[0] == '\0'))
		return bg_err_set(e, BG_EINVAL, "store: bad alert group");
	if (in->severity < 1 || in->severity > 5)
		return bg_err_set(e, BG_EINVAL, "severity is 1 (most severe) to 5");
	if (!TERMINATED(in->title) || in->title[0] == '\0' ||
	    !bg_valid_text(in->title, BG_MAX_INCIDENT_TITLE))
		return bg_err_set(e, BG_EINVAL,
		                  "a title is 1-%d bytes of text without control characters",
		                  BG_MAX_INCIDENT_TITLE);
	if (!TERMINATED(in->service) ||
	    (in->service[0] != '\0' && !bg_valid_id(in->service, BG_MAX_SERVICE_NAME)))
		return bg_err_set(e, BG_EINVAL, "a service name is 1-%d of [A-Za-z0-9._-]",
		                  BG_MAX_SERVICE_NAME);
	if (!TERMINATED(in->opened_by) || !actor_ok(in->opened_by) ||
	    !TERMINATED(in->resolved_by) ||
	    (in->resolved_by[0] != '\0' && !actor_ok(in->resolved_by)))
		return bg_err_set(e, BG_EINVAL, "store: bad incident actor");
	if (in->opened_at <= 0 || in->updated_at < in->opened_at || in->resolved_at < 0 ||
	    (in->open && in->resolved_at != 0) || in->firing < 0 || in->last_firing_at < 0 ||
	    in->alerts_resolved_at < 0)
		return bg_err_set(e, BG_EINVAL, "store: bad incident times or counts");
	return 0;
}

int store_incident_add(store_tx *tx, const store_incident *in, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc == 0)
		rc = validate_incident(in, e);
	if (rc == 0)
		rc = tx->s->m->incident_add(tx, in, e);
	return tx_note(tx, rc);
}

int store_incident_get(store *s, const char *id, store_incident *out, bg_err *e)
{
	if (!bg_valid_id(id, BG_MAX_INCIDENT_ID))
		return bg_err_set(e, BG_ENOTFOUND, "no such incident");
	return s->m->incident_get(s, NULL, id, out, e);
}

int store_incident_get_tx(store_tx *tx, const char *id, store_incident *out, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (!bg_valid_id(id, BG_MAX_INCIDENT_ID))
		return bg_err_set(e, BG_ENOTFOUND, "no such incident");
	return tx_note_lookup(tx, tx->s->m->incident_get(tx->s, tx, id, out, e));
}

int store_incident_find_open(store_tx *tx, const char *source, const char *group,
                             store_incident *out, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (!source_ok(source) || group == NULL || group[0] == '\0')
		return tx_note(tx, bg_err_set(e, BG_EINVAL, "store: bad alert source or group"));
	return tx_note_lookup(tx, tx->s->m->incident_find_open(tx, source, group, out, e));
}

int store_incident_update(store_tx *tx, const store_incident *in, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc == 0)
		rc = validate_incident(in, e);
	if (rc == 0)
		rc = tx->s->m->incident_update(tx, in, e);
	return tx_note(tx, rc);
}

int store_incident_list(store *s, int (*fn)(void *ctx, const store_incident *in), void *ctx,
                        bg_err *e)
{
	return s->m->incident_list(s, fn, ctx, e);
}

int store_alert_get(store_tx *tx, const char *incident, const char *key, store_alert *out,
                    bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (!bg_valid_id(incident, BG_MAX_INCIDENT_ID) || key == NULL)
		return tx_note(tx, bg_err_set(e, BG_EINVAL, "store: bad incident or alert key"));
	return tx_note_lookup(tx, tx->s->m->alert_get(tx, incident, key, out, e));
}

int store_alert_put(store_tx *tx, const store_alert *a, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (a == NULL || !TERMINATED(a->incident) ||
	    !bg_valid_id(a->incident, BG_MAX_INCIDENT_ID) || !TERMINATED(a->key) ||
	    a->key[0] == '\0' || !bg_valid_text(a->key, BG_MAX_ALERT_KEY) || !TERMINATED(a->name) ||
	    !bg_valid_text(a->name, BG_MAX_ALERT_NAME) || !TERMINATED(a->summary) ||
	    !bg_valid_text(a->summary, BG_MAX_ALERT_SUMMARY) || a->starts_at < 0 ||
	    a->ends_at < 0 || a->updated_at <= 0)
		rc = bg_err_set(e, BG_EINVAL, "store: bad alert");
	else
		rc = tx->s->m->alert_put(tx, a, e);
	return tx_note(tx, rc);
}

int store_alert_list(store *s, const char *incident, int (*fn)(void *ctx, const store_alert *a),
                     void *ctx, bg_err *e)
{
	if (!bg_valid_id(incident, BG_MAX_INCIDENT_ID))
		return bg_err_set(e, BG_ENOTFOUND, "no such incident");
	return s->m->alert_list(s, incident, fn, ctx, e);
}

int store_alert_count(store_tx *tx, const char *incident, int64_t *firing, int64_t *all, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (!bg_valid_id(incident, BG_MAX_INCIDENT_ID))
		return tx_note(tx, bg_err_set(e, BG_EINVAL, "store: bad incident id"));
	return tx_note(tx, tx->s->m->alert_count(tx, incident, firing, all, e));
}

int store_incident_event_add(store_tx *tx, const char *incident, const store_incident_event *ev,
                             bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (!bg_valid_id(incident, BG_MAX_INCIDENT_ID) || ev == NULL || ev->at <= 0 ||
	    !TERMINATED(ev->kind) || !bg_valid_id(ev->kind, STORE_EVENT_MAX - 1) ||
	    !TERMINATED(ev->actor) || !actor_ok(ev->actor) || !TERMINATED(ev->text) ||
	    !bg_valid_text(ev->text, BG_MAX_REASON))
		rc = bg_err_set(e, BG_EINVAL, "store: bad incident event");
	else
		rc = tx->s->m->incident_event_add(tx, incident, ev, e);
	return tx_note(tx, rc);
}

int store_incident_event_list(store *s, const char *incident,
                              int (*fn)(void *ctx, const store_incident_event *ev), void *ctx,
                              bg_err *e)
{
	if (!bg_valid_id(incident, BG_MAX_INCIDENT_ID))
		return bg_err_set(e, BG_ENOTFOUND, "no such incident");
	return s->m->incident_event_list(s, incident, fn, ctx, e);
}

int store_delivery_record(store_tx *tx, const char *source, const char *id, int64_t now, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (!source_ok(source) || id == NULL || id[0] == '\0' ||
	    !bg_valid_text(id, BG_MAX_ALERT_KEY) || now <= 0)
		return tx_note(tx, bg_err_set(e, BG_EINVAL, "store: bad delivery id"));
	rc = tx->s->m->delivery_record(tx, source, id, now, e);
	/* A redelivery is an answer, not a failure of the transaction. */
	return rc == BG_EEXISTS ? rc : tx_note(tx, rc);
}

/* --- requests and approvals ------------------------------------------------------------ */

static bool request_state_ok(const char *s)
{
	return strcmp(s, "pending") == 0 || strcmp(s, "approved") == 0 ||
	       strcmp(s, "denied") == 0 || strcmp(s, "expired") == 0 || strcmp(s, "refused") == 0;
}

static bool pins_ok(size_t n, const char ids[][BG_MAX_RUNBOOK_ID + 1], const char hashes[][65])
{
	size_t i, k;

	if (n > BG_MAX_GRANT_RUNBOOKS)
		return false;
	for (i = 0; i < n; i++) {
		if (strnlen(ids[i], BG_MAX_RUNBOOK_ID + 1) > BG_MAX_RUNBOOK_ID ||
		    !bg_valid_id(ids[i], BG_MAX_RUNBOOK_ID) || strnlen(hashes[i], 65) != 64)
			return false;
		for (k = 0; k < 64; k++)
			if (bg_hex_digit(hashes[i][k]) < 0)
				return false;
	}
	return true;
}

static int validate_request(const store_request *r, bg_err *e)
{
	if (r == NULL || !TERMINATED(r->id) || !bg_valid_id(r->id, STORE_ID_MAX - 1))
		return bg_err_set(e, BG_EINVAL, "store: bad request id");
	if (!TERMINATED(r->requester) || !bg_valid_user_name(r->requester) ||
	    !TERMINATED(r->incident) || !bg_valid_id(r->incident, BG_MAX_INCIDENT_ID))
		return bg_err_set(e, BG_EINVAL, "store: bad requester or incident");
	if (r->n_runbooks == 0 || !pins_ok(r->n_runbooks, r->runbooks, r->runbook_hashes))
		return bg_err_set(e, BG_EINVAL, "a request pins 1 to %d runbooks",
		                  BG_MAX_GRANT_RUNBOOKS);
	if (!TERMINATED(r->reason) || !bg_valid_text(r->reason, BG_MAX_REASON) ||
	    !TERMINATED(r->ticket) || !bg_valid_text(r->ticket, BG_MAX_TICKET) ||
	    !TERMINATED(r->criteria) || r->criteria[0] != '[')
		return bg_err_set(e, BG_EINVAL, "store: bad reason, ticket or criteria");
	if (!bg_valid_grant_seconds(r->duration_seconds))
		return bg_err_set(e, BG_EINVAL, "a request lasts 1 second to %d hours",
		                  BG_MAX_GRANT_SECONDS / 3600);
	if (!TERMINATED(r->state) || !request_state_ok(r->state) || !TERMINATED(r->extends) ||
	    (r->extends[0] != '\0' && !bg_valid_id(r->extends, STORE_ID_MAX - 1)) ||
	    !TERMINATED(r->decided_by) ||
	    (r->decided_by[0] != '\0' && !bg_valid_user_name(r->decided_by)))
		return bg_err_set(e, BG_EINVAL, "store: bad request state");
	if (r->created_at <= 0 || r->expires_at < r->created_at || r->decided_at < 0 ||
	    (strcmp(r->state, "pending") == 0) != (r->decided_at == 0))
		return bg_err_set(e, BG_EINVAL, "store: bad request times");
	return 0;
}

int store_request_add(store_tx *tx, const store_request *r, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc == 0)
		rc = validate_request(r, e);
	if (rc == 0)
		rc = tx->s->m->request_add(tx, r, e);
	return tx_note(tx, rc);
}

int store_request_get(store *s, const char *id, store_request *out, bg_err *e)
{
	if (!bg_valid_id(id, STORE_ID_MAX - 1))
		return bg_err_set(e, BG_ENOTFOUND, "no such request");
	return s->m->request_get(s, NULL, id, out, e);
}

int store_request_get_tx(store_tx *tx, const char *id, store_request *out, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (!bg_valid_id(id, STORE_ID_MAX - 1))
		return bg_err_set(e, BG_ENOTFOUND, "no such request");
	return tx_note_lookup(tx, tx->s->m->request_get(tx->s, tx, id, out, e));
}

int store_request_update(store_tx *tx, const store_request *r, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc == 0)
		rc = validate_request(r, e);
	if (rc == 0)
		rc = tx->s->m->request_update(tx, r, e);
	return tx_note(tx, rc);
}

int store_request_list(store *s, const char *requester,
                       int (*fn)(void *ctx, const store_request *r), void *ctx, bg_err *e)
{
	if (requester != NULL && !bg_valid_user_name(requester))
		return 0; /* no such user: no requests */
	return s->m->request_list(s, requester, fn, ctx, e);
}

int store_approval_add(store_tx *tx, const store_approval *a, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (a == NULL || !TERMINATED(a->request) || !bg_valid_id(a->request, STORE_ID_MAX - 1) ||
	    !TERMINATED(a->approver) || !bg_valid_user_name(a->approver) ||
	    !TERMINATED(a->reason) || !bg_valid_text(a->reason, BG_MAX_REASON) || a->at <= 0)
		rc = bg_err_set(e, BG_EINVAL, "store: bad approval");
	else
		rc = tx->s->m->approval_add(tx, a, e);
	return tx_note(tx, rc);
}

int store_approval_list(store *s, store_tx *tx, const char *request,
                        int (*fn)(void *ctx, const store_approval *a), void *ctx, bg_err *e)
{
	int rc = tx != NULL ? tx_ready(tx, e) : 0;

	if (rc != 0)
		return rc;
	if (!bg_valid_id(request, STORE_ID_MAX - 1))
		return bg_err_set(e, BG_ENOTFOUND, "no such request");
	rc = s->m->approval_list(s, tx, request, fn, ctx, e);
	return tx != NULL ? tx_note(tx, rc) : rc;
}

int store_request_expired(store *s, int64_t since, int64_t now, char (*ids)[STORE_ID_MAX],
                          size_t max, size_t *n, bg_err *e)
{
	*n = 0;
	if (ids == NULL || max == 0 || now <= 0 || since > now)
		return bg_err_set(e, BG_EINVAL, "store: bad expiry listing");
	return s->m->request_expired(s, since, now, ids, max, n, e);
}

int store_grant_expired(store *s, int64_t since, int64_t now, store_grant *out, size_t max,
                        size_t *n, bg_err *e)
{
	*n = 0;
	if (out == NULL || max == 0 || now <= 0 || since > now)
		return bg_err_set(e, BG_EINVAL, "store: bad expiry listing");
	return s->m->grant_expired(s, since, now, out, max, n, e);
}

int store_grant_expiry_noticed(store_tx *tx, const char *id, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (!bg_valid_id(id, STORE_ID_MAX - 1))
		return tx_note(tx, bg_err_set(e, BG_ENOTFOUND, "no such grant"));
	return tx_note(tx, tx->s->m->grant_expiry_noticed(tx, id, e));
}

/* --- the notification outbox ----------------------------------------------------------- */

/* An event's name as policy.h spells them: lower-case letters. */
static bool event_name_ok(const char *s, size_t cap)
{
	size_t i, n = strnlen(s, cap);

	if (n == 0 || n == cap)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < 'a' || s[i] > 'z')
			return false;
	return true;
}

int store_outbox_add(store_tx *tx, store_outbox *o, bg_err *e)
{
	int rc = tx_ready(tx, e);
	size_t len;

	if (rc != 0)
		return rc;
	if (o == NULL || !TERMINATED(o->target) || !bg_valid_id(o->target, BG_MAX_NOTIFY_NAME) ||
	    !event_name_ok(o->event, sizeof(o->event)))
		return tx_note(tx,
		               bg_err_set(e, BG_EINVAL, "store: bad notification target or event"));
	len = o->payload != NULL ? strnlen(o->payload, BG_MAX_NOTIFY_PAYLOAD + 1) : 0;
	if (len > BG_MAX_NOTIFY_PAYLOAD)
		return tx_note(tx, bg_err_set(e, BG_ELIMIT,
		                              "a notification is at most %u bytes of JSON",
		                              BG_MAX_NOTIFY_PAYLOAD));
	if (len < 2 || o->payload[0] != '{' || o->payload[len - 1] != '}')
		return tx_note(tx,
		               bg_err_set(e, BG_EINVAL, "store: a notification is a JSON object"));
	if (o->created_at <= 0 || o->next_at < o->created_at)
		return tx_note(tx, bg_err_set(e, BG_EINVAL, "store: bad notification times"));
	o->attempts = 0;
	o->delivered_at = 0;
	o->last_error[0] = '\0';
	return tx_note(tx, tx->s->m->outbox_add(tx, o, e));
}

int store_outbox_due(store *s, int64_t now, int64_t limit,
                     int (*fn)(void *ctx, const store_outbox *o), void *ctx, bg_err *e)
{
	if (fn == NULL || now <= 0 || limit <= 0)
		return bg_err_set(e, BG_EINVAL, "store: bad outbox listing");
	return s->m->outbox_due(s, now, limit, fn, ctx, e);
}

int store_outbox_claim(store_tx *tx, int64_t id, int64_t now, int64_t until, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (id <= 0 || now <= 0 || until <= now)
		return tx_note(tx, bg_err_set(e, BG_EINVAL, "store: bad outbox claim"));
	return tx_note(tx, tx->s->m->outbox_claim(tx, id, now, until, e));
}

int store_outbox_result(store_tx *tx, int64_t id, int64_t now, bool delivered, int64_t next_at,
                        const char *error, bg_err *e)
{
	char line[BG_MAX_NOTIFY_ERROR + 1];
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (id <= 0 || now <= 0 || (!delivered && next_at != 0 && next_at <= now))
		return tx_note(tx, bg_err_set(e, BG_EINVAL, "store: bad outbox result"));
	/* An error is what a receiver or libcurl said: kept as one line of text. */
	snprintf(line, sizeof(line), "%s", delivered || error == NULL ? "" : error);
	bg_text_clean(line);
	return tx_note(
	    tx, tx->s->m->outbox_result(tx, id, now, delivered, delivered ? 0 : next_at, line, e));
}

int store_outbox_get(store *s, int64_t id, store_outbox *out, bg_err *e)
{
	if (id <= 0)
		return bg_err_set(e, BG_ENOTFOUND, "no such notification");
	return s->m->outbox_get(s, id, out, e);
}

/* --- the audit table ----------------------------------------------------------------- */

int store_audit_head(store_tx *tx, int64_t *seq, char hash[STORE_HASH_HEX + 1], bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	return tx_note(tx, tx->s->m->audit_head(tx, seq, hash, e));
}

int store_audit_insert(store_tx *tx, const store_audit_row *row, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (row == NULL || row->seq <= 0 || row->ts.p == NULL ||
	    row->f[STORE_AUDIT_KIND].p == NULL || row->prev_hash.n != STORE_HASH_HEX ||
	    row->hash.n != STORE_HASH_HEX)
		rc = bg_err_set(e, BG_EINVAL, "store: incomplete audit row");
	else
		rc = tx->s->m->audit_insert(tx, row, e);
	return tx_note(tx, rc);
}

int store_audit_scan(store *s, int64_t after, int64_t limit,
                     int (*fn)(void *ctx, const store_audit_row *row, bg_err *e), void *ctx,
                     bg_err *e)
{
	if (fn == NULL)
		return bg_err_set(e, BG_EINVAL, "store: no callback");
	return s->m->audit_scan(s, after, limit, fn, ctx, e);
}

int store_audit_scan_back(store *s, int64_t before, int64_t limit,
                          int (*fn)(void *ctx, const store_audit_row *row, bg_err *e), void *ctx,
                          bg_err *e)
{
	if (fn == NULL)
		return bg_err_set(e, BG_EINVAL, "store: no row function");
	return s->m->audit_scan_back(s, before > 0 ? before : INT64_MAX, limit, fn, ctx, e);
}

int store_audit_by_request(store *s, const char *request_id, int64_t limit,
                           int (*fn)(void *ctx, const store_audit_row *row, bg_err *e), void *ctx,
                           bg_err *e)
{
	if (fn == NULL || request_id == NULL)
		return bg_err_set(e, BG_EINVAL, "store: no row function or request id");
	return s->m->audit_by_request(s, request_id, limit, fn, ctx, e);
}

int store_sink_cursor_get(store *s, const char *name, int64_t *seq, bg_err *e)
{
	if (name == NULL || name[0] == '\0' || seq == NULL)
		return bg_err_set(e, BG_EINVAL, "store: a sink cursor needs a name");
	return s->m->sink_cursor_get(s, name, seq, e);
}

int store_sink_cursor_set(store_tx *tx, const char *name, int64_t seq, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (name == NULL || name[0] == '\0' || seq < 0)
		rc = bg_err_set(e, BG_EINVAL, "store: a sink cursor needs a name and a seq");
	else
		rc = tx->s->m->sink_cursor_set(tx, name, seq, bg_now(), e);
	return tx_note(tx, rc);
}

int store_spend_add(store_tx *tx, const char *grant_id, const char *runbook, double read,
                    double write, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (grant_id == NULL || grant_id[0] == '\0' || (runbook != NULL && runbook[0] == '\0') ||
	    !(read >= 0) || !(write >= 0) || !isfinite(read) || !isfinite(write))
		rc = bg_err_set(e, BG_EINVAL,
		                "store: spent capacity needs a grant and amounts >= 0");
	else
		rc = tx->s->m->spend_add(tx, grant_id, runbook, read, write, e);
	return tx_note(tx, rc);
}

int store_spend_list(store *s, const char *grant_id,
                     int (*fn)(void *ctx, const char *runbook, double read, double write,
                               bg_err *e),
                     void *ctx, bg_err *e)
{
	if (grant_id == NULL || grant_id[0] == '\0' || fn == NULL)
		return bg_err_set(e, BG_EINVAL, "store: spent capacity is listed by grant");
	return s->m->spend_list(s, grant_id, fn, ctx, e);
}

int store_review_open(store_tx *tx, const store_review *r, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (r == NULL || r->incident[0] == '\0' || r->deadline <= 0)
		rc = bg_err_set(e, BG_EINVAL, "store: a review needs an incident and a deadline");
	else
		rc = tx->s->m->review_open(tx, r, e);
	return tx_note(tx, rc);
}

int store_review_get(store *s, store_tx *tx, const char *incident, store_review *out, bg_err *e)
{
	if (incident == NULL || incident[0] == '\0')
		return bg_err_set(e, BG_ENOTFOUND, "no such review");
	return s->m->review_get(tx != NULL ? tx->s : s, tx, incident, out, e);
}

int store_review_sign(store_tx *tx, const char *incident, const char *who, int64_t at,
                      const char *learnings, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	if (who == NULL || who[0] == '\0' || learnings == NULL ||
	    strlen(learnings) > BG_MAX_LEARNINGS)
		rc = bg_err_set(e, BG_EINVAL, "store: a signature needs a signer and learnings");
	else
		rc = tx->s->m->review_sign(tx, incident, who, at, learnings, e);
	return tx_note(tx, rc);
}

int store_review_list(store *s, int (*fn)(void *ctx, const store_review *r), void *ctx, bg_err *e)
{
	if (fn == NULL)
		return bg_err_set(e, BG_EINVAL, "store: no callback");
	return s->m->review_list(s, fn, ctx, e);
}

int store_review_overdue_noticed(store_tx *tx, const char *incident, bg_err *e)
{
	int rc = tx_ready(tx, e);

	if (rc != 0)
		return rc;
	rc = tx->s->m->review_overdue_noticed(tx, incident, e);
	return rc == 1 ? 1 : tx_note(tx, rc);
}
