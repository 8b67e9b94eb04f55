package logdriver

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"strings"

	"github.com/berth-dev/berth/internal/logfile"
)

// JournalSocket is journald's native protocol socket.
const JournalSocket = "/run/systemd/journal/socket"

// JournaldOpts are the log-opts the journald driver applies.
var JournaldOpts = []string{"tag"}

// CheckJournald tells whether journald runs on this host (Docker's message).
func CheckJournald() error {
	if _, err := os.Stat(JournalSocket); err != nil {
		return errors.New("journald is not enabled on this host")
	}
	return nil
}

// NewJournald returns a Writer that sends one journal entry a line over
// journald's native protocol on socket, with fields (CONTAINER_ID,
// CONTAINER_NAME, SYSLOG_IDENTIFIER, ... resolved by berthd) on every entry,
// PRIORITY 6 for stdout and 3 for stderr, and CONTAINER_PARTIAL_MESSAGE on
// pieces of long lines, as Docker's journald driver writes them.
func NewJournald(socket string, fields map[string]string) (Writer, error) {
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return nil, errors.New("journald is not enabled on this host")
	}
	var common []byte
	for k, v := range fields {
		common = appendField(common, k, v)
	}
	var buf []byte
	send := func(e logfile.Entry, partial bool) error {
		buf = append(buf[:0], common...)
		buf = appendField(buf, "MESSAGE", string(e.Line))
		if e.Stream == "stderr" {
			buf = appendField(buf, "PRIORITY", "3")
		} else {
			buf = appendField(buf, "PRIORITY", "6")
		}
		if partial {
			buf = appendField(buf, "CONTAINER_PARTIAL_MESSAGE", "true")
		}
		_, err := conn.Write(buf)
		return err
	}
	return &lineWriter{send: send, close: conn.Close}, nil
}

// appendField encodes one field of the native protocol: KEY=value, or for a
// value holding a newline KEY, newline, its length as 64-bit little endian,
// the value, newline.
func appendField(b []byte, k, v string) []byte {
	if !strings.Contains(v, "\n") {
		b = append(b, k...)
		b = append(b, '=')
		b = append(b, v...)
		return append(b, '\n')
	}
	b = append(b, k...)
	b = append(b, '\n')
	b = binary.LittleEndian.AppendUint64(b, uint64(len(v)))
	b = append(b, v...)
	return append(b, '\n')
}
