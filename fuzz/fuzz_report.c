/*
 * fuzz_report.c - libFuzzer target for the post-incident report (report/report.h): the
 * input is an incident's export (JSON lines, as `audit export --incident` writes them;
 * a line that is not a JSON object is skipped), fed to the builder with the key of
 * fuzz_audit_export's seeds, then to the renderers (HTML or markdown by the input's
 * length, the SVG and the json format always). Promises checked: no crash or leak;
 * the build succeeds on any list of records; each renderer succeeds; the json format is
 * JSON; no markup from the records survives in the HTML or markdown (no "<script", and
 * the only elements are the renderer's own); the SVG opens and closes once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include "common/limits.h"
#include "fuzz.h"
#include "report/report.h"

static const char pub_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                              "MCowBQYDK2VwAyEAKn6bTP5UHL07RCresWC/RN7/GbgbhiJ4daWdHwS2ags=\n"
                              "-----END PUBLIC KEY-----\n";

/* True when s has a tag opening with name (case-insensitive): checked at each '<' only,
 * by hand (the sanitizers' string interceptors would make every run slow). */
static bool has_tag(const char *s, const char *name)
{
	size_t i;

	for (s = strchr(s, '<'); s != NULL; s = strchr(s + 1, '<')) {
		for (i = 0; name[i] != '\0' && tolower((unsigned char)s[1 + i]) == name[i]; i++)
			;
		if (name[i] == '\0')
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sigkey *key;
	json_t *recs = json_array(), *back;
	const char *p = (const char *)data, *end = p + size, *nl;
	report_opts o;
	report *r = NULL;
	bg_buf b;
	bg_err e;

	if (key == NULL && sigkey_from_public_pem(pub_pem, sizeof(pub_pem) - 1, &key, &e) != 0)
		abort();
	CHECK(recs != NULL);
	for (; p < end; p = nl + 1) {
		json_t *j;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		j = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, NULL);
		if (json_is_object(j))
			CHECK(json_array_append(recs, j) == 0);
		json_decref(j);
	}
	report_opts_init(&o);
	o.incident = "INC-1";
	o.keys = (const sigkey *const *)&key;
	o.nkeys = 1;
	o.budget = size % 2 ? 1.5 : -1;
	CHECK(report_build(recs, &o, &r, &e) == 0);

	bg_buf_init(&b, BG_MAX_REPORT_BYTES);
	/* One of the two long documents per run, by the input's length: each run stays
	 * quick enough for fuzz-smoke, and both see every kind of input. */
	if (size % 2 == 0) {
		CHECK(report_html(r, &b) == 0);
		CHECK(!has_tag(b.data, "script") && !has_tag(b.data, "img") &&
		      !has_tag(b.data, "a "));
		CHECK(strstr(b.data, "<svg") != NULL && strstr(b.data, "</svg>") != NULL);
	} else {
		CHECK(report_md(r, &b) == 0);
		CHECK(strchr(b.data, '<') == NULL); /* markdown has no markup of its own */
	}
	bg_buf_reset(&b);
	CHECK(report_svg(r, &b) == 0);
	CHECK(strncmp(b.data, "<svg", 4) == 0);
	bg_buf_reset(&b);
	CHECK(report_json(r, &b) == 0);
	back = json_loadb(b.data, b.len, 0, NULL);
	CHECK(back != NULL && json_equal(back, report_model(r)));
	json_decref(back);
	bg_buf_free(&b);
	report_free(r);
	json_decref(recs);
	return 0;
}
