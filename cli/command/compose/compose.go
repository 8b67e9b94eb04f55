// Package compose implements `berth compose`: compose files loaded with
// compose-spec/compose-go and run through berthd's API, with the names and
// labels docker compose uses so both tools manage the same projects.
package compose

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/cli/command"
	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"
)

type projectOptions struct {
	files      []string
	name       string
	projectDir string
	envFiles   []string
	profiles   []string
}

// NewComposeCommand returns `berth compose`.
func NewComposeCommand(c *command.Cli) *cobra.Command {
	var po projectOptions
	cmd := &cobra.Command{
		Use:              "compose [OPTIONS] COMMAND",
		Short:            "Define and run multi-container applications",
		TraverseChildren: true,
		Args:             command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(c.Out())
			return cmd.Help()
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&po.files, "file", "f", nil, "Compose configuration files")
	f.StringVarP(&po.name, "project-name", "p", "", "Project name")
	f.StringVar(&po.projectDir, "project-directory", "", "Specify an alternate working directory")
	f.StringArrayVar(&po.envFiles, "env-file", nil, "Specify an alternate environment file")
	f.StringArrayVar(&po.profiles, "profile", nil, "Specify a profile to enable")
	cmd.AddCommand(
		newUpCommand(c, &po), newDownCommand(c, &po), newPsCommand(c, &po),
		newLsCommand(c), newConfigCommand(c, &po), newLogsCommand(c, &po),
		newStopCommand(c, &po), newStartCommand(c, &po), newRmCommand(c, &po),
		newVersionCommand(c), newPauseCommand(c, &po), newUnpauseCommand(c, &po),
		newRestartCommand(c, &po), newKillCommand(c, &po),
		newExecCommand(c, &po), newRunCommand(c, &po), newCreateCommand(c, &po),
		newTopCommand(c, &po), newPortCommand(c, &po), newImagesCommand(c, &po),
		newEventsCommand(c, &po), newCpCommand(c, &po), newWaitCommand(c, &po),
		newPullCommand(c, &po), newPushCommand(c, &po), newBuildCommand(c, &po),
	)
	return cmd
}

// load reads the project as docker compose does: -f files (or compose.yaml
// and the older names), .env and --env-file, interpolation, profiles.
func (po *projectOptions) load(ctx context.Context, services []string) (*types.Project, error) {
	opts, err := cli.NewProjectOptions(po.files,
		cli.WithWorkingDirectory(po.projectDir),
		cli.WithOsEnv,
		cli.WithEnvFiles(po.envFiles...),
		cli.WithDotEnv,
		cli.WithConfigFileEnv,
		cli.WithDefaultConfigPath,
		cli.WithEnvFiles(po.envFiles...),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(po.profiles...),
		cli.WithName(po.name),
		cli.WithoutEnvironmentResolution,
	)
	if err != nil {
		return nil, err
	}
	p, err := opts.LoadProject(ctx)
	if err != nil {
		return nil, err
	}
	if p.Name == "" {
		return nil, errors.New("project name can't be empty. Use ProjectName option to set a valid name")
	}
	if p, err = p.WithServicesEnabled(services...); err != nil {
		return nil, err
	}
	for name, s := range p.Services {
		s.CustomLabels = map[string]string{
			labelProject:     p.Name,
			labelService:     name,
			labelVersion:     composeVersion,
			labelWorkingDir:  p.WorkingDir,
			labelConfigFiles: strings.Join(p.ComposeFiles, ","),
			labelOneoff:      "False",
		}
		if len(po.envFiles) > 0 {
			s.CustomLabels[labelEnvFile] = strings.Join(po.envFiles, ",")
		}
		p.Services[name] = s
	}
	if p, err = p.WithSelectedServices(services); err != nil {
		return nil, err
	}
	p = p.WithoutUnnecessaryResources()
	if p, err = p.WithServicesEnvironmentResolved(true); err != nil {
		return nil, err
	}
	return p, nil
}

// projectName is the name for commands that can work without a compose
// file (down, ps, logs...): -p, COMPOSE_PROJECT_NAME, else the file's.
func (po *projectOptions) projectName(ctx context.Context) (string, *types.Project, error) {
	if po.name != "" && len(po.files) == 0 {
		p, err := po.load(ctx, nil)
		if err != nil {
			// no compose file: the labels tell the rest
			return po.name, nil, nil
		}
		return p.Name, p, nil
	}
	p, err := po.load(ctx, nil)
	if err != nil {
		if po.name == "" {
			if n := os.Getenv("COMPOSE_PROJECT_NAME"); n != "" {
				return n, nil, nil
			}
		}
		return "", nil, err
	}
	return p.Name, p, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
