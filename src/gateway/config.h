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
 *   (file)     --config      BREAKGLASS_CONFIG      none
 */
#ifndef BG_CONFIG_H
#define BG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"

typedef struct gw_config {
	char listen_host[BG_MAX_LISTEN_HOST + 1];
	uint16_t listen_port;
	char upstream[BG_MAX_URL + 1];
	char data[BG_MAX_DATA_DIR + 1];
	char region[BG_SIGV4_MAX_SCOPE_PART + 1]; /* it is a SigV4 scope part */
	char public_url[BG_MAX_URL + 1];
	bool json; /* --json: print the start-up line as JSON */
} gw_config;

/* Fills c from defaults, the config file, the environment and argv (argv[0] is the
 * subcommand). Returns 0, or BG_EINVAL with a message for a usage error. */
int gw_config_load(gw_config *c, int argc, char **argv, bg_err *e) BG_MUST_CHECK;

/* Fills c from defaults and the YAML text alone (len bytes): the config-file parser, also
 * its fuzz target. */
int gw_config_parse(gw_config *c, const char *yaml, size_t len, bg_err *e) BG_MUST_CHECK;

/* Parses "ADDR:PORT" (ADDR an IPv4 address or "localhost"). */
int gw_config_parse_listen(const char *s, char *host, size_t cap, uint16_t *port,
                           bg_err *e) BG_MUST_CHECK;

#endif
