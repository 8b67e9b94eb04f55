// Package build is `berth build`: it packs the context (a folder, a tar on
// stdin, or a lone Dockerfile), sends it to POST /build as the docker CLI's
// classic builder does (BuildKit with version=2), and renders the streamed
// output. Builds that need a BuildKit client session run in berth-build
// (see session.go).
package build

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client/pkg/jsonmessage"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/opts"
)

// options are the flags of `berth build`.
type options struct {
	context     string
	tags        []string
	dockerfile  string
	buildArgs   []string
	labels      []string
	target      string
	noCache     bool
	pull        bool
	network     string
	platform    string
	quiet       bool
	iidfile     string
	rm, forceRm bool
	// RUN steps' hosts and limits.
	addHosts, ulimits []string
	shmSize           string

	// BuildKit only.
	progress           string
	progressSet        bool
	secrets, ssh       []string
	outputs            []string
	cacheFrom, cacheTo []string
	allow              []string

	// session runs builds that need a client session (berth-build); nil
	// in berth, which then runs berth-build.
	session SessionBuilder
}

// NewBuildCommand is `berth build` (also `berth image build`).
func NewBuildCommand(cli *command.Cli) *cobra.Command { return newBuildCommand(cli, nil) }

// NewSessionBuildCommand is `berth build` in berth-build: builds that need
// a client session run with sb.
func NewSessionBuildCommand(cli *command.Cli, sb SessionBuilder) *cobra.Command {
	return newBuildCommand(cli, sb)
}

func newBuildCommand(cli *command.Cli, sb SessionBuilder) *cobra.Command {
	o := options{session: sb}
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] PATH | URL | -",
		Short: "Build an image from a Dockerfile",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.context = args[0]
			o.progressSet = cmd.Flags().Changed("progress")
			return runBuild(cmd.Context(), cli, o)
		},
		Annotations: map[string]string{"aliases": "docker image build, docker build, docker builder build"},
	}
	f := cmd.Flags()
	f.VarP(opts.NewListOpts(&o.tags, "list"), "tag", "t", `Name and optionally a tag in the "name:tag" format`)
	f.StringVarP(&o.dockerfile, "file", "f", "", `Name of the Dockerfile (Default is "PATH/Dockerfile")`)
	f.Var(opts.NewListOpts(&o.buildArgs, "list"), "build-arg", "Set build-time variables")
	f.Var(opts.NewListOpts(&o.labels, "list"), "label", "Set metadata for an image")
	f.StringVar(&o.target, "target", "", "Set the target build stage to build.")
	f.BoolVar(&o.noCache, "no-cache", false, "Do not use cache when building the image")
	f.BoolVar(&o.pull, "pull", false, "Always attempt to pull a newer version of the image")
	f.StringVar(&o.network, "network", "default", "Set the networking mode for the RUN instructions during build")
	f.StringVar(&o.platform, "platform", os.Getenv("DOCKER_DEFAULT_PLATFORM"), "Set platform if server is multi-platform capable")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress the build output and print image ID on success")
	f.StringVar(&o.iidfile, "iidfile", "", "Write the image ID to the file")
	f.BoolVar(&o.rm, "rm", true, "Remove intermediate containers after a successful build")
	f.BoolVar(&o.forceRm, "force-rm", false, "Always remove intermediate containers")
	f.Var(opts.NewListOpts(&o.addHosts, "list"), "add-host", `Add a custom host-to-IP mapping ("host:ip")`)
	f.Var(opts.NewStringValue(&o.shmSize, "bytes"), "shm-size", "Size of \"/dev/shm\"")
	f.Var(opts.NewListOpts(&o.ulimits, "ulimit"), "ulimit", "Ulimit options")
	f.StringVar(&o.progress, "progress", envOr("BUILDKIT_PROGRESS", progressAuto), `Set type of progress output ("auto", "plain", "tty", "quiet", "rawjson")`)
	f.StringArrayVar(&o.secrets, "secret", nil, `Secret to expose to the build (format: "id=mysecret[,src=/local/secret]")`)
	f.StringArrayVar(&o.ssh, "ssh", nil, `SSH agent socket or keys to expose to the build (format: "default|<id>[=<socket>|<key>[,<key>]]")`)
	f.StringArrayVarP(&o.outputs, "output", "o", nil, `Output destination (format: "type=local,dest=path")`)
	f.StringArrayVar(&o.cacheFrom, "cache-from", nil, `External cache sources (e.g., "user/app:cache", "type=local,src=path/to/dir")`)
	f.StringSliceVar(&o.allow, "allow", nil, `Allow extra privileged entitlement (e.g., "network.host")`)
	f.StringArrayVar(&o.cacheTo, "cache-to", nil, `Cache export destinations (e.g., "user/app:cache", "type=local,dest=path/to/dir")`)
	return cmd
}

func runBuild(ctx context.Context, cli *command.Cli, o options) error {
	if o.iidfile != "" {
		// As docker: a stale ID must not survive a failed build.
		if err := os.Remove(o.iidfile); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("removing image ID file: %w", err)
		}
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	bk, err := useBuildKit(ctx, api)
	if err != nil {
		return err
	}
	if !bk {
		if err := o.classicRefusals(); err != nil {
			return err
		}
		return runClassic(ctx, cli, o)
	}
	// Decided before the context is read: berth-build reads stdin.
	session, err := o.needsSession()
	if err != nil {
		return err
	}
	var id string
	if session {
		id, err = runSession(ctx, cli, o)
	} else {
		id, err = runBuildKitBody(ctx, cli, o)
	}
	if err != nil {
		return err
	}
	if o.quiet && id != "" {
		fmt.Fprintln(cli.Out(), id)
	}
	return writeIIDFile(o.iidfile, id)
}

// runBuildKitBody sends a BuildKit build with its context as the request
// body.
func runBuildKitBody(ctx context.Context, cli *command.Cli, o options) (string, error) {
	bctx, err := makeContext(o.context, o.dockerfile, cli.In())
	if err != nil {
		return "", err
	}
	bo, err := o.buildOptions(bctx.dockerfile)
	if err != nil {
		return "", err
	}
	return runBuildKit(ctx, cli, o, bctx, bo)
}

// runClassic builds with the classic builder.
func runClassic(ctx context.Context, cli *command.Cli, o options) error {
	bctx, err := makeContext(o.context, o.dockerfile, cli.In())
	if err != nil {
		return err
	}
	bo, err := o.buildOptions(bctx.dockerfile)
	if err != nil {
		return err
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	progress := io.Writer(cli.Out())
	var buf bytes.Buffer
	if o.quiet {
		progress = &buf
	}
	body := &countingReader{r: bctx.tar}
	resp, err := api.ImageBuild(ctx, body, bo)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if !o.quiet {
		fmt.Fprintf(cli.Out(), "Sending build context to Docker daemon  %s\n", units.HumanSizeWithPrecision(float64(body.n), 4))
	}
	imageID, err := showBuildProgress(cli, resp.Body, progress, o.quiet)
	if err != nil {
		if o.quiet {
			fmt.Fprint(cli.Err(), buf.String())
		}
		return err
	}
	if o.quiet {
		out := buf.String()
		if strings.TrimSpace(out) == "" {
			out = imageID + "\n"
		}
		fmt.Fprint(cli.Out(), out)
	}
	return writeIIDFile(o.iidfile, imageID)
}

func writeIIDFile(path, imageID string) error {
	if path == "" || imageID == "" {
		return nil
	}
	if err := os.WriteFile(path, []byte(imageID), 0o666); err != nil {
		return fmt.Errorf("cannot write the image ID file %s: %w", path, err)
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// buildOptions is the API's build request for the flags.
func (o options) buildOptions(dockerfile string) (client.ImageBuildOptions, error) {
	bo := client.ImageBuildOptions{
		Tags:           o.tags,
		SuppressOutput: o.quiet,
		NoCache:        o.noCache,
		Remove:         o.rm,
		ForceRemove:    o.forceRm,
		PullParent:     o.pull,
		NetworkMode:    o.network,
		Dockerfile:     dockerfile,
		BuildArgs:      buildArgs(o.buildArgs),
		Labels:         labels(o.labels),
		Target:         o.target,
		ExtraHosts:     o.addHosts,
		Version:        build.BuilderV1,
	}
	fe, err := o.frontend(dockerfile)
	if err != nil {
		return bo, err
	}
	bo.ShmSize = fe.ShmSize
	if bo.Ulimits, err = opts.ParseUlimits(o.ulimits); err != nil {
		return bo, err
	}
	if o.platform != "" {
		p, err := parsePlatform(o.platform)
		if err != nil {
			return bo, err
		}
		bo.Platforms = []ocispec.Platform{p}
	}
	return bo, nil
}

// showBuildProgress shows the daemon's JSON stream on progress and returns
// the built image's ID (from the aux messages); an error in the stream
// becomes the exit status docker gives it.
func showBuildProgress(cli *command.Cli, body io.Reader, progress io.Writer, quiet bool) (string, error) {
	var imageID string
	aux := func(m jsonstream.Message) {
		var r struct{ ID string }
		if m.Aux != nil {
			if err := jsonUnmarshal(*m.Aux, &r); err == nil && r.ID != "" {
				imageID = r.ID
			}
		}
	}
	fd, isTerm := cli.Out().FD(), cli.Out().IsTerminal() && !quiet
	if err := jsonmessage.DisplayJSONMessagesStream(body, progress, fd, isTerm, aux); err != nil {
		var jerr *jsonstream.Error
		if asJSONError(err, &jerr) {
			code := jerr.Code
			if code == 0 {
				code = 1
			}
			return "", command.StatusError{Status: jerr.Message, StatusCode: code}
		}
		return "", err
	}
	return imageID, nil
}

// buildArgs turns KEY=VALUE flags into the API map; a bare KEY takes its
// value from the environment, or stays unset (nil), as docker does.
func buildArgs(list []string) map[string]*string {
	if len(list) == 0 {
		return nil
	}
	out := map[string]*string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			out[k] = &v
			continue
		}
		if env, found := os.LookupEnv(k); found {
			out[k] = &env
		} else {
			out[k] = nil
		}
	}
	return out
}

func labels(list []string) map[string]string {
	if len(list) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, kv := range list {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

func parsePlatform(s string) (ocispec.Platform, error) {
	parts := strings.Split(strings.ToLower(s), "/")
	if len(parts) > 3 || parts[0] == "" {
		return ocispec.Platform{}, fmt.Errorf("%q: unknown operating system or architecture: invalid argument", s)
	}
	p := ocispec.Platform{OS: parts[0]}
	if len(parts) > 1 {
		p.Architecture = parts[1]
	}
	if len(parts) > 2 {
		p.Variant = parts[2]
	}
	return p, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
