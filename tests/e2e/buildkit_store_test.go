package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// blobDir is Berth's blob store below a daemon's data root.
func blobDir(d *Daemon) string { return filepath.Join(d.DataRoot, "image", "blobs", "sha256") }

// blobNames lists the blobs of d's store (hex digests), sorted.
func blobNames(t *testing.T, d *Daemon) []string {
	t.Helper()
	ents, err := os.ReadDir(blobDir(d))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func fileSHA256(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// copiesOfBlobs returns the regular files under d's data root, outside the
// blob store, whose bytes are those of a blob of at least 1 KiB (a copy of
// a layer or config: what the shared store must not have).
func copiesOfBlobs(t *testing.T, d *Daemon) []string {
	t.Helper()
	sizes := map[int64]bool{}
	blobs := map[string]bool{}
	for _, b := range blobNames(t, d) {
		if fi, err := os.Stat(filepath.Join(blobDir(d), b)); err == nil && fi.Size() >= 1024 {
			sizes[fi.Size()] = true
			blobs[b] = true
		}
	}
	var out []string
	filepath.WalkDir(d.DataRoot, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if e.IsDir() && p == blobDir(d) {
			return filepath.SkipDir
		}
		if !e.Type().IsRegular() {
			return nil
		}
		if fi, err := e.Info(); err == nil && sizes[fi.Size()] && blobs[fileSHA256(p)] {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// snapshotDirs lists BuildKit's overlay snapshot directories.
func snapshotDirs(d *Daemon) []string {
	ents, _ := os.ReadDir(filepath.Join(d.DataRoot, "buildkit", "worker", "snapshots", "snapshots"))
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// BuildKit's content store is Berth's blob store: a build FROM an image
// that exists only in Berth's store uses that image's layer blob in place
// (same file, no copy anywhere under the data root), the built image's
// layers are the blobs BuildKit wrote, stored once; rmi of the built image
// then `docker builder prune` leaves exactly the blobs of before and no
// snapshot of BuildKit's; the first layout's separate store is removed at
// start.
func TestBuildKitSharedStore(t *testing.T) {
	d := startDaemon(t)
	dc := buildxPlugin(t, d)
	before := blobNames(t, d)
	if len(before) == 0 {
		t.Fatal("busybox has no blob in Berth's store")
	}
	var inodes []uint64
	for _, b := range before {
		inodes = append(inodes, inode(t, filepath.Join(blobDir(d), b)))
	}

	ctxDir := t.TempDir()
	writeFiles(t, ctxDir, map[string]string{
		"Dockerfile": "FROM busybox\nRUN head -c 300000 /dev/urandom > /big && echo built > /msg\nCMD [\"cat\", \"/msg\"]\n",
	})
	if r := dockerBuild(t, d, "-t", "bk-store:1", ctxDir); r.Exit != 0 {
		t.Fatalf("build: %s\n%s", r, d.LogTail(40))
	}
	if out := dc.Must(t, "run", "--rm", "bk-store:1"); out != "built" {
		t.Fatalf("the built image prints %q", out)
	}
	for i, b := range before {
		if got := inode(t, filepath.Join(blobDir(d), b)); got != inodes[i] {
			t.Errorf("blob %s was rewritten by the build (inode %d -> %d)", b, inodes[i], got)
		}
	}
	if c := copiesOfBlobs(t, d); len(c) > 0 {
		t.Fatalf("blobs stored twice under the data root: %q", c)
	}
	// The base layer's files are Berth's, linked into BuildKit's snapshot
	// rather than unpacked again.
	berthBin, _ := filepath.Glob(filepath.Join(d.DataRoot, "image", "layers", "*", "bin", "busybox"))
	snapBin, _ := filepath.Glob(filepath.Join(d.DataRoot, "buildkit", "worker", "snapshots", "snapshots", "*", "fs", "bin", "busybox"))
	if len(berthBin) != 1 || len(snapBin) != 1 {
		t.Fatalf("busybox binary in Berth's layers %q, in BuildKit's snapshots %q: want one each", berthBin, snapBin)
	}
	if a, b := inode(t, berthBin[0]), inode(t, snapBin[0]); a != b {
		t.Fatalf("the base layer is unpacked twice: %s (inode %d) and %s (inode %d)", berthBin[0], a, snapBin[0], b)
	}
	if _, err := os.Stat(filepath.Join(d.DataRoot, "buildkit", "worker", "content")); err == nil {
		t.Fatal("BuildKit has a content store of its own")
	}
	after := blobNames(t, d)
	if len(after) <= len(before) {
		t.Fatalf("the built layer is not a blob of Berth's store: %d blobs before, %d after", len(before), len(after))
	}

	// Deleting the base image's name keeps what the build cache uses, and
	// the cache keeps nothing the images use from being collected later.
	dc.Must(t, "rmi", "bk-store:1")
	dc.Must(t, "builder", "prune", "-af")
	waitFor(t, time.Minute, "BuildKit's snapshots to be removed", func() bool { return len(snapshotDirs(d)) == 0 })
	if got := blobNames(t, d); strings.Join(got, ",") != strings.Join(before, ",") {
		t.Fatalf("after rmi and builder prune the blobs are %q, want those of before the build %q\n%s", got, before, blobHeads(d, got))
	}
	if out := dc.Must(t, "run", "--rm", "busybox", "echo", "ok"); out != "ok" {
		t.Fatalf("the base image after prune: %q", out)
	}

	// A state of the first layout (BuildKit's own content store) is
	// removed when berthd starts.
	if !d.Stop() {
		t.Fatal("berthd did not stop")
	}
	old := filepath.Join(d.DataRoot, "buildkit", "runc-overlayfs", "content", "blobs", "sha256")
	writeFiles(t, old, map[string]string{"0000": "old blob"})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d.DataRoot, "buildkit", "runc-overlayfs")); !os.IsNotExist(err) {
		t.Fatalf("the first layout's store is still there: %v", err)
	}
	if got := blobNames(t, d); strings.Join(got, ",") != strings.Join(before, ",") {
		t.Fatalf("after a restart the blobs are %q, want %q", got, before)
	}
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// blobHeads shows the start of each blob, for a failure message.
func blobHeads(d *Daemon, names []string) string {
	var b strings.Builder
	for _, n := range names {
		data, _ := os.ReadFile(filepath.Join(blobDir(d), n))
		if len(data) > 120 {
			data = data[:120]
		}
		fmt.Fprintf(&b, "%s: %q\n", n[:12], data)
	}
	return b.String()
}

// daemon.json's builder.gc policy is BuildKit's (buildx inspect shows it);
// `docker buildx du` lists the cache, `docker builder prune` honours
// --filter until and --keep-storage and refuses a filter it cannot apply,
// and --all empties the cache as system df then reports.
func TestBuildKitCachePrune(t *testing.T) {
	d := newStoppedDaemon(t)
	d.addConfig(t, map[string]any{"builder": map[string]any{"gc": map[string]any{
		"enabled": true,
		"policy": []any{
			map[string]any{"keepStorage": "7MB", "filter": []string{"unused-for=3h"}},
			map[string]any{"all": true, "maxUsedSpace": "3GB"},
		},
	}}})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := d.importBusybox(); err != nil {
		t.Fatal(err)
	}
	dc := buildxPlugin(t, d)
	if out := dc.Must(t, "buildx", "inspect"); !strings.Contains(out, "3h0m0s") || !strings.Contains(out, "7MiB") {
		t.Fatalf("buildx inspect does not show the configured GC policy:\n%s", out)
	}
	ctxDir := t.TempDir()
	writeFiles(t, ctxDir, map[string]string{"Dockerfile": "FROM busybox\nRUN echo a > /a\nRUN echo b > /b\n"})
	if r := dockerBuild(t, d, ctxDir); r.Exit != 0 {
		t.Fatalf("build: %s", r)
	}
	du := dc.Must(t, "buildx", "du", "--verbose")
	if !strings.Contains(du, "Total:") || !strings.Contains(du, "echo a") {
		t.Fatalf("buildx du does not list the build's steps:\n%s", du)
	}
	count := func() string {
		return dc.Must(t, "system", "df", "--format", "{{if eq .Type \"Build Cache\"}}{{.TotalCount}}{{end}}")
	}
	n := count()
	if n == "0" || n == "" {
		t.Fatalf("system df counts %q build cache records", n)
	}
	// Everything was used just now: an "until" filter keeps it all, and
	// so does a keep-storage above the cache's size.
	dc.Must(t, "builder", "prune", "-af", "--filter", "until=1h")
	dc.Must(t, "builder", "prune", "-af", "--keep-storage", "1GB")
	if got := count(); got != n {
		t.Fatalf("prune with until=1h / keep-storage 1GB removed records: %s -> %s", n, got)
	}
	if r := dc.Run(t, "builder", "prune", "-af", "--filter", "color=red"); r.Exit == 0 {
		t.Fatalf("prune accepted an unknown filter: %s", r)
	}
	dc.Must(t, "builder", "prune", "-af")
	if got := count(); got != "0" {
		t.Fatalf("build cache records after prune --all: %s", got)
	}
}

// SIGKILL of berthd in the middle of a build leaves a consistent store:
// after a restart the step's container and mounts are gone, the images and
// their blobs are as before the build, no blob is left half-written or
// unowned, and the same build then succeeds.
func TestBuildKitCrashMidBuild(t *testing.T) {
	d := startDaemon(t)
	dc := buildxPlugin(t, d)
	before := blobNames(t, d)
	images := dc.Must(t, "image", "ls", "-q", "--no-trunc")
	tag := fmt.Sprint(2000000 + time.Now().UnixNano()%8000000)
	ctxDir := t.TempDir()
	writeFiles(t, ctxDir, map[string]string{"Dockerfile": "FROM busybox\nRUN head -c 200000 /dev/urandom > /r\nRUN sleep " + tag + "\n"})
	cmd := exec.Command(dc.Path(), "build", "--progress=plain", "-t", "crash:1", ctxDir)
	cmd.Env = dc.Env()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sleeping := func() bool { return len(pidsWithCmdline("sleep\x00"+tag)) > 0 }
	waitFor(t, buildLimit, "the RUN step to start", sleeping)
	d.Kill()
	cmd.Wait()
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the interrupted step's processes to be killed", func() bool { return !sleeping() })
	if ms := mountsUnder(filepath.Join(d.DataRoot, "buildkit")); len(ms) > 0 {
		t.Fatalf("mounts of the interrupted build left: %q", ms)
	}
	if got := dc.Must(t, "image", "ls", "-q", "--no-trunc"); got != images {
		t.Fatalf("images after the crash: %q, want %q", got, images)
	}
	ents, _ := os.ReadDir(filepath.Join(d.DataRoot, "image", "tmp"))
	if len(ents) > 0 {
		t.Fatalf("ingests left in the blob store's temp dir: %d", len(ents))
	}
	// The first RUN's blob may stay as build cache; a prune then leaves
	// exactly the blobs of before.
	dc.Must(t, "builder", "prune", "-af")
	if got := blobNames(t, d); strings.Join(got, ",") != strings.Join(before, ",") {
		t.Fatalf("blobs after crash and prune: %q, want %q\n%s", got, before, blobHeads(d, got))
	}
	writeFiles(t, ctxDir, map[string]string{"Dockerfile": "FROM busybox\nRUN head -c 200000 /dev/urandom > /r\nRUN echo done\n"})
	if r := dockerBuild(t, d, "-t", "crash:2", ctxDir); r.Exit != 0 {
		t.Fatalf("build after the crash: %s\n%s", r, d.LogTail(40))
	}
}
