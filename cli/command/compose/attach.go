package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
)

// attachSession is `up` without -d: it attaches to each selected service's
// containers before they start and prints their output with compose's
// prefixes; it ends when every attached container has exited. A first
// SIGINT/SIGTERM stops the project gracefully, a second kills it;
// --abort-on-container-exit stops it when the first container exits.
type attachSession struct {
	c            *command.Cli
	api          *client.Client
	project      *types.Project
	printer      *logPrinter
	attachTo     map[string]bool
	abort        bool
	exitCodeFrom string

	wg           sync.WaitGroup
	mu           sync.Mutex
	exitCode     int
	codeFromSeen bool
	terminating  bool
	interrupted  bool
	sigc         chan os.Signal
}

func newAttachSession(c *command.Cli, api *client.Client, p *types.Project, services []string, o upOptions) (*attachSession, error) {
	s := &attachSession{c: c, api: api, project: p, attachTo: map[string]bool{},
		abort: o.abortOnExit || o.exitCodeFrom != "", exitCodeFrom: o.exitCodeFrom}
	if len(services) == 0 {
		services = p.ServiceNames()
	}
	for _, name := range services {
		s.attachTo[name] = true
	}
	if o.exitCodeFrom != "" {
		if _, ok := p.Services[o.exitCodeFrom]; !ok {
			return nil, fmt.Errorf("no such service: %s", o.exitCodeFrom)
		}
		s.attachTo[o.exitCodeFrom] = true
	}
	var names []string
	for name := range s.attachTo {
		svc := p.Services[name]
		for n := 1; n <= replicas(svc); n++ {
			names = append(names, strings.TrimPrefix(containerName(p.Name, svc, n), p.Name+"-"))
		}
	}
	sort.Strings(names)
	s.printer = newLogPrinter(c.Out(), names, c.Out().IsTerminal() && !o.noColor, o.noLogPrefix)
	if len(names) > 0 {
		fmt.Fprintf(c.Out(), "Attaching to %s\n", strings.Join(names, ", "))
	}
	s.sigc = make(chan os.Signal, 2)
	signal.Notify(s.sigc, syscall.SIGINT, syscall.SIGTERM)
	go s.handleSignals()
	return s, nil
}

func (s *attachSession) handleSignals() {
	first := true
	for range s.sigc {
		s.mu.Lock()
		s.interrupted = true
		s.mu.Unlock()
		if first {
			first = false
			fmt.Fprintln(s.c.Err(), "Gracefully Stopping... press Ctrl+C again to force")
			go s.stopAll(false)
			continue
		}
		go s.stopAll(true)
	}
}

// beforeStart is converge's hook: it attaches to a container of an
// attached service before the container starts (or, already running, from
// now on), so no output is missed, and subscribes to its events, which
// tell its exits and restarts.
func (s *attachSession) beforeStart(ctx context.Context, id, name, service string) error {
	if !s.attachTo[service] {
		return nil
	}
	s.mu.Lock()
	stopping := s.terminating
	s.mu.Unlock()
	if stopping {
		return errors.New("aborting: not starting " + name)
	}
	evCtx, cancel := context.WithCancel(ctx)
	ev := s.api.Events(evCtx, client.EventsListOptions{
		Filters: make(client.Filters).Add("container", id).Add("type", string(events.ContainerEventType)),
	})
	resp, err := s.api.ContainerAttach(ctx, id, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		cancel()
		return err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		s.watch(ctx, id, strings.TrimPrefix(name, s.project.Name+"-"), service, resp.Reader, resp.Close, ev)
	}()
	return nil
}

// watch prints a container's output and exits until it stops for good:
// each die event is reported once that run's output is drained; a run the
// restart policy starts is followed from the log (it may print before
// anything could attach).
func (s *attachSession) watch(ctx context.Context, id, short, service string, r io.Reader, closeFn func(), ev client.EventsResult) {
	stream := func(r io.Reader, closeFn func()) chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = copyOutput(ctx, s.api, id, r, s.printer.writer(short))
			closeFn()
		}()
		return done
	}
	drained := stream(r, closeFn)
	var restartSince string
	for {
		select {
		case m := <-ev.Messages:
			switch m.Action {
			case events.ActionDie:
				<-drained
				code, _ := strconv.Atoi(m.Actor.Attributes["exitCode"])
				if s.restarting(ctx, id) {
					s.printer.status(short, fmt.Sprintf("exited with code %d (restarting)", code))
					restartSince = fmt.Sprintf("%d.%09d", m.TimeNano/1e9, m.TimeNano%1e9)
					continue
				}
				s.printer.status(short, fmt.Sprintf("exited with code %d", code))
				s.exited(service, code)
				return
			case events.ActionStart:
				if restartSince == "" {
					continue
				}
				rc, err := s.api.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true, Since: restartSince})
				if err != nil {
					fmt.Fprintf(s.c.Err(), "Error following container %s: %v\n", short, command.Message(err))
					return
				}
				restartSince = ""
				drained = stream(rc, func() { rc.Close() })
			case events.ActionDestroy:
				return
			}
		case err := <-ev.Err:
			if ctx.Err() == nil {
				fmt.Fprintf(s.c.Err(), "Error following container %s: %v\n", short, command.Message(err))
			}
			return
		}
	}
}

// restarting tells whether the restart policy brings a container that
// died back (never once the session stops the project).
func (s *attachSession) restarting(ctx context.Context, id string) bool {
	s.mu.Lock()
	terminating := s.terminating
	s.mu.Unlock()
	if terminating {
		return false
	}
	insp, err := s.api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	return err == nil && (insp.Container.State.Restarting || insp.Container.State.Running)
}

// exited records a container's final exit for --exit-code-from and
// triggers --abort-on-container-exit.
func (s *attachSession) exited(service string, code int) {
	s.mu.Lock()
	if service == s.exitCodeFrom && !s.codeFromSeen {
		s.codeFromSeen = true
		s.exitCode = code
	}
	first := s.abort && !s.terminating
	if first && s.exitCodeFrom == "" {
		s.exitCode = code
	}
	s.mu.Unlock()
	if first {
		fmt.Fprintln(s.c.Err(), "Aborting on container exit...")
		s.stopAll(false)
	}
}

// stopAll stops (or, forced, kills) the attached services' containers.
func (s *attachSession) stopAll(force bool) {
	s.mu.Lock()
	s.terminating = true
	s.mu.Unlock()
	ctx := context.Background()
	ctrs, err := projectContainers(ctx, s.api, s.project.Name, false)
	if err != nil {
		fmt.Fprintln(s.c.Err(), command.Message(err))
		return
	}
	var targets []container.Summary
	for _, ctr := range ctrs {
		if s.attachTo[ctr.Labels[labelService]] {
			targets = append(targets, ctr)
		}
	}
	err = parallel(targets, func(ctr container.Summary) error {
		name := canonicalName(ctr)
		if force {
			fmt.Fprintf(s.c.Err(), " Container %s Killing\n", name)
			_, err := s.api.ContainerKill(ctx, ctr.ID, client.ContainerKillOptions{Signal: "KILL"})
			return ignoreGone(err)
		}
		fmt.Fprintf(s.c.Err(), " Container %s Stopping\n", name)
		opts := client.ContainerStopOptions{}
		if svc, ok := s.project.Services[ctr.Labels[labelService]]; ok {
			opts.Timeout = stopTimeout(svc)
		}
		if _, err := s.api.ContainerStop(ctx, ctr.ID, opts); err != nil {
			return ignoreGone(err)
		}
		fmt.Fprintf(s.c.Err(), " Container %s Stopped\n", name)
		return nil
	})
	if err != nil {
		fmt.Fprintln(s.c.Err(), command.Message(err))
	}
}

// wait blocks until every attached container has exited and returns up's
// result: 130 after an interrupt (as compose), the exit code chosen by
// --abort-on-container-exit / --exit-code-from, else nil.
func (s *attachSession) wait(startErr error) error {
	if startErr != nil {
		s.mu.Lock()
		interrupted := s.interrupted
		s.mu.Unlock()
		if !interrupted {
			s.stopAll(false)
		}
	} else {
		s.mu.Lock()
		late := s.terminating
		s.mu.Unlock()
		if late { // interrupted while starting: stop what started after
			s.stopAll(false)
		}
	}
	s.wg.Wait()
	signal.Stop(s.sigc)
	close(s.sigc)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.interrupted:
		return command.StatusError{StatusCode: 130}
	case startErr != nil:
		return startErr
	case s.exitCode != 0:
		return command.StatusError{StatusCode: s.exitCode}
	}
	return nil
}

// ignoreGone drops the errors of acting on a container that is already
// gone or not running.
func ignoreGone(err error) error {
	if err == nil || errdefs.IsNotFound(err) || errdefs.IsConflict(err) {
		return nil
	}
	return err
}
