package events

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/moby/moby/api/types/events"
)

// keep is how many past events at least are kept for --since (up to
// twice as many).
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
	if len(s.past) >= 2*keep {
		// At least the last keep stay. Dropping half at once keeps each
		// event's cost constant: dropping one moved a thousand records
		// (~200 kB) for every event once the log was full.
		s.past = s.past[:copy(s.past, s.past[len(s.past)-keep:])]
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

// FilterKeys are the filter keys dockerd's /events accepts.
var FilterKeys = []string{"config", "container", "daemon", "event", "image", "label", "network", "node", "plugin", "scope", "secret", "service", "type", "volume"}

// ValidateFilters refuses a filter key /events does not know, in dockerd's
// words, so an ignored filter can never widen what a client watches.
func ValidateFilters(f map[string][]string) error {
	for k := range f {
		if !slices.Contains(FilterKeys, k) {
			return errdefs.Invalid("invalid filter '%s'", k)
		}
	}
	return nil
}

// Match applies dockerd's event filters (daemon/events/filter.go): values
// of one key are ORed, keys ANDed. type, scope and event match exactly
// (event by prefix for health_status, exec_create and exec_start, which
// carry a suffix); container, network, volume, daemon, plugin, node,
// service, secret and config match the actor's ID or "name" attribute by
// prefix, whatever the event's type, as dockerd does; image matches the
// ID or name with or without tag; label matches "key" or "key=value".
func Match(m events.Message, f map[string][]string) bool {
	exact := func(key, v string) bool {
		vals := f[key]
		return len(vals) == 0 || slices.Contains(vals, v)
	}
	fuzzy := func(key, v string) bool {
		if exact(key, v) {
			return true
		}
		for _, p := range f[key] {
			if strings.HasPrefix(v, p) {
				return true
			}
		}
		return false
	}
	action := string(m.Action)
	eventOK := exact("event", action)
	for _, v := range f["event"] {
		if v == "health_status" || v == "exec_create" || v == "exec_start" {
			eventOK = fuzzy("event", action)
			break
		}
	}
	if !eventOK || !exact("type", string(m.Type)) || !exact("scope", m.Scope) {
		return false
	}
	for _, key := range []string{"daemon", "container", "plugin", "volume", "network", "node", "service", "secret", "config"} {
		if len(f[key]) > 0 && !fuzzy(key, m.Actor.ID) && !fuzzy(key, m.Actor.Attributes["name"]) {
			return false
		}
	}
	if len(f["image"]) > 0 {
		nameAttr := "image"
		if m.Type == events.ImageEventType {
			nameAttr = "name"
		}
		name := m.Actor.Attributes[nameAttr]
		id := m.Actor.ID
		if !exact("image", id) && !exact("image", name) && !exact("image", stripTag(id)) && !exact("image", stripTag(name)) {
			return false
		}
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

// stripTag drops the tag of a reference ("busybox:1" -> "busybox"), not
// a registry port, nor a digest.
func stripTag(ref string) string {
	if strings.Contains(ref, "@") {
		return ref
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}

// Message147 is an event as API 1.47 sends it: the deprecated status, id
// and from fields (docker-py reads e['status']) beside Type, Action and
// Actor, filled for container and image events as dockerd fills them.
type Message147 struct {
	Status string `json:"status,omitempty"`
	ID     string `json:"id,omitempty"`
	From   string `json:"from,omitempty"`
	events.Message
}

// Wire147 converts m to the API 1.47 shape.
func Wire147(m events.Message) Message147 {
	out := Message147{Message: m}
	switch m.Type {
	case events.ContainerEventType:
		out.ID, out.Status, out.From = m.Actor.ID, string(m.Action), m.Actor.Attributes["image"]
	case events.ImageEventType:
		out.ID, out.Status = m.Actor.ID, string(m.Action)
	}
	return out
}
