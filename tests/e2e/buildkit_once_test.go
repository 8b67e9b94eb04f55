package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// diskBytes is the space the files below root take on disk (allocated
// blocks), a file with several hard links counted once, as du does.
func diskBytes(t *testing.T, root string) int64 {
	t.Helper()
	seen := map[uint64]bool{}
	var n int64
	filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return nil
		}
		st := fi.Sys().(*syscall.Stat_t)
		if seen[st.Ino] {
			return nil
		}
		seen[st.Ino] = true
		n += st.Blocks * 512
		return nil
	})
	return n
}

// copiesOf returns the inodes of the regular files named name below d's
// data root, with the paths of each (relative to the data root).
func copiesOf(d *Daemon, name string) map[uint64][]string {
	out := map[uint64][]string{}
	filepath.WalkDir(d.DataRoot, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.Name() != name || !e.Type().IsRegular() {
			return nil
		}
		if fi, err := e.Info(); err == nil {
			rel, _ := filepath.Rel(d.DataRoot, p)
			ino := fi.Sys().(*syscall.Stat_t).Ino
			out[ino] = append(out[ino], rel)
		}
		return nil
	})
	return out
}

// storedOnce fails t unless the file name (written by a build step) is on
// disk once: one inode, linked from Berth's layer and BuildKit's snapshot.
func storedOnce(t *testing.T, d *Daemon, name string) {
	t.Helper()
	c := copiesOf(d, name)
	if len(c) != 1 {
		t.Fatalf("%s is stored %d times under the data root: %v", name, len(c), c)
	}
	for _, paths := range c {
		joined := strings.Join(paths, " ")
		if !strings.Contains(joined, "image/layers/") || !strings.Contains(joined, "buildkit/worker/snapshots/") {
			t.Fatalf("%s is in %q: want Berth's layer and BuildKit's snapshot sharing it", name, paths)
		}
	}
}

// settled waits until nothing removed is still being deleted below the
// data root by Berth's trash (prunes wait for BuildKit's snapshots).
func settled(t *testing.T, d *Daemon) {
	t.Helper()
	waitFor(t, time.Minute, "deletions to finish", func() bool {
		ents, _ := os.ReadDir(filepath.Join(d.DataRoot, "image", "trash"))
		return len(ents) == 0
	})
}

// buildOnce builds dir's Dockerfile as tag with bl and checks that the data
// root grew by one copy of the layer of size bytes whose file name the
// build writes (that file and an incompressible blob; a second copy of the
// files would be 3x), that the file is stored once, and that the image
// lists it.
func buildOnce(t *testing.T, d *Daemon, bl builder, dir, tag, name string, size int64) {
	t.Helper()
	settled(t, d)
	before := diskBytes(t, d.DataRoot)
	if r := bl.build(t, "-t", tag, dir); r.Exit != 0 {
		t.Fatalf("build of %s: %s\n%s", tag, r, d.LogTail(30))
	}
	grown := diskBytes(t, d.DataRoot) - before
	t.Logf("%s: the data root grew by %.1f MiB for a %d MiB layer", tag, float64(grown)/(1<<20), size>>20)
	if grown > 5*size/2 {
		t.Fatalf("%s: the data root grew by %d bytes for a layer of %d: its files are stored twice", tag, grown, size)
	}
	storedOnce(t, d, name)
	if out := d.Docker(t).Must(t, "run", "--rm", tag); out != "/"+name {
		t.Fatalf("%s lists %q", tag, out)
	}
}

// A layer a build makes, and a base image layer BuildKit pulls, are on
// disk once, shared by BuildKit's snapshot and Berth's layer, through
// either client: the data root grows by one copy of the files (plus the
// blob), not two. The images run.
func TestBuildKitLayersStoredOnce(t *testing.T) {
	const size = 8 << 20
	d := startDaemon(t)
	reg := startDockerRegistry(t, "")
	dc := d.Docker(t)
	for _, bl := range buildKitBuilders(t, d) {
		t.Run(bl.name, func(t *testing.T) {
			run := "run-" + bl.name
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"Dockerfile": fmt.Sprintf("FROM busybox\nRUN head -c %d /dev/urandom > /%s\nCMD [\"ls\", \"/%s\"]\n", size, run, run)})
			buildOnce(t, d, bl, dir, "once:"+bl.name, run, size)

			// A base only in the registry: pushed, then removed from
			// Berth and from the build cache.
			base := "base-" + bl.name
			ref := reg.Host + "/once/" + base + ":1"
			writeFiles(t, dir, map[string]string{"Dockerfile": fmt.Sprintf("FROM busybox\nRUN head -c %d /dev/urandom > /%s\n", size, base)})
			if r := bl.build(t, "-t", ref, dir); r.Exit != 0 {
				t.Fatalf("build of the base: %s", r)
			}
			dc.Must(t, "push", ref)
			dc.Must(t, "rmi", ref)
			dc.Must(t, "builder", "prune", "-af")
			waitFor(t, time.Minute, "BuildKit's snapshots to be removed", func() bool { return len(snapshotDirs(d)) == 0 })
			if c := copiesOf(d, base); len(c) != 0 {
				t.Fatalf("the base's layer is still on disk after rmi and prune: %v", c)
			}
			writeFiles(t, dir, map[string]string{"Dockerfile": fmt.Sprintf("FROM %s\nRUN echo on top > /top\nCMD [\"ls\", \"/%s\"]\n", ref, base)})
			buildOnce(t, d, bl, dir, "from-registry:"+bl.name, base, size)
		})
	}
}

// Under "userns-remap" the layers stay unshifted on disk (the container's
// overlay is idmapped): a built layer is still shared with BuildKit's
// snapshot, and the container sees the owner the build gave its files.
func TestBuildKitLayersStoredOnceUserns(t *testing.T) {
	d := usernsDaemon(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nRUN echo remapped > /userns-file && chown 1234:1234 /userns-file\nCMD [\"sh\", \"-c\", \"stat -c %u /userns-file; cat /userns-file\"]\n"})
	if r := berthBuild(t, d, nil, "--progress=plain", "-t", "once:userns", dir); r.Exit != 0 {
		t.Fatalf("build: %s\n%s", r, d.LogTail(30))
	}
	storedOnce(t, d, "userns-file")
	for _, paths := range copiesOf(d, "userns-file") {
		if uid := fileUID(t, filepath.Join(d.DataRoot, paths[0])); uid != 1234 {
			t.Fatalf("the layer's file is owned by %d on disk, want 1234 (unshifted)", uid)
		}
	}
	if out := d.Berth().Must(t, "run", "--rm", "once:userns"); out != "1234\nremapped" {
		t.Fatalf("the built image under userns-remap prints %q", out)
	}
}
