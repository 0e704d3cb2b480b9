/*
 * test_datadir.c - the data directory: every file's path comes from here, a directory
 * made here is 0700 (its missing parents too), and a directory that is missing, not a
 * directory, named too long or writable by every user is refused; a creation that failed
 * part-way is undone without touching what was there before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit_util.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/limits.h"
#include "store/datadir.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	return ut_tmpdir(tmpdir, sizeof(tmpdir), "datadir");
}

static int teardown(void **state)
{
	(void)state;
	return ut_rm_tree(tmpdir);
}

static void test_paths(void **state)
{
	char dir[128], want[200];
	datadir *d = NULL;
	struct stat st;
	bg_err e;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/x/y/data", tmpdir);
	assert_int_equal(datadir_open(dir, false, &d, &e), BG_ENOTFOUND);
	assert_null(d);
	assert_int_equal(datadir_open(dir, true, &d, &e), 0);
	assert_string_equal(datadir_root(d), dir);
	snprintf(want, sizeof(want), "%s/breakglass.db", dir);
	assert_string_equal(datadir_path(d, DATADIR_DB), want);
	snprintf(want, sizeof(want), "%s/master.key", dir);
	assert_string_equal(datadir_path(d, DATADIR_MASTER_KEY), want);
	snprintf(want, sizeof(want), "%s/audit-signing.key", dir);
	assert_string_equal(datadir_path(d, DATADIR_AUDIT_KEY), want);
	datadir_free(d);
	/* What it made is private; what it found is opened as it is. */
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(want, sizeof(want), "%s/x", tmpdir);
	assert_int_equal(stat(want, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(datadir_open(dir, false, &d, &e), 0);
	datadir_free(d);
	assert_int_equal(datadir_open(dir, true, &d, &e), 0);
	datadir_free(d);
	datadir_free(NULL);
}

static void touch(const char *path)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs("x", f);
	fclose(f);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Undoing a creation: the files marked (the store with its SQLite companions) and the
 * directories this open made go; unmarked files, and directories that were there before,
 * stay. */
static void test_remove_created(void **state)
{
	bool files[DATADIR_FILES] = {false};
	char dir[128], p[256];
	datadir *d = NULL;
	bg_err e;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/a/b/data", tmpdir);
	snprintf(p, sizeof(p), "%s/a", tmpdir);
	assert_int_equal(mkdir(p, 0700), 0); /* there before: stays */
	assert_int_equal(datadir_open(dir, true, &d, &e), 0);
	assert_false(datadir_has(d, DATADIR_DB));
	touch(datadir_path(d, DATADIR_DB));
	snprintf(p, sizeof(p), "%s-wal", datadir_path(d, DATADIR_DB));
	touch(p);
	touch(datadir_path(d, DATADIR_MASTER_KEY));
	assert_true(datadir_has(d, DATADIR_DB));
	files[DATADIR_DB] = true;
	files[DATADIR_MASTER_KEY] = true;
	datadir_remove_created(d, files);
	datadir_free(d);
	assert_false(exists(dir));
	snprintf(p, sizeof(p), "%s/a/b", tmpdir);
	assert_false(exists(p));
	snprintf(p, sizeof(p), "%s/a", tmpdir);
	assert_true(exists(p));

	/* An unmarked file keeps its directory. */
	assert_int_equal(datadir_open(dir, true, &d, &e), 0);
	touch(datadir_path(d, DATADIR_DB));
	touch(datadir_path(d, DATADIR_AUDIT_KEY));
	files[DATADIR_MASTER_KEY] = false;
	datadir_remove_created(d, files);
	assert_false(datadir_has(d, DATADIR_DB));
	assert_true(datadir_has(d, DATADIR_AUDIT_KEY));
	datadir_free(d);
	assert_true(exists(dir));

	/* Opened without creating: nothing of the directory is removed. */
	assert_int_equal(datadir_open(dir, false, &d, &e), 0);
	files[DATADIR_DB] = false;
	files[DATADIR_AUDIT_KEY] = true;
	datadir_remove_created(d, files);
	datadir_free(d);
	assert_true(exists(dir));
}

static void test_refused(void **state)
{
	char dir[128], file[160], longname[BG_MAX_DATA_DIR + 2];
	datadir *d = NULL;
	FILE *f;
	bg_err e;

	(void)state;
	assert_int_equal(datadir_open("", true, &d, &e), BG_EINVAL);
	assert_int_equal(datadir_open(NULL, false, &d, &e), BG_EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(datadir_open(longname, true, &d, &e), BG_EINVAL);

	/* Not a directory. */
	snprintf(file, sizeof(file), "%s/plain", tmpdir);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(datadir_open(file, false, &d, &e), BG_EINVAL);
	assert_int_equal(datadir_open(file, true, &d, &e), BG_EINVAL);

	/* Writable by every user: anyone could swap the database or the key. */
	snprintf(dir, sizeof(dir), "%s/open", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(datadir_open(dir, false, &d, &e), BG_EDENIED);
	assert_non_null(strstr(e.msg, "chmod"));
	assert_int_equal(datadir_open(dir, true, &d, &e), BG_EDENIED);
	assert_null(d);
	/* Group-writable is the owner's choice (a team's directory). */
	assert_int_equal(chmod(dir, 0770), 0);
	assert_int_equal(datadir_open(dir, false, &d, &e), 0);
	datadir_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remove_created, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
