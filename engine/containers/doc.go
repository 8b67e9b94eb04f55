// Package containers is the engine's container service: create, start,
// stop, attach, exec and remove containers, with no HTTP inside. Each
// running container has a monitor process (internal/monitor) that outlives
// berthd; this service records what happens in the metadata store and
// re-adopts running containers when berthd starts again.
//
// The runtime is reached through its verbs (engine/runtime/oci): start
// prepares the root filesystem, mounts and networks, writes the bundle and
// has the monitor create and start the container (attach sessions waiting
// for the start are handed to it at launch); the monitor reports the exit
// before it deletes the container, so the next start and onExit's cleanup
// wait for its lock (cleanRuntime, monitor.Hold); `docker exec` ends in ExecStart
// (exec_start.go), which has the runtime's Exec verb start the process
// under berth-monitor's exec-shim and wires its pty or pipes (execIO,
// exec_io.go). `docker commit` ends in CommitContainer (commit.go),
// which pauses the container if asked, merges the request's config and
// has the committer (engine/commit, Config.Commit) make the image. What
// the service needs of networks, volumes, runtimes, events and the
// committer is declared in deps.go as small interfaces, satisfied by the
// daemon's services (checked at compile time in daemon/backends.go).
//
// Callers may rely on: every state change of a container is one store
// transaction, so after a crash berthd finds the old state or the new one; a
// container's log is written by its monitor (internal/monitor with
// internal/jsonlog, internal/locallog or internal/logdriver), so output
// produced while berthd is down is kept; errors are typed (errdefs) with
// Docker's messages.
package containers
