// Package errdefs builds the engine's errors in containerd/errdefs'
// vocabulary, the one the CLI and the libraries Berth uses already speak.
// Each constructor (NotFound, Invalid, ...) formats a message and classifies
// it; the result answers both containerd's errdefs.IsX functions (and
// errors.Is(err, errdefs.ErrX)) and the marker-method checks of Docker's
// clients (interface{ NotFound() } and friends). The API maps a class to
// Docker's HTTP status in one place (api/errors.go).
package errdefs

import (
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
)

// classified carries an error and the containerd class it belongs to. The
// per-class types below add the marker method of that class.
type classified struct {
	class error // one of containerd's errdefs.ErrX sentinels
	err   error
}

func (e classified) Error() string { return e.err.Error() }

// Unwrap exposes the described error, so errors.As still finds what it wraps.
func (e classified) Unwrap() error { return e.err }

// Is answers errors.Is(err, errdefs.ErrX) for the error's own class.
func (e classified) Is(target error) bool { return target == e.class }

type notFound struct{ classified }

func (notFound) NotFound() {}

type invalid struct{ classified }

func (invalid) InvalidParameter() {}

type conflict struct{ classified }

func (conflict) Conflict() {}

type notModified struct{ classified }

func (notModified) NotModified() {}

type unavailable struct{ classified }

func (unavailable) Unavailable() {}

type forbidden struct{ classified }

func (forbidden) Forbidden() {}

type notImplemented struct{ classified }

func (notImplemented) NotImplemented() {}

type internal struct{ classified }

func (internal) System() {}

// Classify puts err in class, one of containerd's errdefs.ErrNotFound,
// ErrInvalidArgument, ErrConflict, ErrNotModified, ErrUnavailable,
// ErrPermissionDenied, ErrNotImplemented or ErrInternal, keeping its message.
// A nil err stays nil; another class panics (a programming error).
func Classify(class, err error) error {
	if err == nil {
		return nil
	}
	c := classified{class: class, err: err}
	switch class {
	case cerrdefs.ErrNotFound:
		return notFound{c}
	case cerrdefs.ErrInvalidArgument:
		return invalid{c}
	case cerrdefs.ErrConflict:
		return conflict{c}
	case cerrdefs.ErrNotModified:
		return notModified{c}
	case cerrdefs.ErrUnavailable:
		return unavailable{c}
	case cerrdefs.ErrPermissionDenied:
		return forbidden{c}
	case cerrdefs.ErrNotImplemented:
		return notImplemented{c}
	case cerrdefs.ErrInternal:
		return internal{c}
	}
	panic(fmt.Sprintf("errdefs: no such class %v", class))
}

// NotFound: HTTP 404.
func NotFound(format string, args ...any) error {
	return Classify(cerrdefs.ErrNotFound, fmt.Errorf(format, args...))
}

// Conflict: HTTP 409.
func Conflict(format string, args ...any) error {
	return Classify(cerrdefs.ErrConflict, fmt.Errorf(format, args...))
}

// Invalid: HTTP 400.
func Invalid(format string, args ...any) error {
	return Classify(cerrdefs.ErrInvalidArgument, fmt.Errorf(format, args...))
}

// NotModified: HTTP 304 (start of a running container, stop of a stopped one).
func NotModified(format string, args ...any) error {
	return Classify(cerrdefs.ErrNotModified, fmt.Errorf(format, args...))
}

// Unavailable: HTTP 503.
func Unavailable(format string, args ...any) error {
	return Classify(cerrdefs.ErrUnavailable, fmt.Errorf(format, args...))
}

// Forbidden: HTTP 403 (containerd's ErrPermissionDenied).
func Forbidden(format string, args ...any) error {
	return Classify(cerrdefs.ErrPermissionDenied, fmt.Errorf(format, args...))
}

// NotImplemented: HTTP 501.
func NotImplemented(format string, args ...any) error {
	return Classify(cerrdefs.ErrNotImplemented, fmt.Errorf(format, args...))
}

// Internal classifies err as the engine's own failure (HTTP 500), whatever
// class an error it wraps has.
func Internal(err error) error { return Classify(cerrdefs.ErrInternal, err) }

// The tests of the classes, containerd's own (kept here so the engine's
// many call sites read as before).
var (
	IsNotFound    = cerrdefs.IsNotFound
	IsConflict    = cerrdefs.IsConflict
	IsInvalid     = cerrdefs.IsInvalidArgument
	IsNotModified = cerrdefs.IsNotModified
)

// Classified reports whether err (or an error it wraps) has one of the
// classes the API maps to a status other than 500.
func Classified(err error) bool {
	for _, is := range []func(error) bool{cerrdefs.IsNotFound, cerrdefs.IsInvalidArgument,
		cerrdefs.IsConflict, cerrdefs.IsNotModified, cerrdefs.IsUnavailable,
		cerrdefs.IsPermissionDenied, cerrdefs.IsNotImplemented} {
		if is(err) {
			return true
		}
	}
	return false
}
