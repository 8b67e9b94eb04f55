// Package store is the engine's metadata database: one bbolt file under the
// data-root. Every state change is one transaction, so a daemon killed at any
// instant leaves either the old record or the new one, never half of each.
// Each engine service owns its buckets; values are JSON.
//
// Callers may rely on: an Update either commits entirely or not at all, and
// is on disk when it returns; each bucket belongs to one service, which alone
// reads and writes it.
package store
