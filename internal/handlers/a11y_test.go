package handlers_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// axeSource is axe-core as npm installed it from package-lock.json (pinned).
// Outside CI a missing install skips loudly; in CI it fails.
func axeSource(t *testing.T) string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	file := filepath.Join(filepath.Dir(here), "..", "..", "node_modules", "axe-core", "axe.min.js")
	src, err := os.ReadFile(file)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("axe-core is not installed (%v); CI must run 'npm ci' at the repository's root", err)
		}
		t.Skipf("!!! SKIPPING ACCESSIBILITY TEST: axe-core is not installed; run 'npm ci' at the repository's root (%v) !!!", err)
	}
	return string(src)
}

// axeFinding is one violation on one page.
type axeFinding struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// checkAxe runs axe-core on the page as it is now and fails the test for each
// violation above minor (the bar is serious and critical; moderate
// ones, a landmark or a skip link's target, are held too), naming the page
// and the elements.
func checkAxe(t *testing.T, ctx context.Context, axe, page string) {
	t.Helper()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe === 'object'`))
	if err != nil {
		t.Fatalf("%s: %v", page, err)
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](axe+"\n;undefined")); err != nil {
			t.Fatalf("%s: loading axe-core: %v", page, err)
		}
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(
		r.violations.filter(v => v.impact !== 'minor').map(v => ({
			id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: axe.run: %v", page, err)
	}
	var found []axeFinding
	if err := json.Unmarshal([]byte(raw), &found); err != nil {
		t.Fatalf("%s: %v in %s", page, err, raw)
	}
	for _, f := range found {
		t.Errorf("%s: axe %s (%s): %s — %s", page, f.Impact, f.ID, f.Help, strings.Join(f.Nodes, " | "))
	}
}

// shots saves the README's screenshots, taken by the tests: into
// docs/screenshots when ECSDASH_UPDATE_SCREENSHOTS is set, else into the
// test's temp dir (so taking them is exercised on every run).
type shots struct {
	t   *testing.T
	dir string
}

func newShots(t *testing.T) shots {
	if os.Getenv("ECSDASH_UPDATE_SCREENSHOTS") != "" {
		_, here, _, _ := runtime.Caller(0)
		return shots{t, filepath.Join(filepath.Dir(here), "..", "..", "docs", "screenshots")}
	}
	return shots{t, t.TempDir()}
}

func (s shots) take(ctx context.Context, name string) {
	s.t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil || len(png) < 1000 {
		s.t.Fatalf("screenshot %s: %v (%d bytes)", name, err, len(png))
	}
	if err := os.WriteFile(filepath.Join(s.dir, name+".png"), png, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// laptopChrome is a browser with a 1440x900 page in the colour scheme.
func laptopChrome(t *testing.T, scheme string) context.Context {
	t.Helper()
	ctx := newChrome(t, chromedp.WindowSize(1440, 900))
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1440, 900)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// Issue 15, part 8: every journey's pages, in light and dark, have no
// axe-core finding above minor: sign-in, the list after a start, the
// wipe dialog, an ECS error with Try again, a check, batch results, the
// operator's own requests awaiting approval, the approver's dialog, the
// viewer's list, and the list on a phone.
func TestBrowserEveryJourneyIsAccessibleInLightAndDark(t *testing.T) {
	axe := axeSource(t)
	for _, scheme := range []string{"light", "dark"} {
		t.Run(scheme, func(t *testing.T) {
			h := newHarness(t, opts{})
			requestInitOf(t, h, "op1", "kafka-broker-01")
			ctx := laptopChrome(t, scheme)
			var pics shots
			if scheme == "light" {
				pics = newShots(t)
			}
			step := func(page string, actions ...chromedp.Action[chromedp.Void]) {
				t.Helper()
				if err := chromedp.Do(ctx, actions...); err != nil {
					t.Fatalf("%s: %v", page, err)
				}
				checkAxe(t, ctx, axe, scheme+" "+page)
			}
			step("sign-in", chromedp.Navigate(h.url("login")), chromedp.WaitVisible(chromedp.CSS("input[name=username]")))
			browserLogin(t, ctx, h, "op1")

			ci := h.instance("ci-runner-01")
			step("list after a start",
				chromedp.Navigate(h.url("instances?region=cn-hangzhou")),
				chromedp.Click(chromedp.CSS(`tr[data-instance-id="`+ci.ID+`"] form.start-form button[type=submit]`)),
				chromedp.WaitVisible(chromedp.CSS("[data-testid=flash]")))
			if pics.dir != "" {
				if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`window.scrollTo(0, 0)`)); err != nil {
					t.Fatal(err)
				}
				pics.take(ctx, "desktop-list")
			}

			disk := h.instance("hadoop-data-01")
			step("wipe dialog",
				chromedp.Navigate(h.url("instances?q=hadoop-data-01&region=cn-hangzhou")),
				chromedp.Click(chromedp.CSS(`tr[data-instance-id="`+disk.ID+`"] input[name=init_local_disk]`)),
				chromedp.WaitVisible(chromedp.CSS("#init-dialog")),
				chromedp.SendKeys(chromedp.CSS("#init-dialog input[name=dialog_confirm]"), "wrong-id-typed-here"))
			if pics.dir != "" {
				pics.take(ctx, "wipe-dialog")
			}

			etl := h.instance("etl-nightly-01")
			step("ECS error with Try again",
				chromedp.Navigate(h.url("instances?q=etl-nightly-01&region=cn-hangzhou")),
				chromedp.Click(chromedp.CSS(`tr[data-instance-id="`+etl.ID+`"] form.start-form button[type=submit]`)),
				chromedp.WaitVisible(chromedp.CSS("[data-testid=retry]")))

			step("check",
				chromedp.Navigate(h.url("instances?q=staging-web-01&region=cn-hangzhou")),
				chromedp.Click(chromedp.CSS(`form.start-form button[formaction]`)),
				chromedp.WaitVisible(chromedp.CSS("[data-testid=check]")))

			b1, b2 := h.instance("batch-worker-01"), h.instance("batch-worker-02")
			step("batch results",
				chromedp.Navigate(h.url("instances?q=batch-worker&region=cn-hangzhou")),
				chromedp.Click(chromedp.CSS(`tr[data-instance-id="`+b1.ID+`"] input[data-pick]`)),
				chromedp.Click(chromedp.CSS(`tr[data-instance-id="`+b2.ID+`"] input[data-pick]`)),
				chromedp.Click(chromedp.CSS("[data-batch-submit]")),
				chromedp.WaitVisible(chromedp.CSS("tr[data-outcome]")))

			step("operator's audit page", chromedp.Navigate(h.url("audit")), chromedp.WaitVisible(chromedp.CSS("tr[data-audit-id]")))
			if pics.dir != "" {
				pics.take(ctx, "audit")
			}

			ctx = laptopChrome(t, scheme)
			browserLogin(t, ctx, h, "appr")
			step("approver's dialog",
				chromedp.Navigate(h.url("audit")),
				chromedp.Click(chromedp.CSS("form[data-approve-wipe] button")),
				chromedp.WaitVisible(chromedp.CSS("#approve-dialog")))
			if pics.dir != "" {
				pics.take(ctx, "approver-dialog")
			}

			ctx = laptopChrome(t, scheme)
			browserLogin(t, ctx, h, "view")
			step("viewer's list", chromedp.Navigate(h.url("instances")), chromedp.WaitVisible(chromedp.CSS("[data-testid=view-only]")))

			step("list on a phone",
				chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
				chromedp.Navigate(h.url("instances?region=cn-hangzhou")),
				chromedp.WaitVisible(chromedp.CSS("tr[data-instance-id]")))
			if pics.dir != "" {
				pics.take(ctx, "phone-list")
			}
		})
	}
}

// Issue 15, parts 3 and 8: at 1440x900 at least 15 rows are on the first
// screen; a skip link brings the keyboard to the first Start in a few Tabs;
// at 200% zoom (a 720x450 CSS viewport) the Action column is on screen.
func TestBrowserListIsDenseKeyboardFriendlyAndZoomable(t *testing.T) {
	h := newHarness(t, opts{})
	ctx := laptopChrome(t, "light")
	browserLogin(t, ctx, h, "op1")
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url("instances?per_page=50")), chromedp.WaitVisible(chromedp.CSS("tr[data-instance-id]"))); err != nil {
		t.Fatal(err)
	}
	visible, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const rows = [...document.querySelectorAll('tr[data-instance-id]')];
		const on = rows.filter(r => { const b = r.getBoundingClientRect(); return b.top >= 0 && b.bottom <= innerHeight; });
		return JSON.stringify({on: on.length, of: rows.length, h: innerHeight, heights: rows.slice(0, 20).map(r => Math.round(r.getBoundingClientRect().height)),
			cols: [...document.querySelectorAll('table.fleet th')].map(th => th.textContent.trim() + ' ' + Math.round(th.getBoundingClientRect().width)).join(', ')});
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	var dense struct {
		On, Of, H int
		Heights   []int
		Cols      string
	}
	_ = json.Unmarshal([]byte(visible), &dense)
	if dense.Of < 20 || dense.On < 15 {
		t.Fatalf("at 1440x900 only %d of %d rows are on the first screen (row heights %v, viewport %d px; columns %s)", dense.On, dense.Of, dense.Heights, dense.H, dense.Cols)
	}

	// Keyboard: the first Tab reaches the skip link; following it, the next
	// Tabs reach the first row's controls.
	tabs := 0
	focused := func() string {
		s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const e = document.activeElement; return e ? (e.getAttribute('aria-label') || e.textContent || e.tagName).trim() : ''; })()`))
		return s
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url("instances?per_page=50")), chromedp.WaitVisible(chromedp.CSS("tr[data-instance-id]")),
		chromedp.KeyEvent(kb.Tab)); err != nil {
		t.Fatal(err)
	}
	if got := focused(); !strings.HasPrefix(got, "Skip to") {
		t.Fatalf("the first Tab reaches %q, not a skip link", got)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	for tabs = 1; tabs <= 6; tabs++ {
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(focused(), "Start ") {
			break
		}
	}
	if tabs > 4 {
		t.Fatalf("after the skip link, %d Tabs and the first Start is still not reached (at %q)", tabs, focused())
	}

	// 200% zoom of a 1440x900 window.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(720, 450, chromedp.EmulateScale(2)),
		chromedp.Navigate(h.url("instances?region=cn-hangzhou")), chromedp.WaitVisible(chromedp.CSS("tr[data-instance-id]"))); err != nil {
		t.Fatal(err)
	}
	off, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const b = document.querySelector('form.start-form button[type=submit]').getBoundingClientRect();
		if (innerWidth > 730) return 'viewport ' + innerWidth;
		if (b.width === 0 || b.left < 0 || b.right > innerWidth) return 'the first Start is at ' + Math.round(b.left) + '-' + Math.round(b.right) + ' of ' + innerWidth;
		return '';
	})()`))
	if err != nil || off != "" {
		t.Fatalf("at 200%% zoom: %s (%v)", off, err)
	}
}

// The wipe's reason for the approver: the dialog asks for it (the row's field
// is out of sight) and it reaches the request; without JavaScript the row's
// field shows once the wipe is ticked, and not before.
func TestBrowserWipeReasonIsAskedWhereItIsSeen(t *testing.T) {
	h := newHarness(t, opts{})
	in := h.instance("hadoop-data-01")
	row := `tr[data-instance-id="` + in.ID + `"]`
	ctx := newChrome(t)
	browserLogin(t, ctx, h, "op1")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url("instances?q=hadoop-data-01&region=cn-hangzhou")),
		chromedp.Click(chromedp.CSS(row+" input[name=init_local_disk]")),
		chromedp.WaitVisible(chromedp.CSS("#init-dialog [data-dialog-reason]")),
		chromedp.SendKeys(chromedp.CSS("#init-dialog input[name=dialog_confirm]"), in.ID),
		chromedp.SendKeys(chromedp.CSS("#init-dialog input[name=dialog_reason]"), "disk 2 reported failed"),
		chromedp.Click(chromedp.CSS("#init-dialog [data-dialog-submit]")),
		chromedp.WaitVisible(chromedp.CSS("tr[data-audit-id]")),
	); err != nil {
		t.Fatal(err)
	}
	ops := h.ops()
	if len(ops) == 0 || !ops[0].First.InitLocalDisk || ops[0].First.Reason != "disk 2 reported failed" {
		t.Fatalf("the request does not carry the dialog's reason (%d operations; the newest: init=%v reason %q)", len(ops), len(ops) > 0 && ops[0].First.InitLocalDisk, ops[0].First.Reason)
	}

	// Without JavaScript.
	h2 := newHarness(t, opts{})
	in2 := h2.instance("hadoop-data-02")
	row2 := `tr[data-instance-id="` + in2.ID + `"]`
	ctx2 := newChrome(t)
	if _, err := chromedp.Call(ctx2, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	browserLogin(t, ctx2, h2, "op1")
	shown := func() bool {
		v, err := chromedp.Run(ctx2, chromedp.Evaluate[bool](`getComputedStyle(document.querySelector('`+row2+` label.reason')).display !== 'none'`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if err := chromedp.Do(ctx2, chromedp.Navigate(h2.url("instances?q=hadoop-data-02&region=cn-hangzhou")), chromedp.WaitVisible(chromedp.CSS(row2))); err != nil {
		t.Fatal(err)
	}
	if shown() {
		t.Fatal("the wipe's reason shows before the wipe is ticked")
	}
	if err := chromedp.Do(ctx2, chromedp.Click(chromedp.CSS(row2+" input[name=init_local_disk]"))); err != nil {
		t.Fatal(err)
	}
	if !shown() {
		t.Fatal("without JavaScript, ticking the wipe does not show its reason field")
	}
}
