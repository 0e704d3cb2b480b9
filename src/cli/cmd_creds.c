/*
 * cmd_creds.c - `breakglass creds GRANT` and `breakglass exec GRANT -- COMMAND...`: hand a
 * grant's temporary SigV4 credentials to standard AWS clients.
 *
 * Three shapes: shell `export` lines (eval them), the credential_process JSON that
 * ~/.aws/config can call, and `exec`, which puts the same variables into the environment
 * of one command it runs and waits for, so the secret never touches a file or the shell
 * history. Printing the secret is the purpose of `creds`; nothing else here prints it.
 *
 * `exec` also fences the command in: clients that ignore AWS_ENDPOINT_URL_DYNAMODB (AWS
 * CLI before 2.13, boto3 before 1.28) would send the grant's credentials and the request
 * to real DynamoDB. So an `aws` wrapper that adds --endpoint-url goes first on the
 * command's PATH (a private directory, removed when the command ends), and every proxy
 * variable points at the gateway, which refuses a proxy request: whatever else heads for
 * AWS goes nowhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/help.h"
#include "cli/client.h"
#include "cli/output.h"
#include "common/limits.h"

/* POST /api/v1/grants/ID/creds. */
int cli_creds_fetch(const cli_ctx *ctx, const char *id, json_t **out)
{
	json_t *body = json_object();
	bg_buf path;
	int rc;

	*out = NULL;
	bg_buf_init(&path, BG_MAX_API_PATH);
	if (body == NULL || cli_path(&path, "/api/v1/grants/", id, "/creds") != 0) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
		goto fail;
	}
	rc = cli_request(ctx, "POST", path.data, body, out);
fail:
	json_decref(body);
	bg_buf_free(&path);
	return rc;
}

int cmd_creds_main(int argc, char **argv)
{
	static const cli_opt opts[] = {{"format", true}, {NULL, false}};
	cli_ctx ctx;
	cli_args a;
	const char *val, *id = NULL, *format = NULL;
	json_t *ans = NULL, *proc = NULL;
	bg_buf out;
	bg_err e;
	int k, rc;

	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "creds", &ctx);
	while ((k = cli_args_next(&a, opts, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		if (k == CLI_ARG_POSITIONAL) {
			if (id != NULL)
				return cli_usage_error(&a, "unexpected argument \"%s\"", val);
			id = val;
		} else {
			format = val;
		}
	}
	if (ctx.help)
		return cli_help_show("creds");
	if (format == NULL)
		format = ctx.json ? "json" : "env";
	if (strcmp(format, "env") != 0 && strcmp(format, "json") != 0 &&
	    strcmp(format, "process") != 0)
		return cli_usage_error(&a, "--format is env, json or process");
	if (ctx.json && strcmp(format, "env") == 0)
		return cli_usage_error(&a, "--json prints JSON: use --format json or process");
	if (id == NULL)
		return cli_usage_error(&a, "missing the GRANT id");
	rc = cli_check_id(&a, "grant id", id);
	if (rc != CLI_EXIT_OK)
		return rc;

	rc = cli_creds_fetch(&ctx, id, &ans);
	if (rc != CLI_EXIT_OK)
		return rc;
	bg_buf_init(&out, BG_MAX_CLI_TEXT);
	if (strcmp(format, "json") == 0) {
		rc = cli_emit_json(ans);
	} else if (strcmp(format, "process") == 0) {
		proc = cli_out_creds_process(ans, &e);
		if (proc == NULL) {
			rc = cli_fail(CLI_EXIT_UNREACHABLE, NULL, "%s", e.msg);
		} else {
			rc = cli_emit_json(proc);
		}
	} else if (cli_out_creds_env(&out, ans, &e) != 0) {
		rc = cli_fail(CLI_EXIT_UNREACHABLE, NULL, "%s", e.msg);
	} else {
		rc = cli_write_out(&out);
	}
	bg_buf_free_secure(&out);
	json_decref(proc);
	json_decref(ans);
	return rc;
}

/* Variables that could make a client use other credentials or another endpoint than the
 * grant's, or confuse the person reading `env` inside the command. */
static const char *const exec_unset[] = {
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ENDPOINT_URL",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
};

char **cli_exec_argv(char **cmd, const char *endpoint)
{
	const char *base = strrchr(cmd[0], '/');
	char **out;
	size_t n, i;

	base = base != NULL ? base + 1 : cmd[0];
	for (n = 0; cmd[n] != NULL; n++) {
		if (strcmp(cmd[n], "--endpoint-url") == 0 ||
		    strncmp(cmd[n], "--endpoint-url=", 15) == 0)
			return cmd;
	}
	if (strcmp(base, "aws") != 0)
		return cmd;
	out = calloc(n + 3, sizeof(*out));
	if (out == NULL)
		return NULL;
	out[0] = cmd[0];
	out[1] = "--endpoint-url";
	out[2] = (char *)endpoint;
	for (i = 1; i < n; i++)
		out[i + 2] = cmd[i];
	out[n + 2] = NULL;
	return out;
}

/* --- exec: the command's fence --------------------------------------------------------- */

/* The private directory where the aws wrapper lives while the command runs. */
typedef struct exec_run {
	char dir[BG_MAX_PATH];
	bool have_dir;
} exec_run;

/* A private directory (mkdtemp: mode 0700) under $XDG_RUNTIME_DIR, $TMPDIR or /tmp, the
 * first that works and is not mounted noexec (the wrapper must run from it). */
static int exec_mkdir(exec_run *x)
{
	const char *bases[] = {getenv("XDG_RUNTIME_DIR"), getenv("TMPDIR"), "/tmp"};
	struct statvfs fs;
	size_t i;
	int n, err = ENOENT;

	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		if (bases[i] == NULL || bases[i][0] != '/')
			continue;
		n = snprintf(x->dir, sizeof(x->dir), "%s/breakglass-exec-XXXXXX", bases[i]);
		if (n <= 0 || (size_t)n >= sizeof(x->dir) || mkdtemp(x->dir) == NULL) {
			err = errno;
			continue;
		}
		if (statvfs(x->dir, &fs) == 0 && !(fs.f_flag & ST_NOEXEC)) {
			x->have_dir = true;
			return 0;
		}
		err = EACCES;
		(void)rmdir(x->dir);
	}
	return cli_fail(CLI_EXIT_LOCAL, NULL,
	                "cannot create a private directory for the aws wrapper under "
	                "$XDG_RUNTIME_DIR, $TMPDIR or /tmp (not mounted noexec): %s",
	                strerror(err));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)remove(path);
	return 0;
}

/* Removes the directory and whatever the command left in it. */
static void exec_rmdir(exec_run *x)
{
	if (x->have_dir && nftw(x->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		cli_warnf("could not remove %s: %s", x->dir, strerror(errno));
	x->have_dir = false;
}

/* The first executable regular file called name in the PATH list path, as an absolute
 * path in out (size n). Relative entries (and skip) are passed over: the path is baked
 * into a script that runs elsewhere. */
static bool path_find(const char *path, const char *name, const char *skip, char *out, size_t n)
{
	const char *p = path, *colon;
	struct stat st;
	size_t len;
	int w;

	while (p != NULL && *p != '\0') {
		colon = strchr(p, ':');
		len = colon != NULL ? (size_t)(colon - p) : strlen(p);
		w = snprintf(out, n, "%.*s/%s", (int)len, p, name);
		if (len > 0 && p[0] == '/' && w > 0 && (size_t)w < n &&
		    !(skip != NULL && strlen(skip) == len && memcmp(skip, p, len) == 0) &&
		    stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return true;
		p = colon != NULL ? colon + 1 : NULL;
	}
	return false;
}

/* Writes the aws wrapper (mode 0700) for the real aws found on path now. */
static int exec_write_wrapper(const exec_run *x, const char *path, const char *endpoint)
{
	char real[BG_MAX_PATH], file[BG_MAX_PATH];
	bool found = path_find(path, "aws", x->dir, real, sizeof(real));
	bg_buf script;
	ssize_t w = -1;
	int fd, rc = CLI_EXIT_OK;

	bg_buf_init(&script, BG_MAX_CLI_TEXT);
	if (cli_out_aws_wrapper(&script, found ? real : NULL, endpoint) != 0 ||
	    snprintf(file, sizeof(file), "%s/aws", x->dir) >= (int)sizeof(file)) {
		rc =
		    cli_fail(CLI_EXIT_LOCAL, NULL, "cannot build the aws wrapper (path too long?)");
		goto done;
	}
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0700);
	if (fd >= 0) {
		w = write(fd, script.data, script.len);
		if (close(fd) != 0)
			w = -1;
	}
	if (w != (ssize_t)script.len) {
		rc = cli_fail(CLI_EXIT_LOCAL, NULL, "cannot write %s: %s", file, strerror(errno));
	}
done:
	bg_buf_free(&script);
	return rc;
}

/* Whether the command is Python: named python*, or a script whose first line names
 * python. The AWS CLI is a Python script too, but it gets the wrapper. */
static bool exec_is_python(const char *cmd, const char *path)
{
	const char *base = strrchr(cmd, '/');
	char file[BG_MAX_PATH], line[256];
	ssize_t n;
	int fd;

	base = base != NULL ? base + 1 : cmd;
	if (strncmp(base, "python", 6) == 0)
		return true;
	if (strcmp(base, "aws") == 0)
		return false;
	if (strchr(cmd, '/') != NULL)
		snprintf(file, sizeof(file), "%s", cmd);
	else if (!path_find(path, cmd, NULL, file, sizeof(file)))
		return false;
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n < 2 || line[0] != '#' || line[1] != '!')
		return false;
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	return strstr(line, "python") != NULL;
}

/* The fence in the command's environment: the wrapper's directory first on PATH, and
 * every proxy variable at the gateway, so a client that ignores the endpoint settings
 * and heads for AWS (or anywhere else) sends a CONNECT to the gateway, which refuses it;
 * only the gateway's own host is reached directly. */
static int exec_fence_env(const exec_run *x, const char *endpoint, const char *old_path)
{
	static const char *const proxies[] = {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY",
	                                      "http_proxy",  "ALL_PROXY",   "all_proxy"};
	char host[BG_MAX_URL + 1];
	bg_buf path;
	size_t i;
	int rc = 0;

	if (cli_out_url_host(endpoint, host, sizeof(host)) != 0) {
		return cli_fail(CLI_EXIT_UNREACHABLE, NULL,
		                "the gateway's endpoint is not an http(s) URL");
	}
	for (i = 0; i < sizeof(proxies) / sizeof(proxies[0]) && rc == 0; i++)
		rc = setenv(proxies[i], endpoint, 1);
	if (rc == 0)
		rc = setenv("NO_PROXY", host, 1);
	if (rc == 0)
		rc = setenv("no_proxy", host, 1);
	bg_buf_init(&path, BG_MAX_PATH + strlen(old_path) + 2);
	if (rc == 0 && (bg_buf_adds(&path, x->dir) != 0 || bg_buf_addc(&path, ':') != 0 ||
	                bg_buf_adds(&path, old_path) != 0))
		rc = -1;
	if (rc == 0)
		rc = setenv("PATH", path.data, 1);
	bg_buf_free(&path);
	if (rc != 0) {
		return cli_fail(CLI_EXIT_LOCAL, NULL, "cannot set the environment: %s",
		                strerror(errno));
	}
	return CLI_EXIT_OK;
}

static volatile sig_atomic_t exec_child;

/* SIGTERM and SIGHUP reach the command; the parent waits for it to end. */
static void exec_forward(int sig)
{
	if (exec_child > 0)
		kill((pid_t)exec_child, sig);
}

/* Runs argv as a child and waits for it, like system(3): SIGINT and SIGQUIT ignored here
 * (the terminal sends them to the command too), SIGTERM and SIGHUP forwarded. Returns
 * the wait status in *status, or -1 if the child could not be started. */
static int exec_wait(char **argv, int *status)
{
	static const int sigs[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP};
	struct sigaction act[4], old[4];
	sigset_t block, old_mask;
	pid_t pid;
	size_t i;
	int err;

	memset(act, 0, sizeof(act));
	for (i = 0; i < 4; i++) {
		sigemptyset(&act[i].sa_mask);
		act[i].sa_handler = i < 2 ? SIG_IGN : exec_forward;
		act[i].sa_flags = SA_RESTART;
	}
	/* TERM and HUP wait, blocked, until the child's pid is known. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old_mask);
	for (i = 0; i < 4; i++)
		sigaction(sigs[i], &act[i], &old[i]);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < 4; i++)
			sigaction(sigs[i], &old[i], NULL);
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		execvp(argv[0], argv);
		/* Like a shell: 127 when the command does not exist, 126 when it cannot run. */
		err = errno;
		/* The child's own message: stderr only, its exit status says the rest. */
		fprintf(stderr, "breakglass: %s: %s\n", argv[0],
		        err == ENOENT || err == ENOTDIR ? "command not found" : strerror(err));
		_exit(err == ENOENT || err == ENOTDIR ? 127 : 126);
	}
	err = errno;
	exec_child = pid > 0 ? pid : 0;
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	while (pid > 0 && waitpid(pid, status, 0) < 0) {
		if (errno != EINTR) {
			err = errno;
			pid = -1;
		}
	}
	exec_child = 0;
	for (i = 0; i < 4; i++)
		sigaction(sigs[i], &old[i], NULL);
	if (pid < 0) {
		(void)cli_fail(126, NULL, "cannot run %s: %s", argv[0], strerror(err));
		return -1;
	}
	return 0;
}

/* Ends this process the way the command ended: its exit status, or the same signal (with
 * its default action restored, and no core file of our own). */
static int exec_exit_status(int status)
{
	struct rlimit no_core = {0, 0};
	sigset_t one;
	int sig;

	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (!WIFSIGNALED(status))
		return 126;
	sig = WTERMSIG(status);
	(void)setrlimit(RLIMIT_CORE, &no_core);
	fflush(NULL);
	signal(sig, SIG_DFL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
	return 128 + sig; /* a signal whose default action is not to terminate */
}

int cmd_exec_main(int argc, char **argv)
{
	cli_ctx ctx;
	cli_args a;
	const char *val, *id = NULL, *endpoint, *old_path;
	char **cmd = NULL, **run;
	cli_envvar vars[CLI_CREDS_NVARS];
	json_t *ans = NULL;
	exec_run x;
	bg_err e;
	size_t i;
	int k, rc, err, status = 0;

	memset(&x, 0, sizeof(x));
	cli_ctx_init(&ctx);
	cli_args_init(&a, argc, argv, "exec", &ctx);
	while (cmd == NULL && (k = cli_args_next(&a, NULL, &val)) != CLI_ARG_END) {
		if (k == CLI_ARG_ERROR)
			return CLI_EXIT_USAGE;
		if (id == NULL)
			id = val;
		else /* The command starts here; its own options are not ours. */
			cmd = &a.argv[a.i - 1];
	}
	if (ctx.help)
		return cli_help_show("exec");
	if (id == NULL)
		return cli_usage_error(&a, "missing the GRANT id");
	rc = cli_check_id(&a, "grant id", id);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (cmd == NULL || cmd[0][0] == '\0')
		return cli_usage_error(&a, "missing the COMMAND to run");

	rc = cli_creds_fetch(&ctx, id, &ans);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (cli_out_creds_vars(ans, vars, &e) != 0) {
		json_decref(ans);
		return cli_fail(CLI_EXIT_UNREACHABLE, NULL, "%s", e.msg);
	}
	for (i = 0; i < sizeof(exec_unset) / sizeof(exec_unset[0]); i++) {
		if (unsetenv(exec_unset[i]) != 0)
			goto env_fail;
	}
	for (i = 0; i < CLI_CREDS_NVARS; i++) {
		if (setenv(vars[i].name, vars[i].value, 1) != 0)
			goto env_fail;
	}
	if (setenv("BREAKGLASS_GRANT", id, 1) != 0)
		goto env_fail;
	json_decref(ans);
	/* vars[5] was copied into the environment: use that copy, since ans is gone. */
	endpoint = getenv("AWS_ENDPOINT_URL_DYNAMODB");
	old_path = getenv("PATH");
	if (old_path == NULL)
		old_path = "/usr/local/bin:/usr/bin:/bin";
	if (exec_is_python(cmd[0], old_path))
		fprintf(stderr, "breakglass: note: boto3 older than 1.28 ignores "
		                "AWS_ENDPOINT_URL_DYNAMODB; pass endpoint_url=os.environ["
		                "\"AWS_ENDPOINT_URL_DYNAMODB\"].\n"
		                "breakglass: note: calls that head for real AWS instead are "
		                "refused by the gateway (proxy fence).\n");
	rc = exec_mkdir(&x);
	if (rc == CLI_EXIT_OK)
		rc = exec_write_wrapper(&x, old_path, endpoint);
	if (rc == CLI_EXIT_OK)
		rc = exec_fence_env(&x, endpoint, old_path);
	if (rc != CLI_EXIT_OK) {
		exec_rmdir(&x);
		return rc;
	}
	run = cli_exec_argv(cmd, getenv("AWS_ENDPOINT_URL_DYNAMODB"));
	if (run == NULL) {
		exec_rmdir(&x);
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	}
	rc = exec_wait(run, &status);
	if (run != cmd)
		free(run);
	exec_rmdir(&x);
	return rc != 0 ? 126 : exec_exit_status(status);
env_fail:
	err = errno;
	json_decref(ans);
	return cli_fail(CLI_EXIT_LOCAL, NULL, "cannot set the environment: %s", strerror(err));
}
