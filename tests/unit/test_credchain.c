/*
 * test_credchain.c - the credential chain without a network: its order between the
 * environment, the shared credentials file, credential_process (run without a shell,
 * quoted words kept whole, a failing or silent process an error) and keys in the config
 * file; what stops the chain (a misconfigured source) and what passes on (nothing
 * configured); the holder's state and refresher thread with long-term credentials.
 * The HTTP sources (STS, container, IMDSv2) are tested end to end against loopback
 * servers in tests/e2e/test_credentials.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signing/credchain.h"

static char dir[64], cred[128], conf[128];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	static const char *const vars[] = {"AWS_ACCESS_KEY_ID",
	                                   "AWS_SECRET_ACCESS_KEY",
	                                   "AWS_SESSION_TOKEN",
	                                   "AWS_PROFILE",
	                                   "AWS_DEFAULT_PROFILE",
	                                   "AWS_WEB_IDENTITY_TOKEN_FILE",
	                                   "AWS_ROLE_ARN",
	                                   "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	                                   "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	                                   "AWS_CONTAINER_AUTHORIZATION_TOKEN",
	                                   "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	snprintf(dir, sizeof(dir), "/tmp/bg-credchain-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(cred, sizeof(cred), "%s/credentials", dir);
	snprintf(conf, sizeof(conf), "%s/config", dir);
	setenv("HOME", dir, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
	setenv("AWS_CONFIG_FILE", conf, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(cred);
	unlink(conf);
	rmdir(dir);
	return 0;
}

static const credchain_opts opts = {"us-east-1", NULL, NULL, NULL};

/* The access key the chain finds, "" with the error code in *rc otherwise. */
static const char *resolve(int *rc, bg_err *e)
{
	static char akid[64];
	awscreds *c = NULL;

	*rc = credchain_resolve(&opts, &c, e);
	snprintf(akid, sizeof(akid), "%s", c ? awscreds_access_key_id(c) : "");
	awscreds_free(c);
	return akid;
}

static void test_order(void **state)
{
	bg_err e;
	int rc;

	(void)state;
	/* Nothing configured: not found, and the message says where it looked. */
	assert_string_equal(resolve(&rc, &e), "");
	assert_int_equal(rc, BG_ENOTFOUND);
	assert_non_null(strstr(e.msg, "no AWS credentials"));

	/* Keys in the config file (step 6) lose to credential_process (5), which loses to
	 * the credentials file (4), which loses to the environment (1). */
	write_file(conf, "[default]\n"
	                 "aws_access_key_id = AKIDCONF\naws_secret_access_key = s\n"
	                 "[profile proc]\n"
	                 "credential_process = /usr/bin/printf '{\"Version\": 1, \"AccessKeyId\": "
	                 "\"AKIDPROC\", \"SecretAccessKey\": \"s\"}'\n"
	                 "aws_access_key_id = AKIDPROCCONF\naws_secret_access_key = s\n");
	assert_string_equal(resolve(&rc, &e), "AKIDCONF");
	setenv("AWS_PROFILE", "proc", 1);
	assert_string_equal(resolve(&rc, &e), "AKIDPROC");
	write_file(cred, "[proc]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s\n");
	assert_string_equal(resolve(&rc, &e), "AKIDFILE");
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
	assert_string_equal(resolve(&rc, &e), "AKIDENV");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_PROFILE");
	unlink(cred);
}

static void test_process(void **state)
{
	bg_err e;
	int rc;

	(void)state;
	setenv("AWS_PROFILE", "p", 1);
	/* No shell: the command line is split into words, a quoted one kept whole. */
	write_file(conf, "[profile p]\ncredential_process = /bin/sh -c 'test \"$1\" = \"a b\" && "
	                 "printf %s \"{\\\"Version\\\":1,\\\"AccessKeyId\\\":\\\"AKIDQ\\\","
	                 "\\\"SecretAccessKey\\\":\\\"s\\\"}\"' x \"a b\"\n");
	assert_string_equal(resolve(&rc, &e), "AKIDQ");
	write_file(conf, "[profile p]\ncredential_process = /bin/false\n");
	assert_string_equal(resolve(&rc, &e), "");
	assert_int_equal(rc, BG_EIO);
	assert_non_null(strstr(e.msg, "exited with status 1"));
	write_file(conf, "[profile p]\ncredential_process = /usr/bin/printf '{\"Version\": 2}'\n");
	assert_string_equal(resolve(&rc, &e), "");
	assert_int_equal(rc, BG_EINVAL);
	write_file(conf, "[profile p]\ncredential_process = /bin/echo 'unclosed\n");
	assert_string_equal(resolve(&rc, &e), "");
	assert_int_equal(rc, BG_EINVAL);
	write_file(conf, "[profile p]\ncredential_process = /nonexistent/helper\n");
	assert_string_equal(resolve(&rc, &e), "");
	assert_int_equal(rc, BG_EIO);
	unsetenv("AWS_PROFILE");
	unlink(conf);
}

static void test_misconfigured(void **state)
{
	bg_err e;
	int rc;

	(void)state;
	/* A configured source that cannot work stops the chain: no fall-through. */
	setenv("AWS_PROFILE", "r", 1);
	write_file(conf, "[profile r]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = none\n");
	assert_string_equal(resolve(&rc, &e), "");
	assert_int_equal(rc, BG_EINVAL);
	assert_non_null(strstr(e.msg, "source_profile none"));
	unsetenv("AWS_PROFILE");
	unlink(conf);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1/creds", 1);
	assert_string_equal(resolve(&rc, &e), "");
	assert_int_equal(rc, BG_EINVAL);
	assert_non_null(strstr(e.msg, "must be https"));
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	assert_string_equal(resolve(&rc, &e), "");
	assert_int_equal(rc, BG_EINVAL);
	unsetenv("AWS_ACCESS_KEY_ID");
	write_file(cred, "[default]\naws_access_key_id = A\n");
	assert_string_equal(resolve(&rc, &e), "");
	assert_int_equal(rc, BG_EINVAL);
	unlink(cred);
}

static void test_holder(void **state)
{
	credchain *cc = NULL;
	credchain_state st;
	awscreds *a, *b;
	bg_err e;

	(void)state;
	assert_int_equal(credchain_new(&opts, &cc, &e), BG_ENOTFOUND);
	assert_null(cc);
	setenv("AWS_ACCESS_KEY_ID", "AKIDHOLD", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "hold-secret", 1);
	assert_int_equal(credchain_new(&opts, &cc, &e), 0);
	assert_int_equal(credchain_start(cc), 0);
	a = credchain_get(cc);
	b = credchain_get(cc);
	assert_non_null(a);
	assert_ptr_equal(a, b); /* one shared object, referenced twice */
	assert_string_equal(awscreds_access_key_id(a), "AKIDHOLD");
	credchain_status(cc, &st);
	assert_string_equal(st.source, "environment");
	assert_string_equal(st.access_key_id, "AKIDHOLD");
	assert_int_equal(st.expires, 0);
	assert_int_equal(st.valid, 1);
	assert_string_equal(st.last_error, "");
	credchain_free(cc); /* stops the refresher; a and b stay usable */
	assert_string_equal(awscreds_secret_access_key(b), "hold-secret");
	awscreds_free(a);
	awscreds_free(b);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_process, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_misconfigured, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_holder, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
