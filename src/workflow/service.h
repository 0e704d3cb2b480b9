/*
 * service.h - the service layer: every action on users and grants, called alike by the
 * JSON API (gateway/api.c) and by the commands that run beside the store (`breakglass
 * init`). Front ends parse their input, call one function here and render its answer;
 * the rules live here.
 *
 * Each action validates its input first, then applies what only the domain knows (who
 * may see or use a grant), then takes the caller's TOTP step-up if the action needs one,
 * and then makes its state change and appends the action's audit record in one store
 * transaction, so the two commit together or not at all. That is the promise: a typo
 * costs no TOTP code (each code is accepted once), an action whose record cannot be made
 * durable is not done (BG_EAUDIT, fail closed), a change that fails is recorded only as a
 * refused attempt (decision "deny", with the reason), and a crash at any moment leaves
 * neither a change without its record nor a record of a change that did not happen. An action that
 * changes nothing (fetching credentials) is recorded, durably, before it is answered.
 *
 * Whether a role may call an action at all, and whether it needs a step-up, is declared
 * by the front end (the API's route table) in the svc_caller it passes: svc_has_role() is
 * the one role check, and the step-up is verified here at the last moment before the
 * record, so no state changes for a caller whose required step-up was not verified.
 *
 * Every function returns 0 or a BG_E* code with a reason in e that may be shown to the
 * caller: BG_EINVAL bad input, BG_EOTP step-up code missing or malformed, BG_EAUTH
 * step-up code wrong or already used, BG_EDENIED not allowed for this caller,
 * BG_ENOTFOUND no such user or grant (also a grant the caller may not see), BG_EEXISTS
 * already exists, BG_EAUDIT the action could not be recorded so it was not done; any
 * other code: the store or the system failed.
 */
#ifndef BG_SERVICE_H
#define BG_SERVICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "common/err.h"
#include "store/keyring.h"
#include "store/store.h"
#include "workflow/grant.h"
#include "workflow/grant_cache.h"
#include "workflow/user.h"

/* What became of asking whether a table exists. */
typedef enum svc_table_state {
	SVC_TABLE_EXISTS,
	SVC_TABLE_MISSING,   /* the upstream says there is no such table */
	SVC_TABLE_UNKNOWN,   /* it answered something else (no permission, an error) */
	SVC_TABLE_UNREACHED, /* no answer at all: the other tables are not asked either */
} svc_table_state;

/* Whether a table exists, as whatever serves the tables says: the gateway asks DynamoDB
 * (DescribeTable), tests use a fake. The I/O stays behind this interface; the service
 * layer only turns the answers into a new grant's warnings (a grant is never refused for
 * them: the table may be about to be created, or the gateway may not be allowed to
 * look). check fills why (size n) with what was said, for the warning. */
typedef struct svc_tables {
	svc_table_state (*check)(void *ctx, const char *table, char *why, size_t n);
	void *ctx;
} svc_tables;

/* The runbooks the gateway has loaded, as a grant needs them: by id, the table and
 * operation a runbook runs and its content hash, which the grant pins. pin returns 0 or
 * BG_ENOTFOUND. describe (may be NULL) returns what an approver reads about runbook id
 * (runbook_describe()) as a new object, or NULL. */
typedef struct svc_runbooks {
	int (*pin)(void *ctx, const char *id, char table[BG_MAX_TABLE_NAME + 1],
	           char op[STORE_OP_MAX], char hash[65]);
	void *ctx;
	json_t *(*describe)(void *ctx, const char *id);
} svc_runbooks;

/* A notification target as the service layer sees it: its name and the events it takes
 * (POLICY_EV_* bits). How it is delivered is the gateway's business (gateway/notifier). */
typedef struct svc_notify_target {
	const char *name;
	unsigned events;
} svc_notify_target;

/* Where notifications go (workflow/notify.h). wake (may be NULL) is called after a
 * commit that may have queued one, so the sender need not wait for its next poll. */
typedef struct svc_notify {
	const svc_notify_target *targets;
	size_t n;
	const char *gateway_url; /* shown in notifications (BREAKGLASS_URL); may be NULL */
	void (*wake)(void *ctx);
	void *ctx;
} svc_notify;

/* What the service layer acts on. Borrowed: the caller keeps them open. */
typedef struct svc {
	store *st;
	const keyring *kr;
	audit_log *audit;
	grant_cache *grants;          /* the gateway's live grants, kept current here; NULL: none */
	const svc_tables *tables;     /* asked about a new grant's tables; NULL: not checked */
	const svc_runbooks *runbooks; /* the loaded runbooks; NULL: none (runbook grants refused) */
	bool direct_grants_denied;    /* the policy's direct_grants: deny */
	const svc_notify *notify;     /* notification targets; NULL: none */
} svc;

/* Who is acting, and with what step-up. svc_authenticate() fills user and role; the
 * front end sets the rest for the action at hand. */
typedef struct svc_caller {
	store_user user;
	unsigned role;          /* the set of roles, parsed from user.role */
	const char *request_id; /* recorded in the action's audit record; may be NULL */
	const char *otp;        /* the step-up code sent with the action; may be NULL */
	bool needs_step_up;     /* the action needs a verified step-up code */
	bool stepped_up;        /* set here once the code has been verified */
} svc_caller;

/* Recognises the caller by API token (n bytes, not NUL-terminated) and fills *out (the
 * rest zeroed). BG_EAUTH for an unknown token or a user whose stored role is unknown. */
int svc_authenticate(const svc *s, const char *token, size_t n, svc_caller *out,
                     bg_err *e) BG_MUST_CHECK;

/* True when the caller holds one of the roles in the set roles (user_role bits). */
bool svc_has_role(const svc_caller *c, unsigned roles);

/* Creates user name with the role named role_name (audit record "user"). *out gets the
 * new user's token and TOTP secret, shown once; free it with user_secrets_free() in
 * every case. */
int svc_user_add(const svc *s, svc_caller *c, const char *name, const char *role_name,
                 user_secrets *out, bg_err *e) BG_MUST_CHECK;

/* The first admin of a new store (audit record "init", by that admin). For `breakglass
 * init`, which runs on the data directory itself and so needs no caller. *out as for
 * svc_user_add. */
int svc_init_admin(const svc *s, const char *name, user_secrets *out, bg_err *e) BG_MUST_CHECK;

/* What a direct grant asks for. A list entry may be NULL (the front end's input had
 * something other than a name there); reason may be NULL. */
typedef struct svc_grant_input {
	const char *user;
	const char *const *tables;
	size_t n_tables;
	const char *const *ops;
	size_t n_ops;
	const char *const *runbooks; /* a runbook grant names these instead of tables and ops */
	size_t n_runbooks;
	int64_t duration_seconds;
	const char *reason;
} svc_grant_input;

/* Grants in->user access to in's tables and operations for in->duration_seconds, by the
 * caller (kind "direct"; audit record "grant" carrying grant_to_json(), with "warnings"
 * when there are any). The admin's direct path beside the request workflow: it needs a
 * reason, is refused when the policy says direct_grants: deny, and an admin never grants
 * themself (another admin must, or they request like anyone). *out is the stored grant. Once the
 * input is valid and the step-up verified, each table is checked with s->tables: a table that does
 * not exist, or that could not be checked, is a warning, never a refusal. When warnings is not NULL
 * it gets a new array of them (empty if none) on success, NULL otherwise. */
int svc_grant_create(const svc *s, svc_caller *c, const svc_grant_input *in, store_grant *out,
                     json_t **warnings, bg_err *e) BG_MUST_CHECK;

/* The grant with this id, if the caller may see it: an admin sees every grant, anyone
 * else only their own (others' are BG_ENOTFOUND, as if they did not exist). */
int svc_grant_get(const svc *s, const svc_caller *c, const char *id, store_grant *out,
                  bg_err *e) BG_MUST_CHECK;

/* Calls fn for each grant the caller may see, newest first; fn returns non-zero to stop. */
int svc_grant_list(const svc *s, const svc_caller *c, int (*fn)(void *ctx, const store_grant *g),
                   void *ctx, bg_err *e) BG_MUST_CHECK;

/* Revokes a grant the caller may see (audit record "revoke"); revoking a revoked grant
 * keeps its first revocation. *out is the grant afterwards. */
int svc_grant_revoke(const svc *s, svc_caller *c, const char *id, store_grant *out,
                     bg_err *e) BG_MUST_CHECK;

/* The credentials of a live grant, for its grantee only: an admin who grants must not
 * also hold the keys (audit record "creds"). *g gets the grant; zero *out after use. */
int svc_grant_creds(const svc *s, svc_caller *c, const char *id, store_grant *g, grant_creds *out,
                    bg_err *e) BG_MUST_CHECK;

/* Calls fn with each audit record after seq `after`, at most limit of them (1 to
 * BG_MAX_AUDIT_PAGE), oldest first (audit_read()). */
/* Every user (admins). */
int svc_user_list(const svc *s, const svc_caller *c, int (*fn)(void *ctx, const store_user *u),
                  void *ctx, bg_err *e) BG_MUST_CHECK;

/* Disables (or, disable false, enables again) user name (audit "user-disable" /
 * "user-enable"). A disabled user's API token is refused and their active grants are
 * revoked in the same transaction. Refused for the caller themself and for the last
 * enabled admin. */
int svc_user_disable(const svc *s, svc_caller *c, const char *name, bool disable,
                     bg_err *e) BG_MUST_CHECK;

/* A new API token (token) or a new TOTP key (totp) for user name (audit
 * "user-rotate-token" / "user-reset-totp"); *out gets what is new, shown once (free with
 * user_secrets_free). A reset TOTP key also clears a lockout. */
int svc_user_renew(const svc *s, svc_caller *c, const char *name, bool token, bool totp,
                   user_secrets *out, bg_err *e) BG_MUST_CHECK;

/* The documented way back in when the only admin's token or TOTP key is lost: run on the
 * server's host, with the data directory, no caller. Admin name gets a new token and a new
 * TOTP key, and is enabled and unlocked (audit "recover"). */
int svc_recover_admin(const svc *s, const char *name, user_secrets *out, bg_err *e) BG_MUST_CHECK;

/* For `breakglass run`: the grantee's grant id, which must be active and pin runbook id;
 * *hash receives the pinned content hash. BG_ENOTFOUND (no such grant, or not the
 * caller's), BG_EDENIED (not active, or the grant does not name the runbook). */
int svc_grant_runbook(const svc *s, const svc_caller *c, const char *id, const char *runbook,
                      char hash[65], bg_err *e) BG_MUST_CHECK;

/* Records what the gateway loaded (audit "config", actor "gateway"): at start and on each
 * reload, the files it runs by with their SHA-256 (detail, borrowed: event, config,
 * policy, runbooks with each template's content hash, sinks), so a review can tell which
 * rules were in force when. */
int svc_config_loaded(const svc *s, const char *event, json_t *detail, bg_err *e) BG_MUST_CHECK;

/* Records a refusal of the JSON API before any action ran: an unknown or missing API
 * token (actor NULL), a disabled user, a role the route does not admit (audit
 * "api-refused", decision "deny", with the method, path, peer and status; never the
 * token). Wrong or reused TOTP codes are recorded where they are checked. */
int svc_api_refused(const svc *s, const char *actor, const char *method, const char *path,
                    const char *peer, int status, const char *why, bg_err *e) BG_MUST_CHECK;

int svc_audit_read(const svc *s, int64_t after, int64_t limit, int (*fn)(void *ctx, json_t *rec),
                   void *ctx, bg_err *e) BG_MUST_CHECK;

/* svc_audit_read() as JSON lines appended to out (audit_read_lines: a page may end early
 * when out is full; *n lines were written, the last with seq *last). */
int svc_audit_read_lines(const svc *s, int64_t after, int64_t limit, bg_buf *out, int64_t *n,
                         int64_t *last, bg_err *e) BG_MUST_CHECK;

/* Which audit records a reader wants; NULL fields match everything. since is an RFC 3339
 * UTC time ("2026-12-01T09:00:00Z"), compared to the second. */
typedef struct svc_audit_filter {
	const char *grant;    /* grant_id */
	const char *user;     /* actor */
	const char *incident; /* detail.incident, or grant_id one of the incident's grants */
	const char *since;    /* ts at or after */
	/* The ids of the incident's requests, which their grants share: filled by
	 * svc_audit_filter_prepare, so that a grant's credentials, queries, denials and
	 * revocation (recorded with its grant_id, not the incident) belong to the incident. */
	char (*grants)[STORE_ID_MAX];
	size_t n_grants;
} svc_audit_filter;

/* Looks up what f->incident needs (its requests' ids, from the store) before records are
 * matched; nothing to do without an incident. Free with svc_audit_filter_release. 0 or
 * BG_ENOMEM / the store's error. */
int svc_audit_filter_prepare(const svc *s, svc_audit_filter *f, bg_err *e) BG_MUST_CHECK;
void svc_audit_filter_release(svc_audit_filter *f);

/* True when rec passes f (prepared, when it names an incident). */
bool svc_audit_match(const svc_audit_filter *f, json_t *rec);

/* The newest n (1 to BG_MAX_AUDIT_PAGE) records that pass f, oldest of them first (what
 * `audit tail` shows); reading stops at the first record older than f->since. */
int svc_audit_tail(const svc *s, const svc_audit_filter *f, int64_t n,
                   int (*fn)(void *ctx, json_t *rec), void *ctx, bg_err *e) BG_MUST_CHECK;

/* Record seq with what belongs to it (`audit show`), as a new object in *out:
 * {"record": the record, "related": every record sharing its request_id, itself included,
 * oldest first (at most BG_MAX_AUDIT_RELATED; "related_more": true when there are more),
 * "request": the first of them of kind "request" or null, "response": the first of kind
 * "response" or "denial" or null, "grant": the grant named by grant_id (grant_to_json) or
 * null}. BG_ENOTFOUND when there is no record seq. */
int svc_audit_show(const svc *s, int64_t seq, json_t **out, bg_err *e) BG_MUST_CHECK;

/* The caller's step-up now, when the action needs one and it is not yet verified (an
 * action that must spend nothing before it, such as making a key, takes it first; the
 * action then finds it done). */
int svc_step_up(const svc *s, svc_caller *c, bg_err *e) BG_MUST_CHECK;

/* Rotates the audit checkpoints' key from old to next (both borrowed; next must outlive
 * the log), an admin action with a step-up: the record of kind "key-rotation" (detail
 * {"old_key_id", "new_key_id", "new_public_key_pem"}) is appended and checkpointed by old,
 * and every later checkpoint is next's (audit_rotate_key). *seq and *cp_seq are the
 * record's and its checkpoint's. BG_EOTP/BG_EAUTH: the step-up failed and nothing was
 * written; BG_EAUDIT: the record may or may not have been written (the caller leaves the
 * rotation for the trail to settle). */
int svc_audit_rotate_key(const svc *s, svc_caller *c, const sigkey *old, const sigkey *next,
                         int64_t *seq, int64_t *cp_seq, bg_err *e) BG_MUST_CHECK;

/* The new_key_id of the newest key-rotation record into id ("" when the trail has none),
 * reading the log backwards from its end: how a gateway that stopped during a rotation
 * learns whether it happened. */
int svc_audit_last_rotation(const svc *s, char id[SIGKEY_ID_HEX + 1], bg_err *e) BG_MUST_CHECK;

/* DynamoDB as an undo reaches it: the gateway's own identity, re-signing each call like a
 * forwarded request (tests use a fake). call(ctx, op, body, &status, &answer, why, n)
 * returns 0 when DynamoDB answered (*status its HTTP status, *answer the body parsed, or
 * NULL when not JSON: the caller frees it), BG_EUPSTREAM when no answer came (*sent says
 * whether the request may have reached DynamoDB), with why (size n) saying what. */
typedef struct svc_ddb {
	int (*call)(void *ctx, const char *op, const json_t *body, long *status, json_t **answer,
	            bool *sent, char *why, size_t n);
	void *ctx;
} svc_ddb;

/*
 * `breakglass undo SEQ` (docs/runbooks.md, "Safe writes"): puts back the item a write
 * found, the before-image its response record holds. seq is the write's request or
 * response record; grant (may be NULL for an admin) must be the grant it ran under. The
 * grant's user may undo while the grant is live, an admin always. The item now is read
 * (GetItem, ConsistentRead) and must equal what the write left (ddb_undo_after); then the
 * restore (PutItem of the before-image, or DeleteItem when there was none) is recorded
 * (kind "request", actor the caller, request_id "undo-N" with N the write's response
 * seq, detail "undo_of" N), sent with a condition that the item still holds what the
 * write left, and its answer recorded (kind "response"). A refusal after the records are
 * found is recorded too (kind "undo", decision "deny").
 *
 * Returns 0 with *out {"undo_of", "op", "table", "key", "restored", "request_seq",
 * "response_seq"}. Refusals: BG_ENOTFOUND (no such record, or a grant the caller may not
 * see), BG_EINVAL (not a write's record, or nothing to undo), BG_EDENIED (not the
 * caller's grant, or not live; no before-image; masked values; an update undo cannot
 * compute; DynamoDB refused the restore), BG_EEXISTS (already undone, or the item
 * changed since the write: *out is then {"undo_of", "difference": [{"attribute",
 * "left", "now"}]}), BG_EUPSTREAM (DynamoDB did not answer; *out says whether the
 * restore may have run), BG_EAUDIT (the restore's record could not be made: not sent).
 */
int svc_undo(const svc *s, svc_caller *c, int64_t seq, const char *grant, const svc_ddb *ddb,
             json_t **out, bg_err *e) BG_MUST_CHECK;

#endif
