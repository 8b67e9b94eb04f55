package buildkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/containerd/containerd/v2/pkg/oci"
	resourcestypes "github.com/moby/buildkit/executor/resources/types"
	"github.com/moby/buildkit/util/network"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Network gives each RUN step of the default network mode a network
// namespace of its own on Berth's default bridge, as a container gets one:
// outbound access through the bridge's NAT, nothing published. berthd
// implements it over engine/network (the same veth, address and netfilter
// code containers use), so a step's namespace is torn down like a
// container's, and one left by a crash is reconciled away at start.
type Network interface {
	// Attach connects a new network namespace for the step id (unique,
	// never a container's) and returns its path.
	Attach(ctx context.Context, id, hostname string) (netnsPath string, err error)
	// Detach removes what Attach made: the namespace, its veth, its
	// address and rules.
	Detach(ctx context.Context, id string) error
}

// buildStepPrefix names the sandboxes of RUN steps (never a container ID,
// which is 64 hex digits).
const buildStepPrefix = "buildkit-step-"

// bridgeProvider is BuildKit's network provider over Network.
type bridgeProvider struct{ n Network }

func (p bridgeProvider) New(ctx context.Context, hostname string, _ network.NamespaceOptions) (network.Namespace, error) {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	id := buildStepPrefix + hex.EncodeToString(b)
	path, err := p.n.Attach(ctx, id, hostname)
	if err != nil {
		return nil, err
	}
	return &bridgeNS{n: p.n, id: id, path: path}, nil
}

func (p bridgeProvider) Close() error { return nil }

type bridgeNS struct {
	n        Network
	id, path string
}

func (ns *bridgeNS) Set(s *specs.Spec) error {
	return oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: ns.path})(nil, nil, nil, s)
}

// Close detaches even when the build was cancelled: ctx is not the step's.
func (ns *bridgeNS) Close() error { return ns.n.Detach(context.Background(), ns.id) }

func (ns *bridgeNS) Sample() (*resourcestypes.NetworkSample, error) { return nil, nil }
