package securefs

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Graft is a host folder (or file) shown at Path inside a View, as a volume
// or bind mount is inside a container.
type Graft struct {
	Path     string // absolute, inside the view
	Source   string // host path, trusted (chosen by the engine or the admin)
	ReadOnly bool
}

type graft struct {
	fd    int // O_PATH
	ro    bool
	isDir bool
}

// View is a tree: a root folder plus grafts. Close releases its descriptors.
type View struct {
	root   int // O_PATH
	grafts map[string]*graft
	rootRO bool
}

// SetRootReadOnly makes writes outside any graft fail with ErrReadOnlyRoot
// (a container started with --read-only).
func (v *View) SetRootReadOnly(ro bool) { v.rootRO = ro }

// Open opens a view over root with grafts. Sources are host paths the engine
// trusts, opened as given; a missing source is an error.
func Open(root string, grafts []Graft) (*View, error) {
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: root, Err: err}
	}
	v := &View{root: fd, grafts: map[string]*graft{}}
	// Parents first, so a graft inside another one is found through it.
	grafts = slices.Clone(grafts)
	slices.SortStableFunc(grafts, func(a, b Graft) int { return depth(a.Path) - depth(b.Path) })
	for _, g := range grafts {
		p := path.Clean("/" + g.Path)
		if p == "/" {
			continue
		}
		p = v.canonical(p)
		gfd, err := unix.Open(g.Source, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			v.Close()
			return nil, &os.PathError{Op: "open", Path: g.Source, Err: err}
		}
		var st unix.Stat_t
		if err := unix.Fstat(gfd, &st); err != nil {
			unix.Close(gfd)
			v.Close()
			return nil, err
		}
		if old := v.grafts[p]; old != nil {
			unix.Close(old.fd)
		}
		v.grafts[p] = &graft{fd: gfd, ro: g.ReadOnly, isDir: st.Mode&unix.S_IFMT == unix.S_IFDIR}
	}
	return v, nil
}

func depth(p string) int { return strings.Count(path.Clean("/"+p), "/") }

// canonical returns where the runtime really mounts a graft at p: like runc,
// it follows symlinks in the tree (say /var/run -> /run), inside the tree.
func (v *View) canonical(p string) string {
	if e, err := v.Walk(p, WalkOptions{FollowLast: true}); err == nil {
		defer e.Close()
		return e.Path
	}
	return p
}

// Close releases the view's descriptors.
func (v *View) Close() error {
	for _, g := range v.grafts {
		unix.Close(g.fd)
	}
	v.grafts = nil
	if v.root >= 0 {
		unix.Close(v.root)
		v.root = -1
	}
	return nil
}

// IsGraft reports whether p (cleaned, absolute) is a graft's mount point.
func (v *View) IsGraft(p string) bool {
	_, ok := v.grafts[path.Clean("/"+p)]
	return ok
}

// reopen turns an O_PATH descriptor into a usable one through its
// /proc/self/fd magic link: the same inode, no path lookup that a rename or
// symlink swap could redirect.
func reopen(fd int, flags int) (*os.File, error) {
	p := fmt.Sprintf("/proc/self/fd/%d", fd)
	nfd, err := unix.Open(p, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(nfd), "reopened"), nil
}
