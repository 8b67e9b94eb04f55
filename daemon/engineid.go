package daemon

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// loadOrCreateEngineID returns the daemon's stable ID (/info's ID), kept in
// <data-root>/engine-id as dockerd keeps its own: a random UUID made on
// first start, unchanged across restarts and host renames.
func loadOrCreateEngineID(dataRoot string) (string, error) {
	p := filepath.Join(dataRoot, "engine-id")
	if b, err := os.ReadFile(p); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	} else if !os.IsNotExist(err) {
		return "", err
	}
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", err
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	id := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	_, werr := f.WriteString(id)
	if err := f.Sync(); werr == nil {
		werr = err
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		os.Remove(tmp)
		return "", werr
	}
	if err := os.Rename(tmp, p); err != nil {
		return "", err
	}
	return id, nil
}
