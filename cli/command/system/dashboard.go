package system

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"

	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

// dashboardTokenPath is berthd's route that makes a one-time login token
// for the dashboard (web.TokenPath; the CLI does not link the web server).
const dashboardTokenPath = "/berth/dashboard/token"

// NewDashboardCommand is `berth dashboard`: a login link for the web
// dashboard berthd serves with --ui-addr.
func NewDashboardCommand(cli *command.Cli) *cobra.Command {
	var open bool
	cmd := &cobra.Command{
		Use:   "dashboard [OPTIONS]",
		Short: "Print a one-time login link for berthd's web dashboard",
		Long: "Asks berthd, over its API socket, for a one-time login token and prints the dashboard link that carries it.\n" +
			"The link works once, within five minutes; it logs the browser that opens it in.",
		Args: command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			link, err := dashboardLink(cmd.Context(), cli)
			if err != nil {
				return err
			}
			fmt.Fprintln(cli.Out(), link)
			if open {
				openBrowser(cli, link)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&open, "open", false, "Also open the link in a browser (xdg-open), where there is one")
	return cmd
}

func dashboardLink(ctx context.Context, cli *command.Cli) (string, error) {
	api, err := cli.Client()
	if err != nil {
		return "", err
	}
	// The client's dialer reaches berthd the way every command does
	// (unix socket, TCP, TLS); this route is not one the client knows.
	dial := api.Dialer()
	hc := &http.Client{Transport: &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		DisableKeepAlives: true,
	}}
	if ctx == nil {
		ctx = context.Background()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://berthd"+dashboardTokenPath, nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("Cannot connect to the Berth daemon at %s. Is berthd running? (%v)", api.DaemonHost(), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var out struct{ URL, Message string }
	if err := json.Unmarshal(body, &out); err != nil {
		return "", fmt.Errorf("unexpected answer from berthd (%s): %s", resp.Status, strings.TrimSpace(string(body)))
	}
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode == http.StatusNotFound && out.Message == "" {
			out.Message = "this berthd has no dashboard (too old?)"
		}
		return "", fmt.Errorf("Error response from daemon: %s", out.Message)
	}
	return out.URL, nil
}

// openBrowser starts xdg-open (or $BROWSER) on the link, or says why not.
func openBrowser(cli *command.Cli, link string) {
	var argv []string
	if b := os.Getenv("BROWSER"); b != "" {
		argv = []string{b, link}
	} else if p, err := exec.LookPath("xdg-open"); err == nil {
		argv = []string{p, link}
	}
	if argv == nil || (os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" && os.Getenv("BROWSER") == "") {
		fmt.Fprintln(cli.Err(), "No browser to open here (no xdg-open or $BROWSER, or no display): open the link above yourself.")
		return
	}
	c := exec.Command(argv[0], argv[1:]...)
	c.Stdout, c.Stderr = nil, nil
	if err := c.Start(); err != nil {
		fmt.Fprintf(cli.Err(), "Could not start %s: %v; open the link above yourself.\n", argv[0], err)
		return
	}
	c.Process.Release()
}
