package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/berth-dev/berth/engine/mounts"
	"github.com/berth-dev/berth/internal/errdefs"
)

const hostSecret = "HOST-SECRET-DO-NOT-LEAK"

// fixture is a fake container: base/rootfs is its root, base/secret.txt and
// base/hostdir are "the host" that nothing may read or write.
type fixture struct {
	base, rootfs, hostdir string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	base := t.TempDir()
	f := &fixture{base: base, rootfs: filepath.Join(base, "rootfs"), hostdir: filepath.Join(base, "hostdir")}
	must(t, os.MkdirAll(filepath.Join(f.rootfs, "etc"), 0o755))
	must(t, os.MkdirAll(f.hostdir, 0o755))
	must(t, os.WriteFile(filepath.Join(base, "secret.txt"), []byte(hostSecret), 0o600))
	must(t, os.WriteFile(filepath.Join(f.hostdir, "secret.txt"), []byte(hostSecret), 0o600))
	must(t, os.WriteFile(filepath.Join(f.rootfs, "etc", "shadow"), []byte("container-shadow"), 0o600))
	must(t, os.MkdirAll(filepath.Join(f.rootfs, "d", "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(f.rootfs, "d", "f"), []byte("hello"), 0o644))
	must(t, os.WriteFile(filepath.Join(f.rootfs, "d", "sub", "g"), []byte("world"), 0o640))
	return f
}

// hostUntouched fails if anything outside rootfs changed.
func (f *fixture) hostUntouched(t *testing.T) {
	t.Helper()
	var names []string
	filepath.Walk(f.base, func(p string, info os.FileInfo, err error) error {
		rel, _ := filepath.Rel(f.base, p)
		names = append(names, rel)
		if p == f.rootfs {
			return filepath.SkipDir
		}
		return nil
	})
	sort.Strings(names)
	want := []string{".", "hostdir", "hostdir/secret.txt", "rootfs", "secret.txt"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("host side changed: %v, want %v", names, want)
	}
	for _, p := range []string{filepath.Join(f.base, "secret.txt"), filepath.Join(f.hostdir, "secret.txt")} {
		b, err := os.ReadFile(p)
		if err != nil || string(b) != hostSecret {
			t.Fatalf("%s changed: %q %v", p, b, err)
		}
		if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode changed: %v", p, st.Mode())
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type entry struct {
	name, body string
	typ        byte
}

func readTar(t *testing.T, data []byte) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("bad tar: %v", err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = entry{h.Name, string(b) + h.Linkname, h.Typeflag}
	}
}

func mkTar(t testing.TB, hdrs ...*tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		body := ""
		if h.Typeflag == tar.TypeReg {
			body = h.Linkname
			h.Linkname = ""
			h.Size = int64(len(body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	return buf.Bytes()
}

func file(name, body string) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeReg, Linkname: body}
}

func copyOut(t *testing.T, f *fixture, mps []mounts.MountPoint, p string) (*container.PathStat, map[string]entry, error) {
	var buf bytes.Buffer
	st, err := CopyOut(context.Background(), f.rootfs, mps, p, &buf)
	if err != nil {
		return st, nil, err
	}
	if strings.Contains(buf.String(), hostSecret) {
		t.Fatalf("CopyOut(%q) leaked the host secret", p)
	}
	return st, readTar(t, buf.Bytes()), nil
}

func TestStatPath(t *testing.T) {
	f := newFixture(t)
	must(t, os.Symlink("/d/sub", filepath.Join(f.rootfs, "link")))
	must(t, os.Symlink("../../../../../..", filepath.Join(f.rootfs, "up")))

	st, err := StatPath(f.rootfs, nil, "d/f")
	must(t, err)
	if st.Name != "f" || st.Size != 5 || st.Mode != 0o644 || st.LinkTarget != "" {
		t.Fatalf("file stat: %+v", st)
	}
	st, err = StatPath(f.rootfs, nil, "/d/")
	must(t, err)
	if st.Name != "d" || !st.Mode.IsDir() {
		t.Fatalf("dir stat: %+v", st)
	}
	st, err = StatPath(f.rootfs, nil, "/link")
	must(t, err)
	if st.Mode&os.ModeSymlink == 0 || st.LinkTarget != "/d/sub" {
		t.Fatalf("symlink stat: %+v", st)
	}
	st, err = StatPath(f.rootfs, nil, "/up")
	must(t, err)
	if st.LinkTarget != "/" {
		t.Fatalf("../.. symlink must resolve to the container's root, got %q", st.LinkTarget)
	}
	_, err = StatPath(f.rootfs, nil, "/nope")
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "Could not find the file /nope in container") {
		t.Fatalf("missing: %v", err)
	}
	if _, err = StatPath(f.rootfs, nil, "/d/f/x"); err == nil || strings.Contains(err.Error(), f.base) {
		t.Fatalf("file as folder: %v (must fail without host paths)", err)
	}
}

func TestCopyOutNames(t *testing.T) {
	f := newFixture(t)
	_, got, err := copyOut(t, f, nil, "/d")
	must(t, err)
	for _, n := range []string{"d/", "d/f", "d/sub/", "d/sub/g"} {
		if _, ok := got[n]; !ok {
			t.Fatalf("/d: missing %s in %v", n, got)
		}
	}
	if got["d/f"].body != "hello" {
		t.Fatalf("content: %q", got["d/f"].body)
	}
	_, got, err = copyOut(t, f, nil, "/d/.")
	must(t, err)
	if _, ok := got["./f"]; !ok {
		t.Fatalf("/d/.: %v", got)
	}
	st, got, err := copyOut(t, f, nil, "/d/sub/g")
	must(t, err)
	if st.Name != "g" || len(got) != 1 || got["g"].body != "world" {
		t.Fatalf("file: %+v %v", st, got)
	}
	if _, _, err := copyOut(t, f, nil, "/d/f/"); err == nil {
		t.Fatal("file with trailing slash must fail")
	}
}

func TestCopyOutHostileSymlinks(t *testing.T) {
	f := newFixture(t)
	must(t, os.Symlink("/etc/shadow", filepath.Join(f.rootfs, "evil")))
	must(t, os.Symlink("../../../../../../..", filepath.Join(f.rootfs, "up")))
	must(t, os.Symlink(f.hostdir, filepath.Join(f.rootfs, "abs")))
	must(t, os.Symlink(filepath.Join(f.base, "secret.txt"), filepath.Join(f.rootfs, "d", "absfile")))

	// Not followed: the link itself.
	_, got, err := copyOut(t, f, nil, "/evil")
	must(t, err)
	if e := got["evil"]; e.typ != tar.TypeSymlink || e.body != "/etc/shadow" {
		t.Fatalf("symlink entry: %+v", got)
	}
	// cp -L asks for the LinkTarget: the container's shadow, never the host's.
	st, err := StatPath(f.rootfs, nil, "/evil")
	must(t, err)
	_, got, err = copyOut(t, f, nil, st.LinkTarget)
	must(t, err)
	if got["shadow"].body != "container-shadow" {
		t.Fatalf("followed shadow: %v", got)
	}
	// ../../.. is the container's root.
	_, got, err = copyOut(t, f, nil, "/up/")
	must(t, err)
	if _, ok := got["up/d/f"]; !ok {
		t.Fatalf("up/ should be the container root: %v", got)
	}
	// An absolute host path resolves inside the container, where it is missing.
	if _, _, err = copyOut(t, f, nil, "/abs/secret.txt"); !errdefs.IsNotFound(err) {
		t.Fatalf("abs: %v", err)
	}
	// Links inside a copied folder are archived as links, not followed.
	_, got, err = copyOut(t, f, nil, "/d")
	must(t, err)
	if got["d/absfile"].typ != tar.TypeSymlink {
		t.Fatalf("absfile: %+v", got["d/absfile"])
	}
	f.hostUntouched(t)
}

func TestCopyInHostile(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	must(t, os.Symlink(f.hostdir, filepath.Join(f.rootfs, "abs")))
	must(t, os.Symlink("../../../../..", filepath.Join(f.rootfs, "up")))

	cases := []struct {
		name    string
		dst     string
		tar     []byte
		wantErr string
	}{
		{"dotdot", "/", mkTar(t, file("../escape", "x")), "is outside of"},
		{"nested dotdot", "/d", mkTar(t, file("a/../../../escape", "x")), "is outside of"},
		{"hardlink out", "/", mkTar(t, &tar.Header{Name: "hl", Typeflag: tar.TypeLink, Linkname: "../secret.txt"}), "is outside of"},
		{"hardlink via symlink", "/", mkTar(t, &tar.Header{Name: "hl", Typeflag: tar.TypeLink, Linkname: "abs/secret.txt"}), "hard link target"},
		{"onto a file", "/d/f", mkTar(t, file("x", "x")), "extraction point is not a directory"},
	}
	for _, c := range cases {
		err := CopyIn(ctx, f.rootfs, nil, c.dst, bytes.NewReader(c.tar), false, false)
		if err == nil || !strings.Contains(err.Error(), c.wantErr) || !errdefs.IsInvalid(err) {
			t.Fatalf("%s: got %v, want 400 %q", c.name, err, c.wantErr)
		}
	}
	// Absolute names land under the destination.
	must(t, CopyIn(ctx, f.rootfs, nil, "/d", bytes.NewReader(mkTar(t, file("/abs-name", "ok"))), false, false))
	if b, _ := os.ReadFile(filepath.Join(f.rootfs, "d", "abs-name")); string(b) != "ok" {
		t.Fatal("absolute entry name not extracted under the destination")
	}
	// An absolute symlink in the tar, then a write through it.
	must(t, CopyIn(ctx, f.rootfs, nil, "/", bytes.NewReader(mkTar(t,
		&tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: f.hostdir},
		file("l/pwned", "x"),
		&tar.Header{Name: "l2", Typeflag: tar.TypeSymlink, Linkname: "../../../../../../../"},
		file("l2/pwned2", "y"),
		file("abs/pwned3", "z"),
		file("up/pwned4", "w"),
	)), false, false))
	for _, p := range []string{filepath.Join(f.hostdir[1:], "pwned"), "pwned2", filepath.Join(f.hostdir[1:], "pwned3"), "pwned4"} {
		if _, err := os.Stat(filepath.Join(f.rootfs, p)); err != nil {
			t.Fatalf("write through symlink should land inside the container at %s: %v", p, err)
		}
	}
	// The extraction point itself given as a symlink to a host folder.
	err := CopyIn(ctx, f.rootfs, nil, "/abs", bytes.NewReader(mkTar(t, file("x", "x"))), false, false)
	if err != nil {
		t.Fatalf("extract to /abs (inside the container): %v", err)
	}
	// Devices are created (as root) but inside only.
	if os.Geteuid() == 0 {
		must(t, CopyIn(ctx, f.rootfs, nil, "/", bytes.NewReader(mkTar(t,
			&tar.Header{Name: "abs/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o666})), false, false))
		if st, err := os.Lstat(filepath.Join(f.rootfs, f.hostdir[1:], "null")); err != nil || st.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("device: %v %v", st, err)
		}
	}
	f.hostUntouched(t)
}

func TestCopyInOwnershipAndOverwrite(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	f := newFixture(t)
	ctx := context.Background()
	must(t, CopyIn(ctx, f.rootfs, nil, "/", bytes.NewReader(mkTar(t,
		&tar.Header{Name: "own/", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 1234, Gid: 5678},
		&tar.Header{Name: "own/x", Typeflag: tar.TypeReg, Mode: 0o4755, Uid: 1234, Gid: 5678, Linkname: "data"},
	)), false, true))
	st, err := os.Stat(filepath.Join(f.rootfs, "own", "x"))
	must(t, err)
	if st.Mode() != os.ModeSetuid|0o755 {
		t.Fatalf("mode: %v", st.Mode())
	}
	var uid, gid uint32
	if s, ok := st.Sys().(*syscallStat); ok {
		uid, gid = s.Uid, s.Gid
	}
	if uid != 1234 || gid != 5678 {
		t.Fatalf("owner %d:%d", uid, gid)
	}
	// noOverwriteDirNonDir: a file may not replace a folder.
	err = CopyIn(ctx, f.rootfs, nil, "/", bytes.NewReader(mkTar(t, file("d", "x"))), true, false)
	if err == nil || !strings.Contains(err.Error(), "cannot overwrite directory") {
		t.Fatalf("noOverwriteDirNonDir: %v", err)
	}
	// Without it, the folder is replaced.
	must(t, CopyIn(ctx, f.rootfs, nil, "/", bytes.NewReader(mkTar(t, file("d", "x"))), false, false))
	if b, _ := os.ReadFile(filepath.Join(f.rootfs, "d")); string(b) != "x" {
		t.Fatal("folder not replaced")
	}
	f.hostUntouched(t)
}

func TestMountsInView(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	vol := filepath.Join(f.base, "hostdir", "vol") // the volume's parent holds the secret
	must(t, os.MkdirAll(vol, 0o755))
	must(t, os.WriteFile(filepath.Join(vol, "v"), []byte("in-volume"), 0o644))
	must(t, os.Symlink("../../../..", filepath.Join(vol, "up")))
	ro := filepath.Join(f.base, "hostdir", "ro")
	must(t, os.MkdirAll(ro, 0o755))
	must(t, os.Symlink("/data", filepath.Join(f.rootfs, "tovol")))
	mps := []mounts.MountPoint{
		{Type: mounts.TypeVolume, Name: "v", Source: vol, Destination: "/data", RW: true},
		{Type: mounts.TypeBind, Source: ro, Destination: "/d/ro", RW: false},
	}
	_, got, err := copyOut(t, f, mps, "/tovol/v")
	must(t, err)
	if got["v"].body != "in-volume" {
		t.Fatalf("read through a symlink into a volume: %v", got)
	}
	// ".." out of a mount's root is the folder holding the mount point.
	_, got, err = copyOut(t, f, mps, "/data/up/")
	must(t, err)
	if _, ok := got["up/d/f"]; !ok {
		t.Fatalf("../ from a volume must reach the container's root: %v", got)
	}
	// Copying the root includes the volume.
	_, got, err = copyOut(t, f, mps, "/")
	must(t, err)
	found := false
	for n := range got {
		if strings.HasSuffix(n, "data/v") {
			found = true
		}
	}
	if !found {
		t.Fatalf("root archive lacks the volume: %v", got)
	}
	must(t, CopyIn(ctx, f.rootfs, mps, "/data", bytes.NewReader(mkTar(t, file("new", "n"))), false, false))
	if b, _ := os.ReadFile(filepath.Join(vol, "new")); string(b) != "n" {
		t.Fatal("CopyIn into the volume did not land in its folder")
	}
	err = CopyIn(ctx, f.rootfs, mps, "/d/ro", bytes.NewReader(mkTar(t, file("x", "x"))), false, false)
	if err == nil || err.Error() != "mounted volume is marked read-only" || !errdefs.IsInvalid(err) {
		t.Fatalf("read-only mount: %v", err)
	}
	err = CopyIn(ctx, f.rootfs, mps, "/d", bytes.NewReader(mkTar(t, file("ro/x", "x"))), false, false)
	if !errors.Is(err, errReadOnlyForTest()) {
		t.Fatalf("entry below a read-only mount: %v", err)
	}
	err = CopyInWithOptions(ctx, f.rootfs, mps, "/d", bytes.NewReader(mkTar(t, file("x", "x"))), CopyInOptions{ReadOnlyRootfs: true})
	if err == nil || err.Error() != "container rootfs is marked read-only" {
		t.Fatalf("read-only rootfs: %v", err)
	}
	must(t, CopyInWithOptions(ctx, f.rootfs, mps, "/data", bytes.NewReader(mkTar(t, file("y", "y"))), CopyInOptions{ReadOnlyRootfs: true}))
	if _, err := os.Stat(filepath.Join(ro, "x")); err == nil {
		t.Fatal("wrote into a read-only bind")
	}
}

// TestSymlinkRace swaps a container folder for a symlink to a host folder
// (absolute and ../ forms) while cp reads and writes it.
func TestSymlinkRace(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dir := filepath.Join(f.rootfs, "race")
	must(t, os.MkdirAll(dir, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("container"), 0o644))
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		targets := []string{f.hostdir, "../hostdir", "../../../../hostdir"}
		for i := 0; !stop.Load(); i++ {
			tmp := filepath.Join(f.rootfs, "race.tmp")
			os.RemoveAll(tmp)
			if i%2 == 0 {
				os.Symlink(targets[i/2%len(targets)], tmp)
			} else {
				os.MkdirAll(tmp, 0o755)
				os.WriteFile(filepath.Join(tmp, "secret.txt"), []byte("container"), 0o644)
			}
			os.RemoveAll(dir + ".old")
			os.Rename(dir, dir+".old")
			os.Rename(tmp, dir)
		}
	}()
	for i := 0; i < 300; i++ {
		var buf bytes.Buffer
		CopyOut(ctx, f.rootfs, nil, "/race/secret.txt", &buf)
		CopyOut(ctx, f.rootfs, nil, "/race/", &buf)
		if strings.Contains(buf.String(), hostSecret) {
			stop.Store(true)
			wg.Wait()
			t.Fatal("CopyOut leaked the host secret during a symlink swap")
		}
		CopyIn(ctx, f.rootfs, nil, "/race", bytes.NewReader(mkTar(t, file("secret.txt", "overwritten"), file("new.txt", "new"))), false, false)
		CopyIn(ctx, f.rootfs, nil, "/", bytes.NewReader(mkTar(t, file("race/secret.txt", "overwritten"))), false, false)
	}
	stop.Store(true)
	wg.Wait()
	f.hostUntouched(t)
}
