package securefs

import (
	"archive/tar"
	"context"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// WriteTar writes e, and for a folder everything below it (grafts included,
// as a container sees them), to tw. The top entry is called name; entries
// below it name/child. Files are read through descriptors opened from their
// folder's descriptor, so a concurrent swap never redirects a read outside
// the view. A file that shrinks while read is padded with zeros, one that
// grows is cut at the size first seen, keeping the tar well-formed. Sockets
// are skipped, hard links within the stream become tar links.
func (v *View) WriteTar(ctx context.Context, e *Entry, name string, tw *tar.Writer) error {
	w := &tarWriter{v: v, tw: tw, ctx: ctx, links: map[[2]uint64]string{}}
	return w.entry(e.Fd, &e.Stat, e.Path, name)
}

type tarWriter struct {
	v     *View
	tw    *tar.Writer
	ctx   context.Context
	links map[[2]uint64]string
}

func statTime(ts unix.Timespec) time.Time { return time.Unix(ts.Unix()) }

// Header builds the tar header of a stat (without name, link or size).
func Header(st *unix.Stat_t) *tar.Header {
	return &tar.Header{
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: statTime(st.Mtim).Truncate(time.Second),
		Format:  tar.FormatPAX,
	}
}

func (w *tarWriter) entry(fd int, st *unix.Stat_t, vpath, name string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	hdr := Header(st)
	hdr.Name = name
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		hdr.Typeflag = tar.TypeDir
		if !strings.HasSuffix(hdr.Name, "/") {
			hdr.Name += "/"
		}
		if err := w.tw.WriteHeader(hdr); err != nil {
			return err
		}
		return w.children(fd, vpath, strings.TrimSuffix(name, "/"))
	case unix.S_IFREG:
		key := [2]uint64{st.Dev, st.Ino}
		if st.Nlink > 1 {
			if first, ok := w.links[key]; ok {
				hdr.Typeflag = tar.TypeLink
				hdr.Linkname = first
				return w.tw.WriteHeader(hdr)
			}
			w.links[key] = name
		}
		f, err := reopen(fd, unix.O_RDONLY)
		if err != nil {
			return err
		}
		defer f.Close()
		var fst unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &fst); err != nil {
			return err
		}
		hdr.Typeflag = tar.TypeReg
		hdr.Size = fst.Size
		if err := w.tw.WriteHeader(hdr); err != nil {
			return err
		}
		n, err := io.CopyN(w.tw, f, hdr.Size)
		if err == io.EOF {
			_, err = io.CopyN(w.tw, zeros{}, hdr.Size-n)
		}
		return err
	case unix.S_IFLNK:
		target, err := readlinkFd(fd)
		if err != nil {
			return err
		}
		hdr.Typeflag = tar.TypeSymlink
		hdr.Linkname = target
		return w.tw.WriteHeader(hdr)
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor = int64(unix.Major(st.Rdev))
		hdr.Devminor = int64(unix.Minor(st.Rdev))
		return w.tw.WriteHeader(hdr)
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
		return w.tw.WriteHeader(hdr)
	}
	return nil // sockets and unknown kinds are not archived (as Docker)
}

func (w *tarWriter) children(fd int, vpath, prefix string) error {
	dir, err := reopen(fd, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return err
	}
	// Mount points the folder lacks (the runtime creates them at start) are
	// still part of what the container sees.
	for gp := range w.v.grafts {
		if path.Dir(gp) == vpath && !slices.Contains(names, path.Base(gp)) {
			names = append(names, path.Base(gp))
		}
	}
	slices.Sort(names)
	for _, n := range names {
		childV := path.Join(vpath, n)
		var cfd int
		if g, ok := w.v.grafts[childV]; ok {
			cfd, err = unix.Dup(g.fd)
		} else {
			cfd, err = unix.Openat(fd, n, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		}
		if err == unix.ENOENT {
			continue // removed meanwhile
		}
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Fstat(cfd, &st); err != nil {
			unix.Close(cfd)
			return err
		}
		err = w.entry(cfd, &st, childV, prefix+"/"+n)
		unix.Close(cfd)
		if err != nil {
			return err
		}
	}
	return nil
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
