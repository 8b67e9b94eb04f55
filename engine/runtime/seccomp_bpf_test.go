package runtime

import (
	"encoding/binary"
	"fmt"
	"testing"

	"golang.org/x/net/bpf"
)

// A classic-BPF view of seccomp filters for the tests: the filter file is
// an array of host-endian struct sock_filter, evaluated by x/net/bpf's VM
// against a struct seccomp_data.

const (
	auditArchX8664   = 0xc000003e
	auditArchI386    = 0x40000003
	auditArchAArch64 = 0xc00000b7 // an arch the profiles do not name
	x32SyscallBit    = 0x40000000

	seccompArgsOff = 16
)

// parseFilter turns a compiled filter (what crun leaves as seccomp.bpf)
// into x/net/bpf instructions; it fails on an instruction the VM cannot
// run.
func parseFilter(b []byte) ([]bpf.Instruction, error) {
	raw, err := decodeFilter(b)
	if err != nil {
		return nil, err
	}
	prog := make([]bpf.Instruction, 0, len(raw))
	for i, in := range raw {
		r := bpf.RawInstruction{Op: in.code, Jt: in.jt, Jf: in.jf, K: in.k}
		ins := r.Disassemble()
		if _, ok := ins.(bpf.RawInstruction); ok {
			return nil, fmt.Errorf("instruction %d (%#v): not a classic BPF instruction the VM runs", i, r)
		}
		prog = append(prog, ins)
	}
	return prog, nil
}

// seccompData is the struct seccomp_data the kernel hands a filter, laid
// out for x/net/bpf: the kernel's absolute loads read host-endian 32-bit
// words, the VM's read big-endian ones, so each word is written
// big-endian with the value the kernel would read at its offset.
func seccompData(arch, nr uint32, args [6]uint64) []byte {
	host := make([]byte, seccompDataSize)
	binary.NativeEndian.PutUint32(host[0:], nr)
	binary.NativeEndian.PutUint32(host[4:], arch)
	for i, a := range args {
		binary.NativeEndian.PutUint64(host[seccompArgsOff+8*i:], a)
	}
	vm := make([]byte, seccompDataSize)
	for off := 0; off < seccompDataSize; off += 4 {
		binary.BigEndian.PutUint32(vm[off:], binary.NativeEndian.Uint32(host[off:]))
	}
	return vm
}

// runFilter returns the seccomp action and data the filter vm returns for
// in.
func runFilter(vm *bpf.VM, in []byte) (uint32, error) {
	r, err := vm.Run(in)
	return uint32(r), err
}

// TestSeccompDataLayout checks the conversion against what the kernel
// reads: the syscall number at 0, the arch at 4, and each argument's low
// and high 32-bit halves where the host's endianness puts them (a filter
// compares both halves of a 64-bit argument word by word).
func TestSeccompDataLayout(t *testing.T) {
	args := [6]uint64{}
	for i := range args {
		args[i] = uint64(0x1111_0000+i)<<32 | uint64(0x2222_0000+i)
	}
	in := seccompData(auditArchX8664, 0x4000_0123, args)
	lo, hi := uint32(0), uint32(4) // where the halves sit on a little-endian host
	var probe [8]byte
	binary.NativeEndian.PutUint64(probe[:], 1)
	if probe[0] == 0 {
		lo, hi = 4, 0
	}
	want := map[uint32]uint32{0: 0x4000_0123, 4: auditArchX8664}
	for i := range args {
		off := uint32(seccompArgsOff + 8*i)
		want[off+lo] = uint32(args[i])
		want[off+hi] = uint32(args[i] >> 32)
	}
	for off, w := range want {
		vm, err := bpf.NewVM([]bpf.Instruction{bpf.LoadAbsolute{Off: off, Size: 4}, bpf.RetA{}})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := runFilter(vm, in); err != nil || got != w {
			t.Errorf("word at %d: %#x (%v), want %#x", off, got, err, w)
		}
	}
	// The same through parseFilter, from host-endian sock_filters:
	// ld [4]; jeq #AUDIT_ARCH_X86_64, 0, 1; ret #0x7fff0000; ret #0.
	raw := encodeFilter([]sockFilter{{code: 0x20, k: 4}, {code: 0x15, jf: 1, k: auditArchX8664}, {code: 0x06, k: 0x7fff0000}, {code: 0x06}})
	prog, err := parseFilter(raw)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	for arch, w := range map[uint32]uint32{auditArchX8664: 0x7fff0000, auditArchI386: 0} {
		if got, err := runFilter(vm, seccompData(arch, 0, [6]uint64{})); err != nil || got != w {
			t.Errorf("arch %#x: %#x (%v), want %#x", arch, got, err, w)
		}
	}
	if _, err := parseFilter(raw[:12]); err == nil {
		t.Error("a filter of 1.5 instructions parsed")
	}
}
