package runtime

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
)

// testdata/seccomp-default.bpf is Docker's default profile for the default
// capabilities as Berth's crun compiles it (libseccomp's binary-tree
// layout) for x86_64, x86 and x32: 1255 instructions.

func TestCompactFilterDefaultProfile(t *testing.T) {
	f, err := os.ReadFile("testdata/seccomp-default.bpf")
	if err != nil {
		t.Fatal(err)
	}
	c := compactFilter(f)
	t.Logf("%d instructions compacted to %d", len(f)/bpfInsnSize, len(c)/bpfInsnSize)
	// The load's cost follows the length: a rewrite that fell back, or
	// came out barely shorter, is a regression.
	if len(c) > len(f)/3 {
		t.Fatalf("compacted to %d instructions of %d", len(c)/bpfInsnSize, len(f)/bpfInsnSize)
	}
	checkCompacted(t, f, c)
	n, diffs := compareFilters(t, f, c, argValues(treeProfiles(t)[0].sc))
	for _, d := range diffs {
		t.Errorf("compacted filter differs: %s", d)
	}
	t.Logf("%d inputs compared", n)
	if again := compactFilter(c); len(again) > len(c) {
		t.Errorf("compacting the compacted filter made it longer: %d > %d", len(again), len(c))
	}
}

// TestCompactFilterLive compacts what crun compiles for each test profile
// (Docker's with several capability sets, and one with every argument
// operator), as Berth's crun and as Debian's lay it out.
func TestCompactFilterLive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("crun create needs root")
	}
	cruns := map[string]string{}
	if _, err := os.Stat(LeanCrunPath); err == nil {
		cruns["berth"] = LeanCrunPath
	}
	if p, err := exec.LookPath("crun"); err == nil && p != LeanCrunPath {
		cruns["debian"] = p
	}
	if len(cruns) == 0 {
		t.Skip("no crun")
	}
	for name, crun := range cruns {
		for _, p := range treeProfiles(t) {
			t.Run(name+"/"+p.name, func(t *testing.T) {
				f := compileFilter(t, crun, p)
				c := compactFilter(f)
				t.Logf("%d instructions compacted to %d", len(f)/bpfInsnSize, len(c)/bpfInsnSize)
				// A profile of a few rules may come out no shorter, and is
				// kept; Docker's must shrink.
				if strings.HasPrefix(p.name, "default") && len(c) >= len(f) {
					t.Fatal("not compacted")
				}
				checkCompacted(t, f, c)
				_, diffs := compareFilters(t, f, c, argValues(p.sc))
				for _, d := range diffs {
					t.Errorf("compacted filter differs: %s", d)
				}
			})
		}
	}
}

// checkCompacted checks what the kernel checks of c (sk_chk_filter,
// seccomp_check_filter: known instructions, jumps in the program, a
// return at the end) and that it keeps to the instructions the kernel's
// action cache emulates, as f did.
func checkCompacted(t *testing.T, f, c []byte) {
	t.Helper()
	prog, err := decodeFilter(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bpf.NewVM(mustParse(t, c)); err != nil {
		t.Fatalf("the VM refuses the compacted filter: %v", err)
	}
	used := map[uint16]bool{}
	if orig, err := decodeFilter(f); err == nil {
		for _, in := range orig {
			used[in.code] = true
		}
	}
	used[bpfJA], used[bpfJEQ], used[bpfJGE] = true, true, true
	for pc, in := range prog {
		if !used[in.code] {
			t.Errorf("instruction %d: opcode %#x, which the filter did not use", pc, in.code)
		}
		if in.code == bpfLdAbsW && (in.k%4 != 0 || in.k >= seccompDataSize) {
			t.Errorf("instruction %d loads at %d", pc, in.k)
		}
		if isCondJump(in.code) && (pc+1+int(in.jt) >= len(prog) || pc+1+int(in.jf) >= len(prog)) {
			t.Errorf("instruction %d jumps past the end", pc)
		}
		if in.code == bpfJA && pc+1+int(in.k) >= len(prog) {
			t.Errorf("instruction %d jumps past the end", pc)
		}
	}
	if last := prog[len(prog)-1].code; last != bpfRetK && last != bpfRetA {
		t.Errorf("the filter ends with %#x, not a return", last)
	}
}

func mustParse(t *testing.T, b []byte) []bpf.Instruction {
	t.Helper()
	p, err := parseFilter(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A filter with something the rewrite does not model is kept as it is.
func TestCompactFilterKeepsWhatItCannotRewrite(t *testing.T) {
	const allow, kill = 0x7fff0000, 0
	ld := func(off uint32) sockFilter { return sockFilter{code: bpfLdAbsW, k: off} }
	ret := func(k uint32) sockFilter { return sockFilter{code: bpfRetK, k: k} }
	// A long list of syscall numbers after what is tested, so that a
	// rewrite would be shorter.
	tail := []sockFilter{ld(seccompNrOff)}
	for nr := range uint32(40) {
		tail = append(tail, sockFilter{code: bpfJEQ, jt: uint8(40 - nr), k: nr})
	}
	tail = append(tail, ret(kill), ret(allow))
	for name, head := range map[string][]sockFilter{
		"bits of the number":   {ld(seccompNrOff), {code: bpfJSET, k: x32SyscallBit, jf: 1}, ret(kill)},
		"arithmetic on arch":   {ld(seccompArchOff), {code: bpfAluK | 0x50, k: 0xff}, {code: bpfJEQ, k: 0x3e, jt: 1}, ret(kill)},
		"scratch memory":       {{code: 0x02, k: 0}, {code: bpfJA, k: 0}},
		"index register":       {{code: 0x01, k: 4}, {code: bpfJA, k: 0}},
		"load past the data":   {ld(64), {code: bpfJA, k: 0}},
		"jump past the end":    {{code: bpfJA, k: 200}},
		"arithmetic on start":  {{code: bpfAluK | 0x00, k: 1}, {code: bpfJA, k: 0}},
		"returning the number": {ld(seccompNrOff), {code: bpfJGE, k: 1000, jf: 1}, {code: bpfRetA}},
	} {
		f := encodeFilter(append(head, tail...))
		if c := compactFilter(f); !bytes.Equal(c, f) {
			t.Errorf("%s: rewritten", name)
		}
	}
	if c := compactFilter(encodeFilter(tail)); len(c) >= len(tail)*bpfInsnSize {
		t.Errorf("the list alone was not rewritten: %d instructions", len(c)/bpfInsnSize)
	}
	for _, b := range [][]byte{nil, {1, 2, 3}, make([]byte, (bpfMaxInsns+1)*bpfInsnSize)} {
		if c := compactFilter(b); !bytes.Equal(c, b) {
			t.Errorf("a %d-byte non-filter was rewritten", len(b))
		}
	}
}

// Arguments loaded anywhere (before the arch, between tests of the
// number), ALU operations on them and returns of A are kept, in the
// classes they apply to.
func TestCompactFilterArguments(t *testing.T) {
	const allow, errno = 0x7fff0000, 0x50001
	ld := func(off uint32) sockFilter { return sockFilter{code: bpfLdAbsW, k: off} }
	ret := func(k uint32) sockFilter { return sockFilter{code: bpfRetK, k: k} }
	var p []sockFilter
	// arg0's low word 7 is killed on every syscall, whatever the arch.
	p = append(p, ld(seccompArgsOff), sockFilter{code: bpfJEQ, k: 7, jf: 1}, ret(0))
	p = append(p, ld(seccompArchOff), sockFilter{code: bpfJEQ, k: auditArchX8664, jt: 1}, ret(0x80000000))
	p = append(p, ld(seccompNrOff))
	// 0..59 allowed one by one, but 10 returns arg1's low byte as errno
	// data, and 20 is allowed only when arg2's low word has bit 3 clear.
	const n = 60
	for nr := range uint32(n) {
		rest := n - 1 - int(nr) // tests left after this one
		switch nr {
		case 10:
			p = append(p, sockFilter{code: bpfJEQ, k: nr, jf: 4})
			p = append(p, ld(seccompArgsOff+8), sockFilter{code: bpfAluK | 0x50, k: 0xff}, sockFilter{code: bpfAluK | 0x40, k: 0x50000}, sockFilter{code: bpfRetA})
		case 20:
			p = append(p, sockFilter{code: bpfJEQ, k: nr, jf: 4})
			p = append(p, ld(seccompArgsOff+16), sockFilter{code: bpfJSET, k: 8, jt: 1}, ret(allow), ret(errno))
		default:
			p = append(p, sockFilter{code: bpfJEQ, k: nr, jt: uint8(rest + 1)})
		}
	}
	p = append(p, ret(errno), ret(allow))
	// Fix the jumps to "allow" of the plain tests (the special cases
	// above added instructions after some of them).
	for pc := range p {
		if p[pc].code == bpfJEQ && p[pc].jt > 1 {
			p[pc].jt = uint8(len(p) - 1 - pc - 1)
		}
	}
	f := encodeFilter(p)
	c := compactFilter(f)
	if len(c) >= len(f) {
		t.Fatalf("not compacted: %d instructions, %d", len(c)/bpfInsnSize, len(f)/bpfInsnSize)
	}
	checkCompacted(t, f, c)
	vals := []uint64{0, 7, 8, 0xff, 0x1ff, 0x7_0000_0007, ^uint64(0)}
	_, diffs := compareFilters(t, f, c, vals)
	for _, d := range diffs {
		t.Errorf("compacted filter differs: %s", d)
	}
	// And the arguments still count.
	vm, _ := bpf.NewVM(mustParse(t, c))
	for _, tc := range []struct {
		nr   uint32
		args [6]uint64
		want uint32
	}{{5, [6]uint64{7}, 0}, {5, [6]uint64{}, allow}, {10, [6]uint64{0, 0x1234}, 0x50034}, {20, [6]uint64{0, 0, 8}, errno}, {20, [6]uint64{}, allow}, {60, [6]uint64{}, errno}} {
		if got, err := runFilter(vm, seccompData(auditArchX8664, tc.nr, tc.args)); err != nil || got != tc.want {
			t.Errorf("nr %d args %x: %#x (%v), want %#x", tc.nr, tc.args, got, err, tc.want)
		}
	}
}

// FuzzCompactFilter builds filters from the input (valid ones, mostly: a
// small instruction set, jumps inside the program, a return at the end)
// and checks that a rewritten filter is shorter, valid, and decides as
// the original on the edges of its classes of arch and number with
// several argument sets, evaluated by x/net/bpf's VM.
func FuzzCompactFilter(f *testing.F) {
	if def, err := os.ReadFile("testdata/seccomp-default.bpf"); err == nil {
		f.Add(def[:len(def)/2])
	}
	f.Add([]byte("\x00\x04\x00\x00\x01\x00\x00\x00\x02\x3e\x00\x00\xc0\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		prog := fuzzFilter(data)
		if prog == nil {
			return
		}
		b := encodeFilter(prog)
		c := compactFilter(b)
		if bytes.Equal(b, c) {
			return
		}
		if len(c) >= len(b) {
			t.Fatalf("rewritten to %d instructions from %d", len(c)/bpfInsnSize, len(b)/bpfInsnSize)
		}
		checkCompacted(t, b, c)
		archB, nrB, err := filterOrigins(prog)
		if err != nil {
			t.Fatalf("rewritten though not compactable: %v", err)
		}
		vmB, err := bpf.NewVM(mustParse(t, b))
		if err != nil {
			return // the original is one the VM refuses
		}
		vmC, err := bpf.NewVM(mustParse(t, c))
		if err != nil {
			t.Fatal(err)
		}
		for _, arch := range edgeValues(archB) {
			for _, nr := range edgeValues(nrB) {
				for _, args := range baseArgs() {
					in := seccompData(arch, nr, args)
					rb, _ := runFilter(vmB, in)
					rc, _ := runFilter(vmC, in)
					if rb != rc {
						t.Fatalf("arch %#x nr %#x args %x: %#x, was %#x", arch, nr, args, rc, rb)
					}
				}
			}
		}
	})
}

func edgeValues(firsts []uint32) []uint32 {
	var v []uint32
	for _, f := range firsts {
		v = append(v, f, f-1, f+1)
	}
	return v
}

// fuzzFilter makes a filter of up to 64 instructions from data, 6 bytes
// each: an opcode from those seccomp filters use, a constant, and jump
// offsets kept inside the program. The last instruction is a return.
func fuzzFilter(data []byte) []sockFilter {
	n := min(len(data)/6, 64)
	if n == 0 {
		return nil
	}
	codes := []uint16{bpfLdAbsW, bpfLdAbsW, bpfJEQ, bpfJEQ, bpfJGT, bpfJGE, bpfJSET, bpfRetK, bpfRetA, bpfJA, bpfAluK | 0x50, bpfAluK | 0x40}
	consts := []uint32{0, 1, 2, 3, auditArchX8664, auditArchI386, x32SyscallBit, 0xffffffff, 0x7fff0000, 0x50001}
	prog := make([]sockFilter, n)
	for pc := range prog {
		d := data[pc*6:]
		in := sockFilter{code: codes[int(d[0])%len(codes)]}
		k := binary.LittleEndian.Uint16(d[1:])
		if k&0x8000 != 0 {
			in.k = consts[int(k&0x7fff)%len(consts)]
		} else {
			in.k = uint32(k)
		}
		left := n - pc - 1 // instructions after this one
		switch {
		case left == 0:
			in = sockFilter{code: bpfRetK, k: in.k}
		case in.code == bpfLdAbsW:
			in.k = (in.k % 16) * 4
		case in.code == bpfJA:
			in.k = uint32(int(d[3]) % left)
		case isCondJump(in.code):
			in.jt = uint8(int(d[4]) % left)
			in.jf = uint8(int(d[5]) % left)
		}
		prog[pc] = in
	}
	return prog
}

// The cache keeps the compacted filter, and that is what a later
// container is handed.
func TestSeccompCacheCompacts(t *testing.T) {
	f, err := os.ReadFile("testdata/seccomp-default.bpf")
	if err != nil {
		t.Fatal(err)
	}
	r := fakeCrun(t)
	s := specWith(&specs.LinuxSeccomp{DefaultAction: specs.ActErrno})
	key := r.SeccompKey(s)
	state := filepath.Join(r.Root, "c1")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "seccomp.bpf"), f, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.SaveSeccomp("c1", key); err != nil {
		t.Fatal(err)
	}
	if !r.UsePrecompiledSeccomp(s, key) {
		t.Fatal("the saved filter was not used")
	}
	got, err := base64.StdEncoding.DecodeString(s.Annotations[SeccompBPFAnnotation])
	if err != nil {
		t.Fatal(err)
	}
	if want := compactFilter(f); len(want) >= len(f) || !bytes.Equal(got, want) {
		t.Fatalf("handed a %d-instruction filter, want the %d-instruction compacted one (compiled: %d)", len(got)/bpfInsnSize, len(want)/bpfInsnSize, len(f)/bpfInsnSize)
	}
}

// A filter whose rewrite would take too long (a linear list of thousands
// of numbers) is kept as it is.
func TestCompactFilterBudget(t *testing.T) {
	const n = 4000
	p := []sockFilter{{code: bpfLdAbsW, k: seccompArchOff}, {code: bpfJEQ, k: auditArchX8664, jt: 1}, {code: bpfRetK}, {code: bpfLdAbsW, k: seccompNrOff}}
	for nr := range uint32(n) {
		p = append(p, sockFilter{code: bpfJEQ, k: 2 * nr}) // every other number
	}
	p = append(p, sockFilter{code: bpfRetK, k: 0x50001}, sockFilter{code: bpfRetK, k: 0x7fff0000})
	for pc := 4; pc < 4+n; pc++ {
		p[pc].jt = uint8(min(len(p)-1-pc-1, 255)) // far ones land further down the list
	}
	f := encodeFilter(p)
	if c := compactFilter(f); !bytes.Equal(c, f) {
		t.Fatalf("a %d-instruction list was rewritten", len(p))
	}
}
