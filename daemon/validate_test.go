package daemon

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	valid := func(mod func(c *Config)) *Config {
		c := &Config{}
		mod(c)
		c.Defaults()
		return c
	}
	for name, c := range map[string]*Config{
		"defaults":          valid(func(c *Config) {}),
		"loopback tcp":      valid(func(c *Config) { c.Hosts = []string{"tcp://127.0.0.1:2375", "unix:///tmp/x.sock"} }),
		"localhost":         valid(func(c *Config) { c.Hosts = []string{"localhost:2375"} }),
		"allow-plain-tcp":   valid(func(c *Config) { c.Hosts, c.AllowPlainTCP = []string{"tcp://0.0.0.0:2375"}, true }),
		"fd without socket": valid(func(c *Config) { c.Hosts = []string{"fd://"} }),
		"ui-addr loopback":  valid(func(c *Config) { c.UIAddr = "127.0.0.1:9090" }),
		"ui-addr localhost": valid(func(c *Config) { c.UIAddr = "localhost:0" }),
		"pools": valid(func(c *Config) {
			c.DefaultAddressPools = []json.RawMessage{json.RawMessage(`{"base":"10.10.0.0/16","size":24}`)}
		}),
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for want, c := range map[string]*Config{
		"refusing to serve the API without TLS": valid(func(c *Config) { c.Hosts = []string{"tcp://0.0.0.0:2375"} }),
		"protocol \"http\"":                     valid(func(c *Config) { c.Hosts = []string{"http://x"} }),
		"unable to parse logging level":         valid(func(c *Config) { c.LogLevel = "loud" }),
		"max-file":                              valid(func(c *Config) { c.LogOpts = map[string]string{"max-file": "0"} }),
		"loopback":                              valid(func(c *Config) { c.Bip = "127.0.0.1/8" }),
		"default-address-pools[0] base": valid(func(c *Config) {
			c.DefaultAddressPools = []json.RawMessage{json.RawMessage(`{"base":"169.254.0.0/16","size":24}`)}
		}),
		"load TLS certificate": valid(func(c *Config) { tr := true; c.TLSVerify = &tr; c.TLSCert = "/nonexistent/cert.pem" }),
		"refusing to serve the dashboard without TLS on 0.0.0.0:9090": valid(func(c *Config) { c.UIAddr = "0.0.0.0:9090" }),
		"invalid ui-addr \"9090\"":                                    valid(func(c *Config) { c.UIAddr = "9090" }),
		"invalid ui-addr \"example.com:9090\"":                        valid(func(c *Config) { c.UIAddr = "example.com:9090" }),
	} {
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want an error containing %q", err, want)
		}
	}
}

// A second daemon must not take over a socket a live daemon answers on; a
// socket file nothing answers on is stale and may be replaced.
func TestCheckNotRunning(t *testing.T) {
	dir, err := os.MkdirTemp("/tmp", "bt-sock-") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	live := filepath.Join(dir, "live.sock")
	l, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("OK")) }))
	stale := filepath.Join(dir, "stale.sock")
	sl, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	sl.(*net.UnixListener).SetUnlinkOnClose(false)
	sl.Close()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	cfg := func(sock string) *Config {
		c := &Config{Hosts: []string{"unix://" + sock}, Pidfile: filepath.Join(dir, "pid")}
		c.Defaults()
		return c
	}
	if err := checkNotRunning(cfg(live)); err == nil || !strings.Contains(err.Error(), "already answering") {
		t.Errorf("live socket: %v, want a refusal", err)
	}
	if err := checkNotRunning(cfg(stale)); err != nil {
		t.Errorf("stale socket refused: %v", err)
	}
	if err := checkNotRunning(cfg(filepath.Join(dir, "missing.sock"))); err != nil {
		t.Errorf("missing socket refused: %v", err)
	}
	if err := checkNotRunning(cfg(file)); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("regular file: %v, want a refusal", err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("the regular file was touched: %v", err)
	}
	checkHeldSockets(t, dir, cfg)
}

// checkHeldSockets: a socket that takes connections but answers nothing is
// a daemon's listener inherited by a child caught between fork and exec when
// the daemon was killed (TestCrashRandomKills met it): stale once the child
// drops it, a refusal only if it keeps answering nothing for answerWait.
func checkHeldSockets(t *testing.T, dir string, cfg func(string) *Config) {
	defer func(w time.Duration) { answerWait = w }(answerWait)
	answerWait = 300 * time.Millisecond
	held := filepath.Join(dir, "held.sock")
	hl, err := net.Listen("unix", held)
	if err != nil {
		t.Fatal(err)
	}
	hl.(*net.UnixListener).SetUnlinkOnClose(false)
	go func() {
		// The holder goes away after the first connection, unanswered.
		c, err := hl.Accept()
		hl.Close()
		if err == nil {
			c.Close()
		}
	}()
	if err := checkNotRunning(cfg(held)); err != nil {
		t.Errorf("socket held without answer, then dropped: %v, want it treated as stale", err)
	}
	mute := filepath.Join(dir, "mute.sock")
	ml, err := net.Listen("unix", mute)
	if err != nil {
		t.Fatal(err)
	}
	defer ml.Close()
	if err := checkNotRunning(cfg(mute)); err == nil || !strings.Contains(err.Error(), "already answering") {
		t.Errorf("socket that keeps taking connections: %v, want a refusal", err)
	}
}

// FuzzParseHost: any -H value is parsed or refused without panicking, and
// plain TCP is only ever accepted on loopback unless allowed.
func FuzzParseHost(f *testing.F) {
	for _, s := range []string{"unix:///run/berth/berth.sock", "tcp://0.0.0.0:2375", "tcp://127.0.0.1", "localhost:2375",
		"fd://3", "/x.sock", "tcp://[::1]:2375", "tcp://[::]:2375", "http://x", "tcp://", "://", "tcp://127.0.0.1.nip.io:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		c := &Config{}
		c.Defaults()
		ha, err := c.parseHost(h)
		if err != nil {
			return
		}
		switch ha.proto {
		case "unix", "fd":
		case "tcp":
			if !ha.loopback {
				t.Fatalf("%q: plain TCP accepted on a non-loopback address %s", h, ha.addr)
			}
			host, _, err := net.SplitHostPort(ha.addr)
			if err != nil {
				t.Fatalf("%q: address %q: %v", h, ha.addr, err)
			}
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				t.Fatalf("%q: %q taken for loopback", h, host)
			}
		default:
			t.Fatalf("%q: protocol %q accepted", h, ha.proto)
		}
	})
}
