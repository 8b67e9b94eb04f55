package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// remapStart is the first host id of berth-remap's range in file
// (/etc/subuid or /etc/subgid), or -1.
func remapStart(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Split(line, ":"); len(f) == 3 && f[0] == "berth-remap" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return -1
}

// usernsDaemon starts a daemon with "userns-remap": "default".
func usernsDaemon(t *testing.T) *Daemon {
	t.Helper()
	d := newStoppedDaemon(t)
	d.addConfig(t, map[string]any{"userns-remap": "default"})
	// As dockerd, berthd refuses a data-root the remapped root cannot reach.
	if err := d.Start(); err == nil || !strings.Contains(err.Error(), "restricts access to the remapped root") {
		t.Fatalf("userns-remap under a 0700 folder: want a refusal naming it, got %v", err)
	}
	if err := os.Chmod(d.Root, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := d.importBusybox(); err != nil {
		t.Fatal(err)
	}
	return d
}

// fileUID is the owner of path on the host.
func fileUID(t *testing.T, path string) int {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return int(st.Uid)
}

// TestUsernsRemap: with "userns-remap": "default", berthd creates the
// berth-remap user and its subordinate ranges (once), a container's init
// runs as the mapped id on the host, a file it writes into a bind mount is
// owned by the mapped id, image layers are shared (idmapped, not copied),
// --userns=host opts out, and what Docker refuses under userns is refused.
func TestUsernsRemap(t *testing.T) {
	d := usernsDaemon(t)
	uid, gid := remapStart(t, "/etc/subuid"), remapStart(t, "/etc/subgid")
	if uid <= 0 || gid <= 0 {
		t.Fatalf("no berth-remap range in /etc/subuid (%d) or /etc/subgid (%d)", uid, gid)
	}
	before, _ := os.ReadFile("/etc/subuid")
	d.Stop()
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile("/etc/subuid"); string(after) != string(before) {
		t.Errorf("a second start changed /etc/subuid (not idempotent):\nbefore %q\nafter  %q", before, after)
	}
	if err := exec.Command("id", "berth-remap").Run(); err != nil {
		t.Errorf("the berth-remap user does not exist: %v", err)
	}
	c := d.Docker(t)
	if out := c.Must(t, "info", "--format", "{{json .SecurityOptions}}"); !strings.Contains(out, "name=userns") {
		t.Errorf("docker info security options lack name=userns: %s", out)
	}

	layers := filepath.Join(d.DataRoot, "image", "layers")
	countLayers := func() int {
		ents, err := os.ReadDir(layers)
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	n0 := countLayers()

	bind := t.TempDir()
	os.Chmod(bind, 0o777)
	name := uniq("remapped")
	c.Must(t, "run", "-d", "--name", name, "-v", bind+":/bind", "busybox", "sh", "-c", "echo hi > /bind/f; echo layer > /added; sleep 300")
	defer c.Run(t, "rm", "-f", name)
	var pid int
	fmt.Sscan(c.Must(t, "inspect", "-f", "{{.State.Pid}}", name), &pid)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && (f[0] == "Uid:" || f[0] == "Gid:") {
			want := strconv.Itoa(uid)
			if f[0] == "Gid:" {
				want = strconv.Itoa(gid)
			}
			if f[1] != want {
				t.Errorf("the container's init runs as %s %s on the host, want %s", f[0], f[1], want)
			}
		}
	}
	waitUntil(t, 20*time.Second, "the container to write into the bind mount", func() bool {
		_, err := os.Stat(filepath.Join(bind, "f"))
		return err == nil
	})
	if got := fileUID(t, filepath.Join(bind, "f")); got != uid {
		t.Errorf("a file written into a bind mount is owned by %d on the host, want the mapped %d", got, uid)
	}
	if out := c.Must(t, "exec", name, "sh", "-c", "id -u; stat -c %u /bin/busybox; cat /proc/self/uid_map"); !strings.HasPrefix(out, "0\n0\n") || !strings.Contains(out, strconv.Itoa(uid)) {
		t.Errorf("inside: want root owning the image's files and a mapping to %d, got %q", uid, out)
	}
	// A volume's root belongs to the remapped root, as with Docker.
	vol := uniq("remapvol")
	defer c.Run(t, "volume", "rm", vol)
	c.Must(t, "run", "--rm", "-v", vol+":/data", "busybox", "sh", "-c", "echo v > /data/f")
	if out := c.Must(t, "run", "--rm", "-v", vol+":/data", "busybox", "cat", "/data/f"); out != "v" {
		t.Errorf("a volume written by a remapped container reads %q", out)
	}

	// Layers are shared: a commit adds one layer; running the new image
	// remapped copies none; on disk the image's files keep their ids.
	img := strings.ToLower(uniq("remapcommit"))
	c.Must(t, "commit", name, img)
	defer c.Run(t, "rmi", img)
	if out := c.Must(t, "run", "--rm", img, "cat", "/added"); out != "layer" {
		t.Errorf("the committed image of a remapped container: /added = %q", out)
	}
	if n := countLayers(); n != n0+1 {
		t.Errorf("layers on disk: %d before, %d after a commit and two remapped runs; want one more (shared, not copied per mapping)", n0, n)
	}
	ents, _ := os.ReadDir(layers)
	for _, e := range ents {
		if p := filepath.Join(layers, e.Name(), "bin", "busybox"); fileExists(p) && fileUID(t, p) != 0 {
			t.Errorf("the image layer's %s is owned by %d on disk: layers must not be chowned", p, fileUID(t, p))
		}
		if p := filepath.Join(layers, e.Name(), "added"); fileExists(p) && fileUID(t, p) != 0 {
			t.Errorf("the committed layer's /added is owned by %d on disk, want 0 (the container's root)", fileUID(t, p))
		}
	}

	// The remapped root serves on port 80 of its netns (berthd opens ports
	// below 1024 there, as Docker does), published on the host.
	web := uniq("remapweb")
	runHttpd(t, c, web, "remapped", "-p", "127.0.0.1::80")
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", hostPort(t, c, web, "127.0.0.1")), "remapped")

	if out := c.Must(t, "run", "--rm", "--userns=host", "busybox", "cat", "/proc/self/uid_map"); strings.Fields(out)[1] != "0" {
		t.Errorf("--userns=host: uid_map %q, want the host's identity mapping", out)
	}
	c.Must(t, "run", "--rm", "--userns=host", "--privileged", "busybox", "true")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--privileged"}, "privileged mode is incompatible with user namespaces"},
		{[]string{"--network=host"}, "Cannot share the host's network namespace when user namespaces are enabled"},
		{[]string{"--pid=host"}, "Cannot share the host PID namespace when user namespaces are enabled"},
	} {
		if r := c.Run(t, append(append([]string{"run", "--rm"}, tc.args...), "busybox", "true")...); r.Exit == 0 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("run %v under userns-remap: want a refusal with %q, got %s", tc.args, tc.want, r)
		}
	}
	if hasRunsc() {
		if r := c.Run(t, "run", "--rm", "--isolation=sandbox", "busybox", "true"); r.Exit == 0 || !strings.Contains(r.Stderr, "--userns=host") {
			t.Errorf("sandbox under userns-remap: want a refusal naming --userns=host, got %s", r)
		}
	}
}

// TestUsernsRemapBadConfig: a bad userns-remap value is refused by name.
func TestUsernsRemapBadConfig(t *testing.T) {
	d := newStoppedDaemon(t)
	for _, v := range []string{"root", "no-such-user-here", "default:x"} {
		d.addConfig(t, map[string]any{"userns-remap": v})
		if err := d.Start(); err == nil {
			d.Stop()
			t.Errorf("berthd started with userns-remap %q", v)
		} else if !strings.Contains(err.Error(), "userns-remap") {
			t.Errorf("userns-remap %q: the refusal does not name the key: %v", v, err)
		}
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// hasRunsc reports whether gVisor's runsc is installed.
func hasRunsc() bool {
	if _, err := exec.LookPath("runsc"); err == nil {
		return true
	}
	_, err := os.Stat("/usr/local/bin/runsc")
	return err == nil
}
