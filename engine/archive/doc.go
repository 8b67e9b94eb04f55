// Package archive implements `docker cp`: stat, tar out of and tar into a
// container's filesystem (its root with its volumes and bind mounts on top),
// following Docker's rules for paths ("dir" vs "dir/" vs "dir/."), symlinks
// and errors. All path handling goes through securefs: nothing outside the
// container's root or its mount sources is ever read or written, whatever
// the container does to its files meanwhile.
//
// Callers may rely on: every path a client sends is resolved inside the
// container's view (securefs), so a hostile container or client gets Docker's
// not-found or permission error, never a file outside it; errors are typed
// (errdefs) so the API maps them to Docker's HTTP status.
package archive
