package e2e

import (
	"strings"
	"testing"
)

// Issue 12.11: an exec gets the container's --ulimit values (not berthd's
// own limits), and exec --privileged gets every capability the host allows
// instead of failing on the ones outside its bounding set.
func TestExecUlimitAndPrivileged(t *testing.T) {
	d := sharedDaemon(t, "run")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		name := uniq("execopts-" + c.Name)
		c.Must(t, "run", "-d", "--name", name, "--ulimit", "nofile=1000:1001", "busybox", "sleep", "600")
		defer c.Run(t, "rm", "-f", name)

		if got := c.Must(t, "exec", name, "sh", "-c", "ulimit -Sn; ulimit -Hn"); got != "1000\n1001" {
			t.Errorf("exec in a container run with --ulimit nofile=1000:1001: soft and hard limits %q, want 1000 and 1001", got)
		}
		plain := c.Must(t, "exec", name, "grep", "CapEff", "/proc/self/status")
		r := c.Run(t, "exec", "--privileged", name, "grep", "CapEff", "/proc/self/status")
		if r.Exit != 0 {
			t.Fatalf("exec --privileged: %s", r)
		}
		priv := r.Out()
		// CAP_SYS_ADMIN (bit 21) is outside the default set and inside any
		// root's bounding set.
		if priv == plain || !strings.HasPrefix(priv, "CapEff:") || !hasCap(t, priv, 21) {
			t.Errorf("exec --privileged: %q, plain exec: %q; want more capabilities, CAP_SYS_ADMIN among them", priv, plain)
		}
	})
}

func hasCap(t *testing.T, line string, bit uint) bool {
	t.Helper()
	var mask uint64
	hex := strings.TrimSpace(strings.TrimPrefix(line, "CapEff:"))
	for _, ch := range hex {
		mask <<= 4
		switch {
		case ch >= '0' && ch <= '9':
			mask |= uint64(ch - '0')
		case ch >= 'a' && ch <= 'f':
			mask |= uint64(ch-'a') + 10
		default:
			t.Fatalf("bad capability mask %q", line)
		}
	}
	return mask&(1<<bit) != 0
}
