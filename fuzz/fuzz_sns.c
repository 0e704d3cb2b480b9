/*
 * fuzz_sns.c - libFuzzer target for Amazon SNS messages (alerts/sns): any bytes give a
 * message or an error, never a crash, leak or read past the input. A message that parses
 * has the fields its Type needs; it is checked against a topic list and the URL
 * allow-lists, verified against a fixed certificate (the seeds are signed with its key, so
 * mutations start from signatures that verify), and read as a CloudWatch alarm, whose
 * batch must keep alert_batch_valid's promises. Input starting with "URL " is a URL for
 * sns_cert_url_ok alone: one it accepts starts with https:// and has no userinfo.
 */
#include <string.h>

#include "alerts/sns.h"
#include "fuzz.h"

/* Valid from 2026-12-01 to 2126; NOW lies inside. */
static const char cert[] = "-----BEGIN CERTIFICATE-----\n"
                           "MIIDGzCCAgOgAwIBAgIUPCWzCJsScl1gXLoYXN8G2lXasMIwDQYJKoZIhvcNAQEL\n"
                           "BQAwHDEaMBgGA1UEAwwRc25zLmFtYXpvbmF3cy5jb20wIBcNMjYxMjAxMjEyNTIy\n"
                           "WhgPMjEyNjExMDcyMTI1MjJaMBwxGjAYBgNVBAMMEXNucy5hbWF6b25hd3MuY29t\n"
                           "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtxF9Fk0InppRbf6e6/YN\n"
                           "zA/BBLsxfFjI59fRE3GnztAzanCWVYa2kOoGAP30mtl/luoKyVMI4uAh5bVgZAhB\n"
                           "LHoGHjPcQozftTmOV2REgihcETz/83GMNbF2ynVNxqXCycyXrHxQyPdJdQrcOX+1\n"
                           "rQCbxCvbD1um77UHFrTaais91dHonGU1yNyFm6Q8vfcSHsxm2Tfxl4p4f6AaKySp\n"
                           "CatUvYolVFcr/l+Gsz8DUATNw9NVjnwZwq0v4AY6mBGvKT6XVlnzqCW8yf6ru3na\n"
                           "2n2XcbpmDGBJYC3hUaNOOSG1fp6PdHXEQycCjdYweI9ww0iNQCegBAe8AtNdgvpl\n"
                           "XQIDAQABo1MwUTAdBgNVHQ4EFgQU5eCWiPMpHGEwmz/FrORlkdhJG+0wHwYDVR0j\n"
                           "BBgwFoAU5eCWiPMpHGEwmz/FrORlkdhJG+0wDwYDVR0TAQH/BAUwAwEB/zANBgkq\n"
                           "hkiG9w0BAQsFAAOCAQEAAWNOF7boIcRfRhjiup2XBjurDvXbLQOMwuVoJVWMc1DF\n"
                           "8WWDjhL89CHyuN9GoZe8DZSD7vSsrFOHQjkGJldOa/nmdhgbXxd6LxV0VNPDe1gU\n"
                           "fX2QVgW0Tl0h7ICLGzXDQ55cJkGAJMt1AnlSDi9Cds1eSuq4qBPUQl0UNYE7viBO\n"
                           "IwFlvwS0gpC0mnaAcP5O8aNJIeJ+lYdpiSiNHsjsjXkdSrJWbOlFBI4pbq1Vl2ki\n"
                           "ofb2JWbBu6balFk1Crnbhkkr/+ppSCMGry27vWmM/oY0IFoXaH2TiuWOKT31TO3x\n"
                           "TTS0vI0ysnRUrtoJu61ohoIlQrL/J1bI9qVNktJMvA==\n"
                           "-----END CERTIFICATE-----\n";
#define NOW 1800000000

static void url_case(const char *u, size_t n)
{
	static const char *const hosts[] = {"127.0.0.1:8443", "certs.example.com"};
	size_t i;

	if (sns_cert_url_ok(u, n, NULL, 0) || sns_cert_url_ok(u, n, hosts, 2)) {
		CHECK(n > 8 && memcmp(u, "https://", 8) == 0);
		for (i = 8; i < n && u[i] != '/' && u[i] != '?'; i++)
			CHECK(u[i] != '@' && u[i] != '%');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const topics[] = {"arn:aws:sns:eu-west-1:123456789012:breakglass"};
	static alert_batch b;
	sns_msg *m = NULL;
	const char *u;
	bg_err e;
	int rc;

	if (size >= 4 && memcmp(data, "URL ", 4) == 0) {
		url_case((const char *)data + 4, size - 4);
		return 0;
	}
	rc = sns_parse((const char *)data, size, &m, &e);
	if (rc != 0) {
		CHECK(rc < 0 && m == NULL && e.msg[0] != '\0');
		return 0;
	}
	CHECK(sns_msg_id(m) != NULL && sns_msg_topic(m) != NULL && sns_msg_cert_url(m) != NULL);
	CHECK((sns_msg_subscribe_url(m) != NULL) == (sns_msg_type(m) != SNS_NOTIFICATION));
	(void)sns_topic_ok(m, topics, 1);
	u = sns_msg_cert_url(m);
	url_case(u, strlen(u));
	if (sns_msg_subscribe_url(m) != NULL) {
		u = sns_msg_subscribe_url(m);
		url_case(u, strlen(u));
	}
	rc = sns_verify(m, cert, sizeof(cert) - 1, NOW, &e);
	CHECK(rc == 0 || rc == BG_EAUTH || rc == BG_ELIMIT);
	if (sns_msg_type(m) == SNS_NOTIFICATION) {
		rc = sns_alarm(m, &b, &e);
		CHECK(rc <= 0);
		if (rc == 0)
			CHECK(alert_batch_valid(&b) && b.n == 1 && b.delivery[0] != '\0');
	} else {
		CHECK(sns_alarm(m, &b, &e) == BG_EINVAL);
	}
	sns_msg_free(m);
	return 0;
}
