package runtime

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// specBufs hold WriteSpec's encodings between starts: json.Marshal's
// result (~15 KB for Docker's default spec, more with a filter's
// annotation) was new garbage at every start.
var specBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxKeptSpecBuf is the largest buffer specBufs keeps.
const maxKeptSpecBuf = 256 << 10

// WriteSpec writes spec as the bundle's config.json in dir, encoded as
// json.Marshal encodes it. The bundle is made afresh for each start into a
// state directory emptied for it (nothing reads it before the monitor
// runs): written in place, no temporary file, rename or fsync.
func WriteSpec(dir string, spec *specs.Spec) error {
	buf := specBufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxKeptSpecBuf {
			specBufs.Put(buf)
		}
	}()
	if err := json.NewEncoder(buf).Encode(spec); err != nil {
		return err
	}
	// Encode ends the document with a newline that Marshal leaves out.
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600)
}
