package command

import (
	"errors"
	"fmt"
)

// ErrPruneCancelled is returned by a prune when the user answers no to its
// prompt.
var ErrPruneCancelled = errors.New("prune cancelled")

// ConfirmPrune asks the user to confirm a prune (unless force), returning
// ErrPruneCancelled on a no.
func ConfirmPrune(cli *Cli, force bool, warning string) error {
	if !force && !PromptForConfirmation(cli.In(), cli.Out(), warning) {
		return ErrPruneCancelled
	}
	return nil
}

// ReportPrune prints a prune's outcome as docker does: the listing of what
// went, then "Total reclaimed space: <size>". A cancelled prompt is no error.
func ReportPrune(cli *Cli, listing, size string, err error) error {
	if errors.Is(err, ErrPruneCancelled) {
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprint(cli.Out(), listing)
	fmt.Fprintln(cli.Out(), "Total reclaimed space:", size)
	return nil
}
