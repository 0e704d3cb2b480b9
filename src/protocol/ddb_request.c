/*
 * ddb_request.c - DynamoDB request parser (see ddb_request.h).
 *
 * Order of checks: X-Amz-Target, body size, a bounded pre-scan (NUL bytes, nesting
 * depth) so jansson never recurses deeper than BG_MAX_JSON_DEPTH, then jansson with
 * JSON_REJECT_DUPLICATES (which also refuses invalid UTF-8 and trailing bytes), then the
 * per-operation table rules from ddb_ops.c. Every failure carries a fixed message that
 * names the member at fault the way DynamoDB does ('transactItems.2.member.put.tableName')
 * but never echoes request bytes, so messages are safe to log and to return.
 */
#include "protocol/ddb_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/validate.h"

/* DynamoDB's limit on ARN-valued members (TableArn, ResourceArn, ...). */
#define MAX_ARN 1024
/* DynamoDB's limit on items in one transaction. */
#define MAX_TRANSACT_ITEMS 100
/* Longest member path we put in a message. */
#define PATH_MAX_LEN 96

struct table_ref {
	char *name;
	char *arn;      /* as sent, or NULL when named plainly */
	size_t arn_len; /* strlen(arn) */
	/* Spans inside arn, for ddb_request_arns_match(). */
	size_t part_off, part_len, region_off, region_len, account_off, account_len;
};

struct ddb_request {
	const ddb_op_info *op;
	json_t *root;
	const char *index; /* borrowed from root */
	struct table_ref *tables;
	size_t ntables, cap;
	bool has_arn;
};

/* Member names that carry tables (or an index), wherever they appear at the top level.
 * A key equal to one of these but for letter case is refused: the gateway must never
 * read "TableName" while a case-insensitive deserializer reads "tablename". */
static const char *const top_members[] = {"TableName",
                                          "IndexName",
                                          "RequestItems",
                                          "TransactItems",
                                          "TableArn",
                                          "ResourceArn",
                                          "GlobalTableName",
                                          "BackupArn",
                                          "SourceTableArn",
                                          "SourceTableName",
                                          "TargetTableName",
                                          "ExportArn",
                                          "ImportArn",
                                          "StreamArn",
                                          "TableCreationParameters",
                                          NULL};
static const char *const action_members[] = {"Get", "Put", "Update", "Delete", "ConditionCheck",
                                             NULL};
static const char *const table_members[] = {"TableName", NULL};

static int status_code(int status)
{
	switch (status) {
	case DDB_E_TOO_LARGE:
		return BG_ELIMIT;
	case DDB_E_INTERNAL:
		return BG_ENOMEM;
	default:
		return BG_EINVAL;
	}
}

/* Records a failure in e and returns status. */
static int fail(bg_err *e, int status, const char *fmt, ...) BG_PRINTF(3, 4);
static int fail(bg_err *e, int status, const char *fmt, ...)
{
	char msg[sizeof(((bg_err *)0)->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bg_err_set(e, status_code(status), "%s", msg);
	return status;
}

static int fail_null(bg_err *e, const char *path)
{
	return fail(e, DDB_E_VALIDATION,
	            "1 validation error detected: Value null at '%s' failed to satisfy "
	            "constraint: Member must not be null",
	            path);
}

static int fail_constraint(bg_err *e, const char *path, const char *what)
{
	return fail(e, DDB_E_VALIDATION,
	            "1 validation error detected: Value at '%s' failed to satisfy constraint: %s",
	            path, what);
}

/* dst = prefix "." lowerFirst(member), as DynamoDB names members in messages. */
static void path_member(char *dst, const char *prefix, const char *member)
{
	char first =
	    member[0] >= 'A' && member[0] <= 'Z' ? (char)(member[0] - 'A' + 'a') : member[0];

	snprintf(dst, PATH_MAX_LEN, "%s%s%c%s", prefix, prefix[0] ? "." : "", first,
	         member[0] ? member + 1 : "");
}

static bool span_all(bg_cur t, size_t min, size_t max, bool (*ok)(unsigned char))
{
	size_t i;

	if (t.len < min || t.len > max)
		return false;
	for (i = 0; i < t.len; i++)
		if (!ok(t.p[i]))
			return false;
	return true;
}

static bool is_region_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_suffix_char(unsigned char c)
{
	return bg_name_char(c) || c == ':' || c == '/';
}

enum arn_sub { SUB_NONE, SUB_INDEX, SUB_STREAM, SUB_BACKUP, SUB_EXPORT, SUB_IMPORT };

struct arn_view {
	size_t part_off, part_len, region_off, region_len, account_off, account_len;
	size_t name_off, name_len;
	bool global; /* global-table/NAME */
	enum arn_sub sub;
};

/* Parses arn:PARTITION:dynamodb:REGION:ACCOUNT:(table|global-table)/NAME[/SUB/ID]. */
static bool arn_parse(const char *s, size_t n, struct arn_view *a)
{
	static const struct {
		const char *word;
		enum arn_sub sub;
	} subs[] = {{"index/", SUB_INDEX},
	            {"stream/", SUB_STREAM},
	            {"backup/", SUB_BACKUP},
	            {"export/", SUB_EXPORT},
	            {"import/", SUB_IMPORT}};
	bg_cur c = bg_cur_make(s, n), tok;
	size_t i;

	memset(a, 0, sizeof(*a));
	if (n > MAX_ARN || bg_cur_expect(&c, "arn:", 4) != 0)
		return false;
	a->part_off = c.off;
	if (bg_cur_until(&c, ':', &tok) != 0 || !span_all(tok, 1, 32, is_region_char))
		return false;
	a->part_len = tok.len;
	if (bg_cur_expect(&c, ":dynamodb:", 10) != 0)
		return false;
	a->region_off = c.off;
	if (bg_cur_until(&c, ':', &tok) != 0 || !span_all(tok, 0, 32, is_region_char))
		return false;
	a->region_len = tok.len;
	if (bg_cur_expect(&c, ":", 1) != 0)
		return false;
	a->account_off = c.off;
	if (bg_cur_until(&c, ':', &tok) != 0 || !span_all(tok, 12, 12, is_digit))
		return false;
	a->account_len = tok.len;
	if (bg_cur_expect(&c, ":", 1) != 0)
		return false;
	if (bg_cur_expect(&c, "table/", 6) == 0)
		a->global = false;
	else if (bg_cur_expect(&c, "global-table/", 13) == 0)
		a->global = true;
	else
		return false;
	if (!a->global && a->region_len == 0)
		return false;
	a->name_off = c.off;
	if (bg_cur_until(&c, '/', &tok) != 0) {
		tok = bg_cur_rest(&c);
		c.off = c.len;
	}
	if (!bg_valid_table_name((const char *)tok.p, tok.len))
		return false;
	a->name_len = tok.len;
	if (bg_cur_eof(&c))
		return true;
	if (a->global || bg_cur_expect(&c, "/", 1) != 0)
		return false;
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (bg_cur_expect(&c, subs[i].word, strlen(subs[i].word)) == 0)
			break;
	if (i == sizeof(subs) / sizeof(subs[0]))
		return false;
	a->sub = subs[i].sub;
	return span_all(bg_cur_rest(&c), 1, MAX_ARN, is_suffix_char);
}

static bool kind_allows_plain(ddb_field_kind kind)
{
	return kind == DDB_FIELD_NAME || kind == DDB_FIELD_PLAIN_NAME;
}

static bool kind_allows_arn(ddb_field_kind kind, const struct arn_view *a)
{
	switch (kind) {
	case DDB_FIELD_NAME:
	case DDB_FIELD_TABLE_ARN:
		return !a->global && a->sub == SUB_NONE;
	case DDB_FIELD_RESOURCE_ARN:
		return a->global
		           ? a->sub == SUB_NONE
		           : (a->sub == SUB_NONE || a->sub == SUB_INDEX || a->sub == SUB_STREAM);
	case DDB_FIELD_BACKUP_ARN:
		return !a->global && a->sub == SUB_BACKUP;
	case DDB_FIELD_EXPORT_ARN:
		return !a->global && a->sub == SUB_EXPORT;
	case DDB_FIELD_IMPORT_ARN:
		return !a->global && a->sub == SUB_IMPORT;
	case DDB_FIELD_STREAM_ARN:
		return !a->global && a->sub == SUB_STREAM;
	case DDB_FIELD_PLAIN_NAME:
		return false;
	}
	return false;
}

static const char *kind_constraint(ddb_field_kind kind)
{
	switch (kind) {
	case DDB_FIELD_NAME:
		return "Member must be a table name (3 to 255 characters of [a-zA-Z0-9_.-]) or a "
		       "table ARN";
	case DDB_FIELD_PLAIN_NAME:
		return "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have "
		       "length between 3 and 255";
	case DDB_FIELD_TABLE_ARN:
		return "Member must be a table ARN";
	case DDB_FIELD_RESOURCE_ARN:
		return "Member must be the ARN of a table, index, stream or global table";
	case DDB_FIELD_BACKUP_ARN:
		return "Member must be a backup ARN";
	case DDB_FIELD_EXPORT_ARN:
		return "Member must be an export ARN";
	case DDB_FIELD_IMPORT_ARN:
		return "Member must be an import ARN";
	case DDB_FIELD_STREAM_ARN:
		return "Member must be a stream ARN";
	}
	return "Member is invalid";
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* Validates the n bytes at s as a kind-valued member at path and records the table. */
static int add_table(ddb_request *r, const char *s, size_t n, ddb_field_kind kind, const char *path,
                     bg_err *e)
{
	struct arn_view a;
	struct table_ref *t;
	const char *name;
	size_t nlen, i;
	bool is_arn;

	if (kind_allows_plain(kind) && bg_valid_table_name(s, n)) {
		is_arn = false;
		name = s;
		nlen = n;
	} else if (arn_parse(s, n, &a) && kind_allows_arn(kind, &a)) {
		is_arn = true;
		name = s + a.name_off;
		nlen = a.name_len;
	} else {
		return fail_constraint(e, path, kind_constraint(kind));
	}
	for (i = 0; i < r->ntables; i++) {
		t = &r->tables[i];
		if (is_arn ? (t->arn != NULL && t->arn_len == n && memcmp(t->arn, s, n) == 0)
		           : (t->arn == NULL && strlen(t->name) == n && memcmp(t->name, s, n) == 0))
			return DDB_OK;
	}
	if (r->ntables >= BG_MAX_REQUEST_TABLES)
		return fail(e, DDB_E_VALIDATION,
		            "1 validation error detected: Too many tables in one request (the "
		            "limit is %u)",
		            (unsigned)BG_MAX_REQUEST_TABLES);
	if (r->ntables == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 4;
		struct table_ref *nt;
		if (ncap > BG_MAX_REQUEST_TABLES)
			ncap = BG_MAX_REQUEST_TABLES;
		nt = realloc(r->tables, ncap * sizeof(*nt));
		if (nt == NULL)
			return fail(e, DDB_E_INTERNAL, "out of memory");
		r->tables = nt;
		r->cap = ncap;
	}
	t = &r->tables[r->ntables];
	memset(t, 0, sizeof(*t));
	t->name = dup_n(name, nlen);
	if (t->name == NULL)
		return fail(e, DDB_E_INTERNAL, "out of memory");
	if (is_arn) {
		t->arn = dup_n(s, n);
		if (t->arn == NULL) {
			free(t->name);
			return fail(e, DDB_E_INTERNAL, "out of memory");
		}
		t->arn_len = n;
		t->part_off = a.part_off;
		t->part_len = a.part_len;
		t->region_off = a.region_off;
		t->region_len = a.region_len;
		t->account_off = a.account_off;
		t->account_len = a.account_len;
		r->has_arn = true;
	}
	r->ntables++;
	return DDB_OK;
}

/* The member key of obj, with JSON null taken as absent (as DynamoDB does). */
static json_t *member(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

/* True when key equals name ignoring case: ASCII folding plus the non-ASCII letters that
 * Java's equalsIgnoreCase folds onto ASCII ones (dotless i, dotted capital I, long s,
 * Kelvin sign), so no case-insensitive reader could take key for name. */
static bool fold_eq(const char *key, const char *name)
{
	const unsigned char *k = (const unsigned char *)key;

	for (; *name; name++) {
		int want = *name >= 'A' && *name <= 'Z' ? *name - 'A' + 'a' : *name;
		int got;
		if (k[0] == '\0') {
			return false;
		} else if (k[0] < 0x80) {
			got = k[0] >= 'A' && k[0] <= 'Z' ? k[0] - 'A' + 'a' : k[0];
			k++;
		} else if (k[0] == 0xC4 && (k[1] == 0xB0 || k[1] == 0xB1)) {
			got = 'i';
			k += 2;
		} else if (k[0] == 0xC5 && k[1] == 0xBF) {
			got = 's';
			k += 2;
		} else if (k[0] == 0xE2 && k[1] == 0x84 && k[2] == 0xAA) {
			got = 'k';
			k += 3;
		} else {
			return false;
		}
		if (got != want)
			return false;
	}
	return *k == '\0';
}

/* Refuses a key of obj that matches one of names ignoring case but is not it. */
static int check_case(json_t *obj, const char *const *names, const char *path, bg_err *e)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(obj, key, v)
	{
		for (i = 0; names[i] != NULL; i++) {
			if (strcmp(key, names[i]) != 0 && fold_eq(key, names[i]))
				return fail(e, DDB_E_VALIDATION,
				            "1 validation error detected: A member name at '%s' "
				            "differs from '%s' only in letter case",
				            path[0] ? path : "request", names[i]);
		}
	}
	return DDB_OK;
}

/* The string member key of obj at path: *v NULL when absent (an error if required). */
static int string_member(const json_t *obj, const char *key, const char *prefix, bool required,
                         json_t **v, char *path, bg_err *e)
{
	path_member(path, prefix, key);
	*v = member(obj, key);
	if (*v == NULL)
		return required ? fail_null(e, path) : DDB_OK;
	if (!json_is_string(*v))
		return fail_constraint(e, path, "Member must be a string");
	return DDB_OK;
}

static int tables_from_fields(ddb_request *r, bg_err *e)
{
	const ddb_op_info *op = r->op;
	char path[PATH_MAX_LEN], one_of[PATH_MAX_LEN] = "";
	bool want_one = false, have_one = false;
	json_t *v;
	size_t i;
	int st;

	for (i = 0; i < DDB_MAX_TABLE_FIELDS && op->fields[i].key != NULL; i++) {
		const ddb_table_field *f = &op->fields[i];
		if (f->need == DDB_NEED_ONE_OF) {
			size_t used = strlen(one_of);
			snprintf(one_of + used, sizeof(one_of) - used, "%s%s",
			         want_one ? " or " : "", f->key);
			want_one = true;
		}
		st = string_member(r->root, f->key, "", f->need == DDB_NEED_REQUIRED, &v, path, e);
		if (st != DDB_OK)
			return st;
		if (v == NULL)
			continue;
		if (f->need == DDB_NEED_ONE_OF)
			have_one = true;
		st = add_table(r, json_string_value(v), json_string_length(v), f->kind, path, e);
		if (st != DDB_OK)
			return st;
	}
	if (want_one && !have_one)
		return fail(e, DDB_E_VALIDATION,
		            "1 validation error detected: One of %s is required", one_of);
	return DDB_OK;
}

static int tables_from_request_items(ddb_request *r, bg_err *e)
{
	bool write = r->op->id == DDB_OP_BATCH_WRITE_ITEM;
	const char *key;
	json_t *items = member(r->root, "RequestItems"), *v;
	int st;

	if (items == NULL)
		return fail_null(e, "requestItems");
	if (!json_is_object(items))
		return fail_constraint(e, "requestItems", "Member must be a map");
	if (json_object_size(items) == 0)
		return fail_constraint(e, "requestItems",
		                       "Member must have length greater than or equal to 1");
	json_object_foreach(items, key, v)
	{
		if (write ? !json_is_array(v) : !json_is_object(v))
			return fail_constraint(e, "requestItems",
			                       write ? "Map value must be a list of WriteRequest"
			                             : "Map value must be a KeysAndAttributes "
			                               "structure");
		st = add_table(r, key, strlen(key), DDB_FIELD_NAME, "requestItems", e);
		if (st != DDB_OK)
			return st;
	}
	return DDB_OK;
}

static int tables_from_transact_items(ddb_request *r, bg_err *e)
{
	bool get = r->op->id == DDB_OP_TRANSACT_GET_ITEMS;
	char path[PATH_MAX_LEN], apath[PATH_MAX_LEN], tpath[PATH_MAX_LEN];
	json_t *items = member(r->root, "TransactItems"), *el, *action = NULL, *t;
	const char *action_name = NULL;
	size_t i, j, count;
	int st;

	if (items == NULL)
		return fail_null(e, "transactItems");
	if (!json_is_array(items))
		return fail_constraint(e, "transactItems", "Member must be a list");
	if (json_array_size(items) == 0)
		return fail_constraint(e, "transactItems",
		                       "Member must have length greater than or equal to 1");
	if (json_array_size(items) > MAX_TRANSACT_ITEMS)
		return fail_constraint(e, "transactItems",
		                       "Member must have length less than or equal to 100");
	json_array_foreach(items, i, el)
	{
		snprintf(path, sizeof(path), "transactItems.%zu.member", i + 1);
		if (!json_is_object(el))
			return fail_constraint(e, path, "Member must be a structure");
		st = check_case(el, action_members, path, e);
		if (st != DDB_OK)
			return st;
		/* Present even if null: an action spelled twice is refused, not resolved. */
		for (j = 0, count = 0; action_members[j] != NULL; j++) {
			if (json_object_get(el, action_members[j]) != NULL) {
				count++;
				action_name = action_members[j];
			}
		}
		if (count != 1 || (strcmp(action_name, "Get") == 0) != get)
			return fail_constraint(e, path,
			                       get ? "Member must contain exactly one action: Get"
			                           : "Member must contain exactly one of "
			                             "ConditionCheck, Put, Update or Delete");
		path_member(apath, path, action_name);
		action = json_object_get(el, action_name);
		if (!json_is_object(action))
			return fail_constraint(e, apath, "Member must be a structure");
		st = check_case(action, table_members, apath, e);
		if (st == DDB_OK)
			st = string_member(action, "TableName", apath, true, &t, tpath, e);
		if (st == DDB_OK)
			st = add_table(r, json_string_value(t), json_string_length(t),
			               DDB_FIELD_NAME, tpath, e);
		if (st != DDB_OK)
			return st;
	}
	return DDB_OK;
}

static int tables_from_import(ddb_request *r, bg_err *e)
{
	const char *path = "tableCreationParameters";
	char tpath[PATH_MAX_LEN];
	json_t *p = member(r->root, "TableCreationParameters"), *t;
	int st;

	if (p == NULL)
		return fail_null(e, path);
	if (!json_is_object(p))
		return fail_constraint(e, path, "Member must be a structure");
	st = check_case(p, table_members, path, e);
	if (st == DDB_OK)
		st = string_member(p, "TableName", path, true, &t, tpath, e);
	if (st == DDB_OK)
		st = add_table(r, json_string_value(t), json_string_length(t), DDB_FIELD_NAME,
		               tpath, e);
	return st;
}

static int read_index(ddb_request *r, bg_err *e)
{
	char path[PATH_MAX_LEN];
	json_t *v;
	int st = string_member(r->root, "IndexName", "", false, &v, path, e);

	if (st != DDB_OK || v == NULL)
		return st;
	if (!bg_valid_table_name(json_string_value(v), json_string_length(v)))
		return fail_constraint(e, path,
		                       "Member must satisfy regular expression pattern: "
		                       "[a-zA-Z0-9_.-]+ and have length between 3 and 255");
	r->index = json_string_value(v);
	return DDB_OK;
}

/* Refuses NUL bytes and nesting deeper than BG_MAX_JSON_DEPTH before jansson (whose own
 * limit is 2048) recurses. String-aware: brackets inside strings do not count. For valid
 * JSON the count is exact; invalid JSON is refused by jansson anyway. */
static int prescan(const unsigned char *p, size_t n, bg_err *e)
{
	size_t i, depth = 0;
	bool in_str = false;

	if (memchr(p, '\0', n) != NULL)
		return fail(e, DDB_E_SERIALIZATION, "NUL byte in request body");
	for (i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > BG_MAX_JSON_DEPTH)
				return fail(e, DDB_E_VALIDATION,
				            "Nesting Levels have exceeded supported limits");
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return DDB_OK;
}

static int json_failure(const json_error_t *jerr, bg_err *e)
{
	switch (json_error_code(jerr)) {
	case json_error_out_of_memory:
		return fail(e, DDB_E_INTERNAL, "out of memory");
	case json_error_stack_overflow:
		return fail(e, DDB_E_VALIDATION, "Nesting Levels have exceeded supported limits");
	case json_error_duplicate_key:
		return fail(e, DDB_E_SERIALIZATION, "Duplicate member name in a JSON object");
	case json_error_invalid_utf8:
		return fail(e, DDB_E_SERIALIZATION, "Request body is not valid UTF-8");
	case json_error_null_character:
	case json_error_null_byte_in_key:
		return fail(e, DDB_E_SERIALIZATION, "NUL character in request body");
	case json_error_end_of_input_expected:
		return fail(e, DDB_E_SERIALIZATION, "Unexpected content after the JSON object");
	case json_error_numeric_overflow:
		return fail(e, DDB_E_SERIALIZATION, "Number out of range in request body");
	default:
		return fail(e, DDB_E_SERIALIZATION, "Request body is not valid JSON");
	}
}

/* The operation named by the X-Amz-Target header, under the right prefix, or NULL. */
static const ddb_op_info *parse_target(const char *target, size_t len)
{
	bg_cur c = bg_cur_make(target, len);
	bool streams;
	const ddb_op_info *op;

	if (bg_cur_expect(&c, DDB_STREAMS_TARGET_PREFIX, strlen(DDB_STREAMS_TARGET_PREFIX)) == 0)
		streams = true;
	else if (bg_cur_expect(&c, DDB_TARGET_PREFIX, strlen(DDB_TARGET_PREFIX)) == 0)
		streams = false;
	else
		return NULL;
	op = ddb_op_lookup((const char *)c.p + c.off, bg_cur_left(&c));
	if (op == NULL || ((op->flags & DDB_F_STREAMS) != 0) != streams)
		return NULL;
	return op;
}

int ddb_request_parse(const char *target, size_t target_len, const void *body, size_t len,
                      ddb_request **out, bg_err *e)
{
	ddb_request *r = NULL;
	const ddb_op_info *op;
	json_error_t jerr;
	int st;

	if (out == NULL)
		return fail(e, DDB_E_INTERNAL, "no output given");
	*out = NULL;
	op = parse_target(target, target_len);
	if (op == NULL) {
		st = fail(e, DDB_E_UNKNOWN_OPERATION, "An unknown operation was requested");
		goto fail;
	}
	if (len > BG_MAX_REQUEST_BODY) {
		st = fail(e, DDB_E_TOO_LARGE, "Request body exceeds %u bytes",
		          (unsigned)BG_MAX_REQUEST_BODY);
		goto fail;
	}
	/* DynamoDB answers an empty body with SerializationException (as dynalite, which
	 * mirrors it, does); SDKs always send at least "{}". */
	if (body == NULL || len == 0) {
		st = fail(e, DDB_E_SERIALIZATION, "Request body is empty");
		goto fail;
	}
	st = prescan(body, len, e);
	if (st != DDB_OK)
		goto fail;
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		st = fail(e, DDB_E_INTERNAL, "out of memory");
		goto fail;
	}
	r->op = op;
	r->root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (r->root == NULL) {
		st = json_failure(&jerr, e);
		goto fail;
	}
	if (!json_is_object(r->root)) {
		st = fail(e, DDB_E_SERIALIZATION, "Start of list found where not expected");
		goto fail;
	}
	st = check_case(r->root, top_members, "", e);
	if (st != DDB_OK)
		goto fail;
	switch (op->shape) {
	case DDB_TABLES_FIELDS:
		st = tables_from_fields(r, e);
		break;
	case DDB_TABLES_REQUEST_ITEMS:
		st = tables_from_request_items(r, e);
		break;
	case DDB_TABLES_TRANSACT_ITEMS:
		st = tables_from_transact_items(r, e);
		break;
	case DDB_TABLES_IMPORT:
		st = tables_from_import(r, e);
		break;
	case DDB_TABLES_NONE:
	case DDB_TABLES_OPAQUE:
		st = DDB_OK;
		break;
	}
	if (st == DDB_OK && op->index)
		st = read_index(r, e);
	if (st != DDB_OK)
		goto fail;
	bg_err_clear(e);
	*out = r;
	return DDB_OK;
fail:
	ddb_request_free(r);
	return st;
}

void ddb_request_free(ddb_request *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->ntables; i++) {
		free(r->tables[i].name);
		free(r->tables[i].arn);
	}
	free(r->tables);
	json_decref(r->root);
	free(r);
}

ddb_error_kind ddb_request_error_kind(int status)
{
	switch (status) {
	case DDB_E_UNKNOWN_OPERATION:
		return DDB_ERR_UNKNOWN_OPERATION;
	case DDB_E_SERIALIZATION:
		return DDB_ERR_SERIALIZATION;
	case DDB_E_VALIDATION:
		return DDB_ERR_VALIDATION;
	case DDB_E_TOO_LARGE:
		return DDB_ERR_TOO_LARGE;
	default:
		return DDB_ERR_INTERNAL;
	}
}

const ddb_op_info *ddb_request_op(const ddb_request *r)
{
	return r ? r->op : NULL;
}

size_t ddb_request_ntables(const ddb_request *r)
{
	return r ? r->ntables : 0;
}

const char *ddb_request_table(const ddb_request *r, size_t i)
{
	return r && i < r->ntables ? r->tables[i].name : NULL;
}

const char *ddb_request_table_arn(const ddb_request *r, size_t i)
{
	return r && i < r->ntables ? r->tables[i].arn : NULL;
}

bool ddb_request_has_arn(const ddb_request *r)
{
	return r ? r->has_arn : false;
}

static bool span_eq(const char *s, size_t off, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(s + off, want, len) == 0;
}

bool ddb_request_arns_match(const ddb_request *r, const char *partition, const char *region,
                            const char *account)
{
	size_t i;

	if (r == NULL)
		return false;
	for (i = 0; i < r->ntables; i++) {
		const struct table_ref *t = &r->tables[i];
		if (t->arn == NULL)
			continue;
		if (partition == NULL || region == NULL || account == NULL)
			return false;
		if (!span_eq(t->arn, t->part_off, t->part_len, partition) ||
		    !span_eq(t->arn, t->account_off, t->account_len, account) ||
		    (t->region_len != 0 && !span_eq(t->arn, t->region_off, t->region_len, region)))
			return false;
	}
	return true;
}

const char *ddb_request_index(const ddb_request *r)
{
	return r ? r->index : NULL;
}

json_t *ddb_request_json(const ddb_request *r)
{
	return r ? r->root : NULL;
}

int ddb_request_tables_joined(const ddb_request *r, bg_buf *out)
{
	size_t i;
	int rc = 0;

	for (i = 0; r != NULL && i < r->ntables && rc == 0; i++) {
		const struct table_ref *t = &r->tables[i];
		if (i > 0)
			rc = bg_buf_addc(out, ',');
		if (rc == 0)
			rc = bg_buf_adds(out, t->arn ? t->arn : t->name);
	}
	return rc;
}
