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
	if c.DataRoot != "/var/lib/berth" || c.Pidfile != "/run/x/berthd.pid" || !*c.LiveRestore || !*c.CgroupHybridFix ||
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
