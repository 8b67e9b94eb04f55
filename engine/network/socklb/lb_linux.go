package socklb

import (
	"errors"
	"fmt"
	"os"

	"github.com/berth-dev/berth/engine/network/iptables"
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// LB is the loaded and attached fast path. Its methods are not safe for
// concurrent use (the network service calls them under its lock).
type LB struct {
	services, peers *ebpf.Map
	progs           []*ebpf.Program
	links           []link.Link
	cur             map[key]value
}

// Open loads the programs and attaches them to the cgroup2 root, where they
// see every process of the host. The error says why the fast path is not
// available (no cgroup2 mount, BPF not permitted, the verifier refused).
func Open() (*LB, error) {
	root, err := Cgroup2Root()
	if err != nil {
		return nil, err
	}
	hostNS, err := netnsCookie()
	if err != nil {
		return nil, err
	}
	l, err := load(hostNS)
	if err != nil {
		return nil, err
	}
	if err := l.attach(root); err != nil {
		l.Close()
		return nil, fmt.Errorf("attach to the cgroup2 root %s: %w", root, err)
	}
	return l, nil
}

// attach links the programs to the cgroup root with BPF links only, never
// the legacy attachment link.AttachCgroup falls back to: a legacy
// attachment outlives berthd, and its map, no longer updated, would keep
// sending connects to addresses the containers may have given up.
func (l *LB) attach(root string) error {
	f, err := os.Open(root)
	if err != nil {
		return err
	}
	defer f.Close()
	for i, at := range []ebpf.AttachType{ebpf.AttachCGroupInet4Connect, ebpf.AttachCgroupInet4GetPeername} {
		lk, err := link.AttachRawLink(link.RawLinkOptions{Target: int(f.Fd()), Program: l.progs[i], Attach: at})
		if err != nil {
			return err
		}
		l.links = append(l.links, lk)
	}
	return nil
}

// load creates the maps and loads the programs, unattached.
func load(hostNS uint64) (*LB, error) {
	l := &LB{cur: map[key]value{}}
	var err error
	if l.services, err = ebpf.NewMap(servicesSpec()); err != nil {
		return nil, fmt.Errorf("create BPF map: %w", err)
	}
	if l.peers, err = ebpf.NewMap(peerSpec()); err != nil {
		l.Close()
		return nil, fmt.Errorf("create BPF socket storage: %w", err)
	}
	specs := []*ebpf.ProgramSpec{
		{Name: "berth_connect4", Type: ebpf.CGroupSockAddr, AttachType: ebpf.AttachCGroupInet4Connect,
			Instructions: connect4(l.services, l.peers, hostNS), License: "Apache-2.0"},
		{Name: "berth_peername4", Type: ebpf.CGroupSockAddr, AttachType: ebpf.AttachCgroupInet4GetPeername,
			Instructions: getpeername4(l.peers), License: "Apache-2.0"},
	}
	for _, spec := range specs {
		p, err := ebpf.NewProgram(spec)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("load BPF program %s: %w", spec.Name, err)
		}
		l.progs = append(l.progs, p)
	}
	return l, nil
}

// Sync makes the map exactly what the published ports say: entries that
// went are deleted first, so no connect is sent to an address its
// container no longer owns.
func (l *LB) Sync(ports []iptables.Port) error {
	want := entries(ports)
	var errs []error
	for k, v := range l.cur {
		if w, ok := want[k]; ok && w == v {
			continue
		}
		if err := l.services.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, err)
			continue
		}
		delete(l.cur, k)
	}
	for k, v := range want {
		if _, ok := l.cur[k]; ok {
			continue
		}
		if err := l.services.Put(k, v); err != nil {
			errs = append(errs, err)
			continue
		}
		l.cur[k] = v
	}
	if len(errs) > 0 {
		return fmt.Errorf("update the published-port BPF map: %w", errors.Join(errs...))
	}
	return nil
}

// Close detaches the programs; connections made from then on go through
// the DNAT rules.
func (l *LB) Close() error {
	var errs []error
	for _, lk := range l.links {
		errs = append(errs, lk.Close())
	}
	for _, p := range l.progs {
		errs = append(errs, p.Close())
	}
	for _, m := range []*ebpf.Map{l.services, l.peers} {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	l.links, l.progs = nil, nil
	return errors.Join(errs...)
}

// Cgroup2Root returns where the cgroup2 hierarchy is mounted (on a hybrid
// cgroup v1 host, e.g. /sys/fs/cgroup/unified): a mount of its root.
func Cgroup2Root() (string, error) {
	ms, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup2"))
	if err != nil {
		return "", err
	}
	for _, m := range ms {
		if m.Root == "/" {
			return m.Mountpoint, nil
		}
	}
	return "", errors.New("no cgroup2 hierarchy is mounted")
}

// Attached lists the programs attached at connect4 on the cgroup2 root,
// berthd's and any other's (for tests and diagnostics).
func Attached() (map[ebpf.ProgramID]bool, error) {
	root, err := Cgroup2Root()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(root)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := link.QueryPrograms(link.QueryOptions{Target: int(f.Fd()), Attach: ebpf.AttachCGroupInet4Connect})
	if err != nil {
		return nil, err
	}
	out := map[ebpf.ProgramID]bool{}
	for _, p := range r.Programs {
		out[p.ID] = true
	}
	return out, nil
}

// netnsCookie is the cookie of the calling thread's network namespace, the
// host's for berthd.
func netnsCookie() (uint64, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	c, err := unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_NETNS_COOKIE)
	if err != nil {
		return 0, fmt.Errorf("network namespace cookie: %w", err)
	}
	return c, nil
}
