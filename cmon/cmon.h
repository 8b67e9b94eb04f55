/* berth-cmon: the per-container monitor in C. See main.c. */
#ifndef CMON_H
#define CMON_H

#define _GNU_SOURCE
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* A growable byte buffer. */
struct buf {
	char *d;
	size_t n, cap;
};
int buf_grow(struct buf *b, size_t more);
void buf_put(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_free(struct buf *b);

/* JSON parsing state: s[0:n], position i, first error. */
struct jp {
	const char *s;
	size_t n, i;
	const char *err;
};
int jp_peek(struct jp *p);
int jp_expect(struct jp *p, char c);
int jp_null(struct jp *p);
int jp_string(struct jp *p, char **out, size_t *len);
int jp_skip(struct jp *p, int depth);
int jp_bool(struct jp *p, int *out);
int jp_int(struct jp *p, long long min, long long max, long long *out);
int jp_str_field(struct jp *p, char **out);
int jp_object(struct jp *p, int (*field)(struct jp *, const char *, void *), void *arg);
int jp_end(struct jp *p);
int key_is(const char *key, const char *name);
unsigned utf8_decode(const unsigned char *s, size_t n, size_t *size);
void json_string(struct buf *b, const char *s, size_t n);

/* An attach.sock request (internal/monitor.AttachOptions). */
struct attach_req {
	int in, out, err;
};

/* A list of attach requests ([]monitor.AttachOptions): v[0:n]; set
 * tells an empty list from none (null). */
struct attach_list {
	struct attach_req *v;
	size_t n, cap;
	int set;
};

/* monitor.json (internal/monitor.Config). attach lists the streams of the
 * attach connections handed over at launch (fds from FIRST_ATTACH_FD). */
struct config {
	char *id, *runtime, *bundle, *state_dir, *log_path, *log_driver;
	char **runtime_args;
	size_t nruntime_args;
	long long log_max_size, log_max_files;
	int log_compress, tty, open_stdin, stdin_once, start;
	struct attach_list attach;
	/* Config.RuntimeState and Config.Cgroups (see delete.c) */
	char *runtime_state;
	char **cgroups;
	size_t ncgroups;
	/* Config.ExitNoSync: exit.json is not flushed before its rename */
	int exit_nosync;
	/* Config.ExecFifo: started by release_fifo, not the runtime */
	char *exec_fifo;
};
#define FIRST_ATTACH_FD 4
int parse_config(const char *s, size_t n, struct config *c, const char **err);
void config_free(struct config *c);

/* remove_state removes an exited container's runtime state by hand
 * (internal/monitor.RemoveState): 0 when done, else -1 with why in err. */
int remove_state(const char *state, char **cgroups, size_t ncgroups, int wait_ms, char *err, size_t errlen);

/* A ctl.sock request (internal/monitor.CtlRequest). */
struct ctl_req {
	char *op;
	long long height, width;
};
int parse_ctl(const char *s, size_t n, struct ctl_req *r, const char **err);

int parse_attach(const char *s, size_t n, struct attach_req *r, const char **err);

/* A release request on the go channel (internal/monitor.ReleaseRequest):
 * start the container as soon as the runtime created it, if its init is
 * in the network namespace netns ("" or NULL: any), with the attach
 * connections sent along (one fd per attach entry) registered first. */
struct release_req {
	char *netns;
	struct attach_list attach;
};
int parse_release(const char *s, size_t n, struct release_req *r, const char **err);
void release_free(struct release_req *r);

/* Log writers (log.c). */
#define MAX_LINE (16 * 1024)
enum { FMT_JSON, FMT_CRI };
struct logw;
struct logw *log_open(int fmt, const char *path, long long max_size, long long max_files, int compress, char *err, size_t errlen);
int log_write(struct logw *w, int stream, const char *p, size_t n, const struct timespec *t);
int log_flush(struct logw *w, int stream);
int log_close(struct logw *w);
int log_reopen(struct logw *w);
/* log_reaped tells the writer a child exited; it reports whether it was
 * the writer's compression process. */
int log_reaped(struct logw *w, pid_t pid, int status);
void append_time(struct buf *b, const struct timespec *t);

const char *log_error(void);
_Noreturn void die(const char *msg);

#endif
