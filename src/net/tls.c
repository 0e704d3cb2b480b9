/*
 * tls.c - OpenSSL server sessions on non-blocking sockets (see tls.h).
 */
#include "net/tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct net_tls {
	SSL_CTX *ctx;
};

struct net_tls_conn {
	SSL *ssl;
};

/* The first queued OpenSSL error as text. */
static const char *ossl_error(char *buf, size_t n)
{
	unsigned long err = ERR_get_error();

	if (err == 0)
		return "unknown error";
	ERR_error_string_n(err, buf, n);
	ERR_clear_error();
	return buf;
}

int net_tls_new(const char *cert_file, const char *key_file, net_tls **out, bg_err *e)
{
	net_tls *t;
	struct stat st;
	char why[256];
	int rc;

	*out = NULL;
	if (stat(key_file, &st) != 0)
		return bg_err_set(e, BG_EINVAL, "TLS key %s: %s", key_file, strerror(errno));
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return bg_err_set(e, BG_EINVAL,
		                  "TLS key %s is readable by others (mode %03o); chmod 600 it",
		                  key_file, (unsigned)(st.st_mode & 0777));
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	t->ctx = SSL_CTX_new(TLS_server_method());
	if (t->ctx == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "TLS: %s", ossl_error(why, sizeof(why)));
		goto fail;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	                             SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                             SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(t->ctx, cert_file) != 1) {
		rc = bg_err_set(e, BG_EINVAL, "TLS certificate %s: %s", cert_file,
		                ossl_error(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(t->ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(t->ctx) != 1) {
		rc = bg_err_set(e, BG_EINVAL, "TLS key %s: %s", key_file,
		                ossl_error(why, sizeof(why)));
		goto fail;
	}
	*out = t;
	return 0;
fail:
	net_tls_free(t);
	return rc;
}

void net_tls_free(net_tls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

net_tls_conn *net_tls_accept(net_tls *t, int fd)
{
	net_tls_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->ssl = SSL_new(t->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
		net_tls_close(c);
		return NULL;
	}
	SSL_set_accept_state(c->ssl);
	return c;
}

void net_tls_shutdown(net_tls_conn *c)
{
	if (SSL_is_init_finished(c->ssl) && !(SSL_get_shutdown(c->ssl) & SSL_SENT_SHUTDOWN))
		(void)SSL_shutdown(c->ssl);
	ERR_clear_error();
}

void net_tls_close(net_tls_conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		net_tls_shutdown(c); /* close_notify, without waiting for the peer's */
		SSL_free(c->ssl);
	}
	ERR_clear_error();
	free(c);
}

static ssize_t result(net_tls_conn *c, int r)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return NET_TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return NET_TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return NET_TLS_CLOSED;
	default:
		ERR_clear_error();
		return NET_TLS_ERROR;
	}
}

ssize_t net_tls_read(net_tls_conn *c, void *buf, size_t n)
{
	size_t got = 0;
	int r = SSL_read_ex(c->ssl, buf, n, &got);

	return r == 1 ? (ssize_t)got : result(c, r);
}

ssize_t net_tls_write(net_tls_conn *c, const void *buf, size_t n)
{
	size_t put = 0;
	int r = SSL_write_ex(c->ssl, buf, n, &put);

	return r == 1 ? (ssize_t)put : result(c, r);
}

size_t net_tls_pending(const net_tls_conn *c)
{
	return (size_t)SSL_pending(c->ssl);
}
