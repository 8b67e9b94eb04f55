package build

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/berth-dev/berth/internal/errdefs"
)

func rawTar(t *testing.T, hdrs ...*tar.Header) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg && h.Size == 0 && h.Linkname != "" {
			// Linkname carries the content for regular files here.
			data := h.Linkname
			h.Linkname, h.Size = "", int64(len(data))
			if err := tw.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			tw.Write([]byte(data))
			continue
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	return &buf
}

func TestExtractContextHostile(t *testing.T) {
	outside := t.TempDir()
	cases := []struct {
		name string
		hdrs []*tar.Header
		want string
	}{
		{"dotdot", []*tar.Header{{Name: "../escape", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "x"}}, "points outside the context"},
		{"nested dotdot", []*tar.Header{{Name: "a/../../escape", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "x"}}, "points outside the context"},
		{"write through absolute symlink", []*tar.Header{
			{Name: "link", Typeflag: tar.TypeSymlink, Linkname: outside},
			{Name: "link/pwned", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "x"},
		}, "invalid build context"},
		{"write through relative symlink", []*tar.Header{
			{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "../../../../../../../../" + outside},
			{Name: "link/pwned", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "x"},
		}, "invalid build context"},
		{"hard link outside", []*tar.Header{{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"}}, "points outside the context"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		err := extractContext(rawTar(t, c.hdrs...), dir, 0, 0)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
		if !errdefs.IsInvalid(err) {
			t.Errorf("%s: error kind %v, want invalid (HTTP 400)", c.name, err)
		}
		if ents, _ := os.ReadDir(outside); len(ents) != 0 {
			t.Fatalf("%s: wrote outside the context: %v", c.name, ents)
		}
	}
	// Symlinks are kept as they are (even absolute), and a later entry of
	// the same name replaces the link instead of writing through it.
	dir := t.TempDir()
	err := extractContext(rawTar(t,
		&tar.Header{Name: "etc", Typeflag: tar.TypeSymlink, Linkname: "/etc"},
		&tar.Header{Name: "f", Typeflag: tar.TypeSymlink, Linkname: filepath.Join(outside, "target")},
		&tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o600, Linkname: "data"},
	), dir, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := os.Readlink(filepath.Join(dir, "etc")); err != nil || l != "/etc" {
		t.Errorf("symlink etc = %q, %v", l, err)
	}
	if _, err := os.Stat(filepath.Join(outside, "target")); err == nil {
		t.Error("wrote through a symlink")
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "f")); string(data) != "data" {
		t.Errorf("f = %q", data)
	}
}

func TestExtractContextCaps(t *testing.T) {
	big := rawTar(t, &tar.Header{Name: "big", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: strings.Repeat("x", 1<<20)})
	err := extractContext(big, t.TempDir(), 64<<10, 0)
	if err == nil || !errors.Is(err, errContextTooLarge) && !strings.Contains(err.Error(), "build context too large") {
		t.Fatalf("size cap: %v", err)
	}
	var hdrs []*tar.Header
	for i := 0; i < 20; i++ {
		hdrs = append(hdrs, &tar.Header{Name: "f" + string(rune('a'+i)), Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "x"})
	}
	err = extractContext(rawTar(t, hdrs...), t.TempDir(), 0, 10)
	if err == nil || !strings.Contains(err.Error(), "more than 10 files") {
		t.Fatalf("entry cap: %v", err)
	}
	err = extractContext(strings.NewReader("this is not a tar stream at all, just text that goes on"), t.TempDir(), 0, 0)
	if err == nil || !errdefs.IsInvalid(err) {
		t.Fatalf("garbage: %v", err)
	}
}

func TestDockerignore(t *testing.T) {
	dir := t.TempDir()
	err := extractContext(rawTar(t,
		&tar.Header{Name: "Dockerfile", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "FROM busybox"},
		&tar.Header{Name: ".dockerignore", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "*.log\n!keep.log\nnode_modules\nDockerfile\n.dockerignore\n"},
		&tar.Header{Name: "a.log", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "x"},
		&tar.Header{Name: "keep.log", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "x"},
		&tar.Header{Name: "node_modules/m/index.js", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "x"},
		&tar.Header{Name: "src/main.go", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "x"},
	), dir, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	bc := &buildContext{dir: dir}
	if err := bc.applyDockerignore("Dockerfile"); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"a.log": false, "keep.log": true, "node_modules/m/index.js": false, "src/main.go": true, "Dockerfile": true} {
		_, err := os.Lstat(filepath.Join(dir, name))
		if (err == nil) != want {
			t.Errorf("%s present = %v, want %v", name, err == nil, want)
		}
	}
	if !bc.isHidden("Dockerfile") || !bc.isHidden(".dockerignore") || bc.isHidden("keep.log") {
		t.Errorf("hidden = %v", bc.hidden)
	}
	// COPY cannot see the hidden Dockerfile.
	if _, _, err := resolveSources(dir, bc.hidden, "Dockerfile", false, "COPY"); err == nil || !strings.Contains(err.Error(), "excluded by .dockerignore") {
		t.Errorf("COPY of an ignored Dockerfile: %v", err)
	}
	// <Dockerfile>.dockerignore wins over .dockerignore.
	dir2 := t.TempDir()
	extractContext(rawTar(t,
		&tar.Header{Name: "build/app.Dockerfile", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "FROM busybox"},
		&tar.Header{Name: "build/app.Dockerfile.dockerignore", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "b.txt"},
		&tar.Header{Name: ".dockerignore", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "a.txt"},
		&tar.Header{Name: "a.txt", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "x"},
		&tar.Header{Name: "b.txt", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "x"},
	), dir2, 0, 0)
	bc2 := &buildContext{dir: dir2}
	if err := bc2.applyDockerignore("build/app.Dockerfile"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir2, "a.txt")); err != nil {
		t.Error("a.txt removed: .dockerignore used instead of app.Dockerfile.dockerignore")
	}
	if _, err := os.Lstat(filepath.Join(dir2, "b.txt")); err == nil {
		t.Error("b.txt kept")
	}
}

func TestResolveSourcesStaysInside(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(root, "b.txt"), []byte("b"), 0o644)
	os.Symlink("/etc", filepath.Join(root, "etc"))
	os.Symlink("../../../../../../etc/passwd", filepath.Join(root, "pw"))
	os.Symlink("a.txt", filepath.Join(root, "alink"))
	if _, _, err := resolveSources(root, nil, "../x", false, "COPY"); err == nil || !strings.Contains(err.Error(), "forbidden path outside the build context: ../x") {
		t.Errorf("../x: %v", err)
	}
	for _, s := range []string{"etc/passwd", "pw", "etc/hostname"} {
		if _, _, err := resolveSources(root, nil, s, false, "COPY"); err == nil || !errdefs.IsInvalid(err) || !strings.Contains(err.Error(), "file not found in build context") && !strings.Contains(err.Error(), "inside the build context") {
			t.Errorf("%s resolved outside the context: %v", s, err)
		}
	}
	srcs, _, err := resolveSources(root, nil, "alink", false, "COPY")
	if err != nil || srcs[0].path != filepath.Join(root, "a.txt") || srcs[0].name != "alink" {
		t.Errorf("alink: %+v %v", srcs, err)
	}
	srcs, wc, err := resolveSources(root, nil, "*.txt", false, "COPY")
	if err != nil || !wc || len(srcs) != 2 {
		t.Errorf("glob: %+v %v", srcs, err)
	}
	if _, _, err := resolveSources(root, nil, "*.none", false, "COPY"); err == nil || !strings.Contains(err.Error(), "no source files were specified") {
		t.Errorf("empty glob: %v", err)
	}
}

func TestParseAndExpand(t *testing.T) {
	df, err := parseDockerfile([]byte("# syntax=docker/dockerfile:1\n# escape=`\nARG V=1\nFROM busybox:${V} AS one\nRUN echo a `\n  b\nFROM one\n"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if df.escape != '`' || len(df.stages) != 2 || len(df.metaArgs) != 1 || df.stages[0].Name != "one" {
		t.Fatalf("parsed %+v", df)
	}
	run := df.stages[0].Commands[0].(*instructions.RunCommand)
	if strings.Join(run.CmdLine, " ") != "echo a   b" && strings.Join(run.CmdLine, " ") != "echo a b" {
		t.Errorf("continuation: %q", run.CmdLine)
	}
	if i, ok := df.stageIndex("ONE", 2); !ok || i != 0 {
		t.Errorf("stage by name: %d %v", i, ok)
	}
	if i, ok := df.stageIndex("0", 2); !ok || i != 0 {
		t.Errorf("stage by index: %d %v", i, ok)
	}
	var note bytes.Buffer
	parseDockerfile([]byte("# syntax=docker/dockerfile:1\nFROM busybox\n"), &note)
	if !strings.Contains(note.String(), "syntax directive") {
		t.Errorf("no note for the syntax directive: %q", note.String())
	}

	ex := newExpander('\\', []string{"A=hello", "EMPTY=", "PATHV=/usr/local/bin.tar.gz"})
	for in, want := range map[string]string{
		"$A":           "hello",
		"${A}-x":       "hello-x",
		"${B:-dflt}":   "dflt",
		"${EMPTY:-d}":  "d",
		"${EMPTY-d}":   "",
		"${A:+alt}":    "alt",
		"${B:+alt}":    "",
		`\$A`:          "$A",
		"'$A'":         "$A",
		"${PATHV%.*}":  "/usr/local/bin.tar",
		"${PATHV%%.*}": "/usr/local/bin",
		"${PATHV#*/}":  "usr/local/bin.tar.gz",
		"${PATHV##*/}": "bin.tar.gz",
	} {
		got, err := ex.word(in)
		if err != nil || got != want {
			t.Errorf("expand %q = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ex.word("${B:?must be set}"); err == nil || !strings.Contains(err.Error(), "must be set") {
		t.Errorf("${B:?}: %v", err)
	}
	ex2 := newExpander('`', []string{"A=x"})
	if got, _ := ex2.word("`$A"); got != "$A" {
		t.Errorf("backtick escape: %q", got)
	}

	for _, bad := range []string{"FROM busybox\nFOO x\n", "RUN x\n", "FROM busybox\nRUN echo " + strings.Repeat("y", 2<<20) + "\n"} {
		if _, err := parseDockerfile([]byte(bad), io.Discard); err == nil || !errdefs.IsInvalid(err) {
			t.Errorf("parse %.20q: %v", bad, err)
		}
	}
	_, err = parseDockerfile([]byte("FROM busybox\nRUN echo "+strings.Repeat("y", 2<<20)+"\n"), io.Discard)
	if !strings.Contains(err.Error(), "max allowed size") {
		t.Errorf("long line: %v", err)
	}
}

func TestCacheKeyAndPorts(t *testing.T) {
	k := cacheKey("sha256:a", "RUN x", "")
	for _, other := range []string{cacheKey("sha256:b", "RUN x", ""), cacheKey("sha256:a", "RUN y", ""), cacheKey("sha256:a", "RUN x", "h")} {
		if other == k {
			t.Error("different steps share a cache key")
		}
	}
	if cacheKey("sha256:a", "RUN x", "") != k {
		t.Error("cache key not deterministic")
	}
	// No ambiguity between fields.
	if cacheKey("a", "bc", "") == cacheKey("ab", "c", "") {
		t.Error("field boundary ambiguity")
	}
	ps, err := exposedPorts("8000-8002/UDP")
	if err != nil || strings.Join(ps, ",") != "8000/udp,8001/udp,8002/udp" {
		t.Errorf("ports %v %v", ps, err)
	}
	if _, err := exposedPorts("http"); err == nil {
		t.Error("bad port accepted")
	}
}
