package build

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// A BuildKit build streams its progress as BuildKit's StatusResponse
// protobuf messages (aux id "moby.buildkit.trace", as dockerd sends them).
// The berth client must not link BuildKit (or protobuf's runtime, whose
// init hashes the executable), so it reads the few fields it renders with
// this small decoder of the wire format; unknown fields are skipped, so a
// newer daemon's additions do not break it.

// solveStatus is one decoded StatusResponse; the JSON names are those of
// BuildKit's client.SolveStatus, which --progress=rawjson prints.
type solveStatus struct {
	Vertexes []*vertex       `json:"vertexes,omitempty"`
	Statuses []*vertexStatus `json:"statuses,omitempty"`
	Logs     []*vertexLog    `json:"logs,omitempty"`
	Warnings []*vertexWarn   `json:"warnings,omitempty"`
}

type vertex struct {
	Digest    string     `json:"digest"`
	Inputs    []string   `json:"inputs,omitempty"`
	Name      string     `json:"name,omitempty"`
	Started   *time.Time `json:"started,omitempty"`
	Completed *time.Time `json:"completed,omitempty"`
	Cached    bool       `json:"cached,omitempty"`
	Error     string     `json:"error,omitempty"`
}

type vertexStatus struct {
	ID        string     `json:"id"`
	Vertex    string     `json:"vertex"`
	Name      string     `json:"name,omitempty"`
	Total     int64      `json:"total,omitempty"`
	Current   int64      `json:"current"`
	Timestamp time.Time  `json:"timestamp"`
	Started   *time.Time `json:"started,omitempty"`
	Completed *time.Time `json:"completed,omitempty"`
}

type vertexLog struct {
	Vertex    string    `json:"vertex"`
	Stream    int       `json:"stream"`
	Data      []byte    `json:"data"`
	Timestamp time.Time `json:"timestamp"`
}

type vertexWarn struct {
	Vertex string   `json:"vertex"`
	Level  int      `json:"level"`
	Short  []byte   `json:"short"`
	Detail [][]byte `json:"detail,omitempty"`
	URL    string   `json:"url,omitempty"`
}

var errTrace = errors.New("malformed BuildKit status message")

// field is one protobuf field: its number, and either its varint value or
// its length-delimited bytes.
type field struct {
	num   int
	wire  int
	v     uint64
	bytes []byte
}

// fields walks the protobuf message b field by field.
func fields(b []byte, each func(f field) error) error {
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 || tag>>3 == 0 || tag>>3 > math.MaxInt32 {
			return errTrace
		}
		b = b[n:]
		f := field{num: int(tag >> 3), wire: int(tag & 7)}
		switch f.wire {
		case 0: // varint
			if f.v, n = binary.Uvarint(b); n <= 0 {
				return errTrace
			}
			b = b[n:]
		case 1: // fixed64
			if len(b) < 8 {
				return errTrace
			}
			f.v, b = binary.LittleEndian.Uint64(b), b[8:]
		case 2: // length-delimited
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return errTrace
			}
			f.bytes, b = b[n:n+int(l)], b[n+int(l):]
		case 5: // fixed32
			if len(b) < 4 {
				return errTrace
			}
			f.v, b = uint64(binary.LittleEndian.Uint32(b)), b[4:]
		default:
			return errTrace
		}
		if err := each(f); err != nil {
			return err
		}
	}
	return nil
}

// decodeStatus decodes an encoded StatusResponse.
func decodeStatus(b []byte) (*solveStatus, error) {
	s := &solveStatus{}
	err := fields(b, func(f field) error {
		if f.wire != 2 {
			return nil
		}
		var err error
		switch f.num {
		case 1:
			v := &vertex{}
			err = decodeVertex(f.bytes, v)
			s.Vertexes = append(s.Vertexes, v)
		case 2:
			v := &vertexStatus{}
			err = decodeVertexStatus(f.bytes, v)
			s.Statuses = append(s.Statuses, v)
		case 3:
			v := &vertexLog{}
			err = decodeVertexLog(f.bytes, v)
			s.Logs = append(s.Logs, v)
		case 4:
			v := &vertexWarn{}
			err = decodeVertexWarn(f.bytes, v)
			s.Warnings = append(s.Warnings, v)
		}
		return err
	})
	return s, err
}

func decodeVertex(b []byte, v *vertex) error {
	return fields(b, func(f field) error {
		switch {
		case f.num == 1 && f.wire == 2:
			v.Digest = string(f.bytes)
		case f.num == 2 && f.wire == 2:
			v.Inputs = append(v.Inputs, string(f.bytes))
		case f.num == 3 && f.wire == 2:
			v.Name = string(f.bytes)
		case f.num == 4 && f.wire == 0:
			v.Cached = f.v != 0
		case f.num == 5 && f.wire == 2:
			return decodeTimePtr(f.bytes, &v.Started)
		case f.num == 6 && f.wire == 2:
			return decodeTimePtr(f.bytes, &v.Completed)
		case f.num == 7 && f.wire == 2:
			v.Error = string(f.bytes)
		}
		return nil
	})
}

func decodeVertexStatus(b []byte, v *vertexStatus) error {
	return fields(b, func(f field) error {
		switch {
		case f.num == 1 && f.wire == 2:
			v.ID = string(f.bytes)
		case f.num == 2 && f.wire == 2:
			v.Vertex = string(f.bytes)
		case f.num == 3 && f.wire == 2:
			v.Name = string(f.bytes)
		case f.num == 4 && f.wire == 0:
			v.Current = int64(f.v)
		case f.num == 5 && f.wire == 0:
			v.Total = int64(f.v)
		case f.num == 6 && f.wire == 2:
			return decodeTime(f.bytes, &v.Timestamp)
		case f.num == 7 && f.wire == 2:
			return decodeTimePtr(f.bytes, &v.Started)
		case f.num == 8 && f.wire == 2:
			return decodeTimePtr(f.bytes, &v.Completed)
		}
		return nil
	})
}

func decodeVertexLog(b []byte, v *vertexLog) error {
	return fields(b, func(f field) error {
		switch {
		case f.num == 1 && f.wire == 2:
			v.Vertex = string(f.bytes)
		case f.num == 2 && f.wire == 2:
			return decodeTime(f.bytes, &v.Timestamp)
		case f.num == 3 && f.wire == 0:
			v.Stream = int(f.v)
		case f.num == 4 && f.wire == 2:
			v.Data = append([]byte(nil), f.bytes...)
		}
		return nil
	})
}

func decodeVertexWarn(b []byte, v *vertexWarn) error {
	return fields(b, func(f field) error {
		switch {
		case f.num == 1 && f.wire == 2:
			v.Vertex = string(f.bytes)
		case f.num == 2 && f.wire == 0:
			v.Level = int(f.v)
		case f.num == 3 && f.wire == 2:
			v.Short = append([]byte(nil), f.bytes...)
		case f.num == 4 && f.wire == 2:
			v.Detail = append(v.Detail, append([]byte(nil), f.bytes...))
		case f.num == 5 && f.wire == 2:
			v.URL = string(f.bytes)
		}
		return nil
	})
}

// decodeTime reads a google.protobuf.Timestamp.
func decodeTime(b []byte, t *time.Time) error {
	var sec, nsec int64
	err := fields(b, func(f field) error {
		switch {
		case f.num == 1 && f.wire == 0:
			sec = int64(f.v)
		case f.num == 2 && f.wire == 0:
			nsec = int64(int32(f.v))
		}
		return nil
	})
	*t = time.Unix(sec, nsec)
	return err
}

func decodeTimePtr(b []byte, t **time.Time) error {
	var v time.Time
	err := decodeTime(b, &v)
	*t = &v
	return err
}
