/*
 * validate.h - one validator per naming and range rule, shared by every layer that
 * checks the same thing: the CLI before it sends, the service layer before it acts, the
 * store before it writes, the DynamoDB request parser before it authorises.
 *
 * Each rule lives here once so the layers cannot drift apart (a name the CLI accepts
 * and the store refuses, a table a grant names that no request could). The validators
 * are pure; those that read request data take a length, since it is not NUL-terminated.
 * Limits come from limits.h.
 */
#ifndef BG_VALIDATE_H
#define BG_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True for the characters of table, user and id names: [A-Za-z0-9._-]. They are safe in
 * logs, file names, URLs and shells without quoting. */
bool bg_name_char(int c);

/* A DynamoDB table or index name (n bytes at s): 3 to BG_MAX_TABLE_NAME name characters,
 * DynamoDB's own rule. */
bool bg_valid_table_name(const char *s, size_t n);

/* A breakglass user name: 1 to BG_MAX_USER_NAME name characters. NULL is not one.
 * BG_USER_NAME_RULE says so in words, for every message that refuses a name. */
bool bg_valid_user_name(const char *s);
#define BG_USER_NAME_RULE "1 to 64 of the characters A-Z a-z 0-9 . _ - (no spaces, no @)"

/* An identifier the store keys on (grant id, access key id, role, grant kind): 1 to max
 * name characters. NULL is not one. */
bool bg_valid_id(const char *s, size_t max);

/* One line of free text a person reads (an incident's title, an alert's summary): at most
 * max bytes of valid UTF-8 without control characters (C0, DEL, C1), so it cannot forge a
 * line in a log or a terminal. NULL is not one; "" is. */
bool bg_valid_text(const char *s, size_t max);

/* Makes s (NUL-terminated, changed in place) pass bg_valid_text() at its length: a control
 * character becomes a space, a byte that is not part of valid UTF-8 becomes '?', and a
 * sequence cut short at the end (by a truncating copy) is dropped. For text from outside
 * (an alert's summary) that is shown, not parsed. */
void bg_text_clean(char *s);

/* The shape of a DynamoDB operation name (n bytes at s): a CamelCase word of 1 to
 * BG_MAX_OP_NAME ASCII letters starting upper-case. Whether DynamoDB knows it, and
 * whether a grant may carry it, is grant_op_valid()'s question (workflow/grant.h). */
bool bg_valid_op_name(const char *s, size_t n);

/* A grant's lifetime in seconds: 1 to BG_MAX_GRANT_SECONDS. */
bool bg_valid_grant_seconds(int64_t secs);

#endif
