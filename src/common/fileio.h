/*
 * fileio.h - reading a small file whole, for the files an operator writes (runbooks, the
 * policy, secrets, the on-call schedule): a regular file, not through a symlink, within a
 * size limit, NUL-terminated for the parsers.
 */
#ifndef BG_FILEIO_H
#define BG_FILEIO_H

#include <stddef.h>

#include "common/err.h"

/* Reads the regular file path (not a symlink) of at most max bytes into *out (free it;
 * NUL-terminated, *len bytes before the NUL). BG_ENOTFOUND when it does not exist, BG_EIO
 * when it cannot be read, BG_EINVAL when it is not a regular file or is larger than max,
 * BG_ENOMEM; the message names the path. */
int bg_read_file(const char *path, size_t max, char **out, size_t *len, bg_err *e) BG_MUST_CHECK;

#endif
