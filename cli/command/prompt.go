package command

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// PromptForConfirmation prints message plus " [y/N] " and reads a line;
// only "y"/"Y" confirms, as in docker.
func PromptForConfirmation(in io.Reader, out io.Writer, message string) bool {
	fmt.Fprint(out, message+" [y/N] ")
	line, _ := bufio.NewReader(in).ReadString('\n')
	line = strings.TrimSpace(line)
	return line == "y" || line == "Y"
}
