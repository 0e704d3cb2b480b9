/*
 * url.h - a request-target as the JSON API reads it: the path and the query arguments,
 * percent-decoded into fixed buffers.
 *
 * The DynamoDB endpoint never decodes its target (SigV4 signs the raw bytes, and only
 * "/" is served); the API routes on the decoded path and reads a few arguments
 * ("?after=12&limit=50"). Input is bounded (BG_MAX_API_PATH, BG_MAX_API_QUERY,
 * BG_MAX_API_ARGS); a NUL byte, a broken %-escape or anything over a limit is refused.
 */
#ifndef BG_NET_URL_H
#define BG_NET_URL_H

#include <stddef.h>

#include "common/err.h"
#include "common/limits.h"

typedef struct net_url {
	char path[BG_MAX_API_PATH];  /* decoded path, NUL-terminated */
	char args[BG_MAX_API_QUERY]; /* decoded "name\0value\0..." */
	const char *argv[2 * BG_MAX_API_ARGS];
	size_t nargs;
} net_url;

/* Parses the n bytes of target ("/path?a=1&b=x%20y") into *out. In the query, '+' is a
 * space (form encoding); in the path it is itself. Returns 0 or BG_EINVAL. */
int net_url_parse(const char *target, size_t n, net_url *out, bg_err *e) BG_MUST_CHECK;

/* The decoded value of the first argument called name, or NULL. */
const char *net_url_arg(const net_url *u, const char *name);

#endif
