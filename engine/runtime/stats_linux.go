package runtime

import (
	"bufio"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
)

// clockTicks is USER_HZ: cpuacct.stat and /proc/stat count in these.
const clockTicks = 100

// Stats samples a running container's resource use from its cgroups (v1
// hierarchies or the unified v2 one) and its network namespace, in the
// shape of Docker's stats API.
func Stats(parent, id string, pid int) container.StatsResponse {
	parent = cgroupParent(parent)
	s := container.StatsResponse{Read: time.Now(), NumProcs: 0, OSType: "linux"}
	s.CPUStats.SystemUsage = systemCPU()
	s.CPUStats.OnlineCPUs = uint32(goruntime.NumCPU())
	v1 := func(ctrl, file string) string { return filepath.Join("/sys/fs/cgroup", ctrl, parent, id, file) }
	v2 := func(file string) string { return filepath.Join("/sys/fs/cgroup", parent, id, file) }
	if _, err := os.Stat(v1("memory", "")); err == nil {
		s.CPUStats.CPUUsage.TotalUsage = readUint(v1("cpuacct", "cpuacct.usage"))
		for _, f := range strings.Fields(readString(v1("cpuacct", "cpuacct.usage_percpu"))) {
			n, _ := strconv.ParseUint(f, 10, 64)
			s.CPUStats.CPUUsage.PercpuUsage = append(s.CPUStats.CPUUsage.PercpuUsage, n)
		}
		st := readKV(v1("cpuacct", "cpuacct.stat"))
		s.CPUStats.CPUUsage.UsageInUsermode = st["user"] * (1e9 / clockTicks)
		s.CPUStats.CPUUsage.UsageInKernelmode = st["system"] * (1e9 / clockTicks)
		th := readKV(v1("cpu", "cpu.stat"))
		s.CPUStats.ThrottlingData = container.ThrottlingData{Periods: th["nr_periods"], ThrottledPeriods: th["nr_throttled"], ThrottledTime: th["throttled_time"]}
		s.MemoryStats.Usage = readUint(v1("memory", "memory.usage_in_bytes"))
		s.MemoryStats.MaxUsage = readUint(v1("memory", "memory.max_usage_in_bytes"))
		s.MemoryStats.Limit = readUint(v1("memory", "memory.limit_in_bytes"))
		s.MemoryStats.Failcnt = readUint(v1("memory", "memory.failcnt"))
		s.MemoryStats.Stats = readKV(v1("memory", "memory.stat"))
		s.PidsStats.Current = readUint(v1("pids", "pids.current"))
		s.PidsStats.Limit = readUint(v1("pids", "pids.max"))
	} else {
		cpu := readKV(v2("cpu.stat"))
		s.CPUStats.CPUUsage.TotalUsage = cpu["usage_usec"] * 1000
		s.CPUStats.CPUUsage.UsageInUsermode = cpu["user_usec"] * 1000
		s.CPUStats.CPUUsage.UsageInKernelmode = cpu["system_usec"] * 1000
		s.CPUStats.ThrottlingData = container.ThrottlingData{Periods: cpu["nr_periods"], ThrottledPeriods: cpu["nr_throttled"], ThrottledTime: cpu["throttled_usec"] * 1000}
		s.MemoryStats.Usage = readUint(v2("memory.current"))
		s.MemoryStats.Limit = readUint(v2("memory.max"))
		s.MemoryStats.Stats = readKV(v2("memory.stat"))
		s.PidsStats.Current = readUint(v2("pids.current"))
		s.PidsStats.Limit = readUint(v2("pids.max"))
	}
	if s.MemoryStats.Limit == 0 || s.MemoryStats.Limit > 1<<62 {
		// Unlimited: Docker reports the host's memory.
		s.MemoryStats.Limit = hostMemory()
	}
	if pid > 0 {
		s.Networks = netDev(pid)
	}
	return s
}

func readString(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// readUint reads a number file; "max" and errors give 0.
func readUint(p string) uint64 {
	n, _ := strconv.ParseUint(readString(p), 10, 64)
	return n
}

// readKV reads "key value" lines.
func readKV(p string) map[string]uint64 {
	out := map[string]uint64{}
	f, err := os.Open(p)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err == nil {
			out[k] = n
		}
	}
	return out
}

// systemCPU is the host's total CPU time in nanoseconds (/proc/stat), the
// denominator of docker stats' CPU %.
func systemCPU() uint64 {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 1 && fields[0] == "cpu" {
			var total uint64
			for _, x := range fields[1:8] {
				n, _ := strconv.ParseUint(x, 10, 64)
				total += n
			}
			return total * (1e9 / clockTicks)
		}
	}
	return 0
}

func hostMemory() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			n, _ := strconv.ParseUint(fields[1], 10, 64)
			return n * 1024
		}
	}
	return 0
}

// netDev reads the interfaces of the container's network namespace from
// /proc/<pid>/net/dev (loopback left out, as Docker does).
func netDev(pid int) map[string]container.NetworkStats {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "net", "dev"))
	if err != nil {
		return nil
	}
	defer f.Close()
	out := map[string]container.NetworkStats{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		name = strings.TrimSpace(name)
		if !ok || name == "lo" {
			continue
		}
		v := strings.Fields(rest)
		if len(v) < 16 {
			continue
		}
		u := func(i int) uint64 { n, _ := strconv.ParseUint(v[i], 10, 64); return n }
		out[name] = container.NetworkStats{
			RxBytes: u(0), RxPackets: u(1), RxErrors: u(2), RxDropped: u(3),
			TxBytes: u(8), TxPackets: u(9), TxErrors: u(10), TxDropped: u(11),
		}
	}
	return out
}
