/*
 * credparse.c - credentials answers of the container endpoint, instance metadata,
 * credential_process and STS (see credparse.h).
 *
 * JSON goes through jansson with duplicate keys refused. The STS XML extractor looks for
 * one <Credentials> element (or an <Error>) and, inside it, each wanted leaf element exactly
 * once; a leaf's text may hold only the five predefined entities and no markup. Nothing is
 * NUL-terminated on the way: the input is walked as (pointer, length).
 */
#include "credparse.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/limits.h"

int credparse_time(const char *s, size_t n, int64_t *t)
{
	return bg_rfc3339_parse(s, n, t);
}

/* ---- JSON ---- */

static const char *jstr(json_t *o, const char *k, size_t *n)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_string(v))
		return NULL;
	*n = json_string_length(v);
	return json_string_value(v);
}

int credparse_json(const char *text, size_t len, credparse_kind kind, const char *source,
                   awscreds **out, int64_t *expires, bg_err *e)
{
	json_error_t je;
	json_t *doc = NULL, *v;
	const char *akid, *secret, *token = NULL, *exp, *code;
	size_t akid_n = 0, secret_n = 0, token_n = 0, exp_n = 0, code_n = 0;
	int rc;

	*out = NULL;
	*expires = 0;
	if (len > BG_MAX_CREDENTIAL_DOC)
		return bg_err_set(e, BG_ELIMIT, "%s: the answer is larger than %u bytes", source,
		                  BG_MAX_CREDENTIAL_DOC);
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(doc)) {
		rc = bg_err_set(e, BG_EINVAL, "%s: the answer is not a JSON object", source);
		goto fail;
	}
	if (kind == CREDPARSE_PROCESS) {
		v = json_object_get(doc, "Version");
		if (!json_is_integer(v) || json_integer_value(v) != 1) {
			rc = bg_err_set(e, BG_EINVAL, "%s: the output's Version is not 1", source);
			goto fail;
		}
	}
	code = jstr(doc, "Code", &code_n);
	if (code && !(code_n == 7 && memcmp(code, "Success", 7) == 0)) {
		size_t mn = 0;
		const char *msg = jstr(doc, "Message", &mn);
		rc = bg_err_set(e, BG_EAUTH, "%s: %.*s%s%.*s", source,
		                (int)(code_n > 64 ? 64 : code_n), code, msg ? ": " : "",
		                (int)(mn > 160 ? 160 : mn), msg ? msg : "");
		goto fail;
	}
	akid = jstr(doc, "AccessKeyId", &akid_n);
	secret = jstr(doc, "SecretAccessKey", &secret_n);
	if (kind == CREDPARSE_PROCESS)
		token = jstr(doc, "SessionToken", &token_n);
	else
		token = jstr(doc, "Token", &token_n);
	exp = jstr(doc, "Expiration", &exp_n);
	if (akid == NULL || secret == NULL) {
		rc = bg_err_set(e, BG_EINVAL, "%s: the answer lacks %s", source,
		                akid ? "SecretAccessKey" : "AccessKeyId");
		goto fail;
	}
	if (exp == NULL && json_object_get(doc, "Expiration") != NULL) {
		rc = bg_err_set(e, BG_EINVAL, "%s: Expiration is not a string", source);
		goto fail;
	}
	if (exp == NULL && kind == CREDPARSE_METADATA) {
		rc = bg_err_set(e, BG_EINVAL, "%s: the answer lacks Expiration", source);
		goto fail;
	}
	if (exp && credparse_time(exp, exp_n, expires) != 0) {
		rc = bg_err_set(e, BG_EINVAL, "%s: Expiration is not an ISO 8601 UTC time", source);
		goto fail;
	}
	rc = awscreds_make(akid, akid_n, secret, secret_n, token ? token : "", token_n, source, out,
	                   e);
fail:
	if (doc) {
		/* The document held the secret: wipe the strings jansson made. */
		v = json_object_get(doc, "SecretAccessKey");
		if (json_is_string(v))
			OPENSSL_cleanse((void *)json_string_value(v), json_string_length(v));
		v = json_object_get(doc, kind == CREDPARSE_PROCESS ? "SessionToken" : "Token");
		if (json_is_string(v))
			OPENSSL_cleanse((void *)json_string_value(v), json_string_length(v));
	}
	json_decref(doc);
	return rc;
}

/* ---- STS XML ---- */

/* The span between <name> and </name> inside [p, p+n): exactly one occurrence, no
 * attributes, and no '<' inside (a leaf). For a container element (leaf false) the content
 * may hold markup. Returns 1 found, 0 absent, -1 malformed (twice, unclosed). */
static int xml_elem(const char *p, size_t n, const char *name, bool leaf, const char **in,
                    size_t *in_n)
{
	char open[64], close[64];
	size_t ol, cl, i;
	const char *start = NULL, *end = NULL;

	ol = (size_t)snprintf(open, sizeof(open), "<%s>", name);
	cl = (size_t)snprintf(close, sizeof(close), "</%s>", name);
	for (i = 0; i + ol <= n; i++) {
		if (memcmp(p + i, open, ol) != 0)
			continue;
		if (start)
			return -1;
		start = p + i + ol;
	}
	if (start == NULL)
		return 0;
	for (i = (size_t)(start - p); i + cl <= n; i++)
		if (memcmp(p + i, close, cl) == 0) {
			if (end)
				return -1;
			end = p + i;
		}
	if (end == NULL || end < start)
		return -1;
	if (leaf && memchr(start, '<', (size_t)(end - start)))
		return -1;
	*in = start;
	*in_n = (size_t)(end - start);
	return 1;
}

/* Decodes the five predefined entities of a leaf's text into b (secure-freed by the
 * caller); whitespace around the text is dropped. Anything else after '&' is malformed. */
static int xml_text(const char *p, size_t n, bg_buf *b)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = {
	    {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
	size_t i, k;

	while (n && (p[0] == ' ' || p[0] == '\n' || p[0] == '\r' || p[0] == '\t')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == '\t'))
		n--;
	for (i = 0; i < n; i++) {
		if (p[i] != '&') {
			if (bg_buf_addc(b, p[i]) != 0)
				return BG_ELIMIT;
			continue;
		}
		for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
			size_t el = strlen(ents[k].ent);
			if (n - i >= el && memcmp(p + i, ents[k].ent, el) == 0) {
				if (bg_buf_addc(b, ents[k].c) != 0)
					return BG_ELIMIT;
				i += el - 1;
				break;
			}
		}
		if (k == sizeof(ents) / sizeof(ents[0]))
			return BG_EINVAL;
	}
	return 0;
}

int credparse_sts_xml(const char *text, size_t len, const char *source, awscreds **out,
                      int64_t *expires, bg_err *e)
{
	static const char *const names[4] = {"AccessKeyId", "SecretAccessKey", "SessionToken",
	                                     "Expiration"};
	bg_buf val[4];
	const char *in = NULL, *leaf = NULL;
	size_t in_n = 0, leaf_n = 0, i;
	int rc, r;

	*out = NULL;
	*expires = 0;
	for (i = 0; i < 4; i++)
		bg_buf_init(&val[i], BG_MAX_SESSION_TOKEN);
	if (len > BG_MAX_CREDENTIAL_DOC) {
		rc = bg_err_set(e, BG_ELIMIT, "%s: the answer is larger than %u bytes", source,
		                BG_MAX_CREDENTIAL_DOC);
		goto fail;
	}
	r = xml_elem(text, len, "Error", false, &in, &in_n);
	if (r == 1) {
		const char *c = "", *m = "";
		size_t cn = 0, mn = 0;
		if (xml_elem(in, in_n, "Code", true, &c, &cn) != 1)
			c = "", cn = 0;
		if (xml_elem(in, in_n, "Message", true, &m, &mn) != 1)
			m = "", mn = 0;
		rc = bg_err_set(e, BG_EAUTH, "%s: STS refused: %.*s: %.*s", source,
		                (int)(cn > 64 ? 64 : cn), c, (int)(mn > 160 ? 160 : mn), m);
		goto fail;
	}
	r = xml_elem(text, len, "Credentials", false, &in, &in_n);
	if (r != 1) {
		rc = bg_err_set(e, BG_EINVAL, "%s: the STS answer has %s <Credentials> element",
		                source, r == 0 ? "no" : "a malformed");
		goto fail;
	}
	for (i = 0; i < 4; i++) {
		r = xml_elem(in, in_n, names[i], true, &leaf, &leaf_n);
		if (r != 1) {
			rc = bg_err_set(e, BG_EINVAL, "%s: the STS answer has %s <%s> element",
			                source, r == 0 ? "no" : "a malformed", names[i]);
			goto fail;
		}
		r = xml_text(leaf, leaf_n, &val[i]);
		if (r != 0) {
			rc = bg_err_set(e, r == BG_ELIMIT ? BG_ELIMIT : BG_EINVAL,
			                "%s: <%s> is too long or malformed", source, names[i]);
			goto fail;
		}
	}
	if (credparse_time(val[3].data ? val[3].data : "", val[3].len, expires) != 0) {
		rc = bg_err_set(e, BG_EINVAL, "%s: <Expiration> is not an ISO 8601 UTC time",
		                source);
		goto fail;
	}
	rc = awscreds_make(val[0].data ? val[0].data : "", val[0].len,
	                   val[1].data ? val[1].data : "", val[1].len,
	                   val[2].data ? val[2].data : "", val[2].len, source, out, e);
fail:
	for (i = 0; i < 4; i++)
		bg_buf_free_secure(&val[i]);
	return rc;
}
