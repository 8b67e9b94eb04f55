/* The removal of an exited container's runtime state by hand, as
 * internal/monitor.RemoveState does it for the Go monitor: where berthd
 * set Config.RuntimeState, that (its cgroup directories, then the state
 * directory) is all the runtime's delete of the stopped container would
 * do, and running crun or runc for it costs tens of milliseconds of CPU.
 * Anything unusual is left to the runtime's delete (see main.c). */
#include "cmon.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* populated reads the "populated" key of a cgroup.events file: 1, 0, or
 * -1 when it cannot be read. */
static int populated(int fd)
{
	char b[256];
	ssize_t n = pread(fd, b, sizeof b - 1, 0);
	if (n < 0)
		return -1;
	b[n] = 0;
	for (char *l = b; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, "populated ", 10))
			return l[10] != '0';
	return -1;
}

/* await_unpopulated waits until the cgroup v2 directory dir holds no
 * process, or until deadline (CLOCK_MONOTONIC ms): cgroup.events signals
 * each change with POLLPRI, no sleeps. A directory without cgroup.events
 * (cgroup v1, or gone) is not waited for. */
static int await_unpopulated(const char *dir, long long deadline, char *err, size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/cgroup.events", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	for (;;) {
		int p = populated(fd);
		if (p <= 0) {
			close(fd);
			if (p < 0)
				snprintf(err, errlen, "read %s", path);
			return p;
		}
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		long long left = deadline - (t.tv_sec * 1000LL + t.tv_nsec / 1000000);
		if (left <= 0) {
			close(fd);
			snprintf(err, errlen, "cgroup %s still holds processes", dir);
			return -1;
		}
		struct pollfd pf = {.fd = fd, .events = POLLPRI};
		if (poll(&pf, 1, (int)left + 1) < 0 && errno != EINTR) {
			close(fd);
			snprintf(err, errlen, "wait for cgroup %s: %s", dir, strerror(errno));
			return -1;
		}
	}
}

/* remove_flat_dir removes dir and the files in it; a subdirectory is not
 * the runtime's state as known, and is left to the runtime. */
static int remove_flat_dir(const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "open %s: %s", dir, strerror(errno));
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT) {
			snprintf(err, errlen, "remove %s/%s: %s", dir, e->d_name, strerror(errno));
			rc = -1;
		}
	}
	closedir(d);
	if (rc == 0 && rmdir(dir) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "rmdir %s: %s", dir, strerror(errno));
		rc = -1;
	}
	return rc;
}

int remove_state(const char *state, char **cgroups, size_t ncgroups, int wait_ms, char *err, size_t errlen)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	long long deadline = t.tv_sec * 1000LL + t.tv_nsec / 1000000 + wait_ms;
	/* The container's processes are in the same cgroups in every
	 * hierarchy: once v2's says none is left, v1's are empty too. */
	for (size_t i = 0; i < ncgroups; i++)
		if (await_unpopulated(cgroups[i], deadline, err, errlen) < 0)
			return -1;
	for (size_t i = 0; i < ncgroups; i++)
		if (rmdir(cgroups[i]) < 0 && errno != ENOENT) {
			snprintf(err, errlen, "rmdir %s: %s", cgroups[i], strerror(errno));
			return -1;
		}
	if (!state || !*state)
		return 0;
	return remove_flat_dir(state, err, errlen);
}
