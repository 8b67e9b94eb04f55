package monitor

import (
	"os"
	"path/filepath"
)

// CMonitorName is the file name of the monitor written in C (cmon/), which
// is installed beside berth-monitor. It speaks the same protocol (this
// package) and costs a few hundred kilobytes per container where the Go
// monitor, a Go runtime each, costs about a megabyte.
const CMonitorName = "berth-cmon"

// CImplements reports whether the C monitor can serve cfg: it writes the
// json-file and cri logs (rotation and compression included) or none. The
// syslog, journald and local drivers stay with the Go monitor (they need
// TLS, the journal's protocol, protobuf framing), so a container using one
// of them runs under berth-monitor, deliberately.
func CImplements(cfg Config) bool {
	switch cfg.LogDriver {
	case "", "json-file", "cri", "none":
		return true
	}
	return false
}

// CMonitor returns the C monitor beside the Go monitor goMonitor, or ""
// when it is not installed there.
func CMonitor(goMonitor string) string {
	p := filepath.Join(filepath.Dir(goMonitor), CMonitorName)
	if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return ""
	}
	return p
}

// Binary is the monitor Start runs for cfg: the C monitor when it is
// installed beside goMonitor and implements cfg's log driver, otherwise
// goMonitor.
func Binary(goMonitor string, cfg Config) string {
	if CImplements(cfg) {
		if p := CMonitor(goMonitor); p != "" {
			return p
		}
	}
	return goMonitor
}

// ShimBinary is the binary to run exec-shim and pod-init with: both
// monitors have them, the C one is lighter.
func ShimBinary(goMonitor string) string {
	if p := CMonitor(goMonitor); p != "" {
		return p
	}
	return goMonitor
}
