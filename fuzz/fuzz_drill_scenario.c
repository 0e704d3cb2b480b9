/*
 * fuzz_drill_scenario.c - libFuzzer target for a drill's scenario file: any bytes give
 * either a scenario or one error "fuzz.yaml:LINE: ...", never a crash, leak or read past
 * the input. A scenario that loads has a name, the alert's name and severity, between 1
 * and BG_MAX_DRILL_RUNBOOKS runbooks with distinct ids, and only string parameters.
 */
#include <string.h>

#include "cli/drill_scenario.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	drill_scenario *s = NULL;
	const char *k;
	json_t *v;
	size_t i, j;
	bg_err e;

	if (drill_scenario_parse((const char *)data, size, "fuzz.yaml", &s, &e) != 0) {
		CHECK(s == NULL);
		CHECK(e.code == BG_ENOMEM || strncmp(e.msg, "fuzz.yaml:", 10) == 0);
		return 0;
	}
	CHECK(s->name[0] != '\0');
	CHECK(json_is_string(json_object_get(s->labels, "alertname")));
	CHECK(json_is_string(json_object_get(s->labels, "severity")));
	CHECK(s->n_steps >= 1 && s->n_steps <= BG_MAX_DRILL_RUNBOOKS);
	for (i = 0; i < s->n_steps; i++) {
		CHECK(s->steps[i].id[0] != '\0');
		for (j = 0; j < i; j++)
			CHECK(strcmp(s->steps[i].id, s->steps[j].id) != 0);
		json_object_foreach(s->steps[i].params, k, v) CHECK(json_is_string(v));
	}
	drill_scenario_free(s);
	return 0;
}
