/*
 * tls.h - TLS for the listener (OpenSSL), on non-blocking sockets.
 *
 * The gateway serves plain HTTP only on a loopback address; anywhere else it needs a
 * certificate and key (serve --tls-cert/--tls-key). TLS 1.2 is the floor, as AWS's own
 * endpoints require; the certificate chain and key are read once at start-up, and the
 * key must not be readable by others.
 */
#ifndef BG_NET_TLS_H
#define BG_NET_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

typedef struct net_tls net_tls;           /* the server's context */
typedef struct net_tls_conn net_tls_conn; /* one connection's session */

/* Loads a PEM certificate chain and its private key. */
int net_tls_new(const char *cert_file, const char *key_file, net_tls **out,
                bg_err *e) BG_MUST_CHECK;
void net_tls_free(net_tls *t);

/* A server-side session on the connected socket fd; NULL when out of memory. */
net_tls_conn *net_tls_accept(net_tls *t, int fd);

/* Sends close_notify if it can without waiting (the session stays usable for reading
 * what the peer still sends). */
void net_tls_shutdown(net_tls_conn *c);

/* Sends close_notify if it can without waiting, and frees the session. Accepts NULL. */
void net_tls_close(net_tls_conn *c);

/* Results of net_tls_read/net_tls_write beside a byte count. */
#define NET_TLS_WANT_READ  (-2) /* call again when the socket is readable */
#define NET_TLS_WANT_WRITE (-3) /* call again when the socket is writable */
#define NET_TLS_CLOSED     0    /* the peer closed the session */
#define NET_TLS_ERROR      (-1)

/* Reads up to n plaintext bytes (the handshake happens on the way). */
ssize_t net_tls_read(net_tls_conn *c, void *buf, size_t n);

/* Writes up to n plaintext bytes; may write fewer. */
ssize_t net_tls_write(net_tls_conn *c, const void *buf, size_t n);

/* Plaintext bytes already decrypted and waiting in the session (epoll cannot see them). */
size_t net_tls_pending(const net_tls_conn *c);

#endif
