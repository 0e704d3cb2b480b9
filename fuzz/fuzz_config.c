/*
 * fuzz_config.c - libFuzzer target for the `serve` config-file parser (YAML, libyaml):
 * any bytes must give either a configuration or a usage error, never a crash, leak or
 * read past the input.
 */
#include <stddef.h>
#include <stdint.h>

#include "gateway/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gw_config c;
	bg_err e;

	if (gw_config_parse(&c, (const char *)data, size, &e) == 0) {
		/* A configuration that parsed is complete. */
		if (c.upstream[0] == '\0' || c.data[0] == '\0' || c.region[0] == '\0')
			__builtin_trap();
	}
	return 0;
}
