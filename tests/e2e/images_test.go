package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// dockerRegistry is Debian's docker-registry (distribution 2.8) on a free
// loopback port with its storage in a temp folder.
type dockerRegistry struct {
	Host string // 127.0.0.1:port
}

const registryBin = "/usr/bin/docker-registry"

// startDockerRegistry runs docker-registry until t ends. htpasswd, when
// set, is the content of an htpasswd file: the registry then wants basic
// auth.
func startDockerRegistry(t *testing.T, htpasswd string) *dockerRegistry {
	t.Helper()
	if _, err := os.Stat(registryBin); err != nil {
		t.Skip("Debian's docker-registry is not installed (apt-get install -y docker-registry)")
	}
	dir := t.TempDir()
	port := freePort(t)
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: 127.0.0.1:%d
`, filepath.Join(dir, "data"), port)
	if htpasswd != "" {
		pw := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(pw, []byte(htpasswd), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: berth-test\n    path: %s\n", pw)
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(registryBin, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
	})
	r := &dockerRegistry{Host: fmt.Sprintf("127.0.0.1:%d", port)}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + r.Host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 || resp.StatusCode == 401 {
				return r
			}
		}
		select {
		case <-done:
			b, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
			t.Fatalf("docker-registry exited: %s", b)
		default:
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
			t.Fatalf("docker-registry did not answer on %s: %v\n%s", r.Host, err, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// bcryptLine makes an htpasswd line with Debian's python3 (libxcrypt does
// bcrypt); "" when that is not available.
func bcryptLine(user, pass string) string {
	out, err := exec.Command("/usr/bin/python3", "-W", "ignore", "-c",
		"import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))", pass).Output()
	if err != nil || !strings.HasPrefix(string(out), "$2") {
		return ""
	}
	return user + ":" + strings.TrimSpace(string(out)) + "\n"
}

func mustContain(t *testing.T, r Result, subs ...string) {
	t.Helper()
	all := r.Stdout + r.Stderr
	for _, s := range subs {
		if !strings.Contains(all, s) {
			t.Fatalf("output lacks %q:\n%s", s, r)
		}
	}
}

func mustOK(t *testing.T, r Result) Result {
	t.Helper()
	if r.Exit != 0 {
		t.Fatalf("%s", r)
	}
	return r
}

var pushDigest = regexp.MustCompile(`: digest: (sha256:[0-9a-f]{64}) size: \d+`)

// TestImagesRegistry drives push, pull (re-pull with shared layers, by
// digest, multi-platform, wrong platform), save/load and a
// go-containerregistry archive through a real berthd and Debian's registry.
func TestImagesRegistry(t *testing.T) {
	d := startDaemon(t)
	reg := startDockerRegistry(t, "")
	b := d.Berth()
	R := reg.Host

	// Push the starter image, then again: the registry has the layer.
	b.Must(t, "tag", "busybox:latest", R+"/busybox:1")
	r := mustOK(t, b.Run(t, "push", R+"/busybox:1"))
	mustContain(t, r, "The push refers to repository ["+R+"/busybox]", "Pushed", "1: digest: sha256:")
	m := pushDigest.FindStringSubmatch(r.Stdout)
	if m == nil {
		t.Fatalf("no digest in push output:\n%s", r)
	}
	busyboxDigest := m[1]
	r = mustOK(t, b.Run(t, "push", R+"/busybox:1"))
	mustContain(t, r, "Layer already exists")
	if strings.Contains(r.Stdout, "Pushed") {
		t.Fatalf("second push uploaded again:\n%s", r)
	}

	// A second image sharing the base layer: commit a container.
	c := uniq("img-commit")
	b.Must(t, "run", "--name", c, R+"/busybox:1", "sh", "-c", "echo derived > /hello")
	b.Must(t, "commit", c, R+"/derived:1")
	b.Must(t, "rm", c)
	r = mustOK(t, b.Run(t, "push", R+"/derived:1"))
	mustContain(t, r, "Mounted from busybox", "Pushed")

	// Remove everything that holds the base layer, pull it back.
	b.Must(t, "rmi", R+"/derived:1", R+"/busybox:1", "busybox:latest")
	if out := b.Must(t, "images", "-q"); out != "" {
		t.Fatalf("images left: %s", out)
	}
	r = mustOK(t, b.Run(t, "pull", R+"/busybox:1"))
	mustContain(t, r, "1: Pulling from busybox", "Pulling fs layer", "Pull complete", "Digest: "+busyboxDigest,
		"Status: Downloaded newer image for "+R+"/busybox:1")
	// The derived image downloads only its own layer.
	r = mustOK(t, b.Run(t, "pull", R+"/derived:1"))
	mustContain(t, r, "Already exists", "Pull complete", "Status: Downloaded newer image for "+R+"/derived:1")
	if n := strings.Count(r.Stdout, "Pull complete"); n != 1 {
		t.Fatalf("%d layers downloaded, want 1:\n%s", n, r)
	}
	r = mustOK(t, b.Run(t, "pull", R+"/derived:1"))
	mustContain(t, r, "Status: Image is up to date for "+R+"/derived:1")
	if out := b.Must(t, "run", "--rm", R+"/derived:1", "cat", "/hello"); out != "derived" {
		t.Fatalf("derived image content %q", out)
	}

	// By digest.
	b.Must(t, "rmi", R+"/busybox:1")
	r = mustOK(t, b.Run(t, "pull", R+"/busybox@"+busyboxDigest))
	mustContain(t, r, "Digest: "+busyboxDigest)
	if out := b.Must(t, "images", "--digests", "--format", "{{.Repository}} {{.Digest}}"); !strings.Contains(out, R+"/busybox "+busyboxDigest) {
		t.Fatalf("images --digests:\n%s", out)
	}
	b.Must(t, "run", "--rm", R+"/busybox@"+busyboxDigest, "true")
	b.Must(t, "tag", R+"/busybox@"+busyboxDigest, R+"/busybox:1")

	// A multi-platform index (host platform + another) resolves to the
	// host's; an index or image only for another platform fails.
	host := runtime.GOARCH
	other := "arm64"
	if host == "arm64" {
		other = "amd64"
	}
	base, err := remote.Image(mustRef(t, R+"/busybox:1"))
	if err != nil {
		t.Fatal(err)
	}
	foreign := foreignImage(t, other)
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: foreign, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: other}}},
		mutate.IndexAddendum{Add: base, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: host}}},
	)
	if err := remote.WriteIndex(mustRef(t, R+"/multi:1"), idx); err != nil {
		t.Fatal(err)
	}
	mustOK(t, b.Run(t, "pull", R+"/multi:1"))
	if arch := b.Must(t, "image", "inspect", "--format", "{{.Architecture}}", R+"/multi:1"); arch != host {
		t.Fatalf("multi-platform pull gave %s, want %s", arch, host)
	}
	only := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: foreign, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: other}}})
	if err := remote.WriteIndex(mustRef(t, R+"/only:1"), only); err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(mustRef(t, R+"/single-"+other+":1"), foreign); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{R + "/only:1", R + "/single-" + other + ":1"} {
		r = b.Run(t, "pull", ref)
		if r.Exit == 0 {
			t.Fatalf("pull of a %s-only image succeeded:\n%s", other, r)
		}
		mustContain(t, r, "linux/"+host, "linux/"+other)
		if strings.Contains(r.Stderr, "panic") || b.Run(t, "image", "inspect", ref).Exit == 0 {
			t.Fatalf("failed pull left an image:\n%s", r)
		}
	}
	mustOK(t, b.Run(t, "pull", "--platform", "linux/"+other, R+"/only:1"))
	b.Must(t, "rmi", R+"/only:1")

	// --all-tags.
	b.Must(t, "tag", R+"/busybox:1", R+"/busybox:2")
	b.Must(t, "push", R+"/busybox:2")
	b.Must(t, "rmi", R+"/busybox:2")
	r = mustOK(t, b.Run(t, "pull", "-a", R+"/busybox"))
	mustContain(t, r, "1: Pulling from busybox", "2: Pulling from busybox")
	b.Must(t, "image", "inspect", R+"/busybox:2")

	// save -> rmi -> load -> run, without the registry.
	archive := filepath.Join(t.TempDir(), "save.tar")
	b.Must(t, "save", "-o", archive, R+"/derived:1")
	b.Must(t, "rmi", R+"/derived:1")
	r = mustOK(t, b.Run(t, "load", "-i", archive))
	mustContain(t, r, "Loaded image: "+R+"/derived:1")
	if out := b.Must(t, "run", "--rm", R+"/derived:1", "cat", "/hello"); out != "derived" {
		t.Fatalf("loaded image content %q", out)
	}

	// An archive written by go-containerregistry's tarball writer.
	derived, err := remote.Image(mustRef(t, R+"/derived:1"))
	if err != nil {
		t.Fatal(err)
	}
	ggcrTar := filepath.Join(t.TempDir(), "ggcr.tar")
	tag, _ := name.NewTag("ggcr/derived:v1")
	if err := tarball.WriteToFile(ggcrTar, tag, derived); err != nil {
		t.Fatal(err)
	}
	r = mustOK(t, b.Run(t, "load", "-i", ggcrTar))
	mustContain(t, r, "Loaded image: ggcr/derived:v1")
	if out := b.Must(t, "run", "--rm", "ggcr/derived:v1", "cat", "/hello"); out != "derived" {
		t.Fatalf("ggcr archive content %q", out)
	}

	// A terminal gets live bars: cursor movement per layer line.
	b.Must(t, "rmi", R+"/derived:1", "ggcr/derived:v1")
	p := b.StartPty(t, "pull", R+"/derived:1")
	p.Expect("Status: Downloaded newer image", 60*time.Second)
	if code := p.Wait(30 * time.Second); code != 0 {
		t.Fatalf("pty pull exit %d:\n%q", code, p.Output())
	}
	if out := p.Output(); !strings.Contains(out, "\x1b[") || !strings.Contains(out, "Pull complete") {
		t.Fatalf("no live progress on the terminal:\n%q", out)
	}
}

// foreignImage is a one-layer image whose config says linux/arch.
func foreignImage(t *testing.T, arch string) v1.Image {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestImagesLogin logs in to a registry that wants basic auth (htpasswd),
// pushes and pulls with the stored credentials, and logs out.
func TestImagesLogin(t *testing.T) {
	requireEnv(t)
	line := bcryptLine("alice", "s3cret")
	if line == "" {
		t.Skip("no bcrypt generator (Debian's python3 crypt) for the registry's htpasswd")
	}
	d := startDaemon(t)
	reg := startDockerRegistry(t, line)
	b := d.Berth()
	R := reg.Host

	r := b.RunIn(t, strings.NewReader("wrong\n"), "login", "-u", "alice", "--password-stdin", R)
	if r.Exit == 0 {
		t.Fatalf("login with a wrong password succeeded:\n%s", r)
	}
	mustContain(t, r, "401 Unauthorized")
	b.Must(t, "tag", "busybox:latest", R+"/private:1")
	if r := b.Run(t, "push", R+"/private:1"); r.Exit == 0 {
		t.Fatalf("anonymous push succeeded:\n%s", r)
	}
	r = mustOK(t, b.RunIn(t, strings.NewReader("s3cret\n"), "login", "-u", "alice", "--password-stdin", R))
	mustContain(t, r, "Login Succeeded")
	cfg, err := os.ReadFile(filepath.Join(d.Home, ".berth", "config.json"))
	if err != nil || !strings.Contains(string(cfg), `"`+R+`"`) || !strings.Contains(string(cfg), `"auth"`) {
		t.Fatalf("~/.berth/config.json: %v\n%s", err, cfg)
	}
	mustContain(t, mustOK(t, b.Run(t, "push", R+"/private:1")), "Pushed")
	b.Must(t, "rmi", R+"/private:1")
	mustOK(t, b.Run(t, "pull", R+"/private:1"))
	mustContain(t, mustOK(t, b.Run(t, "logout", R)), "Removing login credentials for "+R)
	b.Must(t, "rmi", R+"/private:1")
	r = b.Run(t, "pull", R+"/private:1")
	if r.Exit == 0 {
		t.Fatalf("pull after logout succeeded:\n%s", r)
	}
	mustContain(t, r, "pull access denied")

	// The docker CLI logs in through POST /auth too.
	if dockerCLI != "" {
		dk := d.Docker(t)
		r = dk.RunIn(t, strings.NewReader("wrong\n"), "login", "-u", "alice", "--password-stdin", R)
		if r.Exit == 0 {
			t.Fatalf("docker login with a wrong password succeeded:\n%s", r)
		}
		mustContain(t, r, "401 Unauthorized")
		mustContain(t, mustOK(t, dk.RunIn(t, strings.NewReader("s3cret\n"), "login", "-u", "alice", "--password-stdin", R)), "Login Succeeded")
		mustOK(t, dk.Run(t, "pull", R+"/private:1"))
	}
}

// TestImagesDockerCLI runs the docker CLI's image commands against berthd
// and a loopback registry.
func TestImagesDockerCLI(t *testing.T) {
	requireEnv(t)
	if dockerCLI == "" {
		t.Skip("the docker CLI is not installed")
	}
	d := startDaemon(t)
	reg := startDockerRegistry(t, "")
	dk := d.Docker(t)
	R := reg.Host

	dk.Must(t, "tag", "busybox", R+"/dk/busybox:1")
	mustContain(t, mustOK(t, dk.Run(t, "push", R+"/dk/busybox:1")), "The push refers to repository ["+R+"/dk/busybox]", "1: digest: sha256:")
	dk.Must(t, "rmi", R+"/dk/busybox:1", "busybox")
	r := mustOK(t, dk.Run(t, "pull", R+"/dk/busybox:1"))
	mustContain(t, r, "Pull complete", "Digest: sha256:", "Status: Downloaded newer image for "+R+"/dk/busybox:1")
	if out := dk.Must(t, "images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, R+"/dk/busybox:1") {
		t.Fatalf("docker images:\n%s", out)
	}
	if out := dk.Must(t, "image", "inspect", "--format", "{{.Os}}/{{.Architecture}} {{len .RootFS.Layers}}", R+"/dk/busybox:1"); out != "linux/"+runtime.GOARCH+" 1" {
		t.Fatalf("docker image inspect: %q", out)
	}

	c := uniq("dk-commit")
	dk.Must(t, "run", "--name", c, R+"/dk/busybox:1", "sh", "-c", "echo x > /added && rm /bin/true")
	diff := dk.Must(t, "diff", c)
	for _, want := range []string{"A /added", "C /bin", "D /bin/true"} {
		if !strings.Contains(diff, want) {
			t.Fatalf("docker diff lacks %q:\n%s", want, diff)
		}
	}
	dk.Must(t, "commit", "-m", "add a file", c, R+"/dk/committed:1")
	dk.Must(t, "rm", c)
	hist := dk.Must(t, "history", "--no-trunc", R+"/dk/committed:1")
	if !strings.Contains(hist, "add a file") || strings.Count(strings.TrimSpace(hist), "\n") < 2 {
		t.Fatalf("docker history:\n%s", hist)
	}
	r = mustOK(t, dk.Run(t, "push", R+"/dk/committed:1"))
	mustContain(t, r, "Mounted from dk/busybox", "Pushed")

	archive := filepath.Join(t.TempDir(), "dk.tar")
	dk.Must(t, "save", "-o", archive, R+"/dk/committed:1")
	dk.Must(t, "rmi", R+"/dk/committed:1")
	mustContain(t, mustOK(t, dk.Run(t, "load", "-i", archive)), "Loaded image: "+R+"/dk/committed:1")
	if out := dk.Must(t, "run", "--rm", R+"/dk/committed:1", "cat", "/added"); out != "x" {
		t.Fatalf("loaded image content %q", out)
	}
	r = dk.Run(t, "rmi", "does-not-exist:1")
	if r.Exit == 0 {
		t.Fatal("rmi of a missing image succeeded")
	}
	mustContain(t, r, "No such image: does-not-exist:1")
}
