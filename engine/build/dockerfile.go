package build

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/berth-dev/berth/internal/errdefs"
)

// dockerfile is a parsed Dockerfile.
type dockerfile struct {
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand // ARGs before the first FROM
	escape   rune
}

// proxyArgs are the predefined build args: usable without an ARG line, and
// left out of the history and cache key, as Docker does.
var proxyArgs = map[string]bool{
	"HTTP_PROXY": true, "http_proxy": true,
	"HTTPS_PROXY": true, "https_proxy": true,
	"FTP_PROXY": true, "ftp_proxy": true,
	"NO_PROXY": true, "no_proxy": true,
	"ALL_PROXY": true, "all_proxy": true,
}

// parseDockerfile parses with the buildkit parser (directives, escapes,
// line continuations, heredocs) and splits into stages. The syntax
// directive is noted on out and ignored: there are no frontend images.
func parseDockerfile(data []byte, out io.Writer) (*dockerfile, error) {
	if syntax, _, _, ok := parser.DetectSyntax(data); ok {
		fmt.Fprintf(out, "Note: the syntax directive (%s) is ignored: berth uses its built-in Dockerfile frontend\n", syntax)
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, parseError(err)
	}
	if len(res.AST.Children) == 0 {
		return nil, errdefs.Invalid("the Dockerfile cannot be empty")
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, parseError(err)
	}
	if len(stages) == 0 {
		return nil, errdefs.Invalid("Dockerfile parse error: no build stage in current context: a Dockerfile must begin with a FROM instruction")
	}
	return &dockerfile{stages: stages, metaArgs: metaArgs, escape: res.EscapeToken}, nil
}

// parseError words parser errors as Docker does ("Dockerfile parse error
// line 3: unknown instruction: FOO").
func parseError(err error) error {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		return errdefs.Invalid("Dockerfile parse error line %d: %s", le.Locations[0][0].Start.Line, le.Unwrap().Error())
	}
	return errdefs.Invalid("Dockerfile parse error: %s", err.Error())
}

// stageIndex finds the stage named name (case-insensitive) or with index
// name, before limit.
func (d *dockerfile) stageIndex(name string, limit int) (int, bool) {
	for i := 0; i < limit && i < len(d.stages); i++ {
		if d.stages[i].Name != "" && strings.EqualFold(d.stages[i].Name, name) {
			return i, true
		}
	}
	var n int
	if _, err := fmt.Sscanf(name, "%d", &n); err == nil && fmt.Sprint(n) == name && n >= 0 && n < limit {
		return n, true
	}
	return -1, false
}

// expander substitutes variables with Docker's rules and modifiers
// (${a:-b}, ${a:+b}, ${a?err}, ${a#pat} ...), honouring the escape token.
type expander struct {
	lex *shell.Lex
	env shell.EnvGetter
}

func newExpander(escape rune, env []string) *expander {
	return &expander{lex: shell.NewLex(escape), env: shell.EnvsFromSlice(env)}
}

func (e *expander) word(w string) (string, error) {
	out, _, err := e.lex.ProcessWord(w, e.env)
	if err != nil {
		return "", errdefs.Invalid("failed to process %q: %s", w, err.Error())
	}
	return out, nil
}

func (e *expander) words(w string) ([]string, error) {
	out, err := e.lex.ProcessWords(w, e.env)
	if err != nil {
		return nil, errdefs.Invalid("failed to process %q: %s", w, err.Error())
	}
	return out, nil
}
