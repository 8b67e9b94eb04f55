package mounts

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/moby/api/types/mount"

	"github.com/berth-dev/berth/engine/store"
	"github.com/berth-dev/berth/engine/volumes"
	"github.com/berth-dev/berth/internal/errdefs"
)

func TestParseBinds(t *testing.T) {
	host := t.TempDir()
	mps, err := Parse([]string{"data:/data:ro,z", host + ":/h:ro", "/anon", "named:/n:nocopy", host + ":/p:rshared"}, nil, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	byDest := map[string]MountPoint{}
	for _, m := range mps {
		byDest[m.Destination] = m
	}
	if m := byDest["/data"]; m.Type != TypeVolume || m.Name != "data" || m.RW || m.Mode != "ro,z" || m.Anonymous {
		t.Errorf("named: %+v", m)
	}
	if m := byDest["/h"]; m.Type != TypeBind || m.Source != host || m.RW || !m.CreateSource {
		t.Errorf("bind: %+v", m)
	}
	if m := byDest["/anon"]; m.Type != TypeVolume || !m.Anonymous || len(m.Name) != 64 || !m.RW {
		t.Errorf("anonymous: %+v", m)
	}
	if m := byDest["/n"]; !m.NoCopy {
		t.Errorf("nocopy: %+v", m)
	}
	if m := byDest["/p"]; m.Propagation != "rshared" {
		t.Errorf("propagation: %+v", m)
	}
}

func TestParseErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	ProtectPaths("/var/lib/berth-test-root")
	defer ProtectPaths()
	cases := []struct {
		name   string
		binds  []string
		ms     []mount.Mount
		tmpfs  map[string]string
		want   string
		isKind func(error) bool
	}{
		{"relative dest", []string{"vol:rel"}, nil, nil, `invalid volume specification: 'vol:rel': invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute`, errdefs.IsInvalid},
		{"relative host path", []string{"./x:/p"}, nil, nil, `create ./x: "./x" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`, errdefs.IsInvalid},
		{"dest root", []string{"/x:/"}, nil, nil, `invalid volume specification: '/x:/': invalid mount config for type "bind": invalid specification: destination can't be '/'`, errdefs.IsInvalid},
		{"mode only", []string{"/foo:rw"}, nil, nil, `invalid volume specification: '/foo:rw'`, errdefs.IsInvalid},
		{"bad mode", []string{"/a:/b:xyz"}, nil, nil, `invalid mode: xyz`, errdefs.IsInvalid},
		{"two rw modes", []string{"/a:/b:ro,rw"}, nil, nil, `invalid mode: ro,rw`, errdefs.IsInvalid},
		{"too many colons", []string{"a:b:c:d"}, nil, nil, `invalid volume specification: 'a:b:c:d'`, errdefs.IsInvalid},
		{"empty", []string{""}, nil, nil, `invalid volume specification: ''`, errdefs.IsInvalid},
		{"proc", []string{"/tmp:/proc"}, nil, nil, `invalid volume specification: '/tmp:/proc': invalid mount config for type "bind": invalid specification: destination /proc is inside /proc, which the runtime owns`, errdefs.IsInvalid},
		{"proc sub", []string{"/tmp:/proc/sys"}, nil, nil, `destination /proc/sys is inside /proc`, errdefs.IsInvalid},
		{"engine files", []string{"/var/lib/berth-test-root/volumes:/x"}, nil, nil, `is inside the engine's own folder /var/lib/berth-test-root`, errdefs.IsInvalid},
		{"duplicate -v", []string{"a1:/data", "/tmp:/data"}, nil, nil, `Duplicate mount point: /data`, errdefs.IsInvalid},
		{"duplicate -v/--mount", []string{"a1:/data/"}, []mount.Mount{{Type: mount.TypeVolume, Source: "b1", Target: "/data"}}, nil, `Duplicate mount point: /data`, errdefs.IsInvalid},
		{"duplicate tmpfs", []string{"a1:/data"}, nil, map[string]string{"/data": ""}, `Duplicate mount point: /data`, errdefs.IsInvalid},
		{"missing bind src", nil, []mount.Mount{{Type: mount.TypeBind, Source: missing, Target: "/x"}}, nil, `invalid mount config for type "bind": bind source path does not exist: ` + missing, errdefs.IsInvalid},
		{"relative bind src", nil, []mount.Mount{{Type: mount.TypeBind, Source: "../x", Target: "/x"}}, nil, `invalid mount config for type "bind": invalid mount path: '../x' mount path must be absolute`, errdefs.IsInvalid},
		{"empty bind src", nil, []mount.Mount{{Type: mount.TypeBind, Target: "/x"}}, nil, `invalid mount config for type "bind": field Source must not be empty`, errdefs.IsInvalid},
		{"no target", nil, []mount.Mount{{Type: mount.TypeVolume, Source: "v1"}}, nil, `invalid mount config for type "volume": field Target must not be empty`, errdefs.IsInvalid},
		{"relative target", nil, []mount.Mount{{Type: mount.TypeVolume, Source: "v1", Target: "x"}}, nil, `invalid mount config for type "volume": invalid mount path: 'x' mount path must be absolute`, errdefs.IsInvalid},
		{"ro anonymous", nil, []mount.Mount{{Type: mount.TypeVolume, Target: "/x", ReadOnly: true}}, nil, `invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes`, errdefs.IsInvalid},
		{"bind opts on volume", nil, []mount.Mount{{Type: mount.TypeVolume, Target: "/x", BindOptions: &mount.BindOptions{}}}, nil, `invalid mount config for type "volume": field BindOptions must not be specified`, errdefs.IsInvalid},
		{"tmpfs source", nil, []mount.Mount{{Type: mount.TypeTmpfs, Source: "/x", Target: "/x"}}, nil, `invalid mount config for type "tmpfs": field Source must not be specified`, errdefs.IsInvalid},
		{"bad propagation", nil, []mount.Mount{{Type: mount.TypeBind, Source: "/tmp", Target: "/x", BindOptions: &mount.BindOptions{Propagation: "weird"}}}, nil, `invalid propagation mode: weird`, errdefs.IsInvalid},
		{"unknown type", nil, []mount.Mount{{Type: "npipe", Target: "/x"}}, nil, `invalid mount config for type "npipe": mount type unknown`, errdefs.IsInvalid},
		{"plugin driver", nil, []mount.Mount{{Type: mount.TypeVolume, Source: "v1", Target: "/x", VolumeOptions: &mount.VolumeOptions{DriverConfig: &mount.Driver{Name: "rexray"}}}}, nil, `plugin "rexray" not found`, errdefs.IsNotFound},
		{"tmpfs relative", nil, nil, map[string]string{"run": ""}, `invalid mount path: 'run' mount path must be absolute`, errdefs.IsInvalid},
		{"tmpfs bad option", nil, nil, map[string]string{"/run": "size=lots"}, `invalid tmpfs option "size=lots"`, errdefs.IsInvalid},
	}
	for _, c := range cases {
		_, err := Parse(c.binds, c.ms, c.tmpfs, nil, nil, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || !c.isKind(err) {
			t.Errorf("%s: got %v (classified %v), want %q", c.name, err, errdefs.Classified(err), c.want)
		}
	}
}

func TestParseMountsAndPrecedence(t *testing.T) {
	host := t.TempDir()
	ms := []mount.Mount{
		{Type: mount.TypeBind, Source: host, Target: "/b", ReadOnly: true, BindOptions: &mount.BindOptions{Propagation: mount.PropagationRSlave}},
		{Type: mount.TypeVolume, Source: "v1", Target: "/v", VolumeOptions: &mount.VolumeOptions{NoCopy: true, DriverConfig: &mount.Driver{Options: map[string]string{"type": "tmpfs", "device": "tmpfs"}}}},
		{Type: mount.TypeTmpfs, Target: "/t", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 64 << 20, Mode: 0o1777}},
	}
	from := func(ref string) ([]MountPoint, error) {
		if ref != "other" {
			return nil, errdefs.NotFound("No such container: %s", ref)
		}
		return []MountPoint{
			{Type: TypeVolume, Name: "shared", Destination: "/shared", RW: true, Anonymous: true},
			{Type: TypeVolume, Name: "over", Destination: "/over", RW: true},
		}, nil
	}
	img := map[string]struct{}{"/v": {}, "/img": {}, "/shared": {}}
	mps, err := Parse([]string{"mine:/over"}, ms, map[string]string{"/run": "size=1m,exec"}, img, []string{"other:ro"}, from)
	if err != nil {
		t.Fatal(err)
	}
	byDest := map[string]MountPoint{}
	var order []string
	for _, m := range mps {
		byDest[m.Destination] = m
		order = append(order, m.Destination)
	}
	if m := byDest["/b"]; m.Type != TypeBind || m.RW || m.Propagation != "rslave" || m.CreateSource {
		t.Errorf("--mount bind: %+v", m)
	}
	if m := byDest["/v"]; m.Name != "v1" || !m.NoCopy || m.VolumeOptions["type"] != "tmpfs" || m.Origin != OriginMount {
		t.Errorf("--mount volume (image VOLUME must not replace it): %+v", m)
	}
	if m := byDest["/t"]; m.TmpfsOptions != "size=64m,mode=1777" {
		t.Errorf("--mount tmpfs: %+v", m)
	}
	if m := byDest["/shared"]; m.Name != "shared" || m.RW || m.Anonymous {
		t.Errorf("volumes-from :ro: %+v", m)
	}
	if m := byDest["/over"]; m.Name != "mine" {
		t.Errorf("-v must override volumes-from: %+v", m)
	}
	if m := byDest["/img"]; !m.Anonymous || m.Origin != OriginImage {
		t.Errorf("image volume: %+v", m)
	}
	if !slices.IsSortedFunc(order, func(a, b string) int { return strings.Count(a, "/") - strings.Count(b, "/") }) {
		t.Errorf("not parents first: %v", order)
	}
	if _, err := Parse(nil, nil, nil, nil, []string{"ghost"}, from); !errdefs.IsNotFound(err) {
		t.Errorf("volumes-from missing container: %v", err)
	}
	if _, err := Parse(nil, nil, nil, nil, []string{"other:xx"}, from); err == nil || err.Error() != "invalid mode: xx" {
		t.Errorf("volumes-from bad mode: %v", err)
	}
}

func newVolumes(t *testing.T) *volumes.Service {
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	vols, err := volumes.New(dir, db, volumes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return vols
}

func TestPrepare(t *testing.T) {
	ctx := context.Background()
	vols := newVolumes(t)
	base := t.TempDir()
	rootfs := filepath.Join(base, "rootfs")
	// The image has content at /app (to be copied up) and /app/link -> host.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(rootfs, "app", "sub"), 0o750))
	must(os.WriteFile(filepath.Join(rootfs, "app", "sub", "conf"), []byte("image-conf"), 0o640))
	must(os.Symlink("/etc/shadow", filepath.Join(rootfs, "app", "shadow")))
	must(os.Symlink("../../../..", filepath.Join(rootfs, "escape")))
	if os.Geteuid() == 0 {
		must(os.Chown(filepath.Join(rootfs, "app"), 1000, 1001))
		must(os.Chown(filepath.Join(rootfs, "app", "sub", "conf"), 1000, 1001))
	}
	newHostDir := filepath.Join(base, "host", "created")
	mps, err := Parse([]string{"appdata:/app", newHostDir + ":/h", "/escape/x"}, []mount.Mount{
		{Type: mount.TypeVolume, Source: "nocopy", Target: "/app/sub", VolumeOptions: &mount.VolumeOptions{NoCopy: true}},
	}, map[string]string{"/run": "size=1m"}, nil, nil, nil)
	must(err)
	specs, err := Prepare(ctx, vols, rootfs, mps)
	must(err)
	var dests []string
	for _, s := range specs {
		dests = append(dests, s.Destination)
	}
	if strings.Join(dests, " ") != "/app /h /run /app/sub /escape/x" {
		t.Fatalf("order: %v", dests)
	}
	if st, err := os.Stat(newHostDir); err != nil || !st.IsDir() {
		t.Fatalf("-v host folder not created: %v", err)
	}
	app, err := vols.Get(ctx, "appdata")
	must(err)
	if b, _ := os.ReadFile(filepath.Join(app.Mountpoint, "sub", "conf")); string(b) != "image-conf" {
		t.Fatal("copy-up did not fill the new volume")
	}
	if l, _ := os.Readlink(filepath.Join(app.Mountpoint, "shadow")); l != "/etc/shadow" {
		t.Fatalf("symlink copied as a link: %q", l)
	}
	st, _ := os.Stat(app.Mountpoint)
	if st.Mode().Perm() != 0o750 {
		t.Fatalf("volume root mode: %v", st.Mode())
	}
	if os.Geteuid() == 0 {
		if s := st.Sys().(*syscall.Stat_t); s.Uid != 1000 || s.Gid != 1001 {
			t.Fatalf("volume root owner %d:%d", s.Uid, s.Gid)
		}
	}
	nc, err := vols.Get(ctx, "nocopy")
	must(err)
	if ents, _ := os.ReadDir(nc.Mountpoint); len(ents) != 0 {
		t.Fatalf("volume-nocopy volume got content: %v", ents)
	}
	// The anonymous volume under a ../.. symlink: copy-up stayed inside.
	for _, m := range mps {
		if m.Type == TypeVolume && m.Source == "" {
			t.Fatalf("Prepare must fill Source: %+v", m)
		}
		if m.Anonymous {
			v, err := vols.Get(ctx, m.Name)
			must(err)
			if _, ok := v.Labels[volumes.AnonymousLabel]; !ok {
				t.Fatalf("anonymous volume not labelled: %+v", v)
			}
		}
	}
	for _, s := range specs {
		switch s.Destination {
		case "/app":
			if s.Type != "bind" || s.Source != app.Mountpoint || !slices.Equal(s.Options, []string{"rbind", "rw", "rprivate"}) {
				t.Fatalf("volume spec: %+v", s)
			}
		case "/run":
			if s.Type != "tmpfs" || !slices.Equal(s.Options, []string{"noexec", "nosuid", "nodev", "size=1m"}) {
				t.Fatalf("tmpfs spec: %+v", s)
			}
		}
	}
	// A second start does not copy again over data.
	must(os.WriteFile(filepath.Join(app.Mountpoint, "sub", "conf"), []byte("changed"), 0o644))
	_, err = Prepare(ctx, vols, rootfs, mps)
	must(err)
	if b, _ := os.ReadFile(filepath.Join(app.Mountpoint, "sub", "conf")); string(b) != "changed" {
		t.Fatal("copy-up overwrote a non-empty volume")
	}
	// ToAPI in Docker's shape; --tmpfs is not listed.
	api := ToAPI(mps, vols)
	if len(api) != 4 {
		t.Fatalf("ToAPI: %+v", api)
	}
	for _, m := range api {
		if m.Destination == "/h" && (m.Type != "bind" || m.Propagation != "rprivate" || m.Source != newHostDir || !m.RW) {
			t.Fatalf("bind: %+v", m)
		}
		if m.Destination == "/app" && (m.Name != "appdata" || m.Driver != "local" || m.Mode != "z" || m.Source != app.Mountpoint) {
			t.Fatalf("volume: %+v", m)
		}
	}
	// rm -v: anonymous volumes go, named stay.
	must(RemoveAnonymous(ctx, vols, mps))
	all, _ := vols.List(ctx, nil)
	if len(all) != 2 {
		t.Fatalf("after RemoveAnonymous: %v", all)
	}
	// A --mount bind source removed after create is refused at start.
	gone := t.TempDir()
	mps2, err := Parse(nil, []mount.Mount{{Type: mount.TypeBind, Source: gone, Target: "/g"}}, nil, nil, nil, nil)
	must(err)
	os.Remove(gone)
	if _, err := Prepare(ctx, vols, rootfs, mps2); err == nil || !strings.Contains(err.Error(), "bind source path does not exist") {
		t.Fatalf("missing --mount source at start: %v", err)
	}
}

var _ Volumes = (*volumes.Service)(nil)
