package buildkit

import (
	"context"
	"io"
	"log/slog"
	"sync"

	"github.com/sirupsen/logrus"
)

// benignBuildKitLogs are messages BuildKit logs as warnings on every build
// where nothing is wrong for berthd: it runs without an OpenTelemetry trace
// recorder.
var benignBuildKitLogs = map[string]bool{"no trace recorder found, skipping": true}

var logOnce sync.Once

// routeLogs sends BuildKit's logs (logrus) to berthd's log, with the
// level BuildKit gave them except for benignBuildKitLogs (debug). The
// first Service's log wins: logrus is process-wide.
func routeLogs(log *slog.Logger) {
	logOnce.Do(func() {
		l := logrus.StandardLogger()
		l.SetOutput(io.Discard)
		l.SetLevel(logrus.InfoLevel)
		if log.Enabled(context.Background(), slog.LevelDebug) {
			l.SetLevel(logrus.DebugLevel)
		}
		l.AddHook(logHook{log})
	})
}

// logHook writes each logrus entry to an slog.Logger.
type logHook struct{ log *slog.Logger }

func (logHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h logHook) Fire(e *logrus.Entry) error {
	lvl := slog.LevelDebug
	switch {
	case benignBuildKitLogs[e.Message]:
	case e.Level <= logrus.ErrorLevel:
		lvl = slog.LevelError
	case e.Level == logrus.WarnLevel:
		lvl = slog.LevelWarn
	case e.Level == logrus.InfoLevel:
		lvl = slog.LevelInfo
	}
	if !h.log.Enabled(context.Background(), lvl) {
		return nil
	}
	args := make([]any, 0, 2*len(e.Data)+2)
	for k, v := range e.Data {
		if err, ok := v.(error); ok {
			v = err.Error()
		}
		args = append(args, k, v)
	}
	h.log.Log(context.Background(), lvl, "BuildKit: "+e.Message, args...)
	return nil
}
