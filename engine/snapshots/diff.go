package snapshots

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/moby/api/types/container"
)

// Changes lists what a writable layer (its upper directory) changed over
// lowers (top first), like `docker diff`: A for paths only in the writable
// layer, C for paths that shadow the image's, D for overlay whiteouts.
// Sorted by path.
func Changes(ctx context.Context, upper string, lowers []string) ([]container.FilesystemChange, error) {
	var out []container.FilesystemChange
	err := filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == upper {
			return nil
		}
		rel, _ := filepath.Rel(upper, p)
		path := "/" + rel
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if isWhiteout(fi) {
			out = append(out, container.FilesystemChange{Kind: container.ChangeDelete, Path: path})
			return nil
		}
		kind := container.ChangeAdd
		if inLowers(lowers, rel) {
			kind = container.ChangeModify
		}
		out = append(out, container.FilesystemChange{Kind: kind, Path: path})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func isWhiteout(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.Mode()&os.ModeCharDevice != 0 && st.Rdev == 0
}

// inLowers reports whether rel exists in the image layers (top first),
// resolving inside each layer so a symlink there never leads out of it.
func inLowers(lowers []string, rel string) bool {
	for _, l := range lowers {
		dir, base := filepath.Split(rel)
		parent, err := securejoin.SecureJoin(l, dir)
		if err != nil {
			continue
		}
		fi, err := os.Lstat(filepath.Join(parent, base))
		if err != nil {
			continue
		}
		return !isWhiteout(fi)
	}
	return false
}

// DirSize is the size of the regular files below root, hard links counted
// once.
func DirSize(root string) int64 {
	var n int64
	seen := map[uint64]bool{}
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		n += fi.Size()
		return nil
	})
	return n
}
