package build

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

func asJSONError(err error, target **jsonstream.Error) bool { return errors.As(err, target) }

// buildContext is what is sent: a tar stream and the Dockerfile's name in it.
type buildContext struct {
	tar        io.Reader
	dockerfile string
}

// makeContext packs the context as docker's classic build does:
//   - "-": stdin is a tar (plain or compressed) used as is, or else a
//     Dockerfile, sent alone;
//   - a folder: its files minus .dockerignore'd ones; a Dockerfile given
//     with -f outside the folder, or "-f -" (read from stdin), is added
//     under a random name.
func makeContext(arg, dockerfile string, stdin io.Reader) (*buildContext, error) {
	if arg == "-" {
		if dockerfile == "-" {
			return nil, errors.New("invalid argument: can't use stdin for both build context and dockerfile")
		}
		br := bufio.NewReader(stdin)
		if isTarStream(br) {
			return &buildContext{tar: br, dockerfile: dockerfile}, nil
		}
		data, err := io.ReadAll(io.LimitReader(br, 64<<20))
		if err != nil {
			return nil, err
		}
		return tarOfFiles(map[string][]byte{"Dockerfile": data}, "Dockerfile")
	}
	dir, err := contextDir(arg)
	if err != nil {
		return nil, err
	}
	var extra []byte
	relDockerfile := ""
	switch {
	case dockerfile == "-":
		if extra, err = io.ReadAll(io.LimitReader(stdin, 64<<20)); err != nil {
			return nil, err
		}
	default:
		abs := filepath.Join(dir, "Dockerfile")
		if dockerfile != "" {
			if abs, err = filepath.Abs(dockerfile); err != nil {
				return nil, err
			}
		}
		rel, err := filepath.Rel(dir, abs)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			relDockerfile = filepath.ToSlash(rel)
			if _, err := os.Lstat(abs); err != nil {
				return nil, fmt.Errorf("unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat %s: no such file or directory", abs)
			}
		} else if extra, err = os.ReadFile(abs); err != nil {
			return nil, fmt.Errorf("unable to prepare context: %w", err)
		}
	}
	if extra != nil {
		relDockerfile = ".dockerfile." + randomHex()
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(writeDirTar(pw, dir, relDockerfile, extra))
	}()
	return &buildContext{tar: pr, dockerfile: relDockerfile}, nil
}

// contextDir is the absolute path of a context folder; remote contexts
// are refused.
func contextDir(arg string) (string, error) {
	if strings.HasPrefix(arg, "http://") || strings.HasPrefix(arg, "https://") || strings.HasPrefix(arg, "git@") {
		return "", fmt.Errorf("unable to prepare context: remote contexts (%s) are not supported by berth: clone or download it and build the folder", arg)
	}
	dir, err := filepath.Abs(arg)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("unable to prepare context: path %q not found", arg)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("unable to prepare context: context must be a directory: %s", dir)
	}
	return dir, nil
}

func randomHex() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// isTarStream peeks at r: a tar header, possibly compressed.
func isTarStream(br *bufio.Reader) bool {
	head, _ := br.Peek(512)
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}), bytes.HasPrefix(head, []byte("BZh")),
		bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}), bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		// gzip, bzip2, xz, zstd: the daemon decompresses.
		return true
	}
	if len(head) < 512 {
		return false
	}
	_, err := tar.NewReader(bytes.NewReader(head)).Next()
	return err == nil
}

func tarOfFiles(files map[string][]byte, dockerfile string) (*buildContext, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		tw.Write(data)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buildContext{tar: &buf, dockerfile: dockerfile}, nil
}

// writeDirTar writes dir as a tar, leaving out what .dockerignore (or
// <Dockerfile>.dockerignore) excludes, but always sending the Dockerfile
// and the ignore file, which the daemon needs. extra, when set, is the
// Dockerfile's content, added as relDockerfile.
func writeDirTar(w io.Writer, dir, relDockerfile string, extra []byte) error {
	patterns, ignoreName, err := readIgnoreFile(dir, relDockerfile, extra == nil)
	if err != nil {
		return err
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return err
	}
	keep := map[string]bool{relDockerfile: true, ignoreName: true}
	var ignoreData []byte
	if extra != nil {
		// As docker: the added Dockerfile and the .dockerignore are listed
		// in the .dockerignore sent, so COPY never sees them.
		ignoreData, _ = os.ReadFile(filepath.Join(dir, ".dockerignore"))
		ignoreData = append(ignoreData, []byte("\n"+relDockerfile+"\n.dockerignore\n")...)
	}
	tw := tar.NewWriter(w)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if ignoreData != nil && rel == ".dockerignore" {
			return nil // sent below, amended
		}
		if len(patterns) > 0 && !keep[rel] {
			excluded, err := pm.MatchesOrParentMatches(rel)
			if err != nil {
				return err
			}
			if excluded {
				// As docker's TarWithOptions: an excluded folder is never
				// sent itself; it is only walked when a "!pattern" starts
				// inside it (or the Dockerfile lies below it).
				if d.IsDir() && !keepsBelow(keep, rel) && !exclusionBelow(pm, rel) {
					return filepath.SkipDir
				}
				return nil
			}
		}
		return writeTarEntry(tw, p, rel)
	})
	if err != nil {
		return err
	}
	if extra != nil {
		for _, f := range []struct {
			name string
			data []byte
		}{{relDockerfile, extra}, {".dockerignore", ignoreData}} {
			if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o600, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			if _, err := tw.Write(f.data); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// readIgnoreFile reads the context's ignore patterns: the Dockerfile's own
// <Dockerfile>.dockerignore first when perDockerfile, else .dockerignore.
// It returns the name of the file read ("" when none).
func readIgnoreFile(dir, relDockerfile string, perDockerfile bool) ([]string, string, error) {
	candidates := []string{".dockerignore"}
	if relDockerfile != "" && perDockerfile {
		candidates = []string{relDockerfile + ".dockerignore", ".dockerignore"}
	}
	for _, name := range candidates {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		patterns, err := ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, "", fmt.Errorf("error reading %s: %w", name, err)
		}
		return patterns, name, nil
	}
	return nil, "", nil
}

// writeTarEntry sends the file at p as rel, owned by 0:0; sockets and the
// like are not sent.
func writeTarEntry(tw *tar.Writer, p, rel string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	link := ""
	if fi.Mode()&os.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return nil // sockets and the like: not sent
	}
	hdr.Name = rel
	if fi.IsDir() {
		hdr.Name += "/"
	}
	// Ownership means nothing to the daemon's COPY (files are root's
	// unless --chown): send 0:0 so the context does not depend on who
	// runs the build.
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("unable to prepare context: %w", err)
	}
	defer f.Close()
	_, err = io.CopyN(tw, f, fi.Size())
	return err
}

// exclusionBelow reports whether a "!pattern" starts with dir/, so files
// below an excluded dir may come back (docker's test, by pattern prefix).
func exclusionBelow(pm *patternmatcher.PatternMatcher, dir string) bool {
	for _, p := range pm.Patterns() {
		if p.Exclusion() && strings.HasPrefix(p.String()+"/", dir+"/") {
			return true
		}
	}
	return false
}

func keepsBelow(keep map[string]bool, dir string) bool {
	for k := range keep {
		if strings.HasPrefix(k, dir+"/") {
			return true
		}
	}
	return false
}
