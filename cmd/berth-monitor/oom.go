package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// oomCounterFile finds the file of pid's memory cgroup that counts OOM
// kills: memory.oom_control (cgroup v1, "oom_kill N") or memory.events
// (cgroup v2, "oom_kill N"). "" if neither is readable.
func oomCounterFile(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return ""
	}
	var v1, v2 string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = "/sys/fs/cgroup" + parts[2] + "/memory.events"
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				v1 = "/sys/fs/cgroup/memory" + parts[2] + "/memory.oom_control"
			}
		}
	}
	for _, p := range []string{v1, v2} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	return ""
}

func readOOMKills(path string) int64 {
	if path == "" {
		return 0
	}
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "oom_kill "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}
