/*
 * fuzz_url.c - libFuzzer target for the API's request-target decoding. The input is the
 * raw target. Promises checked: on success the path is a NUL-terminated string within
 * its buffer, every argument name and value lies inside the argument buffer, and
 * re-encoding nothing is needed to find each argument again by name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "net/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	net_url u;
	size_t i;

	if (net_url_parse((const char *)data, size, &u, NULL) != 0)
		return 0;
	CHECK(memchr(u.path, '\0', sizeof(u.path)) != NULL);
	CHECK(u.nargs <= BG_MAX_API_ARGS);
	for (i = 0; i < 2 * u.nargs; i++) {
		const char *p = u.argv[i];
		CHECK(p >= u.args && p < u.args + sizeof(u.args));
		CHECK(memchr(p, '\0', (size_t)(u.args + sizeof(u.args) - p)) != NULL);
	}
	for (i = 0; i < u.nargs; i++)
		CHECK(net_url_arg(&u, u.argv[2 * i]) != NULL);
	return 0;
}
