/*
 * ddb_expr.c - DynamoDB expression parser and structural matcher (see ddb_expr.h).
 *
 * One recursive-descent parser serves the four grammars. The lexer produces one token of
 * lookahead (plus a peek at the next byte, to tell a function call from a path); every
 * recursion (parenthesis, NOT, function call) counts against BG_MAX_EXPR_DEPTH and every
 * node against BG_MAX_EXPR_NODES, so no input can exhaust the stack or the heap.
 *
 * After parsing, the operands of AND, OR and IN, projection paths and update actions are
 * sorted into one total order (node_cmp), bottom-up, so that the canonical text of equal
 * trees is equal. Matching does not rely on that order (placeholder names differ between
 * template and request): it pairs unordered operands by a search over equal-shaped
 * candidates (shape: a hash that ignores value placeholders), undoing parameter bindings
 * on backtrack, within BG_MAX_EXPR_MATCH_STEPS. Only when the match fails does a second,
 * greedy pass find the first difference to report and count a distance.
 */
#include "protocol/ddb_expr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"

/* DynamoDB's reserved words (Developer Guide, "Reserved words in DynamoDB"), sorted. An
 * attribute name equal to one of them, in any case, must be written as a #name. */
/* clang-format off */
static const char *const reserved[] = {
	"ABORT", "ABSOLUTE", "ACTION", "ADD", "AFTER", "AGENT", "AGGREGATE", "ALL", "ALLOCATE",
	"ALTER", "ANALYZE", "AND", "ANY", "ARCHIVE", "ARE", "ARRAY", "AS", "ASC", "ASCII",
	"ASENSITIVE", "ASSERTION", "ASYMMETRIC", "AT", "ATOMIC", "ATTACH", "ATTRIBUTE", "AUTH",
	"AUTHORIZATION", "AUTHORIZE", "AUTO", "AVG", "BACK", "BACKUP", "BASE", "BATCH", "BEFORE",
	"BEGIN", "BETWEEN", "BIGINT", "BINARY", "BIT", "BLOB", "BLOCK", "BOOLEAN", "BOTH",
	"BREADTH", "BUCKET", "BULK", "BY", "BYTE", "CALL", "CALLED", "CALLING", "CAPACITY",
	"CASCADE", "CASCADED", "CASE", "CAST", "CATALOG", "CHAR", "CHARACTER", "CHECK", "CLASS",
	"CLOB", "CLOSE", "CLUSTER", "CLUSTERED", "CLUSTERING", "CLUSTERS", "COALESCE", "COLLATE",
	"COLLATION", "COLLECTION", "COLUMN", "COLUMNS", "COMBINE", "COMMENT", "COMMIT", "COMPACT",
	"COMPILE", "COMPRESS", "CONDITION", "CONFLICT", "CONNECT", "CONNECTION", "CONSISTENCY",
	"CONSISTENT", "CONSTRAINT", "CONSTRAINTS", "CONSTRUCTOR", "CONSUMED", "CONTINUE",
	"CONVERT", "COPY", "CORRESPONDING", "COUNT", "COUNTER", "CREATE", "CROSS", "CUBE",
	"CURRENT", "CURSOR", "CYCLE", "DATA", "DATABASE", "DATE", "DATETIME", "DAY", "DEALLOCATE",
	"DEC", "DECIMAL", "DECLARE", "DEFAULT", "DEFERRABLE", "DEFERRED", "DEFINE", "DEFINED",
	"DEFINITION", "DELETE", "DELIMITED", "DEPTH", "DEREF", "DESC", "DESCRIBE", "DESCRIPTOR",
	"DETACH", "DETERMINISTIC", "DIAGNOSTICS", "DIRECTORIES", "DISABLE", "DISCONNECT",
	"DISTINCT", "DISTRIBUTE", "DO", "DOMAIN", "DOUBLE", "DROP", "DUMP", "DURATION", "DYNAMIC",
	"EACH", "ELEMENT", "ELSE", "ELSEIF", "EMPTY", "ENABLE", "END", "EQUAL", "EQUALS", "ERROR",
	"ESCAPE", "ESCAPED", "EVAL", "EVALUATE", "EXCEEDED", "EXCEPT", "EXCEPTION", "EXCEPTIONS",
	"EXCLUSIVE", "EXEC", "EXECUTE", "EXISTS", "EXIT", "EXPLAIN", "EXPLODE", "EXPORT",
	"EXPRESSION", "EXTENDED", "EXTERNAL", "EXTRACT", "FAIL", "FALSE", "FAMILY", "FETCH",
	"FIELDS", "FILE", "FILTER", "FILTERING", "FINAL", "FINISH", "FIRST", "FIXED", "FLATTERN",
	"FLOAT", "FOR", "FORCE", "FOREIGN", "FORMAT", "FORWARD", "FOUND", "FREE", "FROM", "FULL",
	"FUNCTION", "FUNCTIONS", "GENERAL", "GENERATE", "GET", "GLOB", "GLOBAL", "GO", "GOTO",
	"GRANT", "GREATER", "GROUP", "GROUPING", "HANDLER", "HASH", "HAVE", "HAVING", "HEAP",
	"HIDDEN", "HOLD", "HOUR", "IDENTIFIED", "IDENTITY", "IF", "IGNORE", "IMMEDIATE", "IMPORT",
	"IN", "INCLUDING", "INCLUSIVE", "INCREMENT", "INCREMENTAL", "INDEX", "INDEXED", "INDEXES",
	"INDICATOR", "INFINITE", "INITIALLY", "INLINE", "INNER", "INNTER", "INOUT", "INPUT",
	"INSENSITIVE", "INSERT", "INSTEAD", "INT", "INTEGER", "INTERSECT", "INTERVAL", "INTO",
	"INVALIDATE", "IS", "ISOLATION", "ITEM", "ITEMS", "ITERATE", "JOIN", "KEY", "KEYS", "LAG",
	"LANGUAGE", "LARGE", "LAST", "LATERAL", "LEAD", "LEADING", "LEAVE", "LEFT", "LENGTH",
	"LESS", "LEVEL", "LIKE", "LIMIT", "LIMITED", "LINES", "LIST", "LOAD", "LOCAL",
	"LOCALTIME", "LOCALTIMESTAMP", "LOCATION", "LOCATOR", "LOCK", "LOCKS", "LOG", "LOGED",
	"LONG", "LOOP", "LOWER", "MAP", "MATCH", "MATERIALIZED", "MAX", "MAXLEN", "MEMBER",
	"MERGE", "METHOD", "METRICS", "MIN", "MINUS", "MINUTE", "MISSING", "MOD", "MODE",
	"MODIFIES", "MODIFY", "MODULE", "MONTH", "MULTI", "MULTISET", "NAME", "NAMES", "NATIONAL",
	"NATURAL", "NCHAR", "NCLOB", "NEW", "NEXT", "NO", "NONE", "NOT", "NULL", "NULLIF",
	"NUMBER", "NUMERIC", "OBJECT", "OF", "OFFLINE", "OFFSET", "OLD", "ON", "ONLINE", "ONLY",
	"OPAQUE", "OPEN", "OPERATOR", "OPTION", "OR", "ORDER", "ORDINALITY", "OTHER", "OTHERS",
	"OUT", "OUTER", "OUTPUT", "OVER", "OVERLAPS", "OVERRIDE", "OWNER", "PAD", "PARALLEL",
	"PARAMETER", "PARAMETERS", "PARTIAL", "PARTITION", "PARTITIONED", "PARTITIONS", "PATH",
	"PERCENT", "PERCENTILE", "PERMISSION", "PERMISSIONS", "PIPE", "PIPELINED", "PLAN", "POOL",
	"POSITION", "PRECISION", "PREPARE", "PRESERVE", "PRIMARY", "PRIOR", "PRIVATE",
	"PRIVILEGES", "PROCEDURE", "PROCESSED", "PROJECT", "PROJECTION", "PROPERTY",
	"PROVISIONING", "PUBLIC", "PUT", "QUERY", "QUIT", "QUORUM", "RAISE", "RANDOM", "RANGE",
	"RANK", "RAW", "READ", "READS", "REAL", "REBUILD", "RECORD", "RECURSIVE", "REDUCE", "REF",
	"REFERENCE", "REFERENCES", "REFERENCING", "REGEXP", "REGION", "REINDEX", "RELATIVE",
	"RELEASE", "REMAINDER", "RENAME", "REPEAT", "REPLACE", "REQUEST", "RESET", "RESIGNAL",
	"RESOURCE", "RESPONSE", "RESTORE", "RESTRICT", "RESULT", "RETURN", "RETURNING", "RETURNS",
	"REVERSE", "REVOKE", "RIGHT", "ROLE", "ROLES", "ROLLBACK", "ROLLUP", "ROUTINE", "ROW",
	"ROWS", "RULE", "RULES", "SAMPLE", "SATISFIES", "SAVE", "SAVEPOINT", "SCAN", "SCHEMA",
	"SCOPE", "SCROLL", "SEARCH", "SECOND", "SECTION", "SEGMENT", "SEGMENTS", "SELECT", "SELF",
	"SEMI", "SENSITIVE", "SEPARATE", "SEQUENCE", "SERIALIZABLE", "SESSION", "SET", "SETS",
	"SHARD", "SHARE", "SHARED", "SHORT", "SHOW", "SIGNAL", "SIMILAR", "SIZE", "SKEWED",
	"SMALLINT", "SNAPSHOT", "SOME", "SOURCE", "SPACE", "SPACES", "SPARSE", "SPECIFIC",
	"SPECIFICTYPE", "SPLIT", "SQL", "SQLCODE", "SQLERROR", "SQLEXCEPTION", "SQLSTATE",
	"SQLWARNING", "START", "STATE", "STATIC", "STATUS", "STORAGE", "STORE", "STORED",
	"STREAM", "STRING", "STRUCT", "STYLE", "SUB", "SUBMULTISET", "SUBPARTITION", "SUBSTRING",
	"SUBTYPE", "SUM", "SUPER", "SYMMETRIC", "SYNONYM", "SYSTEM", "TABLE", "TABLESAMPLE",
	"TEMP", "TEMPORARY", "TERMINATED", "TEXT", "THAN", "THEN", "THROUGHPUT", "TIME",
	"TIMESTAMP", "TIMEZONE", "TINYINT", "TO", "TOKEN", "TOTAL", "TOUCH", "TRAILING",
	"TRANSACTION", "TRANSFORM", "TRANSLATE", "TRANSLATION", "TREAT", "TRIGGER", "TRIM",
	"TRUE", "TRUNCATE", "TTL", "TUPLE", "TYPE", "UNDER", "UNDO", "UNION", "UNIQUE", "UNIT",
	"UNKNOWN", "UNLOGGED", "UNNEST", "UNPROCESSED", "UNSIGNED", "UNTIL", "UPDATE", "UPPER",
	"URL", "USAGE", "USE", "USER", "USERS", "USING", "UUID", "VACUUM", "VALUE", "VALUED",
	"VALUES", "VARCHAR", "VARIABLE", "VARIANCE", "VARINT", "VARYING", "VIEW", "VIEWS",
	"VIRTUAL", "VOID", "WAIT", "WHEN", "WHENEVER", "WHERE", "WHILE", "WINDOW", "WITH",
	"WITHIN", "WITHOUT", "WORK", "WRAPPED", "WRITE", "YEAR", "ZONE"};
/* clang-format on */

enum ntype {
	N_PATH,
	N_VALUE,
	N_CMP,     /* op: OP_* ; kids: left, right */
	N_BETWEEN, /* kids: operand, low, high */
	N_IN,      /* kids: operand, then the list (unordered) */
	N_FUNC,    /* op: F_* ; kids: arguments */
	N_AND,     /* kids: unordered, never N_AND */
	N_OR,      /* kids: unordered, never N_OR */
	N_NOT,     /* kid: the condition */
	N_ARITH,   /* op: A_* ; kids: left, right (SET's value) */
	N_PROJ,    /* kids: paths (unordered) */
	N_UPDATE,  /* kids: N_CLAUSE, at most one per op (unordered) */
	N_CLAUSE,  /* op: C_* ; kids: N_ACTION (unordered) */
	N_ACTION   /* op: C_* ; kids: target path, then the value (not for REMOVE) */
};

enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
static const char *const cmp_text[] = {"=", "<>", "<", "<=", ">", ">="};

enum {
	F_ATTR_EXISTS,
	F_ATTR_NOT_EXISTS,
	F_ATTR_TYPE,
	F_BEGINS_WITH,
	F_CONTAINS,
	F_SIZE,
	F_IF_NOT_EXISTS,
	F_LIST_APPEND
};

/* Function names are case-sensitive (the guide says so). cond: a condition in its own
 * right; update: allowed in SET. size is an operand of a comparison. */
static const struct {
	const char *name;
	unsigned nargs;
	bool cond, update;
} funcs[] = {
    {"attribute_exists", 1, true, false}, {"attribute_not_exists", 1, true, false},
    {"attribute_type", 2, true, false},   {"begins_with", 2, true, false},
    {"contains", 2, true, false},         {"size", 1, false, false},
    {"if_not_exists", 2, false, true},    {"list_append", 2, false, true},
};
#define NFUNCS (sizeof(funcs) / sizeof(funcs[0]))

enum { C_SET, C_REMOVE, C_ADD, C_DELETE };
static const char *const clause_text[] = {"SET", "REMOVE", "ADD", "DELETE"};

enum { A_PLUS, A_MINUS };

struct node {
	uint8_t type, op;
	uint32_t col;   /* 1-based column of its first token */
	uint32_t size;  /* nodes in this subtree */
	uint32_t shape; /* hash of the structure, value placeholders left out */
	size_t n, cap;
	struct node **kid;
	ddb_expr_elem *el; /* N_PATH */
	size_t nel;
	char *ph; /* N_VALUE: ":name" */
};

/* A growable array of pointers. */
struct vec {
	void **v;
	size_t n, cap;
};

struct ddb_expr {
	ddb_expr_kind kind;
	struct node *root;
	struct vec all;    /* every node, for freeing */
	struct vec values; /* distinct ":name", borrowed from nodes */
	struct vec names;  /* distinct "#name", owned */
	struct vec paths;  /* distinct N_PATH nodes */
	ddb_expr_key_term keys[2];
	size_t nkeys;
};

static int vec_push(struct vec *a, void *p)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		void **v = realloc(a->v, cap * sizeof(*v));
		if (v == NULL)
			return BG_ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = p;
	return 0;
}

static char *dup_bytes(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* ---- characters ---- */

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_word(int c)
{
	return is_alpha(c) || is_digit(c) || c == '_';
}

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

/* Case-insensitive comparison of n bytes at s with the upper-case word w: <0, 0, >0. */
static int word_cmp(const char *s, size_t n, const char *w)
{
	size_t i;

	for (i = 0; i < n && w[i] != '\0'; i++) {
		int a = upper((unsigned char)s[i]), b = (unsigned char)w[i];
		if (a != b)
			return a - b;
	}
	if (i < n)
		return 1;
	return w[i] != '\0' ? -1 : 0;
}

static bool is_reserved(const char *s, size_t n)
{
	size_t lo = 0, hi = sizeof(reserved) / sizeof(reserved[0]);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = word_cmp(s, n, reserved[mid]);
		if (c == 0)
			return true;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

/* True when the name can be written bare in an expression: a word that is neither a
 * reserved word nor REMOVE (an update clause keyword that is not reserved). */
static bool is_plain_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !(is_alpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (i = 1; i < n; i++)
		if (!is_word((unsigned char)s[i]))
			return false;
	return !is_reserved(s, n) && word_cmp(s, n, "REMOVE") != 0;
}

/* Appends n bytes of s for a message: printable ASCII but quotes and backslashes, other
 * bytes as '?', cut at max bytes with "...". */
static int put_sanitised(bg_buf *b, const char *s, size_t n, size_t max)
{
	size_t i, m = n > max ? max : n;
	int rc = 0;

	for (i = 0; i < m && rc == 0; i++) {
		unsigned char c = (unsigned char)s[i];
		rc = bg_buf_addc(b, (c >= 0x20 && c < 0x7f && c != '"' && c != '\'' && c != '\\')
		                        ? (char)c
		                        : '?');
	}
	if (rc == 0 && m < n)
		rc = bg_buf_adds(b, "...");
	return rc;
}

/* A short sanitised copy of n bytes at s into dst (of cap bytes), for a message. */
static const char *sanitised(char *dst, size_t cap, const char *s, size_t n)
{
	bg_buf b;

	bg_buf_init(&b, cap - 1);
	if (put_sanitised(&b, s, n, cap > 8 ? cap - 8 : 1) != 0 || b.data == NULL) {
		dst[0] = '\0';
	} else {
		memcpy(dst, b.data, b.len + 1);
	}
	bg_buf_free(&b);
	return dst;
}

/* ---- lexer ---- */

enum tok {
	T_END,
	T_IDENT,
	T_NAME,  /* #name */
	T_VALUE, /* :value */
	T_NUM,
	T_LP,
	T_RP,
	T_LB,
	T_RB,
	T_COMMA,
	T_DOT,
	T_EQ,
	T_NE,
	T_LT,
	T_LE,
	T_GT,
	T_GE,
	T_PLUS,
	T_MINUS,
	T_BAD
};

struct parser {
	const char *s;
	size_t len, pos;
	enum tok t;
	size_t toff, tlen;
	const json_t *names;
	ddb_expr *x;
	bg_err *e;
	unsigned depth;
	int rc;
	bool reserved_ok; /* a runbook's own text: reserved words may name attributes */
};

/* One-character tokens, and the tokens they make. */
static const char singles[] = "()[],.=+-<>";
static const enum tok single_tok[] = {T_LP, T_RP,   T_LB,    T_RB, T_COMMA, T_DOT,
                                      T_EQ, T_PLUS, T_MINUS, T_LT, T_GT};

static void lex(struct parser *p)
{
	const char *s = p->s, *one;
	size_t i;
	int c;

	while (p->pos < p->len && is_space((unsigned char)s[p->pos]))
		p->pos++;
	p->toff = p->pos;
	p->tlen = 0;
	if (p->pos >= p->len) {
		p->t = T_END;
		return;
	}
	c = (unsigned char)s[p->pos];
	i = p->pos + 1;
	if (is_alpha(c) || c == '_') {
		while (i < p->len && is_word((unsigned char)s[i]))
			i++;
		p->t = T_IDENT;
	} else if (is_digit(c)) {
		while (i < p->len && is_digit((unsigned char)s[i]))
			i++;
		p->t = T_NUM;
	} else if (c == '#' || c == ':') {
		while (i < p->len && is_word((unsigned char)s[i]))
			i++;
		p->t = i == p->pos + 1 ? T_BAD : c == '#' ? T_NAME : T_VALUE;
	} else if (c != '\0' && (one = strchr(singles, c)) != NULL) {
		p->t = single_tok[one - singles];
		/* "<>", "<=", ">=" */
		if (i < p->len &&
		    ((c == '<' && (s[i] == '>' || s[i] == '=')) || (c == '>' && s[i] == '='))) {
			p->t = s[i] == '>' ? T_NE : c == '<' ? T_LE : T_GE;
			i++;
		}
	} else {
		p->t = T_BAD;
	}
	p->tlen = i - p->pos;
	p->pos = i;
}

/* True when the next token after the current one is '(' (a function call). */
static bool next_is_lp(const struct parser *p)
{
	size_t i = p->pos;

	while (i < p->len && is_space((unsigned char)p->s[i]))
		i++;
	return i < p->len && p->s[i] == '(';
}

/* True when the current token is the keyword w (upper case), in any case. */
static bool kw(const struct parser *p, const char *w)
{
	return p->t == T_IDENT && word_cmp(p->s + p->toff, p->tlen, w) == 0;
}

/* The current token for a message: "'AND'" or "end of expression". */
static const char *tok_desc(const struct parser *p, char *buf, size_t cap)
{
	char tmp[40];

	if (p->t == T_END)
		return "the end of the expression";
	snprintf(buf, cap, "'%s'", sanitised(tmp, sizeof(tmp), p->s + p->toff, p->tlen));
	return buf;
}

static void *perr(struct parser *p, int code, size_t off, const char *fmt, ...) BG_PRINTF(4, 5);
static void *perr(struct parser *p, int code, size_t off, const char *fmt, ...)
{
	char msg[sizeof(((bg_err *)0)->msg)];
	va_list ap;

	if (p->rc == 0) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		p->rc = bg_err_set(p->e, code, "column %zu: %s", off + 1, msg);
	}
	return NULL;
}

static void *oom(struct parser *p)
{
	if (p->rc == 0)
		p->rc = bg_err_set(p->e, BG_ENOMEM, "out of memory parsing an expression");
	return NULL;
}

/* A syntax error at the current token: "expected X, found Y". */
static void *unexpected(struct parser *p, const char *expected)
{
	char buf[64];

	if (p->t == T_BAD)
		return perr(p, BG_EINVAL, p->toff, "unexpected character %s",
		            tok_desc(p, buf, sizeof(buf)));
	return perr(p, BG_EINVAL, p->toff, "expected %s, found %s", expected,
	            tok_desc(p, buf, sizeof(buf)));
}

static bool expect(struct parser *p, enum tok t, const char *what)
{
	if (p->t != t) {
		unexpected(p, what);
		return false;
	}
	lex(p);
	return true;
}

static bool enter(struct parser *p)
{
	if (p->depth >= BG_MAX_EXPR_DEPTH) {
		perr(p, BG_ELIMIT, p->toff, "nested more than %d levels deep", BG_MAX_EXPR_DEPTH);
		return false;
	}
	p->depth++;
	return true;
}

/* ---- nodes ---- */

static struct node *mk(struct parser *p, int type, int op, size_t off)
{
	struct node *n;

	if (p->x->all.n >= BG_MAX_EXPR_NODES)
		return perr(p, BG_ELIMIT, off, "more than %d operators and operands",
		            BG_MAX_EXPR_NODES);
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return oom(p);
	if (vec_push(&p->x->all, n) != 0) {
		free(n);
		return oom(p);
	}
	n->type = (uint8_t)type;
	n->op = (uint8_t)op;
	n->col = (uint32_t)(off + 1);
	n->size = 1;
	return n;
}

static bool add_kid(struct parser *p, struct node *n, struct node *k)
{
	if (n->n == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 2;
		struct node **v = realloc(n->kid, cap * sizeof(*v));
		if (v == NULL) {
			oom(p);
			return false;
		}
		n->kid = v;
		n->cap = cap;
	}
	n->kid[n->n++] = k;
	n->size += k->size;
	return true;
}

/* Adds k to the AND or OR node n, splicing k's operands in when k is of n's type. */
static bool add_flat(struct parser *p, struct node *n, struct node *k)
{
	size_t i;

	if (k->type != n->type)
		return add_kid(p, n, k);
	for (i = 0; i < k->n; i++)
		if (!add_kid(p, n, k->kid[i]))
			return false;
	return true;
}

/* How two paths relate: disjoint, one inside the other (or equal), or in conflict (one
 * takes an element as a map where the other takes it as a list). */
enum { PATHS_DISJOINT, PATHS_OVERLAP, PATHS_CONFLICT };
static int path_rel(const struct node *a, const struct node *b)
{
	size_t i, m = a->nel < b->nel ? a->nel : b->nel;

	for (i = 0; i < m; i++) {
		const ddb_expr_elem *x = &a->el[i], *y = &b->el[i];
		if ((x->name == NULL) != (y->name == NULL))
			return PATHS_CONFLICT;
		if (x->name == NULL
		        ? x->index != y->index
		        : x->name_len != y->name_len || memcmp(x->name, y->name, x->name_len))
			return PATHS_DISJOINT;
	}
	return PATHS_OVERLAP;
}

static bool path_eq(const struct node *a, const struct node *b)
{
	return a->nel == b->nel && path_rel(a, b) == PATHS_OVERLAP;
}

/* Appends a path for a message or ddb_expr_path_format. */
static int put_path(bg_buf *b, const ddb_expr_elem *el, size_t nel)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < nel && rc == 0; i++) {
		if (el[i].name == NULL) {
			rc = bg_buf_addf(b, "[%u]", (unsigned)el[i].index);
			continue;
		}
		if (i > 0)
			rc = bg_buf_addc(b, '.');
		if (rc == 0 && is_plain_name(el[i].name, el[i].name_len))
			rc = bg_buf_add(b, el[i].name, el[i].name_len);
		else if (rc == 0)
			rc = bg_buf_addc(b, '"') ||
			     put_sanitised(b, el[i].name, el[i].name_len, 40) ||
			     bg_buf_addc(b, '"');
	}
	return rc;
}

/* ---- parser ---- */

/* Appends an element to the path n: a copy of the name (len bytes), or the list index
 * when name is NULL. off is where it was written, for the depth error. */
static bool add_elem(struct parser *p, struct node *n, const char *name, size_t len, uint32_t index,
                     size_t off)
{
	ddb_expr_elem *el;

	if (n->nel > BG_MAX_EXPR_PATH_DEPTH) {
		perr(p, BG_ELIMIT, off, "a document path has more than %d dereferences",
		     BG_MAX_EXPR_PATH_DEPTH);
		return false;
	}
	el = realloc(n->el, (n->nel + 1) * sizeof(*el));
	if (el == NULL) {
		oom(p);
		return false;
	}
	n->el = el;
	el[n->nel].name = NULL;
	el[n->nel].name_len = len;
	el[n->nel].index = index;
	if (name != NULL && (el[n->nel].name = dup_bytes(name, len)) == NULL) {
		oom(p);
		return false;
	}
	n->nel++;
	return true;
}

static bool path_elem(struct parser *p, struct node *n)
{
	const char *name;
	size_t len, off = p->toff;
	char key[BG_MAX_EXPR_PLACEHOLDER + 1], buf[64];

	if (p->t == T_IDENT) {
		if (!p->reserved_ok && is_reserved(p->s + off, p->tlen)) {
			perr(p, BG_EINVAL, off,
			     "attribute name %s is a reserved word; write it as an expression "
			     "attribute name (#name)",
			     tok_desc(p, buf, sizeof(buf)));
			return false;
		}
		if (p->x->kind == DDB_EXPR_UPDATE && kw(p, "REMOVE")) {
			perr(p, BG_EINVAL, off,
			     "'REMOVE' is a keyword in an update expression; write the attribute "
			     "as #name");
			return false;
		}
		name = p->s + off;
		len = p->tlen;
	} else if (p->t == T_NAME) {
		const json_t *v;
		size_t i;
		if (p->tlen > BG_MAX_EXPR_PLACEHOLDER) {
			perr(p, BG_ELIMIT, off,
			     "an expression attribute name is longer than %d bytes",
			     BG_MAX_EXPR_PLACEHOLDER);
			return false;
		}
		memcpy(key, p->s + off, p->tlen);
		key[p->tlen] = '\0';
		v = p->names != NULL ? json_object_get(p->names, key) : NULL;
		if (v == NULL) {
			perr(p, BG_EINVAL, off,
			     "expression attribute name %s is not defined in "
			     "ExpressionAttributeNames",
			     tok_desc(p, buf, sizeof(buf)));
			return false;
		}
		if (!json_is_string(v) || json_string_length(v) == 0) {
			perr(p, BG_EINVAL, off,
			     "expression attribute name %s must stand for a non-empty string",
			     tok_desc(p, buf, sizeof(buf)));
			return false;
		}
		if (json_string_length(v) > BG_MAX_EXPR_ATTR_NAME) {
			perr(p, BG_ELIMIT, off, "attribute name %s is longer than %d bytes",
			     tok_desc(p, buf, sizeof(buf)), BG_MAX_EXPR_ATTR_NAME);
			return false;
		}
		name = json_string_value(v);
		len = json_string_length(v);
		for (i = 0; i < p->x->names.n; i++)
			if (strcmp(p->x->names.v[i], key) == 0)
				break;
		if (i == p->x->names.n) {
			char *k = dup_bytes(key, p->tlen);
			if (k == NULL || vec_push(&p->x->names, k) != 0) {
				free(k);
				oom(p);
				return false;
			}
		}
	} else {
		unexpected(p, "an attribute name");
		return false;
	}
	if (!add_elem(p, n, name, len, 0, off))
		return false;
	lex(p);
	return true;
}

static bool path_index(struct parser *p, struct node *n)
{
	uint64_t v = 0;
	size_t i, off = p->toff;

	lex(p); /* '[' */
	if (p->t != T_NUM) {
		unexpected(p, "a list index (a non-negative integer)");
		return false;
	}
	for (i = 0; i < p->tlen; i++) {
		v = v * 10 + (uint64_t)(p->s[p->toff + i] - '0');
		if (v > INT32_MAX) {
			perr(p, BG_ELIMIT, p->toff, "list index too large");
			return false;
		}
	}
	lex(p);
	return expect(p, T_RB, "']'") && add_elem(p, n, NULL, 0, (uint32_t)v, off);
}

static struct node *parse_path(struct parser *p)
{
	struct node *n = mk(p, N_PATH, 0, p->toff);
	size_t i;

	if (n == NULL || !path_elem(p, n))
		return NULL;
	for (;;) {
		if (p->t == T_DOT) {
			lex(p);
			if (!path_elem(p, n))
				return NULL;
		} else if (p->t == T_LB) {
			if (!path_index(p, n))
				return NULL;
		} else {
			break;
		}
	}
	for (i = 0; i < p->x->paths.n; i++)
		if (path_eq(p->x->paths.v[i], n))
			return n;
	if (vec_push(&p->x->paths, n) != 0)
		return oom(p);
	return n;
}

static struct node *parse_value(struct parser *p)
{
	struct node *n;
	size_t i;

	if (p->t != T_VALUE)
		return unexpected(p, "an expression attribute value (:value)");
	if (p->tlen > BG_MAX_EXPR_PLACEHOLDER)
		return perr(p, BG_ELIMIT, p->toff,
		            "an expression attribute value is longer than %d bytes",
		            BG_MAX_EXPR_PLACEHOLDER);
	n = mk(p, N_VALUE, 0, p->toff);
	if (n == NULL)
		return NULL;
	n->ph = dup_bytes(p->s + p->toff, p->tlen);
	if (n->ph == NULL)
		return oom(p);
	for (i = 0; i < p->x->values.n; i++)
		if (strcmp(p->x->values.v[i], n->ph) == 0)
			break;
	if (i == p->x->values.n && vec_push(&p->x->values, n->ph) != 0)
		return oom(p);
	lex(p);
	return n;
}

/* The function the current identifier names (case-sensitive), or -1. */
static int func_of(const struct parser *p)
{
	size_t i;

	if (p->t != T_IDENT)
		return -1;
	for (i = 0; i < NFUNCS; i++)
		if (strlen(funcs[i].name) == p->tlen &&
		    memcmp(funcs[i].name, p->s + p->toff, p->tlen) == 0)
			return (int)i;
	return -1;
}

static struct node *parse_uoperand(struct parser *p);
static struct node *parse_call(struct parser *p, int f);

/* An identifier followed by '(' that is not allowed where it stands. */
static void *bad_call(struct parser *p, const char *where)
{
	char buf[64];
	int f = func_of(p);

	if (f < 0)
		return perr(p, BG_EINVAL, p->toff,
		            "unknown function %s (function names are case-sensitive)",
		            tok_desc(p, buf, sizeof(buf)));
	return perr(p, BG_EINVAL, p->toff, "function '%s' cannot be used %s", funcs[f].name, where);
}

/* A comparison operand: path, :value or size(path). */
static struct node *parse_operand(struct parser *p)
{
	if (p->t == T_VALUE)
		return parse_value(p);
	if (p->t == T_IDENT && next_is_lp(p)) {
		if (func_of(p) == F_SIZE)
			return parse_call(p, F_SIZE);
		return bad_call(p, "as an operand");
	}
	return parse_path(p);
}

/* A function argument: which kinds function f takes at position i. */
static struct node *parse_arg(struct parser *p, int f, unsigned i)
{
	char buf[64];

	switch (f) {
	case F_ATTR_TYPE:
		if (i == 1)
			return parse_value(p);
		break;
	case F_BEGINS_WITH:
	case F_CONTAINS:
		if (i == 1)
			return p->t == T_VALUE ? parse_value(p) : parse_path(p);
		break;
	case F_IF_NOT_EXISTS:
		if (i == 1)
			return parse_uoperand(p);
		break;
	case F_LIST_APPEND:
		return parse_uoperand(p);
	default:
		break;
	}
	if (p->t != T_IDENT && p->t != T_NAME)
		return perr(p, BG_EINVAL, p->toff,
		            "function '%s' takes a document path first, not %s", funcs[f].name,
		            tok_desc(p, buf, sizeof(buf)));
	return parse_path(p);
}

static struct node *parse_call(struct parser *p, int f)
{
	struct node *n;
	size_t off = p->toff;
	unsigned i;
	char what[64];

	if (!enter(p))
		return NULL;
	n = mk(p, N_FUNC, f, off);
	if (n == NULL)
		return NULL;
	lex(p); /* the name */
	if (!expect(p, T_LP, "'('"))
		return NULL;
	for (i = 0; i < funcs[f].nargs; i++) {
		struct node *a;
		if (i > 0) {
			snprintf(what, sizeof(what), "',' (%s takes %u arguments)", funcs[f].name,
			         funcs[f].nargs);
			if (!expect(p, T_COMMA, what))
				return NULL;
		}
		a = parse_arg(p, f, i);
		if (a == NULL || !add_kid(p, n, a))
			return NULL;
	}
	snprintf(what, sizeof(what), "')' (%s takes %u argument%s)", funcs[f].name, funcs[f].nargs,
	         funcs[f].nargs == 1 ? "" : "s");
	if (!expect(p, T_RP, what))
		return NULL;
	if (f == F_CONTAINS && n->kid[1]->type == N_PATH && path_eq(n->kid[0], n->kid[1]))
		return perr(p, BG_EINVAL, off, "contains() needs two different operands");
	p->depth--;
	return n;
}

/* An operand of SET: path, :value, if_not_exists(...) or list_append(...). */
static struct node *parse_uoperand(struct parser *p)
{
	if (p->t == T_VALUE)
		return parse_value(p);
	if (p->t == T_IDENT && next_is_lp(p)) {
		int f = func_of(p);
		if (f >= 0 && funcs[f].update)
			return parse_call(p, f);
		return bad_call(p, "in an update expression");
	}
	return parse_path(p);
}

static struct node *parse_or(struct parser *p);

/* What follows a comparison's first operand: a comparator and an operand, BETWEEN and two,
 * or IN and a list of them. */
static struct node *parse_compare(struct parser *p, struct node *left, size_t off)
{
	struct node *n, *k;
	int type = p->t >= T_EQ && p->t <= T_GE ? N_CMP
	           : kw(p, "BETWEEN")           ? N_BETWEEN
	           : kw(p, "IN")                ? N_IN
	                                        : -1;

	if (type < 0)
		return unexpected(p, "a comparator (= <> < <= > >=), BETWEEN or IN");
	n = mk(p, type, type == N_CMP ? (int)(p->t - T_EQ) : 0, off);
	if (n == NULL || !add_kid(p, n, left))
		return NULL;
	lex(p);
	if (type == N_IN && !expect(p, T_LP, "'(' after IN"))
		return NULL;
	for (;;) {
		if (n->n > BG_MAX_EXPR_IN_OPERANDS)
			return perr(p, BG_ELIMIT, p->toff, "IN has more than %d operands",
			            BG_MAX_EXPR_IN_OPERANDS);
		k = parse_operand(p);
		if (k == NULL || !add_kid(p, n, k))
			return NULL;
		if (type == N_BETWEEN && n->n == 2) {
			if (!kw(p, "AND"))
				return unexpected(p, "AND (of BETWEEN ... AND ...)");
			lex(p);
			continue;
		}
		if (type != N_IN || p->t != T_COMMA)
			break;
		lex(p);
	}
	if (type == N_IN && !expect(p, T_RP, "',' or ')' in the IN list"))
		return NULL;
	return n;
}

static struct node *parse_primary(struct parser *p)
{
	struct node *n;
	size_t off = p->toff;

	if (p->t == T_LP) {
		if (!enter(p))
			return NULL;
		lex(p);
		n = parse_or(p);
		if (n == NULL || !expect(p, T_RP, "')' or AND/OR"))
			return NULL;
		p->depth--;
		return n;
	}
	if (p->t == T_IDENT && next_is_lp(p)) {
		int f = func_of(p);
		if (f >= 0 && funcs[f].cond)
			return parse_call(p, f);
		if (f != F_SIZE)
			return bad_call(p, "in a condition");
	}
	if (p->t != T_IDENT && p->t != T_NAME && p->t != T_VALUE)
		return unexpected(p, "a condition");
	n = parse_operand(p);
	if (n == NULL)
		return NULL;
	return parse_compare(p, n, off);
}

static struct node *parse_not(struct parser *p)
{
	struct node *n, *k;
	size_t off = p->toff;

	if (!kw(p, "NOT"))
		return parse_primary(p);
	if (!enter(p))
		return NULL;
	n = mk(p, N_NOT, 0, off);
	if (n == NULL)
		return NULL;
	lex(p);
	k = parse_not(p);
	if (k == NULL || !add_kid(p, n, k))
		return NULL;
	p->depth--;
	return n;
}

/* Operands parsed by sub, joined by AND (type N_AND) or OR (N_OR); one operand alone is
 * returned as it is. */
static struct node *parse_joined(struct parser *p, int type, struct node *(*sub)(struct parser *))
{
	const char *word = type == N_AND ? "AND" : "OR";
	size_t off = p->toff;
	struct node *n, *k = sub(p);

	if (k == NULL || !kw(p, word))
		return k;
	n = mk(p, type, 0, off);
	if (n == NULL || !add_flat(p, n, k))
		return NULL;
	while (kw(p, word)) {
		lex(p);
		k = sub(p);
		if (k == NULL || !add_flat(p, n, k))
			return NULL;
	}
	return n;
}

static struct node *parse_and(struct parser *p)
{
	return parse_joined(p, N_AND, parse_not);
}

static struct node *parse_or(struct parser *p)
{
	return parse_joined(p, N_OR, parse_and);
}

/* ---- the four grammars ---- */

/* Checks a key condition's shape (partition key equality AND an optional sort key test)
 * and records its terms. */
static bool key_terms(struct parser *p, struct node *root)
{
	struct node *one[1] = {root}, **t = one;
	size_t n = 1, i;
	bool eq = false;

	if (root->type == N_AND) {
		t = root->kid;
		n = root->n;
		if (n > 2) {
			perr(p, BG_EINVAL, t[2]->col - 1,
			     "a key condition has at most two terms: the partition key and the "
			     "sort key");
			return false;
		}
	}
	for (i = 0; i < n; i++) {
		struct node *k = t[i], *path = NULL;
		ddb_expr_key_term *kt = &p->x->keys[i];
		bool ok = false;
		switch (k->type) {
		case N_CMP:
			if (k->op == OP_NE) {
				perr(p, BG_EINVAL, k->col - 1,
				     "'<>' cannot be used in a key condition");
				return false;
			}
			ok = k->kid[1]->type == N_VALUE;
			path = k->kid[0];
			kt->op = k->op == OP_EQ   ? DDB_KEY_EQ
			         : k->op == OP_LT ? DDB_KEY_LT
			         : k->op == OP_LE ? DDB_KEY_LE
			         : k->op == OP_GT ? DDB_KEY_GT
			                          : DDB_KEY_GE;
			kt->value = ok ? k->kid[1]->ph : NULL;
			kt->value2 = NULL;
			eq = eq || k->op == OP_EQ;
			break;
		case N_BETWEEN:
			ok = k->kid[1]->type == N_VALUE && k->kid[2]->type == N_VALUE;
			path = k->kid[0];
			kt->op = DDB_KEY_BETWEEN;
			kt->value = ok ? k->kid[1]->ph : NULL;
			kt->value2 = ok ? k->kid[2]->ph : NULL;
			break;
		case N_FUNC:
			if (k->op != F_BEGINS_WITH) {
				perr(p, BG_EINVAL, k->col - 1,
				     "function '%s' cannot be used in a key condition (only "
				     "begins_with)",
				     funcs[k->op].name);
				return false;
			}
			ok = k->kid[1]->type == N_VALUE;
			path = k->kid[0];
			kt->op = DDB_KEY_BEGINS_WITH;
			kt->value = ok ? k->kid[1]->ph : NULL;
			kt->value2 = NULL;
			break;
		case N_OR:
		case N_NOT:
		case N_IN:
			perr(p, BG_EINVAL, k->col - 1, "%s cannot be used in a key condition",
			     k->type == N_OR    ? "OR"
			     : k->type == N_NOT ? "NOT"
			                        : "IN");
			return false;
		default:
			break;
		}
		if (path == NULL || path->type != N_PATH) {
			perr(p, BG_EINVAL, k->col - 1,
			     "a key condition term compares a key attribute with a :value");
			return false;
		}
		if (!ok) {
			perr(p, BG_EINVAL, k->col - 1,
			     "a key attribute must be compared with :value placeholders");
			return false;
		}
		if (path->nel != 1 || path->el[0].name == NULL) {
			perr(p, BG_EINVAL, path->col - 1,
			     "a key condition names top-level key attributes, not nested paths");
			return false;
		}
		kt->attr = path->el[0].name;
		kt->attr_len = path->el[0].name_len;
	}
	if (!eq) {
		perr(p, BG_EINVAL, root->col - 1,
		     "a key condition must test the partition key with '='");
		return false;
	}
	if (n == 2 && p->x->keys[0].attr_len == p->x->keys[1].attr_len &&
	    memcmp(p->x->keys[0].attr, p->x->keys[1].attr, p->x->keys[0].attr_len) == 0) {
		perr(p, BG_EINVAL, t[1]->col - 1, "a key condition tests one attribute twice");
		return false;
	}
	p->x->nkeys = n;
	return true;
}

/* DynamoDB refuses two paths of one projection or update where one lies inside the other
 * (or equals it), or where one takes an element as a map key and the other as a list
 * index. */
static bool no_overlap(struct parser *p, struct node **v, size_t n)
{
	size_t i, j;
	bg_buf a, b;

	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++) {
			int rel = path_rel(v[j], v[i]);
			if (rel == PATHS_DISJOINT)
				continue;
			bg_buf_init(&a, 128);
			bg_buf_init(&b, 128);
			if (put_path(&a, v[j]->el, v[j]->nel) != 0 ||
			    put_path(&b, v[i]->el, v[i]->nel))
				perr(p, BG_EINVAL, v[i]->col - 1, "two document paths %s",
				     rel == PATHS_OVERLAP ? "overlap" : "conflict");
			else
				perr(p, BG_EINVAL, v[i]->col - 1,
				     "two document paths %s: %s and %s",
				     rel == PATHS_OVERLAP ? "overlap" : "conflict", a.data, b.data);
			bg_buf_free(&a);
			bg_buf_free(&b);
			return false;
		}
	return true;
}

static struct node *parse_projection(struct parser *p)
{
	struct node *n = mk(p, N_PROJ, 0, p->toff), *k;

	if (n == NULL)
		return NULL;
	for (;;) {
		k = parse_path(p);
		if (k == NULL || !add_kid(p, n, k))
			return NULL;
		if (p->t != T_COMMA)
			break;
		lex(p);
	}
	if (p->t != T_END)
		return unexpected(p, "',' or the end of the projection");
	if (!no_overlap(p, n->kid, n->n))
		return NULL;
	return n;
}

/* SET's value: operands joined by '+' and '-', left to right. Each operator nests the tree
 * one level deeper, so each counts against BG_MAX_EXPR_DEPTH like a parenthesis. */
static struct node *parse_uvalue(struct parser *p)
{
	size_t off = p->toff;
	unsigned depth = p->depth;
	struct node *left = parse_uoperand(p), *n, *k;

	while (left != NULL && (p->t == T_PLUS || p->t == T_MINUS)) {
		if (!enter(p))
			return NULL;
		n = mk(p, N_ARITH, p->t == T_PLUS ? A_PLUS : A_MINUS, off);
		if (n == NULL || !add_kid(p, n, left))
			return NULL;
		lex(p);
		k = parse_uoperand(p);
		if (k == NULL || !add_kid(p, n, k))
			return NULL;
		left = n;
	}
	p->depth = depth;
	return left;
}

static struct node *parse_update(struct parser *p)
{
	struct node *n = mk(p, N_UPDATE, 0, p->toff), *cl, *act, *k;
	struct vec targets = {NULL, 0, 0};
	bool seen[4] = {false, false, false, false};
	int c;
	char buf[64];

	if (n == NULL)
		return NULL;
	do {
		for (c = 0; c < 4; c++)
			if (kw(p, clause_text[c]))
				break;
		if (c == 4) {
			unexpected(p, "SET, REMOVE, ADD or DELETE");
			goto fail;
		}
		if (seen[c]) {
			perr(p, BG_EINVAL, p->toff,
			     "%s appears twice (each clause may appear once)", clause_text[c]);
			goto fail;
		}
		seen[c] = true;
		cl = mk(p, N_CLAUSE, c, p->toff);
		if (cl == NULL || !add_kid(p, n, cl))
			goto fail;
		lex(p);
		for (;;) {
			act = mk(p, N_ACTION, c, p->toff);
			if (act == NULL)
				goto fail;
			k = parse_path(p);
			if (k == NULL || !add_kid(p, act, k))
				goto fail;
			if (vec_push(&targets, k) != 0) {
				oom(p);
				goto fail;
			}
			if (c == C_SET) {
				if (!expect(p, T_EQ, "'=' in a SET action"))
					goto fail;
				k = parse_uvalue(p);
			} else if (c == C_ADD || c == C_DELETE) {
				if (p->t != T_VALUE) {
					perr(p, BG_EINVAL, p->toff,
					     "%s takes a path and a :value, not %s", clause_text[c],
					     tok_desc(p, buf, sizeof(buf)));
					goto fail;
				}
				k = parse_value(p);
			} else {
				k = NULL;
			}
			if (c != C_REMOVE && (k == NULL || !add_kid(p, act, k)))
				goto fail;
			if (!add_kid(p, cl, act))
				goto fail;
			if (p->t != T_COMMA)
				break;
			lex(p);
		}
	} while (p->t != T_END);
	if (!no_overlap(p, (struct node **)targets.v, targets.n))
		goto fail;
	free(targets.v);
	return n;
fail:
	free(targets.v);
	return NULL;
}

/* ---- after parsing: one order, sizes, shapes ---- */

static int elem_cmp(const ddb_expr_elem *a, const ddb_expr_elem *b)
{
	size_t m;
	int c;

	if ((a->name == NULL) != (b->name == NULL))
		return a->name == NULL ? -1 : 1;
	if (a->name == NULL)
		return (a->index > b->index) - (a->index < b->index);
	m = a->name_len < b->name_len ? a->name_len : b->name_len;
	c = memcmp(a->name, b->name, m);
	if (c != 0)
		return c;
	return (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

/* A total order on trees whose unordered operands are already sorted. */
static int node_cmp(const struct node *a, const struct node *b)
{
	size_t i;
	int c;

	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->op != b->op)
		return a->op < b->op ? -1 : 1;
	if (a->type == N_PATH) {
		for (i = 0; i < a->nel && i < b->nel; i++)
			if ((c = elem_cmp(&a->el[i], &b->el[i])) != 0)
				return c;
		return (a->nel > b->nel) - (a->nel < b->nel);
	}
	if (a->type == N_VALUE)
		return strcmp(a->ph, b->ph);
	for (i = 0; i < a->n && i < b->n; i++)
		if ((c = node_cmp(a->kid[i], b->kid[i])) != 0)
			return c;
	return (a->n > b->n) - (a->n < b->n);
}

static int node_qcmp(const void *a, const void *b)
{
	return node_cmp(*(struct node *const *)a, *(struct node *const *)b);
}

/* The first operand that is not unordered (IN's left operand), or n for ordered nodes. */
static size_t unordered_from(const struct node *n)
{
	switch (n->type) {
	case N_AND:
	case N_OR:
	case N_PROJ:
	case N_UPDATE:
	case N_CLAUSE:
		return 0;
	case N_IN:
		return 1;
	default:
		return n->n;
	}
}

static uint32_t mix(uint32_t h, uint32_t v)
{
	h ^= v;
	h *= 16777619u;
	h ^= h >> 15;
	return h;
}

/* Sorts unordered operands, bottom-up, and computes sizes and shapes. */
static void finish(struct node *n)
{
	size_t i, from = unordered_from(n);
	uint32_t h = mix(2166136261u, (uint32_t)n->type << 8 | n->op), sum = 0;

	n->size = 1;
	for (i = 0; i < n->n; i++) {
		finish(n->kid[i]);
		n->size += n->kid[i]->size;
	}
	if (from < n->n)
		qsort(n->kid + from, n->n - from, sizeof(n->kid[0]), node_qcmp);
	if (n->type == N_PATH) {
		for (i = 0; i < n->nel; i++) {
			size_t j;
			if (n->el[i].name == NULL) {
				h = mix(h, 0x5bd1e995u ^ n->el[i].index);
				continue;
			}
			h = mix(h, (uint32_t)n->el[i].name_len);
			for (j = 0; j < n->el[i].name_len; j++)
				h = mix(h, (unsigned char)n->el[i].name[j]);
		}
	}
	for (i = 0; i < n->n; i++) {
		if (i < from)
			h = mix(h, n->kid[i]->shape);
		else
			sum += mix(0x9e3779b9u, n->kid[i]->shape);
	}
	n->shape = mix(h, sum);
}

/* ---- parse, free, accessors ---- */

static void node_free(struct node *n)
{
	size_t i;

	for (i = 0; i < n->nel; i++)
		free((void *)n->el[i].name);
	free(n->el);
	free(n->kid);
	free(n->ph);
	free(n);
}

void ddb_expr_free(ddb_expr *x)
{
	size_t i;

	if (x == NULL)
		return;
	for (i = 0; i < x->all.n; i++)
		node_free(x->all.v[i]);
	for (i = 0; i < x->names.n; i++)
		free(x->names.v[i]);
	free(x->all.v);
	free(x->values.v);
	free(x->names.v);
	free(x->paths.v);
	free(x);
}

static int parse_expr(ddb_expr_kind kind, const char *text, size_t len, const json_t *names,
                      bool reserved_ok, ddb_expr **out, bg_err *e)
{
	struct parser p;
	struct node *root = NULL;
	size_t i;

	if (out == NULL)
		return bg_err_set(e, BG_EINVAL, "no place for the parsed expression");
	*out = NULL;
	if (kind > DDB_EXPR_UPDATE || (text == NULL && len > 0))
		return bg_err_set(e, BG_EINVAL, "no such expression kind");
	if (len > BG_MAX_EXPR_LEN)
		return bg_err_set(e, BG_ELIMIT, "%s expression longer than %d bytes",
		                  ddb_expr_kind_name(kind), BG_MAX_EXPR_LEN);
	if (names != NULL && !json_is_object(names))
		return bg_err_set(e, BG_EINVAL, "ExpressionAttributeNames is not an object");
	for (i = 0; i < len; i++)
		if ((unsigned char)text[i] >= 0x80 || text[i] == '\0')
			return bg_err_set(e, BG_EINVAL, "column %zu: unexpected byte 0x%02x", i + 1,
			                  (unsigned char)text[i]);
	memset(&p, 0, sizeof(p));
	p.s = text;
	p.len = len;
	p.names = names;
	p.e = e;
	p.reserved_ok = reserved_ok;
	p.x = calloc(1, sizeof(*p.x));
	if (p.x == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory parsing an expression");
	p.x->kind = kind;
	lex(&p);
	if (p.t == T_END) {
		bg_err_set(e, BG_EINVAL, "the %s expression is empty", ddb_expr_kind_name(kind));
		goto fail;
	}
	switch (kind) {
	case DDB_EXPR_KEY_CONDITION:
	case DDB_EXPR_CONDITION:
	case DDB_EXPR_FILTER:
		root = parse_or(&p);
		if (root != NULL && p.t != T_END)
			root = unexpected(&p, "AND, OR or the end of the condition");
		if (root != NULL && kind == DDB_EXPR_KEY_CONDITION && !key_terms(&p, root))
			root = NULL;
		break;
	case DDB_EXPR_PROJECTION:
		root = parse_projection(&p);
		break;
	case DDB_EXPR_UPDATE:
		root = parse_update(&p);
		break;
	}
	if (root == NULL) {
		if (p.rc == 0)
			bg_err_set(e, BG_EINVAL, "invalid %s expression", ddb_expr_kind_name(kind));
		goto fail;
	}
	finish(root);
	p.x->root = root;
	*out = p.x;
	return 0;
fail:
	ddb_expr_free(p.x);
	return p.rc != 0 ? p.rc : BG_EINVAL;
}

int ddb_expr_parse(ddb_expr_kind kind, const char *text, size_t len, const json_t *names,
                   ddb_expr **out, bg_err *e)
{
	return parse_expr(kind, text, len, names, false, out, e);
}

int ddb_expr_parse_template(ddb_expr_kind kind, const char *text, size_t len, const json_t *names,
                            ddb_expr **out, bg_err *e)
{
	return parse_expr(kind, text, len, names, true, out, e);
}

ddb_expr_kind ddb_expr_kind_of(const ddb_expr *x)
{
	return x->kind;
}

const char *ddb_expr_kind_name(ddb_expr_kind kind)
{
	switch (kind) {
	case DDB_EXPR_KEY_CONDITION:
		return "key condition";
	case DDB_EXPR_CONDITION:
		return "condition";
	case DDB_EXPR_FILTER:
		return "filter";
	case DDB_EXPR_PROJECTION:
		return "projection";
	case DDB_EXPR_UPDATE:
		return "update";
	}
	return "expression";
}

size_t ddb_expr_nvalues(const ddb_expr *x)
{
	return x != NULL ? x->values.n : 0;
}

const char *ddb_expr_value(const ddb_expr *x, size_t i)
{
	return x != NULL && i < x->values.n ? x->values.v[i] : NULL;
}

size_t ddb_expr_nnames(const ddb_expr *x)
{
	return x != NULL ? x->names.n : 0;
}

const char *ddb_expr_name(const ddb_expr *x, size_t i)
{
	return x != NULL && i < x->names.n ? x->names.v[i] : NULL;
}

size_t ddb_expr_npaths(const ddb_expr *x)
{
	return x != NULL ? x->paths.n : 0;
}

ddb_expr_path ddb_expr_path_at(const ddb_expr *x, size_t i)
{
	ddb_expr_path p = {NULL, 0};

	if (x != NULL && i < x->paths.n) {
		const struct node *n = x->paths.v[i];
		p.elems = n->el;
		p.n = n->nel;
	}
	return p;
}

static ddb_expr_path node_path(const struct node *n)
{
	ddb_expr_path p = {n->el, n->nel};
	return p;
}

/* The value side of a SET action as an operand kind. */
static void update_operand(const struct node *v, ddb_expr_update_action *a)
{
	if (v->type == N_VALUE) {
		a->value_kind = DDB_UPD_VALUE;
		a->value = v->ph;
	} else if (v->type == N_PATH) {
		a->value_kind = DDB_UPD_PATH;
		a->src = node_path(v);
	} else if (v->type == N_FUNC && v->op == F_IF_NOT_EXISTS && v->n == 2 &&
	           v->kid[0]->type == N_PATH && v->kid[1]->type == N_VALUE) {
		a->value_kind = DDB_UPD_IF_NOT_EXISTS;
		a->src = node_path(v->kid[0]);
		a->value = v->kid[1]->ph;
	} else {
		a->value_kind = DDB_UPD_OTHER;
	}
}

size_t ddb_expr_update_nactions(const ddb_expr *x)
{
	size_t i, n = 0;

	if (x == NULL || x->kind != DDB_EXPR_UPDATE || x->root == NULL)
		return 0;
	for (i = 0; i < x->root->n; i++)
		n += x->root->kid[i]->n;
	return n;
}

bool ddb_expr_update_action_at(const ddb_expr *x, size_t i, ddb_expr_update_action *out)
{
	size_t c;

	memset(out, 0, sizeof(*out));
	if (x == NULL || x->kind != DDB_EXPR_UPDATE || x->root == NULL)
		return false;
	for (c = 0; c < x->root->n; c++) {
		const struct node *cl = x->root->kid[c];
		if (i < cl->n) {
			const struct node *act = cl->kid[i];
			out->clause = cl->op == C_SET      ? DDB_UPD_SET
			              : cl->op == C_REMOVE ? DDB_UPD_REMOVE
			              : cl->op == C_ADD    ? DDB_UPD_ADD
			                                   : DDB_UPD_DELETE;
			out->target = node_path(act->kid[0]);
			if (act->n > 1)
				update_operand(act->kid[1], out);
			return true;
		}
		i -= cl->n;
	}
	return false;
}

int ddb_expr_path_format(ddb_expr_path p, bg_buf *out)
{
	return put_path(out, p.elems, p.n);
}

const char *ddb_key_op_name(ddb_key_op op)
{
	static const char *const names[] = {"=", "<", "<=", ">", ">=", "BETWEEN", "begins_with"};

	return (unsigned)op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}

size_t ddb_expr_key_nterms(const ddb_expr *x)
{
	return x != NULL ? x->nkeys : 0;
}

const ddb_expr_key_term *ddb_expr_key_term_at(const ddb_expr *x, size_t i)
{
	return x != NULL && i < x->nkeys ? &x->keys[i] : NULL;
}

int ddb_expr_key_split(const ddb_expr *x, const char *pk, size_t pk_len,
                       const ddb_expr_key_term **part, const ddb_expr_key_term **sort, bg_err *e)
{
	size_t i;
	char buf[64];

	*part = NULL;
	*sort = NULL;
	if (x == NULL || x->kind != DDB_EXPR_KEY_CONDITION)
		return bg_err_set(e, BG_EINVAL, "not a key condition");
	for (i = 0; i < x->nkeys; i++)
		if (x->keys[i].op == DDB_KEY_EQ && x->keys[i].attr_len == pk_len &&
		    memcmp(x->keys[i].attr, pk, pk_len) == 0)
			break;
	if (i == x->nkeys)
		return bg_err_set(e, BG_EINVAL,
		                  "the key condition does not test the partition key '%s' with '='",
		                  sanitised(buf, sizeof(buf), pk, pk_len));
	*part = &x->keys[i];
	if (x->nkeys == 2)
		*sort = &x->keys[1 - i];
	return 0;
}

/* ---- printing: canonical text and messages ---- */

struct printer {
	bg_buf *out;
	bool msg;      /* for a message: names sanitised, no placeholders */
	json_t *names; /* canonical: the placeholders issued, "#nK" -> name */
	int err;       /* BG_ENOMEM when a placeholder could not be issued */
};

static int print_name(struct printer *pr, const ddb_expr_elem *el)
{
	size_t k;

	if (is_plain_name(el->name, el->name_len))
		return bg_buf_add(pr->out, el->name, el->name_len);
	if (pr->msg)
		return bg_buf_addc(pr->out, '"') ||
		       put_sanitised(pr->out, el->name, el->name_len, 40) ||
		       bg_buf_addc(pr->out, '"');
	/* The placeholder already issued for this name (perhaps by an earlier expression of
	 * the same request, ddb_expr_canonical_into), or the next free #nK. */
	{
		const char *key;
		char fresh[32];
		json_t *v;
		json_object_foreach(pr->names, key, v)
		{
			if (json_string_length(v) == el->name_len &&
			    memcmp(json_string_value(v), el->name, el->name_len) == 0)
				return bg_buf_adds(pr->out, key);
		}
		if (pr->names == NULL && (pr->names = json_object()) == NULL)
			return pr->err = BG_ENOMEM;
		for (k = json_object_size(pr->names) + 1;; k++) {
			snprintf(fresh, sizeof(fresh), "#n%zu", k);
			if (json_object_get(pr->names, fresh) == NULL)
				break;
		}
		v = json_stringn(el->name, el->name_len);
		if (v == NULL || json_object_set_new(pr->names, fresh, v) != 0)
			return pr->err = BG_ENOMEM;
		return bg_buf_adds(pr->out, fresh);
	}
}

static int print_node(struct printer *pr, const struct node *n);

static int print_kids(struct printer *pr, const struct node *n, size_t from, const char *sep,
                      int paren_type)
{
	size_t i;
	int rc = 0;

	for (i = from; i < n->n && rc == 0; i++) {
		bool paren = n->kid[i]->type == paren_type ||
		             (paren_type == N_AND && n->kid[i]->type == N_OR);
		if (i > from)
			rc = bg_buf_adds(pr->out, sep);
		if (rc == 0 && paren)
			rc = bg_buf_addc(pr->out, '(');
		if (rc == 0)
			rc = print_node(pr, n->kid[i]);
		if (rc == 0 && paren)
			rc = bg_buf_addc(pr->out, ')');
	}
	return rc;
}

static int print_node(struct printer *pr, const struct node *n)
{
	bg_buf *o = pr->out;
	size_t i;
	int rc = 0;

	switch (n->type) {
	case N_PATH:
		for (i = 0; i < n->nel && rc == 0; i++) {
			if (n->el[i].name == NULL) {
				rc = bg_buf_addf(o, "[%u]", (unsigned)n->el[i].index);
				continue;
			}
			if (i > 0)
				rc = bg_buf_addc(o, '.');
			if (rc == 0)
				rc = print_name(pr, &n->el[i]);
		}
		return rc;
	case N_VALUE:
		return bg_buf_adds(o, n->ph);
	case N_CMP:
		return print_node(pr, n->kid[0]) || bg_buf_addf(o, " %s ", cmp_text[n->op]) ||
		       print_node(pr, n->kid[1]);
	case N_BETWEEN:
		return print_node(pr, n->kid[0]) || bg_buf_adds(o, " BETWEEN ") ||
		       print_node(pr, n->kid[1]) || bg_buf_adds(o, " AND ") ||
		       print_node(pr, n->kid[2]);
	case N_IN:
		return print_node(pr, n->kid[0]) || bg_buf_adds(o, " IN (") ||
		       print_kids(pr, n, 1, ", ", -1) || bg_buf_addc(o, ')');
	case N_FUNC:
		return bg_buf_adds(o, funcs[n->op].name) || bg_buf_addc(o, '(') ||
		       print_kids(pr, n, 0, ", ", -1) || bg_buf_addc(o, ')');
	case N_AND:
		return print_kids(pr, n, 0, " AND ", N_AND);
	case N_OR:
		return print_kids(pr, n, 0, " OR ", N_OR);
	case N_NOT:
		rc = bg_buf_adds(o, "NOT ");
		if (n->kid[0]->type == N_AND || n->kid[0]->type == N_OR)
			return rc || bg_buf_addc(o, '(') || print_node(pr, n->kid[0]) ||
			       bg_buf_addc(o, ')');
		return rc || print_node(pr, n->kid[0]);
	case N_ARITH:
		return print_node(pr, n->kid[0]) ||
		       bg_buf_adds(o, n->op == A_PLUS ? " + " : " - ") || print_node(pr, n->kid[1]);
	case N_PROJ:
		return print_kids(pr, n, 0, ", ", -1);
	case N_UPDATE:
		return print_kids(pr, n, 0, " ", -1);
	case N_CLAUSE:
		return bg_buf_adds(o, clause_text[n->op]) || bg_buf_addc(o, ' ') ||
		       print_kids(pr, n, 0, ", ", -1);
	case N_ACTION:
		rc = print_node(pr, n->kid[0]);
		if (rc == 0 && n->n > 1)
			rc = bg_buf_adds(o, n->op == C_SET ? " = " : " ") ||
			     print_node(pr, n->kid[1]);
		return rc;
	default:
		return BG_EINVAL;
	}
}

int ddb_expr_canonical(const ddb_expr *x, bg_buf *out, json_t **names)
{
	struct printer pr = {out, false, NULL, 0};
	int rc;

	if (names != NULL)
		*names = NULL;
	if (x == NULL)
		return BG_EINVAL;
	rc = print_node(&pr, x->root);
	if (rc != 0 || names == NULL)
		json_decref(pr.names);
	else
		*names = pr.names;
	if (rc != 0)
		return pr.err != 0 ? pr.err : BG_ELIMIT;
	return 0;
}

int ddb_expr_canonical_into(const ddb_expr *x, bg_buf *out, json_t *names)
{
	struct printer pr = {out, false, names, 0};
	int rc;

	if (x == NULL || !json_is_object(names))
		return BG_EINVAL;
	rc = print_node(&pr, x->root);
	if (rc != 0)
		return pr.err != 0 ? pr.err : BG_ELIMIT;
	return 0;
}

/* n in message form, cut short: "status = :s". */
static const char *describe(const struct node *n, char *dst, size_t cap)
{
	bg_buf b;
	struct printer pr = {&b, true, NULL, 0};

	bg_buf_init(&b, 4096);
	if (print_node(&pr, n) != 0 || b.data == NULL)
		snprintf(dst, cap, "?");
	else if (b.len >= cap)
		snprintf(dst, cap, "%.*s...", (int)(cap - 4), b.data);
	else
		memcpy(dst, b.data, b.len + 1);
	bg_buf_free(&b);
	return dst;
}

/* ---- bindings ---- */

void ddb_expr_bindings_init(ddb_expr_bindings *b)
{
	b->v = NULL;
	b->n = 0;
	b->cap = 0;
}

/* Drops the bindings after the first n. */
static void bind_truncate(ddb_expr_bindings *b, size_t n)
{
	while (b->n > n) {
		b->n--;
		free(b->v[b->n].name);
		json_decref(b->v[b->n].value);
	}
}

void ddb_expr_bindings_free(ddb_expr_bindings *b)
{
	if (b == NULL)
		return;
	bind_truncate(b, 0);
	free(b->v);
	ddb_expr_bindings_init(b);
}

const json_t *ddb_expr_bindings_get(const ddb_expr_bindings *b, const char *name)
{
	size_t i;

	for (i = 0; b != NULL && i < b->n; i++)
		if (strcmp(b->v[i].name, name) == 0)
			return b->v[i].value;
	return NULL;
}

static int bind_push(ddb_expr_bindings *b, const char *name, json_t *value)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		ddb_expr_binding *v = realloc(b->v, cap * sizeof(*v));
		if (v == NULL)
			return BG_ENOMEM;
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n].name = dup_bytes(name, strlen(name));
	if (b->v[b->n].name == NULL)
		return BG_ENOMEM;
	b->v[b->n].value = json_incref(value);
	b->n++;
	return 0;
}

/* ---- matching ---- */

struct match {
	const json_t *t_fixed, *r_values;
	ddb_expr_bindings *b;
	unsigned long steps;
	bool exhausted;
	int err;
	/* The difference finder only: */
	const char *what; /* "filter" */
	bg_err *e;
	bool reported;
	unsigned quiet; /* > 0: trying a pairing, report nothing */
};

enum vcheck { V_OK, V_UNDEFINED, V_FIXED, V_TWICE, V_ERR };

/* Whether the template value placeholder tph may meet the request's rph; binds a
 * parameter on first sight. */
static enum vcheck value_check(struct match *m, const char *tph, const char *rph)
{
	json_t *rv = m->r_values != NULL ? json_object_get(m->r_values, rph) : NULL;
	const json_t *fv, *bv;

	if (rv == NULL)
		return V_UNDEFINED;
	fv = m->t_fixed != NULL ? json_object_get(m->t_fixed, tph) : NULL;
	if (fv != NULL)
		return json_equal(fv, rv) ? V_OK : V_FIXED;
	bv = ddb_expr_bindings_get(m->b, tph);
	if (bv != NULL)
		return json_equal(bv, rv) ? V_OK : V_TWICE;
	if (bind_push(m->b, tph, rv) != 0) {
		m->err = BG_ENOMEM;
		return V_ERR;
	}
	return V_OK;
}

static bool m_node(struct match *m, const struct node *t, const struct node *r);

/* Pairs ts[i..] with the unused rs (both n long) so that every pair matches. */
static bool m_perm(struct match *m, struct node *const *ts, struct node *const *rs, size_t n,
                   size_t i, unsigned char *used)
{
	size_t j;

	if (i == n)
		return true;
	for (j = 0; j < n; j++) {
		size_t save = m->b->n;
		if (used[j] || ts[i]->shape != rs[j]->shape)
			continue;
		if (m_node(m, ts[i], rs[j])) {
			used[j] = 1;
			if (m_perm(m, ts, rs, n, i + 1, used))
				return true;
			used[j] = 0;
		}
		bind_truncate(m->b, save);
		if (m->exhausted || m->err != 0)
			return false;
	}
	return false;
}

static bool m_unordered(struct match *m, struct node *const *ts, size_t nt, struct node *const *rs,
                        size_t nr)
{
	unsigned char *used;
	bool ok;

	if (nt != nr)
		return false;
	if (nt == 0)
		return true;
	used = calloc(nr, 1);
	if (used == NULL) {
		m->err = BG_ENOMEM;
		return false;
	}
	ok = m_perm(m, ts, rs, nt, 0, used);
	free(used);
	return ok;
}

static bool m_node(struct match *m, const struct node *t, const struct node *r)
{
	size_t i, from;

	if (++m->steps > BG_MAX_EXPR_MATCH_STEPS) {
		m->exhausted = true;
		return false;
	}
	if (t->type != r->type || t->op != r->op || t->shape != r->shape || t->n != r->n)
		return false;
	if (t->type == N_PATH)
		return path_eq(t, r);
	if (t->type == N_VALUE)
		return value_check(m, t->ph, r->ph) == V_OK;
	from = unordered_from(t);
	for (i = 0; i < from; i++)
		if (!m_node(m, t->kid[i], r->kid[i]))
			return false;
	return m_unordered(m, t->kid + from, t->n - from, r->kid + from, r->n - from);
}

/* ---- finding the first difference ---- */

static void report(struct match *m, const char *fmt, ...) BG_PRINTF(2, 3);
static void report(struct match *m, const char *fmt, ...)
{
	char msg[sizeof(((bg_err *)0)->msg)];
	va_list ap;

	if (m->quiet > 0 || m->reported)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bg_err_set(m->e, BG_EDENIED, "%s: %s", m->what, msg);
	m->reported = true;
}

static unsigned d_node(struct match *m, const struct node *t, const struct node *r);

/* The word for an operand of n in messages. */
static const char *item_word(const struct node *n)
{
	switch (n->type) {
	case N_IN:
		return "IN operand";
	case N_UPDATE:
		return "clause";
	case N_CLAUSE:
		return "action";
	default:
		return "condition";
	}
}

/* How well t and r might correspond, for pairing differing operands: 3 same operator and
 * same first operand, 2 same kind of node and first operand, 1 same kind, 0 none. */
static int affinity(const struct node *t, const struct node *r)
{
	bool first;

	if (t->type != r->type || (t->type == N_CLAUSE && t->op != r->op))
		return 0;
	first = t->n > 0 && r->n > 0 && t->kid[0]->type == N_PATH && r->kid[0]->type == N_PATH &&
	        path_eq(t->kid[0], r->kid[0]);
	if (t->type == N_PATH || t->type == N_VALUE)
		return 1;
	if (first)
		return t->op == r->op ? 3 : 2;
	return 1;
}

/* Pairs the unordered operands of tp and rp: first those that match outright, then by
 * affinity; the rest are missing or extra. Returns the distance. */
static unsigned d_unordered(struct match *m, const struct node *tp, struct node *const *ts,
                            size_t nt, struct node *const *rs, size_t nr)
{
	unsigned char *ut = calloc(nt + 1, 1), *ur = calloc(nr + 1, 1);
	unsigned d = 0;
	size_t i, j;
	int level;
	char a[72];

	if (ut == NULL || ur == NULL) {
		m->err = BG_ENOMEM;
		free(ut);
		free(ur);
		return 1;
	}
	for (i = 0; i < nt; i++)
		for (j = 0; j < nr; j++) {
			size_t save = m->b->n;
			unsigned dd;
			if (ur[j] || ts[i]->shape != rs[j]->shape)
				continue;
			m->quiet++;
			dd = d_node(m, ts[i], rs[j]);
			m->quiet--;
			if (dd == 0) {
				ut[i] = ur[j] = 1;
				break;
			}
			bind_truncate(m->b, save);
		}
	for (level = 3; level >= 1; level--)
		for (i = 0; i < nt; i++)
			for (j = 0; j < nr && !ut[i]; j++)
				if (!ur[j] && affinity(ts[i], rs[j]) >= level) {
					ut[i] = ur[j] = 1;
					d += d_node(m, ts[i], rs[j]);
				}
	for (i = 0; i < nt; i++)
		if (!ut[i]) {
			report(m, "the request lacks the runbook's %s '%s'", item_word(tp),
			       describe(ts[i], a, sizeof(a)));
			d += ts[i]->size;
		}
	for (j = 0; j < nr; j++)
		if (!ur[j]) {
			report(m, "the request adds the %s '%s', which the runbook does not have",
			       item_word(tp), describe(rs[j], a, sizeof(a)));
			d += rs[j]->size;
		}
	free(ut);
	free(ur);
	return d;
}

/* A rough count of the nodes in which r differs from t; reports the first difference. */
static unsigned d_node(struct match *m, const struct node *t, const struct node *r)
{
	char a[72], b[72];
	unsigned d = 0;
	size_t i, from;

	if (++m->steps > BG_MAX_EXPR_MATCH_STEPS) {
		m->exhausted = true;
		return 1;
	}
	/* A lone operand against a list of them (a term dropped or added). */
	if ((t->type == N_AND || t->type == N_OR) && r->type != t->type) {
		struct node *one = (struct node *)r;
		return d_unordered(m, t, t->kid, t->n, &one, 1);
	}
	if ((r->type == N_AND || r->type == N_OR) && r->type != t->type) {
		struct node *one = (struct node *)t;
		return d_unordered(m, r, &one, 1, r->kid, r->n);
	}
	if (t->type != r->type || (t->type == N_FUNC && t->op != r->op && t->n != r->n) ||
	    (t->type == N_CLAUSE && t->op != r->op)) {
		report(m, "'%s' where the runbook has '%s'", describe(r, a, sizeof(a)),
		       describe(t, b, sizeof(b)));
		return t->size > r->size ? t->size : r->size;
	}
	switch (t->type) {
	case N_PATH:
		if (path_eq(t, r))
			return 0;
		report(m, "attribute '%s' where the runbook has '%s'", describe(r, a, sizeof(a)),
		       describe(t, b, sizeof(b)));
		return 1;
	case N_VALUE:
		switch (value_check(m, t->ph, r->ph)) {
		case V_OK:
			return 0;
		case V_UNDEFINED:
			report(m, "%s is used but not defined in ExpressionAttributeValues",
			       describe(r, a, sizeof(a)));
			return 1;
		case V_FIXED:
			report(m, "the value of %s differs from the runbook's fixed value for %s",
			       describe(r, a, sizeof(a)), t->ph);
			return 1;
		case V_TWICE:
			report(m, "the runbook's parameter %s is given two different values",
			       t->ph);
			return 1;
		default:
			return 1;
		}
	case N_CMP:
		if (t->op != r->op) {
			report(m, "comparator '%s' where the runbook has '%s'", cmp_text[r->op],
			       cmp_text[t->op]);
			d = 1;
		}
		break;
	case N_FUNC:
		if (t->op != r->op) {
			report(m, "function '%s' where the runbook has '%s'", funcs[r->op].name,
			       funcs[t->op].name);
			d = 1;
		}
		break;
	case N_ARITH:
		if (t->op != r->op) {
			report(m, "'%s' where the runbook has '%s'", r->op == A_PLUS ? "+" : "-",
			       t->op == A_PLUS ? "+" : "-");
			d = 1;
		}
		break;
	case N_ACTION:
		if (t->op != r->op) /* not reached: actions sit in clauses of one kind */
			return t->size > r->size ? t->size : r->size;
		break;
	default:
		break;
	}
	from = unordered_from(t);
	if (from > r->n || (from == t->n && t->n != r->n)) {
		/* Ordered operands that differ in number (not reached for parsed trees). */
		report(m, "'%s' where the runbook has '%s'", describe(r, a, sizeof(a)),
		       describe(t, b, sizeof(b)));
		return d + (t->size > r->size ? t->size : r->size);
	}
	for (i = 0; i < from; i++)
		d += d_node(m, t->kid[i], r->kid[i]);
	if (from < t->n || from < r->n)
		d += d_unordered(m, t, t->kid + from, t->n - from, r->kid + from, r->n - from);
	return d;
}

/* A projection r is covered by t when each of its paths is one of t's or lies inside one. */
static int match_projection(struct match *m, const ddb_expr *t, const ddb_expr *r,
                            unsigned *distance)
{
	const struct node *tp = t->root, *rp = r->root;
	unsigned d = 0;
	size_t i, j;
	char a[72];

	for (i = 0; i < rp->n; i++) {
		const struct node *p = rp->kid[i];
		for (j = 0; j < tp->n; j++) {
			const struct node *q = tp->kid[j];
			if (q->nel <= p->nel && path_rel(q, p) == PATHS_OVERLAP)
				break;
		}
		if (j < tp->n)
			continue;
		if (d++ == 0)
			bg_err_set(m->e, BG_EDENIED,
			           "projection asks for attribute '%s' the runbook does not",
			           describe(p, a, sizeof(a)));
	}
	if (distance != NULL)
		*distance = d;
	return d == 0 ? 0 : BG_EDENIED;
}

static const char *article(const char *word)
{
	return strchr("aeiou", word[0]) != NULL ? "an" : "a";
}

int ddb_expr_match(const ddb_expr *t, const json_t *t_fixed, const ddb_expr *r,
                   const json_t *r_values, ddb_expr_bindings *b, unsigned *distance, bg_err *e)
{
	struct match m;
	const char *what;
	size_t save;
	unsigned d;

	if (distance != NULL)
		*distance = 0;
	if (t == NULL && r == NULL)
		return 0;
	if (b == NULL)
		return bg_err_set(e, BG_EINVAL, "no bindings to fill");
	what = ddb_expr_kind_name(t != NULL ? t->kind : r->kind);
	if (t != NULL && r != NULL && t->kind != r->kind)
		return bg_err_set(e, BG_EINVAL, "cannot compare a %s with a %s", what,
		                  ddb_expr_kind_name(r->kind));
	if (t == NULL || r == NULL) {
		if (distance != NULL)
			*distance = (t != NULL ? t : r)->root->size;
		if (t == NULL)
			return bg_err_set(e, BG_EDENIED, "the request has %s %s, the runbook none",
			                  article(what), what);
		if (t->kind == DDB_EXPR_PROJECTION)
			return bg_err_set(e, BG_EDENIED,
			                  "the request has no projection (it would read every "
			                  "attribute), the runbook has one");
		return bg_err_set(e, BG_EDENIED, "the runbook has %s %s, the request none",
		                  article(what), what);
	}
	memset(&m, 0, sizeof(m));
	m.t_fixed = json_is_object(t_fixed) ? t_fixed : NULL;
	m.r_values = json_is_object(r_values) ? r_values : NULL;
	m.b = b;
	m.what = what;
	m.e = e;
	if (t->kind == DDB_EXPR_PROJECTION)
		return match_projection(&m, t, r, distance);
	save = b->n;
	if (m_node(&m, t->root, r->root) && m.err == 0)
		return 0;
	bind_truncate(b, save);
	if (m.err != 0)
		return bg_err_set(e, m.err, "out of memory comparing expressions");
	if (m.exhausted) {
		if (distance != NULL)
			*distance = t->root->size > r->root->size ? t->root->size : r->root->size;
		return bg_err_set(e, BG_EDENIED, "%s: too complex to compare with the runbook's",
		                  what);
	}
	m.steps = 0;
	d = d_node(&m, t->root, r->root);
	bind_truncate(b, save);
	if (m.err != 0)
		return bg_err_set(e, m.err, "out of memory comparing expressions");
	if (m.exhausted) {
		/* The search was short enough but the report ran long: say so without detail. */
		d = d == 0 ? 1 : d;
	}
	if (!m.reported)
		bg_err_set(e, BG_EDENIED, "%s: differs from the runbook's", what);
	if (distance != NULL)
		*distance = d == 0 ? 1 : d;
	return BG_EDENIED;
}

/* ---- DynamoDB's placeholder rules for one request ---- */

/* True when some expression uses the placeholder key (a #name when names, else a :value). */
static bool used(const ddb_expr *const *xs, size_t n, const char *key, bool names)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		const struct vec *v = xs[i] == NULL ? NULL : names ? &xs[i]->names : &xs[i]->values;
		for (j = 0; v != NULL && j < v->n; j++)
			if (strcmp(v->v[j], key) == 0)
				return true;
	}
	return false;
}

/* One of a request's placeholder maps: ExpressionAttributeNames (names) or ...Values. */
static int check_map(const ddb_expr *const *xs, size_t n, const json_t *map, bool names, bg_err *e)
{
	const char *what = names ? "ExpressionAttributeNames" : "ExpressionAttributeValues", *key;
	json_t *v;
	size_t i, j;
	char buf[64];

	if (map != NULL && (!json_is_object(map) || json_object_size(map) == 0))
		return bg_err_set(e, BG_EINVAL, "%s must be a non-empty object", what);
	for (i = 0; i < n; i++) {
		const struct vec *u = xs[i] == NULL ? NULL : names ? &xs[i]->names : &xs[i]->values;
		for (j = 0; u != NULL && j < u->n; j++)
			if (map == NULL || json_object_get(map, u->v[j]) == NULL)
				return bg_err_set(
				    e, BG_EINVAL,
				    "An expression attribute %s used in %s is not defined; "
				    "attribute %s: %s",
				    names ? "name" : "value",
				    names ? "the document path" : "expression",
				    names ? "name" : "value", (const char *)u->v[j]);
	}
	if (map != NULL)
		json_object_foreach((json_t *)map, key, v)
		{
			if (!used(xs, n, key, names))
				return bg_err_set(
				    e, BG_EINVAL,
				    "Value provided in %s unused in expressions: keys: {%s}", what,
				    sanitised(buf, sizeof(buf), key, strlen(key)));
		}
	return 0;
}

int ddb_expr_check_placeholders(const ddb_expr *const *xs, size_t n, const json_t *names,
                                const json_t *values, bg_err *e)
{
	int rc = check_map(xs, n, names, true, e);

	return rc != 0 ? rc : check_map(xs, n, values, false, e);
}
