package errdefs

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
)

// Every constructor's error answers containerd's IsX, errors.Is with the
// sentinel and the marker method Docker's clients look for, and keeps its
// message and what it wraps.
func TestClassesAnswerEveryStyle(t *testing.T) {
	cases := []struct {
		err    error
		class  error
		is     func(error) bool
		marker func(error) bool
	}{
		{NotFound("no such %s", "x"), cerrdefs.ErrNotFound, cerrdefs.IsNotFound, has[interface{ NotFound() }]},
		{Invalid("no such %s", "x"), cerrdefs.ErrInvalidArgument, cerrdefs.IsInvalidArgument, has[interface{ InvalidParameter() }]},
		{Conflict("no such %s", "x"), cerrdefs.ErrConflict, cerrdefs.IsConflict, has[interface{ Conflict() }]},
		{NotModified("no such %s", "x"), cerrdefs.ErrNotModified, cerrdefs.IsNotModified, has[interface{ NotModified() }]},
		{Unavailable("no such %s", "x"), cerrdefs.ErrUnavailable, cerrdefs.IsUnavailable, has[interface{ Unavailable() }]},
		{Forbidden("no such %s", "x"), cerrdefs.ErrPermissionDenied, cerrdefs.IsPermissionDenied, has[interface{ Forbidden() }]},
		{NotImplemented("no such %s", "x"), cerrdefs.ErrNotImplemented, cerrdefs.IsNotImplemented, has[interface{ NotImplemented() }]},
		{Internal(errors.New("no such x")), cerrdefs.ErrInternal, cerrdefs.IsInternal, has[interface{ System() }]},
	}
	for _, c := range cases {
		wrapped := fmt.Errorf("ctx: %w", c.err)
		if c.err.Error() != "no such x" || !c.is(wrapped) || !errors.Is(wrapped, c.class) || !c.marker(wrapped) {
			t.Errorf("%v: message %q, IsX %v, errors.Is %v, marker %v", c.class, c.err.Error(), c.is(wrapped), errors.Is(wrapped, c.class), c.marker(wrapped))
		}
		if !Classified(wrapped) != (c.class == cerrdefs.ErrInternal) {
			t.Errorf("%v: Classified = %v", c.class, Classified(wrapped))
		}
		if cerrdefs.IsNotFound(c.err) != (c.class == cerrdefs.ErrNotFound) {
			t.Errorf("%v also answers IsNotFound", c.class)
		}
	}
	inner := &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}
	err := Classify(cerrdefs.ErrInvalidArgument, inner)
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe != inner || err.Error() != inner.Error() {
		t.Errorf("Classify lost what it wraps: %v", err)
	}
	if Classify(cerrdefs.ErrNotFound, nil) != nil || Classified(errors.New("plain")) {
		t.Error("nil or plain errors got a class")
	}
}

func has[M any](err error) bool {
	for err != nil {
		if _, ok := err.(M); ok {
			return true
		}
		err = errors.Unwrap(err)
	}
	return false
}
