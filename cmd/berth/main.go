// Command berth is the Docker-compatible client for berthd.
package main

import (
	"context"
	"os"

	"github.com/berth-dev/berth/cli"
)

func main() {
	os.Exit(cli.Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
