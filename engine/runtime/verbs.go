package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Start runs the user process of a created container.
func (r *Runtime) Start(ctx context.Context, id string) error {
	_, err := r.run(ctx, "start", id)
	return err
}

// Kill sends sig to the container's init, or to every process with all.
func (r *Runtime) Kill(ctx context.Context, id string, sig int, all bool) error {
	args := []string{"kill"}
	if all {
		args = append(args, "--all")
	}
	args = append(args, id, strconv.Itoa(sig))
	_, err := r.run(ctx, args...)
	return err
}

// Pause freezes every process of the container.
func (r *Runtime) Pause(ctx context.Context, id string) error {
	_, err := r.run(ctx, "pause", id)
	return err
}

// Resume thaws a paused container.
func (r *Runtime) Resume(ctx context.Context, id string) error {
	_, err := r.run(ctx, "resume", id)
	return err
}

// Delete removes the runtime's state of a container; with force it kills
// the container first. A container the runtime does not know is not an error,
// and costs no runtime call when its state directory is absent: a runtime
// keeps nothing of a container (no process, cgroup or mount it would clean)
// without that directory, and the call is ~3 ms on every start and exit.
func (r *Runtime) Delete(ctx context.Context, id string, force bool) error {
	if !r.HasState(id) {
		return nil
	}
	args := []string{"delete"}
	if force {
		args = append(args, "--force")
	}
	_, err := r.run(ctx, append(args, id)...)
	if err != nil && IsNotExist(err) {
		return nil
	}
	return err
}

// HasState reports whether the runtime may hold state for the container id:
// crun and runc both keep a directory per container under --root, written
// by create before anything else is set up. When runtimeArgs override the
// root, or the answer is unsure, it says true (ask the runtime).
func (r *Runtime) HasState(id string) bool {
	if r.Root == "" || id == "" || strings.ContainsAny(id, "/\x00") || id == "." || id == ".." {
		return true
	}
	for _, a := range r.Args {
		if a == "--root" || strings.HasPrefix(a, "--root=") {
			return true
		}
	}
	_, err := os.Lstat(filepath.Join(r.Root, id))
	return !errors.Is(err, fs.ErrNotExist)
}

// State is the runtime's view of a container.
type State struct {
	ID     string `json:"id"`
	Pid    int    `json:"pid"`
	Status string `json:"status"` // created, running, paused, stopped
}

// State asks the runtime for a container's state.
func (r *Runtime) State(ctx context.Context, id string) (*State, error) {
	out, err := r.run(ctx, "state", id)
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Pids lists the host PIDs of every process of the container.
func (r *Runtime) Pids(ctx context.Context, id string) ([]int, error) {
	out, err := r.run(ctx, "ps", "--format", "json", id)
	if err != nil {
		return nil, err
	}
	var pids []int
	if err := json.Unmarshal(out, &pids); err != nil {
		return nil, err
	}
	return pids, nil
}

// IsNotExist reports whether a runtime error says the container is unknown.
func IsNotExist(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "does not exist") || strings.Contains(s, "not found") || strings.Contains(s, "No such file")
}
