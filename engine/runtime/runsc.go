package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/engine/runtime/oci"
	"github.com/moby/moby/api/types/container"
)

// RunscName is the name under which gVisor's runsc is registered when it is
// installed; `--isolation=sandbox` (and its alias `hyperv`) selects it.
const RunscName = "runsc"

// Isolations Berth knows: "process" shares the host kernel (crun/runc);
// "sandbox" runs the container on gVisor's user-space kernel. "hyperv" is
// accepted as an alias of "sandbox" (scripts written for Windows hosts say
// it) and "default" means the daemon's default-isolation.
const (
	IsolationProcess = "process"
	IsolationSandbox = "sandbox"
)

// RunscHint tells the user how to get the sandbox runtime.
const RunscHint = "install gVisor's runsc (scripts/setup.sh builds it into /usr/local/bin/runsc)"

// NormalizeIsolation maps an --isolation value to "process", "sandbox" or ""
// (not given / "default"); anything else is an error in Docker's words.
func NormalizeIsolation(iso string) (string, error) {
	switch strings.ToLower(iso) {
	case "", "default":
		return "", nil
	case "process":
		return IsolationProcess, nil
	case "sandbox", "hyperv":
		return IsolationSandbox, nil
	}
	return "", fmt.Errorf("Invalid isolation: %q - berthd supports 'default', 'process', 'sandbox' and its alias 'hyperv'", iso)
}

// runscArgs are the global flags berthd gives runsc:
//   - the platform (kvm or systrap, see choosePlatform);
//   - --network=sandbox: runsc's netstack takes over the interfaces (the
//     veth berthd moved into the container's netns) and their routes;
//   - --ignore-cgroups: runsc's cgroup code does not cope with hybrid
//     v1/v2 hosts; resource limits are refused at create instead of being
//     silently dropped;
//   - --host-uds=open lets the sandbox connect to host Unix sockets bound in
//     (docker.sock style binds);
//   - --overlay2=none: rootfs writes go to the overlay berthd mounts, so
//     cp, diff and commit see them (runsc's own overlay keeps them inside).
func runscArgs(platform string) []string {
	return []string{"--platform=" + platform, "--network=sandbox", "--ignore-cgroups", "--host-uds=open", "--overlay2=none"}
}

// detectRunsc registers runsc when it is installed (in PATH or
// /usr/local/bin) and no runtime of that name was configured, on the
// platform choosePlatform picks; it starts the KVM probe when one is due.
func (s *Set) detectRunsc(o Options) {
	if _, ok := s.Runtimes[RunscName]; ok {
		return
	}
	path, err := exec.LookPath(RunscName)
	if err != nil {
		if _, serr := os.Stat("/usr/local/bin/runsc"); serr != nil {
			s.Host.Notes = append(s.Host.Notes, "sandbox isolation (--isolation=sandbox, --runtime runsc) is unavailable: "+RunscHint)
			return
		}
		path = "/usr/local/bin/runsc"
	}
	cacheFile := filepath.Join(o.DataRoot, platformCacheName)
	if o.DataRoot == "" {
		cacheFile = filepath.Join(o.ExecRoot, platformCacheName)
	}
	pc := choosePlatform(hostKVM(), path, cacheFile)
	probeDir := filepath.Join(o.ExecRoot, "runsc-kvm-probe")
	if _, err := os.Stat(probeDir); err == nil && !pc.Probe {
		// An earlier berthd was killed mid-probe: its sandbox, gofer and
		// netns mounts are still there, and no probe will clean them now.
		cleanProbeDir(probeDir)
	}
	r := newRuntime(RunscName, path, runscArgs(pc.Platform), filepath.Join(o.ExecRoot, "runtime", RunscName))
	if err := exec.Command(path, "--version").Run(); err != nil {
		r.Usable = false
		r.Reason = fmt.Sprintf("%s --version failed: %v", path, err)
	}
	s.Runtimes[RunscName] = r
	if !r.Usable {
		return
	}
	s.Host.Notes = append(s.Host.Notes, "sandbox isolation: runsc (gVisor) on platform "+pc.Platform+": "+pc.Why)
	if pc.Probe {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		s.stopProbe = func() { cancel(); <-done }
		go func() {
			defer close(done)
			runProbe(ctx, path, probeDir, cacheFile, pc.Key, o.Notify)
		}()
	}
}

// IsSandbox reports whether the named runtime is gVisor's runsc (by name or
// by binary), whose containers run on a user-space kernel.
func (s *Set) IsSandbox(name string) bool {
	r, ok := s.Runtimes[name]
	if !ok {
		return false
	}
	return isRunsc(name, r.Path)
}

// Isolations lists the isolation modes this daemon can run.
func (s *Set) Isolations() []string {
	out := []string{IsolationProcess}
	if s.usable(RunscName) {
		out = append(out, IsolationSandbox, "hyperv")
	}
	return out
}

// CheckSandbox refuses, at create, what a runsc container cannot do, so the
// user learns it then rather than getting a half-applied container.
// Interactive terminals work: runsc takes the pty over --console-socket as
// crun does and imports its slave as the sandbox's controlling terminal
// (inside, /proc/self/fd/0 reads "host:[1]", so `tty` says "not a tty").
func CheckSandbox(hc *container.HostConfig) error {
	refuse := func(what, why string) error {
		return fmt.Errorf("%s is not supported with sandbox isolation (runsc): %s; use --isolation=process", what, why)
	}
	switch {
	case hc.Privileged:
		return refuse("--privileged", "gVisor gives no access to host devices or kernel")
	case len(hc.Devices) > 0:
		return refuse("--device", "host devices cannot be passed into the gVisor kernel")
	case len(hc.DeviceRequests) > 0:
		return refuse("--gpus", "no device passthrough under gVisor here")
	case hc.PidMode.IsHost():
		return refuse("--pid=host", "the sandbox has its own kernel and cannot see host processes")
	case hc.IpcMode.IsHost():
		return refuse("--ipc=host", "the sandbox has its own kernel")
	case hc.NetworkMode.IsHost():
		return refuse("--network=host", "berthd runs runsc with its own network stack")
	case hc.UTSMode.IsHost():
		return refuse("--uts=host", "the sandbox has its own kernel")
	case hc.PidMode.IsContainer() || hc.IpcMode.IsContainer():
		return refuse("--pid/--ipc=container:", "namespaces of another sandbox cannot be joined")
	case hc.NetworkMode.IsContainer():
		return refuse("--network=container:", "network stacks of another sandbox cannot be joined")
	}
	r := hc.Resources
	if r.Memory != 0 || r.MemorySwap != 0 || r.MemoryReservation != 0 || r.NanoCPUs != 0 || r.CPUShares != 0 ||
		r.CPUQuota != 0 || r.CPUPeriod != 0 || r.CpusetCpus != "" || r.CpusetMems != "" || (r.PidsLimit != nil && *r.PidsLimit > 0) ||
		r.BlkioWeight != 0 || len(r.BlkioWeightDevice) > 0 || len(r.BlkioDeviceReadBps) > 0 || len(r.BlkioDeviceWriteBps) > 0 ||
		len(r.BlkioDeviceReadIOps) > 0 || len(r.BlkioDeviceWriteIOps) > 0 {
		return refuse("resource limits (--memory, --cpus, --pids-limit, blkio ...)", "runsc runs with --ignore-cgroups on this host's hybrid cgroup layout")
	}
	if hc.CgroupParent != "" {
		return refuse("--cgroup-parent", "runsc runs with --ignore-cgroups")
	}
	return nil
}

// SandboxTop lists the processes of a runsc container as its own kernel
// sees them (`runsc ps`: UID PID PPID C TTY STIME TIME CMD). The host's ps
// cannot: the sandbox's PIDs are not host PIDs.
func (r *Runtime) SandboxTop(ctx context.Context, id string) (*container.TopResponse, error) {
	sb, err := r.sandbox()
	if err != nil {
		return nil, err
	}
	out, err := sb.Top(ctx, id)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	resp := &container.TopResponse{Processes: [][]string{}}
	if len(lines) == 0 {
		return resp, nil
	}
	resp.Titles = strings.Fields(lines[0])
	n := len(resp.Titles)
	for _, line := range lines[1:] {
		fields := strings.Fields(line)
		if n == 0 || len(fields) < n {
			continue
		}
		row := append(append([]string{}, fields[:n-1]...), strings.Join(fields[n-1:], " "))
		resp.Processes = append(resp.Processes, row)
	}
	return resp, nil
}

// sandbox is r's runsc verbs, or an error when r is not runsc.
func (r *Runtime) sandbox() (*oci.Runsc, error) {
	sb, ok := r.Runtime.(*oci.Runsc)
	if !ok {
		return nil, fmt.Errorf("runtime %s is not a sandbox runtime", r.Name)
	}
	return sb, nil
}

// runscEvent is the part of `runsc events --stats` output berthd reads.
type runscEvent struct {
	Data struct {
		CPU struct {
			Usage struct {
				Kernel uint64   `json:"kernel"`
				User   uint64   `json:"user"`
				Total  uint64   `json:"total"`
				PerCPU []uint64 `json:"percpu"`
			} `json:"usage"`
		} `json:"cpu"`
		Memory struct {
			Cache uint64 `json:"cache"`
			Usage struct {
				Usage uint64 `json:"usage"`
				Max   uint64 `json:"max"`
			} `json:"usage"`
		} `json:"memory"`
		Pids struct {
			Current uint64 `json:"current"`
		} `json:"pids"`
	} `json:"data"`
}

// SandboxStats fills st's CPU, memory and pid figures from the sandbox's
// own kernel (`runsc events --stats`): runsc runs without host cgroups here.
func (r *Runtime) SandboxStats(ctx context.Context, id string, st *container.StatsResponse) error {
	sb, err := r.sandbox()
	if err != nil {
		return err
	}
	out, err := sb.Stats(ctx, id)
	if err != nil {
		return err
	}
	var ev runscEvent
	if err := json.Unmarshal(out, &ev); err != nil {
		return fmt.Errorf("runsc events --stats: %w", err)
	}
	u := ev.Data.CPU.Usage
	st.CPUStats.CPUUsage.TotalUsage = u.Total
	st.CPUStats.CPUUsage.UsageInKernelmode = u.Kernel
	st.CPUStats.CPUUsage.UsageInUsermode = u.User
	st.CPUStats.CPUUsage.PercpuUsage = u.PerCPU
	st.MemoryStats.Usage = ev.Data.Memory.Usage.Usage
	st.MemoryStats.MaxUsage = ev.Data.Memory.Usage.Max
	st.MemoryStats.Stats = map[string]uint64{"cache": ev.Data.Memory.Cache}
	st.PidsStats.Current = ev.Data.Pids.Current
	return nil
}

// Cleanup undoes what runsc leaves mounted under its state root: the
// "null-netns" bind mount its gofers share (stacked when several pinned it
// at once). Running sandboxes keep the namespace they entered. A KVM probe
// still running is stopped and cleaned up first.
func (s *Set) Cleanup() {
	if s.stopProbe != nil {
		s.stopProbe()
	}
	r, ok := s.Runtimes[RunscName]
	if !ok {
		return
	}
	unmountAll(filepath.Join(r.Root, "null-netns"))
}
