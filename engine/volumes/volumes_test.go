package volumes

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/volume"

	"github.com/berth-dev/berth/engine/store"
	"github.com/berth-dev/berth/internal/errdefs"
)

func open(t *testing.T, dir string) (*Service, *store.DB) {
	t.Helper()
	return openUsed(t, dir, nil)
}

// openUsed opens the service with users as its Usage.
func openUsed(t *testing.T, dir string, users Usage) (*Service, *store.DB) {
	t.Helper()
	db, err := store.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(dir, db, Options{Users: users})
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

func TestCreateGetListRemovePersist(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, db := open(t, dir)
	v, err := s.Create(ctx, volume.CreateRequest{Name: "data", Labels: map[string]string{"team": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if v.Mountpoint != filepath.Join(dir, "volumes", "data", "_data") || v.Driver != "local" || v.Scope != "local" || v.CreatedAt == "" {
		t.Fatalf("volume: %+v", v)
	}
	if err := os.WriteFile(filepath.Join(v.Mountpoint, "f"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Creating again returns the existing one, data intact.
	if v2, err := s.Create(ctx, volume.CreateRequest{Name: "data"}); err != nil || v2.Labels["team"] != "a" {
		t.Fatalf("re-create: %+v %v", v2, err)
	}
	anon, err := s.Create(ctx, volume.CreateRequest{Labels: map[string]string{AnonymousLabel: ""}})
	if err != nil || len(anon.Name) != 64 {
		t.Fatalf("anonymous: %+v %v", anon, err)
	}
	// Survives a restart of the service.
	db.Close()
	// users is what the container service would answer, changed as the
	// test goes.
	var users map[string][]string
	s, db = openUsed(t, dir, UsersFunc(func(n string) []string { return users[n] }))
	defer db.Close()
	got, err := s.Get(ctx, "data")
	if err != nil || got.Labels["team"] != "a" {
		t.Fatalf("after reopen: %+v %v", got, err)
	}
	if b, _ := os.ReadFile(filepath.Join(got.Mountpoint, "f")); string(b) != "kept" {
		t.Fatal("data lost across restart")
	}
	list, err := s.List(ctx, map[string][]string{"label": {"team=a"}})
	if err != nil || len(list) != 1 || list[0].Name != "data" {
		t.Fatalf("label filter: %v %v", list, err)
	}
	list, _ = s.List(ctx, map[string][]string{"name": {"dat"}})
	if len(list) != 1 {
		t.Fatalf("name filter: %v", list)
	}
	if _, err := s.List(ctx, map[string][]string{"bogus": {"x"}}); !errdefs.IsInvalid(err) || err.Error() != "invalid filter 'bogus'" {
		t.Fatalf("bad filter: %v", err)
	}
	users = map[string][]string{"data": {"c1", "c2"}}
	list, _ = s.List(ctx, map[string][]string{"dangling": {"true"}})
	if len(list) != 1 || list[0].Name != anon.Name {
		t.Fatalf("dangling=true: %v", list)
	}
	err = s.Remove(ctx, "data", true)
	if !errdefs.IsConflict(err) || err.Error() != "remove data: volume is in use - [c1, c2]" {
		t.Fatalf("in use: %v", err)
	}
	// Prune: anonymous only, and never one in use.
	rep, err := s.Prune(ctx, nil)
	if err != nil || len(rep.VolumesDeleted) != 1 || rep.VolumesDeleted[0] != anon.Name {
		t.Fatalf("prune: %+v %v", rep, err)
	}
	rep, _ = s.Prune(ctx, map[string][]string{"all": {"true"}})
	if len(rep.VolumesDeleted) != 0 {
		t.Fatalf("prune removed a volume in use: %+v", rep)
	}
	users = nil
	rep, _ = s.Prune(ctx, map[string][]string{"all": {"true"}, "label!": {"team"}})
	if len(rep.VolumesDeleted) != 0 {
		t.Fatalf("label! filter: %+v", rep)
	}
	if err := s.Remove(ctx, "data", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "volumes", "data")); !os.IsNotExist(err) {
		t.Fatalf("data left behind: %v", err)
	}
	if _, err := s.Get(ctx, "data"); !errdefs.IsNotFound(err) || err.Error() != "get data: no such volume" {
		t.Fatalf("get removed: %v", err)
	}
	if err := s.Remove(ctx, "data", false); !errdefs.IsNotFound(err) {
		t.Fatalf("rm missing: %v", err)
	}
	if err := s.Remove(ctx, "data", true); err != nil {
		t.Fatalf("rm -f missing: %v", err)
	}
}

func TestCreateValidation(t *testing.T) {
	ctx := context.Background()
	s, db := open(t, t.TempDir())
	defer db.Close()
	cases := []struct {
		req  volume.CreateRequest
		want string
	}{
		{volume.CreateRequest{Name: "a"}, "create a: volume name is too short, names should be at least two alphanumeric characters"},
		{volume.CreateRequest{Name: "./x"}, `create ./x: "./x" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`},
		{volume.CreateRequest{Name: "ok1", DriverOpts: map[string]string{"foo": "bar"}}, `create ok1: invalid option: "foo"`},
		{volume.CreateRequest{Name: "ok1", DriverOpts: map[string]string{"device": "/dev/x"}}, `create ok1: missing required option: "type"`},
		{volume.CreateRequest{Name: "ok1", DriverOpts: map[string]string{"type": "tmpfs"}}, `create ok1: missing required option: "device"`},
	}
	for _, c := range cases {
		_, err := s.Create(ctx, c.req)
		if err == nil || err.Error() != c.want || !errdefs.IsInvalid(err) {
			t.Errorf("%+v: got %v, want %q", c.req, err, c.want)
		}
	}
	if _, err := s.Create(ctx, volume.CreateRequest{Name: "x1", Driver: "nfs-plugin"}); !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), `plugin "nfs-plugin" not found`) {
		t.Errorf("driver: %v", err)
	}
}

func TestDeviceVolumeMountsOnUse(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root")
	}
	ctx := context.Background()
	s, db := open(t, t.TempDir())
	defer db.Close()
	if _, err := s.Create(ctx, volume.CreateRequest{Name: "tmp", DriverOpts: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m,noexec"}}); err != nil {
		t.Fatal(err)
	}
	p, err := s.Mountpoint(ctx, "tmp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Release(ctx, "tmp"); s.Release(ctx, "tmp") })
	if !mounted(p) {
		t.Fatal("not mounted at first use")
	}
	if _, err := s.Mountpoint(ctx, "tmp"); err != nil {
		t.Fatal(err)
	}
	s.Release(ctx, "tmp")
	if !mounted(p) {
		t.Fatal("unmounted while still used")
	}
	s.Release(ctx, "tmp")
	if mounted(p) {
		t.Fatal("still mounted when unused")
	}
	if err := s.Remove(ctx, "tmp", false); err != nil {
		t.Fatal(err)
	}
}
