/*
 * localddb.c - a throwaway local DynamoDB: a private dynalite, tables as tables.yaml
 * declares them, the runbooks' fixtures (see localddb.h). Shared by `runbook test` and
 * `drill`.
 */
#include "cli/localddb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/limits.h"

extern char **environ;

int localddb_free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool executable(const char *p)
{
	return p != NULL && p[0] != '\0' && access(p, X_OK) == 0;
}

int localddb_start(pid_t *pid, char *url, size_t cap, bg_err *e)
{
	const char *env = getenv("BREAKGLASS_DYNALITE"), *prog = NULL;
	char port_s[16];
	char *argv[] = {NULL, "--host",          "127.0.0.1", "--port", port_s, "--createTableMs",
	                "0",  "--deleteTableMs", "0",         NULL};
	posix_spawn_file_actions_t fa;
	int port = localddb_free_port(), rc;

	if (executable(env))
		prog = env;
	else if (executable("node_modules/.bin/dynalite"))
		prog = "node_modules/.bin/dynalite";
	else
		prog = "dynalite"; /* on PATH, or the spawn fails below */
	if (port < 0)
		return bg_err_set(e, BG_EIO, "no free port for dynalite");
	snprintf(port_s, sizeof(port_s), "%d", port);
	argv[0] = (char *)prog;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return bg_err_set(
		    e, BG_EIO,
		    "cannot start dynalite (%s): %s; set BREAKGLASS_DYNALITE, run `make "
		    "deps`, or give --endpoint URL of a local DynamoDB",
		    prog, strerror(rc));
	snprintf(url, cap, "http://127.0.0.1:%d", port);
	return 0;
}

void localddb_stop(pid_t pid)
{
	int n;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	/* A process that does not stop within 5 s is killed: the caller must not hang on
	 * it (and a drill's temporary folder, which holds keys, must be removed). */
	for (n = 0; n < 250; n++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		nanosleep(&(struct timespec){0, 20000000L}, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int localddb_wait_ready(cli_ddb *db, bg_err *e)
{
	int tries, c = BG_EUPSTREAM;

	/* node takes a moment to start */
	for (tries = 0; tries < 100; tries++) {
		json_t *ans = NULL, *req = json_object();
		c = req != NULL ? cli_ddb_call(db, "ListTables", req, &ans, e) : BG_ENOMEM;
		json_decref(req);
		json_decref(ans);
		if (c != BG_EUPSTREAM)
			break;
		nanosleep(&(struct timespec){0, 100000000L}, NULL);
	}
	return c == BG_EUPSTREAM ? c : 0;
}

static void attr_def(json_t *defs, const char *name, char type)
{
	const char *n;
	size_t i;
	json_t *d;
	char t[2] = {type, '\0'};

	json_array_foreach(defs, i, d)
	{
		n = json_string_value(json_object_get(d, "AttributeName"));
		if (n != NULL && strcmp(n, name) == 0)
			return;
	}
	json_array_append_new(defs,
	                      json_pack("{s:s,s:s}", "AttributeName", name, "AttributeType", t));
}

static json_t *key_schema(const runbook_keys *k)
{
	json_t *ks = json_pack("[{s:s,s:s}]", "AttributeName", k->pk, "KeyType", "HASH");

	if (ks != NULL && k->sk[0] != '\0')
		json_array_append_new(
		    ks, json_pack("{s:s,s:s}", "AttributeName", k->sk, "KeyType", "RANGE"));
	return ks;
}

/* Waits until DescribeTable says ACTIVE (gone=false) or the table is gone (gone=true):
 * DynamoDB and dynalite create and delete tables asynchronously. */
static int table_wait(cli_ddb *db, const char *name, bool gone, bg_err *e)
{
	json_t *req = json_pack("{s:s}", "TableName", name), *ans = NULL;
	enum { NOT_YET = 1 };
	const char *st;
	int rc = 0, tries;

	for (tries = 0; tries < 200; tries++) {
		rc = cli_ddb_call(db, "DescribeTable", req, &ans, e);
		st = json_string_value(
		    json_object_get(json_object_get(ans, "Table"), "TableStatus"));
		if (gone && rc == BG_EDENIED && strstr(e->msg, "ResourceNotFound") != NULL)
			rc = 0;
		else if (!gone && rc == 0 && st != NULL && strcmp(st, "ACTIVE") == 0)
			rc = 0;
		else
			rc = NOT_YET;
		json_decref(ans);
		ans = NULL;
		if (rc != NOT_YET)
			break;
		nanosleep(&(struct timespec){0, 50000000L}, NULL);
	}
	json_decref(req);
	return rc == NOT_YET ? bg_err_set(e, BG_EUPSTREAM, "table %s did not become %s", name,
	                                  gone ? "deleted" : "active")
	                     : rc;
}

/* Drops and creates the table as tables.yaml declares it. */
int localddb_fresh_table(cli_ddb *db, const runbook_table *tb, bg_err *e)
{
	json_t *req, *ans = NULL, *defs = json_array(), *gsis = json_array();
	size_t i;
	int rc;

	req = json_pack("{s:s}", "TableName", tb->name);
	rc = cli_ddb_call(db, "DeleteTable", req, &ans, e);
	json_decref(req);
	json_decref(ans);
	ans = NULL;
	if (rc == BG_EUPSTREAM || (rc = table_wait(db, tb->name, true, e)) != 0) {
		json_decref(defs);
		json_decref(gsis);
		return rc;
	}
	attr_def(defs, tb->keys.pk, tb->keys.pk_type);
	if (tb->keys.sk[0] != '\0')
		attr_def(defs, tb->keys.sk, tb->keys.sk_type);
	for (i = 0; i < tb->n_indexes; i++) {
		const runbook_keys *k = &tb->index_keys[i];
		attr_def(defs, k->pk, k->pk_type);
		if (k->sk[0] != '\0')
			attr_def(defs, k->sk, k->sk_type);
		json_array_append_new(
		    gsis, json_pack("{s:s,s:o,s:{s:s},s:{s:i,s:i}}", "IndexName",
		                    tb->index_names[i], "KeySchema", key_schema(k), "Projection",
		                    "ProjectionType", "ALL", "ProvisionedThroughput",
		                    "ReadCapacityUnits", 5, "WriteCapacityUnits", 5));
	}
	req = json_pack("{s:s,s:o,s:o,s:{s:i,s:i}}", "TableName", tb->name, "KeySchema",
	                key_schema(&tb->keys), "AttributeDefinitions", defs,
	                "ProvisionedThroughput", "ReadCapacityUnits", 5, "WriteCapacityUnits", 5);
	if (req != NULL && json_array_size(gsis) > 0)
		json_object_set(req, "GlobalSecondaryIndexes", gsis);
	json_decref(gsis);
	if (req == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	rc = cli_ddb_call(db, "CreateTable", req, &ans, e);
	json_decref(req);
	json_decref(ans);
	return rc != 0 ? rc : table_wait(db, tb->name, false, e);
}

int localddb_load_fixtures(cli_ddb *db, const char *dir, const char *fixtures, const char *table,
                           bg_err *e)
{
	char path[BG_MAX_PATH];
	json_error_t je;
	json_t *items, *item, *req, *ans;
	size_t i;
	int rc = 0;

	if (fixtures == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, fixtures);
	items = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_array(items)) {
		json_decref(items);
		return bg_err_set(e, BG_EINVAL, "%s:%d: %s", fixtures, je.line,
		                  items == NULL ? je.text
		                                : "fixtures must be a JSON array of items");
	}
	if (json_array_size(items) > BG_MAX_FIXTURE_ITEMS) {
		json_decref(items);
		return bg_err_set(e, BG_EINVAL, "%s: more than %d items", fixtures,
		                  BG_MAX_FIXTURE_ITEMS);
	}
	json_array_foreach(items, i, item)
	{
		req = json_pack("{s:s,s:O}", "TableName", table, "Item", item);
		ans = NULL;
		rc = req != NULL ? cli_ddb_call(db, "PutItem", req, &ans, e) : BG_ENOMEM;
		json_decref(req);
		json_decref(ans);
		if (rc != 0) {
			char why[sizeof(e->msg)];
			snprintf(why, sizeof(why), "%s", e->msg);
			rc = bg_err_set(e, rc, "%s: item %zu: %s", fixtures, i + 1, why);
			break;
		}
	}
	json_decref(items);
	return rc;
}
