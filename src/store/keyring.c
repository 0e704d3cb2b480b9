/*
 * keyring.c - the master key file and the secrets derived from it (see keyring.h).
 *
 * The key file holds the 32-byte master key as 64 lower-case hex characters and a
 * newline: printable, so an operator can copy it to a second gateway or into a secret
 * manager without a binary-safe channel. It is created with O_CREAT|O_EXCL (never
 * overwritten: a new master key would silently invalidate every grant secret and TOTP
 * enrolment) and mode 0600, and fsynced with its directory before use. A key file that
 * group or others may read or write is refused, as OpenSSH refuses private keys.
 *
 * Derivation is HMAC-SHA256 with the master key. The keyed HMAC context is set up once
 * at load and duplicated per call, so keyring_derive is cheap and thread-safe (the
 * template is only read). keyring_derive cannot report an error by contract; if
 * OpenSSL fails to compute an HMAC (allocation failure) the process aborts rather than
 * hand out a predictable secret.
 */
#include "store/keyring.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"

#define KEY_LEN      32
#define KEY_FILE_LEN (2 * KEY_LEN + 1) /* hex and a newline */

struct keyring {
	uint8_t key[KEY_LEN];
	EVP_MAC *mac;
	EVP_MAC_CTX *tmpl; /* keyed with the master key; duplicated per derivation */
};

static int create_key_file(const char *path, uint8_t key[KEY_LEN], bg_err *e)
{
	char text[KEY_FILE_LEN + 1];
	int fd, rc;

	if (bg_random(key, KEY_LEN) != 0)
		return bg_err_set(e, BG_EIO, "keyring: no randomness available");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return bg_err_set(e, BG_EEXISTS, "keyring: %s already exists", path);
		return bg_err_set(e, BG_EIO, "keyring: cannot create %s: %s", path,
		                  strerror(errno));
	}
	bg_hex(key, KEY_LEN, text);
	text[2 * KEY_LEN] = '\n';
	text[KEY_FILE_LEN] = '\0';
	/* umask can only narrow 0600, but be explicit about the mode we promise. */
	rc = fchmod(fd, 0600) != 0 || bg_write_all(fd, text, KEY_FILE_LEN) != 0 || fsync(fd) != 0;
	OPENSSL_cleanse(text, sizeof(text));
	if (close(fd) != 0)
		rc = 1;
	if (rc || bg_fsync_parent(path) != 0) {
		int saved = errno;
		unlink(path);
		return bg_err_set(e, BG_EIO, "keyring: cannot write %s: %s", path, strerror(saved));
	}
	return 0;
}

static int read_key_file(const char *path, uint8_t key[KEY_LEN], bg_err *e)
{
	char text[KEY_FILE_LEN + 2];
	struct stat st;
	size_t got = 0;
	int fd, rc = BG_EIO;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return bg_err_set(e, BG_ENOTFOUND, "keyring: %s does not exist", path);
		return bg_err_set(e, BG_EIO, "keyring: cannot open %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		bg_err_set(e, BG_EIO, "keyring: cannot stat %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = bg_err_set(e, BG_EINVAL, "keyring: %s is not a regular file", path);
		goto fail;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		rc = bg_err_set(e, BG_EDENIED,
		                "keyring: %s is accessible by group or others (mode %03o); "
		                "chmod 600 it",
		                path, (unsigned)(st.st_mode & 0777));
		goto fail;
	}
	while (got < sizeof(text)) {
		ssize_t r = read(fd, text + got, sizeof(text) - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			bg_err_set(e, BG_EIO, "keyring: cannot read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	/* Exactly 64 hex digits, optionally followed by one newline. */
	if (got < 2 * KEY_LEN || got > KEY_FILE_LEN ||
	    (got == KEY_FILE_LEN && text[2 * KEY_LEN] != '\n')) {
		rc = bg_err_set(e, BG_EINVAL, "keyring: %s is not a breakglass master key", path);
		goto fail;
	}
	if (bg_unhex(text, KEY_LEN, key) != 0) {
		rc = bg_err_set(e, BG_EINVAL, "keyring: %s is not a breakglass master key", path);
		goto fail;
	}
	rc = 0;
fail:
	OPENSSL_cleanse(text, sizeof(text));
	close(fd);
	return rc;
}

int keyring_load(const char *path, bool create, keyring **out, bg_err *e)
{
	OSSL_PARAM params[2];
	char digest[] = "SHA256";
	keyring *k;
	int rc;

	*out = NULL;
	if (path == NULL || path[0] == '\0')
		return bg_err_set(e, BG_EINVAL, "keyring: no key file path");
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return bg_err_set(e, BG_ENOMEM, "keyring: out of memory");
	rc = create ? create_key_file(path, k->key, e) : read_key_file(path, k->key, e);
	if (rc != 0)
		goto fail;
	rc = bg_err_set(e, BG_EIO, "keyring: HMAC-SHA256 unavailable");
	k->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (k->mac == NULL)
		goto fail;
	k->tmpl = EVP_MAC_CTX_new(k->mac);
	if (k->tmpl == NULL)
		goto fail;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(k->tmpl, k->key, KEY_LEN, params))
		goto fail;
	bg_err_clear(e);
	*out = k;
	return 0;
fail:
	keyring_free(k);
	return rc;
}

void keyring_free(keyring *k)
{
	if (k == NULL)
		return;
	EVP_MAC_CTX_free(k->tmpl); /* OpenSSL cleanses the keyed HMAC state */
	EVP_MAC_free(k->mac);
	OPENSSL_cleanse(k->key, sizeof(k->key));
	free(k);
}

void keyring_derive(const keyring *k, const char *label, const void *data, size_t n,
                    uint8_t out[32])
{
	static const uint8_t zero = 0;
	EVP_MAC_CTX *c = EVP_MAC_CTX_dup(k->tmpl);
	size_t len = 0;

	if (c == NULL || !EVP_MAC_update(c, (const uint8_t *)label, strlen(label)) ||
	    !EVP_MAC_update(c, &zero, 1) || (n > 0 && !EVP_MAC_update(c, data, n)) ||
	    !EVP_MAC_final(c, out, &len, 32) || len != 32)
		abort(); /* see the file comment: never return a non-secret */
	EVP_MAC_CTX_free(c);
}
