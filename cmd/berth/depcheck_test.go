package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClientLinksNoDaemon keeps the client a client: the berth binary must
// not link the engine, the daemon, the API server or their storage
// (bbolt). A dependency added by accident through a shared helper package
// fails here; move pure parsing into a leaf package instead (see
// internal/mountspec).
func TestClientLinksNoDaemon(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := []string{
		"github.com/berth-dev/berth/engine",
		"github.com/berth-dev/berth/daemon",
		"github.com/berth-dev/berth/api",
		"github.com/berth-dev/berth/internal/monitor",
		"go.etcd.io/bbolt",
		// BuildKit runs inside berthd; `berth` is only its client.
		"github.com/moby/buildkit",
		"github.com/containerd/containerd/v2",
		// Compose runs as berth-compose: its libraries' package
		// initialisation (the compose schema's JSON-schema compiler
		// compiles its meta-schemas at start-up) doubled the start-up
		// CPU of every berth command.
		"github.com/compose-spec/compose-go/v2",
		"github.com/santhosh-tekuri/jsonschema",
		"github.com/berth-dev/berth/cli/command/compose",
		// The CLI's start-up: the moby client links OpenTelemetry
		// (otelhttp) and go-connections, and the image reference
		// grammar compiled its regular expressions at initialisation
		// (2.8 ms, 400 kB); cli/client and internal/imageref replace
		// them. (The moby client's leaf packages under pkg/, e.g.
		// jsonmessage, link none of that.)
		"github.com/moby/moby/client/internal",
		"go.opentelemetry.io",
		"github.com/distribution/reference",
		"github.com/docker/go-connections",
	}
	var bad []string
	for _, dep := range strings.Fields(string(out)) {
		if dep == "github.com/moby/moby/client" {
			bad = append(bad, dep)
		}
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				bad = append(bad, dep)
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("cmd/berth links daemon-side packages:\n  %s", strings.Join(bad, "\n  "))
	}
}
