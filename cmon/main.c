/* berth-cmon is Berth's per-container monitor in C: the same job and the
 * same protocol as cmd/berth-monitor (see internal/monitor's package
 * comment), without a language runtime, so an idle container costs a few
 * hundred kilobytes instead of a megabyte.
 *
 * Started by berthd (internal/monitor.Start) as `berth-cmon STATEDIR` with a
 * sync pipe on fd 3, it creates the container with the OCI runtime, is its
 * init's parent (child subreaper), holds its stdio or TTY, writes its
 * json-file or cri log (or none), serves attach.sock and ctl.sock, records
 * the exit status in exit.json, reports it, then deletes the container
 * (holding monitor.lock until that is over) and exits. With Config.Start it
 * also starts the container before it reports ready, and it takes the
 * attach connections handed over at launch (fds 4, 5, ...). It never talks
 * to berthd on its own.
 *
 * One thread, one poll loop; nothing blocks on a client. Other modes:
 * `exec-shim PIDFILE -- RUNTIME ARGS...` and `pod-init` (see shim.c), and
 * `--parse config|ctl|attach` (tests and fuzzing: parse stdin, print the
 * result). */
#include "cmon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;
int exec_shim(int argc, char **argv);
int pod_init(void);
int parse_mode(const char *what);

#define CONFIG_FILE "monitor.json"
#define ATTACH_SOCKET "attach.sock"
#define CTL_SOCKET "ctl.sock"
#define CONSOLE_SOCKET "console.sock"
#define INIT_PID_FILE "init.pid"
#define EXIT_FILE "exit.json"
#define RUNTIME_LOG "runtime.log"
#define LOCK_FILE "monitor.lock"

#define CLIENT_QUEUE_MAX (1 << 20)
#define LINE_MAX_REQ 4096
#define DRAIN_MS 1500
#define REQ_TIMEOUT_MS 10000
#define FINISH_MS 2000
/* how long the removal of an exited container's runtime state waits for
 * processes of its cgroup still exiting (internal/monitor's stateWait) */
#define DELETE_WAIT_MS 2000

_Noreturn void die(const char *msg)
{
	fprintf(stderr, "berth-monitor: %s\n", msg);
	exit(1);
}

static void *xcalloc(size_t n, size_t s)
{
	void *p = calloc(n, s);
	if (!p)
		die("out of memory");
	return p;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		die("out of memory");
	return s;
}

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* --- state --- */

enum { CONN_CTL, CONN_ATTACH };

struct conn {
	struct conn *next;
	int kind, fd;
	/* request line */
	char line[LINE_MAX_REQ];
	size_t nline;
	int have_req;
	long long deadline;
	/* ctl: waiting for the exit */
	int waiting;
	/* attach */
	int want[3], stdin_ok, rdone, closed;
	struct buf q; /* output not yet written */
	size_t qoff;
};

static struct config cfg;
static int attach_l = -1, ctl_l = -1, sfd = -1;
static struct logw *logw;
static int log_failed[3];
static pid_t init_pid;
/* the cgroup's OOM kill counter, open from the create on: reading it at
 * the exit is one pread, not a path walk in cgroupfs and four syscalls */
static int oom_fd = -1;
static long long oom_base;
static int pty = -1;
static int outs[3] = {-1, -1, -1}; /* [1] stdout or the pty, [2] stderr */
static int out_done[3] = {1, 1, 1};
static int stdin_w = -1, stdin_closed, stdin_close_after;
static struct buf stdin_pend;
static size_t stdin_off;
static struct conn *conns;
static int exited, closing;
static int exit_code;
static struct timespec finished_at;
static int oom_killed;
static int started;          /* the runtime's start was run */
static int released;         /* started at once on berthd's release request */
static int lock_fd = -1;     /* monitor.lock, held until the runtime's state is gone */
static pid_t delete_pid = -1; /* the runtime's delete after the exit, while it runs */
static int cleaned;          /* that delete is over */

/* --- small helpers --- */

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static char **runtime_env(void)
{
	size_t n = 0;
	for (char **e = environ; *e; e++)
		n++;
	char **env = xcalloc(n + 1, sizeof *env);
	size_t k = 0;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "GOMAXPROCS=", 11) != 0 && strncmp(*e, "BERTH_MONITOR_STATE=", 20) != 0)
			env[k++] = *e;
	return env;
}

/* spawn_fork is spawn by fork and exec: the child reports a failed exec
 * on its stderr and exits 127. */
static pid_t spawn_fork(char **argv, char **env, int in, int out, int err)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	sigset_t none;
	sigemptyset(&none);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int fds[3] = {in, out, err};
	for (int i = 0; i < 3; i++) {
		int fd = fds[i] >= 0 ? fds[i] : null;
		if (fd == i) {
			fcntl(fd, F_SETFD, 0);
		} else if (dup2(fd, i) < 0) {
			_exit(127);
		}
	}
	execve(argv[0], argv, env);
	fprintf(stderr, "berth-monitor: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* spawn_vfork is spawn through posix_spawn, which shares the monitor's
 * memory with the child until it execs (vfork): no copy-on-write faults
 * in either process, each ~11 us on a paravirtualised guest. -1 when it
 * fails, before or at the exec. */
static pid_t spawn_vfork(char **argv, char **env, int in, int out, int err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	if (posix_spawnattr_init(&at) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	sigset_t none, dfl;
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGHUP);
	int rc = posix_spawnattr_setsigmask(&at, &none);
	rc = rc ? rc : posix_spawnattr_setsigdefault(&at, &dfl);
	rc = rc ? rc : posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	int fds[3] = {in, out, err};
	for (int i = 0; i < 3 && rc == 0; i++) {
		if (fds[i] < 0)
			rc = posix_spawn_file_actions_addopen(&fa, i, "/dev/null", O_RDWR, 0);
		else /* dup2 onto itself clears close-on-exec (glibc >= 2.29) */
			rc = posix_spawn_file_actions_adddup2(&fa, fds[i], i);
	}
	pid_t pid = -1;
	if (rc == 0 && posix_spawn(&pid, argv[0], &fa, &at, argv, env) != 0)
		pid = -1;
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

/* spawn runs argv with stdio in, out, err (-1: /dev/null) and returns its
 * pid. The child gets default signal handling back. Should the vfork way
 * fail, fork reports why as it always did (on err, exit status 127). */
static pid_t spawn(char **argv, int in, int out, int err)
{
	char **env = runtime_env();
	pid_t pid = spawn_vfork(argv, env, in, out, err);
	if (pid < 0)
		pid = spawn_fork(argv, env, in, out, err);
	free(env);
	return pid;
}

static int wait_pid(pid_t pid)
{
	int st;
	for (;;) {
		pid_t r = waitpid(pid, &st, 0);
		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* runtime_argv is RUNTIME RUNTIMEARGS... EXTRA... */
static char **runtime_argv(char **extra, size_t nextra)
{
	char **a = xcalloc(cfg.nruntime_args + nextra + 2, sizeof *a);
	size_t k = 0;
	a[k++] = cfg.runtime;
	for (size_t i = 0; i < cfg.nruntime_args; i++)
		a[k++] = cfg.runtime_args[i];
	for (size_t i = 0; i < nextra; i++)
		a[k++] = extra[i];
	return a;
}

/* delete_container removes the runtime's state and what is left of the
 * container (delete --force kills it first). */
static void delete_container(void)
{
	char *extra[] = {"delete", "--force", cfg.id};
	char **argv = runtime_argv(extra, 3);
	pid_t pid = spawn(argv, -1, -1, 2);
	free(argv);
	if (pid > 0)
		wait_pid(pid);
}

static char *read_file(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct buf b = {0};
	char tmp[4096];
	ssize_t k;
	while (b.n < max && (k = read(fd, tmp, sizeof tmp)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		buf_put(&b, tmp, (size_t)k);
	}
	close(fd);
	buf_put(&b, "", 1);
	if (len)
		*len = b.n - 1;
	return b.d;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* write_file_atomic writes path through path.tmp and rename, with sync
 * flushing path.tmp first. */
static int write_file_atomic(const char *path, const char *data, size_t n, int sync)
{
	char *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(tmp);
		return -1;
	}
	int rc = write_all(fd, data, n);
	if (rc == 0 && sync)
		rc = fsync(fd);
	if (close(fd) < 0)
		rc = -1;
	if (rc == 0)
		rc = rename(tmp, path);
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* --- sync pipe --- */

static int sync_fd = 3;

/* send_ready reports on the sync pipe: the init's pid, or error (with
 * has_code, the runtime's own failure of verb op: its exit code). */
static void send_ready(const char *error, int has_code, int code, const char *op)
{
	if (sync_fd < 0)
		return;
	struct buf b = {0};
	if (error) {
		buf_puts(&b, "{\"error\":");
		json_string(&b, error, strlen(error));
		if (has_code) {
			char n[32];
			snprintf(n, sizeof n, ",\"runtimeExitCode\":%d", code);
			buf_puts(&b, n);
			if (op && strcmp(op, "create")) {
				buf_puts(&b, ",\"runtimeOp\":");
				json_string(&b, op, strlen(op));
			}
		}
		buf_puts(&b, "}\n");
	} else {
		char n[64];
		snprintf(n, sizeof n, "{\"pid\":%d%s}\n", (int)init_pid, released ? ",\"released\":true" : "");
		buf_puts(&b, n);
	}
	write_all(sync_fd, b.d, b.n);
	buf_free(&b);
	close(sync_fd);
	sync_fd = -1;
}

static _Noreturn void fail_ready(const char *msg)
{
	send_ready(msg, 0, 0, NULL);
	fprintf(stderr, "berth-monitor: %s\n", msg);
	exit(1);
}

/* --- config and start-up --- */

static void read_config(const char *state_dir)
{
	char *path = xasprintf("%s/%s", state_dir, CONFIG_FILE);
	size_t n;
	char *s = read_file(path, 1 << 20, &n);
	if (!s)
		fail_ready(xasprintf("open %s: %s", path, strerror(errno)));
	free(path);
	const char *err;
	if (parse_config(s, n, &cfg, &err) < 0) {
		char msg[256];
		snprintf(msg, sizeof msg, "parse %s: %s", CONFIG_FILE, err);
		fail_ready(msg);
	}
	free(s);
	if (!cfg.state_dir || !*cfg.state_dir) {
		free(cfg.state_dir);
		cfg.state_dir = strdup(state_dir);
	}
	if (!cfg.id || !*cfg.id || !cfg.runtime || !*cfg.runtime || !cfg.bundle || !*cfg.bundle)
		fail_ready("monitor config needs id, runtime and bundle");
	if (!cfg.log_path)
		cfg.log_path = strdup("");
	if (!cfg.log_driver)
		cfg.log_driver = strdup("");
}

/* open_log starts the container's log driver: NULL with *err empty when
 * the container logs nothing. */
static struct logw *open_log(char *err, size_t errlen)
{
	const char *d = cfg.log_driver;
	int fmt;
	err[0] = 0;
	if (!*d || !strcmp(d, "json-file")) {
		if (!*cfg.log_path)
			return NULL;
		fmt = FMT_JSON;
	} else if (!strcmp(d, "cri")) {
		fmt = FMT_CRI;
	} else if (!strcmp(d, "none")) {
		return NULL;
	} else {
		/* berthd runs the Go monitor for the other drivers. */
		snprintf(err, errlen, "failed to initialize logging driver: the C monitor does not implement the %s log driver", d);
		return NULL;
	}
	char e[600];
	struct logw *w = log_open(fmt, cfg.log_path, cfg.log_max_size, cfg.log_max_files, cfg.log_compress, e, sizeof e);
	if (!w)
		snprintf(err, errlen, "failed to initialize logging driver: %s", e);
	return w;
}

static int listen_unix(const char *name)
{
	unlink(name);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", name);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void remove_sockets(void)
{
	if (attach_l >= 0)
		close(attach_l);
	if (ctl_l >= 0)
		close(ctl_l);
	attach_l = ctl_l = -1;
	unlink(ATTACH_SOCKET);
	unlink(CTL_SOCKET);
	unlink(CONSOLE_SOCKET);
}

/* take_lock holds monitor.lock (in the state directory, the cwd) for the
 * run: a previous monitor of the same container holds it until its
 * runtime delete is over, so this run's create never meets that state and
 * that delete never meets this run's container. berthd waits for it too
 * (monitor.Hold) before it cleans up after a run. */
static void take_lock(void)
{
	lock_fd = open(LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0)
		fail_ready(xasprintf("open %s: %s", LOCK_FILE, strerror(errno)));
	while (flock(lock_fd, LOCK_EX) < 0)
		if (errno != EINTR)
			fail_ready(xasprintf("lock %s: %s", LOCK_FILE, strerror(errno)));
}

/* cleanup_done: the runtime's state of this run is gone; the next run
 * may begin while this monitor still flushes its attach clients. */
static void cleanup_done(void)
{
	cleaned = 1;
	delete_pid = -1;
	if (lock_fd >= 0)
		close(lock_fd);
	lock_fd = -1;
}

/* recv_console accepts the runtime's connection on the console socket and
 * returns the pty master it sent, waiting at most timeout_ms. */
static int recv_console(int l, int timeout_ms, char *err, size_t errlen)
{
	struct pollfd pf = {.fd = l, .events = POLLIN};
	int r;
	while ((r = poll(&pf, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	if (r == 0) {
		snprintf(err, errlen, "the runtime did not send the container's terminal");
		return -1;
	}
	int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0) {
		snprintf(err, errlen, "receive the container's terminal from the runtime: %s", strerror(errno));
		return -1;
	}
	char data[4096];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(4 * sizeof(int))];
	} u;
	struct iovec iov = {data, sizeof data};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b};
	ssize_t k;
	while ((k = recvmsg(c, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	close(c);
	int fd = -1;
	if (k >= 0) {
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
			if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
				continue;
			size_t nfd = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int *fds = (int *)CMSG_DATA(h);
			for (size_t i = 0; i < nfd; i++) {
				if (fd < 0)
					fd = fds[i];
				else
					close(fds[i]);
			}
		}
	}
	if (fd < 0) {
		snprintf(err, errlen, "receive the container's terminal from the runtime: %s",
		         k < 0 ? strerror(errno) : "no file descriptor in the console socket message");
		return -1;
	}
	set_nonblock(fd);
	return fd;
}

/* lm receives the level and msg of a runtime --log line. */
struct lm {
	char **level, **msg;
};

static int lm_field(struct jp *p, const char *k, void *arg)
{
	struct lm *lm = arg;
	if (key_is(k, "level"))
		return jp_str_field(p, lm->level);
	if (key_is(k, "msg"))
		return jp_str_field(p, lm->msg);
	return jp_skip(p, 0);
}

/* runtime_error_text is why the runtime failed: the last error in its JSON
 * --log, else what it wrote on stderr. */
static char *runtime_error_text(const char *log_path, int err_r)
{
	size_t n;
	char *s = read_file(log_path, 1 << 20, &n);
	char *last = NULL;
	if (s) {
		char *line = s;
		while (line < s + n) {
			char *nl = memchr(line, '\n', (size_t)(s + n - line));
			size_t ln = nl ? (size_t)(nl - line) : (size_t)(s + n - line);
			struct jp p = {line, ln, 0, NULL};
			char *level = NULL, *msg = NULL;
			/* a JSON object with "level" and "msg" (any case) */
			struct lm lm = {&level, &msg};
			if (jp_peek(&p) == '{' && jp_object(&p, lm_field, &lm) == 0 && !p.err && msg && *msg && level &&
			    (!strcmp(level, "error") || !strcmp(level, "fatal"))) {
				free(last);
				last = msg;
				msg = NULL;
			}
			free(level);
			free(msg);
			line += ln + 1;
		}
		free(s);
	}
	struct buf b = {0};
	if (last) {
		buf_puts(&b, last);
		free(last);
	} else if (err_r >= 0) {
		/* The runtime has exited and its init with it: EOF comes at
		 * once, unless something unexpected keeps the pipe open. */
		set_nonblock(err_r);
		long long deadline = now_ms() + 300;
		char tmp[4096];
		while (b.n < 64 * 1024) {
			ssize_t k = read(err_r, tmp, sizeof tmp);
			if (k > 0) {
				buf_put(&b, tmp, (size_t)k);
				continue;
			}
			if (k == 0 || (errno != EAGAIN && errno != EINTR))
				break;
			long long left = deadline - now_ms();
			if (left <= 0)
				break;
			struct pollfd pf = {.fd = err_r, .events = POLLIN};
			poll(&pf, 1, (int)left);
		}
	}
	buf_put(&b, "", 1);
	/* trim space */
	char *p = b.d;
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	size_t l = strlen(p);
	while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\n' || p[l - 1] == '\t' || p[l - 1] == '\r'))
		l--;
	char *out = strndup(p, l);
	buf_free(&b);
	return out;
}

/* oom_counter_file opens the file of pid's memory cgroup that counts OOM
 * kills: memory.oom_control (v1) or memory.events (v2). */
static void oom_counter_file(pid_t pid)
{
	char path[64], v1[4096] = "", v2[4096] = "";
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	char *s = read_file(path, 1 << 16, NULL);
	if (!s)
		return;
	for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c1 = *c2 = 0;
		const char *ctrls = c1 + 1, *cg = c2 + 1;
		if (!strcmp(line, "0") && !*ctrls) {
			snprintf(v2, sizeof v2, "/sys/fs/cgroup%s/memory.events", cg);
			continue;
		}
		char *dup = strdup(ctrls), *sv;
		for (char *t = strtok_r(dup, ",", &sv); t; t = strtok_r(NULL, ",", &sv))
			if (!strcmp(t, "memory"))
				snprintf(v1, sizeof v1, "/sys/fs/cgroup/memory%s/memory.oom_control", cg);
		free(dup);
	}
	free(s);
	if (*v1)
		oom_fd = open(v1, O_RDONLY | O_CLOEXEC);
	if (oom_fd < 0 && *v2)
		oom_fd = open(v2, O_RDONLY | O_CLOEXEC);
}

static long long read_oom_kills(void)
{
	if (oom_fd < 0)
		return 0;
	char s[4096];
	ssize_t n;
	while ((n = pread(oom_fd, s, sizeof s - 1, 0)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return 0;
	s[n] = 0;
	long long v = 0;
	for (char *line = s; line && *line;) {
		if (!strncmp(line, "oom_kill ", 9)) {
			v = strtoll(line + 9, NULL, 10);
			break;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return v;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* create runs the runtime's create with the container's stdio, then takes
 * the monitor's ends of it. */
static void create(void)
{
	char err[1024];
	logw = open_log(err, sizeof err);
	if (!logw && err[0])
		fail_ready(err);

	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int child_in = devnull, child_out, child_err, err_r, out_r = -1, console_l = -1;
	int p[2];
	if (devnull < 0 || pipe2(p, O_CLOEXEC) < 0)
		fail_ready("pipe failed");
	err_r = p[0];
	child_err = p[1];
	if (cfg.tty) {
		child_out = child_err;
		console_l = listen_unix(CONSOLE_SOCKET);
		if (console_l < 0)
			fail_ready("listen on the console socket failed");
	} else {
		if (cfg.open_stdin) {
			if (pipe2(p, O_CLOEXEC) < 0)
				fail_ready("pipe failed");
			child_in = p[0];
			stdin_w = p[1];
		}
		if (pipe2(p, O_CLOEXEC) < 0)
			fail_ready("pipe failed");
		out_r = p[0];
		child_out = p[1];
	}

	char *runtime_log = xasprintf("%s/%s", cfg.state_dir, RUNTIME_LOG);
	char *pid_file = xasprintf("%s/%s", cfg.state_dir, INIT_PID_FILE);
	char *console = xasprintf("%s/%s", cfg.state_dir, CONSOLE_SOCKET);
	if (strlen(console) >= 108)
		console = CONSOLE_SOCKET; /* the runtime runs in our cwd */
	/* With cfg.start the create starts the container too (run --detach):
	 * one runtime process less than create and start. */
	char *extra[14] = {"--log", runtime_log, "--log-format", "json"};
	size_t n = 4;
	extra[n++] = cfg.start ? "run" : "create";
	if (cfg.start)
		extra[n++] = "--detach";
	extra[n++] = "--bundle";
	extra[n++] = cfg.bundle;
	extra[n++] = "--pid-file";
	extra[n++] = pid_file;
	if (cfg.tty) {
		extra[n++] = "--console-socket";
		extra[n++] = console;
	}
	extra[n++] = cfg.id;
	char **argv = runtime_argv(extra, n);
	pid_t rt = spawn(argv, child_in, child_out, child_err);
	free(argv);
	int st = rt > 0 ? wait_pid(rt) : -1;
	/* The container holds the child's ends now: the monitor must not, or
	 * it would never see EOF. */
	if (child_in != devnull)
		close(child_in);
	if (child_out != child_err)
		close(child_out);
	close(child_err);
	close(devnull);
	if (rt < 0 || st != 0) {
		int code = -1;
		if (rt > 0 && WIFEXITED(st))
			code = WEXITSTATUS(st);
		char *msg = runtime_error_text(runtime_log, err_r);
		if (!*msg) {
			free(msg);
			msg = malloc(256);
			if (rt < 0)
				snprintf(msg, 256, "%s create failed: fork: %s", base_name(cfg.runtime), strerror(errno));
			else if (WIFSIGNALED(st))
				snprintf(msg, 256, "%s create failed: signal: %s", base_name(cfg.runtime), strsignal(WTERMSIG(st)));
			else
				snprintf(msg, 256, "%s create failed: exit status %d", base_name(cfg.runtime), code);
		}
		delete_container();
		unlink(pid_file);
		log_close(logw);
		logw = NULL;
		remove_sockets();
		send_ready(msg, 1, code, "create");
		fprintf(stderr, "berth-monitor: %s\n", msg);
		exit(1);
	}
	unlink(runtime_log);
	started = cfg.start;

	if (cfg.tty) {
		close(err_r);
		pty = recv_console(console_l, 10000, err, sizeof err);
		close(console_l);
		unlink(CONSOLE_SOCKET);
		if (pty < 0) {
			delete_container();
			remove_sockets();
			fail_ready(err);
		}
		outs[1] = pty;
		if (cfg.open_stdin)
			stdin_w = pty;
	} else {
		outs[1] = out_r;
		outs[2] = err_r;
		set_nonblock(out_r);
		set_nonblock(err_r);
		if (stdin_w >= 0)
			set_nonblock(stdin_w);
	}
	out_done[1] = outs[1] < 0;
	out_done[2] = outs[2] < 0;

	char *s = read_file(pid_file, 64, NULL);
	long v = s ? strtol(s, NULL, 10) : 0;
	if (v <= 0 || v > INT32_MAX) {
		snprintf(err, sizeof err, s ? "bad init pid file %s" : "read the container's init pid: %s", s ? s : strerror(errno));
		free(s);
		delete_container();
		remove_sockets();
		fail_ready(err);
	}
	free(s);
	init_pid = (pid_t)v;
	oom_counter_file(init_pid);
	/* A container started by the create may have been killed already:
	 * its cgroup, made by this run, counts from 0. */
	if (!started)
		oom_base = read_oom_kills();
}

static void reap(void);

/* release_fifo lets the created init run as crun's start does
 * (internal/monitor.ReleaseFifo): open the exec fifo for writing without
 * blocking, remove it, write one byte. NULL on success, else why. */
static char *release_fifo(const char *path)
{
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENXIO)
			return xasprintf("container is not running: no process waits on %s", path);
		return xasprintf("open %s: %s", path, strerror(errno));
	}
	char *msg = NULL;
	if (unlink(path) < 0)
		msg = xasprintf("unlink %s: %s", path, strerror(errno));
	else if (write(fd, "", 1) != 1)
		msg = xasprintf("write to exec.fifo: %s", strerror(errno));
	close(fd);
	return msg;
}

/* start_container runs the runtime's start verb (or its equivalent,
 * release_fifo), once: NULL on success, else why (the runtime's words, as
 * oci.CLI words them). */
static char *start_container(void)
{
	if (started)
		return strdup("container already started");
	started = 1;
	if (cfg.exec_fifo)
		return release_fifo(cfg.exec_fifo);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return xasprintf("%s start: pipe: %s", base_name(cfg.runtime), strerror(errno));
	char *extra[] = {"start", cfg.id};
	char **argv = runtime_argv(extra, 2);
	pid_t rt = spawn(argv, -1, -1, p[1]);
	free(argv);
	close(p[1]);
	int st = rt > 0 ? wait_pid(rt) : -1;
	char *msg = NULL;
	if (rt < 0 || st != 0) {
		char *text = runtime_error_text("", p[0]);
		if (!*text) {
			free(text);
			text = rt < 0 ? xasprintf("fork: %s", strerror(errno)) : xasprintf("exit status %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		}
		msg = xasprintf("%s start: %s", base_name(cfg.runtime), text);
		free(text);
	}
	close(p[0]);
	return msg;
}

/* add_attach registers fd, an attach connection handed over (at launch or
 * with a release request) for the streams a, before any output is read,
 * so it misses none of it. */
static void add_attach(int fd, const struct attach_req *a)
{
	struct conn *c = xcalloc(1, sizeof *c);
	c->kind = CONN_ATTACH;
	c->fd = fd;
	c->have_req = 1;
	c->want[1] = a->out;
	c->want[2] = a->err;
	c->stdin_ok = a->in && cfg.open_stdin && stdin_w >= 0;
	c->next = conns;
	conns = c;
}

/* adopt_handoff registers the attach connections handed over at launch
 * (fds from FIRST_ATTACH_FD, streams in cfg.attach). */
static void adopt_handoff(void)
{
	for (size_t i = 0; i < cfg.attach.n; i++) {
		int fd = FIRST_ATTACH_FD + (int)i;
		if (fcntl(fd, F_GETFD) < 0 || set_nonblock(fd) < 0) {
			fprintf(stderr, "berth-monitor: attach connection %zu not handed over\n", i);
			continue;
		}
		add_attach(fd, &cfg.attach.v[i]);
	}
}

/* go_fd is the go channel of a monitor launched ahead of its config
 * (internal/monitor.Launch), a SOCK_SEQPACKET socket: after the go, berthd
 * may send one release request on it (ReleaseRequest) while the runtime
 * creates the container. */
static int go_fd = -1;

#define RELEASE_MAX_FDS 64

/* recv_release reads the message waiting on go_fd, if any, without
 * waiting: its length (0: none) and the fds it carries. */
static ssize_t recv_release(char *data, size_t len, int *fds, size_t *nfd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(RELEASE_MAX_FDS * sizeof(int))];
	} u;
	struct iovec iov = {data, len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b};
	ssize_t k;
	while ((k = recvmsg(go_fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	*nfd = 0;
	if (k < 0)
		return 0;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds + *nfd, CMSG_DATA(h), n * sizeof(int));
		*nfd += n;
	}
	return m.msg_flags & (MSG_TRUNC | MSG_CTRUNC) ? -1 : k;
}

/* in_netns reports whether the init is in the network namespace at path
 * (the one berthd wired; "" or NULL: no check). */
static int in_netns(const char *path)
{
	if (!path || !*path)
		return 1;
	char own[64];
	struct stat a, b;
	snprintf(own, sizeof own, "/proc/%d/ns/net", (int)init_pid);
	return stat(own, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* take_release serves the release request berthd sent while the runtime
 * created the container, if there is one already: its attach connections
 * are registered, then the container is started, unless its init is not
 * in the namespace berthd wired (it then starts afresh). The go channel
 * is closed after it: the ready report says whether a request was served
 * (released), and one sent later is never read. */
static void take_release(void)
{
	if (go_fd < 0)
		return;
	char data[LINE_MAX_REQ];
	int fds[RELEASE_MAX_FDS];
	size_t nfd;
	ssize_t k = recv_release(data, sizeof data, fds, &nfd);
	close(go_fd);
	go_fd = -1;
	struct release_req r;
	const char *err = "truncated";
	if (k > 0 && parse_release(data, (size_t)k, &r, &err) == 0 && r.attach.n == nfd) {
		for (size_t i = 0; i < nfd; i++) {
			set_nonblock(fds[i]);
			add_attach(fds[i], &r.attach.v[i]);
		}
		nfd = 0;
		if (in_netns(r.netns)) {
			char *e = start_container();
			released = !e;
			if (e) {
				/* berthd's start tells what went wrong, as
				 * without the request. */
				started = 0;
				free(e);
			}
		}
	} else if (k != 0) {
		fprintf(stderr, "berth-monitor: bad release request: %s\n", err);
	}
	if (k > 0)
		release_free(&r);
	for (size_t i = 0; i < nfd; i++)
		close(fds[i]);
}

/* --- output --- */

static void drop_conn(struct conn *c);

static void client_push(struct conn *c, const char *hdr, size_t hn, const char *p, size_t n)
{
	if (c->closed)
		return;
	if (c->q.n - c->qoff + hn + n > CLIENT_QUEUE_MAX) {
		/* A client that falls this far behind is dropped: the
		 * container and its log never wait for a client. */
		c->closed = 1;
		c->q.n = c->qoff = 0;
		shutdown(c->fd, SHUT_RDWR);
		return;
	}
	buf_put(&c->q, hdr, hn);
	buf_put(&c->q, p, n);
}

static void publish(int stream, const char *p, size_t n)
{
	char hdr[8] = {(char)stream, 0, 0, 0, (char)(n >> 24), (char)(n >> 16), (char)(n >> 8), (char)n};
	for (struct conn *c = conns; c; c = c->next)
		if (c->kind == CONN_ATTACH && c->have_req && c->want[stream])
			client_push(c, hdr, cfg.tty ? 0 : 8, p, n);
}

static void output(int stream, const char *p, size_t n)
{
	if (logw) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		if (log_write(logw, stream, p, n, &t) < 0 && !log_failed[stream]) {
			log_failed[stream] = 1; /* say it once; keep serving attach */
			fprintf(stderr, "berth-monitor: write container log: %s\n", log_error());
		}
	}
	publish(stream, p, n);
}

static void stream_end(int s)
{
	out_done[s] = 1;
	if (logw && log_flush(logw, s) < 0 && !log_failed[s]) {
		log_failed[s] = 1;
		fprintf(stderr, "berth-monitor: write container log: %s\n", log_error());
	}
}

/* pump reads what stream s holds now. A pty master reads EIO once the last
 * slave is closed: that is its EOF. */
static void pump(int s)
{
	char b[16 * 1024];
	for (int rounds = 0; rounds < 8; rounds++) {
		ssize_t k = read(outs[s], b, sizeof b);
		if (k > 0) {
			output(s, b, (size_t)k);
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return;
		stream_end(s);
		return;
	}
}

static void close_stdin_now(void)
{
	if (stdin_w >= 0 && !stdin_closed && pty < 0) {
		close(stdin_w);
		stdin_closed = 1;
		stdin_pend.n = stdin_off = 0;
	}
}

/* close_stdin gives the container EOF on a stdin pipe, after what clients
 * already sent. With a TTY there is nothing to close, as with Docker. */
static void close_stdin(void)
{
	if (pty >= 0)
		return;
	if (stdin_pend.n > stdin_off)
		stdin_close_after = 1;
	else
		close_stdin_now();
}

static void flush_stdin(void)
{
	while (stdin_off < stdin_pend.n && !stdin_closed) {
		ssize_t k = write(stdin_w, stdin_pend.d + stdin_off, stdin_pend.n - stdin_off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			stdin_pend.n = stdin_off = 0; /* the container closed its stdin */
			break;
		}
		stdin_off += (size_t)k;
	}
	stdin_pend.n = stdin_off = 0;
	if (stdin_pend.cap > 64 * 1024)
		buf_free(&stdin_pend);
	if (stdin_close_after) {
		stdin_close_after = 0;
		close_stdin_now();
	}
}

/* --- ctl and attach --- */

static void reply(struct conn *c, const char *s)
{
	/* Replies are short and the socket empty: one write. */
	size_t n = strlen(s);
	while (write(c->fd, s, n) < 0 && errno == EINTR)
		;
}

static void reply_error(struct conn *c, const char *prefix, const char *msg)
{
	struct buf b = {0};
	buf_puts(&b, "{\"error\":");
	struct buf m = {0};
	buf_puts(&m, prefix);
	buf_puts(&m, msg);
	json_string(&b, m.d, m.n);
	buf_puts(&b, "}\n");
	buf_put(&b, "", 1);
	reply(c, b.d);
	buf_free(&b);
	buf_free(&m);
}

static void exit_status_json(struct buf *b)
{
	char n[64];
	snprintf(n, sizeof n, "{\"exitCode\":%d,\"finishedAt\":\"", exit_code);
	buf_puts(b, n);
	append_time(b, &finished_at);
	buf_puts(b, oom_killed ? "\",\"oomKilled\":true}\n" : "\",\"oomKilled\":false}\n");
}

static void reply_status(struct conn *c)
{
	struct buf b = {0};
	exit_status_json(&b);
	buf_put(&b, "", 1);
	reply(c, b.d);
	buf_free(&b);
}

static void handle_ctl(struct conn *c)
{
	struct ctl_req r;
	const char *err;
	if (parse_ctl(c->line, c->nline, &r, &err) < 0) {
		reply_error(c, "bad request: ", err);
		free(r.op);
		drop_conn(c);
		return;
	}
	const char *op = r.op ? r.op : "";
	char msg[256];
	if (!strcmp(op, "ping")) {
		snprintf(msg, sizeof msg, "{\"pid\":%d}\n", (int)init_pid);
		reply(c, msg);
	} else if (!strcmp(op, "resize")) {
		if (pty < 0) {
			snprintf(msg, sizeof msg, "container %.12s has no TTY to resize", cfg.id);
			reply_error(c, "", msg);
		} else {
			struct winsize ws = {.ws_row = (unsigned short)r.height, .ws_col = (unsigned short)r.width};
			if (ioctl(pty, TIOCSWINSZ, &ws) < 0)
				reply_error(c, "resize TTY: ", strerror(errno));
			else
				reply(c, "{}\n");
		}
	} else if (!strcmp(op, "start")) {
		char *e = exited ? strdup("container already exited") : start_container();
		if (e && started && !exited && strcmp(e, "container already started")) {
			/* As after a failed start by hand: nothing of the container
			 * stays; the monitor finishes once its init is gone. */
			delete_container();
		}
		if (e)
			reply_error(c, "", e);
		else
			reply(c, "{}\n");
		free(e);
	} else if (!strcmp(op, "closeStdin")) {
		close_stdin();
		reply(c, "{}\n");
	} else if (!strcmp(op, "reopenLog")) {
		if (!logw)
			reply_error(c, "", "the container's log driver writes no file to reopen");
		else if (log_reopen(logw) < 0)
			reply_error(c, "", log_error());
		else
			reply(c, "{}\n");
	} else if (!strcmp(op, "wait")) {
		free(r.op);
		if (closing) {
			reply_status(c);
			drop_conn(c);
		} else {
			c->waiting = 1;
		}
		return;
	} else {
		reply_error(c, "unknown op ", op);
	}
	free(r.op);
	drop_conn(c);
}

static void handle_attach_req(struct conn *c)
{
	struct attach_req r;
	const char *err;
	if (parse_attach(c->line, c->nline, &r, &err) < 0) {
		reply_error(c, "bad attach request: ", err);
		drop_conn(c);
		return;
	}
	if (closing) {
		drop_conn(c);
		return;
	}
	/* Registered before the acknowledgement: output produced after the
	 * client's Attach returned reaches it. */
	c->want[1] = r.out;
	c->want[2] = r.err;
	c->stdin_ok = r.in && cfg.open_stdin && stdin_w >= 0;
	c->have_req = 1;
	reply(c, "{}\n");
}

/* read_req reads the request line: what is there is peeked at, and only
 * up to its newline taken, in two syscalls instead of one per byte (after
 * an attach header the connection carries stdin, which must stay unread). */
static void read_req(struct conn *c)
{
	for (;;) {
		char b[LINE_MAX_REQ + 1];
		size_t room = sizeof c->line - c->nline;
		ssize_t k = recv(c->fd, b, room + 1, MSG_PEEK);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return;
		if (k <= 0) {
			drop_conn(c);
			return;
		}
		char *nl = memchr(b, '\n', (size_t)k);
		size_t take = nl ? (size_t)(nl - b) + 1 : (size_t)k;
		if (!nl && take > room) {
			drop_conn(c); /* longer than a request line may be */
			return;
		}
		ssize_t r;
		while ((r = read(c->fd, b, take)) < 0 && errno == EINTR)
			;
		if (r != (ssize_t)take) {
			drop_conn(c);
			return;
		}
		memcpy(c->line + c->nline, b, nl ? take - 1 : take);
		c->nline += nl ? take - 1 : take;
		if (!nl)
			continue;
		if (c->kind == CONN_CTL)
			handle_ctl(c);
		else
			handle_attach_req(c);
		return;
	}
}

/* attach_read takes stdin bytes from a registered attach client. */
static void attach_read(struct conn *c)
{
	char b[4096];
	int to_stdin = c->stdin_ok && !stdin_closed;
	ssize_t k = read(c->fd, b, to_stdin ? sizeof b : 64);
	if (k < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (k > 0) {
		if (to_stdin) {
			buf_put(&stdin_pend, b, (size_t)k);
			flush_stdin();
		}
		return;
	}
	if (k == 0) {
		/* The client is done sending: it may still read output. */
		c->rdone = 1;
		if (c->stdin_ok && cfg.stdin_once)
			close_stdin();
		return;
	}
	/* A failed connection: finish with it once its output is written. */
	c->rdone = 1;
	c->closed = 1;
	c->q.n = c->qoff = 0;
}

static void attach_write(struct conn *c)
{
	while (c->qoff < c->q.n) {
		ssize_t k = write(c->fd, c->q.d + c->qoff, c->q.n - c->qoff);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			c->closed = 1;
			c->q.n = c->qoff = 0;
			break;
		}
		c->qoff += (size_t)k;
	}
	c->q.n = c->qoff = 0;
	if (c->q.cap > 64 * 1024)
		buf_free(&c->q);
}

static void drop_conn(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1; /* freed by the loop */
}

/* end_drained ends an attach client that is closed and has nothing left
 * to send. */
static void end_drained(struct conn *c)
{
	if (c->fd >= 0 && c->kind == CONN_ATTACH && c->closed && c->qoff >= c->q.n)
		drop_conn(c);
}

static void accept_conns(int l, int kind)
{
	for (;;) {
		int fd = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		struct conn *c = xcalloc(1, sizeof *c);
		c->kind = kind;
		c->fd = fd;
		c->deadline = now_ms() + REQ_TIMEOUT_MS;
		c->next = conns;
		conns = c;
	}
}

/* --- exit --- */

/* reap collects every exited child (orphans of the container land here
 * too); it records the init's status. */
static void reap(void)
{
	for (;;) {
		int ws;
		pid_t pid = waitpid(-1, &ws, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			return;
		if (log_reaped(logw, pid, ws))
			continue;
		if (pid == delete_pid) {
			cleanup_done();
			continue;
		}
		if (pid == init_pid && !exited) {
			exited = 1;
			clock_gettime(CLOCK_REALTIME, &finished_at);
			if (WIFEXITED(ws))
				exit_code = WEXITSTATUS(ws);
			else if (WIFSIGNALED(ws))
				exit_code = 128 + WTERMSIG(ws);
			else
				exit_code = 255;
		}
	}
}

/* spawn_remove_state forks a child that removes the exited container's
 * runtime state by hand (remove_state: berthd set Config.RuntimeState,
 * so that is all the runtime's delete would do) and, if that meets
 * anything unusual, runs the runtime's delete argv. The child keeps only
 * stdio: attach clients must see their connections end with ours. */
static pid_t spawn_remove_state(char **argv)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	if (close_range(3, ~0U, 0) < 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	char err[512];
	if (remove_state(cfg.runtime_state, cfg.cgroups, cfg.ncgroups, DELETE_WAIT_MS, err, sizeof err) == 0)
		_exit(0);
	fprintf(stderr, "berth-monitor: runtime delete after: %s\n", err);
	pid_t d = spawn(argv, -1, -1, 2);
	_exit(d > 0 && wait_pid(d) == 0 ? 0 : 1);
}

/* start_cleanup runs the runtime's delete of the exited container in the
 * background: the exit is reported without waiting for it, and reap ends
 * it (cleanup_done). The lock keeps the next run's create after it.
 * Usually the container's cgroups are empty by now (its init was reaped)
 * and the removal by hand is a few syscalls: then it is done here, without
 * the child, whose fork (page tables, copy-on-write faults, TLB shootdowns)
 * cost more CPU than the removal itself; a cgroup still populated, or
 * anything unusual, goes to the child as before (it tries again, waiting). */
static void start_cleanup(void)
{
	char *extra[] = {"delete", "--force", cfg.id};
	char **argv = runtime_argv(extra, 3);
	char err[512];
	if (cfg.runtime_state && *cfg.runtime_state &&
	    remove_state(cfg.runtime_state, cfg.cgroups, cfg.ncgroups, 0, err, sizeof err) == 0)
		delete_pid = 0;
	else
		delete_pid = cfg.runtime_state && *cfg.runtime_state ? spawn_remove_state(argv) : spawn(argv, -1, -1, 2);
	free(argv);
	if (delete_pid <= 0)
		cleanup_done();
}

/* finish runs once the init exited and its output is drained: close the
 * log, record the status (flushed to disk first: a crash loses no exit
 * code), answer waiters, then delete the container in the background. */
static void finish(void)
{
	char b[16 * 1024];
	for (int s = 1; s <= 2; s++) {
		if (out_done[s])
			continue;
		/* Take what is there now: all the init wrote is among it. */
		for (;;) {
			ssize_t k = read(outs[s], b, sizeof b);
			if (k > 0) {
				output(s, b, (size_t)k);
				continue;
			}
			if (k < 0 && errno == EINTR)
				continue;
			break;
		}
		stream_end(s);
	}
	if (logw && log_close(logw) < 0)
		fprintf(stderr, "berth-monitor: close container log: %s\n", log_error());
	logw = NULL;
	/* Read before delete: delete removes the cgroup. */
	oom_killed = read_oom_kills() > oom_base;
	struct buf st = {0};
	exit_status_json(&st);
	char *path = xasprintf("%s/%s", cfg.state_dir, EXIT_FILE);
	if (write_file_atomic(path, st.d, st.n, !cfg.exit_nosync) < 0)
		fprintf(stderr, "berth-monitor: write %s: %s\n", path, strerror(errno));
	free(path);
	buf_free(&st);
	closing = 1;
	/* Stop accepting first; late callers find exit.json instead. */
	remove_sockets();
	for (struct conn *c = conns; c; c = c->next) {
		if (c->kind == CONN_CTL && c->waiting && c->fd >= 0) {
			reply_status(c);
			drop_conn(c);
		}
		if (c->kind == CONN_ATTACH) {
			c->closed = 1;
			/* All output is in: a client with nothing left to
			 * send ends now, not after the clean-up below (its
			 * cgroup rmdirs took ~4 ms, and the attached client,
			 * `run` waiting for its stream's end, with them). */
			end_drained(c);
		}
	}
	start_cleanup();
}

/* --- the loop --- */

static void serve(void)
{
	long long drain_until = 0, finish_until = 0;
	enum { T_CONN, T_SIG, T_ATT, T_CTL, T_OUT1, T_OUT2, T_STDIN };
	struct pollfd *pf = NULL;
	struct conn **pc = NULL;
	int *pt = NULL;
	size_t cap = 0;
	for (;;) {
		/* free dropped connections; end attach clients done writing */
		for (struct conn **pp = &conns; *pp;) {
			struct conn *c = *pp;
			end_drained(c);
			if (c->fd < 0) {
				*pp = c->next;
				buf_free(&c->q);
				free(c);
				continue;
			}
			pp = &c->next;
		}
		long long now = now_ms();
		if (exited && !closing) {
			if (!drain_until)
				drain_until = now + DRAIN_MS;
			if ((out_done[1] && out_done[2]) || now >= drain_until) {
				finish();
				finish_until = now_ms() + FINISH_MS;
				continue;
			}
		}
		if (closing && now_ms() >= finish_until)
			for (struct conn *c = conns; c; c = c->next)
				drop_conn(c); /* freed on the next round */
		if (closing && !conns && cleaned)
			return;

		size_t n = 0, need = 8;
		for (struct conn *c = conns; c; c = c->next)
			need++;
		if (need > cap) {
			cap = need * 2;
			pf = realloc(pf, cap * sizeof *pf);
			pc = realloc(pc, cap * sizeof *pc);
			pt = realloc(pt, cap * sizeof *pt);
			if (!pf || !pc || !pt)
				die("out of memory");
		}
		int timeout = -1;
#define ADD(f, ev, cc, t) (pf[n].fd = (f), pf[n].events = (ev), pf[n].revents = 0, pc[n] = (cc), pt[n] = (t), n++)
		ADD(sfd, POLLIN, NULL, T_SIG);
		if (!closing) {
			ADD(attach_l, POLLIN, NULL, T_ATT);
			ADD(ctl_l, POLLIN, NULL, T_CTL);
		}
		if (!out_done[1])
			ADD(outs[1], POLLIN, NULL, T_OUT1);
		if (!out_done[2])
			ADD(outs[2], POLLIN, NULL, T_OUT2);
		int stdin_busy = stdin_pend.n > stdin_off && !stdin_closed;
		if (stdin_busy)
			ADD(stdin_w, POLLOUT, NULL, T_STDIN);
		for (struct conn *c = conns; c; c = c->next) {
			short ev = 0;
			if (!c->have_req || c->kind == CONN_CTL) {
				ev = POLLIN;
			} else {
				if (!c->rdone && !c->closed && !(c->stdin_ok && stdin_busy))
					ev |= POLLIN;
				if (c->qoff < c->q.n)
					ev |= POLLOUT;
			}
			if (!ev)
				continue;
			ADD(c->fd, ev, c, T_CONN);
			if (!c->have_req && !c->waiting) {
				long long left = c->deadline - now;
				if (left < 0)
					left = 0;
				if (timeout < 0 || left < timeout)
					timeout = (int)left;
			}
		}
		if (exited && !closing) {
			long long left = drain_until - now;
			if (left < 0)
				left = 0;
			if (timeout < 0 || left < timeout)
				timeout = (int)left;
		}
		if (closing && conns) {
			long long left = finish_until - now;
			if (left < 0)
				left = 0;
			if (timeout < 0 || left < timeout)
				timeout = (int)left;
		}
		int r = poll(pf, n, timeout);
		if (r < 0 && errno != EINTR)
			die("poll failed");
		now = now_ms();
		for (size_t i = 0; r > 0 && i < n; i++) {
			short re = pf[i].revents;
			if (!re)
				continue;
			struct conn *c = pc[i];
			switch (pt[i]) {
			case T_SIG: {
				struct signalfd_siginfo si;
				while (read(sfd, &si, sizeof si) > 0)
					;
				reap();
				continue;
			}
			case T_ATT:
				accept_conns(attach_l, CONN_ATTACH);
				continue;
			case T_CTL:
				accept_conns(ctl_l, CONN_CTL);
				continue;
			case T_STDIN:
				if (!stdin_closed)
					flush_stdin();
				if (re & (POLLERR | POLLHUP) && stdin_pend.n > stdin_off)
					stdin_pend.n = stdin_off = 0;
				continue;
			case T_OUT1:
			case T_OUT2:
				if (!out_done[pt[i] - T_OUT1 + 1])
					pump(pt[i] - T_OUT1 + 1);
				continue;
			}
			if (c->fd < 0)
				continue;
			if (!c->have_req && !c->waiting) {
				read_req(c);
				continue;
			}
			if (c->waiting) {
				/* A caller that hangs up (or sends anything) is
				 * done waiting. */
				drop_conn(c);
				continue;
			}
			if (re & POLLOUT)
				attach_write(c);
			if (c->fd >= 0 && re & (POLLIN | POLLHUP | POLLERR) && !c->rdone && !c->closed)
				attach_read(c);
			else if (re & (POLLERR | POLLHUP) && !(re & POLLIN)) {
				c->closed = 1;
				c->q.n = c->qoff = 0;
			}
		}
		/* request lines that took too long */
		for (struct conn *c = conns; c; c = c->next)
			if (c->fd >= 0 && !c->have_req && !c->waiting && now >= c->deadline)
				drop_conn(c);
	}
}

static int run(const char *state_dir)
{
	/* fd 3 is the sync pipe when berthd started us; it must not leak into
	 * the runtime and the container. */
	if (fcntl(sync_fd, F_SETFD, FD_CLOEXEC) < 0)
		sync_fd = -1;
	read_config(state_dir);
	/* Before any child: the runtime and the container must not inherit
	 * the attach connections handed over at launch. */
	for (size_t i = 0; i < cfg.attach.n; i++)
		fcntl(FIRST_ATTACH_FD + (int)i, F_SETFD, FD_CLOEXEC);
	/* The container's init is forked by the runtime, which then exits: as
	 * a child subreaper the monitor inherits it and can wait for it. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		fail_ready("set child subreaper failed");
	/* Survive berthd's death (SIGHUP when a terminal goes, SIGPIPE on a
	 * closed stdout); broken client connections surface as write errors. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/* SIGCHLD through a signalfd, blocked before any child exists so
	 * none is missed. */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		fail_ready("signalfd failed");
	/* Socket names are relative to the state directory, so its path
	 * length does not matter for binding. */
	if (chdir(cfg.state_dir) < 0)
		fail_ready(xasprintf("chdir %s: %s", cfg.state_dir, strerror(errno)));
	take_lock();
	attach_l = listen_unix(ATTACH_SOCKET);
	if (attach_l >= 0)
		ctl_l = listen_unix(CTL_SOCKET);
	if (attach_l < 0 || ctl_l < 0) {
		char msg[256];
		snprintf(msg, sizeof msg, "listen unix %s: %s", attach_l < 0 ? ATTACH_SOCKET : CTL_SOCKET, strerror(errno));
		remove_sockets();
		fail_ready(msg);
	}
	create();
	adopt_handoff();
	take_release();
	send_ready(NULL, 0, 0, NULL);
	reap(); /* an init that exited at once */
	serve();
	return 0;
}

/* await_go blocks until berthd, which launched the monitor ahead of its
 * config (internal/monitor.Launch), writes one byte on fd: monitor.json
 * is then written and the state directory ready. End of file instead
 * (berthd gave up, or died) ends the monitor before it touched anything. */
static void await_go(const char *fd_arg)
{
	char *end;
	long fd = strtol(fd_arg, &end, 10);
	if (*end || fd < 0 || fd > 1024)
		exit(2);
	fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	char b;
	ssize_t n;
	do
		n = read((int)fd, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(0);
	go_fd = (int)fd; /* for a release request (take_release) */
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "pod-init"))
		return pod_init();
	if (argc > 1 && !strcmp(argv[1], "exec-shim"))
		return exec_shim(argc - 2, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "--parse"))
		return parse_mode(argv[2]);
	if (argc == 2 && argv[1][0] != '-')
		return run(argv[1]);
	/* The state directory stays the first argument (ps, tools matching
	 * a monitor's command line). */
	if (argc == 4 && argv[1][0] != '-' && !strcmp(argv[2], "--await")) {
		await_go(argv[3]);
		return run(argv[1]);
	}
	fprintf(stderr, "usage: berth-cmon STATEDIR [--await FD] (started by berthd)\n");
	return 2;
}
