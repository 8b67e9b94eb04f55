package client

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/netip"
	"unicode/utf8"

	"github.com/moby/moby/api/types/container"
)

// decodeRows decodes a /containers/json reply into ps's rows without
// reflection, skipping the fields the table does not show in one pass
// (json.Unmarshal validates the whole reply and then walks it again,
// byte by byte through its scanner's state machine: for 200 containers
// most of the CPU `ps` spent after its start-up). It handles the replies
// daemons send: ok is false on anything else (a syntax error, a key that
// matches a field only case-insensitively, null where a row field is, a
// number out of range, deep nesting) and the caller then decodes with
// json.Unmarshal, which gives its result or its error. FuzzDecodeRows
// checks that whatever decodeRows accepts, json.Unmarshal decodes to the
// same rows.
func decodeRows(data []byte) (rows []containerRow, ok bool) {
	s := rowScanner{b: data}
	s.ws()
	rows = []containerRow{}
	ok = s.array(func() bool {
		var r containerRow
		ok := s.row(&r)
		rows = append(rows, r)
		return ok
	})
	if !ok || !s.end() {
		return nil, false
	}
	return rows, true
}

// maxSkipDepth bounds the nesting decodeRows skips (json.Unmarshal's own
// bound is 10000).
const maxSkipDepth = 100

type rowScanner struct {
	b []byte
	i int
}

func (s *rowScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// byte consumes c if it comes next.
func (s *rowScanner) byte(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (s *rowScanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// object calls field with each key of the object that comes next, the
// scanner then at the key's value, which field consumes.
func (s *rowScanner) object(field func(key []byte) bool) bool {
	return s.list('{', '}', func() bool {
		key, ok := s.strBytes()
		if !ok {
			return false
		}
		s.ws()
		if !s.byte(':') {
			return false
		}
		s.ws()
		return field(key)
	})
}

// array calls elem for each element of the array that comes next.
func (s *rowScanner) array(elem func() bool) bool {
	return s.list('[', ']', elem)
}

// list calls elem for each comma-separated element between open and
// close.
func (s *rowScanner) list(open, close byte, elem func() bool) bool {
	if !s.byte(open) {
		return false
	}
	s.ws()
	if s.byte(close) {
		return true
	}
	for {
		if !elem() {
			return false
		}
		s.ws()
		if s.byte(close) {
			return true
		}
		if !s.byte(',') {
			return false
		}
		s.ws()
	}
}

// rowFields are containerRow's JSON keys.
var rowFields = keys("Id", "Names", "Image", "ImageID", "Command", "Created", "Ports", "SizeRw", "SizeRootFs", "State", "Status")

// portFields are container.PortSummary's JSON keys.
var portFields = keys("IP", "PrivatePort", "PublicPort", "Type")

func keys(names ...string) [][]byte {
	out := make([][]byte, len(names))
	for i, n := range names {
		out[i] = []byte(n)
	}
	return out
}

// other skips the value of a key that is none of fields; a key that
// json.Unmarshal would match to one of them case-insensitively is not
// handled.
func (s *rowScanner) other(key []byte, fields [][]byte) bool {
	// An ASCII key folds only to a field name of its length.
	ascii := isASCII(key)
	for _, f := range fields {
		if (!ascii || len(key) == len(f)) && bytes.EqualFold(key, f) {
			return false
		}
	}
	return s.skip(0)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// strBytes is the string that comes next (an object's key, a value): its
// bytes in the reply, or decoded by json.Unmarshal if it has escapes. One
// that is not UTF-8 is not handled.
func (s *rowScanner) strBytes() ([]byte, bool) {
	start := s.i
	if !s.skipString() {
		return nil, false
	}
	raw := s.b[start+1 : s.i-1]
	if bytes.IndexByte(raw, '\\') >= 0 {
		var v string
		err := json.Unmarshal(s.b[start:s.i], &v)
		return []byte(v), err == nil
	}
	return raw, utf8.Valid(raw)
}

func (s *rowScanner) row(r *containerRow) bool {
	return s.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "Id":
			r.ID, ok = s.str()
		case "Names":
			r.Names, ok = s.strings()
		case "Image":
			r.Image, ok = s.str()
		case "ImageID":
			r.ImageID, ok = s.str()
		case "Command":
			r.Command, ok = s.str()
		case "Created":
			r.Created, ok = s.int64()
		case "Ports":
			r.Ports, ok = s.ports()
		case "SizeRw":
			r.SizeRw, ok = s.int64()
		case "SizeRootFs":
			r.SizeRootFs, ok = s.int64()
		case "State":
			var st string
			st, ok = s.str()
			r.State = container.ContainerState(st)
		case "Status":
			r.Status, ok = s.str()
		default:
			ok = s.other(key, rowFields)
		}
		return ok
	})
}

func (s *rowScanner) strings() ([]string, bool) {
	out := []string{}
	ok := s.array(func() bool {
		v, ok := s.str()
		out = append(out, v)
		return ok
	})
	return out, ok
}

func (s *rowScanner) ports() ([]container.PortSummary, bool) {
	out := []container.PortSummary{}
	ok := s.array(func() bool {
		var p container.PortSummary
		ok := s.object(func(key []byte) bool {
			var ok bool
			switch string(key) {
			case "IP":
				p.IP, ok = s.addr()
			case "PrivatePort":
				p.PrivatePort, ok = s.uint16()
			case "PublicPort":
				p.PublicPort, ok = s.uint16()
			case "Type":
				p.Type, ok = s.str()
			default:
				ok = s.other(key, portFields)
			}
			return ok
		})
		out = append(out, p)
		return ok
	})
	return out, ok
}

// str decodes the string that comes next.
func (s *rowScanner) str() (string, bool) {
	b, ok := s.strBytes()
	return string(b), ok
}

// addr decodes an address as netip.Addr's UnmarshalText does.
func (s *rowScanner) addr() (netip.Addr, bool) {
	v, ok := s.str()
	if !ok || v == "" {
		return netip.Addr{}, ok
	}
	a, err := netip.ParseAddr(v)
	return a, err == nil
}

// integer is the number that comes next if it is an integer of at most
// 18 digits (larger ones are not handled), and whether it is negative.
func (s *rowScanner) integer() (v uint64, neg, ok bool) {
	start := s.i
	if !s.skipNumber() {
		return 0, false, false
	}
	n := s.b[start:s.i]
	if neg = n[0] == '-'; neg {
		n = n[1:]
	}
	if len(n) > 18 {
		return 0, false, false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return 0, false, false // a fraction or an exponent
		}
		v = v*10 + uint64(c-'0')
	}
	return v, neg, true
}

func (s *rowScanner) int64() (int64, bool) {
	v, neg, ok := s.integer()
	if neg {
		return -int64(v), ok
	}
	return int64(v), ok
}

func (s *rowScanner) uint16() (uint16, bool) {
	v, neg, ok := s.integer()
	return uint16(v), ok && !neg && v <= math.MaxUint16
}

// skip passes over the JSON value that comes next, checking its syntax.
func (s *rowScanner) skip(depth int) bool {
	if s.i >= len(s.b) || depth > maxSkipDepth {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.skipString()
	case c == '{':
		// Keys passed over, not decoded: nothing reads them.
		return s.list('{', '}', func() bool {
			if !s.skipString() {
				return false
			}
			s.ws()
			if !s.byte(':') {
				return false
			}
			s.ws()
			return s.skip(depth + 1)
		})
	case c == '[':
		return s.array(func() bool { return s.skip(depth + 1) })
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	default:
		return s.skipNumber()
	}
}

func (s *rowScanner) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// skipString passes over the string that comes next, quotes included.
func (s *rowScanner) skipString() bool {
	if !s.byte('"') {
		return false
	}
	b := s.b
	for s.i < len(b) {
		i := plainRun(b, s.i)
		if i == len(b) {
			break
		}
		c := b[i]
		s.i = i + 1
		switch {
		case c == '"':
			return true
		case c < 0x20:
			return false
		case !s.skipEscape(): // c is '\\'
			return false
		}
	}
	s.i = len(b)
	return false
}

// plainRun returns the index of the first byte from i on that a string
// does not hold as it is (a quote, a backslash or a control character),
// or len(b): eight bytes at a time while none of them is one.
func plainRun(b []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q, bs := x^(ones*'"'), x^(ones*'\\')
		// A byte below 0x20, or equal to '"' or '\\' (zero after the xor),
		// sets its high bit here (bytes of 0x80 and above never do).
		if ((x-ones*0x20)|(q-ones)|(bs-ones))&^x&highs != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c == '"' || c == '\\' {
			return i
		}
	}
	return i
}

// skipEscape passes over what follows a backslash in a string.
func (s *rowScanner) skipEscape() bool {
	if s.i >= len(s.b) {
		return false
	}
	c := s.b[s.i]
	s.i++
	switch c {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return true
	case 'u':
		if len(s.b)-s.i < 4 {
			return false
		}
		for _, h := range s.b[s.i : s.i+4] {
			if !isHex(h) {
				return false
			}
		}
		s.i += 4
		return true
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// skipNumber passes over a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *rowScanner) skipNumber() bool {
	s.byte('-')
	switch {
	case s.byte('0'):
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.byte('.') && !s.digits() {
		return false
	}
	if s.byte('e') || s.byte('E') {
		if !s.byte('+') {
			s.byte('-')
		}
		return s.digits()
	}
	return true
}

// digits passes over one or more decimal digits.
func (s *rowScanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}
