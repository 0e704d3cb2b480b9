/*
 * fuzz_pagerduty.c - libFuzzer target for PagerDuty v3 webhooks (alerts/pagerduty). The
 * input's first line is an X-PagerDuty-Signature value, the rest the body: the signature
 * check and the parser give an answer, never a crash, leak or read past the input. A
 * parsed event keeps alert_batch_valid's promises with one item keyed by the group; an
 * ignored one still carries its delivery id.
 */
#include <string.h>

#include "alerts/pagerduty.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const secrets[] = {"whsec_fuzz_1", "whsec_fuzz_2"};
	static alert_batch b;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hn = nl ? (size_t)(nl - data) : 0;
	const char *body = (const char *)data + (nl ? hn + 1 : 0);
	size_t bn = size - (nl ? hn + 1 : 0);
	bg_err e;
	int rc;

	rc = pagerduty_verify((const char *)data, hn, body, bn, secrets, 2, &e);
	CHECK(rc == 0 || rc == BG_EAUTH || rc == BG_EINVAL || rc == BG_ELIMIT);
	rc = pagerduty_parse(body, bn, &b, &e);
	if (rc == ALERT_IGNORED) {
		CHECK(b.delivery[0] != '\0');
		return 0;
	}
	if (rc != 0) {
		CHECK(rc < 0 && e.msg[0] != '\0');
		return 0;
	}
	CHECK(alert_batch_valid(&b));
	CHECK(b.n == 1 && strcmp(b.items[0].key, b.group) == 0 && b.delivery[0] != '\0');
	return 0;
}
