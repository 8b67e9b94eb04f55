// Package network is the engine's network service: bridge networks with NAT
// and published ports (netfilter via the iptables subpackage, no proxy
// process), "host" and "none", one network namespace per container, and an
// embedded DNS server for user-defined networks.
//
// State: network records and one sandbox record per connected container
// live in bbolt. A sandbox record holds every endpoint of the container
// with its address, so the IPAM state is the set of those records: a pool
// is rebuilt from them at start, and an allocation becomes durable in the
// same transaction that records the endpoint. Kernel objects (bridges,
// veths, netns bind mounts under ExecRoot/netns, rules) are re-derived from
// the records by New and Reconcile, which also remove what no record owns.
//
// Callers may rely on: New and Reconcile make the kernel match the records,
// so after a crash no bridge, veth, namespace or rule is leaked or missing;
// addresses never collide across a restart; rules live only in Berth's own
// chains.
package network
