package buildkit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/v2/core/diff"
	"github.com/containerd/containerd/v2/core/mount"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// LayerSource is the part of Berth's image store that lets BuildKit reuse
// unpacked layers.
type LayerSource interface {
	// HoldLayerByBlob finds a registered layer whose blob is d and holds
	// it: dir is its unpacked files (overlay format), diffID the digest
	// of its tar; release with ReleaseLayers([]string{chainID}).
	HoldLayerByBlob(d string) (chainID, dir, diffID string, ok bool)
	ReleaseLayers(chainIDs []string)
}

// linkApplier unpacks a layer blob into a build snapshot; when the blob is
// a layer Berth has unpacked already (a base image's), it hard-links that
// layer's files into the snapshot instead: the file data is stored once,
// shared by Berth's layer and BuildKit's snapshot (each keeps it alive
// alone, so neither side's deletion affects the other). Both are read-only
// lowers of overlay mounts once made, so no write reaches a shared inode.
type linkApplier struct {
	diff.Applier
	layers LayerSource
}

func (a linkApplier) Apply(ctx context.Context, desc ocispec.Descriptor, mounts []mount.Mount, opts ...diff.ApplyOpt) (ocispec.Descriptor, error) {
	dst, ok := upperDir(mounts)
	if !ok {
		return a.Applier.Apply(ctx, desc, mounts, opts...)
	}
	chainID, src, diffID, ok := a.layers.HoldLayerByBlob(desc.Digest.String())
	if !ok {
		return a.Applier.Apply(ctx, desc, mounts, opts...)
	}
	defer a.layers.ReleaseLayers([]string{chainID})
	if err := linkTree(src, dst); err != nil {
		// Start over the usual way on a clean directory.
		if cerr := emptyDir(dst); cerr != nil {
			return ocispec.Descriptor{}, fmt.Errorf("linking layer %s: %w (and cleaning up: %v)", desc.Digest, err, cerr)
		}
		return a.Applier.Apply(ctx, desc, mounts, opts...)
	}
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.Digest(diffID)}, nil
}

// upperDir is the directory an apply onto mounts writes to, when it is a
// plain directory: the bind mount of a bottom snapshot or an overlay's
// upperdir.
func upperDir(mounts []mount.Mount) (string, bool) {
	if len(mounts) != 1 {
		return "", false
	}
	m := mounts[0]
	switch m.Type {
	case "bind", "rbind":
		for _, o := range m.Options {
			if o == "ro" {
				return "", false
			}
		}
		return m.Source, true
	case "overlay":
		for _, o := range m.Options {
			if v, ok := strings.CutPrefix(o, "upperdir="); ok {
				return v, true
			}
		}
	}
	return "", false
}

// linkTree recreates src's tree in dst (which exists, empty): directories
// with their mode, owner, extended attributes (overlay's opaque marker)
// and times; everything else hard-linked.
func linkTree(src, dst string) error {
	type dirTimes struct {
		path string
		ts   []unix.Timespec
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
			return os.Link(p, target)
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		if rel != "." {
			if err := unix.Mkdir(target, st.Mode&0o7777); err != nil {
				return err
			}
		}
		if err := unix.Lchown(target, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
		if err := unix.Chmod(target, st.Mode&0o7777); err != nil {
			return err
		}
		if err := copyXattrs(p, target); err != nil {
			return err
		}
		dirs = append(dirs, dirTimes{target, []unix.Timespec{st.Atim, st.Mtim}})
		return nil
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

func copyXattrs(src, dst string) error {
	size, err := unix.Llistxattr(src, nil)
	if err != nil || size == 0 {
		if errors.Is(err, unix.ENOTSUP) {
			return nil
		}
		return err
	}
	buf := make([]byte, size)
	n, err := unix.Llistxattr(src, buf)
	if err != nil {
		return err
	}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if name == "" {
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

// emptyDir removes what dir holds, keeping dir.
func emptyDir(dir string) error {
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
