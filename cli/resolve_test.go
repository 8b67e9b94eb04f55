package cli

import "github.com/berth-dev/berth/cli/command"

func resolve(h []string) string { return command.ResolveHost(h) }
