package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// TarOptions tunes WriteTar.
type TarOptions struct {
	// Whiteouts converts overlayfs whiteouts (0/0 character devices and
	// opaque directories) into docker ".wh." entries: set it when tarring a
	// layer or an upper dir, not a merged view.
	Whiteouts bool
}

// WriteTar writes the tree under root as an uncompressed tar stream, in
// lexical order, with ownership, modes, times, hard links and xattrs (overlay
// ones excepted). Symlinks are stored, never followed.
func WriteTar(ctx context.Context, w io.Writer, root string, opts TarOptions) error {
	t := &layerTar{tw: tar.NewWriter(w), opts: opts, links: map[[2]uint64]string{}}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		return t.add(p, rel)
	})
	if err != nil {
		return err
	}
	return t.tw.Close()
}

// layerTar is the state of one WriteTar.
type layerTar struct {
	tw    *tar.Writer
	opts  TarOptions
	links map[[2]uint64]string // first name of each multiply linked file, by device and inode
}

// add writes the entry of the file p (rel below the root); one that
// vanished since the walk listed it is left out.
func (t *layerTar) add(p, rel string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	if t.opts.Whiteouts && st != nil && fi.Mode()&os.ModeCharDevice != 0 && st.Rdev == 0 {
		dir, name := filepath.Split(rel)
		return t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dir + WhiteoutPrefix + name, Mode: 0o600, ModTime: fi.ModTime(), Format: tar.FormatPAX})
	}
	hdr, err := t.header(p, rel, fi, st)
	if err != nil {
		return err
	}
	opaque := setXattrs(hdr, p)
	if err := t.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
		if err := t.copyContent(p, hdr.Size); err != nil {
			return err
		}
	}
	if opaque && t.opts.Whiteouts {
		return t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel + "/" + WhiteoutOpaqueDir, Mode: 0o600, ModTime: fi.ModTime(), Format: tar.FormatPAX})
	}
	return nil
}

// header is the PAX header of p: numeric owner only, access and change
// times set to the modification time, a second name of a file already
// written stored as a hard link to the first.
func (t *layerTar) header(p, rel string, fi os.FileInfo, st *syscall.Stat_t) (*tar.Header, error) {
	var link string
	if fi.Mode()&os.ModeSymlink != 0 {
		var err error
		if link, err = os.Readlink(p); err != nil {
			return nil, err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	hdr.Name = rel
	hdr.Uname, hdr.Gname = "", ""
	hdr.Format = tar.FormatPAX
	hdr.AccessTime, hdr.ChangeTime = hdr.ModTime, hdr.ModTime
	if fi.IsDir() {
		hdr.Name += "/"
	}
	if st != nil {
		hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		if fi.Mode().IsRegular() && st.Nlink > 1 {
			key := [2]uint64{st.Dev, st.Ino}
			if first, ok := t.links[key]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				t.links[key] = rel
			}
		}
	}
	return hdr, nil
}

// setXattrs records p's xattrs in hdr, overlay ones excepted; it reports
// whether p is an opaque overlay folder.
func setXattrs(hdr *tar.Header, p string) (opaque bool) {
	for k, v := range readXattrs(p) {
		if k == overlayOpaqueXattr {
			opaque = v == "y"
			continue
		}
		if strings.HasPrefix(k, "trusted.overlay.") || strings.HasPrefix(k, "user.overlay.") {
			continue
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+k] = v
	}
	return opaque
}

// copyContent writes the size bytes of the file p the header announced.
func (t *layerTar) copyContent(p string, size int64) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	_, err = io.CopyN(t.tw, f, size)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s changed while being archived: %w", p, err)
	}
	return nil
}

func readXattrs(p string) map[string]string {
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(p, buf)
	if err != nil || n == 0 {
		return nil
	}
	out := map[string]string{}
	for _, k := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if k == "" {
			continue
		}
		v := make([]byte, 4096)
		m, err := unix.Lgetxattr(p, k, v)
		if err != nil {
			continue
		}
		out[k] = string(v[:m])
	}
	return out
}
