package monitor

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// ReadExit returns the exit status the monitor recorded in stateDir. When
// there is none the error wraps os.ErrNotExist.
func ReadExit(stateDir string) (*ExitStatus, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, ExitFile))
	if err != nil {
		return nil, fmt.Errorf("read container exit status: %w", err)
	}
	var st ExitStatus
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("read container exit status %s: %w", filepath.Join(stateDir, ExitFile), err)
	}
	return &st, nil
}

// WriteExit records st in stateDir atomically (temp file, rename), so a
// reader sees either nothing or the whole status; with sync the file is
// flushed first, so it survives a machine crash too (Config.ExitNoSync).
func WriteExit(stateDir string, st ExitStatus, sync bool) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(stateDir, ExitFile), append(b, '\n'), 0o600, sync)
}

// writeFileAtomic writes path through a temp file and a rename, so a reader
// sees the old file or the whole new one; with sync the data is flushed to
// disk before the rename, so it survives a machine crash too.
func writeFileAtomic(path string, data []byte, mode os.FileMode, sync bool) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
