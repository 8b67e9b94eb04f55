package api

import (
	"context"
	"net/http"

	"github.com/berth-dev/berth/internal/stdcopy"
	"github.com/moby/moby/api/types/common"
	"github.com/moby/moby/api/types/container"
)

func (s *Server) execRoutes() {
	s.handle("POST /containers/{id}/exec", s.postContainerExec)
	s.handle("POST /exec/{id}/start", s.postExecStart)
	s.handle("POST /exec/{id}/resize", s.postExecResize)
	s.handle("GET /exec/{id}/json", s.getExecJSON)
}

func (s *Server) postContainerExec(w http.ResponseWriter, r *http.Request) error {
	var req container.ExecCreateRequest
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	if err := checkArgs(argList{"Cmd", req.Cmd}, argList{"Env", req.Env}); err != nil {
		return err
	}
	id, err := s.b.Containers.ExecCreate(r.Context(), r.PathValue("id"), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, common.IDResponse{ID: id})
}

func (s *Server) postExecStart(w http.ResponseWriter, r *http.Request) error {
	var req container.ExecStartRequest
	if err := decodeJSON(r, &req, true); err != nil {
		return err
	}
	id := r.PathValue("id")
	tty, err := s.b.Containers.ExecInfo(id)
	if err != nil {
		return err
	}
	tty = tty || req.Tty
	if req.Detach {
		if err := s.b.Containers.ExecStart(context.WithoutCancel(r.Context()), id, tty, req.ConsoleSize, nil); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		return nil
	}
	conn, err := hijack(w, r, !tty)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := s.b.Containers.ExecStart(context.WithoutCancel(r.Context()), id, tty, req.ConsoleSize, conn); err != nil {
		// The stream is already hijacked: report in-band on stdout, as
		// Docker does; the client reads the exit code from exec inspect.
		msg := []byte(err.Error() + "\r\n")
		if tty {
			conn.Write(msg)
		} else {
			stdcopy.WriteFrame(conn, stdcopy.Stdout, msg)
		}
	}
	return nil
}

func (s *Server) postExecResize(w http.ResponseWriter, r *http.Request) error {
	h, wd, err := terminalSize(r)
	if err != nil {
		return err
	}
	if err := s.b.Containers.ExecResize(r.Context(), r.PathValue("id"), h, wd); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) getExecJSON(w http.ResponseWriter, r *http.Request) error {
	x, err := s.b.Containers.ExecInspect(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, x)
}
