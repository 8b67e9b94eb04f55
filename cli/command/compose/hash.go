package compose

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// Labels docker compose puts on what it creates; berth compose writes the
// same ones so either tool manages the other's projects.
const (
	labelProject     = "com.docker.compose.project"
	labelService     = "com.docker.compose.service"
	labelNumber      = "com.docker.compose.container-number"
	labelOneoff      = "com.docker.compose.oneoff"
	labelSlug        = "com.docker.compose.slug"
	labelConfigHash  = "com.docker.compose.config-hash"
	labelWorkingDir  = "com.docker.compose.project.working_dir"
	labelConfigFiles = "com.docker.compose.project.config_files"
	labelEnvFile     = "com.docker.compose.project.environment_file"
	labelDependsOn   = "com.docker.compose.depends_on"
	labelImage       = "com.docker.compose.image"
	labelVersion     = "com.docker.compose.version"
	labelNetwork     = "com.docker.compose.network"
	labelVolume      = "com.docker.compose.volume"
)

// composeVersion is what com.docker.compose.version says: the compose
// release whose behaviour berth compose follows.
const composeVersion = "5.6.0"

// hashKeyOrder is the top-level key order of the JSON docker compose hashes
// for a service's config-hash label. compose pins it (rather than following
// compose-go's struct layout) so hashes survive compose-go refactorings;
// berth must emit the same bytes to compute the same hash.
var hashKeyOrder = strings.Fields(`profiles annotations attach build develop blkio_config
cap_add cap_drop cgroup_parent cgroup cpu_count cpu_percent cpu_period cpu_quota
cpu_rt_period cpu_rt_runtime cpus cpuset cpu_shares command configs container_name
credential_spec depends_on deploy device_cgroup_rules devices dns dns_opt dns_search
dockerfile domainname entrypoint provider environment env_file expose extends
external_links extra_hosts group_add gpus hostname healthcheck image init ipc
isolation labels label_file links logging log_driver log_opt mem_limit
mem_reservation memswap_limit mem_swappiness mac_address models net network_mode
networks oom_kill_disable oom_score_adj pid pids_limit platform ports privileged
pull_policy read_only restart runtime scale secrets security_opt shm_size
stdin_open stop_grace_period stop_signal storage_opt sysctls tmpfs tty ulimits
use_api_socket user userns_mode uts volume_driver volumes volumes_from working_dir
pre_start post_start pre_stop pull_refresh_after`)

// ServiceHash is the com.docker.compose.config-hash of a service: sha256 of
// its JSON without the attributes that do not call for a new container
// (build, pull policy, scale/replicas, depends_on, profiles).
func ServiceHash(s types.ServiceConfig) (string, error) {
	s.Build = nil
	s.PullPolicy = ""
	s.Scale = nil
	if s.Deploy != nil {
		d := *s.Deploy
		d.Replicas = nil
		s.Deploy = &d
	}
	s.DependsOn = nil
	s.Profiles = nil
	raw, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	ordered, err := reorderKeys(raw, hashKeyOrder)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(ordered)
	return hex.EncodeToString(sum[:]), nil
}

// reorderKeys rewrites a JSON object with its top-level keys in order, the
// keys not listed following in sorted order; values are kept verbatim.
func reorderKeys(raw []byte, order []string) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteByte('{')
	n := 0
	emit := func(k string) {
		if n > 0 {
			out.WriteByte(',')
		}
		n++
		kb, _ := json.Marshal(k)
		out.Write(kb)
		out.WriteByte(':')
		out.Write(obj[k])
		delete(obj, k)
	}
	for _, k := range order {
		if _, ok := obj[k]; ok {
			emit(k)
		}
	}
	rest := make([]string, 0, len(obj))
	for k := range obj {
		rest = append(rest, k)
	}
	sort.Strings(rest)
	for _, k := range rest {
		emit(k)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// containerName is docker compose's default name: project-service-N, or
// the service's container_name.
func containerName(project string, s types.ServiceConfig, number int) string {
	if s.ContainerName != "" {
		return s.ContainerName
	}
	return strings.Join([]string{project, s.Name, itoa(number)}, "-")
}

// dependsOnLabel renders depends_on as compose's label does:
// service:condition:restart, comma separated, sorted for stability.
func dependsOnLabel(s types.ServiceConfig) string {
	deps := make([]string, 0, len(s.DependsOn))
	for name, d := range s.DependsOn {
		deps = append(deps, name+":"+d.Condition+":"+boolStr(d.Restart))
	}
	sort.Strings(deps)
	return strings.Join(deps, ",")
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func jsonHash(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
