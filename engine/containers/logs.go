package containers

import (
	"context"
	"io"
	"time"

	"github.com/berth-dev/berth/internal/crilog"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/jsonlog"
	"github.com/berth-dev/berth/internal/locallog"
	"github.com/berth-dev/berth/internal/stdcopy"
)

// LogsOptions mirrors the logs endpoint's query.
type LogsOptions struct {
	Stdout, Stderr bool
	Follow         bool
	Timestamps     bool
	Since, Until   time.Time
	Tail           int // -1: all
}

// LogsInfo tells the API layer how the stream will be framed.
func (s *Service) LogsInfo(ref string) (tty bool, err error) {
	e, err := s.lookup(ref)
	if err != nil {
		return false, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := logsReadable(e.c.HostConfig.LogConfig.Type); err != nil {
		return false, err
	}
	return e.c.Config.Tty, nil
}

// Logs writes the container's log to w: raw for a TTY container, in
// Docker's multiplexed frames otherwise. With Follow it continues until the
// container stops or ctx ends.
func (s *Service) Logs(ctx context.Context, ref string, o LogsOptions, w io.Writer) error {
	e, err := s.lookup(ref)
	if err != nil {
		return err
	}
	return s.writeLogs(ctx, e, w, o)
}

func (s *Service) writeLogs(ctx context.Context, e *entry, w io.Writer, o LogsOptions) error {
	e.mu.Lock()
	path, tty := e.c.LogPath, e.c.Config.Tty
	exited, removed := e.exited, e.removed
	driver := e.c.HostConfig.LogConfig.Type
	lim, _ := fileLogLimits(driver, e.c.HostConfig.LogConfig.Config)
	e.mu.Unlock()
	if err := logsReadable(driver); err != nil || path == "" {
		return errdefs.Invalid("configured logging driver does not support reading")
	}
	read := jsonlog.Read
	switch driver {
	case "local":
		read = locallog.Read
	case "cri":
		read = crilog.Read
	}
	if o.Follow {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		if exited == nil {
			// Not running: nothing more will come.
			o.Follow = false
		} else {
			go func() {
				select {
				case <-exited:
				case <-removed:
				case <-ctx.Done():
				}
				cancel()
			}()
		}
	}
	flusher, _ := w.(interface{ Flush() })
	return read(ctx, path, lim.maxFiles, jsonlog.ReadOptions{Since: o.Since, Until: o.Until, Tail: o.Tail, Follow: o.Follow}, func(en jsonlog.Entry) error {
		stream := stdcopy.Stdout
		if en.Stream == "stderr" {
			if !o.Stderr {
				return nil
			}
			stream = stdcopy.Stderr
		} else if !o.Stdout {
			return nil
		}
		line := en.Line
		if o.Timestamps {
			line = append([]byte(en.Time.UTC().Format(time.RFC3339Nano)+" "), line...)
		}
		var err error
		if tty {
			_, err = w.Write(line)
		} else {
			err = stdcopy.WriteFrame(w, stream, line)
		}
		if flusher != nil && o.Follow {
			flusher.Flush()
		}
		return err
	})
}
