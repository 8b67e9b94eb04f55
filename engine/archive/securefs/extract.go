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
	parent, err := v.entryParent(hdr, dirPath)
	if err != nil {
		return false, err
	}
	defer parent.Close()
	target := path.Join(parent.Path, base)
	wantDir := hdr.Typeflag == tar.TypeDir

	if v.IsGraft(target) {
		if wantDir {
			return false, nil // a mount point: its own root is kept as is
		}
		return false, bad("cannot overwrite mount point %s", target)
	}
	exists, err := clearPlace(parent.Fd, base, target, hdr, opts)
	if err != nil {
		return false, err
	}
	e := newEntry{pfd: parent.Fd, base: base, hdr: hdr, mode: uint32(hdr.Mode & 0o7777),
		uid: hdr.Uid, gid: hdr.Gid, chown: !opts.NoChown}
	if opts.Chown != nil {
		e.uid, e.gid = opts.Chown.UID, opts.Chown.GID
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := e.dir(exists); err != nil {
			return false, err
		}
		return true, nil
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse, tar.TypeCont:
		return false, e.file(tr, opts, budget)
	case tar.TypeSymlink:
		return false, e.symlink()
	case tar.TypeLink:
		return false, v.hardLink(e, dest)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return false, e.special(opts.AllowDevices)
	}
	return false, bad("extract %s: unhandled tar header type %d", hdr.Name, hdr.Typeflag)
}

// entryParent walks to (creating as needed) the folder an entry goes in and
// checks it may be written.
func (v *View) entryParent(hdr *tar.Header, dirPath string) (*Entry, error) {
	parent, err := v.Walk(dirPath, WalkOptions{FollowLast: true, MkdirAll: true})
	if err != nil {
		if errors.Is(err, ErrReadOnly) || errors.Is(err, ErrReadOnlyRoot) {
			return nil, err
		}
		return nil, fmt.Errorf("extract %s: %w", hdr.Name, err)
	}
	if !parent.IsDir() {
		parent.Close()
		return nil, fmt.Errorf("extract %s: %s is not a directory", hdr.Name, parent.Path)
	}
	if err := parent.ReadOnlyErr(); err != nil {
		parent.Close()
		return nil, err
	}
	return parent, nil
}

// clearPlace makes room for an entry named base in the folder pfd: what
// exists there is removed unless both are folders (a folder entry merges
// into an existing folder). It reports whether a folder was kept.
func clearPlace(pfd int, base, target string, hdr *tar.Header, opts *ExtractOptions) (bool, error) {
	wantDir := hdr.Typeflag == tar.TypeDir
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if !errors.Is(err, unix.ENOENT) {
			return false, fmt.Errorf("extract %s: %w", hdr.Name, err)
		}
		return false, nil
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if opts.NoOverwriteDirNonDir && isDir && !wantDir {
		return false, bad("cannot overwrite directory %q with non-directory %q", target, hdr.Name)
	}
	if opts.NoOverwriteDirNonDir && !isDir && wantDir {
		return false, bad("cannot overwrite non-directory %q with directory %q", target, hdr.Name)
	}
	if isDir && wantDir {
		return true, nil
	}
	if err := removeAt(pfd, base, isDir); err != nil {
		return false, fmt.Errorf("extract %s: remove existing %s: %w", hdr.Name, target, err)
	}
	return false, nil
}

// newEntry is one entry being created by name in its (already walked)
// folder pfd, with the mode and owner it gets.
type newEntry struct {
	pfd      int
	base     string
	hdr      *tar.Header
	mode     uint32
	uid, gid int
	chown    bool
}

func (e newEntry) fail(err error) error { return fmt.Errorf("extract %s: %w", e.hdr.Name, err) }

func (e newEntry) dir(exists bool) error {
	if !exists {
		if err := unix.Mkdirat(e.pfd, e.base, 0o700); err != nil {
			return e.fail(err)
		}
	}
	dfd, err := unix.Openat(e.pfd, e.base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return e.fail(err)
	}
	defer unix.Close(dfd)
	if e.chown {
		if err := unix.Fchown(dfd, e.uid, e.gid); err != nil {
			return fmt.Errorf("extract %s: chown: %w", e.hdr.Name, err)
		}
	}
	if err := unix.Fchmod(dfd, e.mode); err != nil {
		return fmt.Errorf("extract %s: chmod: %w", e.hdr.Name, err)
	}
	return nil
}

// file writes a regular file's content, charged to budget.
func (e newEntry) file(tr *tar.Reader, opts *ExtractOptions, budget *int64) error {
	if e.hdr.Size > *budget {
		return bad("extract %s: archive content exceeds the limit of %d bytes", e.hdr.Name, opts.maxBytes())
	}
	fd, err := unix.Openat(e.pfd, e.base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return e.fail(err)
	}
	f := os.NewFile(uintptr(fd), e.base)
	defer f.Close()
	n, err := io.Copy(f, io.LimitReader(tr, *budget+1))
	*budget -= n
	if err != nil {
		return e.fail(err)
	}
	if *budget < 0 {
		return bad("extract %s: archive content exceeds the limit of %d bytes", e.hdr.Name, opts.maxBytes())
	}
	if e.chown {
		if err := f.Chown(e.uid, e.gid); err != nil {
			return fmt.Errorf("extract %s: chown: %w", e.hdr.Name, err)
		}
	}
	if err := unix.Fchmod(fd, e.mode); err != nil {
		return fmt.Errorf("extract %s: chmod: %w", e.hdr.Name, err)
	}
	setTimes(e.pfd, e.base, e.hdr)
	return nil
}

func (e newEntry) symlink() error {
	hdr := e.hdr
	if hdr.Linkname == "" || len(hdr.Linkname) > maxPathLen || strings.ContainsRune(hdr.Linkname, 0) {
		return bad("extract %s: invalid symlink target", hdr.Name)
	}
	// The target is stored as is: it is only ever followed by this
	// package (inside the view) or by the container (inside its root).
	if err := unix.Symlinkat(hdr.Linkname, e.pfd, e.base); err != nil {
		return e.fail(err)
	}
	if e.chown {
		if err := unix.Fchownat(e.pfd, e.base, e.uid, e.gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("extract %s: chown: %w", hdr.Name, err)
		}
	}
	setTimes(e.pfd, e.base, hdr)
	return nil
}

// hardLink links to an entry already inside the extraction folder dest,
// never to a folder, a mount point or anything outside.
func (v *View) hardLink(e newEntry, dest string) error {
	hdr := e.hdr
	lrel, err := cleanName(hdr.Linkname, dest)
	if err != nil {
		return err
	}
	src, err := v.Walk(path.Join(dest, lrel), WalkOptions{})
	if err != nil {
		return bad("extract %s: hard link target %s: %w", hdr.Name, hdr.Linkname, err)
	}
	defer src.Close()
	if !src.Exists() || src.Parent < 0 || src.IsGraft || src.IsDir() {
		return bad("extract %s: invalid hard link target %s", hdr.Name, hdr.Linkname)
	}
	if err := unix.Linkat(src.Parent, src.Name, e.pfd, e.base, 0); err != nil {
		return fmt.Errorf("extract %s: link to %s: %w", hdr.Name, hdr.Linkname, err)
	}
	return nil
}

// special creates a fifo, or a device when allowDevices (else skips it).
func (e newEntry) special(allowDevices bool) error {
	hdr := e.hdr
	kind := uint32(unix.S_IFIFO)
	switch hdr.Typeflag {
	case tar.TypeChar:
		kind = unix.S_IFCHR
	case tar.TypeBlock:
		kind = unix.S_IFBLK
	}
	if kind != unix.S_IFIFO && !allowDevices {
		return nil
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	if err := unix.Mknodat(e.pfd, e.base, kind|0o600, int(dev)); err != nil {
		return e.fail(err)
	}
	if err := chmodOwnPath(e.pfd, e.base, e.mode, e.uid, e.gid, e.chown); err != nil {
		return e.fail(err)
	}
	setTimes(e.pfd, e.base, hdr)
	return nil
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
