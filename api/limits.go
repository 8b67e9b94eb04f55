package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/moby/moby/api/types/container"

	"github.com/berth-dev/berth/internal/errdefs"
)

// What one request may carry. Decoding JSON costs far more memory than the
// body's bytes (a 13 MiB Cmd of one-character strings took 250 MB), so JSON
// bodies are capped per endpoint and the decoded lists are checked against
// the limits the kernel would enforce at exec anyway. Archives and build
// contexts are streams with their own caps, not JSON bodies.
const (
	// maxJSONBody caps the small JSON bodies: exec, networks, volumes,
	// update, auth, connect.
	maxJSONBody = 1 << 20
	// maxCreateBody caps container create and commit, which carry a whole
	// container configuration.
	maxCreateBody = 4 << 20
	// maxArgStrlen is the kernel's MAX_ARG_STRLEN: no single argument or
	// environment string can be longer at exec.
	maxArgStrlen = 128 << 10
	// maxArgBytes is ARG_MAX under the default 8 MiB stack: argv and envp
	// together (strings, terminators and pointers) cannot exceed it at exec.
	maxArgBytes = 2 << 20
	// maxLabelBytes bounds the labels (keys and values) or driver options of
	// one object: they are stored and sent back in every list.
	maxLabelBytes = 256 << 10
)

// tooLargeError is a request refused for its size: HTTP 413.
type tooLargeError struct{ msg string }

func (e tooLargeError) Error() string { return e.msg }

func errBodyTooLarge(r *http.Request, limit int64) error {
	return tooLargeError{fmt.Sprintf("request body too large: %s %s accepts at most %s of JSON", r.Method, r.URL.Path, sizeText(limit))}
}

func isTooLarge(err error) bool {
	var tl tooLargeError
	var mb *http.MaxBytesError
	return errors.As(err, &tl) || errors.As(err, &mb)
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// argList is one named list of exec strings (Cmd, Entrypoint, Env ...).
type argList struct {
	name string
	vals []string
}

// checkArgs refuses lists that could never be exec'd: one string over
// MAX_ARG_STRLEN, or all of them together over ARG_MAX, counting each
// string's terminator and pointer as the kernel does.
func checkArgs(lists ...argList) error {
	total := 0
	var names []string
	for _, l := range lists {
		if len(l.vals) == 0 {
			continue
		}
		names = append(names, l.name)
		for i, v := range l.vals {
			if len(v) > maxArgStrlen {
				return errdefs.Invalid("argument too long: %s[%d] has %d bytes, the limit is %d (the kernel's MAX_ARG_STRLEN)", l.name, i, len(v), maxArgStrlen)
			}
			total += len(v) + 1 + 8
			if total > maxArgBytes {
				return errdefs.Invalid("argument list too long: %v take more than %d bytes with %d strings so far, the limit is %d (the kernel's ARG_MAX)", names, maxArgBytes, i+1, maxArgBytes)
			}
		}
	}
	return nil
}

// checkMapSize refuses a label or option map over maxLabelBytes.
func checkMapSize(what string, m map[string]string) error {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
		if n > maxLabelBytes {
			return errdefs.Invalid("%s too large: more than %d bytes of keys and values, the limit is %d", what, maxLabelBytes, maxLabelBytes)
		}
	}
	return nil
}

// checkConfigLimits applies the argument and label limits to a container
// configuration (create and commit).
func checkConfigLimits(c *container.Config) error {
	if err := checkArgs(argList{"Entrypoint", c.Entrypoint}, argList{"Cmd", c.Cmd}, argList{"Env", c.Env}); err != nil {
		return err
	}
	if c.Healthcheck != nil {
		if err := checkArgs(argList{"Healthcheck.Test", c.Healthcheck.Test}); err != nil {
			return err
		}
	}
	if err := checkArgs(argList{"Shell", c.Shell}); err != nil {
		return err
	}
	return checkMapSize("labels", c.Labels)
}
