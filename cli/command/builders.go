package command

import "github.com/spf13/cobra"

// Builders make commands by name, so that a program can build only the
// command its command line names: building berth's whole tree (hundreds of
// flags) was a tenth of the CPU time of a short command like `berth ps`.
type Builders map[string]func(*Cli) *cobra.Command

// All builds every command.
func (b Builders) All(cli *Cli) []*cobra.Command {
	out := make([]*cobra.Command, 0, len(b))
	for _, build := range b {
		out = append(out, build(cli))
	}
	return out
}

// One builds the command called name, or returns nil.
func (b Builders) One(cli *Cli, name string) *cobra.Command {
	if build := b[name]; build != nil {
		return build(cli)
	}
	return nil
}
