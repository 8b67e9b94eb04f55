package build

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Progress modes of a BuildKit build (`--progress`), as buildx has them.
const (
	progressAuto    = "auto"
	progressPlain   = "plain"
	progressTTY     = "tty"
	progressQuiet   = "quiet"
	progressRawJSON = "rawjson"
)

// progressDisplay renders BuildKit status updates.
type progressDisplay interface {
	update(s *solveStatus)
	// done is called once, after the last update.
	done()
}

func newProgressDisplay(mode string, w io.Writer, width func() int) progressDisplay {
	switch mode {
	case progressQuiet:
		return discardDisplay{}
	case progressRawJSON:
		return &rawDisplay{enc: json.NewEncoder(w)}
	case progressTTY:
		return &ttyDisplay{trace: newTrace(), w: w, width: width, start: time.Now()}
	}
	return &plainDisplay{trace: newTrace(), w: w}
}

type discardDisplay struct{}

func (discardDisplay) update(*solveStatus) {}
func (discardDisplay) done()               {}

// rawDisplay prints each update as a JSON line.
type rawDisplay struct{ enc *json.Encoder }

func (d *rawDisplay) update(s *solveStatus) { _ = d.enc.Encode(s) }
func (d *rawDisplay) done()                 {}

// trace is the state of a build as the updates so far describe it: vertexes
// numbered in the order they first appeared, as BuildKit's own display.
type trace struct {
	byDigest map[string]*vertexState
	order    []*vertexState
}

type vertexState struct {
	vertex
	num      int
	statuses map[string]*vertexStatus
	stsOrder []string
	// lastLog is the last line of output (the tty display shows it).
	lastLog string
	// finished: the plain display printed its CACHED, DONE or ERROR;
	// doneSeen: an update completed it and the next one has not come yet.
	finished, doneSeen bool
}

func newTrace() *trace { return &trace{byDigest: map[string]*vertexState{}} }

func (t *trace) get(digest string) *vertexState {
	v := t.byDigest[digest]
	if v == nil {
		v = &vertexState{vertex: vertex{Digest: digest}, num: len(t.order) + 1, statuses: map[string]*vertexStatus{}}
		t.byDigest[digest] = v
		t.order = append(t.order, v)
	}
	return v
}

// plainDisplay prints BuildKit's plain log: "#N name", the step's output
// lines with their time since the step started, "#N CACHED", "#N DONE 0.1s"
// or "#N ERROR: ...".
type plainDisplay struct {
	*trace
	w io.Writer
	// last is the vertex the previous line was about; a blank line
	// separates lines of different vertexes.
	last *vertexState
}

func (d *plainDisplay) header(v *vertexState) {
	if d.last == v {
		return
	}
	if d.last != nil {
		fmt.Fprintln(d.w)
	}
	d.last = v
	fmt.Fprintf(d.w, "#%d %s\n", v.num, v.Name)
}

func (d *plainDisplay) update(s *solveStatus) {
	// A vertex reported complete may be reopened or found CACHED by the
	// next update (as BuildKit does while it loads a step): its DONE line
	// waits for the update after the one that completed it, and each
	// vertex gets one line.
	defer d.flushDone(false)
	for _, in := range s.Vertexes {
		v := d.get(in.Digest)
		wasStarted, wasCached := v.Started != nil, v.Cached
		v.vertex = *in
		if in.Cached && !wasCached && !v.finished {
			d.header(v)
			fmt.Fprintf(d.w, "#%d CACHED\n", v.num)
			v.finished = true
			continue
		}
		if in.Started != nil && !wasStarted {
			d.header(v)
		}
	}
	for _, st := range s.Statuses {
		v := d.get(st.Vertex)
		if st.Completed == nil {
			continue
		}
		d.header(v)
		fmt.Fprintln(d.w, strings.TrimRight(fmt.Sprintf("#%d %s %s", v.num, st.ID, amount(st)), " ")+" done")
	}
	for _, l := range s.Logs {
		v := d.get(l.Vertex)
		d.header(v)
		for _, line := range strings.SplitAfter(string(l.Data), "\n") {
			if line == "" {
				continue
			}
			fmt.Fprintf(d.w, "#%d %s %s", v.num, since(v.Started, l.Timestamp), line)
			if !strings.HasSuffix(line, "\n") {
				fmt.Fprintln(d.w)
			}
		}
	}
	for _, wn := range s.Warnings {
		fmt.Fprintf(d.w, "#%d WARN: %s\n", d.get(wn.Vertex).num, wn.Short)
	}
}

// flushDone prints DONE or ERROR for the vertexes an earlier update
// completed (all completed ones when final) and marks those this one did.
func (d *plainDisplay) flushDone(final bool) {
	for _, v := range d.order {
		if v.finished || v.Completed == nil {
			v.doneSeen = false
			continue
		}
		if !v.doneSeen && !final {
			v.doneSeen = true
			continue
		}
		v.finished = true
		d.header(v)
		if v.Error != "" {
			fmt.Fprintf(d.w, "#%d ERROR: %s\n", v.num, v.Error)
		} else {
			fmt.Fprintf(d.w, "#%d DONE %s\n", v.num, since(v.Started, *v.Completed))
		}
	}
}

func (d *plainDisplay) done() {
	d.flushDone(true)
	if d.last != nil {
		fmt.Fprintln(d.w)
	}
}

// since is the time from start to t as BuildKit shows it ("0.215").
func since(start *time.Time, t time.Time) string {
	if start == nil || t.Before(*start) {
		return "0.0s"
	}
	return fmt.Sprintf("%.1fs", t.Sub(*start).Seconds())
}

func amount(st *vertexStatus) string {
	if st.Total > 0 {
		return fmt.Sprintf("%d/%d", st.Current, st.Total)
	}
	if st.Current > 0 {
		return fmt.Sprintf("%dB", st.Current)
	}
	return ""
}

// ttyDisplay redraws a summary of every step in place, as BuildKit's tty
// mode: a header with the elapsed time and steps done, one line per step,
// the last output line of running steps; the final state stays on screen.
type ttyDisplay struct {
	*trace
	w      io.Writer
	width  func() int
	start  time.Time
	lines  int
	drawn  time.Time
	errors []string
}

func (d *ttyDisplay) update(s *solveStatus) {
	for _, in := range s.Vertexes {
		v := d.get(in.Digest)
		v.vertex = *in
		if in.Error != "" && in.Completed != nil {
			d.errors = append(d.errors, fmt.Sprintf("[%s] %s", v.Name, in.Error))
		}
	}
	for _, st := range s.Statuses {
		v := d.get(st.Vertex)
		if _, ok := v.statuses[st.ID]; !ok {
			v.stsOrder = append(v.stsOrder, st.ID)
		}
		v.statuses[st.ID] = st
	}
	for _, l := range s.Logs {
		v := d.get(l.Vertex)
		if line := strings.TrimSpace(lastLine(string(l.Data))); line != "" {
			v.lastLog = line
		}
	}
	// Redraw at most ten times a second; done draws the final state.
	if time.Since(d.drawn) >= 100*time.Millisecond {
		d.draw(false)
	}
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func (d *ttyDisplay) draw(final bool) {
	d.drawn = time.Now()
	width := 80
	if d.width != nil {
		if w := d.width(); w > 20 {
			width = w
		}
	}
	var b strings.Builder
	if d.lines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", d.lines)
	}
	done := 0
	for _, v := range d.order {
		if v.Completed != nil || v.Cached {
			done++
		}
	}
	var out []string
	out = append(out, fmt.Sprintf("[+] Building %.1fs (%d/%d)%s", time.Since(d.start).Seconds(), done, len(d.order), map[bool]string{true: " FINISHED", false: ""}[final && len(d.errors) == 0]))
	vs := append([]*vertexState(nil), d.order...)
	sort.SliceStable(vs, func(i, j int) bool { return startOf(vs[i]).Before(startOf(vs[j])) })
	for _, v := range vs {
		if v.Started == nil && !v.Cached {
			continue
		}
		state := ""
		switch {
		case v.Cached:
			state = "CACHED"
		case v.Error != "":
			state = "ERROR"
		case v.Completed != nil:
			state = since(v.Started, *v.Completed)
		default:
			state = since(v.Started, time.Now())
		}
		out = append(out, fitLine(" => "+v.Name, state, width))
		for _, id := range v.stsOrder {
			if st := v.statuses[id]; st.Completed == nil && !final {
				out = append(out, fitLine(" => => "+st.ID+" "+amount(st), "", width))
			}
		}
		if v.Completed == nil && !v.Cached && v.lastLog != "" && !final {
			out = append(out, fitLine(" => => # "+v.lastLog, "", width))
		}
	}
	for _, l := range out {
		b.WriteString(l)
		b.WriteString("\x1b[K\n")
	}
	// Clear what a longer previous frame left below.
	for i := len(out); i < d.lines; i++ {
		b.WriteString("\x1b[K\n")
	}
	if len(out) < d.lines {
		fmt.Fprintf(&b, "\x1b[%dA", d.lines-len(out))
	}
	d.lines = len(out)
	io.WriteString(d.w, b.String())
}

func startOf(v *vertexState) time.Time {
	if v.Started != nil {
		return *v.Started
	}
	return time.Time{}
}

// fitLine puts right at the end of a line width wide, cutting left.
func fitLine(left, right string, width int) string {
	room := width - len(right) - 1
	if len(left) > room {
		if room < 4 {
			room = 4
		}
		left = left[:room-3] + "..."
	}
	if right == "" {
		return left
	}
	return left + strings.Repeat(" ", max(1, width-len(left)-len(right)-1)) + right
}

func (d *ttyDisplay) done() {
	d.draw(true)
	for _, e := range d.errors {
		fmt.Fprintln(d.w, "ERROR:", e)
	}
}
