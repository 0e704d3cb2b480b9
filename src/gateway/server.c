/*
 * server.c - `breakglass serve`: the HTTP front (libmicrohttpd) that carries both the
 * DynamoDB endpoint and the JSON API, and the start-up and shutdown around it.
 *
 * libmicrohttpd runs one thread per connection: a forwarded request blocks on DynamoDB
 * and on the audit log's durable write, and a thread per connection keeps that simple
 * and lets other clients proceed. Bodies are collected up to a hard limit that depends
 * on the route, before any parser sees them.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <errno.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/encode.h"
#include "gateway/gateway.h"
#include "gateway/gw.h"
#include "protocol/ddb_error.h"
#include "signing/awscreds.h"
#include "workflow/grant.h"

/* Per-request state kept by libmicrohttpd between calls of the access handler. */
typedef struct conn_state {
	bg_buf body;
	int too_large;
	int is_api;
	sigv4_header headers[BG_MAX_HEADERS];
	size_t n_headers;
	int too_many_headers;
} conn_state;

void gw_reply_header(gw_reply *r, const char *name, const char *value)
{
	size_t n;

	if (r->n_headers >= GW_REPLY_MAX_HEADERS || value == NULL || value[0] == '\0')
		return;
	n = strlen(value);
	if (n >= sizeof(r->headers[0].value))
		n = sizeof(r->headers[0].value) - 1;
	r->headers[r->n_headers].name = name;
	memcpy(r->headers[r->n_headers].value, value, n);
	r->headers[r->n_headers].value[n] = '\0';
	r->n_headers++;
}

const char *gw_header(const gw_http_request *r, const char *name, size_t *len)
{
	size_t i, n = strlen(name);

	for (i = 0; i < r->n_headers; i++)
		if (r->headers[i].name_len == n && strncasecmp(r->headers[i].name, name, n) == 0) {
			if (len)
				*len = r->headers[i].value_len;
			return r->headers[i].value;
		}
	return NULL;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
	conn_state *cs = cls;

	if (cs->n_headers >= BG_MAX_HEADERS || value_size > BG_MAX_HEADER_VALUE) {
		cs->too_many_headers = 1;
		return MHD_NO;
	}
	cs->headers[cs->n_headers++] =
	    (sigv4_header){key, key_size, value ? value : "", value ? value_size : 0};
	return MHD_YES;
}

static enum MHD_Result count_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
	(*(size_t *)cls)++;
	return MHD_YES;
}

static const char *query_arg(const gw_http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static void peer_name(struct MHD_Connection *conn, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ci->client_addr;
		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		port = ntohs(s->sin_port);
	} else if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ci->client_addr;
		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		port = ntohs(s->sin6_port);
	}
	snprintf(out, cap, "%s:%u", a, port);
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, gw_reply *rep,
                                  const char *request_id)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t i;
	int have_rid = 0;

	resp = MHD_create_response_from_buffer(rep->body.len, rep->body.data ? rep->body.data : "",
	                                       MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type",
	                        rep->content_type[0] ? rep->content_type
	                                             : "application/x-amz-json-1.0");
	for (i = 0; i < rep->n_headers; i++) {
		MHD_add_response_header(resp, rep->headers[i].name, rep->headers[i].value);
		if (strcasecmp(rep->headers[i].name, "x-amzn-RequestId") == 0)
			have_rid = 1;
	}
	if (!have_rid)
		MHD_add_response_header(resp, "x-amzn-RequestId", request_id);
	MHD_add_response_header(resp, "x-breakglass-request-id", request_id);
	ret = MHD_queue_response(conn, (unsigned)rep->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void reply_error(gw_reply *rep, ddb_error_kind k, const char *msg)
{
	rep->status = ddb_error_status(k);
	bg_buf_reset(&rep->body);
	if (ddb_error_body(k, msg, &rep->body) != 0)
		rep->status = 500;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	gw *g = cls;
	conn_state *cs = *con_cls;
	gw_http_request hr;
	gw_reply rep;
	char peer[80];
	uint8_t rid[16];
	enum MHD_Result ret;

	if (cs == NULL) {
		cs = calloc(1, sizeof(*cs));
		if (cs == NULL)
			return MHD_NO;
		cs->is_api = strncmp(url, "/api/", 5) == 0;
		bg_buf_init(&cs->body, cs->is_api ? BG_MAX_API_BODY : BG_MAX_REQUEST_BODY);
		*con_cls = cs;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!cs->too_large && bg_buf_add(&cs->body, upload_data, *upload_data_size) != 0) {
			cs->too_large = 1;
			bg_buf_free(&cs->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}

	memset(&hr, 0, sizeof(hr));
	memset(&rep, 0, sizeof(rep));
	bg_buf_init(&rep.body, BG_MAX_RESPONSE_BODY);
	if (bg_random(rid, sizeof(rid)) != 0)
		return MHD_NO;
	bg_base32(rid, sizeof(rid), false, hr.request_id, sizeof(hr.request_id));
	MHD_get_connection_values_n(conn, MHD_HEADER_KIND, collect_header, cs);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, count_arg, &hr.n_query);
	peer_name(conn, peer, sizeof(peer));
	hr.method = method;
	hr.path = url;
	hr.headers = cs->headers;
	hr.n_headers = cs->n_headers;
	hr.body = (const uint8_t *)(cs->body.data ? cs->body.data : "");
	hr.body_len = cs->body.len;
	hr.peer = peer;
	hr.arg = query_arg;
	hr.conn = conn;

	if (cs->too_many_headers) {
		reply_error(&rep, DDB_ERR_VALIDATION, "Too many or too large HTTP headers");
	} else if (cs->too_large) {
		reply_error(&rep, DDB_ERR_TOO_LARGE, "Request body exceeds the gateway's limit");
	} else if (cs->is_api) {
		gw_api_handle(g, &hr, &rep);
	} else if (strcmp(method, "GET") == 0 && strcmp(url, "/") == 0) {
		/* DynamoDB answers GET / with a health line; load balancers probe it. */
		rep.status = 200;
		snprintf(rep.content_type, sizeof(rep.content_type), "text/plain");
		if (bg_buf_adds(&rep.body, "healthy: breakglass\n") != 0)
			rep.status = 500;
	} else if (strcmp(method, "POST") != 0 || strcmp(url, "/") != 0 || hr.n_query != 0) {
		reply_error(
		    &rep, DDB_ERR_VALIDATION,
		    "breakglass serves DynamoDB requests as POST / and its API under /api/v1/");
	} else {
		gw_dynamo_handle(g, &hr, &rep);
	}
	ret = send_reply(conn, &rep, hr.request_id);
	bg_buf_free(&rep.body);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	conn_state *cs = *con_cls;

	if (cs == NULL)
		return;
	bg_buf_free(&cs->body);
	free(cs);
	*con_cls = NULL;
}

/* Open client connections. When the last one closes, return freed heap to the system:
 * glibc keeps it after a burst otherwise, and an idle gateway should be small again. */
static atomic_int open_connections;

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		atomic_fetch_add(&open_connections, 1);
	else if (atomic_fetch_sub(&open_connections, 1) == 1)
		malloc_trim(0);
}

static void gw_close(gw *g)
{
	sigv4_verifier_free(g->verifier);
	upstream_free(g->up);
	audit_free(g->audit);
	store_free(g->st);
	keyring_free(g->kr);
	memset(g, 0, sizeof(*g));
}

static int gw_open(gw *g, bg_err *e)
{
	static const char *const required[] = {"host", "x-amz-target"};
	awscreds *creds = NULL;
	bg_buf path;
	int rc;

	bg_buf_init(&path, 4096);
	if (bg_buf_addf(&path, "%s/master.key", g->cfg.data) != 0)
		rc = bg_err_set(e, BG_ELIMIT, "the data directory's path is too long");
	else
		rc = store_open(g->cfg.data, false, &g->st, e);
	if (rc == 0)
		rc = keyring_load(path.data, false, &g->kr, e);
	bg_buf_free(&path);
	if (rc == 0)
		rc = audit_open(g->cfg.data, &g->audit, e);
	if (rc == 0)
		rc = awscreds_load(&creds, e);
	if (rc == 0)
		rc = upstream_new(g->cfg.upstream, g->cfg.region, creds, &g->up, e);
	if (rc)
		return rc;
	g->verifier = sigv4_verifier_new(g->cfg.region, "dynamodb", required, 2);
	if (g->verifier == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	return 0;
}

int gateway_serve_main(int argc, char **argv)
{
	gw g;
	bg_err e;
	struct MHD_Daemon *d = NULL;
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *di;
	sigset_t set;
	int sig = 0, rc;
	unsigned port;

	memset(&g, 0, sizeof(g));
	bg_err_clear(&e);
	if (gw_config_load(&g.cfg, argc, argv, &e) != 0) {
		fprintf(stderr, "breakglass serve: %s\n", e.msg);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(g.cfg.listen_port);
	if (inet_pton(AF_INET,
	              strcmp(g.cfg.listen_host, "localhost") == 0 ? "127.0.0.1" : g.cfg.listen_host,
	              &sa.sin_addr) != 1) {
		fprintf(stderr, "breakglass serve: listen address must be an IPv4 address\n");
		return 2;
	}
	/* Few malloc arenas: many connection threads, each touching little memory. */
	mallopt(M_ARENA_MAX, 2);
	if (gw_open(&g, &e) != 0) {
		fprintf(stderr, "breakglass serve: %s\n", e.msg);
		gw_close(&g);
		return 3;
	}

	/* Worker threads inherit this mask, so only sigwait() below sees the signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	                         MHD_USE_POLL | MHD_USE_ERROR_LOG,
	                     0, NULL, NULL, on_request, &g, MHD_OPTION_SOCK_ADDR, &sa,
	                     MHD_OPTION_CONNECTION_LIMIT, (unsigned)BG_MAX_CONNECTIONS,
	                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)BG_HTTP_IDLE_TIMEOUT_S,
	                     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)BG_HTTP_CONN_MEMORY,
	                     MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024),
	                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	                     MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "breakglass serve: cannot listen on %s:%u: %s\n", g.cfg.listen_host,
		        g.cfg.listen_port, strerror(errno));
		gw_close(&g);
		return 3;
	}
	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	port = di ? di->port : g.cfg.listen_port;
	if (g.cfg.public_url[0] == '\0')
		snprintf(g.cfg.public_url, sizeof(g.cfg.public_url), "http://%s:%u",
		         g.cfg.listen_host, port);
	if (g.cfg.json) {
		char listen[96], *line;
		json_t *o;

		snprintf(listen, sizeof(listen), "%s:%u", g.cfg.listen_host, port);
		o = json_pack("{s:s,s:s,s:s,s:i}", "listen", listen, "upstream", g.cfg.upstream,
		              "public_url", g.cfg.public_url, "pid", (int)getpid());
		line = o ? json_dumps(o, JSON_COMPACT) : NULL;
		printf("%s\n", line ? line : "{}");
		free(line);
		json_decref(o);
	} else
		printf("breakglass: serving DynamoDB and the API on %s (upstream %s, region %s)\n",
		       g.cfg.public_url, g.cfg.upstream, g.cfg.region);
	fflush(stdout);

	rc = sigwait(&set, &sig);
	fprintf(stderr, "breakglass: %s, stopping\n", rc == 0 ? strsignal(sig) : "sigwait failed");
	MHD_stop_daemon(d);
	gw_close(&g);
	return 0;
}
