package runtime

import (
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// A filter is what the runtime's libseccomp compiled: a libseccomp
// upgrade (a fix in its BPF generation, syscall names it did not know)
// must compile afresh although the runtime's binary is unchanged. So the
// cache key covers the identity of the libseccomp the runtime loads.

// seccompLibs caches per runtime binary (path, size, mtime) the
// libseccomp files it loads, or nil when it loads one berthd cannot find.
var seccompLibs sync.Map

// libseccompOf returns the libseccomp files the binary bin loads (none
// when it is static or not ELF), and false when one of them is not found
// in the linker's usual directories.
var libseccompOf = func(bin string, fi os.FileInfo) ([]string, bool) {
	k := fmt.Sprintf("%s %d %d", bin, fi.Size(), fi.ModTime().UnixNano())
	if v, ok := seccompLibs.Load(k); ok {
		libs := v.([]string)
		return libs, libs != nil
	}
	libs := findLibseccomp(bin)
	seccompLibs.Store(k, libs)
	return libs, libs != nil
}

// findLibseccomp resolves the libseccomp entries of bin's DT_NEEDED list
// in the dynamic linker's default and multiarch directories; nil when one
// is not found.
func findLibseccomp(bin string) []string {
	f, err := elf.Open(bin)
	if err != nil {
		return []string{}
	}
	names, err := f.ImportedLibraries()
	f.Close()
	if err != nil {
		return []string{}
	}
	libs := []string{}
	for _, n := range names {
		if !strings.HasPrefix(n, "libseccomp.") || strings.ContainsRune(n, '/') {
			continue
		}
		p := findLib(n)
		if p == "" {
			return nil
		}
		libs = append(libs, p)
	}
	return libs
}

func findLib(name string) string {
	var dirs []string
	for _, pat := range []string{"/usr/local/lib/*-linux-*", "/lib/*-linux-*", "/usr/lib/*-linux-*"} {
		m, _ := filepath.Glob(pat)
		dirs = append(dirs, m...)
	}
	dirs = append(dirs, "/usr/local/lib", "/lib64", "/usr/lib64", "/lib", "/usr/lib")
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// writeRuntimeIdentity writes to h what identifies the runtime binary and
// the libseccomp it compiles with (a symlink's target followed, so an
// upgrade that moves the link shows). It reports false when either cannot
// be told. The binary is the one that runs: its pinned copy when it has
// one, which stays the old file when the runtime is replaced under a
// running berthd (a filter the old one compiles is not cached as the new
// one's).
func (r *Runtime) writeRuntimeIdentity(h io.Writer) bool {
	bin := r.Binary()
	fi, err := os.Stat(bin)
	if err != nil {
		return false
	}
	fmt.Fprintf(h, "%s %d %d %q\n", r.Path, fi.Size(), fi.ModTime().UnixNano(), r.Args)
	libs, ok := libseccompOf(bin, fi)
	if !ok {
		return false
	}
	for _, l := range libs {
		target, err := filepath.EvalSymlinks(l)
		lfi, serr := os.Stat(l)
		if err != nil || serr != nil {
			return false
		}
		fmt.Fprintf(h, "%s %s %d %d\n", l, target, lfi.Size(), lfi.ModTime().UnixNano())
	}
	return true
}
