package runtime

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Berth's crun has libseccomp lay filters out as a binary tree of syscall
// numbers (scripts/crun-patches/seccomp-binary-tree.patch), Debian's crun
// as a linear list. Both must mean the same: for each profile, both
// filters are evaluated on every syscall number of every arch the kernel
// may hand them, and on a spread of argument values wherever a filter
// looks at arguments; the action and its data must agree everywhere.

// treeProfile is a seccomp profile to compile with both layouts.
type treeProfile struct {
	name string
	sc   *specs.LinuxSeccomp
	caps []string
}

func TestSeccompTreeLayoutSameFilter(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("crun create needs root")
	}
	tree := os.Getenv("BERTH_CRUN")
	if tree == "" {
		tree = LeanCrunPath
	}
	if _, err := os.Stat(tree); err != nil {
		t.Skipf("no Berth crun (scripts/build-crun.sh builds it): %v", err)
	}
	linear, err := exec.LookPath("crun")
	if err != nil || linear == tree {
		t.Skipf("no Debian crun in PATH to compare with (%v)", err)
	}
	for _, p := range treeProfiles(t) {
		t.Run(p.name, func(t *testing.T) {
			a := compileFilter(t, tree, p)
			b := compileFilter(t, linear, p)
			if bytes.Equal(a, b) {
				t.Skipf("%s compiles the same %d instructions as %s: not built with seccomp-binary-tree.patch (rebuild with scripts/build-crun.sh)", tree, len(a)/bpfInsnSize, linear)
			}
			t.Logf("%s: %d instructions, %s: %d", tree, len(a)/bpfInsnSize, linear, len(b)/bpfInsnSize)
			n, diffs := compareFilters(t, a, b, argValues(p.sc))
			for _, d := range diffs {
				t.Errorf("tree and linear layouts differ: %s", d)
			}
			t.Logf("%d inputs compared", n)
			checkComparesArgs(t, a, b, p.sc)
		})
	}
}

// treeProfiles are Docker's default profile for the default capabilities
// and with capabilities added (which open rules and arguments: clone's
// namespace flags with CAP_SYS_ADMIN, for one), and a custom profile with
// every comparison operator on several argument indices.
func treeProfiles(t *testing.T) []treeProfile {
	var out []treeProfile
	for _, add := range [][]string{nil, {"SYS_ADMIN"}, {"SYS_PTRACE", "SYS_MODULE", "SYS_BOOT", "SYS_TIME", "SYS_NICE", "SYSLOG", "BPF", "PERFMON", "SYS_RAWIO", "SYS_PACCT", "SYS_TTY_CONFIG", "SYS_RESOURCE"}, {"ALL"}} {
		hc := &container.HostConfig{CapAdd: add}
		caps, err := capList(hc)
		if err != nil {
			t.Fatal(err)
		}
		s := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps}}, Linux: &specs.Linux{}}
		if err := applySecurityOpts(s, hc); err != nil {
			t.Fatal(err)
		}
		out = append(out, treeProfile{name: "default+" + strings.Join(add, ","), sc: s.Linux.Seccomp, caps: caps})
	}
	caps, _ := capList(&container.HostConfig{})
	custom, err := seccomp.LoadProfile(customArgProfile, &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps}}})
	if err != nil {
		t.Fatal(err)
	}
	return append(out, treeProfile{name: "custom-args", sc: custom, caps: caps})
}

// customArgProfile allows by default (crun's own init runs under it) and
// acts on calls crun's init does not make, with each operator, several
// argument indices, two conditions on one index (crun adds one rule per
// condition then) and errno values.
const customArgProfile = `{
	"defaultAction": "SCMP_ACT_ALLOW",
	"architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
	"syscalls": [
		{"names": ["mbind"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22, "args": [{"index": 0, "value": 4096, "op": "SCMP_CMP_GT"}, {"index": 2, "value": 3, "op": "SCMP_CMP_LE"}]},
		{"names": ["move_pages"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 255, "valueTwo": 17, "op": "SCMP_CMP_MASKED_EQ"}]},
		{"names": ["kexec_load", "swapon"], "action": "SCMP_ACT_KILL", "args": [{"index": 3, "value": 18446744073709551615, "op": "SCMP_CMP_NE"}]},
		{"names": ["acct"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5, "args": [{"index": 0, "value": 4294967296, "op": "SCMP_CMP_LT"}]},
		{"names": ["quotactl"], "action": "SCMP_ACT_TRACE", "args": [{"index": 5, "value": 2147483648, "op": "SCMP_CMP_GE"}]},
		{"names": ["set_mempolicy"], "action": "SCMP_ACT_LOG", "args": [{"index": 4, "value": 7, "op": "SCMP_CMP_EQ"}]},
		{"names": ["migrate_pages"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 100, "op": "SCMP_CMP_GT"}]},
		{"names": ["lookup_dcookie", "vhangup", "pivot_root"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
		{"names": ["keyctl"], "action": "SCMP_ACT_KILL_PROCESS"}
	]
}`

// compileFilter has crun compile p's profile: it creates (never starts)
// a container with it in a private state root and returns the filter it
// left in the container's state directory.
func compileFilter(t *testing.T, crun string, p treeProfile) []byte {
	t.Helper()
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Only looked up at create; never run.
	if err := os.WriteFile(filepath.Join(rootfs, "true"), []byte("#!/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	caps := &specs.LinuxCapabilities{Bounding: p.caps, Effective: p.caps, Permitted: p.caps}
	spec := specs.Spec{
		Version: "1.0.2", // crun 1.8 refuses later ones
		Process: &specs.Process{Args: []string{"/true"}, Cwd: "/", NoNewPrivileges: true, Capabilities: caps},
		Root:    &specs.Root{Path: rootfs, Readonly: true},
		Mounts:  []specs.Mount{{Destination: "/dev", Type: "tmpfs", Source: "tmpfs"}},
		Linux:   &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace}}, Seccomp: p.sc},
	}
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	crunCmd := func(args ...string) ([]byte, error) {
		// Output to a file: the created container's init inherits it
		// and holds it open until it is deleted.
		out, err := os.CreateTemp(dir, "out")
		if err != nil {
			return nil, err
		}
		defer out.Close()
		cmd := exec.Command(crun, append([]string{"--root", state, "--cgroup-manager=disabled"}, args...)...)
		cmd.Stdout, cmd.Stderr = out, out
		err = cmd.Run()
		b, _ := os.ReadFile(out.Name())
		return b, err
	}
	t.Cleanup(func() {
		if out, err := crunCmd("delete", "-f", "c"); err != nil {
			t.Errorf("%s delete: %v: %s", crun, err, out)
		}
	})
	if out, err := crunCmd("create", "--bundle", dir, "c"); err != nil {
		t.Fatalf("%s create: %v: %s", crun, err, out)
	}
	// Without a cgroup, delete -f kills nothing: the init waiting for
	// start is killed here (cleanups run last first).
	out, err := crunCmd("state", "c")
	var st struct{ Pid int }
	if err != nil || json.Unmarshal(out, &st) != nil || st.Pid <= 0 {
		t.Fatalf("%s state: %v: %s", crun, err, out)
	}
	killWait(t, st.Pid)
	f, err := os.ReadFile(filepath.Join(state, "c", "seccomp.bpf"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// argProbe replaces argument loads in a probe copy of a filter: a probe
// returns it for a syscall whose verdict depends on its arguments. No
// seccomp action has these high bits.
const argProbe = 0xdead_0001

// filterVMs builds the VM of filter f and of its probe copy, and returns
// the argument indices f loads.
func filterVMs(t *testing.T, f []byte) (vm, probe *bpf.VM, idx []int) {
	t.Helper()
	prog, err := parseFilter(f)
	if err != nil {
		t.Fatal(err)
	}
	probeProg := slices.Clone(prog)
	for i, ins := range prog {
		if ld, ok := ins.(bpf.LoadAbsolute); ok && ld.Off >= seccompArgsOff {
			probeProg[i] = bpf.RetConstant{Val: argProbe}
			if a := int(ld.Off-seccompArgsOff) / 8; !slices.Contains(idx, a) {
				idx = append(idx, a)
			}
		}
	}
	if vm, err = bpf.NewVM(prog); err != nil {
		t.Fatal(err)
	}
	if probe, err = bpf.NewVM(probeProg); err != nil {
		t.Fatal(err)
	}
	return vm, probe, idx
}

// syscallNumbers are the numbers a filter is asked about on each arch:
// 0..1024, the same with the x32 bit set, and the edges of the range.
func syscallNumbers() []uint32 {
	var nrs []uint32
	for nr := uint32(0); nr <= 1024; nr++ {
		nrs = append(nrs, nr, nr|x32SyscallBit)
	}
	return append(nrs, 0x3fff_ffff, 0x7fff_ffff, 0x8000_0000, 0xbfff_ffff, 0xffff_ffff)
}

// compareFilters evaluates filters a and b on every arch and syscall
// number with a few argument sets, and on every argument value of vals
// where either filter looks at arguments; it returns the number of inputs
// compared and the first differences.
func compareFilters(t *testing.T, a, b []byte, vals []uint64) (n int, diffs []string) {
	t.Helper()
	vmA, probeA, idxA := filterVMs(t, a)
	vmB, probeB, idxB := filterVMs(t, b)
	idx := slices.Compact(slices.Sorted(slices.Values(append(idxA, idxB...))))
	check := func(arch, nr uint32, args [6]uint64) {
		in := seccompData(arch, nr, args)
		ra, errA := runFilter(vmA, in)
		rb, errB := runFilter(vmB, in)
		n++
		if (errA != nil || errB != nil || ra != rb) && len(diffs) < 20 {
			diffs = append(diffs, fmt.Sprintf("arch %#x nr %#x args %#x: %#x (%v), %#x (%v)", arch, nr, args, ra, errA, rb, errB))
		}
	}
	base := baseArgs()
	for _, arch := range []uint32{auditArchX8664, auditArchI386, auditArchAArch64, 0} {
		for _, nr := range syscallNumbers() {
			for _, args := range base {
				check(arch, nr, args)
			}
			in := seccompData(arch, nr, [6]uint64{})
			pa, _ := runFilter(probeA, in)
			pb, _ := runFilter(probeB, in)
			if pa == argProbe || pb == argProbe {
				sweepArgs(arch, nr, idx, vals, base, check)
			}
		}
	}
	return n, diffs
}

// sweepArgs checks every value of vals at each argument index of idx
// with the other arguments set as in each of base, and every pair of
// values at each pair of indices.
func sweepArgs(arch, nr uint32, idx []int, vals []uint64, base [][6]uint64, check func(uint32, uint32, [6]uint64)) {
	for _, i := range idx {
		for _, v := range vals {
			for _, args := range base {
				args[i] = v
				check(arch, nr, args)
			}
		}
	}
	for x, i := range idx {
		for _, j := range idx[x+1:] {
			for _, v := range vals {
				for _, w := range vals {
					var args [6]uint64
					args[i], args[j] = v, w
					check(arch, nr, args)
				}
			}
		}
	}
}

// seed fixes the random values, so that a failure repeats.
var seed = [32]byte{'b', 'e', 'r', 't', 'h', '-', 's', 'e', 'c', 'c', 'o', 'm', 'p'}

// baseArgs are the argument sets every syscall is checked with.
func baseArgs() [][6]uint64 {
	r := rand.New(rand.NewChaCha8(seed))
	out := [][6]uint64{{}, {^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}}
	for range 2 {
		var a [6]uint64
		for i := range a {
			a[i] = r.Uint64()
		}
		out = append(out, a)
	}
	return out
}

// argValues is every constant of sc's argument rules, its neighbours and
// its halves, edges of 32 and 64 bits, and random values.
func argValues(sc *specs.LinuxSeccomp) []uint64 {
	vals := []uint64{0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 1 << 32, 1<<32 | 1, 1 << 63, ^uint64(0)}
	for _, s := range sc.Syscalls {
		for _, a := range s.Args {
			for _, c := range []uint64{a.Value, a.ValueTwo} {
				vals = append(vals, c, c-1, c+1, c&0xffff_ffff, c|1<<32, c^0xffff_ffff_0000_0000, ^c)
			}
		}
	}
	r := rand.New(rand.NewChaCha8(seed))
	for range 16 {
		vals = append(vals, r.Uint64(), uint64(r.Uint32()))
	}
	return slices.Compact(slices.Sorted(slices.Values(vals)))
}

// checkComparesArgs makes sure the comparison sees arguments: a copy of
// the tree filter whose first argument comparison against a constant of
// the profile is off by one must differ from the linear one.
func checkComparesArgs(t *testing.T, tree, linear []byte, sc *specs.LinuxSeccomp) {
	t.Helper()
	consts := map[uint32]bool{}
	for _, s := range sc.Syscalls {
		for _, a := range s.Args {
			consts[uint32(a.Value)] = a.Value != 0
		}
	}
	prog, err := parseFilter(tree)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(prog); i++ {
		ld, isLoad := prog[i-1].(bpf.LoadAbsolute)
		raw := tree[i*bpfInsnSize : (i+1)*bpfInsnSize]
		k := binary.NativeEndian.Uint32(raw[4:])
		if _, isJump := prog[i].(bpf.JumpIf); !isLoad || !isJump || ld.Off < seccompArgsOff || !consts[k] {
			continue
		}
		mutant := slices.Clone(tree)
		binary.NativeEndian.PutUint32(mutant[i*bpfInsnSize+4:], k+1)
		if _, diffs := compareFilters(t, mutant, linear, argValues(sc)); len(diffs) == 0 {
			t.Errorf("the tree filter with instruction %d comparing an argument with %#x instead of %#x agrees with the linear one: arguments are not compared", i, k+1, k)
		}
		return
	}
	t.Errorf("no comparison of an argument with one of the profile's constants in the tree filter")
}

// killWait registers a cleanup that kills process pid and waits until it
// has exited.
func killWait(t *testing.T, pid int) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd of the container's init %d: %v", pid, err)
	}
	t.Cleanup(func() {
		defer unix.Close(fd)
		if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil && err != unix.ESRCH {
			t.Errorf("killing the container's init %d: %v", pid, err)
			return
		}
		// A pidfd turns readable when its process exits.
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(fds, 10_000)
			if err == unix.EINTR {
				continue
			}
			if err != nil || n == 0 {
				t.Errorf("the container's init %d did not exit: %v", pid, err)
			}
			return
		}
	})
}
