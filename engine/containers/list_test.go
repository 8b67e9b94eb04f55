package containers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/engine/mounts"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// A row's JSON, put together from its parts with a status and sizes, is
// what json.Marshal makes of the whole Summary.
func TestRowJSONAsMarshal(t *testing.T) {
	ep := &network.EndpointSettings{NetworkID: "n1", EndpointID: "e1", IPAddress: netip.MustParseAddr("10.9.0.2"),
		IPPrefixLen: 24, Gateway: netip.MustParseAddr("10.9.0.1"), Aliases: []string{"a<b>"},
		MacAddress: network.HardwareAddr{2, 0x42, 10, 9, 0, 2}}
	full := container.Summary{
		ID: "abc", Names: []string{"/x"}, Image: "busybox", ImageID: "sha256:1", Command: `sh -c "echo <&>"`,
		Created: 1700000000, Ports: []container.PortSummary{{IP: netip.MustParseAddr("127.0.0.1"), PrivatePort: 80, PublicPort: 8080, Type: "tcp"}},
		Labels: map[string]string{"z": "1", "a": "<b&c>", "é": "\u2028"}, State: container.StateRunning,
		Health:          &container.HealthSummary{Status: container.Healthy},
		NetworkSettings: &container.NetworkSettingsSummary{Networks: map[string]*network.EndpointSettings{"bridge": ep, "other": {}}},
		Mounts:          []container.MountPoint{{Type: "volume", Name: "v", Source: "/s", Destination: "/d", Driver: "local", RW: true}},
	}
	full.HostConfig.NetworkMode = "bridge"
	bare := container.Summary{ID: "def", Ports: []container.PortSummary{}, State: container.StateCreated,
		NetworkSettings: &container.NetworkSettingsSummary{Networks: map[string]*network.EndpointSettings{}}}
	for _, sum := range []container.Summary{full, bare} {
		enc, err := encodeRow(sum)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []struct {
			status    string
			rw, total int64
		}{{"Up 2 minutes (healthy)", 0, 0}, {"Created", 12, 0}, {`odd "<status>" ü`, 0, 3}, {"", -1, 1 << 40}} {
			want := sum
			want.Status, want.SizeRw, want.SizeRootFs = v.status, v.rw, v.total
			b, err := json.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			if got := enc.append(nil, v.status, v.rw, v.total); !bytes.Equal(got, b) {
				t.Errorf("row JSON:\n%s\nwant json.Marshal's\n%s", got, b)
			}
		}
	}
}

// listService is a service holding n containers, created a second apart
// (so their order is known), the even ones running.
func listService(t *testing.T, n int) *Service {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := &Service{byID: map[string]*entry{}, byName: map[string]string{}, ctx: ctx, cancel: cancel}
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range n {
		c := Container{ID: fmt.Sprintf("%064d", i), Name: fmt.Sprintf("c%d", i), Created: base.Add(time.Duration(i) * time.Second),
			Path: "sleep", Args: []string{"1d"}, ImageID: "sha256:img",
			Config:     &container.Config{Image: "busybox", Labels: map[string]string{"i": fmt.Sprint(i), "x": "<&>"}},
			HostConfig: &container.HostConfig{NetworkMode: "bridge"},
			State:      State{Status: StatusExited, ExitCode: i, FinishedAt: base},
			MountPoints: []mounts.MountPoint{{Type: mounts.TypeVolume, Name: "v", Source: "/v", Destination: "/data", RW: true},
				{Type: mounts.TypeTmpfs, Destination: "/t", Origin: mounts.OriginTmpfs}},
			Endpoints: map[string]*network.EndpointSettings{"bridge": {Aliases: []string{"a"}}},
		}
		if i%2 == 0 {
			c.State = State{Status: StatusRunning, Pid: 100 + i, StartedAt: base}
		}
		s.byID[c.ID] = newEntry(c)
		s.byName[c.Name] = c.ID
	}
	return s
}

// The API's reply (ListJSON) is the JSON encoding of List's result, for
// every form of the list, on the first list (rows encoded) and the next
// (rows' JSON kept).
func TestListJSONIsListEncoded(t *testing.T) {
	s := listService(t, 7)
	ctx := context.Background()
	for _, o := range []ListOptions{{}, {All: true}, {Limit: 3}, {All: true, Filters: map[string][]string{"label": {"i=3"}}},
		{Filters: map[string][]string{"status": {"exited"}}}, {Filters: map[string][]string{"name": {"nothing"}}}} {
		for range 2 {
			got, err := s.ListJSON(ctx, o, nil)
			if err != nil {
				t.Fatal(err)
			}
			list, err := s.List(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(list); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("%+v: ListJSON\n%s\nwant List encoded\n%s", o, got, want.Bytes())
			}
		}
	}
	list, _ := s.List(ctx, ListOptions{})
	if len(list) != 4 || list[0].Names[0] != "/c6" || list[3].Names[0] != "/c0" {
		t.Errorf("ps lists %d, first %v: want the 4 running, newest first", len(list), list[0].Names)
	}
}

// A container whose lock is held (a start stuck in a hung runtime) holds
// up no list: it shows as it was when the lock was taken, and as changed
// once let go.
func TestListBesideHeldLock(t *testing.T) {
	s := listService(t, 3)
	e := s.byID[fmt.Sprintf("%064d", 1)]
	e.mu.Lock()
	e.c.State = State{Status: StatusRunning, Pid: 7, StartedAt: time.Now()}
	states := func() string {
		var got []string
		within(t, "ps", func() {
			list, err := s.List(context.Background(), ListOptions{All: true})
			if err != nil {
				t.Error(err)
			}
			for _, c := range list {
				got = append(got, c.Names[0]+" "+string(c.State))
			}
			if _, err := s.ListJSON(context.Background(), ListOptions{All: true}, nil); err != nil {
				t.Error(err)
			}
		})
		return strings.Join(got, ", ")
	}
	if got, want := states(), "/c2 running, /c1 exited, /c0 running"; got != want {
		t.Errorf("ps beside the held lock: %s, want %s", got, want)
	}
	e.mu.Unlock()
	if got, want := states(), "/c2 running, /c1 running, /c0 running"; got != want {
		t.Errorf("ps once the lock is let go: %s, want %s", got, want)
	}
}

// A change waiters are woken for shows in the list at once, though the
// lock is still held (an exit's clean-up follows): a `ps` right after
// `stop` returned listed the container as running, healthy.
func TestListSeesNotifiedChange(t *testing.T) {
	s := listService(t, 1)
	e := s.byID[fmt.Sprintf("%064d", 0)]
	e.mu.Lock()
	e.c.State = State{Status: StatusRunning, Pid: 7, StartedAt: time.Now()}
	e.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.c.State.Status, e.c.State.Pid = StatusExited, 0
	e.notify()
	list, err := s.List(context.Background(), ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || string(list[0].State) != string(StatusExited) {
		t.Errorf("ps after the exit was notified: %+v, want the container exited", list)
	}
}

// Lists made while a container changes (run with -race) never show a
// row that is half of one change and half of another.
func TestListRowsWhole(t *testing.T) {
	s := listService(t, 2)
	e := s.byID[fmt.Sprintf("%064d", 1)]
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			e.mu.Lock()
			// One change: the name and the exit code go together.
			e.c.Name = fmt.Sprintf("n%d", i)
			e.c.State.ExitCode = i
			e.c.MountPoints[0].Source = fmt.Sprintf("/v%d", i)
			e.mu.Unlock()
		}
	}()
	for range 500 {
		body, err := s.ListJSON(context.Background(), ListOptions{All: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var list []container.Summary
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			if c.ID != e.c.ID {
				continue
			}
			n := strings.TrimPrefix(c.Names[0], "/n")
			if c.Names[0] != "/c1" && (!strings.HasPrefix(c.Status, "Exited ("+n+")") || c.Mounts[0].Source != "/v"+n) {
				t.Fatalf("torn row: name %s, status %q, mount source %s", c.Names[0], c.Status, c.Mounts[0].Source)
			}
		}
	}
	close(done)
	wg.Wait()
}
