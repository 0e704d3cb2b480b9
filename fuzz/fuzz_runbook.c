/*
 * fuzz_runbook.c - libFuzzer target for the runbook template reader (ytree over libyaml,
 * then the schema): any bytes give either a template or problems with a file and line,
 * never a crash, leak or read past the input. A template that loads has a hash, an
 * operation, and renders with its own defaults when every parameter has one.
 */
#include <string.h>

#include "fuzz.h"
#include "runbook/runbook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	runbook_diags d = {NULL, 0};
	runbook *r = NULL;
	json_t *texts, *avs = NULL, *req = NULL;
	bg_err e;
	size_t i;
	bool all_default = true;

	if (runbook_parse((const char *)data, size, "fuzz.yaml", NULL, &r, &d) != 0) {
		CHECK(r == NULL);
		CHECK(d.n > 0);
		for (i = 0; i < d.n; i++)
			CHECK(d.items[i].file != NULL && d.items[i].msg != NULL);
		runbook_diags_free(&d);
		return 0;
	}
	CHECK(d.n == 0);
	CHECK(r != NULL && r->op != NULL && strlen(r->hash) == 64);
	for (i = 0; i < r->n_params; i++)
		all_default = all_default && r->params[i].default_text != NULL;
	texts = json_object();
	if (all_default && texts != NULL && runbook_bind(r, texts, &avs, &e) == 0) {
		CHECK(runbook_render(r, avs, NULL, &req, &e) == 0);
		json_decref(req);
		json_decref(avs);
	}
	json_decref(texts);
	runbook_free(r);
	return 0;
}
