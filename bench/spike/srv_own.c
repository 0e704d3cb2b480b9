/*
 * srv_own.c - spike server on breakglass's own transport: src/net/loop.c and
 * src/net/http_server.c (epoll + http-parser), SPIKE_THREADS loops sharing one
 * listening socket (EPOLLEXCLUSIVE), the handler answering with net_http_reply.
 *
 *   srv_own PORT
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "net/http_server.h"
#include "net/loop.h"

static void reply_body(net_http_conn *c, int status, const char *text, size_t len)
{
	const net_http_request *r = net_http_conn_request(c);
	char n[24];
	net_http_header h[2] = {{"Content-Type", 12, SPIKE_CTYPE, sizeof(SPIKE_CTYPE) - 1},
	                        {SPIKE_LEN_HEADER, sizeof(SPIKE_LEN_HEADER) - 1, n, 0}};
	bg_buf b;

	h[1].value_len = (size_t)snprintf(n, sizeof(n), "%zu", r ? r->body_len : 0);

	bg_buf_init(&b, BG_MAX_RESPONSE_BODY);
	if (bg_buf_add(&b, text, len) != 0) {
		bg_buf_free(&b);
		(void)net_http_reply(c, 500, NULL, 0, NULL, NET_REPLY_CLOSE);
		return;
	}
	(void)net_http_reply(c, status, h, 2, &b, 0);
}

/* X-Spike-Async: answer from a timer on the connection's loop. */
typedef struct later {
	net_timer t;
	net_http_conn *c;
} later;

static void later_fire(void *arg)
{
	later *l = arg;

	reply_body(l->c, 200, SPIKE_BODY, SPIKE_BODY_LEN);
	free(l);
}

static int on_head(void *app, net_http_conn *c, net_http_request *r)
{
	if (r->has_length && r->content_length > SPIKE_APP_BODY_MAX) {
		reply_body(c, 413, SPIKE_APP_REFUSAL, sizeof(SPIKE_APP_REFUSAL) - 1);
		return 1;
	}
	return 0;
}

static void on_request(void *app, net_http_conn *c, const net_http_request *r)
{
	size_t i;

	for (i = 0; i < r->n_headers; i++) {
		const net_http_header *h = &r->headers[i];
		if (h->name_len == sizeof(SPIKE_ASYNC_HEADER) - 1 &&
		    strncasecmp(h->name, SPIKE_ASYNC_HEADER, h->name_len) == 0) {
			later *l = calloc(1, sizeof(*l));
			if (l == NULL)
				break;
			l->c = c;
			l->t.fn = later_fire;
			l->t.arg = l;
			if (net_timer_arm(net_http_conn_loop(c), &l->t, SPIKE_ASYNC_MS) != 0) {
				free(l);
				break;
			}
			return;
		}
	}
	reply_body(c, 200, SPIKE_BODY, SPIKE_BODY_LEN);
}

static int on_error(void *app, net_http_conn *c, const net_http_request *r, net_http_error err,
                    const char *msg)
{
	int status = err == NET_HTTP_TOO_LARGE ? 413 : err == NET_HTTP_BUSY ? 503 : 400;

	reply_body(c, status, msg, strlen(msg));
	return 0;
}

static void *loop_main(void *arg)
{
	(void)net_loop_run(arg);
	return NULL;
}

int main(int argc, char **argv)
{
	net_loop *loops[SPIKE_THREADS];
	pthread_t th[SPIKE_THREADS];
	net_http_settings set;
	net_http_handler h = {NULL, on_head, on_request, on_error};
	net_http_server *srv;
	uint16_t bound = 0;
	bg_err e;
	int i;

	if (argc != 2) {
		fprintf(stderr, "usage: srv_own PORT\n");
		return 2;
	}
	for (i = 0; i < SPIKE_THREADS; i++)
		if (net_loop_new(&loops[i], &e) != 0) {
			fprintf(stderr, "srv_own: %s\n", e.msg);
			return 1;
		}
	net_http_settings_default(&set);
	set.max_connections = SPIKE_MAX_CONNS;
	if (net_http_server_new("127.0.0.1", (uint16_t)atoi(argv[1]), loops, SPIKE_THREADS, &set, &h,
	                        &srv, &bound, &e) != 0) {
		fprintf(stderr, "srv_own: %s\n", e.msg);
		return 1;
	}
	for (i = 0; i < SPIKE_THREADS; i++)
		pthread_create(&th[i], NULL, loop_main, loops[i]);
	printf("ready %u\n", (unsigned)bound);
	fflush(stdout);
	for (i = 0; i < SPIKE_THREADS; i++)
		pthread_join(th[i], NULL);
	return 0;
}
