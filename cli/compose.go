package cli

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

// composeProgram is the program that implements `berth compose`.
const composeProgram = "berth-compose"

// composeStub is `berth compose`: it replaces the berth process with
// berth-compose, given the very same arguments (global options included).
// Compose lives in a program of its own, as Docker's compose plugin does,
// because its libraries cost at start-up: the compose file's JSON schema
// library compiles five meta-schemas when the program starts, which
// doubled the CPU time of every berth command (`berth ps` included) when
// it was linked in.
func composeStub(args []string) *cobra.Command {
	return &cobra.Command{
		Use:                "compose [OPTIONS] COMMAND",
		Short:              "Define and run multi-container applications",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := findCompose()
			if err != nil {
				return err
			}
			argv := append([]string{path}, args...)
			if err := syscall.Exec(path, argv, os.Environ()); err != nil {
				return command.StatusError{Status: "berth: cannot run " + path + ": " + err.Error(), StatusCode: 1}
			}
			return nil // not reached
		},
	}
}

// findCompose looks for berth-compose beside the running berth first (the
// pair is installed together), then in PATH.
func findCompose() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), composeProgram)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	p, err := exec.LookPath(composeProgram)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", command.StatusError{Status: "berth: 'compose' needs the " + composeProgram + " program, installed beside berth or in PATH; it was not found", StatusCode: 1}
		}
		return "", err
	}
	return p, nil
}
