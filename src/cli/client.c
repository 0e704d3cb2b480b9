/*
 * client.c - libcurl-based JSON client for the breakglass API (see client.h).
 *
 * The server is the CLI's only peer and it is trusted to be breakglass, but not to be
 * well-behaved: answers are capped (BG_MAX_RESPONSE_BODY, the same cap as a DynamoDB
 * answer; the API's audit pages are the largest thing it sends), calls time out, and the
 * bytes of every answer are wiped before release because creds answers hold secrets.
 */
#include "cli/client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/output.h"
#include "common/buf.h"
#include "common/limits.h"

struct cli_client {
	CURL *curl;
	const char *base; /* without trailing slashes: see base_len */
	size_t base_len;
	const char *token;
};

int cli_client_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : BG_EIO;
}

cli_client *cli_client_new(const cli_ctx *ctx)
{
	cli_client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->curl = curl_easy_init();
	if (c->curl == NULL) {
		free(c);
		return NULL;
	}
	c->base = ctx->url;
	c->base_len = strlen(ctx->url);
	while (c->base_len > 0 && c->base[c->base_len - 1] == '/')
		c->base_len--;
	c->token = ctx->token;
	return c;
}

void cli_client_free(cli_client *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	free(c);
}

char *cli_client_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s), i, j = 0;
	char *out;

	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(n * 3 + 1);
	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			out[j++] = (char)ch;
		} else {
			out[j++] = '%';
			out[j++] = hex[ch >> 4];
			out[j++] = hex[ch & 15];
		}
	}
	out[j] = '\0';
	return out;
}

static size_t client_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	bg_buf *b = userdata;
	size_t n = size * nmemb;

	if (bg_buf_add(b, ptr, n) != 0)
		return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
	return n;
}

/* A response header the caller wants (cli_client_get_raw's header). */
typedef struct header_want {
	const char *name;
	size_t name_len;
	char *value;
	size_t size;
} header_want;

static size_t client_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	header_want *w = userdata;
	size_t n = size * nmemb, v;

	if (n > w->name_len && ptr[w->name_len] == ':' &&
	    strncasecmp(ptr, w->name, w->name_len) == 0) {
		for (v = w->name_len + 1; v < n && (ptr[v] == ' ' || ptr[v] == '\t'); v++)
			;
		while (n > v && (ptr[n - 1] == '\r' || ptr[n - 1] == '\n' || ptr[n - 1] == ' '))
			n--;
		if (n - v < w->size) {
			memcpy(w->value, ptr + v, n - v);
			w->value[n - v] = '\0';
		}
	}
	return size * nmemb;
}

static void failure_set(cli_failure *f, long status, const char *code, const char *msg)
{
	memset(f, 0, sizeof(*f));
	f->http_status = status;
	if (code != NULL)
		cli_out_sanitize(code, f->code, sizeof(f->code));
	if (msg != NULL)
		cli_out_sanitize(msg, f->msg, sizeof(f->msg));
}

/* Fills f from a non-2xx answer; returns the exit code for it. */
static int client_http_failure(long status, const bg_buf *resp, cli_failure *f)
{
	json_t *j = NULL;
	const char *code = NULL, *msg = NULL;
	char fallback[96];
	int rc = (status >= 500 || status < 100) ? CLI_EXIT_UNREACHABLE : CLI_EXIT_REFUSED;

	if (resp->data != NULL && resp->len > 0)
		j = json_loadb(resp->data, resp->len, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(j)) {
		code = json_string_value(json_object_get(j, "error"));
		msg = json_string_value(json_object_get(j, "message"));
	}
	if (msg == NULL || msg[0] == '\0') {
		snprintf(fallback, sizeof(fallback), "server answered HTTP %ld", status);
		msg = fallback;
	}
	failure_set(f, status, code, msg);
	json_decref(j);
	return rc;
}

/* The call; the answer parsed into *out, or with raw its bytes written there instead
 * (and with want, the header it names). */
static int call(cli_client *c, const char *method, const char *path, json_t *body, json_t **out,
                bg_buf *raw, header_want *want, cli_failure *f)
{
	bg_buf url, auth, resp;
	struct curl_slist *hdrs = NULL, *h;
	char *payload = NULL;
	char errbuf[CURL_ERROR_SIZE];
	json_t *j = NULL;
	json_error_t jerr;
	long status = 0;
	CURLcode cc;
	int rc = CLI_EXIT_UNREACHABLE;

	*out = NULL;
	memset(f, 0, sizeof(*f));
	errbuf[0] = '\0';
	bg_buf_init(&url, BG_MAX_URL + BG_MAX_API_PATH);
	bg_buf_init(&auth, BG_MAX_HEADER_VALUE);
	bg_buf_init(&resp, BG_MAX_RESPONSE_BODY);

	if (bg_buf_add(&url, c->base, c->base_len) != 0 || bg_buf_adds(&url, path) != 0) {
		failure_set(f, 0, NULL, "server URL too long");
		rc = CLI_EXIT_USAGE;
		goto fail;
	}
	h = curl_slist_append(hdrs, "Accept: application/json");
	if (h == NULL)
		goto nomem;
	hdrs = h;
	/* No "Expect: 100-continue" round trip for small bodies. */
	h = curl_slist_append(hdrs, "Expect:");
	if (h == NULL)
		goto nomem;
	hdrs = h;
	if (c->token != NULL) {
		if (bg_buf_addf(&auth, "Authorization: Bearer %s", c->token) != 0) {
			failure_set(f, 0, NULL, "API token too long");
			rc = CLI_EXIT_USAGE;
			goto fail;
		}
		h = curl_slist_append(hdrs, auth.data);
		if (h == NULL)
			goto nomem;
		hdrs = h;
	}
	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_URL, url.data);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)BG_UPSTREAM_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, (long)BG_UPSTREAM_TIMEOUT_MS);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, client_write);
	/* A raw answer (audit pages, no secrets) goes straight into the caller's buffer,
	 * which keeps its memory from page to page. */
	if (raw != NULL)
		bg_buf_reset(raw);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, raw != NULL ? raw : &resp);
	if (want != NULL) {
		want->value[0] = '\0';
		curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, client_header);
		curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, want);
	}
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "breakglass-cli");
	if (body != NULL) {
		payload = json_dumps(body, JSON_COMPACT);
		if (payload == NULL)
			goto nomem;
		h = curl_slist_append(hdrs, "Content-Type: application/json");
		if (h == NULL)
			goto nomem;
		hdrs = h;
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, payload);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
	}
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);

	cc = curl_easy_perform(c->curl);
	if (cc != CURLE_OK) {
		char msg[400];
		if (cc == CURLE_WRITE_ERROR && (raw != NULL ? raw : &resp)->failed == BG_ELIMIT)
			snprintf(msg, sizeof(msg), "answer from %s is larger than %u bytes",
			         c->base, (unsigned)BG_MAX_RESPONSE_BODY);
		else
			snprintf(msg, sizeof(msg), "cannot reach the server at %.*s: %s",
			         (int)c->base_len, c->base,
			         errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
		failure_set(f, 0, NULL, msg);
		rc = CLI_EXIT_UNREACHABLE;
		goto fail;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		rc = client_http_failure(status, raw != NULL ? raw : &resp, f);
		goto fail;
	}
	if (raw != NULL) {
		rc = CLI_EXIT_OK;
		goto done;
	}
	j = json_loadb(resp.data != NULL ? resp.data : "", resp.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(j)) {
		failure_set(f, status, NULL, "the server's answer is not a JSON object");
		rc = CLI_EXIT_UNREACHABLE;
		goto fail;
	}
	*out = j;
	j = NULL;
	rc = CLI_EXIT_OK;
	goto done;
nomem:
	failure_set(f, 0, NULL, "out of memory");
	rc = CLI_EXIT_LOCAL;
fail:
	if (raw != NULL)
		bg_buf_reset(raw); /* only a 2xx answer's bytes are the caller's */
done:
	json_decref(j);
	if (payload != NULL) {
		/* Request bodies carry OTP codes: wipe them too. */
		memset(payload, 0, strlen(payload));
		free(payload);
	}
	curl_slist_free_all(hdrs);
	bg_buf_free(&url);
	bg_buf_free_secure(&auth);
	bg_buf_free_secure(&resp);
	return rc;
}

int cli_client_call(cli_client *c, const char *method, const char *path, json_t *body, json_t **out,
                    cli_failure *f)
{
	return call(c, method, path, body, out, NULL, NULL, f);
}

int cli_client_get_raw(cli_client *c, const char *path, bg_buf *out, const char *header,
                       char *value, size_t value_size, cli_failure *f)
{
	header_want want = {header, header != NULL ? strlen(header) : 0, value, value_size};
	json_t *none = NULL;

	if (header != NULL && value_size == 0)
		return CLI_EXIT_LOCAL;
	return call(c, "GET", path, NULL, &none, out, header != NULL ? &want : NULL, f);
}

int cli_failure_report(const cli_failure *f, int exit_code)
{
	char msg[sizeof(f->msg) + sizeof(f->code) + 4];

	if (f->code[0] != '\0')
		snprintf(msg, sizeof(msg), "%s (%s)", f->msg, f->code);
	else
		snprintf(msg, sizeof(msg), "%s", f->msg[0] != '\0' ? f->msg : "request failed");
	return cli_fail_http(exit_code, f->code[0] != '\0' ? f->code : NULL, f->http_status, msg);
}

int cli_require_token(const cli_ctx *ctx)
{
	const char *p;

	if (strncmp(ctx->url, "http://", 7) != 0 && strncmp(ctx->url, "https://", 8) != 0)
		return cli_fail(
		    CLI_EXIT_USAGE, NULL,
		    "the server URL must start with http:// or https:// (got \"%.80s\")", ctx->url);
	if (ctx->token == NULL)
		return cli_fail(CLI_EXIT_USAGE, NULL,
		                "no API token: set BREAKGLASS_TOKEN or pass --token (the token is "
		                "printed by `breakglass init` and `breakglass user add`)");
	/* The token goes into a header line: no spaces or control characters. */
	for (p = ctx->token; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return cli_fail(CLI_EXIT_USAGE, NULL,
			                "the API token has a character that cannot be in a token");
	}
	return CLI_EXIT_OK;
}

int cli_request(const cli_ctx *ctx, const char *method, const char *path, json_t *body,
                json_t **out)
{
	cli_client *c;
	cli_failure f;
	int rc;

	*out = NULL;
	rc = cli_require_token(ctx);
	if (rc != CLI_EXIT_OK)
		return rc;
	c = cli_client_new(ctx);
	if (c == NULL)
		return cli_fail(CLI_EXIT_LOCAL, NULL, "out of memory");
	rc = cli_client_call(c, method, path, body, out, &f);
	if (rc != CLI_EXIT_OK)
		rc = cli_failure_report(&f, rc);
	cli_client_free(c);
	return rc;
}
