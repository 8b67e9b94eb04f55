package buildkit

import (
	"context"
	"fmt"
	"regexp"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/executor"
	"github.com/moby/buildkit/frontend"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/solver/pb"
)

// dockerfileFrontend is BuildKit's built-in Dockerfile frontend with
// Berth's checks before it runs: a platform other than the host's is
// refused (RUN steps execute natively; there is no emulation), whichever
// client asked (buildx over /grpc, berth build over /build).
type dockerfileFrontend struct{ frontend.Frontend }

func (f dockerfileFrontend) Solve(ctx context.Context, llb frontend.FrontendLLBBridge, exec executor.Executor, opts map[string]string, inputs map[string]*pb.Definition, sid string, sm *session.Manager) (*frontend.Result, error) {
	if p := opts["platform"]; p != "" {
		if err := checkPlatform(p); err != nil {
			return nil, err
		}
	}
	return f.Frontend.Solve(ctx, llb, exec, opts, inputs, sid, sm)
}

// syntaxFrontend serves what a `# syntax=` line (or BUILDKIT_SYNTAX)
// forwards to: docker/dockerfile:1 and its 1.x tags are the built-in
// frontend, so they build offline, without pulling an image; any other
// frontend image goes to BuildKit's gateway, which pulls and runs it, and
// when it cannot, the error says which line asked for it and what to do.
type syntaxFrontend struct {
	builtin, gateway frontend.Frontend
}

func (f syntaxFrontend) Solve(ctx context.Context, llb frontend.FrontendLLBBridge, exec executor.Executor, opts map[string]string, inputs map[string]*pb.Definition, sid string, sm *session.Manager) (*frontend.Result, error) {
	src := opts["source"]
	if builtinSyntax(src) {
		// opts carries "cmdline" now: the built-in frontend does not
		// forward again.
		return f.builtin.Solve(ctx, llb, exec, opts, inputs, sid, sm)
	}
	res, err := f.gateway.Solve(ctx, llb, exec, opts, inputs, sid, sm)
	if err != nil {
		return nil, fmt.Errorf("the Dockerfile frontend %q named by the Dockerfile's `# syntax=` line (or BUILDKIT_SYNTAX) could not be used: %w; remove the line to build with berthd's built-in Dockerfile frontend, or make the image available", src, err)
	}
	return res, nil
}

// builtinTag: the stable 1.x channel (labs and other variants are not
// built in).
var builtinTag = regexp.MustCompile(`^(1(\.[0-9]+){0,2}|latest)$`)

// builtinSyntax reports whether ref names the Dockerfile frontend that is
// built into berthd.
func builtinSyntax(ref string) bool {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return false
	}
	if _, digested := n.(reference.Digested); digested {
		return false
	}
	switch n.Name() {
	case "docker.io/docker/dockerfile", "docker.io/docker/dockerfile-upstream":
	default:
		return false
	}
	tag := "latest"
	if t, ok := n.(reference.Tagged); ok {
		tag = t.Tag()
	}
	return builtinTag.MatchString(tag)
}
