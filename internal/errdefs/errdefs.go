// Package errdefs holds the typed errors of the engine. Engine services return
// them so that the API layer maps each kind straight to Docker's HTTP status
// (404, 409, 400, 500, 304) without looking at strings.
package errdefs

import (
	"errors"
	"fmt"
)

// Kind is the class of an error, as clients of the API see it.
type Kind int

const (
	KindUnknown Kind = iota
	KindNotFound
	KindConflict
	KindInvalid
	KindNotModified
	KindUnavailable
	KindForbidden
	KindNotImplemented
)

type kindError struct {
	kind Kind
	err  error
}

func (e *kindError) Error() string { return e.err.Error() }
func (e *kindError) Unwrap() error { return e.err }

func wrap(k Kind, format string, args ...any) error {
	return &kindError{kind: k, err: fmt.Errorf(format, args...)}
}

// NotFound: HTTP 404.
func NotFound(format string, args ...any) error { return wrap(KindNotFound, format, args...) }

// Conflict: HTTP 409.
func Conflict(format string, args ...any) error { return wrap(KindConflict, format, args...) }

// Invalid: HTTP 400.
func Invalid(format string, args ...any) error { return wrap(KindInvalid, format, args...) }

// NotModified: HTTP 304 (start of a running container, stop of a stopped one).
func NotModified(format string, args ...any) error { return wrap(KindNotModified, format, args...) }

// Unavailable: HTTP 503.
func Unavailable(format string, args ...any) error { return wrap(KindUnavailable, format, args...) }

// Forbidden: HTTP 403.
func Forbidden(format string, args ...any) error { return wrap(KindForbidden, format, args...) }

// NotImplemented: HTTP 501.
func NotImplemented(format string, args ...any) error {
	return wrap(KindNotImplemented, format, args...)
}

// As wraps err with a kind, keeping its message.
func As(k Kind, err error) error {
	if err == nil {
		return nil
	}
	return &kindError{kind: k, err: err}
}

// KindOf returns the kind of the first typed error in err's chain.
func KindOf(err error) Kind {
	var ke *kindError
	if errors.As(err, &ke) {
		return ke.kind
	}
	return KindUnknown
}

func IsNotFound(err error) bool    { return KindOf(err) == KindNotFound }
func IsConflict(err error) bool    { return KindOf(err) == KindConflict }
func IsInvalid(err error) bool     { return KindOf(err) == KindInvalid }
func IsNotModified(err error) bool { return KindOf(err) == KindNotModified }
