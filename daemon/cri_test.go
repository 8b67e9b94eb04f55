package daemon

import (
	"bytes"
	"testing"

	"github.com/berth-dev/berth/cri"
	"github.com/berth-dev/berth/internal/stdcopy"
)

func TestCRIConfigValidate(t *testing.T) {
	bad := []*CRIConfig{
		{Socket: "relative.sock"},
		{CNIConfDir: "net.d"},
		{CNIBinDirs: []string{"/usr/lib/cni", "bin"}},
		{StreamAddress: "nonsense"},
		{RegistryMirrors: map[string][]string{"registry.k8s.io/x": {"127.0.0.1:5000"}}},
		{RegistryMirrors: map[string][]string{"registry.k8s.io": {"http://"}}},
	}
	for _, c := range bad {
		if err := c.validate(); err == nil {
			t.Errorf("%+v: accepted", c)
		}
	}
	good := &CRIConfig{Socket: "/run/x/cri.sock", StreamAddress: "127.0.0.1:0",
		RegistryMirrors: map[string][]string{"registry.k8s.io": {"127.0.0.1:5000/k8s"}}}
	if err := good.validate(); err != nil {
		t.Errorf("%+v: %v", good, err)
	}
	if err := (*CRIConfig)(nil).validate(); err != nil {
		t.Error(err)
	}
}

// The engine's multiplexed output, however it is cut, reaches the right
// stream whole.
func TestPipeStreamDemux(t *testing.T) {
	var frames bytes.Buffer
	stdcopy.WriteFrame(&frames, stdcopy.Stdout, []byte("out-1\n"))
	stdcopy.WriteFrame(&frames, stdcopy.Stderr, []byte("err-1\n"))
	stdcopy.WriteFrame(&frames, stdcopy.Stdout, []byte("out-2\n"))
	all := frames.Bytes()
	for cut := 1; cut < len(all); cut++ {
		var out, errb bytes.Buffer
		p := newPipeStream(cri.StreamIO{Stdout: &out, Stderr: &errb})
		p.Write(all[:cut])
		p.Write(all[cut:])
		if out.String() != "out-1\nout-2\n" || errb.String() != "err-1\n" {
			t.Fatalf("cut at %d: stdout %q stderr %q", cut, out.String(), errb.String())
		}
	}
}
