/*
 * test_awscreds.c - the gateway's own AWS credentials: environment, shared credentials file,
 * explicit values, region resolution, and that no message ever carries a secret.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/limits.h"
#include "signing/awscreds.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

static char tmpdir[256];

static void clear_env(void)
{
	static const char *const vars[] = {"AWS_ACCESS_KEY_ID",           "AWS_SECRET_ACCESS_KEY",
	                                   "AWS_SESSION_TOKEN",           "AWS_SECURITY_TOKEN",
	                                   "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE",
	                                   "AWS_DEFAULT_PROFILE",         "AWS_REGION",
	                                   "AWS_DEFAULT_REGION"};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bg-awscreds-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	clear_env();
	return 0;
}

static int teardown(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		return -1;
	clear_env();
	return 0;
}

/* Writes text to tmpdir/name and returns the path (static buffer). */
static const char *write_tmp(const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	fclose(f);
	return path;
}

static void assert_no_secret(const bg_err *e)
{
	assert_null(strstr(e->msg, SECRET));
	assert_null(strstr(e->msg, "wJalr"));
}

static void test_from_values(void **state)
{
	awscreds *c = NULL;
	char big[BG_MAX_SESSION_TOKEN + 2];
	bg_err e;

	(void)state;
	assert_int_equal(awscreds_from_values("AKIAIOSFODNN7EXAMPLE", SECRET, NULL, &c, &e), 0);
	assert_string_equal(awscreds_access_key_id(c), "AKIAIOSFODNN7EXAMPLE");
	assert_string_equal(awscreds_secret_access_key(c), SECRET);
	assert_null(awscreds_session_token(c));
	assert_string_equal(awscreds_source(c), "credentials");
	awscreds_free(c);
	assert_int_equal(awscreds_from_values("AKIAIOSFODNN7EXAMPLE", SECRET, "", &c, &e), 0);
	assert_null(awscreds_session_token(c));
	awscreds_free(c);
	assert_int_equal(awscreds_from_values("ASIAEXAMPLE", SECRET, "FwoGZX+/tok==", &c, &e), 0);
	assert_string_equal(awscreds_session_token(c), "FwoGZX+/tok==");
	awscreds_free(c);
	awscreds_free(NULL);

	assert_int_equal(awscreds_from_values(NULL, SECRET, NULL, &c, &e), BG_EINVAL);
	assert_null(c);
	assert_int_equal(awscreds_from_values("AKID", NULL, NULL, &c, &e), BG_EINVAL);
	assert_int_equal(awscreds_from_values("", SECRET, NULL, &c, &e), BG_EINVAL);
	assert_int_equal(awscreds_from_values("AK ID", SECRET, NULL, &c, &e), BG_EINVAL);
	assert_int_equal(awscreds_from_values("AKID", "", NULL, &c, &e), BG_EINVAL);
	assert_int_equal(awscreds_from_values("AKID", "wJalr secret", NULL, &c, &e), BG_EINVAL);
	assert_no_secret(&e);
	assert_int_equal(awscreds_from_values("AKID", SECRET, "tok\r\nX-Evil: 1", &c, &e),
	                 BG_EINVAL);
	assert_null(strstr(e.msg, "Evil"));
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(awscreds_from_values("AKID", SECRET, big, &c, &e), BG_EINVAL);
	big[BG_MAX_ACCESS_KEY_ID + 1] = '\0';
	assert_int_equal(awscreds_from_values(big, SECRET, NULL, &c, &e), BG_EINVAL);
	big[BG_MAX_ACCESS_KEY_ID] = '\0';
	assert_int_equal(awscreds_from_values(big, SECRET, NULL, &c, &e), 0);
	awscreds_free(c);
	assert_null(awscreds_access_key_id(NULL));
}

static void test_environment(void **state)
{
	awscreds *c = NULL;
	bg_err e;

	(void)state;
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	assert_int_equal(awscreds_load(&c, &e), 0);
	assert_string_equal(awscreds_access_key_id(c), "AKIAENVEXAMPLE");
	assert_string_equal(awscreds_secret_access_key(c), SECRET);
	assert_null(awscreds_session_token(c));
	assert_string_equal(awscreds_source(c), "environment");
	awscreds_free(c);

	setenv("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2VjEXAMPLE", 1);
	assert_int_equal(awscreds_load(&c, &e), 0);
	assert_string_equal(awscreds_session_token(c), "IQoJb3JpZ2luX2VjEXAMPLE");
	awscreds_free(c);
	setenv("AWS_SESSION_TOKEN", "", 1);
	setenv("AWS_SECURITY_TOKEN", "legacytoken", 1);
	assert_int_equal(awscreds_load(&c, &e), 0);
	assert_string_equal(awscreds_session_token(c), "legacytoken");
	awscreds_free(c);
	unsetenv("AWS_SECURITY_TOKEN");

	/* Partial: the key id without the secret is an error, not a fall-through. */
	unsetenv("AWS_SECRET_ACCESS_KEY");
	assert_int_equal(awscreds_load(&c, &e), BG_EINVAL);
	assert_null(c);
	assert_non_null(strstr(e.msg, "AWS_SECRET_ACCESS_KEY"));
	/* A malformed secret: refused, and not echoed. */
	setenv("AWS_SECRET_ACCESS_KEY", "wJalr with spaces", 1);
	assert_int_equal(awscreds_load(&c, &e), BG_EINVAL);
	assert_no_secret(&e);
	assert_non_null(strstr(e.msg, "environment"));

	/* An empty AWS_ACCESS_KEY_ID counts as unset: on to the (missing) file. */
	setenv("AWS_ACCESS_KEY_ID", "", 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	assert_int_equal(awscreds_load(&c, &e), BG_ENOTFOUND);
	assert_non_null(strstr(e.msg, "/nonexistent/credentials"));
	clear_env();
}

static const char *const good_file = "# AWS credentials\n"
                                     "; another comment\n"
                                     "[default]\n"
                                     "aws_access_key_id = AKIADEFAULTEXAMPLE\n"
                                     "aws_secret_access_key = " SECRET "\n"
                                     "\n"
                                     "[prod]\r\n"
                                     "  AWS_Access_Key_Id=AKIAPRODEXAMPLE   \r\n"
                                     "aws_secret_access_key:prodsecret/+=\r\n"
                                     "aws_session_token = FwoGZXIvYXdzEXAMPLE==\r\n"
                                     "s3 =\n"
                                     "    max_concurrent_requests = 10\n"
                                     "    multipart_threshold = 64MB\n"
                                     "region = eu-west-1\n"
                                     "\n"
                                     "[ spaced ]\n"
                                     "aws_access_key_id = AKIASPACED\n"
                                     "aws_secret_access_key = spacedsecret\n"
                                     "[nosecret]\n"
                                     "aws_access_key_id = AKIANOSECRET\n"
                                     "[profile other]\n"
                                     "aws_access_key_id = AKIAOTHER\n"
                                     "aws_secret_access_key = othersecret";

static void test_file(void **state)
{
	const char *path = write_tmp("credentials", good_file);
	awscreds *c = NULL;
	bg_err e;

	(void)state;
	assert_int_equal(awscreds_load_file(path, NULL, &c, &e), 0);
	assert_string_equal(awscreds_access_key_id(c), "AKIADEFAULTEXAMPLE");
	assert_string_equal(awscreds_secret_access_key(c), SECRET);
	assert_null(awscreds_session_token(c));
	assert_non_null(strstr(awscreds_source(c), "profile default"));
	awscreds_free(c);

	assert_int_equal(awscreds_load_file(path, "prod", &c, &e), 0);
	assert_string_equal(awscreds_access_key_id(c), "AKIAPRODEXAMPLE");
	assert_string_equal(awscreds_secret_access_key(c), "prodsecret/+=");
	assert_string_equal(awscreds_session_token(c), "FwoGZXIvYXdzEXAMPLE==");
	awscreds_free(c);

	assert_int_equal(awscreds_load_file(path, "spaced", &c, &e), 0);
	assert_string_equal(awscreds_access_key_id(c), "AKIASPACED");
	awscreds_free(c);
	/* The credentials file has no "profile " prefix: the section is named "profile other". */
	assert_int_equal(awscreds_load_file(path, "profile other", &c, &e), 0);
	assert_string_equal(awscreds_access_key_id(c), "AKIAOTHER");
	awscreds_free(c);
	assert_int_equal(awscreds_load_file(path, "other", &c, &e), BG_ENOTFOUND);

	assert_int_equal(awscreds_load_file(path, "nosecret", &c, &e), BG_EINVAL);
	assert_non_null(strstr(e.msg, "aws_secret_access_key"));
	assert_int_equal(awscreds_load_file(path, "missing", &c, &e), BG_ENOTFOUND);
	assert_null(c);
	assert_int_equal(awscreds_load_file("/nonexistent/creds", NULL, &c, &e), BG_ENOTFOUND);
	assert_int_equal(awscreds_load_file(tmpdir, NULL, &c, &e), BG_EINVAL); /* a directory */

	/* Through awscreds_load: AWS_SHARED_CREDENTIALS_FILE and AWS_PROFILE. */
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	assert_int_equal(awscreds_load(&c, &e), 0);
	assert_string_equal(awscreds_access_key_id(c), "AKIADEFAULTEXAMPLE");
	awscreds_free(c);
	setenv("AWS_DEFAULT_PROFILE", "spaced", 1);
	assert_int_equal(awscreds_load(&c, &e), 0);
	assert_string_equal(awscreds_access_key_id(c), "AKIASPACED");
	awscreds_free(c);
	setenv("AWS_PROFILE", "prod", 1);
	assert_int_equal(awscreds_load(&c, &e), 0);
	assert_string_equal(awscreds_access_key_id(c), "AKIAPRODEXAMPLE");
	awscreds_free(c);
	setenv("AWS_PROFILE", "missing", 1);
	assert_int_equal(awscreds_load(&c, &e), BG_ENOTFOUND);
	assert_non_null(strstr(e.msg, "missing"));
	/* The environment wins over the file. */
	setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	assert_int_equal(awscreds_load(&c, &e), 0);
	assert_string_equal(awscreds_access_key_id(c), "AKIAENV");
	awscreds_free(c);
	clear_env();
}

static void test_home(void **state)
{
	char dir[512], *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	awscreds *c = NULL;
	bg_err e;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/.aws", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	write_tmp(".aws/credentials", "[default]\naws_access_key_id=AKIAHOME\n"
	                              "aws_secret_access_key=homesecret\n");
	setenv("HOME", tmpdir, 1);
	assert_int_equal(awscreds_load(&c, &e), 0);
	assert_string_equal(awscreds_access_key_id(c), "AKIAHOME");
	awscreds_free(c);
	/* "~/" in AWS_SHARED_CREDENTIALS_FILE is the home directory. */
	write_tmp("other-creds", "[default]\naws_access_key_id=AKIATILDE\n"
	                         "aws_secret_access_key=tildesecret\n");
	setenv("AWS_SHARED_CREDENTIALS_FILE", "~/other-creds", 1);
	assert_int_equal(awscreds_load(&c, &e), 0);
	assert_string_equal(awscreds_access_key_id(c), "AKIATILDE");
	awscreds_free(c);
	if (old_home)
		setenv("HOME", old_home, 1);
	free(old_home);
	clear_env();
}

static void test_malformed_files(void **state)
{
	static const char *const bad[] = {
	    "aws_access_key_id = AKIA\n",                      /* outside a section */
	    "[default\naws_access_key_id = AKIA\n",            /* unterminated header */
	    "[]\naws_access_key_id = AKIA\n",                  /* empty name */
	    "[default]\njust some words\n",                    /* no '=' */
	    "[default]\n= value\n",                            /* no key */
	    "[default]\naws_access_key_id = A\n  stray = 1\n", /* indented, not nested */
	    ("[default]\naws_access_key_id = A\naws_access_key_id = B\n"
	     "aws_secret_access_key = wJalrsecret\n"), /* twice */
	    "[default]\naws_access_key_id = A\n[default]\naws_secret_access_key = wJalrsecret\n",
	    "[default]\naws_access_key_id = AK ID\naws_secret_access_key = wJalrsecret\n",
	    "[default]\naws_access_key_id = AKID\naws_secret_access_key = wJalr secret\n",
	};
	awscreds *c = NULL;
	bg_err e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *path = write_tmp("bad", bad[i]);
		int rc = awscreds_load_file(path, "default", &c, &e);
		if (rc != BG_EINVAL)
			fail_msg("malformed file #%zu: rc %d (%s)", i, rc, e.msg);
		assert_null(c);
		assert_no_secret(&e);
		assert_null(strstr(e.msg, "wJalr"));
	}
	/* A NUL byte inside. */
	{
		char path[512];
		FILE *f;
		static const char withnul[] = "[default]\naws_access_key_id = A\0B\n";

		snprintf(path, sizeof(path), "%s/nul", tmpdir);
		f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(withnul, 1, sizeof(withnul) - 1, f), sizeof(withnul) - 1);
		fclose(f);
		assert_int_equal(awscreds_load_file(path, "default", &c, &e), BG_EINVAL);
	}
	/* An empty file has no profiles. */
	assert_int_equal(awscreds_load_file(write_tmp("empty", ""), "default", &c, &e),
	                 BG_ENOTFOUND);
	/* Errors name the line. */
	assert_int_equal(
	    awscreds_load_file(write_tmp("bad", "[a]\nx=1\n\n[b]\nnot a pair\n"), "a", &c, &e),
	    BG_EINVAL);
	assert_non_null(strstr(e.msg, ":5:"));
}

static void test_region(void **state)
{
	(void)state;
	clear_env();
	assert_string_equal(awscreds_region(), "us-east-1");
	setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
	assert_string_equal(awscreds_region(), "eu-west-1");
	setenv("AWS_REGION", "ap-southeast-2", 1);
	assert_string_equal(awscreds_region(), "ap-southeast-2");
	setenv("AWS_REGION", "", 1);
	assert_string_equal(awscreds_region(), "eu-west-1");
	clear_env();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_from_values),
	    cmocka_unit_test(test_environment),
	    cmocka_unit_test(test_file),
	    cmocka_unit_test(test_home),
	    cmocka_unit_test(test_malformed_files),
	    cmocka_unit_test(test_region),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
