package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// sessionDockerfile builds a file in one stage and copies it, with the
// context, into a scratch image: what -o type=local|tar write.
const sessionDockerfile = `FROM busybox AS b
ARG N
RUN echo out-$N > /out.txt
FROM scratch
COPY --from=b /out.txt /out.txt
COPY ctx/ /ctx/
`

// tarNames lists a tar stream's entries (name -> link target or content).
func tarNames(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading the output tar: %v", err)
		}
		v := h.Linkname
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			v = string(b)
		}
		out[strings.TrimPrefix(h.Name, "./")] = v
	}
}

func imageIDs(t *testing.T, d *Daemon) string {
	ids := strings.Fields(d.Berth().Must(t, "images", "-a", "-q", "--no-trunc"))
	sort.Strings(ids)
	return strings.Join(ids, " ")
}

// sessionFixture is the daemon, the context (with a symlink to a file
// outside it and a .dockerignore) and the ssh-agent of TestBerthBuildSession.
type sessionFixture struct {
	d        *Daemon
	b        CLI
	dir      string
	outside  string
	key      string
	agentEnv []string
}

// `berth build` with the flags that need a BuildKit client session runs
// berth-build, which opens one as buildx does: --ssh forwards a real
// ssh-agent (default and by id), --secret reads files and the
// environment, -o type=local|tar (the "-o DIR", "-o -" shorthands too)
// and type=oci|docker with a dest write the client's files and stdout and
// register no image, a symlink in the context pointing outside it is sent
// as a symlink (its target's file never is), and a local cache export
// brings back a fully cached build after `builder prune -af`.
func TestBerthBuildSession(t *testing.T) {
	sock, key := startSSHAgent(t)
	d := startDaemon(t)
	b := d.Berth()
	outside := filepath.Join(t.TempDir(), "outside.txt")
	writeFiles(t, filepath.Dir(outside), map[string]string{"outside.txt": "host-only-content"})
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": sessionDockerfile, "ctx/in.txt": "in\n", "ctx/ignored.txt": "no\n", ".dockerignore": "ctx/ignored.txt\n"})
	if err := os.Symlink(outside, filepath.Join(dir, "ctx", "link")); err != nil {
		t.Fatal(err)
	}
	f := &sessionFixture{d: d, b: b, dir: dir, outside: outside, key: key, agentEnv: []string{"SSH_AUTH_SOCK=" + sock}}
	t.Run("ssh", f.ssh)
	t.Run("secrets", f.secrets)
	t.Run("local outputs", f.localOutputs)
	t.Run("file outputs", f.fileOutputs)
	t.Run("stdin and -f", f.stdin)
	t.Run("local cache", f.localCache)
}

// agentList builds testdata/agentlist (a static `ssh-add -l`) into dir and
// returns the fingerprint it prints for key.
func agentList(t *testing.T, dir, key string) string {
	t.Helper()
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "agentlist"), "./tests/e2e/testdata/agentlist")
	build.Dir, build.Env = repoRoot, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building agentlist: %v\n%s", err, out)
	}
	fp, err := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", key+".pub").Output()
	if err != nil || len(strings.Fields(string(fp))) < 2 {
		t.Fatalf("ssh-keygen -l: %q %v", fp, err)
	}
	return strings.Fields(string(fp))[1]
}

// ssh: --ssh default and --ssh ID=KEYFILE reach RUN --mount=type=ssh: a
// static `ssh-add -l` (testdata/agentlist) lists the test key through the
// forwarded agent, and through the agent BuildKit makes of the key file.
func (fx *sessionFixture) ssh(t *testing.T) {
	d, b, key, agentEnv := fx.d, fx.b, fx.key, fx.agentEnv
	sshDir := t.TempDir()
	want := agentList(t, sshDir, key)
	writeFiles(t, sshDir, map[string]string{"Dockerfile": "FROM busybox\nARG N\nCOPY agentlist /agentlist\n" +
		"RUN --mount=type=ssh /agentlist > /tmp/k && sed \"s/^/agent-$N: /\" /tmp/k\n" +
		"RUN --mount=type=ssh,id=key /agentlist > /tmp/k && sed \"s/^/key-$N: /\" /tmp/k\n"})
	r := berthBuild(t, d, agentEnv, "--progress=plain", "--ssh", "default", "--ssh", "key="+key, "--build-arg", "N=1", "-t", "bsess-ssh:1", sshDir)
	if r.Exit != 0 || !strings.Contains(r.Stderr, "agent-1: "+want+" berth-e2e") || !strings.Contains(r.Stderr, "key-1: "+want) {
		t.Fatalf("--ssh default --ssh key=FILE: want the key %s listed through both: %s", want, r)
	}
	// The image lands in Berth's store, tagged.
	b.Must(t, "image", "inspect", "bsess-ssh:1")
	r = berthBuild(t, d, agentEnv, "--progress=plain", "--build-arg", "N=2", sshDir)
	if r.Exit == 0 || strings.Contains(r.Stderr, want) {
		t.Fatalf("without --ssh the step had an agent: %s", r)
	}
}

// secrets: --secret from a file and from the environment, through the
// session and through /build?version=2.
func (fx *sessionFixture) secrets(t *testing.T) {
	d, b, agentEnv := fx.d, fx.b, fx.agentEnv
	fileSecret, envSecret := "from-a-file-e2e", "from-the-env-e2e"
	sf := filepath.Join(t.TempDir(), "s")
	writeFiles(t, filepath.Dir(sf), map[string]string{"s": fileSecret})
	secDir := t.TempDir()
	writeFiles(t, secDir, map[string]string{"Dockerfile": "FROM busybox\n" +
		"RUN --mount=type=secret,id=f --mount=type=secret,id=e cat /run/secrets/f /run/secrets/e | sha256sum | cut -d' ' -f1 > /sum\n"})
	sum := sha256.Sum256([]byte(fileSecret + envSecret))
	want := hex.EncodeToString(sum[:]) + "\n"
	env := append([]string{"E2E_SECRET=" + envSecret}, agentEnv...)
	// Through the session (with -o), and through /build?version=2.
	for _, extra := range [][]string{{"-o", "type=local,dest=" + filepath.Join(t.TempDir(), "out")}, {"-t", "bsess-secret:1"}} {
		args := append([]string{"--progress=plain", "--no-cache", "--secret", "id=f,src=" + sf, "--secret", "id=e,env=E2E_SECRET"}, extra...)
		r := berthBuild(t, d, env, append(args, secDir)...)
		if r.Exit != 0 {
			t.Fatalf("build with secrets %v: %s", extra, r)
		}
		if strings.Contains(r.Stdout+r.Stderr, fileSecret) || strings.Contains(r.Stdout+r.Stderr, envSecret) {
			t.Fatal("a secret's value appeared in the build output")
		}
		var got []byte
		if extra[0] == "-o" {
			got, _ = os.ReadFile(filepath.Join(strings.TrimPrefix(extra[1], "type=local,dest="), "sum"))
		} else {
			got = []byte(b.Must(t, "run", "--rm", "bsess-secret:1", "cat", "/sum") + "\n")
		}
		if string(got) != want {
			t.Fatalf("the build saw secrets hashing to %q, want %q", got, want)
		}
	}
}

// localOutputs: -o type=local,dest=DIR and -o DIR write the result, the
// context's symlink as a symlink, and register no image.
func (fx *sessionFixture) localOutputs(t *testing.T) {
	d, dir, outside := fx.d, fx.dir, fx.outside
	before := imageIDs(t, d)
	dest := filepath.Join(t.TempDir(), "local")
	short := filepath.Join(t.TempDir(), "short")
	for i, out := range []string{"type=local,dest=" + dest, short} {
		if r := berthBuild(t, d, nil, "--progress=plain", "--build-arg", fmt.Sprint("N=", i), "-o", out, dir); r.Exit != 0 {
			t.Fatalf("-o %s: %s", out, r)
		}
	}
	for i, folder := range []string{dest, short} {
		if got, err := os.ReadFile(filepath.Join(folder, "out.txt")); err != nil || string(got) != fmt.Sprintf("out-%d\n", i) {
			t.Fatalf("-o %s wrote out.txt %q, %v", folder, got, err)
		}
		if got, err := os.ReadFile(filepath.Join(folder, "ctx", "in.txt")); err != nil || string(got) != "in\n" {
			t.Fatalf("-o %s wrote ctx/in.txt %q, %v", folder, got, err)
		}
		if _, err := os.Stat(filepath.Join(folder, "ctx", "ignored.txt")); !os.IsNotExist(err) {
			t.Fatalf(".dockerignore'd ctx/ignored.txt was sent: %v", err)
		}
		// The context's symlink arrived as a symlink: what it points
		// to outside the context was never sent.
		fi, err := os.Lstat(filepath.Join(folder, "ctx", "link"))
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("ctx/link in %s is not a symlink: %v %v", folder, fi, err)
		}
		if target, _ := os.Readlink(filepath.Join(folder, "ctx", "link")); target != outside {
			t.Fatalf("ctx/link points to %q, want %q", target, outside)
		}
	}
	if after := imageIDs(t, d); after != before {
		t.Fatalf("-o local registered images: before %q, after %q", before, after)
	}
}

// fileOutputs: -o type=tar to a file (its folder made) and to stdout (-o -,
// -o type=tar), -o type=oci|docker,dest=FILE; no image registered.
func (fx *sessionFixture) fileOutputs(t *testing.T) {
	d, dir, outside := fx.d, fx.dir, fx.outside
	before := imageIDs(t, d)
	tarFile := filepath.Join(t.TempDir(), "sub", "out.tar")
	if r := berthBuild(t, d, nil, "--progress=plain", "--build-arg", "N=2", "-o", "type=tar,dest="+tarFile, dir); r.Exit != 0 {
		t.Fatalf("-o type=tar: %s", r)
	}
	f, err := os.Open(tarFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := tarNames(t, f); got["out.txt"] != "out-2\n" || got["ctx/link"] != outside {
		t.Fatalf("-o type=tar wrote %q", got)
	}
	for _, out := range []string{"-", "type=tar"} {
		r := berthBuild(t, d, nil, "--progress=plain", "--build-arg", "N=3", "-o", out, dir)
		if r.Exit != 0 {
			t.Fatalf("-o %s: %s", out, r)
		}
		if got := tarNames(t, strings.NewReader(r.Stdout)); got["out.txt"] != "out-3\n" {
			t.Fatalf("-o %s wrote to stdout %q", out, got)
		}
	}
	// OCI and docker image tarballs, written by the client too.
	for typ, want := range map[string]string{"oci": "oci-layout", "docker": "manifest.json"} {
		file := filepath.Join(t.TempDir(), typ+".tar")
		if r := berthBuild(t, d, nil, "--progress=plain", "--build-arg", "N=4", "-o", "type="+typ+",name=bsess-"+typ+":1,dest="+file, dir); r.Exit != 0 {
			t.Fatalf("-o type=%s: %s", typ, r)
		}
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		got := tarNames(t, f)
		f.Close()
		if _, ok := got[want]; !ok {
			t.Fatalf("-o type=%s wrote no %s: %q", typ, want, got)
		}
	}
	if strings.Contains(string(mustRead(t, tarFile)), "host-only-content") {
		t.Fatal("the symlink's target outside the context was sent")
	}
	if after := imageIDs(t, d); after != before {
		t.Fatalf("-o tar/oci/docker registered images: before %q, after %q", before, after)
	}
}

// stdin: the context as a tar on stdin, the Dockerfile on stdin (-f -) or
// outside the context (-f PATH).
func (fx *sessionFixture) stdin(t *testing.T) {
	d, dir := fx.d, fx.dir
	ctxTar, err := exec.Command("tar", "-C", dir, "-cf", "-", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	otherDir := t.TempDir()
	writeFiles(t, otherDir, map[string]string{"my.Dockerfile": sessionDockerfile})
	bb := d.Berth()
	for i, c := range []struct {
		stdin []byte
		args  []string
	}{
		{ctxTar, []string{"-"}},
		{[]byte(sessionDockerfile), []string{"-f", "-", dir}},
		{nil, []string{"-f", filepath.Join(otherDir, "my.Dockerfile"), dir}},
	} {
		dest := filepath.Join(t.TempDir(), "out")
		args := append([]string{"build", "--progress=plain", "--build-arg", fmt.Sprint("N=", 10+i), "-o", dest}, c.args...)
		r := d.runCmd(bb.Path(), bb.Env(), bytes.NewReader(c.stdin), buildLimit, args...)
		if r.Exit != 0 {
			t.Fatalf("%s", r)
		}
		if got, err := os.ReadFile(filepath.Join(dest, "out.txt")); err != nil || string(got) != fmt.Sprintf("out-%d\n", 10+i) {
			t.Fatalf("%v wrote out.txt %q, %v", c.args, got, err)
		}
		if got, err := os.ReadFile(filepath.Join(dest, "ctx", "in.txt")); err != nil || string(got) != "in\n" {
			t.Fatalf("%v wrote ctx/in.txt %q, %v", c.args, got, err)
		}
	}
}

// localCache: a local cache export brings back a fully cached build
// after `builder prune -af`.
func (fx *sessionFixture) localCache(t *testing.T) {
	d := fx.d
	cacheDir := t.TempDir()
	writeFiles(t, cacheDir, map[string]string{"Dockerfile": "FROM busybox\nRUN echo " + fmt.Sprint(time.Now().UnixNano()) + " > /a\nRUN cat /a > /b\n"})
	store := filepath.Join(t.TempDir(), "cache")
	if r := berthBuild(t, d, nil, "--progress=plain", "--cache-to", "type=local,dest="+store, cacheDir); r.Exit != 0 {
		t.Fatalf("--cache-to type=local: %s", r)
	}
	if _, err := os.Stat(filepath.Join(store, "index.json")); err != nil {
		t.Fatalf("the local cache has no index.json: %v", err)
	}
	// berth has no `builder` command: the docker CLI prunes.
	d.Docker(t).Must(t, "builder", "prune", "-af")
	r := berthBuild(t, d, nil, "--progress=plain", "--cache-from", "type=local,src="+store, "-t", "bsess-cache:1", cacheDir)
	if r.Exit != 0 {
		t.Fatalf("--cache-from type=local: %s", r)
	}
	if u := uncachedSteps(r.Stderr); len(u) > 0 {
		t.Fatalf("import from the local cache ran steps again: %q\n%s", u, r.Stderr)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Bad input to a session build fails before anything is built, with
// buildx's wording; `-o -` refuses a terminal; without berth-build the
// error names it.
func TestBerthBuildSessionBadInput(t *testing.T) {
	d := startDaemon(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nRUN true\n"})
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	writeFiles(t, tmp, map[string]string{"file": "x"})
	for _, c := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"--ssh", "default"}, "invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set"},
		{[]string{"SSH_AUTH_SOCK=" + filepath.Join(tmp, "no-agent")}, []string{"--ssh", "default"}, "no-agent: no such file or directory"},
		{nil, []string{"--ssh", "k=" + filepath.Join(tmp, "no-key")}, "no-key: no such file or directory"},
		{nil, []string{"--secret", "id=x,src=" + filepath.Join(tmp, "missing")}, "failed to stat " + filepath.Join(tmp, "missing")},
		{nil, []string{"--secret", "id=x,env=E2E_UNSET_VAR", "-o", filepath.Join(tmp, "o")}, "environment variable E2E_UNSET_VAR is not set"},
		{nil, []string{"-o", "type=local,dest=" + file}, "destination directory " + file + " is a file"},
		{nil, []string{"-o", "type=local"}, "dest is required for local exporter"},
		{nil, []string{"-o", "type=tar,dest=" + tmp}, "destination file " + tmp + " is a directory"},
		{nil, []string{"-o", "type=tar,dest=" + file + "/x"}, "not a directory"},
		{nil, []string{"-o", "type=registry,dest=" + filepath.Join(tmp, "reg")}, `output type "registry" is not supported`},
		{nil, []string{"-o", "type=local,dest=" + filepath.Join(tmp, "a"), "-o", "type=tar"}, "multiple outputs are not supported"},
		{nil, []string{"--cache-to", "type=gha"}, `cache type "gha" is not supported`},
		{nil, []string{"--platform", otherPlatform(), "-o", filepath.Join(tmp, "o")}, "platform " + otherPlatform() + " is not supported"},
	} {
		r := berthBuild(t, d, c.env, append(c.args, dir)...)
		if r.Exit == 0 || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("build %v: want an error with %q, got %s", c.args, c.want, r)
		}
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 1 {
		t.Errorf("failed builds left files behind: %v", entries)
	}

	p := d.Berth().StartPty(t, "build", "-o", "-", dir)
	p.Expect("dest file is required for tar exporter. refusing to write to console", 30*time.Second)

	// berth alone, without berth-build beside it or in PATH.
	lone := t.TempDir()
	if err := os.Link(filepath.Join(binDir, "berth"), filepath.Join(lone, "berth")); err != nil {
		data := mustRead(t, filepath.Join(binDir, "berth"))
		if err := os.WriteFile(filepath.Join(lone, "berth"), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := append(d.Berth().Env(), "PATH="+lone)
	r := d.runCmd(filepath.Join(lone, "berth"), env, nil, buildLimit, "build", "-o", filepath.Join(tmp, "o"), dir)
	if r.Exit != 1 || !strings.Contains(r.Stderr, "needs the berth-build program") {
		t.Fatalf("build -o without berth-build: %s", r)
	}
}

// An interrupted session build (berth running berth-build, -o DIR) stops
// its RUN step in berthd and writes nothing.
func TestBerthBuildSessionCancel(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	dest := filepath.Join(t.TempDir(), "out")
	checkBuildCancel(t, b.Path(), b.Env(), "build", "--progress=plain", "-o", dest)
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Fatalf("an interrupted build wrote %s: %v", dest, err)
	}
	waitFor(t, time.Minute, "berthd to unmount the interrupted step", func() bool {
		mi, _ := os.ReadFile("/proc/self/mountinfo")
		return !strings.Contains(string(mi), filepath.Join(d.DataRoot, "buildkit")+"/")
	})
}
