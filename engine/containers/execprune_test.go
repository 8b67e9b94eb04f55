package containers

import (
	"fmt"
	"testing"
	"time"
)

// A finished exec stays inspectable for execKeep even when a container has
// many: 100 `docker exec -t` at once lost one's exit code when the finished
// ones went as soon as there were 32 (the CLI inspects after the output).
func TestPruneExecsKeepsRecent(t *testing.T) {
	now := time.Now()
	mk := func(n int, running bool, finished time.Time) map[string]*execEntry {
		m := map[string]*execEntry{}
		for i := range n {
			code := 0
			x := &execEntry{ID: fmt.Sprintf("x%d-%v-%d", i, running, finished.Unix()), Started: true, Running: running, finished: finished}
			if !running {
				x.ExitCode = &code
			}
			m[x.ID] = x
		}
		return m
	}
	merge := func(ms ...map[string]*execEntry) map[string]*execEntry {
		out := map[string]*execEntry{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
				execIndex.Store(k, v)
			}
		}
		return out
	}
	recent, old, running := mk(30, false, now.Add(-time.Second)), mk(10, false, now.Add(-execKeep-time.Second)), mk(10, true, time.Time{})
	execs := merge(recent, old, running)
	pruneExecs(execs, now)
	for id := range old {
		if _, ok := execs[id]; ok {
			t.Errorf("exec %s finished %v ago is kept", id, execKeep+time.Second)
		}
		if _, ok := execIndex.Load(id); ok {
			t.Errorf("exec %s is still in the index", id)
		}
	}
	for _, m := range []map[string]*execEntry{recent, running} {
		for id := range m {
			if _, ok := execs[id]; !ok {
				t.Errorf("exec %s (running or finished a second ago) was pruned", id)
			}
			execIndex.Delete(id)
		}
	}
	many := merge(mk(execKeepMost, false, now), running)
	pruneExecs(many, now)
	if len(many) != len(running) {
		t.Errorf("past %d entries: %d left, want only the %d running", execKeepMost, len(many), len(running))
	}
	for id := range running {
		execIndex.Delete(id)
	}
}
