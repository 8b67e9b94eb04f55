package api

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/berth-dev/berth/internal/errdefs"
	cerrdefs "github.com/containerd/errdefs"
)

// Each class of engine error gets Docker's status, wrapped or not, and the
// errors of libraries written in containerd's style too.
func TestStatusOfClasses(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{errdefs.NotFound("x"), http.StatusNotFound},
		{errdefs.Conflict("x"), http.StatusConflict},
		{errdefs.Invalid("x"), http.StatusBadRequest},
		{errdefs.NotModified("x"), http.StatusNotModified},
		{errdefs.Unavailable("x"), http.StatusServiceUnavailable},
		{errdefs.Forbidden("x"), http.StatusForbidden},
		{errdefs.NotImplemented("x"), http.StatusNotImplemented},
		{errdefs.Internal(errors.New("x")), http.StatusInternalServerError},
		{errors.New("x"), http.StatusInternalServerError},
		{cerrdefs.ErrNotFound.WithMessage("x"), http.StatusNotFound},
		{fmt.Errorf("x: %w", cerrdefs.ErrConflict), http.StatusConflict},
	}
	for _, c := range cases {
		if got := statusOf(fmt.Errorf("wrapped: %w", c.err)); got != c.want {
			t.Errorf("%T %v: status %d, want %d", c.err, c.err, got, c.want)
		}
	}
}
