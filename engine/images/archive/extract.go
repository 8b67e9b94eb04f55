package archive

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// Defaults for the caps of Extract. They are high on purpose: they exist to
// stop a decompression bomb from filling the disk, not to reject big images.
const (
	DefaultMaxSize    int64 = 64 << 30 // 64 GiB of uncompressed tar
	DefaultMaxEntries       = 4_000_000
)

// Whiteout names of the docker/OCI layer format, and their overlayfs form.
const (
	WhiteoutPrefix     = ".wh."
	WhiteoutOpaqueDir  = ".wh..wh..opq"
	overlayOpaqueXattr = "trusted.overlay.opaque"
)

var (
	// ErrTooLarge is returned when a layer exceeds MaxSize or MaxEntries.
	ErrTooLarge = errors.New("layer too large")
	// ErrDigestMismatch is returned when the uncompressed stream does not
	// hash to the expected diff ID.
	ErrDigestMismatch = errors.New("layer digest mismatch")
)

// Options tunes Extract. The zero value is safe.
type Options struct {
	// MaxSize caps the uncompressed tar stream (bytes); 0 means DefaultMaxSize.
	MaxSize int64
	// MaxEntries caps the number of tar entries; 0 means DefaultMaxEntries.
	MaxEntries int
	// DiffID, when set ("sha256:<hex>"), is the digest the uncompressed stream
	// must have; on mismatch Extract returns ErrDigestMismatch.
	DiffID string
	// Unprivileged drops the operations only root may do (ownership, device
	// nodes). It is forced when the process is not root.
	Unprivileged bool
	// Writeback starts writing each file's data (files of 16 KiB and
	// more) to disk as soon as the file is written (sync_file_range,
	// without waiting), for a caller
	// that makes the whole tree durable afterwards (one syncfs): the
	// disk then works while the stream is still being read, and the
	// final sync has little left to do.
	Writeback bool
}

// Result describes a successful extraction.
type Result struct {
	// DiffID is "sha256:<hex>" of the whole uncompressed tar stream.
	DiffID string
	// Size is the sum of the sizes of the regular files (Docker's layer size).
	Size int64
	// TarSize is the length of the uncompressed tar stream.
	TarSize int64
	// Entries is the number of tar entries.
	Entries int
}

// Extract unpacks the uncompressed tar stream r into the directory dst, which
// must exist and must be private to the caller until Extract returns (no
// other writer: the checks below rely on it).
//
// The stream is hostile: every name is cleaned and resolved inside dst with
// symlinks confined to dst (a symlink to "/etc" leads to dst/etc); the last
// component is never followed (a symlink in the way is replaced, not written
// through); hard links must point at a non-directory inside dst; docker
// whiteouts become overlayfs whiteouts (0/0 character devices and the
// trusted.overlay.opaque xattr) next to their own entry only; overlay xattrs
// carried by the tar are dropped; device nodes (char, block, fifo) are made
// only when running as root; size and entry count are capped; the diff ID is
// computed (and verified if Options.DiffID is set) while streaming. On error,
// dst holds a partial tree the caller must remove.
func Extract(r io.Reader, dst string, opts Options) (Result, error) {
	opts = opts.withDefaults()
	root, err := filepath.Abs(dst)
	if err != nil {
		return Result{}, err
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return Result{}, fmt.Errorf("extract: destination %s is not a directory", root)
	}
	lr := &limitReader{r: r, max: opts.MaxSize}
	h := sha256.New()
	tee := io.TeeReader(lr, h)
	x := &extractor{root: root, opts: opts}
	x.startMade()
	if pool, err := newLeafPool(x); err == nil {
		x.pool = pool
		defer pool.close()
	}
	res, err := x.entries(tar.NewReader(tee), lr)
	if err != nil {
		return res, err
	}
	if x.pool != nil {
		if err := x.pool.flush(); err != nil {
			return res, err
		}
	}
	// The tar end marker may be followed by padding that is part of the
	// digested stream.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		if errors.Is(err, ErrTooLarge) {
			return res, lr.err()
		}
		return res, fmt.Errorf("read layer: %w", err)
	}
	x.finishDirs()
	res.TarSize = lr.n
	res.DiffID = "sha256:" + hex.EncodeToString(h.Sum(nil))
	if opts.DiffID != "" && opts.DiffID != res.DiffID {
		return res, fmt.Errorf("%w: expected %s, got %s", ErrDigestMismatch, opts.DiffID, res.DiffID)
	}
	return res, nil
}

// withDefaults fills the caps left at zero and forces Unprivileged when
// the process is not root.
func (o Options) withDefaults() Options {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if os.Geteuid() != 0 {
		o.Unprivileged = true
	}
	return o
}

// entries writes the entries of tr up to the end marker, holding them to
// the caps: lr's on the stream read, MaxEntries, and MaxSize on the file
// content written.
func (x *extractor) entries(tr *tar.Reader, lr *limitReader) (Result, error) {
	var res Result
	var logical int64 // sum of the file sizes, holes included
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return res, nil
		}
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return res, lr.err()
			}
			return res, fmt.Errorf("invalid tar stream: %w", err)
		}
		res.Entries++
		if res.Entries > x.opts.MaxEntries {
			return res, fmt.Errorf("%w: more than %d entries (decompression bomb?)", ErrTooLarge, x.opts.MaxEntries)
		}
		// The cap holds for what is written, not only for what is read: a
		// sparse entry (GNU or PAX) is a few bytes of map in the stream and
		// its full logical size on disk. Refused before anything is written.
		if isFileContent(hdr.Typeflag) {
			logical += hdr.Size
			if hdr.Size < 0 || logical > x.opts.MaxSize {
				return res, fmt.Errorf("%w: %q: file contents add up to more than the limit of %d bytes (sparse file bomb?)", ErrTooLarge, hdr.Name, x.opts.MaxSize)
			}
		}
		n, err := x.entry(hdr, tr)
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return res, lr.err()
			}
			return res, fmt.Errorf("extract %q: %w", hdr.Name, err)
		}
		res.Size += n
	}
}

// isFileContent: the entry types whose Size is written out as file data.
func isFileContent(t byte) bool {
	return t == tar.TypeReg || t == tar.TypeRegA || t == tar.TypeGNUSparse || t == tar.TypeCont
}

type limitReader struct {
	r        io.Reader
	n, max   int64
	exceeded bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.exceeded {
		return 0, ErrTooLarge
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		l.exceeded = true
		return n, ErrTooLarge
	}
	return n, err
}

func (l *limitReader) err() error {
	return fmt.Errorf("%w: uncompressed size exceeds the limit of %d bytes (decompression bomb?)", ErrTooLarge, l.max)
}

type extractor struct {
	root string
	opts Options
	dirs []dirTimes
	pool *leafPool // nil: everything in order (openat2 unavailable)
	// parents caches resolveParent's answers. An answer only changes when
	// something on its path is replaced, and nothing is replaced without
	// a removal (new entries only take free names): every removal clears
	// the cache.
	parents map[string]string
	// made holds what the extractor created (see made.go); nil when the
	// root was not empty at the start.
	made map[string]struct{}
	// gen counts removals: a worker's open parent directory is reused for
	// jobs of its generation only (see dirCache).
	gen uint64
}

// resolveParent returns the real path of directory rel inside the root,
// creating missing components (0755, as Docker does for implied parents).
// Symlinks met on the way are resolved as if the root were "/".
func (x *extractor) resolveParent(rel string) (string, error) {
	if p, ok := x.parents[rel]; ok {
		return p, nil
	}
	p, err := securejoin.SecureJoin(x.root, rel)
	if err != nil {
		return "", err
	}
	if !within(x.root, p) {
		return "", fmt.Errorf("path %q escapes the layer root", rel)
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return "", err
	}
	x.noteDirs(p)
	if x.parents == nil {
		x.parents = map[string]string{}
	}
	x.parents[rel] = p
	return p, nil
}

func within(root, p string) bool {
	return p == root || strings.HasPrefix(p, root+string(filepath.Separator))
}

// cleanName turns a tar name into a clean relative path ("" for the root).
func cleanName(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

// removeExisting clears the way for a new entry at p, without following a
// symlink found there.
func (x *extractor) removeExisting(p string, keepDir bool) error {
	if !x.mayExist(p) {
		return nil
	}
	fi, err := os.Lstat(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() && keepDir {
		return nil
	}
	clear(x.parents)
	x.gen++
	if fi.IsDir() {
		return os.RemoveAll(p)
	}
	return os.Remove(p)
}

// entry writes one tar entry; it returns the bytes of file content written.
func (x *extractor) entry(hdr *tar.Header, tr io.Reader) (int64, error) {
	rel := cleanName(hdr.Name)
	if rel == "" {
		// "./" entries name the layer root itself: nothing to create.
		return 0, nil
	}
	dir, base := path.Split(rel)
	if x.pool != nil {
		// Wait for deferred entries this one could depend on (see
		// parallel.go): by its tar name first, by its real path below.
		if hdr.Typeflag == tar.TypeLink || strings.HasPrefix(base, WhiteoutPrefix) || x.pool.conflicts(rel) {
			if err := x.pool.flush(); err != nil {
				return 0, err
			}
		}
	}
	parent, err := x.resolveParent(dir)
	if err != nil {
		return 0, err
	}
	if strings.HasPrefix(base, WhiteoutPrefix) {
		return 0, x.whiteout(parent, base)
	}
	target := filepath.Join(parent, base)
	if !within(x.root, target) || target == x.root {
		return 0, fmt.Errorf("path %q escapes the layer root", hdr.Name)
	}
	if x.pool != nil {
		if deferred, n, err := x.deferLeaf(hdr, tr, rel, target); deferred || err != nil {
			return n, err
		}
	}
	if err := x.removeExisting(target, hdr.Typeflag == tar.TypeDir); err != nil {
		return 0, err
	}
	x.noteMade(target)
	written, withMetadata, err := x.create(hdr, tr, target)
	if err != nil || !withMetadata {
		return written, err
	}
	return written, x.applyMetadata(target, rel, hdr)
}

// deferLeaf hands a small new file or a symlink at target to the pool
// (after waiting for deferred entries at its real path); it reports
// whether it did, and the file content it took.
func (x *extractor) deferLeaf(hdr *tar.Header, tr io.Reader, rel, target string) (bool, int64, error) {
	real := strings.TrimPrefix(target, x.root+string(filepath.Separator))
	if x.pool.conflicts(real) {
		if err := x.pool.flush(); err != nil {
			return false, 0, err
		}
	}
	deferrable := (hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA) && hdr.Size <= maxDeferredFile ||
		hdr.Typeflag == tar.TypeSymlink && !hasXattrs(hdr)
	if !deferrable {
		return false, 0, nil
	}
	if x.mayExist(target) {
		if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
			return false, 0, nil
		}
	}
	x.noteMade(target)
	var data []byte
	if hdr.Typeflag != tar.TypeSymlink {
		data = getLeafBuf(int(hdr.Size))
		if _, err := io.ReadFull(tr, data); err != nil {
			return true, 0, err
		}
	}
	return true, int64(len(data)), x.pool.submit(leafJob{name: rel, rel: real, hdr: hdr, data: data, gen: x.gen})
}

// create makes the entry at target (where nothing is in the way but an
// existing folder for a folder entry); it returns the file content written
// and whether the header's owner, mode, xattrs and times apply to it.
func (x *extractor) create(hdr *tar.Header, tr io.Reader, target string) (int64, bool, error) {
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.Mkdir(target, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return 0, false, err
		}
	case tar.TypeReg, tar.TypeRegA:
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			return 0, false, err
		}
		written, err := io.Copy(f, tr)
		if err == nil && x.opts.Writeback {
			startWriteback(int(f.Fd()), written)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return written, true, err
	case tar.TypeSymlink:
		// The link text is data: it is never followed while extracting.
		if err := os.Symlink(hdr.Linkname, target); err != nil {
			return 0, false, err
		}
	case tar.TypeLink:
		return 0, false, x.hardLink(hdr, target)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if x.opts.Unprivileged {
			return 0, false, nil // as Docker does without CAP_MKNOD: skip
		}
		if err := mknod(hdr, target); err != nil {
			return 0, false, err
		}
	case tar.TypeXGlobalHeader:
		return 0, false, nil
	default:
		return 0, false, fmt.Errorf("unhandled tar header type %d", hdr.Typeflag)
	}
	return 0, true, nil
}

// hardLink links target to an existing non-directory inside the root.
func (x *extractor) hardLink(hdr *tar.Header, target string) error {
	lrel := cleanName(hdr.Linkname)
	if lrel == "" {
		return fmt.Errorf("invalid hard link target %q", hdr.Linkname)
	}
	ldir, lbase := path.Split(lrel)
	lparent, err := securejoin.SecureJoin(x.root, ldir)
	if err != nil {
		return err
	}
	src := filepath.Join(lparent, lbase)
	if !within(x.root, src) || src == x.root {
		return fmt.Errorf("hard link target %q escapes the layer root", hdr.Linkname)
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("hard link target %q not found in layer", hdr.Linkname)
	}
	if fi.IsDir() {
		return fmt.Errorf("hard link target %q is a directory", hdr.Linkname)
	}
	// link(2) does not follow a symlink source: the link names the
	// symlink itself.
	return os.Link(src, target)
}

// mknod makes a character or block device or a fifo.
func mknod(hdr *tar.Header, target string) error {
	mode := uint32(hdr.Mode & 0o7777)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode |= unix.S_IFCHR
	case tar.TypeBlock:
		mode |= unix.S_IFBLK
	default:
		mode |= unix.S_IFIFO
	}
	return unix.Mknod(target, mode, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))))
}
