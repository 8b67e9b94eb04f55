package build

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/engine/containers"
	"github.com/berth-dev/berth/engine/distribution"
	"github.com/berth-dev/berth/engine/imagearchive"
	"github.com/berth-dev/berth/engine/images"
	rt "github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/engine/store"
)

// testEnv is a real image service, container service (runc) and build
// service on a temporary data root, with busybox imported.
type testEnv struct {
	imgs *images.Service
	ctrs *containers.Service
	svc  *Service
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("needs runc")
	}
	if _, err := os.Stat("/usr/bin/busybox"); err != nil {
		t.Skip("needs /usr/bin/busybox")
	}
	tmp := t.TempDir()
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..")
	monitor := filepath.Join(tmp, "berth-monitor")
	if out, err := exec.Command("go", "build", "-o", monitor, filepath.Join(repo, "cmd", "berth-monitor")).CombinedOutput(); err != nil {
		t.Fatalf("build monitor: %v\n%s", err, out)
	}
	bbTar := filepath.Join(tmp, "busybox.tar")
	if out, err := exec.Command("bash", filepath.Join(repo, "scripts", "mkbusybox.sh"), bbTar).CombinedOutput(); err != nil {
		t.Fatalf("mkbusybox: %v\n%s", err, out)
	}
	dataRoot, execRoot := filepath.Join(tmp, "data"), filepath.Join(tmp, "exec")
	os.MkdirAll(dataRoot, 0o701)
	db, err := store.Open(filepath.Join(dataRoot, "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	rts, err := rt.Detect(rt.Options{ExecRoot: execRoot, Default: "runc"})
	if err != nil {
		t.Fatal(err)
	}
	// Unpin: the read-only mount of crun's binary under execRoot.
	t.Cleanup(rts.Unpin)
	var ctrs *containers.Service // set below: containers need the images first
	imgs, err := images.New(filepath.Join(dataRoot, "image"), db, images.Options{Containers: builtUsage{&ctrs}})
	if err != nil {
		t.Fatal(err)
	}
	ctrs, err = containers.New(containers.Config{DataRoot: dataRoot, ExecRoot: execRoot, MonitorPath: monitor, CgroupParent: "/berth-build-test"}, db, imgs, rts, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(bbTar)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := imagearchive.New(imgs, imgs.LayerStore()).Import(context.Background(), f, imagearchive.ImportOptions{Ref: "busybox:latest", Changes: []string{`CMD ["sh"]`}}); err != nil {
		t.Fatal(err)
	}
	bs, err := New(NewBackend(imgs, distribution.New(distribution.Options{Images: imgs, Layers: imgs.LayerStore(), Content: imgs.Content()}), ctrs), db, filepath.Join(dataRoot, "build"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Remove whatever containers a failed test left, then the mounts.
		for _, id := range listOverlays(filepath.Join(dataRoot, "image", "overlay")) {
			ctrs.Remove(context.Background(), id, containers.RemoveOptions{Force: true})
			imgs.RemoveRootfs(context.Background(), id)
		}
		ctrs.Close()
		db.Close()
	})
	return &testEnv{imgs: imgs, ctrs: ctrs, svc: bs}
}

func listOverlays(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// tarOf makes a context tar from name -> content ("dir/" for directories,
// "->target" for symlinks).
func tarOf(t *testing.T, files map[string]string) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := files[n]
		switch {
		case strings.HasSuffix(n, "/"):
			tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(1e9, 0)})
		case strings.HasPrefix(c, "->"):
			tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeSymlink, Linkname: c[2:], Mode: 0o777, ModTime: time.Unix(1e9, 0)})
		default:
			tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(c)), ModTime: time.Unix(1e9, 0)})
			tw.Write([]byte(c))
		}
	}
	tw.Close()
	return &buf
}

func (e *testEnv) build(t *testing.T, files map[string]string, opts Options) (string, string, error) {
	t.Helper()
	if opts.NetworkMode == "" {
		opts.NetworkMode = "none"
	}
	opts.Remove = true
	var out bytes.Buffer
	id, err := e.svc.Build(context.Background(), tarOf(t, files), opts, &out)
	return id, out.String(), err
}

func (e *testEnv) mustBuild(t *testing.T, files map[string]string, opts Options) (*images.Image, string) {
	t.Helper()
	id, out, err := e.build(t, files, opts)
	if err != nil {
		t.Fatalf("build: %v\noutput:\n%s", err, out)
	}
	img, err := e.imgs.Resolve(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return img, out
}

// runIn runs argv in a container of image and returns its output.
func (e *testEnv) runIn(t *testing.T, image string, argv ...string) string {
	t.Helper()
	b := NewBackend(e.imgs, distribution.New(distribution.Options{Images: e.imgs, Content: e.imgs.Content()}), e.ctrs)
	ctx := context.Background()
	id, err := b.CreateContainer(ctx, containerConfig(image, argv), hostNone())
	if err != nil {
		t.Fatal(err)
	}
	defer b.RemoveContainer(ctx, id)
	var out bytes.Buffer
	code, err := b.RunContainer(ctx, id, &out)
	if err != nil || code != 0 {
		t.Fatalf("run %v: code %d, err %v, output %q", argv, code, err, out.String())
	}
	return out.String()
}

func TestBuildSeedsEscapeDockerfile(t *testing.T) {
	e := newTestEnv(t)
	df := "# escape=`\n" +
		"FROM busybox\n" +
		"RUN mkdir -p /app && `\n" +
		"    echo built > /app/built.txt\n" +
		"ADD hello.txt /app/\n" +
		"EXPOSE 8080\n" +
		"ENTRYPOINT [\"cat\", \"/app/hello.txt\"]\n"
	files := map[string]string{"Dockerfile": df, "hello.txt": "hello world\n"}
	img, out := e.mustBuild(t, files, Options{Tags: []string{"seed1"}})
	for _, want := range []string{"Step 1/5 : FROM busybox", "Step 2/5 : RUN mkdir -p /app &&", " ---> Running in ", "Removing intermediate container ", "Successfully built " + img.ID[7:19], "Successfully tagged seed1:latest"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	cfg := img.Config.Config
	if _, ok := cfg.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("ExposedPorts = %v", cfg.ExposedPorts)
	}
	if strings.Join(cfg.Entrypoint, " ") != "cat /app/hello.txt" || len(cfg.Cmd) != 0 {
		t.Errorf("Entrypoint %q Cmd %q: ENTRYPOINT must reset the base image's CMD", cfg.Entrypoint, cfg.Cmd)
	}
	// History: one entry per instruction, metadata ones empty.
	h := img.Config.History
	if n := len(h); n < 5 {
		t.Fatalf("history has %d entries", n)
	}
	last := h[len(h)-1]
	if !last.EmptyLayer || !strings.Contains(last.CreatedBy, "ENTRYPOINT") {
		t.Errorf("last history entry %+v", last)
	}
	if got := e.runIn(t, "seed1", "cat", "/app/hello.txt", "/app/built.txt"); got != "hello world\nbuilt\n" {
		t.Errorf("files in image: %q", got)
	}

	// Unchanged rebuild: every step from the cache, same image.
	img2, out2 := e.mustBuild(t, files, Options{Tags: []string{"seed1"}})
	if img2.ID != img.ID {
		t.Errorf("cached rebuild made %s, want %s", img2.ID, img.ID)
	}
	if n := strings.Count(out2, "Using cache"); n != 4 {
		t.Errorf("cached rebuild used the cache %d times, want 4:\n%s", n, out2)
	}
	// A changed file invalidates from its ADD on.
	files["hello.txt"] = "changed\n"
	img3, out3 := e.mustBuild(t, files, Options{})
	if n := strings.Count(out3, "Using cache"); n != 1 {
		t.Errorf("after a change the cache was used %d times, want 1 (the RUN):\n%s", n, out3)
	}
	if img3.ID == img.ID {
		t.Error("changed context gave the same image")
	}
	// --no-cache.
	_, out4 := e.mustBuild(t, files, Options{NoCache: true})
	if strings.Contains(out4, "Using cache") {
		t.Errorf("--no-cache used the cache:\n%s", out4)
	}
}

func TestBuildCopyFolderMultiStageArgs(t *testing.T) {
	e := newTestEnv(t)
	e.mustBuild(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY site /srv/site\nCMD [\"ls\", \"/srv/site\"]\n",
		"site/": "", "site/index.html": "<h1>hi</h1>", "site/css/": "", "site/css/a.css": "a{}"}, Options{Tags: []string{"base2"}})
	if got := e.runIn(t, "base2", "cat", "/srv/site/index.html", "/srv/site/css/a.css"); got != "<h1>hi</h1>a{}" {
		t.Errorf("copied folder: %q", got)
	}

	df := `ARG BASE=busybox
FROM $BASE AS builder
ARG NAME=world
ENV GREETING="hello ${NAME}"
WORKDIR /work
RUN echo "$GREETING" > out.txt && echo "${UNSET:-fallback} ${NAME:+set}" >> out.txt
FROM busybox
ARG BASE
USER nobody
WORKDIR sub
COPY --from=builder --chown=nobody /work/out.txt ./
COPY --from=0 /work/out.txt /copy2.txt
RUN id -u > /tmp/uid && pwd > /tmp/pwd
`
	img, out := e.mustBuild(t, map[string]string{"Dockerfile": df}, Options{Tags: []string{"multi"}, BuildArgs: map[string]*string{"NAME": ptr("berth"), "UNUSED": ptr("x")}})
	if !strings.Contains(out, "[Warning] One or more build-args [UNUSED] were not consumed") {
		t.Errorf("no unused build-arg warning:\n%s", out)
	}
	if img.Config.Config.User != "nobody" || img.Config.Config.WorkingDir != "/sub" {
		t.Errorf("User %q WorkingDir %q", img.Config.Config.User, img.Config.Config.WorkingDir)
	}
	got := e.runIn(t, "multi", "sh", "-c", "cat /sub/out.txt /copy2.txt /tmp/uid /tmp/pwd; stat -c %u /sub/out.txt")
	want := "hello berth\nfallback set\nhello berth\nfallback set\n65534\n/sub\n65534\n"
	if got != want {
		t.Errorf("multi-stage result %q, want %q", got, want)
	}
}

func TestBuildOnbuildDockerignoreScratch(t *testing.T) {
	e := newTestEnv(t)
	e.mustBuild(t, map[string]string{"Dockerfile": "FROM busybox\nONBUILD COPY . /src\nONBUILD RUN touch /src/triggered\n"}, Options{Tags: []string{"parent"}})
	files := map[string]string{
		"Dockerfile":    "FROM parent\nRUN ls -a /src | sort | tr '\\n' ' ' > /list\n",
		".dockerignore": "secret*\n*.log\n!keep.log\n",
		"app.txt":       "app", "secret.txt": "s", "debug.log": "d", "keep.log": "k",
	}
	_, out := e.mustBuild(t, files, Options{Tags: []string{"child"}})
	if !strings.Contains(out, "# Executing 2 build triggers") {
		t.Errorf("triggers not announced:\n%s", out)
	}
	if got := e.runIn(t, "child", "cat", "/list"); got != ". .. .dockerignore Dockerfile app.txt keep.log triggered " {
		t.Errorf("/src holds %q", got)
	}
	// FROM scratch with a COPY, and a target stage.
	img, _ := e.mustBuild(t, map[string]string{"Dockerfile": "FROM scratch AS a\nCOPY f /f\nLABEL x=y\nFROM busybox\nRUN false\n", "f": "data"}, Options{Target: "a", Labels: map[string]string{"from": "cli"}})
	if img.Config.Config.Labels["x"] != "y" || img.Config.Config.Labels["from"] != "cli" {
		t.Errorf("labels %v", img.Config.Config.Labels)
	}
}

func TestBuildFailures(t *testing.T) {
	e := newTestEnv(t)
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"run fails", map[string]string{"Dockerfile": "FROM busybox\nRUN exit 3\n"}, "The command '/bin/sh -c exit 3' returned a non-zero code: 3"},
		{"copy parent", map[string]string{"Dockerfile": "FROM busybox\nCOPY ../x /x\n"}, "forbidden path outside the build context: ../x"},
		{"symlink to /etc", map[string]string{"Dockerfile": "FROM busybox\nCOPY etc/passwd /x\n", "etc": "->/etc"}, "inside the build context"},
		{"missing", map[string]string{"Dockerfile": "FROM busybox\nCOPY nope /x\n"}, "file not found in build context"},
		{"long line", map[string]string{"Dockerfile": "FROM busybox\nRUN echo " + strings.Repeat("a", 3<<20) + "\n"}, "dockerfile line greater than max allowed size"},
		{"unknown", map[string]string{"Dockerfile": "FROM busybox\nFOO bar\n"}, "unknown instruction: FOO"},
	}
	for _, c := range cases {
		_, out, err := e.build(t, c.files, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q\n%s", c.name, err, c.want, out)
		}
	}
	// The failed RUN's container is kept (no --force-rm), as Docker does;
	// the symlinked /etc was never read: the host's passwd is not in any
	// image.
}

func ptr(s string) *string { return &s }

func TestBuildRunLeavesNoRuntimeFiles(t *testing.T) {
	e := newTestEnv(t)
	base, err := e.imgs.Resolve(context.Background(), "busybox")
	if err != nil {
		t.Fatal(err)
	}
	img, out := e.mustBuild(t, map[string]string{"Dockerfile": "FROM busybox\nRUN true\n"}, Options{})
	if len(img.Layers) != len(base.Layers) {
		t.Errorf("RUN true added %d layer(s): the runtime's mount points (hosts, resolv.conf...) leaked into the image\n%s", len(img.Layers)-len(base.Layers), out)
	}
	ids, _ := e.imgs.RootfsIDs(context.Background())
	if len(ids) != 0 {
		t.Errorf("writable layers left after the build: %v", ids)
	}
}

// builtUsage is the test's ContainerUsage: the containers service is made
// after the image service, and the test runs one build at a time.
type builtUsage struct{ ctrs **containers.Service }

var _ images.ContainerUsage = builtUsage{}

func (u builtUsage) ImageUsers(id string) []string { return (*u.ctrs).ImageUsers(id) }
func (u builtUsage) IsRunning(id string) bool      { return (*u.ctrs).IsRunning(id) }
