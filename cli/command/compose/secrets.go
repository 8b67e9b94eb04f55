package compose

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/moby/api/types/mount"
)

// fileMounts bind-mounts a service's file-based secrets (at
// /run/secrets/<name>, or their target) and configs (at /<name>, or their
// target) read-only, as docker compose does.
func fileMounts(p *types.Project, s types.ServiceConfig) ([]mount.Mount, error) {
	var out []mount.Mount
	for _, ref := range s.Secrets {
		def, ok := p.Secrets[ref.Source]
		if !ok {
			return nil, fmt.Errorf("service %q refers to undefined secret %s: invalid compose project", s.Name, ref.Source)
		}
		out = append(out, mount.Mount{Type: mount.TypeBind, Source: def.File,
			Target: fileTarget("/run/secrets/", ref.Source, ref.Target), ReadOnly: true})
	}
	for _, ref := range s.Configs {
		def, ok := p.Configs[ref.Source]
		if !ok {
			return nil, fmt.Errorf("service %q refers to undefined config %s: invalid compose project", s.Name, ref.Source)
		}
		out = append(out, mount.Mount{Type: mount.TypeBind, Source: def.File,
			Target: fileTarget("/", ref.Source, ref.Target), ReadOnly: true})
	}
	return out, nil
}

func fileTarget(base, source, target string) string {
	switch {
	case target == "":
		return base + source
	case path.IsAbs(target):
		return target
	}
	return base + target
}

// checkFiles refuses, before anything is created, secrets and configs
// berth compose cannot provide: those not backed by a file (external,
// environment, inline content, drivers), ownership or mode settings a
// read-only bind mount cannot honour, and missing files.
func checkFiles(p *types.Project) error {
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		for _, ref := range s.Secrets {
			def := p.Secrets[ref.Source]
			if err := checkFileObject("secret", ref.Source, types.FileObjectConfig(def), types.FileReferenceConfig(ref)); err != nil {
				return err
			}
		}
		for _, ref := range s.Configs {
			def := p.Configs[ref.Source]
			if err := checkFileObject("config", ref.Source, types.FileObjectConfig(def), types.FileReferenceConfig(ref)); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkFileObject(kind, name string, def types.FileObjectConfig, ref types.FileReferenceConfig) error {
	var bad []string
	switch {
	case bool(def.External):
		return fmt.Errorf("unsupported external %s %s", kind, def.Name)
	case def.Driver != "":
		return fmt.Errorf("Docker Compose does not support %ss.*.driver", kind)
	case def.TemplateDriver != "":
		return fmt.Errorf("Docker Compose does not support %ss.*.template_driver", kind)
	case def.Environment != "":
		bad = append(bad, kind+"s from environment")
	case def.Content != "":
		bad = append(bad, kind+"s with inline content")
	}
	if ref.UID != "" || ref.GID != "" || ref.Mode != nil {
		bad = append(bad, kind+" uid, gid and mode (the file is bind-mounted read-only)")
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s %q: berth compose does not support %s yet", kind, name, strings.Join(bad, ", "))
	}
	if def.File == "" {
		return fmt.Errorf("%s %q: no file given", kind, name)
	}
	if _, err := os.Stat(def.File); err != nil {
		return fmt.Errorf("%s file %s does not exist", kind, def.File)
	}
	return nil
}

// resolveServiceRefs turns the references to other services' containers
// (volumes_from: [svc]) into container IDs, as compose
// does when it creates the container.
func resolveServiceRefs(ctx context.Context, api *client.Client, project string, s types.ServiceConfig) (types.ServiceConfig, error) {
	resolve := func(svc string) (string, error) {
		ctr, err := serviceContainer(ctx, api, project, svc, 0, true)
		if err != nil {
			return "", fmt.Errorf("service %q: %w", s.Name, err)
		}
		return ctr.ID, nil
	}
	if len(s.VolumesFrom) > 0 {
		vf := make([]string, 0, len(s.VolumesFrom))
		for _, v := range s.VolumesFrom {
			if rest, ok := strings.CutPrefix(v, "container:"); ok {
				vf = append(vf, rest)
				continue
			}
			svc, mode, _ := strings.Cut(v, ":")
			id, err := resolve(svc)
			if err != nil {
				return s, err
			}
			if mode != "" {
				id += ":" + mode
			}
			vf = append(vf, id)
		}
		s.VolumesFrom = vf
	}
	return s, nil
}
