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
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"ecsdash/internal/audit"
	"ecsdash/internal/ecs/ecssim"
)

// newChrome starts Debian's Chromium headless for one test. Outside CI a
// missing browser skips the test loudly; in CI it fails it. On failure a
// screenshot of the page is saved under the test's temp dir (or
// $ECSDASH_SCREENSHOT_DIR) and its path logged.
func newChrome(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
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
	opts = append(opts, extra...)
	base, cancelTimeout := context.WithTimeout(context.Background(), 90*time.Second)
	alloc, cancelAlloc := chromedp.NewExecAllocator(base, opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		if t.Failed() {
			shotCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			png, err := chromedp.Run(shotCtx, chromedp.FullScreenshot(100))
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
	badge, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(row+" "+statusBadge)))
	if badge != "Running" {
		t.Fatalf("badge says %q", badge)
	}
	// The whole row follows, and a screen reader is told once.
	why, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('`+row+` [data-testid=why-not]').textContent`))
	said, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('live-announce').textContent`))
	live, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('live-announce').getAttribute('aria-live')`))
	if why != "Running." || said != "ci-runner-01 is Running." || live != "polite" {
		t.Fatalf("action cell %q, announced %q (aria-live %q)", why, said, live)
	}
	target, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash`))
	if target != "#row-"+in.ID {
		t.Fatalf("after the start the page is at %q, not the started row", target)
	}
	// The started row is on screen and marked.
	seen, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const r = document.querySelector('`+row+`'), b = r.getBoundingClientRect();
		if (b.top < 0 || b.bottom > innerHeight) return 'off screen at ' + Math.round(b.top);
		return r.matches(':target') && getComputedStyle(r).outlineStyle !== 'none' ? '' : 'not highlighted';
	})()`))
	if seen != "" {
		t.Fatalf("the started row is %s", seen)
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
	if !strings.Contains(text, "wipes ALL data") || !strings.Contains(text, in.ID) || !strings.Contains(text, in.Name) ||
		!strings.Contains(text, in.Region) || !strings.Contains(text, "second person") {
		t.Fatalf("the dialog does not say plainly what is lost, of which instance: %q", text)
	}
	// The default policy sends a wipe for approval: the button says so.
	label, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#init-dialog [data-dialog-submit]")))
	if label != "Request approval to wipe and start" {
		t.Fatalf("the button says %q", label)
	}
	focused, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.name`))
	if focused != "dialog_confirm" {
		t.Fatalf("focus is on %q, not in the dialog", focused)
	}
	disabled := func() bool {
		d, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('#init-dialog [data-dialog-submit]').disabled`))
		return d
	}
	if !disabled() {
		t.Fatal("the button works before anything is typed")
	}
	wrong := in.ID[:len(in.ID)-1] + "x"
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#init-dialog input[name=dialog_confirm]"), wrong)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('[data-dialog-error]').textContent.length > 0`,
		chromedp.WithPollingTimeout(5*time.Second))); err != nil || !disabled() {
		t.Fatal("a wrong confirmation is not refused in words, or the button works")
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector('#init-dialog input[name=dialog_confirm]').value = '') === ''`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#init-dialog input[name=dialog_confirm]"), in.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('[data-dialog-error]').textContent === '' && !document.querySelector('#init-dialog [data-dialog-submit]').disabled`,
		chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Fatal("the right ID does not clear the note and enable the button")
	}
	open, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('init-dialog').open`))
	if !open {
		t.Fatal("the dialog closed while typing")
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
	// The frame stays in the page's process (no site isolation), so its
	// loads arrive as events of the page's own target and its document is
	// read through an isolated world: no re-attaching to a target that moves
	// when the frame navigates, no polling. Cookies do not depend on the
	// process: they are still another site's, partitioned by the portal.
	ctx := newChrome(t, chromedp.Flag("disable-site-isolation-trials", true),
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,IsolateOrigins,site-per-process"))
	loads := frameLoads(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(portalOrigin+"/")); err != nil {
		t.Fatal(err)
	}
	login := waitFrameLoad(t, loads, dashURL+"/login")
	submitted := frameEval[bool](t, ctx, login, `(() => {
		const f = document.querySelector('form input[name=username]').form;
		f.username.value = 'op1';
		f.password.value = '`+password+`';
		f.querySelector('button[type=submit]').click();
		return true;
	})()`)
	if !submitted {
		t.Fatal("the login form was not submitted")
	}
	list := waitFrameLoad(t, loads, dashURL+"/instances")
	who := frameEval[string](t, ctx, list, `(document.querySelector('[data-testid=whoami]') || {}).textContent || ''`)
	rows := frameEval[int](t, ctx, list, `document.querySelectorAll('tr[data-instance-id]').length`)
	if !strings.Contains(who, "op1") || rows == 0 {
		t.Fatalf("inside the iframe the list did not show for op1 (whoami %q, %d rows)", who, rows)
	}
}

// frameLoad is a child frame that finished loading, with its URL.
type frameLoad struct {
	id  cdp.FrameID
	url string
}

// frameLoads reports every child frame of the page that stops loading. It
// listens before anything navigates, so no load is missed.
func frameLoads(t *testing.T, ctx context.Context) <-chan frameLoad {
	t.Helper()
	ch := make(chan frameLoad, 32)
	var mu sync.Mutex
	urls := map[cdp.FrameID]string{}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *cdppage.EventFrameNavigated:
			if ev.Frame.ParentID != "" {
				mu.Lock()
				urls[ev.Frame.ID] = ev.Frame.URL
				mu.Unlock()
			}
		case *cdppage.EventFrameStoppedLoading:
			mu.Lock()
			u, child := urls[ev.FrameID]
			mu.Unlock()
			if child {
				select {
				case ch <- frameLoad{ev.FrameID, u}:
				default: // the test reads as it goes; a full queue means it stopped reading
				}
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// waitFrameLoad waits for a child frame to finish loading a URL that starts
// with prefix, and returns its frame id.
func waitFrameLoad(t *testing.T, loads <-chan frameLoad, prefix string) cdp.FrameID {
	t.Helper()
	timeout := time.After(60 * time.Second)
	var seen []string
	for {
		select {
		case l := <-loads:
			if strings.HasPrefix(l.url, prefix) {
				return l.id
			}
			seen = append(seen, l.url)
		case <-timeout:
			t.Fatalf("no frame loaded %s (loads seen: %q); refused by frame-ancestors?", prefix, seen)
		}
	}
}

// frameEval evaluates expression in an isolated world of frame (it sees the
// frame's DOM, not its scripts' variables).
func frameEval[T any](t *testing.T, ctx context.Context, frame cdp.FrameID, expression string) T {
	t.Helper()
	world, err := chromedp.Call(ctx, cdppage.CreateIsolatedWorld, cdppage.CreateIsolatedWorldParams{FrameID: frame, WorldName: "test"})
	if err != nil {
		t.Fatalf("isolated world in frame %s: %v", frame, err)
	}
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression, func(p *runtime.EvaluateParams) {
		p.ContextID = world.ExecutionContextID
	}))
	if err != nil {
		t.Fatalf("evaluate in frame %s: %v", frame, err)
	}
	return v
}

// The approver's journey on a phone: the navigation says a request waits;
// on the audit page the request is a card with its buttons beside what they
// decide; approving a wipe asks once more in a dialog, then starts it once.
func TestBrowserApproverOnAPhoneApprovesAWipe(t *testing.T) {
	h := newHarness(t, opts{})
	id, _ := requestInit(t, h, "op1")
	in := h.instance("hadoop-data-01")
	ctx := newChrome(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	browserLogin(t, ctx, h, "appr")
	count, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-testid=waiting-count]")))
	if err != nil || count != "1" {
		t.Fatalf("the navigation counts %q waiting (%v)", count, err)
	}
	card := fmt.Sprintf(`tr[data-audit-id="%d"]`, id)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`nav a[href$="audit"]`)),
		chromedp.WaitVisible(chromedp.CSS(card)),
	); err != nil {
		t.Fatal(err)
	}
	// The button is on screen, in the card that names the instance.
	fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const card = document.querySelector('`+card+`');
		const b = card.querySelector('form[data-approve-wipe] button');
		const r = b.getBoundingClientRect(), c = card.getBoundingClientRect();
		return innerWidth <= 400 && r.left >= 0 && r.right <= innerWidth && c.right <= innerWidth + 1 &&
			card.textContent.includes('`+in.ID+`') && card.textContent.includes('wipes all data');
	})()`))
	if err != nil || !fits {
		dbg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
			const card = document.querySelector('`+card+`');
			const b = card.querySelector('form[data-approve-wipe] button');
			return JSON.stringify({w: innerWidth, b: b.getBoundingClientRect(), c: card.getBoundingClientRect(), doc: document.documentElement.scrollWidth});
		})()`))
		t.Fatalf("on a phone the approve button is off-screen or away from its request (%v): %s", err, dbg)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(card+" form[data-approve-wipe] button")),
		chromedp.WaitVisible(chromedp.CSS("#approve-dialog")),
	); err != nil {
		t.Fatal(err)
	}
	text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#approve-dialog")))
	if !strings.Contains(text, in.ID) || !strings.Contains(text, "wipes ALL data") {
		t.Fatalf("the dialog says %q", text)
	}
	if n, _ := h.sim.Starts(in.ID); n != 0 {
		t.Fatal("the wipe started before it was confirmed")
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#approve-dialog button[value=yes]`)),
		chromedp.WaitVisible(chromedp.CSS("[data-testid=flash]")),
	); err != nil {
		t.Fatal(err)
	}
	flash, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-testid=flash]")))
	if !strings.Contains(flash, "RequestId") {
		t.Fatalf("after approving: %q", flash)
	}
	if n, init := h.sim.Starts(in.ID); n != 1 || init != 1 {
		t.Fatalf("started %d times, %d with InitLocalDisk", n, init)
	}
}

// Batch start in a browser: tick three, start them, and watch the results
// page follow each to Running.
func TestBrowserStartsThreeSelectedAndWatchesThemRun(t *testing.T) {
	h := newHarness(t, opts{simOpts: ecssim.Options{StartDelay: 2 * time.Second}})
	ctx := newChrome(t)
	browserLogin(t, ctx, h, "op1")
	var ids []string
	for _, name := range []string{"ci-runner-01", "ci-runner-02", "batch-worker-01"} {
		ids = append(ids, h.instance(name).ID)
	}
	actions := []chromedp.Action[chromedp.Void]{chromedp.Navigate(h.url("instances?region=cn-hangzhou&per_page=100")), chromedp.WaitVisible(chromedp.CSS("#batch-form"))}
	for _, id := range ids {
		actions = append(actions, chromedp.Click(chromedp.CSS(`tr[data-instance-id="`+id+`"] input[data-pick]`)))
	}
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
	label, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-batch-submit]")))
	if label != "Start selected (3)" {
		t.Fatalf("the button says %q", label)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("[data-batch-submit]")),
		chromedp.WaitVisible(chromedp.CSS("tr[data-outcome]")),
	); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		sel := `document.querySelector('tr[data-instance-id="` + id + `"]')`
		if outcome, _ := chromedp.Run(ctx, chromedp.Evaluate[string](sel+`.getAttribute('data-outcome')`)); outcome != "started" {
			t.Fatalf("%s: %q", id, outcome)
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](sel+`.getAttribute('data-status') === 'Running'`,
			chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			t.Fatalf("%s never turned Running on the results page: %v", id, err)
		}
	}
	if n := h.sim.Calls("StartInstances"); n != 1 {
		t.Fatalf("%d StartInstances calls", n)
	}
}

// Issue 15, part 4: on a phone each instance is a card with its name and
// id, region, status, locks, billing and action together, nothing off-screen.
func TestBrowserPhoneShowsEachInstanceAsACard(t *testing.T) {
	h := newHarness(t, opts{})
	expired := h.instance("promo-site-2019")
	ctx := newChrome(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	browserLogin(t, ctx, h, "op1")
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url("instances?region=cn-hangzhou&per_page=100")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-instance-id="`+expired.ID+`"]`))); err != nil {
		t.Fatal(err)
	}
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const row = document.querySelector('tr[data-instance-id="`+expired.ID+`"]');
		const shown = (sel) => { const e = row.querySelector(sel); if (!e) return false; const r = e.getBoundingClientRect(); return r.width > 0 && r.right <= innerWidth + 1; };
		const want = {name: 'strong', region: '`+regionCell+`', status: '`+statusBadge+`', locks: '`+locksCell+` .badge.lock',
			billing: '`+billingCell+` .error-text', action: '[data-testid=why-not]'};
		const missing = Object.keys(want).filter(k => !shown(want[k]));
		if (innerWidth > 400) return 'viewport ' + innerWidth;
		if (document.documentElement.scrollWidth > innerWidth + 1) return 'the page scrolls sideways: ' + document.documentElement.scrollWidth;
		return missing.join(',');
	})()`))
	if err != nil || ok != "" {
		t.Fatalf("on a phone the card lacks or hides: %q (%v)", ok, err)
	}
}
