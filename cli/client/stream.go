package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/timestamp"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

type (
	ContainerAttachOptions struct {
		Stream, Stdin, Stdout, Stderr, Logs bool
		DetachKeys                          string
	}
	ContainerAttachResult struct{ HijackedResponse }
	ContainerWaitOptions  struct{ Condition container.WaitCondition }
	ContainerWaitResult   struct {
		Result <-chan container.WaitResponse
		Error  <-chan error
	}
	ContainerLogsOptions struct {
		ShowStdout, ShowStderr, Timestamps, Follow, Details bool
		Since, Until, Tail                                  string
	}
	ConsoleSize       struct{ Height, Width uint }
	ExecCreateOptions struct {
		User                                    string
		Privileged, TTY                         bool
		ConsoleSize                             ConsoleSize
		AttachStdin, AttachStderr, AttachStdout bool
		DetachKeys                              string
		Env                                     []string
		WorkingDir                              string
		Cmd                                     []string
	}
	ExecCreateResult struct{ ID string }
	ExecStartOptions struct {
		Detach, TTY bool
		ConsoleSize ConsoleSize
	}
	ExecStartResult   struct{}
	ExecAttachOptions struct {
		TTY         bool
		ConsoleSize ConsoleSize
	}
	ExecAttachResult   struct{ HijackedResponse }
	ExecInspectOptions struct{}
	ExecInspectResult  struct {
		ID, ContainerID string
		Running         bool
		ExitCode, PID   int
	}
	ExecResizeOptions = ContainerResizeOptions
	ExecResizeResult  struct{}
)

// ContainerAttach attaches to a container's streams.
func (c *Client) ContainerAttach(ctx context.Context, id string, o ContainerAttachOptions) (ContainerAttachResult, error) {
	id, err := trimID("container", id)
	if err != nil {
		return ContainerAttachResult{}, err
	}
	q := url.Values{}
	for k, on := range map[string]bool{"stream": o.Stream, "stdin": o.Stdin, "stdout": o.Stdout, "stderr": o.Stderr, "logs": o.Logs} {
		if on {
			q.Set(k, "1")
		}
	}
	if o.DetachKeys != "" {
		q.Set("detachKeys", o.DetachKeys)
	}
	h, err := c.postHijacked(ctx, "/containers/"+id+"/attach", q, http.Header{"Content-Type": {"text/plain"}}, nil)
	return ContainerAttachResult{HijackedResponse: h}, err
}

// ContainerWait waits for a container to reach the condition; the result
// or the error arrives on the channels.
func (c *Client) ContainerWait(ctx context.Context, id string, o ContainerWaitOptions) ContainerWaitResult {
	resC := make(chan container.WaitResponse)
	errC := make(chan error, 1)
	id, err := trimID("container", id)
	var resp *http.Response
	if err == nil {
		q := url.Values{}
		if o.Condition != "" {
			q.Set("condition", string(o.Condition))
		}
		resp, err = c.sendJSON(ctx, http.MethodPost, "/containers/"+id+"/wait", q, nil, nil)
	}
	if err != nil {
		errC <- err
		return ContainerWaitResult{Result: resC, Error: errC}
	}
	go func() {
		defer ensureReaderClosed(resp)
		var r container.WaitResponse
		rest, ok := readReply(resp.Body, &r)
		if ok {
			resC <- r
			return
		}
		var text bytes.Buffer
		stream := io.TeeReader(rest, &text)
		if err := json.NewDecoder(stream).Decode(&r); err != nil {
			if errors.As(err, new(*json.SyntaxError)) {
				_, _ = io.ReadAll(io.LimitReader(stream, 2*1024))
				err = errors.New(text.String())
			}
			errC <- err
			return
		}
		resC <- r
	}()
	return ContainerWaitResult{Result: resC, Error: errC}
}

// ContainerLogs returns a container's log stream.
func (c *Client) ContainerLogs(ctx context.Context, id string, o ContainerLogsOptions) (io.ReadCloser, error) {
	id, err := trimID("container", id)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	for k, on := range map[string]bool{"stdout": o.ShowStdout, "stderr": o.ShowStderr, "timestamps": o.Timestamps, "details": o.Details, "follow": o.Follow} {
		if on {
			q.Set(k, "1")
		}
	}
	now := time.Now()
	for _, t := range []struct{ k, v string }{{"since", o.Since}, {"until", o.Until}} {
		if t.v == "" {
			continue
		}
		ts, err := timestamp.API(t.v, now)
		if err != nil {
			return nil, fmt.Errorf(`invalid value for %q: %w`, t.k, err)
		}
		q.Set(t.k, ts)
	}
	if o.Tail != "" && o.Tail != "all" {
		q.Set("tail", o.Tail)
	}
	return c.stream(ctx, http.MethodGet, "/containers/"+id+"/logs", q, nil, nil)
}

// ContainerCommit makes an image of a container.
func (c *Client) ContainerCommit(ctx context.Context, id string, o ContainerCommitOptions) (ContainerCommitResult, error) {
	id, err := trimID("container", id)
	if err != nil {
		return ContainerCommitResult{}, err
	}
	q := url.Values{}
	q.Set("container", id)
	if o.Reference != "" {
		ref, err := imageref.ParseNormalizedNamed(o.Reference)
		if err != nil {
			return ContainerCommitResult{}, err
		}
		if ref.Digest() != "" {
			return ContainerCommitResult{}, errors.New("refusing to create a tag with a digest reference")
		}
		ref = ref.TagNameOnly()
		q.Set("repo", ref.Name())
		q.Set("tag", ref.Tag())
	}
	if o.Comment != "" {
		q.Set("comment", o.Comment)
	}
	if o.Author != "" {
		q.Set("author", o.Author)
	}
	for _, ch := range o.Changes {
		q.Add("changes", ch)
	}
	if o.NoPause {
		q.Set("pause", "0")
	}
	var r container.CommitResponse
	err = c.post(ctx, "/commit", q, o.Config, &r)
	return ContainerCommitResult{ID: r.ID}, err
}

func consoleSize(tty bool, s ConsoleSize) (*[2]uint, error) {
	if s.Height == 0 && s.Width == 0 {
		return nil, nil
	}
	if !tty {
		return nil, cerrdefs.ErrInvalidArgument.WithMessage("console size is only supported when TTY is enabled")
	}
	return &[2]uint{s.Height, s.Width}, nil
}

// ExecCreate creates an exec instance in a container.
func (c *Client) ExecCreate(ctx context.Context, id string, o ExecCreateOptions) (ExecCreateResult, error) {
	id, err := trimID("container", id)
	if err != nil {
		return ExecCreateResult{}, err
	}
	cs, err := consoleSize(o.TTY, o.ConsoleSize)
	if err != nil {
		return ExecCreateResult{}, err
	}
	var r container.ExecCreateResponse
	err = c.post(ctx, "/containers/"+id+"/exec", nil, container.ExecCreateRequest{
		User: o.User, Privileged: o.Privileged, Tty: o.TTY, ConsoleSize: cs,
		AttachStdin: o.AttachStdin, AttachStderr: o.AttachStderr, AttachStdout: o.AttachStdout,
		DetachKeys: o.DetachKeys, Env: o.Env, WorkingDir: o.WorkingDir, Cmd: o.Cmd,
	}, &r)
	return ExecCreateResult{ID: r.ID}, err
}

// ExecStart starts an exec instance without attaching.
func (c *Client) ExecStart(ctx context.Context, id string, o ExecStartOptions) (ExecStartResult, error) {
	cs, err := consoleSize(o.TTY, o.ConsoleSize)
	if err != nil {
		return ExecStartResult{}, err
	}
	return ExecStartResult{}, c.post(ctx, "/exec/"+id+"/start", nil, container.ExecStartRequest{Detach: o.Detach, Tty: o.TTY, ConsoleSize: cs}, nil)
}

// ExecAttach starts an exec instance attached to its streams.
func (c *Client) ExecAttach(ctx context.Context, id string, o ExecAttachOptions) (ExecAttachResult, error) {
	cs, err := consoleSize(o.TTY, o.ConsoleSize)
	if err != nil {
		return ExecAttachResult{}, err
	}
	h, err := c.postHijacked(ctx, "/exec/"+id+"/start", nil, http.Header{"Content-Type": {"application/json"}}, container.ExecStartRequest{Tty: o.TTY, ConsoleSize: cs})
	return ExecAttachResult{HijackedResponse: h}, err
}

// ExecInspect returns an exec instance's state.
func (c *Client) ExecInspect(ctx context.Context, id string, _ ExecInspectOptions) (ExecInspectResult, error) {
	var r container.ExecInspectResponse
	if err := c.get(ctx, "/exec/"+id+"/json", nil, &r); err != nil {
		return ExecInspectResult{}, err
	}
	ec := 0
	if r.ExitCode != nil {
		ec = *r.ExitCode
	}
	return ExecInspectResult{ID: r.ID, ContainerID: r.ContainerID, Running: r.Running, ExitCode: ec, PID: r.Pid}, nil
}

// ExecResize resizes an exec instance's TTY.
func (c *Client) ExecResize(ctx context.Context, id string, o ExecResizeOptions) (ExecResizeResult, error) {
	return ExecResizeResult{}, c.post(ctx, "/exec/"+id+"/resize", sizeQuery(o.Height, o.Width), nil, nil)
}
