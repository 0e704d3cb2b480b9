/*
 * test_sink_syslog_rsyslog.c - the syslog transport against a real rsyslogd (Debian's
 * rsyslog and rsyslog-relp, installed by scripts/install-deps.sh; not skipped when
 * missing: the test fails). The test starts `rsyslogd -n -f CONF -i PIDFILE` with a
 * configuration of its own: imudp, imtcp and imrelp on free loopback ports (127.0.0.1
 * only) and imuxsock on a socket in a temporary directory, each writing the MSG of what
 * breakglass sent to a file of its own ("%msg%\n"). Every transport must bring every
 * record exactly once and intact (each line is the record's export line, or its stub
 * for a datagram that could not hold it, and the file verifies as a trail); TCP must
 * notice that a restarted rsyslogd closed its connection; RELP must fail, not claim
 * acceptance, while rsyslogd is stopped (before or in the middle of a batch of
 * BG_SINK_BATCH records) or frozen, and succeed once it is back. Also pinned: rsyslog cuts
 * a record over its maxMessageSize yet acknowledges it (docs/audit-syslog.md warns of it).
 * rsyslogd is stopped by its PID.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit_util.h"

#include "sink_syslog_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit/sink_syslog.h"
#include "common/limits.h"

static char tmpdir[64];
static su_trail trail;
static int port_udp, port_tcp, port_relp;
static pid_t rsyslogd = -1;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A port nobody listens on now (bound to 0 and released). */
static int free_port(int type)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), port;

	if (fd < 0)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		close(fd);
		return -1;
	}
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static bool tcp_listening(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static int write_conf(void)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/rsyslog.conf", tmpdir);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fprintf(f,
	        "# the test's own rsyslogd: loopback only, files in %s\n"
	        "global(workDirectory=\"%s\" maxMessageSize=\"256k\")\n"
	        "module(load=\"imudp\")\n"
	        "module(load=\"imtcp\")\n"
	        "module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
	        "module(load=\"imrelp\")\n"
	        "input(type=\"imudp\" address=\"127.0.0.1\" port=\"%d\")\n"
	        "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"%d\")\n"
	        "input(type=\"imuxsock\" socket=\"%s/log.sock\" useSpecialParser=\"off\" "
	        "parseHostname=\"on\" ratelimit.interval=\"0\")\n"
	        "input(type=\"imrelp\" address=\"127.0.0.1\" port=\"%d\")\n"
	        "template(name=\"raw\" type=\"string\" string=\"%%msg%%\\n\")\n"
	        "if $app-name == \"breakglass\" then {\n"
	        "  if $inputname == \"imudp\" then action(type=\"omfile\" file=\"%s/udp.log\" "
	        "template=\"raw\")\n"
	        "  if $inputname == \"imtcp\" then action(type=\"omfile\" file=\"%s/tcp.log\" "
	        "template=\"raw\")\n"
	        "  if $inputname == \"imuxsock\" then action(type=\"omfile\" file=\"%s/unix.log\" "
	        "template=\"raw\")\n"
	        "  if $inputname == \"imrelp\" then action(type=\"omfile\" file=\"%s/relp.log\" "
	        "template=\"raw\")\n"
	        "}\n",
	        tmpdir, tmpdir, port_udp, port_tcp, tmpdir, port_relp, tmpdir, tmpdir, tmpdir,
	        tmpdir);
	return fclose(f) == 0 ? 0 : -1;
}

/* Starts rsyslogd and waits until its TCP and RELP ports and its socket are there. */
static int start_rsyslogd(void)
{
	char conf[160], pidf[160], out[160], sock[160];
	int64_t until = now_ms() + 15000;
	pid_t pid;

	snprintf(conf, sizeof(conf), "%s/rsyslog.conf", tmpdir);
	snprintf(pidf, sizeof(pidf), "%s/rsyslogd.pid", tmpdir);
	snprintf(out, sizeof(out), "%s/rsyslogd.out", tmpdir);
	snprintf(sock, sizeof(sock), "%s/log.sock", tmpdir);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl("/usr/sbin/rsyslogd", "rsyslogd", "-n", "-f", conf, "-i", pidf, (char *)NULL);
		execlp("rsyslogd", "rsyslogd", "-n", "-f", conf, "-i", pidf, (char *)NULL);
		fprintf(stderr, "cannot run rsyslogd (scripts/install-deps.sh installs it): %s\n",
		        strerror(errno));
		_exit(127);
	}
	rsyslogd = pid;
	while (now_ms() < until) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			rsyslogd = -1;
			print_error("rsyslogd exited at start; see %s\n", out);
			return -1;
		}
		if (tcp_listening(port_tcp) && tcp_listening(port_relp) &&
		    access(sock, W_OK) == 0) {
			usleep(200000); /* imudp binds beside them */
			return 0;
		}
		usleep(50000);
	}
	print_error("rsyslogd did not listen within 15 s; see %s\n", out);
	return -1;
}

/* Stops rsyslogd (by its PID) and waits for it. */
static void stop_rsyslogd(void)
{
	int st;

	if (rsyslogd <= 0)
		return;
	kill(rsyslogd, SIGTERM);
	if (waitpid(rsyslogd, &st, 0) != rsyslogd)
		print_error("waitpid rsyslogd: %s\n", strerror(errno));
	rsyslogd = -1;
}

static int setup(void **state)
{
	if (ut_tmpdir(tmpdir, sizeof(tmpdir), "rsyslog") != 0)
		return -1;
	if (su_trail_make(tmpdir, 10, &trail) != 0)
		return -1;
	port_udp = free_port(SOCK_DGRAM);
	port_tcp = free_port(SOCK_STREAM);
	port_relp = free_port(SOCK_STREAM);
	if (port_udp < 0 || port_tcp < 0 || port_relp < 0 || port_tcp == port_relp)
		return -1;
	if (write_conf() != 0)
		return -1;
	return start_rsyslogd();
}

static int teardown(void **state)
{
	stop_rsyslogd();
	su_trail_free(&trail);
	return ut_rm_tree(tmpdir);
}

/* The lines of file name in tmpdir (heap, NULL-terminated), or NULL when absent. */
static char **lines_of(const char *name, size_t *n)
{
	char path[160], *buf = NULL, **out, *p, *nl;
	size_t cap = 0, len = 0, k = 0;
	FILE *f;

	*n = 0;
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	for (;;) {
		if (len + 65536 > cap) {
			cap = 2 * cap + 65536;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
		size_t r = fread(buf + len, 1, cap - len, f);
		if (r == 0)
			break;
		len += r;
	}
	fclose(f);
	buf[len] = '\0';
	for (p = buf; p < buf + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(buf + len - p));
		if (nl == NULL)
			break; /* a line being written */
		k++;
	}
	out = calloc(k + 1, sizeof(*out));
	assert_non_null(out);
	for (p = buf, k = 0; p < buf + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(buf + len - p));
		if (nl == NULL)
			break;
		out[k++] = strndup(p, (size_t)(nl - p));
	}
	free(buf);
	*n = k;
	return out;
}

static void free_lines(char **l)
{
	size_t i;

	for (i = 0; l != NULL && l[i] != NULL; i++)
		free(l[i]);
	free(l);
}

/* Waits (up to 10 s) until file name holds want lines, then a little longer to see that
 * no more come; returns its lines. */
static char **wait_lines(const char *name, size_t want)
{
	int64_t until = now_ms() + 10000;
	char **l;
	size_t n;

	for (;;) {
		l = lines_of(name, &n);
		if (n >= want || now_ms() > until)
			break;
		free_lines(l);
		usleep(50000);
	}
	if (n < want)
		fail_msg("%s: %zu lines after 10 s, want %zu", name, n, want);
	free_lines(l);
	usleep(300000);
	l = lines_of(name, &n);
	if (n != want)
		fail_msg("%s: %zu lines, want exactly %zu", name, n, want);
	return l;
}

/* What record i looks like on arrival: whole, or its stub when it went as a datagram
 * too long for one. */
static char *expected(size_t i, bool dgram)
{
	if (dgram && trail.recs[i].len + BG_SYSLOG_HEADER_MAX > BG_SYSLOG_DGRAM_MAX)
		return su_stub_of(trail.lines[i]);
	return strdup(trail.lines[i]);
}

/* Lines [off, off + trail.n) of l must be the trail, in order, intact, and verify. */
static void check_copy(char **l, size_t off, bool dgram)
{
	size_t i;
	bool partial = true;
	char *want;

	for (i = 0; i < trail.n; i++) {
		want = expected(i, dgram);
		assert_non_null(want);
		assert_string_equal(l[off + i], want);
		free(want);
	}
	assert_true(su_verify(trail.key, l + off, trail.n, &partial));
	assert_int_equal(partial, dgram);
}

/* Opens a sink to scheme + "127.0.0.1:PORT", or to scheme + rest when rest is given. */
/* Waits for file name to hold exactly total lines, the last trail.n of them the trail. */
static void check_file(const char *name, size_t total, bool dgram)
{
	char **l = wait_lines(name, total);

	check_copy(l, total - trail.n, dgram);
	free_lines(l);
}

static void *open_sink(const char *scheme, const char *rest, int port)
{
	char addr[200];
	sink_conf c = {.type = SINK_SYSLOG, .address = addr};
	void *s = NULL;
	bg_err e;

	if (rest != NULL)
		snprintf(addr, sizeof(addr), "%s%s", scheme, rest);
	else
		snprintf(addr, sizeof(addr), "%s127.0.0.1:%d", scheme, port);
	if (sink_syslog_ops.open(&c, &s, &e) != 0)
		fail_msg("open %s: %s", addr, e.msg);
	return s;
}

static void deliver_ok_recs(void *s, const sink_rec *recs, size_t n)
{
	size_t acc = 0;
	bg_err e;

	bg_err_clear(&e);
	if (sink_syslog_ops.deliver(s, recs, n, &acc, &e) != 0)
		fail_msg("deliver: %s", e.msg);
	assert_int_equal(acc, n);
}

static void deliver_ok(void *s, size_t from, size_t n)
{
	deliver_ok_recs(s, trail.recs + from, n);
}

static void test_udp(void **state)
{
	void *s = open_sink("udp://", NULL, port_udp);

	deliver_ok(s, 0, trail.n);
	check_file("udp.log", trail.n, true);
	sink_syslog_ops.close(s);
}

static void test_unix(void **state)
{
	char sock[160];
	void *s;
	size_t i, k;

	snprintf(sock, sizeof(sock), "%s/log.sock", tmpdir);
	s = open_sink("unix:", sock, 0);
	for (i = 0; i < trail.n; i += k) {
		k = trail.n - i < 5 ? trail.n - i : 5;
		deliver_ok(s, i, k);
	}
	check_file("unix.log", trail.n, true);
	sink_syslog_ops.close(s);
}

static void test_tcp(void **state)
{
	void *s = open_sink("tcp://", NULL, port_tcp);

	deliver_ok(s, 0, trail.n);
	check_file("tcp.log", trail.n, false);

	/* rsyslogd restarts, closing the connection: the sink notices and reconnects */
	stop_rsyslogd();
	assert_int_equal(start_rsyslogd(), 0);
	deliver_ok(s, 0, trail.n);
	check_file("tcp.log", 2 * trail.n, false);
	sink_syslog_ops.close(s);
}

static void test_relp(void **state)
{
	void *s = open_sink("relp://", NULL, port_relp);
	size_t acc;
	int64_t t0;
	bg_err e;

	deliver_ok(s, 0, trail.n);
	check_file("relp.log", trail.n, false);

	/* rsyslogd stopped: deliver fails, claiming nothing */
	stop_rsyslogd();
	acc = 99;
	assert_int_equal(sink_syslog_ops.deliver(s, trail.recs, trail.n, &acc, &e), BG_EIO);
	assert_int_equal(acc, 0);
	print_message("rsyslogd stopped: %s\n", e.msg);
	assert_non_null(strstr(e.msg, "relp://127.0.0.1:"));

	/* back: the same batch is acknowledged, and arrives once */
	assert_int_equal(start_rsyslogd(), 0);
	deliver_ok(s, 0, trail.n);
	check_file("relp.log", 2 * trail.n, false);

	/* frozen (it accepts connections but answers nothing): deliver fails in bounded
	 * time instead of hanging or claiming acceptance */
	assert_int_equal(kill(rsyslogd, SIGSTOP), 0);
	acc = 99;
	t0 = now_ms();
	assert_int_equal(sink_syslog_ops.deliver(s, trail.recs, trail.n, &acc, &e), BG_EIO);
	print_message("rsyslogd frozen: %s (%lld ms)\n", e.msg, (long long)(now_ms() - t0));
	assert_int_equal(acc, 0);
	assert_true(now_ms() - t0 < 3 * BG_SINK_IO_TIMEOUT_MS + 2000);
	assert_int_equal(kill(rsyslogd, SIGCONT), 0);
	deliver_ok(s, 0, trail.n);
	check_file("relp.log", 3 * trail.n, false);
	sink_syslog_ops.close(s);
}

/* Stops rsyslogd (SIGTERM, so it writes what it acknowledged) once relp.log has grown
 * past a size: in the middle of a large delivery. */
typedef struct stopper {
	off_t past;
	pid_t pid;
	bool fired;
} stopper;

static void *stop_when_grown(void *arg)
{
	stopper *st = arg;
	char path[160];
	struct stat sb;
	int64_t until = now_ms() + 20000;

	snprintf(path, sizeof(path), "%s/relp.log", tmpdir);
	while (now_ms() < until) {
		if (stat(path, &sb) == 0 && sb.st_size > st->past) {
			kill(st->pid, SIGTERM);
			st->fired = true;
			return NULL;
		}
		usleep(500);
	}
	return NULL;
}

static void test_relp_stopped_midway(void **state)
{
	size_t n = BG_SINK_BATCH, i, have, acc, base;
	sink_rec *batch = calloc(n, sizeof(*batch));
	stopper st = {.pid = rsyslogd};
	void *s = open_sink("relp://", NULL, port_relp);
	char path[160], **l;
	struct stat sb;
	pthread_t th;
	bg_err e;
	int rc, ws;

	assert_non_null(batch);
	for (i = 0; i < n; i++)
		batch[i] = trail.recs[i % trail.n];
	free_lines(lines_of("relp.log", &base));
	snprintf(path, sizeof(path), "%s/relp.log", tmpdir);
	assert_int_equal(stat(path, &sb), 0);
	st.past = sb.st_size + 256 * 1024;
	assert_int_equal(pthread_create(&th, NULL, stop_when_grown, &st), 0);
	rc = sink_syslog_ops.deliver(s, batch, n, &acc, &e);
	pthread_join(th, NULL);
	assert_true(st.fired);
	assert_int_equal(waitpid(rsyslogd, &ws, 0), rsyslogd);
	rsyslogd = -1;
	free_lines(lines_of("relp.log", &have));
	print_message("stopped mid-way: deliver %s (%s); %zu of %zu written\n",
	              rc == 0 ? "succeeded" : "failed", rc == 0 ? "-" : e.msg, have - base, n);
	/* never a claim of what did not arrive */
	if (rc == 0)
		assert_true(have - base >= n);
	else
		assert_int_equal(acc, 0);

	/* back: the batch again, acknowledged, and all of it there */
	assert_int_equal(start_rsyslogd(), 0);
	deliver_ok_recs(s, batch, n);
	l = wait_lines("relp.log", have + n);
	for (i = 0; i < n; i++)
		if (strcmp(l[have + i], batch[i].line) != 0)
			fail_msg("line %zu of the second delivery differs", i);
	free_lines(l);
	sink_syslog_ops.close(s);
	free(batch);
}

/* What docs/audit-syslog.md warns about: a record longer than rsyslog's maxMessageSize
 * (256k here) is cut by rsyslog, which still answers RELP's 200; the copy then fails
 * verify. If rsyslog starts refusing such frames instead, this test says so and the doc
 * needs updating. */
static void test_relp_oversize_is_cut(void **state)
{
	size_t base, n, len = 300 * 1024;
	char *line = malloc(len + 64), **l;
	sink_rec r = {.seq = 1, .ts_ms = 0, .kind = "request"};
	void *s = open_sink("relp://", NULL, port_relp);
	bool partial;
	static const char head[] = "{\"seq\":1,\"body\":\"";
	size_t h = sizeof(head) - 1;

	assert_non_null(line);
	memcpy(line, head, h);
	memset(line + h, 'x', len);
	memcpy(line + h + len, "\"}", 3);
	r.line = line;
	r.len = strlen(line);
	free_lines(lines_of("relp.log", &base));
	deliver_ok_recs(s, &r, 1);
	l = wait_lines("relp.log", base + 1);
	n = strlen(l[base]);
	print_message("a %zu-byte record arrived as %zu bytes, acknowledged\n", r.len, n);
	assert_true(n < r.len);
	assert_false(su_verify(trail.key, l + base, 1, &partial));
	free_lines(l);
	free(line);
	sink_syslog_ops.close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_udp),
	    cmocka_unit_test(test_unix),
	    cmocka_unit_test(test_tcp),
	    cmocka_unit_test(test_relp),
	    cmocka_unit_test(test_relp_stopped_midway),
	    cmocka_unit_test(test_relp_oversize_is_cut),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
