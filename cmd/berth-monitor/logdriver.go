package main

import (
	"fmt"

	"github.com/berth-dev/berth/internal/crilog"
	"github.com/berth-dev/berth/internal/jsonlog"
	"github.com/berth-dev/berth/internal/locallog"
	"github.com/berth-dev/berth/internal/logdriver"
	"github.com/berth-dev/berth/internal/monitor"
)

// openLog starts the container's log driver; nil (and no error) when the
// container logs nothing. Its errors read like Docker's, which wraps them in
// "failed to initialize logging driver".
func openLog(cfg monitor.Config) (logdriver.Writer, error) {
	var (
		w   logdriver.Writer
		err error
	)
	switch cfg.LogDriver {
	case "", "json-file":
		if cfg.LogPath == "" {
			return nil, nil
		}
		w, err = jsonlog.NewWriter(cfg.LogPath, cfg.LogMaxSize, cfg.LogMaxFiles, cfg.LogCompress)
	case "cri":
		w, err = crilog.NewWriter(cfg.LogPath, cfg.LogMaxSize, cfg.LogMaxFiles, cfg.LogCompress)
	case "local":
		w, err = locallog.NewWriter(cfg.LogPath, cfg.LogMaxSize, cfg.LogMaxFiles, cfg.LogCompress)
	case "syslog":
		var sc logdriver.SyslogConfig
		if sc, err = logdriver.ParseSyslog(cfg.LogOpts); err == nil {
			w, err = logdriver.NewSyslog(sc)
		}
	case "journald":
		w, err = logdriver.NewJournald(logdriver.JournalSocket, cfg.LogOpts)
	case "none":
		return nil, nil
	default:
		err = fmt.Errorf("logger: no log driver named '%s' is registered", cfg.LogDriver)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to initialize logging driver: %w", err)
	}
	return w, nil
}
