package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
)

func TestDecodeJSONLimit(t *testing.T) {
	big := `{"Cmd":[` + strings.Repeat(`"a",`, 400000) + `"a"]}`
	for _, chunked := range []bool{false, true} {
		r := httptest.NewRequest("POST", "/containers/create", strings.NewReader(big))
		if chunked {
			r.ContentLength = -1 // the cap must hold without a Content-Length too
		}
		var c container.Config
		err := decodeJSONLimit(r, &c, false, 1<<20)
		if err == nil || statusOf(err) != http.StatusRequestEntityTooLarge || !strings.Contains(err.Error(), "1 MiB") {
			t.Errorf("chunked=%v: got %v (status %d), want a 413 naming the 1 MiB limit", chunked, err, statusOf(err))
		}
	}
	r := httptest.NewRequest("POST", "/x", strings.NewReader(`{"Cmd":["sh"]}`))
	var c container.Config
	if err := decodeJSONLimit(r, &c, false, 1<<20); err != nil || len(c.Cmd) != 1 {
		t.Fatalf("small body: %v %v", c.Cmd, err)
	}
}

func TestCheckConfigLimits(t *testing.T) {
	many := make([]string, 300000) // 300k empty strings: 2.7 MB of argv
	long := strings.Repeat("x", maxArgStrlen+1)
	bigLabels := map[string]string{"k": strings.Repeat("v", maxLabelBytes)}
	for name, c := range map[string]*container.Config{
		"many args": {Cmd: many},
		"long arg":  {Entrypoint: []string{long}},
		"long env":  {Env: []string{"A=" + long}},
		"split":     {Cmd: make([]string, 150000), Env: make([]string, 150000)},
		"labels":    {Labels: bigLabels},
		"health":    {Healthcheck: &container.HealthConfig{Test: many}},
	} {
		err := checkConfigLimits(c)
		if err == nil || statusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "limit") {
			t.Errorf("%s: got %v, want a 400 naming the limit", name, err)
		}
	}
	ok := &container.Config{Cmd: []string{"sh", "-c", strings.Repeat("x", 100000)}, Env: make([]string, 1000),
		Labels: map[string]string{"a": "b"}}
	if err := checkConfigLimits(ok); err != nil {
		t.Fatalf("an ordinary config was refused: %v", err)
	}
}
