package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// builder runs one BuildKit build of dir with args, through `berth build`
// or `docker build` with buildx, with plain progress on stderr.
type builder struct {
	name  string
	build func(t *testing.T, args ...string) Result
}

// buildKitBuilders are berth build and, when the docker CLI and buildx are
// there, docker build.
func buildKitBuilders(t *testing.T, d *Daemon) []builder {
	bs := []builder{{"berth", func(t *testing.T, args ...string) Result {
		return berthBuild(t, d, nil, append([]string{"--progress=plain"}, args...)...)
	}}}
	if dockerCLI != "" {
		if _, err := os.Stat("/root/.cache/berth/docker-buildx-v0.38.2"); err == nil || os.Getenv("BERTH_BUILDX_PLUGIN") != "" {
			buildxPlugin(t, d)
			bs = append(bs, builder{"docker", func(t *testing.T, args ...string) Result { return dockerBuild(t, d, args...) }})
		}
	}
	return bs
}

// serveFiles serves files on a free loopback port until t ends.
func serveFiles(t *testing.T, files map[string]string) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, body)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

// Dockerfile features through both clients, with the built-in frontend
// named by a syntax line: COPY --link/--chmod/--chown/--exclude, ADD with a
// checksum from a loopback HTTP server, .dockerignore, a stage chosen with
// --target (the last stage would fail), the host's platform; a wrong
// checksum, a frontend image that cannot be pulled and a foreign platform
// fail with clear messages.
func TestBuildKitDockerfileFeatures(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	const payload = "payload-from-loopback-http\n"
	sum := sha256.Sum256([]byte(payload))
	base := serveFiles(t, map[string]string{"/file.txt": payload})
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile": `# syntax=docker/dockerfile:1
FROM busybox AS final
COPY --link --chmod=751 script.sh /s/script.sh
COPY --chown=123:456 owned.txt /s/owned.txt
COPY --exclude=*.skip dir/ /s/dir/
ADD --checksum=sha256:` + hex.EncodeToString(sum[:]) + ` ` + base + `/file.txt /s/added.txt
COPY . /ctx/
RUN stat -c '%a %u:%g' /s/script.sh /s/owned.txt > /s/stat.txt && ls /s/dir > /s/dir.txt && ls -A /ctx > /s/ctx.txt

FROM busybox AS broken
RUN echo this stage must not run && exit 3
`,
		"script.sh":     "#!/bin/sh\necho hi\n",
		"owned.txt":     "owned\n",
		"dir/keep.txt":  "keep\n",
		"dir/drop.skip": "drop\n",
		"secret.txt":    "ignored\n",
		"debug.log":     "ignored\n",
		".dockerignore": "secret.txt\n*.log\n",
	})
	for _, bl := range buildKitBuilders(t, d) {
		t.Run(bl.name, func(t *testing.T) {
			tag := "bkfeat-" + bl.name
			r := bl.build(t, "--target", "final", "-t", tag, dir)
			if r.Exit != 0 {
				t.Fatalf("build: %s", r)
			}
			if strings.Contains(r.Stderr, "must not run") {
				t.Fatal("--target final built the stage after it")
			}
			for file, want := range map[string]string{
				"/s/stat.txt":  "751 0:0\n644 123:456",
				"/s/dir.txt":   "keep.txt",
				"/s/added.txt": strings.TrimSpace(payload),
			} {
				if out := b.Must(t, "run", "--rm", tag, "cat", file); out != want {
					t.Errorf("%s: %q, want %q", file, out, want)
				}
			}
			ctx := b.Must(t, "run", "--rm", tag, "cat", "/s/ctx.txt")
			if !strings.Contains(ctx, "script.sh") || strings.Contains(ctx, "secret.txt") || strings.Contains(ctx, "debug.log") {
				t.Errorf(".dockerignore not applied: the context had %q", ctx)
			}

			bad := t.TempDir()
			writeFiles(t, bad, map[string]string{"Dockerfile": "FROM busybox\nADD --checksum=sha256:" + strings.Repeat("0", 64) + " " + base + "/file.txt /x\n"})
			if r := bl.build(t, bad); r.Exit == 0 || !strings.Contains(r.Stderr, "digest mismatch") {
				t.Errorf("ADD with a wrong checksum: %s", r)
			}

			// A frontend image that must be pulled (here from a port that
			// refuses) is refused, and the message says what to do.
			other := t.TempDir()
			writeFiles(t, other, map[string]string{"Dockerfile": "# syntax=127.0.0.1:1/other/frontend:1\nFROM busybox\n"})
			if r := bl.build(t, other); r.Exit == 0 || !strings.Contains(r.Stderr, "`# syntax=` line") || !strings.Contains(r.Stderr, "remove the line") {
				t.Errorf("a frontend image that cannot be pulled: %s", r)
			}

			foreign := "linux/arm64"
			if runtime.GOARCH == "arm64" {
				foreign = "linux/amd64"
			}
			if r := bl.build(t, "--platform", foreign, "--target", "final", dir); r.Exit == 0 || !strings.Contains(r.Stderr, "platform "+foreign+" is not supported") {
				t.Errorf("--platform %s: %s", foreign, r)
			}
			if r := bl.build(t, "--platform", runtime.GOOS+"/"+runtime.GOARCH, "--target", "final", dir); r.Exit != 0 {
				t.Errorf("--platform of the host: %s", r)
			}
		})
	}
}

// ADD of a git repository served by git daemon on loopback.
func TestBuildKitAddGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	d := startDaemon(t)
	b := d.Berth()
	repos := t.TempDir()
	repo := filepath.Join(repos, "repo.git")
	work := t.TempDir()
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t", "HOME="+work)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	writeFiles(t, work, map[string]string{"hello.txt": "hello-from-git\n"})
	git(work, "init", "-q", "-b", "main")
	git(work, "add", ".")
	git(work, "commit", "-q", "-m", "one")
	git(work, "clone", "-q", "--bare", work, repo)
	port := freePort(t)
	daemon := exec.Command("git", "daemon", "--reuseaddr", "--export-all", "--base-path="+repos, "--listen=127.0.0.1", fmt.Sprintf("--port=%d", port), repos)
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { daemon.Process.Kill(); daemon.Wait() })
	waitFor(t, 10*time.Second, "git daemon to listen", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": fmt.Sprintf("FROM busybox\nADD git://127.0.0.1:%d/repo.git#main /src\n", port)})
	for _, bl := range buildKitBuilders(t, d) {
		t.Run(bl.name, func(t *testing.T) {
			tag := "bkgit-" + bl.name
			if r := bl.build(t, "-t", tag, dir); r.Exit != 0 {
				t.Fatalf("ADD git://: %s", r)
			}
			if out := b.Must(t, "run", "--rm", tag, "cat", "/src/hello.txt"); out != "hello-from-git" {
				t.Fatalf("the repository's file: %q", out)
			}
		})
	}
}

// A huge heredoc makes an over-large Dockerfile: BuildKit's frontend caps
// the Dockerfile at 16 MiB with a clear error, and berthd keeps serving.
func TestBuildKitLargeDockerfile(t *testing.T) {
	d := startDaemon(t)
	for _, bl := range buildKitBuilders(t, d) {
		t.Run(bl.name, func(t *testing.T) {
			dir := t.TempDir()
			big := strings.Repeat("x", 1<<20)
			var heredoc strings.Builder
			heredoc.WriteString("FROM busybox\nCOPY <<EOF /big\n")
			for heredoc.Len() < 20<<20 {
				heredoc.WriteString(big)
				heredoc.WriteString("\n")
			}
			heredoc.WriteString("EOF\n")
			writeFiles(t, dir, map[string]string{"Dockerfile": heredoc.String()})
			r := bl.build(t, dir)
			if r.Exit == 0 || !strings.Contains(r.Stderr, "Dockerfile exceeds maximum allowed size") {
				t.Fatalf("a 20 MiB heredoc: %s", r)
			}
			d.Berth().Must(t, "version")
		})
	}
}

// Outputs through buildx: local, tar, image and docker.
func TestBuildKitOutputs(t *testing.T) {
	d := startDaemon(t)
	dc := buildxPlugin(t, d)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox AS b\nRUN echo out > /out.txt\nFROM scratch\nCOPY --from=b /out.txt /out.txt\n"})
	dest := filepath.Join(t.TempDir(), "local")
	if r := dockerBuild(t, d, "-o", "type=local,dest="+dest, dir); r.Exit != 0 {
		t.Fatalf("-o type=local: %s", r)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "out.txt")); err != nil || string(b) != "out\n" {
		t.Fatalf("type=local wrote %q, %v", b, err)
	}
	tarPath := filepath.Join(t.TempDir(), "out.tar")
	if r := dockerBuild(t, d, "-o", "type=tar,dest="+tarPath, dir); r.Exit != 0 {
		t.Fatalf("-o type=tar: %s", r)
	}
	if got := tarNames(t, bytes.NewReader(mustRead(t, tarPath))); got["out.txt"] != "out\n" {
		t.Fatalf("type=tar has no out.txt: %q", got)
	}
	for _, typ := range []string{"image", "docker"} {
		name := "bkout-" + typ + ":1"
		if r := dockerBuild(t, d, "-o", "type="+typ+",name="+name, dir); r.Exit != 0 {
			t.Fatalf("-o type=%s: %s", typ, r)
		}
		dc.Must(t, "image", "inspect", name)
	}
}

// Cache export and import against docker-registry on loopback; each import
// after `builder prune -af` finds every step cached, through berth build
// and through buildx alike. berth build exports registry and inline caches;
// docker build (buildx's docker driver) imports berth's registry cache,
// exports inline with a push (which buildx does through the Engine API, and
// which compresses the base image's uncompressed layer: the FROM step's
// cache key must not change with it), imports a local cache, and refuses
// other exports, as with Docker Engine's classic image store.
func TestBuildKitCacheExport(t *testing.T) {
	d := startDaemon(t)
	reg := startDockerRegistry(t, "")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nRUN echo " + fmt.Sprint(time.Now().UnixNano()) + " > /a\nRUN cat /a > /b\n"})
	regCache := "type=registry,ref=" + reg.Host + "/cache/shared:reg"
	imported := func(t *testing.T, bl builder, what, from string) {
		t.Helper()
		d.Docker(t).Must(t, "builder", "prune", "-af")
		r := bl.build(t, "--cache-from", from, dir)
		if r.Exit != 0 {
			t.Fatalf("--cache-from %s: %s", from, r)
		}
		if u := uncachedSteps(r.Stderr); len(u) > 0 {
			t.Fatalf("import from the %s cache ran steps again: %q\n%s", what, u, r.Stderr)
		}
	}
	exported := func(t *testing.T, bl builder, args ...string) {
		t.Helper()
		if r := bl.build(t, append(args, dir)...); r.Exit != 0 {
			t.Fatalf("%v: %s", args, r)
		}
	}
	for i, bl := range buildKitBuilders(t, d) {
		t.Run(bl.name, func(t *testing.T) {
			img := reg.Host + "/cache/" + bl.name + ":inline"
			if i == 0 {
				exported(t, bl, "--cache-to", regCache)
			}
			imported(t, bl, "registry", regCache)
			// inline: the cache travels in the pushed image's config.
			exported(t, bl, "--cache-to", "type=inline", "-o", "type=image,name="+img+",push=true")
			imported(t, bl, "inline", img)
			if bl.name == "docker" {
				r := bl.build(t, "--cache-to", "type=local,dest="+t.TempDir(), dir)
				if r.Exit == 0 || !strings.Contains(r.Stderr, "Cache export is not supported for the docker driver") {
					t.Fatalf("buildx's docker driver exported a local cache: %s", r)
				}
				// It imports one: the registry cache copied to a folder in
				// the layout `--cache-to type=local` writes.
				imported(t, bl, "local", "type=local,src="+cacheLayout(t, reg, "cache/shared", "reg"))
			}
		})
	}
}

// cacheLayout copies the cache manifest repo:tag of reg and the blobs it
// lists into a new folder, as an OCI layout whose index names it "latest"
// (what `--cache-to type=local,dest=DIR` writes).
func cacheLayout(t *testing.T, reg *dockerRegistry, repo, tag string) string {
	t.Helper()
	dir := t.TempDir()
	get := func(path, accept string) []byte {
		req, err := http.NewRequest("GET", "http://"+reg.Host+"/v2/"+repo+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s %v", path, resp.Status, err)
		}
		return b
	}
	put := func(b []byte) string {
		sum := sha256.Sum256(b)
		writeFiles(t, dir, map[string]string{"blobs/sha256/" + hex.EncodeToString(sum[:]): string(b)})
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	const indexType = "application/vnd.oci.image.index.v1+json"
	raw := get("/manifests/"+tag, indexType+", application/vnd.oci.image.manifest.v1+json")
	type desc struct{ Digest string }
	var m struct {
		MediaType string
		Config    *desc
		Layers    []desc
		Manifests []desc // an index (image-manifest=false)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("cache manifest %s:%s: %v\n%s", repo, tag, err, raw)
	}
	blobs := append(m.Layers, m.Manifests...)
	if m.Config != nil {
		blobs = append(blobs, *m.Config)
	}
	for _, b := range blobs {
		if got := put(get("/blobs/"+b.Digest, "*/*")); got != b.Digest {
			t.Fatalf("blob %s read as %s", b.Digest, got)
		}
	}
	index := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[{"mediaType":%q,"digest":%q,"size":%d,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}`,
		indexType, m.MediaType, put(raw), len(raw))
	writeFiles(t, dir, map[string]string{"index.json": index, "oci-layout": `{"imageLayoutVersion":"1.0.0"}`})
	return dir
}

// `docker build --ssh default` forwards a test ssh-agent to
// RUN --mount=type=ssh; without --ssh the step has no agent.
func TestBuildKitSSH(t *testing.T) {
	sock, _ := startSSHAgent(t)
	d := startDaemon(t)
	buildxPlugin(t, d)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nARG N\nRUN --mount=type=ssh test -S \"$SSH_AUTH_SOCK\" && echo agent-socket-$N | tr a-z A-Z\n"})
	dc := d.Docker(t)
	env := append(dc.Env(), "SSH_AUTH_SOCK="+sock)
	r := d.runCmd(dc.Path(), env, nil, buildLimit, "build", "--progress=plain", "--ssh", "default", "--build-arg", "N=1", dir)
	if r.Exit != 0 || !strings.Contains(r.Stderr, "AGENT-SOCKET-1") {
		t.Fatalf("--ssh default: %s", r)
	}
	r = d.runCmd(dc.Path(), env, nil, buildLimit, "build", "--progress=plain", "--build-arg", "N=2", dir)
	if r.Exit == 0 || strings.Contains(r.Stderr, "AGENT-SOCKET-2") {
		t.Fatalf("without --ssh the step had an agent: %s", r)
	}
}

// `docker compose build` with buildx builds every service's build: section
// inside berthd; the images land tagged with compose's names.
func TestBuildKitComposeBuild(t *testing.T) {
	d := startDaemon(t)
	buildxPlugin(t, d)
	dc := composePlugin(t, d)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"compose.yaml":   "services:\n  one:\n    build: ./one\n  two:\n    build:\n      context: ./two\n      args:\n        WORD: second\n",
		"one/Dockerfile": "FROM busybox\nRUN echo first > /word\nCMD [\"cat\", \"/word\"]\n",
		"two/Dockerfile": "FROM busybox\nARG WORD\nRUN echo $WORD > /word\nCMD [\"cat\", \"/word\"]\n",
	})
	r := d.runCmd(dc.Path(), dc.Env(), nil, buildLimit, "compose", "--project-directory", dir, "-p", "bkcompose", "build")
	if r.Exit != 0 {
		t.Fatalf("docker compose build: %s\n%s", r, d.LogTail(30))
	}
	for svc, want := range map[string]string{"one": "first", "two": "second"} {
		if out := dc.Must(t, "run", "--rm", "bkcompose-"+svc); out != want {
			t.Errorf("bkcompose-%s prints %q, want %q", svc, out, want)
		}
	}
}

// startSSHAgent starts an ssh-agent on a socket of t's own holding one new
// key; it returns the socket and the key file. It skips t without
// openssh-client.
func startSSHAgent(t *testing.T) (sock, key string) {
	for _, tool := range []string{"ssh-agent", "ssh-add", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (openssh-client)", tool)
		}
	}
	tmp := t.TempDir()
	sock = filepath.Join(tmp, "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	waitFor(t, 10*time.Second, "ssh-agent to listen", func() bool { _, err := os.Stat(sock); return err == nil })
	key = filepath.Join(tmp, "key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "berth-e2e", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	add := exec.Command("ssh-add", key)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, out)
	}
	return sock, key
}
