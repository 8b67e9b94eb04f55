package daemon

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// execTmpfs names the tmpfs berthd mounts at its exec-root (the mount's
// source), so a later berthd tells its own mount from the host's.
const execTmpfs = "berth-exec"

// execTmpfsSize bounds the exec-root's tmpfs as systemd bounds /run: the
// state there (monitors' and runtimes' state, fifos, netns mount points)
// is a few KiB a container.
const execTmpfsSize = "size=20%"

// execRootEntries are the names berthd and its helpers make in the
// exec-root (pid file and sockets at their default places included). A
// folder holding anything else is not berthd's alone: no tmpfs hides it.
var execRootEntries = map[string]bool{
	"containers": true, "netns": true, "runtime": true, "trash": true, "cri": true,
	"berthd.pid": true, "berth.sock": true, "cri.sock": true,
	"runsc-platform.json": true, "runsc-kvm-probe": true,
}

// mountExecRoot puts the exec-root on a tmpfs of berthd's own when its file
// system is a disk: what lives there (fifos, sockets, state folders, mount
// points) is gone at reboot anyway, and on a disk each short-lived file
// costs journal commits and discards. Docker, containerd and crun assume
// /run is a tmpfs; this makes it one where the host does not. It leaves
// the folder on disk, saying why, when it may hold live state: a mount
// under it (a container's netns, a runtime's pin, from a Berth that ran
// without the tmpfs), a container's state folder, a socket something
// listens on, or files berthd did not make. A tmpfs there already (the
// host's, or one a killed berthd left, with its containers' state) is
// used as it is. The tmpfs takes the folder's mode.
func mountExecRoot(dir string, log *slog.Logger) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return err
	}
	if st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC {
		return nil
	}
	if why := execRootBusy(dir); why != "" {
		log.Info("exec-root stays on disk: "+why+"; it moves to a tmpfs once berthd starts with none", "exec-root", dir)
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	opts := fmt.Sprintf("mode=%o,%s", fi.Mode().Perm(), execTmpfsSize)
	if err := unix.Mount(execTmpfs, dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		log.Warn("exec-root stays on disk: mounting a tmpfs there failed", "exec-root", dir, "err", err)
	}
	return nil
}

// execRootBusy says why dir may hold live state ("" if it holds none).
func execRootBusy(dir string) string {
	under, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return "reading the mount table: " + err.Error()
	}
	if len(under) > 0 {
		return "it holds mounts (" + under[0].Mountpoint + ")"
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err.Error()
	}
	for _, e := range ents {
		if !execRootEntries[e.Name()] {
			return "it holds " + e.Name() + ", which berthd did not make"
		}
		if e.Type() == os.ModeSocket && listening(filepath.Join(dir, e.Name())) {
			return "something listens on " + e.Name() + " (a socket made for socket activation?)"
		}
	}
	if c := containerState(dir); c != "" {
		return "it holds containers' state (" + c + ")"
	}
	return ""
}

// containerState names a container whose state folder the exec-root dir
// holds ("" if none): the state a tmpfs must neither hide nor lose.
func containerState(dir string) string {
	if ents, _ := os.ReadDir(filepath.Join(dir, "containers")); len(ents) > 0 {
		return ents[0].Name()
	}
	return ""
}

// unmountExecRoot removes the tmpfs mountExecRoot made (or a previous
// berthd's) at a clean stop once nothing is left in it to read: no
// container's state folder (a monitor running one, live-restore, or an
// exit status berthd has yet to take). Otherwise it stays mounted for the
// next berthd, as does a tmpfs with mounts under it.
func unmountExecRoot(dir string, log *slog.Logger) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return
	}
	ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(dir))
	if err != nil || len(ms) == 0 || ms[len(ms)-1].Source != execTmpfs || ms[len(ms)-1].FSType != "tmpfs" {
		return
	}
	if containerState(dir) != "" {
		log.Info("exec-root's tmpfs stays mounted: it holds containers' state", "exec-root", dir)
		return
	}
	// The prefix takes dir's own mount too.
	if under, _ := mountinfo.GetMounts(mountinfo.PrefixFilter(dir)); len(under) > 1 {
		log.Info("exec-root's tmpfs stays mounted: mounts under it outlive berthd (CRI pods' namespaces)", "exec-root", dir)
		return
	}
	if err := unix.Unmount(dir, 0); err != nil {
		log.Warn("exec-root's tmpfs stays mounted", "exec-root", dir, "err", err)
	}
}

// listening reports whether a unix socket takes connections: a socket a
// service manager made for berthd (fd://) before it started, which a
// tmpfs would hide from clients. One a dead berthd left refuses them.
func listening(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
