package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"

	"ecsdash/internal/ecs/ecssim"
)

// Browser tests of issue 30: the pages as a person at 3 a.m. uses them.

// The approver's wipe dialog opens on the safe choice, so one Enter does
// not wipe, and names the instance as the requester's dialog does.
func TestBrowserApproveWipeDialogFocusesCancelAndNamesTheInstance(t *testing.T) {
	h := newHarness(t, opts{})
	id, _ := requestInit(t, h, "op1")
	in := h.instance("hadoop-data-01")
	ctx := newChrome(t)
	browserLogin(t, ctx, h, "appr")
	card := fmt.Sprintf(`tr[data-audit-id="%d"]`, id)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url("audit")),
		chromedp.Click(chromedp.CSS(card+" form[data-approve-wipe] button")),
		chromedp.WaitVisible(chromedp.CSS("#approve-dialog")),
	); err != nil {
		t.Fatal(err)
	}
	focused, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.value || document.activeElement.textContent`))
	if focused != "no" {
		t.Fatalf("the dialog opens with focus on %q, not on Cancel", focused)
	}
	text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#approve-dialog")))
	for _, want := range []string{in.ID, in.Name, in.Region} {
		if !strings.Contains(text, want) {
			t.Fatalf("the dialog does not name %q: %q", want, text)
		}
	}
	// Enter on the focused choice closes without a start.
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.getElementById('approve-dialog').open`)); err != nil {
		t.Fatalf("Enter did not close the dialog: %v", err)
	}
	if n, _ := h.sim.Starts(in.ID); n != 0 {
		t.Fatal("Enter in the approver's dialog wiped and started the instance")
	}
}

// After a start the page jumps to the started row; ECS's answer is shown
// where the eye is (a toast in the viewport that stays until dismissed,
// not a message above it), with the RequestId selectable in one go.
func TestBrowserStartConfirmationIsOnScreenUntilDismissed(t *testing.T) {
	h := newHarness(t, opts{})
	ctx := newChrome(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1440, 900)); err != nil {
		t.Fatal(err)
	}
	browserLogin(t, ctx, h, "op1")
	in := h.instance("ci-runner-02")
	row := `tr[data-instance-id="` + in.ID + `"]`
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url("instances?region=cn-hangzhou&per_page=100")),
		chromedp.Click(chromedp.CSS(row+" form.start-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("[data-testid=flash]")),
	); err != nil {
		t.Fatal(err)
	}
	where, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const f = document.querySelector('[data-testid=flash]').getBoundingClientRect();
		const r = document.querySelector('`+row+`').getBoundingClientRect();
		if (f.top < 0 || f.bottom > innerHeight || f.height === 0) return 'the message is off screen at ' + Math.round(f.top) + '..' + Math.round(f.bottom) + ' of ' + innerHeight;
		if (r.top < -1 || r.bottom > innerHeight) return 'the row is off screen at ' + Math.round(r.top) + '..' + Math.round(r.bottom) + ' of ' + innerHeight;
		if (f.top < r.bottom && r.top < f.bottom) return 'the message covers the started row';
		return '';
	})()`))
	if err != nil || where != "" {
		t.Fatalf("%s (%v)", where, err)
	}
	rid, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const c = document.querySelector('[data-testid=flash] [data-request-id]');
		return c && getComputedStyle(c).userSelect === 'all' ? c.textContent : '';
	})()`))
	flash, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-testid=flash]")))
	if rid == "" || !strings.Contains(flash, "RequestId "+rid) {
		t.Fatalf("the RequestId is not one selection (%q) in %q", rid, flash)
	}
	// It stays (no timer) until dismissed; dismissing puts focus back on the page.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("[data-testid=flash] [data-dismiss]"))); err != nil {
		t.Fatalf("no Dismiss on the message: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.querySelector('[data-testid=flash]')`)); err != nil {
		t.Fatalf("Dismiss left the message: %v", err)
	}
}

// A batch's results put problems first, each outcome with its own colour
// and icon beside its word, and the counts at the top, problems first.
func TestBrowserBatchResultsPutProblemsFirstAndLookApart(t *testing.T) {
	h := newHarness(t, opts{})
	ctx := newChrome(t)
	browserLogin(t, ctx, h, "op1")
	a, b := h.instance("ci-runner-01"), h.instance("ci-runner-02")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url("instances?region=cn-hangzhou&per_page=100")),
		chromedp.WaitVisible(chromedp.CSS("#batch-form")),
		chromedp.Click(chromedp.CSS(`tr[data-instance-id="`+a.ID+`"] input[data-pick]`)),
		chromedp.Click(chromedp.CSS(`tr[data-instance-id="`+b.ID+`"] input[data-pick]`)),
	); err != nil {
		t.Fatal(err)
	}
	// A row gone since the list was fetched: the batch refuses it.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const i = document.createElement('input');
		i.type = 'hidden'; i.name = 'instance'; i.value = 'cn-hangzhou/i-bp1doesnotexist0';
		document.getElementById('batch-form').appendChild(i);
		return true;
	})()`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("[data-batch-submit]")),
		chromedp.WaitVisible(chromedp.CSS("tr[data-outcome]")),
	); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const rows = [...document.querySelectorAll('tr[data-outcome]')];
		if (rows.map(r => r.dataset.outcome).join(',') !== 'refused,started,started') return 'order ' + rows.map(r => r.dataset.outcome).join(',');
		const look = (r) => { const b = r.querySelector('.badge'), i = b && b.querySelector('[data-icon]');
			return b && i && i.getAttribute('aria-hidden') === 'true' && i.textContent.trim() && b.textContent.replace(i.textContent, '').trim() ?
				getComputedStyle(b).color + ' ' + i.textContent.trim() : ''; };
		const bad = look(rows[0]), good = look(rows[1]);
		if (!bad || !good) return 'a badge without an icon beside its word';
		if (bad === good || bad.split(' ').pop() === good.split(' ').pop()) return 'refused and started look alike: ' + bad + ' / ' + good;
		const counts = document.querySelector('[data-testid=batch-counts]');
		if (!counts) return 'no counts';
		const t = counts.textContent.replace(/\s+/g, ' ');
		if (!(t.indexOf('1 refused') >= 0 && t.indexOf('1 refused') < t.indexOf('2 started'))) return 'counts ' + t;
		if (counts.getBoundingClientRect().top > rows[0].getBoundingClientRect().top) return 'the counts are below the rows';
		return '';
	})()`))
	if err != nil || got != "" {
		t.Fatalf("%s (%v)", got, err)
	}
}

// The audit filters as a person types them: part of a name or id, a user
// in any case; dates the wrong way round are said to be so; a page past
// the last, or not a number, shows the last (or first) page.
func TestBrowserAuditFiltersForgiveHowTheyAreTyped(t *testing.T) {
	h := newHarness(t, opts{})
	id, _ := requestInit(t, h, "op1")
	in := h.instance("hadoop-data-01")
	ctx := newChrome(t)
	browserLogin(t, ctx, h, "appr")
	for _, q := range []string{"instance=hadoop-data", "instance=" + in.ID[3:9], "instance=" + in.ID + "&user=OP1"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(h.url("audit?"+q))); err != nil {
			t.Fatal(err)
		}
		found, err := chromedp.Run(ctx, chromedp.Evaluate[int](
			fmt.Sprintf(`document.querySelectorAll('tr[data-audit-id="%d"]').length`, id)))
		if err != nil || found < 2 { // the awaiting card and the history row
			t.Fatalf("audit?%s lists the request %d times (%v)", q, found, err)
		}
	}
	text := mainText(t, ctx, h.url("audit?from=2026-12-02&to=2026-12-01"))
	if !strings.Contains(text, "after") || !strings.Contains(text, "2026-12-02") {
		t.Fatalf("from after to says: %q", text)
	}
	for _, p := range []string{"99", "abc"} {
		text := mainText(t, ctx, h.url("audit?page="+p))
		if !strings.Contains(text, "Page 1 of 1") {
			t.Fatalf("page=%s shows %q", p, text)
		}
	}
}

func mainText(t *testing.T, ctx context.Context, u string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// Every open list follows the fleet, not only the page of the one who
// clicked: a viewer sees another person's start reach Running without a
// reload, is told once and politely, watches the list's age tick, and can
// pause the updates (and resume them).
func TestBrowserEveryViewersListFollowsTheFleet(t *testing.T) {
	h := newHarness(t, opts{simOpts: ecssim.Options{StartDelay: time.Second}})
	ctx := newChrome(t)
	browserLogin(t, ctx, h, "view")
	a, b := h.instance("ci-runner-01"), h.instance("ci-runner-02")
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url("instances?region=cn-hangzhou&per_page=100")),
		chromedp.WaitVisible(chromedp.CSS("[data-live-pause]"))); err != nil {
		t.Fatalf("no pause control: %v", err)
	}
	age, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-testid=cache-age]")))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('[data-testid=cache-age]').textContent !== `+jsString(age),
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("the list's age stays %q", age)
	}
	op := h.loggedIn("op1")
	startByForm := func(id, region string) {
		t.Helper()
		token := row(op.get("instances?region=cn-hangzhou&per_page=100"), id).Find("input[name=form_token]").AttrOr("value", "")
		if p := op.post("instances/"+id+"/start", url.Values{"region": {region}, "form_token": {token}}); p.status != http.StatusSeeOther {
			t.Fatalf("start: %d", p.status)
		}
	}
	startByForm(a.ID, a.Region)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](rowAttr(a.ID, "data-status")+` === 'Running'`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the viewer's row never turned Running without a reload: %v", err)
	}
	said, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('live-announce').textContent`))
	if !strings.Contains(said, "ci-runner-01 is Running") {
		t.Fatalf("announced %q", said)
	}
	badge, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr[data-instance-id="`+a.ID+`"] `+statusBadge)))
	if badge != "Running" {
		t.Fatalf("the badge says %q", badge)
	}

	// Paused, the page asks nothing: b runs on the server, the page's own
	// clock ticks past two polls' time, and the row still shows Stopped.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("[data-live-pause]"))); err != nil {
		t.Fatal(err)
	}
	pressed, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-live-pause]').getAttribute('aria-pressed')`))
	if pressed != "true" {
		t.Fatalf("the pause control says aria-pressed=%q", pressed)
	}
	polls, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('fleet-rows').getAttribute('data-polls') || '0'`))
	startByForm(b.ID, b.Region)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if in, _ := h.fleet.Lookup(b.Region, b.ID); in.Status == "Running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the fleet never saw the second instance Running")
		}
		<-time.After(100 * time.Millisecond) // polling the server's fleet, bounded by the deadline
	}
	ticks, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid=cache-age]').textContent`))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => { window.__seen = window.__seen || new Set(); window.__seen.add(document.querySelector('[data-testid=cache-age]').textContent); return window.__seen.size > 9; })()`,
		chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(200*time.Millisecond))); err != nil {
		t.Fatalf("the age stopped ticking at %q while paused", ticks)
	}
	still, _ := chromedp.Run(ctx, chromedp.Evaluate[string](rowAttr(b.ID, "data-status")))
	after, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('fleet-rows').getAttribute('data-polls') || '0'`))
	if still != "Stopped" || after != polls {
		t.Fatalf("paused, the page polled (%s then %s) and shows %s", polls, after, still)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("[data-live-pause]"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](rowAttr(b.ID, "data-status")+` === 'Running'`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("resumed, the row never turned Running: %v", err)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// The batch box names its instance and sits in a column of its own, far
// from a local-disk row's "Initialize local disks", at a laptop's widths.
func TestBrowserBatchBoxIsLabelledAndApartFromTheWipe(t *testing.T) {
	h := newHarness(t, opts{})
	ctx := newChrome(t)
	browserLogin(t, ctx, h, "op1")
	in := h.instance("hadoop-data-01")
	for _, w := range []int64{1440, 1024} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, 800),
			chromedp.Navigate(h.url("instances?region=cn-hangzhou&per_page=100")),
			chromedp.WaitVisible(chromedp.CSS(`tr[data-instance-id="`+in.ID+`"] input[name=init_local_disk]`))); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
			const tr = document.querySelector('tr[data-instance-id="`+in.ID+`"]');
			const pick = tr.querySelector('input[data-pick]'), wipe = tr.querySelector('input[name=init_local_disk]');
			const name = pick.getAttribute('aria-label') || (pick.labels[0] && pick.labels[0].textContent) || '';
			if (!name.includes(`+jsString(in.Name)+`) || !name.includes(`+jsString(in.ID)+`)) return 'the batch box is named ' + JSON.stringify(name);
			if (pick.closest('td') === wipe.closest('td')) return 'the batch box shares a cell with the wipe';
			const p = pick.getBoundingClientRect(), q = wipe.getBoundingClientRect();
			const gap = Math.max(q.left - p.right, p.left - q.right, q.top - p.bottom, p.top - q.bottom);
			if (gap < 100) return 'the boxes are ' + Math.round(gap) + ' px apart';
			const head = document.querySelector('table.fleet thead th');
			if (!head || head.textContent.trim() === '' || head.getBoundingClientRect().width === 0) return 'the column of batch boxes has no visible heading';
			return '';
		})()`))
		if err != nil || got != "" {
			t.Fatalf("at %d px: %s (%v)", w, got, err)
		}
	}
}

// tabWalk presses Tab from the top of the page until focus leaves the
// page or comes back around (at most limit presses), and says what is
// wrong with the stops: one out of document order, one not visible where
// it is (hidden, clipped or covered), or a trap.
func tabWalk(t *testing.T, ctx context.Context, limit int) (stops int, fault string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { document.activeElement && document.activeElement.blur(); window.__stops = []; return true; })()`)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < limit; i++ {
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
			const el = document.activeElement;
			if (!el || el === document.body) return 'out';
			if (window.__stops.includes(el)) return window.__stops[0] === el ? 'out' : 'again: ' + el.outerHTML.slice(0, 120);
			const prev = window.__stops[window.__stops.length - 1];
			window.__stops.push(el);
			if (prev && !(prev.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING)) return 'out of order: ' + el.outerHTML.slice(0, 120);
			const r = el.getBoundingClientRect();
			const what = el.outerHTML.slice(0, 120);
			if (r.width < 2 || r.height < 2) return 'invisible stop: ' + what;
			const x = Math.min(Math.max(r.left + r.width / 2, 0), innerWidth - 1), y = Math.min(Math.max(r.top + Math.min(r.height / 2, 8), 0), innerHeight - 1);
			const at = document.elementFromPoint(x, y);
			if (!at || !(el === at || el.contains(at) || at.contains(el) || (el.labels && [...el.labels].some(l => l.contains(at))))) return 'hidden or covered stop (' + (at ? at.tagName + '.' + at.className : 'nothing') + ' on top): ' + what;
			return '';
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case got == "out":
			return i, ""
		case got != "":
			return i, got
		}
	}
	return limit, "focus never left the page: a trap"
}

// Keyboard only: every Tab stop in document order and visible where it is,
// at a laptop's width and a phone's, with no trap; the skip link lands on
// the first Start; "/" jumps to the search, except while typing, and the
// page says so.
func TestBrowserKeyboardWalksTheListInOrderWithASearchShortcut(t *testing.T) {
	h := newHarness(t, opts{})
	ctx := newChrome(t)
	browserLogin(t, ctx, h, "op1")
	for _, size := range [][2]int64{{1440, 900}, {390, 844}} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(size[0], size[1]),
			chromedp.Navigate(h.url("instances?region=cn-hangzhou")), chromedp.WaitVisible(chromedp.CSS("tr[data-instance-id]"))); err != nil {
			t.Fatal(err)
		}
		if n, fault := tabWalk(t, ctx, 600); fault != "" {
			t.Fatalf("at %d px, after %d Tabs: %s", size[0], n, fault)
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1440, 900),
		chromedp.Navigate(h.url("instances?region=cn-hangzhou")), chromedp.WaitVisible(chromedp.CSS("[data-testid=search-hint]")),
		chromedp.KeyEvent("\t"), chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	on, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const e = document.activeElement, f = document.querySelector('#fleet-rows form.start-form');
		return e.matches('tr[data-instance-id]') && e === f.closest('tr') ? 'row' : e.outerHTML.slice(0, 80); })()`))
	if on != "row" {
		t.Fatalf("Tab, Enter from the top lands on %s, not the first row one can start", on)
	}
	if n := h.sim.Calls("StartInstance"); n != 0 {
		t.Fatalf("the Enter that followed the skip link started %d instances", n)
	}
	for tabs := 1; ; tabs++ {
		if err := chromedp.Do(ctx, chromedp.KeyEvent("	")); err != nil {
			t.Fatal(err)
		}
		if got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.closest('form.start-form') && document.activeElement.type === 'submit' ? 'start' : ''`)); got == "start" {
			break
		}
		if tabs == 2 {
			t.Fatal("two Tabs from the first row one can start do not reach its Start")
		}
	}
	hint, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-testid=search-hint]")))
	if !strings.Contains(hint, "/") {
		t.Fatalf("the page does not say how to jump to the search: %q", hint)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent("/")); err != nil {
		t.Fatal(err)
	}
	name, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.name`))
	if name != "q" {
		t.Fatalf("/ focused %q, not the search", name)
	}
	// Typing a slash in a field is a slash.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#batch-form input[name=reason]"), "a/b")); err != nil {
		t.Fatal(err)
	}
	typed, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.name + '=' + document.activeElement.value`))
	if typed != "reason=a/b" {
		t.Fatalf("typing a/b in the reason gave %q", typed)
	}
}

// roomCheck says what does not fit the window: the page itself scrolling
// sideways, or anything visible reaching past its edges outside a box that
// scrolls on its own (a table's).
const roomCheck = `(() => {
	const W = document.documentElement.clientWidth;
	if (document.documentElement.scrollWidth > W + 1) return 'the page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + W;
	for (const el of document.querySelectorAll('body *')) {
		if (el.closest('.table-wrap, dialog:not([open]), .visually-hidden, [hidden], head, script, style')) continue;
		const r = el.getBoundingClientRect();
		if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
		if (el.matches('.skip-link')) continue;
		if (r.right > W + 1 || r.left < -1) return 'clipped at ' + Math.round(r.left) + '..' + Math.round(r.right) + ' of ' + W + ': ' + el.outerHTML.slice(0, 100);
	}
	for (const w of document.querySelectorAll('.table-wrap')) {
		const r = w.getBoundingClientRect();
		if (r.right > W + 1) return 'a table box reaches past the window: ' + Math.round(r.right);
		if (w.scrollWidth > w.clientWidth + 1 && getComputedStyle(w).overflowX !== 'auto') return 'a table is cut off, not scrolled';
	}
	return '';
})()`

// firstRowCheck says whether the list's first row starts in the upper part
// of the first screen (banner, header, filters and batch bar leave room).
const firstRowCheck = `(() => {
	const r = document.querySelector('tr[data-instance-id]').getBoundingClientRect();
	return r.top < innerHeight * 0.6 ? '' : 'the first row starts at ' + Math.round(r.top) + ' of ' + innerHeight;
})()`

// Room at 200% zoom of a laptop, on a phone and in a portal's frame: the
// list and the audit page never scroll sideways as a whole, tables scroll
// in their own box, nothing reaches past the window, and the first rows
// show on the first screen; under 1100 px the IPs stay, and a Locks column
// with nothing in it goes.
func TestBrowserPagesFitAt200PercentOnAPhoneAndInAFrame(t *testing.T) {
	h := newHarness(t, opts{beforeUp: func(e *echo.Echo) {
		e.GET("/portal", func(c echo.Context) error {
			// The portal is a page of its own, which embeds the dashboard.
			c.Response().Header().Set("Content-Security-Policy", "default-src 'none'; frame-src 'self'")
			return c.HTML(http.StatusOK, `<!doctype html><title>Portal</title><h1>Portal</h1><iframe id="ecs" title="ECS" src="/instances?region=cn-hangzhou" width="800" height="500"></iframe>`)
		})
	}})
	requestInit(t, h, "op1")
	for _, who := range []string{"op1", "appr"} {
		ctx := newChrome(t)
		browserLogin(t, ctx, h, who)
		for _, size := range []struct {
			name string
			w, h int64
			zoom float64
		}{{"200% of 1440×900", 720, 450, 2}, {"a phone", 390, 844, 3}, {"1024×768", 1024, 768, 1}} {
			for _, p := range []string{"instances", "instances?region=cn-hangzhou&per_page=100", "audit"} {
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(size.w, size.h, chromedp.EmulateScale(size.zoom)),
					chromedp.Navigate(h.url(p)), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
					t.Fatal(err)
				}
				if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](roomCheck)); err != nil || got != "" {
					t.Fatalf("%s at %s, /%s: %s (%v)", who, size.name, p, got, err)
				}
				if strings.HasPrefix(p, "instances") && size.zoom > 1 {
					if got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](firstRowCheck)); got != "" {
						t.Fatalf("%s at %s, /%s: %s", who, size.name, p, got)
					}
				}
			}
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1024, 768), chromedp.Navigate(h.url("instances?region=cn-hangzhou")),
			chromedp.WaitVisible(chromedp.CSS("tr[data-instance-id]"))); err != nil {
			t.Fatal(err)
		}
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
			const shown = (s) => { const e = document.querySelector('table.fleet ' + s); return e && getComputedStyle(e).display !== 'none'; };
			if (!shown('th.ip')) return 'the IP column is gone';
			if (document.querySelector('table.fleet.no-locks') && shown('th.locks')) return 'an empty Locks column stays';
			if (!document.querySelector('table.fleet.no-locks') && document.querySelectorAll('tr[data-instance-id] > `+locksCell+` .badge').length === 0) return 'no lock on the page, yet the Locks column is kept';
			return '';
		})()`))
		if got != "" {
			t.Fatalf("%s at 1024 px: %s", who, got)
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(h.url("portal"))); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const d = document.getElementById('ecs').contentDocument; return !!(d && d.readyState === 'complete' && d.querySelector('tr[data-instance-id]')); })()`)); err != nil {
			t.Fatalf("the portal's frame: %v", err)
		}
		for _, check := range []string{roomCheck, firstRowCheck} {
			if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`((w) => ((document, innerWidth, innerHeight, getComputedStyle) => `+check+`)(w.document, w.innerWidth, w.innerHeight, w.getComputedStyle.bind(w)))(document.getElementById('ecs').contentWindow)`)); err != nil || got != "" {
				t.Fatalf("%s in the portal's 800×500 frame: %s (%v)", who, got, err)
			}
		}
	}
}
