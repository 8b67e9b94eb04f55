package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	units "github.com/docker/go-units"
)

// cacheRecord is a build cache record as GET /system/df reports it.
type cacheRecord struct {
	ID     string
	Type   string
	Size   int64
	InUse  bool
	Shared bool
}

// buildCacheDF returns the build cache records of GET /system/df by ID.
func buildCacheDF(t *testing.T, d *Daemon) map[string]cacheRecord {
	t.Helper()
	code, _, body := d.API(t, "GET", "/system/df?type=build-cache", "", "")
	var df struct{ BuildCache []cacheRecord }
	if err := json.Unmarshal([]byte(body), &df); code != http.StatusOK || err != nil {
		t.Fatalf("GET /system/df: %d %v\n%s", code, err, body)
	}
	out := map[string]cacheRecord{}
	for _, r := range df.BuildCache {
		out[r.ID] = r
	}
	return out
}

// settledCacheDF is buildCacheDF once two reads in a row agree and no
// cache mount is of size 0 (every one these tests make holds data):
// BuildKit releases a build's cache mount after the build's reply, and its
// size is known only from then on (CI saw /system/df give a cache mount
// size 0 right after the build and buildx du then 204.8kB).
func settledCacheDF(t *testing.T, d *Daemon) map[string]cacheRecord {
	t.Helper()
	prev := buildCacheDF(t, d)
	var got map[string]cacheRecord
	waitUntil(t, 30*time.Second, "two equal /system/df reads of the build cache", func() bool {
		got = buildCacheDF(t, d)
		same := reflect.DeepEqual(got, prev)
		prev = got
		for _, r := range got {
			if r.Type == "exec.cachemount" && r.Size == 0 {
				return false
			}
		}
		return same
	})
	return got
}

// summaryLine returns the value of "Name:" in buildx du's summary.
func summaryLine(t *testing.T, out, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `:\s+(\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %s line in buildx du:\n%s", name, out)
	}
	return m[1]
}

// checkUsageAgrees compares what `docker buildx du` (BuildKit's control API
// over /grpc) and `docker system df` (the Engine API) say of the cache with
// the records /system/df lists, which are BuildKit's own.
func checkUsageAgrees(t *testing.T, d *Daemon, dc CLI, recs map[string]cacheRecord) {
	t.Helper()
	var total, reclaimable int64
	active := 0
	for _, r := range recs {
		if r.Size > 0 {
			total += r.Size
			if !r.InUse {
				reclaimable += r.Size
			}
		}
		if r.InUse {
			active++
		}
	}
	lines := strings.Fields(dc.Must(t, "buildx", "du", "--format", "{{.ID}}={{.Size}}"))
	if len(lines) != len(recs) {
		t.Fatalf("buildx du lists %d records, /system/df %d:\n%q", len(lines), len(recs), lines)
	}
	for _, l := range lines {
		id, size, _ := strings.Cut(l, "=")
		r, ok := recs[id]
		if !ok || size != units.HumanSize(float64(r.Size)) {
			t.Fatalf("buildx du has %s, /system/df %+v (present: %v)", l, r, ok)
		}
	}
	du := dc.Must(t, "buildx", "du")
	if got, want := summaryLine(t, du, "Total"), units.HumanSize(float64(total)); got != want {
		t.Fatalf("buildx du total %s, the records sum to %s\n%s", got, want, du)
	}
	if got, want := summaryLine(t, du, "Reclaimable"), units.HumanSize(float64(reclaimable)); got != want {
		t.Fatalf("buildx du reclaimable %s, the unused records sum to %s\n%s", got, want, du)
	}
	df := dc.Must(t, "system", "df", "--format", `{{if eq .Type "Build Cache"}}{{.TotalCount}} {{.Active}}{{end}}`)
	if want := fmt.Sprint(len(recs), " ", active); df != want {
		t.Fatalf("system df counts %q build cache records (total active), want %q", df, want)
	}
}

// `docker buildx du`, `docker system df` and `docker builder prune` agree
// after a few builds and a prune: du lists exactly the records system df
// counts, with their sizes and sums; a filtered prune reports the size of
// what it removed, and du and system df then agree on what is left.
func TestBuildKitCacheUsageAgrees(t *testing.T) {
	d := startDaemon(t)
	dc := buildxPlugin(t, d)
	for i, df := range []string{
		"FROM busybox\nRUN head -c 300000 /dev/urandom > /r\n",
		"FROM busybox\nRUN --mount=type=cache,target=/c head -c 200000 /dev/urandom > /c/r && cp /c/r /r\n",
		"FROM busybox\nRUN echo 3 > /three\nRUN head -c 100000 /dev/urandom > /r\n",
	} {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"Dockerfile": df})
		if r := dockerBuild(t, d, "-t", fmt.Sprint("usage:", i), dir); r.Exit != 0 {
			t.Fatalf("build %d: %s", i, r)
		}
	}
	before := settledCacheDF(t, d)
	if len(before) < 4 {
		t.Fatalf("%d build cache records after three builds: %+v", len(before), before)
	}
	checkUsageAgrees(t, d, dc, before)

	out := dc.Must(t, "builder", "prune", "-f", "--filter", "type=exec.cachemount")
	after := buildCacheDF(t, d)
	var freed int64
	for id, r := range before {
		if _, ok := after[id]; ok {
			continue
		}
		if r.Type != "exec.cachemount" || !strings.Contains(out, id) {
			t.Fatalf("prune --filter type=exec.cachemount removed %+v, or did not list it:\n%s", r, out)
		}
		freed += r.Size
	}
	if freed < 200000 {
		t.Fatalf("the cache mount's record (200 kB) was not removed: %d bytes\n%s", freed, out)
	}
	// With buildx installed, `builder prune` is `buildx prune` (a table
	// and "Total:"); the classic command says "Total reclaimed space:".
	if got := regexp.MustCompile(`(?m)^Total(?: reclaimed space)?:\s+(\S+)$`).FindStringSubmatch(out); got == nil || got[1] != units.HumanSize(float64(freed)) {
		t.Fatalf("prune reports %q reclaimed, the removed records sum to %s:\n%s", got, units.HumanSize(float64(freed)), out)
	}
	checkUsageAgrees(t, d, dc, after)

	dc.Must(t, "builder", "prune", "-af")
	empty := buildCacheDF(t, d)
	if len(empty) != 0 {
		t.Fatalf("records after prune -af: %+v", empty)
	}
	checkUsageAgrees(t, d, dc, empty)
}
