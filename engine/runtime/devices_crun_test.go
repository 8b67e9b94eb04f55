package runtime

import (
	"fmt"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func ruleStrings(rules []specs.LinuxDeviceCgroup) []string {
	var out []string
	for _, r := range rules {
		n := func(p *int64) string {
			if p == nil {
				return "*"
			}
			return fmt.Sprint(*p)
		}
		out = append(out, fmt.Sprintf("%v %s %s:%s %s", r.Allow, r.Type, n(r.Major), n(r.Minor), r.Access))
	}
	return out
}

// TestTrimDeviceRules: for crun, Docker's default rules lose exactly the
// allow rules crun writes itself after them (deny all and the tun device
// stay), a user's rules stay unless crun writes the same, and other
// runtimes and --privileged's allow-all keep theirs.
func TestTrimDeviceRules(t *testing.T) {
	spec := func(rules []specs.LinuxDeviceCgroup) *specs.Spec {
		return &specs.Spec{Linux: &specs.Linux{Resources: &specs.LinuxResources{Devices: rules}}}
	}
	crun := &Runtime{Name: "crun", Path: "/usr/local/libexec/berth/crun"}
	user := append(defaultDeviceRules(), devRule("c", 4, 64, "rw"), devRule("c", 1, 3, "rwm"), devRule("c", 1, 3, "r"))
	s := spec(user)
	crun.TrimDeviceRules(s)
	want := []string{"false  *:* rwm", "true c 10:200 rwm", "true c 4:64 rw", "true c 1:3 r"}
	if got := ruleStrings(s.Linux.Resources.Devices); !slices.Equal(got, want) {
		t.Errorf("crun: rules %q, want %q", got, want)
	}
	if len(user) != 16 || ruleStrings(user)[3] != "true c 1:3 rwm" {
		t.Errorf("the caller's slice was changed: %q", ruleStrings(user))
	}
	for _, rt := range []*Runtime{{Name: "runc", Path: "/usr/bin/runc"}, {Name: "runsc", Path: "/usr/bin/runsc"}} {
		s := spec(defaultDeviceRules())
		rt.TrimDeviceRules(s)
		if got, want := ruleStrings(s.Linux.Resources.Devices), ruleStrings(defaultDeviceRules()); !slices.Equal(got, want) {
			t.Errorf("%s: rules %q, want them unchanged", rt.Name, got)
		}
	}
	priv := spec([]specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}})
	crun.TrimDeviceRules(priv)
	if got := ruleStrings(priv.Linux.Resources.Devices); !slices.Equal(got, []string{"true  *:* rwm"}) {
		t.Errorf("privileged: rules %q", got)
	}
	crun.TrimDeviceRules(&specs.Spec{}) // no Linux section: nothing to do
}
