package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine/archive/securefs"
	"github.com/berth-dev/berth/engine/mounts"
	"github.com/berth-dev/berth/internal/errdefs"
	cerrdefs "github.com/containerd/errdefs"
)

// NotFoundError is a cp path that does not exist. Container is empty unless
// the caller fills it in; the message is Docker's, which the docker CLI
// turns into "No such container:path".
type NotFoundError struct{ Path, Container string }

func (e *NotFoundError) Error() string {
	if e.Container == "" {
		return fmt.Sprintf("Could not find the file %s in container", e.Path)
	}
	return fmt.Sprintf("Could not find the file %s in container %s", e.Path, e.Container)
}

func notFound(p string) error { return errdefs.Classify(cerrdefs.ErrNotFound, &NotFoundError{Path: p}) }

// openView opens the container's tree: rootfs plus its bind and volume
// mounts (tmpfs ones live only in the container's mount namespace and are
// not reachable from the host, as with Docker a cp sees what is under them).
func openView(rootfs string, mps []mounts.MountPoint) (*securefs.View, error) {
	var grafts []securefs.Graft
	for _, mp := range mps {
		if (mp.Type != mounts.TypeBind && mp.Type != mounts.TypeVolume) || mp.Source == "" {
			continue
		}
		grafts = append(grafts, securefs.Graft{Path: mp.Destination, Source: mp.Source, ReadOnly: !mp.RW})
	}
	v, err := securefs.Open(rootfs, grafts)
	if err != nil {
		return nil, fmt.Errorf("open container filesystem: %w", err)
	}
	return v, nil
}

// absPath is Docker's view of a cp path: absolute in the container, cleaned,
// but keeping a trailing "/" or "/." that changes what is copied.
func absPath(p string) string {
	c := path.Clean("/" + p)
	switch {
	case p == "." || strings.HasSuffix(p, "/."):
		if c == "/" {
			return "/."
		}
		return c + "/."
	case strings.HasSuffix(p, "/") && c != "/":
		return c + "/"
	}
	return c
}

// baseName is the name a cp path's top entry gets: Docker's
// filepath.Base(absPath) ("." for "dir/.", "/" for the root).
func baseName(abs string) string {
	if strings.HasSuffix(abs, "/.") {
		return "."
	}
	return path.Base(abs)
}

// fileMode converts a stat mode to Go's os.FileMode, as os.Lstat would.
func fileMode(st *unix.Stat_t) os.FileMode {
	m := os.FileMode(st.Mode & 0o777)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		m |= fs.ModeDir
	case unix.S_IFLNK:
		m |= fs.ModeSymlink
	case unix.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		m |= fs.ModeDevice
	case unix.S_IFIFO:
		m |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		m |= fs.ModeSocket
	}
	if st.Mode&unix.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if st.Mode&unix.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if st.Mode&unix.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// walkErr maps a securefs walk error to the API's kinds without leaking
// host paths.
func walkErr(p string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return notFound(p)
	case errors.Is(err, unix.ENOTDIR):
		return errdefs.Invalid("%s: not a directory", p)
	case errors.Is(err, unix.ELOOP):
		return errdefs.Invalid("%s: too many levels of symbolic links", p)
	case errors.Is(err, securefs.ErrReadOnly), errors.Is(err, securefs.ErrReadOnlyRoot):
		return errdefs.Classify(cerrdefs.ErrInvalidArgument, err)
	}
	return err
}
