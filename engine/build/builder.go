package build

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/berth-dev/berth/engine/imagechange"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/stringid"
)

// builder runs one build.
type builder struct {
	s    *Service
	opts Options
	ctx  *buildContext
	df   *dockerfile
	out  io.Writer

	results  []*images.Image // final image of each stage built so far
	metaArgs map[string]*string
	usedArgs map[string]bool
	step     int
	total    int
}

// state is the running state of the stage being built.
type state struct {
	image *images.Image
	cfg   dockerspec.DockerOCIImageConfig
	// args are the ARGs declared in the stage; nil value: declared, unset.
	args    map[string]*string
	argKeys []string
	// cmdSet: a CMD ran in this stage (ENTRYPOINT then keeps Cmd).
	cmdSet bool
}

func (b *builder) run(ctx context.Context) (string, error) {
	// Meta ARGs (before the first FROM) are only visible to FROM lines and
	// to stage ARGs that name them.
	b.metaArgs = map[string]*string{}
	for _, a := range b.df.metaArgs {
		ex := newExpander(b.df.escape, b.metaEnv())
		if err := a.Expand(ex.word); err != nil {
			return "", err
		}
		for _, kv := range a.Args {
			b.metaArgs[kv.Key] = b.argValue(kv.Key, kv.Value)
		}
	}
	last := len(b.df.stages) - 1
	if b.opts.Target != "" {
		i, ok := b.df.stageIndex(b.opts.Target, len(b.df.stages))
		if !ok || b.df.stages[i].Name == "" {
			return "", errdefs.Invalid("failed to reach build target %s in Dockerfile", b.opts.Target)
		}
		last = i
	}
	if len(b.opts.Labels) > 0 {
		cmd, err := labelCommand(b.opts.Labels)
		if err != nil {
			return "", err
		}
		b.df.stages[last].AddCommand(cmd)
	}
	for i := 0; i <= last; i++ {
		b.total += 1 + len(b.df.stages[i].Commands)
	}
	for i := 0; i <= last; i++ {
		img, err := b.buildStage(ctx, i)
		if err != nil {
			return "", err
		}
		b.results = append(b.results, img)
	}
	return b.results[last].ID, nil
}

// argValue is the value of build arg key: --build-arg wins over the
// Dockerfile's default.
func (b *builder) argValue(key string, def *string) *string {
	if v, ok := b.opts.BuildArgs[key]; ok {
		b.usedArgs[key] = true
		if v != nil {
			return v
		}
	}
	return def
}

func (b *builder) metaEnv() []string {
	var env []string
	for k, v := range b.metaArgs {
		if v != nil {
			env = append(env, k+"="+*v)
		}
	}
	return env
}

func labelCommand(labels map[string]string) (instructions.Command, error) {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	sb.WriteString("LABEL")
	for _, k := range keys {
		sb.WriteString(" " + strconv.Quote(k) + "=" + strconv.Quote(labels[k]))
	}
	return parseLine(sb.String())
}

// parseLine parses one instruction (ONBUILD triggers, --label).
func parseLine(line string) (instructions.Command, error) {
	res, err := parser.Parse(strings.NewReader(line))
	if err != nil {
		return nil, parseError(err)
	}
	if len(res.AST.Children) != 1 {
		return nil, errdefs.Invalid("invalid instruction %q", line)
	}
	cmd, err := instructions.ParseCommand(res.AST.Children[0])
	if err != nil {
		return nil, parseError(err)
	}
	return cmd, nil
}

func (b *builder) printStep(text string) {
	b.step++
	fmt.Fprintf(b.out, "Step %d/%d : %s\n", b.step, b.total, text)
}

func (b *builder) buildStage(ctx context.Context, i int) (*images.Image, error) {
	stage := b.df.stages[i]
	b.printStep(stage.SourceCode)
	ex := newExpander(b.df.escape, b.metaEnv())
	base, err := ex.word(stage.BaseName)
	if err != nil {
		return nil, err
	}
	platform := b.opts.Platform
	if stage.Platform != "" {
		if platform, err = ex.word(stage.Platform); err != nil {
			return nil, err
		}
	}
	img, err := b.baseImage(ctx, base, platform, i)
	if err != nil {
		return nil, err
	}
	st := &state{image: img, cfg: cloneConfig(img.Config.Config), args: map[string]*string{}}
	fmt.Fprintf(b.out, " ---> %s\n", stringid.Short(img.ID))

	if triggers := st.cfg.OnBuild; len(triggers) > 0 {
		st.cfg.OnBuild = nil
		s := "s"
		if len(triggers) == 1 {
			s = ""
		}
		fmt.Fprintf(b.out, "# Executing %d build trigger%s\n", len(triggers), s)
		for _, t := range triggers {
			cmd, err := parseLine(t)
			if err != nil {
				return nil, err
			}
			if err := b.dispatch(ctx, st, cmd); err != nil {
				return nil, err
			}
		}
	}
	for _, cmd := range stage.Commands {
		b.printStep(cmd.(interface{ String() string }).String())
		if err := b.dispatch(ctx, st, cmd); err != nil {
			return nil, err
		}
	}
	return st.image, nil
}

// baseImage resolves a FROM: an earlier stage, scratch, or an image
// (pulled when missing, or always with --pull).
func (b *builder) baseImage(ctx context.Context, name, platform string, stage int) (*images.Image, error) {
	if j, ok := b.df.stageIndex(name, stage); ok && b.df.stages[j].Name != "" {
		return b.results[j], nil
	}
	if strings.EqualFold(name, "scratch") {
		return b.s.b.ScratchImage(ctx)
	}
	if !b.opts.Pull {
		img, err := b.s.b.Resolve(ctx, name)
		if err == nil {
			return img, nil
		}
		if !errdefs.IsNotFound(err) {
			return nil, err
		}
	}
	if err := b.s.b.Pull(ctx, name, platform, b.out); err != nil {
		if b.opts.Pull {
			// --pull with a local-only image: Docker falls back to it.
			if img, rerr := b.s.b.Resolve(ctx, name); rerr == nil {
				return img, nil
			}
		}
		return nil, err
	}
	return b.s.b.Resolve(ctx, name)
}

// cloneConfig deep-copies a config (maps and slices are shared otherwise).
func cloneConfig(c dockerspec.DockerOCIImageConfig) dockerspec.DockerOCIImageConfig {
	var out dockerspec.DockerOCIImageConfig
	data, _ := json.Marshal(c)
	_ = json.Unmarshal(data, &out)
	return out
}

// expansionEnv is what ${VAR} sees: the stage's ARGs, then its ENV (ENV
// wins), as Docker does.
func (st *state) expansionEnv(b *builder) []string {
	var env []string
	for _, k := range st.argKeys {
		if v := st.args[k]; v != nil {
			env = append(env, k+"="+*v)
		}
	}
	for k, v := range b.opts.BuildArgs {
		if proxyArgs[k] && v != nil {
			if _, declared := st.args[k]; !declared {
				env = append(env, k+"="+*v)
			}
		}
	}
	return append(env, st.cfg.Env...)
}

// dispatch runs one instruction and leaves st on the image it made.
func (b *builder) dispatch(ctx context.Context, st *state, cmd instructions.Command) error {
	ex := newExpander(b.df.escape, st.expansionEnv(b))
	if e, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
		if err := e.Expand(ex.word); err != nil {
			return err
		}
	}
	switch c := cmd.(type) {
	case *instructions.WorkdirCommand:
		return b.dispatchWorkdir(ctx, st, c.Path)
	case *instructions.RunCommand:
		return b.dispatchRun(ctx, st, c)
	case *instructions.CopyCommand:
		if c.Parents || len(c.ExcludePatterns) > 0 {
			return errBuildKit("COPY --parents and --exclude")
		}
		return b.dispatchCopy(ctx, st, copyRequest{sd: c.SourcesAndDest, from: c.From, chown: c.Chown, chmod: c.Chmod, name: "COPY"})
	case *instructions.AddCommand:
		if c.Checksum != "" || c.KeepGitDir != nil || c.Unpack != nil || len(c.ExcludePatterns) > 0 {
			return errBuildKit("ADD --checksum, --keep-git-dir, --unpack and --exclude")
		}
		return b.dispatchCopy(ctx, st, copyRequest{sd: c.SourcesAndDest, chown: c.Chown, chmod: c.Chmod, name: "ADD", add: true})
	}
	line, err := b.applyConfig(st, cmd, ex)
	if err != nil {
		return err
	}
	return b.commitMeta(ctx, st, line)
}

// applyConfig applies an instruction that changes only the image's
// configuration to st and returns its history line.
func (b *builder) applyConfig(st *state, cmd instructions.Command, ex *expander) (string, error) {
	switch c := cmd.(type) {
	case *instructions.EnvCommand:
		return "ENV " + applyKeyValues(c.Env, func(k, v string) { st.cfg.Env = imagechange.SetEnv(st.cfg.Env, k, v) }), nil
	case *instructions.LabelCommand:
		if st.cfg.Labels == nil {
			st.cfg.Labels = map[string]string{}
		}
		return "LABEL " + applyKeyValues(c.Labels, func(k, v string) { st.cfg.Labels[k] = v }), nil
	case *instructions.MaintainerCommand:
		return "MAINTAINER " + c.Maintainer, nil
	case *instructions.ExposeCommand:
		return applyExpose(st, c, ex)
	case *instructions.VolumeCommand:
		return applyVolume(st, c)
	case *instructions.UserCommand:
		st.cfg.User = c.User
		return "USER " + c.User, nil
	case *instructions.StopSignalCommand:
		if _, err := parseSignal(c.Signal); err != nil {
			return "", err
		}
		st.cfg.StopSignal = c.Signal
		return "STOPSIGNAL " + c.Signal, nil
	case *instructions.HealthCheckCommand:
		h := *c.Health
		if len(h.Test) > 0 && h.Test[0] == "NONE" {
			h = dockerspec.HealthcheckConfig{Test: []string{"NONE"}}
		}
		st.cfg.Healthcheck = &h
		return fmt.Sprintf("HEALTHCHECK &{%q %q %q %q %q %d}", h.Test, h.Interval, h.Timeout, h.StartPeriod, h.StartInterval, h.Retries), nil
	case *instructions.ShellCommand:
		st.cfg.Shell = c.Shell
		return fmt.Sprintf("SHELL %q", c.Shell), nil
	case *instructions.OnbuildCommand:
		trigger := strings.TrimSpace(c.Expression)
		st.cfg.OnBuild = append(st.cfg.OnBuild, trigger)
		return "ONBUILD " + trigger, nil
	case *instructions.ArgCommand:
		return b.applyArg(st, c), nil
	case *instructions.CmdCommand:
		if len(c.Files) > 0 {
			return "", errHeredoc("CMD")
		}
		st.cfg.Cmd = commandLine(st.cfg.Shell, c.ShellDependantCmdLine)
		st.cmdSet = true
		return fmt.Sprintf("CMD %q", st.cfg.Cmd), nil
	case *instructions.EntrypointCommand:
		if len(c.Files) > 0 {
			return "", errHeredoc("ENTRYPOINT")
		}
		st.cfg.Entrypoint = commandLine(st.cfg.Shell, c.ShellDependantCmdLine)
		if !st.cmdSet {
			st.cfg.Cmd = nil
		}
		return fmt.Sprintf("ENTRYPOINT %q", st.cfg.Entrypoint), nil
	}
	return "", errdefs.Invalid("unsupported instruction %s", cmd.Name())
}

// applyKeyValues calls set for each pair of ENV or LABEL and returns them
// as the history line shows them.
func applyKeyValues(kvs instructions.KeyValuePairs, set func(k, v string)) string {
	parts := make([]string, 0, len(kvs))
	for _, kv := range kvs {
		set(kv.Key, kv.Value)
		parts = append(parts, kv.Key+"="+kv.Value)
	}
	return strings.Join(parts, " ")
}

// applyExpose adds EXPOSE's ports (variables expanded, ranges spread).
func applyExpose(st *state, c *instructions.ExposeCommand, ex *expander) (string, error) {
	var ports []string
	for _, p := range c.Ports {
		words, err := ex.words(p)
		if err != nil {
			return "", err
		}
		for _, w := range words {
			ps, err := exposedPorts(w)
			if err != nil {
				return "", err
			}
			ports = append(ports, ps...)
		}
	}
	if st.cfg.ExposedPorts == nil {
		st.cfg.ExposedPorts = map[string]struct{}{}
	}
	for _, p := range ports {
		st.cfg.ExposedPorts[p] = struct{}{}
	}
	sort.Strings(ports)
	return "EXPOSE " + strings.Join(ports, " "), nil
}

// applyVolume adds VOLUME's mount points (none may be empty).
func applyVolume(st *state, c *instructions.VolumeCommand) (string, error) {
	if st.cfg.Volumes == nil {
		st.cfg.Volumes = map[string]struct{}{}
	}
	for _, v := range c.Volumes {
		if strings.TrimSpace(v) == "" {
			return "", errdefs.Invalid("VOLUME specified can not be an empty string")
		}
		st.cfg.Volumes[v] = struct{}{}
	}
	return fmt.Sprintf("VOLUME %v", c.Volumes), nil
}

// applyArg declares ARG's variables in the stage: a --build-arg wins over
// the default, which falls back to a global ARG's value.
func (b *builder) applyArg(st *state, c *instructions.ArgCommand) string {
	var parts []string
	for _, kv := range c.Args {
		def := kv.Value
		if def == nil {
			if v, ok := b.metaArgs[kv.Key]; ok {
				def = v
			}
		}
		if _, ok := st.args[kv.Key]; !ok {
			st.argKeys = append(st.argKeys, kv.Key)
		}
		st.args[kv.Key] = b.argValue(kv.Key, def)
		if kv.Value != nil {
			parts = append(parts, kv.Key+"="+*kv.Value)
		} else {
			parts = append(parts, kv.Key)
		}
	}
	return "ARG " + strings.Join(parts, " ")
}

func errHeredoc(instr string) error {
	return errdefs.Invalid("%s: here-documents require BuildKit; the classic builder does not support them", instr)
}

func errBuildKit(what string) error {
	return errdefs.Invalid("%s require BuildKit; the classic builder does not support them", what)
}

// commandLine is the argv of CMD, ENTRYPOINT and RUN: the exec form as
// written, or the shell form run through SHELL (default /bin/sh -c).
func commandLine(shell []string, c instructions.ShellDependantCmdLine) []string {
	if !c.PrependShell {
		return c.CmdLine
	}
	if len(shell) == 0 {
		shell = []string{"/bin/sh", "-c"}
	}
	return append(append([]string{}, shell...), strings.Join(c.CmdLine, " "))
}

// exposedPorts expands "80", "80/udp", "8000-8002/tcp" to "port/proto".
func exposedPorts(s string) ([]string, error) {
	portPart, proto, _ := strings.Cut(s, "/")
	if proto == "" {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return nil, errdefs.Invalid("invalid proto: %s", proto)
	}
	lo, hi, isRange := strings.Cut(portPart, "-")
	start, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return nil, errdefs.Invalid("invalid containerPort: %s", s)
	}
	end := start
	if isRange {
		if end, err = strconv.ParseUint(hi, 10, 16); err != nil || end < start {
			return nil, errdefs.Invalid("invalid containerPort: %s", s)
		}
	}
	var out []string
	for p := start; p <= end; p++ {
		out = append(out, fmt.Sprintf("%d/%s", p, proto))
	}
	return out, nil
}

// commitMeta makes the config-only image of a metadata instruction, or
// reuses it from the cache.
func (b *builder) commitMeta(ctx context.Context, st *state, instr string) error {
	createdBy := "/bin/sh -c #(nop)  " + instr
	return b.commitStep(ctx, st, createdBy, "", nil)
}

// commitStep is the common end of a step without a container: look the key
// up, else prepare a writable layer over the current image, let change
// fill it (nil for none), commit, and cache.
func (b *builder) commitStep(ctx context.Context, st *state, createdBy, contentHash string, change func(rootfs string) error) error {
	key := cacheKey(st.image.ID, createdBy, contentHash)
	if b.useCache(ctx, st, key) {
		return nil
	}
	id := stringid.New()
	if err := b.s.b.PrepareLayer(ctx, id, st.image.ID); err != nil {
		return err
	}
	defer b.s.b.RemoveLayer(context.WithoutCancel(ctx), id)
	if change != nil {
		mnt, err := b.s.b.MountRootfs(ctx, id)
		if err != nil {
			return err
		}
		err = change(mnt)
		if uerr := b.s.b.UnmountRootfs(context.WithoutCancel(ctx), id); err == nil {
			err = uerr
		}
		if err != nil {
			return err
		}
	}
	img, err := b.s.b.CommitStep(ctx, id, st.cfg, createdBy)
	if err != nil {
		return err
	}
	b.s.cacheStore(key, img.ID)
	b.adopt(st, img)
	return nil
}

// useCache moves st to the cached image for key, if any.
func (b *builder) useCache(ctx context.Context, st *state, key string) bool {
	if b.opts.NoCache {
		return false
	}
	img := b.s.cacheLookup(ctx, key)
	if img == nil {
		return false
	}
	fmt.Fprintf(b.out, " ---> Using cache\n")
	b.adopt(st, img)
	return true
}

func (b *builder) adopt(st *state, img *images.Image) {
	st.image = img
	fmt.Fprintf(b.out, " ---> %s\n", stringid.Short(img.ID))
}
