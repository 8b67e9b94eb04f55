package buildkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"

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

// bridgeProvider is BuildKit's network provider over Network. It keeps
// the namespaces it made until their step closes them, so that its own
// Close (BuildKit's, at berthd's shutdown) detaches those an interrupted
// step had no time to.
type bridgeProvider struct {
	n    Network
	mu   sync.Mutex
	live map[string]*bridgeNS
}

func newBridgeProvider(n Network) *bridgeProvider {
	return &bridgeProvider{n: n, live: map[string]*bridgeNS{}}
}

func (p *bridgeProvider) New(ctx context.Context, hostname string, _ network.NamespaceOptions) (network.Namespace, error) {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	id := buildStepPrefix + hex.EncodeToString(b)
	path, err := p.n.Attach(ctx, id, hostname)
	if err != nil {
		return nil, err
	}
	ns := &bridgeNS{p: p, id: id, path: path}
	p.mu.Lock()
	p.live[id] = ns
	p.mu.Unlock()
	return ns, nil
}

// Close detaches the namespaces no step closed.
func (p *bridgeProvider) Close() error {
	p.mu.Lock()
	left := make([]*bridgeNS, 0, len(p.live))
	for _, ns := range p.live {
		left = append(left, ns)
	}
	p.mu.Unlock()
	var errs []error
	for _, ns := range left {
		errs = append(errs, ns.Close())
	}
	return errors.Join(errs...)
}

type bridgeNS struct {
	p        *bridgeProvider
	id, path string
}

func (ns *bridgeNS) Set(s *specs.Spec) error {
	return oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: ns.path})(nil, nil, nil, s)
}

// Close detaches even when the build was cancelled: ctx is not the step's.
// Only its first call (the step's, or the provider's) does.
func (ns *bridgeNS) Close() error {
	ns.p.mu.Lock()
	_, live := ns.p.live[ns.id]
	delete(ns.p.live, ns.id)
	ns.p.mu.Unlock()
	if !live {
		return nil
	}
	return ns.p.n.Detach(context.Background(), ns.id)
}

func (ns *bridgeNS) Sample() (*resourcestypes.NetworkSample, error) { return nil, nil }
