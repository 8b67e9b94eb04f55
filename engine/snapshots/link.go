package snapshots

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// Unpacked layers are shared with the builder by hard links: the builder
// links a base layer Berth has unpacked into its snapshot (LinkTree), and
// Berth links a layer the builder has unpacked (a RUN step's files, a base
// image the builder pulled) into its layer store (LinkBlob) instead of
// unpacking the blob again. Each side's directory keeps the files alive on
// its own, so neither side's deletion affects the other; both are
// read-only lowers of overlay mounts once made, so no write reaches a
// shared inode.

// ErrNotLinkable says a directory cannot be shared by hard links: its
// files are not whole without the layers below (overlay redirects or
// metacopy), or it is on another file system. Unpack the blob instead.
var ErrNotLinkable = errors.New("layer directory cannot be shared by hard links")

// LinkBlob makes dir (empty, below TempDir) layer diffID of blob b from
// src, the same layer unpacked elsewhere on this file system in overlay
// format, by hard-linking src's files: for EnsureLayer, as ExtractBlob
// does by unpacking. b must be in the store; it is held (until
// ReleaseBlob) so that no GC takes it before the layer is registered. On
// failure dir is left empty.
func (st *Store) LinkBlob(ctx context.Context, dir, src string, b Blob, diffID string) (Layer, error) {
	if _, err := st.content.Info(ctx, digest.Digest(b.Digest)); err != nil {
		return Layer{}, fmt.Errorf("layer blob %s: %w", b.Digest, err)
	}
	st.HoldBlob(b.Digest)
	if err := LinkTree(src, dir); err != nil {
		st.ReleaseBlob(b.Digest)
		if cerr := EmptyDir(dir); cerr != nil {
			return Layer{}, errors.Join(err, cerr)
		}
		return Layer{}, err
	}
	rec := Layer{DiffID: diffID, Size: DirSize(dir), Blob: &b}
	if b.Digest == diffID {
		rec.TarSize = b.Size
	}
	return rec, nil
}

// LinkTree recreates src's tree in dst (which exists, empty): directories
// with their mode, owner, overlay opaque marker, other extended attributes
// and times; everything else hard-linked. It fails with ErrNotLinkable
// when src's files may not be whole (see overlayMetacopy) or a directory
// redirects to a lower one.
func LinkTree(src, dst string) error {
	if overlayMetacopy() {
		return ErrNotLinkable
	}
	var dirs []dirTimes
	err := filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if !e.IsDir() {
			if err := os.Link(p, target); errors.Is(err, unix.EXDEV) {
				return fmt.Errorf("%w: %v", ErrNotLinkable, err)
			} else if err != nil {
				return err
			}
			return nil
		}
		d, err := linkDir(p, target, rel == ".")
		dirs = append(dirs, d)
		return err
	})
	if err != nil {
		return err
	}
	// Children change a directory's times: set them last, deepest first.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, dirs[i].path, dirs[i].ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	return nil
}

type dirTimes struct {
	path string
	ts   []unix.Timespec
}

// linkDir makes target (unless it is the top, which exists) a directory
// like p.
func linkDir(p, target string, top bool) (dirTimes, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return dirTimes{}, err
	}
	if !top {
		if err := unix.Mkdir(target, st.Mode&0o7777); err != nil {
			return dirTimes{}, err
		}
	}
	if err := unix.Lchown(target, int(st.Uid), int(st.Gid)); err != nil {
		return dirTimes{}, err
	}
	if err := unix.Chmod(target, st.Mode&0o7777); err != nil {
		return dirTimes{}, err
	}
	if err := copyXattrs(p, target); err != nil {
		return dirTimes{}, err
	}
	return dirTimes{target, []unix.Timespec{st.Atim, st.Mtim}}, nil
}

// copyXattrs copies a directory's extended attributes. Of overlay's own,
// only the opaque marker means something in a layer: the others (origin,
// impure...) describe the upper directory a RUN step wrote, and a
// redirect points into the layers below, so such a directory is not
// linked.
func copyXattrs(src, dst string) error {
	names, err := listXattrs(src)
	if err != nil {
		return err
	}
	for _, name := range names {
		if strings.HasPrefix(name, "trusted.overlay.") && name != "trusted.overlay.opaque" {
			if name == "trusted.overlay.redirect" || name == "trusted.overlay.metacopy" {
				return fmt.Errorf("%w: %s has %s", ErrNotLinkable, src, name)
			}
			continue
		}
		vs, err := unix.Lgetxattr(src, name, nil)
		if err != nil {
			return err
		}
		v := make([]byte, vs)
		if vs, err = unix.Lgetxattr(src, name, v); err != nil {
			return err
		}
		if err := unix.Lsetxattr(dst, name, v[:vs], 0); err != nil {
			return fmt.Errorf("xattr %s of %s: %w", name, dst, err)
		}
	}
	return nil
}

func listXattrs(p string) ([]string, error) {
	size, err := unix.Llistxattr(p, nil)
	if err != nil || size == 0 {
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		return nil, err
	}
	buf := make([]byte, size)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if name != "" {
			out = append(out, name)
		}
	}
	return out, nil
}

// overlayMetacopy reports whether the kernel's overlay mounts copy up
// metadata only by default: a RUN step's upper directory may then hold
// files whose data is in the layers below, which no hard link carries.
var overlayMetacopy = sync.OnceValue(func() bool {
	b, err := os.ReadFile("/sys/module/overlay/parameters/metacopy")
	return err == nil && strings.TrimSpace(string(b)) == "Y"
})

// EmptyDir removes what dir holds, keeping dir.
func EmptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
