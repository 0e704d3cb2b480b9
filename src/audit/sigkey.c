/*
 * sigkey.c - the audit checkpoints' Ed25519 key (see sigkey.h).
 *
 * The private key file is PEM PKCS#8, the format `openssl pkey` reads, so an operator
 * can inspect or back it up with standard tools. It is created like the master key
 * (keyring.c): O_CREAT|O_EXCL, mode 0600, fsynced with its directory, never
 * overwritten; one that group or others may read is refused. The PEM text read or
 * written passes through buffers that are wiped before they are freed. Nothing here
 * prints or logs key material; errors name the file only.
 */
#include "audit/sigkey.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/crypto.h"

/* A PEM Ed25519 private key is about 120 bytes; anything much larger is not one. */
#define KEY_FILE_MAX 4096

struct sigkey {
	EVP_PKEY *pkey;
	bool has_private;
	char id[SIGKEY_ID_HEX + 1];
	char *pub_pem;
};

static const char prefix[] = "breakglass-checkpoint-v1\n";

size_t sigkey_message(int64_t seq, const char *hash_hex, char *buf)
{
	int n = snprintf(buf, SIGKEY_MSG_MAX, "%s%lld\n%.64s\n", prefix, (long long)seq, hash_hex);

	return n < 0 ? 0 : (size_t)n;
}

/* Fills the id and public PEM of k from its key. */
static int finish_key(sigkey *k, bg_err *e)
{
	unsigned char *der = NULL;
	uint8_t digest[32];
	char hex[65];
	BIO *b = NULL;
	char *p;
	long n;
	int len;

	if (EVP_PKEY_get_base_id(k->pkey) != EVP_PKEY_ED25519)
		return bg_err_set(e, BG_EINVAL, "audit key: not an Ed25519 key");
	len = i2d_PUBKEY(k->pkey, &der);
	if (len <= 0)
		return bg_err_set(e, BG_EIO, "audit key: cannot encode the public key");
	bg_sha256(der, (size_t)len, digest);
	OPENSSL_free(der);
	bg_hex(digest, 32, hex);
	memcpy(k->id, hex, SIGKEY_ID_HEX);
	k->id[SIGKEY_ID_HEX] = '\0';
	b = BIO_new(BIO_s_mem());
	if (b == NULL || !PEM_write_bio_PUBKEY(b, k->pkey)) {
		BIO_free(b);
		return bg_err_set(e, BG_EIO, "audit key: cannot encode the public key");
	}
	n = BIO_get_mem_data(b, &p);
	k->pub_pem = n > 0 ? malloc((size_t)n + 1) : NULL;
	if (k->pub_pem != NULL) {
		memcpy(k->pub_pem, p, (size_t)n);
		k->pub_pem[n] = '\0';
	}
	BIO_free(b);
	return k->pub_pem == NULL ? bg_err_set(e, BG_ENOMEM, "audit key: out of memory") : 0;
}

static int create_key(const char *path, sigkey *k, bg_err *e)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	BIO *b = NULL;
	char *pem;
	long n;
	int fd, bad;

	if (pc == NULL || EVP_PKEY_keygen_init(pc) <= 0 || EVP_PKEY_keygen(pc, &k->pkey) <= 0) {
		EVP_PKEY_CTX_free(pc);
		return bg_err_set(e, BG_EIO, "audit key: cannot generate an Ed25519 key");
	}
	EVP_PKEY_CTX_free(pc);
	b = BIO_new(BIO_s_secmem());
	if (b == NULL || !PEM_write_bio_PrivateKey(b, k->pkey, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(b);
		return bg_err_set(e, BG_EIO, "audit key: cannot encode the key");
	}
	n = BIO_get_mem_data(b, &pem);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int saved = errno;
		BIO_free(b);
		if (saved == EEXIST)
			return bg_err_set(e, BG_EEXISTS, "audit key: %s already exists", path);
		return bg_err_set(e, BG_EIO, "audit key: cannot create %s: %s", path,
		                  strerror(saved));
	}
	bad = n <= 0 || fchmod(fd, 0600) != 0 || bg_write_all(fd, pem, (size_t)n) != 0 ||
	      fsync(fd) != 0;
	BIO_free(b); /* secure memory: cleansed on free */
	if (close(fd) != 0)
		bad = 1;
	if (bad || bg_fsync_parent(path) != 0) {
		int saved = errno;
		unlink(path);
		return bg_err_set(e, BG_EIO, "audit key: cannot write %s: %s", path,
		                  strerror(saved));
	}
	k->has_private = true;
	return 0;
}

static int read_key(const char *path, sigkey *k, bg_err *e)
{
	char text[KEY_FILE_MAX];
	struct stat st;
	size_t got = 0;
	BIO *b;
	int fd, rc = BG_EIO;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return bg_err_set(e, BG_ENOTFOUND, "audit key: %s does not exist", path);
		return bg_err_set(e, BG_EIO, "audit key: cannot open %s: %s", path,
		                  strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = bg_err_set(e, BG_EINVAL, "audit key: %s is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		rc = bg_err_set(e, BG_EDENIED,
		                "audit key: %s is accessible by group or others (mode %03o); "
		                "chmod 600 it",
		                path, (unsigned)(st.st_mode & 0777));
		goto out;
	}
	while (got < sizeof(text)) {
		ssize_t r = read(fd, text + got, sizeof(text) - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = bg_err_set(e, BG_EIO, "audit key: cannot read %s: %s", path,
			                strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	b = got < sizeof(text) ? BIO_new_mem_buf(text, (int)got) : NULL;
	k->pkey = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (k->pkey == NULL) {
		rc = bg_err_set(e, BG_EINVAL, "audit key: %s is not a PEM private key", path);
		goto out;
	}
	k->has_private = true;
	rc = 0;
out:
	OPENSSL_cleanse(text, sizeof(text));
	close(fd);
	return rc;
}

int sigkey_load(const char *path, bool create, sigkey **out, bg_err *e)
{
	sigkey *k;
	int rc;

	*out = NULL;
	if (path == NULL || path[0] == '\0')
		return bg_err_set(e, BG_EINVAL, "audit key: no key file path");
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return bg_err_set(e, BG_ENOMEM, "audit key: out of memory");
	rc = create ? create_key(path, k, e) : read_key(path, k, e);
	if (rc == 0)
		rc = finish_key(k, e);
	if (rc != 0) {
		sigkey_free(k);
		return rc;
	}
	bg_err_clear(e);
	*out = k;
	return 0;
}

int sigkey_from_public_pem(const char *pem, size_t n, sigkey **out, bg_err *e)
{
	sigkey *k;
	BIO *b;
	int rc;

	*out = NULL;
	if (n > KEY_FILE_MAX)
		return bg_err_set(e, BG_EINVAL, "public key: larger than %d bytes", KEY_FILE_MAX);
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return bg_err_set(e, BG_ENOMEM, "public key: out of memory");
	b = BIO_new_mem_buf(pem, (int)n);
	k->pkey = b != NULL ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	rc = k->pkey == NULL ? bg_err_set(e, BG_EINVAL, "public key: not a PEM public key")
	                     : finish_key(k, e);
	if (rc != 0) {
		sigkey_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

int sigkey_public_list(const char *text, size_t n, sigkey ***keys, size_t *count, bg_err *e)
{
	static const char begin[] = "-----BEGIN PUBLIC KEY-----",
	                  end[] = "-----END PUBLIC KEY-----";
	const char *p = text, *stop = text + n;
	size_t found = 0;

	while (p < stop) {
		const char *b = memmem(p, (size_t)(stop - p), begin, sizeof(begin) - 1), *x;
		sigkey **grown, *k;
		int rc;

		if (b == NULL)
			break;
		x = memmem(b, (size_t)(stop - b), end, sizeof(end) - 1);
		if (x == NULL)
			return bg_err_set(e, BG_EINVAL, "public key %zu: no END line", found + 1);
		x += sizeof(end) - 1;
		if (*count >= SIGKEY_LIST_MAX)
			return bg_err_set(e, BG_EINVAL, "more than %d public keys",
			                  SIGKEY_LIST_MAX);
		rc = sigkey_from_public_pem(b, (size_t)(x - b), &k, NULL);
		if (rc != 0)
			return bg_err_set(e, rc, "public key %zu is not an Ed25519 public key",
			                  found + 1);
		grown = realloc(*keys, (*count + 1) * sizeof(*grown));
		if (grown == NULL) {
			sigkey_free(k);
			return bg_err_set(e, BG_ENOMEM, "public keys: out of memory");
		}
		*keys = grown;
		(*keys)[(*count)++] = k;
		found++;
		p = x;
	}
	return found == 0 ? bg_err_set(e, BG_EINVAL, "no PEM public key") : 0;
}

void sigkey_list_free(sigkey **keys, size_t n)
{
	size_t i;

	for (i = 0; keys != NULL && i < n; i++)
		sigkey_free(keys[i]);
	free(keys);
}

void sigkey_free(sigkey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey); /* OpenSSL cleanses the private key */
	free(k->pub_pem);
	free(k);
}

const char *sigkey_id(const sigkey *k)
{
	return k->id;
}

const char *sigkey_public_pem(const sigkey *k)
{
	return k->pub_pem;
}

int sigkey_sign(const sigkey *k, int64_t seq, const char *hash_hex, uint8_t sig[SIGKEY_SIG_LEN],
                bg_err *e)
{
	char msg[SIGKEY_MSG_MAX];
	size_t n = sigkey_message(seq, hash_hex, msg), slen = SIGKEY_SIG_LEN;
	EVP_MD_CTX *md;
	int ok;

	if (!k->has_private)
		return bg_err_set(e, BG_EINVAL, "audit key: no private key to sign with");
	md = EVP_MD_CTX_new();
	ok = md != NULL && EVP_DigestSignInit(md, NULL, NULL, NULL, k->pkey) == 1 &&
	     EVP_DigestSign(md, sig, &slen, (const unsigned char *)msg, n) == 1 &&
	     slen == SIGKEY_SIG_LEN;
	EVP_MD_CTX_free(md);
	return ok ? 0 : bg_err_set(e, BG_EIO, "audit key: signing failed");
}

bool sigkey_verify(const sigkey *k, int64_t seq, const char *hash_hex,
                   const uint8_t sig[SIGKEY_SIG_LEN])
{
	char msg[SIGKEY_MSG_MAX];
	size_t n = sigkey_message(seq, hash_hex, msg);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok;

	ok = md != NULL && EVP_DigestVerifyInit(md, NULL, NULL, NULL, k->pkey) == 1 &&
	     EVP_DigestVerify(md, sig, SIGKEY_SIG_LEN, (const unsigned char *)msg, n) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}
