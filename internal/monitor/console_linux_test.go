package monitor

import (
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPty returns a pty master (non-blocking, in Go's poller, as
// RecvConsole returns it) and its slave.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Skip("no pty here:", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	master = os.NewFile(uintptr(fd), "ptmx")
	t.Cleanup(func() { master.Close(); slave.Close() })
	return master, slave
}

// A reader interrupted by a past deadline (how an exec's stream ends once
// its process exited) loses nothing: DrainAvailable takes what the pty
// holds, and returns rather than wait while the slave is still open (a
// background process may hold it forever).
func TestDrainAvailableAfterDeadline(t *testing.T) {
	master, slave := openPty(t)
	if _, err := slave.Write([]byte("last words\n")); err != nil {
		t.Fatal(err)
	}
	master.SetReadDeadline(time.Unix(1, 0))
	buf := make([]byte, 4)
	if _, err := master.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with a past deadline: %v, want deadline exceeded", err)
	}
	var got []byte
	done := make(chan error, 1)
	go func() {
		done <- DrainAvailable(master, buf, func(p []byte) { got = append(got, p...) })
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("DrainAvailable waited for more while the slave stayed open")
	}
	if string(got) != "last words\r\n" {
		t.Fatalf("drained %q, want the line written before the deadline", got)
	}
	// Once the slave is closed, the master ends (EIO) and drains nothing.
	slave.Close()
	got = nil
	if err := DrainAvailable(master, buf, func(p []byte) { got = append(got, p...) }); err != nil || len(got) != 0 {
		t.Fatalf("drain after the slave closed: %q, %v", got, err)
	}
}
