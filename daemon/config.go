// Package daemon wires berthd together: configuration, the engine services,
// the API listeners, start-up reconciliation and orderly shutdown.
package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/berth-dev/berth/engine/runtime"
)

// Config is berthd's configuration: daemon.json keys (Docker's names where
// they exist) and the flags that set the same things.
type Config struct {
	Hosts          []string                `json:"hosts,omitempty"`
	DataRoot       string                  `json:"data-root,omitempty"`
	ExecRoot       string                  `json:"exec-root,omitempty"`
	Pidfile        string                  `json:"pidfile,omitempty"`
	Debug          bool                    `json:"debug,omitempty"`
	LogLevel       string                  `json:"log-level,omitempty"`
	DefaultRuntime string                  `json:"default-runtime,omitempty"`
	Runtimes       map[string]runtime.Spec `json:"runtimes,omitempty"`
	// DefaultIsolation is "process" (default) or "sandbox"/"hyperv" (runsc).
	DefaultIsolation string `json:"default-isolation,omitempty"`
	// UsernsRemap is "default" (the berth-remap user), "user" or
	// "user:group": containers' root is that user's subordinate ids.
	UsernsRemap string            `json:"userns-remap,omitempty"`
	LogDriver   string            `json:"log-driver,omitempty"`
	LogOpts     map[string]string `json:"log-opts,omitempty"`
	LiveRestore *bool             `json:"live-restore,omitempty"`
	Group       string            `json:"group,omitempty"`
	// CgroupHybridFix lets berthd move controllers off a hybrid host's
	// cgroup2 mount so crun works (see engine/runtime). Default true.
	CgroupHybridFix *bool `json:"cgroup-hybrid-fix,omitempty"`
	// CgroupFavorDynmods lets berthd set "favordynmods" on the host's
	// cgroup2 mount: a container's create and exec no longer wait for an
	// RCU grace period to move into their cgroups (see engine/runtime).
	// Default true.
	CgroupFavorDynmods *bool  `json:"cgroup-favordynmods,omitempty"`
	CgroupParent       string `json:"cgroup-parent,omitempty"`
	ShutdownTimeout    *int   `json:"shutdown-timeout,omitempty"`

	// Accepted for compatibility with dockerd configs; used by later work.
	InsecureRegistries []string `json:"insecure-registries,omitempty"`
	RegistryMirrors    []string `json:"registry-mirrors,omitempty"`
	Bip                string   `json:"bip,omitempty"`
	FixedCIDR          string   `json:"fixed-cidr,omitempty"`
	// IPv6 on the default bridge (dockerd's keys); ip6tables defaults to true.
	IPv6        bool   `json:"ipv6,omitempty"`
	FixedCIDRv6 string `json:"fixed-cidr-v6,omitempty"`
	Ip6tables   *bool  `json:"ip6tables,omitempty"`
	MTU         int    `json:"mtu,omitempty"`
	// Bridge names the default bridge interface (dockerd's "bridge" key;
	// "berth0" by default so Berth and Docker can share a host).
	Bridge string `json:"bridge,omitempty"`
	// IptablesChainPrefix names Berth's netfilter chains ("BERTH"); each
	// berthd on one host needs its own.
	IptablesChainPrefix    string            `json:"iptables-chain-prefix,omitempty"`
	DefaultAddressPools    []json.RawMessage `json:"default-address-pools,omitempty"`
	Iptables               *bool             `json:"iptables,omitempty"`
	IPForward              *bool             `json:"ip-forward,omitempty"`
	DefaultUlimits         map[string]any    `json:"default-ulimits,omitempty"`
	StorageDriver          string            `json:"storage-driver,omitempty"`
	StorageOpts            []string          `json:"storage-opts,omitempty"`
	TLS                    *bool             `json:"tls,omitempty"`
	TLSVerify              *bool             `json:"tlsverify,omitempty"`
	TLSCACert              string            `json:"tlscacert,omitempty"`
	TLSCert                string            `json:"tlscert,omitempty"`
	TLSKey                 string            `json:"tlskey,omitempty"`
	MaxConcurrentDownloads *int              `json:"max-concurrent-downloads,omitempty"`
	MaxConcurrentUploads   *int              `json:"max-concurrent-uploads,omitempty"`
	// AllowPlainTCP accepts serving the API without TLS on a non-loopback
	// address. Anyone who reaches it is root on this host.
	AllowPlainTCP bool `json:"allow-plain-tcp,omitempty"`
	// HostGatewayIP is what "host-gateway" in --add-host stands for
	// (default: the default bridge's gateway address).
	HostGatewayIP string `json:"host-gateway-ip,omitempty"`
	// APILimits bounds connections and slow requests per listener.
	APILimits *APILimits `json:"api-limits,omitempty"`
	// CRI is the Kubernetes CRI endpoint (on by default).
	CRI *CRIConfig `json:"cri,omitempty"`
	// UIAddr is where the dashboard is served (host:port); off when empty.
	UIAddr string `json:"ui-addr,omitempty"`
	// Builder configures BuildKit builds (Docker's "builder" key):
	// entitlements and the build cache's garbage collection.
	Builder *BuilderConfig `json:"builder,omitempty"`
}

// TLSDir is where `berthd certs` writes the server's files by default.
const TLSDir = "/etc/berth/tls"

// tlsOn reports whether TCP listeners use TLS.
func (c *Config) tlsOn() bool {
	return (c.TLS != nil && *c.TLS) || (c.TLSVerify != nil && *c.TLSVerify)
}

// Defaults fills what neither the file nor the flags set.
func (c *Config) Defaults() {
	if len(c.Hosts) == 0 {
		c.Hosts = []string{"unix:///run/berth/berth.sock"}
	}
	if c.DataRoot == "" {
		c.DataRoot = "/var/lib/berth"
	}
	if c.ExecRoot == "" {
		c.ExecRoot = "/run/berth"
	}
	if c.Pidfile == "" {
		c.Pidfile = c.ExecRoot + "/berthd.pid"
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.Debug {
		c.LogLevel = "debug"
	}
	if c.LogDriver == "" {
		c.LogDriver = "json-file"
	}
	if c.LiveRestore == nil {
		t := true
		c.LiveRestore = &t
	}
	if c.CgroupHybridFix == nil {
		t := true
		c.CgroupHybridFix = &t
	}
	if c.CgroupFavorDynmods == nil {
		t := true
		c.CgroupFavorDynmods = &t
	}
	if c.Group == "" {
		c.Group = "berth"
	}
	if c.TLSCACert == "" {
		c.TLSCACert = TLSDir + "/ca.pem"
	}
	if c.TLSCert == "" {
		c.TLSCert = TLSDir + "/server-cert.pem"
	}
	if c.TLSKey == "" {
		c.TLSKey = TLSDir + "/server-key.pem"
	}
	if c.ShutdownTimeout == nil {
		n := 15
		c.ShutdownTimeout = &n
	}
}

// LoadFile reads a daemon.json. Unknown keys and wrong types are errors that
// name them; a missing default file is not an error.
func LoadFile(path string, mustExist bool) (*Config, map[string]bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) && !mustExist {
			return &Config{}, map[string]bool{}, nil
		}
		return nil, nil, fmt.Errorf("unable to configure the daemon with file %s: %w", path, err)
	}
	var raw map[string]json.RawMessage
	if len(bytes.TrimSpace(data)) == 0 {
		return &Config{}, map[string]bool{}, nil
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, fmt.Errorf("unable to configure the daemon with file %s: %v", path, err)
	}
	known := map[string]bool{}
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		known[name] = true
	}
	var unknown []string
	set := map[string]bool{}
	for k := range raw {
		if !known[k] {
			unknown = append(unknown, k)
		}
		set[k] = true
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, nil, fmt.Errorf("unable to configure the daemon with file %s: the following directives don't match any configuration option: %s", path, strings.Join(unknown, ", "))
	}
	var c Config
	for k, v := range raw {
		one, _ := json.Marshal(map[string]json.RawMessage{k: v})
		if err := json.Unmarshal(one, &c); err != nil {
			return nil, nil, fmt.Errorf("unable to configure the daemon with file %s: invalid value for %q: %v", path, k, err)
		}
	}
	return &c, set, nil
}

// Conflicts names the keys set both by a flag and in the file, as dockerd
// refuses them.
func Conflicts(flagsSet, fileSet map[string]bool) error {
	var both []string
	for k := range flagsSet {
		if fileSet[k] {
			both = append(both, k)
		}
	}
	if len(both) == 0 {
		return nil
	}
	sort.Strings(both)
	return fmt.Errorf("unable to configure the daemon with file: the following directives are specified both as a flag and in the configuration file: %s", strings.Join(both, ", "))
}
