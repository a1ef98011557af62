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

// journey is the journeys in one language: the words they expect and the
// README screenshots they write (in the light scheme only).
type journey struct {
	lang     string                 // every page's <html lang>
	choose   bool                   // chosen with the sign-in page's control (English is the default)
	refusal  func(id string) string // the wipe dialog's words for a wrong ID
	shots    map[string]string      // a page's screenshot, docs/screenshots/NAME.png
	approver string                 // who opens the approver's dialog
	// the pages the operator and the approver visit after the shared ones
	operatorPages, approverPages []journeyPage
}

// journeyPage is a page a journey visits: its path and what shows once it is loaded.
type journeyPage struct{ name, path, shown string }

// walk is one journey's browser as it goes: each step's page has the
// journey's <html lang> and no axe-core finding above minor.
type walk struct {
	t      *testing.T
	h      *harness
	ctx    context.Context
	axe    string
	scheme string
	j      journey
	pics   shots
}

// lang fails the test unless the page is in the journey's language.
func (w *walk) lang(page string) {
	w.t.Helper()
	got, err := chromedp.Run(w.ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	if err != nil || got != w.j.lang {
		w.t.Fatalf("%s: <html lang=%q> (%v)", page, got, err)
	}
}

func (w *walk) step(page string, actions ...chromedp.Action[chromedp.Void]) {
	w.t.Helper()
	if err := chromedp.Do(w.ctx, actions...); err != nil {
		w.t.Fatalf("%s: %v", page, err)
	}
	w.lang(page)
	checkAxe(w.t, w.ctx, w.axe, w.j.lang+" "+w.scheme+" "+page)
}

// shot takes the page's screenshot if the journey has one for it.
func (w *walk) shot(page string) {
	w.t.Helper()
	if name, ok := w.j.shots[page]; ok && w.pics.dir != "" {
		w.pics.take(w.ctx, name)
	}
}

// signIn is a new browser signed in as user, the language chosen first
// where it is not the default.
func (w *walk) signIn(user string) {
	w.t.Helper()
	w.ctx = laptopChrome(w.t, w.scheme)
	shown := []chromedp.Action[chromedp.Void]{chromedp.Navigate(w.h.url("login"))}
	if w.j.choose {
		shown = append(shown, chromedp.Click(chromedp.CSS(`[data-testid=lang-control] button[data-lang="`+w.j.lang+`"]`)))
	}
	w.step("sign-in as "+user, append(shown, chromedp.WaitVisible(chromedp.CSS(`html[lang="`+w.j.lang+`"] input[name=username]`)))...)
	browserLogin(w.t, w.ctx, w.h, user)
}

// clickInRow clicks what sel finds in the row of the instance named name.
func (w *walk) clickInRow(name, sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(`tr[data-instance-id="` + w.h.instance(name).ID + `"] ` + sel))
}

func (w *walk) visit(pages []journeyPage) {
	w.t.Helper()
	for _, p := range pages {
		w.step(p.name, chromedp.Navigate(w.h.url(p.path)), chromedp.WaitVisible(chromedp.CSS(p.shown)))
	}
}

// walkJourneys takes the operator through a start, the wipe dialog and its
// refusal, an ECS error with Try again, a check, a batch's results and the
// audit page, then the approver to the approver's dialog, in j's language
// and the colour scheme; it returns the walk in the approver's browser.
func walkJourneys(t *testing.T, axe string, j journey, scheme string) *walk {
	t.Helper()
	h := newHarness(t, opts{})
	requestInitOf(t, h, "op1", "kafka-broker-01")
	w := &walk{t: t, h: h, axe: axe, scheme: scheme, j: j}
	if scheme == "light" {
		w.pics = newShots(t)
	}
	w.signIn("op1")

	w.step("list after a start",
		chromedp.Navigate(h.url("instances?region=cn-hangzhou")),
		w.clickInRow("ci-runner-01", "form.start-form button[type=submit]"),
		chromedp.WaitVisible(chromedp.CSS("[data-testid=flash]")))
	if w.pics.dir != "" {
		if _, err := chromedp.Run(w.ctx, chromedp.Evaluate[any](`window.scrollTo(0, 0)`)); err != nil {
			t.Fatal(err)
		}
	}
	w.shot("list after a start")

	disk := h.instance("hadoop-data-01")
	w.step("wipe dialog",
		chromedp.Navigate(h.url("instances?q=hadoop-data-01&region=cn-hangzhou")),
		w.clickInRow(disk.Name, "input[name=init_local_disk]"),
		chromedp.WaitVisible(chromedp.CSS("#init-dialog")),
		chromedp.SendKeys(chromedp.CSS("#init-dialog input[name=dialog_confirm]"), disk.ID+"0"))
	if got, err := chromedp.Run(w.ctx, chromedp.Evaluate[string](`document.querySelector('#init-dialog [data-dialog-error]').textContent`)); err != nil || got != j.refusal(disk.ID) {
		t.Fatalf("the dialog's refusal from the script: %q (%v)", got, err)
	}
	w.shot("wipe dialog")

	w.step("ECS error with Try again",
		chromedp.Navigate(h.url("instances?q=etl-nightly-01&region=cn-hangzhou")),
		w.clickInRow("etl-nightly-01", "form.start-form button[type=submit]"),
		chromedp.WaitVisible(chromedp.CSS("[data-testid=retry]")))

	w.step("check",
		chromedp.Navigate(h.url("instances?q=staging-web-01&region=cn-hangzhou")),
		chromedp.Click(chromedp.CSS(`form.start-form button[formaction]`)),
		chromedp.WaitVisible(chromedp.CSS("[data-testid=check]")))

	w.step("batch results",
		chromedp.Navigate(h.url("instances?q=batch-worker&region=cn-hangzhou")),
		w.clickInRow("batch-worker-01", "input[data-pick]"),
		w.clickInRow("batch-worker-02", "input[data-pick]"),
		chromedp.Click(chromedp.CSS("[data-batch-submit]")),
		chromedp.WaitVisible(chromedp.CSS("tr[data-outcome]")))

	w.step("operator's audit page", chromedp.Navigate(h.url("audit")), chromedp.WaitVisible(chromedp.CSS("tr[data-audit-id]")))
	w.shot("operator's audit page")
	w.visit(j.operatorPages)

	w.signIn(j.approver)
	w.step("approver's dialog",
		chromedp.Navigate(h.url("audit")),
		chromedp.Click(chromedp.CSS("form[data-approve-wipe] button")),
		chromedp.WaitVisible(chromedp.CSS("#approve-dialog")))
	w.shot("approver's dialog")
	w.visit(j.approverPages)
	return w
}

// english is the journeys as most read them, with most of the README's screenshots.
var english = journey{
	lang:    "en",
	refusal: func(id string) string { return "That is not the instance ID. Type " + id + " exactly, or cancel." },
	shots: map[string]string{"list after a start": "desktop-list", "wipe dialog": "wipe-dialog",
		"operator's audit page": "audit", "approver's dialog": "approver-dialog", "list on a phone": "phone-list"},
	approver: "appr",
}

// Issue 15, part 8: every journey's pages, in light and dark, have no
// axe-core finding above minor: sign-in, the list after a start, the
// wipe dialog, an ECS error with Try again, a check, batch results, the
// operator's own requests awaiting approval, the approver's dialog, the
// viewer's list, and the list on a phone; each page says <html lang="en">
// and the wipe dialog refuses a wrong ID in English words.
func TestBrowserEveryJourneyIsAccessibleInLightAndDark(t *testing.T) {
	axe := axeSource(t)
	for _, scheme := range []string{"light", "dark"} {
		t.Run(scheme, func(t *testing.T) {
			w := walkJourneys(t, axe, english, scheme)
			w.signIn("view")
			w.step("viewer's list", chromedp.Navigate(w.h.url("instances")), chromedp.WaitVisible(chromedp.CSS("[data-testid=view-only]")))
			w.step("list on a phone",
				chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
				chromedp.Navigate(w.h.url("instances?region=cn-hangzhou")),
				chromedp.WaitVisible(chromedp.CSS("tr[data-instance-id]")))
			w.shot("list on a phone")
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
