package build

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/images/archive"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/stringid"
)

type copyRequest struct {
	sd                       instructions.SourcesAndDest
	from, chown, chmod, name string
	add                      bool
}

// source is one COPY/ADD source after resolution inside its root.
type source struct {
	path    string      // host path, resolved inside the source root
	name    string      // base name, used when the destination is a directory
	fi      os.FileInfo // of path (a resolved path: never a symlink)
	extract bool        // ADD of a local archive: unpack into the destination
	mode    os.FileMode // permission bits override (downloads); 0 = keep
	mtime   time.Time   // override (downloads); zero = keep
	entries []entry     // for a directory: what is below it, in walk order
}

// entry is a file below a directory source.
type entry struct {
	rel  string // slash path relative to the directory source
	path string // host path
	fi   os.FileInfo
}

// dispatchCopy runs COPY and ADD. Sources are resolved inside their root
// (the context, a stage's or image's rootfs) with symlinks followed as if
// the root were "/": nothing outside is read. The destination is written
// through archive.Extract, which resolves every name inside the image's
// root filesystem and never writes through a symlink.
func (b *builder) dispatchCopy(ctx context.Context, st *state, r copyRequest) error {
	if len(r.sd.SourceContents) > 0 {
		return errHeredoc(r.name)
	}
	srcRoot, hidden := b.ctx.dir, b.ctx.hidden
	if r.from != "" {
		mnt, release, err := b.mountFrom(ctx, r.from)
		if err != nil {
			return err
		}
		defer release()
		srcRoot, hidden = mnt, nil
	}
	mode, err := parseChmod(r.chmod)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(b.s.tmp, "add-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	sources, wildcard, err := b.gatherSources(ctx, r, srcRoot, hidden, tmp)
	if err != nil {
		return err
	}
	dest, destIsDir := copyDest(r.sd.DestPath, st.cfg.WorkingDir)
	if (len(r.sd.SourcePaths) > 1 || wildcard && len(sources) > 1) && !destIsDir {
		return errdefs.Invalid("When using %s with more than one source file, the destination must be a directory and end with a /", r.name)
	}
	createdBy, sum, err := copyHistory(r, dest, sources)
	if err != nil {
		return err
	}
	return b.commitStep(ctx, st, createdBy, sum, func(rootfs string) error {
		uid, gid, err := resolveChown(rootfs, r.chown)
		if err != nil {
			return err
		}
		w := &copyWriter{rootfs: rootfs, uid: uid, gid: gid, mode: mode}
		if !destIsDir {
			if p, err := securejoin.SecureJoin(rootfs, dest); err == nil {
				if fi, err := os.Stat(p); err == nil && fi.IsDir() {
					destIsDir = true
				}
			}
		}
		for _, src := range sources {
			if err := w.copy(ctx, src, dest, destIsDir || src.fi.IsDir() || src.extract); err != nil {
				return fmt.Errorf("%s failed: %w", r.name, err)
			}
		}
		return w.flush()
	})
}

// mountFrom mounts the root filesystem of COPY --from's stage or image
// (on a throwaway layer) and returns it with its release.
func (b *builder) mountFrom(ctx context.Context, from string) (string, func(), error) {
	img, err := b.copyFromImage(ctx, from)
	if err != nil {
		return "", nil, err
	}
	id := stringid.New()
	bg := context.WithoutCancel(ctx)
	if err := b.s.b.PrepareLayer(ctx, id, img.ID); err != nil {
		return "", nil, err
	}
	mnt, err := b.s.b.MountRootfs(ctx, id)
	if err != nil {
		b.s.b.RemoveLayer(bg, id)
		return "", nil, err
	}
	return mnt, func() {
		b.s.b.UnmountRootfs(bg, id)
		b.s.b.RemoveLayer(bg, id)
	}, nil
}

// parseChmod reads --chmod: an octal mode (0 when not given).
func parseChmod(chmod string) (os.FileMode, error) {
	if chmod == "" {
		return 0, nil
	}
	m, err := strconv.ParseUint(chmod, 8, 32)
	if err != nil || m > 0o7777 {
		return 0, errdefs.Invalid("invalid chmod parameter %q: use an octal mode such as 755", chmod)
	}
	return fileMode(int64(m)), nil
}

// gatherSources resolves the instruction's sources below srcRoot (URLs,
// ADD only, are downloaded into tmp) and says whether a wildcard matched.
func (b *builder) gatherSources(ctx context.Context, r copyRequest, srcRoot string, hidden map[string]bool, tmp string) ([]source, bool, error) {
	var sources []source
	wildcard := false
	for _, s := range r.sd.SourcePaths {
		if isURL(s) {
			if !r.add {
				return nil, false, errdefs.Invalid("%s failed: source can't be a URL for COPY", r.name)
			}
			src, err := b.download(ctx, s, tmp)
			if err != nil {
				return nil, false, err
			}
			sources = append(sources, src)
			continue
		}
		found, wc, err := resolveSources(srcRoot, hidden, s, r.add, r.name)
		if err != nil {
			return nil, false, err
		}
		wildcard = wildcard || wc
		sources = append(sources, found...)
	}
	return sources, wildcard, nil
}

// copyDest is the destination made absolute against the working directory,
// and whether it names a directory ("/" at the end, "." or "..").
func copyDest(dest, workdir string) (string, bool) {
	isDir := strings.HasSuffix(dest, "/") || dest == "." || dest == ".."
	if !path.IsAbs(dest) {
		if workdir == "" {
			workdir = "/"
		}
		dest = path.Join(workdir, dest)
	}
	return path.Clean(dest), isDir
}

// copyHistory is the step's history line and cache key: a digest of the
// sources' contents with the destination and the flags, as Docker's
// classic builder words it.
func copyHistory(r copyRequest, dest string, sources []source) (createdBy, sum string, err error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", r.name, dest, r.chown, r.chmod)
	for _, src := range sources {
		if err := hashSource(h, src); err != nil {
			return "", "", err
		}
	}
	sum = hex.EncodeToString(h.Sum(nil))
	kind := "file"
	switch {
	case len(sources) > 1:
		kind = "multi"
	case len(sources) == 1 && sources[0].fi.IsDir():
		kind = "dir"
	}
	createdBy = fmt.Sprintf("/bin/sh -c #(nop) %s %s:%s in %s ", r.name, kind, sum, dest)
	if r.chown != "" || r.chmod != "" {
		createdBy += fmt.Sprintf("(chown %q chmod %q) ", r.chown, r.chmod)
	}
	return createdBy, sum, nil
}

// copyFromImage resolves COPY --from: a stage name or index, else an image.
func (b *builder) copyFromImage(ctx context.Context, from string) (*images.Image, error) {
	if i, ok := b.df.stageIndex(from, len(b.results)); ok {
		return b.results[i], nil
	}
	if j, ok := b.df.stageIndex(from, len(b.df.stages)); ok && j >= len(b.results) {
		return nil, errdefs.Invalid("COPY --from=%s: the stage is not built yet: a stage can only copy from the stages before it", from)
	}
	return b.baseImage(ctx, from, b.opts.Platform, len(b.results))
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

func containsWildcards(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '*', '?', '[':
			return true
		}
	}
	return false
}

// resolveSources resolves one source argument inside root: a path (its
// last symlink followed inside the root) or a wildcard pattern.
func resolveSources(root string, hidden map[string]bool, s string, add bool, instr string) ([]source, bool, error) {
	rel := path.Clean(strings.TrimPrefix(filepath.ToSlash(s), "/"))
	if !strings.HasPrefix(filepath.ToSlash(s), "/") && (rel == ".." || strings.HasPrefix(rel, "../")) {
		return nil, false, errdefs.Invalid("%s failed: forbidden path outside the build context: %s ()", instr, s)
	}
	if strings.HasPrefix(rel, "../") || rel == ".." {
		rel = path.Clean("/" + rel)[1:]
		if rel == "" {
			rel = "."
		}
	}
	if !containsWildcards(rel) {
		src, err := resolveSource(root, hidden, rel, add)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, false, errdefs.Invalid("%s failed: file not found in build context or excluded by .dockerignore: stat %s: file does not exist", instr, s)
			}
			if errors.Is(err, syscall.ELOOP) {
				// A symlink (chain) that leads back into itself once
				// confined to the context, such as "etc -> /etc".
				return nil, false, errdefs.Invalid("%s failed: cannot resolve %s inside the build context: too many levels of symbolic links", instr, s)
			}
			return nil, false, err
		}
		return []source{src}, false, nil
	}
	out, err := matchSources(root, hidden, rel, add)
	if err != nil {
		var pe patternError
		if errors.As(err, &pe) {
			return nil, true, errdefs.Invalid("%s failed: invalid pattern %q: %s", instr, s, pe.err.Error())
		}
		return nil, true, err
	}
	if len(out) == 0 {
		return nil, true, errdefs.Invalid("%s failed: no source files were specified", instr)
	}
	return out, true, nil
}

// patternError is a source pattern path.Match rejects.
type patternError struct{ err error }

func (e patternError) Error() string { return e.err.Error() }

// matchSources walks the context from the pattern's longest literal prefix
// and returns what matches it; a matching directory is taken whole.
func matchSources(root string, hidden map[string]bool, pattern string, add bool) ([]source, error) {
	parts := strings.Split(pattern, "/")
	prefix := "."
	for i, p := range parts {
		if containsWildcards(p) || i == len(parts)-1 {
			break
		}
		prefix = path.Join(prefix, p)
	}
	start, err := securejoin.SecureJoin(root, prefix)
	if err != nil {
		return nil, err
	}
	var out []source
	err = filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		r, _ := filepath.Rel(root, p)
		r = filepath.ToSlash(r)
		if hidden[r] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		ok, err := path.Match(pattern, r)
		if err != nil {
			return patternError{err}
		}
		if !ok {
			return nil
		}
		src, err := resolveSource(root, hidden, r, add)
		if err != nil {
			return err
		}
		out = append(out, src)
		if d.IsDir() {
			return filepath.SkipDir
		}
		return nil
	})
	return out, err
}

func resolveSource(root string, hidden map[string]bool, rel string, add bool) (source, error) {
	if hidden[rel] {
		return source{}, fs.ErrNotExist
	}
	p, err := securejoin.SecureJoin(root, rel)
	if err != nil {
		return source{}, err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return source{}, err
	}
	name := path.Base(rel)
	if rel == "." {
		name = ""
	}
	src := source{path: p, name: name, fi: fi}
	switch {
	case fi.IsDir():
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if q == p {
				return nil
			}
			r, _ := filepath.Rel(root, q)
			if hidden[filepath.ToSlash(r)] {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			er, _ := filepath.Rel(p, q)
			src.entries = append(src.entries, entry{rel: filepath.ToSlash(er), path: q, fi: fi})
			return nil
		})
		if err != nil {
			return source{}, err
		}
	case fi.Mode().IsRegular():
		if add {
			src.extract = isArchive(p)
		}
	default:
		return source{}, errdefs.Invalid("%s is not a regular file or directory", rel)
	}
	return src, nil
}

// isArchive reports whether the file is a tar (plain or compressed), which
// ADD unpacks.
func isArchive(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	rd, _, err := archive.Decompress(bufio.NewReader(f))
	if err != nil {
		return false
	}
	defer rd.Close()
	_, err = tar.NewReader(rd).Next()
	return err == nil
}

// hashSource feeds the cache hash with what COPY writes: paths, types,
// modes, link targets and contents.
func hashSource(h hash.Hash, src source) error {
	fmt.Fprintf(h, "src\x00%s\x00%t\x00%o\x00%d\x00", src.name, src.extract, src.mode, src.mtime.Unix())
	if !src.fi.IsDir() {
		return hashFile(h, ".", src.path, src.fi)
	}
	fmt.Fprintf(h, "dir\x00%o\x00", src.fi.Mode())
	for _, e := range src.entries {
		if err := hashFile(h, e.rel, e.path, e.fi); err != nil {
			return err
		}
	}
	return nil
}

func hashFile(h hash.Hash, rel, p string, fi os.FileInfo) error {
	fmt.Fprintf(h, "%s\x00%o\x00", rel, fi.Mode())
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		l, err := os.Readlink(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "link\x00%s\x00", l)
	case fi.Mode().IsRegular():
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(h, "%d\x00", fi.Size())
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
	}
	return nil
}

// download fetches an ADD URL into dir: the file gets mode 0600 and the
// server's Last-Modified time, as Docker does.
func (b *builder) download(ctx context.Context, raw, dir string) (source, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return source{}, errdefs.Invalid("ADD failed: invalid URL %q", raw)
	}
	name := path.Base(u.Path)
	if name == "/" || name == "." || name == "" {
		name = ""
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return source{}, errdefs.Invalid("ADD failed: invalid URL %q", raw)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return source{}, fmt.Errorf("ADD failed: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return source{}, fmt.Errorf("ADD failed: %s returned status: %s", raw, resp.Status)
	}
	f, err := os.CreateTemp(dir, "download-")
	if err != nil {
		return source{}, err
	}
	defer f.Close()
	limit := b.opts.MaxContextSize
	if limit <= 0 {
		limit = DefaultMaxContextSize
	}
	n, err := io.Copy(f, io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return source{}, fmt.Errorf("ADD failed: download %s: %w", raw, err)
	}
	if n > limit {
		return source{}, errdefs.Invalid("ADD failed: %s is larger than %d bytes", raw, limit)
	}
	fi, err := f.Stat()
	if err != nil {
		return source{}, err
	}
	mtime := time.Unix(0, 0)
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		mtime = lm
	}
	return source{path: f.Name(), name: name, fi: fi, mode: 0o600, mtime: mtime}, nil
}

// copyWriter writes sources into a mounted root filesystem, batching plain
// files into one tar stream for archive.Extract.
type copyWriter struct {
	rootfs   string
	uid, gid int
	mode     os.FileMode // --chmod, 0 = keep

	pw   *io.PipeWriter
	tw   *tar.Writer
	done chan error
}

func (w *copyWriter) start() {
	if w.tw != nil {
		return
	}
	pr, pw := io.Pipe()
	w.pw, w.tw, w.done = pw, tar.NewWriter(pw), make(chan error, 1)
	go func() {
		_, err := archive.Extract(pr, w.rootfs, archive.Options{})
		pr.CloseWithError(err)
		w.done <- err
	}()
}

func (w *copyWriter) flush() error {
	if w.tw == nil {
		return nil
	}
	err := w.tw.Close()
	w.pw.CloseWithError(err)
	if xerr := <-w.done; err == nil {
		err = xerr
	}
	w.tw = nil
	return err
}

func (w *copyWriter) copy(ctx context.Context, src source, dest string, destIsDir bool) error {
	if src.extract {
		if err := w.flush(); err != nil {
			return err
		}
		dir, err := securejoin.SecureJoin(w.rootfs, dest)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		f, err := os.Open(src.path)
		if err != nil {
			return err
		}
		defer f.Close()
		rd, _, err := archive.Decompress(f)
		if err != nil {
			return err
		}
		defer rd.Close()
		if _, err := archive.Extract(rd, dir, archive.Options{}); err != nil {
			return fmt.Errorf("extract %s: %w", src.name, err)
		}
		return nil
	}
	w.start()
	if !src.fi.IsDir() {
		dst := dest
		if destIsDir {
			if src.name == "" {
				return errdefs.Invalid("cannot determine a file name for %s: give the destination file name", src.path)
			}
			dst = path.Join(dest, src.name)
		}
		return w.write(src.path, dst, src.fi, src.mode, src.mtime)
	}
	// A directory's contents go into dest; dest itself is made if missing,
	// 0755 as Docker makes it: not with the source's mode, which for the
	// context root is the private 0700 of a temp folder, and a non-root
	// USER could not read what was copied.
	if p, err := securejoin.SecureJoin(w.rootfs, dest); err == nil {
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) && dest != "/" {
			if err := w.write(src.path, dest, src.fi, 0o755, time.Time{}); err != nil {
				return err
			}
		}
	}
	for _, e := range src.entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := w.write(e.path, path.Join(dest, e.rel), e.fi, 0, time.Time{}); err != nil {
			return err
		}
	}
	return nil
}

func (w *copyWriter) write(p, dst string, fi os.FileInfo, mode os.FileMode, mtime time.Time) error {
	name := strings.TrimPrefix(dst, "/")
	if name == "" {
		return nil
	}
	perm := int64(fi.Mode().Perm())
	if fi.Mode()&os.ModeSetuid != 0 {
		perm |= 0o4000
	}
	if fi.Mode()&os.ModeSetgid != 0 {
		perm |= 0o2000
	}
	if fi.Mode()&os.ModeSticky != 0 {
		perm |= 0o1000
	}
	if mode != 0 {
		perm = int64(mode.Perm())
	}
	if w.mode != 0 && fi.Mode()&os.ModeSymlink == 0 {
		perm = int64(w.mode.Perm())
	}
	if mtime.IsZero() {
		mtime = fi.ModTime()
	}
	hdr := &tar.Header{Name: name, Mode: perm, Uid: w.uid, Gid: w.gid, ModTime: mtime, Format: tar.FormatPAX}
	switch {
	case fi.IsDir():
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
		return w.tw.WriteHeader(hdr)
	case fi.Mode()&os.ModeSymlink != 0:
		l, err := os.Readlink(p)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, l
		return w.tw.WriteHeader(hdr)
	case fi.Mode().IsRegular():
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		hdr.Typeflag, hdr.Size = tar.TypeReg, fi.Size()
		if err := w.tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err = io.CopyN(w.tw, f, fi.Size())
		return err
	}
	// Devices, fifos, sockets (COPY --from a rootfs): left out.
	return nil
}

func fileMode(m int64) os.FileMode {
	mode := os.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= os.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= os.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= os.ModeSticky
	}
	return mode
}
