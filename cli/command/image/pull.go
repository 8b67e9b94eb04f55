// Package image holds the image verbs (images, pull, rmi, tag, import, ...).
package image

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/command/registry"
	"github.com/berth-dev/berth/internal/imageref"
	"github.com/moby/moby/client/pkg/jsonmessage"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
)

type pullOptions struct {
	remote   string
	all      bool
	platform string
	quiet    bool
}

func newPullCommand(cli *command.Cli) *cobra.Command {
	var o pullOptions
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.remote = args[0]
			return runPull(cmd.Context(), cli, o)
		},
		Annotations: map[string]string{"aliases": "docker image pull, docker pull"},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all-tags", "a", false, "Download all tagged images in the repository")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress verbose output")
	f.StringVar(&o.platform, "platform", "", "Set platform if server is multi-platform capable")
	f.Bool("disable-content-trust", true, "Skip image verification")
	_ = f.MarkHidden("disable-content-trust")
	return cmd
}

func runPull(ctx context.Context, cli *command.Cli, o pullOptions) error {
	named, err := imageref.ParseNormalizedNamed(o.remote)
	if err != nil {
		return err
	}
	if o.all && !named.IsNameOnly() {
		return fmt.Errorf("tag can't be used with --all-tags/-a")
	}
	if !o.all && named.IsNameOnly() {
		named = named.TagNameOnly()
		if !o.quiet {
			fmt.Fprintf(cli.Out(), "Using default tag: %s\n", "latest")
		}
	}
	ref := named.FamiliarString()
	if o.all {
		ref = named.FamiliarName()
	}
	var out io.Writer = cli.Out()
	if o.quiet {
		out = io.Discard
	}
	if err := Pull(ctx, cli, ref, o.platform, o.all, out); err != nil {
		return err
	}
	fmt.Fprintln(cli.Out(), named.String())
	return nil
}

// ParsePlatform parses "os[/arch[/variant]]".
func ParsePlatform(s string) (*ocispec.Platform, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(strings.ToLower(s), "/")
	if len(parts) > 3 || parts[0] == "" {
		return nil, fmt.Errorf("%q: unknown operating system or architecture: invalid argument", s)
	}
	p := &ocispec.Platform{OS: parts[0]}
	if len(parts) > 1 {
		p.Architecture = parts[1]
	}
	if len(parts) > 2 {
		p.Variant = parts[2]
	}
	return p, nil
}

// Pull pulls ref and renders the daemon's JSON progress to out (a TTY
// gets docker's live progress bars). Errors reported inside the stream are
// returned.
func Pull(ctx context.Context, cli *command.Cli, ref, platform string, all bool, out io.Writer) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	po := client.ImagePullOptions{All: all, RegistryAuth: registryAuth(ref)}
	if p, err := ParsePlatform(platform); err != nil {
		return err
	} else if p != nil {
		po.Platforms = []ocispec.Platform{*p}
	}
	resp, err := api.ImagePull(ctx, ref, po)
	if err != nil {
		return err
	}
	defer resp.Close()
	fd, isTerm := uintptr(0), false
	if out == io.Writer(cli.Out()) {
		fd, isTerm = cli.Out().FD(), cli.Out().IsTerminal()
	} else if out == io.Writer(cli.Err()) {
		fd, isTerm = cli.Err().FD(), cli.Err().IsTerminal()
	}
	return jsonmessage.DisplayJSONMessagesStream(resp, out, fd, isTerm, nil)
}

// registryAuth is the X-Registry-Auth header for the registry of image
// reference ref: the stored credentials (berth's config, then docker's),
// or anonymous.
func registryAuth(ref string) string {
	named, err := imageref.ParseNormalizedNamed(ref)
	if err != nil {
		return "e30="
	}
	return registry.AuthHeaderFor(named.Domain())
}
