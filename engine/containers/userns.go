package containers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/berth-dev/berth/engine/mounts"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Remap is what containers need of the daemon's userns-remap mapping
// (engine/userns.Remap).
type Remap interface {
	// IDMapOverlay remounts the overlay at rootfs on idmapped layers.
	IDMapOverlay(rootfs string) error
	// HostRoot is the host uid and gid of the container's root.
	HostRoot() (uid, gid int)
	// ApplySpec puts a spec in the remapped user namespace.
	ApplySpec(s *specs.Spec)
}

// remapOf is the daemon's userns-remap mapping if this container runs
// remapped: always, unless --userns=host or sandboxed (refused at create).
func (s *Service) remapOf(hc *container.HostConfig) Remap {
	if s.cfg.Userns == nil || hc.UsernsMode.IsHost() {
		return nil
	}
	return s.cfg.Userns
}

// checkUserns refuses at create, in Docker's words, what cannot run in a
// remapped user namespace; --userns=host opts out of the remapping.
func (s *Service) checkUserns(hc *container.HostConfig) error {
	if s.remapOf(hc) == nil {
		return nil
	}
	switch {
	case hc.Privileged:
		return errdefs.Invalid("privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode (--userns=host)")
	case hc.NetworkMode.IsHost():
		return errdefs.Invalid("Cannot share the host's network namespace when user namespaces are enabled (use --userns=host)")
	case hc.PidMode.IsHost():
		return errdefs.Invalid("Cannot share the host PID namespace when user namespaces are enabled (use --userns=host)")
	case s.runtimes.IsSandbox(hc.Runtime):
		return errdefs.Invalid("sandbox isolation (runsc) does not run with userns-remap yet: gVisor has its own kernel and user namespace; use --userns=host with --isolation=sandbox")
	}
	return nil
}

// idmapRootfs puts a remapped container's rootfs on idmapped layers: the
// image's root is the container's root and nothing is chown-copied. Done
// before volumes are populated from the image, so what is copied into a
// new volume carries the remapped ids, as with Docker.
func idmapRootfs(r Remap, rootfs string) error {
	if r == nil {
		return nil
	}
	if err := r.IDMapOverlay(rootfs); err != nil {
		return errdefs.Invalid("userns-remap: %s", err.Error())
	}
	return nil
}

// chownRemapped hands a remapped container's hostname/hosts/resolv.conf
// files and the roots of its local volumes to the remapped root, as
// Docker's userns-remap leaves them. Binds are left as they are: what the
// container writes there belongs to the remapped ids on the host.
func chownRemapped(r Remap, c *Container, dataRoot, rootfs string) error {
	if r == nil {
		return nil
	}
	uid, gid := r.HostRoot()
	// The runtime sets up mounts from inside the container's user
	// namespace, so the remapped root must be able to reach the rootfs and
	// the files bound into it; as Docker does, the folders on the way let
	// the remapped root's group through (search only, no listing).
	for _, p := range []string{filepath.Dir(rootfs), c.Dir} {
		if err := grantSearch(dataRoot, p, gid); err != nil {
			return err
		}
	}
	for _, p := range []string{hostnamePath(c), hostsPath(c), resolvConfPath(c)} {
		if err := os.Lchown(p, uid, gid); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	for _, mp := range c.MountPoints {
		if mp.Type != mounts.TypeVolume || mp.Source == "" {
			continue
		}
		// A volume's root still owned by the host's root was made for (or
		// by) a container that is not remapped: hand it to the remapped
		// root, as Docker's per-remap volume folders are.
		if err := grantSearch(dataRoot, filepath.Dir(mp.Source), gid); err != nil {
			return err
		}
		if st, err := os.Stat(mp.Source); err == nil {
			if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Uid == 0 && sys.Gid == 0 {
				if err := os.Chown(mp.Source, uid, gid); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// applyRemap puts the container's spec in the remapped user namespace.
func applyRemap(r Remap, spec *specs.Spec) {
	if r != nil {
		r.ApplySpec(spec)
	}
}

// grantSearch lets group gid search every folder from path up to (not
// including) root that others cannot search: root-group folders are given
// to gid with g+x. Folders outside root are left alone.
func grantSearch(root, path string, gid int) error {
	root = filepath.Clean(root)
	for p := filepath.Clean(path); strings.HasPrefix(p, root+"/"); p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok || st.Mode().Perm()&0o001 != 0 || (int(sys.Gid) == gid && st.Mode().Perm()&0o010 != 0) {
			continue
		}
		if sys.Gid != 0 {
			return fmt.Errorf("userns-remap: %s belongs to group %d: the remapped root (group %d) cannot reach the container's files through it", p, sys.Gid, gid)
		}
		if err := os.Chown(p, -1, gid); err != nil {
			return err
		}
		if err := os.Chmod(p, st.Mode().Perm()|0o010); err != nil {
			return err
		}
	}
	return nil
}
