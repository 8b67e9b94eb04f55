// Package command holds what every berth command shares: the Cli (streams
// and the lazily created API client), error types carrying exit codes, and
// argument validators with docker's wording.
package command

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/streams"
	"github.com/berth-dev/berth/internal/version"
)

// DefaultHost is where berthd listens unless told otherwise.
const DefaultHost = "unix:///run/berth/berth.sock"

// Cli is what a command needs from its environment.
type Cli struct {
	in  *streams.In
	out *streams.Out
	err *streams.Out

	// Host is the daemon address chosen by -H, BERTH_HOST, DOCKER_HOST or
	// DefaultHost (in that order).
	Host  string
	Debug bool
	// TLS options from --tls, --tlsverify, --tlscacert, --tlscert,
	// --tlskey, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.
	TLS TLSOptions

	api *client.Client
}

// NewCli returns a Cli on the given streams.
func NewCli(in io.ReadCloser, out, errw io.Writer) *Cli {
	return &Cli{in: streams.NewIn(in), out: streams.NewOut(out), err: streams.NewOut(errw)}
}

func (c *Cli) In() *streams.In   { return c.in }
func (c *Cli) Out() *streams.Out { return c.out }
func (c *Cli) Err() *streams.Out { return c.err }

// ResolveHost applies the discovery order: flag, BERTH_HOST, DOCKER_HOST,
// the default socket.
func ResolveHost(flagHosts []string) string {
	if len(flagHosts) > 0 && flagHosts[len(flagHosts)-1] != "" {
		return flagHosts[len(flagHosts)-1]
	}
	if h := os.Getenv("BERTH_HOST"); h != "" {
		return h
	}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return DefaultHost
}

// Client returns the API client, creating it on first use. The API version
// is negotiated with the daemon on the first request (the client's default
// when no version is pinned); DOCKER_API_VERSION pins it as in docker.
func (c *Cli) Client() (*client.Client, error) {
	if c.api != nil {
		return c.api, nil
	}
	api, err := c.NewClient()
	if err != nil {
		return nil, err
	}
	c.api = api
	return api, nil
}

// NewClient returns a new API client to the same daemon, with extra
// options (e.g. headers for one request); the caller closes it.
func (c *Cli) NewClient(extra ...client.Opt) (*client.Client, error) {
	host := c.Host
	if host == "" {
		host = ResolveHost(nil)
	}
	if !strings.Contains(host, "://") {
		// docker accepts a bare path for unix sockets in -H? It does not; but
		// "tcp" style host:port is common in scripts.
		host = "tcp://" + host
	}
	opts := []client.Opt{
		client.WithHost(host),
		client.WithAPIVersionFromEnv(),
		client.WithUserAgent("Berth-Client/" + version.Version),
	}
	tlsOpts, err := c.TLS.clientOpts()
	if err != nil {
		return nil, err
	}
	opts = append(opts, tlsOpts...)
	api, err := client.New(append(opts, extra...)...)
	if err != nil {
		return nil, err
	}
	connectedHost = host
	return api, nil
}

// Close releases the client's idle connections.
func (c *Cli) Close() {
	if c.api != nil {
		_ = c.api.Close()
	}
}

// StatusError carries the process exit code of a command. Status, when set,
// is printed instead of Cause; with both empty nothing is printed (e.g. run
// exiting with the container's code).
type StatusError struct {
	Cause      error
	Status     string
	StatusCode int
}

func (e StatusError) Error() string {
	if e.Status != "" {
		return e.Status
	}
	if e.Cause != nil {
		return e.Cause.Error()
	}
	return fmt.Sprintf("exit status %d", e.StatusCode)
}

func (e StatusError) Unwrap() error { return e.Cause }

// Message renders err for the terminal: the API client's connection error is
// reworded to name berth's daemon.
func Message(err error) string {
	if client.IsErrConnectionFailed(err) {
		host := connectedHost
		if host == "" {
			host = DefaultHost
		}
		return fmt.Sprintf("Cannot connect to the Berth daemon at %s. Is the daemon running?", host)
	}
	msg := err.Error()
	msg = strings.ReplaceAll(msg, "Cannot connect to the Docker daemon", "Cannot connect to the Berth daemon")
	msg = strings.ReplaceAll(msg, "Is the docker daemon running", "Is the daemon running")
	return msg
}

// ExitCode maps an error to the process exit status (1 unless a StatusError
// says otherwise).
func ExitCode(err error) int {
	var se StatusError
	if errors.As(err, &se) {
		if se.StatusCode == 0 {
			return 1
		}
		return se.StatusCode
	}
	return 1
}

// connectedHost is the daemon address of the last client created, for
// the "Cannot connect" message.
var connectedHost string
