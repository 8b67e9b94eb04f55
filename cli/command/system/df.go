package system

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/formatter"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func newDfCommand(cli *command.Cli) *cobra.Command {
	var verbose bool
	var format string
	cmd := &cobra.Command{
		Use:   "df [OPTIONS]",
		Short: "Show docker disk usage",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDf(cmd.Context(), cli, format)
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "Show detailed information on space usage")
	cmd.Flags().StringVar(&format, "format", "", "Format output using a custom template")
	return cmd
}

type dfRow struct {
	Type, TotalCount, Active, Size, Reclaimable string
}

func runDf(ctx context.Context, cli *command.Cli, format string) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	du, err := api.DiskUsage(ctx, client.DiskUsageOptions{Containers: true, Images: true, Volumes: true, BuildCache: true})
	if err != nil {
		return err
	}
	reclaim := func(r, total int64) string {
		if total <= 0 {
			return formatter.HumanSize(r)
		}
		return fmt.Sprintf("%s (%d%%)", formatter.HumanSize(r), r*100/total)
	}
	rows := []dfRow{
		{"Images", fmt.Sprint(du.Images.TotalCount), fmt.Sprint(du.Images.ActiveCount), formatter.HumanSize(du.Images.TotalSize), reclaim(du.Images.Reclaimable, du.Images.TotalSize)},
		{"Containers", fmt.Sprint(du.Containers.TotalCount), fmt.Sprint(du.Containers.ActiveCount), formatter.HumanSize(du.Containers.TotalSize), reclaim(du.Containers.Reclaimable, du.Containers.TotalSize)},
		{"Local Volumes", fmt.Sprint(du.Volumes.TotalCount), fmt.Sprint(du.Volumes.ActiveCount), formatter.HumanSize(du.Volumes.TotalSize), reclaim(du.Volumes.Reclaimable, du.Volumes.TotalSize)},
		{"Build Cache", fmt.Sprint(du.BuildCache.TotalCount), fmt.Sprint(du.BuildCache.ActiveCount), formatter.HumanSize(du.BuildCache.TotalSize), formatter.HumanSize(du.BuildCache.Reclaimable)},
	}
	if format != "" && format != "table" {
		f := format
		if f == formatter.JSONFormatKey {
			f = formatter.JSONFormat
		}
		tmpl, err := formatter.NewTemplate(f)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := tmpl.Execute(cli.Out(), r); err != nil {
				return err
			}
			fmt.Fprintln(cli.Out())
		}
		return nil
	}
	tw := tabwriter.NewWriter(cli.Out(), 10, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Type, r.TotalCount, r.Active, r.Size, r.Reclaimable)
	}
	return tw.Flush()
}
