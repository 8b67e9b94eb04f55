package client

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"

	"github.com/moby/moby/api/types/container"
)

// createBody is json.Marshal(r), byte for byte (a test holds the two
// equal with every field set), written field by field: json.Marshal
// builds its encoders for these large types by reflection in each new
// process, about 3 million instructions and their allocations, most of a
// `berth run`'s own work. Field values other than strings, numbers and
// booleans still go through json.Marshal, which then builds encoders only
// for the types in use.
func createBody(r container.CreateRequest) ([]byte, error) {
	o := jsonObj{b: make([]byte, 0, 2048)}
	o.b = append(o.b, '{')
	if r.Config != nil {
		encodeConfig(&o, r.Config)
	}
	if r.HostConfig != nil {
		o.key("HostConfig")
		h := jsonObj{b: append(o.b, '{'), err: o.err}
		encodeHostConfig(&h, r.HostConfig)
		o.b, o.err = append(h.b, '}'), h.err
	}
	if r.NetworkingConfig != nil {
		o.key("NetworkingConfig")
		n := jsonObj{b: append(o.b, '{'), err: o.err}
		dict(&n, "EndpointsConfig", r.NetworkingConfig.EndpointsConfig)
		o.b, o.err = append(n.b, '}'), n.err
	}
	if o.err != nil {
		return nil, o.err
	}
	return append(o.b, '}'), nil
}

func encodeConfig(o *jsonObj, c *container.Config) {
	o.str("Hostname", c.Hostname)
	o.str("Domainname", c.Domainname)
	o.str("User", c.User)
	o.boolean("AttachStdin", c.AttachStdin)
	o.boolean("AttachStdout", c.AttachStdout)
	o.boolean("AttachStderr", c.AttachStderr)
	optDict(o, "ExposedPorts", c.ExposedPorts)
	o.boolean("Tty", c.Tty)
	o.boolean("OpenStdin", c.OpenStdin)
	o.boolean("StdinOnce", c.StdinOnce)
	list(o, "Env", c.Env)
	list(o, "Cmd", c.Cmd)
	optPtr(o, "Healthcheck", c.Healthcheck)
	if c.ArgsEscaped {
		o.boolean("ArgsEscaped", true)
	}
	o.str("Image", c.Image)
	dict(o, "Volumes", c.Volumes)
	o.str("WorkingDir", c.WorkingDir)
	list(o, "Entrypoint", c.Entrypoint)
	if c.NetworkDisabled {
		o.boolean("NetworkDisabled", true)
	}
	optList(o, "OnBuild", c.OnBuild)
	dict(o, "Labels", c.Labels)
	if c.StopSignal != "" {
		o.str("StopSignal", c.StopSignal)
	}
	optPtr(o, "StopTimeout", c.StopTimeout)
	optList(o, "Shell", c.Shell)
}

func encodeHostConfig(o *jsonObj, h *container.HostConfig) {
	list(o, "Binds", h.Binds)
	o.str("ContainerIDFile", h.ContainerIDFile)
	o.key("LogConfig")
	l := jsonObj{b: append(o.b, '{'), err: o.err}
	l.str("Type", h.LogConfig.Type)
	dict(&l, "Config", h.LogConfig.Config)
	o.b, o.err = append(l.b, '}'), l.err
	o.str("NetworkMode", string(h.NetworkMode))
	dict(o, "PortBindings", h.PortBindings)
	o.key("RestartPolicy")
	o.b = append(o.b, '{')
	o.b = appendString(append(o.b, `"Name":`...), string(h.RestartPolicy.Name))
	o.b = strconv.AppendInt(append(o.b, `,"MaximumRetryCount":`...), int64(h.RestartPolicy.MaximumRetryCount), 10)
	o.b = append(o.b, '}')
	o.boolean("AutoRemove", h.AutoRemove)
	o.str("VolumeDriver", h.VolumeDriver)
	list(o, "VolumesFrom", h.VolumesFrom)
	o.key("ConsoleSize")
	o.b = strconv.AppendUint(append(o.b, '['), uint64(h.ConsoleSize[0]), 10)
	o.b = append(strconv.AppendUint(append(o.b, ','), uint64(h.ConsoleSize[1]), 10), ']')
	optDict(o, "Annotations", h.Annotations)
	list(o, "CapAdd", h.CapAdd)
	list(o, "CapDrop", h.CapDrop)
	o.str("CgroupnsMode", string(h.CgroupnsMode))
	list(o, "Dns", h.DNS)
	list(o, "DnsOptions", h.DNSOptions)
	list(o, "DnsSearch", h.DNSSearch)
	list(o, "ExtraHosts", h.ExtraHosts)
	list(o, "GroupAdd", h.GroupAdd)
	o.str("IpcMode", string(h.IpcMode))
	o.str("Cgroup", string(h.Cgroup))
	list(o, "Links", h.Links)
	o.int("OomScoreAdj", int64(h.OomScoreAdj))
	o.str("PidMode", string(h.PidMode))
	o.boolean("Privileged", h.Privileged)
	o.boolean("PublishAllPorts", h.PublishAllPorts)
	o.boolean("ReadonlyRootfs", h.ReadonlyRootfs)
	list(o, "SecurityOpt", h.SecurityOpt)
	optDict(o, "StorageOpt", h.StorageOpt)
	optDict(o, "Tmpfs", h.Tmpfs)
	o.str("UTSMode", string(h.UTSMode))
	o.str("UsernsMode", string(h.UsernsMode))
	o.int("ShmSize", h.ShmSize)
	optDict(o, "Sysctls", h.Sysctls)
	if h.Runtime != "" {
		o.str("Runtime", h.Runtime)
	}
	optPtr(o, "Umask", h.Umask)
	o.str("Isolation", string(h.Isolation))
	encodeResources(o, &h.Resources)
	optList(o, "Mounts", h.Mounts)
	list(o, "MaskedPaths", h.MaskedPaths)
	list(o, "ReadonlyPaths", h.ReadonlyPaths)
	optPtr(o, "Init", h.Init)
}

func encodeResources(o *jsonObj, r *container.Resources) {
	o.int("CpuShares", r.CPUShares)
	o.int("Memory", r.Memory)
	o.int("NanoCpus", r.NanoCPUs)
	o.str("CgroupParent", r.CgroupParent)
	o.int("BlkioWeight", int64(r.BlkioWeight))
	list(o, "BlkioWeightDevice", r.BlkioWeightDevice)
	list(o, "BlkioDeviceReadBps", r.BlkioDeviceReadBps)
	list(o, "BlkioDeviceWriteBps", r.BlkioDeviceWriteBps)
	list(o, "BlkioDeviceReadIOps", r.BlkioDeviceReadIOps)
	list(o, "BlkioDeviceWriteIOps", r.BlkioDeviceWriteIOps)
	o.int("CpuPeriod", r.CPUPeriod)
	o.int("CpuQuota", r.CPUQuota)
	o.int("CpuRealtimePeriod", r.CPURealtimePeriod)
	o.int("CpuRealtimeRuntime", r.CPURealtimeRuntime)
	o.str("CpusetCpus", r.CpusetCpus)
	o.str("CpusetMems", r.CpusetMems)
	list(o, "Devices", r.Devices)
	list(o, "DeviceCgroupRules", r.DeviceCgroupRules)
	list(o, "DeviceRequests", r.DeviceRequests)
	o.int("MemoryReservation", r.MemoryReservation)
	o.int("MemorySwap", r.MemorySwap)
	ptr(o, "MemorySwappiness", r.MemorySwappiness)
	ptr(o, "OomKillDisable", r.OomKillDisable)
	ptr(o, "PidsLimit", r.PidsLimit)
	list(o, "Ulimits", r.Ulimits)
	o.int("CpuCount", r.CPUCount)
	o.int("CpuPercent", r.CPUPercent)
	o.b = strconv.AppendUint(append(o.b, `,"IOMaximumIOps":`...), r.IOMaximumIOps, 10)
	o.b = strconv.AppendUint(append(o.b, `,"IOMaximumBandwidth":`...), r.IOMaximumBandwidth, 10)
}

// jsonObj appends the members of one JSON object; the first error of a
// value's json.Marshal is kept in err.
type jsonObj struct {
	b   []byte
	n   int
	err error
}

func (o *jsonObj) key(k string) {
	if o.n > 0 {
		o.b = append(o.b, ',')
	}
	o.n++
	o.b = append(append(append(o.b, '"'), k...), '"', ':')
}

func (o *jsonObj) str(k, v string) {
	o.key(k)
	o.b = appendString(o.b, v)
}

func (o *jsonObj) boolean(k string, v bool) {
	o.key(k)
	o.b = strconv.AppendBool(o.b, v)
}

func (o *jsonObj) int(k string, v int64) {
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
}

// value appends v as json.Marshal writes it, null when isNil.
func (o *jsonObj) value(k string, v any, isNil bool) {
	o.key(k)
	if isNil {
		o.b = append(o.b, "null"...)
		return
	}
	b, err := json.Marshal(v)
	if err != nil && o.err == nil {
		o.err = err
	}
	o.b = append(o.b, b...)
}

// list appends v; a list of strings is written here (json.Marshal's
// encoder for a slice type is built by reflection in each process).
func list[T any](o *jsonObj, k string, v []T) {
	if ss, ok := any(v).([]string); ok && ss != nil {
		o.key(k)
		o.b = append(o.b, '[')
		for i, s := range ss {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			o.b = appendString(o.b, s)
		}
		o.b = append(o.b, ']')
		return
	}
	o.value(k, v, v == nil)
}

func optList[T any](o *jsonObj, k string, v []T) {
	if len(v) > 0 {
		list(o, k, v)
	}
}

// dict appends v; an empty map and a map of strings are written here:
// json.Marshal built the encoder of `run`'s empty PortBindings (a map of
// network.Port to a slice of structs) by reflection, 120,000 of a
// `berth run`'s ~3 million instructions.
func dict[K comparable, V any](o *jsonObj, k string, v map[K]V) {
	switch m := any(v).(type) {
	case map[string]string:
		if m != nil {
			o.key(k)
			o.b = appendStringMap(o.b, m)
			return
		}
	default:
		if v != nil && len(v) == 0 {
			o.key(k)
			o.b = append(o.b, "{}"...)
			return
		}
	}
	o.value(k, v, v == nil)
}

func optDict[K comparable, V any](o *jsonObj, k string, v map[K]V) {
	if len(v) > 0 {
		dict(o, k, v)
	}
}

// appendStringMap appends m as json.Marshal does: keys in byte order.
func appendStringMap(b []byte, m map[string]string) []byte {
	b = append(b, '{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, k), ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

func ptr[T any](o *jsonObj, k string, v *T) { o.value(k, v, v == nil) }

func optPtr[T any](o *jsonObj, k string, v *T) {
	if v != nil {
		o.value(k, v, false)
	}
}

// appendString appends s quoted as json.Marshal quotes it: a string of
// plain printable ASCII as it is, any other through json.Marshal (HTML
// characters, control characters, invalid UTF-8 and U+2028/U+2029 are
// escaped there).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	return append(append(append(b, '"'), s...), '"')
}
