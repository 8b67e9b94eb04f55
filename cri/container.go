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
