/*
 * credchain.c - the standard credential chain, the break-glass role and the refresher
 * (see credchain.h).
 *
 * Each provider returns BG_ENOTFOUND when it is not configured, so the chain moves on, and
 * any other error stops it. HTTP calls are blocking libcurl easy transfers with a total
 * timeout; metadata addresses bypass any proxy. Buffers that held secrets are wiped.
 */
#include "credchain.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/limits.h"
#include "signing/credparse.h"
#include "signing/sigv4.h"

extern char **environ;

static const char *env_get(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- HTTP ---- */

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	return bg_buf_add(ud, p, sz * n) == 0 ? sz * n : 0;
}

/* One blocking call. Returns 0 when an HTTP answer came (*status, body in resp),
 * BG_ENOTFOUND when nothing answered and absent_ok (instance metadata), BG_EUPSTREAM. */
static int http_call(const char *method, const char *url, struct curl_slist *hdrs, const char *body,
                     size_t body_len, long timeout_ms, bool metadata, long *status, bg_buf *resp,
                     bg_err *e)
{
	char why[CURL_ERROR_SIZE] = "";
	CURL *c;
	CURLcode cc;

	pthread_once(&curl_once, curl_init_once);
	*status = 0;
	c = curl_easy_init();
	if (c == NULL)
		return bg_err_set(e, BG_ENOMEM, "cannot create an HTTP handle");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	} else if (strcmp(method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, why);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	if (metadata)
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	if (cc != CURLE_OK)
		return bg_err_set(e, BG_EUPSTREAM, "%s %s: %s", method, url,
		                  why[0] ? why : curl_easy_strerror(cc));
	return 0;
}

/* "Name: value" appended to *l; false when it does not fit or has CR/LF. */
static bool add_hdr(struct curl_slist **l, const char *name, const char *value)
{
	char line[BG_MAX_CREDENTIAL_DOC / 8];
	struct curl_slist *n;
	int k;

	if (strpbrk(value, "\r\n"))
		return false;
	k = snprintf(line, sizeof(line), "%s: %s", name, value);
	if (k < 0 || (size_t)k >= sizeof(line))
		return false;
	n = curl_slist_append(*l, line);
	OPENSSL_cleanse(line, sizeof(line));
	if (n == NULL)
		return false;
	*l = n;
	return true;
}

/* Puts prefix before the message already in e, with code: e->msg cannot be an argument of
 * the bg_err_set that overwrites it. */
static int err_prefix(bg_err *e, int code, const char *prefix)
{
	char was[sizeof(e->msg)];

	snprintf(was, sizeof(was), "%s", e->msg);
	return bg_err_set(e, code, "%s: %s", prefix, was);
}

/* ---- STS ---- */

/* A form value, percent-encoded as application/x-www-form-urlencoded expects. */
static int form_add(bg_buf *b, const char *name, const char *value)
{
	char *enc = curl_easy_escape(NULL, value, (int)strlen(value));
	int rc;

	if (enc == NULL)
		return BG_ENOMEM;
	rc = bg_buf_addf(b, "%s%s=%s", b->len ? "&" : "", name, enc);
	OPENSSL_cleanse(enc, strlen(enc));
	curl_free(enc);
	return rc;
}

static int sts_url(const char *region, char *url, size_t cap, char *host, size_t hcap, bg_err *e)
{
	const char *ep = env_get("AWS_ENDPOINT_URL_STS");
	CURLU *cu;
	char *h = NULL, *port = NULL, *scheme = NULL;
	int rc = 0;

	if (ep == NULL)
		ep = env_get("AWS_ENDPOINT_URL");
	if (ep == NULL) {
		snprintf(url, cap, "https://sts.%s.amazonaws.com/", region);
		snprintf(host, hcap, "sts.%s.amazonaws.com", region);
		return 0;
	}
	cu = curl_url();
	if (cu == NULL || curl_url_set(cu, CURLUPART_URL, ep, 0) != CURLUE_OK ||
	    curl_url_get(cu, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
	    curl_url_get(cu, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		rc = bg_err_set(e, BG_EINVAL, "the STS endpoint '%s' is not an http(s) URL", ep);
		goto done;
	}
	if (curl_url_get(cu, CURLUPART_PORT, &port, 0) == CURLUE_OK && port)
		snprintf(host, hcap, "%s:%s", h, port);
	else
		snprintf(host, hcap, "%s", h);
	snprintf(url, cap, "%s://%s/", scheme, host);
done:
	curl_free(h);
	curl_free(port);
	curl_free(scheme);
	curl_url_cleanup(cu);
	return rc;
}

/* POSTs form to STS, signed with signer (NULL: unsigned, AssumeRoleWithWebIdentity), and
 * parses the credentials of the answer. */
static int sts_call(const char *region, const bg_buf *form, const awscreds *signer,
                    const char *source, awscreds **out, bg_err *e)
{
	static const char ctype[] = "application/x-www-form-urlencoded; charset=utf-8";
	char url[600], host[300];
	struct curl_slist *hdrs = NULL;
	sigv4_signed sig;
	bg_buf resp;
	long status = 0;
	int64_t exp = 0;
	bool ok = true;
	int rc;

	memset(&sig, 0, sizeof(sig));
	bg_buf_init(&resp, BG_MAX_CREDENTIAL_DOC);
	rc = sts_url(region, url, sizeof(url), host, sizeof(host), e);
	if (rc)
		goto done;
	ok = add_hdr(&hdrs, "Content-Type", ctype) && add_hdr(&hdrs, "Accept", "*/*");
	if (signer) {
		sigv4_header h[2] = {{"content-type", 12, ctype, sizeof(ctype) - 1},
		                     {"host", 4, host, strlen(host)}};
		sigv4_request req = {"POST", "/", 1, "", 0, h, 2, form->data, form->len};
		sigv4_sign_params sp;

		memset(&sp, 0, sizeof(sp));
		sp.access_key_id = awscreds_access_key_id(signer);
		sp.secret_key = awscreds_secret_access_key(signer);
		sp.session_token = awscreds_session_token(signer);
		sp.region = region;
		sp.service = "sts";
		sp.now = (time_t)bg_now();
		sp.normalize_path = true;
		rc = sigv4_sign(&req, &sp, &sig, e);
		if (rc)
			goto done;
		ok = ok && add_hdr(&hdrs, "X-Amz-Date", sig.amz_date) &&
		     add_hdr(&hdrs, "Authorization", sig.authorization.data);
		if (sp.session_token)
			ok = ok && add_hdr(&hdrs, "X-Amz-Security-Token", sp.session_token);
	}
	if (!ok) {
		rc = bg_err_set(e, BG_ENOMEM, "%s: cannot build the STS request", source);
		goto done;
	}
	rc = http_call("POST", url, hdrs, form->data, form->len, BG_CREDENTIAL_HTTP_TIMEOUT_MS,
	               false, &status, &resp, e);
	if (rc)
		goto done;
	rc = credparse_sts_xml(resp.data ? resp.data : "", resp.len, source, out, &exp, e);
	if (rc == 0 && status != 200) {
		awscreds_free(*out);
		*out = NULL;
		rc = bg_err_set(e, BG_EUPSTREAM, "%s: STS answered HTTP %ld", source, status);
	} else if (rc && status != 200 && rc != BG_EAUTH) {
		rc = bg_err_set(e, BG_EUPSTREAM, "%s: STS answered HTTP %ld", source, status);
	}
	if (rc == 0)
		awscreds_set_expiry(*out, exp);
done:
	curl_slist_free_all(hdrs);
	sigv4_signed_free(&sig);
	bg_buf_free_secure(&resp);
	return rc;
}

static void default_session_name(char *out, size_t cap)
{
	char host[256] = "";
	size_t i, n;

	if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "gateway");
	/* RoleSessionName allows [\w+=,.@-]: anything else becomes '-'. */
	for (i = 0; host[i]; i++) {
		char ch = host[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || strchr("_+=,.@-", ch)))
			host[i] = '-';
	}
	n = (size_t)snprintf(out, cap, "breakglass-%s", host);
	if (n >= cap)
		out[cap - 1] = '\0';
	if (cap > BG_MAX_ROLE_SESSION_NAME)
		out[BG_MAX_ROLE_SESSION_NAME] = '\0';
}

static int assume_role(const char *region, const awscreds *base, const char *role_arn,
                       const char *external_id, const char *session, const char *via,
                       awscreds **out, bg_err *e)
{
	char source[256];
	bg_buf form;
	int rc;

	snprintf(source, sizeof(source), "role %s (AssumeRole with %s)", role_arn, via);
	bg_buf_init(&form, BG_MAX_CREDENTIAL_DOC);
	rc = form_add(&form, "Action", "AssumeRole");
	rc = rc ? rc : form_add(&form, "Version", "2011-06-15");
	rc = rc ? rc : form_add(&form, "RoleArn", role_arn);
	rc = rc ? rc : form_add(&form, "RoleSessionName", session);
	if (external_id && *external_id)
		rc = rc ? rc : form_add(&form, "ExternalId", external_id);
	if (rc)
		rc = bg_err_set(e, BG_EINVAL, "%s: the request is too long", source);
	else
		rc = sts_call(region, &form, base, source, out, e);
	bg_buf_free(&form);
	return rc;
}

static int web_identity(const char *region, const char *token_file, const char *role_arn,
                        const char *session, awscreds **out, bg_err *e)
{
	char source[256], *tok = NULL;
	size_t tok_len = 0;
	bg_buf form;
	int rc;

	snprintf(source, sizeof(source), "web identity (role %s, token %s)", role_arn, token_file);
	bg_buf_init(&form, BG_MAX_CREDENTIAL_DOC);
	rc = awscreds_read_file(token_file, &tok, &tok_len, e);
	if (rc) {
		rc = err_prefix(e, rc == BG_ENOTFOUND ? BG_EINVAL : rc, source);
		goto done;
	}
	while (tok_len &&
	       (tok[tok_len - 1] == '\n' || tok[tok_len - 1] == '\r' || tok[tok_len - 1] == ' '))
		tok[--tok_len] = '\0';
	if (tok_len == 0 || tok_len > BG_MAX_CREDENTIAL_DOC / 2 || memchr(tok, '\0', tok_len)) {
		rc = bg_err_set(e, BG_EINVAL, "%s: the token file is empty or too long", source);
		goto done;
	}
	tok[tok_len] = '\0';
	rc = form_add(&form, "Action", "AssumeRoleWithWebIdentity");
	rc = rc ? rc : form_add(&form, "Version", "2011-06-15");
	rc = rc ? rc : form_add(&form, "RoleArn", role_arn);
	rc = rc ? rc : form_add(&form, "RoleSessionName", session);
	rc = rc ? rc : form_add(&form, "WebIdentityToken", tok);
	if (rc)
		rc = bg_err_set(e, BG_EINVAL, "%s: the request is too long", source);
	else
		rc = sts_call(region, &form, NULL, source, out, e);
done:
	if (tok) {
		OPENSSL_cleanse(tok, tok_len);
		free(tok);
	}
	bg_buf_free_secure(&form);
	return rc;
}

/* GETs a credentials document of the container endpoint or instance metadata (the same
 * JSON) and parses it; the expiry is set on the credentials. */
static int get_metadata_creds(const char *url, struct curl_slist *hdrs, long timeout_ms,
                              const char *source, awscreds **out, bg_err *e)
{
	bg_buf resp;
	long status = 0;
	int64_t exp = 0;
	int rc;

	bg_buf_init(&resp, BG_MAX_CREDENTIAL_DOC);
	rc = http_call("GET", url, hdrs, NULL, 0, timeout_ms, true, &status, &resp, e);
	if (rc == 0 && status != 200)
		rc = bg_err_set(e, BG_EUPSTREAM, "%s: HTTP %ld", source, status);
	if (rc == 0)
		rc = credparse_json(resp.data ? resp.data : "", resp.len, CREDPARSE_METADATA,
		                    source, out, &exp, e);
	if (rc == 0)
		awscreds_set_expiry(*out, exp);
	bg_buf_free_secure(&resp);
	return rc;
}

/* ---- container credentials ---- */

/* The hosts the SDKs let a FULL_URI name over plain http: loopback, the ECS task metadata
 * address and the EKS Pod Identity agent. */
static bool allowed_http_host(const char *h)
{
	static const char *const ok[] = {"localhost",      "169.254.170.2", "169.254.170.23",
	                                 "[fd00:ec2::23]", "[::1]",         "::1",
	                                 "fd00:ec2::23"};
	size_t i;

	if (strncmp(h, "127.", 4) == 0 && strspn(h, "0123456789.") == strlen(h))
		return true;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcasecmp(h, ok[i]) == 0)
			return true;
	return false;
}

static int container(awscreds **out, bg_err *e)
{
	const char *rel = env_get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env_get("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *tokfile = env_get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *tokenv = env_get("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	char url[BG_MAX_URL + 64], source[BG_MAX_URL + 128], *tok = NULL;
	struct curl_slist *hdrs = NULL;
	size_t tok_len = 0;
	int rc;

	*out = NULL;
	if (rel == NULL && full == NULL)
		return BG_ENOTFOUND;
	if (rel) {
		snprintf(url, sizeof(url), "http://169.254.170.2%s%s", rel[0] == '/' ? "" : "/",
		         rel);
	} else {
		CURLU *cu = curl_url();
		char *host = NULL, *scheme = NULL;
		bool ok = cu && curl_url_set(cu, CURLUPART_URL, full, 0) == CURLUE_OK &&
		          curl_url_get(cu, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
		          curl_url_get(cu, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
		          (strcmp(scheme, "https") == 0 ||
		           (strcmp(scheme, "http") == 0 && allowed_http_host(host)));
		curl_free(host);
		curl_free(scheme);
		curl_url_cleanup(cu);
		if (!ok) {
			rc = bg_err_set(
			    e, BG_EINVAL,
			    "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to "
			    "a loopback address, 169.254.170.2, 169.254.170.23 or "
			    "fd00:ec2::23");
			goto done;
		}
		snprintf(url, sizeof(url), "%s", full);
	}
	snprintf(source, sizeof(source), "container credentials %s", url);
	if (tokfile) {
		rc = awscreds_read_file(tokfile, &tok, &tok_len, e);
		if (rc) {
			rc = err_prefix(e, BG_EINVAL, source);
			goto done;
		}
		while (tok_len && (tok[tok_len - 1] == '\n' || tok[tok_len - 1] == '\r'))
			tok_len--;
		tok[tok_len] = '\0';
	}
	if ((tok || tokenv) && !add_hdr(&hdrs, "Authorization", tok ? tok : tokenv)) {
		rc = bg_err_set(e, BG_EINVAL, "%s: the authorization token is malformed", source);
		goto done;
	}
	if (!add_hdr(&hdrs, "Accept", "application/json")) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto done;
	}
	rc = get_metadata_creds(url, hdrs, BG_CREDENTIAL_HTTP_TIMEOUT_MS, source, out, e);
done:
	if (tok) {
		OPENSSL_cleanse(tok, tok_len);
		free(tok);
	}
	curl_slist_free_all(hdrs);
	return rc;
}

/* ---- EC2 instance metadata, IMDSv2 ---- */

static int imds(awscreds **out, bg_err *e)
{
	const char *dis = env_get("AWS_EC2_METADATA_DISABLED");
	const char *base = env_get("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	char url[BG_MAX_URL + 300], ttl[16], role[256], source[BG_MAX_URL + 300];
	struct curl_slist *hdrs = NULL;
	bg_buf tok, resp;
	long status = 0;
	size_t n, blen;
	int rc;

	*out = NULL;
	if (dis && strcasecmp(dis, "true") == 0)
		return BG_ENOTFOUND;
	if (base == NULL)
		base = "http://169.254.169.254";
	blen = strlen(base);
	while (blen && base[blen - 1] == '/')
		blen--;
	bg_buf_init(&tok, 1024);
	bg_buf_init(&resp, BG_MAX_CREDENTIAL_DOC);
	snprintf(ttl, sizeof(ttl), "%d", BG_IMDS_TOKEN_TTL_S);
	snprintf(url, sizeof(url), "%.*s/latest/api/token", (int)blen, base);
	if (!add_hdr(&hdrs, "X-aws-ec2-metadata-token-ttl-seconds", ttl)) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto done;
	}
	rc = http_call("PUT", url, hdrs, NULL, 0, BG_IMDS_TIMEOUT_MS, true, &status, &tok, e);
	curl_slist_free_all(hdrs);
	hdrs = NULL;
	if (rc == BG_EUPSTREAM) {
		/* Nothing answers: not an EC2 instance (or the hop limit stops us). */
		rc = err_prefix(e, BG_ENOTFOUND, "instance metadata");
		goto done;
	}
	if (rc)
		goto done;
	if (status != 200 || tok.len == 0 || tok.failed || strpbrk(tok.data, "\r\n")) {
		rc = bg_err_set(e, status == 404 || status == 403 ? BG_ENOTFOUND : BG_EUPSTREAM,
		                "instance metadata: the token request (IMDSv2) answered HTTP %ld",
		                status);
		goto done;
	}
	if (!add_hdr(&hdrs, "X-aws-ec2-metadata-token", tok.data)) {
		rc = bg_err_set(e, BG_ENOMEM, "out of memory");
		goto done;
	}
	snprintf(url, sizeof(url), "%.*s/latest/meta-data/iam/security-credentials/", (int)blen,
	         base);
	rc = http_call("GET", url, hdrs, NULL, 0, BG_IMDS_TIMEOUT_MS, true, &status, &resp, e);
	if (rc)
		goto done;
	if (status == 404) {
		rc = bg_err_set(e, BG_ENOTFOUND, "instance metadata: the instance has no role");
		goto done;
	}
	n = resp.data ? strcspn(resp.data, "\r\n") : 0;
	if (status != 200 || n == 0 || n >= sizeof(role) ||
	    strspn(resp.data,
	           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+=,.@_-") < n) {
		rc = bg_err_set(e, BG_EUPSTREAM, "instance metadata: no role name (HTTP %ld)",
		                status);
		goto done;
	}
	memcpy(role, resp.data, n);
	role[n] = '\0';
	bg_buf_reset(&resp);
	snprintf(url, sizeof(url), "%.*s/latest/meta-data/iam/security-credentials/%s", (int)blen,
	         base, role);
	snprintf(source, sizeof(source), "instance metadata (IMDSv2) role %s", role);
	rc = get_metadata_creds(url, hdrs, BG_IMDS_TIMEOUT_MS, source, out, e);
done:
	curl_slist_free_all(hdrs);
	bg_buf_free_secure(&tok);
	bg_buf_free_secure(&resp);
	return rc;
}

/* ---- credential_process ---- */

/* Splits a command line into words as Python's shlex.split does for the common cases:
 * blanks separate, '...' is literal, "..." allows \" and \\, a backslash escapes outside
 * quotes. Words are written NUL-separated into buf. Returns the count, or -1. */
static int split_words(const char *s, char *buf, size_t cap, char **argv, int max)
{
	size_t o = 0;
	int n = 0;

	while (*s) {
		bool word = false;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		if (n >= max - 1)
			return -1;
		argv[n] = buf + o;
		while (*s && *s != ' ' && *s != '\t') {
			word = true;
			if (*s == '\'') {
				const char *q = strchr(s + 1, '\'');
				if (q == NULL || o + (size_t)(q - s) >= cap)
					return -1;
				memcpy(buf + o, s + 1, (size_t)(q - s - 1));
				o += (size_t)(q - s - 1);
				s = q + 1;
			} else if (*s == '"') {
				s++;
				while (*s && *s != '"') {
					if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
						s++;
					if (o + 1 >= cap)
						return -1;
					buf[o++] = *s++;
				}
				if (*s != '"')
					return -1;
				s++;
			} else {
				if (*s == '\\' && s[1])
					s++;
				if (o + 1 >= cap)
					return -1;
				buf[o++] = *s++;
			}
		}
		if (!word || o + 1 >= cap)
			return -1;
		buf[o++] = '\0';
		n++;
	}
	argv[n] = NULL;
	return n;
}

static int run_process(const char *cmd, const char *profile, awscreds **out, bg_err *e)
{
	char words[BG_MAX_PATH], *argv[BG_MAX_PROCESS_ARGS + 1], source[BG_MAX_PATH + 64];
	posix_spawn_file_actions_t fa;
	int p[2] = {-1, -1}, status = 0, n, rc;
	pid_t pid = -1;
	int64_t deadline = bg_now_ms() + BG_CREDENTIAL_PROCESS_TIMEOUT_MS, exp = 0;
	bg_buf resp;

	*out = NULL;
	bg_buf_init(&resp, BG_MAX_CREDENTIAL_DOC);
	n = split_words(cmd, words, sizeof(words), argv, BG_MAX_PROCESS_ARGS + 1);
	snprintf(source, sizeof(source), "credential_process of profile %s (%s)", profile,
	         n > 0 ? argv[0] : "?");
	if (n <= 0) {
		rc = bg_err_set(e, BG_EINVAL,
		                "%s: the command line is empty, too long or has an "
		                "unclosed quote",
		                source);
		goto done;
	}
	if (pipe2(p, O_CLOEXEC) != 0 || posix_spawn_file_actions_init(&fa) != 0) {
		rc = bg_err_set(e, BG_EIO, "%s: cannot create a pipe", source);
		goto done;
	}
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	p[1] = -1;
	if (rc != 0) {
		pid = -1;
		char eb[128];
		rc = bg_err_set(e, BG_EIO, "%s: cannot run it: %s", source,
		                strerror_r(rc, eb, sizeof(eb)));
		goto done;
	}
	for (;;) {
		char chunk[4096];
		struct pollfd pf = {p[0], POLLIN, 0};
		int64_t left = deadline - bg_now_ms();
		ssize_t r;

		if (left <= 0) {
			kill(pid, SIGKILL);
			rc = bg_err_set(e, BG_EIO, "%s: no answer within %d s", source,
			                BG_CREDENTIAL_PROCESS_TIMEOUT_MS / 1000);
			goto done;
		}
		int pr = poll(&pf, 1, (int)(left > 1000 ? 1000 : left));

		if (pr < 0 && errno != EINTR) {
			rc = bg_err_set(e, BG_EIO, "%s: poll failed", source);
			goto done;
		}
		if (pr <= 0)
			continue; /* nothing yet: look at the deadline again, never block in read */
		r = read(p[0], chunk, sizeof(chunk));
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;
		if (bg_buf_add(&resp, chunk, (size_t)r) != 0) {
			kill(pid, SIGKILL);
			OPENSSL_cleanse(chunk, sizeof(chunk));
			rc = bg_err_set(e, BG_ELIMIT, "%s: more than %u bytes of output", source,
			                BG_MAX_CREDENTIAL_DOC);
			goto done;
		}
		OPENSSL_cleanse(chunk, sizeof(chunk));
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		rc = bg_err_set(e, BG_EIO, "%s: exited with %s %d", source,
		                WIFEXITED(status) ? "status" : "signal",
		                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		goto done;
	}
	rc = credparse_json(resp.data ? resp.data : "", resp.len, CREDPARSE_PROCESS, source, out,
	                    &exp, e);
	if (rc == 0)
		awscreds_set_expiry(*out, exp);
done:
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	bg_buf_free_secure(&resp);
	return rc;
}

/* ---- profiles ---- */

enum {
	K_ROLE_ARN,
	K_SOURCE_PROFILE,
	K_CREDENTIAL_SOURCE,
	K_EXTERNAL_ID,
	K_SESSION_NAME,
	K_WEB_TOKEN_FILE,
	K_PROCESS,
	K_AKID,
	K_SECRET,
	K_TOKEN,
	K_COUNT
};
static const char *const cfg_keys[K_COUNT] = {
    "role_arn",           "source_profile",    "credential_source",
    "external_id",        "role_session_name", "web_identity_token_file",
    "credential_process", "aws_access_key_id", "aws_secret_access_key",
    "aws_session_token"};

typedef struct file_text {
	char path[BG_MAX_PATH + 1];
	char *text;
	size_t len;
} file_text;

typedef struct profile_ctx {
	const char *name;
	file_text cfg, cred;
	bool found;
	bool have[K_COUNT];
	char *val[K_COUNT]; /* NUL-terminated copies */
} profile_ctx;

static void file_free(file_text *f)
{
	if (f->text) {
		OPENSSL_cleanse(f->text, f->len);
		free(f->text);
	}
	f->text = NULL;
	f->len = 0;
}

/* Loads a file named by env (or ~/rel); a missing file is an empty one. */
static int file_load(const char *env, const char *rel, file_text *f, bg_err *e)
{
	bg_buf p;
	int rc;

	bg_buf_init(&p, BG_MAX_PATH);
	rc = awscreds_path(env, rel, &p, e);
	if (rc == BG_ENOTFOUND) {
		bg_buf_free(&p);
		return 0;
	}
	if (rc == 0) {
		snprintf(f->path, sizeof(f->path), "%s", p.data);
		rc = awscreds_read_file(f->path, &f->text, &f->len, e);
		if (rc == BG_ENOTFOUND || (rc == BG_EINVAL && strcmp(f->path, "/dev/null") == 0))
			rc = 0; /* no file, or /dev/null (not a regular file): nothing configured */
	}
	bg_buf_free(&p);
	return rc;
}

/* The config file's keys of profile name ("[default]" or "[profile NAME]"). */
static int profile_read(profile_ctx *pc, const char *name, bg_err *e)
{
	char section[BG_MAX_PROFILE_NAME + 16];
	bg_cur val[K_COUNT];
	size_t i;
	int rc;

	for (i = 0; i < K_COUNT; i++) {
		if (pc->val[i])
			OPENSSL_cleanse(pc->val[i], strlen(pc->val[i]));
		free(pc->val[i]);
		pc->val[i] = NULL;
	}
	snprintf(section, sizeof(section), strcmp(name, "default") == 0 ? "%s" : "profile %s",
	         name);
	rc = awscreds_ini_lookup(pc->cfg.text ? pc->cfg.text : "", pc->cfg.len, section,
	                         pc->cfg.path, cfg_keys, K_COUNT, val, pc->have, &pc->found, e);
	if (rc)
		return rc;
	for (i = 0; i < K_COUNT; i++) {
		if (!pc->have[i])
			continue;
		pc->val[i] = strndup((const char *)val[i].p + val[i].off, bg_cur_left(&val[i]));
		if (pc->val[i] == NULL)
			return bg_err_set(e, BG_ENOMEM, "out of memory");
		if (pc->val[i][0] == '\0')
			pc->have[i] = false;
	}
	return 0;
}

static void profile_free(profile_ctx *pc)
{
	size_t i;

	for (i = 0; i < K_COUNT; i++) {
		if (pc->val[i])
			OPENSSL_cleanse(pc->val[i], strlen(pc->val[i]));
		free(pc->val[i]);
	}
	file_free(&pc->cfg);
	file_free(&pc->cred);
}

/* Static keys of profile name: the credentials file first, then the config file. */
static int static_keys(profile_ctx *pc, const char *name, awscreds **out, bg_err *e)
{
	char source[BG_MAX_PATH + BG_MAX_PROFILE_NAME + 64];
	int rc = BG_ENOTFOUND;

	if (pc->cred.text)
		rc = awscreds_parse(pc->cred.text, pc->cred.len, name, pc->cred.path, out, e);
	if (rc != BG_ENOTFOUND)
		return rc;
	rc = profile_read(pc, name, e);
	if (rc)
		return rc;
	if (!pc->have[K_AKID] && !pc->have[K_SECRET])
		return bg_err_set(e, BG_ENOTFOUND, "profile %s has no keys", name);
	if (!pc->have[K_AKID] || !pc->have[K_SECRET])
		return bg_err_set(e, BG_EINVAL, "profile %s in %s lacks %s", name, pc->cfg.path,
		                  pc->have[K_AKID] ? "aws_secret_access_key" : "aws_access_key_id");
	snprintf(source, sizeof(source), "config file %s, profile %s", pc->cfg.path, name);
	return awscreds_make(pc->val[K_AKID], strlen(pc->val[K_AKID]), pc->val[K_SECRET],
	                     strlen(pc->val[K_SECRET]), pc->have[K_TOKEN] ? pc->val[K_TOKEN] : "",
	                     pc->have[K_TOKEN] ? strlen(pc->val[K_TOKEN]) : 0, source, out, e);
}

/* Steps 2 to 6 of the chain for the profile. */
static int profile_chain(const credchain_opts *o, awscreds **out, bg_err *e)
{
	const char *name = env_get("AWS_PROFILE");
	const char *wtf = env_get("AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *warn = env_get("AWS_ROLE_ARN");
	char session[BG_MAX_ROLE_SESSION_NAME + 1];
	profile_ctx pc;
	awscreds *base = NULL;
	int rc;

	memset(&pc, 0, sizeof(pc));
	if (name == NULL)
		name = env_get("AWS_DEFAULT_PROFILE");
	if (name == NULL)
		name = "default";
	if (strlen(name) > BG_MAX_PROFILE_NAME)
		return bg_err_set(e, BG_EINVAL, "the profile name is too long");
	pc.name = name;
	rc = file_load("AWS_CONFIG_FILE", ".aws/config", &pc.cfg, e);
	rc = rc ? rc : file_load("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials", &pc.cred, e);
	rc = rc ? rc : profile_read(&pc, name, e);
	if (rc)
		goto done;
	default_session_name(session, sizeof(session));
	if (pc.have[K_SESSION_NAME])
		snprintf(session, sizeof(session), "%s", pc.val[K_SESSION_NAME]);

	/* 2. the profile's role, from a source profile or a credential source */
	if (pc.have[K_ROLE_ARN] && (pc.have[K_SOURCE_PROFILE] || pc.have[K_CREDENTIAL_SOURCE])) {
		char role[512], ext[512], via[BG_MAX_PROFILE_NAME + 64];
		snprintf(role, sizeof(role), "%s", pc.val[K_ROLE_ARN]);
		snprintf(ext, sizeof(ext), "%s",
		         pc.have[K_EXTERNAL_ID] ? pc.val[K_EXTERNAL_ID] : "");
		if (pc.have[K_SOURCE_PROFILE]) {
			/* static_keys reads the source's section into pc: copy the name first. */
			char src[BG_MAX_PROFILE_NAME + 1];
			snprintf(src, sizeof(src), "%s", pc.val[K_SOURCE_PROFILE]);
			snprintf(via, sizeof(via), "profile %s", src);
			rc = static_keys(&pc, src, &base, e);
			if (rc == BG_ENOTFOUND)
				rc = bg_err_set(e, BG_EINVAL,
				                "profile %s: source_profile %s has no static keys",
				                name, src);
		} else {
			const char *cs = pc.val[K_CREDENTIAL_SOURCE];
			snprintf(via, sizeof(via), "credential_source %s", cs);
			if (strcmp(cs, "Environment") == 0)
				rc = awscreds_from_env(&base, e);
			else if (strcmp(cs, "EcsContainer") == 0)
				rc = container(&base, e);
			else if (strcmp(cs, "Ec2InstanceMetadata") == 0)
				rc = imds(&base, e);
			else
				rc = bg_err_set(e, BG_EINVAL,
				                "profile %s: unknown credential_source %s", name,
				                cs);
			if (rc == BG_ENOTFOUND)
				rc = bg_err_set(e, BG_EINVAL, "profile %s: %s gave no credentials",
				                name, via);
		}
		if (rc == 0)
			rc = assume_role(o->region, base, role, ext, session, via, out, e);
		goto done;
	}
	/* 3. web identity: the environment, else the profile */
	if (!(wtf && warn) && pc.have[K_WEB_TOKEN_FILE] && pc.have[K_ROLE_ARN]) {
		wtf = pc.val[K_WEB_TOKEN_FILE];
		warn = pc.val[K_ROLE_ARN];
	}
	if (wtf && warn) {
		if (env_get("AWS_ROLE_SESSION_NAME"))
			snprintf(session, sizeof(session), "%s", env_get("AWS_ROLE_SESSION_NAME"));
		rc = web_identity(o->region, wtf, warn, session, out, e);
		goto done;
	}
	/* 4. the shared credentials file */
	rc = BG_ENOTFOUND;
	if (pc.cred.text)
		rc = awscreds_parse(pc.cred.text, pc.cred.len, name, pc.cred.path, out, e);
	if (rc != BG_ENOTFOUND)
		goto done;
	/* 5. credential_process */
	if (pc.have[K_PROCESS]) {
		rc = run_process(pc.val[K_PROCESS], name, out, e);
		goto done;
	}
	/* 6. static keys in the config file */
	rc = BG_ENOTFOUND;
	if (pc.have[K_AKID] || pc.have[K_SECRET]) {
		file_free(&pc.cred); /* step 4 looked there already */
		rc = static_keys(&pc, name, out, e);
	}
done:
	awscreds_free(base);
	profile_free(&pc);
	return rc;
}

/* Steps 1 to 8, without the gateway's own role. */
static int chain(const credchain_opts *o, awscreds **out, bg_err *e)
{
	int rc;

	*out = NULL;
	rc = awscreds_from_env(out, e);
	if (rc == BG_ENOTFOUND)
		rc = profile_chain(o, out, e);
	if (rc == BG_ENOTFOUND)
		rc = container(out, e);
	if (rc == BG_ENOTFOUND)
		rc = imds(out, e);
	if (rc == BG_ENOTFOUND)
		rc = bg_err_set(
		    e, BG_ENOTFOUND,
		    "no AWS credentials: none in the environment, the shared credentials "
		    "and config files (profile %s), container credentials or instance "
		    "metadata",
		    env_get("AWS_PROFILE") ? env_get("AWS_PROFILE") : "default");
	return rc;
}

int credchain_resolve(const credchain_opts *o, awscreds **out, bg_err *e)
{
	char session[BG_MAX_ROLE_SESSION_NAME + 1];
	awscreds *base = NULL;
	int rc;

	*out = NULL;
	rc = chain(o, &base, e);
	if (rc || o->role_arn == NULL || o->role_arn[0] == '\0') {
		*out = base;
		return rc;
	}
	if (o->session_name && o->session_name[0])
		snprintf(session, sizeof(session), "%s", o->session_name);
	else
		default_session_name(session, sizeof(session));
	rc = assume_role(o->region, base, o->role_arn, o->external_id, session,
	                 awscreds_source(base), out, e);
	awscreds_free(base);
	return rc;
}

/* ---- the holder and its refresher ---- */

struct credchain {
	char region[64], role_arn[512], external_id[512],
	    session_name[BG_MAX_ROLE_SESSION_NAME + 1];
	credchain_opts opts;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop, started;
	pthread_t thread;
	awscreds *cur;
	int64_t refreshed;
	char last_error[256];
	bool expired_logged;
};

static void set_opts(credchain *c, const credchain_opts *o)
{
	snprintf(c->region, sizeof(c->region), "%s", o->region ? o->region : "us-east-1");
	snprintf(c->role_arn, sizeof(c->role_arn), "%s", o->role_arn ? o->role_arn : "");
	snprintf(c->external_id, sizeof(c->external_id), "%s",
	         o->external_id ? o->external_id : "");
	snprintf(c->session_name, sizeof(c->session_name), "%s",
	         o->session_name ? o->session_name : "");
	c->opts.region = c->region;
	c->opts.role_arn = c->role_arn;
	c->opts.external_id = c->external_id;
	c->opts.session_name = c->session_name;
}

static void log_identity(const awscreds *cr, const char *what)
{
	char when[BG_RFC3339_SIZE] = "";
	int64_t exp = awscreds_expiry(cr);

	if (exp)
		bg_rfc3339(exp, when);
	fprintf(stderr, "breakglass: AWS identity %s: %s, access key %s%s%s\n", what,
	        awscreds_source(cr), awscreds_access_key_id(cr), exp ? ", expires " : "",
	        exp ? when : "");
}

int credchain_new(const credchain_opts *o, credchain **out, bg_err *e)
{
	credchain *c;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	set_opts(c, o);
	rc = credchain_resolve(&c->opts, &c->cur, e);
	if (rc) {
		credchain_free(c);
		return rc;
	}
	c->refreshed = bg_now();
	*out = c;
	return 0;
}

void credchain_log(credchain *c)
{
	pthread_mutex_lock(&c->lock);
	if (c->cur)
		log_identity(c->cur, "from");
	pthread_mutex_unlock(&c->lock);
}

/* When to refresh credentials expiring at exp: BG_CRED_REFRESH_BEFORE_S plus jitter
 * before, or half the remaining life if that is sooner; 0 for never. */
static int64_t next_refresh(int64_t exp, int64_t now)
{
	unsigned r = 0;
	int64_t before, left = exp - now;

	if (exp == 0)
		return 0;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (unsigned)now;
	before = BG_CRED_REFRESH_BEFORE_S + (int64_t)(r % (BG_CRED_REFRESH_JITTER_S + 1));
	if (before > left / 2)
		before = left / 2;
	return exp - before > now ? exp - before : now + 1;
}

static void *refresher(void *arg)
{
	credchain *c = arg;
	int64_t retry = BG_CRED_RETRY_MIN_S, at;

	pthread_setname_np(pthread_self(), "bg-credentials"); /* top -H, perf, /proc */
	pthread_mutex_lock(&c->lock);
	at = next_refresh(awscreds_expiry(c->cur), bg_now());
	while (!c->stop) {
		awscreds *fresh = NULL;
		bg_err e = {0, ""};
		int rc;

		if (at == 0) { /* long-term credentials: nothing to do until stopped */
			pthread_cond_wait(&c->wake, &c->lock);
			continue;
		}
		if (bg_now() < at) {
			struct timespec ts = {(time_t)at, 0};
			pthread_cond_timedwait(&c->wake, &c->lock, &ts);
			continue;
		}
		pthread_mutex_unlock(&c->lock);
		rc = credchain_resolve(&c->opts, &fresh, &e);
		pthread_mutex_lock(&c->lock);
		if (rc == 0) {
			awscreds *old = c->cur;
			c->cur = fresh;
			c->refreshed = bg_now();
			c->last_error[0] = '\0';
			c->expired_logged = false;
			log_identity(fresh, "refreshed from");
			awscreds_free(old);
			retry = BG_CRED_RETRY_MIN_S;
			at = next_refresh(awscreds_expiry(fresh), bg_now());
			continue;
		}
		snprintf(c->last_error, sizeof(c->last_error), "%s", e.msg);
		fprintf(stderr,
		        "breakglass: refreshing the AWS identity failed (retry in %llds): %s\n",
		        (long long)retry, e.msg);
		if (!c->expired_logged && c->cur && awscreds_expiry(c->cur) <= bg_now() + retry) {
			c->expired_logged = true;
			fprintf(stderr,
			        "breakglass: the gateway's AWS credentials expire and could not "
			        "be renewed: DynamoDB requests are refused until a refresh "
			        "succeeds\n");
		}
		at = bg_now() + retry;
		retry = retry * 2 > BG_CRED_RETRY_MAX_S ? BG_CRED_RETRY_MAX_S : retry * 2;
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int credchain_start(credchain *c)
{
	int rc;

	/* The condition variable's clock is the default, CLOCK_REALTIME: wake-ups are
	 * wall-clock times, as expiries are. */
	rc = pthread_create(&c->thread, NULL, refresher, c);
	if (rc != 0)
		return BG_EIO;
	c->started = true;
	return 0;
}

awscreds *credchain_get(credchain *c)
{
	awscreds *r = NULL;
	int64_t exp;

	pthread_mutex_lock(&c->lock);
	exp = awscreds_expiry(c->cur);
	if (c->cur && (exp == 0 || bg_now() < exp))
		r = awscreds_ref(c->cur);
	pthread_mutex_unlock(&c->lock);
	return r;
}

void credchain_status(credchain *c, credchain_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&c->lock);
	if (c->cur) {
		snprintf(st->source, sizeof(st->source), "%s", awscreds_source(c->cur));
		snprintf(st->access_key_id, sizeof(st->access_key_id), "%s",
		         awscreds_access_key_id(c->cur));
		st->expires = awscreds_expiry(c->cur);
		st->valid = st->expires == 0 || bg_now() < st->expires;
	}
	st->refreshed = c->refreshed;
	snprintf(st->last_error, sizeof(st->last_error), "%s", c->last_error);
	pthread_mutex_unlock(&c->lock);
}

void credchain_free(credchain *c)
{
	if (c == NULL)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->lock);
		c->stop = true;
		pthread_cond_broadcast(&c->wake);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL);
	}
	awscreds_free(c->cur);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
