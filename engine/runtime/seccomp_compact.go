package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Compact seccomp filters.
//
// libseccomp tests a rule's syscalls one number at a time, even in the
// binary-tree layout of scripts/crun-patches/seccomp-binary-tree.patch:
// Docker's default profile compiles to 1255 instructions for x86_64, i386
// and x32. The container's init hands that filter to seccomp(2) at every
// start, and the kernel converts it to eBPF and JIT-compiles it in time
// that grows with its length: a bare `crun run` of Berth's bundle took
// ~1.2 ms longer with it than without a profile, ~0.4 ms with a
// 419-instruction filter, ~0.3 ms with its compacted form (231).
//
// compactFilter rewrites a compiled filter into one that returns the same
// action for every input, and is laid out as a binary search over ranges
// of syscall numbers with the same outcome: most of a profile's allowed
// syscalls sit in runs of consecutive numbers, so one comparison covers a
// run. It does not read the profile: it evaluates the compiled filter
// itself. A filter's decision on the arch and syscall number can only
// change where one of its comparisons of them does, so the inputs fall
// into classes (ranges between the compared constants) that it decides
// alike; the filter is evaluated once per class with the arch and number
// known, and what is left of it (a return, or the tests of a syscall's
// arguments, copied as they are) becomes the class's leaf. The new filter
// is checked against the old one on every class before it is used, and a
// filter that uses an instruction the rewrite does not know is kept as it
// is.
//
// The kernel's action cache (seccomp_cache_prepare_bitmap) still sees a
// filter it can emulate: loads of the arch and number, comparisons with
// constants, returns.

// seccompLayout names the layout of cached filters in their key.
const seccompLayout = "layout: compact 1"

// sockFilter is a struct sock_filter.
type sockFilter struct {
	code   uint16
	jt, jf uint8
	k      uint32
}

// Classic BPF opcodes a seccomp filter compiled by libseccomp uses.
const (
	bpfLdAbsW = 0x20 // BPF_LD | BPF_W | BPF_ABS
	bpfJA     = 0x05 // BPF_JMP | BPF_JA
	bpfJEQ    = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	bpfJGT    = 0x25 // BPF_JMP | BPF_JGT | BPF_K
	bpfJGE    = 0x35 // BPF_JMP | BPF_JGE | BPF_K
	bpfJSET   = 0x45 // BPF_JMP | BPF_JSET | BPF_K
	bpfRetK   = 0x06 // BPF_RET | BPF_K
	bpfRetA   = 0x16 // BPF_RET | BPF_A
	bpfAluK   = 0x04 // BPF_ALU | BPF_K, with an operation in bits 4-7
	bpfAluOp  = 0xf0

	bpfMaxJump = 0xff // a conditional jump's reach
)

// Offsets in struct seccomp_data, and its size.
const (
	seccompNrOff    = 0
	seccompArchOff  = 4
	seccompDataSize = 64 // int nr, u32 arch, u64 ip, u64 args[6]
)

// loadable reports whether a filter may load the word at offset k of
// struct seccomp_data (the kernel's seccomp_check_filter).
func loadable(k uint32) bool { return k%4 == 0 && k < seccompDataSize }

// compactBudget bounds the work of a rewrite (classes of arch times
// classes of number times instructions, the most each evaluation walks):
// Docker's default profile is about 2e7, in a few milliseconds; a filter
// far past it (thousands of rules in a linear layout) is kept as it is
// rather than hold its first container's start for seconds.
const compactBudget = 1 << 26

// errNotCompactable is a filter using something compactFilter does not
// rewrite; it is then used as it is.
var errNotCompactable = errors.New("filter not compactable")

func decodeFilter(b []byte) ([]sockFilter, error) {
	if !validBPF(b) {
		return nil, fmt.Errorf("a %d-byte filter", len(b))
	}
	prog := make([]sockFilter, len(b)/bpfInsnSize)
	for i := range prog {
		o := i * bpfInsnSize
		prog[i] = sockFilter{
			code: binary.NativeEndian.Uint16(b[o:]),
			jt:   b[o+2],
			jf:   b[o+3],
			k:    binary.NativeEndian.Uint32(b[o+4:]),
		}
	}
	return prog, nil
}

func encodeFilter(prog []sockFilter) []byte {
	b := make([]byte, 0, len(prog)*bpfInsnSize)
	for _, in := range prog {
		b = binary.NativeEndian.AppendUint16(b, in.code)
		b = append(b, in.jt, in.jf)
		b = binary.NativeEndian.AppendUint32(b, in.k)
	}
	return b
}

// aluOps are the ALU operations (with a constant) a filter may apply to
// an argument it loaded.
var aluOps = map[uint16]func(a, k uint32) uint32{
	0x00: func(a, k uint32) uint32 { return a + k },
	0x10: func(a, k uint32) uint32 { return a - k },
	0x40: func(a, k uint32) uint32 { return a | k },
	0x50: func(a, k uint32) uint32 { return a & k },
	0xa0: func(a, k uint32) uint32 { return a ^ k },
}

func isAlu(code uint16) bool {
	_, ok := aluOps[code&bpfAluOp]
	return code&^bpfAluOp == bpfAluK && ok
}

func jumpTaken(code uint16, a, k uint32) bool {
	switch code {
	case bpfJEQ:
		return a == k
	case bpfJGT:
		return a > k
	case bpfJGE:
		return a >= k
	default: // bpfJSET
		return a&k != 0
	}
}

func isCondJump(code uint16) bool {
	return code == bpfJEQ || code == bpfJGT || code == bpfJGE || code == bpfJSET
}

// runFilterWords evaluates prog on a struct seccomp_data given as its 16
// host-endian 32-bit words (nr, arch, ip, args), as the kernel does.
func runFilterWords(prog []sockFilter, data *[16]uint32) (uint32, error) {
	var a uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch {
		case in.code == bpfLdAbsW:
			if !loadable(in.k) {
				return 0, errNotCompactable
			}
			a = data[in.k/4]
		case isAlu(in.code):
			a = aluOps[in.code&bpfAluOp](a, in.k)
		case in.code == bpfJA:
			pc += int(in.k)
		case isCondJump(in.code):
			if jumpTaken(in.code, a, in.k) {
				pc += int(in.jt)
			} else {
				pc += int(in.jf)
			}
		case in.code == bpfRetK:
			return in.k, nil
		case in.code == bpfRetA:
			return a, nil
		default:
			return 0, errNotCompactable
		}
	}
	return 0, errors.New("filter ran off its end")
}

// Where the accumulator's value may come from (filterOrigins).
const (
	fromArch = 1 << iota
	fromNr
	fromOther // an argument, the instruction pointer, or an ALU result
	reached
)

// filterOrigins checks that prog is a filter compactFilter can rewrite
// and returns the boundaries of the classes of arch and syscall number:
// the values at which one of the filter's comparisons of them can change
// outcome.
func filterOrigins(prog []sockFilter) (arch, nr []uint32, err error) {
	origin := make([]uint8, len(prog))
	origin[0] = reached | fromOther // A starts as 0
	archB := map[uint32]bool{0: true}
	nrB := map[uint32]bool{0: true}
	to := func(pc int, o uint8) error {
		if pc >= len(prog) {
			return errNotCompactable
		}
		origin[pc] |= reached | o
		return nil
	}
	for pc, in := range prog {
		o := origin[pc]
		if o&reached == 0 {
			continue
		}
		o &^= reached
		var err error
		switch {
		case in.code == bpfLdAbsW:
			if !loadable(in.k) {
				return nil, nil, errNotCompactable
			}
			switch in.k {
			case seccompNrOff:
				err = to(pc+1, fromNr)
			case seccompArchOff:
				err = to(pc+1, fromArch)
			default:
				err = to(pc+1, fromOther)
			}
		case isAlu(in.code):
			if o&(fromArch|fromNr) != 0 {
				return nil, nil, errNotCompactable
			}
			err = to(pc+1, fromOther)
		case in.code == bpfJA:
			err = to(pc+1+int(in.k), o)
		case isCondJump(in.code):
			if o&(fromArch|fromNr) != 0 && in.code == bpfJSET {
				return nil, nil, errNotCompactable
			}
			if o&fromArch != 0 {
				addBoundaries(archB, in.code, in.k)
			}
			if o&fromNr != 0 {
				addBoundaries(nrB, in.code, in.k)
			}
			if err = to(pc+1+int(in.jt), o); err == nil {
				err = to(pc+1+int(in.jf), o)
			}
		case in.code == bpfRetA:
			// Returning the arch or number itself would return a class's
			// first value for all of it.
			if o&(fromArch|fromNr) != 0 {
				return nil, nil, errNotCompactable
			}
		case in.code == bpfRetK:
		default:
			return nil, nil, errNotCompactable
		}
		if err != nil {
			return nil, nil, err
		}
	}
	return sortedKeys(archB), sortedKeys(nrB), nil
}

// addBoundaries adds where a comparison with k can change outcome: the
// first value of each range of values it decides alike.
func addBoundaries(set map[uint32]bool, code uint16, k uint32) {
	first := k // JGE
	switch code {
	case bpfJEQ:
		set[k] = true
		first = k + 1
	case bpfJGT:
		first = k + 1
	}
	if first != 0 { // k+1 wrapped: no range starts above 0xffffffff
		set[first] = true
	}
}

func sortedKeys(m map[uint32]bool) []uint32 {
	s := make([]uint32, 0, len(m))
	for k := range m {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// cnode is an instruction of the compact filter before layout: an
// instruction's code and constant, and the nodes it goes on to (next for
// a load or ALU op, jt and jf for a jump, none for a return). Nodes are
// interned, so equal subprograms are one node.
type cnode struct {
	code   uint16
	k      uint32
	jt, jf int32
}

type compactor struct {
	prog  []sockFilter
	nodes []cnode
	ids   map[cnode]int32
}

func (c *compactor) node(n cnode) int32 {
	if id, ok := c.ids[n]; ok {
		return id
	}
	id := int32(len(c.nodes))
	c.nodes = append(c.nodes, n)
	c.ids[n] = id
	return id
}

func (c *compactor) ret(k uint32) int32 { return c.node(cnode{code: bpfRetK, k: k, jt: -1, jf: -1}) }

// absA is what is known of the accumulator when the arch and number are:
// a constant, or an unknown value the residual program computes.
type absA struct {
	known bool
	v     uint32
}

// residual returns what is left of the filter from pc with the arch and
// syscall number known: the comparisons of those folded away, the loads
// and tests of anything else kept.
func (c *compactor) residual(pc int, a absA, arch, nr uint32, memo map[[2]uint64]int32) (int32, error) {
	key := [2]uint64{uint64(pc), 0}
	if a.known {
		key[1] = 1<<32 | uint64(a.v)
	}
	if id, ok := memo[key]; ok {
		return id, nil
	}
	if pc >= len(c.prog) {
		return 0, errNotCompactable
	}
	in := c.prog[pc]
	var id int32
	var err error
	switch {
	case in.code == bpfLdAbsW && (in.k == seccompNrOff || in.k == seccompArchOff):
		v := nr
		if in.k == seccompArchOff {
			v = arch
		}
		id, err = c.residual(pc+1, absA{true, v}, arch, nr, memo)
	case in.code == bpfLdAbsW || isAlu(in.code):
		if a.known && in.code != bpfLdAbsW {
			return 0, errNotCompactable // filterOrigins rules this out
		}
		var next int32
		if next, err = c.residual(pc+1, absA{}, arch, nr, memo); err == nil {
			id = c.node(cnode{code: in.code, k: in.k, jt: next, jf: -1})
		}
	case in.code == bpfJA:
		id, err = c.residual(pc+1+int(in.k), a, arch, nr, memo)
	case isCondJump(in.code) && a.known:
		next := pc + 1 + int(in.jf)
		if jumpTaken(in.code, a.v, in.k) {
			next = pc + 1 + int(in.jt)
		}
		id, err = c.residual(next, a, arch, nr, memo)
	case isCondJump(in.code):
		var t, f int32
		if t, err = c.residual(pc+1+int(in.jt), a, arch, nr, memo); err != nil {
			break
		}
		if f, err = c.residual(pc+1+int(in.jf), a, arch, nr, memo); err != nil {
			break
		}
		id = t
		if t != f {
			id = c.node(cnode{code: in.code, k: in.k, jt: t, jf: f})
		}
	case in.code == bpfRetK:
		id = c.ret(in.k)
	case in.code == bpfRetA && a.known:
		id = c.ret(a.v)
	case in.code == bpfRetA:
		id = c.node(cnode{code: bpfRetA, jt: -1, jf: -1})
	default:
		return 0, errNotCompactable
	}
	if err != nil {
		return 0, err
	}
	memo[key] = id
	return id, nil
}

// span is a range of values, from first up to the next span's first,
// decided by one subprogram.
type span struct {
	first uint32
	node  int32
}

// maxExceptions bounds the single values tested one by one inside a
// range (see group).
const maxExceptions = 8

// group is a range of spans decided by node but for single values in it
// (exceptions), each decided otherwise.
type group struct {
	span
	except []span
}

// groups folds each span of one value whose neighbours agree into the
// range around it, as an exception: one comparison for it instead of
// two in the search.
func groups(s []span) []group {
	var g []group
	for i := 0; i < len(s); i++ {
		if n := len(g); n > 0 && i+1 < len(s) && s[i+1].first == s[i].first+1 &&
			s[i+1].node == g[n-1].node && len(g[n-1].except) < maxExceptions {
			g[n-1].except = append(g[n-1].except, s[i])
			i++ // s[i+1] goes on with g[n-1]
			continue
		}
		g = append(g, group{span: s[i]})
	}
	return g
}

// search returns a binary search over groups of the value in A, each
// group ending where the next begins, and its exceptions tested in turn.
func (c *compactor) search(g []group) int32 {
	if len(g) == 1 {
		n := g[0].node
		for i := len(g[0].except) - 1; i >= 0; i-- {
			e := g[0].except[i]
			n = c.node(cnode{code: bpfJEQ, k: e.first, jt: e.node, jf: n})
		}
		return n
	}
	mid := len(g) / 2
	hi := c.search(g[mid:])
	lo := c.search(g[:mid])
	return c.node(cnode{code: bpfJGE, k: g[mid].first, jt: hi, jf: lo})
}

// dispatch loads the word at off and searches spans over it, merging
// neighbours with the same subprogram first.
func (c *compactor) dispatch(off uint32, s []span) int32 {
	merged := s[:0:0]
	for _, x := range s {
		if len(merged) > 0 && merged[len(merged)-1].node == x.node {
			continue
		}
		merged = append(merged, x)
	}
	if len(merged) == 1 {
		return merged[0].node
	}
	return c.node(cnode{code: bpfLdAbsW, k: off, jt: c.search(groups(merged)), jf: -1})
}

// compactFilter returns a filter equivalent to b laid out as a search over
// ranges of arch and syscall number (see the comment above), or b itself
// when b is not a filter it can rewrite, the rewrite is no shorter, or it
// does not decide as b does.
func compactFilter(b []byte) []byte {
	prog, err := decodeFilter(b)
	if err != nil {
		return b
	}
	archB, nrB, err := filterOrigins(prog)
	if err != nil || len(archB)*len(nrB)*len(prog) > compactBudget {
		return b
	}
	c := &compactor{prog: prog, ids: map[cnode]int32{}}
	archSpans := make([]span, len(archB))
	memo := map[[2]uint64]int32{}
	for i, arch := range archB {
		nrSpans := make([]span, len(nrB))
		for j, nr := range nrB {
			clear(memo)
			id, err := c.residual(0, absA{true, 0}, arch, nr, memo)
			if err != nil {
				return b
			}
			nrSpans[j] = span{nr, id}
		}
		archSpans[i] = span{arch, c.dispatch(seccompNrOff, nrSpans)}
	}
	root := c.dispatch(seccompArchOff, archSpans)
	out, err := c.layout(root)
	if err != nil || len(out) >= len(prog) || !sameDecisions(prog, out, archB, nrB) {
		return b
	}
	return encodeFilter(out)
}

// sameDecisions reports whether a and b return the same on the first and
// last value of every class of arch and number, with the arguments and
// instruction pointer all zero and all ones.
func sameDecisions(a, b []sockFilter, archB, nrB []uint32) bool {
	edges := func(firsts []uint32) []uint32 {
		var v []uint32
		for _, f := range firsts {
			v = append(v, f, f-1) // 0-1 is the last class's last value
		}
		return v
	}
	archs, nrs := edges(archB), edges(nrB)
	var data [16]uint32
	for _, fill := range []uint32{0, 0xffffffff} {
		for i := 2; i < len(data); i++ {
			data[i] = fill
		}
		for _, arch := range archs {
			for _, nr := range nrs {
				data[0], data[1] = nr, arch
				ra, erra := runFilterWords(a, &data)
				rb, errb := runFilterWords(b, &data)
				if erra != nil || errb != nil || ra != rb {
					return false
				}
			}
		}
	}
	return true
}

// A slot is an instruction of the laid-out filter: a node's (slot i is
// node i's), or a jump or return added where a node's successor is out of
// reach.
type slot struct {
	code   uint16
	k      uint32
	jt, jf int32 // target slots of a jump, the slot after a load or ALU op
}

// layout orders the nodes from root so that every jump goes forward, each
// node's last successor right after it where it can, and adds jumps (or
// copies of a return) where a successor is not next or out of a
// conditional jump's reach.
func (c *compactor) layout(root int32) ([]sockFilter, error) {
	// Reverse postorder, the false branch visited last so it follows.
	order := make([]int32, 0, len(c.nodes))
	seen := make([]bool, len(c.nodes))
	var visit func(int32)
	visit = func(n int32) {
		if n < 0 || seen[n] {
			return
		}
		seen[n] = true
		visit(c.nodes[n].jt)
		visit(c.nodes[n].jf)
		order = append(order, n)
	}
	visit(root)
	slices.Reverse(order)
	// A node's slot is its first; slots added later are appended to
	// slots, and seq holds the order.
	slots := make([]slot, len(c.nodes))
	for i := range slots {
		n := c.nodes[i]
		slots[i] = slot{code: n.code, k: n.k, jt: n.jt, jf: n.jf}
	}
	seq := slices.Clone(order)
	for {
		pos := make([]int, len(slots))
		for i := range pos {
			pos[i] = -1
		}
		for i, s := range seq {
			pos[s] = i
		}
		// The first slot whose successor is out of place gets a bridge
		// right after it; positions then move, so one at a time.
		at, added := -1, int32(-1)
		for i, s := range seq {
			sl := slots[s]
			switch {
			case sl.code == bpfLdAbsW || isAlu(sl.code):
				if pos[sl.jt] != i+1 {
					at, added = i, bridge(&slots, s, true)
				}
			case isCondJump(sl.code):
				if d := pos[sl.jt] - i - 1; d < 0 || d > bpfMaxJump {
					at, added = i, bridge(&slots, s, true)
				} else if d := pos[sl.jf] - i - 1; d < 0 || d > bpfMaxJump {
					at, added = i, bridge(&slots, s, false)
				}
			}
			if at >= 0 {
				break
			}
		}
		if at < 0 {
			break
		}
		seq = slices.Insert(seq, at+1, added)
		if len(seq) > bpfMaxInsns {
			return nil, errNotCompactable
		}
	}
	pos := make([]int, len(slots))
	for i, s := range seq {
		pos[s] = i
	}
	out := make([]sockFilter, len(seq))
	for i, s := range seq {
		sl := slots[s]
		in := sockFilter{code: sl.code, k: sl.k}
		switch {
		case sl.code == bpfJA:
			in.k = uint32(pos[sl.jt] - i - 1)
		case isCondJump(sl.code):
			in.jt = uint8(pos[sl.jt] - i - 1)
			in.jf = uint8(pos[sl.jf] - i - 1)
		}
		out[i] = in
	}
	return out, nil
}

// bridge adds the slot that takes slot s to its true (or next) or false
// successor from right after s: a copy of it if it is a return, else a
// jump to it. It points s at the new slot and returns it.
func bridge(slots *[]slot, s int32, taken bool) int32 {
	sl := &(*slots)[s]
	target := sl.jf
	if taken {
		target = sl.jt
	}
	t := (*slots)[target]
	add := slot{code: bpfJA, jt: target, jf: -1}
	if t.code == bpfRetK || t.code == bpfRetA {
		add = slot{code: t.code, k: t.k, jt: -1, jf: -1}
	}
	id := int32(len(*slots))
	*slots = append(*slots, add)
	sl = &(*slots)[s]
	if taken {
		sl.jt = id
	} else {
		sl.jf = id
	}
	return id
}
