/*
 * test_drill_scenario.c - a drill's scenario file (cli/drill_scenario.h): the example
 * scenario read whole (the alert's labels over the defaults, each runbook with its
 * parameters as strings); the defaults when the alert is left out; and each mistake
 * refused with its file and line, never a half-read scenario.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cli/drill_scenario.h"

static const char example[] =
    "# the orders table is throttled and an order is stuck\n"
    "name: orders stuck\n"
    "alert: {alertname: OrdersThrottled, table: orders, severity: warning}\n"
    "runbooks:\n"
    "  - {id: orders-of-customer, params: {customer: \"CUSTOMER#42\"}}\n"
    "  - id: unstick-order\n"
    "    params: {customer: \"CUSTOMER#42\", order: \"ORDER#1001\", new: PENDING, n: 25}\n"
    "  - {id: newest-events}\n";

static const char *label(const drill_scenario *s, const char *k)
{
	return json_string_value(json_object_get(s->labels, k));
}

static const char *param(const drill_step *st, const char *k)
{
	return json_string_value(json_object_get(st->params, k));
}

static void test_example(void **state)
{
	drill_scenario *s = NULL;
	bg_err e;

	(void)state;
	assert_int_equal(drill_scenario_parse(example, strlen(example), "s.yaml", &s, &e), 0);
	assert_string_equal(s->name, "orders stuck");
	assert_string_equal(label(s, "alertname"), "OrdersThrottled");
	assert_string_equal(label(s, "severity"), "warning");
	assert_string_equal(label(s, "table"), "orders");
	assert_int_equal(json_object_size(s->labels), 3);
	assert_int_equal(s->n_steps, 3);
	assert_string_equal(s->steps[0].id, "orders-of-customer");
	assert_int_equal(s->steps[0].line, 5);
	assert_string_equal(param(&s->steps[0], "customer"), "CUSTOMER#42");
	assert_string_equal(s->steps[1].id, "unstick-order");
	assert_int_equal(s->steps[1].line, 6);
	assert_string_equal(param(&s->steps[1], "new"), "PENDING");
	assert_string_equal(param(&s->steps[1], "n"), "25"); /* as `run --param` sends it */
	assert_int_equal(json_object_size(s->steps[1].params), 4);
	assert_string_equal(s->steps[2].id, "newest-events");
	assert_int_equal(json_object_size(s->steps[2].params), 0);
	drill_scenario_free(s);
}

static void test_defaults(void **state)
{
	static const char text[] = "name: smoke\nrunbooks: [{id: order-by-key}]\n";
	drill_scenario *s = NULL;
	bg_err e;

	(void)state;
	assert_int_equal(drill_scenario_parse(text, strlen(text), "s.yaml", &s, &e), 0);
	assert_string_equal(label(s, "alertname"), DRILL_DEFAULT_ALERTNAME);
	assert_string_equal(label(s, "severity"), DRILL_DEFAULT_SEVERITY);
	assert_int_equal(s->n_steps, 1);
	drill_scenario_free(s);
	drill_scenario_free(NULL);
}

/* text is refused with a message that starts "s.yaml:LINE:" and contains want. */
static void refused(const char *text, unsigned line, const char *want)
{
	drill_scenario *s = (drill_scenario *)1;
	char where[32];
	bg_err e;

	memset(&e, 0, sizeof(e));
	assert_int_equal(drill_scenario_parse(text, strlen(text), "s.yaml", &s, &e), BG_EINVAL);
	assert_null(s);
	snprintf(where, sizeof(where), "s.yaml:%u:", line);
	if (strncmp(e.msg, where, strlen(where)) != 0 || strstr(e.msg, want) == NULL)
		fail_msg("%s: got \"%s\", want %s ... %s", text, e.msg, where, want);
}

/* Each mistake: the text, the line it is reported at, what the message says. */
static const struct {
	const char *text;
	unsigned line;
	const char *want;
} mistakes[] = {
    {"runbooks: [{id: a}]\n", 1, "no name"},
    {"name: x\n", 1, "no runbooks"},
    {"name: x\nrunbooks: []\n", 2, "empty"},
    {"name: x\nrunbooks: {id: a}\n", 2, "must be a list"},
    {"name: x\nrunbook: [{id: a}]\n", 2, "unknown key 'runbook'"},
    {"name: x\nrunbooks:\n  - {id: a, parms: {}}\n", 3, "unknown key 'parms'"},
    {"name: x\nrunbooks:\n  - {params: {}}\n", 3, "without id"},
    {"name: x\nrunbooks:\n  - {id: Bad_Id}\n", 3, "bad id"},
    {"name: x\nrunbooks:\n  - {id: a}\n  - {id: a}\n", 4, "listed twice (first on line 3)"},
    {"name: x\nrunbooks:\n  - {id: a, params: [1, 2]}\n", 3, "mapping"},
    {"name: x\nrunbooks:\n  - {id: a, params: {c: [1]}}\n", 3, "single value"},
    {"name: x\nalert: {9lives: x}\nrunbooks: [{id: a}]\n", 2, "bad name '9lives'"},
    {"name: x\nalert: [a]\nrunbooks: [{id: a}]\n", 2, "mapping"},
    {"name: [x]\nrunbooks: [{id: a}]\n", 1, "single value"},
    {"name: x\nname: y\nrunbooks: [{id: a}]\n", 2, ""},
    {"- a\n", 1, "a mapping"},
    {"name: &a x\nrunbooks: [{id: a}]\n", 1, ""},
};

static void test_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(mistakes) / sizeof(mistakes[0]); i++)
		refused(mistakes[i].text, mistakes[i].line, mistakes[i].want);
}

static void test_limits(void **state)
{
	char text[4096];
	size_t n, i;
	drill_scenario *s = NULL;
	bg_err e;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), "name: many\nrunbooks:\n");
	for (i = 0; i <= BG_MAX_DRILL_RUNBOOKS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "  - {id: r%zu}\n", i);
	refused(text, 3 + BG_MAX_DRILL_RUNBOOKS, "more than");
	/* One fewer is fine. */
	n = (size_t)snprintf(text, sizeof(text), "name: many\nrunbooks:\n");
	for (i = 0; i < BG_MAX_DRILL_RUNBOOKS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "  - {id: r%zu}\n", i);
	assert_int_equal(drill_scenario_parse(text, n, "s.yaml", &s, &e), 0);
	assert_int_equal(s->n_steps, BG_MAX_DRILL_RUNBOOKS);
	drill_scenario_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
