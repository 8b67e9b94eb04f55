package archive

import (
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// whiteout turns a docker whiteout entry into its overlayfs form inside
// parent, which is already resolved inside the root.
func (x *extractor) whiteout(parent, base string) error {
	if base == WhiteoutOpaqueDir {
		if err := unix.Lsetxattr(parent, overlayOpaqueXattr, []byte("y"), 0); err != nil {
			return fmt.Errorf("mark %s opaque: %w", parent, err)
		}
		return nil
	}
	name := strings.TrimPrefix(base, WhiteoutPrefix)
	if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
		return fmt.Errorf("invalid whiteout %q", base)
	}
	target := filepath.Join(parent, name)
	if !within(x.root, target) || target == x.root {
		return fmt.Errorf("whiteout %q escapes the layer root", base)
	}
	if err := x.removeExisting(target, false); err != nil {
		return err
	}
	x.noteMade(target)
	if err := unix.Mknod(target, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("create whiteout for %s: %w", name, err)
	}
	return nil
}
