package oci

import (
	"context"
	"os/exec"
)

// Runsc is gVisor's runsc: runc's command line, except that exec takes its
// terminal from process.json (no --tty), and verbs of its own read the
// sandbox's kernel, whose PIDs and counters the host cannot see.
type Runsc struct {
	CLI
}

// Exec is CLI's Exec without --tty.
func (r *Runsc) Exec(ctx context.Context, id string, o *ExecOpts) (*exec.Cmd, error) {
	return r.exec(ctx, id, o, false)
}

// Top is `runsc ps`: the sandbox's process table as text (UID PID PPID C
// TTY STIME TIME CMD).
func (r *Runsc) Top(ctx context.Context, id string) ([]byte, error) {
	return r.Output(ctx, "ps", id)
}

// Stats is `runsc events --stats`: one JSON event of the sandbox's CPU,
// memory and pid counters.
func (r *Runsc) Stats(ctx context.Context, id string) ([]byte, error) {
	return r.Output(ctx, "events", "--stats", id)
}
