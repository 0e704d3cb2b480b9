/*
 * sns.c - Amazon SNS messages: parsing, the string to sign, certificate URLs, signature
 * verification with OpenSSL, and the CloudWatch alarms they carry (see sns.h).
 */
#include "alerts/sns.h"

#include <ctype.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/buf.h"
#include "common/crypto.h"

/* The message's fields; the first seven in the byte order of their names, which is the
 * order of the string to sign. */
enum {
	F_MESSAGE,
	F_MESSAGE_ID,
	F_SUBJECT,
	F_SUBSCRIBE_URL,
	F_TIMESTAMP,
	F_TOKEN,
	F_TOPIC_ARN,
	F_TYPE,
	F_SIGNATURE_VERSION,
	F_SIGNATURE,
	F_CERT_URL,
	F_COUNT
};

static const char *const field_names[F_COUNT] = {
    "Message",  "MessageId", "Subject",          "SubscribeURL", "Timestamp",     "Token",
    "TopicArn", "Type",      "SignatureVersion", "Signature",    "SigningCertURL"};

struct sns_msg {
	json_t *root;
	sns_type type;
	int sig_version;
	int64_t time;
	const char *f[F_COUNT]; /* NULL: absent */
	size_t n[F_COUNT];
};

void sns_msg_free(sns_msg *m)
{
	if (m == NULL)
		return;
	json_decref(m->root);
	free(m);
}

/* Which fields each type needs (Subject is optional in a notification, absent elsewhere). */
static bool needed(const sns_msg *m, int f)
{
	if (f == F_SUBJECT)
		return false;
	if (f == F_SUBSCRIBE_URL || f == F_TOKEN)
		return m->type != SNS_NOTIFICATION;
	return true;
}

static int parse_type(sns_msg *m, bg_err *e)
{
	const char *t = m->f[F_TYPE];

	if (strcmp(t, "Notification") == 0)
		m->type = SNS_NOTIFICATION;
	else if (strcmp(t, "SubscriptionConfirmation") == 0)
		m->type = SNS_SUBSCRIPTION_CONFIRMATION;
	else if (strcmp(t, "UnsubscribeConfirmation") == 0)
		m->type = SNS_UNSUBSCRIBE_CONFIRMATION;
	else
		return bg_err_set(e, BG_EINVAL, "SNS message Type %.40s is unknown", t);
	return 0;
}

int sns_parse(const char *body, size_t n, sns_msg **out, bg_err *e)
{
	sns_msg *m;
	int rc, f;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	rc = alert_json_load(body, n, "the SNS message", &m->root, e);
	if (rc != 0)
		goto fail;
	rc = BG_EINVAL;
	for (f = 0; f < F_COUNT; f++)
		if (alert_json_str(m->root, field_names[f], false, &m->f[f], &m->n[f], e) != 0)
			goto fail;
	if (m->f[F_TYPE] == NULL) {
		bg_err_set(e, BG_EINVAL, "\"Type\" is missing");
		goto fail;
	}
	if (parse_type(m, e) != 0)
		goto fail;
	for (f = 0; f < F_COUNT; f++)
		if (needed(m, f) && m->f[f] == NULL) {
			bg_err_set(e, BG_EINVAL, "\"%s\" is missing", field_names[f]);
			goto fail;
		}
	if (m->type != SNS_NOTIFICATION)
		m->f[F_SUBJECT] = NULL; /* not part of what a confirmation signs */
	else
		m->f[F_SUBSCRIBE_URL] = m->f[F_TOKEN] = NULL;
	if (strcmp(m->f[F_SIGNATURE_VERSION], "1") != 0 &&
	    strcmp(m->f[F_SIGNATURE_VERSION], "2") != 0) {
		bg_err_set(e, BG_EINVAL, "SignatureVersion %.8s is neither 1 nor 2",
		           m->f[F_SIGNATURE_VERSION]);
		goto fail;
	}
	m->sig_version = m->f[F_SIGNATURE_VERSION][0] - '0';
	if (alert_time_parse(m->f[F_TIMESTAMP], m->n[F_TIMESTAMP], &m->time) != 0) {
		bg_err_set(e, BG_EINVAL, "\"Timestamp\" is not an RFC 3339 time");
		goto fail;
	}
	*out = m;
	return 0;
fail:
	sns_msg_free(m);
	return rc;
}

sns_type sns_msg_type(const sns_msg *m)
{
	return m->type;
}

const char *sns_msg_id(const sns_msg *m)
{
	return m->f[F_MESSAGE_ID];
}

const char *sns_msg_topic(const sns_msg *m)
{
	return m->f[F_TOPIC_ARN];
}

const char *sns_msg_cert_url(const sns_msg *m)
{
	return m->f[F_CERT_URL];
}

const char *sns_msg_subscribe_url(const sns_msg *m)
{
	return m->f[F_SUBSCRIBE_URL];
}

int64_t sns_msg_time(const sns_msg *m)
{
	return m->time;
}

bool sns_topic_ok(const sns_msg *m, const char *const *topics, size_t n_topics)
{
	size_t i;

	for (i = 0; i < n_topics; i++)
		if (topics[i] != NULL && strlen(topics[i]) == m->n[F_TOPIC_ARN] &&
		    memcmp(topics[i], m->f[F_TOPIC_ARN], m->n[F_TOPIC_ARN]) == 0)
			return true;
	return false;
}

/* ---- certificate URLs ---- */

/* True when the n bytes at s end with the literal suffix (any case); *rest is what is
 * before it. */
static bool strip_suffix(const char *s, size_t n, const char *suffix, size_t *rest)
{
	size_t k = strlen(suffix);

	if (n < k || strncasecmp(s + n - k, suffix, k) != 0)
		return false;
	*rest = n - k;
	return true;
}

/* AWS's own: sns.<region>.amazonaws.com[.cn], optionally :443. */
static bool aws_sns_host(const char *h, size_t n)
{
	size_t i;

	strip_suffix(h, n, ":443", &n);
	if (!strip_suffix(h, n, ".amazonaws.com", &n) &&
	    !strip_suffix(h, n, ".amazonaws.com.cn", &n))
		return false;
	if (n < 5 || strncasecmp(h, "sns.", 4) != 0 || n - 4 > 32 || !isalpha((unsigned char)h[4]))
		return false;
	for (i = 4; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-')
			return false;
	return true;
}

bool sns_cert_url_ok(const char *url, size_t n, const char *const *hosts, size_t n_hosts)
{
	size_t i, start = 8, end;

	if (url == NULL || n > BG_MAX_SNS_URL || n <= start || strncmp(url, "https://", 8) != 0)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)url[i];
		if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '#')
			return false;
	}
	for (end = start; end < n && url[end] != '/' && url[end] != '?'; end++)
		if (url[end] == '@' || url[end] == '%')
			return false;
	if (end == start)
		return false;
	if (n_hosts == 0)
		return aws_sns_host(url + start, end - start);
	for (i = 0; i < n_hosts; i++)
		if (hosts[i] != NULL && strlen(hosts[i]) == end - start &&
		    strncasecmp(hosts[i], url + start, end - start) == 0)
			return true;
	return false;
}

/* ---- signatures ---- */

/* The string to sign: the signed fields present, "Key\nvalue\n" each, in order. */
static int string_to_sign(const sns_msg *m, bg_buf *b)
{
	int f;

	for (f = F_MESSAGE; f <= F_TYPE; f++) {
		if (m->f[f] == NULL)
			continue;
		if (bg_buf_adds(b, field_names[f]) != 0 || bg_buf_addc(b, '\n') != 0 ||
		    bg_buf_add(b, m->f[f], m->n[f]) != 0 || bg_buf_addc(b, '\n') != 0)
			return b->failed ? BG_ENOMEM : BG_ELIMIT;
	}
	return 0;
}

/* Strict base64 (RFC 4648 alphabet, padded, no spaces) of n bytes at s into out (cap
 * bytes); returns the decoded length, or -1. */
static int unbase64(const char *s, size_t n, unsigned char *out, size_t cap)
{
	size_t i, pad = 0;
	int len;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > cap)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '=' && i >= n - 2) {
			pad++;
			continue;
		}
		if (pad > 0 || !(isalnum(c) || c == '+' || c == '/'))
			return -1;
	}
	len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	return len < 0 ? -1 : len - (int)pad;
}

static int load_cert(const char *pem, size_t pem_n, int64_t now, X509 **out, bg_err *e)
{
	BIO *bio;
	X509 *x;
	time_t t = (time_t)now;
	EVP_PKEY *key;

	*out = NULL;
	if (pem_n > BG_MAX_SNS_CERT)
		return bg_err_set(e, BG_ELIMIT, "the signing certificate is larger than %u bytes",
		                  BG_MAX_SNS_CERT);
	bio = BIO_new_mem_buf(pem, (int)pem_n);
	if (bio == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (x == NULL)
		return bg_err_set(e, BG_EINVAL, "the signing certificate is not a PEM certificate");
	if (X509_cmp_time(X509_get0_notBefore(x), &t) != -1 ||
	    X509_cmp_time(X509_get0_notAfter(x), &t) != 1) {
		X509_free(x);
		return bg_err_set(e, BG_EEXPIRED, "the signing certificate is not valid now");
	}
	key = X509_get0_pubkey(x);
	if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(key) < BG_MIN_SNS_RSA_BITS) {
		X509_free(x);
		return bg_err_set(e, BG_EINVAL,
		                  "the signing certificate's key is not RSA of at "
		                  "least %d bits",
		                  BG_MIN_SNS_RSA_BITS);
	}
	*out = x;
	return 0;
}

int sns_verify(const sns_msg *m, const char *pem, size_t pem_n, int64_t now, bg_err *e)
{
	unsigned char sig[BG_MAX_SNS_SIGNATURE];
	X509 *x = NULL;
	EVP_MD_CTX *ctx = NULL;
	bg_buf tbs;
	int rc, sig_n;

	bg_buf_init(&tbs, 2 * BG_MAX_HOOK_BODY);
	if (m->n[F_SIGNATURE] > BG_MAX_SNS_SIGNATURE)
		return bg_err_set(e, BG_ELIMIT, "the Signature is longer than %d characters",
		                  BG_MAX_SNS_SIGNATURE);
	sig_n = unbase64(m->f[F_SIGNATURE], m->n[F_SIGNATURE], sig, sizeof(sig));
	if (sig_n <= 0)
		return bg_err_set(e, BG_EAUTH, "the Signature is not base64");
	rc = load_cert(pem, pem_n, now, &x, e);
	if (rc != 0)
		return rc;
	rc = string_to_sign(m, &tbs);
	if (rc != 0) {
		bg_err_set(e, rc, "cannot build the string to sign");
		goto fail;
	}
	ctx = EVP_MD_CTX_new();
	rc = BG_ENOMEM;
	if (ctx == NULL) {
		bg_err_set(e, rc, "out of memory");
		goto fail;
	}
	rc = BG_EAUTH;
	if (EVP_DigestVerifyInit(ctx, NULL, m->sig_version == 1 ? EVP_sha1() : bg_sha256_md(), NULL,
	                         X509_get0_pubkey(x)) != 1 ||
	    EVP_DigestVerify(ctx, sig, (size_t)sig_n, (const unsigned char *)tbs.data, tbs.len) !=
	        1) {
		bg_err_set(e, rc, "the SNS signature does not verify");
		goto fail;
	}
	rc = 0;
fail:
	EVP_MD_CTX_free(ctx);
	X509_free(x);
	bg_buf_free(&tbs);
	return rc;
}

int sns_fresh(const sns_msg *m, int64_t now, bg_err *e)
{
	return alert_fresh(m->time, now, "the SNS message's Timestamp", e);
}

/* ---- CloudWatch alarms ---- */

/* The value of the first "name=VALUE" word (words end at spaces, commas and semicolons)
 * in the n bytes at s, into out (cap bytes); "" when none. */
static void desc_word(const char *s, size_t n, const char *name, char *out, size_t cap)
{
	size_t k = strlen(name), i = 0, j;

	out[0] = '\0';
	while (s != NULL && i < n) {
		while (i < n && strchr(" \t\r\n,;", s[i]) != NULL)
			i++;
		for (j = i; j < n && strchr(" \t\r\n,;", s[j]) == NULL; j++)
			;
		if (j - i > k + 1 && strncasecmp(s + i, name, k) == 0 && s[i + k] == '=') {
			alert_copy_text(out, cap, s + i + k + 1, j - i - k - 1);
			return;
		}
		i = j;
	}
}

/* The TableName dimension of Trigger.Dimensions, into out (cap bytes). */
static int table_dimension(json_t *alarm, char *out, size_t cap, bg_err *e)
{
	json_t *trigger, *dims, *d;
	const char *name, *value;
	size_t i, value_n;

	if (alert_json_obj(alarm, "Trigger", &trigger, e) != 0 ||
	    (trigger != NULL && alert_json_arr(trigger, "Dimensions", &dims, e) != 0))
		return BG_EINVAL;
	if (trigger == NULL || dims == NULL)
		return 0;
	json_array_foreach(dims, i, d)
	{
		if (!json_is_object(d))
			return bg_err_set(e, BG_EINVAL, "a dimension is not an object");
		if (alert_json_str(d, "name", false, &name, NULL, e) != 0 ||
		    alert_json_str(d, "value", false, &value, &value_n, e) != 0)
			return BG_EINVAL;
		if (name != NULL && strcmp(name, "TableName") == 0) {
			alert_copy_text(out, cap, value, value_n);
			return 0;
		}
	}
	return 0;
}

int sns_alarm(const sns_msg *m, alert_batch *out, bg_err *e)
{
	alert_item *it = &out->items[0];
	json_t *alarm = NULL;
	const char *name, *desc, *state, *reason;
	size_t name_n, desc_n, reason_n;
	char word[32], why[sizeof(e->msg)];
	int64_t changed;
	int rc;

	alert_batch_init(out, ALERT_SNS);
	if (m->type != SNS_NOTIFICATION)
		return bg_err_set(e, BG_EINVAL, "the SNS message is not a Notification");
	if (alert_json_load(m->f[F_MESSAGE], m->n[F_MESSAGE], "its Message", &alarm, e) != 0) {
		snprintf(why, sizeof(why), "%s", e != NULL ? e->msg : "");
		return bg_err_set(e, BG_EINVAL, "the notification is not a CloudWatch alarm: %s",
		                  why);
	}
	rc = BG_EINVAL;
	if (alert_json_str(alarm, "AlarmName", false, &name, &name_n, e) != 0 ||
	    alert_json_str(alarm, "NewStateValue", false, &state, NULL, e) != 0 ||
	    alert_json_str(alarm, "AlarmDescription", false, &desc, &desc_n, e) != 0 ||
	    alert_json_str(alarm, "NewStateReason", false, &reason, &reason_n, e) != 0 ||
	    alert_json_time(alarm, "StateChangeTime", &changed, e) != 0)
		goto fail;
	if (name == NULL || state == NULL) {
		bg_err_set(e, BG_EINVAL, "the notification is not a CloudWatch alarm (no %s)",
		           name == NULL ? "AlarmName" : "NewStateValue");
		goto fail;
	}
	if (strcmp(state, "ALARM") != 0 && strcmp(state, "OK") != 0 &&
	    strcmp(state, "INSUFFICIENT_DATA") != 0) {
		bg_err_set(e, BG_EINVAL, "alarm state %.32s is unknown", state);
		goto fail;
	}
	if (alert_copy_id(out->delivery, sizeof(out->delivery), "the MessageId", m->f[F_MESSAGE_ID],
	                  m->n[F_MESSAGE_ID], e) != 0 ||
	    alert_copy_id(out->group, sizeof(out->group), "the alarm name", name, name_n, e) != 0 ||
	    alert_copy_id(it->key, sizeof(it->key), "the alarm name", name, name_n, e) != 0 ||
	    table_dimension(alarm, out->service, sizeof(out->service), e) != 0)
		goto fail;
	it->firing = strcmp(state, "ALARM") == 0;
	if (it->firing)
		it->starts_at = changed;
	else if (strcmp(state, "OK") == 0)
		it->ends_at = changed;
	alert_copy_text(it->name, sizeof(it->name), name, name_n);
	alert_copy_text(it->summary, sizeof(it->summary), reason, reason_n);
	alert_copy_text(out->title, sizeof(out->title), name, name_n);
	desc_word(desc, desc_n, "severity", word, sizeof(word));
	out->severity = alert_severity_parse(word);
	if (desc != NULL) {
		char svc[sizeof(out->service)];
		desc_word(desc, desc_n, "service", svc, sizeof(svc));
		if (svc[0] != '\0')
			memcpy(out->service, svc, sizeof(svc));
	}
	out->n = 1;
	alert_batch_finish(out);
	rc = 0;
fail:
	json_decref(alarm);
	return rc;
}

/* With AWS's own hosts, a certificate URL must look like one SNS publishes
 * ("https://sns.REGION.amazonaws.com/SimpleNotificationService-<32 hex>.pem", REGION the
 * topic's): anything else would let a caller who knows a topic ARN make the gateway fetch
 * arbitrary paths, unauthenticated, on the thread the API shares. */
bool sns_cert_url_aws(const char *url, const char *topic)
{
	static const char pre[] = "/SimpleNotificationService-";
	const char *host = url + strlen("https://"), *slash = strchr(host, '/'), *region, *dot;
	const char *arn_region = topic;
	size_t i, n;

	if (slash == NULL || strncmp(host, "sns.", 4) != 0 || topic == NULL)
		return false;
	region = host + 4;
	dot = strchr(region, '.');
	/* arn:PARTITION:sns:REGION:ACCOUNT:NAME */
	for (i = 0; arn_region != NULL && i < 3; i++) {
		arn_region = strchr(arn_region, ':');
		if (arn_region != NULL)
			arn_region++;
	}
	if (dot == NULL || dot > slash || arn_region == NULL ||
	    strncmp(region, arn_region, (size_t)(dot - region)) != 0 ||
	    arn_region[dot - region] != ':')
		return false;
	if (strncmp(slash, pre, sizeof(pre) - 1) != 0)
		return false;
	slash += sizeof(pre) - 1;
	for (n = 0; (slash[n] >= '0' && slash[n] <= '9') || (slash[n] >= 'a' && slash[n] <= 'f');
	     n++)
		;
	return n == 32 && strcmp(slash + n, ".pem") == 0;
}
