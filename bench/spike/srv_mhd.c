/*
 * srv_mhd.c - spike server on libmicrohttpd 0.9.75 in the mode the gateway would use
 * with an asynchronous pipeline: MHD_USE_EPOLL_INTERNAL_THREAD with a thread pool of
 * SPIKE_THREADS (each pool thread runs its own epoll set and accepts from the shared
 * listening socket) and MHD_ALLOW_SUSPEND_RESUME. Connection memory: MHD's default
 * 32 KiB pool (what the gateway used before). The response is created per request with
 * MHD_RESPMEM_MUST_COPY, as the old gateway did.
 *
 *   srv_mhd PORT
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

/* Per-request state, in *con_cls. */
typedef struct req {
	int async;   /* X-Spike-Async seen */
	int resumed; /* the helper thread resumed us: answer now */
	size_t body_len;
	struct MHD_Connection *conn;
} req;

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *text,
                              size_t len, size_t body_len)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;
	char n[24];

	if (r == NULL)
		return MHD_NO;
	snprintf(n, sizeof(n), "%zu", body_len);
	MHD_add_response_header(r, "Content-Type", SPIKE_CTYPE);
	MHD_add_response_header(r, SPIKE_LEN_HEADER, n);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* MHD has no timer for the application: a helper thread sleeps, then resumes. */
static void *resume_later(void *arg)
{
	req *q = arg;
	struct timespec ts = {0, SPIKE_ASYNC_MS * 1000000L};

	nanosleep(&ts, NULL);
	q->resumed = 1;
	MHD_resume_connection(q->conn);
	return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
	req *q = *con_cls;

	if (q == NULL) {
		/* First call: the headers are complete, no body byte has been handed over. */
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl != NULL && strtoull(cl, NULL, 10) > SPIKE_APP_BODY_MAX)
			return answer(c, 413, SPIKE_APP_REFUSAL, sizeof(SPIKE_APP_REFUSAL) - 1, 0);
		q = calloc(1, sizeof(*q));
		if (q == NULL)
			return MHD_NO;
		q->conn = c;
		q->async = MHD_lookup_connection_value(c, MHD_HEADER_KIND, SPIKE_ASYNC_HEADER) != NULL;
		*con_cls = q;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		q->body_len += *upload_data_size; /* a real handler would keep the bytes */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (q->async && !q->resumed) {
		pthread_t t;
		MHD_suspend_connection(c);
		if (pthread_create(&t, NULL, resume_later, q) != 0)
			return MHD_NO;
		pthread_detach(t);
		return MHD_YES;
	}
	return answer(c, 200, SPIKE_BODY, SPIKE_BODY_LEN, q->body_len);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	free(*con_cls);
	*con_cls = NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct MHD_Daemon *d;

	if (argc != 2) {
		fprintf(stderr, "usage: srv_mhd PORT\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
	                         MHD_USE_ERROR_LOG,
	                     0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
	                     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)SPIKE_THREADS,
	                     MHD_OPTION_CONNECTION_LIMIT, (unsigned)SPIKE_MAX_CONNS,
	                     MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_LISTEN_BACKLOG_SIZE,
	                     1024u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	                     MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "srv_mhd: MHD_start_daemon failed\n");
		return 1;
	}
	printf("ready %s\n", argv[1]);
	fflush(stdout);
	for (;;)
		pause();
}
