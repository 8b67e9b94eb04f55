package runtime

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Precompiled seccomp filters.
//
// crun compiles the spec's seccomp profile with libseccomp on every create
// (about 17 ms for the default profile on a 2-core machine, the largest
// single step of a start) and leaves the compiled filter in its state
// directory as seccomp.bpf. It also takes a compiled filter through the
// annotation run.oci.seccomp_bpf_data (base64), and then compiles nothing.
// So the first container with a given profile pays the compile; its filter
// is kept per profile beside the runtime's root (a bounded cache: see
// seccomp_prune.go), and later containers with the same profile are
// handed it, compacted (seccomp_compact.go). The key covers everything
// that can change what crun compiles: the profile, the seccomp
// annotations, the crun binary and the libseccomp it loads (a new crun or
// libseccomp compiles afresh). The seccomp section stays in the spec, so
// its flags, listener and default action still apply; only its rule list
// is left out, as crun reads it for nothing but the compile it then skips
// (crun 1.8's container.c and seccomp.c: with the annotation it writes the
// filter to the state's seccomp.bpf, which exec loads too). Parsing those
// rules was the costliest part of Docker's default spec for crun: ~75 page
// faults and ~3 ms of CPU per start here.

// SeccompBPFAnnotation is crun's annotation for a precompiled filter.
const SeccompBPFAnnotation = "run.oci.seccomp_bpf_data"

// bpfInsnSize is the size of one struct sock_filter; BPF_MAXINSNS bounds a
// filter's length.
const (
	bpfInsnSize = 8
	bpfMaxInsns = 4096
)

func (r *Runtime) seccompCacheDir() string { return r.Root + "-seccomp" }

// SeccompKey returns the cache key of spec's seccomp filter, or "" when no
// precompiled filter can be used: no profile, a runtime other than crun, a
// filter already named in the spec's annotations, or a runtime whose
// libseccomp cannot be told.
func (r *Runtime) SeccompKey(spec *specs.Spec) string {
	if r.Root == "" || (r.Name != "crun" && filepath.Base(r.Path) != "crun") {
		return ""
	}
	if spec == nil || spec.Linux == nil || spec.Linux.Seccomp == nil {
		return ""
	}
	h, err := seccompSum(spec.Linux.Seccomp)
	if err != nil {
		return ""
	}
	var keys []string
	for k := range spec.Annotations {
		if k == SeccompBPFAnnotation {
			return ""
		}
		if strings.HasPrefix(k, "run.oci.seccomp") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%q=%q\n", k, spec.Annotations[k])
	}
	if !r.writeRuntimeIdentity(h) {
		return ""
	}
	// Filters cached before they were compacted are not reused.
	fmt.Fprintln(h, seccompLayout)
	return hex.EncodeToString(h.Sum(nil))
}

// UsePrecompiledSeccomp hands the runtime the filter cached under key
// through spec's annotations, and leaves the rules it was compiled from
// out of spec's seccomp section. It reports whether one was cached.
func (r *Runtime) UsePrecompiledSeccomp(spec *specs.Spec, key string) bool {
	if key == "" || spec.Linux == nil || spec.Linux.Seccomp == nil {
		return false
	}
	data, ok := r.precompiledFilter(key)
	if !ok {
		return false
	}
	if spec.Annotations == nil {
		spec.Annotations = map[string]string{}
	}
	spec.Annotations[SeccompBPFAnnotation] = data
	// A copy: the profile may be shared with other specs.
	sc := *spec.Linux.Seccomp
	sc.Syscalls = nil
	spec.Linux.Seccomp = &sc
	return true
}

// SaveSeccomp keeps the filter the runtime compiled when it created the
// container id, compacted (seccomp_compact.go), under key. It writes a
// temp file, syncs and renames it, so a reader never sees a partial
// filter, then bounds the cache (pruneSeccomp).
func (r *Runtime) SaveSeccomp(id, key string) error {
	if key == "" {
		return nil
	}
	if id == "" || strings.ContainsAny(id, "/\x00") || id == "." || id == ".." {
		return errors.New("seccomp cache: bad container id")
	}
	b, err := os.ReadFile(filepath.Join(r.Root, id, "seccomp.bpf"))
	if err != nil {
		return err
	}
	if !validBPF(b) {
		return fmt.Errorf("seccomp cache: %s left a %d-byte filter", r.Name, len(b))
	}
	b = compactFilter(b)
	dir := r.seccompCacheDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-"+key)
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	path := filepath.Join(dir, key+".bpf")
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	filterData.put(path, base64.StdEncoding.EncodeToString(b), time.Now())
	r.pruneSeccomp(key, time.Now())
	return nil
}

// The annotation of a cached filter is the same ~11 KB of base64 at every
// start with its key: reading the file and encoding it again cost ~20 KB
// of garbage a start. So the encoding is kept in memory per file, for
// seccompFilterReread: then the file is read again, which marks it used
// for pruneSeccomp (its access time) and drops the copy if it was pruned.
// The copies are bounded like the files (seccompCacheMax).
const seccompFilterReread = time.Hour

// filterData is the in-memory copy of cached filters' annotations.
var filterData filterMemo

type filterMemo struct {
	sync.Mutex
	m map[string]memoFilter
}

type memoFilter struct {
	data string
	read time.Time
}

func (f *filterMemo) get(path string, now time.Time) (string, bool) {
	f.Lock()
	defer f.Unlock()
	e, ok := f.m[path]
	if !ok || now.Sub(e.read) >= seccompFilterReread || now.Before(e.read) {
		return "", false
	}
	return e.data, true
}

// put keeps data for path, first dropping the oldest copy when
// seccompCacheMax are kept.
func (f *filterMemo) put(path, data string, now time.Time) {
	f.Lock()
	defer f.Unlock()
	if f.m == nil {
		f.m = map[string]memoFilter{}
	}
	if _, ok := f.m[path]; !ok && len(f.m) >= seccompCacheMax {
		oldest := ""
		for p, e := range f.m {
			if oldest == "" || e.read.Before(f.m[oldest].read) {
				oldest = p
			}
		}
		delete(f.m, oldest)
	}
	f.m[path] = memoFilter{data, now}
}

func (f *filterMemo) drop(path string) {
	f.Lock()
	delete(f.m, path)
	f.Unlock()
}

// precompiledFilter returns the annotation of the filter cached under key:
// its in-memory copy, or the file read and encoded.
func (r *Runtime) precompiledFilter(key string) (string, bool) {
	path := filepath.Join(r.seccompCacheDir(), key+".bpf")
	now := time.Now()
	if data, ok := filterData.get(path, now); ok {
		return data, true
	}
	b, err := os.ReadFile(path)
	if err != nil || !validBPF(b) {
		filterData.drop(path)
		return "", false
	}
	data := base64.StdEncoding.EncodeToString(b)
	filterData.put(path, data, now)
	return data, true
}

func validBPF(b []byte) bool {
	return len(b) > 0 && len(b)%bpfInsnSize == 0 && len(b)/bpfInsnSize <= bpfMaxInsns
}
