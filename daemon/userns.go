package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/berth-dev/berth/engine/containers"
	"github.com/berth-dev/berth/engine/userns"
)

// setupUserns applies daemon.json userns-remap: it creates the remap user
// and its subordinate ranges when needed, and refuses to start, with the
// reason, where the kernel cannot mount overlays on idmapped layers (what
// keeps image layers shared instead of chown-copied per mapping).
func setupUserns(cfg *Config) (*userns.Remap, error) {
	r, err := userns.Setup(cfg.UsernsRemap, userns.SubUIDFile, userns.SubGIDFile)
	if err != nil || r == nil {
		return nil, err
	}
	if err := searchableBy(cfg.DataRoot, r); err != nil {
		r.Close()
		return nil, err
	}
	if err := r.Probe(cfg.DataRoot); err != nil {
		r.Close()
		return nil, fmt.Errorf("userns-remap %q needs overlayfs on idmapped layers (Linux 5.19+ with idmapped mounts on %s's filesystem): %v", cfg.UsernsRemap, cfg.DataRoot, err)
	}
	return r, nil
}

// containersRemap is the mapping as the container service takes it: a nil
// interface, not a nil pointer in one, when there is none.
func (d *Daemon) containersRemap() containers.Remap {
	if d.userns == nil {
		return nil
	}
	return d.userns
}

// securityOptions as docker info lists them.
func (d *Daemon) securityOptions() []string {
	out := []string{"name=seccomp,profile=builtin"}
	if d.userns != nil {
		out = append(out, "name=userns")
	}
	return out
}

// searchableBy checks, as dockerd does, that the remapped root can search
// every folder above the data-root: the runtime sets up a container's
// mounts from inside its user namespace. Folders inside the data-root are
// berthd's to open up (see engine/containers' grantSearch).
func searchableBy(dataRoot string, r *userns.Remap) error {
	uid, gid := r.HostRoot()
	for p := filepath.Dir(filepath.Clean(dataRoot)); ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		perm := st.Mode().Perm()
		ok := perm&0o001 != 0
		if sys, isSys := st.Sys().(*syscall.Stat_t); isSys && !ok {
			ok = (int(sys.Uid) == uid && perm&0o100 != 0) || (int(sys.Gid) == gid && perm&0o010 != 0)
		}
		if !ok {
			return fmt.Errorf("userns-remap: a folder above the data-root (%s) restricts access to the remapped root (uid %d, gid %d); allow 'o+x' on it", p, uid, gid)
		}
		if p == "/" {
			return nil
		}
	}
}
