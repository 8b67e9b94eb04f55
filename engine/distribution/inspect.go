package distribution

import (
	"context"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/api/types/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/engine/images/reference"
	"github.com/berth-dev/berth/internal/errdefs"
)

// DistributionInspect answers GET /distribution/{name}/json (docker-py's
// get_registry_data, compose --resolve-image-digests): the registry's
// descriptor of ref's manifest or index and the platforms it serves,
// asked of the registry (mirrors first, as a pull would) with the
// client's X-Registry-Auth. Nothing is downloaded beyond the manifest
// (and, for a single manifest, its config, which names the platform).
func (s *Service) DistributionInspect(ctx context.Context, ref, registryAuth string) (*registry.DistributionInspect, error) {
	n, err := reference.Parse(ref)
	if err != nil {
		return nil, err
	}
	if reference.Digest(n) == "" {
		n = reference.WithDefaultTag(n)
	}
	p := &puller{s: s, cfg: s.registryCfg(), auth: authenticator(registryAuth)}
	desc, _, err := p.get(ctx, n)
	if err != nil {
		return nil, pullError(n, err)
	}
	out := &registry.DistributionInspect{
		Descriptor: ocispec.Descriptor{MediaType: string(desc.MediaType), Digest: digest.Digest(desc.Digest.String()), Size: desc.Size},
		Platforms:  []ocispec.Platform{},
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		for _, m := range im.Manifests {
			if m.Platform == nil || m.Platform.OS == "unknown" {
				continue // attestations
			}
			out.Platforms = append(out.Platforms, ocispec.Platform{
				OS: m.Platform.OS, Architecture: m.Platform.Architecture, Variant: m.Platform.Variant,
				OSVersion: m.Platform.OSVersion, OSFeatures: m.Platform.OSFeatures,
			})
		}
		return out, nil
	}
	img, err := desc.Image()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, pullError(n, err)
	}
	out.Platforms = append(out.Platforms, ocispec.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant, OSVersion: cf.OSVersion})
	return out, nil
}

// SearchOptions are GET /images/search's parameters.
type SearchOptions struct {
	Term         string
	Limit        int
	RegistryAuth string
	// Filters: is-official, is-automated, stars (validated by the caller).
	Official, Automated *bool
	Stars               int
}

// Search answers `docker search` without Docker Hub: the term's registry
// when it names one ("127.0.0.1:5000/app"), else every configured registry
// (registry-mirrors and insecure-registries given by name), each asked for
// its /v2/_catalog; repositories whose name contains the term are listed
// as "host/repo". Registries keep no stars, descriptions nor official
// marks: star_count is 0 and is_official false. An error names every
// registry that did not answer; none configured is an error too.
func (s *Service) Search(ctx context.Context, o SearchOptions) ([]registry.SearchResult, error) {
	cfg := s.registryCfg()
	term := strings.ToLower(strings.TrimSpace(o.Term))
	if term == "" {
		return nil, errdefs.Invalid("search term must not be empty")
	}
	var hosts []endpoint
	if host, rest, ok := strings.Cut(term, "/"); ok && (strings.ContainsAny(host, ".:") || host == "localhost") {
		hosts = append(hosts, endpoint{host: host, insecure: cfg.insecure(host)})
		term = rest
	} else {
		for _, m := range cfg.mirrors {
			hosts = append(hosts, endpoint{host: m.Host, insecure: m.Scheme == "http" || cfg.insecure(m.Host), plain: m.Scheme == "http"})
		}
		names := make([]string, 0, len(cfg.insecureHosts))
		for h := range cfg.insecureHosts {
			names = append(names, h)
		}
		sort.Strings(names)
		for _, h := range names {
			hosts = append(hosts, endpoint{host: h, insecure: true})
		}
	}
	if len(hosts) == 0 {
		return nil, errdefs.Unavailable("no registry to search: berthd has no Docker Hub access; name a registry in the term (docker search HOST:PORT/%s) or configure registry-mirrors or insecure-registries", term)
	}
	auth := authenticator(o.RegistryAuth)
	results := []registry.SearchResult{}
	seen := map[string]bool{}
	var failed []string
	answered := false
	for _, ep := range hosts {
		var opts []name.Option
		if ep.insecure {
			opts = append(opts, name.Insecure)
		}
		reg, err := name.NewRegistry(ep.host, opts...)
		if err != nil {
			failed = append(failed, ep.host+": "+err.Error())
			continue
		}
		repos, err := remote.Catalog(ctx, reg, ep.remoteOptions(ctx, auth, 0)...)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			failed = append(failed, ep.host+": "+err.Error())
			continue
		}
		answered = true
		for _, r := range repos {
			if !strings.Contains(strings.ToLower(r), term) || seen[ep.host+"/"+r] {
				continue
			}
			seen[ep.host+"/"+r] = true
			res := registry.SearchResult{Name: ep.host + "/" + r}
			if (o.Official != nil && *o.Official) || (o.Automated != nil && *o.Automated) || o.Stars > 0 {
				continue
			}
			results = append(results, res)
		}
	}
	if !answered {
		return nil, errdefs.Unavailable("no registry answered the search: %s", strings.Join(failed, "; "))
	}
	sort.Slice(results, func(i, j int) bool { return results[i].Name < results[j].Name })
	if o.Limit > 0 && len(results) > o.Limit {
		results = results[:o.Limit]
	}
	return results, nil
}
