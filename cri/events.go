package cri

import (
	"sync"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// broadcaster fans container events out to GetContainerEvents streams; a
// subscriber that falls behind loses events rather than stalling others.
type broadcaster struct {
	mu   sync.Mutex
	subs map[chan *runtimeapi.ContainerEventResponse]struct{}
}

func newBroadcaster() *broadcaster {
	return &broadcaster{subs: map[chan *runtimeapi.ContainerEventResponse]struct{}{}}
}

func (b *broadcaster) subscribe() (<-chan *runtimeapi.ContainerEventResponse, func()) {
	ch := make(chan *runtimeapi.ContainerEventResponse, 256)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

func (b *broadcaster) publish(ev *runtimeapi.ContainerEventResponse) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

var eventTypes = map[string]runtimeapi.ContainerEventType{
	"create":  runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT,
	"start":   runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT,
	"die":     runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT,
	"destroy": runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT,
}

// watchEvents turns the engine's events for CRI containers into CRI
// container events.
func (s *Server) watchEvents() {
	for ev := range s.ctrs.Events(s.ctx) {
		typ, ok := eventTypes[ev.Action]
		// Deletion is published by removeContainer: the record is gone
		// by the time the engine's event arrives.
		if !ok || typ == runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT {
			continue
		}
		s.mu.Lock()
		c := s.containers[ev.ID]
		var sb *sandbox
		if c != nil {
			sb = s.sandboxes[c.SandboxID]
		}
		s.mu.Unlock()
		if c == nil {
			continue // not ours (a Docker container)
		}
		resp := &runtimeapi.ContainerEventResponse{ContainerId: ev.ID, ContainerEventType: typ, CreatedAt: ev.Time.UnixNano()}
		if sb != nil {
			resp.PodSandboxStatus = &runtimeapi.PodSandboxStatus{Id: sb.ID, Metadata: sb.Config.Metadata, State: s.sandboxState(sb),
				CreatedAt: sb.CreatedAt, Labels: sb.Config.Labels, Annotations: sb.Config.Annotations}
		}
		s.events.publish(resp)
	}
}

// GetContainerEvents streams container events until the client leaves.
func (s *Server) GetContainerEvents(r *runtimeapi.GetEventsRequest, stream runtimeapi.RuntimeService_GetContainerEventsServer) error {
	ch, cancel := s.events.subscribe()
	defer cancel()
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case <-s.ctx.Done():
			return nil
		case ev := <-ch:
			if err := stream.Send(ev); err != nil {
				return err
			}
		}
	}
}
