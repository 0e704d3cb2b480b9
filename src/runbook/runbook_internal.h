/*
 * runbook_internal.h - what runbook.c and runbook_set.c share and nobody else needs.
 */
#ifndef BG_RUNBOOK_INTERNAL_H
#define BG_RUNBOOK_INTERNAL_H

#include <jansson.h>

#include "common/err.h"
#include "runbook/runbook.h"
#include "common/ytree.h"

/* Appends a problem (file, line, printf-style message) to d; d may be NULL. */
void runbook_diag_add(runbook_diags *d, const char *file, unsigned line, const char *fmt, ...)
    BG_PRINTF(4, 5);

/* A YAML node as JSON, every scalar a string; NULL when out of memory. */
json_t *runbook_node_json(const ytree_node *v);

/* Reads the regular file path (no symlink) of at most max bytes, NUL-terminated. */
int runbook_read_file(const char *path, size_t max, char **out, size_t *len,
                      bg_err *e) BG_MUST_CHECK;

#endif
