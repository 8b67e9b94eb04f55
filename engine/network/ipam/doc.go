// Package ipam hands out IPv4 addresses from a network's subnet. It is pure
// bookkeeping with no I/O: the network service makes allocations durable by
// recording each endpoint (with its address) in bbolt in the same
// transaction that creates it, and rebuilds pools from those records at
// start with Reserve. A pool never hands out the network address, the
// broadcast address or the gateway.
//
// Callers may rely on: Allocate never returns an address in use, nor the
// network, broadcast or gateway address; Reserve refuses an address already
// taken; nothing here touches the kernel or the disk.
package ipam
