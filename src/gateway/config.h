/*
 * config.h - `breakglass serve` settings: defaults, then a YAML config file, then
 * BREAKGLASS_* environment variables, then command-line flags (flags win).
 *
 * Every setting has all four spellings so an operator can run the gateway from a unit
 * file, a container environment or a shell with equal ease:
 *
 *   key        flag          environment            default
 *   listen     --listen      BREAKGLASS_LISTEN      127.0.0.1:8700
 *   upstream   --upstream    BREAKGLASS_UPSTREAM    https://dynamodb.REGION.amazonaws.com
 *   data       --data        BREAKGLASS_DATA        ./breakglass-data
 *   region     --region      BREAKGLASS_REGION      AWS_REGION, AWS_DEFAULT_REGION, us-east-1
 *   public_url --public-url  BREAKGLASS_PUBLIC_URL  http://LISTEN
 *   threads    --threads     BREAKGLASS_THREADS     the number of cores (event loops)
 *   max_connections  --max-connections  BREAKGLASS_MAX_CONNECTIONS  1024
 *   header_timeout   --header-timeout   BREAKGLASS_HEADER_TIMEOUT   10s
 *   upstream_timeout --upstream-timeout BREAKGLASS_UPSTREAM_TIMEOUT 30s
 *   drain_timeout    --drain-timeout    BREAKGLASS_DRAIN_TIMEOUT    10s
 *   tls_cert   --tls-cert    BREAKGLASS_TLS_CERT    none (PEM chain; required off loopback)
 *   tls_key    --tls-key     BREAKGLASS_TLS_KEY     none (PEM key, mode 0600)
 *   runbooks   --runbooks    BREAKGLASS_RUNBOOKS    none (the runbook folder)
 *   policy     --policy      BREAKGLASS_POLICY      none (trigger criteria, approval,
 *              alert webhooks' secrets, notifications: docs/policy.md)
 *   upstream_role_arn    --upstream-role-arn    BREAKGLASS_UPSTREAM_ROLE_ARN    none
 *   upstream_external_id --upstream-external-id BREAKGLASS_UPSTREAM_EXTERNAL_ID none
 *              (a break-glass role the gateway assumes with the standard credential chain's
 *              credentials, and its ExternalId)
 *   (file)     --config      BREAKGLASS_CONFIG      none
 *
 * The file alone may also hold an `audit:` mapping (docs/audit.md):
 *
 *   audit:
 *     checkpoint_every: 1000   records between two signed checkpoints (1 to 1000000)
 *     checkpoint_seconds: 10   longest wait for a checkpoint while records are uncovered
 *     sinks:                   copies of the trail outside the store (audit/sink.h):
 *       - {type: jsonl, path: audit/audit.jsonl, max_bytes: 104857600, required: true}
 *       - {type: syslog, address: "tcp://127.0.0.1:5514", required: false}
 *       - {type: cloudwatch, log_group: G, log_stream: S, region: R, required: false}
 *   Relative paths are taken from the config file's folder; `required` must be said.
 *
 * Durations take a unit: 500ms, 10s, 2m.
 */
#ifndef BG_CONFIG_H
#define BG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "audit/sink.h"
#include "common/err.h"
#include "common/limits.h"

/* One entry of audit.sinks (docs/audit.md); sink_conf is built from it at start. */
typedef struct gw_sink {
	sink_type type;
	bool required;
	char path[BG_MAX_PATH];       /* jsonl: absolute, or relative to the working folder when
	                                 the YAML came without a file (gw_config_parse) */
	int64_t max_bytes;            /* jsonl: 0: never rotate */
	char address[BG_MAX_URL + 1]; /* syslog */
	char log_group[BG_CW_MAX_LOG_GROUP + 1];   /* cloudwatch */
	char log_stream[BG_CW_MAX_LOG_STREAM + 1]; /* cloudwatch */
	char region[BG_SIGV4_MAX_SCOPE_PART + 1];  /* cloudwatch; empty: the gateway's */
	char endpoint[BG_MAX_URL + 1];             /* cloudwatch; empty: AWS's */
} gw_sink;

typedef struct gw_config {
	char listen_host[BG_MAX_LISTEN_HOST + 1];
	uint16_t listen_port;
	char upstream[BG_MAX_URL + 1];
	char data[BG_MAX_DATA_DIR + 1];
	char region[BG_SIGV4_MAX_SCOPE_PART + 1]; /* it is a SigV4 scope part */
	char public_url[BG_MAX_URL + 1];
	unsigned threads;            /* event loops */
	unsigned max_connections;    /* open client connections */
	int64_t header_timeout_ms;   /* a request's headers must arrive within this */
	int64_t upstream_timeout_ms; /* a DynamoDB call must answer within this */
	int64_t drain_timeout_ms;    /* SIGTERM: in-flight requests get this long */
	char tls_cert[BG_MAX_PATH];  /* empty: plain HTTP (loopback only) */
	char tls_key[BG_MAX_PATH];
	char runbooks[BG_MAX_PATH]; /* the runbook folder; empty: none */
	char policy[BG_MAX_PATH];   /* the policy file; empty: none (defaults, no webhooks) */
	bool json;                  /* --json: print the start-up line as JSON */
	/* A break-glass role to assume with the chain's credentials; empty: none. */
	char upstream_role_arn[BG_MAX_ROLE_ARN + 1];
	char upstream_external_id[BG_MAX_EXTERNAL_ID + 1];
	int64_t audit_checkpoint_every; /* records between signed checkpoints */
	int64_t audit_checkpoint_ms;    /* longest wait for one */
	char config_file[BG_MAX_PATH];  /* the --config file read; empty: none */
	char config_sha256[65];         /* of its bytes as parsed; empty: none */
	gw_sink sinks[BG_MAX_SINKS];    /* audit.sinks, in the file's order */
	size_t nsinks;
} gw_config;

/* One setting from the command line: the key whose flag is gw_config_flag(key), and its
 * value. */
typedef struct gw_config_arg {
	size_t key;
	const char *value;
} gw_config_arg;

/* The command-line flag of the i-th setting, without the leading "--" ("listen",
 * "tls-cert"); NULL past the last. The CLI builds `serve`'s options from these. */
const char *gw_config_flag(size_t i);

/* Fills c from defaults, the config file (file, or $BREAKGLASS_CONFIG when file is
 * NULL), the environment and then the n command-line settings in args, later ones
 * winning. Returns 0, or BG_EINVAL with a message naming the setting and where it came
 * from. */
int gw_config_load(gw_config *c, const char *file, const gw_config_arg *args, size_t n,
                   bg_err *e) BG_MUST_CHECK;

/* Fills c from defaults and the YAML text alone (len bytes): the config-file parser, also
 * its fuzz target. */
int gw_config_parse(gw_config *c, const char *yaml, size_t len, bg_err *e) BG_MUST_CHECK;

/* True for "localhost" and 127.0.0.0/8. */
bool gw_config_is_loopback(const char *host);

/* Parses "ADDR:PORT" (ADDR an IPv4 address or "localhost"). */
int gw_config_parse_listen(const char *s, char *host, size_t cap, uint16_t *port,
                           bg_err *e) BG_MUST_CHECK;

#endif
