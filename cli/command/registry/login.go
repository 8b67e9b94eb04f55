package registry

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/moby/term"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/cli/command"
)

type loginOptions struct {
	server        string
	user          string
	password      string
	passwordStdin bool
}

// NewLoginCommand is `berth login`.
func NewLoginCommand(cli *command.Cli) *cobra.Command {
	var o loginOptions
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Authenticate to a registry",
		Long:  "Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.",
		Args:  command.RequiresMaxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				o.server = args[0]
			}
			return runLogin(cmd.Context(), cli, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.user, "username", "u", "", "Username")
	f.StringVarP(&o.password, "password", "p", "", "Password or Personal Access Token (PAT)")
	f.BoolVar(&o.passwordStdin, "password-stdin", false, "Take the Password or Personal Access Token (PAT) from stdin")
	return cmd
}

func runLogin(ctx context.Context, cli *command.Cli, o loginOptions) error {
	if err := readStdinPassword(cli, &o); err != nil {
		return err
	}
	server := o.server
	if server == "" {
		server = DockerHubServer
	}
	key := ServerKey(server)
	api, err := cli.Client()
	if err != nil {
		return err
	}
	// Like docker: without -u/-p, stored credentials are tried first.
	if o.user == "" && o.password == "" && loginWithStored(ctx, cli, api, key) {
		return nil
	}
	if err := promptCredentials(cli, &o); err != nil {
		return err
	}
	res, err := api.RegistryLogin(ctx, client.RegistryLoginOptions{Username: o.user, Password: o.password, ServerAddress: key})
	if err != nil {
		return err
	}
	a := AuthConfig{Username: o.user, Password: o.password}
	if res.Auth.IdentityToken != "" {
		a.Password, a.IdentityToken = "", res.Auth.IdentityToken
	}
	where, err := Store(key, a)
	if err != nil {
		return fmt.Errorf("Error saving credentials: %w", err)
	}
	if !strings.HasPrefix(where, "credential helper") {
		fmt.Fprintf(cli.Err(), "WARNING! Your credentials are stored unencrypted in '%s'.\n"+
			"Configure a credential helper to remove this warning. See\n"+
			"https://docs.docker.com/go/credential-store/\n\n", where)
	}
	fmt.Fprintln(cli.Out(), "Login Succeeded")
	return nil
}

// readStdinPassword checks --password against --password-stdin (warning
// of the former) and reads the password from stdin for the latter.
func readStdinPassword(cli *command.Cli, o *loginOptions) error {
	if o.password != "" {
		fmt.Fprintln(cli.Err(), "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
		if o.passwordStdin {
			return errors.New("--password and --password-stdin are mutually exclusive")
		}
	}
	if !o.passwordStdin {
		return nil
	}
	if o.user == "" {
		return errors.New("Must provide --username with --password-stdin")
	}
	data, err := io.ReadAll(cli.In())
	if err != nil {
		return err
	}
	o.password = strings.TrimRight(string(data), "\r\n")
	return nil
}

// loginWithStored tries the stored credentials of key and reports whether
// they logged in (refreshing a stored identity token); a failure is
// printed, then the caller prompts.
func loginWithStored(ctx context.Context, cli *command.Cli, api client.APIClient, key string) bool {
	a, ok, _ := Credentials(key)
	if !ok {
		return false
	}
	res, err := api.RegistryLogin(ctx, client.RegistryLoginOptions{
		Username: a.Username, Password: a.Password, ServerAddress: key, IdentityToken: a.IdentityToken,
	})
	if err != nil {
		fmt.Fprintf(cli.Err(), "Login did not succeed, error: %s\n", command.Message(err))
		return false
	}
	fmt.Fprintln(cli.Out(), "Authenticating with existing credentials...")
	if res.Auth.IdentityToken != "" {
		a.Password, a.IdentityToken = "", res.Auth.IdentityToken
		_, _ = Store(key, a)
	}
	fmt.Fprintln(cli.Out(), "Login Succeeded")
	return true
}

// promptCredentials asks the terminal for what the flags did not give.
func promptCredentials(cli *command.Cli, o *loginOptions) error {
	if o.user == "" {
		if !cli.In().IsTerminal() {
			return errors.New("Error: Cannot perform an interactive login from a non TTY device")
		}
		fmt.Fprint(cli.Out(), "Username: ")
		line, err := bufio.NewReader(cli.In()).ReadString('\n')
		if err != nil && line == "" {
			return errors.New("Error: Non-null Username Required")
		}
		o.user = strings.TrimSpace(line)
		if o.user == "" {
			return errors.New("Error: Non-null Username Required")
		}
	}
	if o.password == "" {
		if !cli.In().IsTerminal() {
			return errors.New("Error: Cannot perform an interactive login from a non TTY device")
		}
		pw, err := readPassword(cli)
		if err != nil {
			return err
		}
		if pw == "" {
			return errors.New("Error: Password Required")
		}
		o.password = pw
	}
	return nil
}

// readPassword prompts on the terminal with echo off.
func readPassword(cli *command.Cli) (string, error) {
	fd := cli.In().FD()
	state, err := term.SaveState(fd)
	if err != nil {
		return "", err
	}
	fmt.Fprint(cli.Out(), "Password: ")
	_ = term.DisableEcho(fd, state)
	defer func() {
		_ = term.RestoreTerminal(fd, state)
		fmt.Fprintln(cli.Out())
	}()
	line, err := bufio.NewReader(cli.In()).ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
