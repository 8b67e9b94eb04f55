package socklb

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
)

// Offsets in struct bpf_sock_addr (include/uapi/linux/bpf.h).
const (
	offUserIP4   = 4
	offUserPort  = 24
	offProtocol  = 36
	offSk        = 64
	skStorageGet = 1 // BPF_SK_STORAGE_GET_F_CREATE
)

// The per-socket record of a redirected connect (peerSpec's value): what
// the client asked for and where it went, as the u32 fields of struct
// bpf_sock_addr hold them.
const (
	peerOrigIP   = 0
	peerOrigPort = 4
	peerDstIP    = 8
	peerDstPort  = 12
	peerSize     = 16
)

// The programs are written with the asm package rather than compiled C,
// so that building Berth needs no clang. They assume a little-endian CPU
// where noted: user_port's network-order bytes are the low 16 bits of the
// u32 field there.

func servicesSpec() *ebpf.MapSpec {
	return &ebpf.MapSpec{
		Name: "berth_lb4", Type: ebpf.Hash,
		KeySize: 8, ValueSize: 8, MaxEntries: 65536,
	}
}

// peerSpec keeps per socket the address the client connected to, for
// getpeername. Socket-local storage goes with the socket, so nothing needs
// collecting; the kernel requires BTF for its key and value.
func peerSpec() *ebpf.MapSpec {
	u32 := &btf.Int{Name: "u32", Size: 4}
	var members []btf.Member
	for i, n := range []string{"orig_ip", "orig_port", "dst_ip", "dst_port"} {
		members = append(members, btf.Member{Name: n, Type: u32, Offset: btf.Bits(32 * i)})
	}
	return &ebpf.MapSpec{
		Name: "berth_lb4_peer", Type: ebpf.SkStorage,
		KeySize: 4, ValueSize: peerSize, Flags: 1, // BPF_F_NO_PREALLOC
		Key:   &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed},
		Value: &btf.Struct{Name: "berth_lb4_peer", Size: peerSize, Members: members},
	}
}

// connect4 rewrites a TCP connect from the host's network namespace (cookie
// hostNS) to a published loopback address. It looks up the exact address
// first, then the port published on every address (IP 0.0.0.0).
func connect4(services, peers *ebpf.Map, hostNS uint64) asm.Instructions {
	return asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.LoadMem(asm.R2, asm.R6, offProtocol, asm.Word),
		asm.JNE.Imm(asm.R2, ipprotoTCP, "allow"),
		asm.LoadMem(asm.R7, asm.R6, offUserIP4, asm.Word),
		asm.Mov.Reg(asm.R2, asm.R7),
		asm.And.Imm(asm.R2, 0xff), // first octet (little-endian load)
		asm.JNE.Imm(asm.R2, 127, "allow"),
		asm.LoadMem(asm.R8, asm.R6, offUserPort, asm.Word),
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.FnGetNetnsCookie.Call(),
		asm.LoadImm(asm.R2, int64(hostNS), asm.DWord),
		asm.JNE.Reg(asm.R0, asm.R2, "allow"),
		// key at fp-8: ip, port, proto, pad
		asm.StoreMem(asm.RFP, -8, asm.R7, asm.Word),
		asm.StoreMem(asm.RFP, -4, asm.R8, asm.Half),
		asm.StoreImm(asm.RFP, -2, ipprotoTCP, asm.Half),
		asm.LoadMapPtr(asm.R1, services.FD()),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -8),
		asm.FnMapLookupElem.Call(),
		asm.JNE.Imm(asm.R0, 0, "found"),
		asm.StoreImm(asm.RFP, -8, 0, asm.Word),
		asm.LoadMapPtr(asm.R1, services.FD()),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -8),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "allow"),
		asm.LoadMem(asm.R9, asm.R0, 0, asm.Word).WithSymbol("found"),
		asm.LoadMem(asm.R0, asm.R0, 4, asm.Half),
		asm.StoreMem(asm.R6, offUserIP4, asm.R9, asm.Word),
		asm.StoreMem(asm.R6, offUserPort, asm.R0, asm.Word),
		asm.Mov.Reg(asm.R8, asm.R0),
		// Remember the original peer for getpeername4.
		asm.LoadMapPtr(asm.R1, peers.FD()),
		asm.LoadMem(asm.R2, asm.R6, offSk, asm.DWord),
		asm.Mov.Imm(asm.R3, 0),
		asm.Mov.Imm(asm.R4, skStorageGet),
		asm.FnSkStorageGet.Call(),
		asm.JEq.Imm(asm.R0, 0, "allow"),
		asm.StoreMem(asm.R0, peerOrigIP, asm.R7, asm.Word),
		asm.LoadMem(asm.R2, asm.RFP, -4, asm.Half),
		asm.StoreMem(asm.R0, peerOrigPort, asm.R2, asm.Word),
		asm.StoreMem(asm.R0, peerDstIP, asm.R9, asm.Word),
		asm.StoreMem(asm.R0, peerDstPort, asm.R8, asm.Word),
		asm.Mov.Imm(asm.R0, 1).WithSymbol("allow"),
		asm.Return(),
	}
}

// getpeername4 shows a redirected socket's peer as the address the client
// connected to, as long as the socket is still connected where connect4
// sent it.
func getpeername4(peers *ebpf.Map) asm.Instructions {
	return asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.LoadMapPtr(asm.R1, peers.FD()),
		asm.LoadMem(asm.R2, asm.R6, offSk, asm.DWord),
		asm.Mov.Imm(asm.R3, 0),
		asm.Mov.Imm(asm.R4, 0),
		asm.FnSkStorageGet.Call(),
		asm.JEq.Imm(asm.R0, 0, "allow"),
		asm.LoadMem(asm.R2, asm.R0, peerDstIP, asm.Word),
		asm.LoadMem(asm.R3, asm.R6, offUserIP4, asm.Word),
		asm.JNE.Reg(asm.R2, asm.R3, "allow"),
		asm.LoadMem(asm.R2, asm.R0, peerDstPort, asm.Word),
		asm.LoadMem(asm.R3, asm.R6, offUserPort, asm.Word),
		asm.JNE.Reg(asm.R2, asm.R3, "allow"),
		asm.LoadMem(asm.R2, asm.R0, peerOrigIP, asm.Word),
		asm.StoreMem(asm.R6, offUserIP4, asm.R2, asm.Word),
		asm.LoadMem(asm.R2, asm.R0, peerOrigPort, asm.Word),
		asm.StoreMem(asm.R6, offUserPort, asm.R2, asm.Word),
		asm.Mov.Imm(asm.R0, 1).WithSymbol("allow"),
		asm.Return(),
	}
}
