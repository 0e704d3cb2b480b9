/*
 * fuzz_credparse.c - libFuzzer target for the parsers of credentials answers
 * (signing/credparse): the STS XML extractor, the container/instance-metadata and
 * credential_process JSON, and the ISO 8601 times. The first byte picks the parser. Any
 * bytes give credentials or an error, never a crash; credentials always have a key and a
 * secret, and STS credentials an expiry.
 */
#include "fuzz.h"

#include "signing/credparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	awscreds *c = NULL;
	int64_t exp = -1, t = 0;
	bg_err e;
	int rc;

	if (size == 0)
		return 0;
	switch (data[0] & 3) {
	case 0:
		rc = credparse_sts_xml((const char *)data + 1, size - 1, "fuzz", &c, &exp, &e);
		CHECK(rc != 0 || exp > 0);
		break;
	case 1:
		rc = credparse_json((const char *)data + 1, size - 1, CREDPARSE_METADATA, "fuzz",
		                    &c, &exp, &e);
		CHECK(rc != 0 || exp > 0);
		break;
	case 2:
		rc = credparse_json((const char *)data + 1, size - 1, CREDPARSE_PROCESS, "fuzz", &c,
		                    &exp, &e);
		break;
	default:
		rc = credparse_time((const char *)data + 1, size - 1, &t);
		CHECK(rc != 0 || t >= 0);
		return 0;
	}
	CHECK((rc == 0) == (c != NULL));
	if (c)
		CHECK(awscreds_access_key_id(c)[0] != '\0' &&
		      awscreds_secret_access_key(c)[0] != '\0');
	awscreds_free(c);
	return 0;
}
