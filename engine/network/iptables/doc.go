// Package iptables renders and applies Berth's netfilter rules.
//
// Why iptables (the nf_tables backend here) and not nftables directly:
// Docker, firewalld-less hosts, kube-proxy and most admins' scripts still
// speak iptables, and rules made through iptables-nft live in the same
// "ip filter"/"ip nat" tables as theirs, so `iptables -L` shows ours beside
// Docker's and the FORWARD-chain ordering between us and Docker is a
// plain, visible insert. A private nft table would be evaluated in parallel
// with Docker's (an accept in one table does not stop a drop in another), so
// coexistence with Docker's FORWARD policy DROP would need more machinery.
// The cost of exec'ing iptables-restore (≈5 ms) is paid only when rules
// change (network create/remove, a container that publishes ports), never
// on a plain `run`.
//
// Every rule lives in chains Berth owns; the built-in chains get exactly one
// jump each (EnsureJumps). A change rewrites whole owned chains with one
// `iptables-restore --noflush` transaction (declaring a chain flushes it), so
// applying the same desired state any number of times can never duplicate a
// rule, and other software's rules are never touched.
//
// Callers may rely on: Render is a pure function of the desired state (tested
// without a kernel); Apply is idempotent and touches only Berth's chains and
// the one jump per built-in chain.
package iptables
