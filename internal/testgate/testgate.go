// Package testgate lets end-to-end tests hold berthd at a known point of
// a step, without timing: a test can then kill berthd there, or let the
// step go on or fail, and check what follows.
//
// A Gate is a directory the test names in an environment variable. With a
// FIFO FIFO in it, a step that passes through Hold creates FIFO.STEP (the
// test waits for that marker) and, when told to wait, blocks until the
// test has written to the FIFO and closed it; what it wrote is returned
// (e.g. "fail"). Without the variable, or without the FIFO, Hold returns
// at once.
//
// BERTH_TEST_EXIT_GATE holds a container's exit clean-up, and a kill
// between its signal and its event (Wait): the FIFO is NAME.exit, NAME the
// container's name. The preparation ahead has its
// own gate (engine/containers prepGate).
package testgate

import (
	"os"
	"path/filepath"
	"strings"
)

// Gate is a directory of test FIFOs ("": none).
type Gate string

// FromEnv is the gate named by environment variable v.
func FromEnv(v string) Gate { return Gate(os.Getenv(v)) }

// Hold marks step reached beside FIFO fifo of g and, with wait, holds it
// until the test writes to the FIFO: what it wrote, trimmed.
func (g Gate) Hold(fifo, step string, wait bool) (string, error) {
	if g == "" {
		return "", nil
	}
	path := filepath.Join(string(g), fifo)
	if _, err := os.Stat(path); err != nil {
		return "", nil
	}
	os.WriteFile(path+"."+step, nil, 0o600)
	if !wait {
		return "", nil
	}
	b, err := os.ReadFile(path) // blocks until the test opens it to write
	return strings.TrimSpace(string(b)), err
}

var exitGate = FromEnv("BERTH_TEST_EXIT_GATE")

// Wait holds the exit clean-up step of container name (with or without
// its leading slash) while the test's gate is closed.
func Wait(name, step string) {
	exitGate.Hold(strings.TrimPrefix(name, "/")+".exit", step, true)
}
