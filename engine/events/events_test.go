package events

import (
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
	}
	no := []map[string][]string{
		{"type": {"image"}}, {"event": {"die"}}, {"container": {"db"}}, {"image": {"alpine"}},
		{"label": {"team=b"}}, {"network": {"web"}},
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
