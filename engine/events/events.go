// Package events records what happens in the engine (container, image,
// network, volume and daemon events, in Docker's types and actions) and
// streams it to subscribers. The last events are kept in memory for
// `events --since`.
package events

import (
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/events"
)

// keep is how many past events are kept for --since.
const keep = 1024

// Service is the event log and its subscribers.
type Service struct {
	mu   sync.Mutex
	past []events.Message
	subs map[chan events.Message]struct{}
}

// New returns an empty event service.
func New() *Service {
	return &Service{subs: map[chan events.Message]struct{}{}}
}

// Log records one event. attrs may be nil.
func (s *Service) Log(typ events.Type, action events.Action, id string, attrs map[string]string) {
	now := time.Now()
	if attrs == nil {
		attrs = map[string]string{}
	}
	m := events.Message{
		Type: typ, Action: action, Scope: "local",
		Actor: events.Actor{ID: id, Attributes: attrs},
		Time:  now.Unix(), TimeNano: now.UnixNano(),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.past) >= keep {
		copy(s.past, s.past[1:])
		s.past = s.past[:keep-1]
	}
	s.past = append(s.past, m)
	for ch := range s.subs {
		select {
		case ch <- m:
		default:
			// A subscriber that cannot keep up loses events rather than
			// stalling the engine.
		}
	}
}

// Subscribe returns the recorded events since `since` (zero: none) and a
// channel of new ones; cancel ends the subscription.
func (s *Service) Subscribe(since time.Time) (past []events.Message, ch <-chan events.Message, cancel func()) {
	c := make(chan events.Message, 256)
	s.mu.Lock()
	if !since.IsZero() {
		for _, m := range s.past {
			if m.TimeNano >= since.UnixNano() {
				past = append(past, m)
			}
		}
	}
	s.subs[c] = struct{}{}
	s.mu.Unlock()
	return past, c, func() {
		s.mu.Lock()
		delete(s.subs, c)
		s.mu.Unlock()
	}
}

// Count is the number of current subscribers (for info).
func (s *Service) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

// Match applies Docker's event filters: type, event (action), container,
// image, network, volume, label; values of one key are ORed, keys ANDed.
func Match(m events.Message, f map[string][]string) bool {
	any := func(key string, ok func(v string) bool) bool {
		vals := f[key]
		if len(vals) == 0 {
			return true
		}
		for _, v := range vals {
			if ok(v) {
				return true
			}
		}
		return false
	}
	idOrName := func(v string) bool {
		return m.Actor.ID == v || strings.HasPrefix(m.Actor.ID, v) || m.Actor.Attributes["name"] == v
	}
	if !any("type", func(v string) bool { return string(m.Type) == v }) {
		return false
	}
	if !any("event", func(v string) bool {
		a := string(m.Action)
		return a == v || strings.HasPrefix(a, v+":")
	}) {
		return false
	}
	for key, typ := range map[string]events.Type{"container": events.ContainerEventType, "network": events.NetworkEventType, "volume": events.VolumeEventType} {
		if len(f[key]) > 0 && (m.Type != typ || !any(key, idOrName)) {
			return false
		}
	}
	if len(f["image"]) > 0 && !any("image", func(v string) bool {
		return m.Actor.Attributes["image"] == v || (m.Type == events.ImageEventType && idOrName(v))
	}) {
		return false
	}
	for _, v := range f["label"] {
		k, val, hasVal := strings.Cut(v, "=")
		got, ok := m.Actor.Attributes[k]
		if !ok || (hasVal && got != val) {
			return false
		}
	}
	return true
}
