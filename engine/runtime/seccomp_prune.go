package runtime

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Bounds of the precompiled-filter cache (~8 KB a filter, one per distinct
// profile, runtime binary and libseccomp): filters unused for
// seccompCacheMaxAge go, and beyond seccompCacheMax the least recently
// used. A filter written or used within seccompCacheGrace always stays:
// a start that has just taken its key may be about to read it. Removing
// one is always safe (a start reads the whole file at once, and one that
// finds none compiles the profile and caches it again); the bounds only
// decide how often that compile is paid.
const (
	seccompCacheMax    = 64
	seccompCacheMaxAge = 30 * 24 * time.Hour
	seccompCacheGrace  = 10 * time.Minute
)

// cachedFilter is one file of the cache and when it was last used.
type cachedFilter struct {
	name string
	used time.Time
}

// pruneSeccomp applies the bounds after a filter was added under keep
// (kept whatever its age), and removes the temp files of saves a crash
// interrupted. It runs when a filter is added, so the cache cannot grow
// unnoticed, and costs one directory read of at most seccompCacheMax+1
// entries.
func (r *Runtime) pruneSeccomp(keep string, now time.Time) {
	dir := r.seccompCacheDir()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var filters []cachedFilter
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			continue
		}
		name := e.Name()
		switch {
		case strings.HasPrefix(name, ".tmp-"):
			if now.Sub(info.ModTime()) > seccompCacheGrace {
				os.Remove(filepath.Join(dir, name))
			}
		case strings.HasSuffix(name, ".bpf") && name != keep+".bpf":
			filters = append(filters, cachedFilter{name, lastUse(info)})
		}
	}
	// Newest first; keep itself holds one of the seccompCacheMax places.
	sort.Slice(filters, func(i, j int) bool { return filters[i].used.After(filters[j].used) })
	for i, f := range filters {
		age := now.Sub(f.used)
		if age > seccompCacheGrace && (age > seccompCacheMaxAge || i >= seccompCacheMax-1) {
			os.Remove(filepath.Join(dir, f.name))
			filterData.drop(filepath.Join(dir, f.name))
		}
	}
}

// lastUse is when a cached filter was last written or read. Reads show in
// the access time: with relatime (the default mount option) it moves on
// the first read after a write and then at most daily, which is fine
// enough for an age counted in days; on a noatime mount a filter in use
// may go after seccompCacheMaxAge and be compiled once more.
func lastUse(info os.FileInfo) time.Time {
	t := info.ModTime()
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		if at := time.Unix(st.Atim.Unix()); at.After(t) {
			t = at
		}
	}
	return t
}
