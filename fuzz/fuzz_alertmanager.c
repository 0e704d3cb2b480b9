/*
 * fuzz_alertmanager.c - libFuzzer target for Alertmanager's webhook payload
 * (alerts/alertmanager): any bytes give a batch or an error, never a crash, leak or read
 * past the input; a batch keeps alert_batch_valid's promises (bounded clean text,
 * non-empty identities, 1..BG_MAX_HOOK_ALERTS items, firing agreeing with the items).
 */
#include "alerts/alertmanager.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static alert_batch b;
	bg_err e;
	int rc;

	rc = alertmanager_parse((const char *)data, size, &b, &e);
	if (rc != 0) {
		CHECK(rc < 0 && e.msg[0] != '\0');
		return 0;
	}
	CHECK(alert_batch_valid(&b));
	CHECK(b.source == ALERT_ALERTMANAGER && b.delivery[0] == '\0');
	return 0;
}
