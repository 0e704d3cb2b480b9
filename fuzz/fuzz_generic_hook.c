/*
 * fuzz_generic_hook.c - libFuzzer target for breakglass's generic alert webhook
 * (alerts/generic). The input's first line is X-Breakglass-Timestamp, its second
 * X-Breakglass-Signature, the rest the body: the signature check and the parser give an
 * answer, never a crash, leak or read past the input. A parsed body keeps
 * alert_batch_valid's promises and has a delivery id.
 */
#include <string.h>

#include "alerts/generic.h"
#include "fuzz.h"

#define NOW 1795490820

/* The next line of the input at *p (n bytes left), without its newline. */
static const char *line(const uint8_t **p, size_t *n, size_t *len)
{
	const char *s = (const char *)*p;
	const uint8_t *nl = memchr(*p, '\n', *n);

	*len = nl ? (size_t)(nl - *p) : *n;
	*p += *len + (nl != NULL);
	*n -= *len + (nl != NULL);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const secrets[] = {"gsecret-fuzz"};
	static alert_batch b;
	const char *ts, *sig;
	size_t ts_n, sig_n;
	int64_t at = -1;
	bg_err e;
	int rc;

	ts = line(&data, &size, &ts_n);
	sig = line(&data, &size, &sig_n);
	rc = generic_verify(ts, ts_n, sig, sig_n, data, size, secrets, 1, NOW, &at, &e);
	CHECK(rc <= 0);
	CHECK(rc == 0 ? at >= NOW - BG_HOOK_MAX_SKEW_SECONDS && at <= NOW + BG_HOOK_MAX_SKEW_SECONDS
	              : at == 0);
	rc = generic_parse((const char *)data, size, &b, &e);
	if (rc != 0) {
		CHECK(rc < 0 && e.msg[0] != '\0');
		return 0;
	}
	CHECK(alert_batch_valid(&b));
	CHECK(b.delivery[0] != '\0' && b.source == ALERT_GENERIC);
	return 0;
}
