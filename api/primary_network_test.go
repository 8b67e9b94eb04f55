package api

import (
	"testing"

	"github.com/moby/moby/api/types/network"
)

// TestPrimaryNetworkDeterministic: a create request naming several networks
// without a NetworkMode always gets the same primary network.
func TestPrimaryNetworkDeterministic(t *testing.T) {
	eps := map[string]*network.EndpointSettings{}
	for _, n := range []string{"zeta", "mid", "alpha", "beta", "omega", "gamma", "delta", "kappa"} {
		eps[n] = &network.EndpointSettings{}
	}
	for i := 0; i < 50; i++ {
		if got := primaryNetwork(eps); got != "alpha" {
			t.Fatalf("primary network %q, want alpha (first by name)", got)
		}
	}
	if got := primaryNetwork(map[string]*network.EndpointSettings{"only": nil}); got != "only" {
		t.Fatalf("single endpoint: %q", got)
	}
}
