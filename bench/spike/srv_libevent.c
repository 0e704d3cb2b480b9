/*
 * srv_libevent.c - spike server on libevent 2.1 evhttp: SPIKE_THREADS threads, each with
 * its own event_base (epoll backend) and evhttp, all accepting from one shared
 * non-blocking listening socket (evhttp_accept_socket). The socket has TCP_NODELAY,
 * which accepted sockets inherit on Linux. The reply body is copied into the request's
 * output evbuffer (evbuffer_add) per request.
 *
 * libevent 2.1 gives a server-side application no callback between the headers and the
 * body (evhttp_set_newreqcb, which would allow evhttp_request_set_header_cb on incoming
 * requests, arrived in 2.2), so the declared-length refusal is the library's own
 * evhttp_set_max_body_size(SPIKE_APP_BODY_MAX).
 *
 *   srv_libevent PORT
 */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

static void answer(struct evhttp_request *req)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char n[24];

	snprintf(n, sizeof(n), "%zu", evbuffer_get_length(evhttp_request_get_input_buffer(req)));
	evhttp_add_header(h, "Content-Type", SPIKE_CTYPE);
	evhttp_add_header(h, SPIKE_LEN_HEADER, n);
	evbuffer_add(out, SPIKE_BODY, SPIKE_BODY_LEN);
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void later_fire(evutil_socket_t fd, short what, void *arg)
{
	answer(arg);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);

	if (evhttp_find_header(in, SPIKE_ASYNC_HEADER) != NULL) {
		struct timeval tv = {0, SPIKE_ASYNC_MS * 1000};
		struct event_base *base =
		    evhttp_connection_get_base(evhttp_request_get_connection(req));
		if (event_base_once(base, -1, EV_TIMEOUT, later_fire, req, &tv) == 0)
			return;
	}
	answer(req);
}

static void *loop_main(void *arg)
{
	event_base_dispatch(arg);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	pthread_t th[SPIKE_THREADS];
	int fd, one = 1, i;

	if (argc != 2) {
		fprintf(stderr, "usage: srv_libevent PORT\n");
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
		perror("srv_libevent: listen");
		return 1;
	}
	for (i = 0; i < SPIKE_THREADS; i++) {
		struct event_base *base = event_base_new();
		struct evhttp *http = base ? evhttp_new(base) : NULL;
		if (http == NULL) {
			fprintf(stderr, "srv_libevent: event_base_new/evhttp_new failed\n");
			return 1;
		}
		evhttp_set_gencb(http, on_request, NULL);
		evhttp_set_allowed_methods(http, EVHTTP_REQ_POST | EVHTTP_REQ_GET);
		evhttp_set_max_body_size(http, SPIKE_APP_BODY_MAX);
		evhttp_set_max_headers_size(http, 16 * 1024);
		evhttp_set_timeout(http, 120);
		if (evhttp_accept_socket(http, fd) != 0) {
			fprintf(stderr, "srv_libevent: evhttp_accept_socket failed\n");
			return 1;
		}
		pthread_create(&th[i], NULL, loop_main, base);
	}
	printf("ready %s\n", argv[1]);
	fflush(stdout);
	for (i = 0; i < SPIKE_THREADS; i++)
		pthread_join(th[i], NULL);
	return 0;
}
