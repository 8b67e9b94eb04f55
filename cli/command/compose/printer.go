package compose

import (
	"fmt"
	"io"
	"strings"
	"sync"
)

// composeColors are docker compose's rainbow, in its order: cyan, yellow,
// green, magenta, blue, then their intense variants.
var composeColors = []string{"36", "33", "32", "35", "34", "36;1", "33;1", "32;1", "35;1", "34;1"}

// logPrinter writes container output as docker compose does: each line
// prefixed with the container's name (project prefix dropped), padded to
// the longest name plus one, then " | "; coloured per container on a
// terminal. Lines from different containers never interleave mid-line.
type logPrinter struct {
	out      io.Writer
	mu       sync.Mutex
	width    int
	color    bool
	noPrefix bool
	colorOf  map[string]string
}

// newLogPrinter registers names in order (which fixes their colours).
func newLogPrinter(out io.Writer, names []string, color, noPrefix bool) *logPrinter {
	p := &logPrinter{out: out, color: color, noPrefix: noPrefix, colorOf: map[string]string{}}
	for _, n := range names {
		p.register(n)
	}
	return p
}

func (p *logPrinter) register(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.colorOf[name]; ok {
		return
	}
	p.colorOf[name] = composeColors[len(p.colorOf)%len(composeColors)]
	if len(name)+1 > p.width {
		p.width = len(name) + 1
	}
}

func (p *logPrinter) paint(name, s string) string {
	if !p.color {
		return s
	}
	return "\033[" + p.colorOf[name] + "m" + s + "\033[0m"
}

func (p *logPrinter) prefix(name string) string {
	if p.noPrefix {
		return ""
	}
	return p.paint(name, fmt.Sprintf("%-*s | ", p.width, name))
}

// status prints a line about a container, such as "web-1 exited with code 0".
func (p *logPrinter) status(name, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	reset := ""
	if p.color {
		reset = "\r\033[K"
	}
	fmt.Fprint(p.out, p.paint(name, reset+name+" "+msg)+"\n")
}

// writer returns an io.Writer prefixing each line of name's output.
func (p *logPrinter) writer(name string) *lineWriter {
	p.register(name)
	return &lineWriter{p: p, name: name}
}

// lineWriter buffers a container's output up to each newline.
type lineWriter struct {
	p    *logPrinter
	name string
	buf  []byte
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.buf = append(l.buf, b...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			break
		}
		l.emit(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
	return len(b), nil
}

func (l *lineWriter) emit(line []byte) {
	pfx := l.p.prefix(l.name)
	l.p.mu.Lock()
	fmt.Fprintf(l.p.out, "%s%s\n", pfx, strings.TrimSuffix(string(line), "\r"))
	l.p.mu.Unlock()
}

// flush writes a last line that had no newline.
func (l *lineWriter) flush() {
	if len(l.buf) > 0 {
		l.emit(l.buf)
		l.buf = nil
	}
}
