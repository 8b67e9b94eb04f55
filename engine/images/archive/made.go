package archive

import (
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Extracting into an empty directory, the extractor knows what exists:
// only what it made. It records every path it creates (real paths,
// relative to the root: entries, implied parents, whiteouts) and skips
// the lstat that looks for something in the way of a new entry when the
// path is not among them: one syscall per entry on the reader's path.
// Removals are not recorded (a removed path stays "maybe there", which
// only costs the lstat). Into a directory that was not empty at the start
// (a build's COPY into a root file system), every path may exist.

// startMade turns the record on when root is empty.
func (x *extractor) startMade() {
	f, err := os.Open(x.root)
	if err != nil {
		return
	}
	defer f.Close()
	if names, _ := f.Readdirnames(1); len(names) == 0 {
		x.made = map[string]struct{}{}
	}
}

// relOf is target's path relative to the root (target is inside it).
func (x *extractor) relOf(target string) string {
	return strings.TrimPrefix(target, x.root+string(filepath.Separator))
}

// noteMade records that the real path target exists from now on.
func (x *extractor) noteMade(target string) {
	if x.made != nil {
		x.made[x.relOf(target)] = struct{}{}
	}
}

// noteDirs records dir (real, absolute) and its parents below the root.
func (x *extractor) noteDirs(dir string) {
	if x.made == nil || dir == x.root {
		return
	}
	for r := x.relOf(dir); r != "." && r != "/" && r != ""; r = path.Dir(r) {
		x.made[r] = struct{}{}
	}
}

// mayExist reports whether something may be at the real path target.
func (x *extractor) mayExist(target string) bool {
	if x.made == nil {
		return true
	}
	_, ok := x.made[x.relOf(target)]
	return ok
}
