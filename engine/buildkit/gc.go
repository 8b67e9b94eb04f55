package buildkit

import (
	"fmt"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
	"golang.org/x/sys/unix"
)

// GCConfig is the automatic garbage collection of the build cache
// (daemon.json's builder.gc, as dockerd's): BuildKit prunes by Policy after
// builds (at most once a minute) and a second after it starts.
type GCConfig struct {
	Enabled bool
	// DefaultReservedSpace, DefaultMaxUsedSpace, DefaultMinFreeSpace (bytes,
	// 0: unset) shape the default policy, used when Policy is empty; all
	// unset, they are derived from the size of the file system of the data
	// root (keep 10% of it, at most 10 GB; use at most 60%, at most 100 GB;
	// leave 20% free), as BuildKit's own default.
	DefaultReservedSpace, DefaultMaxUsedSpace, DefaultMinFreeSpace int64
	Policy                                                         []GCRule
}

// GCRule is one rule of a policy, applied in order.
type GCRule struct {
	All bool
	// Filters are Docker's build cache filters; "unused-for" (or "until")
	// is a duration: records used more recently are kept.
	Filters                                   map[string][]string
	ReservedSpace, MaxUsedSpace, MinFreeSpace int64
}

// gcPolicy turns cfg into BuildKit's prune rules; root's file system sizes
// the default ones.
func gcPolicy(cfg *GCConfig, root string) ([]client.PruneInfo, error) {
	if cfg == nil {
		cfg = &GCConfig{Enabled: true}
	}
	if !cfg.Enabled {
		return nil, nil
	}
	if len(cfg.Policy) > 0 {
		out := make([]client.PruneInfo, 0, len(cfg.Policy))
		for i, r := range cfg.Policy {
			pi, err := r.pruneInfo()
			if err != nil {
				return nil, fmt.Errorf("builder gc policy rule %d: %w", i+1, err)
			}
			out = append(out, pi)
		}
		return out, nil
	}
	reserved, maxUsed, minFree := cfg.DefaultReservedSpace, cfg.DefaultMaxUsedSpace, cfg.DefaultMinFreeSpace
	if reserved == 0 && maxUsed == 0 && minFree == 0 {
		var st unix.Statfs_t
		if err := unix.Statfs(root, &st); err != nil {
			return nil, err
		}
		total := int64(st.Blocks) * st.Bsize
		reserved = min(total/10, 10e9)
		maxUsed = min(total*6/10, 100e9)
		minFree = total / 5
	}
	return []client.PruneInfo{
		// What is cheapest to make again, after two days unused, once it
		// passes 512 MB: context uploads, cache mounts, git checkouts.
		{Filter: []string{"type==source.local", "type==exec.cachemount", "type==source.git.checkout"}, KeepDuration: 48 * time.Hour, MaxUsedSpace: 512e6},
		// Anything unused for 60 days, beyond the caps.
		{KeepDuration: 60 * 24 * time.Hour, ReservedSpace: reserved, MaxUsedSpace: maxUsed, MinFreeSpace: minFree},
		// Unshared records down to the caps.
		{ReservedSpace: reserved, MaxUsedSpace: maxUsed, MinFreeSpace: minFree},
		// Then everything down to the caps.
		{All: true, ReservedSpace: reserved, MaxUsedSpace: maxUsed, MinFreeSpace: minFree},
	}, nil
}

func (r GCRule) pruneInfo() (client.PruneInfo, error) {
	pi := client.PruneInfo{All: r.All, ReservedSpace: r.ReservedSpace, MaxUsedSpace: r.MaxUsedSpace, MinFreeSpace: r.MinFreeSpace}
	rest := map[string][]string{}
	for k, v := range r.Filters {
		switch k {
		case "unused-for", "until":
			if len(v) != 1 {
				return pi, fmt.Errorf("filter %q takes one value", k)
			}
			d, err := time.ParseDuration(v[0])
			if err != nil || d < 0 {
				return pi, fmt.Errorf("filter %s=%s: not a duration", k, v[0])
			}
			pi.KeepDuration = d
		default:
			rest[k] = v
		}
	}
	f, err := pruneFilter(rest)
	if err != nil {
		return pi, err
	}
	if f != "" {
		pi.Filter = []string{f}
	}
	return pi, nil
}

// ValidateGC checks a policy without starting BuildKit (berthd refuses a
// configuration whose rules it could not apply).
func ValidateGC(cfg *GCConfig) error {
	if cfg == nil || !cfg.Enabled {
		return nil
	}
	for i, r := range cfg.Policy {
		if _, err := r.pruneInfo(); err != nil {
			return fmt.Errorf("builder gc policy rule %d: %w", i+1, err)
		}
	}
	return nil
}

// ParseGCFilters splits Docker's "key=value" filter list (daemon.json's
// builder.gc.policy[].filter).
func ParseGCFilters(in []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, f := range in {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("bad format of filter %q (expected name=value)", f)
		}
		out[k] = append(out[k], v)
	}
	return out, nil
}
