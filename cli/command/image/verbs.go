package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"bytes"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/command/inspect"
	"github.com/berth-dev/berth/cli/formatter"
	"github.com/berth-dev/berth/cli/opts"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/jsonmessage"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
)

// NewInspectCommand is `image inspect`.
func NewInspectCommand(cli *command.Cli) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short: "Display detailed information on one or more images",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			return inspect.Inspect(cli.Out(), args, format, func(ref string) (any, []byte, error) {
				var raw bytes.Buffer
				res, err := api.ImageInspect(cmd.Context(), ref, client.ImageInspectWithRawResponse(&raw))
				return res.InspectResponse, raw.Bytes(), err
			})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates")
	return cmd
}

func newHistoryCommand(cli *command.Cli) *cobra.Command {
	var (
		human, quiet, noTrunc bool
		format                string
	)
	cmd := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show the history of an image",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			res, err := api.ImageHistory(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			f := formatter.Format(format)
			if format == "" || format == formatter.TableFormatKey {
				f = formatter.Format("table " + formatter.DefaultHistoryTable)
				if quiet {
					f = "{{.ID}}"
				}
			}
			return formatter.WriteHistory(formatter.Context{Output: cli.Out(), Format: f}, res.Items, !noTrunc, human)
		},
		Annotations: map[string]string{"aliases": "docker image history, docker history"},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&human, "human", "H", true, "Print sizes and dates in human readable format")
	fl.BoolVarP(&quiet, "quiet", "q", false, "Only show image IDs")
	fl.BoolVar(&noTrunc, "no-trunc", false, "Don't truncate output")
	fl.StringVar(&format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates")
	return cmd
}

func newTagCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args:  command.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			_, err = api.ImageTag(cmd.Context(), client.ImageTagOptions{Source: args[0], Target: args[1]})
			return err
		},
		Annotations: map[string]string{"aliases": "docker image tag, docker tag"},
	}
}

func newRemoveCommand(cli *command.Cli, use string) *cobra.Command {
	var force, noPrune bool
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] IMAGE [IMAGE...]",
		Short: "Remove one or more images",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRemove(cmd.Context(), cli, args, force, noPrune)
		},
		Annotations: map[string]string{"aliases": "docker image rm, docker image remove, docker rmi"},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force removal of the image")
	cmd.Flags().BoolVar(&noPrune, "no-prune", false, "Do not delete untagged parents")
	return cmd
}

// runRemove prints docker's "Untagged: x" / "Deleted: sha256:..." lines;
// with -f a missing image is not an error.
func runRemove(ctx context.Context, cli *command.Cli, images []string, force, noPrune bool) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	var errs []string
	for _, img := range images {
		res, err := api.ImageRemove(ctx, img, client.ImageRemoveOptions{Force: force, PruneChildren: !noPrune})
		if err != nil {
			if force && isNotFound(err) {
				continue
			}
			errs = append(errs, command.Message(err))
			continue
		}
		for _, d := range res.Items {
			if d.Deleted != "" {
				fmt.Fprintln(cli.Out(), "Deleted:", d.Deleted)
			} else {
				fmt.Fprintln(cli.Out(), "Untagged:", d.Untagged)
			}
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

func newPruneCommand(cli *command.Cli) *cobra.Command {
	var (
		all, force bool
		filters    []string
	)
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused images",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			n, out, err := RunPrune(cmd.Context(), cli, all, force, filters)
			if errors.Is(err, ErrPruneCancelled) {
				return nil
			}
			if err != nil {
				return err
			}
			if out != "" {
				fmt.Fprint(cli.Out(), out)
			}
			fmt.Fprintln(cli.Out(), "Total reclaimed space:", formatter.HumanSize(int64(n)))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused images, not just dangling ones")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	cmd.Flags().Var(opts.NewListOpts(&filters, "filter"), "filter", `Provide filter values (e.g. "until=<timestamp>")`)
	return cmd
}

// ErrPruneCancelled is returned when the user answers no.
var ErrPruneCancelled = errors.New("prune cancelled")

// RunPrune removes dangling (or with all, unused) images after
// confirmation; system prune reuses it.
func RunPrune(ctx context.Context, cli *command.Cli, all, force bool, filterValues []string) (uint64, string, error) {
	filters, err := opts.ParseFilters(filterValues)
	if err != nil {
		return 0, "", err
	}
	warning := "WARNING! This will remove all dangling images.\nAre you sure you want to continue?"
	if all {
		filters.Add("dangling", "false")
		warning = "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?"
	} else {
		filters.Add("dangling", "true")
	}
	if !force && !command.PromptForConfirmation(cli.In(), cli.Out(), warning) {
		return 0, "", ErrPruneCancelled
	}
	api, err := cli.Client()
	if err != nil {
		return 0, "", err
	}
	res, err := api.ImagePrune(ctx, client.ImagePruneOptions{Filters: filters})
	if err != nil {
		return 0, "", err
	}
	var b strings.Builder
	if len(res.Report.ImagesDeleted) > 0 {
		b.WriteString("Deleted Images:\n")
		for _, d := range res.Report.ImagesDeleted {
			if d.Untagged != "" {
				fmt.Fprintf(&b, "untagged: %s\n", d.Untagged)
			} else {
				fmt.Fprintf(&b, "deleted: %s\n", d.Deleted)
			}
		}
		b.WriteString("\n")
	}
	return res.Report.SpaceReclaimed, b.String(), nil
}

func newImportCommand(cli *command.Cli) *cobra.Command {
	var (
		changes           []string
		message, platform string
	)
	cmd := &cobra.Command{
		Use:   "import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
		Short: "Import the contents from a tarball to create a filesystem image",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := ""
			if len(args) > 1 {
				ref = args[1]
			}
			return runImport(cmd.Context(), cli, args[0], ref, message, platform, changes)
		},
		Annotations: map[string]string{"aliases": "docker image import, docker import"},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.VarP(opts.NewListOpts(&changes, "list"), "change", "c", "Apply Dockerfile instruction to the created image")
	f.StringVarP(&message, "message", "m", "", "Set commit message for imported image")
	f.StringVar(&platform, "platform", "", "Set platform if server is multi-platform capable")
	return cmd
}

// runImport sends a tarball (a file, stdin with "-", or a URL the daemon
// fetches) and prints the new image ID from the daemon's JSON stream.
func runImport(ctx context.Context, cli *command.Cli, source, ref, message, platform string, changes []string) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	var src client.ImageImportSource
	switch {
	case source == "-":
		src = client.ImageImportSource{Source: cli.In(), SourceName: "-"}
	case strings.HasPrefix(source, "https://") || strings.HasPrefix(source, "http://"):
		src = client.ImageImportSource{SourceName: source}
	default:
		f, err := os.Open(source)
		if err != nil {
			return err
		}
		defer f.Close()
		src = client.ImageImportSource{Source: f, SourceName: "-"}
	}
	io := client.ImageImportOptions{Message: message, Changes: changes}
	if p, err := ParsePlatform(platform); err != nil {
		return err
	} else if p != nil {
		io.Platform = *p
	}
	rc, err := api.ImageImport(ctx, src, ref, io)
	if err != nil {
		return err
	}
	defer rc.Close()
	return jsonmessage.DisplayJSONMessagesStream(rc, cli.Out(), cli.Out().FD(), cli.Out().IsTerminal(), nil)
}

func newSaveCommand(cli *command.Cli) *cobra.Command {
	var output, platform string
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" && cli.Out().IsTerminal() {
				return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
			}
			api, err := cli.Client()
			if err != nil {
				return err
			}
			var sopts []client.ImageSaveOption
			if p, err := ParsePlatform(platform); err != nil {
				return err
			} else if p != nil {
				sopts = append(sopts, client.ImageSaveWithPlatforms(*p))
			}
			rc, err := api.ImageSave(cmd.Context(), args, sopts...)
			if err != nil {
				return err
			}
			defer rc.Close()
			if output == "" {
				_, err = io.Copy(cli.Out(), rc)
				return err
			}
			return writeFileAtomic(output, rc)
		},
		Annotations: map[string]string{"aliases": "docker image save, docker save"},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	cmd.Flags().StringVar(&platform, "platform", "", "Save only the given platform variant")
	return cmd
}

func writeFileAtomic(path string, r io.Reader) error {
	tmp := path + ".berth-tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

func newLoadCommand(cli *command.Cli) *cobra.Command {
	var (
		input    string
		quiet    bool
		platform string
	)
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load an image from a tar archive or STDIN",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var in io.Reader = cli.In()
			if input != "" {
				f, err := os.Open(input)
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			} else if cli.In().IsTerminal() {
				return errors.New("requested load from stdin, but stdin is empty")
			}
			api, err := cli.Client()
			if err != nil {
				return err
			}
			lopts := []client.ImageLoadOption{client.ImageLoadWithQuiet(quiet || !cli.Out().IsTerminal())}
			if p, err := ParsePlatform(platform); err != nil {
				return err
			} else if p != nil {
				lopts = append(lopts, client.ImageLoadWithPlatforms([]ocispec.Platform{*p}...))
			}
			rc, err := api.ImageLoad(cmd.Context(), in, lopts...)
			if err != nil {
				return err
			}
			defer rc.Close()
			return jsonmessage.DisplayJSONMessagesStream(rc, cli.Out(), cli.Out().FD(), cli.Out().IsTerminal(), nil)
		},
		Annotations: map[string]string{"aliases": "docker image load, docker load"},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "Read from tar archive file, instead of STDIN")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress the load output")
	cmd.Flags().StringVar(&platform, "platform", "", "Load only the given platform variant")
	return cmd
}

func newPushCommand(cli *command.Cli) *cobra.Command {
	var (
		all, quiet bool
		platform   string
	)
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG]",
		Short: "Upload an image to a registry",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			po := client.ImagePushOptions{All: all, RegistryAuth: registryAuth(args[0])}
			if p, err := ParsePlatform(platform); err != nil {
				return err
			} else if p != nil {
				po.Platform = p
			}
			rc, err := api.ImagePush(cmd.Context(), args[0], po)
			if err != nil {
				return err
			}
			defer rc.Close()
			var out io.Writer = cli.Out()
			if quiet {
				out = io.Discard
			}
			if err := jsonmessage.DisplayJSONMessagesStream(rc, out, cli.Out().FD(), cli.Out().IsTerminal() && !quiet, nil); err != nil {
				return err
			}
			if quiet {
				fmt.Fprintln(cli.Out(), args[0])
			}
			return nil
		},
		Annotations: map[string]string{"aliases": "docker image push, docker push"},
	}
	cmd.Flags().BoolVarP(&all, "all-tags", "a", false, "Push all tags of an image to the repository")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress verbose output")
	cmd.Flags().StringVar(&platform, "platform", "", "Push a platform-specific manifest as a single-platform image to the registry.")
	return cmd
}
