/*
 * srv_h2o.c - spike server on h2o 2.2's library (libh2o-evloop, HTTP/1.1 over plain
 * TCP): SPIKE_THREADS threads, each with its own h2o_evloop_t and h2o_context_t over
 * one shared h2o_globalconf_t, all accepting from one shared listening socket (each
 * loop watches a dup of it, as the h2o server does with its listeners). The handler
 * copies the body into the request's memory pool and sends it in one final h2o_send.
 *
 * h2o 2.2 calls a handler only once the whole body is in (no hook between headers and
 * body for the application), so the declared-length refusal is the library's own
 * globalconf.max_request_entity_size = SPIKE_APP_BODY_MAX.
 *
 *   srv_h2o PORT
 */
#define H2O_USE_EPOLL 1
#include <arpa/inet.h>
#include <h2o.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

static h2o_globalconf_t config;
static h2o_context_t ctx[SPIKE_THREADS];
static h2o_accept_ctx_t accept_ctx[SPIKE_THREADS];
static h2o_timeout_t later_timeout[SPIKE_THREADS]; /* one per loop, SPIKE_ASYNC_MS */

static void answer(h2o_req_t *req)
{
	static h2o_generator_t generator = {NULL, NULL};
	h2o_iovec_t body;
	char *n = h2o_mem_alloc_pool(&req->pool, 24);

	body.base = h2o_mem_alloc_pool(&req->pool, SPIKE_BODY_LEN);
	body.len = SPIKE_BODY_LEN;
	memcpy(body.base, SPIKE_BODY, SPIKE_BODY_LEN);
	req->res.status = 200;
	req->res.reason = "OK";
	req->res.content_length = SPIKE_BODY_LEN;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
	               H2O_STRLIT(SPIKE_CTYPE));
	h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT(SPIKE_LEN_HEADER), 0, NULL, n,
	                      (size_t)snprintf(n, 24, "%zu", req->entity.len));
	h2o_start_response(req, &generator);
	h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

/* X-Spike-Async: a timeout entry in the request's pool, unlinked if the request dies. */
typedef struct later {
	h2o_timeout_entry_t entry; /* first: the callback gets &entry */
	h2o_req_t *req;
} later;

static void later_fire(h2o_timeout_entry_t *entry)
{
	answer(((later *)entry)->req);
}

static void later_dispose(void *p)
{
	later *l = p;

	if (h2o_timeout_is_linked(&l->entry))
		h2o_timeout_unlink(&l->entry);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	size_t i;

	for (i = 0; i != req->headers.size; ++i) {
		const h2o_header_t *h = req->headers.entries + i;
		/* h2o_lcstris wants the lower-case spelling */
		if (h2o_lcstris(h->name->base, h->name->len, H2O_STRLIT("x-spike-async"))) {
			later *l = h2o_mem_alloc_shared(&req->pool, sizeof(*l), later_dispose);
			size_t t = (size_t)(req->conn->ctx - ctx);
			memset(l, 0, sizeof(*l));
			l->entry.cb = later_fire;
			l->req = req;
			h2o_timeout_link(req->conn->ctx->loop, &later_timeout[t], &l->entry);
			return 0;
		}
	}
	answer(req);
	return 0;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
	int i;

	if (err != NULL)
		return;
	for (i = 0; i < 64; i++) {
		h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
		if (sock == NULL)
			return;
		h2o_accept(listener->data, sock);
	}
}

static void *loop_main(void *arg)
{
	h2o_context_t *c = arg;

	while (h2o_evloop_run(c->loop, INT32_MAX) == 0)
		;
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	pthread_t th[SPIKE_THREADS];
	h2o_hostconf_t *host;
	h2o_pathconf_t *path;
	h2o_handler_t *handler;
	int fd, one = 1, i;

	if (argc != 2) {
		fprintf(stderr, "usage: srv_h2o PORT\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1024) != 0) {
		perror("srv_h2o: listen");
		return 1;
	}
	h2o_config_init(&config);
	config.max_request_entity_size = SPIKE_APP_BODY_MAX;
	config.http1.req_timeout = 120 * 1000;
	host = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	path = h2o_config_register_path(host, "/", 0);
	handler = h2o_create_handler(path, sizeof(*handler));
	handler->on_req = on_req;
	for (i = 0; i < SPIKE_THREADS; i++) {
		h2o_socket_t *ls;
		h2o_context_init(&ctx[i], h2o_evloop_create(), &config);
		h2o_timeout_init(ctx[i].loop, &later_timeout[i], SPIKE_ASYNC_MS);
		accept_ctx[i].ctx = &ctx[i];
		accept_ctx[i].hosts = config.hosts;
		ls = h2o_evloop_socket_create(ctx[i].loop, dup(fd), H2O_SOCKET_FLAG_DONT_READ);
		ls->data = &accept_ctx[i];
		h2o_socket_read_start(ls, on_accept);
	}
	for (i = 0; i < SPIKE_THREADS; i++)
		pthread_create(&th[i], NULL, loop_main, &ctx[i]);
	printf("ready %s\n", argv[1]);
	fflush(stdout);
	for (i = 0; i < SPIKE_THREADS; i++)
		pthread_join(th[i], NULL);
	return 0;
}
