package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/command/image"
	"github.com/berth-dev/berth/internal/imageref"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/spf13/cobra"
)

func newCreateCommand(cli *command.Cli) *cobra.Command {
	var copts *containerOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new container",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			copts.image, copts.args = args[0], args[1:]
			id, err := runCreate(cmd.Context(), cli, copts)
			if err != nil {
				return err
			}
			fmt.Fprintln(cli.Out(), id)
			return nil
		},
		Annotations: map[string]string{"aliases": "docker container create, docker create"},
	}
	cmd.Flags().SetInterspersed(false)
	copts = addFlags(cmd.Flags())
	return cmd
}

// runCreate parses the options and creates the container, pulling the image
// first when the pull policy asks for it. Errors come back as docker's
// 125-with-help status errors.
func runCreate(ctx context.Context, cli *command.Cli, copts *containerOptions) (string, error) {
	cc, err := copts.parse()
	if err != nil {
		return "", command.WithHelp("create", err, 125)
	}
	id, err := createContainer(ctx, cli, cc, copts)
	if err != nil {
		return "", command.WithHelp("create", err, 125)
	}
	return id, nil
}

const (
	pullAlways  = "always"
	pullMissing = "missing"
	pullNever   = "never"
)

// createContainer does docker's createContainer: cidfile, optional pull,
// create, and on "no such image" with --pull=missing, announce, pull and
// retry once.
func createContainer(ctx context.Context, cli *command.Cli, cc *containerConfig, copts *containerOptions) (string, error) {
	switch copts.pull {
	case pullAlways, pullMissing, pullNever:
	default:
		return "", fmt.Errorf("invalid pull option: '%s': must be one of \"always\", \"missing\" or \"never\"", copts.pull)
	}
	api, err := cli.Client()
	if err != nil {
		return "", err
	}
	platform, err := image.ParsePlatform(copts.platform)
	if err != nil {
		return "", err
	}
	cid, err := newCIDFile(cc.HostConfig.ContainerIDFile)
	if err != nil {
		return "", err
	}
	defer cid.Close()

	namedRef, named, _ := imageref.ParseAnyReference(cc.Config.Image)
	namedRef = namedRef.TagNameOnly()
	pull := func() error {
		var out io.Writer = cli.Err()
		if copts.quiet {
			out = io.Discard
		}
		return image.Pull(ctx, cli, cc.Config.Image, copts.platform, false, out)
	}
	if copts.pull == pullAlways {
		if err := pull(); err != nil {
			return "", err
		}
	}
	cc.HostConfig.ConsoleSize[0], cc.HostConfig.ConsoleSize[1] = cli.Out().GetTtySize()
	opts := client.ContainerCreateOptions{
		Config:           cc.Config,
		HostConfig:       cc.HostConfig,
		NetworkingConfig: cc.NetworkingConfig,
		Platform:         platform,
		Name:             copts.name,
	}
	resp, err := api.ContainerCreate(ctx, opts)
	if err != nil {
		if !cerrdefs.IsNotFound(err) || !named || copts.pull != pullMissing {
			return "", err
		}
		if !copts.quiet {
			fmt.Fprintf(cli.Err(), "Unable to find image '%s' locally\n", namedRef.FamiliarString())
		}
		if err := pull(); err != nil {
			return "", err
		}
		if resp, err = api.ContainerCreate(ctx, opts); err != nil {
			return "", err
		}
	}
	for _, w := range resp.Warnings {
		fmt.Fprintf(cli.Err(), "WARNING: %s\n", w)
	}
	return resp.ID, cid.Write(resp.ID)
}

// cidFile is --cidfile: created before the container so a stale file fails
// early, removed again if creation fails.
type cidFile struct {
	path    string
	file    *os.File
	written bool
}

func newCIDFile(path string) (*cidFile, error) {
	if path == "" {
		return &cidFile{}, nil
	}
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("container ID file found, make sure the other container isn't running or delete %s", path)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("failed to create the container ID file: %w", err)
	}
	return &cidFile{path: path, file: f}, nil
}

func (c *cidFile) Write(id string) error {
	if c.file == nil {
		return nil
	}
	if _, err := c.file.WriteString(id); err != nil {
		return fmt.Errorf("failed to write the container ID to the file: %w", err)
	}
	c.written = true
	return nil
}

func (c *cidFile) Close() error {
	if c.file == nil {
		return nil
	}
	c.file.Close()
	if !c.written {
		return errors.Join(os.Remove(c.path))
	}
	return nil
}
