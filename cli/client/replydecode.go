package client

import (
	"bytes"
	"io"
	"slices"

	"github.com/moby/moby/api/types/container"
)

// The create and wait replies are on every `berth run`'s path, the wait
// reply between the container's exit and the CLI's: json's decoder
// built their types' field tables by reflection in each new process,
// ~200,000 instructions each (callgrind), and its allocations. They are
// decoded here when they have the shape berthd and dockerd send (see
// decodeRows for what is not handled), else by encoding/json as before.

var (
	createFields  = keys("Id", "Warnings")
	waitFields    = keys("StatusCode", "Error")
	messageFields = keys("Message")
)

// maxFastReply bounds what readReply reads before it leaves a reply to
// encoding/json.
const maxFastReply = 16 << 10

// decodeFast decodes data, one JSON value and white space, into out as
// json.Unmarshal would; ok is false if out is not a type it knows or
// data is anything it does not handle.
func decodeFast(data []byte, out any) bool {
	s := rowScanner{b: data}
	s.ws()
	switch o := out.(type) {
	case *container.CreateResponse:
		return decodeObject(&s, o, (*rowScanner).createField)
	case *container.WaitResponse:
		return decodeObject(&s, o, (*rowScanner).waitField)
	}
	return false
}

// decodeObject decodes the object s holds, and nothing after it but
// white space, into o with field; o is left as it was if it cannot.
func decodeObject[T any](s *rowScanner, o *T, field func(*rowScanner, []byte, *T) bool) bool {
	r := *o
	ok := s.object(func(key []byte) bool { return field(s, key, &r) }) && s.end()
	if ok {
		*o = r
	}
	return ok
}

func (s *rowScanner) createField(key []byte, r *container.CreateResponse) (ok bool) {
	switch string(key) {
	case "Id":
		r.ID, ok = s.str()
	case "Warnings":
		if s.literal("null") {
			r.Warnings = nil
			return true
		}
		r.Warnings, ok = s.strings()
	default:
		ok = s.other(key, createFields)
	}
	return ok
}

func (s *rowScanner) waitField(key []byte, r *container.WaitResponse) (ok bool) {
	switch string(key) {
	case "StatusCode":
		r.StatusCode, ok = s.int64()
	case "Error":
		if s.literal("null") {
			r.Error = nil
			return true
		}
		if r.Error == nil {
			r.Error = &container.WaitExitError{}
		}
		e := r.Error
		ok = s.object(func(key []byte) bool {
			if string(key) == "Message" {
				var ok bool
				e.Message, ok = s.str()
				return ok
			}
			return s.other(key, messageFields)
		})
	default:
		ok = s.other(key, waitFields)
	}
	return ok
}

// fastReply reports whether decodeFast knows out's type.
func fastReply(out any) bool {
	switch out.(type) {
	case *container.CreateResponse, *container.WaitResponse:
		return true
	}
	return false
}

// readReply reads body until decodeFast decodes what it read into out
// (it does not wait for the end of the body, as json.Decoder does not),
// body ends, or maxFastReply bytes; if not decoded, rest reads the same
// bytes as body did, then the rest of it (or its error).
func readReply(body io.Reader, out any) (rest io.Reader, ok bool) {
	buf := make([]byte, 0, 512)
	for len(buf) < maxFastReply {
		buf = slices.Grow(buf, 512)
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if n > 0 && decodeFast(buf, out) {
			return nil, true
		}
		if err != nil {
			return io.MultiReader(bytes.NewReader(buf), errReader{err}), false
		}
	}
	return io.MultiReader(bytes.NewReader(buf), body), false
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
