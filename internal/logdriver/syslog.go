package logdriver

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/logfile"
)

// SyslogConfig is a parsed syslog driver configuration.
type SyslogConfig struct {
	Network  string // "unixgram", "unix", "udp", "tcp"; "" = the local syslog socket
	Address  string // socket path or host:port
	Facility int    // syslog facility number
	Format   string // "", "rfc3164", "rfc5424", "rfc5424micro"
	Tag      string
}

// SyslogOpts are the log-opts the syslog driver applies. Docker's TLS
// options (tcp+tls, syslog-tls-*) are not among them: they are refused.
var SyslogOpts = []string{"syslog-address", "syslog-facility", "syslog-format", "tag"}

var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// localSyslog are the sockets tried when no syslog-address is given, as
// Go's and Docker's syslog clients do.
var localSyslog = []string{"/dev/log", "/var/run/syslog", "/var/run/log"}

// ParseSyslog checks the syslog driver's options (Docker's messages) and
// resolves them. The tag must already be rendered.
func ParseSyslog(opts map[string]string) (SyslogConfig, error) {
	c := SyslogConfig{Facility: facilities["daemon"], Tag: opts["tag"]}
	if addr := opts["syslog-address"]; addr != "" {
		u, err := url.Parse(addr)
		if err != nil {
			return c, err
		}
		switch u.Scheme {
		case "unix", "unixgram":
			c.Network, c.Address = u.Scheme, u.Path
			if c.Address == "" {
				return c, fmt.Errorf("syslog-address should be in form proto://address, got %q", addr)
			}
		case "tcp", "udp":
			c.Network, c.Address = u.Scheme, u.Host
			if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
				c.Address = net.JoinHostPort(u.Host, "514")
			}
		case "tcp+tls":
			return c, errors.New("syslog-address tcp+tls is not supported by berth's syslog driver")
		default:
			return c, errors.New("unsupported scheme: '" + u.Scheme + "'")
		}
	}
	if f := opts["syslog-facility"]; f != "" {
		if n, err := strconv.Atoi(f); err == nil {
			if n < 0 || n > 23 {
				return c, errors.New("invalid syslog facility value")
			}
			c.Facility = n
		} else if n, ok := facilities[f]; ok {
			c.Facility = n
		} else {
			return c, errors.New("invalid syslog facility value")
		}
	}
	switch f := opts["syslog-format"]; f {
	case "", "rfc3164", "rfc5424", "rfc5424micro":
		c.Format = f
	default:
		return c, errors.New("Invalid syslog format")
	}
	return c, nil
}

// CheckSyslog tells whether the configured destination can be used now:
// with no address, a local syslog socket must exist.
func CheckSyslog(c SyslogConfig) error {
	if c.Network != "" {
		return nil
	}
	for _, p := range localSyslog {
		if _, err := os.Stat(p); err == nil {
			return nil
		}
	}
	return errors.New("Unix syslog delivery error")
}

type syslogWriter struct {
	cfg      SyslogConfig
	conn     net.Conn
	stream   bool // newline-framed connection (tcp, unix)
	hostname string
	pid      int
	buf      []byte
}

// NewSyslog connects to the syslog destination and returns a Writer that
// sends one message a line: stdout at severity info, stderr at err.
func NewSyslog(c SyslogConfig) (Writer, error) {
	s := &syslogWriter{cfg: c, pid: os.Getpid()}
	s.hostname, _ = os.Hostname()
	if err := s.connect(); err != nil {
		return nil, err
	}
	return &lineWriter{send: s.send, close: func() error { return s.conn.Close() }}, nil
}

func (s *syslogWriter) connect() error {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
	if s.cfg.Network != "" {
		conn, err := net.DialTimeout(s.cfg.Network, s.cfg.Address, 10*time.Second)
		if err != nil {
			return err
		}
		s.conn, s.stream = conn, s.cfg.Network == "tcp" || s.cfg.Network == "unix"
		return nil
	}
	for _, p := range localSyslog {
		for _, network := range []string{"unixgram", "unix"} {
			if conn, err := net.Dial(network, p); err == nil {
				s.conn, s.stream = conn, network == "unix"
				return nil
			}
		}
	}
	return errors.New("Unix syslog delivery error")
}

func (s *syslogWriter) send(e logfile.Entry, _ bool) error {
	sev := 6 // info
	if e.Stream == "stderr" {
		sev = 3 // err
	}
	s.buf = s.format(s.buf[:0], s.cfg.Facility<<3|sev, e.Time, e.Line)
	if s.stream && (len(s.buf) == 0 || s.buf[len(s.buf)-1] != '\n') {
		s.buf = append(s.buf, '\n')
	}
	if _, err := s.conn.Write(s.buf); err != nil {
		// The syslog daemon may have restarted: reconnect once.
		if cerr := s.connect(); cerr != nil {
			return err
		}
		_, err = s.conn.Write(s.buf)
		return err
	}
	return nil
}

// format renders one message the way Docker's syslog driver does for each
// syslog-format (Docker's default depends on the transport: the local
// format on unix sockets, RFC 3164 with an RFC 3339 time on the network).
func (s *syslogWriter) format(b []byte, pri int, t time.Time, msg []byte) []byte {
	switch s.cfg.Format {
	case "rfc5424", "rfc5424micro":
		layout := time.RFC3339
		if s.cfg.Format == "rfc5424micro" {
			layout = "2006-01-02T15:04:05.000000Z07:00"
		}
		b = fmt.Appendf(b, "<%d>1 %s %s %s %d %s - ", pri, t.Format(layout), s.hostname, s.cfg.Tag, s.pid, s.cfg.Tag)
	case "rfc3164":
		b = fmt.Appendf(b, "<%d>%s %s %s[%d]: ", pri, t.Format(time.Stamp), s.hostname, s.cfg.Tag, s.pid)
	default:
		if s.cfg.Network == "" || strings.HasPrefix(s.cfg.Network, "unix") {
			b = fmt.Appendf(b, "<%d>%s %s[%d]: ", pri, t.Format(time.Stamp), s.cfg.Tag, s.pid)
		} else {
			b = fmt.Appendf(b, "<%d>%s %s %s[%d]: ", pri, t.Format(time.RFC3339), s.hostname, s.cfg.Tag, s.pid)
		}
	}
	return append(b, msg...)
}
