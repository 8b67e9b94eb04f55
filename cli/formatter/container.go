package formatter

import (
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/imageref"
	"github.com/moby/moby/api/types/container"
)

const (
	// DefaultContainerTable is `ps`'s default columns.
	DefaultContainerTable = "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
	// QuietContainerFormat is `ps -q`.
	QuietContainerFormat = "{{.ID}}"
)

// containerHeaders are the column titles of ps (a function, as are the
// package's other tables: a package-level map is built at initialisation,
// which every berth command pays).
func containerHeaders() Headers {
	return Headers{
		"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
		"RunningFor": "CREATED", "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES",
		"Size": "SIZE", "Labels": "LABELS", "Label": "LABEL", "Mounts": "MOUNTS",
		"Networks": "NETWORKS", "State": "STATE", "LocalVolumes": "LOCAL VOLUMES",
		"Platform": "PLATFORM",
	}
}

// ContainerFormat picks ps's template from the flags, as docker does.
func ContainerFormat(source string, quiet, size bool) Format {
	switch source {
	case "", TableFormatKey:
		if quiet {
			return QuietContainerFormat
		}
		f := "table " + DefaultContainerTable
		if size {
			f += "\t{{.Size}}"
		}
		return Format(f)
	}
	return Format(source)
}

// ContainerContext is one ps row; its methods are the --format fields.
type ContainerContext struct {
	C     container.Summary
	Trunc bool
	// images memoises Image by image and image ID for the rows of one
	// table (most rows share an image; its parse is a regexp match).
	images map[[2]string]string
}

func (c ContainerContext) MarshalJSON() ([]byte, error) { return MarshalMethods(c) }

func (c ContainerContext) ID() string {
	if c.Trunc {
		return TruncateID(c.C.ID)
	}
	return c.C.ID
}

// Names drops the leading "/" and, when truncating, hides link names
// ("other/alias") like docker.
func (c ContainerContext) Names() string {
	names := make([]string, 0, len(c.C.Names))
	for _, n := range c.C.Names {
		names = append(names, strings.TrimPrefix(n, "/"))
	}
	if !c.Trunc {
		return strings.Join(names, ",")
	}
	for _, n := range names {
		if !strings.Contains(n, "/") {
			return n
		}
	}
	if len(names) > 0 {
		return names[0]
	}
	return ""
}

func (c ContainerContext) Image() string {
	if c.images == nil {
		return c.image()
	}
	key := [2]string{c.C.Image, c.C.ImageID}
	img, ok := c.images[key]
	if !ok {
		img = c.image()
		c.images[key] = img
	}
	return img
}

func (c ContainerContext) image() string {
	img := c.C.Image
	if img == "" {
		return "<no image>"
	}
	if c.Trunc {
		if t := TruncateID(c.C.ImageID); t != "" && t == TruncateID(img) {
			return t
		}
		if ref, err := imageref.ParseNormalizedNamed(img); err == nil {
			if ref.Tag() != "" {
				return ref.FamiliarName() + ":" + ref.Tag()
			}
			return ref.FamiliarName()
		}
	}
	return img
}

func (c ContainerContext) Command() string {
	cmd := c.C.Command
	if c.Trunc {
		cmd = Ellipsis(cmd, 20)
	}
	return strconv.Quote(cmd)
}

func (c ContainerContext) CreatedAt() string { return time.Unix(c.C.Created, 0).String() }

func (c ContainerContext) RunningFor() string { return HumanSince(c.C.Created) }

func (c ContainerContext) Status() string { return c.C.Status }

func (c ContainerContext) State() string { return string(c.C.State) }

func (c ContainerContext) Ports() string { return DisplayablePorts(c.C.Ports) }

func (c ContainerContext) Size() string {
	srw := HumanSize(c.C.SizeRw)
	sv := HumanSize(c.C.SizeRootFs)
	if c.C.SizeRootFs > 0 {
		return fmt.Sprintf("%s (virtual %s)", srw, sv)
	}
	return srw
}

func (c ContainerContext) Labels() string {
	keys := make([]string, 0, len(c.C.Labels))
	for k := range c.C.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+c.C.Labels[k])
	}
	return strings.Join(out, ",")
}

// Label returns one label's value: {{.Label "com.example.x"}}.
func (c ContainerContext) Label(name string) string { return c.C.Labels[name] }

func (c ContainerContext) Mounts() string {
	var out []string
	for _, m := range c.C.Mounts {
		name := m.Name
		if name == "" {
			name = m.Source
		}
		if c.Trunc {
			name = Ellipsis(name, 15)
		}
		out = append(out, name)
	}
	return strings.Join(out, ",")
}

func (c ContainerContext) LocalVolumes() string {
	n := 0
	for _, m := range c.C.Mounts {
		if m.Driver == "local" {
			n++
		}
	}
	return strconv.Itoa(n)
}

func (c ContainerContext) Networks() string {
	if c.C.NetworkSettings == nil {
		return ""
	}
	var nets []string
	for k := range c.C.NetworkSettings.Networks {
		nets = append(nets, k)
	}
	sort.Strings(nets)
	return strings.Join(nets, ",")
}

// DisplayablePorts renders ports as docker's PORTS column: ranges of
// consecutive unpublished ports are grouped ("80-81/tcp"), published ones
// read "0.0.0.0:8080->80/tcp".
func DisplayablePorts(ports []container.PortSummary) string {
	type portGroup struct{ first, last uint16 }
	ports = append([]container.PortSummary(nil), ports...)
	sort.Slice(ports, func(i, j int) bool {
		a, b := ports[i], ports[j]
		if a.PrivatePort != b.PrivatePort {
			return a.PrivatePort < b.PrivatePort
		}
		if a.IP != b.IP {
			return a.IP.Less(b.IP)
		}
		if a.PublicPort != b.PublicPort {
			return a.PublicPort < b.PublicPort
		}
		return a.Type < b.Type
	})
	groups := map[string]*portGroup{}
	var keys, result, hostMappings []string
	for _, p := range ports {
		cur := p.PrivatePort
		key := p.Type
		if p.IP.IsValid() {
			if p.PublicPort != cur {
				hostMappings = append(hostMappings, fmt.Sprintf("%s->%d/%s",
					net.JoinHostPort(p.IP.String(), strconv.Itoa(int(p.PublicPort))), p.PrivatePort, p.Type))
				continue
			}
			key = p.IP.String() + "/" + p.Type
		}
		g := groups[key]
		if g == nil {
			groups[key] = &portGroup{cur, cur}
			keys = append(keys, key)
			continue
		}
		if cur == g.last+1 {
			g.last = cur
			continue
		}
		result = append(result, formGroup(key, g.first, g.last))
		groups[key] = &portGroup{cur, cur}
	}
	for _, k := range keys {
		g := groups[k]
		result = append(result, formGroup(k, g.first, g.last))
	}
	result = append(result, hostMappings...)
	return strings.Join(result, ", ")
}

func formGroup(key string, start, last uint16) string {
	typ, ip := key, ""
	if i := strings.LastIndex(key, "/"); i >= 0 {
		ip, typ = key[:i], key[i+1:]
	}
	group := strconv.Itoa(int(start))
	if start != last {
		group = fmt.Sprintf("%s-%d", group, last)
	}
	if ip != "" {
		group = fmt.Sprintf("%s->%s", net.JoinHostPort(ip, group), group)
	}
	return group + "/" + typ
}

// WriteContainers renders a ps listing.
func WriteContainers(ctx Context, list []container.Summary, trunc bool) error {
	ctx.DefaultTable = DefaultContainerTable
	rows := make([]ContainerContext, 0, len(list))
	images := map[[2]string]string{}
	for _, c := range list {
		rows = append(rows, ContainerContext{C: c, Trunc: trunc, images: images})
	}
	return WriteRows(&ctx, rows, containerHeaders())
}

var _ json.Marshaler = ContainerContext{}
