/*
 * err.c - error codes and messages (see err.h).
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int bg_err_set(bg_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

void bg_err_clear(bg_err *e)
{
	if (e == NULL)
		return;
	e->code = BG_OK;
	e->msg[0] = '\0';
}

const char *bg_err_name(int code)
{
	switch (code) {
	case BG_OK:
		return "ok";
	case BG_EINVAL:
		return "invalid";
	case BG_ENOMEM:
		return "out of memory";
	case BG_EIO:
		return "i/o error";
	case BG_ENOTFOUND:
		return "not found";
	case BG_EDENIED:
		return "denied";
	case BG_ELIMIT:
		return "limit exceeded";
	case BG_EAUTH:
		return "authentication failed";
	case BG_EEXPIRED:
		return "expired";
	case BG_EEXISTS:
		return "exists";
	case BG_EUPSTREAM:
		return "upstream failed";
	case BG_EAUDIT:
		return "audit unavailable";
	case BG_EOTP:
		return "TOTP code required";
	}
	return "error";
}
