package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/berth-dev/berth/engine/runtime/oci"
	"golang.org/x/sys/unix"
)

// Runtime is one configured OCI runtime: its verbs (oci.CLI for crun and
// runc, oci.Runsc for gVisor) and what berthd knows of it.
type Runtime struct {
	oci.Runtime
	Name string   // "crun", "runc" or a name from daemon config
	Path string   // absolute path of the binary
	Args []string // extra global args from config ("runtimeArgs")
	Root string   // --root state directory, under the exec-root
	// ExecPath, when set, is a read-only bind mount of Path that the
	// runtime is run from (see pin).
	ExecPath string
	// Usable is false when the runtime cannot run containers on this host;
	// Reason says why, in words for `berth info`.
	Usable bool
	Reason string
}

// newRuntime is a configured runtime with the verbs of its kind: runsc's
// when the binary is gVisor's (by name or file name), else runc's.
func newRuntime(name, path string, args []string, root string) *Runtime {
	cli := oci.CLI{Name: name, Path: path, Root: root, Args: args}
	r := &Runtime{Name: name, Path: path, Args: args, Root: root, Usable: true}
	if isRunsc(name, path) {
		r.Runtime = &oci.Runsc{CLI: cli}
	} else {
		r.Runtime = &cli
	}
	return r
}

func isRunsc(name, path string) bool {
	return name == RunscName || filepath.Base(path) == "runsc"
}

// GlobalArgs are the arguments placed before every verb (the monitor gets
// them to run create with).
func (r *Runtime) GlobalArgs() []string {
	return (&oci.CLI{Root: r.Root, Args: r.Args}).GlobalArgs()
}

// Spec is a runtime as daemon config declares it ("runtimes" key).
type Spec struct {
	Path        string   `json:"path"`
	RuntimeArgs []string `json:"runtimeArgs,omitempty"`
}

// Host describes what the runtime choice learned about this host.
type Host struct {
	CgroupVersion string // "1" or "2"
	CgroupDriver  string // "cgroupfs"
	// Hybrid is true when cgroup v1 hierarchies are mounted beside a cgroup2
	// mount (systemd's "hybrid" layout).
	Hybrid bool
	// Notes are sentences for `berth info` explaining choices made.
	Notes []string
	// Warnings are problems the user should know about.
	Warnings []string
}

// Set is the configured runtimes and the default one.
type Set struct {
	Runtimes map[string]*Runtime
	// Default is the default runtime's name. It is set before the Set is
	// shared; afterwards read it with DefaultName and change it with
	// SetDefault (a daemon reload changes it while containers are created).
	Default string
	mu      sync.RWMutex
	Host    Host
	// DefaultIsolation is daemon.json "default-isolation": "" or "process"
	// (the default runtime) or "sandbox" (runsc).
	DefaultIsolation string
	// stopProbe cancels the background KVM probe and waits for its cleanup.
	stopProbe func()
}

// Get returns the runtime named name, or the default when name is "".
func (s *Set) Get(name string) (*Runtime, error) {
	if name == "" {
		name = s.DefaultName()
	}
	r, ok := s.Runtimes[name]
	if !ok {
		return nil, fmt.Errorf("unknown or invalid runtime name: %s", name)
	}
	if !r.Usable {
		return nil, fmt.Errorf("runtime %s cannot run containers on this host: %s", name, r.Reason)
	}
	return r, nil
}

// Options for Detect.
type Options struct {
	ExecRoot string
	// DataRoot keeps what outlives a boot: the KVM probe's verdict.
	DataRoot string
	// Notify, when set, is told what background checks (the KVM probe)
	// found; berthd logs it.
	Notify func(string)
	// Default is the runtime the config asks for ("" = choose).
	Default string
	// Extra runtimes from config.
	Extra map[string]Spec
	// FixHybrid allows berthd to move controllers that a hybrid host left on
	// its cgroup2 mount onto v1 hierarchies, so that crun accepts the host.
	FixHybrid bool
	// LeanCrun is the path of Berth's own crun build ("" = LeanCrunPath).
	LeanCrun string
}

// LeanCrunPath is where scripts/build-crun.sh installs Berth's own build of
// crun: Debian's source and patches without systemd, linked statically, so
// that none of the ~11 shared libraries of Debian's crun is loaded at each
// of the several crun executions a container costs. It is not on PATH:
// Debian's crun stays the one other tools run.
const LeanCrunPath = "/usr/local/libexec/berth/crun"

// findRuntime returns the binary of the runtime name ("crun" or "runc"),
// or "" when none is installed, and a note for `berth info` saying which
// crun was chosen and why. crun is Berth's own build at lean when it is
// there and answers --version as crun, else the crun in PATH. versions
// caches what each crun said to --version, so that Detect runs each
// binary's --version once.
func findRuntime(name, lean string, versions map[string]string) (path, note string) {
	if name == "crun" {
		if lean == "" {
			lean = LeanCrunPath
		}
		v, err := probeCrun(lean)
		if err == nil {
			versions[lean] = v
			return lean, fmt.Sprintf("runtime crun: %s (crun %s), Berth's build of Debian's crun source without systemd, linked statically (scripts/build-crun.sh)", lean, v)
		}
		if path, _ = exec.LookPath(name); path == "" {
			return "", ""
		}
		why := "is not installed"
		if !errors.Is(err, fs.ErrNotExist) {
			why = "does not work: " + err.Error()
		}
		return path, fmt.Sprintf("runtime crun: %s (crun %s), because Berth's build %s %s", path, crunVersion(path, versions), lean, why)
	}
	path, _ = exec.LookPath(name)
	return path, ""
}

// probeCrun runs path --version and returns the version it tells, or why
// it is not a working crun.
func probeCrun(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("not an executable file")
	}
	if filepath.Base(path) != "crun" {
		return "", fmt.Errorf("not named crun")
	}
	return readCrunVersion(path)
}

// readCrunVersion runs path --version and returns the crun version it
// tells.
func readCrunVersion(path string) (string, error) {
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("--version: %w", err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	v, ok := strings.CutPrefix(line, "crun version ")
	if !ok || v == "" {
		return "", fmt.Errorf("--version says %q, not a crun version", line)
	}
	return v, nil
}

// Detect finds crun and runc, checks that each can run containers here, and
// chooses the default: crun when it works (it starts containers several
// times faster than runc), else runc.
func Detect(o Options) (*Set, error) {
	set := &Set{Runtimes: map[string]*Runtime{}}
	set.Host = probeCgroups()
	var choice []string // which crun and why, noted after the cgroup notes
	versions := map[string]string{}
	for _, name := range []string{"crun", "runc"} {
		path, note := findRuntime(name, o.LeanCrun, versions)
		if path == "" {
			continue
		}
		if note != "" {
			choice = append(choice, note)
		}
		set.Runtimes[name] = newRuntime(name, path, nil, filepath.Join(o.ExecRoot, "runtime", name))
	}
	for name, sp := range o.Extra {
		path, err := exec.LookPath(sp.Path)
		r := newRuntime(name, path, sp.RuntimeArgs, filepath.Join(o.ExecRoot, "runtime", name))
		if err != nil {
			r.Usable = false
			r.Reason = fmt.Sprintf("binary %s not found", sp.Path)
		}
		set.Runtimes[name] = r
	}
	set.detectRunsc(o)
	if c, ok := set.Runtimes["crun"]; ok && set.Host.Hybrid {
		held := hybridControllers()
		if len(held) > 0 {
			if o.FixHybrid {
				moved, err := releaseControllers(held)
				if err != nil {
					c.Usable = false
					c.Reason = fmt.Sprintf("crun %s refuses hybrid cgroup hosts whose cgroup2 mount holds controllers (%s), and berthd could not move them to cgroup v1 hierarchies: %v", crunVersion(c.Path, versions), strings.Join(held, ","), err)
				} else if len(moved) > 0 {
					set.Host.Notes = append(set.Host.Notes, fmt.Sprintf("hybrid cgroups: the cgroup2 mount held %s, which crun refuses; berthd mounted them as cgroup v1 hierarchies under /sys/fs/cgroup so crun can run containers (set \"cgroup-hybrid-fix\": false to leave the host as it is and use runc)", strings.Join(moved, ",")))
				}
			} else {
				c.Usable = false
				c.Reason = fmt.Sprintf("crun %s refuses hybrid cgroup hosts whose cgroup2 mount holds controllers (%s); \"cgroup-hybrid-fix\" is off", crunVersion(c.Path, versions), strings.Join(held, ","))
			}
		}
	}
	if c, ok := set.Runtimes["crun"]; ok && c.Usable && set.Host.Hybrid && len(set.Host.Notes) == 0 {
		set.Host.Notes = append(set.Host.Notes, "hybrid cgroups (v1 hierarchies beside a cgroup2 mount): crun "+crunVersion(c.Path, versions)+" accepts this host because cgroup2 holds no controller; berthd moves any it finds to v1 hierarchies at start (\"cgroup-hybrid-fix\")")
	}
	if _, ok := o.Extra["crun"]; !ok { // else daemon.json chose crun's binary
		set.Host.Notes = append(set.Host.Notes, choice...)
	}
	for _, r := range set.Runtimes {
		if r.Usable {
			if err := os.MkdirAll(r.Root, 0o700); err != nil {
				return nil, err
			}
			if err := r.pin(); err != nil {
				set.Host.Warnings = append(set.Host.Warnings, err.Error())
			}
		}
	}
	switch {
	case o.Default != "":
		r, ok := set.Runtimes[o.Default]
		if !ok {
			return nil, fmt.Errorf("default-runtime %q is not a known runtime (found: %s)", o.Default, strings.Join(set.names(), ", "))
		}
		if !r.Usable {
			return nil, fmt.Errorf("default-runtime %s cannot run containers here: %s", o.Default, r.Reason)
		}
		set.Default = o.Default
	case set.usable("crun"):
		set.Default = "crun"
	case set.usable("runc"):
		set.Default = "runc"
		if c, ok := set.Runtimes["crun"]; ok {
			set.Host.Notes = append(set.Host.Notes, "default runtime is runc because "+c.Reason)
		}
	default:
		return nil, fmt.Errorf("no usable OCI runtime found: install crun or runc (apt-get install crun runc)")
	}
	return set, nil
}

func (s *Set) usable(name string) bool {
	r, ok := s.Runtimes[name]
	return ok && r.Usable
}

func (s *Set) names() []string {
	var out []string
	for n := range s.Runtimes {
		out = append(out, n)
	}
	return out
}

// crunVersion is the version the crun at path tells, "" when it tells
// none; versions caches it by path.
func crunVersion(path string, versions map[string]string) string {
	v, ok := versions[path]
	if !ok {
		v, _ = readCrunVersion(path)
		versions[path] = v
	}
	return v
}

// probeCgroups tells the cgroup version and layout of the host.
func probeCgroups() Host {
	h := Host{CgroupDriver: "cgroupfs", CgroupVersion: "1"}
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		h.CgroupVersion = "2"
		return h
	}
	if unix.Statfs("/sys/fs/cgroup/unified", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		h.Hybrid = true
	}
	return h
}

// hybridControllers lists the controllers that the cgroup2 mount of a hybrid
// host still holds (those not bound to any v1 hierarchy).
func hybridControllers() []string {
	data, err := os.ReadFile("/sys/fs/cgroup/unified/cgroup.controllers")
	if err != nil {
		return nil
	}
	return strings.Fields(string(data))
}

// releaseControllers mounts each controller as a cgroup v1 hierarchy at
// /sys/fs/cgroup/<name>, the place systemd's hybrid layout gives the others.
// Nothing on this host can use them on cgroup2 (the root enables no
// controller for its children), so moving them changes nothing for others.
func releaseControllers(names []string) ([]string, error) {
	var moved []string
	for _, n := range names {
		dir := filepath.Join("/sys/fs/cgroup", n)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return moved, err
		}
		if err := unix.Mount("cgroup", dir, "cgroup", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, n); err != nil {
			return moved, fmt.Errorf("mount %s: %w", dir, err)
		}
		moved = append(moved, n)
	}
	if left := hybridControllers(); len(left) > 0 {
		return moved, fmt.Errorf("cgroup2 still holds %s", strings.Join(left, ","))
	}
	return moved, nil
}

// Defaults returns the default runtime's name and the default isolation
// ("" or "process", or "sandbox").
func (s *Set) Defaults() (runtimeName, isolation string) {
	return s.DefaultName(), s.DefaultIsolation
}

// DefaultName returns the default runtime's name.
func (s *Set) DefaultName() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.Default
}

// SetDefault makes name the default runtime if it is configured and usable
// on this host; otherwise it returns why not and keeps the current one.
func (s *Set) SetDefault(name string) error {
	r, ok := s.Runtimes[name]
	if !ok || !r.Usable {
		return fmt.Errorf("default-runtime %q is not a usable runtime", name)
	}
	s.mu.Lock()
	s.Default = name
	s.mu.Unlock()
	return nil
}

// Known reports whether a runtime of that name is configured, usable or not.
func (s *Set) Known(name string) bool {
	_, ok := s.Runtimes[name]
	return ok
}
