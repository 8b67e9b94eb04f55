package events

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
)

func TestSubscribeOrderAndSince(t *testing.T) {
	s := New()
	s.Log(events.ContainerEventType, events.ActionCreate, "c1", map[string]string{"name": "web"})
	mid := time.Now()
	past, ch, cancel := s.Subscribe(mid)
	defer cancel()
	if len(past) != 0 {
		t.Fatalf("past before since: %v", past)
	}
	for _, a := range []events.Action{events.ActionStart, events.ActionDie, events.ActionDestroy} {
		s.Log(events.ContainerEventType, a, "c1", map[string]string{"name": "web"})
	}
	for _, want := range []events.Action{events.ActionStart, events.ActionDie, events.ActionDestroy} {
		select {
		case m := <-ch:
			if m.Action != want || m.Actor.ID != "c1" {
				t.Fatalf("got %s %s, want %s", m.Action, m.Actor.ID, want)
			}
		case <-time.After(time.Second):
			t.Fatalf("no %s event", want)
		}
	}
	past, _, cancel2 := s.Subscribe(time.Unix(0, 1))
	defer cancel2()
	if len(past) != 4 || past[0].Action != events.ActionCreate {
		t.Fatalf("since the start: %d events", len(past))
	}
}

func TestMatch(t *testing.T) {
	m := events.Message{Type: events.ContainerEventType, Action: "health_status: healthy",
		Actor: events.Actor{ID: "abcdef", Attributes: map[string]string{"name": "web", "image": "busybox", "team": "a"}}}
	yes := []map[string][]string{
		{"type": {"container"}}, {"event": {"health_status"}}, {"container": {"web"}}, {"container": {"abc"}},
		{"image": {"busybox"}}, {"label": {"team=a"}}, {"label": {"team"}},
		{"scope": {"local"}}, {"event": {"health_status", "die"}},
	}
	m.Scope = "local"
	no := []map[string][]string{
		{"type": {"image"}}, {"event": {"die"}}, {"container": {"db"}}, {"image": {"alpine"}},
		{"label": {"team=b"}}, {"network": {"other"}}, {"scope": {"swarm"}}, {"plugin": {"x"}},
	}
	for _, f := range yes {
		if !Match(m, f) {
			t.Errorf("%v should match", f)
		}
	}
	for _, f := range no {
		if Match(m, f) {
			t.Errorf("%v should not match", f)
		}
	}
}

func TestMatchDockerRules(t *testing.T) {
	exec := events.Message{Type: events.ContainerEventType, Action: "exec_start: sh -c true", Scope: "local",
		Actor: events.Actor{ID: "c1", Attributes: map[string]string{"name": "web", "image": "busybox:1.36", "execID": "e1"}}}
	img := events.Message{Type: events.ImageEventType, Action: events.ActionTag, Scope: "local",
		Actor: events.Actor{ID: "sha256:abc", Attributes: map[string]string{"name": "reg:5000/app:v1"}}}
	for _, tc := range []struct {
		m    events.Message
		f    map[string][]string
		want bool
	}{
		{exec, map[string][]string{"event": {"exec_start"}}, true},
		{exec, map[string][]string{"event": {"exec_create"}}, false},
		{exec, map[string][]string{"event": {"exec"}}, false},
		{exec, map[string][]string{"image": {"busybox"}}, true},
		{exec, map[string][]string{"image": {"busybox:1.36"}}, true},
		{exec, map[string][]string{"image": {"busy"}}, false},
		{img, map[string][]string{"image": {"reg:5000/app"}}, true},
		{img, map[string][]string{"image": {"reg"}}, false},
		{img, map[string][]string{"image": {"sha256:abc"}}, true},
		{img, map[string][]string{"type": {"image"}, "event": {"tag", "untag"}}, true},
		{img, map[string][]string{"volume": {"sha256"}}, true}, // dockerd's fuzzy name match ignores the type
		{img, map[string][]string{"daemon": {"x"}}, false},
	} {
		if got := Match(tc.m, tc.f); got != tc.want {
			t.Errorf("%s %v: %v, want %v", tc.m.Action, tc.f, got, tc.want)
		}
	}
}

func TestValidateFilters(t *testing.T) {
	for _, k := range FilterKeys {
		if err := ValidateFilters(map[string][]string{k: {"x"}}); err != nil {
			t.Errorf("%s refused: %v", k, err)
		}
	}
	if err := ValidateFilters(map[string][]string{"nosuch": {"x"}}); err == nil || err.Error() != "invalid filter 'nosuch'" {
		t.Errorf("unknown key: %v", err)
	}
}

func TestWire147(t *testing.T) {
	c := Wire147(events.Message{Type: events.ContainerEventType, Action: events.ActionStart,
		Actor: events.Actor{ID: "c1", Attributes: map[string]string{"image": "busybox"}}})
	b, _ := json.Marshal(c)
	for _, want := range []string{`"status":"start"`, `"id":"c1"`, `"from":"busybox"`, `"Type":"container"`, `"Action":"start"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	n, _ := json.Marshal(Wire147(events.Message{Type: events.NetworkEventType, Action: events.ActionCreate, Actor: events.Actor{ID: "n1"}}))
	if strings.Contains(string(n), `"status"`) || strings.Contains(string(n), `"id"`) {
		t.Errorf("network event has the container-only fields: %s", n)
	}
}

// The log keeps at least the last keep events, in order, however many
// were logged.
func TestLogKeepsTheLatest(t *testing.T) {
	s := New()
	const n = 5*keep + 17
	for i := 0; i < n; i++ {
		s.Log(events.ContainerEventType, events.ActionCreate, strconv.Itoa(i), nil)
	}
	past, _, cancel := s.Subscribe(time.Unix(0, 1))
	defer cancel()
	if len(past) < keep || len(past) > 2*keep {
		t.Fatalf("%d past events kept, want %d to %d", len(past), keep, 2*keep)
	}
	for i, m := range past {
		if want := strconv.Itoa(n - len(past) + i); m.Actor.ID != want {
			t.Fatalf("past[%d] = %s, want %s (the latest, in order)", i, m.Actor.ID, want)
		}
	}
}
