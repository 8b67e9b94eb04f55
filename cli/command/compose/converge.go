package compose

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
)

// converge brings every service to its desired containers: services start
// in parallel, each once its dependencies meet their condition.
func converge(ctx context.Context, c *command.Cli, p *types.Project, existing []container.Summary, o upOptions) error {
	api, _ := c.Client()
	byService := map[string][]container.Summary{}
	for _, ctr := range existing {
		byService[ctr.Labels[labelService]] = append(byService[ctr.Labels[labelService]], ctr)
	}
	done := map[string]chan struct{}{}
	errs := map[string]error{}
	var mu sync.Mutex
	for name := range p.Services {
		done[name] = make(chan struct{})
	}
	var out sync.Mutex
	say := func(format string, a ...any) {
		out.Lock()
		defer out.Unlock()
		fmt.Fprintf(c.Err(), format, a...)
	}
	var wg sync.WaitGroup
	for name, s := range p.Services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[name])
			err := func() error {
				for dep, d := range s.DependsOn {
					ch, ok := done[dep]
					if !ok {
						continue // not selected (--no-deps) or optional
					}
					<-ch
					mu.Lock()
					derr := errs[dep]
					mu.Unlock()
					if derr != nil {
						return fmt.Errorf("dependency %s failed: %w", dep, derr)
					}
					if err := waitCondition(ctx, api, p.Name, dep, d.Condition); err != nil {
						return err
					}
				}
				return convergeService(ctx, api, p, s, byService[name], o, say)
			}()
			mu.Lock()
			errs[name] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	var all []error
	for _, name := range p.ServiceNames() {
		if errs[name] != nil {
			all = append(all, errs[name])
		}
	}
	if len(all) > 0 {
		return errors.Join(all...)
	}
	if o.wait {
		for _, name := range p.ServiceNames() {
			cond := types.ServiceConditionStarted
			if p.Services[name].HealthCheck != nil && !p.Services[name].HealthCheck.Disable {
				cond = types.ServiceConditionHealthy
			}
			if err := waitCondition(ctx, api, p.Name, name, cond); err != nil {
				return err
			}
		}
	}
	return nil
}

func convergeService(ctx context.Context, api *client.Client, p *types.Project, s types.ServiceConfig, have []container.Summary, o upOptions, say func(string, ...any)) error {
	hash, err := ServiceHash(s)
	if err != nil {
		return err
	}
	want := replicas(s)
	used := map[int]bool{}
	// a container of an older image (rebuilt or pulled since) is recreated,
	// as compose does by its com.docker.compose.image label
	imageID := ""
	if img, err := api.ImageInspect(ctx, imageName(p, s)); err == nil {
		imageID = img.ID
	}
	for _, ctr := range have {
		n, _ := strconv.Atoi(ctr.Labels[labelNumber])
		name := canonicalName(ctr)
		if n > want || n < 1 || used[n] {
			say(" Container %s Stopping\n", name)
			if _, err := api.ContainerRemove(ctx, ctr.ID, client.ContainerRemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) {
				return err
			}
			say(" Container %s Removed\n", name)
			continue
		}
		used[n] = true
		stale := ctr.Labels[labelConfigHash] != hash || (imageID != "" && ctr.Labels[labelImage] != imageID)
		recreate := !o.noRecreate && (o.forceRecreate || stale)
		if recreate {
			say(" Container %s Recreate\n", name)
			timeout := stopTimeout(s)
			if _, err := api.ContainerStop(ctx, ctr.ID, client.ContainerStopOptions{Timeout: timeout}); err != nil && !errdefs.IsNotFound(err) {
				return err
			}
			if _, err := api.ContainerRemove(ctx, ctr.ID, client.ContainerRemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) {
				return err
			}
			if err := createAndStart(ctx, api, p, s, n, hash, o, say); err != nil {
				return err
			}
			say(" Container %s Recreated\n", name)
			continue
		}
		if !o.noStart && o.beforeStart != nil {
			if err := o.beforeStart(ctx, ctr.ID, name, s.Name); err != nil {
				return err
			}
		}
		if ctr.State != container.StateRunning && !o.noStart {
			say(" Container %s Starting\n", name)
			if _, err := api.ContainerStart(ctx, ctr.ID, client.ContainerStartOptions{}); err != nil {
				return err
			}
			say(" Container %s Started\n", name)
		} else {
			say(" Container %s Running\n", name)
		}
	}
	var wg sync.WaitGroup
	errc := make(chan error, want)
	for n := 1; n <= want; n++ {
		if used[n] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- createAndStart(ctx, api, p, s, n, hash, o, say)
		}()
	}
	wg.Wait()
	close(errc)
	var errs []error
	for err := range errc {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func stopTimeout(s types.ServiceConfig) *int {
	if s.StopGracePeriod == nil {
		return nil
	}
	t := int(time.Duration(*s.StopGracePeriod).Seconds())
	return &t
}

func createAndStart(ctx context.Context, api *client.Client, p *types.Project, s types.ServiceConfig, n int, hash string, o upOptions, say func(string, ...any)) error {
	s, err := resolveServiceRefs(ctx, api, p.Name, s)
	if err != nil {
		return err
	}
	opts, err := createOptions(p, s, n, hash)
	if err != nil {
		return err
	}
	if img, err := api.ImageInspect(ctx, imageName(p, s)); err == nil {
		opts.Config.Labels[labelImage] = img.ID
	}
	say(" Container %s Creating\n", opts.Name)
	res, err := api.ContainerCreate(ctx, opts)
	if err != nil {
		return fmt.Errorf("Error response from daemon: %w", err)
	}
	say(" Container %s Created\n", opts.Name)
	if o.noStart {
		return nil
	}
	if o.beforeStart != nil {
		if err := o.beforeStart(ctx, res.ID, opts.Name, s.Name); err != nil {
			return err
		}
	}
	say(" Container %s Starting\n", opts.Name)
	if _, err := api.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		return err
	}
	say(" Container %s Started\n", opts.Name)
	return nil
}

// waitCondition blocks until every container of service meets a
// depends_on condition, polling the engine's state.
func waitCondition(ctx context.Context, api *client.Client, project, service, cond string) error {
	for {
		res, err := api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: projectFilter(project).Add("label", labelService+"="+service).Add("label", labelOneoff+"=False")})
		if err != nil {
			return err
		}
		ok := true
		for _, ctr := range res.Items {
			insp, err := api.ContainerInspect(ctx, ctr.ID, client.ContainerInspectOptions{})
			if err != nil {
				return err
			}
			st := insp.Container.State
			name := canonicalName(ctr)
			switch cond {
			case types.ServiceConditionHealthy:
				if st.Health == nil {
					return fmt.Errorf("container %s has no healthcheck configured", name)
				}
				switch st.Health.Status {
				case container.Healthy:
				case container.Unhealthy:
					return fmt.Errorf("dependency failed to start: container %s is unhealthy", name)
				default:
					ok = false
				}
				if !st.Running && st.Health.Status != container.Healthy {
					return fmt.Errorf("dependency failed to start: container %s exited (%d)", name, st.ExitCode)
				}
			case types.ServiceConditionCompletedSuccessfully:
				if st.Running || st.Status == container.StateCreated {
					ok = false
				} else if st.ExitCode != 0 {
					return fmt.Errorf("service %q didn't complete successfully: exit %d", service, st.ExitCode)
				}
			default:
				if !st.Running && st.Status != container.StateExited {
					ok = false
				}
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
