// Package system holds version, info, events, system df/prune and the
// generic inspect.
package system

import (
	"context"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/formatter"
	"github.com/berth-dev/berth/internal/version"
	"github.com/moby/moby/api/types/system"
	"github.com/spf13/cobra"
)

// versionTemplate is docker's, with the client named Berth.
const versionTemplate = `{{with .Client -}}
Client:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 Version:	{{.Version}}
 API version:	{{.APIVersion}}{{if ne .APIVersion .DefaultAPIVersion}} (downgraded from {{.DefaultAPIVersion}}){{end}}
 Go version:	{{.GoVersion}}
 Git commit:	{{.GitCommit}}
 Built:	{{.BuildTime}}
 OS/Arch:	{{.Os}}/{{.Arch}}
 Context:	{{.Context}}
{{- end}}

{{- if .ServerOK}}{{with .Server}}

Server:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 {{- range $component := .Components}}
 {{$component.Name}}:
  {{- if eq $component.Name "Engine" }}
  Version:	{{.Version}}
  API version:	{{index .Details "ApiVersion"}} (minimum version {{index .Details "MinAPIVersion"}})
  Go version:	{{index .Details "GoVersion"}}
  Git commit:	{{index .Details "GitCommit"}}
  Built:	{{index .Details "BuildTime"}}
  OS/Arch:	{{index .Details "Os"}}/{{index .Details "Arch"}}
  Experimental:	{{index .Details "Experimental"}}
  {{- else }}
  Version:	{{$component.Version}}
  {{- range $key, $value := $component.Details}}
  {{$key}}:	{{$value}}
  {{- end}}
  {{- end}}
 {{- end}}
 {{- end}}{{- end}}
`

type platform struct{ Name string }

type clientVersion struct {
	Platform          platform
	Version           string
	APIVersion        string `json:"ApiVersion"`
	DefaultAPIVersion string `json:"DefaultAPIVersion,omitempty"`
	GitCommit         string
	GoVersion         string
	Os                string
	Arch              string
	BuildTime         string `json:",omitempty"`
	Context           string
}

// serverVersion mirrors docker's types.Version so --format fields match.
type serverVersion struct {
	Platform      platform
	Components    []system.ComponentVersion `json:",omitempty"`
	Version       string
	APIVersion    string `json:"ApiVersion"`
	MinAPIVersion string `json:",omitempty"`
	GitCommit     string
	GoVersion     string
	Os            string
	Arch          string
	KernelVersion string `json:",omitempty"`
	Experimental  bool   `json:",omitempty"`
	BuildTime     string `json:",omitempty"`
}

type versionInfo struct {
	Client clientVersion
	Server *serverVersion
}

func (v versionInfo) ServerOK() bool { return v.Server != nil }

// NewVersionCommand is `version`.
func NewVersionCommand(cli *command.Cli) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version [OPTIONS]",
		Short: "Show the Berth version information",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVersion(cmd.Context(), cli, format)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates")
	return cmd
}

func runVersion(ctx context.Context, cli *command.Cli, format string) error {
	f := format
	if f == "" {
		f = versionTemplate
	} else if f == formatter.JSONFormatKey {
		f = formatter.JSONFormat
	}
	tmpl, err := formatter.NewTemplate(f + "\n")
	if err != nil {
		return command.StatusError{Status: "Template parsing error: " + err.Error(), StatusCode: 64}
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	vi := versionInfo{Client: clientVersion{
		Platform:          platform{Name: "Berth"},
		Version:           version.Version,
		DefaultAPIVersion: client.MaxAPIVersion,
		GoVersion:         runtime.Version(),
		GitCommit:         version.Commit(),
		BuildTime:         buildTime(),
		Os:                runtime.GOOS,
		Arch:              runtime.GOARCH,
		Context:           "default",
	}}
	sv, serr := api.ServerVersion(ctx, client.ServerVersionOptions{})
	vi.Client.APIVersion = api.ClientVersion()
	if serr == nil {
		s := &serverVersion{
			Platform: platform{Name: sv.Platform.Name}, Components: sv.Components, Version: sv.Version,
			APIVersion: sv.APIVersion, MinAPIVersion: sv.MinAPIVersion, Os: sv.Os, Arch: sv.Arch,
			Experimental: sv.Experimental,
		}
		for _, c := range sv.Components {
			if c.Name == "Engine" {
				s.GitCommit, s.GoVersion = c.Details["GitCommit"], c.Details["GoVersion"]
				s.KernelVersion, s.BuildTime = c.Details["KernelVersion"], c.Details["BuildTime"]
			}
		}
		if len(s.Components) == 0 {
			s.Components = []system.ComponentVersion{{Name: "Engine", Version: sv.Version, Details: map[string]string{
				"ApiVersion": sv.APIVersion, "MinAPIVersion": sv.MinAPIVersion, "Os": sv.Os, "Arch": sv.Arch,
			}}}
		}
		vi.Server = s
	}
	tw := formatter.NewTabWriter(cli.Out(), 20, 1, 1)
	if err := tmpl.Execute(tw, vi); err != nil {
		return err
	}
	tw.Flush()
	return serr
}

// buildTime is the binary's VCS time when Go recorded it.
func buildTime() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
					return t.Format(time.ANSIC)
				}
			}
		}
	}
	return "unknown"
}
