// Package reference parses image references the way Docker does
// ("busybox" == "busybox:latest" == "docker.io/library/busybox:latest") and
// returns Docker's error messages, typed as errdefs.Invalid.
//
// Callers may rely on: a parsed reference is normalised (default registry,
// library/ prefix, latest tag) and String gives Docker's familiar form;
// errors read like Docker's.
package reference
