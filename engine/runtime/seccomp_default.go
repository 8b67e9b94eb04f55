package runtime

import (
	"crypto/sha256"
	"encoding/json"
	"hash"
	"slices"
	"strings"
	"sync"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Docker's default seccomp profile, as set up for a container, depends on
// nothing but the container's bounding capabilities (rules included or
// excluded by capability), the architecture and the kernel version, and
// the last two do not change under a running berthd. Setting it up anew
// for every start (decoding the built-in profile, filtering ~400 rules)
// and hashing its JSON for the filter cache's key (SeccompKey) were, with
// the cached filter's read and encoding, ~60 KB of the ~395 KB of garbage
// berthd made per run --rm (GCs per 50 runs: ~10). So it is set up once per
// capability set and shared by the specs built with that set: nothing
// writes to a spec's seccomp section after BuildSpec (UsePrecompiledSeccomp
// copies it before leaving its rules out), and config.json is
// byte-for-byte what a fresh set-up gives.

// defaultProfilesMax bounds the capability sets kept: containers almost
// all use the default set or one of a few --cap-add/--cap-drop variants.
const defaultProfilesMax = 16

// builtProfile is the default profile set up for one capability set, and
// the state of SeccompKey's hash after the profile's JSON encoding.
type builtProfile struct {
	sc  *specs.LinuxSeccomp
	sum hash.Cloner
}

var defaultProfiles struct {
	sync.Mutex
	byCaps    map[string]*builtProfile
	byProfile map[*specs.LinuxSeccomp]*builtProfile
}

// defaultSeccomp returns Docker's default profile set up for s's bounding
// capabilities, shared with every spec of the same set.
func defaultSeccomp(s *specs.Spec) (*specs.LinuxSeccomp, error) {
	var bounding []string
	if s.Process != nil && s.Process.Capabilities != nil {
		bounding = s.Process.Capabilities.Bounding
	}
	sorted := slices.Clone(bounding)
	slices.Sort(sorted)
	key := strings.Join(slices.Compact(sorted), ",")
	defaultProfiles.Lock()
	p := defaultProfiles.byCaps[key]
	defaultProfiles.Unlock()
	if p != nil {
		return p.sc, nil
	}
	sc, err := seccomp.GetDefaultProfile(s)
	if err != nil || sc == nil {
		return sc, err
	}
	p = &builtProfile{sc: sc}
	h := sha256.New()
	if json.NewEncoder(h).Encode(sc) == nil {
		if c, ok := h.(hash.Cloner); ok {
			p.sum = c
		}
	}
	defaultProfiles.Lock()
	defer defaultProfiles.Unlock()
	if len(defaultProfiles.byCaps) >= defaultProfilesMax || defaultProfiles.byCaps == nil {
		defaultProfiles.byCaps = map[string]*builtProfile{}
		defaultProfiles.byProfile = map[*specs.LinuxSeccomp]*builtProfile{}
	}
	defaultProfiles.byCaps[key] = p
	defaultProfiles.byProfile[sc] = p
	return sc, nil
}

// seccompSum returns SeccompKey's hash with sc's JSON encoding written to
// it: a copy of the one kept when sc is a shared default profile, else
// one fed the encoding now.
func seccompSum(sc *specs.LinuxSeccomp) (hash.Hash, error) {
	defaultProfiles.Lock()
	p := defaultProfiles.byProfile[sc]
	defaultProfiles.Unlock()
	if p != nil && p.sum != nil {
		if h, err := p.sum.Clone(); err == nil {
			return h, nil
		}
	}
	h := sha256.New()
	return h, json.NewEncoder(h).Encode(sc)
}
