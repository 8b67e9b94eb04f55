package container

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/formatter"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"
)

type statsOptions struct {
	all, noStream, noTrunc bool
	format                 string
}

func newStatsCommand(cli *command.Cli) *cobra.Command {
	var o statsOptions
	cmd := &cobra.Command{
		Use:   "stats [OPTIONS] [CONTAINER...]",
		Short: "Display a live stream of container(s) resource usage statistics",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStats(cmd.Context(), cli, o, args)
		},
		Annotations: map[string]string{"aliases": "docker container stats, docker stats"},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "Show all containers (default shows just running)")
	f.BoolVar(&o.noStream, "no-stream", false, "Disable streaming stats and only pull the first result")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "Do not truncate output")
	f.StringVar(&o.format, "format", "", "Format output using a custom template")
	return cmd
}

// statsRow is one line of `stats`, with docker's field names for --format.
type statsRow struct {
	ID, Container, Name, CPUPerc, MemUsage, MemPerc, NetIO, BlockIO, PIDs string
}

// rowOf computes docker's figures from a sample: CPU % from the deltas to
// the previous sample, memory without the page cache.
func rowOf(st *ctypes.StatsResponse, noTrunc bool) statsRow {
	cpu := 0.0
	cpuDelta := float64(st.CPUStats.CPUUsage.TotalUsage) - float64(st.PreCPUStats.CPUUsage.TotalUsage)
	sysDelta := float64(st.CPUStats.SystemUsage) - float64(st.PreCPUStats.SystemUsage)
	if cpuDelta > 0 && sysDelta > 0 {
		n := float64(st.CPUStats.OnlineCPUs)
		if n == 0 {
			n = float64(len(st.CPUStats.CPUUsage.PercpuUsage))
		}
		cpu = cpuDelta / sysDelta * n * 100
	}
	used := st.MemoryStats.Usage
	for _, k := range []string{"total_inactive_file", "inactive_file"} {
		if v, ok := st.MemoryStats.Stats[k]; ok && v < used {
			used -= v
			break
		}
	}
	memPerc := 0.0
	if st.MemoryStats.Limit > 0 {
		memPerc = float64(used) / float64(st.MemoryStats.Limit) * 100
	}
	var rx, tx uint64
	for _, n := range st.Networks {
		rx += n.RxBytes
		tx += n.TxBytes
	}
	var rd, wr uint64
	for _, b := range st.BlkioStats.IoServiceBytesRecursive {
		switch strings.ToLower(b.Op) {
		case "read":
			rd += b.Value
		case "write":
			wr += b.Value
		}
	}
	id := st.ID
	if !noTrunc {
		id = formatter.TruncateID(id)
	}
	return statsRow{
		ID: id, Container: id, Name: strings.TrimPrefix(st.Name, "/"),
		CPUPerc:  fmt.Sprintf("%.2f%%", cpu),
		MemUsage: binarySize(used) + " / " + binarySize(st.MemoryStats.Limit),
		MemPerc:  fmt.Sprintf("%.2f%%", memPerc),
		NetIO:    formatter.HumanSize(int64(rx)) + " / " + formatter.HumanSize(int64(tx)),
		BlockIO:  formatter.HumanSize(int64(rd)) + " / " + formatter.HumanSize(int64(wr)),
		PIDs:     fmt.Sprint(st.PidsStats.Current),
	}
}

// binarySize is docker's BytesSize: KiB, MiB, GiB.
func binarySize(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return fmt.Sprintf("%.4g%s", f, units[i])
}

func runStats(ctx context.Context, cli *command.Cli, o statsOptions, names []string) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		res, err := api.ContainerList(ctx, client.ContainerListOptions{All: o.all})
		if err != nil {
			return err
		}
		for _, c := range res.Items {
			names = append(names, c.ID)
		}
	}
	t := &statsTable{rows: make([]statsRow, len(names))}
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.follow(ctx, api, i, n, o)
		}()
	}
	if o.noStream {
		wg.Wait()
		if len(t.errs) > 0 {
			return t.errs[0]
		}
		return t.render(cli, o.format, false)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return t.refresh(ctx, cli, o.format, done)
}

// statsTable is one row per container, each kept up to date by its own
// stream, and the errors the streams met.
type statsTable struct {
	mu   sync.Mutex
	rows []statsRow
	errs []error
}

// follow reads the stats of container n into row i: one sample with
// --no-stream, else until the stream or ctx ends.
func (t *statsTable) follow(ctx context.Context, api client.APIClient, i int, n string, o statsOptions) {
	res, err := api.ContainerStats(ctx, n, client.ContainerStatsOptions{Stream: !o.noStream, IncludePreviousSample: o.noStream})
	if err != nil {
		t.mu.Lock()
		t.errs = append(t.errs, err)
		t.mu.Unlock()
		return
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	for {
		var st ctypes.StatsResponse
		if err := dec.Decode(&st); err != nil {
			if err != io.EOF && ctx.Err() == nil && o.noStream {
				t.mu.Lock()
				t.errs = append(t.errs, err)
				t.mu.Unlock()
			}
			return
		}
		t.mu.Lock()
		t.rows[i] = rowOf(&st, o.noTrunc)
		t.mu.Unlock()
		if o.noStream {
			return
		}
	}
}

func (t *statsTable) render(cli *command.Cli, format string, clear bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if clear {
		fmt.Fprint(cli.Out(), "\033[2J\033[H")
	}
	return printStats(cli, format, t.rows)
}

// refresh redraws the table every second until ctx ends or every stream
// has (done closed), then once more.
func (t *statsTable) refresh(ctx context.Context, cli *command.Cli, format string, done <-chan struct{}) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-done:
			return t.render(cli, format, true)
		case <-tick.C:
			if err := t.render(cli, format, true); err != nil {
				return err
			}
		}
	}
}

func printStats(cli *command.Cli, format string, rows []statsRow) error {
	if format != "" && format != "table" && !strings.HasPrefix(format, "table ") {
		f := format
		if f == formatter.JSONFormatKey {
			f = formatter.JSONFormat
		}
		tmpl, err := formatter.NewTemplate(f)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.ID == "" {
				continue
			}
			if err := tmpl.Execute(cli.Out(), r); err != nil {
				return err
			}
			fmt.Fprintln(cli.Out())
		}
		return nil
	}
	tw := formatter.NewTabWriter(cli.Out(), 10, 1, 3)
	fmt.Fprintln(tw, "CONTAINER ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tBLOCK I/O\tPIDS")
	for _, r := range rows {
		if r.ID == "" {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs)
	}
	return tw.Flush()
}
