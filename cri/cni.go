package cri

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"

	"github.com/containernetworking/cni/libcni"
	current "github.com/containernetworking/cni/pkg/types/100"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// cniNet runs the CNI plugins for pod sandboxes: the loopback plugin,
// then the first network config (by file name) of the config directory,
// as containerd and CRI-O do.
type cniNet struct {
	confDir string
	cni     *libcni.CNIConfig
}

func newCNI(cfg Config) *cniNet {
	return &cniNet{confDir: cfg.CNIConfDir, cni: libcni.NewCNIConfigWithCacheDir(cfg.CNIBinDirs, cfg.CNICacheDir, nil)}
}

// network loads the pod network config; the error says why there is none.
func (c *cniNet) network() (*libcni.NetworkConfigList, error) {
	files, err := libcni.ConfFiles(c.confDir, []string{".conf", ".conflist", ".json"})
	if err != nil {
		return nil, fmt.Errorf("cni config dir %s: %w", c.confDir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no network config found in %s: cni plugin not initialized", c.confDir)
	}
	sort.Strings(files)
	var errs []error
	for _, f := range files {
		var list *libcni.NetworkConfigList
		if filepathExt(f) == ".conflist" {
			list, err = libcni.ConfListFromFile(f)
		} else {
			var conf *libcni.PluginConfig
			conf, err = libcni.ConfFromFile(f)
			if err == nil {
				list, err = libcni.ConfListFromConf(conf)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
			continue
		}
		if len(list.Plugins) == 0 {
			errs = append(errs, fmt.Errorf("%s: no plugins", f))
			continue
		}
		return list, nil
	}
	return nil, errors.Join(errs...)
}

func filepathExt(f string) string {
	for i := len(f) - 1; i >= 0 && f[i] != '/'; i-- {
		if f[i] == '.' {
			return f[i:]
		}
	}
	return ""
}

func (c *cniNet) ready() error {
	_, err := c.network()
	return err
}

var loopbackConf = []byte(`{"cniVersion":"1.0.0","name":"cni-loopback","plugins":[{"type":"loopback"}]}`)

// portMapping is the portmap plugin's capability argument.
type portMapping struct {
	HostPort      int32  `json:"hostPort"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
}

func (c *cniNet) runtimeConf(sb *sandbox, ifName string) *libcni.RuntimeConf {
	md := sb.Config.GetMetadata()
	rc := &libcni.RuntimeConf{
		ContainerID: sb.ID, NetNS: sb.Namespaces["network"], IfName: ifName,
		Args: [][2]string{
			{"IgnoreUnknown", "1"},
			{"K8S_POD_NAMESPACE", md.GetNamespace()},
			{"K8S_POD_NAME", md.GetName()},
			{"K8S_POD_INFRA_CONTAINER_ID", sb.ID},
			{"K8S_POD_UID", md.GetUid()},
		},
		CapabilityArgs: map[string]any{},
	}
	var pms []portMapping
	for _, pm := range sb.Config.GetPortMappings() {
		if pm.HostPort <= 0 {
			continue
		}
		proto := "tcp"
		switch pm.Protocol {
		case runtimeapi.Protocol_UDP:
			proto = "udp"
		case runtimeapi.Protocol_SCTP:
			proto = "sctp"
		}
		pms = append(pms, portMapping{HostPort: pm.HostPort, ContainerPort: pm.ContainerPort, Protocol: proto, HostIP: pm.HostIp})
	}
	if len(pms) > 0 {
		rc.CapabilityArgs["portMappings"] = pms
	}
	if dns := sb.Config.GetDnsConfig(); dns != nil {
		rc.CapabilityArgs["dns"] = map[string]any{"servers": dns.Servers, "searches": dns.Searches, "options": dns.Options}
	}
	return rc
}

// setUp attaches the sandbox's network namespace; it returns the pod IPs.
func (c *cniNet) setUp(ctx context.Context, sb *sandbox) ([]string, error) {
	list, err := c.network()
	if err != nil {
		return nil, err
	}
	lo, err := libcni.ConfListFromBytes(loopbackConf)
	if err != nil {
		return nil, err
	}
	if _, err := c.cni.AddNetworkList(ctx, lo, c.runtimeConf(sb, "lo")); err != nil {
		return nil, fmt.Errorf("cni loopback: %w", err)
	}
	res, err := c.cni.AddNetworkList(ctx, list, c.runtimeConf(sb, "eth0"))
	if err != nil {
		return nil, fmt.Errorf("cni network %q: %w", list.Name, err)
	}
	r, err := current.NewResultFromResult(res)
	if err != nil {
		return nil, fmt.Errorf("cni network %q result: %w", list.Name, err)
	}
	var ips []string
	for _, ip := range r.IPs {
		if ip.Address.IP == nil {
			continue
		}
		ips = append(ips, ip.Address.IP.String())
	}
	// IPv4 first, as kubelet takes the first as the pod IP.
	sort.SliceStable(ips, func(i, j int) bool {
		return net.ParseIP(ips[i]).To4() != nil && net.ParseIP(ips[j]).To4() == nil
	})
	return ips, nil
}

// tearDown detaches the sandbox from the pod network (DEL is idempotent
// in CNI; a gone namespace still releases the address and port maps).
func (c *cniNet) tearDown(ctx context.Context, sb *sandbox) error {
	list, err := c.network()
	if err != nil {
		return err
	}
	rc := c.runtimeConf(sb, "eth0")
	if _, err := os.Stat(rc.NetNS); err != nil {
		rc.NetNS = ""
	}
	if err := c.cni.DelNetworkList(ctx, list, rc); err != nil {
		return fmt.Errorf("cni network %q: %w", list.Name, err)
	}
	if lo, err := libcni.ConfListFromBytes(loopbackConf); err == nil && rc.NetNS != "" {
		c.cni.DelNetworkList(ctx, lo, c.runtimeConf(sb, "lo"))
	}
	return nil
}
