package compose

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/cli/command"
	clibuild "github.com/berth-dev/berth/cli/command/build"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"
)

// labelBuilder is what compose stamps on images it builds classically.
const labelBuilder = "com.docker.compose.image.builder"

// imageName is the image a service's containers run: its image, or for a
// build-only service compose's default name, project-service.
func imageName(p *types.Project, s types.ServiceConfig) string {
	if s.Image != "" {
		return s.Image
	}
	return p.Name + "-" + s.Name
}

// supportedBuildKeys are the build: attributes sent to the classic /build
// endpoint; any other is refused by name.
var supportedBuildKeys = map[string]bool{
	"context": true, "dockerfile": true, "args": true, "labels": true, "target": true,
	"no_cache": true, "pull": true, "network": true, "tags": true,
}

func checkBuild(b *types.BuildConfig) []string {
	raw, err := json.Marshal(b)
	if err != nil {
		return []string{"build"}
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw, &m)
	var bad []string
	for k := range m {
		if !supportedBuildKeys[k] {
			bad = append(bad, "build."+k)
		}
	}
	if strings.Contains(b.Context, "://") || strings.HasPrefix(b.Context, "git@") {
		bad = append(bad, "build.context from a URL")
	}
	return bad
}

type buildOptions struct {
	noCache, pull, quiet bool
	args                 []string
}

// newBuildCommand is `compose build [SERVICE...]`.
func newBuildCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var o buildOptions
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] [SERVICE...]",
		Short: "Build or rebuild services",
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := po.load(cmd.Context(), args)
			if err != nil {
				return err
			}
			for _, name := range p.ServiceNames() {
				if err := checkSupported(p.Services[name]); err != nil {
					return err
				}
			}
			for _, name := range p.ServiceNames() {
				s := p.Services[name]
				if s.Build == nil || (len(args) > 0 && !contains(args, name)) {
					continue
				}
				if err := buildService(cmd.Context(), c, p, s, o); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.noCache, "no-cache", false, "Do not use cache when building the image")
	f.BoolVar(&o.pull, "pull", false, "Always attempt to pull a newer version of the image")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress the build output")
	f.StringArrayVar(&o.args, "build-arg", nil, "Set build-time variables for services")
	return cmd
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// buildService builds s's image with berth's own build command (the
// classic /build endpoint), tagged with compose's image name and tags.
func buildService(ctx context.Context, c *command.Cli, p *types.Project, s types.ServiceConfig, o buildOptions) error {
	args := buildArgs(p, s, o)
	bc := c
	if o.quiet {
		// BuildKit's progress goes to stderr; a failed build still returns
		// its error.
		bc = command.NewCli(io.NopCloser(c.In()), io.Discard, io.Discard)
		bc.Host, bc.TLS, bc.Debug = c.Host, c.TLS, c.Debug
	} else {
		fmt.Fprintf(c.Err(), " %s Building\n", s.Name)
	}
	cmd := clibuild.NewBuildCommand(bc)
	if err := cmd.ParseFlags(args); err != nil {
		return err
	}
	cmd.SetContext(ctx)
	if err := cmd.RunE(cmd, cmd.Flags().Args()); err != nil {
		return fmt.Errorf("failed to build service %q: %w", s.Name, err)
	}
	if !o.quiet {
		fmt.Fprintf(c.Err(), " %s Built\n", s.Name)
	}
	return nil
}

// buildArgs is the `berth build` command line of service s: its tags,
// Dockerfile, build arguments and labels (sorted), options, then context.
func buildArgs(p *types.Project, s types.ServiceConfig, o buildOptions) []string {
	b := s.Build
	args := []string{"-t", imageName(p, s)}
	for _, t := range b.Tags {
		args = append(args, "-t", t)
	}
	df := b.Dockerfile
	if df == "" {
		df = "Dockerfile"
	}
	if !filepath.IsAbs(df) {
		df = filepath.Join(b.Context, df)
	}
	args = append(args, "-f", df)
	args = append(args, buildArgFlags(p, b, o)...)
	labels := map[string]string{labelBuilder: "classic"}
	for k, v := range b.Labels {
		labels[k] = v
	}
	for _, k := range sortedKeys(labels) {
		args = append(args, "--label", k+"="+labels[k])
	}
	if b.Target != "" {
		args = append(args, "--target", b.Target)
	}
	if b.NoCache || o.noCache {
		args = append(args, "--no-cache")
	}
	if b.Pull || o.pull {
		args = append(args, "--pull")
	}
	if b.Network != "" {
		args = append(args, "--network", b.Network)
	}
	if b.Network == "host" {
		// As docker compose: network: host grants the build the entitlement.
		args = append(args, "--allow", "network.host")
	}
	return append(args, b.Context)
}

// buildArgFlags are the --build-arg flags: the service's args (a key
// without a value takes the project's environment), then the command's.
func buildArgFlags(p *types.Project, b *types.BuildConfig, o buildOptions) []string {
	var args []string
	for _, k := range sortedKeys(b.Args) {
		if v := b.Args[k]; v != nil {
			args = append(args, "--build-arg", k+"="+*v)
		} else if v, ok := p.Environment[k]; ok {
			args = append(args, "--build-arg", k+"="+v)
		}
	}
	for _, a := range o.args {
		args = append(args, "--build-arg", a)
	}
	return args
}
