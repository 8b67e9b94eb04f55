package containers

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/mounts"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"golang.org/x/sys/unix"
)

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"PATH=/bin", "A=1"}, []string{"A=2", "B=3", "NOVALUE"})
	want := []string{"PATH=/bin", "A=2", "B=3"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("mergeEnv = %v, want %v", got, want)
	}
}

func TestMergeImageConfig(t *testing.T) {
	img := &images.Image{}
	img.Config.Config.Cmd = []string{"sh"}
	img.Config.Config.Entrypoint = []string{"/init"}
	img.Config.Config.Env = []string{"PATH=/usr/bin", "X=img"}
	img.Config.Config.WorkingDir = "/srv"
	img.Config.Config.Labels = map[string]string{"a": "img", "b": "img"}

	// No request command: the image's entrypoint and cmd.
	cfg := &container.Config{Env: []string{"X=req"}, Labels: map[string]string{"b": "req"}}
	mergeImageConfig(cfg, img)
	if strings.Join(cfg.Entrypoint, " ") != "/init" || strings.Join(cfg.Cmd, " ") != "sh" {
		t.Fatalf("entrypoint/cmd = %v %v", cfg.Entrypoint, cfg.Cmd)
	}
	if strings.Join(cfg.Env, ",") != "PATH=/usr/bin,X=req" || cfg.WorkingDir != "/srv" {
		t.Fatalf("env/workdir = %v %q", cfg.Env, cfg.WorkingDir)
	}
	if cfg.Labels["a"] != "img" || cfg.Labels["b"] != "req" {
		t.Fatalf("labels = %v", cfg.Labels)
	}

	// A request entrypoint drops the image's cmd, as Docker does.
	cfg = &container.Config{Entrypoint: []string{"echo"}}
	mergeImageConfig(cfg, img)
	if strings.Join(cfg.Entrypoint, " ") != "echo" || len(cfg.Cmd) != 0 {
		t.Fatalf("entrypoint override: %v %v", cfg.Entrypoint, cfg.Cmd)
	}

	// --entrypoint "" resets it; the request's cmd stays.
	cfg = &container.Config{Entrypoint: []string{""}, Cmd: []string{"ls"}}
	mergeImageConfig(cfg, img)
	if len(cfg.Entrypoint) != 0 || strings.Join(cfg.Cmd, " ") != "ls" {
		t.Fatalf("empty entrypoint: %v %v", cfg.Entrypoint, cfg.Cmd)
	}
}

func TestStatusText(t *testing.T) {
	now := time.Now()
	cases := []struct {
		st   State
		want string
	}{
		{State{Status: StatusCreated}, "Created"},
		{State{Status: StatusRunning, StartedAt: now.Add(-3 * time.Second)}, "Up 3 seconds"},
		{State{Status: StatusPaused, StartedAt: now.Add(-2 * time.Minute)}, "Up 2 minutes (Paused)"},
		{State{Status: StatusExited, ExitCode: 7, FinishedAt: now.Add(-5 * time.Second)}, "Exited (7) 5 seconds ago"},
	}
	for _, c := range cases {
		if got := statusText(c.st, now); got != c.want {
			t.Errorf("statusText(%+v) = %q, want %q", c.st, got, c.want)
		}
	}
}

func TestListFilterMatch(t *testing.T) {
	c := &Container{ID: "abcdef0123", Name: "web_1", Config: &container.Config{Labels: map[string]string{"env": "prod"},
		ExposedPorts: network.PortSet{network.MustParsePort("8080/tcp"): {}}},
		HostConfig: &container.HostConfig{NetworkMode: "bridge",
			PortBindings: network.PortMap{network.MustParsePort("80/tcp"): nil}},
		MountPoints: []mounts.MountPoint{{Type: "volume", Name: "data", Destination: "/data"}},
		State:       State{Status: StatusExited, ExitCode: 3}}
	nets := map[string]*network.EndpointSettings{"bridge": {}, "backend": {NetworkID: "f00d"}}
	yes := []map[string][]string{
		{"id": {"abc"}}, {"name": {"web"}}, {"status": {"exited"}}, {"exited": {"3"}},
		{"label": {"env"}}, {"label": {"env=prod"}}, {"name": {"nope", "web"}}, {"network": {"bridge"}},
		{"network": {"backend"}}, {"network": {"f00d"}}, {"volume": {"data"}}, {"volume": {"/data"}},
		{"publish": {"80"}}, {"publish": {"80/tcp"}}, {"publish": {"70-90"}}, {"expose": {"8080"}},
		{"is-task": {"false"}}, {"isolation": {"default"}}, {"health": {"none"}},
	}
	no := []map[string][]string{
		{"id": {"bcd"}}, {"status": {"running"}}, {"exited": {"0"}}, {"label": {"env=dev"}},
		{"label": {"env", "team"}}, {"name": {"db"}, "status": {"exited"}}, {"network": {"frontend"}},
		{"volume": {"other"}}, {"publish": {"8080"}}, {"publish": {"80/udp"}}, {"expose": {"9000"}},
		{"is-task": {"true"}}, {"isolation": {"hyperv"}}, {"health": {"healthy"}},
	}
	s := &Service{}
	for _, f := range yes {
		lf, err := s.newListFilter(context.Background(), f)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		if !lf.match(c, "none", nets) {
			t.Errorf("%v should match", f)
		}
	}
	for _, f := range no {
		lf, err := s.newListFilter(context.Background(), f)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		if lf.match(c, "none", nets) {
			t.Errorf("%v should not match", f)
		}
	}
	for _, bad := range []map[string][]string{{"bogus": {"x"}}, {"publish": {"http"}}, {"exited": {"x"}},
		{"is-task": {"maybe"}}, {"health": {"sick"}}, {"status": {"up"}}, {"label!": {"a"}}} {
		if _, err := s.newListFilter(context.Background(), bad); !errdefs.IsInvalid(err) {
			t.Errorf("%v: got %v, want an invalid-argument error", bad, err)
		}
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]unix.Signal{"": unix.SIGTERM, "KILL": unix.SIGKILL, "SIGHUP": unix.SIGHUP, "sigusr1": unix.SIGUSR1, "9": unix.SIGKILL} {
		got, err := parseSignal(in, unix.SIGTERM)
		if err != nil || got != want {
			t.Errorf("parseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"NOPE", "0", "99", "-1"} {
		if _, err := parseSignal(bad, unix.SIGTERM); err == nil {
			t.Errorf("parseSignal(%q) accepted", bad)
		}
	}
}

func TestShouldRestart(t *testing.T) {
	mk := func(name container.RestartPolicyMode, max, code, count int, byUser bool) *Container {
		return &Container{HostConfig: &container.HostConfig{RestartPolicy: container.RestartPolicy{Name: name, MaximumRetryCount: max}},
			RestartCount: count, State: State{ExitCode: code, StoppedByUser: byUser}}
	}
	cases := []struct {
		c    *Container
		want bool
	}{
		{mk("no", 0, 1, 0, false), false},
		{mk("always", 0, 0, 5, false), true},
		{mk("always", 0, 0, 0, true), false},
		{mk("unless-stopped", 0, 0, 0, false), true},
		{mk("unless-stopped", 0, 1, 0, true), false},
		{mk("on-failure", 0, 0, 0, false), false},
		{mk("on-failure", 3, 1, 2, false), true},
		{mk("on-failure", 3, 1, 3, false), false},
		{mk("on-failure", 0, 1, 100, false), true},
	}
	for i, c := range cases {
		if got := shouldRestart(c.c); got != c.want {
			t.Errorf("case %d: shouldRestart = %v, want %v", i, got, c.want)
		}
	}
}

func TestParseDetachKeys(t *testing.T) {
	got, err := ParseDetachKeys("")
	if err != nil || !bytes.Equal(got, []byte{16, 17}) {
		t.Fatalf("default = %v, %v", got, err)
	}
	got, err = ParseDetachKeys("ctrl-a,x,ctrl-@,ctrl-[")
	if err != nil || !bytes.Equal(got, []byte{1, 'x', 0, 27}) {
		t.Fatalf("custom = %v, %v", got, err)
	}
	for _, bad := range []string{"ctrl-", "ctrl-1", "abc", "ctrl-a,,"} {
		if _, err := ParseDetachKeys(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCopyStdinDetach(t *testing.T) {
	keys := []byte{16, 17}
	var out bytes.Buffer
	err := copyStdin(&out, bytes.NewReader([]byte("ab\x10c\x10\x11zz")), keys)
	if err != errDetached || out.String() != "ab\x10c" {
		t.Fatalf("copyStdin = %q, %v", out.String(), err)
	}
	out.Reset()
	err = copyStdin(&out, bytes.NewReader([]byte("hello\x10")), keys)
	if err != nil || out.String() != "hello" {
		// A lone first key at EOF is held back and then dropped with the
		// stream; what came before it is delivered.
		t.Fatalf("copyStdin EOF = %q, %v", out.String(), err)
	}
}

// FuzzCopyStdin checks that the detach scanner never invents or reorders
// bytes: the output is always a prefix-preserving subsequence of the input
// with only detach-key bytes held back.
func FuzzCopyStdin(f *testing.F) {
	f.Add([]byte("abc\x10\x11def"))
	f.Add([]byte("\x10\x10\x11"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		err := copyStdin(&out, bytes.NewReader(in), []byte{16, 17})
		if !bytes.HasPrefix(in, out.Bytes()) {
			t.Fatalf("output %q is not a prefix of input %q", out.Bytes(), in)
		}
		if err == errDetached && !bytes.Contains(in, []byte{16, 17}) {
			t.Fatalf("detached without the sequence in %q", in)
		}
		if err == nil && bytes.Contains(in, []byte{16, 17}) {
			t.Fatalf("sequence in %q not detected", in)
		}
	})
}

func FuzzParseDetachKeys(f *testing.F) {
	f.Add("ctrl-p,ctrl-q")
	f.Add("a,b")
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := ParseDetachKeys(s)
		if err == nil && s != "" && len(keys) != len(strings.Split(s, ",")) {
			t.Fatalf("%q gave %d keys", s, len(keys))
		}
	})
}

func TestResolvConf(t *testing.T) {
	got := string(resolvConf([]netip.Addr{netip.MustParseAddr("192.0.2.53")}, []string{"example.test"}, []string{"ndots:2"}, false, nil))
	if !strings.Contains(got, "nameserver 192.0.2.53\n") || !strings.Contains(got, "search example.test\n") || !strings.Contains(got, "options ndots:2\n") {
		t.Fatalf("resolv.conf:\n%s", got)
	}
	if strings.Contains(got, "nameserver 127.") {
		t.Fatalf("loopback resolver kept:\n%s", got)
	}
	got = string(resolvConf(nil, nil, nil, false, []string{"127.0.0.11"}))
	if !strings.HasPrefix(got, "nameserver 127.0.0.11\n") || !strings.Contains(got, "ndots:0") {
		t.Fatalf("embedded DNS resolv.conf:\n%s", got)
	}
}

func TestStartErrorWording(t *testing.T) {
	cases := map[string]int{
		"executable file `nope` not found in $PATH: No such file or directory": 127,
		"open executable: Permission denied":                                   126,
		"exec: \"/etc\": is a directory":                                       126,
		"something else broke":                                                 128,
	}
	for raw, code := range cases {
		err := startError(errString(raw), "nope")
		if got := exitCodeOf(err); got != code {
			t.Errorf("%q: exit code %d, want %d (%v)", raw, got, code, err)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestValidateCpusets(t *testing.T) {
	for _, ok := range []string{"", "0", "0-0", "0,0"} {
		if err := validateCpusets(ok, ""); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"x", "1-0", "-1", "0-99999999", "4096", "0,,1", strings.Repeat("0,", 10)} {
		if err := validateCpusets(bad, ""); !errdefs.IsInvalid(err) {
			t.Errorf("%q: got %v, want an invalid-argument error", bad, err)
		}
	}
}
