/*
 * config.c - serve settings from defaults, YAML file, environment and flags (see
 * config.h). The YAML file is a flat mapping of the keys in config.h; anything else in
 * it is an error, so a typo cannot silently leave a default in force.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/sink_syslog.h"
#include "common/buf.h"
#include "common/crypto.h"
#include "common/duration.h"
#include "common/limits.h"
#include "common/yschema.h"
#include "common/ytree.h"

typedef struct cfg_key {
	const char *key;
	const char *flag;
	const char *env;
	size_t off;
	size_t cap;
} cfg_key;

/* listen is kept as text until the end, then split into host and port. The others
 * have gw_config's sizes: cfg_finish copies them whole. */
typedef struct cfg_text {
	char listen[BG_MAX_LISTEN_HOST + sizeof(":65535")];
	char upstream[sizeof(((gw_config *)0)->upstream)];
	char data[sizeof(((gw_config *)0)->data)];
	char region[sizeof(((gw_config *)0)->region)];
	char public_url[sizeof(((gw_config *)0)->public_url)];
	char threads[16];
	char max_connections[16];
	char header_timeout[32];
	char upstream_timeout[32];
	char drain_timeout[32];
	char tls_cert[sizeof(((gw_config *)0)->tls_cert)];
	char tls_key[sizeof(((gw_config *)0)->tls_key)];
	char runbooks[sizeof(((gw_config *)0)->runbooks)];
	char policy[sizeof(((gw_config *)0)->policy)];
	char upstream_role_arn[sizeof(((gw_config *)0)->upstream_role_arn)];
	char upstream_external_id[sizeof(((gw_config *)0)->upstream_external_id)];
	char audit_every[16];        /* audit.checkpoint_every, file only */
	char audit_seconds[16];      /* audit.checkpoint_seconds, file only */
	gw_sink sinks[BG_MAX_SINKS]; /* audit.sinks, file only */
	size_t nsinks;
	char file_sha256[65]; /* of the config file's bytes as parsed; "" without one */
} cfg_text;

#define K(k, f, v, m)                                                                              \
	{                                                                                          \
		k, f, v, offsetof(cfg_text, m), sizeof(((cfg_text *)0)->m)                         \
	}
static const cfg_key keys[] = {
    K("listen", "--listen", "BREAKGLASS_LISTEN", listen),
    K("upstream", "--upstream", "BREAKGLASS_UPSTREAM", upstream),
    K("data", "--data", "BREAKGLASS_DATA", data),
    K("region", "--region", "BREAKGLASS_REGION", region),
    K("public_url", "--public-url", "BREAKGLASS_PUBLIC_URL", public_url),
    K("threads", "--threads", "BREAKGLASS_THREADS", threads),
    K("max_connections", "--max-connections", "BREAKGLASS_MAX_CONNECTIONS", max_connections),
    K("header_timeout", "--header-timeout", "BREAKGLASS_HEADER_TIMEOUT", header_timeout),
    K("upstream_timeout", "--upstream-timeout", "BREAKGLASS_UPSTREAM_TIMEOUT", upstream_timeout),
    K("drain_timeout", "--drain-timeout", "BREAKGLASS_DRAIN_TIMEOUT", drain_timeout),
    K("tls_cert", "--tls-cert", "BREAKGLASS_TLS_CERT", tls_cert),
    K("tls_key", "--tls-key", "BREAKGLASS_TLS_KEY", tls_key),
    K("runbooks", "--runbooks", "BREAKGLASS_RUNBOOKS", runbooks),
    K("policy", "--policy", "BREAKGLASS_POLICY", policy),
    K("upstream_role_arn", "--upstream-role-arn", "BREAKGLASS_UPSTREAM_ROLE_ARN",
      upstream_role_arn),
    K("upstream_external_id", "--upstream-external-id", "BREAKGLASS_UPSTREAM_EXTERNAL_ID",
      upstream_external_id),
};
#undef K
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static int cfg_set(cfg_text *t, const cfg_key *k, const char *v, const char *from, bg_err *e)
{
	size_t n = strlen(v);

	if (n == 0 || n >= k->cap)
		return bg_err_set(e, BG_EINVAL, "%s: %s must be 1 to %zu characters", from, k->key,
		                  k->cap - 1);
	memcpy((char *)t + k->off, v, n + 1);
	return 0;
}

static const cfg_key *cfg_find(const char *name, int by)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		const char *s = by == 0 ? keys[i].key : by == 1 ? keys[i].flag : keys[i].env;
		if (strcmp(s, name) == 0)
			return &keys[i];
	}
	return NULL;
}

/* Copies a scalar value into dst (cap bytes), or says which key is too long. */
static int cfg_copy(char *dst, size_t cap, const char *v, const char *key, const ys_file *f,
                    unsigned line)
{
	if (strlen(v) >= cap)
		return ys_fail(f, line, "%s is longer than %zu characters", key, cap - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* A jsonl sink's path: relative ones are taken from the config file's folder (made
 * absolute when it exists, so a later chdir changes nothing). */
static int cfg_sink_path(gw_sink *k, const char *v, const ys_file *f, unsigned line)
{
	const char *slash = strrchr(f->name, '/');
	char dir[BG_MAX_PATH], real[PATH_MAX];
	int n;

	if (v[0] == '/' || slash == NULL)
		return cfg_copy(k->path, sizeof(k->path), v, "path", f, line);
	n = snprintf(dir, sizeof(dir), "%.*s", (int)(slash - f->name), f->name);
	if (n <= 0 || (size_t)n >= sizeof(dir))
		return ys_fail(f, line, "path: the config file's folder is too long");
	n = snprintf(k->path, sizeof(k->path), "%s/%s", realpath(dir, real) ? real : dir, v);
	if (n < 0 || (size_t)n >= sizeof(k->path))
		return ys_fail(f, line, "path is longer than %zu characters", sizeof(k->path) - 1);
	return 0;
}

/* A log group's or stream's name as CloudWatch Logs takes it: a group of
 * [A-Za-z0-9._/#-], a stream of anything but ':' and '*' (control characters neither). */
static bool cfg_cw_name(const char *s, bool group)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (group ? !(isalnum(c) || strchr("._/#-", c) != NULL)
		          : (c < 0x20 || c == 0x7f || c == ':' || c == '*'))
			return false;
	}
	return true;
}

/* One entry of audit.sinks. */
static int cfg_sink(gw_sink *k, const ytree_node *m, const ys_file *f)
{
	static const char *const known[] = {"type",     "required",  "path",       "max_bytes",
	                                    "address",  "log_group", "log_stream", "region",
	                                    "endpoint", NULL};
	const ytree_node *type = ytree_get(m, "type"), *req = ytree_get(m, "required"), *v;
	const char *t = NULL;
	sink_syslog_addr sa;
	bg_err why;
	size_t i;
	int rc;

	if (m->kind != YTREE_MAP)
		return ys_fail(f, m->line,
		               "each of audit.sinks must be a mapping like "
		               "{type: jsonl, path: audit.jsonl, required: true}");
	rc = ys_check_keys(f, m, "an audit sink", known);
	if (rc != 0)
		return rc;
	if (type == NULL)
		return ys_fail(f, m->line,
		               "an audit sink needs a type: jsonl, syslog or cloudwatch");
	rc = ys_at(f, type->line, ys_text(type, "type", &t, &why), &why);
	if (rc != 0)
		return rc;
	if (strcmp(t, "jsonl") == 0)
		k->type = SINK_JSONL;
	else if (strcmp(t, "syslog") == 0)
		k->type = SINK_SYSLOG;
	else if (strcmp(t, "cloudwatch") == 0)
		k->type = SINK_CLOUDWATCH;
	else
		return ys_fail(f, type->line,
		               "unknown audit sink type '%.20s' (jsonl, syslog or cloudwatch)", t);
	if (req == NULL)
		return ys_fail(f, m->line,
		               "an audit sink must say required: true (requests are refused when "
		               "it cannot take records) or required: false (it keeps a backlog)");
	rc = ys_at(f, req->line, ys_bool(req, "required", &k->required, &why), &why);
	for (i = 0; rc == 0 && i < ytree_map_size(m); i++) {
		const char *key = ytree_map_key(m, i)->text, *text = NULL;
		bool jsonl = strcmp(key, "path") == 0 || strcmp(key, "max_bytes") == 0;
		bool syslog = strcmp(key, "address") == 0;
		bool cw =
		    !jsonl && !syslog && strcmp(key, "type") != 0 && strcmp(key, "required") != 0;

		v = ytree_map_value(m, i);
		if ((jsonl && k->type != SINK_JSONL) || (syslog && k->type != SINK_SYSLOG) ||
		    (cw && k->type != SINK_CLOUDWATCH))
			return ys_fail(f, v->line, "%s is not a setting of a %s sink", key, t);
		if (strcmp(key, "max_bytes") == 0) {
			rc = ys_at(f, v->line,
			           ys_int(v, key, BG_SINK_MIN_ROTATE_BYTES, INT64_MAX,
			                  &k->max_bytes, &why),
			           &why);
			continue;
		}
		if (!jsonl && !syslog && !cw)
			continue; /* type, required: read above */
		rc = ys_at(f, v->line, ys_text(v, key, &text, &why), &why);
		if (rc != 0)
			break;
		if (strcmp(key, "path") == 0)
			rc = cfg_sink_path(k, text, f, v->line);
		else if (syslog)
			rc = sink_syslog_parse_address(text, strlen(text), &sa, &why) != 0
			         ? ys_fail(f, v->line, "%s", why.msg)
			         : cfg_copy(k->address, sizeof(k->address), text, key, f, v->line);
		else if (strcmp(key, "log_group") == 0)
			rc = !cfg_cw_name(text, true)
			         ? ys_fail(f, v->line,
			                   "log_group may hold letters, digits and ._/#-")
			         : cfg_copy(k->log_group, sizeof(k->log_group), text, key, f,
			                    v->line);
		else if (strcmp(key, "log_stream") == 0)
			rc = !cfg_cw_name(text, false)
			         ? ys_fail(f, v->line,
			                   "log_stream may not hold ':', '*' or control "
			                   "characters")
			         : cfg_copy(k->log_stream, sizeof(k->log_stream), text, key, f,
			                    v->line);
		else if (strcmp(key, "region") == 0)
			rc = cfg_copy(k->region, sizeof(k->region), text, key, f, v->line);
		else
			rc = cfg_copy(k->endpoint, sizeof(k->endpoint), text, key, f, v->line);
	}
	if (rc != 0)
		return rc;
	if (k->type == SINK_JSONL && k->path[0] == '\0')
		return ys_fail(f, m->line, "a jsonl sink needs a path");
	if (k->type == SINK_SYSLOG && k->address[0] == '\0')
		return ys_fail(f, m->line,
		               "a syslog sink needs an address such as "
		               "tcp://127.0.0.1:514, udp://HOST:PORT, unix:/dev/log or "
		               "relp://HOST:PORT");
	if (k->type == SINK_CLOUDWATCH && (k->log_group[0] == '\0' || k->log_stream[0] == '\0'))
		return ys_fail(f, m->line, "a cloudwatch sink needs a log_group and a log_stream");
	/* A datagram is sent, never answered: it cannot hold requests back honestly. */
	if (k->type == SINK_SYSLOG && k->required &&
	    sink_syslog_parse_address(k->address, strlen(k->address), &sa, &why) == 0 &&
	    (sa.proto == SINK_SYSLOG_UDP || sa.proto == SINK_SYSLOG_UNIX))
		return ys_fail(f, m->line,
		               "a %s syslog sink cannot be required: nothing says a datagram "
		               "arrived; use relp:// (acknowledged) or tcp://, or required: false",
		               sa.proto == SINK_SYSLOG_UDP ? "udp://" : "unix:");
	return 0;
}

/* audit.sinks: a list of sinks, none twice. */
static int cfg_sinks(cfg_text *t, const ytree_node *l, const ys_file *f)
{
	size_t i, j;
	int rc;

	if (l->kind != YTREE_SEQ)
		return ys_fail(f, l->line, "audit.sinks must be a list");
	if (l->n > BG_MAX_SINKS)
		return ys_fail(f, l->line, "audit.sinks holds at most %d sinks", BG_MAX_SINKS);
	for (i = 0; i < l->n; i++) {
		gw_sink *k = &t->sinks[i];

		memset(k, 0, sizeof(*k));
		rc = cfg_sink(k, l->kids[i], f);
		if (rc != 0)
			return rc;
		for (j = 0; j < i; j++)
			if (t->sinks[j].type == k->type && strcmp(t->sinks[j].path, k->path) == 0 &&
			    strcmp(t->sinks[j].address, k->address) == 0 &&
			    strcmp(t->sinks[j].log_group, k->log_group) == 0 &&
			    strcmp(t->sinks[j].log_stream, k->log_stream) == 0)
				return ys_fail(f, l->kids[i]->line,
				               "this audit sink is listed twice");
	}
	t->nsinks = l->n;
	return 0;
}

/* The `audit:` mapping of the file (config.h). */
static int cfg_audit(cfg_text *t, const ytree_node *m, const char *path, bg_err *e)
{
	ys_file f = {path, e};
	size_t i;

	if (m->kind != YTREE_MAP)
		return bg_err_set(e, BG_EINVAL, "%s:%u: audit must be a mapping", path, m->line);
	for (i = 0; i < ytree_map_size(m); i++) {
		const ytree_node *k = ytree_map_key(m, i), *v = ytree_map_value(m, i);
		char *dst;

		if (strcmp(k->text, "sinks") == 0) {
			int rc = cfg_sinks(t, v, &f);
			if (rc != 0)
				return rc;
			continue;
		}
		if (strcmp(k->text, "checkpoint_every") == 0)
			dst = t->audit_every;
		else if (strcmp(k->text, "checkpoint_seconds") == 0)
			dst = t->audit_seconds;
		else
			return bg_err_set(e, BG_EINVAL, "%s:%u: unknown setting 'audit.%.40s'",
			                  path, k->line, k->text);
		if (v->kind != YTREE_SCALAR || strlen(v->text) >= sizeof(t->audit_every))
			return bg_err_set(e, BG_EINVAL, "%s:%u: audit.%s must be a number", path,
			                  v->line, k->text);
		memcpy(dst, v->text, strlen(v->text) + 1);
	}
	return 0;
}

/* Reads the YAML text (a flat mapping of settings) into t; path names it in messages. */
static int cfg_yaml(cfg_text *t, const char *text, size_t len, const char *path, bg_err *e)
{
	const ytree_node *root, *k, *v;
	ytree *y = NULL;
	size_t i;
	int rc = ytree_parse(text, len, path, &y, e);

	if (rc != 0)
		return rc;
	root = ytree_root(y);
	if (root->kind != YTREE_MAP)
		rc = bg_err_set(e, BG_EINVAL, "%s: expected a mapping of settings", path);
	for (i = 0; rc == 0 && i < ytree_map_size(root); i++) {
		k = ytree_map_key(root, i);
		v = ytree_map_value(root, i);
		if (strcmp(k->text, "audit") == 0)
			rc = cfg_audit(t, v, path, e);
		else if (cfg_find(k->text, 0) == NULL)
			rc = bg_err_set(e, BG_EINVAL, "%s:%u: unknown setting '%.40s'", path,
			                k->line, k->text);
		else if (v->kind != YTREE_SCALAR)
			rc = bg_err_set(e, BG_EINVAL, "%s:%u: %s must be a single value, not %s",
			                path, v->line, k->text, ytree_kind_name(v->kind));
		else
			rc = cfg_set(t, cfg_find(k->text, 0), v->text, path, e);
	}
	ytree_free(y);
	return rc;
}

static int cfg_file(cfg_text *t, const char *path, bg_err *e)
{
	FILE *f = fopen(path, "rb");
	char *text;
	size_t n;
	struct stat st;
	int rc;

	if (f == NULL)
		return bg_err_set(e, BG_EINVAL, "cannot open config file %s: %s", path,
		                  strerror(errno));
	if (fstat(fileno(f), &st) != 0 || (size_t)st.st_size > BG_MAX_CONFIG_FILE) {
		fclose(f);
		return bg_err_set(e, BG_EINVAL, "config file %s is larger than %u bytes", path,
		                  BG_MAX_CONFIG_FILE);
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		fclose(f);
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	}
	n = fread(text, 1, (size_t)st.st_size, f);
	if (!ferror(f)) {
		uint8_t h[32];

		bg_sha256(text, n, h);
		bg_hex(h, sizeof(h), t->file_sha256);
	}
	rc = ferror(f) ? bg_err_set(e, BG_EINVAL, "cannot read config file %s", path)
	               : cfg_yaml(t, text, n, path, e);
	fclose(f);
	free(text);
	return rc;
}

static void cfg_defaults(cfg_text *t)
{
	const char *r = getenv("AWS_REGION");

	memset(t, 0, sizeof(*t));
	snprintf(t->listen, sizeof(t->listen), "127.0.0.1:8700");
	snprintf(t->data, sizeof(t->data), "breakglass-data");
	if (r == NULL || *r == '\0')
		r = getenv("AWS_DEFAULT_REGION");
	snprintf(t->region, sizeof(t->region), "%s", r && *r ? r : "us-east-1");
}

static int cfg_count(const char *s, const char *key, long max, unsigned *out, bg_err *e)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < 1 || v > max)
		return bg_err_set(e, BG_EINVAL, "%s must be a number from 1 to %ld, got '%s'", key,
		                  max, s);
	*out = (unsigned)v;
	return 0;
}

/* A timeout setting: a duration of at most BG_MAX_TIMEOUT_MS, named in the error. */
static int cfg_timeout(const char *s, const char *key, int64_t *out, bg_err *e)
{
	bg_err why;
	int rc = bg_duration_parse_ms(s, BG_MAX_TIMEOUT_MS, out, &why);

	return rc == 0 ? 0 : bg_err_set(e, rc, "%s: %s", key, why.msg);
}

/* Fills c's tuning settings (defaults from limits.h when not given). */
static int cfg_tuning(gw_config *c, const cfg_text *t, bg_err *e)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int rc = 0;

	c->threads = cores < 1 ? 1 : cores > BG_MAX_THREADS ? BG_MAX_THREADS : (unsigned)cores;
	c->max_connections = BG_MAX_CONNECTIONS;
	c->header_timeout_ms = BG_HTTP_HEADER_TIMEOUT_MS;
	c->upstream_timeout_ms = BG_UPSTREAM_TIMEOUT_MS;
	c->drain_timeout_ms = BG_DRAIN_TIMEOUT_MS;
	if (t->threads[0])
		rc = cfg_count(t->threads, "threads", BG_MAX_THREADS, &c->threads, e);
	if (rc == 0 && t->max_connections[0])
		rc = cfg_count(t->max_connections, "max_connections", BG_MAX_CONNECTIONS_LIMIT,
		               &c->max_connections, e);
	if (rc == 0 && t->header_timeout[0])
		rc = cfg_timeout(t->header_timeout, "header_timeout", &c->header_timeout_ms, e);
	if (rc == 0 && t->upstream_timeout[0])
		rc = cfg_timeout(t->upstream_timeout, "upstream_timeout", &c->upstream_timeout_ms,
		                 e);
	if (rc == 0 && t->drain_timeout[0])
		rc = cfg_timeout(t->drain_timeout, "drain_timeout", &c->drain_timeout_ms, e);
	c->audit_checkpoint_every = BG_AUDIT_CHECKPOINT_EVERY;
	c->audit_checkpoint_ms = BG_AUDIT_CHECKPOINT_MS;
	if (rc == 0 && t->audit_every[0]) {
		unsigned n;
		rc = cfg_count(t->audit_every, "audit.checkpoint_every",
		               BG_AUDIT_CHECKPOINT_EVERY_MAX, &n, e);
		c->audit_checkpoint_every = n;
	}
	if (rc == 0 && t->audit_seconds[0]) {
		unsigned n;
		rc = cfg_count(t->audit_seconds, "audit.checkpoint_seconds",
		               BG_AUDIT_CHECKPOINT_SECONDS_MAX, &n, e);
		c->audit_checkpoint_ms = (int64_t)n * 1000;
	}
	return rc;
}

/* Fills c from t once every source has been applied. */
static int cfg_finish(gw_config *c, cfg_text *t, bg_err *e)
{
	int rc = gw_config_parse_listen(t->listen, c->listen_host, sizeof(c->listen_host),
	                                &c->listen_port, e);

	if (rc == 0)
		rc = cfg_tuning(c, t, e);
	if (rc)
		return rc;
	if (t->upstream[0] == '\0')
		snprintf(t->upstream, sizeof(t->upstream), "https://dynamodb.%s.amazonaws.com",
		         t->region);
	if (strncmp(t->upstream, "http://", 7) != 0 && strncmp(t->upstream, "https://", 8) != 0)
		return bg_err_set(e, BG_EINVAL, "upstream must be an http:// or https:// URL");
	memcpy(c->upstream, t->upstream, sizeof(c->upstream));
	memcpy(c->data, t->data, sizeof(c->data));
	memcpy(c->region, t->region, sizeof(c->region));
	memcpy(c->public_url, t->public_url, sizeof(c->public_url));
	memcpy(c->tls_cert, t->tls_cert, sizeof(c->tls_cert));
	memcpy(c->tls_key, t->tls_key, sizeof(c->tls_key));
	memcpy(c->runbooks, t->runbooks, sizeof(c->runbooks));
	memcpy(c->policy, t->policy, sizeof(c->policy));
	memcpy(c->upstream_role_arn, t->upstream_role_arn, sizeof(c->upstream_role_arn));
	memcpy(c->upstream_external_id, t->upstream_external_id, sizeof(c->upstream_external_id));
	memcpy(c->sinks, t->sinks, sizeof(c->sinks));
	c->nsinks = t->nsinks;
	memcpy(c->config_sha256, t->file_sha256, sizeof(c->config_sha256));
	if (c->upstream_role_arn[0] && strncmp(c->upstream_role_arn, "arn:", 4) != 0)
		return bg_err_set(e, BG_EINVAL, "upstream_role_arn must be a role ARN (arn:...)");
	if (c->upstream_external_id[0] && c->upstream_role_arn[0] == '\0')
		return bg_err_set(e, BG_EINVAL, "upstream_external_id needs upstream_role_arn");
	if ((c->tls_cert[0] == '\0') != (c->tls_key[0] == '\0'))
		return bg_err_set(e, BG_EINVAL, "tls_cert and tls_key go together");
	/* Grant credentials and API tokens cross this listener: in clear text only on the
	 * machine itself. */
	if (c->tls_cert[0] == '\0' && !gw_config_is_loopback(c->listen_host))
		return bg_err_set(e, BG_EINVAL,
		                  "listening on %s needs TLS (--tls-cert and --tls-key); plain "
		                  "HTTP is served on loopback addresses only",
		                  c->listen_host);
	return 0;
}

bool gw_config_is_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0;
}

int gw_config_parse(gw_config *c, const char *yaml, size_t len, bg_err *e)
{
	cfg_text t;
	int rc;

	memset(c, 0, sizeof(*c));
	cfg_defaults(&t);
	if (len > BG_MAX_CONFIG_FILE)
		return bg_err_set(e, BG_EINVAL, "config is larger than %u bytes",
		                  BG_MAX_CONFIG_FILE);
	rc = cfg_yaml(&t, yaml, len, "config", e);
	return rc ? rc : cfg_finish(c, &t, e);
}

int gw_config_parse_listen(const char *s, char *host, size_t cap, uint16_t *port, bg_err *e)
{
	const char *colon = strrchr(s, ':');
	char *end = NULL;
	long v;

	if (colon == NULL || colon == s || (size_t)(colon - s) >= cap)
		return bg_err_set(e, BG_EINVAL, "listen address must be ADDR:PORT, got '%s'", s);
	errno = 0;
	v = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end != '\0' || v < 0 || v > 65535)
		return bg_err_set(e, BG_EINVAL, "invalid port in '%s'", s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	*port = (uint16_t)v;
	return 0;
}

const char *gw_config_flag(size_t i)
{
	return i < NKEYS ? keys[i].flag + 2 : NULL;
}

int gw_config_load(gw_config *c, const char *file, const gw_config_arg *args, size_t n, bg_err *e)
{
	cfg_text t;
	size_t i;
	int rc;

	memset(c, 0, sizeof(*c));
	cfg_defaults(&t);
	if (file == NULL)
		file = getenv("BREAKGLASS_CONFIG");
	if (file != NULL && *file != '\0') {
		rc = cfg_file(&t, file, e);
		if (rc)
			return rc;
		snprintf(c->config_file, sizeof(c->config_file), "%s", file);
	}
	for (i = 0; i < NKEYS; i++) {
		const char *v = getenv(keys[i].env);
		if (v && *v) {
			rc = cfg_set(&t, &keys[i], v, keys[i].env, e);
			if (rc)
				return rc;
		}
	}
	for (i = 0; i < n; i++) {
		if (args[i].key >= NKEYS)
			return bg_err_set(e, BG_EINVAL, "unknown setting");
		rc = cfg_set(&t, &keys[args[i].key], args[i].value, keys[args[i].key].flag, e);
		if (rc)
			return rc;
	}
	return cfg_finish(c, &t, e);
}
