/*
 * err.h - error codes and the message kept beside them.
 *
 * Fallible functions return 0 or a negative BG_E* code and, when given a bg_err, leave a
 * human-readable reason in it. The caller decides what reaches the user; messages never
 * contain secrets (callers must not format key material into them).
 */
#ifndef BG_ERR_H
#define BG_ERR_H

#include <stddef.h>

#define BG_MUST_CHECK   __attribute__((warn_unused_result))
#define BG_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum {
	BG_OK = 0,
	BG_EINVAL = -1,     /* malformed input */
	BG_ENOMEM = -2,     /* allocation failed */
	BG_EIO = -3,        /* storage or system call failed */
	BG_ENOTFOUND = -4,  /* no such object */
	BG_EDENIED = -5,    /* refused by policy */
	BG_ELIMIT = -6,     /* a limit from limits.h was exceeded */
	BG_EAUTH = -7,      /* authentication failed */
	BG_EEXPIRED = -8,   /* credentials or request outside their time window */
	BG_EEXISTS = -9,    /* object already exists */
	BG_EUPSTREAM = -10, /* upstream unreachable or failed */
	BG_EAUDIT = -11,    /* the audit log could not record an action, so it was not done */
	BG_EOTP = -12       /* a TOTP step-up code is missing or malformed (a wrong or reused
	                       one is BG_EAUTH) */
};

typedef struct bg_err {
	int code;
	char msg[256];
} bg_err;

/* Records code and a formatted message in e (which may be NULL); returns code so callers
 * can write `return bg_err_set(e, BG_EINVAL, "...")`. */
int bg_err_set(bg_err *e, int code, const char *fmt, ...) BG_PRINTF(3, 4);

/* Clears e to BG_OK with an empty message. */
void bg_err_clear(bg_err *e);

/* A short constant name for a code ("invalid", "denied", ...). */
const char *bg_err_name(int code);

#endif
