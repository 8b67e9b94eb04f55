package containers

import (
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"

	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/locallog"
	"github.com/berth-dev/berth/internal/logdriver"
)

// Log drivers and the options each applies. Options Docker knows for a
// driver but Berth does not apply are refused by name (never accepted and
// ignored); anything else gets Docker's "unknown log opt".
var logDriverOpts = map[string][]string{
	"json-file": {"max-size", "max-file", "compress"},
	"local":     {"max-size", "max-file", "compress"},
	"syslog":    logdriver.SyslogOpts,
	"journald":  logdriver.JournaldOpts,
	"none":      nil,
	// cri writes kubelet's CRI log format; kubelet rotates it.
	"cri": nil,
}

// dockerOnlyOpts are options Docker's drivers take that Berth's do not.
var dockerOnlyOpts = []string{"labels", "labels-regex", "env", "env-regex", "tag", "mode", "max-buffer-size",
	"syslog-tls-ca-cert", "syslog-tls-cert", "syslog-tls-key", "syslog-tls-skip-verify"}

// ValidateLogConfig checks a log driver and its options as given in
// daemon.json (log-driver, log-opts) or by --log-driver/--log-opt, with
// Docker's messages.
func ValidateLogConfig(driver string, opts map[string]string) error {
	known, ok := logDriverOpts[driver]
	if !ok {
		return errdefs.Invalid("logger: no log driver named '%s' is registered", driver)
	}
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		if slices.Contains(known, k) {
			continue
		}
		if driver == "none" {
			return errdefs.Invalid("invalid logging opts for driver none")
		}
		if slices.Contains(dockerOnlyOpts, k) {
			return errdefs.Invalid("log opt '%s' is not supported by berth's %s log driver", k, driver)
		}
		if driver == "json-file" {
			return errdefs.Invalid("unknown log opt '%s' for json-file log driver", k)
		}
		return errdefs.Invalid("unknown log opt '%s' for %s log driver", k, driver)
	}
	switch driver {
	case "json-file", "local":
		if _, err := fileLogLimits(driver, opts); err != nil {
			return err
		}
	case "syslog":
		if _, err := logdriver.ParseSyslog(opts); err != nil {
			return errdefs.Invalid("%s", err.Error())
		}
	}
	if t, ok := opts["tag"]; ok {
		if _, err := template.New("log-tag").Parse(t); err != nil {
			return errdefs.Invalid("%s", err.Error())
		}
	}
	return nil
}

// fileLimits are a file driver's rotation settings.
type fileLimits struct {
	maxSize  int64 // 0: no rotation
	maxFiles int
	compress bool
}

// fileLogLimits reads max-size, max-file and compress, with each driver's
// Docker defaults: json-file unlimited, one file, no compression; local 20 MB
// x 5 files, compressed.
func fileLogLimits(driver string, opts map[string]string) (fileLimits, error) {
	l := fileLimits{maxFiles: 1}
	if driver == "local" {
		l = fileLimits{maxSize: locallog.DefaultMaxSize, maxFiles: locallog.DefaultMaxFiles, compress: locallog.DefaultCompress}
	}
	if v, ok := opts["max-size"]; ok {
		if v == "-1" { // unlimited, as Docker's json-file reads it
			if driver == "local" {
				return l, errdefs.Invalid("max-size must be a positive number")
			}
			v = "0"
		}
		n, err := units.RAMInBytes(v)
		if err != nil {
			return l, errdefs.Invalid("invalid max-size log option %q: %v", v, err)
		}
		l.maxSize = n
	}
	if v, ok := opts["max-file"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return l, errdefs.Invalid("invalid max-file log option %q: must be a number >= 1", v)
		}
		l.maxFiles = n
	}
	if v, ok := opts["compress"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return l, errdefs.Invalid("error reading compress log option: %v", err)
		}
		l.compress = b
	}
	return l, nil
}

// mergeLogConfig fills a container's log config from the daemon's
// defaults, as Docker does at create: the default driver when none is
// given, and the default options for keys the container does not set when
// it uses the default driver. The result is what inspect shows.
func (s *Service) mergeLogConfig(lc *container.LogConfig) {
	s.logMu.Lock()
	driver, opts := s.cfg.LogDriver, s.cfg.LogOpts
	s.logMu.Unlock()
	if driver == "" {
		driver = "json-file"
	}
	if lc.Type == "" {
		lc.Type = driver
	}
	if lc.Type != driver || len(opts) == 0 {
		return
	}
	if lc.Config == nil {
		lc.Config = map[string]string{}
	}
	for k, v := range opts {
		if _, ok := lc.Config[k]; !ok {
			lc.Config[k] = v
		}
	}
}

// SetLogDefaults changes the daemon's log-driver and log-opts for containers
// created from now on (daemon reload). They must have passed
// ValidateLogConfig.
func (s *Service) SetLogDefaults(driver string, opts map[string]string) {
	s.logMu.Lock()
	s.cfg.LogDriver, s.cfg.LogOpts = driver, opts
	s.logMu.Unlock()
}

// logPath is where a file driver keeps a container's log ("" for others).
func logPath(driver, dir, id string) string {
	switch driver {
	case "json-file":
		return filepath.Join(dir, id+"-json.log")
	case "local":
		return filepath.Join(dir, "local-logs", locallog.FileName)
	case "cri":
		return filepath.Join(dir, id+"-cri.log")
	}
	return ""
}

// logSettings resolves a container's log config into what its monitor
// needs: rotation for the file drivers, the rendered tag and destination
// for syslog, the fields for journald. It fails, in Docker's words, when the
// driver cannot work on this host (no journald, no local syslog socket).
func (s *Service) logSettings(c *Container) (fileLimits, map[string]string, error) {
	lc := c.HostConfig.LogConfig
	fail := func(err error) (fileLimits, map[string]string, error) {
		return fileLimits{}, nil, errdefs.Invalid("failed to initialize logging driver: %v", err)
	}
	switch lc.Type {
	case "json-file", "local", "":
		l, err := fileLogLimits(lc.Type, lc.Config)
		return l, nil, err
	case "syslog":
		opts := maps.Clone(lc.Config)
		if opts == nil {
			opts = map[string]string{}
		}
		tag, err := renderLogTag(c, lc.Config["tag"])
		if err != nil {
			return fail(err)
		}
		opts["tag"] = tag
		sc, err := logdriver.ParseSyslog(opts)
		if err != nil {
			return fail(err)
		}
		if err := logdriver.CheckSyslog(sc); err != nil {
			return fail(err)
		}
		return fileLimits{}, opts, nil
	case "journald":
		if err := logdriver.CheckJournald(); err != nil {
			return fail(err)
		}
		tag, err := renderLogTag(c, lc.Config["tag"])
		if err != nil {
			return fail(err)
		}
		return fileLimits{}, map[string]string{
			"CONTAINER_ID": c.ID[:12], "CONTAINER_ID_FULL": c.ID, "CONTAINER_NAME": c.Name,
			"CONTAINER_TAG": tag, "SYSLOG_IDENTIFIER": tag, "IMAGE_NAME": c.Config.Image,
		}, nil
	}
	return fileLimits{}, nil, nil
}

// renderLogTag renders Docker's log tag template; the default is the short
// container ID.
func renderLogTag(c *Container, tmpl string) (string, error) {
	if tmpl == "" {
		tmpl = "{{.ID}}"
	}
	t, err := template.New("log-tag").Parse(tmpl)
	if err != nil {
		return "", err
	}
	imageID := strings.TrimPrefix(c.ImageID, "sha256:")
	info := struct{ ID, FullID, Name, ImageID, ImageFullID, ImageName, DaemonName string }{
		ID: c.ID[:12], FullID: c.ID, Name: c.Name, ImageID: imageID[:min(12, len(imageID))],
		ImageFullID: c.ImageID, ImageName: c.Config.Image, DaemonName: "berth",
	}
	var sb strings.Builder
	if err := t.Execute(&sb, info); err != nil {
		return "", err
	}
	return sb.String(), nil
}

// logsReadable tells whether `docker logs` can read the driver's output.
func logsReadable(driver string) error {
	if driver == "json-file" || driver == "local" || driver == "cri" || driver == "" {
		return nil
	}
	return errdefs.Invalid("configured logging driver does not support reading")
}
