// Command berth is the Docker-compatible client for berthd.
//
// Every berth command pays the runtime's start-up, so the binary's GODEBUG
// defaults leave out what a short-lived client never needs: the goroutine
// that re-reads the CPU limit every second to adjust GOMAXPROCS (started
// before main, woken by sysmon), and naming each anonymous mapping (a
// prctl per mapping). The environment's GODEBUG still overrides these.
// It runs on one P unless GOMAXPROCS is set (see internal/oneproc), its
// runtime monitor thread with timer slack (see internal/slackmon).
//
//go:debug updatemaxprocs=0
//go:debug decoratemappings=0
package main

import (
	"context"
	"os"

	"github.com/berth-dev/berth/cli"
	_ "github.com/berth-dev/berth/cmd/berth/internal/oneproc"
	_ "github.com/berth-dev/berth/cmd/berth/internal/slackmon"
)

func main() {
	os.Exit(cli.RunToExit(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
