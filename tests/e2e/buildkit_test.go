package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildxPlugin installs the buildx CLI plugin (scripts/setup.sh builds
// v0.38.2 from the module proxy) into d's DOCKER_CONFIG, so that a plain
// `docker build` goes through BuildKit, or skips t.
func buildxPlugin(t *testing.T, d *Daemon) CLI {
	t.Helper()
	return cliPlugin(t, d, "docker-buildx", "BERTH_BUILDX_PLUGIN", "/root/.cache/berth/docker-buildx-v0.38.2")
}

// buildLimit bounds one BuildKit build: a cold one unpacks the base image
// and starts the controller on a loaded 2-core machine.
const buildLimit = 5 * time.Minute

func dockerBuild(t *testing.T, d *Daemon, args ...string) Result {
	t.Helper()
	dc := d.Docker(t)
	return d.runCmd(dc.Path(), dc.Env(), nil, buildLimit, append([]string{"build", "--progress=plain"}, args...)...)
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const buildkitDockerfile = `FROM busybox AS one
RUN echo one > /one.txt

FROM busybox AS two
RUN echo two > /two.txt

FROM busybox
COPY --from=one /one.txt /out/one.txt
COPY --from=two /two.txt /out/two.txt
COPY <<EOF /out/heredoc.txt
hello from a heredoc
EOF
RUN --mount=type=cache,target=/cache echo cached >> /cache/log && cp /cache/log /out/cache.txt
RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /out/secretlen.txt
CMD ["sh", "-c", "cat /out/one.txt /out/two.txt /out/heredoc.txt /out/cache.txt /out/secretlen.txt"]
`

// stepLine is a plain-progress vertex header: "#7 [stage-2 3/7] COPY ...".
var stepLine = regexp.MustCompile(`^#(\d+) \[[^\]]*\d+/\d+\] (RUN|COPY) `)

// uncachedSteps returns the RUN/COPY steps of a plain-progress log that
// did not report CACHED.
func uncachedSteps(log string) []string {
	names := map[string]string{}
	cached := map[string]bool{}
	for _, l := range strings.Split(log, "\n") {
		if m := stepLine.FindStringSubmatch(l); m != nil {
			names[m[1]] = l
		}
		if f := strings.Fields(l); len(f) == 2 && f[1] == "CACHED" {
			cached[strings.TrimPrefix(f[0], "#")] = true
		}
	}
	var out []string
	for id, l := range names {
		if !cached[id] {
			out = append(out, l)
		}
	}
	return out
}

// `docker build` with the buildx plugin, plain and with no environment
// variables, builds inside berthd with BuildKit: a base image that exists
// only in Berth's store, two independent stages, a heredoc, a cache mount
// and a secret; the image lands in Berth's store tagged without --load and
// runs; the next build, even after a restart of berthd, is fully cached,
// and the cache is reported and pruned by the docker CLI.
func TestBuildKitDockerBuild(t *testing.T) {
	d := startDaemon(t)
	dc := buildxPlugin(t, d)
	if _, h, _ := d.API(t, "GET", "/_ping", "", ""); h.Get("Builder-Version") != "2" {
		t.Fatalf("_ping Builder-Version %q, want 2", h.Get("Builder-Version"))
	}
	ctxDir := t.TempDir()
	const secret = "s3cr3t-value-e2e"
	writeFiles(t, ctxDir, map[string]string{"Dockerfile": buildkitDockerfile})
	secretFile := filepath.Join(t.TempDir(), "tok")
	writeFiles(t, filepath.Dir(secretFile), map[string]string{"tok": secret})

	r := dockerBuild(t, d, "-t", "bk-e2e:1", "--secret", "id=tok,src="+secretFile, ctxDir)
	if r.Exit != 0 {
		t.Fatalf("first build: %s\n%s", r, d.LogTail(40))
	}
	want := fmt.Sprintf("one\ntwo\nhello from a heredoc\ncached\n%d", len(secret))
	if out := dc.Must(t, "run", "--rm", "bk-e2e:1"); out != want {
		t.Fatalf("the built image prints %q, want %q", out, want)
	}
	// The secret was mounted for one step only: nothing in the image has it.
	if out := dc.Must(t, "run", "--rm", "bk-e2e:1", "sh", "-c", "ls -A /run/secrets 2>/dev/null; grep -rl "+secret+" /out /run /etc /tmp 2>/dev/null; true"); out != "" {
		t.Fatalf("the secret left a trace in the image: %q", out)
	}
	if h := dc.Must(t, "history", "--no-trunc", "bk-e2e:1"); strings.Contains(h, secret) {
		t.Fatal("the secret is in the image history")
	}

	r = dockerBuild(t, d, "-t", "bk-e2e:2", "--secret", "id=tok,src="+secretFile, ctxDir)
	if r.Exit != 0 {
		t.Fatalf("second build: %s", r)
	}
	if u := uncachedSteps(r.Stderr); len(u) > 0 {
		t.Fatalf("second build ran steps again: %q\n%s", u, r.Stderr)
	}
	id1 := dc.Must(t, "image", "inspect", "-f", "{{.Id}}", "bk-e2e:1")
	if id2 := dc.Must(t, "image", "inspect", "-f", "{{.Id}}", "bk-e2e:2"); id1 != id2 {
		t.Fatalf("cached rebuild made another image: %s vs %s", id1, id2)
	}

	// The cache is on disk: it survives a restart and is reported.
	if !d.Stop() {
		t.Fatal("berthd did not stop")
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	r = dockerBuild(t, d, "-t", "bk-e2e:3", "--secret", "id=tok,src="+secretFile, ctxDir)
	if r.Exit != 0 {
		t.Fatalf("build after restart: %s\n%s", r, d.LogTail(40))
	}
	if u := uncachedSteps(r.Stderr); len(u) > 0 {
		t.Fatalf("build after a restart ran steps again: %q\n%s", u, r.Stderr)
	}
	if out := dc.Must(t, "system", "df", "--format", "{{.Type}} {{.TotalCount}}"); !regexp.MustCompile(`(?m)^Build Cache [1-9]`).MatchString(out) {
		t.Fatalf("system df reports no build cache: %q", out)
	}
	if out := dc.Must(t, "buildx", "du"); !strings.Contains(out, "Total:") {
		t.Fatalf("buildx du: %q", out)
	}
	dc.Must(t, "builder", "prune", "-af")
	if out := dc.Must(t, "system", "df", "--format", "{{.Type}} {{.TotalCount}}"); !strings.Contains(out, "Build Cache 0") {
		t.Fatalf("build cache left after prune: %q", out)
	}
}

// The build context and secrets stay in their roots: a Dockerfile cannot
// copy from outside the context, a symlink in the context does not lead
// out of it, and the secret file is not reachable beyond its own mount.
func TestBuildKitHostileContext(t *testing.T) {
	d := startDaemon(t)
	dc := buildxPlugin(t, d)
	outside := t.TempDir()
	const marker = "outside-the-context-e2e"
	writeFiles(t, outside, map[string]string{"hostfile": marker})
	ctxDir := t.TempDir()
	writeFiles(t, ctxDir, map[string]string{"Dockerfile": "FROM busybox\nCOPY ../" + filepath.Base(outside) + "/hostfile /x\n"})
	r := dockerBuild(t, d, "-t", "bk-hostile:1", ctxDir)
	if r.Exit == 0 {
		if out := dc.Must(t, "run", "--rm", "bk-hostile:1", "cat", "/x"); strings.Contains(out, marker) {
			t.Fatal("COPY ../ read a file outside the build context")
		}
	}
	// A symlink to the outside file: BuildKit copies the link or resolves it
	// inside the context, never the host file.
	link := filepath.Join(ctxDir, "link")
	if err := os.Symlink(filepath.Join(outside, "hostfile"), link); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, ctxDir, map[string]string{"Dockerfile": "FROM busybox\nCOPY link /x\nRUN cat /x > /y || true\n"})
	r = dockerBuild(t, d, "-t", "bk-hostile:2", ctxDir)
	if r.Exit == 0 {
		if out := dc.Must(t, "run", "--rm", "bk-hostile:2", "sh", "-c", "cat /y; cat /x; true"); strings.Contains(out, marker) {
			t.Fatal("a symlink in the context led to a file on the host")
		}
	}
	if strings.Contains(r.Stdout+r.Stderr, marker) {
		t.Fatal("the host file's content appeared in the build output")
	}
	// A secret is mounted in the step that asks for it only: a later step
	// cannot read it.
	secretFile := filepath.Join(outside, "hostfile")
	writeFiles(t, ctxDir, map[string]string{"Dockerfile": "FROM busybox\nRUN --mount=type=secret,id=s true\nRUN cat /run/secrets/s > /z 2>&1 || echo none > /z\n"})
	r = dockerBuild(t, d, "-t", "bk-hostile:3", "--secret", "id=s,src="+secretFile, ctxDir)
	if r.Exit != 0 {
		t.Fatalf("secret build: %s", r)
	}
	if out := dc.Must(t, "run", "--rm", "bk-hostile:3", "cat", "/z"); strings.Contains(out, marker) {
		t.Fatal("a secret was readable by a step that did not mount it")
	}
}

// An endless RUN is cancelled with the client: interrupting `docker build`
// kills the step's processes.
func TestBuildKitCancel(t *testing.T) {
	d := startDaemon(t)
	dc := buildxPlugin(t, d)
	checkBuildCancel(t, dc.Path(), dc.Env(), "build", "--progress=plain")
}

// checkBuildCancel runs the client at path with args and a context whose
// RUN step sleeps, interrupts the client once the step runs, and checks
// that the step is killed and the build fails.
func checkBuildCancel(t *testing.T, path string, env []string, args ...string) {
	cmd, out, sleeping := startSleepingBuild(t, "", path, env, args...)
	cmd.Process.Signal(syscall.SIGINT)
	waitFor(t, time.Minute, "the RUN step to be killed after the client was interrupted", func() bool { return !sleeping() })
	if err := cmd.Wait(); err == nil {
		t.Fatalf("an interrupted build succeeded:\n%s", out.String())
	}
}

// startSleepingBuild starts the client at path with args and a context
// whose RUN step (with runFlags) sleeps, and returns once the step runs;
// sleeping reports whether it still does.
func startSleepingBuild(t *testing.T, runFlags, path string, env []string, args ...string) (cmd *exec.Cmd, out *strings.Builder, sleeping func() bool) {
	t.Helper()
	ctxDir := t.TempDir()
	// A number unique to this run, to find the step's process on the host.
	tag := strconv.Itoa(1000000 + int(time.Now().UnixNano()%8000000))
	writeFiles(t, ctxDir, map[string]string{"Dockerfile": "FROM busybox\nRUN " + runFlags + "sleep " + tag + "\n"})
	ctx, cancel := context.WithTimeout(context.Background(), buildLimit)
	t.Cleanup(cancel)
	cmd = exec.CommandContext(ctx, path, append(args, ctxDir)...)
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	out = &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	sleeping = func() bool { return len(pidsWithCmdline("sleep\x00"+tag)) > 0 }
	waitFor(t, buildLimit, "the RUN step to start", sleeping)
	return cmd, out, sleeping
}

// pidsWithCmdline lists the processes whose NUL-separated command line
// contains s.
func pidsWithCmdline(s string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b)+"\x00", s+"\x00") {
			out = append(out, pid)
		}
	}
	return out
}

// waitFor polls cond until it holds or limit passes.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
