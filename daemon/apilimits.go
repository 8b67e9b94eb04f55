package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/berth-dev/berth/api"
)

// APILimits is daemon.json's "api-limits": what one client may hold on a
// listener (see api.ServeLimits). Durations are Go durations ("30s").
//
//	"api-limits": {"max-connections": 2048, "reserve-connections": 64,
//	               "header-timeout": "30s", "idle-timeout": "2m", "body-timeout": "60s"}
type APILimits struct {
	MaxConnections     *int   `json:"max-connections,omitempty"`
	ReserveConnections *int   `json:"reserve-connections,omitempty"`
	HeaderTimeout      string `json:"header-timeout,omitempty"`
	IdleTimeout        string `json:"idle-timeout,omitempty"`
	BodyTimeout        string `json:"body-timeout,omitempty"`
}

// UnmarshalJSON refuses unknown keys and bad values, naming them.
func (a *APILimits) UnmarshalJSON(data []byte) error {
	type plain APILimits
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p plain
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*a = APILimits(p)
	_, err := a.serveLimits()
	return err
}

// serveLimits applies the settings over api.DefaultServeLimits.
func (a *APILimits) serveLimits() (api.ServeLimits, error) {
	lim := api.DefaultServeLimits
	if a == nil {
		return lim, nil
	}
	if a.MaxConnections != nil {
		if *a.MaxConnections < 1 {
			return lim, fmt.Errorf("max-connections must be at least 1, not %d", *a.MaxConnections)
		}
		lim.MaxConns = *a.MaxConnections
	}
	if a.ReserveConnections != nil {
		if *a.ReserveConnections < 0 {
			return lim, fmt.Errorf("reserve-connections must not be negative")
		}
		lim.Reserve = *a.ReserveConnections
	}
	for _, d := range []struct {
		name string
		v    string
		dst  *time.Duration
	}{{"header-timeout", a.HeaderTimeout, &lim.HeaderTimeout}, {"idle-timeout", a.IdleTimeout, &lim.IdleTimeout}, {"body-timeout", a.BodyTimeout, &lim.BodyTimeout}} {
		if d.v == "" {
			continue
		}
		v, err := time.ParseDuration(d.v)
		if err != nil || v <= 0 {
			return lim, fmt.Errorf("%s: %q is not a positive duration such as \"30s\"", d.name, d.v)
		}
		*d.dst = v
	}
	return lim, nil
}
