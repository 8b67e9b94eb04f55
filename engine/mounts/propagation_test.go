package mounts

import (
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
)

func TestCheckPropagation(t *testing.T) {
	infos := []*mountinfo.Info{
		{Mountpoint: "/", Optional: "shared:1"},
		{Mountpoint: "/mnt", Optional: ""},
		{Mountpoint: "/mnt/sh", Optional: "shared:7"},
		{Mountpoint: "/mnt/sl", Optional: "master:7"},
		{Mountpoint: "/mnt/both", Optional: "shared:9 master:7"},
		{Mountpoint: "/mnt/over", Optional: "shared:3"},
		{Mountpoint: "/mnt/over", Optional: ""}, // mounted on top: wins
	}
	for _, tc := range []struct {
		src, prop, err string
	}{
		{"/mnt/x", "rprivate", ""},
		{"/mnt/x", "", ""},
		{"/mnt/x", "rshared", "path /mnt/x is mounted on /mnt but it is not a shared mount"},
		{"/mnt/x", "rslave", "path /mnt/x is mounted on /mnt but it is not a shared or slave mount"},
		{"/mnt/sh", "rshared", ""},
		{"/mnt/sh/a/b", "shared", ""},
		{"/mnt/sh/a", "slave", ""},
		{"/mnt/sl/a", "rslave", ""},
		{"/mnt/sl/a", "rshared", "path /mnt/sl/a is mounted on /mnt/sl but it is not a shared mount"},
		{"/mnt/both", "rshared", ""},
		{"/mnt/shx", "rshared", "path /mnt/shx is mounted on /mnt but it is not a shared mount"},
		{"/mnt/over", "rshared", "path /mnt/over is mounted on /mnt/over but it is not a shared mount"},
		{"/etc", "rshared", ""},
	} {
		err := checkPropagation(infos, tc.src, tc.prop)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("checkPropagation(%s, %s) = %v, want %q", tc.src, tc.prop, err, tc.err)
		}
	}
	if err := checkPropagation(nil, "/x", "rshared"); err == nil {
		t.Error("no mount table: want an error")
	}
}
