// Package runtime knows the OCI runtimes of this host: it chooses one that
// works here (crun, else runc; runsc for sandbox isolation), builds OCI
// specs from a container's config, keeps compiled seccomp filters, and
// refuses what a sandbox cannot run. Each configured Runtime carries the
// verbs of its kind (package oci: runc's command line for crun and runc,
// runsc's for gVisor), so a new kind of runtime is a new oci.Runtime
// implementation chosen in newRuntime. The per-container monitor runs
// Create itself; berthd runs the other verbs.
//
// Callers may rely on: Get returns only a runtime checked to work on this
// host, and otherwise an error saying why it cannot be used; runtime failures
// carry the runtime's own message.
package runtime
