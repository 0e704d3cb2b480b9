/*
 * datadir.c - the data directory's layout and checks (see datadir.h).
 */
#include "store/datadir.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/limits.h"

static const char *const file_name[DATADIR_FILES] = {
    [DATADIR_DB] = "breakglass.db",
    [DATADIR_MASTER_KEY] = "master.key",
    [DATADIR_AUDIT_KEY] = "audit-signing.key",
    [DATADIR_AUDIT_KEY_NEXT] = "audit-signing.key.next",
    [DATADIR_AUDIT_PUBKEYS] = "audit-keys.pem",
};

/* SQLite's companions of the store file, removed with it by datadir_remove_created. */
static const char *const db_siblings[] = {"-wal", "-shm", "-journal"};

struct datadir {
	char *root;
	char *path[DATADIR_FILES];
	/* The length of the shortest prefix of root that datadir_open created (0: none):
	 * it and every directory below it up to root are this run's. */
	size_t created_from;
};

/* mkdir -p with mode 0700 for every directory created; *created_from receives the length
 * of the first prefix that did not exist (0 if none was made). */
static int make_dirs(const char *dir, size_t *created_from, bg_err *e)
{
	char tmp[PATH_MAX];
	size_t n = strlen(dir), i;

	*created_from = 0;
	if (n >= sizeof(tmp))
		return bg_err_set(e, BG_EINVAL, "data directory: name too long");
	memcpy(tmp, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, 0700) == 0) {
			if (*created_from == 0)
				*created_from = i;
		} else if (errno != EEXIST) {
			return bg_err_set(e, BG_EIO, "data directory: cannot create %s: %s", tmp,
			                  strerror(errno));
		}
		if (i < n)
			tmp[i] = '/';
	}
	return 0;
}

static char *join_path(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);

	if (p == NULL)
		return NULL;
	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

static int check_dir(const char *dir, bg_err *e)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			return bg_err_set(e, BG_ENOTFOUND,
			                  "data directory %s does not exist (run init?)", dir);
		return bg_err_set(e, BG_EIO, "data directory %s: %s", dir, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return bg_err_set(e, BG_EINVAL, "data directory %s is not a directory", dir);
	if ((st.st_mode & S_IWOTH) != 0)
		return bg_err_set(e, BG_EDENIED,
		                  "data directory %s is writable by every user (mode %03o); "
		                  "chmod o-w it",
		                  dir, (unsigned)(st.st_mode & 0777));
	return 0;
}

int datadir_open(const char *dir, bool create, datadir **out, bg_err *e)
{
	datadir *d;
	size_t created_from = 0;
	int rc, i;

	*out = NULL;
	if (dir == NULL || dir[0] == '\0')
		return bg_err_set(e, BG_EINVAL, "no data directory given");
	if (strlen(dir) > BG_MAX_DATA_DIR)
		return bg_err_set(e, BG_EINVAL, "data directory: name longer than %d bytes",
		                  BG_MAX_DATA_DIR);
	if (create && (rc = make_dirs(dir, &created_from, e)) != 0)
		return rc;
	rc = check_dir(dir, e);
	if (rc != 0)
		return rc;
	d = calloc(1, sizeof(*d));
	if (d == NULL || (d->root = strdup(dir)) == NULL)
		goto nomem;
	for (i = 0; i < DATADIR_FILES; i++)
		if ((d->path[i] = join_path(dir, file_name[i])) == NULL)
			goto nomem;
	d->created_from = created_from;
	*out = d;
	return 0;
nomem:
	datadir_free(d);
	return bg_err_set(e, BG_ENOMEM, "out of memory");
}

void datadir_free(datadir *d)
{
	int i;

	if (d == NULL)
		return;
	for (i = 0; i < DATADIR_FILES; i++)
		free(d->path[i]);
	free(d->root);
	free(d);
}

const char *datadir_root(const datadir *d)
{
	return d->root;
}

const char *datadir_path(const datadir *d, datadir_file f)
{
	return d->path[f];
}

bool datadir_has(const datadir *d, datadir_file f)
{
	struct stat st;

	return lstat(d->path[f], &st) == 0 || errno != ENOENT;
}

void datadir_remove_created(datadir *d, const bool files[DATADIR_FILES])
{
	char tmp[PATH_MAX];
	size_t n, k;
	int i;

	for (i = 0; i < DATADIR_FILES; i++) {
		if (!files[i])
			continue;
		(void)unlink(d->path[i]);
		if (i != DATADIR_DB)
			continue;
		for (k = 0; k < sizeof(db_siblings) / sizeof(db_siblings[0]); k++) {
			if (snprintf(tmp, sizeof(tmp), "%s%s", d->path[i], db_siblings[k]) <
			    (int)sizeof(tmp))
				(void)unlink(tmp);
		}
	}
	if (d->created_from == 0)
		return;
	/* Deepest first; rmdir leaves a directory that is not empty alone. */
	n = strlen(d->root);
	if (n >= sizeof(tmp))
		return;
	memcpy(tmp, d->root, n + 1);
	while (n >= d->created_from) {
		if (rmdir(tmp) != 0)
			return;
		while (n > 0 && tmp[n - 1] != '/')
			n--;
		while (n > 0 && tmp[n - 1] == '/')
			n--;
		tmp[n] = '\0';
		if (n < d->created_from)
			return;
	}
}
