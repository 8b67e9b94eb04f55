package volume

import (
	"context"
	"github.com/berth-dev/berth/cli/opts"
	"sort"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/formatter"
	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/volume"
	"github.com/spf13/cobra"
)

const formatHelp = "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates"

const (
	defaultVolumeTable = "{{.Driver}}\t{{.Name}}"
	clusterVolumeTable = "{{.Name}}\t{{.Group}}\t{{.Driver}}\t{{.Availability}}\t{{.Status}}"
	quietVolumeFormat  = "{{.Name}}"
)

// volumeHeaders are docker's column titles for `volume ls`.
func volumeHeaders() formatter.Headers {
	return formatter.Headers{
		"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
		"Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "Group": "GROUP",
		"Availability": "AVAILABILITY", "Status": "STATUS",
	}
}

type listOptions struct {
	quiet, cluster bool
	format         string
	filter         *opts.FilterOpt
}

func newListCommand(cli *command.Cli) *cobra.Command {
	o := listOptions{filter: opts.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runList(cmd.Context(), cli, o)
		},
		Annotations: map[string]string{"aliases": "docker volume ls, docker volume list"},
	}
	f := cmd.Flags()
	f.BoolVar(&o.cluster, "cluster", false, "Display only cluster volumes, and use cluster volume list formatting")
	f.VarP(o.filter, "filter", "f", `Provide filter values (e.g. "dangling=true")`)
	f.StringVar(&o.format, "format", "", formatHelp)
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Only display volume names")
	return cmd
}

// runList prints volumes sorted by name. Filters (dangling, driver, label,
// name) are applied by the daemon.
func runList(ctx context.Context, cli *command.Cli, o listOptions) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	res, err := api.VolumeList(ctx, client.VolumeListOptions{Filters: o.filter.Filters})
	if err != nil {
		return err
	}
	items := res.Items
	table := defaultVolumeTable
	if o.cluster {
		// berthd has no swarm, so no volume is a cluster volume; kept for
		// docker's flag set and output shape.
		n := 0
		for _, v := range items {
			if v.ClusterVolume != nil {
				items[n] = v
				n++
			}
		}
		items = items[:n]
		table = clusterVolumeTable
	}
	sort.SliceStable(items, func(i, j int) bool { return opts.NaturalLess(items[i].Name, items[j].Name) })
	format := formatter.Format(o.format)
	if o.format == "" || o.format == formatter.TableFormatKey || o.cluster {
		format = formatter.Format("table " + table)
		if o.quiet {
			format = quietVolumeFormat
		}
	}
	rows := make([]any, len(items))
	for i, v := range items {
		rows[i] = volumeContext{v: v}
	}
	fctx := formatter.Context{Output: cli.Out(), Format: format, DefaultTable: table}
	return fctx.Write(rows, volumeHeaders())
}

// volumeContext is one `volume ls` row; its methods are the --format fields
// (and the keys of --format json), named as in docker.
type volumeContext struct{ v volume.Volume }

func (c volumeContext) MarshalJSON() ([]byte, error) { return formatter.MarshalMethods(c) }

func (c volumeContext) Name() string       { return c.v.Name }
func (c volumeContext) Driver() string     { return c.v.Driver }
func (c volumeContext) Scope() string      { return c.v.Scope }
func (c volumeContext) Mountpoint() string { return c.v.Mountpoint }

// Labels is "k=v,..." sorted by key.
func (c volumeContext) Labels() string {
	l := make([]string, 0, len(c.v.Labels))
	for k, v := range c.v.Labels {
		l = append(l, k+"="+v)
	}
	sort.Strings(l)
	return strings.Join(l, ",")
}

// Label returns one label's value ({{.Label "key"}}).
func (c volumeContext) Label(name string) string { return c.v.Labels[name] }

// Links and Size are "N/A" unless the daemon computed usage data (system df).
func (c volumeContext) Links() string {
	if c.v.UsageData == nil {
		return "N/A"
	}
	return strconv.FormatInt(c.v.UsageData.RefCount, 10)
}
func (c volumeContext) Size() string {
	if c.v.UsageData == nil {
		return "N/A"
	}
	return units.HumanSize(float64(c.v.UsageData.Size))
}

func (c volumeContext) Group() string {
	if c.v.ClusterVolume == nil {
		return "N/A"
	}
	return c.v.ClusterVolume.Spec.Group
}
func (c volumeContext) Availability() string {
	if c.v.ClusterVolume == nil {
		return "N/A"
	}
	return string(c.v.ClusterVolume.Spec.Availability)
}
func (c volumeContext) Status() string {
	if c.v.ClusterVolume == nil {
		return "N/A"
	}
	return "created"
}
