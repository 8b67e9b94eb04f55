package system

import (
	"bytes"
	"fmt"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/command/inspect"
	"github.com/berth-dev/berth/cli/opts"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/spf13/cobra"
)

func newListFlag(p *[]string) *opts.ListOpts { return opts.NewListOpts(p, "filter") }

// NewInspectCommand is the generic `inspect`: each name is tried as a
// container, then an image (or only the --type given).
func NewInspectCommand(cli *command.Cli) *cobra.Command {
	var (
		format, typ string
		size        bool
	)
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NAME|ID [NAME|ID...]",
		Short: "Return low-level information on Docker objects",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch typ {
			case "", "container", "image":
			default:
				return fmt.Errorf("%q is not a valid value for --type", typ)
			}
			api, err := cli.Client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return inspect.Inspect(cli.Out(), args, format, func(ref string) (any, []byte, error) {
				if typ == "" || typ == "container" {
					res, err := api.ContainerInspect(ctx, ref, client.ContainerInspectOptions{Size: size})
					if err == nil {
						return res.Container, res.Raw, nil
					}
					if !cerrdefs.IsNotFound(err) {
						return nil, nil, err
					}
					if typ == "container" {
						return nil, nil, fmt.Errorf("Error: No such container: %s", ref)
					}
				}
				var raw bytes.Buffer
				res, err := api.ImageInspect(ctx, ref, client.ImageInspectWithRawResponse(&raw))
				if err == nil {
					return res.InspectResponse, raw.Bytes(), nil
				}
				if !cerrdefs.IsNotFound(err) {
					return nil, nil, err
				}
				if typ == "image" {
					return nil, nil, fmt.Errorf("Error: No such image: %s", ref)
				}
				return nil, nil, fmt.Errorf("Error: No such object: %s", ref)
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&format, "format", "f", "", "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates")
	f.StringVar(&typ, "type", "", "Only inspect objects of the given type")
	f.BoolVarP(&size, "size", "s", false, "Display total file sizes if the type is container")
	return cmd
}
