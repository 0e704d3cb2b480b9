/*
 * runbook_set.c - a runbook folder (see runbook.h): tables.yaml, then every other *.yaml
 * file at the top level as one template each, ids unique, and for each template the git
 * commit it came from when the folder is a git checkout.
 *
 * The folder is read whole at each load (start-up, SIGHUP, a CLI command): it is small, and
 * reading it whole is what makes a load an atomic snapshot the caller can swap in.
 */
#include "runbook/runbook.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/validate.h"
#include "runbook/runbook_internal.h"
#include "common/fileio.h"
#include "common/ytree.h"

extern char **environ;

struct runbook_set {
	char *dir;
	runbook_table *tables;
	size_t n_tables;
	runbook **rbs; /* sorted by id */
	size_t n;
};

#define TABLES_FILE "tables.yaml"

/* Reads a whole regular file of at most max bytes. */
int runbook_read_file(const char *path, size_t max, char **out, size_t *len, bg_err *e)
{
	return bg_read_file(path, max, out, len, e);
}

/* --- tables.yaml --------------------------------------------------------------------- */

/* {name: type} with one entry; type S, N or B. */
static bool read_key(const ytree_node *v, char *name, char *type, runbook_diags *d,
                     const char *what)
{
	const ytree_node *k, *t;

	if (v == NULL || v->kind != YTREE_MAP || ytree_map_size(v) != 1) {
		runbook_diag_add(d, TABLES_FILE, v != NULL ? v->line : 0,
		                 "%s must be {attribute: S|N|B}", what);
		return false;
	}
	k = ytree_map_key(v, 0);
	t = ytree_map_value(v, 0);
	if (k->len > BG_MAX_TABLE_NAME || t->kind != YTREE_SCALAR ||
	    (strcmp(t->text, "S") != 0 && strcmp(t->text, "N") != 0 && strcmp(t->text, "B") != 0)) {
		runbook_diag_add(d, TABLES_FILE, v->line, "%s must be {attribute: S|N|B}", what);
		return false;
	}
	memcpy(name, k->text, k->len + 1);
	*type = t->text[0];
	return true;
}

static bool read_keys(const ytree_node *v, runbook_keys *keys, runbook_diags *d, const char *what)
{
	const ytree_node *sk;
	char msg[300];
	bool ok;

	snprintf(msg, sizeof(msg), "%s: partition_key", what);
	ok = read_key(ytree_get(v, "partition_key"), keys->pk, &keys->pk_type, d, msg);
	sk = ytree_get(v, "sort_key");
	snprintf(msg, sizeof(msg), "%s: sort_key", what);
	if (sk != NULL && !read_key(sk, keys->sk, &keys->sk_type, d, msg))
		ok = false;
	return ok;
}

static int tables_load(runbook_set *s, runbook_diags *d, bg_err *e)
{
	char path[BG_MAX_PATH], *text = NULL;
	const ytree_node *root;
	ytree *t = NULL;
	size_t len, i, j;
	int rc, bad = 0;

	snprintf(path, sizeof(path), "%s/%s", s->dir, TABLES_FILE);
	rc = bg_read_file(path, BG_MAX_RUNBOOK_FILE, &text, &len, e);
	if (rc == BG_ENOTFOUND) {
		runbook_diag_add(d, TABLES_FILE, 0,
		                 "missing: it declares each table's keys and indexes");
		return BG_EINVAL;
	}
	if (rc != 0)
		return rc;
	rc = ytree_parse(text, len, TABLES_FILE, &t, e);
	free(text);
	if (rc != 0) {
		runbook_diag_add(d, TABLES_FILE, 0, "%s", e->msg + strlen(TABLES_FILE) + 1);
		return BG_EINVAL;
	}
	root = ytree_root(t);
	s->tables = calloc(ytree_map_size(root) + 1, sizeof(*s->tables));
	if (root->kind != YTREE_MAP || s->tables == NULL) {
		runbook_diag_add(d, TABLES_FILE, root->line, "must map table names to their keys");
		ytree_free(t);
		return BG_EINVAL;
	}
	for (i = 0; i < ytree_map_size(root); i++) {
		const ytree_node *k = ytree_map_key(root, i), *v = ytree_map_value(root, i), *ix;
		runbook_table *tb = &s->tables[s->n_tables];
		if (!bg_valid_table_name(k->text, k->len)) {
			runbook_diag_add(d, TABLES_FILE, k->line,
			                 "'%s' is not a DynamoDB table name", k->text);
			bad++;
			continue;
		}
		memcpy(tb->name, k->text, k->len + 1);
		for (j = 0; j < ytree_map_size(v); j++) {
			const char *key = ytree_map_key(v, j)->text;
			if (strcmp(key, "partition_key") != 0 && strcmp(key, "sort_key") != 0 &&
			    strcmp(key, "indexes") != 0) {
				runbook_diag_add(
				    d, TABLES_FILE, ytree_map_key(v, j)->line,
				    "%s: unknown key '%s' (partition_key, sort_key, indexes)",
				    tb->name, key);
				bad++;
			}
		}
		if (v->kind != YTREE_MAP || !read_keys(v, &tb->keys, d, tb->name)) {
			bad++;
			continue;
		}
		ix = ytree_get(v, "indexes");
		if (ix != NULL && ix->kind != YTREE_MAP) {
			runbook_diag_add(d, TABLES_FILE, ix->line, "%s: indexes must be a mapping",
			                 tb->name);
			bad++;
		} else if (ix != NULL && ytree_map_size(ix) > 0) {
			size_t n = ytree_map_size(ix);
			tb->index_names = calloc(n, sizeof(*tb->index_names));
			tb->index_keys = calloc(n, sizeof(*tb->index_keys));
			if (tb->index_names == NULL || tb->index_keys == NULL) {
				ytree_free(t);
				return bg_err_set(e, BG_ENOMEM, "out of memory");
			}
			for (j = 0; j < n; j++) {
				const ytree_node *in = ytree_map_key(ix, j);
				char what[300];
				if (!bg_valid_table_name(in->text, in->len)) {
					runbook_diag_add(d, TABLES_FILE, in->line,
					                 "'%s' is not a DynamoDB index name",
					                 in->text);
					bad++;
					continue;
				}
				snprintf(what, sizeof(what), "%s index %s", tb->name, in->text);
				if (!read_keys(ytree_map_value(ix, j),
				               &tb->index_keys[tb->n_indexes], d, what)) {
					bad++;
					continue;
				}
				memcpy(tb->index_names[tb->n_indexes++], in->text, in->len + 1);
			}
		}
		s->n_tables++;
	}
	ytree_free(t);
	return bad ? BG_EINVAL : 0;
}

/* --- git ----------------------------------------------------------------------------- */

/* Runs git with args in dir; its stdout (trimmed, at most cap-1 bytes) into out. Returns
 * 0 when git ran and exited 0. No shell is involved: file names are passed as they are. */
static int git_out(const char *dir, char *const args[], char *out, size_t cap)
{
	char *argv[14];
	posix_spawn_file_actions_t fa;
	int pipefd[2], status = 0, n = 0;
	size_t got = 0, i;
	ssize_t r;
	pid_t pid;

	out[0] = '\0';
	argv[n++] = "git";
	/* Nothing in the folder's own git configuration runs a program for us. */
	argv[n++] = "-c";
	argv[n++] = "core.fsmonitor=false";
	argv[n++] = "-C";
	argv[n++] = (char *)dir;
	for (i = 0; args[i] != NULL && n < 13; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, "git", &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	while (got + 1 < cap && (r = read(pipefd[0], out + got, cap - 1 - got)) > 0)
		got += (size_t)r;
	/* Drain anything beyond cap so git is not blocked on a full pipe. */
	{
		char sink[256];
		while (read(pipefd[0], sink, sizeof(sink)) > 0)
			;
	}
	close(pipefd[0]);
	out[got] = '\0';
	while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == ' '))
		out[--got] = '\0';
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}

/* The commit a file came from: the last commit touching it, if the file is unchanged
 * since; "" otherwise (not a checkout, no git, edited or new). */
static void git_commit(const char *dir, const char *file, char commit[41])
{
	char *log_args[] = {"log", "-1", "--format=%H", "--", (char *)file, NULL};
	char *status_args[] = {"status", "--porcelain", "--", (char *)file, NULL};
	char out[256];

	commit[0] = '\0';
	if (git_out(dir, status_args, out, sizeof(out)) != 0 || out[0] != '\0')
		return;
	if (git_out(dir, log_args, out, sizeof(out)) != 0 || strlen(out) != 40)
		return;
	memcpy(commit, out, 41);
}

/* --- the folder ---------------------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int by_id(const void *a, const void *b)
{
	return strcmp((*(runbook *const *)a)->id, (*(runbook *const *)b)->id);
}

static bool yaml_name(const char *n)
{
	size_t len = strlen(n);

	return n[0] != '.' && len > 5 && strcmp(n + len - 5, ".yaml") == 0 &&
	       strcmp(n, TABLES_FILE) != 0;
}

/* The template files at the top of dir, sorted. */
static int list_files(const char *dir, char ***out, size_t *n, bg_err *e)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	char **names = NULL, **nn;
	size_t count = 0;

	*out = NULL;
	*n = 0;
	if (dp == NULL)
		return bg_err_set(e, errno == ENOENT ? BG_ENOTFOUND : BG_EIO,
		                  "runbook folder %s: %s", dir, strerror(errno));
	while ((de = readdir(dp)) != NULL) {
		if (!yaml_name(de->d_name))
			continue;
		if (count == BG_MAX_RUNBOOKS) {
			closedir(dp);
			for (; count > 0; count--)
				free(names[count - 1]);
			free(names);
			return bg_err_set(e, BG_EINVAL,
			                  "runbook folder %s holds more than %d files", dir,
			                  BG_MAX_RUNBOOKS);
		}
		nn = realloc(names, (count + 1) * sizeof(*nn));
		if (nn == NULL || (nn[count] = strdup(de->d_name)) == NULL) {
			closedir(dp);
			free(nn != NULL ? nn : names);
			return bg_err_set(e, BG_ENOMEM, "out of memory");
		}
		names = nn;
		count++;
	}
	closedir(dp);
	if (count > 0)
		qsort(names, count, sizeof(*names), by_name);
	*out = names;
	*n = count;
	return 0;
}

int runbook_set_load(const char *dir, runbook_set **out, runbook_diags *d, bg_err *e)
{
	runbook_set *s;
	char **files = NULL, path[BG_MAX_PATH], *text;
	size_t nfiles = 0, i, j, len;
	runbook *r;
	int rc, bad = 0;

	*out = NULL;
	if (strlen(dir) + 2 + BG_MAX_RUNBOOK_ID + 64 > sizeof(path))
		return bg_err_set(e, BG_EINVAL, "runbook folder name too long");
	rc = list_files(dir, &files, &nfiles, e);
	if (rc != 0)
		return rc;
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->dir = strdup(dir)) == NULL ||
	    (s->rbs = calloc(nfiles + 1, sizeof(*s->rbs))) == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto fail;
	}
	rc = tables_load(s, d, e);
	if (rc == BG_EINVAL)
		bad++;
	else if (rc != 0)
		goto fail;
	for (i = 0; i < nfiles; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		rc = bg_read_file(path, BG_MAX_RUNBOOK_FILE, &text, &len, e);
		if (rc != 0) {
			runbook_diag_add(d, files[i], 0, "%s", e->msg);
			bad++;
			continue;
		}
		rc = runbook_parse(text, len, files[i], s, &r, d);
		free(text);
		if (rc == BG_ENOMEM)
			goto fail;
		if (rc != 0) {
			bad++;
			continue;
		}
		for (j = 0; j < s->n && strcmp(s->rbs[j]->id, r->id) != 0; j++)
			;
		if (j < s->n) {
			runbook_diag_add(d, files[i], 0, "id %s is already used by %s", r->id,
			                 s->rbs[j]->file);
			runbook_free(r);
			bad++;
			continue;
		}
		git_commit(dir, files[i], r->commit);
		s->rbs[s->n++] = r;
	}
	if (s->n > 0)
		qsort(s->rbs, s->n, sizeof(*s->rbs), by_id);
	for (i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	*out = s;
	return bad ? bg_err_set(e, BG_EINVAL, "runbook folder %s: %zu problem%s", dir, d ? d->n : 0,
	                        d != NULL && d->n == 1 ? "" : "s")
	           : 0;
fail:
	for (i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	runbook_set_free(s);
	return rc;
}

runbook_set *runbook_set_new_empty(void)
{
	runbook_set *s = calloc(1, sizeof(*s));

	if (s != NULL &&
	    ((s->dir = strdup("")) == NULL || (s->rbs = calloc(1, sizeof(*s->rbs))) == NULL)) {
		runbook_set_free(s);
		return NULL;
	}
	return s;
}

bool runbook_set_keep(runbook_set *dst, const runbook_set *old, const char *file)
{
	runbook **grown;
	size_t i;

	for (i = 0; old != NULL && i < old->n && strcmp(old->rbs[i]->file, file) != 0; i++)
		;
	if (old == NULL || i == old->n || runbook_set_find(dst, old->rbs[i]->id) != NULL)
		return false;
	grown = realloc(dst->rbs, (dst->n + 2) * sizeof(*grown));
	if (grown == NULL)
		return false;
	dst->rbs = grown;
	dst->rbs[dst->n++] = runbook_ref(old->rbs[i]);
	qsort(dst->rbs, dst->n, sizeof(*dst->rbs), by_id);
	return true;
}

void runbook_set_free(runbook_set *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		runbook_free(s->rbs[i]);
	for (i = 0; i < s->n_tables; i++) {
		free(s->tables[i].index_names);
		free(s->tables[i].index_keys);
	}
	free(s->tables);
	free(s->rbs);
	free(s->dir);
	free(s);
}

size_t runbook_set_count(const runbook_set *s)
{
	return s->n;
}

const runbook *runbook_set_at(const runbook_set *s, size_t i)
{
	return i < s->n ? s->rbs[i] : NULL;
}

const runbook *runbook_set_find(const runbook_set *s, const char *id)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (strcmp(s->rbs[i]->id, id) == 0)
			return s->rbs[i];
	}
	return NULL;
}

const runbook_table *runbook_set_table(const runbook_set *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n_tables; i++) {
		if (strcmp(s->tables[i].name, name) == 0)
			return &s->tables[i];
	}
	return NULL;
}

const char *runbook_set_dir(const runbook_set *s)
{
	return s->dir;
}
