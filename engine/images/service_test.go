package images_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/berth-dev/berth/engine/commit"
	"github.com/berth-dev/berth/engine/imagearchive"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/images/imagetest"
	"github.com/berth-dev/berth/engine/snapshots"
	"github.com/berth-dev/berth/engine/store"
	"github.com/berth-dev/berth/internal/errdefs"
)

// testServices is the image database with import (engine/imagearchive)
// and commit (engine/commit) over it, as the daemon wires them: tests call
// each side's methods on one value.
type testServices struct {
	*images.Service
	*archiver
	*committer
}

type (
	archiver  = imagearchive.Service
	committer = commit.Service
)

func newTestService(t *testing.T) (*testServices, string, *store.DB) {
	t.Helper()
	return newTestServiceOpts(t, images.Options{})
}

// testUsage is a ContainerUsage whose answer a test changes as it goes.
type testUsage struct{ users func(imageID string) []string }

func (u *testUsage) ImageUsers(id string) []string {
	if u.users == nil {
		return nil
	}
	return u.users(id)
}
func (u *testUsage) IsRunning(string) bool { return false }

func newTestServiceOpts(t *testing.T, opts images.Options) (*testServices, string, *store.DB) {
	t.Helper()
	db, dir := imagetest.DB(t)
	s, err := images.New(filepath.Join(dir, "image"), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return wrap(s), dir, db
}

func wrap(s *images.Service) *testServices {
	return &testServices{s, imagearchive.New(s, s.LayerStore()), commit.New(s, s.LayerStore())}
}

func (s *testServices) layerDir(chainID string) string {
	return s.LayerStore().Layout().LayerDir(chainID)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestImportResolveTagDelete(t *testing.T) {
	usage := &testUsage{}
	s, _, _ := newTestServiceOpts(t, images.Options{Containers: usage})
	ctx := context.Background()
	layer := imagetest.Tar(t, imagetest.Entry{Name: "etc/", Type: tar.TypeDir}, imagetest.Entry{Name: "etc/hello", Body: "hi\n"})
	img, err := s.Import(ctx, bytes.NewReader(gz(layer)), imagearchive.ImportOptions{Ref: "busybox", Changes: []string{`CMD ["sh"]`, "ENV A=1 B=2", "EXPOSE 80"}, Message: "msg"})
	if err != nil {
		t.Fatal(err)
	}
	if len(img.RepoTags) != 1 || img.RepoTags[0] != "busybox:latest" {
		t.Fatalf("tags %v", img.RepoTags)
	}
	if img.Config.Config.Cmd[0] != "sh" || len(img.Config.Config.Env) != 2 || img.Comment != "msg" {
		t.Fatalf("config %+v", img.Config.Config)
	}
	if img.Size != 3 || len(img.Layers) != 1 {
		t.Fatalf("size %d layers %v", img.Size, img.Layers)
	}
	for _, ref := range []string{"busybox", "busybox:latest", "docker.io/library/busybox:latest", img.ID, img.ID[7:], img.ID[7:19], img.ID[:12]} {
		got, err := s.Resolve(ctx, ref)
		if err != nil || got.ID != img.ID {
			t.Fatalf("resolve %q: %v", ref, err)
		}
	}
	if _, err := s.Resolve(ctx, "nothere"); !errdefs.IsNotFound(err) || err.Error() != "No such image: nothere" {
		t.Fatalf("missing: %v", err)
	}
	// Same content again: same layer, new image (new created time).
	img2, err := s.Import(ctx, bytes.NewReader(layer), imagearchive.ImportOptions{Ref: "other:v1"})
	if err != nil {
		t.Fatal(err)
	}
	if img2.Layers[0] != img.Layers[0] {
		t.Fatal("layer not shared")
	}
	if err := s.Tag(ctx, "busybox", "localhost:5000/a/b:c"); err != nil {
		t.Fatal(err)
	}
	// rmi by ID with two references: conflict.
	_, err = s.Delete(ctx, img.ID[7:19], false, true)
	if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "image is referenced in multiple repositories") {
		t.Fatalf("want conflict, got %v", err)
	}
	usage.users = func(id string) []string {
		if id == img.ID {
			return []string{"0123456789abcdef0123"}
		}
		return nil
	}
	if _, err := s.Delete(ctx, "busybox", false, true); err != nil {
		t.Fatal(err)
	}
	_, err = s.Delete(ctx, "localhost:5000/a/b:c", false, true)
	want := `conflict: unable to remove repository reference "localhost:5000/a/b:c" (must force) - container 0123456789ab is using its referenced image ` + img.ID[7:19]
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	usage.users = nil
	resp, err := s.Delete(ctx, "localhost:5000/a/b:c", false, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp) != 2 || resp[0].Untagged != "localhost:5000/a/b:c" || resp[1].Deleted != img.ID {
		t.Fatalf("resp %+v", resp)
	}
	// The layer is still used by img2.
	if _, err := os.Stat(filepath.Join(s.layerDir(img2.Layers[0]), "etc/hello")); err != nil {
		t.Fatal(err)
	}
	resp, err = s.Delete(ctx, "other:v1", false, true)
	if err != nil || len(resp) != 3 || resp[2].Deleted != img2.Layers[0] {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	if _, err := os.Stat(s.layerDir(img2.Layers[0])); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("layer dir left: %v", err)
	}
	if _, blobs := imagetest.BlobUsage(t, s.Content()); blobs != 0 {
		t.Fatalf("blobs left: %v", blobs)
	}
}

func TestReopenCleansLeftovers(t *testing.T) {
	s, dir, db := newTestService(t)
	ctx := context.Background()
	img, err := s.Import(ctx, bytes.NewReader(imagetest.Tar(t, imagetest.Entry{Name: "a", Body: "x"})), imagearchive.ImportOptions{Ref: "a"})
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "image")
	os.MkdirAll(filepath.Join(root, "tmp", "layer-123", "x"), 0o755)
	os.MkdirAll(filepath.Join(root, "layers", strings.Repeat("a", 64)), 0o755)
	os.WriteFile(filepath.Join(root, "blobs/sha256", strings.Repeat("b", 64)), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(root, "overlay", "deadbeef", "upper"), 0o755)
	s2i, err := images.New(root, db, images.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s2 := wrap(s2i)
	for _, p := range []string{"tmp/layer-123", "layers/" + strings.Repeat("a", 64), "blobs/sha256/" + strings.Repeat("b", 64), "overlay/deadbeef"} {
		if _, err := os.Stat(filepath.Join(root, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind", p)
		}
	}
	// Moved to the trash at once, deleted there in the background.
	s2.WaitTrash()
	if ents, _ := os.ReadDir(filepath.Join(root, "trash")); len(ents) != 0 {
		t.Errorf("trash not emptied: %v", ents)
	}
	got, err := s2.Resolve(ctx, "a")
	if err != nil || got.ID != img.ID {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s2.layerDir(got.Layers[0]), "a")); err != nil {
		t.Fatal(err)
	}
}

func TestRootfsOverlay(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	s, _, _ := newTestService(t)
	ctx := context.Background()
	img, err := s.Import(ctx, bytes.NewReader(imagetest.Tar(t, imagetest.Entry{Name: "etc/", Type: tar.TypeDir}, imagetest.Entry{Name: "etc/hello", Body: "hi"}, imagetest.Entry{Name: "gone", Body: "x"})), imagearchive.ImportOptions{Ref: "base"})
	if err != nil {
		t.Fatal(err)
	}
	id := "c0ffee" + strings.Repeat("0", 58)
	for i := 0; i < 2; i++ {
		if err := s.PrepareRootfs(ctx, id, img.ID); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { s.RemoveRootfs(ctx, id) })
	merged, err := s.MountRootfs(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := s.MountRootfs(ctx, id); err != nil || again != merged {
		t.Fatalf("remount: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(merged, "etc/hello")); err != nil || string(b) != "hi" {
		t.Fatalf("read: %q %v", b, err)
	}
	os.WriteFile(filepath.Join(merged, "new"), []byte("n"), 0o644)
	os.WriteFile(filepath.Join(merged, "etc/hello"), []byte("changed"), 0o644)
	os.Remove(filepath.Join(merged, "gone"))
	changes, err := s.Changes(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, c := range changes {
		got[c.Path] = int(c.Kind)
	}
	if len(got) != 4 || got["/new"] != 1 || got["/etc"] != 0 || got["/etc/hello"] != 0 || got["/gone"] != 2 {
		t.Fatalf("changes %+v", changes)
	}
	rw, total, err := s.RootfsSize(ctx, id)
	if err != nil || rw != int64(len("n")+len("changed")) || total < rw {
		t.Fatalf("size %d %d %v", rw, total, err)
	}
	var exp bytes.Buffer
	if err := s.Export(ctx, id, &exp); err != nil {
		t.Fatal(err)
	}
	names := imagetest.Names(t, exp.Bytes())
	if !names["new"] || !names["etc/hello"] || names["gone"] {
		t.Fatalf("export %v", names)
	}
	cimg, err := s.Commit(ctx, id, commit.Options{Ref: "committed:1", Message: "c", Changes: []string{"CMD true"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cimg.Layers) != 2 || cimg.Parent != img.ID || cimg.Config.Config.Cmd[2] != "true" {
		t.Fatalf("commit %+v", cimg)
	}
	ids, _ := s.RootfsIDs(ctx)
	if len(ids) != 1 || ids[0] != id {
		t.Fatalf("ids %v", ids)
	}
	if err := s.UnmountRootfs(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := s.UnmountRootfs(ctx, id); err != nil {
		t.Fatal(err)
	}
	// A committed image mounts with the deleted file gone.
	id2 := "d0ffee" + strings.Repeat("0", 58)
	if err := s.PrepareRootfs(ctx, id2, cimg.ID); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.RemoveRootfs(ctx, id2) })
	m2, err := s.MountRootfs(ctx, id2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(m2, "gone")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("whiteout lost in commit")
	}
	if b, _ := os.ReadFile(filepath.Join(m2, "etc/hello")); string(b) != "changed" {
		t.Fatalf("commit content %q", b)
	}
	for _, c := range []string{id, id2} {
		if err := s.RemoveRootfs(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveRootfs(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if ids, _ := s.RootfsIDs(ctx); len(ids) != 0 {
		t.Fatalf("ids %v", ids)
	}
}

func TestEmptyImageRootfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	s, _, _ := newTestService(t)
	ctx := context.Background()
	var cfg images.ConfigFile
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.RootFS.Type = "layers"
	img, err := s.CreateImage(&cfg, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	id := "e0ffee" + strings.Repeat("0", 58)
	if err := s.PrepareRootfs(ctx, id, img.ID); err != nil {
		t.Fatal(err)
	}
	defer s.RemoveRootfs(ctx, id)
	if _, err := s.MountRootfs(ctx, id); err != nil {
		t.Fatal(err)
	}
}

// ForgetRootfs commits the record's deletion at once and leaves the
// mounted layer in place until finish unmounts and deletes it; without
// finish (a crash in between), the next open unmounts and deletes it.
func TestForgetRootfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	s, dir, db := newTestService(t)
	ctx := context.Background()
	img, err := s.Import(ctx, bytes.NewReader(imagetest.Tar(t, imagetest.Entry{Name: "a", Body: "x"})), imagearchive.ImportOptions{Ref: "base"})
	if err != nil {
		t.Fatal(err)
	}
	mountedLayer := func(id string) string {
		t.Helper()
		if err := s.PrepareRootfs(ctx, id, img.ID); err != nil {
			t.Fatal(err)
		}
		merged, err := s.MountRootfs(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.RemoveRootfs(ctx, id) })
		return merged
	}
	recorded := func(id string) bool {
		ids, _ := s.RootfsIDs(ctx)
		return slices.Contains(ids, id)
	}
	id := "f0ffee" + strings.Repeat("0", 58)
	merged := mountedLayer(id)
	finish, err := s.ForgetRootfs(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if recorded(id) {
		t.Fatal("the record outlived ForgetRootfs")
	}
	if !snapshots.IsMounted(merged) {
		t.Fatal("ForgetRootfs unmounted the layer before finish")
	}
	finish()
	if snapshots.IsMounted(merged) {
		t.Fatal("still mounted after finish")
	}
	if _, err := os.Stat(filepath.Dir(merged)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("layer left in place after finish: %v", err)
	}

	crashed := "f1ffee" + strings.Repeat("0", 58)
	merged = mountedLayer(crashed)
	if _, err := s.ForgetRootfs(ctx, crashed); err != nil {
		t.Fatal(err)
	}
	s2, err := images.New(filepath.Join(dir, "image"), db, images.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if snapshots.IsMounted(merged) {
		t.Fatal("the next open left the forgotten layer mounted")
	}
	if _, err := os.Stat(filepath.Dir(merged)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the next open left the forgotten layer in place: %v", err)
	}
	s2.WaitTrash()
}
