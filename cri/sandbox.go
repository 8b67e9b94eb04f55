package cri

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/berth-dev/berth/internal/stringid"
)

const (
	sandboxBucket   = "cri-sandboxes"
	containerBucket = "cri-containers"
)

// sandbox is a pod sandbox's record.
type sandbox struct {
	ID        string
	Config    *runtimeapi.PodSandboxConfig
	Handler   string
	CreatedAt int64
	Ready     bool
	// Namespaces are the pinned namespaces by OCI type (absent: the
	// host's, for hostNetwork/hostIPC pods).
	Namespaces map[string]string
	// IPs are the pod's addresses from CNI, the first is the pod IP.
	IPs []string
	// PodInit is the pid of the init holding the pod's shared PID
	// namespace (0: none).
	PodInit int
	// Networked is set while CNI holds an attachment for the sandbox.
	Networked bool
	Dir       string
}

func (sb *sandbox) hostnamePath() string { return filepath.Join(sb.Dir, "hostname") }
func (sb *sandbox) hostsPath() string    { return filepath.Join(sb.Dir, "hosts") }
func (sb *sandbox) resolvPath() string   { return filepath.Join(sb.Dir, "resolv.conf") }

func (s *Server) saveSandbox(sb *sandbox) error { return s.store.Put(sandboxBucket, sb.ID, sb) }

// load reads the records. Pinned namespaces survive berthd; after a host
// reboot they are gone, and such a sandbox is reported NotReady.
func (s *Server) load() error {
	err := s.store.ForEach(sandboxBucket, func(k string, v []byte) error {
		var sb sandbox
		if err := json.Unmarshal(v, &sb); err != nil {
			s.log.Error("cri: skipping unreadable sandbox record", "id", k, "err", err)
			return nil
		}
		if p := sb.Namespaces["network"]; sb.Ready && p != "" && !isPinned(p) {
			sb.Ready = false
		}
		if sb.PodInit != 0 && !podInitAlive(sb.PodInit) {
			sb.Ready = false
		}
		s.sandboxes[sb.ID] = &sb
		return nil
	})
	if err != nil {
		return err
	}
	return s.store.ForEach(containerBucket, func(k string, v []byte) error {
		var c criContainer
		if err := json.Unmarshal(v, &c); err != nil {
			s.log.Error("cri: skipping unreadable container record", "id", k, "err", err)
			return nil
		}
		s.containers[c.ID] = &c
		return nil
	})
}

// lookupSandbox finds a sandbox by ID or unique ID prefix.
func (s *Server) lookupSandbox(ref string) (*sandbox, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return lookupByPrefix(s.sandboxes, ref, "pod sandbox")
}

// lookupByPrefix finds ref in m as a full ID or a unique ID prefix.
func lookupByPrefix[T any](m map[string]*T, ref, kind string) (*T, error) {
	if ref == "" {
		return nil, invalid("%s ID must not be empty", kind)
	}
	if v, ok := m[ref]; ok {
		return v, nil
	}
	var found *T
	for id, v := range m {
		if strings.HasPrefix(id, ref) {
			if found != nil {
				return nil, invalid("%s ID prefix %q is ambiguous", kind, ref)
			}
			found = v
		}
	}
	if found == nil {
		return nil, notFound("%s %q not found", kind, ref)
	}
	return found, nil
}

func sandboxName(md *runtimeapi.PodSandboxMetadata) string {
	return fmt.Sprintf("%s_%s_%s_%d", md.GetName(), md.GetNamespace(), md.GetUid(), md.GetAttempt())
}

// RunPodSandbox pins the pod's namespaces, writes its host files and
// attaches it to the CNI network.
func (s *Server) RunPodSandbox(ctx context.Context, r *runtimeapi.RunPodSandboxRequest) (*runtimeapi.RunPodSandboxResponse, error) {
	cfg := r.GetConfig()
	md := cfg.GetMetadata()
	if md == nil || md.Name == "" || md.Namespace == "" || md.Uid == "" {
		return nil, invalid("sandbox config must include metadata with name, namespace and uid")
	}
	if err := s.checkHandler(r.RuntimeHandler); err != nil {
		return nil, err
	}
	nsOpts := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
	s.mu.Lock()
	name := sandboxName(md)
	for _, other := range s.sandboxes {
		if sandboxName(other.Config.GetMetadata()) == name {
			s.mu.Unlock()
			return nil, status.Errorf(codes.AlreadyExists, "pod sandbox name %q is reserved by %s", name, other.ID)
		}
	}
	sb := &sandbox{ID: stringid.New(), Config: cfg, Handler: r.RuntimeHandler, CreatedAt: time.Now().UnixNano()}
	sb.Dir = filepath.Join(s.cfg.StateDir, "sandboxes", sb.ID)
	s.sandboxes[sb.ID] = sb
	s.mu.Unlock()
	ok := false
	defer func() {
		if !ok {
			s.destroySandbox(context.WithoutCancel(ctx), sb)
		}
	}()
	if err := os.MkdirAll(sb.Dir, 0o755); err != nil {
		return nil, err
	}
	hostname := cfg.Hostname
	hostNet := nsOpts.GetNetwork() == runtimeapi.NamespaceMode_NODE
	if hostNet {
		hostname, _ = os.Hostname()
	} else if hostname == "" {
		// As kubelet does for a pod name: at most 63 bytes, no trailing
		// '-' or '.'.
		hostname = strings.TrimRight(md.Name[:min(len(md.Name), 63)], "-.")
	} else if len(hostname) > 64 {
		return nil, invalid("hostname %q is longer than 64 bytes", hostname)
	}
	types := map[string]bool{"network": !hostNet, "uts": !hostNet, "ipc": nsOpts.GetIpc() != runtimeapi.NamespaceMode_NODE}
	ns, err := pinNamespaces(sb.Dir, types, hostname)
	if err != nil {
		return nil, fmt.Errorf("pod sandbox namespaces: %w", err)
	}
	sb.Namespaces = ns
	if nsOpts.GetPid() == runtimeapi.NamespaceMode_POD {
		if sb.PodInit, err = startPodInit(s.cfg.MonitorPath); err != nil {
			return nil, err
		}
		sb.Namespaces["pid"] = pidNSPath(sb.PodInit)
	}
	if err := writeSandboxFiles(sb, hostname, hostNet); err != nil {
		return nil, err
	}
	if err := s.saveSandbox(sb); err != nil {
		return nil, err
	}
	if !hostNet {
		sb.Networked = true // a failed ADD is undone by DEL
		ips, err := s.cni.setUp(ctx, sb)
		if err != nil {
			return nil, fmt.Errorf("pod network: %w", err)
		}
		sb.IPs = ips
		if err := writeHosts(sb, hostname); err != nil {
			return nil, err
		}
	}
	sb.Ready = true
	if err := s.saveSandbox(sb); err != nil {
		return nil, err
	}
	ok = true
	return &runtimeapi.RunPodSandboxResponse{PodSandboxId: sb.ID}, nil
}

func (s *Server) checkHandler(h string) error {
	if h == "" {
		return nil
	}
	for _, k := range s.cfg.RuntimeHandlers {
		if k == h {
			return nil
		}
	}
	return invalid("no runtime for %q is configured", h)
}

// writeSandboxFiles writes hostname and resolv.conf (from the DNS config,
// or the host's) and a first hosts file.
func writeSandboxFiles(sb *sandbox, hostname string, hostNet bool) error {
	if err := os.WriteFile(sb.hostnamePath(), []byte(hostname+"\n"), 0o644); err != nil {
		return err
	}
	var resolv []byte
	if dns := sb.Config.GetDnsConfig(); dns != nil && (len(dns.Servers) > 0 || len(dns.Searches) > 0 || len(dns.Options) > 0) {
		var b strings.Builder
		if len(dns.Searches) > 0 {
			fmt.Fprintf(&b, "search %s\n", strings.Join(dns.Searches, " "))
		}
		for _, srv := range dns.Servers {
			fmt.Fprintf(&b, "nameserver %s\n", srv)
		}
		if len(dns.Options) > 0 {
			fmt.Fprintf(&b, "options %s\n", strings.Join(dns.Options, " "))
		}
		resolv = []byte(b.String())
	} else {
		var err error
		if resolv, err = os.ReadFile("/etc/resolv.conf"); err != nil {
			resolv = nil
		}
	}
	if err := os.WriteFile(sb.resolvPath(), resolv, 0o644); err != nil {
		return err
	}
	if hostNet {
		hosts, _ := os.ReadFile("/etc/hosts")
		return os.WriteFile(sb.hostsPath(), hosts, 0o644)
	}
	return writeHosts(sb, hostname)
}

func writeHosts(sb *sandbox, hostname string) error {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	for _, ip := range sb.IPs {
		fmt.Fprintf(&b, "%s\t%s\n", ip, hostname)
	}
	return os.WriteFile(sb.hostsPath(), []byte(b.String()), 0o644)
}

// StopPodSandbox stops the pod's containers and detaches its network; it
// can be called again.
func (s *Server) StopPodSandbox(ctx context.Context, r *runtimeapi.StopPodSandboxRequest) (*runtimeapi.StopPodSandboxResponse, error) {
	sb, err := s.lookupSandbox(r.PodSandboxId)
	if err != nil {
		if isNotFound(err) {
			return &runtimeapi.StopPodSandboxResponse{}, nil
		}
		return nil, err
	}
	for _, c := range s.containersOf(sb.ID) {
		if err := s.ctrs.Stop(ctx, c.ID, 0); err != nil && !isNotFound(grpcErr(err)) {
			return nil, grpcErr(fmt.Errorf("stop container %s: %w", c.ID, err))
		}
	}
	if err := s.stopSandboxNetwork(ctx, sb); err != nil {
		return nil, err
	}
	return &runtimeapi.StopPodSandboxResponse{}, nil
}

func (s *Server) stopSandboxNetwork(ctx context.Context, sb *sandbox) error {
	s.mu.Lock()
	networked := sb.Networked
	s.mu.Unlock()
	if networked {
		if err := s.cni.tearDown(ctx, sb); err != nil {
			return fmt.Errorf("pod network teardown: %w", err)
		}
	}
	s.mu.Lock()
	sb.Networked, sb.Ready = false, false
	pid := sb.PodInit
	s.mu.Unlock()
	stopPodInit(pid)
	return s.saveSandbox(sb)
}

// destroySandbox undoes everything RunPodSandbox did.
func (s *Server) destroySandbox(ctx context.Context, sb *sandbox) error {
	if err := s.stopSandboxNetwork(ctx, sb); err != nil {
		return err
	}
	pinned := map[string]string{}
	for typ, p := range sb.Namespaces {
		if typ != "pid" {
			pinned[typ] = p
		}
	}
	if err := unpinNamespaces(pinned); err != nil {
		return err
	}
	if err := os.RemoveAll(sb.Dir); err != nil {
		return err
	}
	if err := s.store.Delete(sandboxBucket, sb.ID); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.sandboxes, sb.ID)
	s.mu.Unlock()
	return nil
}

// RemovePodSandbox removes the pod's containers, then the sandbox.
func (s *Server) RemovePodSandbox(ctx context.Context, r *runtimeapi.RemovePodSandboxRequest) (*runtimeapi.RemovePodSandboxResponse, error) {
	sb, err := s.lookupSandbox(r.PodSandboxId)
	if err != nil {
		if isNotFound(err) {
			return &runtimeapi.RemovePodSandboxResponse{}, nil
		}
		return nil, err
	}
	for _, c := range s.containersOf(sb.ID) {
		if err := s.removeContainer(ctx, c.ID); err != nil {
			return nil, err
		}
	}
	if err := s.destroySandbox(ctx, sb); err != nil {
		return nil, grpcErr(err)
	}
	return &runtimeapi.RemovePodSandboxResponse{}, nil
}

func (s *Server) sandboxState(sb *sandbox) runtimeapi.PodSandboxState {
	if sb.Ready {
		return runtimeapi.PodSandboxState_SANDBOX_READY
	}
	return runtimeapi.PodSandboxState_SANDBOX_NOTREADY
}

// PodSandboxStatus reports the sandbox's state and addresses.
func (s *Server) PodSandboxStatus(ctx context.Context, r *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	sb, err := s.lookupSandbox(r.PodSandboxId)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	nsOpts := sb.Config.GetLinux().GetSecurityContext().GetNamespaceOptions()
	st := &runtimeapi.PodSandboxStatus{
		Id: sb.ID, Metadata: sb.Config.Metadata, State: s.sandboxState(sb), CreatedAt: sb.CreatedAt,
		Labels: sb.Config.Labels, Annotations: sb.Config.Annotations, RuntimeHandler: sb.Handler,
		Linux: &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{Options: &runtimeapi.NamespaceOption{
			Network: nsOpts.GetNetwork(), Pid: nsOpts.GetPid(), Ipc: nsOpts.GetIpc(),
		}}},
	}
	if len(sb.IPs) > 0 && sb.Ready {
		st.Network = &runtimeapi.PodSandboxNetworkStatus{Ip: sb.IPs[0]}
		for _, ip := range sb.IPs[1:] {
			st.Network.AdditionalIps = append(st.Network.AdditionalIps, &runtimeapi.PodIP{Ip: ip})
		}
	}
	resp := &runtimeapi.PodSandboxStatusResponse{Status: st}
	if r.Verbose {
		info, _ := json.Marshal(map[string]any{"namespaces": sb.Namespaces, "dir": sb.Dir, "ips": sb.IPs, "config": sb.Config})
		resp.Info = map[string]string{"info": string(info)}
	}
	return resp, nil
}

// ListPodSandbox lists sandboxes matching the filter.
func (s *Server) ListPodSandbox(ctx context.Context, r *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	f := r.GetFilter()
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &runtimeapi.ListPodSandboxResponse{}
	for _, sb := range s.sandboxes {
		if f != nil {
			if f.Id != "" && !strings.HasPrefix(sb.ID, f.Id) {
				continue
			}
			if f.State != nil && f.State.State != s.sandboxState(sb) {
				continue
			}
			if !labelsMatch(sb.Config.Labels, f.LabelSelector) {
				continue
			}
		}
		resp.Items = append(resp.Items, &runtimeapi.PodSandbox{
			Id: sb.ID, Metadata: sb.Config.Metadata, State: s.sandboxState(sb), CreatedAt: sb.CreatedAt,
			Labels: sb.Config.Labels, Annotations: sb.Config.Annotations, RuntimeHandler: sb.Handler,
		})
	}
	return resp, nil
}

func labelsMatch(labels, selector map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
