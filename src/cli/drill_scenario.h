/*
 * drill_scenario.h - the scenario of a drill (`breakglass drill --scenario FILE`): the
 * alert that starts it and the runbooks the responder runs, each with its parameters.
 *
 *   name: orders stuck
 *   alert: {alertname: OrdersThrottled, table: orders, severity: critical}
 *   runbooks:
 *     - {id: orders-of-customer, params: {customer: "CUSTOMER#42"}}
 *
 * Read with the strict YAML of the runbooks (common/ytree.h): an unknown key, a key given
 * twice, a list where a value belongs, are errors with the file and line. Whether each
 * runbook exists and takes these parameters is for the drill to find out: a drill of a
 * runbook that does not work is a drill that fails, by the runbook's name.
 */
#ifndef BG_CLI_DRILL_SCENARIO_H
#define BG_CLI_DRILL_SCENARIO_H

#include <stddef.h>

#include <jansson.h>

#include "common/err.h"
#include "common/limits.h"

typedef struct drill_step {
	char id[BG_MAX_RUNBOOK_ID + 1];
	json_t *params; /* {name: "text"}, every value a string as `run --param` sends it */
	unsigned line;
} drill_step;

typedef struct drill_scenario {
	char name[BG_MAX_DRILL_NAME + 1];
	json_t *labels; /* the alert's labels {name: "text"}; alertname and severity set */
	drill_step *steps;
	size_t n_steps;
} drill_scenario;

/* The alert's name and severity when the scenario says none. */
#define DRILL_DEFAULT_ALERTNAME "BreakglassDrill"
#define DRILL_DEFAULT_SEVERITY  "critical"

/* Parses len bytes of a scenario; fname names it in messages. Returns 0 with *out
 * (drill_scenario_free), or BG_EINVAL with "FNAME:LINE: what" in e, or BG_ENOMEM. */
int drill_scenario_parse(const char *text, size_t len, const char *fname, drill_scenario **out,
                         bg_err *e) BG_MUST_CHECK;

/* Reads and parses the file at path (at most BG_MAX_YAML_FILE bytes). As parse, and
 * BG_EIO / BG_ENOTFOUND for a file that cannot be read. */
int drill_scenario_load(const char *path, drill_scenario **out, bg_err *e) BG_MUST_CHECK;

/* An empty scenario named name (alert labels set to the defaults) to add steps to:
 * a drill without --scenario. NULL when out of memory. */
drill_scenario *drill_scenario_new(const char *name);

/* Appends a step (params: a new reference is taken). 0, BG_ELIMIT or BG_ENOMEM. */
int drill_scenario_add(drill_scenario *s, const char *id, json_t *params, unsigned line,
                       bg_err *e) BG_MUST_CHECK;

void drill_scenario_free(drill_scenario *s);

#endif
