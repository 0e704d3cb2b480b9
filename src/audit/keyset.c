/*
 * keyset.c - the audit checkpoints' keys across rotations (see keyset.h).
 *
 * Private keys are loaded and created by sigkey.c (0600, O_EXCL, fsynced); this file
 * keeps the list of public keys and does the two renames of a rotation, each followed by
 * an fsync of the directory so that a crash leaves either the old state or the new one.
 * Every private key ever loaded stays in memory until keyset_free (the audit log borrows
 * the current one), and OpenSSL cleanses each when it is freed.
 */
#include "audit/keyset.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"

/* A PEM Ed25519 public key is 113 bytes; the file holds at most SIGKEY_LIST_MAX. */
#define PUBS_FILE_MAX ((size_t)SIGKEY_LIST_MAX * 256)

struct keyset {
	pthread_mutex_t mu;
	char *key_path, *next_path, *pubs_path;
	sigkey *current; /* private */
	sigkey *next;    /* private; the rotation under way or unsettled, or NULL */
	bool busy;       /* a rotation is under way (next may still be NULL) */
	sigkey **pubs;   /* public keys, oldest first */
	size_t npubs;
	sigkey **owned; /* every private key loaded, freed at the end */
	size_t nowned;
};

static int own(keyset *ks, sigkey *k, bg_err *e)
{
	sigkey **grown = realloc(ks->owned, (ks->nowned + 1) * sizeof(*grown));

	if (grown == NULL) {
		sigkey_free(k);
		return bg_err_set(e, BG_ENOMEM, "audit keys: out of memory");
	}
	ks->owned = grown;
	ks->owned[ks->nowned++] = k;
	return 0;
}

static bool known(const keyset *ks, const sigkey *k)
{
	size_t i;

	for (i = 0; i < ks->npubs; i++)
		if (strcmp(sigkey_id(ks->pubs[i]), sigkey_id(k)) == 0)
			return true;
	return false;
}

/* Adds k's public half to the list (in memory). */
static int add_public(keyset *ks, const sigkey *k, bg_err *e)
{
	const char *pem = sigkey_public_pem(k);
	sigkey *pub;
	int rc;

	if (known(ks, k))
		return 0;
	if (ks->npubs >= SIGKEY_LIST_MAX)
		return bg_err_set(e, BG_ELIMIT, "audit keys: more than %d keys", SIGKEY_LIST_MAX);
	rc = sigkey_from_public_pem(pem, strlen(pem), &pub, e);
	if (rc != 0)
		return rc;
	{
		sigkey **grown = realloc(ks->pubs, (ks->npubs + 1) * sizeof(*grown));
		if (grown == NULL) {
			sigkey_free(pub);
			return bg_err_set(e, BG_ENOMEM, "audit keys: out of memory");
		}
		ks->pubs = grown;
	}
	ks->pubs[ks->npubs++] = pub;
	return 0;
}

/* Writes the list to pubs: a temporary file, fsynced, renamed over, directory fsynced. */
static int write_pubs(keyset *ks, bg_err *e)
{
	char tmp[4096];
	bg_buf text;
	size_t i;
	int fd, bad;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", ks->pubs_path) >= sizeof(tmp))
		return bg_err_set(e, BG_EINVAL, "audit keys: path too long");
	bg_buf_init(&text, PUBS_FILE_MAX);
	for (i = 0; i < ks->npubs; i++)
		if (bg_buf_adds(&text, sigkey_public_pem(ks->pubs[i])) != 0)
			break;
	if (text.failed) {
		bg_buf_free(&text);
		return bg_err_set(e, BG_ENOMEM, "audit keys: out of memory");
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		bg_buf_free(&text);
		return bg_err_set(e, BG_EIO, "audit keys: cannot create %s: %s", tmp,
		                  strerror(errno));
	}
	bad = fchmod(fd, 0600) != 0 || bg_write_all(fd, text.data, text.len) != 0 || fsync(fd) != 0;
	bad |= close(fd) != 0;
	bg_buf_free(&text);
	if (bad || rename(tmp, ks->pubs_path) != 0 || bg_fsync_parent(ks->pubs_path) != 0) {
		int saved = errno;
		unlink(tmp);
		return bg_err_set(e, BG_EIO, "audit keys: cannot write %s: %s", ks->pubs_path,
		                  strerror(saved));
	}
	return 0;
}

/* Reads pubs into the list; a missing file is an empty list. */
static int read_pubs(keyset *ks, bg_err *e)
{
	FILE *f = fopen(ks->pubs_path, "rb");
	char *text;
	size_t n;
	int rc;

	if (f == NULL)
		return errno == ENOENT ? 0
		                       : bg_err_set(e, BG_EIO, "audit keys: cannot open %s: %s",
		                                    ks->pubs_path, strerror(errno));
	text = malloc(PUBS_FILE_MAX + 1);
	if (text == NULL) {
		fclose(f);
		return bg_err_set(e, BG_ENOMEM, "audit keys: out of memory");
	}
	n = fread(text, 1, PUBS_FILE_MAX + 1, f);
	fclose(f);
	if (n > PUBS_FILE_MAX)
		rc = bg_err_set(e, BG_EINVAL, "audit keys: %s is too large", ks->pubs_path);
	else
		rc = sigkey_public_list(text, n, &ks->pubs, &ks->npubs, e);
	free(text);
	if (rc != 0)
		return bg_err_set(e, rc, "audit keys: %s: not a list of public keys",
		                  ks->pubs_path);
	return 0;
}

int keyset_open(const char *key, const char *next, const char *pubs, bool *created, keyset **out,
                bg_err *e)
{
	keyset *ks = calloc(1, sizeof(*ks));
	sigkey *k = NULL;
	size_t before;
	int rc;

	*out = NULL;
	*created = false;
	if (ks == NULL)
		return bg_err_set(e, BG_ENOMEM, "audit keys: out of memory");
	pthread_mutex_init(&ks->mu, NULL);
	ks->key_path = strdup(key);
	ks->next_path = strdup(next);
	ks->pubs_path = strdup(pubs);
	if (ks->key_path == NULL || ks->next_path == NULL || ks->pubs_path == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "audit keys: out of memory");
		goto fail;
	}
	rc = sigkey_load(key, false, &k, e);
	if (rc == BG_ENOTFOUND) {
		rc = sigkey_load(key, true, &k, e);
		*created = rc == 0;
	}
	if (rc == 0)
		rc = own(ks, k, e);
	if (rc != 0)
		goto fail;
	ks->current = k;
	rc = read_pubs(ks, e);
	before = ks->npubs;
	if (rc == 0)
		rc = add_public(ks, ks->current, e);
	if (rc == 0 && ks->npubs != before)
		rc = write_pubs(ks, e);
	if (rc != 0)
		goto fail;
	rc = sigkey_load(next, false, &k, e);
	if (rc == 0) {
		rc = own(ks, k, e);
		ks->next = rc == 0 ? k : NULL;
		ks->busy = rc == 0;
	} else if (rc == BG_ENOTFOUND) {
		rc = 0;
		bg_err_clear(e);
	}
	if (rc != 0)
		goto fail;
	*out = ks;
	return 0;
fail:
	keyset_free(ks);
	return rc;
}

void keyset_free(keyset *ks)
{
	size_t i;

	if (ks == NULL)
		return;
	for (i = 0; i < ks->nowned; i++)
		sigkey_free(ks->owned[i]);
	free(ks->owned);
	sigkey_list_free(ks->pubs, ks->npubs);
	free(ks->key_path);
	free(ks->next_path);
	free(ks->pubs_path);
	pthread_mutex_destroy(&ks->mu);
	free(ks);
}

const sigkey *keyset_current(keyset *ks)
{
	const sigkey *k;

	pthread_mutex_lock(&ks->mu);
	k = ks->current;
	pthread_mutex_unlock(&ks->mu);
	return k;
}

const sigkey *keyset_pending(keyset *ks)
{
	const sigkey *k;

	pthread_mutex_lock(&ks->mu);
	k = ks->next;
	pthread_mutex_unlock(&ks->mu);
	return k;
}

int keyset_begin(keyset *ks, const sigkey **next, bg_err *e)
{
	sigkey *k = NULL;
	int rc;

	*next = NULL;
	pthread_mutex_lock(&ks->mu);
	if (ks->busy) {
		pthread_mutex_unlock(&ks->mu);
		return bg_err_set(
		    e, BG_EEXISTS,
		    "a key rotation is under way, or one was not settled (the gateway "
		    "settles it when it starts)");
	}
	ks->busy = true;
	pthread_mutex_unlock(&ks->mu);
	/* Key generation and its fsyncs happen outside the lock: busy keeps others out. */
	rc = sigkey_load(ks->next_path, true, &k, e);
	pthread_mutex_lock(&ks->mu);
	if (rc == 0)
		rc = own(ks, k, e);
	if (rc == 0) {
		ks->next = k;
		*next = k;
	} else {
		ks->busy = false;
	}
	pthread_mutex_unlock(&ks->mu);
	return rc;
}

int keyset_commit(keyset *ks, bg_err *e)
{
	int rc;

	pthread_mutex_lock(&ks->mu);
	if (ks->next == NULL) {
		pthread_mutex_unlock(&ks->mu);
		return bg_err_set(e, BG_EINVAL, "audit keys: no rotation under way");
	}
	rc = add_public(ks, ks->next, e);
	if (rc == 0)
		rc = write_pubs(ks, e);
	if (rc == 0 &&
	    (rename(ks->next_path, ks->key_path) != 0 || bg_fsync_parent(ks->key_path) != 0))
		rc = bg_err_set(e, BG_EIO, "audit keys: cannot move %s to %s: %s", ks->next_path,
		                ks->key_path, strerror(errno));
	if (rc == 0) {
		ks->current = ks->next;
		ks->next = NULL;
		ks->busy = false;
	}
	pthread_mutex_unlock(&ks->mu);
	return rc;
}

void keyset_abort(keyset *ks)
{
	pthread_mutex_lock(&ks->mu);
	if (ks->next != NULL) {
		if (unlink(ks->next_path) == 0)
			(void)!bg_fsync_parent(ks->next_path);
		ks->next = NULL; /* stays owned: whoever holds it may still read it */
	}
	ks->busy = false;
	pthread_mutex_unlock(&ks->mu);
}

json_t *keyset_public_json(keyset *ks)
{
	json_t *arr = json_array();
	size_t i;

	if (arr == NULL)
		return NULL;
	pthread_mutex_lock(&ks->mu);
	for (i = 0; i < ks->npubs; i++) {
		const sigkey *k = ks->pubs[i];
		if (json_array_append_new(
		        arr, json_pack("{s:s,s:s,s:b}", "key_id", sigkey_id(k), "public_key_pem",
		                       sigkey_public_pem(k), "current",
		                       strcmp(sigkey_id(k), sigkey_id(ks->current)) == 0)) != 0) {
			json_decref(arr);
			arr = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&ks->mu);
	return arr;
}
