/*
 * fuzz_awscreds.c - libFuzzer target for the shared credentials file reader (INI): any
 * bytes give credentials or an error, never a crash or leak. The first byte picks the
 * profile asked for, so sections other than [default] are reached too.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "signing/awscreds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const profiles[] = {"default", "prod", "breakglass", "a b"};
	awscreds *c = NULL;
	bg_err e;

	if (size == 0)
		return 0;
	if (awscreds_parse((const char *)data + 1, size - 1, profiles[data[0] & 3], "fuzz", &c,
	                   &e) == 0) {
		if (awscreds_access_key_id(c)[0] == '\0' ||
		    awscreds_secret_access_key(c)[0] == '\0')
			__builtin_trap();
	}
	awscreds_free(c);
	return 0;
}
