/*
 * test_cli_args.c - the CLI's option parser and number parsing: "--opt value" and
 * "--opt=value", the common options in any position, "--" handling, and strict integers.
 *
 * `exec GRANT -- aws --endpoint-url ...` must reach the command untouched, and a typo in
 * an option must be a usage error (exit 2) before any request is sent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"

static const cli_opt opts[] = {{"table", true}, {"all", false}, {NULL, false}};

static void test_options(void **state)
{
	char *argv[] = {"grant",   "--table", "Orders", "--table=Users",
	                "pos1",    "--all",   "--json", "--url=http://x:1",
	                "--token", "T",       "-h",     NULL};
	cli_ctx ctx;
	cli_args a;
	const char *v;

	(void)state;
	unsetenv("BREAKGLASS_URL");
	unsetenv("BREAKGLASS_TOKEN");
	cli_ctx_init(&ctx);
	assert_string_equal(ctx.url, CLI_DEFAULT_URL);
	assert_null(ctx.token);
	cli_args_init(&a, 11, argv, "grant", &ctx);
	assert_int_equal(cli_args_next(&a, opts, &v), 0);
	assert_string_equal(v, "Orders");
	assert_int_equal(cli_args_next(&a, opts, &v), 0);
	assert_string_equal(v, "Users");
	assert_int_equal(cli_args_next(&a, opts, &v), CLI_ARG_POSITIONAL);
	assert_string_equal(v, "pos1");
	assert_int_equal(cli_args_next(&a, opts, &v), 1);
	assert_null(v);
	assert_int_equal(cli_args_next(&a, opts, &v), CLI_ARG_END);
	assert_true(ctx.json);
	assert_true(ctx.help);
	assert_string_equal(ctx.url, "http://x:1");
	assert_string_equal(ctx.token, "T");
}

static void test_env(void **state)
{
	cli_ctx ctx;

	(void)state;
	setenv("BREAKGLASS_URL", "http://127.0.0.1:9", 1);
	setenv("BREAKGLASS_TOKEN", "tok", 1);
	cli_ctx_init(&ctx);
	assert_string_equal(ctx.url, "http://127.0.0.1:9");
	assert_string_equal(ctx.token, "tok");
	setenv("BREAKGLASS_TOKEN", "", 1); /* empty = unset */
	cli_ctx_init(&ctx);
	assert_null(ctx.token);
	unsetenv("BREAKGLASS_URL");
	unsetenv("BREAKGLASS_TOKEN");
}

static void test_dashdash(void **state)
{
	char *argv[] = {"exec", "G", "--", "aws", "--table", "--json", NULL};
	cli_ctx ctx;
	cli_args a;
	const char *v;

	(void)state;
	cli_set_json(false); /* the output mode is the process's: an earlier test set it */
	cli_ctx_init(&ctx);
	cli_args_init(&a, 6, argv, "exec", &ctx);
	assert_int_equal(cli_args_next(&a, opts, &v), CLI_ARG_POSITIONAL);
	assert_string_equal(v, "G");
	assert_int_equal(cli_args_next(&a, opts, &v), CLI_ARG_POSITIONAL);
	assert_string_equal(v, "aws");
	assert_true(a.dashdash);
	assert_int_equal(cli_args_next(&a, opts, &v), CLI_ARG_POSITIONAL);
	assert_string_equal(v, "--table");
	assert_int_equal(cli_args_next(&a, opts, &v), CLI_ARG_POSITIONAL);
	assert_string_equal(v, "--json");
	assert_false(ctx.json);
	assert_int_equal(cli_args_next(&a, opts, &v), CLI_ARG_END);
}

static int one(char **argv, int argc)
{
	cli_ctx ctx;
	cli_args a;
	const char *v;
	int k;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "t", &ctx);
	while ((k = cli_args_next(&a, opts, &v)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return k;
	}
	return 0;
}

static void test_errors(void **state)
{
	char *unknown[] = {"t", "--tabel", "x", NULL};
	char *missing[] = {"t", "--table", NULL};
	char *novalue[] = {"t", "--all=yes", NULL};
	char *json_val[] = {"t", "--json=1", NULL};
	char *short_opt[] = {"t", "-x", NULL};
	char *empty_url[] = {"t", "--url=", NULL};
	char *no_url[] = {"t", "--url", NULL};
	char *dash[] = {"t", "-", NULL};

	(void)state;
	assert_int_equal(one(unknown, 3), CLI_ARG_ERROR);
	assert_int_equal(one(missing, 2), CLI_ARG_ERROR);
	assert_int_equal(one(novalue, 2), CLI_ARG_ERROR);
	assert_int_equal(one(json_val, 2), CLI_ARG_ERROR);
	assert_int_equal(one(short_opt, 2), CLI_ARG_ERROR);
	assert_int_equal(one(empty_url, 2), CLI_ARG_ERROR);
	assert_int_equal(one(no_url, 2), CLI_ARG_ERROR);
	assert_int_equal(one(dash, 2), 0); /* "-" is a positional */
}

static void test_parse_int(void **state)
{
	int64_t v = 5;

	(void)state;
	assert_int_equal(cli_parse_int("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cli_parse_int("1000", 1, 1000, &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(cli_parse_int("9223372036854775807", 0, INT64_MAX, &v), 0);
	assert_true(v == INT64_MAX);
	v = 5;
	assert_int_not_equal(cli_parse_int("1001", 1, 1000, &v), 0);
	assert_int_not_equal(cli_parse_int("0", 1, 1000, &v), 0);
	assert_int_not_equal(cli_parse_int("-1", -5, 1000, &v), 0);
	assert_int_not_equal(cli_parse_int("+1", 0, 1000, &v), 0);
	assert_int_not_equal(cli_parse_int(" 1", 0, 1000, &v), 0);
	assert_int_not_equal(cli_parse_int("1 ", 0, 1000, &v), 0);
	assert_int_not_equal(cli_parse_int("", 0, 1000, &v), 0);
	assert_int_not_equal(cli_parse_int("1x", 0, 1000, &v), 0);
	assert_int_not_equal(cli_parse_int("0x10", 0, 1000, &v), 0);
	assert_int_not_equal(cli_parse_int("9223372036854775808", 0, INT64_MAX, &v), 0);
	assert_int_not_equal(cli_parse_int(NULL, 0, 1000, &v), 0);
	assert_int_equal(v, 5);
}

static void test_exec_argv(void **state)
{
	char *aws[] = {"/usr/bin/aws", "dynamodb", "query", NULL};
	char *aws_ep[] = {"aws", "--endpoint-url=http://x", "dynamodb", NULL};
	char *aws_ep2[] = {"aws", "dynamodb", "--endpoint-url", "http://x", NULL};
	char *other[] = {"python3", "script.py", NULL};
	char *awsish[] = {"/opt/awsx", "s3", NULL};
	char **r;

	(void)state;
	r = cli_exec_argv(aws, "http://127.0.0.1:8700");
	assert_non_null(r);
	assert_ptr_not_equal(r, aws);
	assert_string_equal(r[0], "/usr/bin/aws");
	assert_string_equal(r[1], "--endpoint-url");
	assert_string_equal(r[2], "http://127.0.0.1:8700");
	assert_string_equal(r[3], "dynamodb");
	assert_string_equal(r[4], "query");
	assert_null(r[5]);
	free(r);
	assert_ptr_equal(cli_exec_argv(aws_ep, "http://y"), aws_ep);
	assert_ptr_equal(cli_exec_argv(aws_ep2, "http://y"), aws_ep2);
	assert_ptr_equal(cli_exec_argv(other, "http://y"), other);
	assert_ptr_equal(cli_exec_argv(awsish, "http://y"), awsish);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_options),   cmocka_unit_test(test_env),
	    cmocka_unit_test(test_dashdash),  cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_parse_int), cmocka_unit_test(test_exec_argv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
