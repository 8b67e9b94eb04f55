// Package daemontest is what the suites that run a private berthd share
// (tests/e2e, tests/security/apifuzz): starting berthd on private roots and
// waiting for it, talking to its socket, picking a subnet the host does not
// route, reading its log, and removing its bridge and netfilter chains
// afterwards. Each suite keeps its own Daemon type and policies (what is a
// leak, which image to import); the mechanics live here once.
package daemontest
