package api

import (
	"net/http"

	cerrdefs "github.com/containerd/errdefs"
)

// statusOf maps an engine error to the HTTP status Docker returns for it:
// the one place where containerd/errdefs' classes become statuses.
// Unclassified errors are the engine's own failures: 500.
func statusOf(err error) int {
	switch {
	case isTooLarge(err):
		return http.StatusRequestEntityTooLarge
	case cerrdefs.IsNotFound(err):
		return http.StatusNotFound
	case cerrdefs.IsConflict(err):
		return http.StatusConflict
	case cerrdefs.IsInvalidArgument(err):
		return http.StatusBadRequest
	case cerrdefs.IsNotModified(err):
		return http.StatusNotModified
	case cerrdefs.IsUnavailable(err):
		return http.StatusServiceUnavailable
	case cerrdefs.IsPermissionDenied(err):
		return http.StatusForbidden
	case cerrdefs.IsNotImplemented(err):
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}
