package buildkit

import (
	"testing"

	"github.com/containerd/containerd/v2/core/mount"
)

// The directory of a layer's own files is the top of a read-only view of
// its snapshot; a writable view or several mounts name none.
func TestTopDir(t *testing.T) {
	for _, c := range []struct {
		name   string
		mounts []mount.Mount
		want   string
	}{
		{"bottom layer", []mount.Mount{{Type: "bind", Source: "/s/1/fs", Options: []string{"rbind", "ro"}}}, "/s/1/fs"},
		{"layer on others", []mount.Mount{{Type: "overlay", Source: "overlay", Options: []string{"index=off", "lowerdir=/s/3/fs:/s/2/fs:/s/1/fs", "ro"}}}, "/s/3/fs"},
		{"writable", []mount.Mount{{Type: "overlay", Options: []string{"upperdir=/s/4/fs", "workdir=/s/4/work", "lowerdir=/s/3/fs"}}}, ""},
		{"two mounts", []mount.Mount{{Type: "bind", Source: "/a"}, {Type: "bind", Source: "/b"}}, ""},
		{"no lowerdir", []mount.Mount{{Type: "overlay", Options: []string{"ro"}}}, ""},
		{"tmpfs", []mount.Mount{{Type: "tmpfs", Source: "tmpfs"}}, ""},
	} {
		got, ok := topDir(c.mounts)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("%s: topDir = %q, %v; want %q", c.name, got, ok, c.want)
		}
	}
}
