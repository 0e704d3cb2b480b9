/*
 * fuzz_cloudwatch_answer.c - libFuzzer target for the CloudWatch Logs audit sink's answer
 * parser (audit/sink_cloudwatch.h cwlogs_answer_parse): the first byte picks the HTTP
 * status, the rest is the body the service (or anything posing as it) sent. Promises
 * checked: no crash, leak or read past the input; a verdict of the enum, OK only for a 200
 * and a 200 only OK or ERROR; code, message and token NUL-terminated within their arrays,
 * without control bytes (they reach error messages and the next request), a token without
 * spaces; the rejected-event indices -1 or not negative, cwlogs_answer_rejected true only
 * for an OK answer that names an event of the batch, and the rejected range within it.
 */
#include <string.h>

#include "audit/sink_cloudwatch.h"
#include "fuzz.h"

static void check_text(const char *s, size_t cap, bool token)
{
	const char *end = memchr(s, '\0', cap);
	size_t i;

	CHECK(end != NULL);
	for (i = 0; s + i < end; i++) {
		CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
		if (token)
			CHECK(s[i] != ' ' && (unsigned char)s[i] < 0x7f);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[8] = {200, 400, 403, 404, 413, 500, 503, 0};
	cwlogs_answer a;
	cwlogs_verdict v;
	size_t n, head, tail;

	if (size < 1)
		return 0;
	v = cwlogs_answer_parse(statuses[data[0] & 7], (const char *)data + 1, size - 1, &a);
	CHECK(v == a.verdict);
	CHECK(v >= CWLOGS_OK && v <= CWLOGS_ERROR);
	CHECK(a.status == statuses[data[0] & 7]);
	CHECK(v != CWLOGS_OK || a.status == 200);
	CHECK(a.status != 200 || v == CWLOGS_OK || v == CWLOGS_ERROR);
	check_text(a.code, sizeof(a.code), false);
	check_text(a.message, sizeof(a.message), false);
	check_text(a.token, sizeof(a.token), true);
	CHECK(a.too_new_start >= -1 && a.too_old_end >= -1 && a.expired_end >= -1);
	for (n = 0; n < 12; n++) {
		bool r = cwlogs_answer_rejected(&a, n);
		CHECK(!r || v == CWLOGS_OK);
		CHECK(!r || a.too_old_end > 0 || a.expired_end > 0 ||
		      (a.too_new_start >= 0 && a.too_new_start < (int64_t)n));
		cwlogs_answer_rejected_range(&a, n, &head, &tail);
		CHECK(head <= tail && tail <= n);
		CHECK(!r || head > 0 || tail < n); /* rejected: some event is named */
	}
	return 0;
}
