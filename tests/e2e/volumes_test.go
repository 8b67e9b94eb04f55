package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// Issue 5: volumes, bind mounts, tmpfs, cp and the writable layer, through
// both CLIs against one shared daemon (the restart test has its own).

// volumeExists asks the API whether volume name exists.
func volumeExists(t *testing.T, d *Daemon, name string) bool {
	t.Helper()
	code, _, body := d.API(t, "GET", "/volumes/"+name, "", "")
	switch code {
	case 200:
		return true
	case 404:
		return false
	}
	t.Fatalf("GET /volumes/%s: HTTP %d %s", name, code, body)
	return false
}

// volumeNames lists every volume's name, sorted.
func volumeNames(t *testing.T, d *Daemon) []string {
	t.Helper()
	code, _, body := d.API(t, "GET", "/volumes", "", "")
	if code != 200 {
		t.Fatalf("GET /volumes: HTTP %d %s", code, body)
	}
	var resp struct{ Volumes []struct{ Name string } }
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range resp.Volumes {
		out = append(out, v.Name)
	}
	sort.Strings(out)
	return out
}

type apiMount struct {
	Type, Name, Source, Destination, Driver, Mode, Propagation string
	RW                                                         bool
}

func containerMounts(t *testing.T, d *Daemon, name string) []apiMount {
	t.Helper()
	code, _, body := d.API(t, "GET", "/containers/"+name+"/json", "", "")
	if code != 200 {
		t.Fatalf("inspect %s: HTTP %d %s", name, code, body)
	}
	var resp struct{ Mounts []apiMount }
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Mounts
}

func hostRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// hostDir is a temp folder a container can use as a bind source (t.TempDir
// is fine: containers run as root).
func hostDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "berth-vol-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// A named volume written by one container is read by the next; it survives
// container removal and cannot be removed while a container uses it.
func TestVolumeNamedPersists(t *testing.T) {
	d := sharedDaemon(t, "volumes")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		vol := uniq("named-" + c.Name)
		w := uniq("vw-" + c.Name)
		c.Must(t, "run", "--name", w, "-v", vol+":/data", "busybox", "sh", "-c", "echo kept > /data/f")
		if !volumeExists(t, d, vol) {
			t.Fatalf("run -v %s:/data did not create the volume", vol)
		}
		if out := c.Must(t, "run", "--rm", "-v", vol+":/data", "busybox", "cat", "/data/f"); out != "kept" {
			t.Errorf("next container reads %q, want kept", out)
		}
		// In use by a (stopped) container: refused with Docker's message.
		r := c.Run(t, "volume", "rm", vol)
		if r.Exit == 0 || !strings.Contains(r.Stderr, "volume is in use") {
			t.Errorf("volume rm of a volume in use: %s, want failure with \"volume is in use\"", r)
		}
		c.Must(t, "rm", w)
		if !volumeExists(t, d, vol) {
			t.Fatal("removing the container removed its named volume")
		}
		c.Must(t, "rm", "-v", c.Must(t, "create", "-v", vol+":/data", "busybox"))
		if !volumeExists(t, d, vol) {
			t.Fatal("rm -v removed a named volume")
		}
		if out := c.Must(t, "run", "--rm", "-v", vol+":/data:ro", "busybox", "cat", "/data/f"); out != "kept" {
			t.Errorf("after the writer's removal the volume holds %q, want kept", out)
		}
		c.Must(t, "volume", "rm", vol)
		if volumeExists(t, d, vol) {
			t.Error("volume rm did not remove the volume")
		}
	})
}

func TestVolumeCLI(t *testing.T) {
	d := sharedDaemon(t, "volumes")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		a, b := uniq("cli-a-"+c.Name), uniq("cli-b-"+c.Name)
		if out := c.Must(t, "volume", "create", "--label", "team=x", a); out != a {
			t.Errorf("volume create prints %q, want %q", out, a)
		}
		if out := c.Must(t, "volume", "create", "--name", b, "--driver", "local"); out != b {
			t.Errorf("volume create --name prints %q, want %q", out, b)
		}
		r := c.Run(t, "volume", "create", "--driver", "nosuch", uniq("bad"))
		if r.Exit == 0 {
			t.Errorf("volume create with an unknown driver: %s, want failure", r)
		}
		lines := strings.Split(c.Must(t, "volume", "ls", "-q"), "\n")
		if !contains(lines, a) || !contains(lines, b) {
			t.Errorf("volume ls -q: %q, want both %s and %s", lines, a, b)
		}
		if out := c.Must(t, "volume", "ls", "-q", "--filter", "label=team=x", "--filter", "name="+c.Name); out != a {
			t.Errorf("ls --filter label=team=x: %q, want %q", out, a)
		}
		if out := c.Must(t, "volume", "ls", "-q", "--filter", "name="+b); out != b {
			t.Errorf("ls --filter name=%s: %q", b, out)
		}
		if out := c.Must(t, "volume", "ls", "--format", "{{.Driver}} {{.Name}}", "--filter", "name="+a); out != "local "+a {
			t.Errorf("ls --format: %q, want \"local %s\"", out, a)
		}
		// Table header in Docker's columns.
		if out := c.Must(t, "volume", "ls", "--filter", "name="+a); !strings.HasPrefix(out, "DRIVER") || !strings.Contains(out, "VOLUME NAME") {
			t.Errorf("volume ls table: %q", out)
		}
		// Dangling: b is used by a container, a is not.
		ctr := c.Must(t, "create", "-v", b+":/data", "busybox")
		dangling := strings.Split(c.Must(t, "volume", "ls", "-q", "--filter", "dangling=true"), "\n")
		if !contains(dangling, a) || contains(dangling, b) {
			t.Errorf("ls --filter dangling=true: %q, want %s and not %s", dangling, a, b)
		}
		used := strings.Split(c.Must(t, "volume", "ls", "-q", "--filter", "dangling=false"), "\n")
		if contains(used, a) || !contains(used, b) {
			t.Errorf("ls --filter dangling=false: %q, want %s and not %s", used, b, a)
		}
		out := c.Must(t, "volume", "inspect", "--format", "{{.Name}} {{.Driver}} {{.Scope}} {{index .Labels \"team\"}}", a)
		if out != a+" local local x" {
			t.Errorf("volume inspect --format: %q", out)
		}
		var vols []struct{ Name, Mountpoint, CreatedAt string }
		if err := json.Unmarshal([]byte(c.Must(t, "volume", "inspect", a)), &vols); err != nil || len(vols) != 1 {
			t.Fatalf("volume inspect JSON: %v %v", err, vols)
		}
		if !strings.HasPrefix(vols[0].Mountpoint, d.DataRoot+"/") || vols[0].CreatedAt == "" {
			t.Errorf("volume inspect: %+v, want a Mountpoint under %s and CreatedAt", vols[0], d.DataRoot)
		}
		if st, err := os.Stat(vols[0].Mountpoint); err != nil || !st.IsDir() {
			t.Errorf("the volume's Mountpoint is not a folder: %v", err)
		}
		if r := c.Run(t, "volume", "inspect", "nosuchvolume"); r.Exit == 0 || !strings.Contains(r.Stderr, "no such volume") {
			t.Errorf("volume inspect of a missing volume: %s", r)
		}
		// rm -f of a volume in use is still refused (Docker refuses it too).
		if r := c.Run(t, "volume", "rm", b); r.Exit == 0 || !strings.Contains(r.Stderr, "volume is in use") {
			t.Errorf("volume rm of a used volume: %s", r)
		}
		// prune without -a keeps named volumes; -a removes unused named ones.
		c.Must(t, "volume", "prune", "-f")
		if !volumeExists(t, d, a) {
			t.Error("volume prune (without -a) removed a named volume")
		}
		c.Must(t, "volume", "prune", "-f", "-a", "--filter", "label=team=x")
		if volumeExists(t, d, a) || !volumeExists(t, d, b) {
			t.Errorf("volume prune -a --filter label=team=x: %s exists %v, %s exists %v; want only %s gone",
				a, volumeExists(t, d, a), b, volumeExists(t, d, b), a)
		}
		c.Must(t, "rm", ctr)
		c.Must(t, "volume", "rm", b)
		if r := c.Run(t, "volume", "rm", b); r.Exit == 0 {
			t.Errorf("volume rm of a removed volume: %s, want failure", r)
		}
		c.Must(t, "volume", "rm", "-f", b) // -f: a missing volume is no error
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A bind mount shows host files and host changes while the container runs;
// :ro and readonly refuse writes.
func TestBindMount(t *testing.T) {
	d := sharedDaemon(t, "volumes")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		dir := hostDir(t)
		if err := os.WriteFile(filepath.Join(dir, "before"), []byte("host1"), 0o644); err != nil {
			t.Fatal(err)
		}
		n := uniq("bind-" + c.Name)
		c.Must(t, "run", "-d", "--name", n, "-v", dir+":/h", "busybox", "sleep", "60")
		defer c.Run(t, "rm", "-f", n)
		if out := c.Must(t, "exec", n, "cat", "/h/before"); out != "host1" {
			t.Errorf("container reads %q from the bind mount, want host1", out)
		}
		if err := os.WriteFile(filepath.Join(dir, "during"), []byte("host2"), 0o644); err != nil {
			t.Fatal(err)
		}
		if out := c.Must(t, "exec", n, "cat", "/h/during"); out != "host2" {
			t.Errorf("container reads %q for a file the host wrote while it runs, want host2", out)
		}
		c.Must(t, "exec", n, "sh", "-c", "echo ctr > /h/fromctr")
		if got := hostRead(t, filepath.Join(dir, "fromctr")); got != "ctr\n" {
			t.Errorf("host reads %q from the container's write, want ctr", got)
		}
		ms := containerMounts(t, d, n)
		if len(ms) != 1 || ms[0].Type != "bind" || ms[0].Source != dir || ms[0].Destination != "/h" ||
			!ms[0].RW || ms[0].Propagation != "rprivate" {
			t.Errorf("inspect Mounts: %+v, want one rw bind %s -> /h with rprivate", ms, dir)
		}
		for _, args := range [][]string{
			{"-v", dir + ":/h:ro"},
			{"--mount", "type=bind,src=" + dir + ",dst=/h,readonly"},
			{"--mount", "type=bind,source=" + dir + ",target=/h,ro=true"},
		} {
			a := append(append([]string{"run", "--rm"}, args...), "busybox", "sh", "-c", "cat /h/before && touch /h/x")
			r := c.Run(t, a...)
			if r.Exit == 0 || !strings.Contains(r.Stdout, "host1") || !strings.Contains(r.Stderr, "Read-only file system") {
				t.Errorf("%s: want the file read and the write refused with Read-only file system", r)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
			t.Error("a read-only bind mount let the container write to the host")
		}
		ro := uniq("bindro-" + c.Name)
		c.Must(t, "create", "--name", ro, "-v", dir+":/h:ro", "busybox")
		if ms := containerMounts(t, d, ro); len(ms) != 1 || ms[0].RW || ms[0].Mode != "ro" {
			t.Errorf("inspect of -v ...:ro: %+v, want RW false, Mode ro", ms)
		}
		c.Must(t, "rm", ro)

		// -v creates a missing host folder; --mount refuses it.
		missing := filepath.Join(dir, "made", "by-v")
		c.Must(t, "run", "--rm", "-v", missing+":/m", "busybox", "true")
		if st, err := os.Stat(missing); err != nil || !st.IsDir() {
			t.Errorf("-v with a missing host folder did not create it: %v", err)
		}
		nothere := filepath.Join(dir, "nothere")
		r := c.Run(t, "run", "--rm", "--mount", "type=bind,src="+nothere+",dst=/m", "busybox", "true")
		if r.Exit != 125 || !strings.Contains(r.Stderr, "bind source path does not exist: "+nothere) {
			t.Errorf("--mount with a missing source: %s, want exit 125 and Docker's \"bind source path does not exist\"", r)
		}
		if _, err := os.Stat(nothere); err == nil {
			t.Error("--mount type=bind created its missing source")
		}
	})
}

// Bad mount specifications are refused before anything runs, and nothing
// outside the container is written.
func TestMountErrors(t *testing.T) {
	d := sharedDaemon(t, "volumes")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		dir := hostDir(t)
		before := volumeNames(t, d)
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--mount", "type=bind,src=" + dir + ",dst=relative"}, "absolute"},
			{[]string{"-v", dir + ":relative"}, "absolute"},
			{[]string{"-v", dir + ":/d", "-v", "v1:/d"}, "Duplicate mount point: /d"},
			{[]string{"-v", "v1:/d", "--mount", "type=tmpfs,dst=/d"}, "Duplicate mount point: /d"},
			{[]string{"--mount", "type=nosuch,dst=/d"}, "nosuch"},
			{[]string{"-v", dir + ":/"}, "/"},
		} {
			a := append(append([]string{"run", "--rm"}, tc.args...), "busybox", "true")
			r := c.Run(t, a...)
			if r.Exit == 0 || !strings.Contains(r.Stderr, tc.want) {
				t.Errorf("%s: want failure mentioning %q", r, tc.want)
			}
		}
		// A relative bind source: the CLIs make "../x" absolute, the API
		// refuses it.
		if r := c.Run(t, "run", "--rm", "--mount", "type=bind,src=../x,dst=/x", "busybox", "true"); r.Exit == 0 {
			t.Errorf("--mount src=../x: %s, want failure", r)
		}
		code, _, body := d.API(t, "POST", "/containers/create", "application/json",
			`{"Image":"busybox","HostConfig":{"Mounts":[{"Type":"bind","Source":"../x","Target":"/x"}]}}`)
		if code != 400 || !strings.Contains(body, "absolute") {
			t.Errorf("create with a relative bind source: HTTP %d %s, want 400 mentioning absolute", code, body)
		}
		// -v onto /proc (or below it) is refused; the host's /proc is not
		// replaced in any container.
		for _, dst := range []string{"/proc", "/proc/sys"} {
			r := c.Run(t, "run", "--rm", "-v", dir+":"+dst, "busybox", "sh", "-c", "ls "+dst+" >/dev/null; touch "+dst+"/pwned")
			if r.Exit == 0 {
				t.Errorf("-v onto %s: %s, want refusal", dst, r)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
			t.Error("a mount onto /proc wrote into the host folder")
		}
		if after := volumeNames(t, d); strings.Join(after, ",") != strings.Join(before, ",") {
			t.Errorf("refused runs left volumes: before %v, after %v", before, after)
		}
	})
}

// tmpfs is empty at each start and its files are not on disk.
func TestTmpfs(t *testing.T) {
	d := sharedDaemon(t, "volumes")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		n := uniq("tmpfs-" + c.Name)
		marker := "tmpfs-marker-" + n
		c.Must(t, "run", "-d", "--name", n, "--tmpfs", "/t:size=1m,mode=1777", "--mount", "type=tmpfs,dst=/t2,tmpfs-size=2m,tmpfs-mode=0700",
			"busybox", "sleep", "60")
		defer c.Run(t, "rm", "-f", n)
		if out := c.Must(t, "exec", n, "sh", "-c", "ls -A /t /t2 | grep -v : | grep . || true"); out != "" {
			t.Errorf("fresh tmpfs not empty: %q", out)
		}
		c.Must(t, "exec", n, "sh", "-c", "echo x > /t/"+marker+"; echo x > /t2/"+marker)
		mounts := c.Must(t, "exec", n, "cat", "/proc/mounts")
		for _, want := range []string{"tmpfs /t tmpfs", "tmpfs /t2 tmpfs"} {
			if !strings.Contains(mounts, want) {
				t.Errorf("/proc/mounts has no %q:\n%s", want, mounts)
			}
		}
		if out := c.Must(t, "exec", n, "stat", "-c", "%a", "/t", "/t2"); out != "1777\n700" {
			t.Errorf("tmpfs modes: %q, want 1777 and 700", out)
		}
		if out := c.Must(t, "exec", n, "sh", "-c", "df -k /t2 | tail -1 | awk '{print $2}'"); out != "2048" {
			t.Errorf("tmpfs-size=2m gives %q KiB, want 2048", out)
		}
		// Not on disk: no file with the marker's name anywhere under the
		// daemon's data root.
		filepath.WalkDir(d.DataRoot, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.Name() == marker {
				t.Errorf("a tmpfs file is on disk: %s", p)
			}
			return nil
		})
		c.Must(t, "restart", "-t", "0", n)
		if out := c.Must(t, "exec", n, "sh", "-c", "ls -A /t /t2 | grep -v : | grep . || true"); out != "" {
			t.Errorf("tmpfs not empty after restart: %q", out)
		}
	})
}

// makeVolumeImage commits an image whose /data holds seed and declares
// VOLUME /data.
func makeVolumeImage(t *testing.T, c CLI, tag string) {
	t.Helper()
	b := uniq("imgsrc-" + c.Name)
	c.Must(t, "run", "--name", b, "busybox", "sh", "-c", "mkdir -p /data && echo seed > /data/seed && chown 7:8 /data/seed && chmod 640 /data/seed")
	c.Must(t, "commit", "-c", "VOLUME /data", b, tag)
	c.Must(t, "rm", b)
	t.Cleanup(func() { c.Run(t, "rmi", "-f", tag) })
}

// VOLUME in an image: an anonymous volume, filled from the image (copy-up),
// removed by rm -v and --rm; named volumes stay.
func TestVolumeFromImage(t *testing.T) {
	d := sharedDaemon(t, "volumes")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		img := "volimg-" + c.Name + ":1"
		makeVolumeImage(t, c, img)
		if out := c.Must(t, "image", "inspect", "--format", "{{json .Config.Volumes}}", img); out != `{"/data":{}}` {
			t.Errorf("image Config.Volumes: %s", out)
		}
		n := uniq("anon-" + c.Name)
		c.Must(t, "run", "--name", n, img, "sh", "-c", "cat /data/seed; echo more > /data/more")
		if out := c.Must(t, "logs", n); out != "seed" {
			t.Errorf("anonymous volume from VOLUME holds %q, want the image's seed (copy-up)", out)
		}
		ms := containerMounts(t, d, n)
		if len(ms) != 1 || ms[0].Type != "volume" || len(ms[0].Name) != 64 || ms[0].Destination != "/data" ||
			ms[0].Driver != "local" || !ms[0].RW || !strings.HasPrefix(ms[0].Source, d.DataRoot+"/") {
			t.Fatalf("inspect Mounts: %+v, want one anonymous local volume at /data", ms)
		}
		anon := ms[0].Name
		// Copy-up keeps ownership and mode.
		if out := c.Must(t, "run", "--rm", "-v", anon+":/v", "busybox", "stat", "-c", "%u:%g %a", "/v/seed"); out != "7:8 640" {
			t.Errorf("copied-up file: %q, want 7:8 640", out)
		}
		// Restarting the container does not copy up again over its data.
		c.Must(t, "start", "-a", n)
		if out := c.Must(t, "run", "--rm", "-v", anon+":/v", "busybox", "cat", "/v/more"); out != "more" {
			t.Errorf("volume data after restart: %q", out)
		}
		c.Must(t, "rm", "-v", n)
		if volumeExists(t, d, anon) {
			t.Errorf("rm -v left the anonymous volume %s", anon)
		}

		// A new named volume over the image folder is filled too, unless
		// volume-nocopy; an existing non-empty one is not touched.
		named := uniq("copyup-" + c.Name)
		if out := c.Must(t, "run", "--rm", "-v", named+":/data", img, "cat", "/data/seed"); out != "seed" {
			t.Errorf("new named volume over /data holds %q, want seed", out)
		}
		c.Must(t, "run", "--rm", "-v", named+":/data", img, "sh", "-c", "echo changed > /data/seed")
		if out := c.Must(t, "run", "--rm", "-v", named+":/data", img, "cat", "/data/seed"); out != "changed" {
			t.Errorf("a used volume was copied up again: %q", out)
		}
		nocopy := uniq("nocopy-" + c.Name)
		if out := c.Must(t, "run", "--rm", "--mount", "type=volume,src="+nocopy+",dst=/data,volume-nocopy", img, "ls", "-A", "/data"); out != "" {
			t.Errorf("volume-nocopy volume holds %q, want empty", out)
		}
		// Copy-up also works for an ordinary image folder with -v.
		etc := uniq("etc-" + c.Name)
		if out := c.Must(t, "run", "--rm", "-v", etc+":/etc", "busybox", "cat", "/etc/passwd"); !strings.Contains(out, "root:") {
			t.Errorf("named volume over /etc: %q, want the image's passwd", out)
		}

		// --rm removes the anonymous volume, never the named ones.
		before := volumeNames(t, d)
		c.Must(t, "run", "--rm", img, "true")
		c.Must(t, "run", "--rm", "-v", "/anon2", "-v", named+":/named", "busybox", "true")
		if after := volumeNames(t, d); strings.Join(after, ",") != strings.Join(before, ",") {
			t.Errorf("run --rm changed the volumes: before %v, after %v", before, after)
		}
		// rm without -v keeps the anonymous volume (Docker does too).
		k := c.Must(t, "run", "-d", img, "true")
		c.Must(t, "wait", k)
		kv := containerMounts(t, d, k)[0].Name
		c.Must(t, "rm", k)
		if !volumeExists(t, d, kv) {
			t.Error("rm without -v removed the anonymous volume")
		}
		// ...and volume prune (no -a) removes it, not named ones.
		c.Must(t, "volume", "prune", "-f")
		if volumeExists(t, d, kv) || !volumeExists(t, d, named) {
			t.Errorf("volume prune: anonymous %v (want gone), named %v (want kept)", volumeExists(t, d, kv), volumeExists(t, d, named))
		}
		c.Must(t, "volume", "rm", named, nocopy, etc)
	})
}

// --volumes-from and --read-only with a writable volume.
func TestVolumesFromAndReadOnly(t *testing.T) {
	d := sharedDaemon(t, "volumes")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		dir := hostDir(t)
		vol := uniq("vf-" + c.Name)
		src := uniq("vfsrc-" + c.Name)
		c.Must(t, "create", "--name", src, "-v", vol+":/data", "-v", dir+":/bind:ro", "-v", "/anon", "busybox")
		c.Must(t, "run", "--rm", "-v", vol+":/data", "busybox", "sh", "-c", "echo shared > /data/f")
		os.WriteFile(filepath.Join(dir, "b"), []byte("bound"), 0o644)
		out := c.Must(t, "run", "--rm", "--volumes-from", src, "busybox", "sh", "-c", "cat /data/f /bind/b; ls -d /anon")
		if out != "shared\nbound/anon" && out != "shared\nbound\n/anon" {
			t.Errorf("--volumes-from: %q", out)
		}
		// The :ro of the source is kept; "src:ro" makes all read-only.
		if r := c.Run(t, "run", "--rm", "--volumes-from", src, "busybox", "touch", "/bind/x"); r.Exit == 0 {
			t.Errorf("--volumes-from lost :ro: %s", r)
		}
		if r := c.Run(t, "run", "--rm", "--volumes-from", src+":ro", "busybox", "touch", "/data/x"); r.Exit == 0 {
			t.Errorf("--volumes-from %s:ro: writing succeeded: %s", src, r)
		}
		// (Both CLIs take the 404 for an image to pull, as docker does.)
		if r := c.Run(t, "run", "--rm", "--volumes-from", "nosuchctr", "busybox", "true"); r.Exit == 0 {
			t.Errorf("--volumes-from a missing container: %s", r)
		}
		// --read-only root with a writable volume and tmpfs.
		out = c.Must(t, "run", "--rm", "--read-only", "-v", vol+":/data", "--tmpfs", "/tmp", "busybox", "sh", "-c",
			"echo w > /data/w && echo t > /tmp/t && cat /data/w /tmp/t && (touch /root/x 2>/dev/null && echo rootwritable || echo rootro)")
		if out != "w\nt\nrootro" {
			t.Errorf("--read-only with a volume: %q, want w t rootro", out)
		}
		c.Must(t, "rm", "-v", src)
		c.Must(t, "volume", "rm", vol)
	})
}

// inspect's Mounts for a named volume in Docker's shape (the other types
// are checked where they are made).
func TestVolumeInspectMounts(t *testing.T) {
	d := sharedDaemon(t, "volumes")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		vol := uniq("insp-" + c.Name)
		n := c.Must(t, "run", "-d", "-v", vol+":/data:ro", "--mount", "type=volume,src="+vol+"2,dst=/data2", "busybox", "true")
		c.Must(t, "wait", n)
		mp := c.Must(t, "volume", "inspect", "--format", "{{.Mountpoint}}", vol)
		ms := containerMounts(t, d, n)
		sort.Slice(ms, func(i, j int) bool { return ms[i].Destination < ms[j].Destination })
		want := []apiMount{
			{Type: "volume", Name: vol, Source: mp, Destination: "/data", Driver: "local", Mode: "ro", RW: false},
			{Type: "volume", Name: vol + "2", Source: ms[len(ms)-1].Source, Destination: "/data2", Driver: "local", Mode: "", RW: true},
		}
		if len(ms) != 2 || ms[0] != want[0] || ms[1] != want[1] {
			t.Errorf("inspect Mounts:\n got %+v\nwant %+v", ms, want)
		}
		// The CLI's template over .Mounts works as with Docker.
		if out := c.Must(t, "inspect", "--format", "{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}", n); !strings.Contains(out, vol+":/data") {
			t.Errorf("inspect --format over .Mounts: %q", out)
		}
		c.Must(t, "rm", n)
		c.Must(t, "volume", "rm", vol, vol+"2")
	})
}

// tarEntries reads a tar stream into name -> content (dirs as "<dir>").
func tarEntries(t *testing.T, r io.Reader) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading the tar stream: %v", err)
		}
		out[strings.TrimSuffix(h.Name, "/")] = h
	}
}

// cp both ways: files, folders, modes, ownership, -a, -L, tar streams,
// running and stopped containers.
func TestCp(t *testing.T) {
	d := sharedDaemon(t, "volumes")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		host := hostDir(t)
		n := uniq("cp-" + c.Name)
		c.Must(t, "run", "-d", "--name", n, "busybox", "sh", "-c",
			"mkdir -p /src/sub && echo one > /src/a && echo two > /src/sub/b && chmod 751 /src/sub && chmod 600 /src/a && "+
				"chown -R 11:22 /src && echo tgt > /tgt && ln -s /tgt /lnk && exec sleep 60")
		defer c.Run(t, "rm", "-f", n)
		eventually(t, 5*time.Second, func() error {
			if r := c.Run(t, "exec", n, "test", "-L", "/lnk"); r.Exit != 0 {
				return io.ErrUnexpectedEOF
			}
			return nil
		})

		// Out of a running container: a file and a folder, modes kept.
		c.Must(t, "cp", n+":/src/a", filepath.Join(host, "a"))
		if got := hostRead(t, filepath.Join(host, "a")); got != "one\n" {
			t.Errorf("cp out a file: %q", got)
		}
		if st, _ := os.Stat(filepath.Join(host, "a")); st == nil || st.Mode().Perm() != 0o600 {
			t.Errorf("cp out lost the file's mode: %v", st)
		}
		c.Must(t, "cp", n+":/src", filepath.Join(host, "dir"))
		if got := hostRead(t, filepath.Join(host, "dir", "sub", "b")); got != "two\n" {
			t.Errorf("cp out a folder: sub/b %q", got)
		}
		if st, _ := os.Stat(filepath.Join(host, "dir", "sub")); st == nil || st.Mode().Perm() != 0o751 {
			t.Errorf("cp out lost the folder's mode: %v", st)
		}
		// Folder contents with "/." into an existing folder.
		os.Mkdir(filepath.Join(host, "into"), 0o755)
		c.Must(t, "cp", n+":/src/.", filepath.Join(host, "into"))
		if _, err := os.Stat(filepath.Join(host, "into", "sub", "b")); err != nil {
			t.Errorf("cp out src/. : %v", err)
		}
		// A symlink is copied as a link; -L copies its target.
		c.Must(t, "cp", n+":/lnk", filepath.Join(host, "lnk"))
		if l, err := os.Readlink(filepath.Join(host, "lnk")); err != nil || l != "/tgt" {
			t.Errorf("cp out a symlink: %q %v, want a link to /tgt", l, err)
		}
		c.Must(t, "cp", "-L", n+":/lnk", filepath.Join(host, "lnkL"))
		if st, err := os.Lstat(filepath.Join(host, "lnkL")); err != nil || !st.Mode().IsRegular() {
			t.Fatalf("cp -L out: %v %v, want a regular file", st, err)
		}
		if got := hostRead(t, filepath.Join(host, "lnkL")); got != "tgt\n" {
			t.Errorf("cp -L out: %q, want the target's content", got)
		}
		// Missing source: Docker's message.
		if r := c.Run(t, "cp", n+":/nosuch", host); r.Exit == 0 || !strings.Contains(r.Stderr, "Could not find the file /nosuch in container") {
			t.Errorf("cp of a missing path: %s", r)
		}
		// To stdout as a tar stream with the ownership recorded.
		r := c.Run(t, "cp", n+":/src", "-")
		if r.Exit != 0 {
			t.Fatalf("cp to -: %s", r)
		}
		ents := tarEntries(t, strings.NewReader(r.Stdout))
		if h := ents["src/sub/b"]; h == nil || h.Uid != 11 || h.Gid != 22 {
			t.Errorf("cp to - : entries %v, want src/sub/b owned 11:22", keys(ents))
		}

		// Into the container: file and folder, modes kept; owner root
		// without -a, the host's owner with -a.
		os.MkdirAll(filepath.Join(host, "up", "deep"), 0o750)
		os.WriteFile(filepath.Join(host, "up", "deep", "f"), []byte("up"), 0o604)
		os.Chown(filepath.Join(host, "up", "deep", "f"), 1234, 5678)
		c.Must(t, "cp", filepath.Join(host, "up"), n+":/up")
		// Docker's daemon keeps the tar's owners (the host's) unless -a
		// and a Config.User; its docs say otherwise, its code does this.
		if out := c.Must(t, "exec", n, "stat", "-c", "%a %u:%g", "/up/deep", "/up/deep/f"); out != "750 0:0\n604 1234:5678" {
			t.Errorf("cp in without -a: %q, want 750 0:0 / 604 1234:5678", out)
		}
		c.Must(t, "cp", "-a", filepath.Join(host, "up", "deep", "f"), n+":/tmp/fa")
		if out := c.Must(t, "exec", n, "stat", "-c", "%a %u:%g", "/tmp/fa"); out != "604 1234:5678" {
			t.Errorf("cp -a in: %q, want 604 1234:5678", out)
		}
		// Into an existing folder with a trailing slash; into a missing
		// parent fails.
		c.Must(t, "cp", filepath.Join(host, "a"), n+":/tmp/")
		if out := c.Must(t, "exec", n, "cat", "/tmp/a"); out != "one" {
			t.Errorf("cp into /tmp/: %q", out)
		}
		if r := c.Run(t, "cp", filepath.Join(host, "a"), n+":/no/such/dir/"); r.Exit == 0 {
			t.Errorf("cp into a missing folder: %s, want failure", r)
		}
		// From stdin as a tar stream.
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Name: "streamed/", Typeflag: tar.TypeDir, Mode: 0o755})
		tw.WriteHeader(&tar.Header{Name: "streamed/s", Typeflag: tar.TypeReg, Mode: 0o640, Size: 6, Uid: 3, Gid: 4})
		tw.Write([]byte("stream"))
		tw.Close()
		if r := c.RunIn(t, &buf, "cp", "-", n+":/tmp"); r.Exit != 0 {
			t.Fatalf("cp - into the container: %s", r)
		}
		if out := c.Must(t, "exec", n, "sh", "-c", "cat /tmp/streamed/s; echo; stat -c '%a %u:%g' /tmp/streamed/s"); out != "stream\n640 3:4" {
			t.Errorf("cp - : %q, want stream / 640 3:4 (a tar stream keeps its owners)", out)
		}

		// A stopped container works both ways.
		c.Must(t, "stop", "-t", "0", n)
		c.Must(t, "cp", filepath.Join(host, "a"), n+":/stopped-in")
		c.Must(t, "cp", n+":/stopped-in", filepath.Join(host, "stopped-out"))
		if got := hostRead(t, filepath.Join(host, "stopped-out")); got != "one\n" {
			t.Errorf("cp with a stopped container: %q", got)
		}
		// Into a volume and a bind mount of a stopped container: the data
		// lands in the volume, not the writable layer.
		vol := uniq("cpvol-" + c.Name)
		m := uniq("cpm-" + c.Name)
		c.Must(t, "run", "--name", m, "-v", vol+":/vol", "-v", host+":/bind", "busybox", "true")
		c.Must(t, "cp", filepath.Join(host, "a"), m+":/vol/inv")
		c.Must(t, "cp", filepath.Join(host, "a"), m+":/bind/inbind")
		c.Must(t, "cp", m+":/bind/into/a", filepath.Join(host, "viabind"))
		c.Must(t, "rm", m)
		if out := c.Must(t, "run", "--rm", "-v", vol+":/v", "busybox", "cat", "/v/inv"); out != "one" {
			t.Errorf("cp into a volume of a stopped container: %q", out)
		}
		if got := hostRead(t, filepath.Join(host, "inbind")); got != "one\n" {
			t.Errorf("cp into a bind mount: %q", got)
		}
		if got := hostRead(t, filepath.Join(host, "viabind")); got != "one\n" {
			t.Errorf("cp out of a bind mount: %q", got)
		}
		c.Must(t, "volume", "rm", vol)
	})
}

func keys(m map[string]*tar.Header) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Hostile containers: symlinks to the host's files, to ../../.., and a path
// that is a symlink to a host folder: cp reads and writes only inside the
// container.
func TestCpHostile(t *testing.T) {
	d := sharedDaemon(t, "volumes")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		host := hostDir(t)
		secret := filepath.Join(host, "secret")
		os.WriteFile(secret, []byte("HOST SECRET"), 0o600)
		victim := filepath.Join(host, "victim")
		os.Mkdir(victim, 0o755)
		os.WriteFile(filepath.Join(victim, "f"), []byte("host file"), 0o644)

		n := uniq("hostile-" + c.Name)
		script := strings.Join([]string{
			"mkdir -p " + host + " " + victim,
			"echo container-secret > " + secret,
			"echo container-shadow > /etc/shadow",
			"ln -s /etc/shadow /x",
			"ln -s " + secret + " /s",
			"ln -s ../../../../../../.. /up",
			"ln -s " + victim + " /evil",
			"ln -s / /root2",
			"mkdir -p /race.d && echo container-race > /race.d/shadow",
			"(while [ ! -e /go ]; do sleep 0.05; done; i=0; while [ $i -lt 2000 ]; do ln -sfn /race.d /race; ln -sfn /etc /race; rm -f /race; mkdir /race; rmdir /race; i=$((i+1)); done) & exec sleep 60",
		}, " && ")
		c.Must(t, "run", "-d", "--name", n, "busybox", "sh", "-c", script)
		defer c.Run(t, "rm", "-f", n)
		eventually(t, 5*time.Second, func() error {
			if r := c.Run(t, "exec", n, "test", "-L", "/root2"); r.Exit != 0 {
				return io.ErrUnexpectedEOF
			}
			return nil
		})
		hostShadow, _ := os.ReadFile("/etc/shadow")
		out := filepath.Join(host, "out")
		for _, tc := range []struct{ src, want string }{
			{"/x", "container-shadow\n"},
			{"/s", "container-secret\n"},
			{"/up/etc/shadow", "container-shadow\n"},
			{"/up" + secret, "container-secret\n"},
			{"/root2/../../etc/shadow", "container-shadow\n"},
		} {
			os.RemoveAll(out)
			r := c.Run(t, "cp", "-L", n+":"+tc.src, out)
			if st, err := os.Lstat(out); err == nil && !st.Mode().IsRegular() {
				t.Errorf("cp -L %s made %v, want a regular file", tc.src, st.Mode())
				continue
			}
			got, _ := os.ReadFile(out)
			if len(hostShadow) > 0 && bytes.Equal(got, hostShadow) || strings.Contains(string(got), "HOST SECRET") {
				t.Fatalf("cp -L %s read the HOST's file: %s", tc.src, r)
			}
			if r.Exit != 0 || string(got) != tc.want {
				t.Errorf("cp -L %s: %s, got %q, want the container's %q", tc.src, r, got, tc.want)
			}
		}
		// Without -L the symlink itself comes out, pointing where it did.
		os.RemoveAll(out)
		c.Must(t, "cp", n+":/x", out)
		if l, err := os.Readlink(out); err != nil || l != "/etc/shadow" {
			t.Errorf("cp /x without -L: %q %v, want the link itself", l, err)
		}

		// Writing through symlinks to host paths lands inside the container.
		src := filepath.Join(host, "payload")
		os.WriteFile(src, []byte("payload"), 0o644)
		os.WriteFile(filepath.Join(host, "f"), []byte("overwrite"), 0o644)
		for _, dst := range []string{"/evil/", "/evil/f", "/root2" + victim + "/f", "/up" + victim + "/"} {
			c.Must(t, "cp", filepath.Join(host, "f"), n+":"+dst)
		}
		c.Must(t, "cp", src, n+":/root2"+victim+"/payload")
		if got := hostRead(t, filepath.Join(victim, "f")); got != "host file" {
			t.Errorf("cp into a symlinked path changed the host's file: %q", got)
		}
		if _, err := os.Stat(filepath.Join(victim, "payload")); err == nil {
			t.Error("cp into a symlinked path wrote a file on the host")
		}
		if got := c.Must(t, "exec", n, "cat", victim+"/f", victim+"/payload"); got != "overwritepayload" {
			t.Errorf("the container's copy: %q, want overwritepayload", got)
		}
		// A tar stream with ../ names and absolute link targets stays inside.
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Name: "../../../../" + victim + "/f", Typeflag: tar.TypeReg, Mode: 0o644, Size: 4})
		tw.Write([]byte("evil"))
		tw.WriteHeader(&tar.Header{Name: "hl", Typeflag: tar.TypeLink, Linkname: "../../../../../" + secret})
		tw.Close()
		c.RunIn(t, &buf, "cp", "-", n+":/tmp") // refused or confined: either way the host is unchanged
		if got := hostRead(t, filepath.Join(victim, "f")); got != "host file" {
			t.Errorf("a tar stream with ../ names changed the host's file: %q", got)
		}
		if got := hostRead(t, secret); got != "HOST SECRET" {
			t.Errorf("host secret changed: %q", got)
		}

		// A symlink swapped in during cp (race): whatever cp returns is the
		// container's.
		c.Must(t, "exec", n, "touch", "/go")
		deadline := time.Now().Add(1500 * time.Millisecond)
		for time.Now().Before(deadline) {
			r := c.Run(t, "cp", "-L", n+":/race/shadow", "-")
			if bytes.Contains([]byte(r.Stdout), hostShadow) && len(hostShadow) > 0 {
				t.Fatal("cp during a symlink swap read the host's /etc/shadow")
			}
		}
	})
}

// Data in volumes and bind mounts survives a daemon restart; a container
// created before the restart still mounts them.
func TestVolumeDaemonRestart(t *testing.T) {
	d := startDaemon(t)
	c := d.Berth()
	dir := hostDir(t)
	c.Must(t, "volume", "create", "--label", "k=v", "persist")
	n := uniq("restart")
	c.Must(t, "run", "--name", n, "-v", "persist:/data", "-v", dir+":/h", "-v", "/anon", "busybox", "sh", "-c",
		"echo vol > /data/f; echo bind > /h/f; echo anon > /anon/f")
	anon := ""
	for _, m := range containerMounts(t, d, n) {
		if m.Destination == "/anon" {
			anon = m.Name
		}
	}
	if !d.Stop() {
		t.Fatal("berthd did not stop on SIGTERM")
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if out := c.Must(t, "volume", "inspect", "--format", "{{.Name}} {{.Labels}}", "persist"); out != "persist map[k:v]" {
		t.Errorf("volume after restart: %q", out)
	}
	if out := c.Must(t, "run", "--rm", "-v", "persist:/data", "busybox", "cat", "/data/f"); out != "vol" {
		t.Errorf("volume data after restart: %q", out)
	}
	// The old container still has its mounts after the restart.
	c.Must(t, "start", n)
	c.Must(t, "wait", n)
	if out := c.Must(t, "volume", "ls", "-q", "--filter", "dangling=false"); !strings.Contains(out, "persist") || !strings.Contains(out, anon) {
		t.Errorf("after restart the container's volumes are not in use: %q", out)
	}
	if r := d.Docker(t).Run(t, "volume", "rm", "persist"); r.Exit == 0 || !strings.Contains(r.Stderr, "volume is in use") {
		t.Errorf("volume rm after restart: %s", r)
	}
	c.Must(t, "rm", "-v", n)
	if volumeExists(t, d, anon) {
		t.Error("rm -v after a restart left the anonymous volume")
	}
	if got := hostRead(t, filepath.Join(dir, "f")); got != "bind\n" {
		t.Errorf("bind data: %q", got)
	}
	if out := c.Must(t, "run", "--rm", "-v", "persist:/data", "busybox", "cat", "/data/f"); out != "vol" {
		t.Errorf("volume data after container removal: %q", out)
	}
	c.Must(t, "volume", "rm", "persist")
	// Nothing of the volume is left on disk, and no mount.
	if _, err := os.Stat(filepath.Join(d.DataRoot, "volumes", "persist")); err == nil {
		t.Error("volume rm left the volume's folder")
	}
}

// ps -s and system df count the writable layer; diff lists its changes.
func TestVolumeWritableLayerSize(t *testing.T) {
	d := sharedDaemon(t, "volumes")
	c := d.Berth()
	n := uniq("size")
	c.Must(t, "run", "--name", n, "busybox", "sh", "-c", "dd if=/dev/zero of=/big bs=1024 count=3072 2>/dev/null; rm /bin/vi")
	defer c.Run(t, "rm", "-f", n)
	for _, cli := range []CLI{c, d.Docker(t)} {
		out := cli.Must(t, "ps", "-a", "-s", "--filter", "name="+n, "--format", "{{.Size}}")
		if !strings.HasPrefix(out, "3.15MB") {
			t.Errorf("%s ps -s: %q, want 3.15MB (the writable layer)", cli.Name, out)
		}
		diff := cli.Must(t, "diff", n)
		if !strings.Contains(diff, "A /big") || !strings.Contains(diff, "D /bin/vi") {
			t.Errorf("%s diff: %q", cli.Name, diff)
		}
	}
	code, _, body := d.API(t, "GET", "/system/df", "", "")
	if code != http.StatusOK {
		t.Fatalf("GET /system/df: %d %s", code, body)
	}
	var df struct {
		Containers []struct {
			Names  []string
			SizeRw int64
		}
	}
	json.Unmarshal([]byte(body), &df)
	found := false
	for _, ct := range df.Containers {
		if len(ct.Names) > 0 && ct.Names[0] == "/"+n {
			found = true
			if ct.SizeRw < 3<<20 {
				t.Errorf("system df SizeRw %d, want >= 3 MiB", ct.SizeRw)
			}
		}
	}
	if !found {
		t.Errorf("system df does not list %s", n)
	}
	out := d.Docker(t).Must(t, "system", "df", "--format", "{{.Type}} {{.Size}}")
	if !strings.Contains(out, "Containers 3.") {
		t.Errorf("docker system df: %q, want Containers with ~3 MB", out)
	}
	// Removal removes the layer: out of its place once rm has replied
	// (ForgetRootfs's finish, in the background), into the daemon's
	// trash, which deletes it once the removal's commit is over.
	c.Must(t, "rm", n)
	bigFiles := func() (paths []string) {
		filepath.WalkDir(d.DataRoot, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.Name() == "big" && !e.IsDir() {
				paths = append(paths, p)
			}
			return nil
		})
		return paths
	}
	waitFor(t, 30*time.Second, "the removed container's layer to be deleted", func() bool { return len(bigFiles()) == 0 })
}
