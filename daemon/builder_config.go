package daemon

import (
	"fmt"

	units "github.com/docker/go-units"

	"github.com/berth-dev/berth/engine/buildkit"
)

// BuilderGCConfig is builder.gc. Sizes are Docker's ("10GB", "512MB", or
// bytes); defaultKeepStorage and keepStorage are the older names of
// defaultReservedSpace and reservedSpace.
type BuilderGCConfig struct {
	Enabled              *bool           `json:"enabled,omitempty"`
	DefaultKeepStorage   string          `json:"defaultKeepStorage,omitempty"`
	DefaultReservedSpace string          `json:"defaultReservedSpace,omitempty"`
	DefaultMaxUsedSpace  string          `json:"defaultMaxUsedSpace,omitempty"`
	DefaultMinFreeSpace  string          `json:"defaultMinFreeSpace,omitempty"`
	Policy               []BuilderGCRule `json:"policy,omitempty"`
}

// BuilderGCRule is one rule of builder.gc.policy.
type BuilderGCRule struct {
	All           bool     `json:"all,omitempty"`
	Filter        []string `json:"filter,omitempty"`
	KeepStorage   string   `json:"keepStorage,omitempty"`
	ReservedSpace string   `json:"reservedSpace,omitempty"`
	MaxUsedSpace  string   `json:"maxUsedSpace,omitempty"`
	MinFreeSpace  string   `json:"minFreeSpace,omitempty"`
}

// gc is the section as BuildKit's service takes it (nil: the default).
func (b *BuilderConfig) gc() (*buildkit.GCConfig, error) {
	if b == nil {
		return nil, nil
	}
	return b.GC.config()
}

// config converts builder.gc (nil: the default).
func (g *BuilderGCConfig) config() (*buildkit.GCConfig, error) {
	if g == nil {
		return nil, nil
	}
	out := &buildkit.GCConfig{Enabled: g.Enabled == nil || *g.Enabled}
	var err error
	size := func(key, v string, into *int64) {
		if err != nil || v == "" {
			return
		}
		n, e := units.RAMInBytes(v)
		if e != nil || n < 0 {
			err = fmt.Errorf("invalid builder.gc %s %q: not a size", key, v)
			return
		}
		*into = n
	}
	size("defaultKeepStorage", g.DefaultKeepStorage, &out.DefaultReservedSpace)
	size("defaultReservedSpace", g.DefaultReservedSpace, &out.DefaultReservedSpace)
	size("defaultMaxUsedSpace", g.DefaultMaxUsedSpace, &out.DefaultMaxUsedSpace)
	size("defaultMinFreeSpace", g.DefaultMinFreeSpace, &out.DefaultMinFreeSpace)
	for _, r := range g.Policy {
		rule := buildkit.GCRule{All: r.All}
		if rule.Filters, err = buildkit.ParseGCFilters(r.Filter); err != nil {
			return nil, fmt.Errorf("invalid builder.gc policy: %w", err)
		}
		size("keepStorage", r.KeepStorage, &rule.ReservedSpace)
		size("reservedSpace", r.ReservedSpace, &rule.ReservedSpace)
		size("maxUsedSpace", r.MaxUsedSpace, &rule.MaxUsedSpace)
		size("minFreeSpace", r.MinFreeSpace, &rule.MinFreeSpace)
		out.Policy = append(out.Policy, rule)
	}
	if err != nil {
		return nil, err
	}
	if err := buildkit.ValidateGC(out); err != nil {
		return nil, fmt.Errorf("invalid builder.gc: %w", err)
	}
	return out, nil
}
