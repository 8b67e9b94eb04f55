package container

import (
	"errors"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/container"
)

// healthConfig builds the Healthcheck from --health-* and --no-healthcheck,
// with docker's conflicts and "CMD-SHELL" form for --health-cmd.
func (o *containerOptions) healthConfig() (*container.HealthConfig, error) {
	parse := func(name, v string) (time.Duration, error) {
		if v == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, fmt.Errorf("invalid argument %q for \"--%s\" flag: %w", v, name, err)
		}
		if d < 0 {
			return 0, fmt.Errorf("--%s cannot be negative", name)
		}
		return d, nil
	}
	interval, err := parse("health-interval", o.healthInterval)
	if err != nil {
		return nil, err
	}
	timeout, err := parse("health-timeout", o.healthTimeout)
	if err != nil {
		return nil, err
	}
	start, err := parse("health-start-period", o.healthStartPeriod)
	if err != nil {
		return nil, err
	}
	haveOpts := o.healthCmd != "" || interval != 0 || timeout != 0 || start != 0 || o.healthRetries != 0
	if o.noHealthcheck {
		if haveOpts {
			return nil, errors.New("--no-healthcheck conflicts with --health-* options")
		}
		return &container.HealthConfig{Test: []string{"NONE"}}, nil
	}
	if !haveOpts {
		return nil, nil
	}
	if o.healthRetries < 0 {
		return nil, errors.New("--health-retries cannot be negative")
	}
	hc := &container.HealthConfig{Interval: interval, Timeout: timeout, StartPeriod: start, Retries: o.healthRetries}
	if o.healthCmd != "" {
		hc.Test = []string{"CMD-SHELL", o.healthCmd}
	}
	return hc, nil
}
