package daemon

import (
	"strings"
	"testing"
	"time"
)

func TestAPILimitsConfig(t *testing.T) {
	p := writeConfig(t, `{"api-limits":{"max-connections":10,"reserve-connections":2,"body-timeout":"3s","idle-timeout":"1m","header-timeout":"5s"}}`)
	c, _, err := LoadFile(p, true)
	if err != nil {
		t.Fatal(err)
	}
	lim, err := c.APILimits.serveLimits()
	if err != nil || lim.MaxConns != 10 || lim.Reserve != 2 || lim.BodyTimeout != 3*time.Second ||
		lim.IdleTimeout != time.Minute || lim.HeaderTimeout != 5*time.Second {
		t.Fatalf("limits = %+v, %v", lim, err)
	}
	var none *APILimits
	if lim, err := none.serveLimits(); err != nil || lim.MaxConns == 0 || lim.BodyTimeout == 0 {
		t.Fatalf("defaults = %+v, %v", lim, err)
	}
	for body, want := range map[string]string{
		`{"api-limits":{"body-timeout":"soon"}}`:    "body-timeout",
		`{"api-limits":{"body-timeout":"-1s"}}`:     "body-timeout",
		`{"api-limits":{"max-connections":0}}`:      "max-connections",
		`{"api-limits":{"reserve-connections":-1}}`: "reserve-connections",
		`{"api-limits":{"max-conns":5}}`:            "max-conns",
		`{"api-limits":{"idle-timeout":5}}`:         "idle-timeout",
	} {
		_, _, err := LoadFile(writeConfig(t, body), true)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "api-limits") {
			t.Errorf("%s: got %v, want an error naming api-limits and %s", body, err, want)
		}
	}
}
