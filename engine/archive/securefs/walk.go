package securefs

import (
	"errors"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// maxSymlinks bounds symlink expansions in one walk, as the kernel's ELOOP.
const maxSymlinks = 40

// Entry is the result of a walk. Close releases its descriptors.
type Entry struct {
	// Path is where the walk ended, inside the view, symlinks expanded:
	// the canonical path of the entry.
	Path string
	// Parent is the folder holding the entry (O_PATH), -1 for the view's root.
	Parent int
	// Name is the entry's name in Parent ("" for the view's root).
	Name string
	// Fd is the entry itself (O_PATH, not following a final symlink unless
	// asked), -1 when it does not exist.
	Fd int
	// Stat is Fd's stat when it exists.
	Stat unix.Stat_t
	// ReadOnly is true when the entry lies in a read-only graft.
	ReadOnly bool
	// IsGraft is true when the entry is a graft's root (a mount point).
	IsGraft bool
	// InGraft is true when the entry is a graft's root or below one.
	InGraft bool
}

// ReadOnlyErr is the error a write to this entry gets, nil if writable.
func (e *Entry) ReadOnlyErr() error {
	if !e.ReadOnly {
		return nil
	}
	if e.InGraft {
		return ErrReadOnly
	}
	return ErrReadOnlyRoot
}

// Exists reports whether the walk found the entry.
func (e *Entry) Exists() bool { return e.Fd >= 0 }

// IsDir reports whether the entry is a folder.
func (e *Entry) IsDir() bool { return e.Fd >= 0 && e.Stat.Mode&unix.S_IFMT == unix.S_IFDIR }

// Close releases the entry's descriptors.
func (e *Entry) Close() {
	if e.Fd >= 0 {
		unix.Close(e.Fd)
		e.Fd = -1
	}
	if e.Parent >= 0 {
		unix.Close(e.Parent)
		e.Parent = -1
	}
}

// Readlink returns an entry's symlink target.
func (e *Entry) Readlink() (string, error) { return readlinkFd(e.Fd) }

// WalkOptions say how a walk treats the last component and missing folders.
type WalkOptions struct {
	// FollowLast expands a final symlink. A trailing "/" or "/." always does.
	FollowLast bool
	// MkdirAll creates missing folders (mode 0755) all along the path,
	// including the last component; refused in read-only grafts.
	MkdirAll bool
}

type frame struct {
	fd      int
	path    string
	name    string
	ro      bool
	graft   bool
	inGraft bool
}

// ErrReadOnly is returned when a write would land in a read-only graft,
// ErrReadOnlyRoot when it would land in a read-only root; Docker's words.
var (
	ErrReadOnly     = errors.New("mounted volume is marked read-only")
	ErrReadOnlyRoot = errors.New("container rootfs is marked read-only")
)

// Walk resolves p inside the view. A missing last component is not an error
// (Entry.Fd is -1); a missing folder before it is (fs.ErrNotExist), unless
// MkdirAll. Errors never contain host paths.
//
// The walk keeps a stack of open folders from the root: each component is
// opened by name in the folder on top (never following a symlink there),
// ".." pops (never above the root), a graft's mount point switches to the
// graft, a symlink is expanded by splicing its target into the remaining
// components (an absolute one restarts from the root).
func (v *View) Walk(p string, opts WalkOptions) (*Entry, error) {
	rootFd, err := unix.Dup(v.root)
	if err != nil {
		return nil, err
	}
	w := &walker{v: v, p: p, opts: opts, stack: []frame{{fd: rootFd, path: "/", ro: v.rootRO}}, comps: strings.Split(p, "/")}
	for len(w.comps) > 0 {
		c := w.comps[0]
		w.comps = w.comps[1:]
		last := len(w.comps) == 0
		if c == "" || c == "." {
			continue
		}
		if c == ".." {
			if len(w.stack) > 1 {
				w.closeFrom(len(w.stack) - 1)
			}
			continue
		}
		if len(c) > 255 {
			return w.fail(&os.PathError{Op: "lookup", Path: p, Err: unix.ENAMETOOLONG})
		}
		cur := w.stack[len(w.stack)-1]
		childPath := path.Join(cur.path, c)
		if g, ok := v.grafts[childPath]; ok {
			if last {
				return w.endAtGraft(g, c, childPath)
			}
			if err := w.enterGraft(g, c, childPath); err != nil {
				return w.fail(err)
			}
			continue
		}
		fd, err := w.open(cur, c, childPath)
		if err != nil {
			return w.fail(err)
		}
		if fd < 0 {
			if last {
				return w.end(&Entry{Path: childPath, Parent: cur.fd, Name: c, Fd: -1, ReadOnly: cur.ro, InGraft: cur.inGraft}), nil
			}
			return w.fail(&os.PathError{Op: "lookup", Path: childPath, Err: unix.ENOENT})
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return w.fail(err)
		}
		mode := st.Mode & unix.S_IFMT
		if mode == unix.S_IFLNK && (!last || opts.FollowLast) {
			if err := w.follow(fd); err != nil {
				return w.fail(err)
			}
			continue
		}
		if !last {
			if mode != unix.S_IFDIR {
				unix.Close(fd)
				return w.fail(&os.PathError{Op: "lookup", Path: childPath, Err: unix.ENOTDIR})
			}
			w.stack = append(w.stack, frame{fd: fd, path: childPath, name: c, ro: cur.ro, inGraft: cur.inGraft})
			continue
		}
		return w.end(&Entry{Path: childPath, Parent: cur.fd, Name: c, Fd: fd, Stat: st, ReadOnly: cur.ro, InGraft: cur.inGraft}), nil
	}
	return w.endOnStack()
}

// walker is the state of one Walk: the open folders from the root down and
// the components still to resolve.
type walker struct {
	v     *View
	p     string
	opts  WalkOptions
	stack []frame
	comps []string
	links int
}

// closeFrom closes the folders from stack[from] up and drops them.
func (w *walker) closeFrom(from int) {
	for i := from; i < len(w.stack); i++ {
		unix.Close(w.stack[i].fd)
	}
	w.stack = w.stack[:from]
}

func (w *walker) fail(err error) (*Entry, error) {
	w.closeFrom(0)
	return nil, err
}

// end returns e, whose Parent is the folder on top of the stack: that one
// is handed to e, the rest closed.
func (w *walker) end(e *Entry) *Entry {
	w.stack = w.stack[:len(w.stack)-1]
	w.closeFrom(0)
	return e
}

// enterGraft descends into the graft g, met before the last component.
func (w *walker) enterGraft(g *graft, c, childPath string) error {
	fd, err := unix.Dup(g.fd)
	if err != nil {
		return err
	}
	if !g.isDir {
		unix.Close(fd)
		return &os.PathError{Op: "lookup", Path: childPath, Err: unix.ENOTDIR}
	}
	w.stack = append(w.stack, frame{fd: fd, path: childPath, name: c, ro: g.ro, graft: true, inGraft: true})
	return nil
}

// endAtGraft ends the walk on the graft g's root (the last component).
func (w *walker) endAtGraft(g *graft, c, childPath string) (*Entry, error) {
	fd, err := unix.Dup(g.fd)
	if err != nil {
		return w.fail(err)
	}
	cur := w.stack[len(w.stack)-1]
	e := w.end(&Entry{Path: childPath, Parent: cur.fd, Name: c, Fd: fd, ReadOnly: g.ro, IsGraft: true, InGraft: true})
	if err := unix.Fstat(fd, &e.Stat); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// open opens the component c in the folder cur (O_PATH, a symlink not
// followed), creating it as a folder first when MkdirAll. It returns -1
// and no error when c does not exist.
func (w *walker) open(cur frame, c, childPath string) (int, error) {
	fd, err := unix.Openat(cur.fd, c, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) && w.opts.MkdirAll {
		if cur.ro {
			if cur.inGraft {
				return -1, ErrReadOnly
			}
			return -1, ErrReadOnlyRoot
		}
		if err := unix.Mkdirat(cur.fd, c, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, &os.PathError{Op: "mkdir", Path: childPath, Err: err}
		}
		fd, err = unix.Openat(cur.fd, c, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	if errors.Is(err, unix.ENOENT) {
		return -1, nil
	}
	if err != nil {
		return -1, &os.PathError{Op: "lookup", Path: childPath, Err: err}
	}
	return fd, nil
}

// follow expands the symlink fd (which it closes): its target's components
// go before the remaining ones, an absolute target restarts at the root.
func (w *walker) follow(fd int) error {
	w.links++
	if w.links > maxSymlinks {
		unix.Close(fd)
		return &os.PathError{Op: "lookup", Path: w.p, Err: unix.ELOOP}
	}
	target, err := readlinkFd(fd)
	unix.Close(fd)
	if err != nil {
		return err
	}
	if strings.HasPrefix(target, "/") {
		w.closeFrom(1)
	}
	w.comps = append(strings.Split(target, "/"), w.comps...)
	return nil
}

// endOnStack ends a path that stopped on a folder already on the stack
// ("/", "a/..", "a/.").
func (w *walker) endOnStack() (*Entry, error) {
	top := w.stack[len(w.stack)-1]
	e := &Entry{Path: top.path, Parent: -1, Name: top.name, Fd: top.fd, ReadOnly: top.ro, IsGraft: top.graft, InGraft: top.inGraft}
	if len(w.stack) > 1 {
		e.Parent = w.stack[len(w.stack)-2].fd
		w.stack = w.stack[:len(w.stack)-2]
	} else {
		w.stack = w.stack[:0]
	}
	w.closeFrom(0)
	if err := unix.Fstat(e.Fd, &e.Stat); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// readlinkFd reads the target of the symlink an O_PATH descriptor refers to.
func readlinkFd(fd int) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Readlinkat(fd, "", buf)
		if err != nil {
			return "", err
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		if len(buf) >= 1<<16 {
			return "", unix.ENAMETOOLONG
		}
		buf = make([]byte, len(buf)*2)
	}
}
