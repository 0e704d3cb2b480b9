/*
 * sink_jsonl.c - the JSON lines file sink: the audit trail as `audit export` writes it,
 * one record per line, appended and fdatasync'd before a delivery counts, so the file
 * verifies on its own (`breakglass audit verify --file`) and, kept on another disk or
 * shipped by a log agent, proves a truncation of the store (`--reference`).
 *
 * Rotation by size: once the next batch would take the file past max_bytes it is
 * synced, renamed to PATH.N (N one more than the highest there, so older files never
 * move) and the folder is fsync'd, so a crash leaves either the old name or the new one,
 * never a lost file. A batch never spans two files, except a batch larger than max_bytes
 * on its own, which goes whole into a fresh file.
 *
 * A torn last line (a crash in the middle of a write) was never acknowledged: it is cut
 * off when the file is next opened. resume() reads the seq of the last whole line (of
 * the newest rotated file when the current one is empty), so a restart sends no record
 * twice.
 */
#include "audit/sink.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/limits.h"

typedef struct jsonl {
	char *path;
	int64_t max_bytes; /* 0: never rotate */
	int fd;            /* -1: closed (opened by the next delivery) */
	int64_t size;      /* the open file's size */
	long rotated;      /* the highest N of PATH.N (-1: not looked yet) */
	int64_t last;      /* the seq of the file's last record: a record at or below it
	                      is there already (a batch that failed half written) */
} jsonl;

static int jsonl_open(const sink_conf *c, void **self, bg_err *e)
{
	jsonl *j;

	if (c->path == NULL || c->path[0] == '\0')
		return bg_err_set(e, BG_EINVAL, "a jsonl sink needs a path");
	j = calloc(1, sizeof(*j));
	if (j == NULL || (j->path = strdup(c->path)) == NULL) {
		free(j);
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	}
	j->max_bytes = c->max_bytes;
	j->fd = -1;
	j->rotated = -1;
	*self = j;
	return 0;
}

static void jsonl_close(void *self)
{
	jsonl *j = self;

	if (j == NULL)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
}

/* fsyncs the folder holding path, so a new or renamed entry in it is durable. */
static int sync_dir(const char *path, bg_err *e)
{
	char *copy = strdup(path);
	int fd, rc = 0;

	if (copy == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = bg_err_set(e, BG_EIO, "cannot sync its folder: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

/* The highest N of the files PATH.N beside path (0 when none). */
static long highest_rotated(const char *path)
{
	char *copy = strdup(path), *base;
	size_t blen;
	struct dirent *d;
	long best = 0;
	DIR *dir;

	if (copy == NULL)
		return 0;
	base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : (char *)path;
	blen = strlen(base);
	dir = opendir(dirname(copy));
	while (dir != NULL && (d = readdir(dir)) != NULL) {
		char *end = NULL;
		long n;

		if (strncmp(d->d_name, base, blen) != 0 || d->d_name[blen] != '.' ||
		    d->d_name[blen + 1] < '1' || d->d_name[blen + 1] > '9')
			continue;
		errno = 0;
		n = strtol(d->d_name + blen + 1, &end, 10);
		if (errno == 0 && *end == '\0' && n > best)
			best = n;
	}
	if (dir != NULL)
		closedir(dir);
	free(copy);
	return best;
}

/* Reads the seq of the last whole line of the file at fd (size bytes) into *seq (0 when
 * it holds none) and, in *whole, the length up to and including the last newline: what
 * a torn tail is cut back to. A file that does not end in an audit record is refused,
 * so a sink pointed at the wrong file never cuts or extends it. */
static int last_seq(int fd, int64_t size, const char *path, int64_t *seq, int64_t *whole, bg_err *e)
{
	const int64_t most = 2 * (int64_t)BG_MAX_AUDIT_LINE;
	int64_t window = 65536, start;
	char *buf = NULL, *nl = NULL, *prev = NULL;
	size_t n = 0;
	int rc = 0;

	*seq = 0;
	*whole = 0;
	for (;;) {
		char *p;
		ssize_t got;

		start = size > window ? size - window : 0;
		n = (size_t)(size - start);
		p = realloc(buf, n + 1);
		if (p == NULL) {
			free(buf);
			return bg_err_set(e, BG_ENOMEM, "out of memory");
		}
		buf = p;
		got = pread(fd, buf, n, start);
		if (got != (ssize_t)n) {
			free(buf);
			return bg_err_set(e, BG_EIO, "cannot read it back: %s",
			                  got < 0 ? strerror(errno) : "short read");
		}
		nl = memrchr(buf, '\n', n);
		prev = nl != NULL ? memrchr(buf, '\n', (size_t)(nl - buf)) : NULL;
		if ((nl == NULL || prev == NULL) && start > 0 && window < most) {
			window *= 4; /* the last line begins further back */
			continue;
		}
		break;
	}
	if (nl == NULL) {
		/* No whole line: a first record torn by a crash, or not a trail at all. */
		if (n >= 7 && memcmp(buf, "{\"seq\":", 7) != 0)
			rc = bg_err_set(e, BG_EINVAL,
			                "the file is not an audit trail; move it "
			                "aside or point the sink elsewhere");
	} else if (prev == NULL && start > 0) {
		rc = bg_err_set(e, BG_EINVAL, "its last line is too long");
	} else {
		const char *line = prev != NULL ? prev + 1 : buf;
		json_t *o = json_loadb(line, (size_t)(nl - line), 0, NULL);
		json_t *s = json_object_get(o, "seq");

		*whole = start + (nl - buf) + 1;
		if (!json_is_integer(s) || json_integer_value(s) <= 0)
			rc = bg_err_set(e, BG_EINVAL,
			                "its last line is not an audit record; move "
			                "the file aside or point the sink elsewhere");
		else
			*seq = json_integer_value(s);
		json_decref(o);
	}
	free(buf);
	return rc;
}

static int64_t file_last_seq(const char *path, bg_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int64_t seq = 0, whole;
	int rc;

	if (fd < 0)
		return errno == ENOENT
		           ? 0
		           : (bg_err_set(e, BG_EIO, "cannot open it: %s", strerror(errno)), -1);
	rc = fstat(fd, &st) != 0 ? bg_err_set(e, BG_EIO, "%s", strerror(errno))
	                         : last_seq(fd, st.st_size, path, &seq, &whole, e);
	close(fd);
	return rc != 0 ? -1 : seq;
}

static int64_t jsonl_resume(void *self, bg_err *e)
{
	jsonl *j = self;
	int64_t seq = file_last_seq(j->path, e);
	long n;

	if (seq != 0)
		return seq;
	/* Empty or missing: just rotated, perhaps. The newest rotated file says. */
	n = highest_rotated(j->path);
	if (n > 0) {
		size_t len = strlen(j->path) + 24;
		char *p = malloc(len);

		if (p == NULL)
			return bg_err_set(e, BG_ENOMEM, "out of memory"), -1;
		snprintf(p, len, "%s.%ld", j->path, n);
		seq = file_last_seq(p, e);
		free(p);
	}
	return seq;
}

/* Opens (creating) the file for appending and cuts off a torn last line. */
static int open_file(jsonl *j, bg_err *e)
{
	struct stat st;
	int64_t seq = 0, whole = 0;
	bool created = access(j->path, F_OK) != 0;
	int fd = open(j->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return bg_err_set(e, BG_EIO, "cannot open it: %s", strerror(errno));
	if (fstat(fd, &st) != 0) {
		close(fd);
		return bg_err_set(e, BG_EIO, "%s", strerror(errno));
	}
	j->size = st.st_size;
	if (j->size > 0 && last_seq(fd, j->size, j->path, &seq, &whole, e) != 0) {
		close(fd);
		return BG_EINVAL;
	}
	if (j->size > 0 && seq > j->last)
		j->last = seq;
	if (j->size > 0 && whole < j->size) {
		/* A torn tail: never acknowledged, so never relied on. */
		if (ftruncate(fd, whole) != 0 || fdatasync(fd) != 0) {
			close(fd);
			return bg_err_set(e, BG_EIO, "cannot cut a torn line: %s", strerror(errno));
		}
		j->size = whole;
	}
	if (created && sync_dir(j->path, e) != 0) {
		close(fd);
		return BG_EIO;
	}
	j->fd = fd;
	return 0;
}

/* Closes the current file under the next PATH.N and starts a new one. */
static int rotate(jsonl *j, bg_err *e)
{
	size_t len = strlen(j->path) + 24;
	char *to = malloc(len);
	int rc = 0, r;

	if (to == NULL)
		return bg_err_set(e, BG_ENOMEM, "out of memory");
	if (j->rotated < 0)
		j->rotated = highest_rotated(j->path);
	snprintf(to, len, "%s.%ld", j->path, j->rotated + 1);
	/* Never over an older file: if PATH.N appeared meanwhile, look again. */
	r = fdatasync(j->fd);
	if (r == 0) {
		r = renameat2(AT_FDCWD, j->path, AT_FDCWD, to, RENAME_NOREPLACE);
		if (r != 0 && errno == EEXIST) {
			j->rotated = highest_rotated(j->path);
			snprintf(to, len, "%s.%ld", j->path, j->rotated + 1);
			r = renameat2(AT_FDCWD, j->path, AT_FDCWD, to, RENAME_NOREPLACE);
		}
	}
	if (r != 0)
		rc = bg_err_set(e, BG_EIO, "cannot rotate it to %s: %s", to, strerror(errno));
	else
		j->rotated++;
	close(j->fd);
	j->fd = -1;
	free(to);
	if (rc == 0)
		rc = sync_dir(j->path, e);
	return rc != 0 ? rc : open_file(j, e);
}

/* Writes all of buf (n bytes) at the end of the file. */
static int write_all(jsonl *j, const char *buf, size_t n, bg_err *e)
{
	while (n > 0) {
		ssize_t w = write(j->fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return bg_err_set(e, BG_EIO, "cannot write: %s",
			                  w < 0 ? strerror(errno) : "nothing written");
		buf += w;
		n -= (size_t)w;
		j->size += w;
	}
	return 0;
}

/* Whether the open file is still the one at the configured path. */
static bool still_there(const jsonl *j)
{
	struct stat fd_st, path_st;

	return fstat(j->fd, &fd_st) == 0 && fd_st.st_nlink > 0 && stat(j->path, &path_st) == 0 &&
	       fd_st.st_dev == path_st.st_dev && fd_st.st_ino == path_st.st_ino;
}

static int jsonl_deliver(void *self, const sink_rec *recs, size_t n, size_t *accepted, bg_err *e)
{
	jsonl *j = self;
	int64_t before;
	bg_buf b;
	size_t i;
	int rc = 0;

	*accepted = 0;
	if (j->fd >= 0 && !still_there(j)) {
		/* Moved or removed under us (an outside rotation, a mistake): what we write
		 * must reach the configured path, so start a file there again. */
		close(j->fd);
		j->fd = -1;
	}
	if (j->fd < 0 && (rc = open_file(j, e)) != 0)
		return rc;
	bg_buf_init(&b, (size_t)BG_SINK_BATCH * ((size_t)BG_MAX_AUDIT_LINE + 1));
	for (i = 0; i < n && rc == 0; i++)
		if (recs[i].seq > j->last &&
		    (bg_buf_add(&b, recs[i].line, recs[i].len) != 0 || bg_buf_addc(&b, '\n') != 0))
			rc = bg_err_set(e, BG_ENOMEM, "out of memory");
	if (rc == 0 && j->max_bytes > 0 && j->size > 0 && j->size + (int64_t)b.len > j->max_bytes)
		rc = rotate(j, e);
	before = j->size;
	if (rc == 0 && b.len > 0)
		rc = write_all(j, b.data, b.len, e);
	if (rc == 0 && fdatasync(j->fd) != 0)
		rc = bg_err_set(e, BG_EIO, "cannot sync it: %s", strerror(errno));
	bg_buf_free(&b);
	if (rc != 0 && j->fd >= 0) {
		/* Nothing of a failed batch counts: take back what reached the file, or
		 * leave it torn for the next open to cut. */
		if (j->size > before && ftruncate(j->fd, before) == 0)
			j->size = before;
		close(j->fd);
		j->fd = -1;
		return rc;
	}
	if (rc == 0) {
		if (n > 0 && recs[n - 1].seq > j->last)
			j->last = recs[n - 1].seq;
		*accepted = n;
	}
	return rc;
}

const sink_ops sink_jsonl_ops = {
    .type = "jsonl",
    .open = jsonl_open,
    .deliver = jsonl_deliver,
    .resume = jsonl_resume,
    .close = jsonl_close,
};
