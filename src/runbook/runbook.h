/*
 * runbook.h - runbooks: the tested query templates a break-glass grant may run, loaded
 * from a folder of YAML files meant to be a reviewed git repository.
 *
 * A folder holds tables.yaml (each table's key schema and indexes) and one template per
 * other *.yaml file (fixtures and anything else in subfolders). Loading is strict, since a
 * template decides what a grant may do: an unknown key (a typo like `pattren` would leave
 * a parameter unconstrained), a wrong type, a missing required field, a table or index
 * tables.yaml does not declare, a placeholder bound to nothing, or a write without a
 * condition is an error that names its file and line. Every error is collected, not just
 * the first, so `breakglass runbook lint` can list them all.
 *
 * Each template has a content hash: SHA-256 over a normalised form (its fields as
 * canonical JSON, the tests left out) so that reformatting a file or editing its tests
 * does not change it, and any change to what it lets a grant do does. Grants pin hashes.
 *
 * Expressions are kept as text here; src/protocol/ddb_expr parses them, and lint checks
 * them against tables.yaml (runbook_lint.c).
 */
#ifndef BG_RUNBOOK_H
#define BG_RUNBOOK_H

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/limits.h"
#include "protocol/ddb_expr.h"
#include "protocol/ddb_ops.h"
#include "protocol/ddb_path.h"

/* A parameter's DynamoDB type. */
typedef enum runbook_type { RUNBOOK_S, RUNBOOK_N, RUNBOOK_B, RUNBOOK_BOOL } runbook_type;

typedef struct runbook_param {
	char name[BG_MAX_RUNBOOK_ID + 1]; /* without the ':' */
	runbook_type type;
	unsigned line;
	char *default_text; /* NULL: the parameter is required */
	char *pattern;      /* POSIX ERE, anchored when compiled; NULL: none */
	regex_t re;         /* compiled pattern (when pattern != NULL) */
	char **enum_values; /* NULL or n_enum texts */
	size_t n_enum;
	bool has_min, has_max; /* N only */
	long double min, max;
	size_t max_length; /* bytes of S, decoded bytes of B; 0: none */
} runbook_param;

/* An expression field, where it was written, and its tree (protocol/ddb_expr, parsed as
 * a template: reserved words may name attributes). */
typedef struct runbook_text {
	char *text; /* NULL: absent */
	unsigned line;
	ddb_expr *x; /* NULL when absent */
} runbook_text;

typedef struct runbook_test {
	char *name;
	char *fixtures;       /* path as written, relative to the folder; NULL: an empty table */
	json_t *params;       /* {name: "text"} */
	int64_t expect_count; /* -1: not checked */
	json_t *expect_items; /* array of items in attribute-value JSON, or NULL */
	unsigned line;
} runbook_test;

typedef struct runbook {
	char id[BG_MAX_RUNBOOK_ID + 1];
	char *title;
	char *when;
	char *file; /* as found in the folder, relative to it */
	char table[BG_MAX_TABLE_NAME + 1];
	const ddb_op_info *op;
	char *index; /* NULL: the table itself */
	runbook_text key_condition, projection, filter, condition, update;
	json_t *names;  /* {"#x": "attr"}; never NULL */
	json_t *values; /* {":x": attribute value}: fixed values; never NULL */
	json_t *key;    /* {attr: ":placeholder"}: GetItem, UpdateItem, DeleteItem,
	                   BatchGetItem; NULL otherwise */
	json_t *item;   /* {attr: ":placeholder"}: PutItem; NULL otherwise */
	runbook_param params[BG_MAX_RUNBOOK_PARAMS];
	size_t n_params;
	int64_t limit;          /* Query/Scan/BatchGetItem: at most this many items a page */
	int64_t max_pages;      /* Query/Scan: pages one set of parameters may read */
	int consistent_read;    /* -1: the client's choice; 0 or 1: required as given */
	int scan_forward;       /* Query: -1 either order; 0 newest (highest sort key) first; 1 */
	char *select;           /* NULL, or the one Select value allowed beyond the default */
	int64_t total_segments; /* Scan: TotalSegments the client must use; 0 otherwise */
	char **return_values;   /* writes: ReturnValues allowed besides NONE */
	size_t n_return_values;
	runbook_test *tests;
	size_t n_tests;
	ddb_path *mask; /* mask: attributes whose values answers and the audit hide
	                   (policy/mask.h); NULL: none */
	size_t n_mask;
	bool mask_hash; /* mask_hash: the marker carries a keyed hash of the value */
	/* budget: {read: N, write: N}: the capacity units one grant may spend on this
	 * runbook (policy/budget.h); -1: no limit of the runbook's own. */
	double budget_read, budget_write;
	int64_t max_response_bytes; /* reads: the largest answer released; 0: no cap */
	char **services; /* services: the services whose incidents it serves; NULL: none */
	size_t n_services;
	char hash[65];   /* hex SHA-256 of the normalised form */
	char commit[41]; /* the git commit the file came from; "" if unknown or edited */
	int refs;        /* runbook_ref/runbook_free: sets share a template across reloads */
} runbook;

/* tables.yaml: a key schema is a partition key and an optional sort key, each a name
 * and a scalar type (S, N or B). */
typedef struct runbook_keys {
	char pk[BG_MAX_TABLE_NAME + 1];
	char pk_type;
	char sk[BG_MAX_TABLE_NAME + 1]; /* "" when none */
	char sk_type;
} runbook_keys;

typedef struct runbook_table {
	char name[BG_MAX_TABLE_NAME + 1];
	runbook_keys keys;
	char (*index_names)[BG_MAX_TABLE_NAME + 1];
	runbook_keys *index_keys;
	size_t n_indexes;
} runbook_table;

/* One problem found while loading: file (relative to the folder), line (0: the file as a
 * whole) and what. */
typedef struct runbook_diag {
	char *file;
	unsigned line;
	char *msg;
} runbook_diag;

typedef struct runbook_diags {
	runbook_diag *items;
	size_t n;
} runbook_diags;

void runbook_diags_free(runbook_diags *d);

typedef struct runbook_set runbook_set;

/*
 * Loads the folder dir. Every problem found goes into *d (which the caller frees with
 * runbook_diags_free) and the files that have one are left out; *out receives the set of
 * templates that loaded cleanly (possibly empty) unless tables.yaml itself is unusable.
 * Returns 0 when nothing was wrong, BG_EINVAL when *d holds problems (*out may still be
 * set), BG_ENOTFOUND when dir does not exist, BG_EIO, BG_ENOMEM.
 */
int runbook_set_load(const char *dir, runbook_set **out, runbook_diags *d, bg_err *e) BG_MUST_CHECK;

void runbook_set_free(runbook_set *s);

/* A set with no tables and no templates (a gateway without a runbook folder). */
runbook_set *runbook_set_new_empty(void);

size_t runbook_set_count(const runbook_set *s);
const runbook *runbook_set_at(const runbook_set *s, size_t i); /* ordered by id */
const runbook *runbook_set_find(const runbook_set *s, const char *id);
const runbook_table *runbook_set_table(const runbook_set *s, const char *name);
const char *runbook_set_dir(const runbook_set *s);

/*
 * Parses one template from text (len bytes; name is its file name for messages) against
 * the tables of set (which may be NULL: tables are then not checked). Problems go to *d.
 * Returns 0 with *out (runbook_free), or BG_EINVAL. This is what runbook_set_load does for
 * each file, and the fuzz target's entry.
 */
int runbook_parse(const char *text, size_t len, const char *name, const runbook_set *tables,
                  runbook **out, runbook_diags *d) BG_MUST_CHECK;

/* Drops a reference (the last frees r). Accepts NULL. */
void runbook_free(runbook *r);

/* Another reference to r (thread-safe), for a set that keeps it across a reload. */
runbook *runbook_ref(const runbook *r);

/*
 * After a reload that refused file (it had problems): adds to dst the template old had
 * loaded from that file, unless dst has that id already. Returns true when one was kept,
 * so the caller can say so loudly.
 */
bool runbook_set_keep(runbook_set *dst, const runbook_set *old, const char *file) BG_MUST_CHECK;

/* The services the runbook names (its optional `services:` list), n_services of them
 * into *n; NULL with *n = 0 when it names none. Owned by r. */
const char *const *runbook_services(const runbook *r, size_t *n);

/* The parameter named name (without ':'), or NULL. */
const runbook_param *runbook_param_find(const runbook *r, const char *name);

/*
 * Checks a value for parameter p: av is a DynamoDB attribute value ({"S": "..."} etc.).
 * Type, pattern (the whole value must match), enum, min/max, max_length. Returns 0 or
 * BG_EINVAL with a message naming the parameter and the rule it broke (never the value
 * itself beyond 64 characters).
 */
int runbook_param_check(const runbook_param *p, const json_t *av, bg_err *e) BG_MUST_CHECK;

/* The attribute value for parameter p from its text form (as given on a command line or
 * in a test: "CUSTOMER#42", "12", "true", base64 for B), checked by runbook_param_check.
 * text NULL means the default. Returns 0 with *out (a new reference), or BG_EINVAL. */
int runbook_param_value(const runbook_param *p, const char *text, json_t **out,
                        bg_err *e) BG_MUST_CHECK;

/*
 * Turns parameter texts ({name: "text"}, as from --param or a test) into attribute values
 * ({name: {"S": ...}}) for every parameter of r, defaults filled in, each checked. An
 * unknown name or a missing required one is BG_EINVAL. *out is a new reference.
 */
int runbook_bind(const runbook *r, const json_t *texts, json_t **out, bg_err *e) BG_MUST_CHECK;

/*
 * The DynamoDB request body (JSON, as the client would send it) that runs r with the
 * bound parameters avs (runbook_bind), starting after start_key (a LastEvaluatedKey, or
 * NULL for the first page). *out is a new reference.
 */
int runbook_render(const runbook *r, const json_t *avs, const json_t *start_key, json_t **out,
                   bg_err *e) BG_MUST_CHECK;

/* Appends the equivalent `aws dynamodb ...` command line to b: one shell variable per
 * parameter (default filled in, rule as a comment), then the command using them. */
int runbook_aws_command(const runbook *r, bg_buf *b) BG_MUST_CHECK;

/* What an approver reads about r: {id, hash, title, operation, table, index?, its
 * expressions in the canonical form the gateway admits (key_condition, projection,
 * filter, condition, update: those it has), expression_attribute_names, limit and
 * max_pages (Query, Scan, BatchGetItem), parameters [{name, type, required, pattern?}],
 * mask and mask_hash (when it masks) and command (runbook_aws_command()). A new object, or NULL
 * when out of memory. */
json_t *runbook_describe(const runbook *r);

#endif
