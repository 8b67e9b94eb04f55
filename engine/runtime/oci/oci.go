package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Runtime is an OCI runtime's verbs.
type Runtime interface {
	// Create sets a container up from its bundle; its init waits for Start.
	Create(ctx context.Context, id string, o *CreateOpts) error
	// Start runs the user process of a created container.
	Start(ctx context.Context, id string) error
	// Exec starts a further process in a running container and returns
	// the started command: the caller waits for it.
	Exec(ctx context.Context, id string, o *ExecOpts) (*exec.Cmd, error)
	// Kill sends a signal to the container's init, or to every process.
	Kill(ctx context.Context, id string, o *KillOpts) error
	// Delete removes the runtime's state of a container; one the runtime
	// does not know is not an error.
	Delete(ctx context.Context, id string, o *DeleteOpts) error
	// State is the runtime's view of a container.
	State(ctx context.Context, id string) (*State, error)
	// Pause freezes every process of the container; Resume thaws them.
	Pause(ctx context.Context, id string) error
	Resume(ctx context.Context, id string) error
	// Update applies new resource limits to a running container.
	Update(ctx context.Context, id string, o *UpdateOpts) error
	// Ps lists the host PIDs of every process of the container.
	Ps(ctx context.Context, id string) ([]int, error)
}

var (
	_ Runtime = (*CLI)(nil)
	_ Runtime = (*Runsc)(nil)
)

// IO is the stdio a runtime command runs with; nil fields get /dev/null.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// ExtraFiles are passed on as fd 3 and up.
	ExtraFiles []*os.File
}

// CreateOpts are the options of Create.
type CreateOpts struct {
	Bundle  string
	PidFile string // where the runtime writes the init's host pid
	// ConsoleSocket, when set, gives the container a terminal whose master
	// the runtime sends over this Unix socket.
	ConsoleSocket string
	IO            IO
	// Start starts the container too, in the same runtime command
	// (`run --detach`): one runtime process less than create and start.
	Start bool
}

// ExecOpts are the options of Exec.
type ExecOpts struct {
	// Process is the OCI process (process.json), marshalled by the caller.
	Process []byte
	// Dir is a directory of the caller's where process.json is written.
	Dir     string
	PidFile string
	// Tty gives the process a terminal; its master goes to ConsoleSocket.
	Tty           bool
	ConsoleSocket string
	// Detach returns once the process runs instead of when it ends.
	Detach bool
	// Shim, when set, is a command line the runtime's is appended to and
	// run by (berth-monitor exec-shim reaps the process).
	Shim []string
	IO   IO
}

// KillOpts are the options of Kill.
type KillOpts struct {
	Signal int
	All    bool // every process of the container, not only its init
}

// DeleteOpts are the options of Delete.
type DeleteOpts struct {
	Force bool // kill the container first
}

// UpdateOpts are the options of Update.
type UpdateOpts struct {
	// Resources is the JSON of the spec's linux.resources.
	Resources []byte
}

// State is the runtime's view of a container.
type State struct {
	ID     string `json:"id"`
	Pid    int    `json:"pid"`
	Status string `json:"status"` // created, running, paused, stopped
}

// CLI runs an OCI runtime with runc's command line (crun and runc).
type CLI struct {
	Name string   // for error messages: "crun", "runc", a configured name
	Path string   // the binary
	Root string   // --root state directory; "" leaves it to Args or the default
	Args []string // further global flags (daemon config's runtimeArgs)
	// Log and LogFormat are --log and --log-format, when set.
	Log, LogFormat string
	// Env is the runtime's environment; nil inherits the caller's.
	Env []string
}

// GlobalArgs are the flags placed before every verb.
func (r *CLI) GlobalArgs() []string {
	var args []string
	if r.Root != "" {
		args = append(args, "--root", r.Root)
	}
	args = append(args, r.Args...)
	if r.Log != "" {
		args = append(args, "--log", r.Log)
	}
	if r.LogFormat != "" {
		args = append(args, "--log-format", r.LogFormat)
	}
	return args
}

func (r *CLI) name() string {
	if r.Name != "" {
		return r.Name
	}
	return filepath.Base(r.Path)
}

// command is the runtime run with the global flags and args.
func (r *CLI) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, r.Path, append(r.GlobalArgs(), args...)...)
	cmd.Env = r.Env
	return cmd
}

// Output runs a verb whose output the caller reads, returning the runtime's
// error output in the error. Kinds' own verbs (runsc's) go through it.
func (r *CLI) Output(ctx context.Context, args ...string) ([]byte, error) {
	cmd := r.command(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return out, fmt.Errorf("%s %s: %s", r.name(), args[0], msg)
	}
	return out, nil
}

// createArgs is Create's command line after the global flags.
func createArgs(id string, o *CreateOpts) []string {
	args := []string{"create", "--bundle", o.Bundle}
	if o.Start {
		args = []string{"run", "--detach", "--bundle", o.Bundle}
	}
	if o.PidFile != "" {
		args = append(args, "--pid-file", o.PidFile)
	}
	if o.ConsoleSocket != "" {
		args = append(args, "--console-socket", o.ConsoleSocket)
	}
	return append(args, id)
}

// Create runs `create` (`run --detach` with o.Start). The runtime's stdio is o.IO, which the container's
// init inherits; the returned error is the command's (an *exec.ExitError
// when the runtime failed: its words went to o.IO.Stderr or --log).
func (r *CLI) Create(ctx context.Context, id string, o *CreateOpts) error {
	cmd := r.command(ctx, createArgs(id, o)...)
	setIO(cmd, o.IO)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s create: %w", r.name(), err)
	}
	return nil
}

func setIO(cmd *exec.Cmd, io IO) {
	cmd.Stdin, cmd.Stdout, cmd.Stderr = io.Stdin, io.Stdout, io.Stderr
	cmd.ExtraFiles = io.ExtraFiles
}

// Start runs the user process of a created container.
func (r *CLI) Start(ctx context.Context, id string) error {
	_, err := r.Output(ctx, "start", id)
	if err != nil && startedAnyway(err) {
		return nil
	}
	return err
}

// startedAnyway reports whether a failed `start` did start the container.
// runc removes its exec.fifo only after reading from it, which is what lets
// the user process run; a process that exits at once can be reaped and its
// container deleted by the monitor (state directory and fifo with it)
// before that removal, which then fails with ENOENT although the process
// ran.
func startedAnyway(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "exec.fifo") && strings.Contains(msg, "no such file or directory")
}

// execArgs is Exec's command line after the global flags; terminal says
// whether --tty is given (runsc takes it from process.json).
func execArgs(id, processPath string, o *ExecOpts, terminal bool) []string {
	args := []string{"exec"}
	if o.Detach {
		args = append(args, "--detach")
	}
	if o.PidFile != "" {
		args = append(args, "--pid-file", o.PidFile)
	}
	args = append(args, "--process", processPath)
	if o.Tty && terminal {
		args = append(args, "--tty")
	}
	if o.ConsoleSocket != "" {
		args = append(args, "--console-socket", o.ConsoleSocket)
	}
	return append(args, id)
}

// Exec writes o.Process to o.Dir/process.json and starts `exec` (under
// o.Shim when set) with o.IO.
func (r *CLI) Exec(ctx context.Context, id string, o *ExecOpts) (*exec.Cmd, error) {
	return r.exec(ctx, id, o, true)
}

func (r *CLI) exec(ctx context.Context, id string, o *ExecOpts, terminal bool) (*exec.Cmd, error) {
	if o.Dir == "" || len(o.Process) == 0 {
		return nil, errors.New("exec: options need Dir and Process")
	}
	procPath := filepath.Join(o.Dir, "process.json")
	if err := os.WriteFile(procPath, o.Process, 0o600); err != nil {
		return nil, fmt.Errorf("exec: write process.json: %w", err)
	}
	argv := append(append([]string{r.Path}, r.GlobalArgs()...), execArgs(id, procPath, o, terminal)...)
	if len(o.Shim) > 0 {
		argv = append(append([]string{}, o.Shim...), argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = r.Env
	setIO(cmd, o.IO)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("exec: start %s: %w", filepath.Base(argv[0]), err)
	}
	return cmd, nil
}

// killArgs is Kill's command line after the global flags.
func killArgs(id string, o *KillOpts) []string {
	args := []string{"kill"}
	if o.All {
		args = append(args, "--all")
	}
	return append(args, id, strconv.Itoa(o.Signal))
}

// Kill sends o.Signal to the container's init, or to all its processes.
func (r *CLI) Kill(ctx context.Context, id string, o *KillOpts) error {
	_, err := r.Output(ctx, killArgs(id, o)...)
	return err
}

// Pause freezes every process of the container.
func (r *CLI) Pause(ctx context.Context, id string) error {
	_, err := r.Output(ctx, "pause", id)
	return err
}

// Resume thaws a paused container.
func (r *CLI) Resume(ctx context.Context, id string) error {
	_, err := r.Output(ctx, "resume", id)
	return err
}

// deleteArgs is Delete's command line after the global flags.
func deleteArgs(id string, o *DeleteOpts) []string {
	args := []string{"delete"}
	if o.Force {
		args = append(args, "--force")
	}
	return append(args, id)
}

// Delete removes the runtime's state of a container; with o.Force it kills
// the container first. A container the runtime does not know is not an
// error, and costs no runtime call when its state directory is absent: a
// runtime keeps nothing of a container (no process, cgroup or mount it
// would clean) without that directory, and the call is ~3 ms on every start
// and exit.
func (r *CLI) Delete(ctx context.Context, id string, o *DeleteOpts) error {
	if !r.HasState(id) {
		return nil
	}
	_, err := r.Output(ctx, deleteArgs(id, o)...)
	if err != nil && IsNotExist(err) {
		return nil
	}
	return err
}

// HasState reports whether the runtime may hold state for the container id:
// crun and runc both keep a directory per container under --root, written
// by create before anything else is set up. When Args override the root,
// or the answer is unsure, it says true (ask the runtime).
func (r *CLI) HasState(id string) bool {
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

// State asks the runtime for a container's state.
func (r *CLI) State(ctx context.Context, id string) (*State, error) {
	out, err := r.Output(ctx, "state", id)
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("%s state: %w", r.name(), err)
	}
	return &st, nil
}

// Ps lists the host PIDs of every process of the container.
func (r *CLI) Ps(ctx context.Context, id string) ([]int, error) {
	out, err := r.Output(ctx, "ps", "--format", "json", id)
	if err != nil {
		return nil, err
	}
	var pids []int
	if err := json.Unmarshal(out, &pids); err != nil {
		return nil, fmt.Errorf("%s ps: %w", r.name(), err)
	}
	return pids, nil
}

// Update runs `update --resources -` with o.Resources on stdin.
func (r *CLI) Update(ctx context.Context, id string, o *UpdateOpts) error {
	cmd := r.command(ctx, "update", "--resources", "-", id)
	cmd.Stdin = bytes.NewReader(o.Resources)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%s update: %s", r.name(), msg)
	}
	return nil
}

// IsNotExist reports whether a runtime error says the container is unknown.
func IsNotExist(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "does not exist") || strings.Contains(s, "not found") || strings.Contains(s, "No such file")
}
