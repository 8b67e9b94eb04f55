package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Issue 12.2: a state-changing operation, once accepted, runs to its end
// even when the client goes away: `timeout 1 docker stop -t 3 c` still
// stops c (its init ignores SIGTERM, so the stop has to wait and kill).
func TestOperationOutlivesClient(t *testing.T) {
	d := sharedDaemon(t, "life")
	docker := d.Docker(t)
	name := uniq("outlive")
	docker.Must(t, "run", "-d", "--name", name, "busybox", "sleep", "600")
	defer docker.Run(t, "rm", "-f", name)

	// The client is killed after one second, two before the stop kills.
	r := d.runCmd(docker.Path(), docker.Env(), nil, time.Second, "stop", "-t", "3", name)
	if r.Exit != -1 {
		t.Fatalf("docker stop -t 3 returned before the client was killed: %s", r)
	}
	eventually(t, 20*time.Second, func() error {
		st := docker.Must(t, "inspect", "--format", "{{.State.Status}}", name)
		if st != "exited" {
			return fmt.Errorf("container is %q after its stop's client went away, want exited", st)
		}
		return nil
	})
}

// Issue 12.3: removing a running --rm container succeeds even though the
// kill starts its auto-remove, and removals racing each other all succeed.
func TestRemoveRacesRemove(t *testing.T) {
	d := sharedDaemon(t, "life")
	docker := d.Docker(t)
	for i := 0; i < 5; i++ {
		name := uniq("rmrm")
		docker.Must(t, "run", "-d", "--rm", "--name", name, "busybox", "sleep", "600")
		if r := docker.Run(t, "rm", "-f", name); r.Exit != 0 {
			t.Fatalf("rm -f of a running --rm container: %s", r)
		}
		if r := docker.Run(t, "inspect", name); r.Exit == 0 {
			t.Fatalf("%s still exists after rm -f", name)
		}
	}
	// stop and kill of a --rm container race its auto-remove: they still
	// succeed, and the container goes.
	for _, verb := range [][]string{{"stop", "-t", "1"}, {"kill"}} {
		name := uniq("rmstop")
		docker.Must(t, "run", "-d", "--rm", "--name", name, "busybox", "sleep", "600")
		if r := docker.Run(t, append(verb, name)...); r.Exit != 0 {
			t.Fatalf("%s of a running --rm container: %s", verb[0], r)
		}
		eventually(t, 10*time.Second, func() error {
			if r := docker.Run(t, "inspect", name); r.Exit == 0 {
				return fmt.Errorf("%s still exists after %s", name, verb[0])
			}
			return nil
		})
	}
	name := uniq("rmrace")
	docker.Must(t, "run", "-d", "--name", name, "busybox", "sleep", "600")
	var wg sync.WaitGroup
	results := make([]Result, 3)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = docker.Run(t, "rm", "-f", name)
		}()
	}
	wg.Wait()
	for _, r := range results {
		// A removal that starts after another one finished finds nothing:
		// that is Docker's "No such container" too.
		if r.Exit != 0 && !strings.Contains(r.Stderr, "No such container") {
			t.Errorf("concurrent rm -f: %s", r)
		}
	}
	if r := docker.Run(t, "inspect", name); r.Exit == 0 {
		t.Fatalf("%s still exists after concurrent rm -f", name)
	}
}
