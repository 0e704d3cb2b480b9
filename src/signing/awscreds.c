/*
 * awscreds.c - the gateway's own AWS credentials (see awscreds.h).
 *
 * The shared credentials file is read whole (bounded, regular files only) and walked with a
 * bg_cur, line by line. The format accepted is what botocore's ConfigParser accepts for this
 * file, minus interpolation: "[name]" sections (no "profile " prefix in this file), "key =
 * value" or "key: value" lines with case-insensitive keys, '#' and ';' comment lines, and
 * indented lines under a key with an empty value (nested settings such as "s3 =", ignored).
 * Anything else is an error with a line number. The buffer that held the file is zeroed
 * before it is freed, since it held secrets.
 */
#include "awscreds.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/limits.h"

struct awscreds {
	char *akid, *secret, *token;
	size_t secret_len, token_len;
	char *source;
	int64_t expires;
	atomic_uint refs; /* awscreds_ref: the refresher and signing loops share one */
};

static bool printable_nospace(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static bool akid_chars(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '-' || c == '.' || c == '_'))
			return false;
	}
	return true;
}

static char *dupn(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		if (n)
			memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

void awscreds_free(awscreds *c)
{
	if (c == NULL)
		return;
	if (atomic_fetch_sub(&c->refs, 1) > 1)
		return;
	if (c->secret)
		OPENSSL_cleanse(c->secret, c->secret_len);
	if (c->token)
		OPENSSL_cleanse(c->token, c->token_len);
	free(c->akid);
	free(c->secret);
	free(c->token);
	free(c->source);
	free(c);
}

awscreds *awscreds_ref(awscreds *c)
{
	if (c)
		atomic_fetch_add(&c->refs, 1);
	return c;
}

int64_t awscreds_expiry(const awscreds *c)
{
	return c ? c->expires : 0;
}

void awscreds_set_expiry(awscreds *c, int64_t t)
{
	c->expires = t;
}

/* Validates and copies; what names the source in messages ("AWS_ACCESS_KEY_ID", "line 3 of
 * PATH", ...). */
int awscreds_make(const char *akid, size_t akid_len, const char *secret, size_t secret_len,
                  const char *token, size_t token_len, const char *source, awscreds **out,
                  bg_err *e)
{
	awscreds *c = NULL;
	int rc;

	*out = NULL;
	if (akid_len == 0 || akid_len > BG_MAX_ACCESS_KEY_ID || !akid_chars(akid, akid_len)) {
		rc =
		    bg_err_set(e, BG_EINVAL, "%s: the access key id is empty or malformed", source);
		goto fail;
	}
	if (secret_len == 0 || secret_len > BG_MAX_SECRET_KEY ||
	    !printable_nospace(secret, secret_len)) {
		rc = bg_err_set(e, BG_EINVAL, "%s: the secret access key is empty or malformed",
		                source);
		goto fail;
	}
	if (token_len > BG_MAX_SESSION_TOKEN || !printable_nospace(token, token_len)) {
		rc = bg_err_set(e, BG_EINVAL, "%s: the session token is too long or malformed",
		                source);
		goto fail;
	}
	rc = bg_err_set(e, BG_ENOMEM, "out of memory");
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto fail;
	atomic_init(&c->refs, 1);
	c->akid = dupn(akid, akid_len);
	c->secret = dupn(secret, secret_len);
	c->secret_len = secret_len;
	c->source = dupn(source, strlen(source));
	if (token_len) {
		c->token = dupn(token, token_len);
		c->token_len = token_len;
	}
	if (c->akid == NULL || c->secret == NULL || c->source == NULL ||
	    (token_len && c->token == NULL))
		goto fail;
	*out = c;
	c = NULL;
	rc = 0;
	bg_err_clear(e);
fail:
	awscreds_free(c);
	return rc;
}

int awscreds_from_values(const char *akid, const char *secret, const char *token, awscreds **out,
                         bg_err *e)
{
	if (out == NULL)
		return bg_err_set(e, BG_EINVAL, "awscreds_from_values: no output");
	*out = NULL;
	if (akid == NULL || secret == NULL)
		return bg_err_set(e, BG_EINVAL,
		                  "credentials: access key id and secret are required");
	return awscreds_make(akid, strnlen(akid, BG_MAX_ACCESS_KEY_ID + 1), secret,
	                     strnlen(secret, BG_MAX_SECRET_KEY + 1), token ? token : "",
	                     token ? strnlen(token, BG_MAX_SESSION_TOKEN + 1) : 0, "credentials",
	                     out, e);
}

const char *awscreds_access_key_id(const awscreds *c)
{
	return c ? c->akid : NULL;
}

const char *awscreds_secret_access_key(const awscreds *c)
{
	return c ? c->secret : NULL;
}

const char *awscreds_session_token(const awscreds *c)
{
	return c ? c->token : NULL;
}

const char *awscreds_source(const awscreds *c)
{
	return c ? c->source : NULL;
}

const char *awscreds_region(void)
{
	const char *r = getenv("AWS_REGION");

	if (r && *r)
		return r;
	r = getenv("AWS_DEFAULT_REGION");
	if (r && *r)
		return r;
	return "us-east-1";
}

/* ---- the shared credentials file ---- */

int awscreds_read_file(const char *path, char **buf, size_t *len, bg_err *e)
{
	char eb[128];
	struct stat st;
	size_t cap = 0, n = 0;
	char *data = NULL;
	ssize_t r;
	int fd, rc, err;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT)
			return bg_err_set(e, BG_ENOTFOUND, "%s does not exist", path);
		return bg_err_set(e, BG_EIO, "cannot open %s: %s", path,
		                  strerror_r(err, eb, sizeof(eb)));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = bg_err_set(e, BG_EINVAL, "%s is not a regular file", path);
		goto fail;
	}
	if (st.st_size > (off_t)BG_MAX_CREDENTIALS_FILE) {
		rc = bg_err_set(e, BG_ELIMIT, "%s is larger than %u bytes", path,
		                BG_MAX_CREDENTIALS_FILE);
		goto fail;
	}
	cap = (size_t)st.st_size + 1;
	data = malloc(cap);
	if (data == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto fail;
	}
	for (;;) {
		if (n == cap) { /* the file grew while we read it */
			rc = bg_err_set(e, BG_EIO, "%s changed while it was read", path);
			goto fail;
		}
		r = read(fd, data + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			rc = bg_err_set(e, BG_EIO, "cannot read %s: %s", path,
			                strerror_r(err, eb, sizeof(eb)));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	data[n] = '\0'; /* n < cap: callers may treat the text as a C string */
	*buf = data;
	*len = n;
	data = NULL;
	rc = 0;
fail:
	if (data) {
		OPENSSL_cleanse(data, cap);
		free(data);
	}
	close(fd);
	return rc;
}

static void cur_trim(bg_cur *c)
{
	bg_cur_skip(c, " \t");
	while (c->len > c->off && (c->p[c->len - 1] == ' ' || c->p[c->len - 1] == '\t'))
		c->len--;
}

/* Case-insensitive comparison of the unread bytes of c with the lower-case s. */
static bool cur_ieq(const bg_cur *c, const char *s)
{
	size_t n = strlen(s), i;

	if (bg_cur_left(c) != n)
		return false;
	for (i = 0; i < n; i++) {
		int ch = c->p[c->off + i];
		if (ch >= 'A' && ch <= 'Z')
			ch += 'a' - 'A';
		if (ch != (unsigned char)s[i])
			return false;
	}
	return true;
}

int awscreds_ini_lookup(const char *text, size_t len, const char *section, const char *path,
                        const char *const *keys, size_t nkeys, bg_cur *val, bool *have, bool *found,
                        bg_err *e)
{
	bg_cur file = bg_cur_make(text, len), line, key, v;
	bool in_section = false, in_target = false, nested = false, have_key = false;
	unsigned lineno = 0;
	size_t plen = strlen(section), i;

	*found = false;
	for (i = 0; i < nkeys; i++) {
		have[i] = false;
		val[i] = bg_cur_make("", 0);
	}
	if (len && memchr(text, '\0', len))
		return bg_err_set(e, BG_EINVAL, "%s contains a NUL byte", path);
	while (!bg_cur_eof(&file)) {
		bool indented;
		size_t delim;

		lineno++;
		if (bg_cur_until(&file, '\n', &line) == 0) {
			file.off++;
		} else {
			line = bg_cur_rest(&file);
			file.off = file.len;
		}
		if (line.len && line.p[line.len - 1] == '\r')
			line.len--;
		indented = line.len && (line.p[0] == ' ' || line.p[0] == '\t');
		cur_trim(&line);
		if (bg_cur_eof(&line) || bg_cur_peek(&line) == '#' || bg_cur_peek(&line) == ';')
			continue;
		if (indented && have_key) {
			if (nested)
				continue; /* a nested setting: not ours */
			return bg_err_set(e, BG_EINVAL, "%s:%u: unexpected indented line", path,
			                  lineno);
		}
		if (bg_cur_peek(&line) == '[') {
			if (line.p[line.len - 1] != ']' || bg_cur_left(&line) < 2)
				return bg_err_set(e, BG_EINVAL, "%s:%u: malformed section header",
				                  path, lineno);
			line.off++;
			line.len--;
			cur_trim(&line);
			if (bg_cur_eof(&line))
				return bg_err_set(e, BG_EINVAL, "%s:%u: empty section name", path,
				                  lineno);
			in_section = true;
			have_key = nested = false;
			in_target = bg_cur_eq(&line, section, plen);
			if (in_target && *found)
				return bg_err_set(e, BG_EINVAL, "%s:%u: section [%s] appears twice",
				                  path, lineno, section);
			*found = *found || in_target;
			continue;
		}
		if (!in_section)
			return bg_err_set(e, BG_EINVAL,
			                  "%s:%u: expected a [profile] section header", path,
			                  lineno);
		for (delim = line.off; delim < line.len; delim++)
			if (line.p[delim] == '=' || line.p[delim] == ':')
				break;
		if (delim == line.len || delim == line.off)
			return bg_err_set(e, BG_EINVAL, "%s:%u: expected 'key = value'", path,
			                  lineno);
		key = bg_cur_make(line.p + line.off, delim - line.off);
		v = bg_cur_make(line.p + delim + 1, line.len - delim - 1);
		cur_trim(&key);
		cur_trim(&v);
		have_key = true;
		nested = bg_cur_eof(&v);
		if (!in_target)
			continue;
		for (i = 0; i < nkeys; i++) {
			if (!cur_ieq(&key, keys[i]))
				continue;
			if (have[i])
				return bg_err_set(e, BG_EINVAL, "%s:%u: %s is set twice in [%s]",
				                  path, lineno, keys[i], section);
			have[i] = true;
			val[i] = bg_cur_rest(&v);
		}
	}
	return 0;
}

int awscreds_parse(const char *text, size_t len, const char *profile, const char *name,
                   awscreds **out, bg_err *e)
{
	static const char *const keys[4] = {"aws_access_key_id", "aws_secret_access_key",
	                                    "aws_session_token", "aws_security_token"};
	struct {
		bool found, have[4];
		bg_cur val[4];
	} ip;
	bg_buf src;
	const bg_cur *tok;
	int rc;

	if (out == NULL)
		return bg_err_set(e, BG_EINVAL, "awscreds_parse: no output");
	*out = NULL;
	if (profile == NULL)
		profile = "default";
	if (name == NULL || strlen(name) > BG_MAX_PATH || strlen(profile) > BG_MAX_PROFILE_NAME)
		return bg_err_set(e, BG_EINVAL, "invalid credentials file path or profile name");
	if (len > BG_MAX_CREDENTIALS_FILE)
		return bg_err_set(e, BG_ELIMIT, "%s is larger than %u bytes", name,
		                  BG_MAX_CREDENTIALS_FILE);
	bg_buf_init(&src, BG_MAX_PATH + BG_MAX_PROFILE_NAME + 64);
	rc = awscreds_ini_lookup(text, len, profile, name, keys, 4, ip.val, ip.have, &ip.found, e);
	if (rc)
		goto fail;
	if (!ip.found) {
		rc = bg_err_set(e, BG_ENOTFOUND, "profile '%s' not found in %s", profile, name);
		goto fail;
	}
	if (!ip.have[0] || !ip.have[1]) {
		rc = bg_err_set(e, BG_EINVAL, "profile '%s' in %s lacks %s", profile, name,
		                ip.have[0] ? "aws_secret_access_key" : "aws_access_key_id");
		goto fail;
	}
	tok = ip.have[2] ? &ip.val[2] : ip.have[3] ? &ip.val[3] : NULL;
	if (bg_buf_addf(&src, "shared credentials file %s, profile %s", name, profile) != 0) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto fail;
	}
	rc = awscreds_make((const char *)ip.val[0].p, ip.val[0].len, (const char *)ip.val[1].p,
	                   ip.val[1].len, tok ? (const char *)tok->p : "", tok ? tok->len : 0,
	                   src.data, out, e);
fail:
	bg_buf_free(&src);
	return rc;
}

int awscreds_load_file(const char *path, const char *profile, awscreds **out, bg_err *e)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (out == NULL)
		return bg_err_set(e, BG_EINVAL, "awscreds_load_file: no output");
	*out = NULL;
	if (path == NULL || strlen(path) > BG_MAX_PATH)
		return bg_err_set(e, BG_EINVAL, "invalid credentials file path or profile name");
	rc = awscreds_read_file(path, &text, &len, e);
	if (rc == 0)
		rc = awscreds_parse(text, len, profile, path, out, e);
	if (text) {
		OPENSSL_cleanse(text, len);
		free(text);
	}
	return rc;
}

/* $HOME, else the password database. */
static const char *home_dir(char *buf, size_t cap)
{
	const char *h = getenv("HOME");
	struct passwd pw, *res = NULL;

	if (h && *h)
		return h;
	if (getpwuid_r(getuid(), &pw, buf, cap, &res) == 0 && res && res->pw_dir)
		return res->pw_dir;
	return NULL;
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int awscreds_from_env(awscreds **out, bg_err *e)
{
	const char *akid, *secret, *token;

	*out = NULL;
	akid = env_nonempty("AWS_ACCESS_KEY_ID");
	if (akid == NULL)
		return bg_err_set(e, BG_ENOTFOUND, "AWS_ACCESS_KEY_ID is not set");
	secret = env_nonempty("AWS_SECRET_ACCESS_KEY");
	if (secret == NULL)
		return bg_err_set(e, BG_EINVAL,
		                  "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
	token = env_nonempty("AWS_SESSION_TOKEN");
	if (token == NULL)
		token = env_nonempty("AWS_SECURITY_TOKEN");
	return awscreds_make(akid, strnlen(akid, BG_MAX_ACCESS_KEY_ID + 1), secret,
	                     strnlen(secret, BG_MAX_SECRET_KEY + 1), token ? token : "",
	                     token ? strnlen(token, BG_MAX_SESSION_TOKEN + 1) : 0, "environment",
	                     out, e);
}

int awscreds_path(const char *env, const char *home_rel, bg_buf *path, bg_err *e)
{
	const char *file = env_nonempty(env), *home;
	char pwbuf[1024];
	int rc;

	if (file && strncmp(file, "~/", 2) != 0) {
		rc = bg_buf_adds(path, file);
	} else {
		home = home_dir(pwbuf, sizeof(pwbuf));
		if (home == NULL)
			return bg_err_set(e, BG_ENOTFOUND,
			                  "%s is not set and there is no home directory", env);
		rc = bg_buf_adds(path, home);
		if (rc == 0)
			rc =
			    file ? bg_buf_adds(path, file + 1) : bg_buf_addf(path, "/%s", home_rel);
	}
	if (rc != 0)
		return bg_err_set(e, BG_EINVAL, "the path named by %s is too long", env);
	return 0;
}

int awscreds_load(awscreds **out, bg_err *e)
{
	const char *profile;
	bg_buf path;
	int rc;

	if (out == NULL)
		return bg_err_set(e, BG_EINVAL, "awscreds_load: no output");
	rc = awscreds_from_env(out, e);
	if (rc != BG_ENOTFOUND)
		return rc;

	profile = env_nonempty("AWS_PROFILE");
	if (profile == NULL)
		profile = env_nonempty("AWS_DEFAULT_PROFILE");
	if (profile == NULL)
		profile = "default";
	bg_buf_init(&path, BG_MAX_PATH);
	rc = awscreds_path("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials", &path, e);
	if (rc == BG_ENOTFOUND) {
		rc = bg_err_set(e, BG_ENOTFOUND,
		                "no AWS credentials: AWS_ACCESS_KEY_ID is not set and there "
		                "is no home directory");
		goto fail;
	}
	if (rc != 0)
		goto fail;
	rc = awscreds_load_file(path.data, profile, out, e);
	if (rc == BG_ENOTFOUND && e)
		bg_err_set(e, BG_ENOTFOUND,
		           "no AWS credentials: AWS_ACCESS_KEY_ID is not set and %s has no profile "
		           "'%s'",
		           path.data, profile);
fail:
	bg_buf_free(&path);
	return rc;
}
