/*
 * test_config.c - serve settings: defaults, then the YAML file, then BREAKGLASS_*
 * variables, then flags, each overriding the one before; unknown keys and flags,
 * nested YAML and bad listen addresses are usage errors, never silently ignored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/limits.h"
#include "gateway/config.h"

static char path[64];

static void write_file(const char *text)
{
	int fd;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/bg-test-config-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void clear_env(void)
{
	unsetenv("BREAKGLASS_LISTEN");
	unsetenv("BREAKGLASS_UPSTREAM");
	unsetenv("BREAKGLASS_DATA");
	unsetenv("BREAKGLASS_REGION");
	unsetenv("BREAKGLASS_PUBLIC_URL");
	unsetenv("BREAKGLASS_CONFIG");
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	unsetenv("BREAKGLASS_UPSTREAM_ROLE_ARN");
	unsetenv("BREAKGLASS_UPSTREAM_EXTERNAL_ID");
}

/* gw_config_load as `serve` calls it: a config file (or NULL) and "flag=value" settings,
 * ending with NULL. A flag no key has is passed as an out-of-range key. */
static int load(gw_config *c, const char *file, bg_err *e, ...)
{
	gw_config_arg args[16];
	const char *kv;
	size_t n = 0, k, len;
	va_list ap;

	va_start(ap, e);
	while ((kv = va_arg(ap, const char *)) != NULL && n < 16) {
		len = strcspn(kv, "=");
		for (k = 0; gw_config_flag(k) != NULL; k++)
			if (strlen(gw_config_flag(k)) == len &&
			    strncmp(gw_config_flag(k), kv, len) == 0)
				break;
		args[n].key = k;
		args[n++].value = kv[len] == '=' ? kv + len + 1 : "";
	}
	va_end(ap);
	return gw_config_load(c, file, args, n, e);
}

static void test_defaults(void **state)
{
	gw_config c;
	bg_err e;

	clear_env();
	assert_int_equal(load(&c, NULL, &e, NULL), 0);
	assert_string_equal(c.listen_host, "127.0.0.1");
	assert_int_equal(c.listen_port, 8700);
	assert_string_equal(c.region, "us-east-1");
	assert_string_equal(c.upstream, "https://dynamodb.us-east-1.amazonaws.com");
	assert_string_equal(c.data, "breakglass-data");
	setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
	assert_int_equal(load(&c, NULL, &e, NULL), 0);
	assert_string_equal(c.upstream, "https://dynamodb.eu-west-1.amazonaws.com");
	clear_env();
}

static void test_precedence(void **state)
{
	gw_config c;
	bg_err e;

	clear_env();
	write_file("# breakglass\nlisten: 127.0.0.1:7000\nupstream: http://127.0.0.1:8000\n"
	           "data: /srv/bg\nregion: eu-west-2\n");
	setenv("BREAKGLASS_DATA", "/env/bg", 1);
	assert_int_equal(load(&c, path, &e, "listen=127.0.0.1:9001", NULL), 0);
	assert_int_equal(c.listen_port, 9001);                    /* flag */
	assert_string_equal(c.data, "/env/bg");                   /* environment */
	assert_string_equal(c.upstream, "http://127.0.0.1:8000"); /* file */
	assert_string_equal(c.region, "eu-west-2");               /* file */
	/* BREAKGLASS_CONFIG names the file when --config does not. */
	setenv("BREAKGLASS_CONFIG", path, 1);
	assert_int_equal(load(&c, NULL, &e, NULL), 0);
	assert_int_equal(c.listen_port, 7000);
	unlink(path);
	clear_env();
}

static void test_errors(void **state)
{
	gw_config c;
	bg_err e;

	clear_env();
	assert_int_equal(load(&c, NULL, &e, "lsten=x", NULL), BG_EINVAL);
	assert_int_equal(load(&c, NULL, &e, "listen=", NULL), BG_EINVAL);
	assert_non_null(strstr(e.msg, "--listen"));
	assert_int_equal(load(&c, NULL, &e, "listen=127.0.0.1:99999", NULL), BG_EINVAL);
	assert_int_equal(load(&c, NULL, &e, "listen=127.0.0.1", NULL), BG_EINVAL);
	assert_int_equal(load(&c, NULL, &e, "upstream=ftp://x", NULL), BG_EINVAL);
	assert_int_equal(load(&c, "/nonexistent/bg.yaml", &e, NULL), BG_EINVAL);
	write_file("listen: 127.0.0.1:7000\nupstrem: http://x\n");
	assert_int_equal(load(&c, path, &e, NULL), BG_EINVAL);
	assert_non_null(strstr(e.msg, "upstrem"));
	unlink(path);
	write_file("listen:\n  host: 127.0.0.1\n");
	assert_int_equal(load(&c, path, &e, NULL), BG_EINVAL);
	unlink(path);
	write_file("listen: [a, b]\n");
	assert_int_equal(load(&c, path, &e, NULL), BG_EINVAL);
	unlink(path);
	/* A NUL escape would cut the value (or key) short: refused, not truncated. */
	write_file("upstream: \"http://127.0.0.1:8000\\0.evil\"\n");
	assert_int_equal(load(&c, path, &e, NULL), BG_EINVAL);
	assert_non_null(strstr(e.msg, "control character (0x00)"));
	unlink(path);
	write_file("\"listen\\0x\": 127.0.0.1:7000\n");
	assert_int_equal(load(&c, path, &e, NULL), BG_EINVAL);
	unlink(path);
	write_file("listen: \"unterminated\n");
	assert_int_equal(load(&c, path, &e, NULL), BG_EINVAL);
	unlink(path);
}

/* The tuning keys, their defaults and refusals; TLS goes in pairs; clear text off
 * loopback is refused. */
/* The break-glass role: key, flag and environment; an external id needs a role, and a
 * role must look like an ARN. */
static void test_upstream_role(void **state)
{
	gw_config c;
	bg_err e;

	(void)state;
	clear_env();
	assert_int_equal(load(&c, NULL, &e, NULL), 0);
	assert_string_equal(c.upstream_role_arn, "");
	write_file("upstream_role_arn: arn:aws:iam::123456789012:role/file\n"
	           "upstream_external_id: ext-file\n");
	assert_int_equal(load(&c, path, &e, NULL), 0);
	assert_string_equal(c.upstream_role_arn, "arn:aws:iam::123456789012:role/file");
	assert_string_equal(c.upstream_external_id, "ext-file");
	setenv("BREAKGLASS_UPSTREAM_ROLE_ARN", "arn:aws:iam::123456789012:role/env", 1);
	assert_int_equal(load(&c, path, &e, NULL), 0);
	assert_string_equal(c.upstream_role_arn, "arn:aws:iam::123456789012:role/env");
	assert_int_equal(
	    load(&c, path, &e, "upstream-role-arn=arn:aws:iam::123456789012:role/flag", NULL), 0);
	assert_string_equal(c.upstream_role_arn, "arn:aws:iam::123456789012:role/flag");
	unsetenv("BREAKGLASS_UPSTREAM_ROLE_ARN");
	unlink(path);
	assert_int_equal(load(&c, NULL, &e, "upstream-external-id=x", NULL), BG_EINVAL);
	assert_non_null(strstr(e.msg, "needs upstream_role_arn"));
	assert_int_equal(load(&c, NULL, &e, "upstream-role-arn=breakglass", NULL), BG_EINVAL);
	assert_non_null(strstr(e.msg, "role ARN"));
}

static void test_tuning_and_tls(void **state)
{
	gw_config c;
	bg_err e;

	clear_env();
	assert_int_equal(load(&c, NULL, &e, NULL), 0);
	assert_int_equal(c.max_connections, BG_MAX_CONNECTIONS);
	assert_int_equal(c.header_timeout_ms, BG_HTTP_HEADER_TIMEOUT_MS);
	assert_int_equal(c.upstream_timeout_ms, BG_UPSTREAM_TIMEOUT_MS);
	assert_int_equal(c.drain_timeout_ms, BG_DRAIN_TIMEOUT_MS);
	assert_true(c.threads >= 1);
	write_file("header_timeout: 250ms\ndrain_timeout: 2m\nmax_connections: 64\n");
	assert_int_equal(load(&c, path, &e, NULL), 0);
	assert_int_equal(c.header_timeout_ms, 250);
	assert_int_equal(c.drain_timeout_ms, 120000);
	assert_int_equal(c.max_connections, 64);
	setenv("BREAKGLASS_HEADER_TIMEOUT", "3s", 1);
	assert_int_equal(load(&c, path, &e, NULL), 0);
	assert_int_equal(c.header_timeout_ms, 3000);
	unsetenv("BREAKGLASS_HEADER_TIMEOUT");
	unlink(path);
	assert_int_equal(load(&c, NULL, &e, "upstream-timeout=1s500ms", "threads=3", NULL), 0);
	assert_int_equal(c.upstream_timeout_ms, 1500);
	assert_int_equal(c.threads, 3);

	write_file("header_timeout: 10\n"); /* a bare number: seconds or ms? refused */
	assert_int_equal(load(&c, path, &e, NULL), BG_EINVAL);
	assert_non_null(strstr(e.msg, "header_timeout"));
	write_file("drain_timeout: 11m\n");
	assert_int_not_equal(load(&c, path, &e, NULL), 0);
	assert_non_null(strstr(e.msg, "drain_timeout"));
	write_file("max_connections: 0\n");
	assert_int_equal(load(&c, path, &e, NULL), BG_EINVAL);
	write_file("threads: 1000\n");
	assert_int_equal(load(&c, path, &e, NULL), BG_EINVAL);
	unlink(path);

	assert_int_equal(load(&c, NULL, &e, "tls-cert=/x.pem", NULL), BG_EINVAL);
	assert_non_null(strstr(e.msg, "together"));
	assert_int_equal(load(&c, NULL, &e, "listen=0.0.0.0:8700", NULL), BG_EINVAL);
	assert_non_null(strstr(e.msg, "needs TLS"));
	assert_int_equal(
	    load(&c, NULL, &e, "listen=0.0.0.0:8700", "tls-cert=/x.pem", "tls-key=/x.key", NULL),
	    0);
	assert_string_equal(c.tls_key, "/x.key");
	clear_env();
}

/* The audit: section (docs/audit.md): checkpoint cadence and sinks. */
static void test_audit_section(void **state)
{
	gw_config c;
	bg_err e;

	(void)state;
	clear_env();
	assert_int_equal(load(&c, NULL, &e, NULL), 0);
	assert_int_equal(c.audit_checkpoint_every, 1000);
	assert_int_equal(c.audit_checkpoint_ms, 10000);
	write_file("audit:\n  checkpoint_every: 50\n  checkpoint_seconds: 2\n");
	assert_int_equal(load(&c, path, &e, NULL), 0);
	assert_int_equal(c.audit_checkpoint_every, 50);
	assert_int_equal(c.audit_checkpoint_ms, 2000);
	write_file("audit:\n  checkpoint_every: 0\n");
	assert_int_equal(load(&c, path, &e, NULL), BG_EINVAL);
	write_file("audit:\n  checkpoint_seconds: 3601\n");
	assert_int_equal(load(&c, path, &e, NULL), BG_EINVAL);
	write_file("audit:\n  checkpoint_evry: 5\n");
	assert_int_equal(load(&c, path, &e, NULL), BG_EINVAL);
	assert_non_null(strstr(e.msg, "audit.checkpoint_evry"));
	/* The example, as it is. */
	write_file("audit:\n  checkpoint_every: 1000\n  checkpoint_seconds: 10\n  sinks:\n"
	           "    - {type: jsonl, path: audit/audit.jsonl, max_bytes: 104857600, required: "
	           "true}\n"
	           "    - {type: syslog, address: \"tcp://127.0.0.1:5514\", required: false}\n"
	           "    - {type: syslog, address: \"relp://127.0.0.1:2514\", required: true}\n"
	           "    - {type: cloudwatch, log_group: breakglass, log_stream: gw-1, region: "
	           "us-east-1, required: false}\n");
	assert_int_equal(load(&c, path, &e, NULL), 0);
	assert_int_equal(c.nsinks, 4);
	assert_int_equal(c.sinks[0].type, SINK_JSONL);
	assert_true(c.sinks[0].required);
	assert_int_equal(c.sinks[0].max_bytes, 104857600);
	/* Relative to the config file's folder, made absolute. */
	assert_true(c.sinks[0].path[0] == '/');
	assert_non_null(strstr(c.sinks[0].path, "/audit/audit.jsonl"));
	assert_int_equal(c.sinks[1].type, SINK_SYSLOG);
	assert_false(c.sinks[1].required);
	assert_string_equal(c.sinks[1].address, "tcp://127.0.0.1:5514");
	assert_string_equal(c.sinks[2].address, "relp://127.0.0.1:2514");
	assert_int_equal(c.sinks[3].type, SINK_CLOUDWATCH);
	assert_string_equal(c.sinks[3].log_group, "breakglass");
	assert_string_equal(c.sinks[3].log_stream, "gw-1");
	assert_string_equal(c.sinks[3].region, "us-east-1");
	/* Each mistake named, at its line. */
	static const struct {
		const char *sink, *msg;
	} bad[] = {
	    {"{type: jsonl, path: a.jsonl}", ":4: an audit sink must say required: true"},
	    {"{type: kafka, required: true}", ":4: unknown audit sink type 'kafka'"},
	    {"{type: jsonl, required: true}", ":4: a jsonl sink needs a path"},
	    {"{type: syslog, required: true}", ":4: a syslog sink needs an address"},
	    {"{type: syslog, address: 'tcp://h', required: true}",
	     ":4: syslog address \"tcp://h\": needs a port"},
	    {"{type: syslog, address: 'http://h:1', required: true}", ":4: syslog address \"http"},
	    {"{type: cloudwatch, log_group: g, required: true}",
	     "needs a log_group and a log_stream"},
	    {"{type: cloudwatch, log_group: 'a b', log_stream: s, required: true}",
	     "log_group may"},
	    {"{type: cloudwatch, log_group: g, log_stream: 'a:b', required: true}",
	     "log_stream may"},
	    {"{type: jsonl, path: a.jsonl, address: 'tcp://x:1', required: true}",
	     "address is not a setting of a jsonl sink"},
	    {"{type: jsonl, path: a.jsonl, max_bytes: 1000, required: true}", "max_bytes"},
	    {"{type: jsonl, path: a.jsonl, required: yes}", "required"},
	    {"{type: jsonl, path: a.jsonl, required: true, colour: red}", "unknown key 'colour'"},
	    {"{type: syslog, address: 'udp://127.0.0.1:514', required: true}",
	     ":4: a udp:// syslog sink cannot be required"},
	    {"{type: syslog, address: 'unix:/dev/log', required: true}",
	     "a unix: syslog sink cannot be required"},
	    {"[jsonl]", "must be a mapping"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512];

		snprintf(text, sizeof(text), "audit:\n  checkpoint_every: 5\n  sinks:\n    - %s\n",
		         bad[i].sink);
		write_file(text);
		assert_int_equal(load(&c, path, &e, NULL), BG_EINVAL);
		if (strstr(e.msg, bad[i].msg) == NULL)
			fail_msg("%s: got '%s', want '%s'", bad[i].sink, e.msg, bad[i].msg);
	}
	write_file("audit:\n  sinks:\n    - {type: jsonl, path: /a, required: true}\n"
	           "    - {type: jsonl, path: /a, required: false}\n");
	assert_int_equal(load(&c, path, &e, NULL), BG_EINVAL);
	assert_non_null(strstr(e.msg, "listed twice"));
	write_file("audit:\n  sinks: {type: jsonl}\n");
	assert_int_equal(load(&c, path, &e, NULL), BG_EINVAL);
	assert_non_null(strstr(e.msg, "audit.sinks must be a list"));
	write_file("audit: 5\n");
	assert_int_equal(load(&c, path, &e, NULL), BG_EINVAL);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),      cmocka_unit_test(test_precedence),
	    cmocka_unit_test(test_errors),        cmocka_unit_test(test_tuning_and_tls),
	    cmocka_unit_test(test_upstream_role), cmocka_unit_test(test_audit_section),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
