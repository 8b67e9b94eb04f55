/* The short modes of berth-cmon: exec-shim, pod-init and --parse. */
#include "cmon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int sync_ok;

static void report(const char *msg)
{
	if (!sync_ok)
		return;
	dprintf(3, "%s\n", msg);
	close(3);
	sync_ok = 0;
}

static int shim_fail(int code)
{
	report("fail");
	return code;
}

/* exec_shim runs one `docker exec` process for berthd: `exec-shim PIDFILE
 * -- RUNTIME ARGS...` (ARGS being `exec --detach --pid-file PIDFILE ...`).
 * As a child subreaper it reaps the exec'd process and the runtime's
 * leftovers, and exits with the process's status (128+signal when
 * killed). On fd 3 it reports "ok PID" once the process runs, or "fail"
 * when the runtime could not start it (its error text went to stderr). */
int exec_shim(int argc, char **argv)
{
	sync_ok = fcntl(3, F_SETFD, FD_CLOEXEC) == 0;
	if (argc < 3 || strcmp(argv[1], "--") != 0) {
		fprintf(stderr, "usage: berth-monitor exec-shim PIDFILE -- RUNTIME ARGS...\n");
		return shim_fail(2);
	}
	const char *pid_file = argv[0];
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		fprintf(stderr, "exec-shim: subreaper: %s\n", strerror(errno));
		return shim_fail(126);
	}
	pid_t rt = fork();
	if (rt < 0) {
		fprintf(stderr, "exec-shim: fork: %s\n", strerror(errno));
		return shim_fail(126);
	}
	if (rt == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "exec-shim: exec: \"%s\": %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	int st;
	while (waitpid(rt, &st, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "exec-shim: wait: %s\n", strerror(errno));
			return shim_fail(126);
		}
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return shim_fail(126); /* the runtime said why on stderr */
	char b[64] = {0};
	int fd = open(pid_file, O_RDONLY | O_CLOEXEC);
	ssize_t k = fd >= 0 ? read(fd, b, sizeof b - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (k < 0) {
		fprintf(stderr, "exec-shim: no pid from the runtime: %s\n", strerror(errno));
		return shim_fail(126);
	}
	char *end;
	long pid = strtol(b, &end, 10);
	while (*end == ' ' || *end == '\n' || *end == '\t' || *end == '\r')
		end++;
	if (pid <= 0 || *end || end == b) {
		fprintf(stderr, "exec-shim: bad pid file: %s\n", b);
		return shim_fail(126);
	}
	char ok[32];
	snprintf(ok, sizeof ok, "ok %ld", pid);
	report(ok);
	/* The shim no longer needs the exec's stdio; closing it lets berthd
	 * see EOF as soon as the process is done with it. */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i <= 2 && null >= 0; i++)
		dup2(null, i);
	for (;;) {
		pid_t got = waitpid(-1, &st, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return 255; /* reaped elsewhere: unknown status */
		if (got == pid)
			return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	}
}

/* pod_init is PID 1 of a CRI pod's shared PID namespace: it holds the
 * namespace open and reaps orphans until SIGTERM or SIGINT. */
int pod_init(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		int sig = sigwaitinfo(&set, NULL);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD)
			return 0;
		int st;
		while (waitpid(-1, &st, WNOHANG) > 0)
			;
	}
}

static void put_bool(struct buf *b, const char *k, int v, int comma)
{
	buf_puts(b, "\"");
	buf_puts(b, k);
	buf_puts(b, v ? "\":true" : "\":false");
	if (comma)
		buf_puts(b, ",");
}

static void put_str(struct buf *b, const char *k, const char *v)
{
	buf_puts(b, "\"");
	buf_puts(b, k);
	buf_puts(b, "\":");
	json_string(b, v ? v : "", v ? strlen(v) : 0);
	buf_puts(b, ",");
}

static void put_int(struct buf *b, const char *k, long long v, int comma)
{
	char n[64];
	snprintf(n, sizeof n, "\"%s\":%lld%s", k, v, comma ? "," : "");
	buf_puts(b, n);
}

/* put_strs writes "k":[...] (no comma after). */
static void put_strs(struct buf *b, const char *k, char **v, size_t n)
{
	buf_puts(b, "\"");
	buf_puts(b, k);
	buf_puts(b, "\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_puts(b, ",");
		json_string(b, v[i], strlen(v[i]));
	}
	buf_puts(b, "]");
}

/* put_attach_list prints ,"attach":[...] unless l is none (null). */
static void put_attach_list(struct buf *b, const struct attach_list *l)
{
	if (!l->set)
		return;
	buf_puts(b, ",\"attach\":[");
	for (size_t i = 0; i < l->n; i++) {
		buf_puts(b, i ? ",{" : "{");
		put_bool(b, "stdin", l->v[i].in, 1);
		put_bool(b, "stdout", l->v[i].out, 1);
		put_bool(b, "stderr", l->v[i].err, 0);
		buf_puts(b, "}");
	}
	buf_puts(b, "]");
}

/* parse_mode parses stdin as a config, ctl, attach or release request and prints
 * what the monitor understood, as JSON (tests compare it with Go's
 * encoding/json), or "error: ..." with status 1; or stdin's Unix times
 * as the monitor writes them (mode time). */
int parse_mode(const char *what)
{
	struct buf in = {0}, out = {0};
	char tmp[4096];
	ssize_t k;
	while ((k = read(0, tmp, sizeof tmp)) > 0)
		buf_put(&in, tmp, (size_t)k);
	const char *err = NULL;
	if (!strcmp(what, "config")) {
		struct config c;
		if (parse_config(in.d ? in.d : "", in.n, &c, &err) == 0) {
			buf_puts(&out, "{");
			put_str(&out, "id", c.id);
			put_str(&out, "runtime", c.runtime);
			put_strs(&out, "runtimeArgs", c.runtime_args, c.nruntime_args);
			buf_puts(&out, ",");
			put_str(&out, "bundle", c.bundle);
			put_str(&out, "stateDir", c.state_dir);
			put_str(&out, "logPath", c.log_path);
			put_int(&out, "logMaxSize", c.log_max_size, 1);
			put_int(&out, "logMaxFiles", c.log_max_files, 1);
			put_str(&out, "logDriver", c.log_driver);
			put_bool(&out, "logCompress", c.log_compress, 1);
			put_bool(&out, "tty", c.tty, 1);
			put_bool(&out, "openStdin", c.open_stdin, 1);
			put_bool(&out, "stdinOnce", c.stdin_once, 1);
			put_bool(&out, "start", c.start, 0);
			put_attach_list(&out, &c.attach);
			buf_puts(&out, ",");
			put_str(&out, "runtimeState", c.runtime_state);
			put_str(&out, "execFifo", c.exec_fifo);
			put_strs(&out, "cgroups", c.cgroups, c.ncgroups);
			buf_puts(&out, ",");
			put_bool(&out, "exitNoSync", c.exit_nosync, 0);
			buf_puts(&out, "}\n");
		}
		config_free(&c);
	} else if (!strcmp(what, "ctl")) {
		struct ctl_req r;
		if (parse_ctl(in.d ? in.d : "", in.n, &r, &err) == 0) {
			buf_puts(&out, "{");
			put_str(&out, "op", r.op);
			put_int(&out, "height", r.height, 1);
			put_int(&out, "width", r.width, 0);
			buf_puts(&out, "}\n");
		}
		free(r.op);
	} else if (!strcmp(what, "attach")) {
		struct attach_req r;
		if (parse_attach(in.d ? in.d : "", in.n, &r, &err) == 0) {
			buf_puts(&out, "{");
			put_bool(&out, "stdin", r.in, 1);
			put_bool(&out, "stdout", r.out, 1);
			put_bool(&out, "stderr", r.err, 0);
			buf_puts(&out, "}\n");
		}
	} else if (!strcmp(what, "release")) {
		struct release_req r;
		if (parse_release(in.d ? in.d : "", in.n, &r, &err) == 0) {
			buf_puts(&out, "{\"netns\":");
			json_string(&out, r.netns ? r.netns : "", r.netns ? strlen(r.netns) : 0);
			put_attach_list(&out, &r.attach);
			buf_puts(&out, "}\n");
		}
		release_free(&r);
	} else if (!strcmp(what, "time")) {
		/* Lines "SECONDS NANOSECONDS": each as the monitor writes a
		 * time (append_time), one a line. */
		char *p = in.d, *end = in.d + in.n;
		while (p && p < end) {
			char *e;
			long long sec = strtoll(p, &e, 10);
			long nsec = strtol(e, &e, 10);
			struct timespec t = {.tv_sec = (time_t)sec, .tv_nsec = nsec};
			append_time(&out, &t);
			buf_puts(&out, "\n");
			p = memchr(e, '\n', (size_t)(end - e));
			if (p)
				p++;
		}
	} else {
		fprintf(stderr, "usage: berth-cmon --parse config|ctl|attach|release|time\n");
		return 2;
	}
	buf_free(&in);
	if (err) {
		buf_free(&out);
		printf("error: %s\n", err);
		return 1;
	}
	fwrite(out.d, 1, out.n, stdout);
	buf_free(&out);
	return 0;
}
