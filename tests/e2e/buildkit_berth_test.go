package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// berthBuild runs `berth build` with extra environment variables.
func berthBuild(t *testing.T, d *Daemon, env []string, args ...string) Result {
	t.Helper()
	b := d.Berth()
	return d.runCmd(b.Path(), append(b.Env(), env...), nil, buildLimit, append([]string{"build"}, args...)...)
}

// `berth build` builds with BuildKit inside berthd (POST /build?version=2)
// when the daemon offers it: the Dockerfile of TestBuildKitDockerBuild
// (heredoc, cache mount, secret, parallel stages) builds, BuildKit's plain
// progress is rendered from the status messages, a second build is fully
// cached, -q and --iidfile give the ID, DOCKER_BUILDKIT=0 keeps the classic
// builder, and what cannot be applied is refused (the flags that need a
// client session: TestBerthBuildSession).
func TestBuildKitBerthBuild(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	ctxDir := t.TempDir()
	const secret = "berth-build-secret-e2e"
	writeFiles(t, ctxDir, map[string]string{"Dockerfile": buildkitDockerfile})
	secretFile := filepath.Join(t.TempDir(), "tok")
	writeFiles(t, filepath.Dir(secretFile), map[string]string{"tok": secret})

	r := berthBuild(t, d, nil, "--progress=plain", "-t", "bb-e2e:1", "--secret", "id=tok,src="+secretFile, ctxDir)
	if r.Exit != 0 {
		t.Fatalf("first build: %s\n%s", r, d.LogTail(40))
	}
	for _, want := range []string{"[internal] load build definition from Dockerfile", "DONE", "RUN --mount=type=cache"} {
		if !strings.Contains(r.Stderr, want) {
			t.Fatalf("plain progress lacks %q:\n%s", want, r.Stderr)
		}
	}
	if strings.Contains(r.Stdout+r.Stderr, secret) {
		t.Fatal("the secret's value appeared in the build output")
	}
	want := fmt.Sprintf("one\ntwo\nhello from a heredoc\ncached\n%d", len(secret))
	if out := b.Must(t, "run", "--rm", "bb-e2e:1"); out != want {
		t.Fatalf("the built image prints %q, want %q", out, want)
	}
	if h := b.Must(t, "history", "--no-trunc", "bb-e2e:1"); strings.Contains(h, secret) {
		t.Fatal("the secret is in the image history")
	}

	iid := filepath.Join(t.TempDir(), "iid")
	r = berthBuild(t, d, nil, "--progress=plain", "-t", "bb-e2e:2", "--iidfile", iid, "--secret", "id=tok,src="+secretFile, ctxDir)
	if r.Exit != 0 {
		t.Fatalf("second build: %s", r)
	}
	if u := uncachedSteps(r.Stderr); len(u) > 0 {
		t.Fatalf("second build ran steps again: %q\n%s", u, r.Stderr)
	}
	id := b.Must(t, "image", "inspect", "-f", "{{.Id}}", "bb-e2e:1")
	if got, _ := os.ReadFile(iid); string(got) != id {
		t.Fatalf("--iidfile has %q, want %q", got, id)
	}

	// -q prints the ID alone; rawjson prints BuildKit's status as JSON.
	r = berthBuild(t, d, nil, "-q", "--secret", "id=tok,src="+secretFile, ctxDir)
	if r.Exit != 0 || strings.TrimSpace(r.Stdout) != id || strings.TrimSpace(r.Stderr) != "" {
		t.Fatalf("build -q: %s (want only %s)", r, id)
	}
	r = berthBuild(t, d, nil, "--progress=rawjson", "--secret", "id=tok,src="+secretFile, ctxDir)
	if r.Exit != 0 {
		t.Fatalf("build --progress=rawjson: %s", r)
	}
	first := strings.SplitN(strings.TrimSpace(r.Stderr), "\n", 2)[0]
	var st struct {
		Vertexes []struct{ Digest, Name string }
	}
	if err := json.Unmarshal([]byte(first), &st); err != nil || len(st.Vertexes) == 0 || st.Vertexes[0].Digest == "" {
		t.Fatalf("rawjson first line %q: %v", first, err)
	}

	// The classic builder stays for DOCKER_BUILDKIT=0.
	classicDir := t.TempDir()
	writeFiles(t, classicDir, map[string]string{"Dockerfile": "FROM busybox\nRUN echo classic > /c\n"})
	r = berthBuild(t, d, []string{"DOCKER_BUILDKIT=0"}, "-t", "bb-e2e:classic", classicDir)
	if r.Exit != 0 || !strings.Contains(r.Stdout, "Step 1/2 : FROM busybox") {
		t.Fatalf("DOCKER_BUILDKIT=0 build: %s", r)
	}
	r = berthBuild(t, d, []string{"DOCKER_BUILDKIT=0"}, "--secret", "id=tok,src="+secretFile, classicDir)
	if r.Exit == 0 || !strings.Contains(r.Stderr, "--secret requires BuildKit") {
		t.Fatalf("classic build with --secret: %s", r)
	}

	// Refused, never ignored.
	other := otherPlatform()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--platform", other}, "platform " + other + " is not supported"},
		{[]string{"--network", "host"}, "--allow network.host"},
		{[]string{"--network", "mynet"}, `network mode "mynet" not supported`},
		{[]string{"--progress", "fancy"}, `invalid progress mode "fancy"`},
		{[]string{"--secret", "id=x,src=/nonexistent-e2e"}, "failed to stat /nonexistent-e2e"},
	} {
		r := berthBuild(t, d, nil, append(c.args, classicDir)...)
		if r.Exit == 0 || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("build %v: want an error with %q, got %s", c.args, c.want, r)
		}
	}
	r = berthBuild(t, d, nil, "--progress=plain", "--platform", runtime.GOOS+"/"+runtime.GOARCH, "-t", "bb-e2e:plat", classicDir)
	if r.Exit != 0 {
		t.Fatalf("build for the host's platform: %s", r)
	}

	// -f, --label, --build-arg, --target and --no-cache reach BuildKit.
	flagsDir := t.TempDir()
	writeFiles(t, flagsDir, map[string]string{"build/other.Dockerfile": "FROM busybox AS want\nARG WORD\nRUN echo \"$WORD\" > /word\nFROM want AS after\nRUN exit 7\n"})
	r = berthBuild(t, d, nil, "--progress=plain", "--no-cache", "-f", filepath.Join(flagsDir, "build/other.Dockerfile"), "--label", "bk.label=yes",
		"--build-arg", "WORD=from-arg", "--target", "want", "-t", "bb-e2e:flags", flagsDir)
	if r.Exit != 0 || len(uncachedSteps(r.Stderr)) != 1 {
		t.Fatalf("build with -f, --label, --build-arg, --target, --no-cache: %s", r)
	}
	if out := b.Must(t, "run", "--rm", "bb-e2e:flags", "cat", "/word"); out != "from-arg" {
		t.Fatalf("--build-arg: %q", out)
	}
	if out := b.Must(t, "image", "inspect", "-f", `{{index .Config.Labels "bk.label"}}`, "bb-e2e:flags"); out != "yes" {
		t.Fatalf("--label: %q", out)
	}
}

// otherPlatform is a platform that is not the host's.
func otherPlatform() string {
	if runtime.GOARCH == "arm64" {
		return "linux/amd64"
	}
	return "linux/arm64"
}

// `berth image build` and `berth builder build` are `berth build`;
// `berth builder prune` prunes the build cache as `docker builder prune`
// does (prompt, -f, -a, listing and total, a bad --keep-storage refused),
// and `berth system prune -a` prunes it too.
func TestBerthBuilderCommand(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	dir := t.TempDir()
	stamp := fmt.Sprint(time.Now().UnixNano())
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nRUN echo " + stamp + " > /a\n"})
	build := func(tag string, cmd ...string) Result {
		t.Helper()
		r := d.runCmd(b.Path(), b.Env(), nil, buildLimit, append(cmd, "--progress=plain", "-t", tag, dir)...)
		if r.Exit != 0 {
			t.Fatalf("%v: %s", cmd, r)
		}
		return r
	}
	build("bi:1", "image", "build")
	if out := b.Must(t, "run", "--rm", "bi:1", "cat", "/a"); out != stamp {
		t.Fatalf("image built by `image build` prints %q, want %q", out, stamp)
	}
	if u := uncachedSteps(build("bi:2", "builder", "build").Stderr); len(u) > 0 {
		t.Fatalf("`builder build` after `image build` ran steps again: %q", u)
	}
	if r := b.RunIn(t, strings.NewReader("n\n"), "builder", "prune", "-a"); r.Exit != 0 ||
		!strings.Contains(r.Stdout, "WARNING! This will remove all build cache. Are you sure you want to continue?") ||
		strings.Contains(r.Stdout, "Deleted build cache objects") {
		t.Fatalf("prune answered no: %s", r)
	}
	if u := uncachedSteps(build("bi:3", "builder", "build").Stderr); len(u) > 0 {
		t.Fatalf("a prune answered no removed cache: steps ran again: %q", u)
	}
	if r := b.Run(t, "builder", "prune", "-f", "--keep-storage", "lots"); r.Exit == 0 || !strings.Contains(r.Stderr, "--keep-storage") {
		t.Fatalf("bad --keep-storage: %s", r)
	}
	r := b.Run(t, "builder", "prune", "-af")
	if r.Exit != 0 || !strings.Contains(r.Stdout, "Deleted build cache objects:\n") || !strings.Contains(r.Stdout, "Total reclaimed space:") {
		t.Fatalf("builder prune -af: %s", r)
	}
	if u := uncachedSteps(build("bi:4", "build").Stderr); len(u) == 0 {
		t.Fatal("after builder prune -af every step was still cached")
	}
	if r := b.Run(t, "system", "prune", "-af"); r.Exit != 0 || !strings.Contains(r.Stdout, "Deleted build cache objects:\n") {
		t.Fatalf("system prune -af left the build cache: %s", r)
	}
}
