package system

import (
	"context"
	"fmt"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/formatter"
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
			if verbose && (format == "" || format == "table") {
				return runDfVerbose(cmd.Context(), cli)
			}
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
	tw := formatter.NewTabWriter(cli.Out(), 10, 1, 3)
	fmt.Fprintln(tw, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Type, r.TotalCount, r.Active, r.Size, r.Reclaimable)
	}
	return tw.Flush()
}

// runDfVerbose prints docker's `system df -v`: each image, container,
// volume and build cache record with its space.
func runDfVerbose(ctx context.Context, cli *command.Cli) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	du, err := api.DiskUsage(ctx, client.DiskUsageOptions{Containers: true, Images: true, Volumes: true, BuildCache: true, Verbose: true})
	if err != nil {
		return err
	}
	out := cli.Out()
	fmt.Fprintln(out, "Images space usage:")
	fmt.Fprintln(out)
	tw := formatter.NewTabWriter(out, 10, 1, 3)
	fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS")
	for _, img := range du.Images.Items {
		repo, tag := "<none>", "<none>"
		if len(img.RepoTags) > 0 {
			r := img.RepoTags[0]
			if i := strings.LastIndex(r, ":"); i > 0 && !strings.Contains(r[i:], "/") {
				repo, tag = r[:i], r[i+1:]
			}
		}
		shared := img.SharedSize
		if shared < 0 {
			shared = 0
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", repo, tag, formatter.TruncateID(img.ID),
			formatter.HumanSince(img.Created), formatter.HumanSize(img.Size), formatter.HumanSize(shared),
			formatter.HumanSize(img.Size-shared), max(img.Containers, 0))
	}
	tw.Flush()
	fmt.Fprintln(out)
	fmt.Fprintln(out, "Containers space usage:")
	fmt.Fprintln(out)
	tw = formatter.NewTabWriter(out, 10, 1, 3)
	fmt.Fprintln(tw, "CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES")
	for _, c := range du.Containers.Items {
		cmdText := c.Command
		if len(cmdText) > 20 {
			cmdText = cmdText[:19] + "…"
		}
		vols := 0
		for _, m := range c.Mounts {
			if m.Type == "volume" {
				vols++
			}
		}
		name := ""
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		fmt.Fprintf(tw, "%s\t%s\t%q\t%d\t%s\t%s\t%s\t%s\n", formatter.TruncateID(c.ID), c.Image, cmdText, vols,
			formatter.HumanSize(c.SizeRw), formatter.HumanSince(c.Created), c.Status, name)
	}
	tw.Flush()
	fmt.Fprintln(out)
	fmt.Fprintln(out, "Local Volumes space usage:")
	fmt.Fprintln(out)
	tw = formatter.NewTabWriter(out, 10, 1, 3)
	fmt.Fprintln(tw, "VOLUME NAME\tLINKS\tSIZE")
	for _, v := range du.Volumes.Items {
		links, size := int64(0), int64(0)
		if v.UsageData != nil {
			links, size = v.UsageData.RefCount, v.UsageData.Size
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\n", v.Name, max(links, 0), formatter.HumanSize(max(size, 0)))
	}
	tw.Flush()
	fmt.Fprintln(out)
	fmt.Fprintf(out, "Build cache usage: %s\n\n", formatter.HumanSize(du.BuildCache.TotalSize))
	tw = formatter.NewTabWriter(out, 10, 1, 3)
	fmt.Fprintln(tw, "CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED")
	return tw.Flush()
}
