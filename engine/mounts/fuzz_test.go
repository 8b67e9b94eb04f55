package mounts

import (
	"path"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/mount"

	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/mountspec"
)

// FuzzParse feeds arbitrary -v, --mount and --tmpfs values to Parse: it
// never panics, every refusal is classified (a 400, or a 404 for a volume
// plugin), and what it accepts has one clean absolute destination per mount
// point, never "/" nor a /proc file the runtime owns, and binds from
// absolute sources outside the engine's own folders.
func FuzzParse(f *testing.F) {
	f.Add("data:/data:ro,z", "type=bind,src=/tmp,dst=/b,bind-propagation=rshared", "/run", "size=1m,exec")
	f.Add("/tmp:/h:rshared", "type=volume,src=v,dst=/d,volume-nocopy,volume-opt=type=tmpfs", "/t", "mode=1777")
	f.Add("/anon", "type=tmpfs,dst=/x,tmpfs-size=64m", "/anon", "")
	f.Add("/a/../proc:/proc/x", "type=bind,src=/,dst=/proc/cpuinfo", "/", "ro")
	f.Add("v:/d:nocopy,rw", "type=bind,src=/var/lib/protected/x,dst=/p", "/proc/self", "size=10%")
	ProtectPaths("/var/lib/protected")
	f.Cleanup(func() { ProtectPaths() })
	f.Fuzz(func(t *testing.T, bind, mountFlag, tmpfsDest, tmpfsOpts string) {
		var ms []mount.Mount
		if m, err := mountspec.ParseMount(mountFlag); err == nil {
			ms = append(ms, m)
		}
		mps, err := Parse([]string{bind}, ms, map[string]string{tmpfsDest: tmpfsOpts}, nil, nil, nil)
		if err != nil {
			if !errdefs.IsInvalid(err) && !errdefs.IsNotFound(err) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, mp := range mps {
			d := mp.Destination
			if d != path.Clean(d) || !path.IsAbs(d) || d == "/" || seen[d] {
				t.Fatalf("bad destination %q in %+v", d, mps)
			}
			seen[d] = true
			if (d == "/proc" || strings.HasPrefix(d, "/proc/")) && !procAllowed[d] {
				t.Fatalf("destination %q in /proc accepted", d)
			}
			if mp.Type == TypeBind && (!path.IsAbs(mp.Source) || validateBindSource(mp.Source) != nil) {
				t.Fatalf("bind source %q accepted", mp.Source)
			}
		}
	})
}
