/*
 * sink_stub.c - the redacted stub of an audit record (sink_stub.h says what and why).
 * The line is parsed with duplicate keys refused, as verify.c reads it, so the stub
 * carries the very seq and hashes the verifier would have seen in the full record.
 */
#include "audit/sink_stub.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int sink_stub(const sink_rec *r, char **out, size_t *len, bg_err *e)
{
	json_t *rec = NULL, *stub = NULL, *seq, *prev, *hash;
	int rc = 0;

	*out = NULL;
	*len = 0;
	if (r == NULL || r->line == NULL)
		return bg_err_set(e, BG_EINVAL, "an audit record without a line");
	rec = json_loadb(r->line, r->len, JSON_REJECT_DUPLICATES, NULL);
	seq = json_object_get(rec, "seq");
	prev = json_object_get(rec, "prev_hash");
	hash = json_object_get(rec, "hash");
	if (!json_is_integer(seq) || json_integer_value(seq) != r->seq || !json_is_string(prev) ||
	    !json_is_string(hash)) {
		rc = bg_err_set(e, BG_EINVAL,
		                "audit record %lld (%zu bytes) has no seq, prev_hash and hash to "
		                "stand in for it",
		                (long long)r->seq, r->len);
		goto done;
	}
	stub = json_pack("{s:O,s:O,s:O,s:b}", "seq", seq, "prev_hash", prev, "hash", hash,
	                 "redacted", 1);
	*out = stub == NULL ? NULL : json_dumps(stub, JSON_COMPACT);
	if (*out == NULL) {
		rc = bg_err_set(e, BG_ENOMEM, "audit record %lld: out of memory for its stub",
		                (long long)r->seq);
		goto done;
	}
	*len = strlen(*out);
done:
	json_decref(stub);
	json_decref(rec);
	return rc;
}
