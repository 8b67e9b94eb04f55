package containers

import (
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/berth-dev/berth/internal/errdefs"
)

func TestValidateLogConfig(t *testing.T) {
	for _, ok := range []struct {
		driver string
		opts   map[string]string
	}{
		{"json-file", map[string]string{"max-size": "10m", "max-file": "3", "compress": "true"}},
		{"local", nil},
		{"syslog", map[string]string{"syslog-address": "udp://127.0.0.1:514", "tag": "{{.Name}}/{{.ID}}"}},
		{"journald", map[string]string{"tag": "x"}},
		{"none", nil},
	} {
		if err := ValidateLogConfig(ok.driver, ok.opts); err != nil {
			t.Errorf("%s %v: %v", ok.driver, ok.opts, err)
		}
	}
	for _, bad := range []struct {
		driver string
		opts   map[string]string
		want   string
	}{
		{"gelf", nil, "logger: no log driver named 'gelf' is registered"},
		{"json-file", map[string]string{"foo": "1"}, "unknown log opt 'foo' for json-file log driver"},
		{"local", map[string]string{"foo": "1"}, "unknown log opt 'foo' for local log driver"},
		{"journald", map[string]string{"labels": "a"}, "log opt 'labels' is not supported by berth's journald log driver"},
		{"local", map[string]string{"tag": "a"}, "log opt 'tag' is not supported by berth's local log driver"},
		{"local", map[string]string{"max-size": "-1"}, "max-size must be a positive number"},
		{"syslog", map[string]string{"tag": "{{"}, "template: log-tag:1: unclosed action"},
		{"none", map[string]string{"max-size": "1m"}, "invalid logging opts for driver none"},
	} {
		err := ValidateLogConfig(bad.driver, bad.opts)
		if err == nil || err.Error() != bad.want || !errdefs.IsInvalid(err) {
			t.Errorf("%s %v: %v, want %q (invalid)", bad.driver, bad.opts, err, bad.want)
		}
	}
}

func TestFileLogLimitsDefaults(t *testing.T) {
	if l, _ := fileLogLimits("local", nil); l != (fileLimits{maxSize: 20 << 20, maxFiles: 5, compress: true}) {
		t.Errorf("local defaults: %+v", l)
	}
	if l, _ := fileLogLimits("json-file", nil); l != (fileLimits{maxFiles: 1}) {
		t.Errorf("json-file defaults: %+v", l)
	}
	if l, _ := fileLogLimits("json-file", map[string]string{"max-size": "-1", "max-file": "4", "compress": "1"}); l != (fileLimits{maxFiles: 4, compress: true}) {
		t.Errorf("json-file opts: %+v", l)
	}
}

func TestMergeLogConfig(t *testing.T) {
	s := &Service{cfg: Config{LogDriver: "local", LogOpts: map[string]string{"max-file": "2", "max-size": "1m"}}}
	lc := container.LogConfig{Config: map[string]string{"max-size": "5m"}}
	s.mergeLogConfig(&lc)
	if lc.Type != "local" || lc.Config["max-size"] != "5m" || lc.Config["max-file"] != "2" {
		t.Errorf("default driver: %+v", lc)
	}
	other := container.LogConfig{Type: "json-file"}
	s.mergeLogConfig(&other)
	if len(other.Config) != 0 {
		t.Errorf("another driver got the default's options: %+v", other)
	}
	empty := &Service{}
	var def container.LogConfig
	empty.mergeLogConfig(&def)
	if def.Type != "json-file" {
		t.Errorf("no daemon default: %+v", def)
	}
}
