package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/berth-dev/berth/tests/internal/daemontest"
)

// mountsUnder lists mount points at or below dir, deepest first.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space...).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unmountUnder(dir string) {
	// Repeat: a detached parent can reveal mounts stacked below it.
	for i := 0; i < 5; i++ {
		ms := mountsUnder(dir)
		if len(ms) == 0 {
			return
		}
		for _, m := range ms {
			syscall.Unmount(m, syscall.MNT_DETACH)
		}
	}
}

type proc struct {
	pid  int
	exe  string
	why  string
	args string
}

func (p proc) String() string {
	return fmt.Sprintf("pid %d (%s) %q: %s", p.pid, p.exe, p.args, p.why)
}

// processesUsing finds processes tied to dir: their executable, root,
// working directory, command line or an open file lies under it. That covers
// berthd, monitors (logs, sockets under the roots) and container processes
// (their root is an overlay mount under the data-root).
func processesUsing(dir string) []proc {
	return scanProcs(func(pid int, exe string) string {
		under := func(p string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
		if under(exe) {
			return "executable under " + dir
		}
		if r, err := os.Readlink(fmt.Sprintf("/proc/%d/root", pid)); err == nil && r != "/" && under(r) {
			return "root is " + r
		}
		if c, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil && under(c) {
			return "cwd is " + c
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.Contains(string(b), dir+"/") {
			return "command line names " + dir
		}
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && under(l) {
				return "holds " + l
			}
		}
		return ""
	})
}

// processesRunning finds processes whose executable is path.
func processesRunning(path string) []proc {
	return scanProcs(func(pid int, exe string) string {
		if exe == path || exe == path+" (deleted)" {
			return "runs " + path
		}
		return ""
	})
}

func scanProcs(match func(pid int, exe string) string) []proc {
	ents, _ := os.ReadDir("/proc")
	self := os.Getpid()
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if why := match(pid, exe); why != "" {
			args, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			out = append(out, proc{pid: pid, exe: exe, why: why, args: strings.ReplaceAll(strings.TrimRight(string(args), "\x00"), "\x00", " ")})
		}
	}
	return out
}

// thawProcess thaws pid's freezer cgroup (cgroup v1) so a paused container
// can be killed.
func thawProcess(pid int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && parts[1] == "freezer" && parts[2] != "/" {
			os.WriteFile(filepath.Join("/sys/fs/cgroup/freezer", parts[2], "freezer.state"), []byte("THAWED"), 0)
		}
	}
}

// runtimeStateDirs are where crun and runc keep per-container state when
// not told otherwise.
var runtimeStateDirs = []string{"/run/runc", "/run/crun", "/run/user/0/crun"}

// globalLeaks checks, after every daemon was closed, that nothing from the
// run is left: mounts under any test root, monitor or berthd processes of
// the binaries built for this run, runtime state or cgroups named after any
// container ID the daemons had.
func globalLeaks() []string {
	var out []string
	trackMu.Lock()
	roots := append([]string(nil), trackedRoots...)
	ids := make([]string, 0, len(trackedIDs))
	for id := range trackedIDs {
		ids = append(ids, id)
	}
	trackMu.Unlock()
	for _, r := range roots {
		for _, m := range mountsUnder(r) {
			out = append(out, "mount: "+m)
		}
		for _, p := range processesUsing(r) {
			out = append(out, "process: "+p.String())
		}
	}
	for _, b := range []string{"berthd", "berth-monitor", "berth-cmon"} {
		for _, p := range processesRunning(filepath.Join(binDir, b)) {
			out = append(out, "process: "+p.String())
		}
	}
	for _, id := range ids {
		for _, d := range runtimeStateDirs {
			if _, err := os.Stat(filepath.Join(d, id)); err == nil {
				out = append(out, "runtime state: "+filepath.Join(d, id))
			}
		}
		for _, m := range cgroupsOf(id) {
			out = append(out, "cgroup: "+m)
		}
	}
	netLeaks, _ := hostNetLeaks()
	return append(out, netLeaks...)
}

// runNetPrefix starts the Net of every daemon of this test process
// (newDaemon): its bridge is "bt"+Net, its chains "BT"+Net and "BT"+Net+"-*".
func runNetPrefix() string { return fmt.Sprintf("%dx", os.Getpid()%100000) }

// hostNetLeaks lists the bridges and netfilter chains of this run's daemons
// still on the host: each daemon's Close removes them, so one left means a
// daemon never closed or a removal that failed. It returns the Nets too.
func hostNetLeaks() (leaks []string, nets map[string]bool) {
	p := runNetPrefix()
	nets = map[string]bool{}
	for _, l := range daemontest.LinksWithPrefix("bt" + p) {
		leaks = append(leaks, "bridge: "+l)
		nets[strings.TrimPrefix(l, "bt")] = true
	}
	for _, c := range daemontest.ChainsWithPrefix("BT" + p) {
		leaks = append(leaks, "chain: "+c)
		nets[netOfChain(c)] = true
	}
	return leaks, nets
}

// netOfChain is the Net of a daemon's chain, given as "command table chain".
func netOfChain(c string) string {
	f := strings.Fields(c)
	net, _, _ := strings.Cut(strings.TrimPrefix(f[len(f)-1], "BT"), "-")
	return net
}

// staleRunNets lists the Nets of daemons whose e2e run is gone: a test
// process killed before its clean-up (a timeout, a SIGKILL) leaves its
// daemons' bridges and chains ("bt"/"BT" + "<pid>x<seq>") on the host, and
// nothing else removes them. A Net whose pid is a live test binary (another
// run at the same time) is kept.
func staleRunNets() []string {
	seen := map[string]bool{}
	var out []string
	add := func(net string) {
		pid, ok := runPidOf(net)
		if !ok || seen[net] || testProcessAlive(pid) {
			return
		}
		seen[net] = true
		out = append(out, net)
	}
	for _, l := range daemontest.LinksWithPrefix("bt") {
		add(strings.TrimPrefix(l, "bt"))
	}
	for _, c := range daemontest.ChainsWithPrefix("BT") {
		add(netOfChain(c))
	}
	sort.Strings(out)
	return out
}

// runPidOf parses a Net "<pid>x<seq>" (runNetPrefix + a daemon's sequence
// number) and returns the pid of the run that made it.
func runPidOf(net string) (int, bool) {
	p, seq, ok := strings.Cut(net, "x")
	if !ok || p == "" || seq == "" {
		return 0, false
	}
	pid, err := strconv.Atoi(p)
	if err != nil || pid <= 0 {
		return 0, false
	}
	if _, err := strconv.Atoi(seq); err != nil {
		return 0, false
	}
	return pid, true
}

// testProcessAlive reports whether pid is a running Go test binary.
func testProcessAlive(pid int) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return err == nil && strings.Contains(filepath.Base(exe), ".test")
}

// sweepStaleRuns removes what killed e2e runs left on the host's network.
func sweepStaleRuns() {
	for _, n := range staleRunNets() {
		fmt.Fprintf(os.Stderr, "e2e: removing the bridge and chains of a killed run's daemon (%s)\n", n)
		daemontest.RemoveNetwork("bt"+n, "BT"+n)
	}
}

// reportNewBridges says loudly which br-* bridges (user networks' bridges)
// appeared on the host during the run and are still there. Not a failure:
// another run on the host (a developer's, a bench) may own them; each
// daemon's Close already fails on its own.
func reportNewBridges(before []string) {
	had := map[string]bool{}
	for _, b := range before {
		had[b] = true
	}
	var added []string
	for _, b := range daemontest.LinksWithPrefix("br-") {
		if !had[b] {
			added = append(added, b)
		}
	}
	if len(added) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: WARNING: bridges that appeared during this run are still on the host (a leak of this run, or another run's): %s\n", strings.Join(added, " "))
	}
}

func forceGlobalCleanup() {
	trackMu.Lock()
	roots := append([]string(nil), trackedRoots...)
	trackMu.Unlock()
	for _, r := range roots {
		for _, p := range processesUsing(r) {
			thawProcess(p.pid)
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
		unmountUnder(r)
		os.RemoveAll(r)
	}
	for _, b := range []string{"berthd", "berth-monitor", "berth-cmon"} {
		for _, p := range processesRunning(filepath.Join(binDir, b)) {
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
	}
	trackMu.Lock()
	ids := make([]string, 0, len(trackedIDs))
	for id := range trackedIDs {
		ids = append(ids, id)
	}
	trackMu.Unlock()
	removeCgroups(ids)
	_, nets := hostNetLeaks()
	for n := range nets {
		daemontest.RemoveNetwork("bt"+n, "BT"+n)
	}
}

// cgroupsOf finds cgroup directories named after a container ID (directly
// under a hierarchy or one or two levels down, e.g. berth/<id>,
// system.slice/berth-<id>.scope).
func cgroupsOf(id string) []string {
	seen := map[string]bool{}
	var out []string
	for _, pat := range []string{"/sys/fs/cgroup/*" + id + "*", "/sys/fs/cgroup/*/*" + id + "*", "/sys/fs/cgroup/*/*/*" + id + "*"} {
		ms, _ := filepath.Glob(pat)
		for _, m := range ms {
			if fi, err := os.Stat(m); err == nil && fi.IsDir() && !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// removeCgroups removes the (empty, once their processes are dead) cgroups
// of the given containers, deepest first.
func removeCgroups(ids []string) {
	for _, id := range ids {
		cgs := cgroupsOf(id)
		sort.Slice(cgs, func(i, j int) bool { return len(cgs[i]) > len(cgs[j]) })
		for _, cg := range cgs {
			os.Remove(cg)
		}
	}
}
