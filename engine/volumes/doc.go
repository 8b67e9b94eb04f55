// Package volumes is the engine's local volume driver: each volume is a
// folder <data-root>/volumes/<name>/_data that outlives the containers using
// it, with its record (labels, driver options, creation time) in the
// metadata DB. Volumes created with -o type/device/o are mounted on first use
// and unmounted when the last user releases them.
//
// Which containers use a volume is asked of the container service through
// Usage, given at construction (Options.Users); the daemon binds it to the
// containers once they exist, so nothing is set after construction.
//
// Callers may rely on: a volume in use by any container (running or not)
// cannot be removed; a volume's data folder is never removed while its record
// exists; names follow Docker's rules and messages.
package volumes
