package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// The dashboard's browser tests drive Debian's chromium, headless, through
// chromedp: what a person does with the page, checked by what the page
// shows.

// chromiumPath finds a Chromium to drive, or skips the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Skip("no chromium to drive (apt-get install -y chromium; scripts/setup.sh installs it)")
	return ""
}

// startDashboardDaemon starts a private berthd serving the dashboard on a
// free loopback port, and returns it with the dashboard's base URL.
func startDashboardDaemon(t *testing.T) (*Daemon, string) {
	t.Helper()
	d := newStoppedDaemon(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	raw, err := os.ReadFile(d.Config)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["ui-addr"] = addr
	raw, _ = json.Marshal(cfg)
	if err := os.WriteFile(d.Config, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := d.importBusybox(); err != nil {
		t.Fatal(err)
	}
	return d, "http://" + addr
}

var loginLink = regexp.MustCompile(`^http://127\.0\.0\.1:\d+/login\?token=[A-Za-z0-9_-]{40,}$`)

// dashboardLink runs `berth dashboard` and checks it printed one link.
func dashboardLink(t *testing.T, d *Daemon, base string) string {
	t.Helper()
	r := mustOK(t, d.Berth().Run(t, "dashboard"))
	link := strings.TrimSuffix(r.Stdout, "\n")
	if !loginLink.MatchString(link) || !strings.HasPrefix(link, base+"/") {
		t.Fatalf("berth dashboard printed %q, want one line %s/login?token=…", r.Stdout, base)
	}
	return link
}

// newBrowser starts headless chromium until t ends and returns its one
// tab (a background tab renders no frames, so no screenshots: each
// browser keeps to its first). Each browser has its own cookie jar. An
// alert (from injected markup) fails the test; the page's own confirm
// questions are answered yes.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	// chromium's profile, removed once the browser is gone (chromium's
	// helpers may still write to it while it exits, which t.TempDir's own
	// removal would report as an error).
	profile, err := os.MkdirTemp("", "berth-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 860), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	chromedp.ListenTarget(browser, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			if d.Type != page.DialogTypeConfirm {
				t.Errorf("the page opened a JavaScript %s: %q", d.Type, d.Message)
			}
			go chromedp.Run(browser, page.HandleJavaScriptDialog(d.Type == page.DialogTypeConfirm))
		}
	})
	if err := chromedp.Run(browser); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		for i := 0; i < 50 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(20 * time.Millisecond) // a retry of the removal, not synchronisation
		}
	})
	return browser
}

// run runs browser actions with a deadline.
func run(t *testing.T, tab context.Context, limit time.Duration, what string, actions ...chromedp.Action) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, limit)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var body string
		ctx, cancel := context.WithTimeout(tab, 5*time.Second)
		defer cancel()
		chromedp.Run(ctx, chromedp.Evaluate(`document.body ? document.body.innerText.slice(0, 3000) + '\ntoast: ' + document.querySelector('#toast').textContent : ''`, &body))
		t.Fatalf("%s: %v\npage text:\n%s", what, err, body)
	}
}

// waitJS waits until a JavaScript expression is true.
func waitJS(expr string) chromedp.Action {
	return chromedp.Poll(expr, nil, chromedp.WithPollingInterval(50*time.Millisecond))
}

// screenshot saves the tab's viewport as <name>.png: into the directory
// BERTH_SCREENSHOTS names (`BERTH_SCREENSHOTS=docs/screenshots` refreshes
// README's pictures), else into the test's temporary directory, so a test
// run leaves the checkout as it was. The capture itself is always taken.
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	var png []byte
	run(t, tab, 20*time.Second, "screenshot "+name, chromedp.CaptureScreenshot(&png))
	dir := t.TempDir()
	if d := os.Getenv("BERTH_SCREENSHOTS"); d != "" {
		dir = d
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(repoRoot, dir)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// jsString quotes s for a JavaScript expression.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// loggedIn opens a browser logged in to d's dashboard with a printed link.
func loggedIn(t *testing.T, d *Daemon, base string) context.Context {
	t.Helper()
	tab := newBrowser(t)
	run(t, tab, 30*time.Second, "log in",
		chromedp.Navigate(dashboardLink(t, d, base)),
		waitJS(`document.querySelector('main[data-ready]') !== null`))
	return tab
}

func TestDashboardBrowser(t *testing.T) {
	chromiumPath(t)
	d, base := startDashboardDaemon(t)
	b := d.Berth()
	const hostile = `<img src=x onerror=alert(1)>`
	web := uniq("dash-web")
	webID := b.Must(t, "run", "-d", "--name", web, "-p", "127.0.0.1::80", "-e", "NOTE="+hostile, "--label", "note="+hostile,
		"busybox", "sh", "-c", "trap 'exit 0' TERM; echo dashboard-line-42; echo '"+hostile+"'; while true; do sleep 1; done")
	b.Must(t, "create", "--name", uniq("dash-xss"), "--label", "com.docker.compose.project=dashproj",
		"--label", "com.docker.compose.service="+hostile, "busybox", "true")
	b.Must(t, "volume", "create", uniq("dash-vol"))
	b.Must(t, "network", "create", uniq("dash-net"))

	tab := newBrowser(t)
	// A second browser, never logged in, for the tokens that must fail.
	stranger := newBrowser(t)

	// A wrong token: the login page, 401, no data.
	bad := stranger
	var text string
	run(t, bad, 30*time.Second, "wrong token",
		chromedp.Navigate(base+"/login?token=wrong-token-0123456789"),
		chromedp.WaitVisible("#login", chromedp.ByQuery),
		chromedp.Evaluate(`document.body.innerText`, &text))
	if strings.Contains(text, web) || !strings.Contains(text, "berth dashboard") {
		t.Fatalf("wrong token page:\n%s", text)
	}
	screenshot(t, bad, "login")

	// The printed link logs in, once.
	link := dashboardLink(t, d, base)
	var loc string
	run(t, tab, 30*time.Second, "log in",
		chromedp.Navigate(link),
		waitJS(`document.querySelector('main[data-ready]') !== null`),
		chromedp.Location(&loc))
	if loc != base+"/" {
		t.Fatalf("after login the page is at %s (the token must leave the address bar)", loc)
	}
	screenshot(t, tab, "overview")
	reuse := stranger
	run(t, reuse, 30*time.Second, "reused token",
		chromedp.Navigate(link),
		chromedp.WaitVisible("#login", chromedp.ByQuery),
		chromedp.Evaluate(`document.body.innerText`, &text))
	if strings.Contains(text, web) {
		t.Fatalf("a reused token showed data:\n%s", text)
	}
	var status int
	run(t, reuse, 10*time.Second, "API without session",
		chromedp.Evaluate(`fetch('/api/v1.47/containers/json').then(r => r.status)`, &status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if status != 401 {
		t.Fatalf("/api without a session: %d", status)
	}

	// The list shows the running container; a marker on window tells
	// that later changes come without a reload.
	row := `document.querySelector('#containers tr[data-name=` + jsString(web) + `]')`
	run(t, tab, 30*time.Second, "containers list",
		chromedp.Navigate(base+"/#/containers"),
		waitJS(row+` !== null && `+row+`.querySelector('.state').textContent.startsWith('running')`),
		chromedp.Evaluate(`window.__noReload = 1`, nil))
	screenshot(t, tab, "containers")

	// Logs: the line the container printed, and the hostile one as text.
	run(t, tab, 30*time.Second, "logs",
		chromedp.Navigate(base+"/#/containers/"+webID),
		waitJS(`document.querySelector('#tab-logs') !== null && document.querySelector('main[data-ready]') !== null`),
		chromedp.Click("#tab-logs", chromedp.ByQuery),
		waitJS(`(document.querySelector('#logs')||{}).textContent.includes('dashboard-line-42')`),
		waitJS(`document.querySelector('#logs').textContent.includes(`+jsString(hostile)+`)`))
	screenshot(t, tab, "container-logs")

	// The console: type `echo hi`, see `hi` on a row of its own.
	run(t, tab, 60*time.Second, "console",
		chromedp.Click("#tab-console", chromedp.ByQuery),
		waitJS(`(document.querySelector('#console-status')||{}).textContent === 'connected'`),
		waitJS(`document.querySelector('#terminal .xterm-rows').textContent.includes('#')`),
		// Typed as a person's keyboard input reaches xterm.js: text
		// inserted into its input element, then the Enter key.
		chromedp.Focus("#terminal textarea.xterm-helper-textarea", chromedp.ByQuery),
		input.InsertText("echo hi"),
		chromedp.KeyEvent(kb.Enter),
		waitJS(`[...document.querySelectorAll('#terminal .xterm-rows > div')].some(r => r.textContent.trim() === 'hi')`))
	screenshot(t, tab, "container-console")
	run(t, tab, 30*time.Second, "config and stats",
		chromedp.Click("#tab-config", chromedp.ByQuery),
		waitJS(`document.querySelector('#panel-config').textContent.includes('NOTE=`+hostile+`')`),
		chromedp.Click("#tab-stats", chromedp.ByQuery),
		waitJS(`[...document.querySelectorAll('#panel-stats figure')].every(f => +f.dataset.samples >= 3)`))
	screenshot(t, tab, "container-stats")

	// Stop from the list: the state changes in place.
	run(t, tab, 60*time.Second, "stop",
		chromedp.Navigate(base+"/#/containers"),
		waitJS(row+` !== null`),
		chromedp.Click(`#containers tr[data-name="`+web+`"] input[type=checkbox]`, chromedp.ByQuery),
		chromedp.Click(`button[data-action=stop]`, chromedp.ByQuery),
		waitJS(row+`.querySelector('.state').textContent.startsWith('exited')`),
		waitJS(`window.__noReload === 1`))
	if st := b.Must(t, "inspect", "-f", "{{.State.Status}}", web); st != "exited" {
		t.Fatalf("the page shows exited, berth says %s", st)
	}

	// Pull from a loopback registry: per-layer progress up to 100 %.
	reg := startDockerRegistry(t, "")
	ref := reg.Host + "/dash/random:1"
	img, err := random.Image(2<<20, 3)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	var seen []string
	run(t, tab, 120*time.Second, "pull",
		chromedp.Navigate(base+"/#/images"),
		waitJS(`document.querySelector('main[data-ready]') !== null`),
		chromedp.SendKeys("#pull-ref", ref, chromedp.ByQuery),
		chromedp.Click("#pull", chromedp.ByQuery),
		waitJS(`document.querySelector('#pull-percent') && document.querySelector('#pull-percent').textContent === '100 %'`),
		waitJS(`document.querySelector('#pull-status').textContent.includes('Downloaded newer image')`),
		chromedp.Evaluate(`[...document.querySelectorAll('#pull-progress li')].map(l => l.textContent)`, &seen),
		waitJS(`document.querySelector('#images').textContent.includes(`+jsString(ref)+`)`))
	if len(seen) != 3 {
		t.Fatalf("per-layer progress for %d layers, want 3: %q", len(seen), seen)
	}
	for _, l := range seen {
		if !strings.Contains(l, "Pull complete") {
			t.Fatalf("a layer did not complete: %q", seen)
		}
	}
	screenshot(t, tab, "images")

	// Compose grouping, with a hostile service name shown as text; no
	// element was made from container strings anywhere.
	run(t, tab, 30*time.Second, "compose",
		chromedp.Navigate(base+"/#/compose"),
		waitJS(`document.querySelector('[data-project=dashproj]') !== null`),
		waitJS(`document.querySelector('[data-project=dashproj]').textContent.includes(`+jsString(hostile)+`)`),
		waitJS(`document.querySelectorAll('img').length === 0`))
	screenshot(t, tab, "compose")
	for _, p := range []string{"volumes", "networks", "events"} {
		run(t, tab, 30*time.Second, p,
			chromedp.Navigate(base+"/#/"+p),
			waitJS(`document.querySelector('main[data-ready]') !== null && document.querySelector('main h1').textContent !== ''`))
		screenshot(t, tab, p)
	}
}

// TestDashboardManyContainers measures the containers page's time to
// interactive (navigation start to the list drawn and its controls live)
// with 200 running containers, for bench/RESULTS.md; it is printed, not
// asserted.
func TestDashboardManyContainers(t *testing.T) {
	chromiumPath(t)
	if testing.Short() {
		t.Skip("200 containers: not in -short")
	}
	d, base := startDashboardDaemon(t)
	const n = 200
	prefix := uniq("dash-many")
	errs := make(chan error, n)
	sem := make(chan struct{}, 4)
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem }()
			r := d.Berth().Run(t, "run", "-d", "--name", fmt.Sprintf("%s-%03d", prefix, i), "busybox", "sleep", "3600")
			if r.Exit != 0 {
				errs <- fmt.Errorf("%s", r)
				return
			}
			errs <- nil
		}(i)
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	tab := loggedIn(t, d, base)
	var times, page []float64
	var marks string
	for i := 0; i < 5; i++ {
		var ms, boot float64
		run(t, tab, 60*time.Second, "containers page",
			chromedp.Navigate("about:blank"),
			chromedp.Navigate(base+"/#/containers"),
			waitJS(`document.querySelectorAll('#containers tbody tr').length === `+fmt.Sprint(n)),
			waitJS(`performance.getEntriesByName('containers-ready').length > 0`),
			chromedp.Evaluate(`performance.getEntriesByName('containers-ready')[0].startTime`, &ms),
			chromedp.Evaluate(`performance.getEntriesByName('boot')[0].startTime`, &boot),
			chromedp.Evaluate(`['responseEnd', 'domInteractive'].map(k => k + ' ' + Math.round(performance.getEntriesByType('navigation')[0][k])).concat(
				['boot', 'session', 'containers-fetched', 'containers-ready'].map(k => k + ' ' + Math.round(performance.getEntriesByName(k)[0].startTime))).join(', ')`, &marks))
		times, page = append(times, ms), append(page, ms-boot)
		t.Logf("load %d: %s (ms after navigation start)", i+1, marks)
	}
	screenshot(t, tab, "containers-200")
	sort.Float64s(times)
	sort.Float64s(page)
	load, _ := os.ReadFile("/proc/loadavg")
	// From navigation start (what a person waits) and from the script's
	// start (the page's own work: session, list, drawing 200 rows).
	fmt.Printf("BENCH dashboard-containers-tti-%d median_ms=%.0f min_ms=%.0f max_ms=%.0f script_to_ready_median_ms=%.0f loads=%d loadavg=%q\n",
		n, times[len(times)/2], times[0], times[len(times)-1], page[len(page)/2], len(times), strings.Fields(string(load))[0])
}

// TestDashboardViews works the create form, volumes, networks, images and
// the events feed as a person would, checking each change with berth.
func TestDashboardViews(t *testing.T) {
	chromiumPath(t)
	d, base := startDashboardDaemon(t)
	b := d.Berth()
	tab := loggedIn(t, d, base)

	// Create and start a container from the form.
	made := uniq("dash-made")
	run(t, tab, 60*time.Second, "create form",
		chromedp.Navigate(base+"/#/containers"),
		waitJS(`document.querySelector('main[data-ready]') !== null`),
		chromedp.Click("#new-toggle", chromedp.ByQuery),
		chromedp.SendKeys("#new-image", "busybox", chromedp.ByQuery),
		chromedp.SendKeys("#new-name", made, chromedp.ByQuery),
		chromedp.SendKeys("#new-cmd", `sh -c "echo made-by-form; exec sleep 3600"`, chromedp.ByQuery),
		chromedp.SendKeys("#new-env", "GREETING=hello world", chromedp.ByQuery),
		chromedp.SendKeys("#new-ports", "127.0.0.1::8080", chromedp.ByQuery),
		chromedp.SetValue("#new-restart", "unless-stopped", chromedp.ByQuery),
		chromedp.Click("#new-create", chromedp.ByQuery),
		waitJS(`[...document.querySelectorAll('#containers tr[data-name=`+jsString(made)+`] .state')].some(s => s.textContent.startsWith('running'))`))
	screenshot(t, tab, "containers-create")
	got := b.Must(t, "inspect", "-f", `{{.State.Running}} {{.HostConfig.RestartPolicy.Name}} {{json .Config.Cmd}} {{index .Config.Env 0}}`, made)
	if got != `true unless-stopped ["sh","-c","echo made-by-form; exec sleep 3600"] GREETING=hello world` {
		t.Fatalf("the form made: %s", got)
	}
	if out := b.Must(t, "port", made); !strings.Contains(out, "8080/tcp -> 127.0.0.1:") {
		t.Fatalf("ports: %s", out)
	}

	// Volumes: create, then remove.
	vol := uniq("dash-vol")
	volRow := `document.querySelector('#volumes tr[data-name=` + jsString(vol) + `]')`
	run(t, tab, 30*time.Second, "volume create",
		chromedp.Navigate(base+"/#/volumes"),
		waitJS(`document.querySelector('main[data-ready]') !== null`),
		chromedp.SendKeys("#vol-name", vol, chromedp.ByQuery),
		chromedp.Click("#vol-create", chromedp.ByQuery),
		waitJS(volRow+` !== null`))
	b.Must(t, "volume", "inspect", vol)
	run(t, tab, 30*time.Second, "volume remove",
		chromedp.Click(`#volumes tr[data-name="`+vol+`"] button[data-action=remove]`, chromedp.ByQuery),
		waitJS(volRow+` === null`))
	if r := b.Run(t, "volume", "inspect", vol); r.Exit == 0 {
		t.Fatalf("the volume is still there")
	}

	// Networks: create, connect the container, see its address, disconnect.
	net := uniq("dash-net")
	netRow := `document.querySelector('#networks tr[data-name=` + jsString(net) + `]')`
	run(t, tab, 60*time.Second, "network create and connect",
		chromedp.Navigate(base+"/#/networks"),
		waitJS(`document.querySelector('main[data-ready]') !== null`),
		chromedp.SendKeys("#net-name", net, chromedp.ByQuery),
		chromedp.Click("#net-create", chromedp.ByQuery),
		waitJS(netRow+` !== null`),
		chromedp.Click(`#networks tr[data-name="`+net+`"] button[data-action=inspect]`, chromedp.ByQuery),
		chromedp.WaitVisible("#net-connect-ctr", chromedp.ByQuery),
		chromedp.SendKeys("#net-connect-ctr", made, chromedp.ByQuery),
		chromedp.Click("#net-connect", chromedp.ByQuery),
		waitJS(`document.querySelector('#networks-detail [data-container=`+jsString(made)+`]') !== null`))
	screenshot(t, tab, "networks-inspect")
	if out := b.Must(t, "inspect", "-f", `{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}`, made); !strings.Contains(out, net) {
		t.Fatalf("not connected: %s", out)
	}
	run(t, tab, 30*time.Second, "network disconnect",
		chromedp.Click(`#networks-detail [data-container="`+made+`"] button`, chromedp.ByQuery),
		waitJS(`document.querySelector('#networks-detail [data-container=`+jsString(made)+`]') === null`))
	if out := b.Must(t, "inspect", "-f", `{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}`, made); strings.Contains(out, net) {
		t.Fatalf("still connected: %s", out)
	}

	// Images: history, tag, then the new tag in the list.
	run(t, tab, 30*time.Second, "image history and tag",
		chromedp.Navigate(base+"/#/images"),
		waitJS(`document.querySelector('main[data-ready]') !== null`),
		chromedp.Click(`#images tbody tr button[data-action=history]`, chromedp.ByQuery),
		waitJS(`document.querySelector('#image-detail table.history tbody tr') !== null`),
		chromedp.Click(`#images tbody tr button[data-action=tag]`, chromedp.ByQuery),
		chromedp.SendKeys("#tag-to", "dash/tagged:v1", chromedp.ByQuery),
		chromedp.Click("#tag-submit", chromedp.ByQuery),
		waitJS(`document.querySelector('#images').textContent.includes('dash/tagged:v1')`))
	b.Must(t, "image", "inspect", "dash/tagged:v1")

	// Events: the feed has what happened, and its filter narrows it.
	run(t, tab, 30*time.Second, "events",
		chromedp.Navigate(base+"/#/events"),
		waitJS(`document.querySelector('#events').textContent.includes('disconnect')`),
		chromedp.SetValue("#ev-type", "volume", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('#ev-type').dispatchEvent(new Event('change'))`, nil),
		waitJS(`[...document.querySelectorAll('#events li strong')].every(s => s.textContent === 'volume') && document.querySelectorAll('#events li').length >= 2`))

	// Dark: the same page under prefers-color-scheme: dark.
	run(t, tab, 30*time.Second, "dark",
		emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}),
		chromedp.Navigate(base+"/#/containers"),
		waitJS(`document.querySelector('main[data-ready]') !== null && getComputedStyle(document.body).backgroundColor === 'rgb(21, 24, 28)'`))
	screenshot(t, tab, "containers-dark")

	// Log out: the session is gone, the API answers 401.
	var status int
	run(t, tab, 30*time.Second, "log out",
		chromedp.Click("#logout", chromedp.ByQuery),
		chromedp.WaitVisible("#login", chromedp.ByQuery),
		chromedp.Evaluate(`fetch('/api/v1.47/containers/json').then(r => r.status)`, &status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if status != 401 {
		t.Fatalf("/api after logging out: %d", status)
	}
}

// TestDashboardOff: without ui-addr there is no dashboard, and berth
// dashboard says how to turn it on instead of printing a dead link; the
// --ui-addr flag reaches berthd's configuration.
func TestDashboardOff(t *testing.T) {
	d := sharedDaemon(t, "core")
	r := d.Berth().Run(t, "dashboard")
	if r.Exit == 0 || r.Stdout != "" || !strings.Contains(r.Stderr, "the dashboard is off: start berthd with --ui-addr") {
		t.Fatalf("berth dashboard without ui-addr: %s", r)
	}
	if r := d.Berth().Run(t, "dashboard", "extra"); r.Exit == 0 {
		t.Fatalf("berth dashboard took an argument: %s", r)
	}
	// berthd applies --ui-addr (and checks it): plain HTTP off loopback is
	// refused, a loopback address is fine.
	validate := func(addr string) (string, error) {
		out, err := exec.Command(filepath.Join(binDir, "berthd"), "--config-file", "/dev/null", "--ui-addr", addr, "--validate").CombinedOutput()
		return string(out), err
	}
	if out, err := validate("0.0.0.0:9090"); err == nil || !strings.Contains(out, "refusing to serve the dashboard without TLS on 0.0.0.0:9090") {
		t.Fatalf("berthd --ui-addr 0.0.0.0:9090 --validate: %v %s", err, out)
	}
	if out, err := validate("127.0.0.1:9090"); err != nil || !strings.Contains(out, "configuration OK") {
		t.Fatalf("berthd --ui-addr 127.0.0.1:9090 --validate: %v %s", err, out)
	}
}
