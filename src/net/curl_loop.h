/*
 * curl_loop.h - libcurl's multi-socket interface driven by one net_loop.
 *
 * Upstream calls run as transfers of a CURLM that belongs to one loop: libcurl says
 * which sockets it waits on and when it next needs a timeout, the loop watches them, and
 * a finished transfer calls its job's callback on the loop's thread. No thread waits
 * for DynamoDB; the multi handle's connection cache keeps upstream connections alive
 * across requests.
 */
#ifndef BG_NET_CURL_LOOP_H
#define BG_NET_CURL_LOOP_H

#include <curl/curl.h>

#include "common/err.h"
#include "net/loop.h"

typedef struct net_curl net_curl;

/* One transfer. Embed it in the object that waits for the answer. */
typedef struct net_curl_job {
	CURL *easy;
	void (*done)(struct net_curl_job *j, CURLcode rc); /* on the loop's thread */
	bool running;
} net_curl_job;

int net_curl_new(net_loop *l, net_curl **out, bg_err *e) BG_MUST_CHECK;

/* Aborts what still runs (without callbacks) and frees the multi handle. Accepts NULL. */
void net_curl_free(net_curl *c);

/* Starts j->easy (set up by the caller); j->done is called once when it ends. */
int net_curl_start(net_curl *c, net_curl_job *j) BG_MUST_CHECK;

/* Stops a running transfer without calling done. */
void net_curl_abort(net_curl *c, net_curl_job *j);

#endif
