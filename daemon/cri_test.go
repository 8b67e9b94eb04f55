package daemon

import (
	"bytes"
	"io"
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

// Once the engine closes the stream (the process ended), Read ends too,
// though the client keeps its input open.
func TestPipeStreamReadEndsAtClose(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	p := newPipeStream(cri.StreamIO{Stdin: r})
	go func() { w.Write([]byte("hi")) }()
	buf := make([]byte, 8)
	if n, err := p.Read(buf); err != nil || string(buf[:n]) != "hi" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	done := make(chan error, 1)
	go func() { _, err := p.Read(buf); done <- err }()
	p.Close()
	if err := <-done; err != io.EOF {
		t.Fatalf("read after close: %v, want EOF", err)
	}
}
