package e2e

import (
	"archive/tar"
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// /sys/fs/cgroup is read-only inside a container on every runtime, the
// tmpfs that holds the v1 hierarchies included; --privileged lifts it, as
// Docker does.
func TestCgroupFSReadOnly(t *testing.T) {
	d := sharedDaemon(t, "run")
	c := d.Docker(t)
	for _, rt := range []string{"crun", "runc"} {
		r := c.Run(t, "run", "--rm", "--runtime", rt, "busybox", "sh", "-c",
			"touch /sys/fs/cgroup/x 2>&1; mkdir /sys/fs/cgroup/y 2>&1; ls /sys/fs/cgroup >/dev/null && echo listed")
		if r.Exit != 0 || !strings.Contains(r.Stdout, "Read-only file system") || strings.Count(r.Stdout, "Read-only file system") != 2 || !strings.Contains(r.Stdout, "listed") {
			t.Errorf("%s: writes to /sys/fs/cgroup: %s, want both refused with Read-only file system and the folder readable", rt, r)
		}
		if r := c.Run(t, "run", "--rm", "--runtime", rt, "--privileged", "busybox", "sh", "-c", "grep ' /sys/fs/cgroup ' /proc/mounts"); r.Exit != 0 || strings.Contains(r.Stdout, " ro,") {
			t.Errorf("%s --privileged: /sys/fs/cgroup mount %s, want read-write", rt, r)
		}
	}
}

// Paths that go into the OCI spec are checked at create (400), not left
// to the runtime: a relative device path made crun create the node on the
// host, relative to its own working directory.
func TestSpecPathsValidated(t *testing.T) {
	d := sharedDaemon(t, "run")
	for _, tc := range []struct {
		body, want string
	}{
		{`{"Image":"busybox","Cmd":["true"],"HostConfig":{"Devices":[{"PathOnHost":"/dev/null","PathInContainer":"../../../../tmp/secfs-dev","CgroupPermissions":"rwm"}]}}`, "../../../../tmp/secfs-dev is not an absolute path"},
		{`{"Image":"busybox","Cmd":["true"],"HostConfig":{"Devices":[{"PathOnHost":"dev/null","PathInContainer":"/dev/x","CgroupPermissions":"rwm"}]}}`, "dev/null is not an absolute path"},
		{`{"Image":"busybox","Cmd":["true"],"HostConfig":{"Devices":[{"PathOnHost":"/dev/null","PathInContainer":"/dev/x","CgroupPermissions":"rwx"}]}}`, "invalid device mode: rwx"},
		{`{"Image":"busybox","Cmd":["true"],"WorkingDir":"tmp"}`, "the working directory 'tmp' is invalid, it needs to be an absolute path"},
		{`{"Image":"busybox","Cmd":["true"],"HostConfig":{"Binds":["/tmp:../x"]}}`, "must be absolute"},
		{`{"Image":"busybox","Cmd":["true"],"HostConfig":{"Tmpfs":{"x/y":""}}}`, "must be absolute"},
		{`{"Image":"busybox","Cmd":["true"],"HostConfig":{"Mounts":[{"Type":"tmpfs","Target":"../t"}]}}`, "must be absolute"},
	} {
		code, _, body := d.API(t, "POST", "/v1.47/containers/create", "application/json", tc.body)
		if code != 400 || !strings.Contains(body, tc.want) {
			t.Errorf("create %s: %d %s, want 400 with %q", tc.body, code, body, tc.want)
		}
	}
	if _, err := os.Lstat("/tmp/secfs-dev"); err == nil {
		t.Errorf("a device node appeared on the host at /tmp/secfs-dev")
	}

	c := d.Docker(t)
	if r := c.Run(t, "run", "--rm", "-w", "rel/dir", "busybox", "pwd"); r.Exit != 125 || !strings.Contains(r.Stderr, "it needs to be an absolute path") {
		t.Errorf("run -w rel/dir: %s, want exit 125 and Docker's message", r)
	}
	// Absolute paths are cleaned, not refused.
	if r := c.Run(t, "run", "--rm", "--device", "/dev/null:/dev/../dev/mynull", "-w", "/tmp/../etc", "busybox", "sh", "-c", "pwd; test -c /dev/mynull && echo dev"); r.Exit != 0 || r.Out() != "/etc\ndev" {
		t.Errorf("run with clean-able paths: %s, want /etc and the device", r)
	}

	name := uniq("execwd")
	c.Must(t, "run", "-d", "--name", name, "busybox", "sleep", "60")
	defer c.Run(t, "rm", "-f", name)
	code, _, body := d.API(t, "POST", "/v1.47/containers/"+name+"/exec", "application/json", `{"Cmd":["pwd"],"WorkingDir":"../.."}`)
	if code != 400 || !strings.Contains(body, "it needs to be an absolute path") {
		t.Errorf("exec with WorkingDir ../..: %d %s, want 400", code, body)
	}
	if r := c.Run(t, "exec", "-w", "/usr/../bin", name, "pwd"); r.Exit != 0 || r.Out() != "/bin" {
		t.Errorf("exec -w /usr/../bin: %s, want /bin", r)
	}
}

// tinyRootfsTar is a one-file rootfs tarball.
func tinyRootfsTar(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data := []byte("hello\n")
	if err := tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(data)
	tw.Close()
	return buf.Bytes()
}

// fromSrc takes an http(s) URL or "-"; anything else is a 400 (a path or
// file:// URL would read the daemon's files, a bare name became a DNS
// lookup).
func TestImportFromSrcURLOnly(t *testing.T) {
	d := sharedDaemon(t, "images")
	for _, src := range []string{"file:///etc/passwd", "/etc/passwd", "etc/passwd", "secfs-no-such-host.invalid/x.tar", "ftp://127.0.0.1/x.tar", "http://", "http:///x.tar"} {
		code, _, body := d.API(t, "POST", "/v1.47/images/create?fromSrc="+url.QueryEscape(src), "application/x-tar", "")
		if code != 400 || !strings.Contains(body, "invalid fromSrc") {
			t.Errorf("fromSrc=%s: %d %s, want 400 naming fromSrc", src, code, body)
		}
	}
	tarball := tinyRootfsTar(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(tarball) }))
	defer srv.Close()
	c := d.Docker(t)
	ref := uniq("secfs-url-import") + ":v1"
	c.Must(t, "import", srv.URL+"/rootfs.tar", ref)
	defer c.Run(t, "rmi", ref)
	if out := c.Must(t, "image", "inspect", "--format", "{{len .RootFS.Layers}}", ref); out != "1" {
		t.Errorf("imported image has %s layers, want 1", out)
	}
}

// A local volume with a bind device cannot expose the data root; a volume
// with a 255-byte name can be removed.
func TestVolumeDeviceAndLongName(t *testing.T) {
	d := sharedDaemon(t, "volumes")
	c := d.Docker(t)
	for _, dev := range []string{d.DataRoot, d.DataRoot + "/volumes", d.ExecRoot} {
		if r := c.Run(t, "volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt", "device="+dev, uniq("secfs-dr")); r.Exit == 0 || !strings.Contains(r.Stderr, "engine's own folder") {
			t.Errorf("volume create with device %s: %s, want refused", dev, r)
		}
	}
	name := "v" + strings.Repeat("l", 254)
	c.Must(t, "volume", "create", name)
	if r := c.Run(t, "volume", "rm", name); r.Exit != 0 {
		t.Fatalf("volume rm of a 255-byte name: %s", r)
	}
	if r := c.Run(t, "volume", "inspect", name); r.Exit == 0 {
		t.Errorf("volume still there after rm")
	}
}

// Folders COPY, ADD and WORKDIR create are 0755, as in Docker: `COPY .
// /ctx/` made /ctx 0700 (the mode of the daemon's temp copy of the
// context), unreadable for a non-root USER.
func TestBuildCreatedDirModes(t *testing.T) {
	d := sharedDaemon(t, "build")
	c := d.Docker(t)
	df := "FROM busybox\nCOPY . /ctx/\nCOPY sub /deep/a/b/\nADD sub /added/\nWORKDIR /wd/x/y\nUSER 1234\n" +
		"RUN cat /ctx/f /deep/a/b/g /added/g && stat -c '%a %n' /ctx /deep /deep/a /deep/a/b /added /wd /wd/x /wd/x/y\n"
	dir := writeContext(t, map[string]string{"Dockerfile": df, "f": "F\n", "sub/g": "G\n"})
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	r := mustBuild(t, c, nil, "-t", uniq("secfs-modes"), "--no-cache", dir)
	wantContains(t, "build output", r.Stdout, "F\nG\nG\n", "755 /ctx\n", "755 /deep\n", "755 /deep/a\n", "755 /deep/a/b\n", "755 /added\n", "755 /wd\n", "755 /wd/x\n", "755 /wd/x/y\n")
}

// plantTree makes dirs×files empty files below p.
func plantTree(t *testing.T, p string, dirs, files int) {
	t.Helper()
	for i := 0; i < dirs; i++ {
		d := filepath.Join(p, fmt.Sprintf("d%03d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < files; j++ {
			f, err := os.Create(filepath.Join(d, fmt.Sprintf("f%04d", j)))
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
}

// Leftovers of a cut-short import (and of a delete a crash interrupted)
// are removed in the background: berthd answers /_ping before they are
// gone, they go eventually, and nothing still referenced goes with them.
func TestStartupLeftoversInBackground(t *testing.T) {
	d := newStoppedDaemon(t)
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := d.importBusybox(); err != nil {
		t.Fatal(err)
	}
	if !d.Stop() {
		t.Fatal("berthd did not stop")
	}
	imgRoot := filepath.Join(d.DataRoot, "image")
	leftover := filepath.Join(imgRoot, "tmp", "layer-cutshort")
	plantTree(t, leftover, 100, 800) // 80,000 files
	// A delete a crash interrupted, in the image trash and in volumes.
	plantTree(t, filepath.Join(imgRoot, "trash", "interrupted"), 2, 10)
	plantTree(t, filepath.Join(d.DataRoot, "volumes", ".trash-interrupted"), 2, 10)
	// And removed containers' folders and state directories.
	containerTrash := []string{filepath.Join(d.DataRoot, "trash", "containers"), filepath.Join(d.ExecRoot, "trash", "containers")}
	for _, dir := range containerTrash {
		plantTree(t, filepath.Join(dir, "interrupted"), 2, 10)
	}

	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	// Serving now: the leftover left tmp at once (one rename) and is
	// still being deleted.
	if _, err := os.Lstat(leftover); !os.IsNotExist(err) {
		t.Errorf("leftover still in tmp when /_ping answered (%v)", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(imgRoot, "trash")); len(ents) == 0 {
		t.Errorf("leftovers all deleted before /_ping answered: start-up waited for the deletion")
	}
	eventually(t, 2*time.Minute, func() error {
		for _, dir := range append([]string{filepath.Join(imgRoot, "trash"), filepath.Join(imgRoot, "tmp")}, containerTrash...) {
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				return fmt.Errorf("%s still holds %d entries", dir, len(ents))
			}
		}
		if _, err := os.Lstat(filepath.Join(d.DataRoot, "volumes", ".trash-interrupted")); !os.IsNotExist(err) {
			return fmt.Errorf("volume trash still there (%v)", err)
		}
		return nil
	})
	// What is referenced stayed: the image still runs.
	if r := d.Berth().Run(t, "run", "--rm", "busybox", "echo", "still here"); r.Exit != 0 || r.Out() != "still here" {
		t.Errorf("run after start-up cleanup: %s", r)
	}
}
