package api

import (
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/storage"
)

// inspectResponse is a container's inspect in the API 1.47 shape: newer
// API types dropped the top-level NetworkSettings fields (IPAddress,
// Gateway, MacAddress, ...) that 1.47 clients and scripts still read.
type inspectResponse struct {
	*container.InspectResponse
	NetworkSettings *networkSettings147
	Config          *containerConfig147
}

// containerConfig147 is container.Config as 1.47 encodes it: OnBuild is
// sent as null rather than left out.
type containerConfig147 struct {
	*container.Config
	OnBuild []string
}

type networkSettings147 struct {
	Bridge                 string
	SandboxID              string
	SandboxKey             string
	HairpinMode            bool
	LinkLocalIPv6Address   string
	LinkLocalIPv6PrefixLen int
	Ports                  network.PortMap
	SecondaryIPAddresses   []any
	SecondaryIPv6Addresses []any
	EndpointID             string
	Gateway                string
	GlobalIPv6Address      string
	GlobalIPv6PrefixLen    int
	IPAddress              string
	IPPrefixLen            int
	IPv6Gateway            string
	MacAddress             string
	Networks               map[string]*network.EndpointSettings
}

func addrString(a interface {
	IsValid() bool
	String() string
}) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// legacyInspect fills the 1.47 top-level network fields from the default
// bridge network's endpoint, as Docker does.
func legacyInspect(c *container.InspectResponse) *inspectResponse {
	out := &inspectResponse{InspectResponse: c}
	if c.Config != nil {
		out.Config = &containerConfig147{Config: c.Config, OnBuild: c.Config.OnBuild}
	}
	ns := c.NetworkSettings
	if ns == nil {
		return out
	}
	l := &networkSettings147{SandboxID: ns.SandboxID, SandboxKey: ns.SandboxKey, Ports: ns.Ports, Networks: ns.Networks}
	if ep, ok := ns.Networks["bridge"]; ok && ep != nil {
		l.EndpointID = ep.EndpointID
		l.Gateway = addrString(ep.Gateway)
		l.IPAddress = addrString(ep.IPAddress)
		l.IPPrefixLen = ep.IPPrefixLen
		l.IPv6Gateway = addrString(ep.IPv6Gateway)
		l.GlobalIPv6Address = addrString(ep.GlobalIPv6Address)
		l.GlobalIPv6PrefixLen = ep.GlobalIPv6PrefixLen
		l.MacAddress = ep.MacAddress.String()
	}
	out.NetworkSettings = l
	return out
}

// imageInspect147 is an image's inspect in the API 1.47 shape: every key
// dockerd sends is present, null when unset (docker-py indexes them), and
// Container/ContainerConfig only for clients older than 1.45, as dockerd.
type imageInspect147 struct {
	ID              string `json:"Id"`
	RepoTags        []string
	RepoDigests     []string
	Parent          string
	Comment         string
	Created         string
	Container       *string         `json:",omitempty"`
	ContainerConfig *imageConfig147 `json:",omitempty"`
	DockerVersion   string
	Author          string
	Config          *imageConfig147
	Architecture    string
	Variant         string `json:",omitempty"`
	Os              string
	OsVersion       string `json:",omitempty"`
	Size            int64
	VirtualSize     *int64 `json:",omitempty"`
	GraphDriver     *storage.DriverData
	RootFS          image.RootFS
	Metadata        image.Metadata
}

// imageConfig147 is container.Config as API 1.47 encodes an image's
// config: OnBuild is not omitted there.
type imageConfig147 struct {
	Hostname     string
	Domainname   string
	User         string
	AttachStdin  bool
	AttachStdout bool
	AttachStderr bool
	ExposedPorts map[string]struct{} `json:",omitempty"`
	Tty          bool
	OpenStdin    bool
	StdinOnce    bool
	Env          []string
	Cmd          []string
	Healthcheck  any  `json:",omitempty"`
	ArgsEscaped  bool `json:",omitempty"`
	Image        string
	Volumes      map[string]struct{}
	WorkingDir   string
	Entrypoint   []string
	OnBuild      []string
	Labels       map[string]string
	StopSignal   string   `json:",omitempty"`
	Shell        []string `json:",omitempty"`
}

func imageConfigOf(c *dockerspec.DockerOCIImageConfig) *imageConfig147 {
	out := &imageConfig147{
		User: c.User, Env: c.Env, Cmd: c.Cmd, ArgsEscaped: c.ArgsEscaped, Volumes: c.Volumes,
		WorkingDir: c.WorkingDir, Entrypoint: c.Entrypoint, OnBuild: c.OnBuild, Labels: c.Labels,
		StopSignal: c.StopSignal, Shell: c.Shell,
	}
	if len(c.ExposedPorts) > 0 {
		out.ExposedPorts = c.ExposedPorts
	}
	if c.Healthcheck != nil {
		out.Healthcheck = c.Healthcheck
	}
	return out
}

// legacyImageInspect renders resp for the client's API version.
func legacyImageInspect(resp *image.InspectResponse, parent, version string) *imageInspect147 {
	out := &imageInspect147{
		ID: resp.ID, RepoTags: resp.RepoTags, RepoDigests: resp.RepoDigests, Parent: parent,
		Comment: resp.Comment, Created: resp.Created, Author: resp.Author,
		Architecture: resp.Architecture, Variant: resp.Variant, Os: resp.Os, OsVersion: resp.OsVersion,
		Size: resp.Size, GraphDriver: resp.GraphDriver, RootFS: resp.RootFS, Metadata: resp.Metadata,
		Config: &imageConfig147{},
	}
	if out.RepoTags == nil {
		out.RepoTags = []string{}
	}
	if out.RepoDigests == nil {
		out.RepoDigests = []string{}
	}
	if resp.Config != nil {
		out.Config = imageConfigOf(resp.Config)
	}
	if compareVersions(version, "1.45") < 0 {
		empty := ""
		out.Container = &empty
		out.ContainerConfig = &imageConfig147{}
	}
	if compareVersions(version, "1.44") < 0 {
		size := resp.Size
		out.VirtualSize = &size
	}
	return out
}
