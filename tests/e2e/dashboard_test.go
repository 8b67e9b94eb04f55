package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

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
// browser keeps to its first). Each browser has its own cookie jar; any
// JavaScript dialog (an alert from injected markup) fails the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 860), chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	chromedp.ListenTarget(browser, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			t.Errorf("the page opened a JavaScript dialog: %q", d.Message)
			go chromedp.Run(browser, page.HandleJavaScriptDialog(false))
		}
	})
	if err := chromedp.Run(browser); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
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
		chromedp.Run(ctx, chromedp.Evaluate(`document.body ? document.body.innerText.slice(0, 3000) : ''`, &body))
		t.Fatalf("%s: %v\npage text:\n%s", what, err, body)
	}
}

// waitJS waits until a JavaScript expression is true.
func waitJS(expr string) chromedp.Action {
	return chromedp.Poll(expr, nil, chromedp.WithPollingInterval(50*time.Millisecond))
}

// screenshot saves the tab's viewport as docs/screenshots/<name>.png.
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	var png []byte
	run(t, tab, 20*time.Second, "screenshot "+name, chromedp.CaptureScreenshot(&png))
	dir := filepath.Join(repoRoot, "docs", "screenshots")
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
		waitJS(`[...document.querySelectorAll('#panel-stats .value')].every(v => v.textContent !== '')`))
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
