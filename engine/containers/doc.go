// Package containers is the engine's container service: create, start,
// stop, attach, exec and remove containers, with no HTTP inside. Each
// running container has a monitor process (internal/monitor) that outlives
// berthd; this service records what happens in the metadata store and
// re-adopts running containers when berthd starts again.
//
// Callers may rely on: every state change of a container is one store
// transaction, so after a crash berthd finds the old state or the new one; a
// container's log is written by its monitor (internal/monitor with
// internal/jsonlog, internal/locallog or internal/logdriver), so output
// produced while berthd is down is kept; errors are typed (errdefs) with
// Docker's messages.
package containers
