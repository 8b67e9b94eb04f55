package securefs

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultMaxBytes caps the file content one Extract writes unless told
// otherwise: a runaway stream fails instead of filling the disk.
const DefaultMaxBytes = 64 << 30

// maxPathLen rejects entry names longer than PATH_MAX: nothing legitimate
// needs them, and hostile ones would make deep walks quadratic.
const maxPathLen = 4096

// IDPair is a uid/gid.
type IDPair struct{ UID, GID int }

// ExtractOptions tune Extract.
type ExtractOptions struct {
	// NoOverwriteDirNonDir refuses to replace a folder with a non-folder
	// and the reverse (Docker's noOverwriteDirNonDir).
	NoOverwriteDirNonDir bool
	// Chown, when set, owns every entry instead of the header's uid/gid.
	Chown *IDPair
	// NoChown keeps the extracting process's ownership (not root).
	NoChown bool
	// AllowDevices creates character and block devices; otherwise they are
	// skipped. Only sensible when running as root.
	AllowDevices bool
	// MaxBytes caps the file content written; 0 means DefaultMaxBytes.
	MaxBytes int64
}

// BreakoutError is returned for entries naming a place outside the
// extraction folder.
type BreakoutError struct{ Name, Dest string }

func (e *BreakoutError) Error() string {
	return fmt.Sprintf("%q is outside of %q", e.Name, e.Dest)
}

// ArchiveError is a tar stream Extract refuses (malformed, hostile or in
// conflict with what exists): the client's fault, not the engine's.
type ArchiveError struct{ Err error }

func (e *ArchiveError) Error() string { return e.Err.Error() }
func (e *ArchiveError) Unwrap() error { return e.Err }

// asArchiveError marks the errors an entry causes by what it is (a stream
// cut short, a name the file system cannot hold) as the client's fault.
func asArchiveError(err error) error {
	var ae *ArchiveError
	var be *BreakoutError
	if errors.As(err, &ae) || errors.As(err, &be) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, tar.ErrHeader) || errors.Is(err, unix.ENAMETOOLONG) {
		return &ArchiveError{err}
	}
	return err
}

func bad(format string, args ...any) error { return &ArchiveError{fmt.Errorf(format, args...)} }

// cleanName turns a tar entry name into a path relative to the extraction
// folder: leading "/" is dropped (as tar does), ".." may not climb above it.
func cleanName(name, dest string) (string, error) {
	if name == "" || strings.ContainsRune(name, 0) {
		return "", bad("invalid tar entry name %q", name)
	}
	if len(name) > maxPathLen {
		return "", bad("tar entry name too long (%d bytes)", len(name))
	}
	c := path.Clean(strings.TrimLeft(name, "/"))
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", &BreakoutError{Name: name, Dest: dest}
	}
	return c, nil
}

// Extract unpacks a tar stream into the folder dest of the view (which must
// exist). Each entry's folder is walked inside the view (symlinks in it are
// followed as the container would, never out of it), created if missing,
// and the entry is created in it by name with O_EXCL/O_NOFOLLOW-style calls.
// So hostile entries — "..", absolute names, symlinks followed by writes
// through them, hard links to outside, devices — cannot touch anything
// outside the view, or inside a read-only graft.
func (v *View) Extract(ctx context.Context, dest string, r io.Reader, opts ExtractOptions) error {
	budget := opts.MaxBytes
	if budget <= 0 {
		budget = DefaultMaxBytes
	}
	dest = path.Clean("/" + dest)
	type dirTime struct {
		path string
		hdr  *tar.Header
	}
	var dirs []dirTime
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return bad("read archive: %w", err)
		}
		switch hdr.Typeflag {
		case tar.TypeXGlobalHeader, tar.TypeXHeader, tar.TypeGNULongName, tar.TypeGNULongLink:
			continue
		}
		rel, err := cleanName(hdr.Name, dest)
		if err != nil {
			return err
		}
		if rel == "." {
			// The extraction folder itself: kept as is (Docker does the same).
			if hdr.Typeflag != tar.TypeDir {
				return bad("cannot replace the extraction folder %s with a non-directory", dest)
			}
			continue
		}
		vp := path.Join(dest, rel)
		isDir, err := v.extractEntry(tr, hdr, dest, vp, &opts, &budget)
		if err != nil {
			return asArchiveError(err)
		}
		if isDir {
			dirs = append(dirs, dirTime{vp, hdr})
		}
	}
	// Folder times last: creating their children changed them.
	for i := len(dirs) - 1; i >= 0; i-- {
		e, err := v.Walk(dirs[i].path, WalkOptions{})
		if err != nil {
			continue
		}
		if e.IsDir() && e.Parent >= 0 && !e.IsGraft && !e.ReadOnly {
			setTimes(e.Parent, e.Name, dirs[i].hdr)
		}
		e.Close()
	}
	return nil
}

func setTimes(parent int, name string, hdr *tar.Header) {
	at := hdr.AccessTime
	if at.IsZero() {
		at = hdr.ModTime
	}
	ts := []unix.Timespec{unix.NsecToTimespec(at.UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
	unix.UtimesNanoAt(parent, name, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// extractEntry creates one entry; it reports whether it was a folder.
func (v *View) extractEntry(tr *tar.Reader, hdr *tar.Header, dest, vp string, opts *ExtractOptions, budget *int64) (bool, error) {
	dirPath, base := path.Split(vp)
	parent, err := v.Walk(dirPath, WalkOptions{FollowLast: true, MkdirAll: true})
	if err != nil {
		if errors.Is(err, ErrReadOnly) || errors.Is(err, ErrReadOnlyRoot) {
			return false, err
		}
		return false, fmt.Errorf("extract %s: %w", hdr.Name, err)
	}
	defer parent.Close()
	if !parent.IsDir() {
		return false, fmt.Errorf("extract %s: %s is not a directory", hdr.Name, parent.Path)
	}
	if err := parent.ReadOnlyErr(); err != nil {
		return false, err
	}
	pfd := parent.Fd
	target := path.Join(parent.Path, base)
	wantDir := hdr.Typeflag == tar.TypeDir

	if v.IsGraft(target) {
		if wantDir {
			return false, nil // a mount point: its own root is kept as is
		}
		return false, bad("cannot overwrite mount point %s", target)
	}
	var st unix.Stat_t
	exists := false
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		exists = true
		isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
		if opts.NoOverwriteDirNonDir && isDir && !wantDir {
			return false, bad("cannot overwrite directory %q with non-directory %q", target, hdr.Name)
		}
		if opts.NoOverwriteDirNonDir && !isDir && wantDir {
			return false, bad("cannot overwrite non-directory %q with directory %q", target, hdr.Name)
		}
		if !(isDir && wantDir) {
			if err := removeAt(pfd, base, isDir); err != nil {
				return false, fmt.Errorf("extract %s: remove existing %s: %w", hdr.Name, target, err)
			}
			exists = false
		}
	} else if !errors.Is(err, unix.ENOENT) {
		return false, fmt.Errorf("extract %s: %w", hdr.Name, err)
	}

	mode := uint32(hdr.Mode & 0o7777)
	uid, gid := hdr.Uid, hdr.Gid
	if opts.Chown != nil {
		uid, gid = opts.Chown.UID, opts.Chown.GID
	}
	chown := !opts.NoChown

	switch hdr.Typeflag {
	case tar.TypeDir:
		if !exists {
			if err := unix.Mkdirat(pfd, base, 0o700); err != nil {
				return false, fmt.Errorf("extract %s: %w", hdr.Name, err)
			}
		}
		dfd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return false, fmt.Errorf("extract %s: %w", hdr.Name, err)
		}
		defer unix.Close(dfd)
		if chown {
			if err := unix.Fchown(dfd, uid, gid); err != nil {
				return false, fmt.Errorf("extract %s: chown: %w", hdr.Name, err)
			}
		}
		if err := unix.Fchmod(dfd, mode); err != nil {
			return false, fmt.Errorf("extract %s: chmod: %w", hdr.Name, err)
		}
		return true, nil

	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse, tar.TypeCont:
		if hdr.Size > *budget {
			return false, bad("extract %s: archive content exceeds the limit of %d bytes", hdr.Name, opts.maxBytes())
		}
		fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return false, fmt.Errorf("extract %s: %w", hdr.Name, err)
		}
		f := os.NewFile(uintptr(fd), base)
		defer f.Close()
		n, err := io.Copy(f, io.LimitReader(tr, *budget+1))
		*budget -= n
		if err != nil {
			return false, fmt.Errorf("extract %s: %w", hdr.Name, err)
		}
		if *budget < 0 {
			return false, bad("extract %s: archive content exceeds the limit of %d bytes", hdr.Name, opts.maxBytes())
		}
		if chown {
			if err := f.Chown(uid, gid); err != nil {
				return false, fmt.Errorf("extract %s: chown: %w", hdr.Name, err)
			}
		}
		if err := unix.Fchmod(fd, mode); err != nil {
			return false, fmt.Errorf("extract %s: chmod: %w", hdr.Name, err)
		}
		setTimes(pfd, base, hdr)
		return false, nil

	case tar.TypeSymlink:
		if hdr.Linkname == "" || len(hdr.Linkname) > maxPathLen || strings.ContainsRune(hdr.Linkname, 0) {
			return false, bad("extract %s: invalid symlink target", hdr.Name)
		}
		// The target is stored as is: it is only ever followed by this
		// package (inside the view) or by the container (inside its root).
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return false, fmt.Errorf("extract %s: %w", hdr.Name, err)
		}
		if chown {
			if err := unix.Fchownat(pfd, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return false, fmt.Errorf("extract %s: chown: %w", hdr.Name, err)
			}
		}
		setTimes(pfd, base, hdr)
		return false, nil

	case tar.TypeLink:
		lrel, err := cleanName(hdr.Linkname, dest)
		if err != nil {
			return false, err
		}
		src, err := v.Walk(path.Join(dest, lrel), WalkOptions{})
		if err != nil {
			return false, bad("extract %s: hard link target %s: %w", hdr.Name, hdr.Linkname, err)
		}
		defer src.Close()
		if !src.Exists() || src.Parent < 0 || src.IsGraft || src.IsDir() {
			return false, bad("extract %s: invalid hard link target %s", hdr.Name, hdr.Linkname)
		}
		if err := unix.Linkat(src.Parent, src.Name, pfd, base, 0); err != nil {
			return false, fmt.Errorf("extract %s: link to %s: %w", hdr.Name, hdr.Linkname, err)
		}
		return false, nil

	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		kind := uint32(unix.S_IFIFO)
		switch hdr.Typeflag {
		case tar.TypeChar:
			kind = unix.S_IFCHR
		case tar.TypeBlock:
			kind = unix.S_IFBLK
		}
		if kind != unix.S_IFIFO && !opts.AllowDevices {
			return false, nil
		}
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		if err := unix.Mknodat(pfd, base, kind|0o600, int(dev)); err != nil {
			return false, fmt.Errorf("extract %s: %w", hdr.Name, err)
		}
		if err := chmodOwnPath(pfd, base, mode, uid, gid, chown); err != nil {
			return false, fmt.Errorf("extract %s: %w", hdr.Name, err)
		}
		setTimes(pfd, base, hdr)
		return false, nil
	}
	return false, bad("extract %s: unhandled tar header type %d", hdr.Name, hdr.Typeflag)
}

func (o *ExtractOptions) maxBytes() int64 {
	if o.MaxBytes > 0 {
		return o.MaxBytes
	}
	return DefaultMaxBytes
}

// chmodOwnPath sets mode and owner of a special file without opening it for
// I/O (a fifo would block) and without following a symlink swapped in: the
// O_PATH descriptor pins the inode, the /proc magic link reaches it.
func chmodOwnPath(pfd int, name string, mode uint32, uid, gid int, chown bool) error {
	fd, err := unix.Openat(pfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return fmt.Errorf("%s was replaced by a symlink", name)
	}
	if chown {
		if err := unix.Fchownat(fd, "", uid, gid, unix.AT_EMPTY_PATH); err != nil {
			return err
		}
	}
	return unix.Chmod(fmt.Sprintf("/proc/self/fd/%d", fd), mode)
}

// removeAt deletes name in the folder pfd; folders recursively, through an
// os.Root opened on that folder, so nothing outside it is ever touched.
func removeAt(pfd int, name string, isDir bool) error {
	if !isDir {
		err := unix.Unlinkat(pfd, name, 0)
		if errors.Is(err, unix.EISDIR) {
			isDir = true
		} else {
			return err
		}
	}
	root, err := os.OpenRoot(fmt.Sprintf("/proc/self/fd/%d", pfd))
	if err != nil {
		return err
	}
	defer root.Close()
	return root.RemoveAll(name)
}
