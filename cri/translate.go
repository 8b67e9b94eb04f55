package cri

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// translate turns a CRI container config into Docker's container and host
// configs plus the sandbox wiring.
func (s *Server) translate(sb *sandbox, sbc *runtimeapi.PodSandboxConfig, cc *runtimeapi.ContainerConfig, img *Image) (CreateRequest, error) {
	cfg := containerConfig(sb, cc, img)
	hc := &container.HostConfig{NetworkMode: "none", Annotations: cc.Annotations}
	req := CreateRequest{Config: cfg, HostConfig: hc, Namespaces: map[string]string{}}
	if err := joinPodNamespaces(&req, sb, sbc, cc); err != nil {
		return req, err
	}
	if !hasMount(cc.Mounts, "/etc/hostname") {
		req.HostnamePath = sb.hostnamePath()
	}
	if !hasMount(cc.Mounts, "/etc/hosts") {
		req.HostsPath = sb.hostsPath()
	}
	if !hasMount(cc.Mounts, "/etc/resolv.conf") {
		req.ResolvConfPath = sb.resolvPath()
	}
	if err := addMounts(hc, cc.Mounts); err != nil {
		return req, err
	}
	for _, d := range cc.Devices {
		hc.Devices = append(hc.Devices, container.DeviceMapping{PathOnHost: d.HostPath, PathInContainer: d.ContainerPath, CgroupPermissions: d.Permissions})
	}
	if lin := cc.GetLinux(); lin != nil {
		if err := applyResources(&hc.Resources, lin.Resources); err != nil {
			return req, err
		}
		if lin.Resources != nil {
			hc.OomScoreAdj = int(lin.Resources.OomScoreAdj)
		}
		if err := applySecurity(cfg, hc, lin.SecurityContext); err != nil {
			return req, err
		}
	}
	if p := sbc.GetLinux().GetCgroupParent(); p != "" {
		hc.CgroupParent = p
	}
	if sc := sbc.GetLinux().GetSysctls(); len(sc) > 0 {
		hc.Sysctls = sc
	}
	return req, nil
}

// containerConfig is the container's process and identity: the pod's
// labels on top of its own, the command (Args alone keep the image's
// entrypoint), the environment and the pod's hostname.
func containerConfig(sb *sandbox, cc *runtimeapi.ContainerConfig, img *Image) *container.Config {
	psm := sb.Config.GetMetadata()
	labels := map[string]string{}
	for k, v := range cc.Labels {
		labels[k] = v
	}
	labels[labelPodName] = psm.GetName()
	labels[labelPodNamespace] = psm.GetNamespace()
	labels[labelPodUID] = psm.GetUid()
	labels[labelContainer] = cc.GetMetadata().GetName()
	labels[labelSandboxID] = sb.ID
	cfg := &container.Config{
		Image: img.ID, Entrypoint: cc.Command, Cmd: cc.Args, WorkingDir: cc.WorkingDir,
		Tty: cc.Tty, OpenStdin: cc.Stdin, StdinOnce: cc.StdinOnce, AttachStdin: cc.Stdin,
		Labels: labels,
	}
	if len(cc.Command) == 0 && len(cc.Args) > 0 {
		// Args alone keep the image's entrypoint, as Kubernetes defines.
		cfg.Entrypoint = img.Entrypoint
	}
	for _, kv := range cc.Envs {
		cfg.Env = append(cfg.Env, kv.Key+"="+string(kv.Value))
	}
	if hn, err := os.ReadFile(sb.hostnamePath()); err == nil {
		cfg.Hostname = strings.TrimSpace(string(hn))
	}
	return cfg
}

// joinPodNamespaces puts the container in the pod's namespaces (the PID
// one only in POD mode) or the node's, as the pod and container ask.
func joinPodNamespaces(req *CreateRequest, sb *sandbox, sbc *runtimeapi.PodSandboxConfig, cc *runtimeapi.ContainerConfig) error {
	hc := req.HostConfig
	nsOpts := cc.GetLinux().GetSecurityContext().GetNamespaceOptions()
	sbNS := sbc.GetLinux().GetSecurityContext().GetNamespaceOptions()
	for typ, p := range sb.Namespaces {
		if typ != "pid" {
			req.Namespaces[typ] = p
		}
	}
	if sbNS.GetNetwork() == runtimeapi.NamespaceMode_NODE {
		hc.NetworkMode = "host"
		hc.UTSMode = "host"
	}
	if sbNS.GetIpc() == runtimeapi.NamespaceMode_NODE {
		hc.IpcMode = "host"
	}
	switch nsOpts.GetPid() {
	case runtimeapi.NamespaceMode_NODE:
		hc.PidMode = "host"
	case runtimeapi.NamespaceMode_TARGET:
		if nsOpts.TargetId == "" {
			return invalid("PID namespace mode TARGET needs a target container")
		}
		hc.PidMode = container.PidMode("container:" + nsOpts.TargetId)
	case runtimeapi.NamespaceMode_POD:
		p := sb.Namespaces["pid"]
		if p == "" {
			return invalid("the container asks for the pod's PID namespace, but the pod sandbox has none (its PID mode is not POD)")
		}
		req.Namespaces["pid"] = p
	}
	return nil
}

// addMounts turns the CRI's mounts into binds (the mount point created if
// missing, propagation mapped); image volumes are refused.
func addMounts(hc *container.HostConfig, mounts []*runtimeapi.Mount) error {
	for _, m := range mounts {
		if m.Image != nil && m.Image.Image != "" {
			return status.Errorf(codes.Unimplemented, "image volumes are not supported by berth yet")
		}
		if m.ContainerPath == "" || m.HostPath == "" {
			return invalid("mount needs a host path and a container path")
		}
		bm := mount.Mount{Type: mount.TypeBind, Source: m.HostPath, Target: m.ContainerPath, ReadOnly: m.Readonly,
			BindOptions: &mount.BindOptions{CreateMountpoint: true}}
		switch m.Propagation {
		case runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER:
			bm.BindOptions.Propagation = mount.PropagationRSlave
		case runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:
			bm.BindOptions.Propagation = mount.PropagationRShared
		}
		hc.Mounts = append(hc.Mounts, bm)
	}
	return nil
}

func hasMount(ms []*runtimeapi.Mount, target string) bool {
	for _, m := range ms {
		if filepath.Clean(m.ContainerPath) == target {
			return true
		}
	}
	return false
}

func applyResources(r *container.Resources, lr *runtimeapi.LinuxContainerResources) error {
	if lr == nil {
		return nil
	}
	if len(lr.HugepageLimits) > 0 {
		for _, h := range lr.HugepageLimits {
			if h.Limit != 0 {
				return status.Errorf(codes.Unimplemented, "hugepage limits are not supported by berth yet")
			}
		}
	}
	if len(lr.Unified) > 0 {
		return status.Errorf(codes.Unimplemented, "unified cgroup v2 resources are not supported by berth yet")
	}
	r.CPUPeriod = lr.CpuPeriod
	r.CPUQuota = lr.CpuQuota
	r.CPUShares = lr.CpuShares
	r.Memory = lr.MemoryLimitInBytes
	if lr.MemorySwapLimitInBytes > 0 {
		r.MemorySwap = lr.MemorySwapLimitInBytes
	}
	r.CpusetCpus = lr.CpusetCpus
	r.CpusetMems = lr.CpusetMems
	return nil
}

func applySecurity(cfg *container.Config, hc *container.HostConfig, sc *runtimeapi.LinuxContainerSecurityContext) error {
	if sc == nil {
		return nil
	}
	hc.Privileged = sc.Privileged
	hc.ReadonlyRootfs = sc.ReadonlyRootfs
	if c := sc.Capabilities; c != nil {
		if len(c.AddAmbientCapabilities) > 0 {
			return status.Errorf(codes.Unimplemented, "ambient capabilities are not supported by berth yet")
		}
		hc.CapAdd = c.AddCapabilities
		hc.CapDrop = c.DropCapabilities
	}
	user := ""
	switch {
	case sc.RunAsUser != nil:
		user = fmt.Sprint(sc.RunAsUser.Value)
	case sc.RunAsUsername != "":
		user = sc.RunAsUsername
	}
	if sc.RunAsGroup != nil {
		if user == "" {
			return invalid("runAsGroup needs runAsUser or runAsUsername")
		}
		user += fmt.Sprintf(":%d", sc.RunAsGroup.Value)
	}
	cfg.User = user
	for _, g := range sc.SupplementalGroups {
		hc.GroupAdd = append(hc.GroupAdd, fmt.Sprint(g))
	}
	if sc.NoNewPrivs {
		hc.SecurityOpt = append(hc.SecurityOpt, "no-new-privileges")
	}
	sp := sc.Seccomp
	if sp == nil {
		// The CRI's nil profile is unconfined; kubelet asks for
		// RuntimeDefault explicitly.
		sp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined}
	}
	{
		switch sp.ProfileType {
		case runtimeapi.SecurityProfile_RuntimeDefault:
		case runtimeapi.SecurityProfile_Unconfined:
			hc.SecurityOpt = append(hc.SecurityOpt, "seccomp=unconfined")
		case runtimeapi.SecurityProfile_Localhost:
			b, err := os.ReadFile(sp.LocalhostRef)
			if err != nil {
				return invalid("seccomp profile %q: %v", sp.LocalhostRef, err)
			}
			hc.SecurityOpt = append(hc.SecurityOpt, "seccomp="+string(b))
		}
	}
	if ap := sc.Apparmor; ap != nil && ap.ProfileType != runtimeapi.SecurityProfile_Unconfined {
		if ap.ProfileType == runtimeapi.SecurityProfile_Localhost {
			hc.SecurityOpt = append(hc.SecurityOpt, "apparmor="+strings.TrimPrefix(ap.LocalhostRef, "localhost/"))
		}
	}
	if sc.SelinuxOptions != nil && (sc.SelinuxOptions.Type != "" || sc.SelinuxOptions.Level != "") {
		return status.Errorf(codes.Unimplemented, "SELinux labels are not supported by berth")
	}
	if len(sc.MaskedPaths) > 0 || sc.Privileged {
		hc.MaskedPaths = sc.MaskedPaths
	}
	if len(sc.ReadonlyPaths) > 0 || sc.Privileged {
		hc.ReadonlyPaths = sc.ReadonlyPaths
	}
	return nil
}
