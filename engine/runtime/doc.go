// Package runtime runs containers through a real OCI runtime (crun or runc):
// it chooses one that works on this host, builds OCI specs, and calls the
// runtime's verbs (start, kill, pause, exec, delete). The per-container
// monitor does `create`; everything else goes through here.
//
// Callers may rely on: Get returns only a runtime checked to work on this
// host, and otherwise an error saying why it cannot be used; runtime failures
// carry the runtime's own message.
package runtime
