/*
 * fileio.c - see fileio.h.
 */
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int bg_read_file(const char *path, size_t max, char **out, size_t *len, bg_err *e)
{
	struct stat st;
	char *buf;
	ssize_t got;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*out = NULL;
	if (fd < 0)
		return bg_err_set(e, errno == ENOENT ? BG_ENOTFOUND : BG_EIO, "%s: %s", path,
		                  strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return bg_err_set(e, BG_EINVAL, "%s is not a regular file", path);
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return bg_err_set(e, BG_EINVAL, "%s is larger than %zu bytes", path, max);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	}
	while (n < (size_t)st.st_size && (got = read(fd, buf + n, (size_t)st.st_size - n)) > 0)
		n += (size_t)got;
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}
