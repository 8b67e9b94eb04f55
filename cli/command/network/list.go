package network

import (
	"context"
	"github.com/berth-dev/berth/cli/opts"
	"sort"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/formatter"
	"github.com/moby/moby/api/types/network"
	"github.com/spf13/cobra"
)

const formatHelp = "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates"

const (
	defaultNetworkTable = "{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
	quietNetworkFormat  = "{{.ID}}"
)

// networkHeaders are docker's column titles for `network ls`.
func networkHeaders() formatter.Headers {
	return formatter.Headers{
		"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
		"IPv4": "IPV4", "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS",
		"CreatedAt": "CREATED AT",
	}
}

type listOptions struct {
	quiet, noTrunc bool
	format         string
	filter         *opts.FilterOpt
}

func newListCommand(cli *command.Cli) *cobra.Command {
	o := listOptions{filter: opts.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runList(cmd.Context(), cli, o)
		},
		Annotations: map[string]string{"aliases": "docker network ls, docker network list"},
	}
	f := cmd.Flags()
	f.VarP(o.filter, "filter", "f", `Provide filter values (e.g. "driver=bridge")`)
	f.StringVar(&o.format, "format", "", formatHelp)
	f.BoolVar(&o.noTrunc, "no-trunc", false, "Do not truncate the output")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Only display network IDs")
	return cmd
}

// runList prints networks sorted by name; -q only applies when no custom
// --format is given, as in docker.
func runList(ctx context.Context, cli *command.Cli, o listOptions) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	res, err := api.NetworkList(ctx, client.NetworkListOptions{Filters: o.filter.Filters})
	if err != nil {
		return err
	}
	sort.SliceStable(res.Items, func(i, j int) bool { return opts.NaturalLess(res.Items[i].Name, res.Items[j].Name) })
	format := formatter.Format(o.format)
	if o.format == "" || o.format == formatter.TableFormatKey {
		format = "table " + defaultNetworkTable
		if o.quiet {
			format = quietNetworkFormat
		}
	}
	rows := make([]any, len(res.Items))
	for i, n := range res.Items {
		rows[i] = networkContext{n: n, trunc: !o.noTrunc}
	}
	fctx := formatter.Context{Output: cli.Out(), Format: format, DefaultTable: defaultNetworkTable}
	return fctx.Write(rows, networkHeaders())
}

// networkContext is one `network ls` row; its methods are the --format
// fields (and the keys of --format json), named as in docker.
type networkContext struct {
	n     network.Summary
	trunc bool
}

func (c networkContext) MarshalJSON() ([]byte, error) { return formatter.MarshalMethods(c) }

func (c networkContext) ID() string {
	if c.trunc {
		return formatter.TruncateID(c.n.ID)
	}
	return c.n.ID
}
func (c networkContext) Name() string      { return c.n.Name }
func (c networkContext) Driver() string    { return c.n.Driver }
func (c networkContext) Scope() string     { return c.n.Scope }
func (c networkContext) IPv4() string      { return strconv.FormatBool(c.n.EnableIPv4) }
func (c networkContext) IPv6() string      { return strconv.FormatBool(c.n.EnableIPv6) }
func (c networkContext) Internal() string  { return strconv.FormatBool(c.n.Internal) }
func (c networkContext) CreatedAt() string { return c.n.Created.String() }

// Labels is "k=v,..." sorted by key.
func (c networkContext) Labels() string {
	l := make([]string, 0, len(c.n.Labels))
	for k, v := range c.n.Labels {
		l = append(l, k+"="+v)
	}
	sort.Strings(l)
	return strings.Join(l, ",")
}

// Label returns one label's value ({{.Label "key"}}).
func (c networkContext) Label(name string) string { return c.n.Labels[name] }
