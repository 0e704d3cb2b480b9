/*
 * cmd_drill.c - `breakglass drill [--scenario FILE]`: a rehearsal of the whole path, from
 * an alert to the report, against a throwaway local DynamoDB; `breakglass drill list`:
 * the drills kept, newest first, and the runbooks that failed in them (issue 11, point 4).
 *
 * Nothing of production is touched. The drill makes a temporary folder with a store of
 * its own (`init`), a private dynalite seeded from the runbooks' fixtures (localddb.h),
 * and a gateway of its own (`serve` on a free loopback port, with a drill policy whose
 * Alertmanager token only this run knows). Then it walks the real path over HTTP: the
 * alert through the Alertmanager webhook, a request by a scripted responder with MFA,
 * the approval by a scripted approver, each runbook of the scenario, the close, the
 * report, the incident's audit export. Every step after the setup is this very binary
 * run as a child (`/proc/self/exe request ...`), so a drill exercises exactly the code a
 * responder runs at 2 a.m., and the count of responder commands is the count of those
 * children a responder would type.
 *
 * The incident's title and the alert's labels, the request's reason and the close's
 * reason say DRILL, so the audit trail and the report cannot be taken for a real
 * incident's. The tool time (alert to first successful templated query) is measured with
 * the monotonic clock and excludes the setup (node starting dynalite, the gateway).
 *
 * Results go to the history folder (--history DIR, $BREAKGLASS_DRILL_HISTORY,
 * $XDG_STATE_HOME/breakglass/drills or ~/.local/state/breakglass/drills), one folder per
 * drill: result.json, the report (md, html, json), the audit export with the keys that
 * verify it, and the gateway's log.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/drill_scenario.h"
#include "cli/help.h"
#include "cli/localddb.h"
#include "cli/output.h"
#include "common/crypto.h"
#include "common/fileio.h"
#include "common/limits.h"
#include "runbook/runbook.h"
#include "workflow/totp.h"

extern char **environ;

/* The target (DESIGN.md, issue 11): alert to first successful templated query within this
 * much tool time, in at most this many responder commands. Reported, never a failure: a
 * slow machine does not make a runbook broken. */
#define DRILL_TARGET_MS       2000.0
#define DRILL_TARGET_COMMANDS 3

typedef struct drill_user {
	char name[32];
	char token[256];
	uint8_t key[TOTP_KEY_LEN];
	int64_t last_step; /* the server takes each 30 s step once per user, increasing */
} drill_user;

typedef struct drill {
	const cli_ctx *ctx;
	const drill_scenario *sc;
	const runbook_set *set;
	char self[BG_MAX_PATH];
	char runbooks[BG_MAX_PATH];
	char tmp[BG_MAX_PATH];
	char out[BG_MAX_PATH];
	char gw_url[64], ddb_url[64];
	char am_token[65];
	pid_t ddb_pid, gw_pid;
	char **env; /* the children's environment: ours without BREAKGLASS_* and AWS_* */
	size_t n_env;
	drill_user admin, responder, approver;
	char incident[BG_MAX_INCIDENT_ID + 1];
	char request[BG_MAX_INCIDENT_ID + 1];
	json_t *steps, *runbooks_res;
	struct timespec t0;
	double t_alert, t_first, t_end; /* ms since t0; < 0 until reached */
	int responder_cmds, responder_cmds_to_first;
	bool failed, aborted;
	int exit_code;
	size_t fixtures_loaded, tables_seeded;
} drill;

/* A drill interrupted (Ctrl-C, SIGTERM, SIGHUP) stops at the next step and still stops
 * its gateway and dynalite and removes its temporary folder (the store's master key, the
 * users' tokens): the signal only sets this. */
static volatile sig_atomic_t drill_signal;

static void on_signal(int sig)
{
	drill_signal = sig;
}

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static double ms_now(const drill *d)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - d->t0.tv_sec) * 1e3 + (double)(t.tv_nsec - d->t0.tv_nsec) / 1e6;
}

/* Milliseconds to a tenth, for result.json (a monotonic clock's nanoseconds are noise). */
static double tenth(double ms)
{
	return (double)(long long)(ms * 10.0 + 0.5) / 10.0;
}

static void iso_time(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* dir/name into out; the folders are bounded well inside BG_MAX_PATH (history_dir), so
 * a cut path is a bug, and is left empty rather than pointing elsewhere. */
static void join(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= cap)
		out[0] = '\0';
}

/* --- progress and results ------------------------------------------------------------- */

/* Records a step: name, whether it passed, its duration, a detail or the error. */
static void step_done(drill *d, const char *name, bool ok, double started, const char *detail)
{
	double ms = ms_now(d) - started;
	char clean[300];

	cli_out_sanitize(detail != NULL ? detail : "", clean, sizeof(clean));
	json_array_append_new(d->steps, json_pack("{s:s,s:b,s:f,s:s}", "step", name, "ok", ok, "ms",
	                                          tenth(ms), "detail", clean));
	if (!ok)
		d->failed = true;
	if (d->ctx->json)
		return;
	printf("  %s %-26s %8.1f ms  %s\n", ok ? "ok  " : "FAIL", name, ms, clean);
	fflush(stdout);
}

/* --- children: this binary, one command each ----------------------------------------- */

static int env_add(drill *d, const char *var)
{
	char **n = realloc(d->env, (d->n_env + 2) * sizeof(*n));

	if (n == NULL)
		return BG_ENOMEM;
	d->env = n;
	if ((n[d->n_env] = strdup(var)) == NULL)
		return BG_ENOMEM;
	n[++d->n_env] = NULL;
	return 0;
}

/* The environment of the children: the caller's, without anything that could point them
 * at production (BREAKGLASS_* names the real server, store and token; AWS_* real
 * credentials), with loopback kept away from any proxy. */
static int env_build(drill *d)
{
	char **e;
	int rc = 0;

	for (e = environ; rc == 0 && *e != NULL; e++) {
		if (strncmp(*e, "BREAKGLASS_", 11) == 0 || strncmp(*e, "AWS_", 4) == 0 ||
		    strncasecmp(*e, "no_proxy=", 9) == 0)
			continue;
		rc = env_add(d, *e);
	}
	rc = rc ? rc : env_add(d, "NO_PROXY=127.0.0.1,localhost");
	rc = rc ? rc : env_add(d, "no_proxy=127.0.0.1,localhost");
	rc = rc ? rc : env_add(d, "AWS_EC2_METADATA_DISABLED=true");
	return rc;
}

static void env_free(drill *d)
{
	size_t i;

	for (i = 0; i < d->n_env; i++)
		free(d->env[i]);
	free(d->env);
	d->env = NULL;
	d->n_env = 0;
}

/* Reads the child's stdout and stderr until both close (each kept up to a bound). */
static void drain(int out_fd, int err_fd, bg_buf *out, bg_buf *err)
{
	struct pollfd p[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
	char chunk[8192];
	int open_fds = (out_fd >= 0) + (err_fd >= 0);

	while (open_fds > 0) {
		int i;
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < 2; i++) {
			ssize_t n;
			if (p[i].fd < 0 || (p[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
				continue;
			n = read(p[i].fd, chunk, sizeof(chunk));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				open_fds--;
				continue;
			}
			bg_buf *b = i == 0 ? out : err;
			if (b->len + (size_t)n <= BG_MAX_DRILL_OUTPUT &&
			    bg_buf_add(b, chunk, (size_t)n) != 0)
				b->failed = true;
		}
	}
	OPENSSL_cleanse(chunk, sizeof(chunk));
}

/*
 * Runs `self ARGS...` as user (NULL: no token) against the drill's gateway, its stdout to
 * file out_path (when not NULL) or parsed as the command's --json object into *ans (may be
 * NULL). Returns the child's exit code (or CLI_EXIT_LOCAL); on a failure why holds the
 * command's own message.
 */
static int child(drill *d, const drill_user *user, const char *const *args, const char *out_path,
                 json_t **ans, char *why, size_t cap)
{
	/* Every command the drill runs: self, the command, its options, and a --param pair
	 * for each of a runbook's parameters. */
	const char *argv[8 + 2 * BG_MAX_RUNBOOK_PARAMS];
	char **env = NULL;
	posix_spawn_file_actions_t fa;
	int po[2] = {-1, -1}, pe[2] = {-1, -1}, rc, status = 0;
	size_t i, n = 0;
	bg_buf out, err;
	pid_t pid;
	json_error_t je;

	why[0] = '\0';
	if (ans != NULL)
		*ans = NULL;
	argv[n++] = d->self;
	for (i = 0; args[i] != NULL; i++) {
		if (n + 1 >= sizeof(argv) / sizeof(argv[0])) {
			snprintf(why, cap, "too many arguments for one command (%zu)", n);
			return CLI_EXIT_LOCAL; /* never run a command with arguments cut off */
		}
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	env = calloc(d->n_env + 3, sizeof(*env));
	if (env == NULL) {
		snprintf(why, cap, "out of memory");
		return CLI_EXIT_LOCAL;
	}
	memcpy(env, d->env, d->n_env * sizeof(*env));
	n = d->n_env;
	if (asprintf(&env[n++], "BREAKGLASS_URL=%s", d->gw_url) < 0 ||
	    (user != NULL && asprintf(&env[n++], "BREAKGLASS_TOKEN=%s", user->token) < 0)) {
		env[n - 1] = NULL;
		rc = CLI_EXIT_LOCAL;
		snprintf(why, cap, "out of memory");
		goto envfree;
	}
	bg_buf_init(&out, BG_MAX_DRILL_OUTPUT + 1);
	bg_buf_init(&err, BG_MAX_DRILL_OUTPUT + 1);
	posix_spawn_file_actions_init(&fa);
	if ((out_path == NULL && pipe2(po, O_CLOEXEC) != 0) || pipe2(pe, O_CLOEXEC) != 0) {
		snprintf(why, cap, "pipe: %s", strerror(errno));
		for (i = 0; i < 2; i++) {
			if (po[i] >= 0)
				close(po[i]);
		}
		rc = CLI_EXIT_LOCAL;
		goto done;
	}
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (out_path != NULL)
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_path,
		                                 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	else
		posix_spawn_file_actions_adddup2(&fa, po[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pe[1], STDERR_FILENO);
	rc = posix_spawn(&pid, d->self, &fa, NULL, (char *const *)argv, env);
	if (po[1] >= 0)
		close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	if (rc != 0) {
		snprintf(why, cap, "cannot run %.600s: %s", d->self, strerror(rc));
		if (po[0] >= 0)
			close(po[0]);
		close(pe[0]);
		rc = CLI_EXIT_LOCAL;
		goto done;
	}
	drain(po[0], pe[0], &out, &err);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : CLI_EXIT_LOCAL;
	if (out_path == NULL && out.len > 0 && !out.failed) {
		json_t *j = json_loadb(out.data, out.len, 0, &je);
		if (rc != 0 && json_is_string(json_object_get(j, "message")))
			cli_out_sanitize(json_string_value(json_object_get(j, "message")), why,
			                 cap);
		if (ans != NULL && json_is_object(j))
			*ans = json_incref(j);
		json_decref(j);
	}
	if (rc != 0 && why[0] == '\0' && err.len > 0 && !err.failed &&
	    bg_buf_addc(&err, '\0') == 0) {
		char *nl = strchr(err.data, '\n');
		if (nl != NULL)
			*nl = '\0';
		cli_out_sanitize(strncmp(err.data, "breakglass: ", 12) == 0 ? err.data + 12
		                                                            : err.data,
		                 why, cap);
	}
	if (rc != 0 && why[0] == '\0')
		snprintf(why, cap, "exit status %d", rc);
done:
	posix_spawn_file_actions_destroy(&fa);
	bg_buf_free_secure(&out);
	bg_buf_free_secure(&err);
envfree:
	for (i = d->n_env; i < d->n_env + 2; i++) {
		if (env[i] != NULL)
			OPENSSL_cleanse(env[i], strlen(env[i]));
		free(env[i]);
	}
	free(env);
	return rc;
}

/* The next code of user the server will take (one per 30 s step, increasing; the step
 * after the current one is accepted too, so a drill needs no waiting). */
static int next_otp(drill_user *u, char code[7])
{
	int64_t step = (int64_t)time(NULL) / TOTP_STEP_SECONDS;

	if (u->last_step >= step + 1) {
		sleep((unsigned)(TOTP_STEP_SECONDS - time(NULL) % TOTP_STEP_SECONDS));
		step = (int64_t)time(NULL) / TOTP_STEP_SECONDS;
	}
	if (step <= u->last_step)
		step = u->last_step + 1;
	u->last_step = step;
	return totp_code(u->key, step * TOTP_STEP_SECONDS, code);
}

static int take_user(drill_user *u, const char *name, const json_t *ans, char *why, size_t cap)
{
	const char *tok = json_string_value(json_object_get(ans, "token"));
	const char *sec = json_string_value(json_object_get(ans, "totp_secret"));

	snprintf(u->name, sizeof(u->name), "%s", name);
	if (tok == NULL || sec == NULL || strlen(tok) >= sizeof(u->token) ||
	    totp_key_from_base32(sec, u->key) != 0) {
		snprintf(why, cap, "the answer holds no token and TOTP secret");
		return -1;
	}
	snprintf(u->token, sizeof(u->token), "%s", tok);
	return 0;
}

/* --- setup: folder, dynalite, store, gateway, users ----------------------------------- */

static int write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	size_t n = strlen(text);
	ssize_t w;

	if (fd < 0)
		return -1;
	w = write(fd, text, n);
	if (close(fd) != 0 || w != (ssize_t)n)
		return -1;
	return 0;
}

/* The drill's policy: the criteria a drill can meet honestly (an open incident with a
 * firing alert, a reason), one approver, the webhook's token. */
static int write_policy(drill *d, char *why, size_t cap)
{
	static const char policy[] = "# written by breakglass drill for this drill only\n"
	                             "criteria:\n"
	                             "  - incident_open: {max_severity: 5}\n"
	                             "  - alert_firing_within: {minutes: 30}\n"
	                             "  - reason: {min_length: 10}\n"
	                             "approval:\n"
	                             "  approvers: 1\n"
	                             "  pending_expires: 15m\n"
	                             "alerts:\n"
	                             "  alertmanager: {bearer_token_file: am.token}\n"
	                             "review: {deadline: 24h}\n";
	uint8_t raw[24];
	char path[BG_MAX_PATH], line[80];

	if (bg_random(raw, sizeof(raw)) != 0) {
		snprintf(why, cap, "no randomness");
		return -1;
	}
	bg_hex(raw, sizeof(raw), d->am_token);
	OPENSSL_cleanse(raw, sizeof(raw));
	snprintf(line, sizeof(line), "%s\n", d->am_token);
	join(path, sizeof(path), d->tmp, "am.token");
	if (write_text(path, line, 0600) != 0) {
		OPENSSL_cleanse(line, sizeof(line));
		snprintf(why, cap, "%.600s: %s", path, strerror(errno));
		return -1;
	}
	OPENSSL_cleanse(line, sizeof(line));
	join(path, sizeof(path), d->tmp, "policy.yaml");
	if (write_text(path, policy, 0600) != 0) {
		snprintf(why, cap, "%.600s: %s", path, strerror(errno));
		return -1;
	}
	/* A checkpoint a second after the last record, so the report written right after
	 * the close covers the whole incident with a signature. */
	join(path, sizeof(path), d->tmp, "serve.yaml");
	if (write_text(path, "audit: {checkpoint_seconds: 1}\n", 0600) != 0) {
		snprintf(why, cap, "%.600s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Tables as tables.yaml declares them, for every runbook of the folder, and each test's
 * fixtures loaded once into its runbook's table. */
static int seed(drill *d, char *why, size_t cap)
{
	json_t *done = json_object();
	cli_ddb *db = NULL;
	size_t i, j;
	bg_err e;
	int rc;

	if (done == NULL) {
		snprintf(why, cap, "out of memory");
		return -1;
	}
	rc = cli_ddb_new(d->ddb_url, "us-east-1", "breakglass-drill", "breakglass-drill", NULL, &db,
	                 &e);
	rc = rc ? rc : localddb_wait_ready(db, &e);
	for (i = 0; rc == 0 && i < runbook_set_count(d->set); i++) {
		const runbook *r = runbook_set_at(d->set, i);
		const runbook_table *tb = runbook_set_table(d->set, r->table);
		char key[BG_MAX_PATH + BG_MAX_TABLE_NAME + 2];
		if (tb != NULL && json_object_get(done, r->table) == NULL) {
			rc = localddb_fresh_table(db, tb, &e);
			if (rc != 0)
				break;
			json_object_set_new(done, r->table, json_true());
			d->tables_seeded++;
		}
		for (j = 0; tb != NULL && j < r->n_tests; j++) {
			if (r->tests[j].fixtures == NULL)
				continue;
			snprintf(key, sizeof(key), "%s\n%s", r->table, r->tests[j].fixtures);
			if (json_object_get(done, key) != NULL)
				continue;
			rc = localddb_load_fixtures(db, d->runbooks, r->tests[j].fixtures, r->table,
			                            &e);
			if (rc != 0)
				break;
			json_object_set_new(done, key, json_true());
			d->fixtures_loaded++;
		}
	}
	cli_ddb_free(db);
	json_decref(done);
	if (rc != 0)
		snprintf(why, cap, "%s", e.msg);
	return rc;
}

/* Waits until 127.0.0.1:port accepts connections while pid lives. */
static int wait_listening(pid_t pid, int port)
{
	struct sockaddr_in a;
	int waited, fd, ok;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	for (waited = 0; waited < BG_DRILL_GATEWAY_WAIT_MS; waited += 20) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -2;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (ok)
			return 0;
		nanosleep(&(struct timespec){0, 20000000L}, NULL);
	}
	return -1;
}

/* One try at starting the gateway on a free port: 0, -2 when it exited at start (the
 * port taken meanwhile, among others: worth another try), -1 otherwise. */
static int gateway_try(drill *d, char *why, size_t cap)
{
	char listen_on[32], data[BG_MAX_PATH], policy[BG_MAX_PATH], log[BG_MAX_PATH];
	char config[BG_MAX_PATH];
	const char *argv[] = {d->self,      "serve",     "--config", config,       "--data",
	                      data,         "--listen",  listen_on,  "--upstream", d->ddb_url,
	                      "--runbooks", d->runbooks, "--policy", policy,       "--public-url",
	                      d->gw_url,    NULL};
	static const char *const aws[] = {"AWS_ACCESS_KEY_ID=breakglass-drill-upstream",
	                                  "AWS_SECRET_ACCESS_KEY=breakglass-drill-upstream",
	                                  "AWS_REGION=us-east-1", NULL};
	posix_spawn_file_actions_t fa;
	char **env;
	size_t i;
	int port = localddb_free_port(), rc;

	if (port < 0) {
		snprintf(why, cap, "no free port for the gateway");
		return -1;
	}
	snprintf(listen_on, sizeof(listen_on), "127.0.0.1:%d", port);
	snprintf(d->gw_url, sizeof(d->gw_url), "http://127.0.0.1:%d", port);
	join(data, sizeof(data), d->tmp, "data");
	join(policy, sizeof(policy), d->tmp, "policy.yaml");
	join(config, sizeof(config), d->tmp, "serve.yaml");
	join(log, sizeof(log), d->out, "gateway.log");
	env = calloc(d->n_env + 4, sizeof(*env));
	if (env == NULL) {
		snprintf(why, cap, "out of memory");
		return -1;
	}
	memcpy(env, d->env, d->n_env * sizeof(*env));
	for (i = 0; aws[i] != NULL; i++)
		env[d->n_env + i] = (char *)aws[i];
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_APPEND,
	                                 0600);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	rc = posix_spawn(&d->gw_pid, d->self, &fa, NULL, (char *const *)argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (rc != 0) {
		d->gw_pid = 0;
		snprintf(why, cap, "cannot run %.200s serve: %s", d->self, strerror(rc));
		return -1;
	}
	rc = wait_listening(d->gw_pid, port);
	if (rc == -2)
		d->gw_pid = 0; /* reaped */
	if (rc != 0)
		snprintf(why, cap, "the gateway %s (see %.600s)",
		         rc == -2 ? "exited at start" : "did not listen within 10 s", log);
	return rc;
}

/* The drill's gateway, on a free loopback port (three tries: another process may take
 * the port between the choice and the gateway's bind). */
static int gateway_start(drill *d, char *why, size_t cap)
{
	int tries, rc = -1;

	for (tries = 0; tries < 3; tries++) {
		rc = gateway_try(d, why, cap);
		if (rc != -2)
			break;
	}
	return rc == 0 ? 0 : -1;
}

/* Stops a process the drill started (SIGTERM, then SIGKILL after 5 s) and forgets it. */
static void stop(pid_t *pid)
{
	localddb_stop(*pid);
	*pid = 0;
}

static int make_users(drill *d, char *why, size_t cap)
{
	static const struct {
		const char *name, *role;
	} who[] = {{"drill-responder", "responder"}, {"drill-approver", "approver"}};
	drill_user *u[] = {&d->responder, &d->approver};
	json_t *ans = NULL;
	char code[7];
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < 2; i++) {
		const char *args[] = {"user",  "add", who[i].name, "--role", who[i].role,
		                      "--otp", code,  "--json",    NULL};
		if (next_otp(&d->admin, code) != 0) {
			snprintf(why, cap, "cannot compute a TOTP code");
			return -1;
		}
		rc = child(d, &d->admin, args, NULL, &ans, why, cap);
		if (rc == 0 && take_user(u[i], who[i].name, ans, why, cap) != 0)
			rc = -1;
		json_decref(ans);
		ans = NULL;
	}
	OPENSSL_cleanse(code, sizeof(code));
	return rc;
}

static int setup_policy(drill *d, char *why, size_t cap)
{
	if (write_policy(d, why, cap) != 0)
		return CLI_EXIT_LOCAL;
	snprintf(why, cap, "one approver, the webhook's own token");
	return 0;
}

static int setup_dynamodb(drill *d, char *why, size_t cap)
{
	bg_err e;

	if (localddb_start(&d->ddb_pid, d->ddb_url, sizeof(d->ddb_url), &e) != 0) {
		snprintf(why, cap, "%s", e.msg);
		return CLI_EXIT_UNREACHABLE;
	}
	if (seed(d, why, cap) != 0)
		return CLI_EXIT_UNREACHABLE;
	snprintf(why, cap, "dynalite, %zu table(s), %zu fixture file(s)", d->tables_seeded,
	         d->fixtures_loaded);
	return 0;
}

static int setup_store(drill *d, char *why, size_t cap)
{
	char data[BG_MAX_PATH];
	const char *args[] = {"init", "--data", data, "--admin", "drill-admin", "--json", NULL};
	json_t *ans = NULL;
	int rc;

	join(data, sizeof(data), d->tmp, "data");
	rc = child(d, NULL, args, NULL, &ans, why, cap);
	if (rc == 0 && take_user(&d->admin, "drill-admin", ans, why, cap) != 0)
		rc = CLI_EXIT_LOCAL;
	json_decref(ans);
	if (rc == 0)
		snprintf(why, cap, "a store of its own, admin drill-admin");
	return rc;
}

static int setup_gateway(drill *d, char *why, size_t cap)
{
	if (gateway_start(d, why, cap) != 0)
		return CLI_EXIT_UNREACHABLE;
	snprintf(why, cap, "%s", d->gw_url);
	return 0;
}

static int setup_users(drill *d, char *why, size_t cap)
{
	int rc = make_users(d, why, cap);

	if (rc == 0)
		snprintf(why, cap, "drill-responder, drill-approver (scripted)");
	return rc;
}

/* Runs a timed step (of the setup or the path): false when it failed, the drill's exit
 * code set by its first failure. An interrupted drill fails each step it has not begun. */
static bool path_step(drill *d, const char *name, int (*fn)(drill *, char *, size_t))
{
	char why[1024] = "interrupted";
	double t = ms_now(d);
	int rc = drill_signal ? 128 + drill_signal : fn(d, why, sizeof(why));

	step_done(d, name, rc == 0, t, why);
	if (rc != 0 && d->exit_code == 0)
		d->exit_code = rc;
	return rc == 0;
}

static bool setup(drill *d)
{
	return path_step(d, "setup: drill policy", setup_policy) &&
	       path_step(d, "setup: local DynamoDB", setup_dynamodb) &&
	       path_step(d, "setup: store", setup_store) &&
	       path_step(d, "setup: gateway", setup_gateway) &&
	       path_step(d, "setup: users", setup_users);
}

/* --- the path: alert, request, approval, runbooks, close, report, audit --------------- */

/* POST /hooks/alertmanager with the scenario's alert, as Alertmanager would send it. */
static int post_alert(drill *d, char *why, size_t cap)
{
	cli_ctx c = {d->gw_url, d->am_token, false, false};
	json_t *labels = json_deep_copy(d->sc->labels), *ann, *body, *ans = NULL;
	char now[32], fp[17], title[BG_MAX_DRILL_NAME + 16], group[64];
	uint8_t raw[8];
	cli_failure f;
	cli_client *cl;
	const char *inc;
	int rc;

	if (labels == NULL || bg_random(raw, sizeof(raw)) != 0) {
		json_decref(labels);
		snprintf(why, cap, "out of memory");
		return CLI_EXIT_LOCAL;
	}
	bg_hex(raw, sizeof(raw), fp);
	iso_time(time(NULL), now);
	snprintf(title, sizeof(title), "DRILL: %s", d->sc->name);
	snprintf(group, sizeof(group), "{}:{drill=\"%s\"}", fp);
	json_object_set_new(labels, "drill", json_string("true"));
	ann = json_pack("{s:s,s:s}", "summary", title, "description",
	                "a breakglass drill: a rehearsal, not an incident");
	body = json_pack("{s:s,s:s,s:s,s:s,s:{s:s},s:O,s:O,s:s,s:[{s:s,s:O,s:O,s:s,s:s,s:s}],s:i}",
	                 "version", "4", "groupKey", group, "status", "firing", "receiver",
	                 "breakglass", "groupLabels", "drill", fp, "commonLabels", labels,
	                 "commonAnnotations", ann, "externalURL", "", "alerts", "status", "firing",
	                 "labels", labels, "annotations", ann, "startsAt", now, "endsAt",
	                 "0001-01-01T00:00:00Z", "fingerprint", fp, "truncatedAlerts", 0);
	json_decref(labels);
	json_decref(ann);
	cl = body != NULL ? cli_client_new(&c) : NULL;
	if (cl == NULL) {
		json_decref(body);
		snprintf(why, cap, "out of memory");
		return CLI_EXIT_LOCAL;
	}
	rc = cli_client_call(cl, "POST", "/hooks/alertmanager", body, &ans, &f);
	cli_client_free(cl);
	json_decref(body);
	if (rc != CLI_EXIT_OK) {
		snprintf(why, cap, "the webhook answered %ld: %.800s", f.http_status, f.msg);
		return rc;
	}
	inc = json_string_value(json_object_get(ans, "incident"));
	if (inc == NULL || strlen(inc) >= sizeof(d->incident)) {
		snprintf(why, cap, "the webhook opened no incident (%s)",
		         json_string_value(json_object_get(ans, "outcome")));
		json_decref(ans);
		return CLI_EXIT_REFUSED;
	}
	snprintf(d->incident, sizeof(d->incident), "%s", inc);
	snprintf(why, cap, "incident %s opened by the Alertmanager webhook", inc);
	json_decref(ans);
	return 0;
}

static int do_request(drill *d, char *why, size_t cap)
{
	char list[BG_MAX_DRILL_RUNBOOKS * (BG_MAX_RUNBOOK_ID + 1) + 1] = "", code[7];
	char reason[BG_MAX_DRILL_NAME + 64];
	const char *args[] = {"request",  "--incident", d->incident, "--runbook", list,
	                      "--reason", reason,       "--ticket",  "DRILL",     "--for",
	                      "30m",      "--otp",      code,        "--json",    NULL};
	json_t *ans = NULL;
	const char *id;
	size_t i, n = 0;
	int rc;

	for (i = 0; i < d->sc->n_steps; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? "," : "",
		                      d->sc->steps[i].id);
	snprintf(reason, sizeof(reason), "DRILL %s: a rehearsal, not an incident", d->sc->name);
	if (next_otp(&d->responder, code) != 0) {
		snprintf(why, cap, "cannot compute a TOTP code");
		return CLI_EXIT_LOCAL;
	}
	d->responder_cmds++;
	rc = child(d, &d->responder, args, NULL, &ans, why, cap);
	OPENSSL_cleanse(code, sizeof(code));
	id = json_string_value(json_object_get(ans, "id"));
	if (rc == 0 && (id == NULL || strlen(id) >= sizeof(d->request))) {
		snprintf(why, cap, "the answer names no request");
		rc = CLI_EXIT_UNREACHABLE;
	}
	if (rc == 0) {
		snprintf(d->request, sizeof(d->request), "%s", id);
		snprintf(why, cap, "request %s for %s (%s)", id, list,
		         json_string_value(json_object_get(ans, "state")));
	}
	json_decref(ans);
	return rc;
}

static int do_approve(drill *d, char *why, size_t cap)
{
	char code[7];
	const char *args[] = {"approve", d->request, "--otp",
	                      code,      "--reason", "drill: scripted approver",
	                      "--json",  NULL};
	json_t *ans = NULL;
	const char *state;
	int rc;

	if (next_otp(&d->approver, code) != 0) {
		snprintf(why, cap, "cannot compute a TOTP code");
		return CLI_EXIT_LOCAL;
	}
	rc = child(d, &d->approver, args, NULL, &ans, why, cap);
	OPENSSL_cleanse(code, sizeof(code));
	state = json_string_value(json_object_get(ans, "state"));
	if (rc == 0 && (state == NULL || strcmp(state, "approved") != 0)) {
		snprintf(why, cap, "the request is %s after the approval, not approved",
		         state != NULL ? state : "unknown");
		rc = CLI_EXIT_REFUSED;
	}
	if (rc == 0)
		snprintf(why, cap, "by drill-approver with MFA: granted");
	json_decref(ans);
	return rc;
}

/* `run` of one step of the scenario, as the responder. */
static int do_run(drill *d, const drill_step *st, char *why, size_t cap)
{
	const char *args[8 + 2 * BG_MAX_RUNBOOK_PARAMS] = {"run", st->id, "--grant", d->request,
	                                                   "--json"};
	char *params[BG_MAX_RUNBOOK_PARAMS] = {NULL};
	const runbook *r = runbook_set_find(d->set, st->id);
	bool write = r != NULL && (r->op->flags & DDB_F_WRITE) != 0;
	const char *name;
	json_t *v, *ans = NULL;
	size_t n = 5, np = 0, i;
	int rc = 0;

	json_object_foreach(st->params, name, v)
	{
		if (np == BG_MAX_RUNBOOK_PARAMS ||
		    asprintf(&params[np], "%s=%s", name, json_string_value(v)) < 0) {
			rc = CLI_EXIT_LOCAL;
			snprintf(why, cap, "out of memory");
			break;
		}
		args[n++] = "--param";
		args[n++] = params[np++];
	}
	args[n] = NULL;
	if (rc == 0) {
		d->responder_cmds++;
		rc = child(d, &d->responder, args, NULL, &ans, why, cap);
	}
	if (rc == 0 && write)
		snprintf(why, cap, "written, %.1f capacity unit(s)",
		         json_number_value(json_object_get(ans, "consumed_capacity")));
	else if (rc == 0)
		snprintf(why, cap, "%lld item(s), %.1f capacity unit(s)",
		         (long long)json_integer_value(json_object_get(ans, "count")),
		         json_number_value(json_object_get(ans, "consumed_capacity")));
	for (i = 0; i < np; i++)
		free(params[i]);
	json_decref(ans);
	return rc;
}

/* close as the drill's admin; the report is written next, in every format (close with
 * --json writes none unless asked, and then prints a second JSON object). */
static int do_close(drill *d, char *why, size_t cap)
{
	const char *args[] = {"close", d->incident, "--reason", "drill finished", "--json", NULL};
	const json_t *au;
	json_t *ans = NULL;
	int rc;

	rc = child(d, &d->admin, args, NULL, &ans, why, cap);
	au = json_object_get(ans, "audit");
	if (rc == 0)
		snprintf(why, cap, "%lld grant(s) revoked, audit %s (%lld records)",
		         (long long)json_integer_value(json_object_get(ans, "revoked_count")),
		         json_is_true(json_object_get(au, "ok")) ? "verified" : "BROKEN",
		         (long long)json_integer_value(json_object_get(au, "records")));
	json_decref(ans);
	return rc;
}

/* Waits (up to 5 s) until the newest record of the trail is a signed checkpoint: then
 * everything the incident did is covered by a signature (serve.yaml asks for one a
 * second after the last record). */
static int do_checkpoint(drill *d, char *why, size_t cap)
{
	cli_ctx c = {d->gw_url, d->admin.token, false, false};
	cli_client *cl = cli_client_new(&c);
	json_t *ans = NULL;
	const char *kind = NULL;
	cli_failure f;
	int tries, rc = CLI_EXIT_LOCAL;

	memset(&f, 0, sizeof(f));
	for (tries = 0; cl != NULL && tries < 100; tries++) {
		json_decref(ans);
		ans = NULL;
		rc = cli_client_call(cl, "GET", "/api/v1/audit?tail=1", NULL, &ans, &f);
		if (rc != CLI_EXIT_OK)
			break;
		kind = json_string_value(
		    json_object_get(json_array_get(json_object_get(ans, "records"), 0), "kind"));
		if (kind != NULL && strcmp(kind, "checkpoint") == 0)
			break;
		nanosleep(&(struct timespec){0, 50000000L}, NULL);
	}
	cli_client_free(cl);
	if (rc == CLI_EXIT_OK && (kind == NULL || strcmp(kind, "checkpoint") != 0))
		rc = CLI_EXIT_UNREACHABLE;
	if (rc == CLI_EXIT_OK)
		snprintf(why, cap, "through seq %lld",
		         (long long)json_integer_value(json_object_get(
		             json_array_get(json_object_get(ans, "records"), 0), "seq")));
	else if (cl == NULL)
		snprintf(why, cap, "out of memory");
	else
		snprintf(why, cap, "no signed checkpoint within 5 s%s%.800s", f.msg[0] ? ": " : "",
		         rc == CLI_EXIT_UNREACHABLE && kind != NULL ? "" : f.msg);
	json_decref(ans);
	return rc;
}

static int do_reports(drill *d, char *why, size_t cap)
{
	static const char *const formats[] = {"html", "md", "json"};
	static const char *const files[] = {"report.html", "report.md", "report.json"};
	char path[BG_MAX_PATH];
	const char *args[] = {"report", d->incident, "--format", NULL, "--out", path, NULL};
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < 3; i++) {
		args[3] = formats[i];
		join(path, sizeof(path), d->out, files[i]);
		rc = child(d, &d->admin, args, NULL, NULL, why, cap);
	}
	if (rc == 0)
		snprintf(why, cap, "report.html, report.md, report.json");
	return rc;
}

/* The incident's records and the keys that verify them, verified offline as an auditor
 * would: what the drill keeps can be checked after its gateway is gone. */
static int do_audit(drill *d, char *why, size_t cap)
{
	char trail[BG_MAX_PATH], keys[BG_MAX_PATH];
	const char *xargs[] = {"audit", "export", "--incident", d->incident, NULL};
	const char *pargs[] = {"audit", "pubkey", "--all", NULL};
	const char *vargs[] = {"audit",    "verify", "--file", trail,
	                       "--pubkey", keys,     "--json", NULL};
	json_t *ans = NULL;
	int rc;

	join(trail, sizeof(trail), d->out, "audit.jsonl");
	join(keys, sizeof(keys), d->out, "audit-pubkey.pem");
	rc = child(d, &d->admin, xargs, trail, NULL, why, cap);
	rc = rc ? rc : child(d, &d->admin, pargs, keys, NULL, why, cap);
	rc = rc ? rc : child(d, NULL, vargs, NULL, &ans, why, cap);
	if (rc == 0)
		snprintf(why, cap, "audit.jsonl verifies offline (%lld records)",
		         (long long)json_integer_value(json_object_get(ans, "records")));
	json_decref(ans);
	return rc;
}

/* --- one drill ------------------------------------------------------------------------ */

/* A runbook that did not run: not in the folder (failed: a failure of the runbook, by
 * name), or not reached (the drill failed before it: a failure of the step, not of the
 * runbook). */
static void runbook_not_run(drill *d, const drill_step *st, bool failed, const char *why)
{
	json_array_append_new(d->runbooks_res,
	                      json_pack("{s:s,s:b,s:b,s:b,s:n,s:O,s:s}", "id", st->id, "ok", 0,
	                                "ran", 0, "missing", failed, "ms", "params", st->params,
	                                "error", why));
	if (failed)
		d->failed = true;
}

static void runbooks_not_run(drill *d, const char *why)
{
	size_t i;

	for (i = 0; i < d->sc->n_steps; i++)
		runbook_not_run(d, &d->sc->steps[i], false, why);
}

static void run_runbooks(drill *d)
{
	char why[1024], name[BG_MAX_RUNBOOK_ID + 8];
	size_t i;

	for (i = 0; i < d->sc->n_steps; i++) {
		const drill_step *st = &d->sc->steps[i];
		double t = ms_now(d);
		int rc;
		if (drill_signal) {
			runbook_not_run(d, st, false, "not run: the drill was interrupted");
			continue;
		}
		rc = do_run(d, st, why, sizeof(why));
		double end = ms_now(d);
		snprintf(name, sizeof(name), "run %s", st->id);
		step_done(d, name, rc == 0, t, why);
		json_array_append_new(d->runbooks_res,
		                      json_pack("{s:s,s:b,s:b,s:f,s:O,s:s?}", "id", st->id, "ok",
		                                rc == 0, "ran", 1, "ms", tenth(end - t), "params",
		                                st->params, "error", rc == 0 ? NULL : why));
		if (rc != 0 && d->exit_code == 0)
			d->exit_code = CLI_EXIT_REFUSED;
		if (rc == 0 && d->t_first < 0) {
			d->t_first = end;
			d->responder_cmds_to_first = d->responder_cmds;
		}
	}
}

static void walk(drill *d)
{
	bool opened, granted = false;

	d->t_alert = ms_now(d);
	opened = path_step(d, "alert -> incident", post_alert);
	if (opened && path_step(d, "request (responder)", do_request))
		granted = path_step(d, "approve (scripted)", do_approve);
	if (granted)
		run_runbooks(d);
	else
		runbooks_not_run(d, "not run: the drill stopped before a grant");
	if (opened) {
		if (path_step(d, "close", do_close) &&
		    path_step(d, "audit: signed checkpoint", do_checkpoint))
			(void)path_step(d, "report", do_reports);
		(void)path_step(d, "audit export + verify", do_audit);
	}
	d->t_end = ms_now(d);
}

static bool target_met(const drill *d)
{
	return d->t_first >= 0 && d->t_first - d->t_alert <= DRILL_TARGET_MS &&
	       d->responder_cmds_to_first <= DRILL_TARGET_COMMANDS;
}

static json_t *result_json(const drill *d, time_t started, const char *id)
{
	char when[32], user[64] = "unknown";
	struct passwd *pw = getpwuid(getuid());
	json_t *failed = json_array(), *r, *v;
	const char *first_failed = NULL;
	size_t i;
	bool ok = !d->failed && !d->aborted && d->exit_code == 0;

	iso_time(started, when);
	if (pw != NULL)
		cli_out_sanitize(pw->pw_name, user, sizeof(user));
	json_array_foreach(d->runbooks_res, i, r)
	{
		if (!json_is_true(json_object_get(r, "ok")) &&
		    (json_is_true(json_object_get(r, "ran")) ||
		     json_is_true(json_object_get(r, "missing"))))
			json_array_append(failed, json_object_get(r, "id"));
	}
	json_array_foreach(d->steps, i, r)
	{
		if (first_failed == NULL && !json_is_true(json_object_get(r, "ok")))
			first_failed = json_string_value(json_object_get(r, "step"));
	}
	v = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s,s:O,s:O,s:o,s:o,s:i,s:i,s:s,s:s,s:s?,s:s?,s:o}",
	              "id", id, "scenario", d->sc->name, "started_at", when, "user", user, "ok", ok,
	              "result", ok ? "passed" : "FAILED", "steps", d->steps, "runbooks",
	              d->runbooks_res, "failed_runbooks", failed, "alert_to_first_query_ms",
	              d->t_first >= 0 ? json_real(tenth(d->t_first - d->t_alert)) : json_null(),
	              "responder_commands_to_first_query", d->responder_cmds_to_first,
	              "responder_commands", d->responder_cmds, "target",
	              "alert to first query <= 2000 ms in <= 3 responder commands", "runbooks_dir",
	              d->runbooks, "incident", d->incident[0] ? d->incident : NULL, "request",
	              d->request[0] ? d->request : NULL, "path_ms",
	              d->t_end >= 0 ? json_real(tenth(d->t_end - d->t_alert)) : json_null());
	if (v != NULL && first_failed != NULL)
		json_object_set_new(v, "failed_step", json_string(first_failed));
	if (v != NULL)
		json_object_set_new(v, "target_met", json_boolean(target_met(d)));
	return v;
}

/* --- the history folder ----------------------------------------------------------------- */

/* --history, else $BREAKGLASS_DRILL_HISTORY, else the XDG state folder. */
static int history_dir(const char *opt, char *out, size_t cap)
{
	const char *env = getenv("BREAKGLASS_DRILL_HISTORY"), *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	int n;

	if (opt != NULL)
		n = snprintf(out, cap, "%s", opt);
	else if (env != NULL && env[0] != '\0')
		n = snprintf(out, cap, "%s", env);
	else if (xdg != NULL && xdg[0] == '/')
		n = snprintf(out, cap, "%s/breakglass/drills", xdg);
	else if (home != NULL && home[0] == '/')
		n = snprintf(out, cap, "%s/.local/state/breakglass/drills", home);
	else
		return -1;
	return n > 0 && (size_t)n < cap - 64 ? 0 : -1;
}

/* mkdir -p, each new folder 0700 (a drill's results name users and incidents). */
static int mkdirs(const char *path)
{
	char p[BG_MAX_PATH];
	size_t i;

	snprintf(p, sizeof(p), "%s", path);
	for (i = 1; p[i] != '\0'; i++) {
		if (p[i] != '/')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			return -1;
		p[i] = '/';
	}
	return mkdir(p, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* rm -rf of the drill's temporary folder (its store and secrets), files and folders it
 * made itself; symlinks are removed, never followed. */
static void remove_tree(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *de;
	struct stat st;
	char p[BG_MAX_PATH];

	if (dir == NULL) {
		(void)unlink(path);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		join(p, sizeof(p), path, de->d_name);
		if (p[0] == '\0')
			continue;
		if (de->d_type == DT_DIR ||
		    (de->d_type == DT_UNKNOWN && lstat(p, &st) == 0 && S_ISDIR(st.st_mode)))
			remove_tree(p);
		else
			(void)unlink(p);
	}
	closedir(dir);
	(void)rmdir(path);
}

static int write_result(const drill *d, const json_t *res)
{
	char path[BG_MAX_PATH];

	join(path, sizeof(path), d->out, "result.json");
	return json_dump_file(res, path, JSON_INDENT(2) | JSON_SORT_KEYS);
}

/* --- breakglass drill ------------------------------------------------------------------- */

/* Without --scenario: every runbook of the folder, with its first test's parameters. */
static int default_scenario(const runbook_set *set, const char *dir, drill_scenario **out,
                            bg_err *e)
{
	drill_scenario *s = drill_scenario_new("every runbook");
	json_t *none = json_object();
	size_t i;
	int rc = s != NULL && none != NULL ? 0 : bg_err_set(e, BG_ENOMEM, "out of memory");

	for (i = 0; rc == 0 && i < runbook_set_count(set); i++) {
		const runbook *r = runbook_set_at(set, i);
		rc = drill_scenario_add(s, r->id, r->n_tests > 0 ? r->tests[0].params : none, 0, e);
	}
	if (rc == BG_ELIMIT)
		rc = bg_err_set(e, BG_ELIMIT,
		                "%s has more than %d runbooks: name those to rehearse with "
		                "--scenario FILE",
		                dir, BG_MAX_DRILL_RUNBOOKS);
	json_decref(none);
	if (rc != 0) {
		drill_scenario_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

/* Steps naming a runbook the folder lacks fail by name here (the request would be refused
 * as a whole); the others stay in *kept. */
static int check_steps(drill *d, const drill_scenario *sc, drill_scenario **kept, bg_err *e)
{
	drill_scenario *k = drill_scenario_new(sc->name);
	size_t i;
	int rc = k != NULL ? 0 : bg_err_set(e, BG_ENOMEM, "out of memory");

	if (rc == 0) {
		json_decref(k->labels);
		k->labels = json_incref(sc->labels);
	}
	for (i = 0; rc == 0 && i < sc->n_steps; i++) {
		const drill_step *st = &sc->steps[i];
		char why[BG_MAX_PATH + 128];
		if (runbook_set_find(d->set, st->id) != NULL) {
			rc = drill_scenario_add(k, st->id, st->params, st->line, e);
			continue;
		}
		snprintf(why, sizeof(why), "no runbook %s in %s", st->id, d->runbooks);
		runbook_not_run(d, st, true, why);
		if (!d->ctx->json)
			printf("  FAIL run %-22s %8s     %s\n", st->id, "", why);
	}
	if (rc == 0 && k->n_steps == 0)
		rc = bg_err_set(e, BG_EINVAL, "none of the scenario's runbooks is in %s",
		                d->runbooks);
	if (rc != 0) {
		drill_scenario_free(k);
		return rc;
	}
	*kept = k;
	return 0;
}

static void print_summary(const drill *d, const json_t *res)
{
	const json_t *failed = json_object_get(res, "failed_runbooks"), *v;
	size_t i;

	if (d->t_first >= 0)
		printf("alert -> first successful query: %.1f ms of tool time in %d responder "
		       "command%s (target: <= %.0f ms in <= %d: %s)\n",
		       d->t_first - d->t_alert, d->responder_cmds_to_first,
		       d->responder_cmds_to_first == 1 ? "" : "s", DRILL_TARGET_MS,
		       DRILL_TARGET_COMMANDS, target_met(d) ? "met" : "MISSED");
	else
		printf("alert -> first successful query: none succeeded\n");
	if (json_array_size(failed) > 0) {
		printf("failed runbooks:");
		json_array_foreach(failed, i, v)
		    printf("%s %s", i ? "," : "", json_string_value(v));
		printf("\n");
	}
	printf("drill %s: %s\n", json_string_value(json_object_get(res, "id")),
	       json_is_true(json_object_get(res, "ok")) ? "passed" : "FAILED");
	printf("results: %s\n", d->out);
	fflush(stdout);
}

/* A failed drill's --json object also carries what every failure of the CLI does (cli.h):
 * error, message, exit. */
static void failure_fields(json_t *res, int exit_code)
{
	const json_t *failed = json_object_get(res, "failed_runbooks"), *v;
	const char *step = json_string_value(json_object_get(res, "failed_step"));
	char msg[512] = "the drill failed";
	size_t i, n;

	if (json_array_size(failed) > 0) {
		n = (size_t)snprintf(msg, sizeof(msg), "runbooks failed:");
		json_array_foreach(failed, i, v)
		{
			if (n < sizeof(msg))
				n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s %s",
				                      i ? "," : "", json_string_value(v));
		}
	} else if (step != NULL) {
		snprintf(msg, sizeof(msg), "step failed: %s", step);
	}
	json_object_set_new(res, "error", json_string("drill_failed"));
	json_object_set_new(res, "message", json_string(msg));
	json_object_set_new(res, "exit", json_integer(exit_code));
}

static int drill_run(const cli_ctx *ctx, const char *scenario_file, const char *runbooks_flag,
                     const char *history_flag)
{
	char hist[BG_MAX_PATH], rbuf[BG_MAX_PATH], id[64], stamp[32], why[1024];
	const char *tmpdir = getenv("TMPDIR");
	drill_scenario *given = NULL, *sc = NULL;
	runbook_diags diags = {NULL, 0};
	runbook_set *set = NULL;
	json_t *res = NULL;
	uint8_t raw[3];
	time_t started = time(NULL);
	struct tm tm;
	ssize_t n;
	drill d;
	bg_err e;
	int rc;

	memset(&d, 0, sizeof(d));
	catch_signals();
	d.ctx = ctx;
	d.t_alert = d.t_first = d.t_end = -1;
	clock_gettime(CLOCK_MONOTONIC, &d.t0);
	/* What to rehearse: checked before anything is started. */
	if (realpath(cli_runbook_dir(runbooks_flag, rbuf, sizeof(rbuf)), d.runbooks) == NULL)
		return cli_fail(CLI_EXIT_USAGE, NULL, "runbook folder %s: %s",
		                cli_runbook_dir(runbooks_flag, rbuf, sizeof(rbuf)),
		                strerror(errno));
	rc = runbook_set_load(d.runbooks, &set, &diags, &e);
	if (rc != 0) {
		if (diags.n > 0)
			snprintf(why, sizeof(why), "%.300s/%.200s:%u: %.400s", d.runbooks,
			         diags.items[0].file, diags.items[0].line, diags.items[0].msg);
		else
			snprintf(why, sizeof(why), "%s", e.msg);
		runbook_diags_free(&diags);
		return cli_fail(CLI_EXIT_REFUSED, "lint", "%s", why);
	}
	runbook_diags_free(&diags);
	d.set = set;
	rc = scenario_file != NULL ? drill_scenario_load(scenario_file, &given, &e)
	                           : default_scenario(set, d.runbooks, &given, &e);
	if (rc != 0) {
		runbook_set_free(set);
		return cli_fail(rc == BG_ENOMEM ? CLI_EXIT_LOCAL : CLI_EXIT_USAGE, NULL, "%s",
		                e.msg);
	}
	if (history_dir(history_flag, hist, sizeof(hist)) != 0) {
		rc = cli_fail(CLI_EXIT_USAGE, NULL,
		              "no folder for the drill history: give --history DIR (or set "
		              "BREAKGLASS_DRILL_HISTORY or HOME)");
		goto out;
	}
	gmtime_r(&started, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if (bg_random(raw, sizeof(raw)) != 0) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "no randomness");
		goto out;
	}
	snprintf(id, sizeof(id), "%s-%02x%02x%02x", stamp, raw[0], raw[1], raw[2]);
	join(d.out, sizeof(d.out), hist, id);
	snprintf(d.tmp, sizeof(d.tmp), "%s/breakglass-drill.XXXXXX",
	         tmpdir != NULL && tmpdir[0] == '/' ? tmpdir : "/tmp");
	if (mkdirs(hist) != 0 || mkdir(d.out, 0700) != 0) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "%s: %s", d.out, strerror(errno));
		goto out;
	}
	if (mkdtemp(d.tmp) == NULL) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "%s: %s", d.tmp, strerror(errno));
		goto out;
	}
	n = readlink("/proc/self/exe", d.self, sizeof(d.self) - 1);
	d.steps = json_array();
	d.runbooks_res = json_array();
	if (n <= 0 || d.steps == NULL || d.runbooks_res == NULL || env_build(&d) != 0) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL,
		              "cannot prepare the drill (out of memory, or "
		              "no /proc/self/exe)");
		goto cleanup;
	}
	d.self[n] = '\0';
	if (!ctx->json)
		printf("drill \"%s\": %zu runbook(s) from %s\n", given->name, given->n_steps,
		       d.runbooks);
	if ((rc = check_steps(&d, given, &sc, &e)) != 0) {
		/* every runbook is recorded as missing already */
		if (!ctx->json)
			printf("  FAIL %s\n", e.msg);
		d.aborted = true;
		d.exit_code = rc == BG_ENOMEM ? CLI_EXIT_LOCAL : CLI_EXIT_REFUSED;
		d.sc = given;
		goto result;
	}
	d.sc = sc;
	if (!setup(&d)) {
		d.aborted = true;
		runbooks_not_run(&d, "not run: the drill's setup failed");
	} else {
		walk(&d);
	}
result:
	stop(&d.gw_pid);
	localddb_stop(d.ddb_pid);
	d.ddb_pid = 0;
	res = result_json(&d, started, id);
	if (res == NULL || write_result(&d, res) != 0) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "%s/result.json: cannot write", d.out);
		goto cleanup;
	}
	if (d.failed && d.exit_code == 0)
		d.exit_code = CLI_EXIT_REFUSED;
	if (ctx->json) {
		if (d.exit_code != 0)
			failure_fields(res, d.exit_code);
		json_object_set_new(res, "folder", json_string(d.out));
		rc = cli_emit_json(res);
		rc = rc != 0 ? rc : d.exit_code;
	} else {
		print_summary(&d, res);
		rc = d.exit_code;
	}
cleanup:
	stop(&d.gw_pid);
	localddb_stop(d.ddb_pid);
	if (d.tmp[0] != '\0' && strstr(d.tmp, "XXXXXX") == NULL)
		remove_tree(d.tmp);
	OPENSSL_cleanse(&d.admin, sizeof(d.admin));
	OPENSSL_cleanse(&d.responder, sizeof(d.responder));
	OPENSSL_cleanse(&d.approver, sizeof(d.approver));
	OPENSSL_cleanse(d.am_token, sizeof(d.am_token));
	env_free(&d);
	json_decref(d.steps);
	json_decref(d.runbooks_res);
	json_decref(res);
out:
	drill_scenario_free(given);
	drill_scenario_free(sc);
	runbook_set_free(set);
	return rc;
}

/* --- breakglass drill list -------------------------------------------------------------- */

static int name_desc(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

/* One drill of the history as the list shows it, from its result.json (NULL: unreadable,
 * listed as such). */
static json_t *list_entry(const char *hist, const char *name)
{
	char path[BG_MAX_PATH], folder[BG_MAX_PATH], *text = NULL;
	json_t *r, *o;
	size_t len = 0;
	bg_err e;

	join(folder, sizeof(folder), hist, name);
	join(path, sizeof(path), folder, "result.json");
	if (bg_read_file(path, BG_MAX_DRILL_RESULT, &text, &len, &e) != 0)
		return json_pack("{s:s,s:b,s:s,s:s}", "id", name, "ok", 0, "result", "unreadable",
		                 "error", e.msg);
	r = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	if (!json_is_object(r)) {
		json_decref(r);
		return json_pack("{s:s,s:b,s:s,s:s}", "id", name, "ok", 0, "result", "unreadable",
		                 "error", "result.json is not a JSON object");
	}
	o = json_pack(
	    "{s:s,s:O?,s:O?,s:b,s:O?,s:O?,s:O?,s:O?,s:O?,s:s}", "id", name, "scenario",
	    json_object_get(r, "scenario"), "started_at", json_object_get(r, "started_at"), "ok",
	    json_is_true(json_object_get(r, "ok")), "result", json_object_get(r, "result"),
	    "failed_runbooks", json_object_get(r, "failed_runbooks"), "alert_to_first_query_ms",
	    json_object_get(r, "alert_to_first_query_ms"), "responder_commands_to_first_query",
	    json_object_get(r, "responder_commands_to_first_query"), "failed_step",
	    json_object_get(r, "failed_step"), "folder", folder);
	if (o != NULL && !json_is_string(json_object_get(o, "scenario")))
		json_object_set_new(o, "scenario", json_string("?"));
	json_decref(r);
	return o;
}

static int list_print(const json_t *drills)
{
	const json_t *d, *f, *v;
	char scen[48], failed[256], clean[256], first[32];
	size_t i, j, n;

	if (json_array_size(drills) == 0) {
		printf("no drills yet (breakglass drill runs one)\n");
		return CLI_EXIT_OK;
	}
	printf("%-24s %-20s %-7s %-10s %s\n", "DRILL", "SCENARIO", "RESULT", "FIRST-Q",
	       "FAILED RUNBOOKS");
	json_array_foreach(drills, i, d)
	{
		cli_out_sanitize(json_string_value(json_object_get(d, "scenario")), scen, 21);
		f = json_object_get(d, "failed_runbooks");
		failed[0] = '\0';
		n = 0;
		json_array_foreach(f, j, v)
		{
			if (json_is_string(v) && n < sizeof(failed))
				n += (size_t)snprintf(failed + n, sizeof(failed) - n, "%s%s",
				                      j ? "," : "", json_string_value(v));
		}
		if (json_is_number(json_object_get(d, "alert_to_first_query_ms")))
			snprintf(first, sizeof(first), "%.0f ms",
			         json_number_value(json_object_get(d, "alert_to_first_query_ms")));
		else
			snprintf(first, sizeof(first), "-");
		if (failed[0] == '\0' && json_is_string(json_object_get(d, "failed_step")))
			snprintf(failed, sizeof(failed), "(step: %s)",
			         json_string_value(json_object_get(d, "failed_step")));
		cli_out_sanitize(failed, clean, sizeof(clean));
		printf("%-24s %-20s %-7s %-10s %s\n", json_string_value(json_object_get(d, "id")),
		       scen, json_is_true(json_object_get(d, "ok")) ? "passed" : "FAILED", first,
		       clean[0] ? clean : "-");
	}
	fflush(stdout);
	return ferror(stdout) ? cli_fail(CLI_EXIT_LOCAL, NULL, "cannot write to standard output")
	                      : CLI_EXIT_OK;
}

static int drill_list(const cli_ctx *ctx, const char *history_flag)
{
	char hist[BG_MAX_PATH], **names = NULL;
	json_t *drills = json_array(), *o;
	struct dirent *de;
	size_t n = 0, i;
	DIR *dir;
	int rc;

	if (history_dir(history_flag, hist, sizeof(hist)) != 0) {
		json_decref(drills);
		return cli_fail(CLI_EXIT_USAGE, NULL,
		                "no folder for the drill history: give --history DIR (or set "
		                "BREAKGLASS_DRILL_HISTORY or HOME)");
	}
	dir = opendir(hist);
	if (dir == NULL && errno != ENOENT) {
		json_decref(drills);
		return cli_fail(CLI_EXIT_LOCAL, NULL, "%s: %s", hist, strerror(errno));
	}
	while (dir != NULL && (de = readdir(dir)) != NULL) {
		char **nn;
		if (de->d_name[0] == '.')
			continue;
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (nn == NULL)
			break;
		names = nn;
		if ((names[n] = strdup(de->d_name)) != NULL)
			n++;
	}
	if (dir != NULL)
		closedir(dir);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_desc);
	for (i = 0; i < n && i < BG_MAX_DRILL_HISTORY; i++) {
		o = list_entry(hist, names[i]);
		if (o != NULL)
			json_array_append_new(drills, o);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (ctx->json) {
		o = json_pack("{s:s,s:o}", "history", hist, "drills", drills);
		rc = o != NULL ? cli_emit_json(o) : cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
		json_decref(o);
		return rc;
	}
	rc = list_print(drills);
	json_decref(drills);
	return rc;
}

int cmd_drill_main(int argc, char **argv)
{
	static const cli_opt opts[] = {
	    {"scenario", true}, {"runbooks", true}, {"history", true}, {NULL, false}};
	const char *val, *sub = NULL, *scenario = NULL, *runbooks = NULL, *history = NULL;
	cli_ctx ctx;
	cli_args a;
	int k;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "drill", &ctx);
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		if (k == CLI_ARG_POSITIONAL && sub == NULL && strcmp(val, "list") == 0)
			sub = val;
		else if (k == CLI_ARG_POSITIONAL)
			return cli_usage_error(&a, "unexpected argument \"%.80s\"", val);
		else if (k == 0)
			scenario = val;
		else if (k == 1)
			runbooks = val;
		else
			history = val;
	}
	if (ctx.help)
		return cli_help_show("drill");
	if (sub != NULL) {
		if (scenario != NULL || runbooks != NULL)
			return cli_usage_error(&a,
			                       "drill list takes only --history DIR and --json");
		return drill_list(&ctx, history);
	}
	return drill_run(&ctx, scenario, runbooks, history);
}
