package archive

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Inflating gzip is, after creating the files, the biggest cost of a
// pull: on the Debian minbase layer (54 MB of gzip, 128 MB of tar) Go's
// fastest inflate (klauspost/compress) takes ~0.7 s of CPU, ISA-L's
// igzip ~0.22 s. As dockerd and containerd run unpigz when it is
// installed, berthd runs igzip for layer streams when it is in PATH
// (Debian package isal); BERTH_DISABLE_IGZIP=1 turns that off. The
// decoder works on hostile input, so it runs with nothing it does not
// need: as nobody (when berthd is root), no environment, only its two
// pipes. Its output is checked as the in-process decoder's is (the
// layer's diff ID), and the compressed stream's digest is checked by
// the caller.
var gunzipPath = sync.OnceValue(func() string {
	if os.Getenv("BERTH_DISABLE_IGZIP") != "" {
		return ""
	}
	p, err := exec.LookPath("igzip")
	if err != nil {
		return ""
	}
	return p
})

// gunzipPipeSize is the size asked for both pipes: fewer, bigger reads
// and writes than the default 64 KiB.
const gunzipPipeSize = 1 << 20

// gunzipReader is the decoded stream: igzip's stdout.
type gunzipReader struct {
	cmd    *exec.Cmd
	out    *os.File
	stderr strings.Builder
	fed    chan struct{} // closed when the input copy has stopped reading src
	once   sync.Once
	err    error
}

func startGunzip(path string, src io.Reader) (io.ReadCloser, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	for _, f := range []*os.File{inW, outR} {
		setPipeSize(f)
	}
	g := &gunzipReader{out: outR, fed: make(chan struct{})}
	g.cmd = exec.Command(path, "-d", "-c", "-q")
	g.cmd.Stdin, g.cmd.Stdout, g.cmd.Stderr = inR, outW, &limitedBuilder{b: &g.stderr, left: 1024}
	g.cmd.Env = []string{}
	g.cmd.Dir = "/"
	g.cmd.WaitDelay = 5 * time.Second
	if os.Geteuid() == 0 {
		g.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	err = g.cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	go g.feed(src, inW)
	return g, nil
}

// feed copies the compressed stream into igzip until src ends or igzip
// stops reading.
func (g *gunzipReader) feed(src io.Reader, in *os.File) {
	defer close(g.fed)
	_, _ = io.Copy(in, src)
	in.Close()
}

func (g *gunzipReader) Read(p []byte) (int, error) {
	n, err := g.out.Read(p)
	if errors.Is(err, io.EOF) {
		if werr := g.wait(false); werr != nil {
			return n, werr
		}
	}
	return n, err
}

// wait ends the decoder (killing it first if asked) and waits for it and
// for the input copy; it returns the decoder's failure, in its words.
func (g *gunzipReader) wait(kill bool) error {
	g.once.Do(func() {
		if kill {
			_ = g.cmd.Process.Kill()
		}
		// igzip gone, the copy's next write fails: it stops at the
		// read of src in progress.
		werr := g.cmd.Wait()
		<-g.fed
		if werr != nil && !kill {
			msg := strings.TrimSpace(g.stderr.String())
			if msg == "" {
				msg = werr.Error()
			}
			g.err = fmt.Errorf("invalid gzip stream: %s", strings.TrimPrefix(msg, "igzip: "))
		}
	})
	return g.err
}

func (g *gunzipReader) Close() error {
	g.wait(true)
	return g.out.Close()
}

func setPipeSize(f *os.File) {
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, gunzipPipeSize)
		})
	}
}

// limitedBuilder keeps the first bytes written to it and drops the rest.
type limitedBuilder struct {
	b    *strings.Builder
	left int
}

func (l *limitedBuilder) Write(p []byte) (int, error) {
	k := min(len(p), l.left)
	l.b.Write(p[:k])
	l.left -= k
	return len(p), nil
}
