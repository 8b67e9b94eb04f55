package streams

import (
	"context"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"
)

// ResizeFunc sends a terminal size to the daemon (ContainerResize or ExecResize).
type ResizeFunc func(ctx context.Context, height, width uint) error

// MonitorTtySize sends the current size of out, then every change signalled
// by SIGWINCH, until ctx is done. The first resize is retried a few times
// because a just-started process may not have its TTY set up yet; docker
// does the same.
func MonitorTtySize(ctx context.Context, out *Out, resize ResizeFunc) error {
	h, w := out.GetTtySize()
	if h == 0 && w == 0 {
		return nil
	}
	var err error
	for retry := 0; retry < 10; retry++ {
		if err = resize(ctx, h, w); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Duration(retry+1) * 10 * time.Millisecond):
		}
	}
	if err != nil {
		return err
	}
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, unix.SIGWINCH)
	go func() {
		defer signal.Stop(sigc)
		prevH, prevW := h, w
		for {
			select {
			case <-ctx.Done():
				return
			case <-sigc:
				h, w := out.GetTtySize()
				if h != prevH || w != prevW {
					_ = resize(ctx, h, w)
					prevH, prevW = h, w
				}
			}
		}
	}()
	return nil
}
