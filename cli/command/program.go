package command

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// Companion programs: some berth commands live in programs of their own
// (berth-compose, berth-build) so that their libraries' start-up cost is
// paid by those commands only. berth runs them in its own place.

// FindProgram looks for the companion program name beside the running
// berth first (they are installed together), then in PATH. needs says which
// command needs it, for the error when it is missing.
func FindProgram(name, needs string) (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", StatusError{Status: "berth: " + needs + " needs the " + name + " program, installed beside berth or in PATH; it was not found", StatusCode: 1}
		}
		return "", err
	}
	return p, nil
}

// ExecProgram replaces this process with the companion program name, given
// args (berth's own arguments, global options included); it returns only
// on error.
func ExecProgram(name, needs string, args []string) error {
	path, err := FindProgram(name, needs)
	if err != nil {
		return err
	}
	argv := append([]string{path}, args...)
	if err := syscall.Exec(path, argv, os.Environ()); err != nil {
		return StatusError{Status: "berth: cannot run " + path + ": " + err.Error(), StatusCode: 1}
	}
	return nil // not reached
}
