/*
 * file.h - the two steps of writing a small file that must survive a crash (the master
 * key, the audit signing key): every byte written despite short writes and EINTR, and
 * the directory entry of a newly created file synced.
 */
#ifndef BG_FILE_H
#define BG_FILE_H

#include <stddef.h>

#include "common/err.h"

/* Writes all n bytes of p to fd, retrying short writes and EINTR. 0, or -1 with errno. */
int bg_write_all(int fd, const void *p, size_t n) BG_MUST_CHECK;

/* fsyncs the directory holding path, so a file just created there survives a crash.
 * 0, or -1 with errno. */
int bg_fsync_parent(const char *path) BG_MUST_CHECK;

#endif
