package cri

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// criContainer is what the CRI remembers of a container beyond the
// engine's record.
type criContainer struct {
	ID          string
	SandboxID   string
	Metadata    *runtimeapi.ContainerMetadata
	Image       string // as requested
	ImageRef    string // image ID
	Labels      map[string]string
	Annotations map[string]string
	LogPath     string // absolute; "" when kubelet asked for none
	CreatedAt   int64
	Mounts      []*runtimeapi.Mount
}

// Labels Berth puts on a pod's containers, as dockershim did, so `docker
// ps --filter label=...` finds them.
const (
	labelPodName      = "io.kubernetes.pod.name"
	labelPodNamespace = "io.kubernetes.pod.namespace"
	labelPodUID       = "io.kubernetes.pod.uid"
	labelContainer    = "io.kubernetes.container.name"
	labelSandboxID    = "io.kubernetes.sandbox.id"
)

func (s *Server) containersOf(sandboxID string) []*criContainer {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*criContainer
	for _, c := range s.containers {
		if c.SandboxID == sandboxID {
			out = append(out, c)
		}
	}
	return out
}

func (s *Server) lookupContainer(ref string) (*criContainer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return lookupByPrefix(s.containers, ref, "container")
}

// CreateContainer makes a Berth container that joins the sandbox.
func (s *Server) CreateContainer(ctx context.Context, r *runtimeapi.CreateContainerRequest) (*runtimeapi.CreateContainerResponse, error) {
	sb, err := s.lookupSandbox(r.PodSandboxId)
	if err != nil {
		return nil, err
	}
	cc, sbc := r.GetConfig(), r.GetSandboxConfig()
	if sbc == nil {
		sbc = sb.Config
	}
	md := cc.GetMetadata()
	if md == nil || md.Name == "" {
		return nil, invalid("container config must include metadata with a name")
	}
	if cc.GetImage().GetImage() == "" {
		return nil, invalid("container config must name an image")
	}
	img, err := s.imgs.Get(ctx, cc.Image.Image)
	if err != nil {
		return nil, grpcErr(err)
	}
	req, err := s.translate(sb, sbc, cc, img)
	if err != nil {
		return nil, err
	}
	psm := sb.Config.GetMetadata()
	req.Name = fmt.Sprintf("k8s_%s_%s_%s_%s_%d", md.Name, psm.GetName(), psm.GetNamespace(), psm.GetUid(), md.Attempt)
	rec := &criContainer{SandboxID: sb.ID, Metadata: md, Image: cc.Image.Image, ImageRef: img.ID,
		Labels: cc.Labels, Annotations: cc.Annotations, CreatedAt: time.Now().UnixNano(), Mounts: cc.Mounts}
	if cc.LogPath != "" {
		dir := sbc.GetLogDirectory()
		if dir == "" {
			dir = sb.Config.GetLogDirectory()
		}
		rec.LogPath = cc.LogPath
		if !filepath.IsAbs(rec.LogPath) {
			rec.LogPath = filepath.Join(dir, cc.LogPath)
		}
		if err := os.MkdirAll(filepath.Dir(rec.LogPath), 0o755); err != nil {
			return nil, err
		}
		req.LogPath = rec.LogPath
		req.HostConfig.LogConfig = container.LogConfig{Type: "cri"}
	} else {
		req.HostConfig.LogConfig = container.LogConfig{Type: "none"}
	}
	id, err := s.ctrs.Create(ctx, req)
	if err != nil {
		return nil, grpcErr(err)
	}
	rec.ID = id
	s.mu.Lock()
	s.containers[id] = rec
	s.mu.Unlock()
	if err := s.store.Put(containerBucket, id, rec); err != nil {
		s.removeContainer(context.WithoutCancel(ctx), id)
		return nil, err
	}
	return &runtimeapi.CreateContainerResponse{ContainerId: id}, nil
}

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

// StartContainer starts a created container.
func (s *Server) StartContainer(ctx context.Context, r *runtimeapi.StartContainerRequest) (*runtimeapi.StartContainerResponse, error) {
	c, err := s.lookupContainer(r.ContainerId)
	if err != nil {
		return nil, err
	}
	sb, err := s.lookupSandbox(c.SandboxID)
	if err != nil {
		return nil, err
	}
	if !sb.Ready {
		return nil, status.Errorf(codes.FailedPrecondition, "pod sandbox %s is not ready", sb.ID)
	}
	if err := s.ctrs.Start(ctx, c.ID); err != nil {
		return nil, grpcErr(err)
	}
	return &runtimeapi.StartContainerResponse{}, nil
}

// StopContainer stops a container within the timeout (seconds).
func (s *Server) StopContainer(ctx context.Context, r *runtimeapi.StopContainerRequest) (*runtimeapi.StopContainerResponse, error) {
	c, err := s.lookupContainer(r.ContainerId)
	if err != nil {
		if isNotFound(err) {
			return &runtimeapi.StopContainerResponse{}, nil
		}
		return nil, err
	}
	if err := s.ctrs.Stop(ctx, c.ID, time.Duration(r.Timeout)*time.Second); err != nil {
		return nil, grpcErr(err)
	}
	return &runtimeapi.StopContainerResponse{}, nil
}

// RemoveContainer removes a container, killing it if it runs; removing
// one that is gone succeeds.
func (s *Server) RemoveContainer(ctx context.Context, r *runtimeapi.RemoveContainerRequest) (*runtimeapi.RemoveContainerResponse, error) {
	c, err := s.lookupContainer(r.ContainerId)
	if err != nil {
		if isNotFound(err) {
			return &runtimeapi.RemoveContainerResponse{}, nil
		}
		return nil, err
	}
	if err := s.removeContainer(ctx, c.ID); err != nil {
		return nil, err
	}
	return &runtimeapi.RemoveContainerResponse{}, nil
}

func (s *Server) removeContainer(ctx context.Context, id string) error {
	if err := s.ctrs.Remove(ctx, id); err != nil && !isNotFound(grpcErr(err)) {
		return grpcErr(err)
	}
	if err := s.store.Delete(containerBucket, id); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.containers, id)
	s.mu.Unlock()
	s.events.publish(&runtimeapi.ContainerEventResponse{ContainerId: id,
		ContainerEventType: runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT, CreatedAt: nowNano()})
	return nil
}

// state maps Docker's status to the CRI's.
func criState(st *container.State) runtimeapi.ContainerState {
	if st == nil {
		return runtimeapi.ContainerState_CONTAINER_UNKNOWN
	}
	switch st.Status {
	case "created":
		return runtimeapi.ContainerState_CONTAINER_CREATED
	case "running", "paused", "restarting":
		return runtimeapi.ContainerState_CONTAINER_RUNNING
	case "exited", "dead":
		return runtimeapi.ContainerState_CONTAINER_EXITED
	}
	return runtimeapi.ContainerState_CONTAINER_UNKNOWN
}

func parseTime(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return 0
	}
	return t.UnixNano()
}

// ListContainers lists the CRI's containers matching the filter.
func (s *Server) ListContainers(ctx context.Context, r *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	f := r.GetFilter()
	s.mu.Lock()
	recs := make([]*criContainer, 0, len(s.containers))
	for _, c := range s.containers {
		recs = append(recs, c)
	}
	s.mu.Unlock()
	sort.Slice(recs, func(i, j int) bool { return recs[i].CreatedAt > recs[j].CreatedAt })
	resp := &runtimeapi.ListContainersResponse{}
	for _, c := range recs {
		if f != nil {
			if f.Id != "" && !strings.HasPrefix(c.ID, f.Id) {
				continue
			}
			if f.PodSandboxId != "" && !strings.HasPrefix(c.SandboxID, f.PodSandboxId) {
				continue
			}
			if !labelsMatch(c.Labels, f.LabelSelector) {
				continue
			}
		}
		ins, err := s.ctrs.Inspect(ctx, c.ID)
		if err != nil {
			continue // removed behind the CRI's back
		}
		st := criState(ins.State)
		if f != nil && f.State != nil && f.State.State != st {
			continue
		}
		resp.Containers = append(resp.Containers, &runtimeapi.Container{
			Id: c.ID, PodSandboxId: c.SandboxID, Metadata: c.Metadata,
			Image: &runtimeapi.ImageSpec{Image: c.Image}, ImageRef: c.ImageRef, ImageId: c.ImageRef,
			State: st, CreatedAt: c.CreatedAt, Labels: c.Labels, Annotations: c.Annotations,
		})
	}
	return resp, nil
}

// ContainerStatus reports a container's state, exit and paths.
func (s *Server) ContainerStatus(ctx context.Context, r *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	c, err := s.lookupContainer(r.ContainerId)
	if err != nil {
		return nil, err
	}
	ins, err := s.ctrs.Inspect(ctx, c.ID)
	if err != nil {
		return nil, grpcErr(err)
	}
	st := &runtimeapi.ContainerStatus{
		Id: c.ID, Metadata: c.Metadata, State: criState(ins.State), CreatedAt: c.CreatedAt,
		Image: &runtimeapi.ImageSpec{Image: c.Image}, ImageRef: c.ImageRef, ImageId: c.ImageRef,
		Labels: c.Labels, Annotations: c.Annotations, Mounts: c.Mounts, LogPath: c.LogPath,
	}
	if is := ins.State; is != nil {
		st.StartedAt = parseTime(is.StartedAt)
		if st.State == runtimeapi.ContainerState_CONTAINER_EXITED {
			st.FinishedAt = parseTime(is.FinishedAt)
			st.ExitCode = int32(is.ExitCode)
			st.Message = is.Error
			switch {
			case is.OOMKilled:
				st.Reason = "OOMKilled"
			case is.ExitCode == 0:
				st.Reason = "Completed"
			default:
				st.Reason = "Error"
			}
		}
	}
	if hc := ins.HostConfig; hc != nil {
		st.Resources = &runtimeapi.ContainerResources{Linux: &runtimeapi.LinuxContainerResources{
			CpuPeriod: hc.CPUPeriod, CpuQuota: hc.CPUQuota, CpuShares: hc.CPUShares,
			MemoryLimitInBytes: hc.Memory, CpusetCpus: hc.CpusetCpus, CpusetMems: hc.CpusetMems,
			OomScoreAdj: int64(hc.OomScoreAdj),
		}}
	}
	resp := &runtimeapi.ContainerStatusResponse{Status: st}
	if r.Verbose {
		info, _ := json.Marshal(map[string]any{"sandboxID": c.SandboxID, "pid": ins.State.Pid, "berth": ins.Name})
		resp.Info = map[string]string{"info": string(info)}
	}
	return resp, nil
}

// UpdateContainerResources changes a container's cgroup limits.
func (s *Server) UpdateContainerResources(ctx context.Context, r *runtimeapi.UpdateContainerResourcesRequest) (*runtimeapi.UpdateContainerResourcesResponse, error) {
	c, err := s.lookupContainer(r.ContainerId)
	if err != nil {
		return nil, err
	}
	var u container.UpdateConfig
	if err := applyResources(&u.Resources, r.Linux); err != nil {
		return nil, err
	}
	if err := s.ctrs.Update(ctx, c.ID, u); err != nil {
		return nil, grpcErr(err)
	}
	return &runtimeapi.UpdateContainerResourcesResponse{}, nil
}

// ReopenContainerLog makes a running container write a new log file.
func (s *Server) ReopenContainerLog(ctx context.Context, r *runtimeapi.ReopenContainerLogRequest) (*runtimeapi.ReopenContainerLogResponse, error) {
	c, err := s.lookupContainer(r.ContainerId)
	if err != nil {
		return nil, err
	}
	ins, err := s.ctrs.Inspect(ctx, c.ID)
	if err != nil {
		return nil, grpcErr(err)
	}
	if ins.State == nil || !ins.State.Running {
		return nil, status.Errorf(codes.FailedPrecondition, "container %s is not running", c.ID)
	}
	if err := s.ctrs.ReopenLog(ctx, c.ID); err != nil {
		return nil, grpcErr(err)
	}
	return &runtimeapi.ReopenContainerLogResponse{}, nil
}
