// Package testgate lets end-to-end tests hold berthd at a known point of
// a background step, without timing: a test can then kill berthd there
// and check what the next start does with what was left.
//
// With BERTH_TEST_EXIT_GATE set to a directory holding a FIFO named
// NAME.exit (NAME a container's name), the steps of that container's
// exit clean-up that pass through Wait create NAME.exit.STEP and block
// until the test writes to the FIFO. Without the variable, or without
// the FIFO, Wait returns at once.
package testgate

import (
	"os"
	"path/filepath"
	"strings"
)

var exitDir = os.Getenv("BERTH_TEST_EXIT_GATE")

// Wait holds the exit clean-up step of container name (with or without
// its leading slash) while the test's gate is closed.
func Wait(name, step string) {
	if exitDir == "" {
		return
	}
	fifo := filepath.Join(exitDir, strings.TrimPrefix(name, "/")+".exit")
	if _, err := os.Stat(fifo); err != nil {
		return
	}
	os.WriteFile(fifo+"."+step, nil, 0o600)
	if f, err := os.Open(fifo); err == nil { // blocks until the test writes
		f.Close()
	}
}
