package buildkit

import (
	"context"
	"errors"

	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/moby/buildkit/control"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Build history records (`docker buildx history`) hold leases on what a
// build produced: the exported image's manifest, config and layer blobs,
// provenance and logs. In the shared blob store those would outlive the
// image (`docker rmi`) until the history's own clean-up (48 hours or 50
// records); `docker builder prune --all` therefore removes the finished,
// unpinned records too.

// historyRefs collects the refs of finished, unpinned history records from
// the controller's history stream (early exit: the records that exist).
type historyRefs struct {
	grpc.ServerStream // never used: only the methods below are called
	ctx               context.Context
	refs              []string
}

func (h *historyRefs) Context() context.Context     { return h.ctx }
func (h *historyRefs) SetHeader(metadata.MD) error  { return nil }
func (h *historyRefs) SendHeader(metadata.MD) error { return nil }
func (h *historyRefs) SetTrailer(metadata.MD)       {}

func (h *historyRefs) Send(e *controlapi.BuildHistoryEvent) error {
	if e.Type == controlapi.BuildHistoryEventType_COMPLETE && e.Record != nil && !e.Record.Pinned && e.Record.CompletedAt != nil {
		h.refs = append(h.refs, e.Record.Ref)
	}
	return nil
}

// pruneHistory deletes the finished, unpinned build history records.
func pruneHistory(ctx context.Context, ctl *control.Controller) error {
	h := &historyRefs{ctx: ctx}
	if err := ctl.ListenBuildHistory(&controlapi.BuildHistoryRequest{EarlyExit: true}, h); err != nil {
		return err
	}
	for _, ref := range h.refs {
		if _, err := ctl.UpdateBuildHistory(ctx, &controlapi.UpdateBuildHistoryRequest{Ref: ref, Delete: true}); err != nil {
			return err
		}
	}
	return nil
}

// beforePrune readies an explicit prune (`docker builder prune`, through
// /build/prune or BuildKit's own Prune call): Berth's images exposed to
// builds stop being GC roots (their blobs stay while Berth's layers use
// them; the next build exposes them again, by digest), and with all, the
// finished build history goes too.
func beforePrune(ctx context.Context, w *mobyWorker, ctl *control.Controller, all bool) error {
	if err := w.images.unexposeAll(ctx); err != nil {
		return err
	}
	if all {
		return pruneHistory(ctx, ctl)
	}
	return nil
}

// pruneInterceptor runs beforePrune for BuildKit's Prune call once its
// request is read.
func (s *Service) pruneInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if info.FullMethod != controlapi.Control_Prune_FullMethodName {
		return handler(srv, ss)
	}
	return handler(srv, &pruneStream{ServerStream: ss, s: s})
}

type pruneStream struct {
	grpc.ServerStream
	s    *Service
	done bool
}

func (p *pruneStream) RecvMsg(m any) error {
	if err := p.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	req, ok := m.(*controlapi.PruneRequest)
	if !ok || p.done {
		return nil
	}
	p.done = true
	if err := checkCacheFilters(req.Filter); err != nil {
		return err
	}
	in := p.s.live.Load()
	if in == nil {
		return errors.New("BuildKit is stopping")
	}
	return beforePrune(p.Context(), in.w, in.ctl, req.All)
}

// cacheFilterFields are the fields BuildKit's cache records answer to; a
// filter on another field would match nothing and prune nothing, silently.
var cacheFilterFields = map[string]bool{"id": true, "parents": true, "description": true, "inuse": true, "mutable": true, "immutable": true, "type": true, "shared": true, "private": true}

// checkCacheFilters refuses filters (containerd syntax: clauses joined by
// ",", a field then an operator) on fields the cache does not have.
func checkCacheFilters(fs []string) error {
	for _, f := range fs {
		inQuote := false
		start := true
		for i := 0; i < len(f); i++ {
			c := f[i]
			switch {
			case c == '"' && (i == 0 || f[i-1] != '\\'):
				inQuote = !inQuote
			case c == ',' && !inQuote:
				start = true
				continue
			}
			if !start {
				continue
			}
			start = false
			j := i
			for j < len(f) && (f[j] == '_' || f[j] == '.' || f[j] >= 'a' && f[j] <= 'z' || f[j] >= 'A' && f[j] <= 'Z' || f[j] >= '0' && f[j] <= '9') {
				j++
			}
			if name := f[i:j]; !cacheFilterFields[name] {
				return status.Errorf(codes.InvalidArgument, "invalid filter %q", name)
			}
		}
	}
	return nil
}
