package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"ecsdash/internal/audit"
	"ecsdash/internal/ecs/ecssim"
)

// newChrome starts Debian's Chromium headless for one test. Outside CI a
// missing browser skips the test loudly; in CI it fails it. On failure a
// screenshot of the page is saved under the test's temp dir (or
// $ECSDASH_SCREENSHOT_DIR) and its path logged.
func newChrome(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed; CI must install it (apt-get install chromium)")
		}
		t.Skip("!!! SKIPPING BROWSER TEST: chromium is not installed (apt-get install chromium) !!!")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("no-sandbox", true),
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	base, cancelTimeout := context.WithTimeout(context.Background(), 90*time.Second)
	alloc, cancelAlloc := chromedp.NewExecAllocator(base, opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		if t.Failed() {
			shotCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			png, err := chromedp.Run(shotCtx, chromedp.FullScreenshot(90))
			cancel()
			dir := os.Getenv("ECSDASH_SCREENSHOT_DIR")
			if dir == "" {
				dir = t.TempDir()
			}
			file := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".png")
			if err == nil && os.WriteFile(file, png, 0o644) == nil {
				t.Logf("screenshot of the failure: %s", file)
			}
		}
		cancelCtx()
		cancelAlloc()
		cancelTimeout()
	})
	return ctx
}

func browserLogin(t *testing.T, ctx context.Context, h *harness, user string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url("login")),
		chromedp.SendKeys(chromedp.CSS("input[name=username]"), user),
		chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("tr[data-instance-id]")),
	); err != nil {
		t.Fatalf("login as %s: %v", user, err)
	}
}

func rowAttr(id, attr string) string {
	return fmt.Sprintf(`document.querySelector('tr[data-instance-id="%s"]').getAttribute('%s')`, id, attr)
}

func TestBrowserStartsAStoppedG6AndWatchesItReachRunning(t *testing.T) {
	h := newHarness(t, opts{simOpts: ecssim.Options{StartDelay: 2 * time.Second}})
	ctx := newChrome(t)
	in := h.instance("ci-runner-01")
	if in.Family != "ecs.g6" || in.Status != "Stopped" {
		t.Fatalf("fixture: %+v", in)
	}
	browserLogin(t, ctx, h, "op1")
	row := `tr[data-instance-id="` + in.ID + `"]`
	err := chromedp.Do(ctx,
		chromedp.Navigate(h.url("instances?q=ci-runner-01&region=cn-hangzhou")),
		chromedp.Click(chromedp.CSS(row+" form.start-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("[data-testid=flash]")),
	)
	if err != nil {
		t.Fatal(err)
	}
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-testid=flash]")))
	if err != nil || !strings.Contains(flash, "RequestId") {
		t.Fatalf("flash %q: %v", flash, err)
	}
	status, err := chromedp.Run(ctx, chromedp.Evaluate[string](rowAttr(in.ID, "data-status")))
	if err != nil || status != "Starting" {
		t.Fatalf("right after the start the row shows %q (%v)", status, err)
	}
	// No reload: the page's own script polls until the state settles.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](rowAttr(in.ID, "data-status")+` === 'Running'`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the row never turned Running: %v", err)
	}
	badge, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(row+" [data-status-badge]")))
	if badge != "Running" {
		t.Fatalf("badge says %q", badge)
	}
	if n, _ := h.sim.Starts(in.ID); n != 1 {
		t.Fatalf("started %d times", n)
	}
}

func TestBrowserInitLocalDiskDialogRefusesAWrongConfirmation(t *testing.T) {
	h := newHarness(t, opts{})
	ctx := newChrome(t)
	in := h.instance("hadoop-data-01")
	browserLogin(t, ctx, h, "op1")
	row := `tr[data-instance-id="` + in.ID + `"]`
	err := chromedp.Do(ctx,
		chromedp.Navigate(h.url("instances?q=hadoop-data-01&region=cn-hangzhou")),
		chromedp.WaitVisible(chromedp.CSS(row)),
		chromedp.Click(chromedp.CSS(row+" input[name=init_local_disk]")),
		chromedp.WaitVisible(chromedp.CSS("#init-dialog")),
	)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#init-dialog")))
	if !strings.Contains(text, "wipes ALL data") || !strings.Contains(text, in.ID) || !strings.Contains(text, "second person") {
		t.Fatalf("the dialog does not say plainly what is lost: %q", text)
	}
	focused, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.name`))
	if focused != "dialog_confirm" {
		t.Fatalf("focus is on %q, not in the dialog", focused)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#init-dialog input[name=dialog_confirm]"), "i-not-this-one"),
		chromedp.Click(chromedp.CSS("#init-dialog button[type=submit]")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('[data-dialog-error]').textContent.length > 0`,
		chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Fatal("no refusal shown for a wrong confirmation")
	}
	open, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('init-dialog').open`))
	if !open {
		t.Fatal("the dialog closed on a wrong confirmation")
	}
	// Cancel: the box is unticked and focus returns to it.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#init-dialog [data-dialog-cancel]"))); err != nil {
		t.Fatal(err)
	}
	checked, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('`+row+` input[name=init_local_disk]').checked`))
	back, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.name`))
	if checked || back != "init_local_disk" {
		t.Fatalf("after cancel: checked=%v focus=%q", checked, back)
	}
	if h.sim.Calls("StartInstance") != 0 {
		t.Fatal("something reached ECS")
	}
	for _, op := range h.ops() {
		if op.First.Action == audit.ActionStartInstance {
			t.Fatalf("a start was recorded: %+v", op.Last)
		}
	}
}

func TestBrowserLogsInInsideAnIframeOfAnotherSite(t *testing.T) {
	var dashURL string
	portal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>Portal</title><h1>Company portal</h1><iframe id="ecs" src="%s/login" width="1200" height="800"></iframe>`, dashURL)
	}))
	defer portal.Close()
	portalOrigin := strings.Replace(portal.URL, "127.0.0.1", "localhost", 1) // another site than 127.0.0.1
	h := newHarness(t, opts{args: []string{"--base-url", "https://dash.localhost/", "--cross-site-cookies",
		"--frame-ancestors", portalOrigin}})
	dashURL = h.srv.URL
	ctx := newChrome(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(portalOrigin+"/"), chromedp.WaitVisible(chromedp.CSS("#ecs"))); err != nil {
		t.Fatal(err)
	}
	frame := frameContext(t, ctx, dashURL)
	err := chromedp.Do(frame,
		chromedp.WaitVisible(chromedp.CSS("input[name=username]")),
		chromedp.SendKeys(chromedp.CSS("input[name=username]"), "op1"),
		chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
	)
	if err != nil {
		t.Fatalf("login inside the iframe: %v", err)
	}
	// After the login the iframe shows the list. Chrome may move the frame to
	// a new target when it navigates, so attach again whenever the target
	// changes, and ask the page itself (no DOM node handles to go stale).
	var who string
	var rows int
	var attached target.ID
	var f context.Context
	for deadline := time.Now().Add(45 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		id, ok := iframeTarget(ctx, dashURL)
		if !ok {
			continue
		}
		if id != attached {
			f, _ = chromedp.NewContext(ctx, chromedp.WithTargetID(id)) // ends with ctx
			attached = id
		}
		qctx, cancel := context.WithTimeout(f, 3*time.Second)
		who, err = chromedp.Run(qctx, chromedp.Evaluate[string](`(document.querySelector('[data-testid=whoami]') || {}).textContent || ''`))
		rows, _ = chromedp.Run(qctx, chromedp.Evaluate[int](`document.querySelectorAll('tr[data-instance-id]').length`))
		cancel()
		if strings.Contains(who, "op1") && rows > 0 {
			break
		}
	}
	if !strings.Contains(who, "op1") {
		t.Fatalf("inside the iframe the list never showed for op1 (whoami %q, %d rows, %v)", who, rows, err)
	}
}

// frameContext attaches to the out-of-process iframe showing the dashboard.
func frameContext(t *testing.T, ctx context.Context, prefix string) context.Context {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if f, ok := findFrame(ctx, prefix); ok {
			return f
		}
	}
	t.Fatal("the dashboard's iframe never loaded (refused by frame-ancestors?)")
	return nil
}

// findFrame attaches to an iframe target whose URL starts with prefix. The
// attachment lives as long as ctx.
func findFrame(ctx context.Context, prefix string) (context.Context, bool) {
	id, ok := iframeTarget(ctx, prefix)
	if !ok {
		return nil, false
	}
	fctx, _ := chromedp.NewContext(ctx, chromedp.WithTargetID(id)) // ends with ctx
	return fctx, true
}

// iframeTarget finds the target of an iframe whose URL starts with prefix.
func iframeTarget(ctx context.Context, prefix string) (target.ID, bool) {
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		return "", false
	}
	for _, info := range infos {
		if info.Type == "iframe" && strings.HasPrefix(info.URL, prefix) {
			return info.TargetID, true
		}
	}
	return "", false
}
