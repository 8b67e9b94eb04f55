package runtime

import (
	"testing"

	"golang.org/x/sys/unix"
)

// A remount for favordynmods passes every option the mount had: the
// per-mount flags as flags, the super block's as data (rw/ro as a flag).
func TestRemountArgsKeepOptions(t *testing.T) {
	for _, tc := range []struct {
		mount, super string
		flags        uintptr
		data         string
	}{
		{"rw,nosuid,nodev,noexec,relatime", "rw,nsdelegate,memory_recursiveprot",
			unix.MS_REMOUNT | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RELATIME, "nsdelegate,memory_recursiveprot,favordynmods"},
		{"rw,relatime", "rw", unix.MS_REMOUNT | unix.MS_RELATIME, "favordynmods"},
		{"ro,noatime", "ro,favordynmods", unix.MS_REMOUNT | unix.MS_RDONLY | unix.MS_NOATIME, "favordynmods"},
	} {
		flags, data := remountArgs(tc.mount, tc.super, "favordynmods")
		if flags != tc.flags || data != tc.data {
			t.Errorf("remountArgs(%q, %q) = %#x %q, want %#x %q", tc.mount, tc.super, flags, data, tc.flags, tc.data)
		}
	}
}
