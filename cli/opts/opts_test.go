package opts

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

func TestReadKVEnvStrings(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "env")
	content := "\xEF\xBB\xBF# comment\n\n  A=1\nFROM_HOST\nMISSING_VAR_XYZ\nB=two=2\n"
	if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FROM_HOST", "h")
	t.Setenv("BARE", "b")
	got, err := ReadKVEnvStrings([]string{f}, []string{"A=override", "BARE", "UNSET_XYZ"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A=1", "FROM_HOST=h", "B=two=2", "A=override", "BARE=b", "UNSET_XYZ"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("MY VAR=1\n"), 0o600)
	if _, err := ReadKVEnvStrings([]string{bad}, nil); err == nil || err.Error() != "variable 'MY VAR' contains whitespaces" {
		t.Fatalf("err = %v", err)
	}
	if _, err := ReadKVEnvStrings([]string{filepath.Join(dir, "nope")}, nil); err == nil {
		t.Fatal("missing env file accepted")
	}
}

func TestLabels(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "labels")
	os.WriteFile(f, []byte("a=1\nflag\n"), 0o600)
	kv, err := ReadKVStrings([]string{f}, []string{"b=2", "a=3"})
	if err != nil {
		t.Fatal(err)
	}
	m := ConvertKVStringsToMap(kv)
	want := map[string]string{"a": "3", "flag": "", "b": "2"}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %v", m)
	}
}

func TestParsePortSpecs(t *testing.T) {
	exp, bind, err := ParsePortSpecs([]string{"8080:80", "127.0.0.1:53:53/udp", "9000", "[::1]:7000:70", "5000-5001:6000-6001"})
	if err != nil {
		t.Fatal(err)
	}
	p80 := network.MustParsePort("80/tcp")
	if _, ok := exp[p80]; !ok {
		t.Fatal("80/tcp not exposed")
	}
	if b := bind[p80]; len(b) != 1 || b[0].HostPort != "8080" || b[0].HostIP.IsValid() {
		t.Fatalf("80/tcp binding %+v", b)
	}
	if b := bind[network.MustParsePort("53/udp")]; len(b) != 1 || b[0].HostIP.String() != "127.0.0.1" || b[0].HostPort != "53" {
		t.Fatalf("53/udp binding %+v", b)
	}
	if b := bind[network.MustParsePort("9000/tcp")]; len(b) != 1 || b[0].HostPort != "" {
		t.Fatalf("9000 binding %+v", b)
	}
	if b := bind[network.MustParsePort("70/tcp")]; len(b) != 1 || b[0].HostIP.String() != "::1" || b[0].HostPort != "7000" {
		t.Fatalf("70 binding %+v", b)
	}
	if b := bind[network.MustParsePort("6001/tcp")]; len(b) != 1 || b[0].HostPort != "5001" {
		t.Fatalf("range binding %+v", b)
	}
	for _, bad := range []string{"1:2:3:4", "abc", "80/xyz", "1.2.3:80:80", "100-101:80-82"} {
		if _, _, err := ParsePortSpecs([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRestartUlimitDevice(t *testing.T) {
	rp, err := ParseRestartPolicy("on-failure:3")
	if err != nil || rp.Name != container.RestartPolicyOnFailure || rp.MaximumRetryCount != 3 {
		t.Fatalf("%+v %v", rp, err)
	}
	if _, err := ParseRestartPolicy("always:3"); err == nil {
		t.Fatal("always:3 accepted")
	}
	if _, err := ParseRestartPolicy("sometimes"); err == nil {
		t.Fatal("unknown policy accepted")
	}
	ul, err := ParseUlimits([]string{"nofile=1024:2048", "nproc=10"})
	if err != nil || ul[0].Name != "nofile" || ul[0].Soft != 1024 || ul[0].Hard != 2048 || ul[1].Hard != 10 {
		t.Fatalf("%+v %v", ul, err)
	}
	if _, err := ParseUlimits([]string{"nofile=abc"}); err == nil {
		t.Fatal("bad ulimit accepted")
	}
	d, err := ParseDevice("/dev/fuse")
	if err != nil || d.PathInContainer != "/dev/fuse" || d.CgroupPermissions != "rwm" {
		t.Fatalf("%+v %v", d, err)
	}
	d, _ = ParseDevice("/dev/a:/dev/b:r")
	if d.PathOnHost != "/dev/a" || d.PathInContainer != "/dev/b" || d.CgroupPermissions != "r" {
		t.Fatalf("%+v", d)
	}
	d, _ = ParseDevice("/dev/a:rw")
	if d.PathInContainer != "/dev/a" || d.CgroupPermissions != "rw" {
		t.Fatalf("%+v", d)
	}
}

func TestMiscParsers(t *testing.T) {
	if err := ValidateDetachKeys("ctrl-p,ctrl-q"); err != nil {
		t.Fatal(err)
	}
	if err := ValidateDetachKeys("ctrl-"); err == nil {
		t.Fatal("bad detach keys accepted")
	}
	if n, err := ParseCPUs("1.5"); err != nil || n != 1500000000 {
		t.Fatalf("%d %v", n, err)
	}
	if n, err := ParseBytes("512m"); err != nil || n != 512<<20 {
		t.Fatalf("%d %v", n, err)
	}
	f, err := ParseFilters([]string{"status=exited", "label=a=b"})
	if err != nil || !f["status"]["exited"] || !f["label"]["a=b"] {
		t.Fatalf("%v %v", f, err)
	}
	if _, err := ParseFilters([]string{"nope"}); err == nil {
		t.Fatal("filter without = accepted")
	}
}
