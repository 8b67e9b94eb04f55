package build

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/berth-dev/berth/engine/images/archive"
	"github.com/berth-dev/berth/internal/errdefs"
)

// Caps of a build context. The defaults stop a hostile client from filling
// the disk; Options can lower them.
const (
	DefaultMaxContextSize    int64 = 8 << 30 // uncompressed tar bytes
	DefaultMaxContextEntries       = 1_000_000
	// maxDockerfileSize caps the Dockerfile (and .dockerignore) read into
	// memory; the parser caps each line at 64 KiB on its own.
	maxDockerfileSize = 8 << 20
)

// errContextTooLarge is wrapped by every size-cap error.
var errContextTooLarge = errors.New("build context too large")

// buildContext is the extracted context: a private directory nothing else
// writes to, with the .dockerignore'd files already removed.
type buildContext struct {
	dir string
	// hidden are files kept for the builder (the Dockerfile, .dockerignore)
	// that COPY and ADD must not see because .dockerignore excludes them.
	hidden map[string]bool
}

// extractContext unpacks the (possibly compressed) tar stream r into dir,
// which must exist and be empty. The stream is hostile: names are cleaned
// and rejected if they leave the context; every file operation goes through
// an os.Root, so no symlink (in the stream or made by it) leads outside;
// symlinks are kept as symlinks; devices and fifos are skipped; ownership is
// not applied (COPY sets its own); size and entry count are capped.
func extractContext(r io.Reader, dir string, maxSize int64, maxEntries int) error {
	if maxSize <= 0 {
		maxSize = DefaultMaxContextSize
	}
	if maxEntries <= 0 {
		maxEntries = DefaultMaxContextEntries
	}
	rd, _, err := archive.Decompress(r)
	if err != nil {
		return errdefs.Invalid("invalid build context: %s", err.Error())
	}
	defer rd.Close()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	lr := &cappedReader{r: rd, max: maxSize}
	tr := tar.NewReader(lr)
	type dirTime struct {
		name string
		hdr  *tar.Header
	}
	var dirs []dirTime
	var logical int64
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if lr.exceeded {
				return lr.err()
			}
			return errdefs.Invalid("invalid build context: not a valid tar stream: %s", err.Error())
		}
		if n >= maxEntries {
			return errdefs.Invalid("%s: more than %d files", errContextTooLarge, maxEntries)
		}
		// The cap counts what is written too: a sparse entry is a small
		// map in the stream and its whole logical size on disk.
		if hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA || hdr.Typeflag == tar.TypeGNUSparse {
			logical += hdr.Size
			if hdr.Size < 0 || logical > maxSize {
				return lr.err()
			}
		}
		name, err := contextName(hdr.Name)
		if err != nil {
			return err
		}
		if name == "." {
			continue
		}
		if err := extractEntry(root, name, hdr, tr); err != nil {
			if lr.exceeded {
				return lr.err()
			}
			return errdefs.Invalid("invalid build context: %q: %s", hdr.Name, err.Error())
		}
		if hdr.Typeflag == tar.TypeDir {
			dirs = append(dirs, dirTime{name, hdr})
		}
	}
	// Directory times last: creating their children changed them.
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = root.Chtimes(dirs[i].name, dirs[i].hdr.AccessTime, dirs[i].hdr.ModTime)
	}
	return nil
}

// contextName cleans a tar entry name into a path relative to the context
// root, rejecting names that climb out of it.
func contextName(name string) (string, error) {
	n := strings.TrimLeft(filepath.ToSlash(name), "/")
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", errdefs.Invalid("invalid build context: entry %q points outside the context", name)
		}
	}
	n = path.Clean(n)
	if n == "" {
		n = "."
	}
	return n, nil
}

func extractEntry(root *os.Root, name string, hdr *tar.Header, r io.Reader) error {
	if parent := path.Dir(name); parent != "." {
		if err := root.MkdirAll(parent, 0o755); err != nil {
			return err
		}
	}
	mode := os.FileMode(hdr.Mode) & os.ModePerm
	if hdr.Mode&0o4000 != 0 {
		mode |= os.ModeSetuid
	}
	if hdr.Mode&0o2000 != 0 {
		mode |= os.ModeSetgid
	}
	if hdr.Mode&0o1000 != 0 {
		mode |= os.ModeSticky
	}
	// Whatever is in the way (an earlier entry of the same name) is
	// replaced, never written through: a symlink there must not redirect
	// the write.
	if fi, err := root.Lstat(name); err == nil {
		if !(fi.IsDir() && hdr.Typeflag == tar.TypeDir) {
			if err := root.RemoveAll(name); err != nil {
				return err
			}
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := root.Mkdir(name, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		return root.Chmod(name, mode)
	case tar.TypeReg, tar.TypeRegA:
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if err := root.Chmod(name, mode); err != nil {
			return err
		}
		return root.Chtimes(name, hdr.AccessTime, hdr.ModTime)
	case tar.TypeSymlink:
		// Kept as is, even when absolute or dangling: readers resolve it
		// inside the context (or refuse), never on the host.
		return root.Symlink(hdr.Linkname, name)
	case tar.TypeLink:
		target, err := contextName(hdr.Linkname)
		if err != nil {
			return err
		}
		fi, err := root.Lstat(target)
		if err != nil {
			return fmt.Errorf("hard link to missing %q", hdr.Linkname)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("hard link to %q, which is not a regular file", hdr.Linkname)
		}
		return root.Link(target, name)
	default:
		// Devices, fifos, sockets: a build context has no use for them.
		return nil
	}
}

type cappedReader struct {
	r        io.Reader
	n, max   int64
	exceeded bool
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.exceeded {
		return 0, c.err()
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		c.exceeded = true
		return n, c.err()
	}
	return n, err
}

func (c *cappedReader) err() error {
	return errdefs.Invalid("%s: it exceeds the limit of %d bytes; exclude what the build does not need with a .dockerignore file", errContextTooLarge, c.max)
}

// readContextFile reads a small file of the context (the Dockerfile,
// .dockerignore) through the root, capped in size.
func readContextFile(dir, name string) ([]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errdefs.Invalid("%s is not a regular file", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxDockerfileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxDockerfileSize {
		return nil, errdefs.Invalid("%s is larger than %d bytes", name, maxDockerfileSize)
	}
	return data, nil
}

// applyDockerignore reads <dockerfile>.dockerignore, else .dockerignore,
// and removes the files it excludes from the context. The Dockerfile and
// the ignore file stay for the builder but are hidden from COPY/ADD when
// excluded.
func (c *buildContext) applyDockerignore(dockerfile string) error {
	c.hidden = map[string]bool{}
	var patterns []string
	ignoreName := ""
	for _, name := range []string{dockerfile + ".dockerignore", ".dockerignore"} {
		data, err := readContextFile(c.dir, name)
		if err != nil {
			continue
		}
		patterns, err = ignorefile.ReadAll(strings.NewReader(string(data)))
		if err != nil {
			return errdefs.Invalid("error reading %s: %s", name, err.Error())
		}
		ignoreName = name
		break
	}
	if len(patterns) == 0 {
		return nil
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return errdefs.Invalid("invalid %s: %s", ignoreName, err.Error())
	}
	keep := map[string]bool{path.Clean(dockerfile): true, ignoreName: true}
	return filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(c.dir, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		excluded, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			return err
		}
		if !excluded {
			return nil
		}
		if keep[rel] {
			c.hidden[rel] = true
			return nil
		}
		if d.IsDir() {
			if exclusionBelow(pm, rel) {
				// A "!pattern" starting inside brings back something
				// below: look inside. The folder stays (docker's CLI
				// would recreate it for the files it sends).
				return nil
			}
			if keepsAny(keep, rel) {
				c.hiddenDir(rel)
				return nil
			}
			if err := os.RemoveAll(p); err != nil {
				return err
			}
			return filepath.SkipDir
		}
		return os.Remove(p)
	})
}

// exclusionBelow reports whether a "!pattern" starts with dir/: the docker
// CLI's test (TarWithOptions) for walking into an excluded folder; other
// excluded folders go entirely, as they never leave a docker client.
func exclusionBelow(pm *patternmatcher.PatternMatcher, dir string) bool {
	for _, p := range pm.Patterns() {
		if p.Exclusion() && strings.HasPrefix(p.String()+"/", dir+"/") {
			return true
		}
	}
	return false
}

// keepsAny reports whether a kept file lies below dir.
func keepsAny(keep map[string]bool, dir string) bool {
	for k := range keep {
		if strings.HasPrefix(k, dir+"/") {
			return true
		}
	}
	return false
}

func (c *buildContext) hiddenDir(rel string) { c.hidden[rel] = true }

// isHidden reports whether COPY must skip rel (relative to the context).
func (c *buildContext) isHidden(rel string) bool {
	return c.hidden[rel]
}

// ExtractContext unpacks a client's context tar stream into dir (existing,
// empty) with the classic builder's rules and caps (0 = defaults); BuildKit
// builds sent to POST /build take their context the same way.
func ExtractContext(r io.Reader, dir string, maxSize int64, maxEntries int) error {
	return extractContext(r, dir, maxSize, maxEntries)
}
