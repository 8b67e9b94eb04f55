// Package mounts turns `run`'s -v, --mount, --tmpfs, --volumes-from and the
// image's VOLUMEs into mount points (Parse, at create), then into OCI mounts
// at start (Prepare: volumes created, host folders made, copy-up done), and
// renders them for inspect (ToAPI). Parse is pure apart from checking that a
// --mount bind source exists, as Docker does.
//
// Callers may rely on: Parse refuses what Docker refuses, with Docker's
// messages, before anything is created; Prepare is the only step with side
// effects and undoes them when it fails.
package mounts
