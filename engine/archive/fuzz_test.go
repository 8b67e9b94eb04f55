package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"testing"
)

// FuzzCopyIn feeds arbitrary tar streams to CopyIn: whatever they hold, the
// host side of the fixture must stay exactly as it was, and nothing may
// panic. Run with: go test -fuzz FuzzCopyIn ./engine/archive/
func FuzzCopyIn(f *testing.F) {
	seeds := [][]byte{
		mkTar(f, file("a", "x"), &tar.Header{Name: "dir/", Typeflag: tar.TypeDir, Mode: 0o755}, file("dir/b", "y")),
		mkTar(f, file("../escape", "x")),
		mkTar(f, &tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/"}, file("l/x", "x")),
		mkTar(f, &tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../../../../.."}, file("l/hostdir/secret.txt", "x")),
		mkTar(f, &tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../secret.txt"}),
		mkTar(f, file("d", "x"), &tar.Header{Name: "d/", Typeflag: tar.TypeDir}, file("d/f", "z")),
		mkTar(f, &tar.Header{Name: "n", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}, &tar.Header{Name: "p", Typeflag: tar.TypeFifo}),
		{},
	}
	for _, s := range seeds {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, toRoot bool) {
		fx := newFixture(t)
		dst := "/d"
		if toRoot {
			dst = "/"
		}
		_ = CopyIn(context.Background(), fx.rootfs, nil, dst, bytes.NewReader(data), false, true)
		fx.hostUntouched(t)
	})
}
