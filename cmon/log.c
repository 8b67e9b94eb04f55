/* The file log drivers of berth-cmon: json-file and cri, byte-compatible
 * with internal/jsonlog and internal/crilog and rotating like
 * internal/logfile's Writer (which berthd reads the files back with). */
#include "cmon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

struct pending {
	char *b;
	size_t n;
	struct timespec t;
};

struct logw {
	int fmt;
	char *path;
	long long max_size; /* 0: unlimited */
	long long max_files;
	int compress;
	int fd;
	long long size;
	struct buf buf;
	struct pending pd[3]; /* by stream number */
	pid_t gz_pid;         /* the running compression of path.1, or 0 */
	int gz_failed;        /* it failed; reported by the next rotation */
};

static char errbuf[512];

const char *log_error(void) { return errbuf; }

static int seterr(const char *what)
{
	snprintf(errbuf, sizeof errbuf, "%s: %s", what, strerror(errno));
	return -1;
}

static const char *stream_name(int s) { return s == 2 ? "stderr" : "stdout"; }

/* civil_utc sets the UTC date and time of the Unix time sec (the days to
 * civil date algorithm of Howard Hinnant's chrono date library). libc's
 * gmtime_r is not used: glibc's loads the local time zone file on its
 * first call (open, read, lseek, read, close), and the first call here is
 * on the way to reporting the exit. */
static void civil_utc(long long sec, int *y, int *mo, int *d, int *h, int *mi, int *s)
{
	long long days = sec / 86400, rem = sec % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	*h = (int)(rem / 3600);
	*mi = (int)(rem / 60 % 60);
	*s = (int)(rem % 60);
	days += 719468;
	long long era = (days >= 0 ? days : days - 146096) / 146097;
	long long doe = days - era * 146097;
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long long mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*mo = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*mo <= 2));
}

/* append_time writes t as Go's time.RFC3339Nano in UTC: trailing zeros of
 * the fraction dropped, no fraction at all for a whole second. */
void append_time(struct buf *b, const struct timespec *t)
{
	int y, mo, d, h, mi, sec;
	char s[64];
	civil_utc((long long)t->tv_sec, &y, &mo, &d, &h, &mi, &sec);
	int n = snprintf(s, sizeof s, "%04d-%02d-%02dT%02d:%02d:%02d", y, mo, d, h, mi, sec);
	if (t->tv_nsec) {
		char f[16];
		snprintf(f, sizeof f, ".%09ld", t->tv_nsec);
		size_t l = strlen(f);
		while (f[l - 1] == '0')
			l--;
		memcpy(s + n, f, l);
		n += (int)l;
	}
	s[n++] = 'Z';
	buf_put(b, s, (size_t)n);
}

static void encode(struct logw *w, int stream, const char *line, size_t n, const struct timespec *t)
{
	struct buf *b = &w->buf;
	if (w->fmt == FMT_CRI) {
		append_time(b, t);
		buf_put(b, " ", 1);
		buf_puts(b, stream_name(stream));
		if (n > 0 && line[n - 1] == '\n') {
			buf_put(b, " F ", 3);
			n--;
		} else {
			buf_put(b, " P ", 3);
		}
		buf_put(b, line, n);
		buf_put(b, "\n", 1);
		return;
	}
	buf_put(b, "{", 1);
	if (n > 0) {
		buf_puts(b, "\"log\":");
		json_string(b, line, n);
		buf_put(b, ",", 1);
	}
	buf_puts(b, "\"stream\":\"");
	buf_puts(b, stream_name(stream));
	buf_puts(b, "\",\"time\":\"");
	append_time(b, t);
	buf_puts(b, "\"}\n");
}

static int flush_buf(struct logw *w)
{
	size_t off = 0;
	int rc = 0;
	while (off < w->buf.n) {
		ssize_t k = write(w->fd, w->buf.d + off, w->buf.n - off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			rc = seterr("write container log");
			break;
		}
		off += (size_t)k;
		w->size += k;
	}
	w->buf.n = 0;
	if (w->buf.cap > 64 * 1024)
		buf_free(&w->buf);
	return rc;
}

/* gzip_file compresses name into name.gz (written aside, then renamed) and
 * removes name. It runs in a child process. */
static int gzip_file(const char *name)
{
	char tmp[4096], dst[4096];
	if (snprintf(tmp, sizeof tmp, "%s.gz.tmp", name) >= (int)sizeof tmp ||
	    snprintf(dst, sizeof dst, "%s.gz", name) >= (int)sizeof dst)
		return -1;
	int in = open(name, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (out < 0)
		return -1;
	gzFile z = gzdopen(out, "wb");
	if (!z)
		return -1;
	char b[32 * 1024];
	ssize_t k;
	int rc = 0;
	while ((k = read(in, b, sizeof b)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			rc = -1;
			break;
		}
		if (gzwrite(z, b, (unsigned)k) != (int)k) {
			rc = -1;
			break;
		}
	}
	if (gzclose(z) != Z_OK)
		rc = -1;
	if (rc == 0)
		rc = rename(tmp, dst);
	if (rc != 0) {
		unlink(tmp);
		return -1;
	}
	return unlink(name);
}

static int start_gzip(struct logw *w)
{
	pid_t pid = fork();
	if (pid < 0)
		return seterr("compress rotated log");
	if (pid == 0) {
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		char name[4096];
		snprintf(name, sizeof name, "%s.1", w->path);
		_exit(gzip_file(name) == 0 ? 0 : 1);
	}
	w->gz_pid = pid;
	return 0;
}

int log_reaped(struct logw *w, pid_t pid, int status)
{
	if (!w || pid != w->gz_pid || pid <= 0)
		return 0;
	w->gz_pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		w->gz_failed = 1;
	return 1;
}

/* wait_gzip waits for the running compression, if any. */
static void wait_gzip(struct logw *w)
{
	while (w->gz_pid > 0) {
		int st;
		pid_t r = waitpid(w->gz_pid, &st, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			w->gz_pid = 0; /* reaped elsewhere */
			break;
		}
		log_reaped(w, r, st);
	}
}

static int rotate(struct logw *w)
{
	if (w->max_files < 2) {
		if (ftruncate(w->fd, 0) < 0)
			return seterr("truncate container log");
		w->size = 0;
		return 0;
	}
	wait_gzip(w);
	if (w->gz_failed) {
		w->gz_failed = 0;
		snprintf(errbuf, sizeof errbuf, "compress rotated log %s.1 failed", w->path);
		return -1;
	}
	const char *sfx = w->compress ? ".gz" : "";
	size_t pl = strlen(w->path) + 32;
	char *a = malloc(pl), *b = malloc(pl);
	if (!a || !b)
		die("out of memory");
	snprintf(a, pl, "%s.%lld%s", w->path, w->max_files - 1, sfx);
	unlink(a);
	for (long long i = w->max_files - 1; i > 1; i--) {
		snprintf(a, pl, "%s.%lld%s", w->path, i - 1, sfx);
		snprintf(b, pl, "%s.%lld%s", w->path, i, sfx);
		if (rename(a, b) < 0 && errno != ENOENT) {
			free(a);
			free(b);
			return seterr("rotate container log");
		}
	}
	snprintf(b, pl, "%s.1", w->path);
	int r = rename(w->path, b);
	free(a);
	free(b);
	if (r < 0)
		return seterr("rotate container log");
	int fd = open(w->path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return seterr("rotate container log");
	close(w->fd);
	w->fd = fd;
	w->size = 0;
	if (w->compress)
		return start_gzip(w);
	return 0;
}

/* add encodes one entry, first rotating if the file is full: an entry is
 * never split across files. */
static int add(struct logw *w, int stream, const char *line, size_t n, const struct timespec *t)
{
	if (w->max_size > 0 && w->size + (long long)w->buf.n >= w->max_size) {
		if (flush_buf(w) < 0 || rotate(w) < 0)
			return -1;
	}
	encode(w, stream, line, n, t);
	return 0;
}

struct logw *log_open(int fmt, const char *path, long long max_size, long long max_files, int compress, char *err, size_t errlen)
{
	if (max_files < 1)
		max_files = 1;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "open container log: open %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	struct logw *w = calloc(1, sizeof *w);
	if (!w || !(w->path = strdup(path)))
		die("out of memory");
	w->fmt = fmt;
	w->fd = fd;
	w->size = st.st_size;
	w->max_size = max_size;
	w->max_files = max_files;
	w->compress = compress && max_files > 1;
	if (w->compress) {
		/* An earlier writer died before compressing path.1: finish that
		 * before the next rotation moves it. */
		char one[4096];
		snprintf(one, sizeof one, "%s.1", path);
		if (access(one, F_OK) == 0 && start_gzip(w) < 0) {
			snprintf(err, errlen, "%s", errbuf);
			close(fd);
			free(w->path);
			free(w);
			return NULL;
		}
	}
	return w;
}

static int pend_append(struct pending *pd, const char *p, size_t n)
{
	if (!pd->b) {
		pd->b = malloc(MAX_LINE);
		if (!pd->b)
			die("out of memory");
	}
	memcpy(pd->b + pd->n, p, n);
	pd->n += n;
	return 0;
}

/* log_write logs a chunk of stream output read at t: an entry per complete
 * line, an unterminated tail kept for the next chunk unless it reaches
 * MAX_LINE (then written in pieces), as logfile.Lines.Split does. */
int log_write(struct logw *w, int stream, const char *p, size_t n, const struct timespec *t)
{
	struct pending *pd = &w->pd[stream];
	int rc = 0;
	while (n > 0) {
		if (pd->n == 0)
			pd->t = *t;
		const char *nl = memchr(p, '\n', n);
		if (!nl) {
			size_t room = MAX_LINE - pd->n;
			if (n < room) {
				pend_append(pd, p, n);
				break;
			}
			pend_append(pd, p, room);
			p += room;
			n -= room;
		} else {
			size_t i = (size_t)(nl - p);
			if (pd->n + i + 1 > MAX_LINE) {
				size_t room = MAX_LINE - pd->n;
				pend_append(pd, p, room);
				p += room;
				n -= room;
			} else if (pd->n == 0) {
				if (add(w, stream, p, i + 1, t) < 0)
					rc = -1;
				p += i + 1;
				n -= i + 1;
				continue;
			} else {
				pend_append(pd, p, i + 1);
				p += i + 1;
				n -= i + 1;
			}
		}
		if (add(w, stream, pd->b, pd->n, &pd->t) < 0)
			rc = -1;
		pd->n = 0;
	}
	if (pd->n == 0 && pd->b) {
		free(pd->b); /* do not pin a buffer in an idle monitor */
		pd->b = NULL;
	}
	if (flush_buf(w) < 0)
		rc = -1;
	return rc;
}

/* log_flush writes stream's unterminated tail as a partial entry. */
int log_flush(struct logw *w, int stream)
{
	struct pending *pd = &w->pd[stream];
	int rc = 0;
	if (pd->n > 0 && w->fd >= 0) {
		rc = add(w, stream, pd->b, pd->n, &pd->t);
		pd->n = 0;
		if (flush_buf(w) < 0)
			rc = -1;
	}
	free(pd->b);
	pd->b = NULL;
	return rc;
}

int log_close(struct logw *w)
{
	int rc = 0;
	if (!w)
		return 0;
	for (int s = 1; s <= 2; s++)
		if (log_flush(w, s) < 0)
			rc = -1;
	if (close(w->fd) < 0 && rc == 0)
		rc = seterr("close container log");
	w->fd = -1;
	wait_gzip(w);
	if (w->gz_failed && rc == 0) {
		snprintf(errbuf, sizeof errbuf, "compress rotated log %s.1 failed", w->path);
		rc = -1;
	}
	buf_free(&w->buf);
	free(w->path);
	free(w);
	return rc;
}

/* log_reopen opens the path again for appending (the CRI's
 * ReopenContainerLog after kubelet renamed the file). Unterminated tails
 * stay buffered for the new file. */
int log_reopen(struct logw *w)
{
	int fd = open(w->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	struct stat st;
	if (fd < 0)
		return seterr("reopen container log");
	if (fstat(fd, &st) < 0) {
		close(fd);
		return seterr("reopen container log");
	}
	close(w->fd);
	w->fd = fd;
	w->size = st.st_size;
	return 0;
}
