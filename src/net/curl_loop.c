/*
 * curl_loop.c - a CURLM on a net_loop (see curl_loop.h).
 *
 * Idle upstream connections stay in the loop's epoll set ("parked"). libcurl stops
 * watching a connection's socket when its transfer ends (CURL_POLL_REMOVE) and watches
 * it again when the next transfer reuses it; removing and re-adding it would cost two
 * epoll_ctl calls and an allocation per request. A parked socket keeps its watch, for
 * readability only (a connection at rest is always writable): if it becomes readable
 * while parked (DynamoDB closed it, or sent something unasked), the watch is dropped
 * then, and libcurl's own check before reuse finds the connection dead. Watches are
 * found again by descriptor. Only connection sockets are parked: libcurl opens them
 * through our open callback (which marks them) and closes them through our close
 * callback (which ends their watch), so a descriptor number reused by a new socket never
 * inherits a stale watch. Other sockets libcurl may watch (its resolver's socket pair)
 * are closed without our callback, and their watch ends when libcurl stops watching.
 */
#include "net/curl_loop.h"

#include "common/limits.h"

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct net_curl {
	net_loop *loop;
	CURLM *multi;
	net_timer timer;
	struct sock_watch *socks; /* every watch, freed at the end if libcurl did not */
	struct sock_watch **byfd; /* watches by descriptor */
	size_t nbyfd;
};

/* One socket libcurl watches, or watched and may reuse (parked). */
typedef struct sock_watch {
	struct sock_watch *prev, *next;
	net_watch w;
	net_curl *c;
	curl_socket_t fd;
	uint32_t events; /* what the epoll set holds for it, if added */
	bool added;
	bool tracked; /* a connection socket: opened and closed through our callbacks */
	bool parked;  /* libcurl does not watch it now */
} sock_watch;

/* Stops watching s->fd and frees s. */
static void watch_free(net_curl *c, sock_watch *s)
{
	if (s->added)
		net_loop_del(c->loop, s->fd);
	if (s->prev)
		s->prev->next = s->next;
	else
		c->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if ((size_t)s->fd < c->nbyfd && c->byfd[s->fd] == s)
		c->byfd[s->fd] = NULL;
	free(s);
}

static void check_done(net_curl *c)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
		net_curl_job *j = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
		curl_multi_remove_handle(c->multi, m->easy_handle);
		if (j == NULL)
			continue;
		j->running = false;
		j->done(j, m->data.result);
	}
}

static void on_sock(void *arg, uint32_t ev)
{
	sock_watch *s = arg;
	net_curl *c = s->c;
	int flags = 0, still;

	if (s->parked) {
		/* An idle connection became readable: closed by the other side, most
		 * likely. Stop watching it; libcurl finds it dead before any reuse. */
		net_loop_del(c->loop, s->fd);
		s->added = false;
		return;
	}
	if (ev & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (ev & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (ev & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(c->multi, s->fd, flags, &still);
	check_done(c);
}

/* The watch of fd, new (not yet added) if there is none; NULL without memory. */
static sock_watch *watch_get(net_curl *c, curl_socket_t fd)
{
	sock_watch *s;

	if (fd < 0)
		return NULL;
	if ((size_t)fd >= c->nbyfd) {
		size_t n = c->nbyfd ? c->nbyfd : 64;
		sock_watch **t;
		while (n <= (size_t)fd)
			n *= 2;
		t = realloc(c->byfd, n * sizeof(*t));
		if (t == NULL)
			return NULL;
		memset(t + c->nbyfd, 0, (n - c->nbyfd) * sizeof(*t));
		c->byfd = t;
		c->nbyfd = n;
	}
	if (c->byfd[fd] != NULL)
		return c->byfd[fd];
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->w.fn = on_sock;
	s->w.arg = s;
	s->c = c;
	s->fd = fd;
	s->next = c->socks;
	if (c->socks)
		c->socks->prev = s;
	c->socks = s;
	c->byfd[fd] = s;
	return s;
}

static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	net_curl *c = userp;
	sock_watch *s = socketp;
	uint32_t ev = 0;

	if (what == CURL_POLL_REMOVE) {
		if (s == NULL)
			return 0;
		curl_multi_assign(c->multi, fd, NULL);
		if (!s->tracked) {
			watch_free(c, s);
			return 0;
		}
		s->parked = true;
		/* Parked: readability only (see the top of this file). */
		if (s->added && s->events != EPOLLIN) {
			if (net_loop_mod(c->loop, fd, EPOLLIN, &s->w) == 0) {
				s->events = EPOLLIN;
			} else {
				net_loop_del(c->loop, fd);
				s->added = false;
			}
		}
		return 0;
	}
	if (s == NULL) {
		s = watch_get(c, fd);
		if (s == NULL)
			return -1;
		curl_multi_assign(c->multi, fd, s);
	}
	s->parked = false;
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= EPOLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= EPOLLOUT;
	if (s->added && s->events == ev)
		return 0;
	if (s->added && net_loop_mod(c->loop, fd, ev, &s->w) != 0)
		s->added = false; /* not in the set after all: add it */
	if (!s->added) {
		if (net_loop_add(c->loop, fd, ev, &s->w) != 0)
			return -1;
		s->added = true;
	}
	s->events = ev;
	return 0;
}

/* libcurl opens a connection socket: a new descriptor is in no epoll set, whatever a
 * watch left under its number says; its watch may be parked later. */
static curl_socket_t open_cb(void *userp, curlsocktype purpose, struct curl_sockaddr *a)
{
	net_curl *c = userp;
	curl_socket_t fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	sock_watch *s;

	if (fd == CURL_SOCKET_BAD || purpose != CURLSOCKTYPE_IPCXN)
		return fd;
	s = watch_get(c, fd);
	if (s != NULL) {
		s->added = false;
		s->parked = false;
		s->events = 0;
		s->tracked = true;
	}
	return fd;
}

/* libcurl closes a socket: its watch ends first (the descriptor may be reused). */
static int close_cb(void *userp, curl_socket_t fd)
{
	net_curl *c = userp;

	if ((size_t)fd < c->nbyfd && c->byfd[fd] != NULL)
		watch_free(c, c->byfd[fd]);
	return close(fd);
}

static void on_timer(void *arg)
{
	net_curl *c = arg;
	int still;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &still);
	check_done(c);
}

static int timer_cb(CURLM *multi, long ms, void *userp)
{
	net_curl *c = userp;

	if (ms < 0) {
		net_timer_disarm(c->loop, &c->timer);
		return 0;
	}
	return net_timer_arm(c->loop, &c->timer, ms) == 0 ? 0 : -1;
}

int net_curl_new(net_loop *l, net_curl **out, bg_err *e)
{
	net_curl *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	c->loop = l;
	c->timer.fn = on_timer;
	c->timer.arg = c;
	c->multi = curl_multi_init();
	if (c->multi == NULL) {
		free(c);
		return bg_err_set(e, BG_ENOMEM, "cannot create a libcurl multi handle");
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	/* Keep idle upstream connections for reuse: libcurl's default cache (four per
	 * transfer running at the moment one ends) closes connections under bursty load,
	 * and a new TCP connection per request costs more than the request. */
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)BG_UPSTREAM_IDLE_CONNS);
	*out = c;
	return 0;
}

void net_curl_free(net_curl *c)
{
	if (c == NULL)
		return;
	net_timer_disarm(c->loop, &c->timer);
	curl_multi_cleanup(c->multi);
	while (c->socks)
		watch_free(c, c->socks);
	free(c->byfd);
	free(c);
}

int net_curl_start(net_curl *c, net_curl_job *j)
{
	curl_easy_setopt(j->easy, CURLOPT_PRIVATE, (char *)j);
	curl_easy_setopt(j->easy, CURLOPT_OPENSOCKETFUNCTION, open_cb);
	curl_easy_setopt(j->easy, CURLOPT_OPENSOCKETDATA, c);
	curl_easy_setopt(j->easy, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
	curl_easy_setopt(j->easy, CURLOPT_CLOSESOCKETDATA, c);
	if (curl_multi_add_handle(c->multi, j->easy) != CURLM_OK)
		return BG_EUPSTREAM;
	j->running = true;
	return 0;
}

void net_curl_abort(net_curl *c, net_curl_job *j)
{
	if (!j->running)
		return;
	curl_multi_remove_handle(c->multi, j->easy);
	j->running = false;
}
