package containers

import (
	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/moby/moby/api/types/container"
)

// chooseRuntime picks the runtime of a new container from --runtime and
// --isolation (or the daemon's default-isolation), records the isolation
// in hc.Isolation ("sandbox" for runsc, as inspect shows it) and refuses
// what the sandbox cannot run.
func (s *Service) chooseRuntime(hc *container.HostConfig) (string, error) {
	iso, err := runtime.NormalizeIsolation(string(hc.Isolation))
	if err != nil {
		return "", errdefs.Invalid("%s", err.Error())
	}
	rtName := hc.Runtime
	defaultRuntime, defaultIsolation := s.runtimes.Defaults()
	if iso == "" && rtName == "" {
		iso = defaultIsolation
	}
	switch {
	case iso == runtime.IsolationSandbox && rtName == "":
		if !s.runtimes.Known(runtime.RunscName) {
			return "", errdefs.Invalid("isolation %q needs the sandbox runtime runsc, which is not installed: %s", hc.Isolation, runtime.RunscHint)
		}
		rtName = runtime.RunscName
	case iso == runtime.IsolationSandbox && !s.runtimes.IsSandbox(rtName):
		return "", errdefs.Invalid("conflicting options: --isolation=%s runs under runsc, not runtime %s", hc.Isolation, rtName)
	case iso == runtime.IsolationProcess && rtName != "" && s.runtimes.IsSandbox(rtName):
		return "", errdefs.Invalid("conflicting options: --isolation=process cannot run under the sandbox runtime %s", rtName)
	case rtName == "":
		rtName = defaultRuntime
	}
	if _, err := s.runtimes.Get(rtName); err != nil {
		return "", errdefs.Invalid("%s", err.Error())
	}
	if s.runtimes.IsSandbox(rtName) {
		if err := runtime.CheckSandbox(hc); err != nil {
			return "", errdefs.Invalid("%s", err.Error())
		}
		hc.Isolation = runtime.IsolationSandbox
	}
	return rtName, nil
}
