package cri

import (
	"context"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func nowNano() int64 { return time.Now().UnixNano() }

func (s *Server) containerStats(ctx context.Context, c *criContainer) (*runtimeapi.ContainerStats, error) {
	st, err := s.ctrs.Stats(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	ts := nowNano()
	if !st.Read.IsZero() {
		ts = st.Read.UnixNano()
	}
	out := &runtimeapi.ContainerStats{
		Attributes: &runtimeapi.ContainerAttributes{Id: c.ID, Metadata: c.Metadata, Labels: c.Labels, Annotations: c.Annotations},
		Cpu:        &runtimeapi.CpuUsage{Timestamp: ts, UsageCoreNanoSeconds: &runtimeapi.UInt64Value{Value: st.CPUStats.CPUUsage.TotalUsage}},
		Memory: &runtimeapi.MemoryUsage{Timestamp: ts, WorkingSetBytes: &runtimeapi.UInt64Value{Value: workingSet(&st.MemoryStats)},
			UsageBytes: &runtimeapi.UInt64Value{Value: st.MemoryStats.Usage}},
		WritableLayer: &runtimeapi.FilesystemUsage{Timestamp: ts, FsId: &runtimeapi.FilesystemIdentifier{Mountpoint: "/"},
			UsedBytes: &runtimeapi.UInt64Value{}},
	}
	if ins, err := s.ctrs.Inspect(ctx, c.ID); err == nil && ins.SizeRw != nil {
		out.WritableLayer.UsedBytes.Value = uint64(*ins.SizeRw)
	}
	return out, nil
}

// workingSet is usage less inactive file pages, as cAdvisor counts it.
func workingSet(m *container.MemoryStats) uint64 {
	inactive := m.Stats["inactive_file"]
	if inactive == 0 {
		inactive = m.Stats["total_inactive_file"]
	}
	if inactive > m.Usage {
		return 0
	}
	return m.Usage - inactive
}

// ContainerStats samples one container.
func (s *Server) ContainerStats(ctx context.Context, r *runtimeapi.ContainerStatsRequest) (*runtimeapi.ContainerStatsResponse, error) {
	c, err := s.lookupContainer(r.ContainerId)
	if err != nil {
		return nil, err
	}
	st, err := s.containerStats(ctx, c)
	if err != nil {
		return nil, grpcErr(err)
	}
	return &runtimeapi.ContainerStatsResponse{Stats: st}, nil
}

// ListContainerStats samples the containers matching the filter.
func (s *Server) ListContainerStats(ctx context.Context, r *runtimeapi.ListContainerStatsRequest) (*runtimeapi.ListContainerStatsResponse, error) {
	f := r.GetFilter()
	s.mu.Lock()
	var recs []*criContainer
	for _, c := range s.containers {
		if f != nil && ((f.Id != "" && !strings.HasPrefix(c.ID, f.Id)) ||
			(f.PodSandboxId != "" && !strings.HasPrefix(c.SandboxID, f.PodSandboxId)) || !labelsMatch(c.Labels, f.LabelSelector)) {
			continue
		}
		recs = append(recs, c)
	}
	s.mu.Unlock()
	resp := &runtimeapi.ListContainerStatsResponse{}
	for _, c := range recs {
		st, err := s.containerStats(ctx, c)
		if err != nil {
			continue // not running, or removed meanwhile
		}
		resp.Stats = append(resp.Stats, st)
	}
	return resp, nil
}

func (s *Server) podStats(ctx context.Context, sb *sandbox) *runtimeapi.PodSandboxStats {
	ts := nowNano()
	var cpu, mem, ws uint64
	var cstats []*runtimeapi.ContainerStats
	for _, c := range s.containersOf(sb.ID) {
		st, err := s.containerStats(ctx, c)
		if err != nil {
			continue
		}
		cpu += st.Cpu.UsageCoreNanoSeconds.Value
		mem += st.Memory.UsageBytes.Value
		ws += st.Memory.WorkingSetBytes.Value
		cstats = append(cstats, st)
	}
	return &runtimeapi.PodSandboxStats{
		Attributes: &runtimeapi.PodSandboxAttributes{Id: sb.ID, Metadata: sb.Config.Metadata, Labels: sb.Config.Labels, Annotations: sb.Config.Annotations},
		Linux: &runtimeapi.LinuxPodSandboxStats{
			Cpu:        &runtimeapi.CpuUsage{Timestamp: ts, UsageCoreNanoSeconds: &runtimeapi.UInt64Value{Value: cpu}},
			Memory:     &runtimeapi.MemoryUsage{Timestamp: ts, UsageBytes: &runtimeapi.UInt64Value{Value: mem}, WorkingSetBytes: &runtimeapi.UInt64Value{Value: ws}},
			Containers: cstats,
		},
	}
}

// PodSandboxStats sums a pod's containers.
func (s *Server) PodSandboxStats(ctx context.Context, r *runtimeapi.PodSandboxStatsRequest) (*runtimeapi.PodSandboxStatsResponse, error) {
	sb, err := s.lookupSandbox(r.PodSandboxId)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.PodSandboxStatsResponse{Stats: s.podStats(ctx, sb)}, nil
}

// ListPodSandboxStats samples the pods matching the filter.
func (s *Server) ListPodSandboxStats(ctx context.Context, r *runtimeapi.ListPodSandboxStatsRequest) (*runtimeapi.ListPodSandboxStatsResponse, error) {
	f := r.GetFilter()
	s.mu.Lock()
	var sbs []*sandbox
	for _, sb := range s.sandboxes {
		if f != nil && ((f.Id != "" && !strings.HasPrefix(sb.ID, f.Id)) || !labelsMatch(sb.Config.Labels, f.LabelSelector)) {
			continue
		}
		sbs = append(sbs, sb)
	}
	s.mu.Unlock()
	resp := &runtimeapi.ListPodSandboxStatsResponse{}
	for _, sb := range sbs {
		resp.Stats = append(resp.Stats, s.podStats(ctx, sb))
	}
	return resp, nil
}
