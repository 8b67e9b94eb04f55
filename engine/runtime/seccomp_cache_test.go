package runtime

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeCrun is a Runtime named crun whose binary exists (the key reads its
// size and mtime) and whose root is a temp dir.
func fakeCrun(t *testing.T) *Runtime {
	dir := t.TempDir()
	bin := filepath.Join(dir, "crun")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &Runtime{Name: "crun", Path: bin, Root: filepath.Join(dir, "root")}
}

func specWith(sc *specs.LinuxSeccomp) *specs.Spec {
	return &specs.Spec{Linux: &specs.Linux{Seccomp: sc}}
}

func TestSeccompKey(t *testing.T) {
	r := fakeCrun(t)
	deny := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}}}
	k1 := r.SeccompKey(specWith(deny))
	if k1 == "" || k1 != r.SeccompKey(specWith(deny)) {
		t.Fatalf("key of one profile: %q, then %q", k1, r.SeccompKey(specWith(deny)))
	}
	other := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"rmdir"}, Action: specs.ActErrno}}}
	if r.SeccompKey(specWith(other)) == k1 {
		t.Error("two profiles share a key")
	}
	s := specWith(deny)
	s.Annotations = map[string]string{"run.oci.seccomp_fail_unknown_syscall": "1"}
	if r.SeccompKey(s) == k1 {
		t.Error("a seccomp annotation does not change the key")
	}
	s.Annotations = map[string]string{SeccompBPFAnnotation: "AAAA"}
	if r.SeccompKey(s) != "" {
		t.Error("a spec naming its own filter got a key")
	}
	if r.SeccompKey(specWith(nil)) != "" {
		t.Error("a spec without seccomp got a key")
	}
	runc := *r
	runc.Name, runc.Path = "runc", filepath.Join(filepath.Dir(r.Path), "runc")
	os.WriteFile(runc.Path, nil, 0o755)
	if runc.SeccompKey(specWith(deny)) != "" {
		t.Error("runc got a key: it has no precompiled-filter annotation")
	}
	// Another crun binary compiles afresh.
	if err := os.WriteFile(r.Path, []byte("#!/bin/sh\n# newer\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if r.SeccompKey(specWith(deny)) == k1 {
		t.Error("a changed runtime binary keeps the key")
	}
}

func TestSeccompCacheRoundTrip(t *testing.T) {
	r := fakeCrun(t)
	s := specWith(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow})
	key := r.SeccompKey(s)
	if r.UsePrecompiledSeccomp(s, key) {
		t.Fatal("a filter was used before one was saved")
	}
	if err := r.SaveSeccomp("c1", key); err == nil {
		t.Fatal("SaveSeccomp without the runtime's seccomp.bpf succeeded")
	}
	// ld [4]; jeq #AUDIT_ARCH_X86_64, 0, 1; ret #ALLOW; ret #KILL: no
	// shorter when compacted, so kept as it is.
	filter := encodeFilter([]sockFilter{{code: bpfLdAbsW, k: seccompArchOff}, {code: bpfJEQ, jf: 1, k: auditArchX8664}, {code: bpfRetK, k: 0x7fff0000}, {code: bpfRetK}})
	state := filepath.Join(r.Root, "c1")
	os.MkdirAll(state, 0o700)
	// A torn or odd-sized filter is never cached.
	os.WriteFile(filepath.Join(state, "seccomp.bpf"), filter[:11], 0o600)
	if err := r.SaveSeccomp("c1", key); err == nil {
		t.Fatal("an 11-byte filter was cached")
	}
	os.WriteFile(filepath.Join(state, "seccomp.bpf"), filter, 0o600)
	if err := r.SaveSeccomp("c1", key); err != nil {
		t.Fatal(err)
	}
	if err := r.SaveSeccomp("../c1", key); err == nil {
		t.Fatal("a container id with a slash was accepted")
	}
	profile := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86_64},
		Flags:        []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog},
		ListenerPath: "/run/listener.sock", ListenerMetadata: "meta",
		Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}},
	}
	s2 := specWith(profile)
	if !r.UsePrecompiledSeccomp(s2, key) {
		t.Fatal("the saved filter was not used")
	}
	got, err := base64.StdEncoding.DecodeString(s2.Annotations[SeccompBPFAnnotation])
	if err != nil || string(got) != string(filter) {
		t.Fatalf("annotation holds %x (%v), want %x", got, err, filter)
	}
	sc := s2.Linux.Seccomp
	if sc == nil {
		t.Fatal("the seccomp section was dropped (its flags would be lost)")
	}
	// The runtime compiles nothing: the rules are left out, the rest kept.
	if sc.Syscalls != nil {
		t.Errorf("the rules were kept: %v", sc.Syscalls)
	}
	if sc.DefaultAction != specs.ActAllow || len(sc.Flags) != 1 || sc.ListenerPath != profile.ListenerPath ||
		sc.ListenerMetadata != "meta" || len(sc.Architectures) != 1 {
		t.Errorf("seccomp section handed with the filter: %+v", sc)
	}
	if len(profile.Syscalls) != 1 {
		t.Error("the profile the spec was built from lost its rules")
	}
	if r.UsePrecompiledSeccomp(&specs.Spec{}, key) {
		t.Error("a spec without seccomp was handed a filter")
	}
	if r.UsePrecompiledSeccomp(specWith(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow}), "") {
		t.Error("an empty key used a filter")
	}
}

// A runtime replaced under a running berthd (scripts/build-crun.sh installs
// a new crun) keeps running from its pinned copy of the old binary: the
// key is the old binary's until the pinned copy changes, so that a filter
// the old one compiles is never handed out as the new one's.
func TestSeccompKeyFollowsPinnedBinary(t *testing.T) {
	r := fakeCrun(t)
	r.ExecPath = filepath.Join(t.TempDir(), "crun")
	if err := os.WriteFile(r.ExecPath, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := specWith(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow})
	k1 := r.SeccompKey(s)
	if k1 == "" {
		t.Fatal("no key")
	}
	if err := os.WriteFile(r.Path, []byte("#!/bin/sh\n# a new build\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if r.SeccompKey(s) != k1 {
		t.Error("the key changed with the installed binary, although the pinned old one still runs")
	}
	if err := os.WriteFile(r.ExecPath, []byte("#!/bin/sh\n# a new build\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if r.SeccompKey(s) == k1 {
		t.Error("the key did not change when the binary that runs changed")
	}
}
