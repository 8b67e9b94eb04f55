// Package oci runs the verbs of an OCI runtime's command line (create,
// start, exec, kill, delete, state, pause, resume, update, ps), each with an
// options struct, as containerd's go-runc does. Runtime is the interface a
// caller holds; CLI implements it for crun and runc, and Runsc for gVisor's
// runsc, whose exec takes its terminal from process.json and which has
// verbs of its own (a process table and statistics from the sandbox's
// kernel). A further kind of runtime is a further implementation.
//
// The package is a leaf (standard library and x/sys only): berthd and the
// small per-container monitor both link it, the monitor for create and
// delete.
//
// Callers may rely on: a failed verb's error carries the runtime's own
// message on stderr (Create and Exec, whose stdio is the caller's, return
// the command's error); Delete of a container whose state directory is
// absent runs nothing and succeeds.
package oci
