package e2e

import (
	"debug/elf"
	"path/filepath"
	"testing"
)

// TestHarnessBinariesAsShipped: the harness tests the binaries the Makefile
// makes: berth and berth-monitor static (no program interpreter, as with
// CGO_ENABLED=0), berthd stamped with the version.
func TestHarnessBinariesAsShipped(t *testing.T) {
	requireEnv(t)
	for _, name := range []string{"berth", "berth-monitor"} {
		f, err := elf.Open(filepath.Join(binDir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s is dynamically linked (built with cgo), unlike the one `make` builds", name)
			}
		}
		f.Close()
	}
	d := sharedDaemon(t, "core")
	if out := d.Berth().Must(t, "version", "--format", "{{.Server.Version}}"); out != buildVersion {
		t.Errorf("berthd says version %q, want %q (the VERSION file)", out, buildVersion)
	}
}
