package build

import (
	"bytes"
	"strings"
	"testing"
	"time"

	controlapi "github.com/moby/buildkit/api/services/control"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// statusFixture is a StatusResponse as BuildKit encodes it.
func statusFixture(t testing.TB) []byte {
	t0 := time.Unix(1700000000, 123000000)
	t1 := t0.Add(1500 * time.Millisecond)
	sr := &controlapi.StatusResponse{
		Vertexes: []*controlapi.Vertex{
			{Digest: "sha256:aa", Name: "[1/2] FROM busybox", Cached: true, Started: timestamppb.New(t0), Completed: timestamppb.New(t0)},
			{Digest: "sha256:bb", Inputs: []string{"sha256:aa"}, Name: "[2/2] RUN echo hi", Started: timestamppb.New(t0), Completed: timestamppb.New(t1), Error: "exit code: 1"},
		},
		Statuses: []*controlapi.VertexStatus{{ID: "transferring", Vertex: "sha256:bb", Current: 42, Total: 100, Timestamp: timestamppb.New(t1), Completed: timestamppb.New(t1)}},
		Logs:     []*controlapi.VertexLog{{Vertex: "sha256:bb", Timestamp: timestamppb.New(t1), Stream: 1, Msg: []byte("hi\n")}},
		Warnings: []*controlapi.VertexWarning{{Vertex: "sha256:bb", Level: 1, Short: []byte("careful"), Url: "u"}},
	}
	b, err := sr.MarshalVT()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The decoder reads what BuildKit's own encoder writes.
func TestDecodeStatus(t *testing.T) {
	s, err := decodeStatus(statusFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Vertexes) != 2 || len(s.Statuses) != 1 || len(s.Logs) != 1 || len(s.Warnings) != 1 {
		t.Fatalf("decoded %+v", s)
	}
	v := s.Vertexes[1]
	if v.Digest != "sha256:bb" || v.Name != "[2/2] RUN echo hi" || v.Error != "exit code: 1" || len(v.Inputs) != 1 || v.Inputs[0] != "sha256:aa" {
		t.Fatalf("vertex %+v", v)
	}
	if !s.Vertexes[0].Cached || s.Vertexes[1].Cached {
		t.Fatal("cached flags wrong")
	}
	if d := v.Completed.Sub(*v.Started); d != 1500*time.Millisecond {
		t.Fatalf("timestamps decode to a %v step", d)
	}
	st := s.Statuses[0]
	if st.ID != "transferring" || st.Current != 42 || st.Total != 100 || st.Completed == nil {
		t.Fatalf("status %+v", st)
	}
	if l := s.Logs[0]; string(l.Data) != "hi\n" || l.Stream != 1 {
		t.Fatalf("log %+v", l)
	}
	if w := s.Warnings[0]; string(w.Short) != "careful" || w.Level != 1 || w.URL != "u" {
		t.Fatalf("warning %+v", w)
	}
}

// Plain progress is BuildKit's plain log.
func TestPlainDisplay(t *testing.T) {
	s, err := decodeStatus(statusFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	d := newProgressDisplay(progressPlain, &out, nil)
	d.update(s)
	d.done()
	for _, want := range []string{"#1 [1/2] FROM busybox\n#1 CACHED\n", "#2 [2/2] RUN echo hi\n", "#2 transferring 42/100 done\n", "#2 1.5s hi\n", "#2 WARN: careful\n", "#2 ERROR: exit code: 1\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plain output lacks %q:\n%s", want, out.String())
		}
	}
}

// A step BuildKit completes and then finds cached, or reopens and
// completes again, gets one line: CACHED, or one DONE.
func TestPlainDisplayOneEnding(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	t1 := t0.Add(time.Second)
	var out bytes.Buffer
	d := newProgressDisplay(progressPlain, &out, nil)
	d.update(&solveStatus{Vertexes: []*vertex{{Digest: "a", Name: "FROM", Started: &t0, Completed: &t0}, {Digest: "b", Name: "RUN", Started: &t0, Completed: &t0}}})
	d.update(&solveStatus{Vertexes: []*vertex{{Digest: "a", Name: "FROM", Started: &t0, Completed: &t0, Cached: true}, {Digest: "b", Name: "RUN", Started: &t0}}})
	d.update(&solveStatus{Vertexes: []*vertex{{Digest: "b", Name: "RUN", Started: &t0, Completed: &t1}}})
	d.done()
	got := out.String()
	if !strings.Contains(got, "#1 CACHED\n") || strings.Contains(got, "#1 DONE") {
		t.Errorf("a cached step:\n%s", got)
	}
	if strings.Count(got, "#2 DONE") != 1 || !strings.Contains(got, "#2 DONE 1.0s\n") {
		t.Errorf("a reopened step:\n%s", got)
	}
}

func TestDecodeStatusTruncated(t *testing.T) {
	b := statusFixture(t)
	for i := 1; i < len(b); i++ {
		if _, err := decodeStatus(b[:i]); err == nil && i < 4 {
			t.Errorf("a %d-byte prefix decoded without error", i)
		}
	}
}

// The decoder reads bytes from the daemon: no input panics it or makes it
// loop, and every display takes what it returns.
func FuzzDecodeStatus(f *testing.F) {
	f.Add(statusFixture(f))
	f.Add([]byte{0x0a, 0x02, 0x0a, 0x00})
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeStatus(b)
		if err != nil {
			return
		}
		for _, mode := range []string{progressPlain, progressTTY, progressRawJSON} {
			var out bytes.Buffer
			d := newProgressDisplay(mode, &out, func() int { return 40 })
			d.update(s)
			d.done()
		}
	})
}
