package daemon

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"reflect"
	"strings"

	evtypes "github.com/moby/moby/api/types/events"

	"github.com/berth-dev/berth/engine/containers"
)

// reload applies a new configuration on SIGHUP: what can change while
// running is applied and logged key by key; what needs a restart is named.
func (d *Daemon) reload(next *Config) {
	next.Defaults()
	cur := d.cfg
	changed := d.reloadLive(cur, next)
	changed = append(changed, d.reloadRegistry(cur, next)...)
	needRestart := differing([]setting{
		{"hosts", cur.Hosts, next.Hosts}, {"data-root", cur.DataRoot, next.DataRoot},
		{"exec-root", cur.ExecRoot, next.ExecRoot}, {"tls", cur.TLS, next.TLS},
		{"tlsverify", cur.TLSVerify, next.TLSVerify}, {"tlscert", cur.TLSCert, next.TLSCert},
		{"tlskey", cur.TLSKey, next.TLSKey}, {"tlscacert", cur.TLSCACert, next.TLSCACert},
		{"group", cur.Group, next.Group}, {"bip", cur.Bip, next.Bip},
		{"ipv6", cur.IPv6, next.IPv6}, {"fixed-cidr-v6", cur.FixedCIDRv6, next.FixedCIDRv6}, {"ip6tables", cur.Ip6tables, next.Ip6tables},
		{"default-address-pools", cur.DefaultAddressPools, next.DefaultAddressPools},
		{"runtimes", cur.Runtimes, next.Runtimes}, {"cgroup-parent", cur.CgroupParent, next.CgroupParent},
		{"cgroup-favordynmods", cur.CgroupFavorDynmods, next.CgroupFavorDynmods},
		{"host-gateway-ip", cur.HostGatewayIP, next.HostGatewayIP},
		{"api-limits", cur.APILimits, next.APILimits},
		{"default-isolation", cur.DefaultIsolation, next.DefaultIsolation},
		{"userns-remap", cur.UsernsRemap, next.UsernsRemap},
		{"ui-addr", cur.UIAddr, next.UIAddr}, {"builder", cur.Builder, next.Builder},
	})
	d.emitReload()
	if len(changed) == 0 {
		d.log.Info("SIGHUP: configuration reloaded; nothing that can be reloaded changed")
	} else {
		d.log.Info("SIGHUP: configuration reloaded", "changed", strings.Join(changed, "; "))
	}
	if len(needRestart) > 0 {
		d.log.Warn("SIGHUP: these settings changed but only take effect when berthd restarts", "keys", strings.Join(needRestart, ", "))
	}
}

// setting is one configuration key's current and next value.
type setting struct {
	name string
	a, b any
}

// differing names the settings whose values differ.
func differing(settings []setting) []string {
	var out []string
	for _, k := range settings {
		if !reflect.DeepEqual(k.a, k.b) {
			out = append(out, k.name)
		}
	}
	return out
}

// reloadLive applies the settings that take effect at once (log level,
// default runtime, log driver defaults, shutdown timeout) and describes
// what changed; an invalid new value is logged and the current one kept.
func (d *Daemon) reloadLive(cur, next *Config) []string {
	var changed []string
	if next.LogLevel != cur.LogLevel || next.Debug != cur.Debug {
		if err := setLevel(d.level, next.LogLevel); err != nil {
			d.log.Error("reload: log-level", "err", err)
		} else {
			changed = append(changed, fmt.Sprintf("log-level %s -> %s", cur.LogLevel, next.LogLevel))
			cur.LogLevel, cur.Debug = next.LogLevel, next.Debug
		}
	}
	if next.DefaultRuntime != cur.DefaultRuntime && next.DefaultRuntime != "" {
		was := d.runtimes.DefaultName()
		if err := d.runtimes.SetDefault(next.DefaultRuntime); err != nil {
			d.log.Error("reload: default-runtime is not a usable runtime; keeping the current one", "asked", next.DefaultRuntime, "current", was)
		} else {
			changed = append(changed, fmt.Sprintf("default-runtime %s -> %s", was, next.DefaultRuntime))
			cur.DefaultRuntime = next.DefaultRuntime
		}
	}
	if next.LogDriver != cur.LogDriver || !reflect.DeepEqual(next.LogOpts, cur.LogOpts) {
		if err := containers.ValidateLogConfig(next.LogDriver, next.LogOpts); err != nil {
			d.log.Error("reload: log-driver/log-opts", "err", err)
		} else {
			d.containers.SetLogDefaults(next.LogDriver, next.LogOpts)
			changed = append(changed, "log-driver/log-opts (for containers created from now on)")
			cur.LogDriver, cur.LogOpts = next.LogDriver, next.LogOpts
		}
	}
	if *next.ShutdownTimeout != *cur.ShutdownTimeout {
		changed = append(changed, fmt.Sprintf("shutdown-timeout %d -> %d", *cur.ShutdownTimeout, *next.ShutdownTimeout))
		cur.ShutdownTimeout = next.ShutdownTimeout
	}
	return changed
}

// reloadRegistry applies the registry settings (kept as they are when the
// new ones are invalid) and live-restore, and names those that changed.
func (d *Daemon) reloadRegistry(cur, next *Config) []string {
	if err := d.registry.SetRegistryConfig(next.InsecureRegistries, next.RegistryMirrors, derefInt(next.MaxConcurrentDownloads), derefInt(next.MaxConcurrentUploads)); err != nil {
		d.log.Error("reload: registry settings", "err", err)
		next.InsecureRegistries, next.RegistryMirrors = cur.InsecureRegistries, cur.RegistryMirrors
		next.MaxConcurrentDownloads, next.MaxConcurrentUploads = cur.MaxConcurrentDownloads, cur.MaxConcurrentUploads
	}
	changed := differing([]setting{
		{"insecure-registries", cur.InsecureRegistries, next.InsecureRegistries},
		{"registry-mirrors", cur.RegistryMirrors, next.RegistryMirrors},
		{"max-concurrent-downloads", cur.MaxConcurrentDownloads, next.MaxConcurrentDownloads},
		{"max-concurrent-uploads", cur.MaxConcurrentUploads, next.MaxConcurrentUploads},
		{"live-restore", *cur.LiveRestore, *next.LiveRestore},
	})
	cur.InsecureRegistries, cur.RegistryMirrors = next.InsecureRegistries, next.RegistryMirrors
	cur.MaxConcurrentDownloads, cur.MaxConcurrentUploads = next.MaxConcurrentDownloads, next.MaxConcurrentUploads
	cur.LiveRestore = next.LiveRestore
	return changed
}

// emitReload records dockerd's "reload" daemon event: the actor is the
// engine ID, the attributes the reloadable settings now in force.
func (d *Daemon) emitReload() {
	cfg := d.cfg
	hostname, _ := os.Hostname()
	list := func(v []string) string {
		b, _ := json.Marshal(nonNilStrings(v))
		return string(b)
	}
	attrs := map[string]string{
		"name":                     hostname,
		"debug":                    strconv.FormatBool(cfg.Debug),
		"default-runtime":          d.runtimes.DefaultName(),
		"insecure-registries":      list(cfg.InsecureRegistries),
		"registry-mirrors":         list(cfg.RegistryMirrors),
		"live-restore":             strconv.FormatBool(*cfg.LiveRestore),
		"max-concurrent-downloads": strconv.Itoa(derefInt(cfg.MaxConcurrentDownloads)),
		"max-concurrent-uploads":   strconv.Itoa(derefInt(cfg.MaxConcurrentUploads)),
		"shutdown-timeout":         strconv.Itoa(*cfg.ShutdownTimeout),
		"labels":                   "[]",
	}
	d.events.Log(evtypes.DaemonEventType, evtypes.ActionReload, d.engineID, attrs)
}
