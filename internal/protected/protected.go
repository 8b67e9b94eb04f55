// Package protected holds the host folders that nothing a user asks for may
// expose inside a container: the engine's data-root and exec-root (its
// database, sockets, other containers' files). Bind mounts (engine/mounts)
// and volume devices (engine/volumes) both check against it.
package protected

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
)

var (
	mu    sync.RWMutex
	paths []string
)

// Set replaces the protected folders; the daemon calls it once at start.
func Set(ps ...string) {
	var clean []string
	for _, p := range ps {
		if p == "" {
			continue
		}
		clean = append(clean, filepath.Clean(p))
		// The folder may itself be reached through a symlink.
		if real, err := filepath.EvalSymlinks(p); err == nil && real != filepath.Clean(p) {
			clean = append(clean, real)
		}
	}
	mu.Lock()
	paths = clean
	mu.Unlock()
}

// Check returns an error naming the protected folder when p, as written or
// with its symlinks resolved, is one of them or inside one. A parent of
// them ("/") is allowed, as Docker allows it.
func Check(p string) error {
	mu.RLock()
	defer mu.RUnlock()
	if len(paths) == 0 {
		return nil
	}
	c := filepath.Clean(p)
	cands := []string{c}
	if real, err := filepath.EvalSymlinks(c); err == nil {
		cands = append(cands, real)
	}
	for _, pp := range paths {
		for _, s := range cands {
			if s == pp || strings.HasPrefix(s, pp+"/") {
				return fmt.Errorf("%s is inside the engine's own folder %s and cannot be mounted", p, pp)
			}
		}
	}
	return nil
}
