package compose

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/command/registry"
	"github.com/distribution/reference"
	"github.com/moby/moby/client/pkg/jsonmessage"
	"github.com/spf13/cobra"
)

// newPushCommand is `compose push`: the images of the selected services
// that name one, to their registries.
func newPushCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var quiet, ignoreFailures bool
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] [SERVICE...]",
		Short: "Push service images",
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := po.load(cmd.Context(), args)
			if err != nil {
				return err
			}
			api, err := c.Client()
			if err != nil {
				return err
			}
			names := p.ServiceNames()
			sort.Strings(names)
			for _, name := range names {
				s := p.Services[name]
				if s.Image == "" {
					continue
				}
				if !quiet {
					fmt.Fprintf(c.Err(), " %s Pushing\n", name)
				}
				err := pushImage(cmd.Context(), api, s.Image)
				if err != nil && !ignoreFailures {
					return err
				}
				if err != nil {
					fmt.Fprintf(c.Err(), " %s Error %s\n", name, command.Message(err))
				} else if !quiet {
					fmt.Fprintf(c.Err(), " %s Pushed\n", name)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Push without printing progress information")
	cmd.Flags().BoolVar(&ignoreFailures, "ignore-push-failures", false, "Push what it can and ignores images with push failures")
	return cmd
}

func pushImage(ctx context.Context, api *client.Client, ref string) error {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return err
	}
	resp, err := api.ImagePush(ctx, reference.FamiliarString(reference.TagNameOnly(named)),
		client.ImagePushOptions{RegistryAuth: registry.AuthHeaderFor(reference.Domain(named))})
	if err != nil {
		return err
	}
	defer resp.Close()
	return jsonmessage.DisplayJSONMessagesStream(resp, io.Discard, 0, false, nil)
}
