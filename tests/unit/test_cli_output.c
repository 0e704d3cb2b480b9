/*
 * test_cli_output.c - the CLI's rendering of server answers: credential formats (the
 * contract with AWS clients and shells), terminal-safe text, grant and audit lines, time
 * parsing and URL escaping, the aws wrapper `exec` writes (run here with sh), the
 * gateway's host for NO_PROXY, and an answer's warnings.
 *
 * The env and credential_process formats are consumed by other programs, so their exact
 * shape is asserted here; the human formats only need to be complete and safe.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/client.h"
#include "cli/output.h"

static json_t *creds_answer(void)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "grant", "g_1", "access_key_id",
	                 "BGAKEXAMPLE123456789", "secret_access_key", "s3cr'et/+=", "session_token",
	                 "tok_abc", "expiration", "2026-11-24T03:42:00Z", "region", "us-east-1",
	                 "endpoint", "http://127.0.0.1:8700");
}

static void test_sanitize(void **state)
{
	char out[16];

	(void)state;
	cli_out_sanitize("plain text", out, sizeof(out));
	assert_string_equal(out, "plain text");
	cli_out_sanitize("a\x1b[2Jb\r\n\x7f", out, sizeof(out));
	assert_string_equal(out, "a?[2Jb???");
	cli_out_sanitize("0123456789abcdefghij", out, sizeof(out));
	assert_string_equal(out, "0123456789ab...");
	cli_out_sanitize("0123456789abcde", out, sizeof(out)); /* exactly fits */
	assert_string_equal(out, "0123456789abcde");
	cli_out_sanitize("abc", out, 1);
	assert_string_equal(out, "");
	/* UTF-8 passes through. */
	cli_out_sanitize("caf\xc3\xa9", out, sizeof(out));
	assert_string_equal(out, "caf\xc3\xa9");
	/* C1 controls (CSI as U+009B), bidi overrides and broken UTF-8 do not. */
	cli_out_sanitize("a\xc2\x9b"
	                 "2Jb",
	                 out, sizeof(out));
	assert_string_equal(out, "a?2Jb");
	cli_out_sanitize("x\xe2\x80\xaey\xe2\x81\xa6z", out, sizeof(out));
	assert_string_equal(out, "x?y?z");
	cli_out_sanitize("a\xff"
	                 "b\xc3",
	                 out, sizeof(out));
	assert_string_equal(out, "a?b?");
	cli_out_sanitize("\xed\xa0\x80", out, sizeof(out)); /* a surrogate */
	assert_string_equal(out, "???");
}

static void test_shell_quote(void **state)
{
	bg_buf b;

	(void)state;
	bg_buf_init(&b, 1024);
	assert_int_equal(cli_out_shell_quote(&b, "abc"), 0);
	assert_int_equal(cli_out_shell_quote(&b, "it's"), 0);
	assert_int_equal(cli_out_shell_quote(&b, ""), 0);
	assert_int_equal(cli_out_shell_quote(&b, "$(rm -rf /)`x`\"\\"), 0);
	assert_string_equal(b.data, "'abc''it'\\''s''''$(rm -rf /)`x`\"\\'");
	bg_buf_free(&b);
	bg_buf_init(&b, 4);
	assert_int_not_equal(cli_out_shell_quote(&b, "too long"), 0);
	bg_buf_free(&b);
}

static void test_creds_env(void **state)
{
	json_t *c = creds_answer();
	bg_buf b;
	bg_err e;

	(void)state;
	bg_buf_init(&b, 4096);
	assert_int_equal(cli_out_creds_env(&b, c, &e), 0);
	assert_string_equal(b.data, "export AWS_ACCESS_KEY_ID='BGAKEXAMPLE123456789'\n"
	                            "export AWS_SECRET_ACCESS_KEY='s3cr'\\''et/+='\n"
	                            "export AWS_SESSION_TOKEN='tok_abc'\n"
	                            "export AWS_REGION='us-east-1'\n"
	                            "export AWS_DEFAULT_REGION='us-east-1'\n"
	                            "export AWS_ENDPOINT_URL_DYNAMODB='http://127.0.0.1:8700'\n"
	                            "export AWS_ACCOUNT_ID_ENDPOINT_MODE='disabled'\n");
	bg_buf_free(&b);
	json_decref(c);
}

static void test_creds_vars_refuse(void **state)
{
	static const char *const keys[] = {"access_key_id", "secret_access_key", "session_token",
	                                   "region", "endpoint"};
	cli_envvar vars[CLI_CREDS_NVARS];
	json_t *c;
	size_t k;
	bg_err e;

	(void)state;
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		c = creds_answer();
		json_object_del(c, keys[k]);
		bg_err_clear(&e);
		assert_int_equal(cli_out_creds_vars(c, vars, &e), BG_EINVAL);
		assert_non_null(strstr(e.msg, keys[k]));
		json_object_set_new(c, keys[k], json_integer(5));
		assert_int_equal(cli_out_creds_vars(c, vars, &e), BG_EINVAL);
		json_object_set_new(c, keys[k], json_string(""));
		assert_int_equal(cli_out_creds_vars(c, vars, &e), BG_EINVAL);
		/* A newline would forge a second export line. */
		json_object_set_new(c, keys[k], json_string("a\nexport X=1"));
		assert_int_equal(cli_out_creds_vars(c, vars, &e), BG_EINVAL);
		json_decref(c);
	}
	assert_int_equal(cli_out_creds_vars(NULL, vars, &e), BG_EINVAL);
	c = json_array();
	assert_int_equal(cli_out_creds_vars(c, vars, &e), BG_EINVAL);
	json_decref(c);
}

static void test_creds_process(void **state)
{
	json_t *c = creds_answer(), *p;
	char *s;
	bg_err e;

	(void)state;
	p = cli_out_creds_process(c, &e);
	assert_non_null(p);
	s = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"AccessKeyId\":\"BGAKEXAMPLE123456789\","
	                       "\"Expiration\":\"2026-11-24T03:42:00Z\","
	                       "\"SecretAccessKey\":\"s3cr'et/+=\","
	                       "\"SessionToken\":\"tok_abc\",\"Version\":1}");
	free(s);
	json_decref(p);
	json_object_set_new(c, "expiration", json_string("tomorrow"));
	assert_null(cli_out_creds_process(c, &e));
	json_object_del(c, "expiration");
	assert_null(cli_out_creds_process(c, &e));
	json_decref(c);
}

static void test_parse_time(void **state)
{
	time_t t;

	(void)state;
	assert_int_equal(cli_out_parse_time("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal((long long)t, 0);
	assert_int_equal(cli_out_parse_time("2026-11-24T03:27:00Z", &t), 0);
	assert_int_equal((long long)t, 1795490820LL);
	assert_int_equal(cli_out_parse_time("2026-11-24T03:27:00.123456Z", &t), 0);
	assert_int_equal((long long)t, 1795490820LL);
	assert_int_not_equal(cli_out_parse_time("2026-11-24T03:27:00", &t), 0);
	assert_int_not_equal(cli_out_parse_time("2026-11-24 03:27:00Z", &t), 0);
	assert_int_not_equal(cli_out_parse_time("2026-11-24T03:27:00+01:00", &t), 0);
	assert_int_not_equal(cli_out_parse_time("2026-13-24T03:27:00Z", &t), 0);
	assert_int_not_equal(cli_out_parse_time("2026-11-24T03:27:00.Z", &t), 0);
	assert_int_not_equal(cli_out_parse_time("2026-11-24T03:27:00ZZ", &t), 0);
	assert_int_not_equal(cli_out_parse_time("", &t), 0);
	assert_int_not_equal(cli_out_parse_time("2026-1x-24T03:27:00Z", &t), 0);
}

static json_t *grant_obj(void)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:[s,s],s:[s,s],s:s,s:s,s:n,s:s,s:s,s:s}", "id", "g_42",
	                 "user", "alice", "created_by", "admin", "kind", "direct", "tables",
	                 "Orders", "Users", "ops", "Query", "GetItem", "created_at",
	                 "2026-11-24T03:27:00Z", "expires_at", "2026-11-24T03:42:00Z", "revoked_at",
	                 "status", "active", "reason", "INC-7 \x1b[31mfire", "access_key_id",
	                 "BGAKEXAMPLE123456789");
}

static void test_grant(void **state)
{
	json_t *g = grant_obj();
	time_t now = 1795490820; /* created_at */
	bg_buf b;

	(void)state;
	bg_buf_init(&b, 1 << 16);
	assert_int_equal(cli_out_grant(&b, g, now), 0);
	assert_non_null(strstr(b.data, "grant       g_42\n"));
	assert_non_null(strstr(b.data, "user        alice\n"));
	assert_non_null(strstr(b.data, "tables      Orders,Users\n"));
	assert_non_null(strstr(b.data, "ops         Query,GetItem\n"));
	assert_non_null(strstr(b.data, "expires     2026-11-24T03:42:00Z (in 15m)\n"));
	assert_non_null(strstr(b.data, "reason      INC-7 ?[31mfire\n"));
	assert_null(strstr(b.data, "revoked"));
	assert_null(strchr(b.data, '\x1b'));
	bg_buf_reset(&b);
	json_object_set_new(g, "status", json_string("revoked"));
	json_object_set_new(g, "revoked_at", json_string("2026-11-24T03:30:00Z"));
	assert_int_equal(cli_out_grant(&b, g, now), 0);
	assert_non_null(strstr(b.data, "expires     2026-11-24T03:42:00Z\n"));
	assert_non_null(strstr(b.data, "revoked     2026-11-24T03:30:00Z\n"));
	bg_buf_free(&b);
	json_decref(g);
}

static void test_grant_list(void **state)
{
	json_t *ans = json_pack("{s:[o,o]}", "grants", grant_obj(), grant_obj());
	json_t *bad = json_pack("{s:i}", "grants", 3);
	bg_buf b;

	(void)state;
	bg_buf_init(&b, 1 << 16);
	assert_int_equal(cli_out_grant_list(&b, ans), 0);
	assert_int_equal(strncmp(b.data, "ID ", 3), 0);
	assert_non_null(strstr(b.data, "g_42"));
	assert_non_null(strstr(b.data, "Orders,Users"));
	assert_non_null(strstr(b.data, "Query,GetItem\n"));
	assert_int_not_equal(cli_out_grant_list(&b, bad), 0);
	bg_buf_free(&b);
	json_decref(ans);
	json_decref(bad);
}

static void test_audit_line(void **state)
{
	json_t *r =
	    json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:[s],s:s,s:n,s:i,s:{},s:s,s:s}", "seq", 7, "ts",
	              "2026-11-24T03:28:00Z", "kind", "request", "actor", "alice", "grant_id",
	              "g_42", "op", "Query", "tables", "Orders", "decision", "allow", "reason",
	              "status", 200, "detail", "prev_hash", "00", "hash", "ff");
	json_t *nested = json_pack("{s:i,s:[[s]]}", "seq", 8, "tables", "x");
	bg_buf b;

	(void)state;
	bg_buf_init(&b, 1 << 16);
	assert_int_equal(cli_out_audit_line(&b, r), 0);
	assert_string_equal(b.data,
	                    "7 2026-11-24T03:28:00Z request alice g_42 Query Orders allow 200 -\n");
	bg_buf_reset(&b);
	json_object_set_new(r, "reason", json_string("not in grant\n9 forged line"));
	assert_int_equal(cli_out_audit_line(&b, r), 0);
	assert_int_equal(strchr(b.data, '\n') - b.data, (long)b.len - 1);
	bg_buf_reset(&b);
	json_object_set_new(r, "status", json_integer(0));
	json_object_set_new(r, "reason", json_null());
	assert_int_equal(cli_out_audit_line(&b, r), 0);
	assert_string_equal(b.data,
	                    "7 2026-11-24T03:28:00Z request alice g_42 Query Orders allow - -\n");
	bg_buf_reset(&b);
	assert_int_equal(cli_out_audit_line(&b, nested), 0);
	assert_string_equal(b.data, "8 - - - - - [...] - - -\n");
	assert_int_not_equal(cli_out_audit_line(&b, json_null()), 0);
	bg_buf_free(&b);
	json_decref(r);
	json_decref(nested);
}

static void test_escape(void **state)
{
	char *s;

	(void)state;
	s = cli_client_escape("g_1-a.b~c");
	assert_string_equal(s, "g_1-a.b~c");
	free(s);
	s = cli_client_escape("../x?y=1&z#/ %");
	assert_string_equal(s, "..%2Fx%3Fy%3D1%26z%23%2F%20%25");
	free(s);
}

/* Writes text to path with mode. */
static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* Runs `sh wrapper ARGS` (args already shell-quoted) and returns its output in out. */
static void run_wrapper(const char *wrapper, const char *args, char *out, size_t n)
{
	char cmd[1024];
	FILE *p;
	size_t got;

	snprintf(cmd, sizeof(cmd), "sh '%s' %s", wrapper, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	got = fread(out, 1, n - 1, p);
	out[got] = '\0';
	assert_int_equal(pclose(p), 0);
}

static void test_aws_wrapper(void **state)
{
	char dir[] = "/tmp/bg-test-wrapper-XXXXXX", real[128], wrapper[128], out[1024];
	bg_buf b;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* A stand-in for the real aws, at a path that needs quoting: prints its arguments. */
	snprintf(real, sizeof(real), "%s/it's aws", dir);
	write_file(real, "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done\n", 0700);
	snprintf(wrapper, sizeof(wrapper), "%s/aws", dir);
	bg_buf_init(&b, 4096);
	assert_int_equal(cli_out_aws_wrapper(&b, real, "http://127.0.0.1:8700/x'y"), 0);
	write_file(wrapper, b.data, 0700);
	run_wrapper(wrapper, "dynamodb get-item --key '{\"a b\": 1}'", out, sizeof(out));
	assert_string_equal(
	    out,
	    "[--endpoint-url][http://127.0.0.1:8700/x'y][dynamodb][get-item][--key][{\"a b\": 1}]");
	/* An endpoint given (either spelling) wins: nothing is added. */
	run_wrapper(wrapper, "--endpoint-url https://elsewhere dynamodb list-tables", out,
	            sizeof(out));
	assert_string_equal(out, "[--endpoint-url][https://elsewhere][dynamodb][list-tables]");
	run_wrapper(wrapper, "dynamodb list-tables --endpoint-url=https://e", out, sizeof(out));
	assert_string_equal(out, "[dynamodb][list-tables][--endpoint-url=https://e]");

	/* No real aws: the wrapper says so and exits 127. */
	bg_buf_reset(&b);
	assert_int_equal(cli_out_aws_wrapper(&b, NULL, "http://127.0.0.1:8700"), 0);
	assert_non_null(strstr(b.data, "no aws command found"));
	assert_non_null(strstr(b.data, "exit 127"));
	bg_buf_free(&b);
	assert_int_equal(unlink(real), 0);
	assert_int_equal(unlink(wrapper), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_url_host(void **state)
{
	char h[32];

	(void)state;
	assert_int_equal(cli_out_url_host("http://127.0.0.1:8700", h, sizeof(h)), 0);
	assert_string_equal(h, "127.0.0.1");
	assert_int_equal(cli_out_url_host("https://u:p@gw.example.com/x?y", h, sizeof(h)), 0);
	assert_string_equal(h, "gw.example.com");
	assert_int_equal(cli_out_url_host("http://[::1]:8700/", h, sizeof(h)), 0);
	assert_string_equal(h, "::1");
	assert_int_not_equal(cli_out_url_host("ftp://x", h, sizeof(h)), 0);
	assert_int_not_equal(cli_out_url_host("http://:80", h, sizeof(h)), 0);
	assert_int_not_equal(cli_out_url_host("http://[::1", h, sizeof(h)), 0);
	assert_int_not_equal(
	    cli_out_url_host("http://a-host-name-longer-than-the-room.example", h, sizeof(h)), 0);
}

static void test_warnings(void **state)
{
	json_t *ans = json_pack("{s:[s,i,s]}", "warnings", "table T does not exist", 7, "x\x1by");
	json_t *empty = json_object();
	char buf[256] = "";
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	(void)state;
	assert_non_null(f);
	cli_out_warnings(f, ans);
	cli_out_warnings(f, empty); /* none: nothing */
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf, "breakglass: warning: table T does not exist\n"
	                         "breakglass: warning: x?y\n");
	json_decref(ans);
	json_decref(empty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sanitize),      cmocka_unit_test(test_shell_quote),
	    cmocka_unit_test(test_creds_env),     cmocka_unit_test(test_creds_vars_refuse),
	    cmocka_unit_test(test_creds_process), cmocka_unit_test(test_parse_time),
	    cmocka_unit_test(test_grant),         cmocka_unit_test(test_grant_list),
	    cmocka_unit_test(test_audit_line),    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_aws_wrapper),   cmocka_unit_test(test_url_host),
	    cmocka_unit_test(test_warnings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
