/*
 * common.h - what every spike server answers, and the knobs they share.
 *
 * Every server answers any POST with SPIKE_BODY (762 bytes, application/x-amz-json-1.0),
 * copied once per request into a per-request buffer (a proxy holds each upstream answer
 * in its own memory), and keeps the connection alive. Two extras exist only for the
 * property checks in props.py:
 *   - a request with "X-Spike-Async: 1" is answered SPIKE_ASYNC_MS later from a timer
 *     (or a helper thread where the library has no timer), to show whether the app can
 *     park a connection while the loop keeps serving others;
 *   - every answer carries "X-Spike-Body-Length: N", the body bytes the library handed
 *     the app, so a framing check can tell which length the library believed;
 *   - a request declaring a Content-Length above SPIKE_APP_BODY_MAX is refused with 413
 *     and the body SPIKE_APP_REFUSAL by the app, if the library lets the app see the
 *     headers before the body; otherwise the library's own limit is set to the same value.
 */
#ifndef SPIKE_COMMON_H
#define SPIKE_COMMON_H

#define SPIKE_BODY \
	"{\"Count\":4,\"Items\":[{\"pk\":{\"S\":\"customer#1\"},\"sk\":{\"S\":\"order#0000\"},\"sta" \
	"tus\":{\"S\":\"shipped\"},\"total\":{\"N\":\"100.99\"},\"note\":{\"S\":\"nnnnnnnnnnnnnnnnn" \
	"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\"}},{\"pk\":{\"S\":\"customer#1\"},\"sk" \
	"\":{\"S\":\"order#0001\"},\"status\":{\"S\":\"shipped\"},\"total\":{\"N\":\"101.99\"},\"no" \
	"te\":{\"S\":\"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\"}},{\"p" \
	"k\":{\"S\":\"customer#1\"},\"sk\":{\"S\":\"order#0002\"},\"status\":{\"S\":\"shipped\"},\"" \
	"total\":{\"N\":\"102.99\"},\"note\":{\"S\":\"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn" \
	"nnnnnnnnnnnnnnnnnnnnnn\"}},{\"pk\":{\"S\":\"customer#1\"},\"sk\":{\"S\":\"order#0003\"},\"" \
	"status\":{\"S\":\"shipped\"},\"total\":{\"N\":\"103.99\"},\"note\":{\"S\":\"nnnnnnnnnnnnnn" \
	"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\"}}],\"ScannedCount\":4}"
#define SPIKE_BODY_LEN (sizeof(SPIKE_BODY) - 1)
#define SPIKE_CTYPE "application/x-amz-json-1.0"

#define SPIKE_THREADS      2
#define SPIKE_MAX_CONNS    4096
#define SPIKE_APP_BODY_MAX (1024u * 1024u)
#define SPIKE_ASYNC_MS     50
#define SPIKE_APP_REFUSAL  "{\"by\":\"app\"}"
#define SPIKE_ASYNC_HEADER "X-Spike-Async"
#define SPIKE_LEN_HEADER   "X-Spike-Body-Length"

#endif
