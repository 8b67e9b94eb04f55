package snapshots

import (
	"golang.org/x/sys/unix"
)

// fsTopdirFl is FS_TOPDIR_FL from linux/fs.h (not in x/sys/unix).
const fsTopdirFl = 0x00020000

// SetTopDir sets FS_TOPDIR_FL (chattr +T) on dir, so that ext4's Orlov
// allocator spreads the directories made in it over block groups.
// Filesystems without the flag ignore it or refuse; both are fine.
func SetTopDir(dir string) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil || flags&fsTopdirFl != 0 {
		return
	}
	_ = unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags|fsTopdirFl))
}
