package buildkit

import (
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/filters"
)

func TestGCPolicy(t *testing.T) {
	def, err := gcPolicy(nil, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(def) != 4 || !def[3].All || def[3].MaxUsedSpace <= 0 || def[3].ReservedSpace <= 0 || def[3].MaxUsedSpace < def[3].ReservedSpace {
		t.Fatalf("default policy %+v", def)
	}
	for _, r := range def {
		if _, err := filters.ParseAll(r.Filter...); err != nil {
			t.Fatalf("default rule filter %q: %v", r.Filter, err)
		}
	}
	if off, err := gcPolicy(&GCConfig{Enabled: false}, t.TempDir()); err != nil || len(off) != 0 {
		t.Fatalf("disabled gc: %+v %v", off, err)
	}
	own, err := gcPolicy(&GCConfig{Enabled: true, DefaultReservedSpace: 1e9}, t.TempDir())
	if err != nil || own[1].ReservedSpace != 1e9 || own[1].MaxUsedSpace != 0 {
		t.Fatalf("default policy with a reserved space: %+v %v", own, err)
	}
	p, err := gcPolicy(&GCConfig{Enabled: true, Policy: []GCRule{
		{Filters: map[string][]string{"unused-for": {"2200h"}, "type": {"exec.cachemount"}}, ReservedSpace: 512e6},
		{All: true, MaxUsedSpace: 20e9},
	}}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 2 || p[0].KeepDuration != 2200*time.Hour || len(p[0].Filter) != 1 || p[0].Filter[0] != `type=="exec.cachemount"` || p[0].ReservedSpace != 512e6 || !p[1].All || p[1].MaxUsedSpace != 20e9 {
		t.Fatalf("policy %+v", p)
	}
	if err := ValidateGC(&GCConfig{Enabled: true, Policy: []GCRule{{Filters: map[string][]string{"until": {"-1h"}}}}}); err == nil {
		t.Fatal("a negative duration was accepted")
	}
}
