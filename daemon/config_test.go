package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "daemon.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFile(t *testing.T) {
	p := writeConfig(t, `{"data-root":"/srv/berth","debug":true,"log-opts":{"max-size":"10m"},"insecure-registries":["10.0.0.0/8"]}`)
	c, set, err := LoadFile(p, true)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataRoot != "/srv/berth" || !c.Debug || c.LogOpts["max-size"] != "10m" || len(c.InsecureRegistries) != 1 {
		t.Fatalf("config = %+v", c)
	}
	if !set["data-root"] || !set["debug"] || set["hosts"] {
		t.Fatalf("set keys = %v", set)
	}
}

func TestLoadFileErrorsNameTheKey(t *testing.T) {
	cases := map[string]string{
		`{"data-root":"/x","no-such-key":1,"other":2}`: "no-such-key, other",
		`{"debug":"yes"}`:       `"debug"`,
		`{"hosts":"unix:///x"}`: `"hosts"`,
		`{not json`:             "unable to configure the daemon",
	}
	for body, want := range cases {
		_, _, err := LoadFile(writeConfig(t, body), true)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to mention %s", body, err, want)
		}
	}
	if _, _, err := LoadFile(filepath.Join(t.TempDir(), "missing.json"), false); err != nil {
		t.Errorf("a missing default file is not an error: %v", err)
	}
	if _, _, err := LoadFile(filepath.Join(t.TempDir(), "missing.json"), true); err == nil {
		t.Errorf("a missing --config-file must be an error")
	}
}

func TestConflicts(t *testing.T) {
	err := Conflicts(map[string]bool{"data-root": true, "debug": true}, map[string]bool{"data-root": true, "hosts": true})
	if err == nil || !strings.Contains(err.Error(), "data-root") || strings.Contains(err.Error(), "debug") {
		t.Fatalf("Conflicts = %v", err)
	}
	if err := Conflicts(map[string]bool{"debug": true}, map[string]bool{"hosts": true}); err != nil {
		t.Fatalf("no conflict expected: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	c := &Config{ExecRoot: "/run/x"}
	c.Defaults()
	if c.DataRoot != "/var/lib/berth" || c.Pidfile != "/run/x/berthd.pid" || !*c.LiveRestore || !*c.CgroupHybridFix || !*c.CgroupFavorDynmods ||
		c.Hosts[0] != "unix:///run/berth/berth.sock" || c.TLSCert != TLSDir+"/server-cert.pem" {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestNetworkConfig(t *testing.T) {
	c := &Config{Bip: "10.9.0.1/24", Bridge: "b0"}
	nc, err := networkConfig(c)
	if err != nil || !nc.Iptables || !nc.IPForward || nc.BridgeName != "b0" || nc.Bip != "10.9.0.1/24" {
		t.Fatalf("networkConfig = %+v, %v", nc, err)
	}
	c.DefaultAddressPools = nil
	p := writeConfig(t, `{"default-address-pools":[{"base":"10.10.0.0/16","size":24}],"iptables":false}`)
	fc, _, err := LoadFile(p, true)
	if err != nil {
		t.Fatal(err)
	}
	nc, err = networkConfig(fc)
	if err != nil || nc.Iptables || len(nc.DefaultAddressPools) != 1 || nc.DefaultAddressPools[0].Size != 24 {
		t.Fatalf("pools: %+v, %v", nc, err)
	}
}

func TestBuilderGCConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		json    string
		wantErr string
		check   func(t *testing.T, c *Config)
	}{
		{json: `{"builder":{"gc":{"enabled":true,"defaultKeepStorage":"10GB","policy":[{"keepStorage":"512MB","filter":["unused-for=2200h","type=exec.cachemount"]},{"all":true,"maxUsedSpace":"20GB"}]}}}`,
			check: func(t *testing.T, c *Config) {
				g, err := c.Builder.gc()
				if err != nil {
					t.Fatal(err)
				}
				if !g.Enabled || g.DefaultReservedSpace != 10<<30 || len(g.Policy) != 2 || g.Policy[0].ReservedSpace != 512<<20 || g.Policy[1].MaxUsedSpace != 20<<30 || !g.Policy[1].All {
					t.Fatalf("parsed %+v", g)
				}
			}},
		{json: `{"builder":{"gc":{"enabled":false}}}`, check: func(t *testing.T, c *Config) {
			if g, err := c.Builder.gc(); err != nil || g.Enabled {
				t.Fatalf("gc %+v, %v", g, err)
			}
		}},
		{json: `{"builder":{"gc":{"enabeld":true}}}`, wantErr: `unknown field "enabeld"`},
		{json: `{"builder":{"history":{"maxAge":"1h"}}}`, wantErr: `unknown field "history"`},
		{json: `{"builder":{"gc":{"defaultKeepStorage":"lots"}}}`, wantErr: "not a size"},
		{json: `{"builder":{"gc":{"policy":[{"filter":["unused-for=soon"]}]}}}`, wantErr: "not a duration"},
		{json: `{"builder":{"gc":{"policy":[{"filter":["color=red"]}]}}}`, wantErr: `invalid filter "color"`},
		{json: `{"builder":{"gc":{"policy":[{"filter":["nonsense"]}]}}}`, wantErr: "expected name=value"},
	} {
		p := filepath.Join(dir, "daemon.json")
		if err := os.WriteFile(p, []byte(tc.json), 0o600); err != nil {
			t.Fatal(err)
		}
		c, _, err := LoadFile(p, true)
		if err == nil {
			err = c.Validate()
		}
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.json, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.json, err)
			continue
		}
		tc.check(t, c)
	}
}
